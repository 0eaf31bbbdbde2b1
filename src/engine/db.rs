//! One logical database: the key→value dictionary with expiry.
//!
//! Entries live in a slab (`Vec<Slot>`) and a `hashbrown::HashTable<u32>` indexes
//! the slab by key. Two properties follow that Redis users rely on:
//!
//! - SCAN's cursor is a slab position. An entry never moves while it exists (holes
//!   are reused, never compacted), so every key present for the whole scan is
//!   returned exactly once, whatever is inserted or deleted meanwhile.
//! - RANDOMKEY and the active expiry cycle sample in O(1): a random slab position,
//!   and a random element of `volatile` (the slab positions of keys with a TTL).
//!
//! The key is stored once (in its slot); the index holds only 4-byte positions.
//!
//! Each entry remembers when it was last read or written ([`Entry::access`]), in
//! whole seconds since the database was created: reads and writes through `get`,
//! `get_mut`, `entry_mut`, `insert…` and `mark_accessed` refresh it (one division
//! and a 4-byte store), while the introspection paths (`contains`, `entry`,
//! `expiry`, `peek`, `scan`, `iter`) leave it alone, as Redis's `LOOKUP_NOTOUCH`
//! does for EXISTS, TYPE, TTL and OBJECT.
//!
//! Every change to an existing entry passes through `before_change`, and every new
//! entry through `alloc_slot`: while a snapshot runs ([`Frozen`]), those two hooks
//! are what keep its view at the instant it started.

use bytes::Bytes;
use hashbrown::HashTable;
use rand::Rng;
use std::time::{SystemTime, UNIX_EPOCH};

use super::persist::snapshot::Frozen;
use super::value::Value;

/// Milliseconds since the Unix epoch.
pub type UnixMs = i64;

/// A key's value and metadata.
#[derive(Debug)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Absolute expiry time, if the key is volatile.
    expire_at: Option<UnixMs>,
    /// Position in `Db::volatile` while `expire_at` is set.
    volatile_pos: u32,
    /// Last access, in seconds since the database's creation (OBJECT IDLETIME,
    /// LRU eviction). Kept up to date by the `Db` methods that count as an access.
    pub access: u32,
}

#[derive(Debug)]
struct Slot {
    key: Bytes,
    entry: Entry,
}

/// A database: keys, values and their expiry times.
#[derive(Debug)]
pub struct Db {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    index: HashTable<u32>,
    volatile: Vec<u32>,
    hasher: ahash::RandomState,
    /// Keys deleted by expiry since the last `take_expired`, so the keyspace can
    /// tell watchers (a watched key that expires aborts EXEC, as in Redis).
    expired: Vec<Bytes>,
    /// Access times count whole seconds from here, so they fit in 4 bytes: a
    /// year before the database's creation, so that a key may be given an
    /// access time older than the database (RESTORE … IDLETIME), and well over
    /// a century of uptime after it.
    clock_base: UnixMs,
    /// A running snapshot's bookkeeping (see `persist::snapshot`), if any.
    frozen: Option<Box<Frozen>>,
}

/// How far before a database's creation its access clock starts.
const CLOCK_HEADROOM_MS: UnixMs = 365 * 24 * 3600 * 1000;

impl Default for Db {
    fn default() -> Db {
        let clock_base = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as UnixMs)
            - CLOCK_HEADROOM_MS;
        Db {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            volatile: Vec::new(),
            hasher: ahash::RandomState::new(),
            expired: Vec::new(),
            clock_base,
            frozen: None,
        }
    }
}

/// Result of looking a key up with lazy expiry applied.
fn is_expired(entry: &Entry, now: UnixMs) -> bool {
    entry.expire_at.is_some_and(|at| at <= now)
}

impl Db {
    /// An empty database.
    pub fn new() -> Db {
        Db::default()
    }

