//! The "hashtable" encoding of hashes and sets: a hash table whose order never
//! changes, so HSCAN and SSCAN keep Redis's guarantee with a stateless cursor.
//!
//! Redis promises that an element present from a scan's first call to its last is
//! returned at least once, whatever is added or removed between the calls. Redis
//! keeps that promise with a reverse-binary cursor over its power-of-two buckets.
//! We keep it with an order instead:
//!
//! - Entries sit in a vector of slots, in insertion order. Each slot carries an id
//!   that grows with every insertion and is never reused. A removal leaves a hole
//!   that keeps its id.
//! - A `hashbrown::HashTable<u32>` maps keys to slot positions: O(1) lookups, and
//!   the key is stored once (in its slot), the index holding 4-byte positions.
//! - When holes outnumber entries, the slots are compacted *in order* and the index
//!   remapped: O(1) amortised per removal, and at most twice as many slots as
//!   entries, so memory follows the table when it shrinks.
//! - A scan cursor is an id: a call resumes at the first slot whose id is ≥ the
//!   cursor (a binary search: ids increase along the vector) and returns the id of
//!   the slot where it stopped. Compaction moves entries but never reorders them, so
//!   an entry present for the whole scan stays at or after the resume point until it
//!   is visited: it is returned exactly once. Entries added meanwhile get larger ids
//!   and may be returned or not; one removed and re-added counts as new. That is
//!   stronger than Redis (which may repeat elements across a rehash) for the price
//!   of an 8-byte id per slot.
//! - Random picks draw a slot uniformly and retry on a hole: holes never outnumber
//!   entries, so fewer than two draws on average, and every entry equally likely.
//!
//! Other designs considered: a snapshot of the keys per scan would need server-side
//! state keyed by cursor, with no way to know when a client abandons a scan; a
//! `HashMap` whose hole-filling `swap_remove` moves the last entry to the front
//! (as `IndexMap` does) could move an unvisited entry behind the cursor.

use bytes::Bytes;
use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use rand::Rng;
use std::collections::HashSet;
use std::sync::LazyLock;

/// One process-wide, randomly seeded hasher: attackers cannot aim collisions at it.
static HASHER: LazyLock<ahash::RandomState> = LazyLock::new(ahash::RandomState::new);

fn hash(key: &[u8]) -> u64 {
    HASHER.hash_one(key)
}

#[derive(Debug, Clone)]
struct Slot<V> {
    /// Insertion rank; increases along the vector.
    id: u64,
    /// The key and its value; `None` for a hole left by a removal.
    entry: Option<(Bytes, V)>,
}

/// A hash table keyed by bytes, in insertion order, with scan-stable cursors.
#[derive(Debug, Clone)]
pub struct Table<V> {
    slots: Vec<Slot<V>>,
    /// Positions in `slots` of the live entries.
    index: HashTable<u32>,
    live: usize,
    next_id: u64,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table::with_capacity(0)
    }
}

/// The key of an occupied slot (the index only ever holds occupied positions).
fn key_at<V>(slots: &[Slot<V>], pos: u32) -> &[u8] {
    match &slots[pos as usize].entry {
        Some((key, _)) => key,
        None => unreachable!("the index points at an empty slot"),
    }
}

impl<V> Table<V> {
    /// An empty table with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Table<V> {
        Table {
            slots: Vec::with_capacity(capacity),
            index: HashTable::with_capacity(capacity),
            live: 0,
            next_id: 1,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when the table holds no entry.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn position(&self, key: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash(key), |&pos| key_at(slots, pos) == key)
            .copied()
    }

