//! The big encoding ("skiplist"): a member→score map plus an indexable skiplist.
//!
//! The skiplist keeps the elements in (score, member) order and every link records
//! its span, the number of elements it jumps over, so the rank of an element, the
//! element at a rank, and the first element of a range are all found in expected
//! O(log n) steps, as in Redis. Its nodes live in one `Vec` arena addressed by `u32`
//! indices, which keeps the code free of `unsafe`. Node 0 is the head: it carries no
//! element, and as a link target it means "no node". A node's level-0 link is stored
//! inline (three nodes in four have no other), higher levels in a boxed slice.
//!
//! Freed slots are chained into a free list and reused; once more than half of the
//! arena is free the list is rebuilt compactly, so memory follows the set as it
//! shrinks (amortised O(1) per removal).

use std::cmp::Ordering::Greater;
use std::collections::HashMap;
use std::mem;

use bytes::Bytes;

use super::key_cmp;

#[cfg(test)]
mod check;
mod links;

/// Index of a node in the arena.
pub(super) type Idx = u32;

/// The head node, and "no node" as a link target.
const HEAD: Idx = 0;

/// Levels of the head; with P = 1/4 that indexes 2^64 elements.
const MAX_LEVEL: usize = 32;

/// Free slots below which the arena is never compacted.
const COMPACT_MIN_FREE: u32 = 64;

/// A link at one level: the next node and how many elements it advances by
/// (for the last link of a level: how many elements follow this node).
#[derive(Debug, Clone, Copy)]
struct Link {
    next: Idx,
    span: u32,
}

const NO_LINK: Link = Link::new(HEAD, 0);

impl Link {
    const fn new(next: Idx, span: u32) -> Link {
        Link { next, span }
    }
}

#[derive(Debug, Clone)]
struct Node {
    member: Bytes,
    score: f64,
    /// The previous node at level 0 (`HEAD` for the first); in a free slot, the
    /// next free slot.
    prev: Idx,
    /// The next node at level 0, `HEAD` at the end. Its span is implied: 1, or 0
    /// for the last node.
    next: Idx,
    /// Links at levels 1 and up.
    upper: Box<[Link]>,
}

impl Node {
    fn vacant(next_free: Idx) -> Node {
        Node {
            member: Bytes::new(),
            score: 0.0,
            prev: next_free,
            next: HEAD,
            upper: Box::default(),
        }
    }
}

/// For each level, the last node before a search target, and its rank (1-based,
/// 0 for the head).
struct Path {
    nodes: [Idx; MAX_LEVEL],
    ranks: [u32; MAX_LEVEL],
}

/// The elements of a consumed list, in order.
#[derive(Debug)]
pub(super) struct IntoSorted {
    list: SkipList,
    at: Idx,
    left: usize,
}

impl Iterator for IntoSorted {
    type Item = (Bytes, f64);

