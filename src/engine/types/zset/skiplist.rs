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

use std::collections::HashMap;
use std::mem;

use bytes::Bytes;

use super::key_cmp;
use std::cmp::Ordering::{Greater, Less};

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

const NO_LINK: Link = Link {
    next: HEAD,
    span: 0,
};

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
                list.set_link(
                    last[i],
                    i,
                    Link {
                        next: x,
                        span: rank - last_rank[i],
                    },
                );
                (last[i], last_rank[i]) = (x, rank);
            }
            list.count = rank;
        }
        for i in 1..list.level {
            list.set_link(
                last[i],
                i,
                Link {
                    next: HEAD,
                    span: list.count - last_rank[i],
                },
            );
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

    /// Walks down from the head, at each level moving right while `before`
    /// holds for (rank of the next node, next node).
    fn descend(&self, before: impl Fn(u32, &Node) -> bool) -> Path {
        let mut path = Path {
            nodes: [HEAD; MAX_LEVEL],
            ranks: [0; MAX_LEVEL],
        };
        let (mut x, mut rank) = (HEAD, 0);
        for i in (0..self.level).rev() {
            loop {
                let link = self.link(x, i);
                if link.next == HEAD || !before(rank + link.span, &self.nodes[link.next as usize]) {
                    break;
                }
                rank += link.span;
                x = link.next;
            }
            path.nodes[i] = x;
            path.ranks[i] = rank;
        }
        path
    }

    /// The path to the element (score, member): its predecessors at each level.
    fn path_to(&self, score: f64, member: &[u8]) -> Path {
        self.descend(|_, node| key_cmp(node.score, &node.member, score, member) == Less)
    }

    /// Whether node `x` would keep its place with `score` instead of its own.
    fn fits_at(&self, x: Idx, score: f64) -> bool {
        let node = &self.nodes[x as usize];
        let cmp = |y: Idx| {
            let other = &self.nodes[y as usize];
            key_cmp(other.score, &other.member, score, &node.member)
        };
        (node.prev == HEAD || cmp(node.prev) == Less)
            && (node.next == HEAD || cmp(node.next) == Greater)
    }

    fn link(&self, x: Idx, level: usize) -> Link {
        let node = &self.nodes[x as usize];
        match level {
            0 => Link {
                next: node.next,
                span: u32::from(node.next != HEAD),
            },
            _ => node.upper[level - 1],
        }
    }

    /// Sets a link; at level 0 only `next` is stored, its span being implied.
    fn set_link(&mut self, x: Idx, level: usize, link: Link) {
        let node = &mut self.nodes[x as usize];
        match level {
            0 => node.next = link.next,
            _ => node.upper[level - 1] = link,
        }
    }

    /// Links a new node for (member, score) into the list (not the map).
    fn link_in(&mut self, member: Bytes, score: f64) {
        let mut path = self.path_to(score, &member);
        let level = self.random_level();
        for i in self.level..level {
            path.nodes[i] = HEAD;
            path.ranks[i] = 0;
            self.set_link(
                HEAD,
                i,
                Link {
                    next: HEAD,
                    span: self.count,
                },
            );
        }
        self.level = self.level.max(level);
        let x = self.alloc(member, score, path.nodes[0], level);
        for i in 0..level {
            let before = self.link(path.nodes[i], i);
            let skipped = path.ranks[0] - path.ranks[i];
            self.set_link(
                x,
                i,
                Link {
                    next: before.next,
                    span: before.span - skipped,
                },
            );
            self.set_link(
                path.nodes[i],
                i,
                Link {
                    next: x,
                    span: skipped + 1,
                },
            );
        }
        for i in level..self.level {
            let link = self.link(path.nodes[i], i);
            self.set_link(
                path.nodes[i],
                i,
                Link {
                    span: link.span + 1,
                    ..link
                },
            );
        }
        match self.nodes[x as usize].next {
            HEAD => self.tail = x,
            next => self.nodes[next as usize].prev = x,
        }
        self.count += 1;
    }

    /// Unlinks node `x`, whose predecessors are `path`, and frees its slot
    /// (the map is left to the caller).
    fn unlink(&mut self, path: &Path, x: Idx) -> (Bytes, f64) {
        for i in 0..self.level {
            let before = self.link(path.nodes[i], i);
            let link = if before.next == x {
                let gone = self.link(x, i);
                Link {
                    next: gone.next,
                    span: before.span + gone.span - 1,
                }
            } else {
                Link {
                    span: before.span - 1,
                    ..before
                }
            };
            self.set_link(path.nodes[i], i, link);
        }
        let Node { prev, next, .. } = self.nodes[x as usize];
        match next {
            HEAD => self.tail = prev,
            next => self.nodes[next as usize].prev = prev,
        }
        while self.level > 1 && self.link(HEAD, self.level - 1).next == HEAD {
            self.level -= 1;
        }
        self.count -= 1;
        self.release(x)
    }

    fn alloc(&mut self, member: Bytes, score: f64, prev: Idx, level: usize) -> Idx {
        self.member_bytes += member.len();
        self.upper_links += level - 1;
        let node = Node {
            member,
            score,
            prev,
            next: HEAD,
            upper: vec![NO_LINK; level - 1].into(),
        };
        if self.free != HEAD {
            let x = self.free;
            self.free = self.nodes[x as usize].prev;
            self.vacant -= 1;
            self.nodes[x as usize] = node;
            return x;
        }
        // A set of 2^32 elements would need hundreds of GiB: far past any maxmemory.
        let x = Idx::try_from(self.nodes.len()).expect("a sorted set holds under 2^32 elements");
        self.nodes.push(node);
        x
    }

    fn release(&mut self, x: Idx) -> (Bytes, f64) {
        let node = mem::replace(&mut self.nodes[x as usize], Node::vacant(self.free));
        self.free = x;
        self.vacant += 1;
        self.member_bytes -= node.member.len();
        self.upper_links -= node.upper.len();
        (node.member, node.score)
    }

    /// Rebuilds the list once most of the arena is free slots.
    fn compact_if_sparse(&mut self) {
        if self.vacant > COMPACT_MIN_FREE && self.vacant > self.count {
            let list = mem::replace(self, SkipList::new());
            *self = SkipList::from_sorted(list.into_sorted());
        }
    }

    /// A level in 1..=MAX_LEVEL, each further level with probability 1/4.
    fn random_level(&mut self) -> usize {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let bits = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        1 + (bits.leading_zeros() as usize / 2).min(MAX_LEVEL - 1)
    }
}

