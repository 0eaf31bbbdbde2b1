//! Sorted-set algebra: ZUNION, ZINTER and ZDIFF, their `*STORE` forms, and
//! ZINTERCARD, with WEIGHTS and AGGREGATE SUM|MIN|MAX.
//!
//! As in Redis, a plain set is accepted as an input, each member scoring 1, and
//! a missing key is an empty input. The order of Redis's `zunionInterDiffGeneric
//! Command` is kept where clients can see it: numkeys, then the type of every
//! input (WRONGTYPE before any option error), then the options. Inputs are
//! combined smallest first (a stable sort by size, as Redis sorts them), which
//! decides how floating-point sums round. A weighted score that is NaN
//! (`inf * 0`) counts as 0, and so does a SUM of `inf` and `-inf`.

use bytes::Bytes;
use std::collections::hash_map::{Entry, HashMap};

use super::args;
use super::zset::{elements_reply, store};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::db::Db;
use crate::engine::types::set::SetValue;
use crate::engine::types::zset::{parse_score, ZSet};
use crate::engine::value::Value;
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("zunionstore", zunionstore),
    ("zinterstore", zinterstore),
    ("zdiffstore", zdiffstore),
    ("zunion", zunion),
    ("zinter", zinter),
    ("zdiff", zdiff),
    ("zintercard", zintercard),
];

/// The set operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

/// What the command does with the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// ZUNIONSTORE and friends: store it at the destination.
    Store,
    /// ZUNION and friends: reply it.
    Reply,
    /// ZINTERCARD: reply its size.
    Card,
}

/// How scores of the same member combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
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

/// The options after the keys.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    weights: Option<Vec<f64>>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD's LIMIT; 0 = none.
    limit: usize,
}

impl Options {
    /// Parses `[WEIGHTS w…] [AGGREGATE SUM|MIN|MAX] [WITHSCORES] [LIMIT n]`,
    /// each where Redis allows it, for `inputs` input keys.
    fn parse(
        mut rest: &[Bytes],
        inputs: usize,
        op: Op,
        output: Output,
    ) -> Result<Options, CmdError> {
        let mut options = Options {
            weights: None,
            aggregate: Aggregate::Sum,
            withscores: false,
            limit: 0,
        };
        let combines = op != Op::Diff && output != Output::Card;
        while let Some(option) = rest.first() {
            let left = rest.len();
            if combines && left > inputs && args::is(option, "weights") {
                options.weights = Some(parse_weights(&rest[1..=inputs])?);
                rest = &rest[inputs + 1..];
            } else if combines && left >= 2 && args::is(option, "aggregate") {
                options.aggregate = parse_aggregate(&rest[1])?;
                rest = &rest[2..];
            } else if output == Output::Reply && args::is(option, "withscores") {
                options.withscores = true;
                rest = &rest[1..];
            } else if output == Output::Card && left >= 2 && args::is(option, "limit") {
                let limit = args::parse_i64(&rest[1]).filter(|&n| n >= 0);
                let limit = limit.ok_or_else(|| CmdError::msg("ERR LIMIT can't be negative"))?;
                options.limit = usize::try_from(limit).unwrap_or(usize::MAX);
                rest = &rest[2..];
            } else {
                return Err(CmdError::Syntax);
            }
        }
        Ok(options)
    }
}

fn parse_weights(args: &[Bytes]) -> Result<Vec<f64>, CmdError> {
    args.iter()
        .map(|w| parse_score(w).map_err(|_| CmdError::msg("ERR weight value is not a float")))
        .collect()
}

fn parse_aggregate(arg: &[u8]) -> Result<Aggregate, CmdError> {
    [
        ("sum", Aggregate::Sum),
        ("min", Aggregate::Min),
        ("max", Aggregate::Max),
    ]
    .into_iter()
    .find(|(name, _)| args::is(arg, name))
    .map(|(_, aggregate)| aggregate)
    .ok_or(CmdError::Syntax)
}