    /// Number of keys, counting expired keys not yet reclaimed (as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when the database holds no key.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Number of keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn position(&self, key: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(self.hash(key), |&pos| slot_key(slots, pos) == key)
            .copied()
    }

    fn slot(&self, pos: u32) -> &Slot {
        self.slots[pos as usize]
            .as_ref()
            .expect("indexed slot is occupied")
    }

    fn slot_mut(&mut self, pos: u32) -> &mut Slot {
        self.slots[pos as usize]
            .as_mut()
            .expect("indexed slot is occupied")
    }

    /// Position of a live key; an expired key is deleted on the way (lazy expiry).
    fn live_position(&mut self, key: &[u8], now: UnixMs) -> Option<u32> {
        let pos = self.position(key)?;
        if is_expired(&self.slot(pos).entry, now) {
            self.expire_at_pos(pos);
            return None;
        }
        Some(pos)
    }

    /// Position of a live key, recording the access (a read or a write).
    fn accessed_position(&mut self, key: &[u8], now: UnixMs) -> Option<u32> {
        let pos = self.live_position(key, now)?;
        let clock = self.clock(now);
        self.slot_mut(pos).entry.access = clock;
        Some(pos)
    }

    /// `now` as an access time: whole seconds since the database was created.
    fn clock(&self, now: UnixMs) -> u32 {
        let secs = now.saturating_sub(self.clock_base) / 1000;
        u32::try_from(secs.max(0)).unwrap_or(u32::MAX)
    }

    /// True if `key` exists and has not expired. Not counted as an access.
    pub fn contains(&mut self, key: &[u8], now: UnixMs) -> bool {
        self.live_position(key, now).is_some()
    }

    /// The live value of `key`; counts as an access.
    pub fn get(&mut self, key: &[u8], now: UnixMs) -> Option<&Value> {
        let pos = self.accessed_position(key, now)?;
        Some(&self.slot(pos).entry.value)
    }

    /// The live value of `key`, for modification in place; counts as an access.
    pub fn get_mut(&mut self, key: &[u8], now: UnixMs) -> Option<&mut Value> {
        let pos = self.accessed_position(key, now)?;
        self.before_change(pos);
        Some(&mut self.slot_mut(pos).entry.value)
    }

    /// The live entry of `key` (value and metadata); counts as an access.
    pub fn entry_mut(&mut self, key: &[u8], now: UnixMs) -> Option<&mut Entry> {
        let pos = self.accessed_position(key, now)?;
        self.before_change(pos);
        Some(&mut self.slot_mut(pos).entry)
    }

    /// The live entry of `key`, expiring it if due but not counting as an access
    /// (TYPE, OBJECT, TTL look without touching).
    pub fn entry(&mut self, key: &[u8], now: UnixMs) -> Option<&Entry> {
        let pos = self.live_position(key, now)?;
        Some(&self.slot(pos).entry)
    }

    /// Records an access to `key` (TOUCH); false if there is no such live key.
    pub fn mark_accessed(&mut self, key: &[u8], now: UnixMs) -> bool {
        self.accessed_position(key, now).is_some()
    }

    /// Whole seconds since `key` was last accessed (OBJECT IDLETIME), without
    /// counting this as an access; None if there is no such live key.
    pub fn idle_secs(&mut self, key: &[u8], now: UnixMs) -> Option<u64> {
        let clock = self.clock(now);
        let pos = self.live_position(key, now)?;
        Some(u64::from(clock.saturating_sub(self.slot(pos).entry.access)))
    }

    /// Reads an entry without expiring it or touching its access time.
    pub fn peek(&self, key: &[u8]) -> Option<&Entry> {
        self.position(key).map(|pos| &self.slot(pos).entry)
    }

    /// Stores `value` under `key`, dropping any previous value and TTL (as SET does).
    /// Returns the previous live value.
    pub fn insert(&mut self, key: Bytes, value: Value, now: UnixMs) -> Option<Value> {
        self.insert_with_expiry(key, value, None, now)
    }

    /// Stores `value` under `key` with the given absolute expiry (None = persistent).
    pub fn insert_with_expiry(
        &mut self,
        key: Bytes,
        value: Value,
        expire_at: Option<UnixMs>,
        now: UnixMs,
    ) -> Option<Value> {
        if let Some(pos) = self.accessed_position(&key, now) {
            self.before_change(pos);
            let old = std::mem::replace(&mut self.slot_mut(pos).entry.value, value);
            self.set_expiry_at(pos, expire_at);
            return Some(old);
        }
        let entry = Entry {
            value,
            expire_at: None,
            volatile_pos: 0,
            access: self.clock(now),
        };
        let pos = self.alloc_slot(Slot {
            key: owned(key),
            entry,
        });
        let hash = self.hash(slot_key(&self.slots, pos));
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index
            .insert_unique(hash, pos, |&p| hasher.hash_one(slot_key(slots, p)));
        self.set_expiry_at(pos, expire_at);
        None
    }

    /// Replaces the value of an existing live key, keeping its TTL (SET KEEPTTL).
    pub fn replace_keep_ttl(&mut self, key: Bytes, value: Value, now: UnixMs) -> Option<Value> {
        let expire_at = self
            .live_position(&key, now)
            .and_then(|pos| self.slot(pos).entry.expire_at);
        self.insert_with_expiry(key, value, expire_at, now)
    }

    fn alloc_slot(&mut self, slot: Slot) -> u32 {
        let pos = self.place_slot(slot);
        if let Some(frozen) = self.frozen.as_deref_mut() {
            frozen.born(pos);
        }
        pos
    }

    fn place_slot(&mut self, slot: Slot) -> u32 {
        match self.free.pop() {
            Some(pos) => {
                self.slots[pos as usize] = Some(slot);
                pos
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Removes `key` and returns its live value (None if absent or expired).
    pub fn remove(&mut self, key: &[u8], now: UnixMs) -> Option<Value> {
        let pos = self.live_position(key, now)?;
        Some(self.remove_at(pos).1)
    }

    fn remove_at(&mut self, pos: u32) -> (Bytes, Value) {
        self.before_change(pos);
        self.set_expiry_at(pos, None);
        let hash = self.hash(slot_key(&self.slots, pos));
        if let Ok(found) = self.index.find_entry(hash, |&p| p == pos) {
            found.remove();
        }
        let slot = self.slots[pos as usize]
            .take()
            .expect("removing an occupied slot");
        self.free.push(pos);
        (slot.key, slot.entry.value)
    }

    fn expire_at_pos(&mut self, pos: u32) {
        let (key, _) = self.remove_at(pos);
        self.expired.push(key);
    }

    /// Keys deleted by expiry since the last call.
    pub fn take_expired(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.expired)
    }

    /// True if some key expired since the last `take_expired`.
    pub fn has_expired(&self) -> bool {
        !self.expired.is_empty()
    }

    /// The absolute expiry of a live key: `Some(None)` = no TTL, `None` = no such key.
    pub fn expiry(&mut self, key: &[u8], now: UnixMs) -> Option<Option<UnixMs>> {
        let pos = self.live_position(key, now)?;
        Some(self.slot(pos).entry.expire_at)
    }

    /// Sets (or with None clears) the expiry of a live key. False if there is no such key.
    pub fn set_expiry(&mut self, key: &[u8], at: Option<UnixMs>, now: UnixMs) -> bool {
        match self.live_position(key, now) {
            Some(pos) => {
                self.set_expiry_at(pos, at);
                true
            }
            None => false,
        }
    }

    fn set_expiry_at(&mut self, pos: u32, at: Option<UnixMs>) {
        self.before_change(pos);
        let was_volatile = self.slot(pos).entry.expire_at.is_some();
        match (was_volatile, at) {
            (false, Some(_)) => {
                let vpos = self.volatile.len() as u32;
                self.volatile.push(pos);
                self.slot_mut(pos).entry.volatile_pos = vpos;
            }
            (true, None) => {
                let vpos = self.slot(pos).entry.volatile_pos;
                self.volatile.swap_remove(vpos as usize);
                if let Some(&moved) = self.volatile.get(vpos as usize) {
                    self.slot_mut(moved).entry.volatile_pos = vpos;
                }
            }
            _ => {}
        }
        self.slot_mut(pos).entry.expire_at = at;
    }

    /// Deletes up to `samples` randomly chosen expired keys among the volatile ones and
    /// returns (sampled, expired) so the caller can decide to run another round, as
    /// Redis's active expiry cycle does.
    pub fn expire_sample(&mut self, samples: usize, now: UnixMs) -> (usize, usize) {
        let mut rng = rand::thread_rng();
        let mut expired = 0;
        let sampled = samples.min(self.volatile.len());
        for _ in 0..sampled {
            if self.volatile.is_empty() {
                break;
            }
            let pos = self.volatile[rng.gen_range(0..self.volatile.len())];
            if is_expired(&self.slot(pos).entry, now) {
                self.expire_at_pos(pos);
                expired += 1;
            }
        }
        (sampled, expired)
    }

    /// A random live key, or None if the database is empty.
    pub fn random_key(&mut self, now: UnixMs) -> Option<Bytes> {
        let mut rng = rand::thread_rng();
        // Expired keys met on the way are reclaimed; bounded so a database full of
        // expired keys still answers quickly (Redis returns an expired key then too).
        for _ in 0..100 {
            if self.index.is_empty() {
                return None;
            }
            let pos = self.random_position(&mut rng);
            if !is_expired(&self.slot(pos).entry, now) {
                return Some(self.slot(pos).key.clone());
            }
            self.expire_at_pos(pos);
        }
        let pos = self.random_position(&mut rng);
        Some(self.slot(pos).key.clone())
    }

    fn random_position(&self, rng: &mut impl Rng) -> u32 {
        // The slab may be sparse after mass deletions: probe a few random slots,
        // then fall back to a linear walk from a random start.
        for _ in 0..16 {
            let pos = rng.gen_range(0..self.slots.len());
            if self.slots[pos].is_some() {
                return pos as u32;
            }
        }
        let start = rng.gen_range(0..self.slots.len());
        (start..self.slots.len())
            .chain(0..start)
            .find(|&p| self.slots[p].is_some())
            .expect("a non-empty database has an occupied slot") as u32
    }

    /// Visits up to `count` slab positions from `cursor`, calling `visit` for each
    /// live key, and returns the next cursor (0 when the scan is complete).
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        now: UnixMs,
        mut visit: impl FnMut(&Bytes, &Entry),
    ) -> u64 {
        let start = cursor as usize;
        let end = start.saturating_add(count.max(1)).min(self.slots.len());
        for slot in self
            .slots
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .flatten()
        {
            if !is_expired(&slot.entry, now) {
                visit(&slot.key, &slot.entry);
            }
        }
        if end >= self.slots.len() {
            0
        } else {
            end as u64
        }
    }

    /// Every live key with its entry, in slab order.
    pub fn iter(&self, now: UnixMs) -> impl Iterator<Item = (&Bytes, &Entry)> {
        self.slots
            .iter()
            .flatten()
            .filter(move |s| !is_expired(&s.entry, now))
            .map(|s| (&s.key, &s.entry))
    }

    /// Removes everything, returning the old contents so the caller can drop them
    /// off the command path (FLUSHDB ASYNC, large UNLINK). A running snapshot
    /// moves the entries it has yet to write out of them first, so the returned
    /// database is only good for dropping.
    pub fn take(&mut self) -> Db {
        let mut old = std::mem::take(self);
        if let Some(mut frozen) = old.frozen.take() {
            let slots = &mut old.slots;
            frozen.flushed(|pos| {
                slots
                    .get_mut(pos as usize)?
                    .take()
                    .map(|s| (s.key, s.entry))
            });
            old.index.clear();
            old.volatile.clear();
            self.frozen = Some(frozen);
        }
        old
    }

    /// Before the entry at `pos` changes: a running snapshot that has yet to
    /// write it keeps a copy of its current state.
    fn before_change(&mut self, pos: u32) {
        if let Some(frozen) = self.frozen.as_deref_mut() {
            if frozen.wants(pos) {
                let slot = self.slots[pos as usize]
                    .as_ref()
                    .expect("changed slot is occupied");
                frozen.preserve(pos, &slot.key, &slot.entry);
            }
        }
    }

    /// The snapshot bookkeeping slot, for `persist::snapshot`.
    pub(crate) fn frozen_mut(&mut self) -> &mut Option<Box<Frozen>> {
        &mut self.frozen
    }

    /// The snapshot bookkeeping, if a snapshot runs.
    pub(crate) fn frozen(&self) -> Option<&Frozen> {
        self.frozen.as_deref()
    }

    /// The key and entry at slab position `pos`, if occupied (expired or not).
    pub(crate) fn slot_at(&self, pos: u32) -> Option<(&Bytes, &Entry)> {
        let slot = self.slots.get(pos as usize)?.as_ref()?;
        Some((&slot.key, &slot.entry))
    }

    /// Number of slab positions, occupied or not.
    pub(crate) fn slab_len(&self) -> u32 {
        self.slots.len() as u32
    }
}

