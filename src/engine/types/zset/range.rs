//! Reads and removals by position: ranges by rank, score and lex, counts, pops,
//! and [`Range`], the iterator they return.
//!
//! Each of them comes down to "these ranks", found in O(log n) by a partition
//! search on the bounds (LIMIT's offset is then plain arithmetic, not a walk),
//! and "these `count` elements from this rank, up or down", walked in O(1) per
//! element. A `Range` knows its exact length, so a reply can write its array
//! header before the elements.

use std::iter::FusedIterator;
use std::slice;

use bytes::Bytes;

use super::skiplist::{Idx, SkipList};
use super::{Encoding, LexBound, ScoreBound, ZSet};

/// Elements of a sorted set, as (member, score), in rank order or its reverse.
#[derive(Debug, Clone)]
pub struct Range<'a> {
    cursor: Cursor<'a>,
    /// Elements still to yield.
    left: usize,
}

#[derive(Debug, Clone)]
enum Cursor<'a> {
    Listpack {
        entries: slice::Iter<'a, (Bytes, f64)>,
        rev: bool,
    },
    Skiplist {
        list: &'a SkipList,
        at: Option<Idx>,
        rev: bool,
    },
}

impl<'a> Range<'a> {
    /// All of `entries`, from the last if `rev`.
    fn listpack(entries: &'a [(Bytes, f64)], rev: bool) -> Range<'a> {
        Range {
            left: entries.len(),
            cursor: Cursor::Listpack {
                entries: entries.iter(),
                rev,
            },
        }
    }

    /// `count` nodes of `list` from node `at`, walking down if `rev`.
    fn skiplist(list: &'a SkipList, at: Option<Idx>, count: usize, rev: bool) -> Range<'a> {
        Range {
            left: if at.is_some() { count } else { 0 },
            cursor: Cursor::Skiplist { list, at, rev },
        }
    }
}

impl<'a> Iterator for Range<'a> {
    type Item = (&'a Bytes, f64);

    fn next(&mut self) -> Option<(&'a Bytes, f64)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        match &mut self.cursor {
            Cursor::Listpack { entries, rev } => {
                let entry = if *rev {
                    entries.next_back()
                } else {
                    entries.next()
                };
                entry.map(|(member, score)| (member, *score))
            }
            Cursor::Skiplist { list, at, rev } => {
                let x = (*at)?;
                *at = list.step(x, *rev);
                Some(list.entry(x))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Range<'_> {}

impl FusedIterator for Range<'_> {}

impl ZSet {
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
