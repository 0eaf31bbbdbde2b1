//! How ZUNION, ZINTER, ZDIFF and ZINTERCARD combine their inputs, apart from
//! parsing and replying (`zset_algebra.rs`).
//!
//! An input is a sorted set, a plain set whose members all score 1, or a
//! missing key (empty), as Redis accepts them. Union and intersection take the
//! inputs smallest first (a stable sort by size, as Redis sorts them), which
//! decides how floating-point sums round. A weighted score that is NaN
//! (`inf * 0`) counts as 0 and so does a SUM of `inf` and `-inf`; in an
//! intersection, a NaN weighed after the first input goes to the fold as it is,
//! so it zeroes a SUM and never wins a MIN or a MAX, exactly as in Redis.

use bytes::Bytes;
use std::collections::hash_map::{Entry, HashMap};

use crate::engine::types::set::SetValue;
use crate::engine::types::zset::ZSet;

/// The set operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Union,
    Inter,
    Diff,
}

/// How scores of the same member combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Folds `value` into `acc`; a NaN sum (`inf + -inf`) is 0, and a NaN value
    /// never wins a MIN or a MAX.
    fn fold(self, acc: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *acc += value;
                if acc.is_nan() {
                    *acc = 0.0;
                }
            }
            Aggregate::Min if value < *acc => *acc = value,
            Aggregate::Max if value > *acc => *acc = value,
            Aggregate::Min | Aggregate::Max => {}
        }
    }
}

/// One input: a sorted set, a plain set (every member scoring 1), or nothing.
#[derive(Debug, Clone, Copy)]
pub(super) enum Input<'a> {
    Missing,
    Sorted(&'a ZSet),
    Plain(&'a SetValue),
}

impl<'a> Input<'a> {
    fn len(&self) -> usize {
        match self {
            Input::Missing => 0,
            Input::Sorted(zset) => zset.len(),
            Input::Plain(set) => set.len(),
        }
    }

    /// The member's score in this input, if it is there.
    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Missing => None,
            Input::Sorted(zset) => zset.score(member),
            Input::Plain(set) => set.contains(member).then_some(1.0),
        }
    }

    /// Every element, in no particular order.
    fn elements(&self) -> Box<dyn Iterator<Item = (Bytes, f64)> + 'a> {
        match *self {
            Input::Missing => Box::new(std::iter::empty()),
            Input::Sorted(zset) => Box::new(zset.iter().map(|(m, s)| (m.clone(), s))),
            Input::Plain(set) => Box::new(set.iter().map(|m| (m.to_bytes(), 1.0))),
        }
    }
}

/// An input with its weight.
#[derive(Debug, Clone, Copy)]
struct Source<'a> {
    input: Input<'a>,
    weight: f64,
}

impl Source<'_> {
    /// `score` weighted; NaN (`inf * 0`) counts as 0.
    fn weigh(&self, score: f64) -> f64 {
        let weighted = self.weight * score;
        if weighted.is_nan() {
            0.0
        } else {
            weighted
        }
    }
}

/// Calls `emit` for every member in all `sources` (the first the smallest)
/// with its aggregated score, until `emit` returns false.
fn intersect(
    sources: &[Source<'_>],
    aggregate: Aggregate,
    mut emit: impl FnMut(Bytes, f64) -> bool,
) {
    let Some((first, others)) = sources.split_first() else {
        return;
    };
    'members: for (member, score) in first.input.elements() {
        let mut acc = first.weigh(score);
        for other in others {
            match other.input.score(&member) {
                // Unlike the first weighing, NaN here goes to the fold.
                Some(score) => aggregate.fold(&mut acc, score * other.weight),
                None => continue 'members,
            }
        }
        if !emit(member, acc) {
            return;
        }
    }
}