    /// True if `key` is present.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.position(key).is_some()
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        let pos = self.position(key)?;
        self.slots[pos as usize]
            .entry
            .as_ref()
            .map(|(_, value)| value)
    }

    /// The value of `key`, for modification in place.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let pos = self.position(key)?;
        self.slots[pos as usize]
            .entry
            .as_mut()
            .map(|(_, value)| value)
    }

    /// Stores `value` under `key` (an owned copy: it may live for long) and returns
    /// the previous value. A new key goes last in the order.
    pub fn insert(&mut self, key: Bytes, value: V) -> Option<V> {
        let pos = u32::try_from(self.slots.len()).expect("a table holds fewer than 2^32 slots");
        let slots = &self.slots;
        let probe = self.index.entry(
            hash(&key),
            |&p| key_at(slots, p) == &key[..],
            |&p| hash(key_at(slots, p)),
        );
        match probe {
            Entry::Occupied(found) => {
                let old = self.slots[*found.get() as usize].entry.as_mut();
                old.map(|(_, old)| std::mem::replace(old, value))
            }
            Entry::Vacant(vacant) => {
                vacant.insert(pos);
                self.slots.push(Slot {
                    id: self.next_id,
                    entry: Some((key, value)),
                });
                self.next_id += 1;
                self.live += 1;
                None
            }
        }
    }

    /// Removes `key` and returns it with its value.
    pub fn remove(&mut self, key: &[u8]) -> Option<(Bytes, V)> {
        let pos = self.position(key)?;
        Some(self.remove_at(pos))
    }

    fn remove_at(&mut self, pos: u32) -> (Bytes, V) {
        let slots = &self.slots;
        let key_hash = hash(key_at(slots, pos));
        if let Ok(found) = self.index.find_entry(key_hash, |&p| p == pos) {
            found.remove();
        }
        let entry = self.slots[pos as usize].entry.take();
        self.live -= 1;
        if self.slots.len() - self.live > self.live {
            self.compact();
        }
        entry.unwrap_or_else(|| unreachable!("removing an empty slot"))
    }

    /// Drops the holes, keeping the order, and remaps the index.
    fn compact(&mut self) {
        let mut remap = Vec::with_capacity(self.slots.len());
        let mut next = 0u32;
        for slot in &self.slots {
            remap.push(next);
            next += u32::from(slot.entry.is_some());
        }
        self.slots.retain(|slot| slot.entry.is_some());
        for pos in self.index.iter_mut() {
            *pos = remap[*pos as usize];
        }
        // Give memory back after a mass removal, with headroom against regrowth.
        self.slots.shrink_to(self.live * 2);
        let slots = &self.slots;
        self.index
            .shrink_to(self.live * 2, |&p| hash(key_at(slots, p)));
    }

    /// Every entry, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &V)> + '_ {
        self.slots
            .iter()
            .filter_map(|slot| slot.entry.as_ref().map(|(key, value)| (key, value)))
    }

    /// Removes every entry, returning them in insertion order.
    pub fn drain(&mut self) -> impl Iterator<Item = (Bytes, V)> + '_ {
        self.index.clear();
        self.live = 0;
        self.slots.drain(..).filter_map(|slot| slot.entry)
    }

    /// A uniformly random occupied position; None when empty.
    fn random_position(&self, rng: &mut impl Rng) -> Option<u32> {
        if self.live == 0 {
            return None;
        }
        // Holes are at most half the slots, so this loop ends after two draws on
        // average; the bound only guards the invariant.
        for _ in 0..64 {
            let pos = rng.gen_range(0..self.slots.len());
            if self.slots[pos].entry.is_some() {
                return Some(pos as u32);
            }
        }
        let start = rng.gen_range(0..self.slots.len());
        let mut ring = (start..self.slots.len()).chain(0..start);
        ring.find(|&p| self.slots[p].entry.is_some())
            .map(|p| p as u32)
    }

    /// A uniformly random entry.
    pub fn random(&self, rng: &mut impl Rng) -> Option<(&Bytes, &V)> {
        let pos = self.random_position(rng)?;
        self.slots[pos as usize]
            .entry
            .as_ref()
            .map(|(key, value)| (key, value))
    }

    /// Removes and returns a uniformly random entry.
    pub fn pop_random(&mut self, rng: &mut impl Rng) -> Option<(Bytes, V)> {
        let pos = self.random_position(rng)?;
        Some(self.remove_at(pos))
    }

    /// `count` distinct entries picked uniformly at random (all of them when
    /// `count` ≥ the length), in no particular order.
    pub fn sample(&self, count: usize, rng: &mut impl Rng) -> Vec<(&Bytes, &V)> {
        if count >= self.live {
            return self.iter().collect();
        }
        let positions: Vec<u32> = if count.saturating_mul(3) > self.live {
            // Many picks: choose among the occupied positions directly.
            let occupied: Vec<u32> = (0..self.slots.len() as u32)
                .filter(|&p| self.slots[p as usize].entry.is_some())
                .collect();
            rand::seq::index::sample(rng, occupied.len(), count)
                .into_iter()
                .map(|i| occupied[i])
                .collect()
        } else {
            // Few picks: draw until enough distinct ones came up.
            let mut seen = HashSet::with_capacity(count);
            let mut picks = Vec::with_capacity(count);
            while picks.len() < count {
                let Some(pos) = self.random_position(rng) else {
                    break;
                };
                if seen.insert(pos) {
                    picks.push(pos);
                }
            }
            picks
        };
        positions
            .into_iter()
            .filter_map(|p| self.slots[p as usize].entry.as_ref().map(|(k, v)| (k, v)))
            .collect()
    }

    /// One step of a scan: visits up to `count` entries from `cursor` (0 = start)
    /// and returns the cursor to continue with, 0 when the scan is complete. Also
    /// stops after `10 × count` holes so a call's work stays bounded, as Redis's.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&Bytes, &V)) -> u64 {
        let count = count.max(1);
        let max_holes = count.saturating_mul(10);
        let mut pos = self.slots.partition_point(|slot| slot.id < cursor);
        let (mut visited, mut holes) = (0, 0);
        while pos < self.slots.len() && visited < count && holes < max_holes {
            match &self.slots[pos].entry {
                Some((key, value)) => {
                    visit(key, value);
                    visited += 1;
                }
                None => holes += 1,
            }
            pos += 1;
        }
        self.slots.get(pos).map_or(0, |slot| slot.id)
    }
}

impl<V> FromIterator<(Bytes, V)> for Table<V> {
    fn from_iter<I: IntoIterator<Item = (Bytes, V)>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut table = Table::with_capacity(iter.size_hint().0);
        for (key, value) in iter {
            table.insert(key, value);
        }
        table
    }
}

#[cfg(test)]
mod tests;
