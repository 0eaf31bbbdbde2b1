//! Random operation sequences, run against a plain model and compared query by
//! query, in each encoding and across the conversion between them.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;

use super::*;

/// A score with the total order sorted sets use: -0 equals 0 (no NaN here).
#[derive(Debug, Clone, Copy)]
struct Score(f64);

impl PartialEq for Score {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.partial_cmp(&other.0).expect("no NaN in the model")
    }
}

/// The model: what a sorted set means, with none of the machinery.
#[derive(Debug, Default)]
struct Model {
    order: BTreeSet<(Score, Bytes)>,
    scores: HashMap<Bytes, f64>,
}

impl Model {
    fn insert(&mut self, member: &Bytes, score: f64) {
        if let Some(old) = self.scores.insert(member.clone(), score) {
            self.order.remove(&(Score(old), member.clone()));
        }
        self.order.insert((Score(score), member.clone()));
    }

    fn remove(&mut self, member: &Bytes) {
        if let Some(old) = self.scores.remove(member) {
            self.order.remove(&(Score(old), member.clone()));
        }
    }

    fn all(&self) -> Vec<(Bytes, Score)> {
        self.order.iter().map(|(s, m)| (m.clone(), *s)).collect()
    }

    /// The elements (in `rev` order if asked) for which `keep(index)` holds.
    fn pick(&self, rev: bool, keep: impl Fn(i64) -> bool) -> Vec<(Bytes, Score)> {
        let mut all = self.all();
        if rev {
            all.reverse();
        }
        (0..)
            .zip(all)
            .filter(|(i, _)| keep(*i))
            .map(|(_, e)| e)
            .collect()
    }

    fn by_rank(&self, start: i64, stop: i64, rev: bool) -> Vec<(Bytes, Score)> {
        let len = self.order.len() as i128;
        let at = |r: i64| {
            if r < 0 {
                i128::from(r) + len
            } else {
                i128::from(r)
            }
        };
        self.pick(rev, |i| {
            at(start) <= i128::from(i) && i128::from(i) <= at(stop)
        })
    }

    fn by_filter(
        &self,
        rev: bool,
        window: Window,
        keep: impl Fn(&(Bytes, Score)) -> bool,
    ) -> Vec<(Bytes, Score)> {
        let matching: Vec<_> = self.pick(rev, |_| true).into_iter().filter(keep).collect();
        let limit = window.limit.unwrap_or(usize::MAX);
        matching
            .into_iter()
            .skip(window.offset)
            .take(limit)
            .collect()
    }
}

fn score_in(score: f64, min: &ScoreBound, max: &ScoreBound) -> bool {
    let above = match *min {
        ScoreBound::Inclusive(m) => score >= m,
        ScoreBound::Exclusive(m) => score > m,
    };
    let below = match *max {
        ScoreBound::Inclusive(m) => score <= m,
        ScoreBound::Exclusive(m) => score < m,
    };
    above && below
}

fn lex_in(member: &[u8], min: &LexBound, max: &LexBound) -> bool {
    let above = match min {
        LexBound::Min => true,
        LexBound::Max => false,
        LexBound::Inclusive(m) => member >= &m[..],
        LexBound::Exclusive(m) => member > &m[..],
    };
    let below = match max {
        LexBound::Min => false,
        LexBound::Max => true,
        LexBound::Inclusive(m) => member <= &m[..],
        LexBound::Exclusive(m) => member < &m[..],
    };
    above && below
}

#[derive(Debug, Clone, Copy)]
struct Window {
    offset: usize,
    limit: Option<usize>,
}

#[derive(Debug, Clone)]
enum Op {
    Insert(Bytes, f64),
    Incr(Bytes, f64),
    Remove(Bytes),
    PopMin(usize),
    PopMax(usize),
    RemoveRanks(i64, i64),
    RemoveScores(ScoreBound, ScoreBound),
    RemoveLex(LexBound, LexBound),
    Rank(Bytes, bool),
    RangeRanks(i64, i64, bool),
    RangeScores(ScoreBound, ScoreBound, bool, Window),
    RangeLex(LexBound, LexBound, bool, Window),
}

