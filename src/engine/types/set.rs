//! Set values: sorted integers while every member is one ("intset"), an
//! index-stable hash table otherwise ("hashtable"), as Redis 7.0 encodes them.
//!
//! A set stays an intset while every member is the canonical decimal form of an
//! i64 and it has at most `set-max-intset-entries` members; the first insertion
//! that breaks either rule converts it, and it never converts back. Intset members
//! are sorted, so SMEMBERS on one replies in ascending order, as Redis does.
//! Members are handed out as [`Member`]s so integers need no formatting until a
//! reply or a comparison with text needs it.

use bytes::Bytes;
use rand::Rng;

use super::hash::table::Table;
use crate::engine::value::{parse_canonical_int, EncodingLimits};

/// A set value.
#[derive(Debug, Clone)]
pub enum SetValue {
    /// "intset": sorted distinct integers.
    Ints(Vec<i64>),
    /// "hashtable".
    Table(Table<()>),
}

/// A member as a set holds it: an integer of an intset, or bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member<'a> {
    /// An intset member.
    Int(i64),
    /// A hashtable member.
    Str(&'a Bytes),
}

impl Member<'_> {
    /// The member's bytes (formats an integer).
    pub fn to_bytes(self) -> Bytes {
        match self {
            Member::Int(n) => Bytes::copy_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            Member::Str(b) => b.clone(),
        }
    }

    /// The same member in one canonical form (an integer when its text is one),
    /// so members from sets of different encodings compare and hash alike.
    pub fn normalized(self) -> Self {
        match self {
            Member::Str(b) => parse_canonical_int(b).map_or(self, Member::Int),
            Member::Int(_) => self,
        }
    }

    /// Calls `f` with the member's bytes, formatting an integer on the stack.
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(n) => f(itoa::Buffer::new().format(n).as_bytes()),
            Member::Str(b) => f(b),
        }
    }
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue::Ints(Vec::new())
    }
}

