//! Sorted-set algebra: ZUNION, ZINTER and ZDIFF, their `*STORE` forms, and
//! ZINTERCARD, with WEIGHTS and AGGREGATE SUM|MIN|MAX.
//!
//! As in Redis, a plain set is accepted as an input, each member scoring 1, and
//! a missing key is an empty input. This file parses and replies; how inputs
//! combine (weights, aggregates, the NaN rules) is `zset_combine.rs`. The order
//! of Redis's `zunionInterDiffGenericCommand` is kept where clients can see it:
//! numkeys, then the type of every input (WRONGTYPE before any option error),
//! then the options.

use bytes::Bytes;

use super::args;
use super::zset::{elements_reply, store};
use super::zset_combine::{intersection_size, Aggregate, Combine, Input, Op};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::db::Db;
use crate::engine::types::zset::parse_score;
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

/// The options after the keys.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    combine: Combine,
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
            combine: Combine {
                op,
                weights: None,
                aggregate: Aggregate::Sum,
            },
            withscores: false,
            limit: 0,
        };
        let combines = op != Op::Diff && output != Output::Card;
        while let Some(option) = rest.first() {
            let left = rest.len();
            if combines && left > inputs && args::is(option, "weights") {
                options.combine.weights = Some(parse_weights(&rest[1..=inputs])?);
                rest = &rest[inputs + 1..];
            } else if combines && left >= 2 && args::is(option, "aggregate") {
                options.combine.aggregate = parse_aggregate(&rest[1])?;
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
            let count = intersection_size(inputs, options.limit);
            Ok(Frame::Integer(count as i64))
        }
        Output::Reply => {
            let elements = options.combine.run(inputs);
            Ok(elements_reply(elements, options.withscores, protocol))
        }
        Output::Store => {
            let elements = options.combine.run(inputs);
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

    fn words(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
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
        assert_eq!(parsed.combine.weights, Some(vec![2.0, f64::NEG_INFINITY]));
        assert_eq!(parsed.combine.aggregate, Aggregate::Max);
        assert!(parsed.withscores);
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
}