fn member() -> impl Strategy<Value = Bytes> {
    // Few distinct members, with prefixes, NUL and high bytes, and some long
    // enough (4 bytes) to pass the tight value threshold below.
    prop::collection::vec(prop::sample::select(vec![b'a', b'b', 0, 0xff]), 0..5)
        .prop_map(Bytes::from)
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (-3i8..=3).prop_map(f64::from),
        1 => Just(-0.0),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(0.5),
    ]
}

fn rank() -> impl Strategy<Value = i64> {
    prop_oneof![8 => -12i64..12, 1 => Just(i64::MIN), 1 => Just(i64::MAX)]
}

fn score_bound() -> impl Strategy<Value = ScoreBound> {
    (score(), any::<bool>()).prop_map(|(s, ex)| {
        if ex {
            ScoreBound::Exclusive(s)
        } else {
            ScoreBound::Inclusive(s)
        }
    })
}

fn lex_bound() -> impl Strategy<Value = LexBound> {
    prop_oneof![
        1 => Just(LexBound::Min),
        1 => Just(LexBound::Max),
        3 => member().prop_map(LexBound::Inclusive),
        3 => member().prop_map(LexBound::Exclusive),
    ]
}

fn window() -> impl Strategy<Value = Window> {
    (0usize..6, prop::option::of(0usize..6)).prop_map(|(offset, limit)| Window { offset, limit })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (member(), score()).prop_map(|(m, s)| Op::Insert(m, s)),
        3 => (member(), score()).prop_map(|(m, s)| Op::Incr(m, s)),
        4 => member().prop_map(Op::Remove),
        1 => (0usize..4).prop_map(Op::PopMin),
        1 => (0usize..4).prop_map(Op::PopMax),
        1 => (rank(), rank()).prop_map(|(a, b)| Op::RemoveRanks(a, b)),
        1 => (score_bound(), score_bound()).prop_map(|(a, b)| Op::RemoveScores(a, b)),
        1 => (lex_bound(), lex_bound()).prop_map(|(a, b)| Op::RemoveLex(a, b)),
        3 => (member(), any::<bool>()).prop_map(|(m, rev)| Op::Rank(m, rev)),
        3 => (rank(), rank(), any::<bool>()).prop_map(|(a, b, rev)| Op::RangeRanks(a, b, rev)),
        3 => (score_bound(), score_bound(), any::<bool>(), window())
            .prop_map(|(a, b, rev, w)| Op::RangeScores(a, b, rev, w)),
        3 => (lex_bound(), lex_bound(), any::<bool>(), window())
            .prop_map(|(a, b, rev, w)| Op::RangeLex(a, b, rev, w)),
    ]
}

fn got(range: Range<'_>) -> Vec<(Bytes, Score)> {
    assert_eq!(range.len(), range.clone().count(), "Range::len is exact");
    range.map(|(m, s)| (m.clone(), Score(s))).collect()
}

fn popped(entries: Vec<(Bytes, f64)>) -> Vec<(Bytes, Score)> {
    entries.into_iter().map(|(m, s)| (m, Score(s))).collect()
}