impl SetValue {
    /// An empty set, in the compact encoding.
    pub fn new() -> SetValue {
        SetValue::default()
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            SetValue::Ints(_) => "intset",
            SetValue::Table(_) => "hashtable",
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            SetValue::Ints(ints) => ints.len(),
            SetValue::Table(table) => table.len(),
        }
    }

    /// True when the set has no member (Redis deletes such a key at once).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if `member` belongs to the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            SetValue::Ints(ints) => {
                parse_canonical_int(member).is_some_and(|n| ints.binary_search(&n).is_ok())
            }
            SetValue::Table(table) => table.contains(member),
        }
    }

    /// True if `member`, taken from another set, belongs to this one.
    pub fn contains_member(&self, member: Member<'_>) -> bool {
        match (self, member) {
            (SetValue::Ints(ints), Member::Int(n)) => ints.binary_search(&n).is_ok(),
            _ => member.with_bytes(|bytes| self.contains(bytes)),
        }
    }

    /// Adds `member` (copied); true if it is new.
    pub fn insert(&mut self, member: &[u8], limits: &EncodingLimits) -> bool {
        if let SetValue::Ints(_) = self {
            match parse_canonical_int(member) {
                Some(n) => return self.insert_int(n, limits),
                None => self.convert(),
            }
        }
        match self {
            SetValue::Table(table) if !table.contains(member) => {
                table.insert(Bytes::copy_from_slice(member), ());
                true
            }
            _ => false,
        }
    }

    /// Adds a member taken from another set; true if it is new.
    pub fn insert_member(&mut self, member: Member<'_>, limits: &EncodingLimits) -> bool {
        match (&*self, member) {
            (SetValue::Ints(_), Member::Int(n)) => self.insert_int(n, limits),
            _ => member.with_bytes(|bytes| self.insert(bytes, limits)),
        }
    }

    fn insert_int(&mut self, n: i64, limits: &EncodingLimits) -> bool {
        match self {
            SetValue::Ints(ints) => match ints.binary_search(&n) {
                Ok(_) => false,
                Err(at) => {
                    ints.insert(at, n);
                    if ints.len() > limits.set_max_intset_entries {
                        self.convert();
                    }
                    true
                }
            },
            SetValue::Table(_) => self.insert(itoa::Buffer::new().format(n).as_bytes(), limits),
        }
    }

    /// Converts an intset to the table encoding (a no-op on a table).
    fn convert(&mut self) {
        if let SetValue::Ints(ints) = self {
            let table = ints
                .iter()
                .map(|&n| (Member::Int(n).to_bytes(), ()))
                .collect();
            *self = SetValue::Table(table);
        }
    }

    /// Removes `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            SetValue::Ints(ints) => {
                match parse_canonical_int(member).and_then(|n| ints.binary_search(&n).ok()) {
                    Some(at) => {
                        ints.remove(at);
                        true
                    }
                    None => false,
                }
            }
            SetValue::Table(table) => table.remove(member).is_some(),
        }
    }

    /// Every member: ascending for an intset, insertion order for a table.
    pub fn iter(&self) -> impl Iterator<Item = Member<'_>> + '_ {
        let (ints, table) = match self {
            SetValue::Ints(ints) => (Some(ints.iter().map(|&n| Member::Int(n))), None),
            SetValue::Table(table) => (None, Some(table.iter().map(|(m, _)| Member::Str(m)))),
        };
        ints.into_iter()
            .flatten()
            .chain(table.into_iter().flatten())
    }

    /// A uniformly random member.
    pub fn random(&self, rng: &mut impl Rng) -> Option<Member<'_>> {
        match self {
            SetValue::Ints(ints) if ints.is_empty() => None,
            SetValue::Ints(ints) => Some(Member::Int(ints[rng.gen_range(0..ints.len())])),
            SetValue::Table(table) => table.random(rng).map(|(m, _)| Member::Str(m)),
        }
    }

    /// `count` distinct random members; every member, in order, when `count`
    /// reaches the length.
    pub fn sample(&self, count: usize, rng: &mut impl Rng) -> Vec<Member<'_>> {
        match self {
            SetValue::Ints(ints) if count >= ints.len() => self.iter().collect(),
            SetValue::Ints(ints) => rand::seq::index::sample(rng, ints.len(), count)
                .into_iter()
                .map(|i| Member::Int(ints[i]))
                .collect(),
            SetValue::Table(table) => table
                .sample(count, rng)
                .into_iter()
                .map(|(m, _)| Member::Str(m))
                .collect(),
        }
    }

    /// Removes `count` random members (all of them when `count` reaches the
    /// length) and returns them.
    pub fn pop(&mut self, count: usize, rng: &mut impl Rng) -> Vec<Bytes> {
        if count >= self.len() {
            return match std::mem::take(self) {
                SetValue::Ints(ints) => ints
                    .into_iter()
                    .map(|n| Member::Int(n).to_bytes())
                    .collect(),
                SetValue::Table(mut table) => table.drain().map(|(m, _)| m).collect(),
            };
        }
        match self {
            SetValue::Ints(ints) => {
                // One pass instead of `count` shifts of the vector.
                let mut chosen = vec![false; ints.len()];
                for i in rand::seq::index::sample(rng, ints.len(), count) {
                    chosen[i] = true;
                }
                let mut popped = Vec::with_capacity(count);
                let mut at = 0;
                ints.retain(|&n| {
                    let take = chosen[at];
                    at += 1;
                    if take {
                        popped.push(Member::Int(n).to_bytes());
                    }
                    !take
                });
                popped
            }
            SetValue::Table(table) => (0..count)
                .filter_map(|_| table.pop_random(rng))
                .map(|(m, _)| m)
                .collect(),
        }
    }

    /// One SSCAN step from `cursor`, visiting about `count` members; returns the
    /// next cursor (0 = done). An intset is visited whole in one call, as Redis does.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(Member<'_>)) -> u64 {
        match self {
            SetValue::Ints(ints) => {
                ints.iter().for_each(|&n| visit(Member::Int(n)));
                0
            }
            SetValue::Table(table) => table.scan(cursor, count, |m, _| visit(Member::Str(m))),
        }
    }
}

#[cfg(test)]
mod tests;
