//! Test-only: a full check of the skiplist's structural invariants.

use std::cmp::Ordering::Less;
use std::collections::HashMap;

use super::{SkipList, HEAD};
use crate::engine::types::zset::key_cmp;

impl SkipList {
    /// Panics unless every structural invariant holds: order, back links, spans,
    /// levels, the map, the free list and the byte counters.
    pub(in crate::engine::types::zset) fn check_invariants(&self) {
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
    pub(in crate::engine::types::zset) fn arena_len(&self) -> usize {
        self.nodes.len()
    }
}