/// Applies `op` to both, asserting they agree. `same_score` says every score is
/// equal, the only case where lex ranges are defined.
fn step(zset: &mut ZSet, model: &mut Model, op: &Op, limits: ListpackLimits, same_score: bool) {
    match op {
        Op::Insert(m, s) => {
            let s = if same_score { 0.0 } else { *s };
            zset.insert(m, s, limits).unwrap();
            model.insert(m, s);
        }
        Op::Incr(m, s) => {
            let s = if same_score { 0.0 } else { *s };
            let incr = AddFlags {
                incr: true,
                ..AddFlags::default()
            };
            match (zset.add(m, s, incr, limits), model.scores.get(m)) {
                (Ok(AddOutcome::Applied { score, .. }), old) => {
                    assert_eq!(Score(score), Score(old.unwrap_or(&0.0) + s));
                    model.insert(m, score);
                }
                (outcome, old) => assert!(outcome.is_err() && (old.unwrap() + s).is_nan()),
            }
        }
        Op::Remove(m) => {
            assert_eq!(zset.remove(m), model.scores.contains_key(m));
            model.remove(m);
        }
        Op::PopMin(n) | Op::PopMax(n) => {
            let highest = matches!(op, Op::PopMax(_));
            let want = model.pick(highest, |i| i < *n as i64);
            let got = if highest {
                zset.pop_max(*n)
            } else {
                zset.pop_min(*n)
            };
            assert_eq!(popped(got), want);
            want.iter().for_each(|(m, _)| model.remove(m));
        }
        Op::RemoveRanks(a, b) => {
            let want = model.by_rank(*a, *b, false);
            assert_eq!(zset.remove_range_by_rank(*a, *b), want.len());
            want.iter().for_each(|(m, _)| model.remove(m));
        }
        Op::RemoveScores(min, max) => {
            let want = model.by_filter(
                false,
                Window {
                    offset: 0,
                    limit: None,
                },
                |(_, s)| score_in(s.0, min, max),
            );
            assert_eq!(zset.count_in_score(min, max), want.len());
            assert_eq!(zset.remove_range_by_score(min, max), want.len());
            want.iter().for_each(|(m, _)| model.remove(m));
        }
        Op::RemoveLex(min, max) if same_score => {
            let want = model.by_filter(
                false,
                Window {
                    offset: 0,
                    limit: None,
                },
                |(m, _)| lex_in(m, min, max),
            );
            assert_eq!(zset.count_in_lex(min, max), want.len());
            assert_eq!(zset.remove_range_by_lex(min, max), want.len());
            want.iter().for_each(|(m, _)| model.remove(m));
        }
        Op::RemoveLex(..) => {}
        Op::Rank(m, rev) => {
            let want = model.pick(*rev, |_| true).iter().position(|(x, _)| x == m);
            assert_eq!(zset.rank(m, *rev), want);
            let by_rank =
                want.and_then(|r| zset.get_by_rank(if *rev { zset.len() - 1 - r } else { r }));
            assert_eq!(by_rank.map(|(x, _)| x), want.map(|_| m));
        }
        Op::RangeRanks(a, b, rev) => assert_eq!(
            got(zset.range_by_rank(*a, *b, *rev)),
            model.by_rank(*a, *b, *rev)
        ),
        Op::RangeScores(min, max, rev, w) => {
            let want = model.by_filter(*rev, *w, |(_, s)| score_in(s.0, min, max));
            assert_eq!(
                got(zset.range_by_score(min, max, *rev, w.offset, w.limit)),
                want
            );
        }
        Op::RangeLex(min, max, rev, w) if same_score => {
            let want = model.by_filter(*rev, *w, |(m, _)| lex_in(m, min, max));
            assert_eq!(
                got(zset.range_by_lex(min, max, *rev, w.offset, w.limit)),
                want
            );
        }
        Op::RangeLex(..) => {}
    }
}

fn run(ops: &[Op], limits: ListpackLimits, same_score: bool) -> ZSet {
    let mut zset = ZSet::new();
    let mut model = Model::default();
    for op in ops {
        step(&mut zset, &mut model, op, limits, same_score);
        zset.check_invariants();
        assert_eq!(zset.len(), model.order.len());
        assert_eq!(got(zset.iter()), model.all(), "after {op:?}");
    }
    zset
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn listpack_matches_model(ops in prop::collection::vec(op(), 1..120), same in any::<bool>()) {
        let limits = ListpackLimits { max_entries: usize::MAX, max_value: usize::MAX };
        prop_assert_eq!(run(&ops, limits, same).encoding(), "listpack");
    }

    #[test]
    fn skiplist_matches_model(ops in prop::collection::vec(op(), 1..120), same in any::<bool>()) {
        let zset = run(&ops, ListpackLimits { max_entries: 0, max_value: 0 }, same);
        prop_assert!(zset.is_empty() || zset.encoding() == "skiplist");
    }

    #[test]
    fn conversion_matches_model(ops in prop::collection::vec(op(), 1..120), same in any::<bool>()) {
        // Tight limits: sets convert mid-sequence, by count or by member length.
        run(&ops, ListpackLimits { max_entries: 6, max_value: 3 }, same);
    }
}
