//! The compact encoding ("listpack"): one `Vec` of (member, score) in order.
//!
//! Small sets are the common case, and for a few dozen elements a flat sorted
//! vector beats any tree: one allocation, no per-element links, binary search for
//! ranges, and linear member lookups over cache-friendly memory (Redis scans its
//! listpack the same way). `ZSet` moves to the skiplist past its size thresholds.
//!
//! Redis stores a listpack score that is a whole number as an integer, so a score
//! of -0 comes back as 0 in this encoding (and only in this one); we do the same.

use std::cmp::Ordering::Less;
use std::mem;

use bytes::Bytes;

use super::key_cmp;

/// A sorted set in the compact encoding.
#[derive(Debug, Clone, Default)]
pub(super) struct Listpack {
    entries: Vec<(Bytes, f64)>,
}

/// The score as this encoding keeps it: -0 becomes 0.
fn stored(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

impl Listpack {
    /// Number of elements.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The elements in order.
    pub(super) fn entries(&self) -> &[(Bytes, f64)] {
        &self.entries
    }

    /// Consumes the set, yielding its elements in order.
    pub(super) fn into_entries(self) -> Vec<(Bytes, f64)> {
        self.entries
    }

    /// A member's 0-based rank (a linear scan).
    pub(super) fn rank(&self, member: &[u8]) -> Option<usize> {
        self.entries.iter().position(|(m, _)| m[..] == *member)
    }

    /// A member's score.
    pub(super) fn score(&self, member: &[u8]) -> Option<f64> {
        self.rank(member).map(|i| self.entries[i].1)
    }

    /// How many elements, from the first, satisfy `pred` (a prefix of the order).
    pub(super) fn partition_point(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        self.entries.partition_point(|(m, s)| pred(*s, m))
    }

    /// Adds a member that is not in the set yet.
    pub(super) fn insert(&mut self, member: Bytes, score: f64) {
        let score = stored(score);
        let at = self.partition_point(|s, m| key_cmp(s, m, score, &member) == Less);
        self.entries.insert(at, (member, score));
    }

    /// Changes the score of a member already in the set.
    pub(super) fn update(&mut self, member: &[u8], score: f64) {
        if let Some(at) = self.rank(member) {
            let (member, _) = self.entries.remove(at);
            self.insert(member, score);
        }
    }

    /// Removes a member, returning its score.
    pub(super) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let at = self.rank(member)?;
        Some(self.entries.remove(at).1)
    }

    /// Removes the elements of 0-based ranks `start..end`.
    pub(super) fn remove_ranks(&mut self, start: usize, end: usize) {
        let end = end.min(self.len());
        if start < end {
            self.entries.drain(start..end);
        }
    }

    /// Estimated heap bytes.
    pub(super) fn heap_usage(&self) -> usize {
        self.entries.capacity() * mem::size_of::<(Bytes, f64)>()
            + self.entries.iter().map(|(m, _)| m.len()).sum::<usize>()
    }
}
