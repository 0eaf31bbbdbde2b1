//! Sorted sets: the value type behind ZADD, ZRANGE and the other Z commands.
//!
//! A pure data structure, with no knowledge of keys, replies or the engine. Members
//! are byte strings, unique in a set, each with an `f64` score that is never NaN;
//! elements are ordered by score (`-0` equal to `0`), then by member bytes.
//!
//! # Encodings
//! As in Redis 7.0, and visible through OBJECT ENCODING:
//! - `"listpack"`: a sorted `Vec`, while the set has at most
//!   [`ListpackLimits::max_entries`] elements, none longer than
//!   [`ListpackLimits::max_value`] bytes. Every operation is O(n) or better on a
//!   few dozen contiguous elements. Scores of -0 are stored as 0, as Redis does.
//! - `"skiplist"`: a member→score `HashMap` plus a skiplist whose links know
//!   their span. Entered on the insert that passes a threshold and never left,
//!   even if the set shrinks, again as Redis does.
//!
//! In the big encoding (expected bounds; n elements, k of them returned/removed):
//! score/contains O(1); insert, update, remove, rank, element at a rank O(log n);
//! a range by rank, score or lex, with any LIMIT offset, O(log n + k); counts
//! O(log n); pops and range removals O(log n + k). Memory per element, on 64-bit:
//! a 64-byte node (plus the arena's growth slack), on average about 9 bytes of
//! upper-level links (one node in four has any), 46–92 bytes of hash-map bucket
//! depending on its fill, 24 bytes of shared `Bytes` header, and the member
//! itself: about 150–190 bytes plus the member, before allocator rounding.
//!
//! Members passed in are copied when they join a set: a member sliced from a
//! connection's read buffer must not keep that whole buffer alive.

mod bound;
mod listpack;
#[cfg(test)]
mod proptests;
mod range;
mod skiplist;
mod strtod;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::mem;

use bytes::Bytes;
use rand::Rng;

pub use bound::{parse_score, LexBound, ScoreBound, ZsetError};
pub use range::Range;

use listpack::Listpack;
use skiplist::SkipList;

/// Thresholds of the compact encoding; the engine's CONFIG owns them
/// (`zset-max-listpack-entries`, `zset-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListpackLimits {
    /// Most elements a listpack holds.
    pub max_entries: usize,
    /// Longest member, in bytes, a listpack holds.
    pub max_value: usize,
}

impl Default for ListpackLimits {
    /// Redis's defaults: 128 entries, 64-byte members.
    fn default() -> Self {
        ListpackLimits {
            max_entries: 128,
            max_value: 64,
        }
    }
}

/// What an insert did to the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// The member is new.
    Added,
    /// The member was there with another score.
    Updated,
    /// The member was there with an equal score (`-0` equals `0`).
    Unchanged,
}

/// ZADD's options; which combinations are legal is the command's business.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddFlags {
    /// Only add new members.
    pub nx: bool,
    /// Only update existing members.
    pub xx: bool,
    /// Only update a member whose new score is greater.
    pub gt: bool,
    /// Only update a member whose new score is less.
    pub lt: bool,
    /// Add the score to the current one (ZINCRBY, ZADD INCR).
    pub incr: bool,
}

/// What [`ZSet::add`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AddOutcome {
    /// The set was consulted and, unless `Unchanged`, changed; `score` is the
    /// one computed for the member (what ZINCRBY replies).
    Applied { change: InsertOutcome, score: f64 },
    /// A flag (NX, XX, GT, LT) ruled the change out; ZADD INCR replies nil.
    Skipped,
}

/// The order of every sorted set: score first (-0 equal to 0), then member bytes.
fn key_cmp(score: f64, member: &[u8], other_score: f64, other_member: &[u8]) -> Ordering {
    score
        .partial_cmp(&other_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| member.cmp(other_member))
}

/// A sorted set.
#[derive(Debug, Clone)]
pub struct ZSet {
    encoding: Encoding,
}

#[derive(Debug, Clone)]
enum Encoding {
    Listpack(Listpack),
    Skiplist(Box<SkipList>),
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new()
    }
}