fn union(sources: &[Source<'_>], aggregate: Aggregate) -> Vec<(Bytes, f64)> {
    let mut acc: HashMap<Bytes, f64> = HashMap::new();
    for source in sources {
        for (member, score) in source.input.elements() {
            let score = source.weigh(score);
            match acc.entry(member) {
                Entry::Occupied(mut seen) => aggregate.fold(seen.get_mut(), score),
                Entry::Vacant(new) => {
                    new.insert(score);
                }
            }
        }
    }
    acc.into_iter().collect()
}

/// The elements of the first input found in none of the others, scores as they are.
fn difference(inputs: &[Input<'_>]) -> Vec<(Bytes, f64)> {
    let Some((first, others)) = inputs.split_first() else {
        return Vec::new();
    };
    first
        .elements()
        .filter(|(member, _)| others.iter().all(|other| other.score(member).is_none()))
        .collect()
}

/// How to combine inputs: the operation, a weight per input (all 1 when
/// `None`; ZDIFF has none) and the aggregate.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Combine {
    pub(super) op: Op,
    pub(super) weights: Option<Vec<f64>>,
    pub(super) aggregate: Aggregate,
}

impl Combine {
    /// The combined elements, sorted as a sorted set orders them.
    pub(super) fn run(&self, inputs: Vec<Input<'_>>) -> Vec<(Bytes, f64)> {
        let mut elements = match self.op {
            Op::Diff => difference(&inputs),
            Op::Union => union(&self.sources(inputs), self.aggregate),
            Op::Inter => {
                let mut out = Vec::new();
                intersect(&self.sources(inputs), self.aggregate, |member, score| {
                    out.push((member, score));
                    true
                });
                out
            }
        };
        // Scores are never NaN here; -0 and 0 are equal, as in a sorted set.
        elements.sort_by(|(m1, s1), (m2, s2)| {
            s1.partial_cmp(s2)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| m1.cmp(m2))
        });
        elements
    }

    /// Pairs inputs with their weights, smallest input first (stable, as Redis).
    fn sources<'a>(&self, inputs: Vec<Input<'a>>) -> Vec<Source<'a>> {
        let weight = |i: usize| self.weights.as_ref().and_then(|w| w.get(i).copied());
        let mut sources: Vec<Source<'a>> = inputs
            .into_iter()
            .enumerate()
            .map(|(i, input)| Source {
                input,
                weight: weight(i).unwrap_or(1.0),
            })
            .collect();
        sources.sort_by_key(|source| source.input.len());
        sources
    }
}

