//! The skiplist's machinery: searching down the levels, linking and unlinking
//! nodes while keeping every span exact, the node arena and its free list.

use std::cmp::Ordering::{Greater, Less};
use std::mem;

use bytes::Bytes;

use super::{Idx, Link, Node, Path, SkipList, COMPACT_MIN_FREE, HEAD, MAX_LEVEL, NO_LINK};
use crate::engine::types::zset::key_cmp;

impl SkipList {
    /// Walks down from the head, at each level moving right while `before`
    /// holds for (rank of the next node, next node).
    pub(super) fn descend(&self, before: impl Fn(u32, &Node) -> bool) -> Path {
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
    pub(super) fn path_to(&self, score: f64, member: &[u8]) -> Path {
        self.descend(|_, node| key_cmp(node.score, &node.member, score, member) == Less)
    }

    /// Whether node `x` would keep its place with `score` instead of its own.
    pub(super) fn fits_at(&self, x: Idx, score: f64) -> bool {
        let node = &self.nodes[x as usize];
        let cmp = |y: Idx| {
            let other = &self.nodes[y as usize];
            key_cmp(other.score, &other.member, score, &node.member)
        };
        (node.prev == HEAD || cmp(node.prev) == Less)
            && (node.next == HEAD || cmp(node.next) == Greater)
    }

    pub(super) fn link(&self, x: Idx, level: usize) -> Link {
        let node = &self.nodes[x as usize];
        match level {
            0 => Link::new(node.next, u32::from(node.next != HEAD)),
            _ => node.upper[level - 1],
        }
    }

    /// Sets a link; at level 0 only `next` is stored, its span being implied.
    pub(super) fn set_link(&mut self, x: Idx, level: usize, link: Link) {
        let node = &mut self.nodes[x as usize];
        match level {
            0 => node.next = link.next,
            _ => node.upper[level - 1] = link,
        }
    }

    /// Links a new node for (member, score) into the list (not the map).
    pub(super) fn link_in(&mut self, member: Bytes, score: f64) {
        let mut path = self.path_to(score, &member);
        let level = self.random_level();
        for i in self.level..level {
            path.nodes[i] = HEAD;
            path.ranks[i] = 0;
            self.set_link(HEAD, i, Link::new(HEAD, self.count));
        }
        self.level = self.level.max(level);
        let x = self.alloc(member, score, path.nodes[0], level);
        for i in 0..level {
            let before = self.link(path.nodes[i], i);
            let skipped = path.ranks[0] - path.ranks[i];
            self.set_link(x, i, Link::new(before.next, before.span - skipped));
            self.set_link(path.nodes[i], i, Link::new(x, skipped + 1));
        }
        for i in level..self.level {
            let link = self.link(path.nodes[i], i);
            self.set_link(path.nodes[i], i, Link::new(link.next, link.span + 1));
        }
        match self.nodes[x as usize].next {
            HEAD => self.tail = x,
            next => self.nodes[next as usize].prev = x,
        }
        self.count += 1;
    }

    /// Unlinks node `x`, whose predecessors are `path`, and frees its slot
    /// (the map is left to the caller).
    pub(super) fn unlink(&mut self, path: &Path, x: Idx) -> (Bytes, f64) {
        for i in 0..self.level {
            let before = self.link(path.nodes[i], i);
            let link = if before.next == x {
                let gone = self.link(x, i);
                Link::new(gone.next, before.span + gone.span - 1)
            } else {
                Link::new(before.next, before.span - 1)
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

    pub(super) fn alloc(&mut self, member: Bytes, score: f64, prev: Idx, level: usize) -> Idx {
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

    pub(super) fn release(&mut self, x: Idx) -> (Bytes, f64) {
        let node = mem::replace(&mut self.nodes[x as usize], Node::vacant(self.free));
        self.free = x;
        self.vacant += 1;
        self.member_bytes -= node.member.len();
        self.upper_links -= node.upper.len();
        (node.member, node.score)
    }

    /// Rebuilds the list once most of the arena is free slots.
    pub(super) fn compact_if_sparse(&mut self) {
        if self.vacant > COMPACT_MIN_FREE && self.vacant > self.count {
            let list = mem::replace(self, SkipList::new());
            *self = SkipList::from_sorted(list.into_sorted());
        }
    }

    /// A level in 1..=MAX_LEVEL, each further level with probability 1/4.
    pub(super) fn random_level(&mut self) -> usize {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let bits = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        1 + (bits.leading_zeros() as usize / 2).min(MAX_LEVEL - 1)
    }
}