impl Entry {
    /// The absolute expiry time, if any.
    pub fn expire_at(&self) -> Option<UnixMs> {
        self.expire_at
    }
}

fn slot_key(slots: &[Option<Slot>], pos: u32) -> &[u8] {
    &slots[pos as usize]
        .as_ref()
        .expect("indexed slot is occupied")
        .key
}

/// Keys arrive as slices of a client's read buffer; storing such a slice would pin
/// the whole buffer in memory, so a stored key gets its own allocation.
fn owned(key: Bytes) -> Bytes {
    Bytes::copy_from_slice(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::from_bytes(Bytes::copy_from_slice(v.as_bytes()))
    }

    #[test]
    fn insert_get_remove() {
        let mut db = Db::new();
        assert!(db.insert(Bytes::from("a"), s("1"), 0).is_none());
        assert!(db.insert(Bytes::from("a"), s("2"), 0).is_some());
        assert_eq!(db.len(), 1);
        assert!(db.get(b"a", 0).is_some());
        assert!(db.remove(b"a", 0).is_some());
        assert!(db.get(b"a", 0).is_none());
        assert!(db.is_empty());
    }

    #[test]
    fn lazy_expiry_and_volatile_bookkeeping() {
        let mut db = Db::new();
        for i in 0..10 {
            db.insert_with_expiry(Bytes::from(format!("k{i}")), s("v"), Some(100 + i), 0);
        }
        assert_eq!(db.volatile_len(), 10);
        assert!(db.get(b"k0", 99).is_some());
        assert!(db.get(b"k0", 100).is_none());
        assert_eq!(db.volatile_len(), 9);
        assert!(db.set_expiry(b"k5", None, 0));
        assert_eq!(db.volatile_len(), 8);
        let (_, expired) = db.expire_sample(1000, 1000);
        assert!(expired > 0);
        while db.expire_sample(20, 1000).1 > 0 {}
        assert_eq!(db.len(), 1);
        assert!(db.get(b"k5", 1000).is_some());
    }

    #[test]
    fn scan_returns_every_stable_key_despite_churn() {
        let mut db = Db::new();
        for i in 0..1000 {
            db.insert(Bytes::from(format!("stable{i}")), s("v"), 0);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = db.scan(cursor, 10, 0, |k, _| {
                seen.insert(k.clone());
            });
            // Churn between calls: add and remove other keys.
            for j in 0..20 {
                db.insert(Bytes::from(format!("churn{round}-{j}")), s("v"), 0);
            }
            for j in 0..20 {
                db.remove(format!("churn{round}-{j}").as_bytes(), 0);
            }
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(format!("stable{i}").as_bytes()));
        }
    }

    #[test]
    fn access_time_follows_reads_and_writes_but_not_introspection() {
        let mut db = Db::new();
        let t0 = db.clock_base;
        db.insert(Bytes::from("k"), s("v"), t0 + 1_000);
        assert_eq!(db.idle_secs(b"k", t0 + 5_999), Some(4));
        // Introspection does not count as an access.
        assert!(db.contains(b"k", t0 + 6_000));
        assert!(db.entry(b"k", t0 + 6_000).is_some());
        assert!(db.expiry(b"k", t0 + 6_000).is_some());
        assert_eq!(db.idle_secs(b"k", t0 + 6_000), Some(5));
        // Reads, writes and TOUCH do.
        assert!(db.get(b"k", t0 + 7_000).is_some());
        assert_eq!(db.idle_secs(b"k", t0 + 8_000), Some(1));
        assert!(db.get_mut(b"k", t0 + 9_000).is_some());
        assert_eq!(db.idle_secs(b"k", t0 + 9_500), Some(0));
        assert!(db.mark_accessed(b"k", t0 + 20_000));
        assert_eq!(db.idle_secs(b"k", t0 + 21_000), Some(1));
        db.insert(Bytes::from("k"), s("w"), t0 + 30_000);
        assert_eq!(db.idle_secs(b"k", t0 + 30_000), Some(0));
        assert!(!db.mark_accessed(b"missing", t0));
        assert_eq!(db.idle_secs(b"missing", t0), None);
        // A clock before the database's creation reads as its start.
        assert_eq!(db.idle_secs(b"k", 0), Some(0));
    }

    #[test]
    fn random_key_on_sparse_slab() {
        let mut db = Db::new();
        for i in 0..10_000 {
            db.insert(Bytes::from(format!("k{i}")), s("v"), 0);
        }
        for i in 0..9_999 {
            db.remove(format!("k{i}").as_bytes(), 0);
        }
        assert_eq!(db.random_key(0), Some(Bytes::from("k9999")));
        db.remove(b"k9999", 0);
        assert_eq!(db.random_key(0), None);
    }
}