impl ZSet {
    /// An empty set, in the compact encoding.
    pub fn new() -> ZSet {
        ZSet {
            encoding: Encoding::Listpack(Listpack::default()),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.encoding {
            Encoding::Listpack(lp) => lp.len(),
            Encoding::Skiplist(sl) => sl.len(),
        }
    }

    /// Whether the set has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding's name as OBJECT ENCODING reports it.
    pub fn encoding(&self) -> &'static str {
        match &self.encoding {
            Encoding::Listpack(_) => "listpack",
            Encoding::Skiplist(_) => "skiplist",
        }
    }

    /// A member's score.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.encoding {
            Encoding::Listpack(lp) => lp.score(member),
            Encoding::Skiplist(sl) => sl.score(member),
        }
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.score(member).is_some()
    }

    /// Sets a member's score, adding the member if it is new.
    ///
    /// # Errors
    /// [`ZsetError::NanScore`] if `score` is NaN; the set is left as it was.
    pub fn insert(
        &mut self,
        member: &[u8],
        score: f64,
        limits: ListpackLimits,
    ) -> Result<InsertOutcome, ZsetError> {
        if score.is_nan() {
            return Err(ZsetError::NanScore);
        }
        let current = self.score(member);
        Ok(self.upsert(member, score, current, limits))
    }

    /// ZADD for one member: [`insert`](Self::insert) under `flags`.
    ///
    /// # Errors
    /// [`ZsetError::NanScore`] if `score` is NaN or the increment makes it NaN;
    /// the set is left as it was.
    pub fn add(
        &mut self,
        member: &[u8],
        score: f64,
        flags: AddFlags,
        limits: ListpackLimits,
    ) -> Result<AddOutcome, ZsetError> {
        if score.is_nan() {
            return Err(ZsetError::NanScore);
        }
        let current = self.score(member);
        let score = match current {
            None if flags.xx => return Ok(AddOutcome::Skipped),
            Some(_) if flags.nx => return Ok(AddOutcome::Skipped),
            Some(now) if flags.incr => now + score,
            _ => score,
        };
        if score.is_nan() {
            return Err(ZsetError::NanScore);
        }
        let ruled_out =
            current.is_some_and(|now| (flags.lt && score >= now) || (flags.gt && score <= now));
        if ruled_out {
            return Ok(AddOutcome::Skipped);
        }
        let change = self.upsert(member, score, current, limits);
        Ok(AddOutcome::Applied { change, score })
    }

    /// Removes a member; whether it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.encoding {
            Encoding::Listpack(lp) => lp.remove(member).is_some(),
            Encoding::Skiplist(sl) => sl.remove(member).is_some(),
        }
    }

    /// A member's 0-based rank, from the lowest score (`rev`: from the highest).
    pub fn rank(&self, member: &[u8], rev: bool) -> Option<usize> {
        let rank = match &self.encoding {
            Encoding::Listpack(lp) => lp.rank(member),
            Encoding::Skiplist(sl) => sl.rank(member),
        }?;
        Some(if rev { self.len() - 1 - rank } else { rank })
    }

    /// The element at a 0-based ascending rank.
    pub fn get_by_rank(&self, rank: usize) -> Option<(&Bytes, f64)> {
        match &self.encoding {
            Encoding::Listpack(lp) => lp.entries().get(rank).map(|(m, s)| (m, *s)),
            Encoding::Skiplist(sl) => sl.node_at(rank).map(|x| sl.entry(x)),
        }
    }

    /// Every element, in ascending order.
    pub fn iter(&self) -> Range<'_> {
        self.ranks(0, self.len(), false)
    }

    /// ZRANGE by rank: ranks `start..=stop`, negative ones counting from the end
    /// (-1 is the last), clamped as Redis clamps them; `rev` ranks and yields
    /// from the highest score down.
    pub fn range_by_rank(&self, start: i64, stop: i64, rev: bool) -> Range<'_> {
        let (first, count) = rank_window(start, stop, self.len());
        let first = if rev {
            self.len() - first - count
        } else {
            first
        };
        self.ranks(first, count, rev)
    }

    /// ZRANGEBYSCORE: the elements with scores between `min` and `max` (always
    /// the low and the high bound, whatever `rev`), skipping `offset` of them
    /// and yielding at most `limit`, from the highest score down if `rev`.
    pub fn range_by_score(
        &self,
        min: &ScoreBound,
        max: &ScoreBound,
        rev: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> Range<'_> {
        let (lo, hi) = self.score_span(min, max);
        self.limited(lo, hi, rev, offset, limit)
    }

    /// ZRANGEBYLEX: as [`range_by_score`](Self::range_by_score), by member.
    /// Meaningful when all scores are equal, as in Redis.
    pub fn range_by_lex(
        &self,
        min: &LexBound,
        max: &LexBound,
        rev: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> Range<'_> {
        let (lo, hi) = self.lex_span(min, max);
        self.limited(lo, hi, rev, offset, limit)
    }

    /// ZCOUNT: elements with scores between `min` and `max`.
    pub fn count_in_score(&self, min: &ScoreBound, max: &ScoreBound) -> usize {
        let (lo, hi) = self.score_span(min, max);
        hi - lo
    }

    /// ZLEXCOUNT: elements with members between `min` and `max`.
    pub fn count_in_lex(&self, min: &LexBound, max: &LexBound) -> usize {
        let (lo, hi) = self.lex_span(min, max);
        hi - lo
    }

    /// ZPOPMIN: removes and returns up to `n` elements, lowest score first.
    pub fn pop_min(&mut self, n: usize) -> Vec<(Bytes, f64)> {
        self.pop(n, false)
    }

    /// ZPOPMAX: removes and returns up to `n` elements, highest score first.
    pub fn pop_max(&mut self, n: usize) -> Vec<(Bytes, f64)> {
        self.pop(n, true)
    }

    /// ZREMRANGEBYRANK: removes ranks `start..=stop` (as in
    /// [`range_by_rank`](Self::range_by_rank)); how many went.
    pub fn remove_range_by_rank(&mut self, start: i64, stop: i64) -> usize {
        let (first, count) = rank_window(start, stop, self.len());
        self.remove_ranks(first, first + count)
    }

    /// ZREMRANGEBYSCORE: removes the elements with scores in range; how many went.
    pub fn remove_range_by_score(&mut self, min: &ScoreBound, max: &ScoreBound) -> usize {
        let (lo, hi) = self.score_span(min, max);
        self.remove_ranks(lo, hi)
    }

    /// ZREMRANGEBYLEX: removes the elements with members in range; how many went.
    pub fn remove_range_by_lex(&mut self, min: &LexBound, max: &LexBound) -> usize {
        let (lo, hi) = self.lex_span(min, max);
        self.remove_ranks(lo, hi)
    }

    /// One element chosen uniformly (ZRANDMEMBER without a count, or with a
    /// negative one, called once per element), or `None` when empty.
    pub fn random_entry<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(&Bytes, f64)> {
        if self.is_empty() {
            return None;
        }
        self.get_by_rank(rng.gen_range(0..self.len()))
    }

    /// Up to `count` distinct elements chosen uniformly, in random order; the
    /// whole set, in order, when `count` reaches its size (ZRANDMEMBER count).
    pub fn random_distinct<R: Rng + ?Sized>(
        &self,
        count: usize,
        rng: &mut R,
    ) -> Vec<(&Bytes, f64)> {
        if count >= self.len() {
            return self.iter().collect();
        }
        rand::seq::index::sample(rng, self.len(), count)
            .into_iter()
            .filter_map(|rank| self.get_by_rank(rank))
            .collect()
    }

    /// Estimated bytes used by the set, its own struct included (MEMORY USAGE).
    pub fn mem_usage(&self) -> usize {
        mem::size_of::<ZSet>()
            + match &self.encoding {
                Encoding::Listpack(lp) => lp.heap_usage(),
                Encoding::Skiplist(sl) => sl.heap_usage(),
            }
    }

    /// Stores `score` for `member`, whose score is `current`.
    fn upsert(
        &mut self,
        member: &[u8],
        score: f64,
        current: Option<f64>,
        limits: ListpackLimits,
    ) -> InsertOutcome {
        match current {
            Some(now) if now == score => InsertOutcome::Unchanged,
            Some(_) => {
                match &mut self.encoding {
                    Encoding::Listpack(lp) => lp.update(member, score),
                    Encoding::Skiplist(sl) => sl.update(member, score),
                }
                InsertOutcome::Updated
            }
            None => {
                self.insert_new(member, score, limits);
                InsertOutcome::Added
            }
        }
    }

    /// Adds a member not in the set, converting to the big encoding first if
    /// this member would pass a listpack threshold.
    fn insert_new(&mut self, member: &[u8], score: f64, limits: ListpackLimits) {
        if let Encoding::Listpack(lp) = &mut self.encoding {
            if lp.len() >= limits.max_entries || member.len() > limits.max_value {
                let entries = mem::take(lp).into_entries();
                self.encoding = Encoding::Skiplist(Box::new(SkipList::from_sorted(entries)));
            }
        }
        let member = Bytes::copy_from_slice(member);
        match &mut self.encoding {
            Encoding::Listpack(lp) => lp.insert(member, score),
            Encoding::Skiplist(sl) => sl.insert(member, score),
        }
    }

    /// How many elements, from the first, satisfy `pred` (a prefix of the order).
    fn partition_point(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.encoding {
            Encoding::Listpack(lp) => lp.partition_point(pred),
            Encoding::Skiplist(sl) => sl.partition_point(pred),
        }
    }

    /// The ranks `lo..hi` of the elements with scores in range.
    fn score_span(&self, min: &ScoreBound, max: &ScoreBound) -> (usize, usize) {
        let lo = self.partition_point(|score, _| min.below_min(score));
        let hi = self.partition_point(|score, _| max.within_max(score));
        (lo, hi.max(lo))
    }

    /// The ranks `lo..hi` of the elements with members in range.
    fn lex_span(&self, min: &LexBound, max: &LexBound) -> (usize, usize) {
        let lo = self.partition_point(|_, member| min.below_min(member));
        let hi = self.partition_point(|_, member| max.within_max(member));
        (lo, hi.max(lo))
    }

    /// Ranks `lo..hi` after a LIMIT `offset`/`limit` counted in `rev` order.
    fn limited(
        &self,
        lo: usize,
        hi: usize,
        rev: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> Range<'_> {
        let skip = offset.min(hi - lo);
        let count = (hi - lo - skip).min(limit.unwrap_or(usize::MAX));
        let first = if rev { hi - skip - count } else { lo + skip };
        self.ranks(first, count, rev)
    }

    /// The `count` elements from ascending rank `first`, yielded from the last
    /// of them down if `rev`.
    fn ranks(&self, first: usize, count: usize, rev: bool) -> Range<'_> {
        match &self.encoding {
            Encoding::Listpack(lp) => Range::listpack(&lp.entries()[first..first + count], rev),
            Encoding::Skiplist(sl) => {
                let start = if rev {
                    (first + count).checked_sub(1)
                } else {
                    Some(first)
                };
                let at = start
                    .filter(|_| count > 0)
                    .and_then(|rank| sl.node_at(rank));
                Range::skiplist(sl, at, count, rev)
            }
        }
    }

    /// Removes ascending ranks `start..end`; how many went.
    fn remove_ranks(&mut self, start: usize, end: usize) -> usize {
        match &mut self.encoding {
            Encoding::Listpack(lp) => lp.remove_ranks(start, end),
            Encoding::Skiplist(sl) => sl.remove_ranks(start, end),
        }
        end - start
    }

    fn pop(&mut self, n: usize, highest: bool) -> Vec<(Bytes, f64)> {
        let count = n.min(self.len());
        let first = if highest { self.len() - count } else { 0 };
        let popped = self
            .ranks(first, count, highest)
            .map(|(m, s)| (m.clone(), s))
            .collect();
        self.remove_ranks(first, first + count);
        popped
    }
}

/// Redis's reading of ranks `start..=stop` over `len` elements, negative ranks
/// counting from the end: the first rank and how many follow.
fn rank_window(start: i64, stop: i64, len: usize) -> (usize, usize) {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let from_end = |rank: i64| if rank < 0 { rank + len } else { rank };
    let start = from_end(start).max(0);
    let stop = from_end(stop).min(len - 1);
    if start > stop {
        return (0, 0);
    }
    (start as usize, (stop - start + 1) as usize)
}