/// ZINTERCARD: the size of the intersection of `inputs`, counting no further
/// than `limit` (0: no limit).
pub(super) fn intersection_size(inputs: Vec<Input<'_>>, limit: usize) -> usize {
    let plain = Combine {
        op: Op::Inter,
        weights: None,
        aggregate: Aggregate::Sum,
    };
    let mut count = 0;
    intersect(&plain.sources(inputs), Aggregate::Sum, |_, _| {
        count += 1;
        limit == 0 || count < limit
    });
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::types::zset::ListpackLimits;
    use crate::engine::value::EncodingLimits;

    fn zset(elements: &[(&str, f64)]) -> ZSet {
        let mut zset = ZSet::new();
        for &(member, score) in elements {
            zset.insert(member.as_bytes(), score, ListpackLimits::default())
                .unwrap();
        }
        zset
    }

    #[test]
    fn weights_aggregates_and_the_nan_rule() {
        let a = zset(&[("x", 1.0), ("y", f64::INFINITY)]);
        let b = zset(&[("y", f64::NEG_INFINITY), ("z", 3.0)]);
        let inputs = || vec![Input::Sorted(&a), Input::Sorted(&b)];
        let run = |op, weights: Option<Vec<f64>>, aggregate| {
            let combine = Combine {
                op,
                weights,
                aggregate,
            };
            combine.run(inputs())
        };
        let pairs = |v: &[(&str, f64)]| {
            v.iter()
                .map(|&(m, s)| (Bytes::from(m.to_string()), s))
                .collect::<Vec<_>>()
        };
        // inf * 0 weighs 0.
        let got = run(Op::Union, Some(vec![0.0, 1.0]), Aggregate::Sum);
        assert_eq!(
            got,
            pairs(&[("y", f64::NEG_INFINITY), ("x", 0.0), ("z", 3.0)])
        );
        // inf + -inf is 0.
        let got = run(Op::Inter, None, Aggregate::Sum);
        assert_eq!(got, pairs(&[("y", 0.0)]));
        // In an intersection, inf * 0 met after the first input is NaN: it makes
        // a SUM 0 and never wins a MIN.
        let got = run(Op::Inter, Some(vec![1.0, 0.0]), Aggregate::Sum);
        assert_eq!(got, pairs(&[("y", 0.0)]));
        let got = run(Op::Inter, Some(vec![1.0, 0.0]), Aggregate::Min);
        assert_eq!(got, pairs(&[("y", f64::INFINITY)]));
        let got = run(Op::Union, None, Aggregate::Max);
        assert_eq!(got, pairs(&[("x", 1.0), ("z", 3.0), ("y", f64::INFINITY)]));
        let got = run(Op::Diff, None, Aggregate::Sum);
        assert_eq!(got, pairs(&[("x", 1.0)]));
    }

    #[test]
    fn plain_sets_score_one() {
        let sorted = zset(&[("1", 5.0), ("a", 2.0), ("01", 1.0)]);
        let set = |members: &[&str]| {
            let mut set = SetValue::new();
            for member in members {
                set.insert(member.as_bytes(), &EncodingLimits::default());
            }
            set
        };
        let ints = set(&["1", "2"]);
        let table = set(&["a", "b"]);
        assert_eq!((ints.encoding(), table.encoding()), ("intset", "hashtable"));
        let run = |op, inputs| {
            let combine = Combine {
                op,
                weights: None,
                aggregate: Aggregate::Sum,
            };
            combine.run(inputs)
        };
        let all = vec![
            Input::Sorted(&sorted),
            Input::Plain(&ints),
            Input::Plain(&table),
        ];
        let text: Vec<String> = run(Op::Union, all.clone())
            .iter()
            .map(|(m, s)| format!("{}={s}", String::from_utf8_lossy(m)))
            .collect();
        assert_eq!(text, ["01=1", "2=1", "b=1", "a=3", "1=6"]);
        let inter = run(Op::Inter, vec![Input::Sorted(&sorted), Input::Plain(&ints)]);
        assert_eq!(inter, vec![(Bytes::from("1"), 6.0)]);
        let diff = vec![Input::Plain(&ints), Input::Sorted(&sorted), Input::Missing];
        assert_eq!(run(Op::Diff, diff), vec![(Bytes::from("2"), 1.0)]);
        assert_eq!(intersection_size(all.clone(), 0), 0);
        let pair = vec![Input::Plain(&table), Input::Sorted(&sorted)];
        assert_eq!(intersection_size(pair.clone(), 0), 1);
        let same = vec![Input::Sorted(&sorted), Input::Sorted(&sorted)];
        assert_eq!(intersection_size(same.clone(), 0), 3);
        assert_eq!(intersection_size(same, 2), 2);
    }

    #[test]
    fn sums_round_smallest_input_first() {
        // 1e16 + 1 rounds back to 1e16; 1 + 1 + 1e16 does not. Redis adds the
        // smaller inputs first, whatever the order of the keys.
        let big = zset(&[("m", 1e16), ("f1", 1.0), ("f2", 2.0)]);
        let one = zset(&[("m", 1.0)]);
        let union = Combine {
            op: Op::Union,
            weights: None,
            aggregate: Aggregate::Sum,
        };
        let inputs = vec![
            Input::Sorted(&big),
            Input::Sorted(&one),
            Input::Sorted(&one),
        ];
        let got = union.run(inputs);
        assert_eq!(got.last(), Some(&(Bytes::from("m"), 1e16 + 2.0)));
    }
}