    fn next(&mut self) -> Option<(Bytes, f64)> {
        if self.at == HEAD {
            return None;
        }
        let node = mem::replace(&mut self.list.nodes[self.at as usize], Node::vacant(HEAD));
        self.at = node.next;
        self.left -= 1;
        Some((node.member, node.score))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// A sorted set in the big encoding.
#[derive(Debug, Clone)]
pub(super) struct SkipList {
    nodes: Vec<Node>,
    /// The member→score map: O(1) ZSCORE, and the key to find a member's node.
    scores: HashMap<Bytes, f64>,
    /// Elements linked in the list.
    count: u32,
    /// Levels in use (1 when empty).
    level: usize,
    tail: Idx,
    /// First free slot (`HEAD` when none) and how many there are.
    free: Idx,
    vacant: u32,
    /// Upper-level links allocated, and member bytes held, for `mem_usage`.
    upper_links: usize,
    member_bytes: usize,
    /// xorshift64 state for node levels.
    rng: u64,
}

impl SkipList {
    /// An empty list.
    pub(super) fn new() -> SkipList {
        let head = Node {
            upper: vec![NO_LINK; MAX_LEVEL - 1].into(),
            ..Node::vacant(HEAD)
        };
        SkipList {
            nodes: vec![head],
            scores: HashMap::new(),
            count: 0,
            level: 1,
            tail: HEAD,
            free: HEAD,
            vacant: 0,
            upper_links: 0,
            member_bytes: 0,
            rng: rand::random::<u64>() | 1,
        }
    }

    /// Builds a list from elements already in (score, member) order, with no
    /// repeated member, in O(n).
    pub(super) fn from_sorted(entries: impl IntoIterator<Item = (Bytes, f64)>) -> SkipList {
        let mut list = SkipList::new();
        let entries = entries.into_iter();
        list.nodes.reserve(entries.size_hint().0);
        list.scores.reserve(entries.size_hint().0);
        // The last node seen at each level, and its rank.
        let mut last = [HEAD; MAX_LEVEL];
        let mut last_rank = [0u32; MAX_LEVEL];
        for (member, score) in entries {
            let rank = list.count + 1;
            let level = list.random_level();
            list.level = list.level.max(level);
            list.scores.insert(member.clone(), score);
            let x = list.alloc(member, score, last[0], level);
            for i in 0..level {
                list.set_link(last[i], i, Link::new(x, rank - last_rank[i]));
                (last[i], last_rank[i]) = (x, rank);
            }
            list.count = rank;
        }
        for i in 1..list.level {
            list.set_link(last[i], i, Link::new(HEAD, list.count - last_rank[i]));
        }
        list.tail = last[0];
        list
    }

    /// Number of elements.
    pub(super) fn len(&self) -> usize {
        self.count as usize
    }

    /// A member's score.
    pub(super) fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// A member's 0-based rank in ascending order.
    pub(super) fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let at_or_before = self.partition_point(|s, m| key_cmp(s, m, score, member) != Greater);
        Some(at_or_before - 1)
    }

    /// How many elements, from the first, satisfy `pred`, which must hold for a
    /// prefix of the order and fail for the rest. O(log n).
    pub(super) fn partition_point(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        let path = self.descend(|_, node| pred(node.score, &node.member));
        path.ranks[0] as usize
    }

    /// The node at a 0-based rank, if there is one. O(log n).
    pub(super) fn node_at(&self, rank: usize) -> Option<Idx> {
        if rank >= self.len() {
            return None;
        }
        let path = self.descend(|r, _| (r as usize) <= rank);
        Some(self.nodes[path.nodes[0] as usize].next)
    }

    /// A node's member and score.
    pub(super) fn entry(&self, x: Idx) -> (&Bytes, f64) {
        let node = &self.nodes[x as usize];
        (&node.member, node.score)
    }

    /// The node after `x` in ascending order (`rev`: before it); `None` at the end.
    pub(super) fn step(&self, x: Idx, rev: bool) -> Option<Idx> {
        let node = &self.nodes[x as usize];
        let to = if rev { node.prev } else { node.next };
        (to != HEAD).then_some(to)
    }

    /// Adds a member that is not in the list yet.
    pub(super) fn insert(&mut self, member: Bytes, score: f64) {
        self.scores.insert(member.clone(), score);
        self.link_in(member, score);
    }

    /// Changes the score of a member already in the list; in place when its
    /// position does not change.
    pub(super) fn update(&mut self, member: &[u8], score: f64) {
        let Some(stored) = self.scores.get_mut(member) else {
            return;
        };
        let old = mem::replace(stored, score);
        let path = self.path_to(old, member);
        let x = self.nodes[path.nodes[0] as usize].next;
        if self.fits_at(x, score) {
            self.nodes[x as usize].score = score;
        } else {
            let (member, _) = self.unlink(&path, x);
            self.link_in(member, score);
        }
    }

    /// Removes a member, returning its score.
    pub(super) fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.scores.remove(member)?;
        let path = self.path_to(score, member);
        let x = self.nodes[path.nodes[0] as usize].next;
        self.unlink(&path, x);
        self.compact_if_sparse();
        Some(score)
    }

    /// Removes the elements of 0-based ranks `start..end`. O(log n + removed).
    pub(super) fn remove_ranks(&mut self, start: usize, end: usize) {
        let path = self.descend(|r, _| (r as usize) <= start);
        let mut x = self.nodes[path.nodes[0] as usize].next;
        for _ in start..end {
            if x == HEAD {
                break;
            }
            let next = self.nodes[x as usize].next;
            let (member, _) = self.unlink(&path, x);
            self.scores.remove(&member);
            x = next;
        }
        self.compact_if_sparse();
    }

    /// Consumes the list, yielding its elements in order.
    pub(super) fn into_sorted(self) -> IntoSorted {
        IntoSorted {
            at: self.nodes[HEAD as usize].next,
            left: self.len(),
            list: self,
        }
    }

    /// Estimated heap bytes, the list's own struct included (it is boxed).
    pub(super) fn heap_usage(&self) -> usize {
        // hashbrown stores (key, value) per bucket plus one control byte, with at
        // most 7 buckets in 8 used; a cloned `Bytes` shares one 24-byte header.
        const SHARED_HEADER: usize = 24;
        let buckets = self.scores.capacity() * 8 / 7;
        mem::size_of::<SkipList>()
            + self.nodes.capacity() * mem::size_of::<Node>()
            + self.upper_links * mem::size_of::<Link>()
            + buckets * (mem::size_of::<(Bytes, f64)>() + 1)
            + self.member_bytes
            + self.len() * SHARED_HEADER
    }
}
