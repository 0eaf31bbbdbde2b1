//! [`Range`]: a borrowed run of consecutive elements, in either direction.
//!
//! Every read of a sorted set (ZRANGE in its forms, iteration, pops) comes down to
//! "these `count` elements from this rank, up or down", found in O(log n); this
//! iterator then walks them in O(1) per element. It knows its exact length, so a
//! reply can write its array header before the elements.

use std::iter::FusedIterator;
use std::slice;

use bytes::Bytes;

use super::skiplist::{Idx, SkipList};

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
    pub(super) fn listpack(entries: &'a [(Bytes, f64)], rev: bool) -> Range<'a> {
        Range {
            left: entries.len(),
            cursor: Cursor::Listpack {
                entries: entries.iter(),
                rev,
            },
        }
    }

    /// `count` nodes of `list` from node `at`, walking down if `rev`.
    pub(super) fn skiplist(
        list: &'a SkipList,
        at: Option<Idx>,
        count: usize,
        rev: bool,
    ) -> Range<'a> {
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