#[cfg(test)]
impl SkipList {
    /// Panics unless every structural invariant holds: order, back links, spans,
    /// levels, the map, the free list and the byte counters.
    pub(super) fn check_invariants(&self) {
        let mut rank_of = HashMap::from([(HEAD, 0u32)]);
        let (mut x, mut rank) = (HEAD, 0);
        while self.nodes[x as usize].next != HEAD {
            let next = self.nodes[x as usize].next;
            let (node, prev) = (&self.nodes[next as usize], &self.nodes[x as usize]);
            assert_eq!(node.prev, x, "back link of node {next}");
            if x != HEAD {
                assert_eq!(
                    key_cmp(prev.score, &prev.member, node.score, &node.member),
                    Less
                );
            }
            let mapped = self.scores.get(&node.member).map(|s| s.to_bits());
            assert_eq!(
                mapped,
                Some(node.score.to_bits()),
                "map score of {:?}",
                node.member
            );
            assert!(
                node.upper.len() < self.level,
                "node {next} above the list's level"
            );
            rank += 1;
            rank_of.insert(next, rank);
            x = next;
        }
        assert_eq!(
            (self.tail, rank, self.scores.len()),
            (x, self.count, self.len())
        );
        for i in 1..self.level {
            let (mut x, mut seen) = (HEAD, 0);
            loop {
                let link = self.link(x, i);
                if link.next == HEAD {
                    assert_eq!(
                        link.span,
                        self.count - rank_of[&x],
                        "tail span at level {i}"
                    );
                    break;
                }
                assert_eq!(
                    link.span,
                    rank_of[&link.next] - rank_of[&x],
                    "span at level {i}"
                );
                (x, seen) = (link.next, seen + 1);
            }
            let tall = rank_of
                .keys()
                .filter(|&&n| n != HEAD && self.nodes[n as usize].upper.len() >= i);
            assert_eq!(seen, tall.count(), "nodes linked at level {i}");
        }
        assert!(self.level == 1 || self.link(HEAD, self.level - 1).next != HEAD);
        let live = || {
            rank_of
                .keys()
                .filter(|&&n| n != HEAD)
                .map(|&n| &self.nodes[n as usize])
        };
        assert_eq!(
            self.member_bytes,
            live().map(|n| n.member.len()).sum::<usize>()
        );
        assert_eq!(
            self.upper_links,
            live().map(|n| n.upper.len()).sum::<usize>()
        );
        let (mut free, mut vacant) = (self.free, 0);
        while free != HEAD {
            assert!(
                !rank_of.contains_key(&free),
                "slot {free} both free and linked"
            );
            (free, vacant) = (self.nodes[free as usize].prev, vacant + 1);
        }
        assert_eq!(vacant, self.vacant);
        assert_eq!(self.nodes.len(), 1 + self.len() + vacant as usize);
    }

    /// Slots in the arena, free ones included.
    pub(super) fn arena_len(&self) -> usize {
        self.nodes.len()
    }
}