/// The number of input keys at `args[at]`, checked against what follows.
fn parse_numkeys(args: &[Bytes], at: usize) -> Result<usize, CmdError> {
    let numkeys = args::int(&args[at])?;
    if numkeys < 1 {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        return Err(CmdError::msg(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    match usize::try_from(numkeys) {
        Ok(n) if n < args.len() - at => Ok(n),
        _ => Err(CmdError::Syntax),
    }
}

/// One input: a sorted set, a plain set (every member scoring 1), or nothing.
#[derive(Debug, Clone, Copy)]
enum Input<'a> {
    Missing,
    Sorted(&'a ZSet),
    Plain(&'a SetValue),
}

impl<'a> Input<'a> {
    fn len(&self) -> usize {
        match self {
            Input::Missing => 0,
            Input::Sorted(zset) => zset.len(),
            Input::Plain(set) => plain::len(set),
        }
    }

    /// The member's score in this input, if it is there.
    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Missing => None,
            Input::Sorted(zset) => zset.score(member),
            Input::Plain(set) => plain::contains(set, member).then_some(1.0),
        }
    }

    /// Every element, in no particular order.
    fn elements(&self) -> Box<dyn Iterator<Item = (Bytes, f64)> + 'a> {
        match *self {
            Input::Missing => Box::new(std::iter::empty()),
            Input::Sorted(zset) => Box::new(zset.iter().map(|(m, s)| (m.clone(), s))),
            Input::Plain(set) => Box::new(plain::members(set).map(|m| (m, 1.0))),
        }
    }
}

/// Reading plain sets: the only code here that knows their representation.
mod plain {
    use bytes::Bytes;

    use crate::engine::types::set::SetValue;
    use crate::engine::value::parse_canonical_int;

    pub(super) fn len(set: &SetValue) -> usize {
        match set {
            SetValue::Ints(ints) => ints.len(),
            SetValue::Table(table) => table.len(),
        }
    }

    pub(super) fn contains(set: &SetValue, member: &[u8]) -> bool {
        match set {
            SetValue::Ints(ints) => {
                parse_canonical_int(member).is_some_and(|n| ints.binary_search(&n).is_ok())
            }
            SetValue::Table(table) => table.contains(member),
        }
    }

    pub(super) fn members(set: &SetValue) -> Box<dyn Iterator<Item = Bytes> + '_> {
        match set {
            SetValue::Ints(ints) => Box::new(
                ints.iter()
                    .map(|n| Bytes::copy_from_slice(itoa::Buffer::new().format(*n).as_bytes())),
            ),
            SetValue::Table(table) => Box::new(table.iter().cloned()),
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

/// Checks every input key's type, expiring and counting hits and misses as
/// Redis's `lookupKeyRead` does.
fn check_inputs(cx: &mut Ctx<'_>, keys: &[Bytes]) -> Result<(), CmdError> {
    let (index, now) = (cx.client.db, cx.now);
    let ks = &mut *cx.ks;
    for key in keys {
        match ks.dbs[index].get(key, now) {
            Some(Value::ZSet(_) | Value::Set(_)) => ks.stats.keyspace_hits += 1,
            Some(_) => {
                ks.stats.keyspace_hits += 1;
                return Err(CmdError::WrongType);
            }
            None => ks.stats.keyspace_misses += 1,
        }
    }
    Ok(())
}

/// The inputs, once [`check_inputs`] has expired what had to be.
fn inputs<'d>(db: &'d Db, keys: &[Bytes]) -> Vec<Input<'d>> {
    let input = |key: &Bytes| match db.peek(key).map(|entry| &entry.value) {
        Some(Value::ZSet(zset)) => Input::Sorted(zset),
        Some(Value::Set(set)) => Input::Plain(set),
        _ => Input::Missing,
    };
    keys.iter().map(input).collect()
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

/// The combined elements, sorted as a sorted set orders them.
fn combine(inputs: Vec<Input<'_>>, options: &Options, op: Op) -> Vec<(Bytes, f64)> {
    let mut elements = match op {
        Op::Diff => difference(&inputs),
        Op::Union | Op::Inter => {
            let sources = weighted_by_size(inputs, options.weights.as_deref());
            if op == Op::Union {
                union(&sources, options.aggregate)
            } else {
                let mut out = Vec::new();
                intersect(&sources, options.aggregate, |member, score| {
                    out.push((member, score));
                    true
                });
                out
            }
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
fn weighted_by_size<'a>(inputs: Vec<Input<'a>>, weights: Option<&[f64]>) -> Vec<Source<'a>> {
    let mut sources: Vec<Source<'a>> = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| Source {
            input,
            weight: weights.map_or(1.0, |w| w[i]),
        })
        .collect();
    sources.sort_by_key(|source| source.input.len());
    sources
}

/// Runs a command of the family: `args[at]` is numkeys, the keys follow.
fn run(cx: &mut Ctx<'_>, args: &[Bytes], at: usize, op: Op, output: Output) -> CmdResult {
    let numkeys = parse_numkeys(args, at)?;
    let keys = &args[at + 1..at + 1 + numkeys];
    check_inputs(cx, keys)?;
    let options = Options::parse(&args[at + 1 + numkeys..], numkeys, op, output)?;
    let protocol = cx.client.protocol;
    let inputs = inputs(cx.db(), keys);
    match output {
        Output::Card => {
            let sources = weighted_by_size(inputs, None);
            let mut count = 0;
            intersect(&sources, Aggregate::Sum, |_, _| {
                count += 1;
                options.limit == 0 || count < options.limit
            });
            Ok(Frame::Integer(count as i64))
        }
        Output::Reply => Ok(elements_reply(
            combine(inputs, &options, op),
            options.withscores,
            protocol,
        )),
        Output::Store => {
            let elements = combine(inputs, &options, op);
            store(cx, &args[1], elements)
        }
    }
}

/// # Format
/// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]`
///
/// The size of the union stored at destination (deleted when empty).
fn zunionstore(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(cx, args, 2, Op::Union, Output::Store)
}

/// # Format
/// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]`
fn zinterstore(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(cx, args, 2, Op::Inter, Output::Store)
}

/// # Format
/// `ZDIFFSTORE destination numkeys key [key ...]`
fn zdiffstore(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(cx, args, 2, Op::Diff, Output::Store)
}

/// # Format
/// `ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]`
fn zunion(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(cx, args, 1, Op::Union, Output::Reply)
}

/// # Format
/// `ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]`
fn zinter(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(cx, args, 1, Op::Inter, Output::Reply)
}

/// # Format
/// `ZDIFF numkeys key [key ...] [WITHSCORES]`
fn zdiff(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(cx, args, 1, Op::Diff, Output::Reply)
}

/// # Format
/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`
///
/// The size of the intersection, counting no further than limit (0: no limit).
fn zintercard(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(cx, args, 1, Op::Inter, Output::Card)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::types::zset::ListpackLimits;
    use std::collections::HashSet;

    fn words(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    fn zset(elements: &[(&str, f64)]) -> ZSet {
        let mut zset = ZSet::new();
        for &(member, score) in elements {
            zset.insert(member.as_bytes(), score, ListpackLimits::default())
                .unwrap();
        }
        zset
    }

    fn options(line: &str, inputs: usize, op: Op, output: Output) -> Result<Options, CmdError> {
        Options::parse(&words(line), inputs, op, output)
    }

    #[test]
    fn option_parsing() {
        let parsed = options(
            "WEIGHTS 2 -inf aggregate MAX withscores",
            2,
            Op::Union,
            Output::Reply,
        )
        .unwrap();
        assert_eq!(parsed.weights, Some(vec![2.0, f64::NEG_INFINITY]));
        assert_eq!(
            (parsed.aggregate, parsed.withscores),
            (Aggregate::Max, true)
        );
        let syntax = Err(CmdError::Syntax);
        assert_eq!(options("weights 1", 2, Op::Union, Output::Reply), syntax);
        assert_eq!(
            options("aggregate avg", 1, Op::Union, Output::Reply),
            syntax
        );
        assert_eq!(options("withscores", 1, Op::Union, Output::Store), syntax);
        assert_eq!(options("weights 1", 1, Op::Diff, Output::Reply), syntax);
        assert_eq!(options("limit 1", 1, Op::Inter, Output::Reply), syntax);
        assert_eq!(options("weights 1", 1, Op::Inter, Output::Card), syntax);
        let weight = Err(CmdError::msg("ERR weight value is not a float"));
        for bad in ["x", "nan", " 1", "1e400"] {
            assert_eq!(
                options(&format!("weights {bad}"), 1, Op::Union, Output::Reply),
                weight
            );
        }
        let negative = Err(CmdError::msg("ERR LIMIT can't be negative"));
        assert_eq!(options("limit -1", 1, Op::Inter, Output::Card), negative);
        assert_eq!(options("limit x", 1, Op::Inter, Output::Card), negative);
        assert_eq!(
            options("limit 3", 1, Op::Inter, Output::Card)
                .unwrap()
                .limit,
            3
        );
    }

    #[test]
    fn numkeys() {
        assert_eq!(parse_numkeys(&words("zunion 2 a b"), 1), Ok(2));
        assert_eq!(
            parse_numkeys(&words("zunion 3 a b"), 1),
            Err(CmdError::Syntax)
        );
        assert_eq!(
            parse_numkeys(&words("zunion x a"), 1),
            Err(CmdError::NotInteger)
        );
        let none = CmdError::msg("ERR at least 1 input key is needed for 'zunionstore' command");
        assert_eq!(parse_numkeys(&words("ZUNIONSTORE d 0 a"), 2), Err(none));
    }

    #[test]
    fn weights_aggregates_and_the_nan_rule() {
        let a = zset(&[("x", 1.0), ("y", f64::INFINITY)]);
        let b = zset(&[("y", f64::NEG_INFINITY), ("z", 3.0)]);
        let inputs = || vec![Input::Sorted(&a), Input::Sorted(&b)];
        let run = |op, weights: Option<Vec<f64>>, aggregate| {
            let options = Options {
                weights,
                aggregate,
                withscores: true,
                limit: 0,
            };
            combine(inputs(), &options, op)
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
        let ints = SetValue::Ints(vec![1, 2]);
        let table = SetValue::Table(HashSet::from([Bytes::from("a"), Bytes::from("b")]));
        let options = Options {
            weights: None,
            aggregate: Aggregate::Sum,
            withscores: true,
            limit: 0,
        };
        let inputs = vec![
            Input::Sorted(&sorted),
            Input::Plain(&ints),
            Input::Plain(&table),
        ];
        let union: Vec<_> = combine(inputs.clone(), &options, Op::Union);
        let text: Vec<String> = union
            .iter()
            .map(|(m, s)| format!("{}={s}", String::from_utf8_lossy(m)))
            .collect();
        assert_eq!(text, ["01=1", "2=1", "b=1", "a=3", "1=6"]);
        let inter = combine(
            vec![Input::Sorted(&sorted), Input::Plain(&ints)],
            &options,
            Op::Inter,
        );
        assert_eq!(inter, vec![(Bytes::from("1"), 6.0)]);
        let diff = combine(
            vec![Input::Plain(&ints), Input::Sorted(&sorted), Input::Missing],
            &options,
            Op::Diff,
        );
        assert_eq!(diff, vec![(Bytes::from("2"), 1.0)]);
    }
}
