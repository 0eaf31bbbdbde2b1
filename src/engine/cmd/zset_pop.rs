//! Sorted-set pops: ZPOPMIN, ZPOPMAX and ZMPOP, and their blocking forms
//! BZPOPMIN, BZPOPMAX and BZMPOP.
//!
//! A blocking pop first tries to serve itself like its plain form. With nothing
//! to pop it asks the connection to block on its keys ([`Action::Block`]); the
//! core retries the whole command, oldest waiter first, after a command touched
//! one of the keys, and replies a null array on timeout. Inside EXEC
//! (`cx.nested`) nothing may wait, so the reply is a null array at once, as in
//! Redis. A retry may run on another client's connection, so these replies
//! never depend on the protocol (scores are [`Frame::Double`], which each
//! connection encodes for itself).

use bytes::Bytes;

use super::args;
use super::members::edit_existing;
use super::zset::elements_reply;
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::types::zset::ZSet;
use crate::engine::value::EncodingLimits;
use crate::resp::{Frame, Protocol};

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("zpopmin", zpopmin),
    ("zpopmax", zpopmax),
    ("zmpop", zmpop),
    ("bzpopmin", bzpopmin),
    ("bzpopmax", bzpopmax),
    ("bzmpop", bzmpop),
];

/// Which end a pop takes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Min,
    Max,
}

impl End {
    /// MIN or MAX, in any case.
    fn parse(arg: &[u8]) -> Result<End, CmdError> {
        if args::is(arg, "min") {
            Ok(End::Min)
        } else if args::is(arg, "max") {
            Ok(End::Max)
        } else {
            Err(CmdError::Syntax)
        }
    }
}

/// What a pop took: the key and its elements, in pop order.
type Popped = (Bytes, Vec<(Bytes, f64)>);

/// Pops up to `count` elements from the first of `keys` that exists; WRONGTYPE
/// for a key of another type met before it. Deletes the key if it is left
/// empty, and signals it (only it: the other keys were not written).
fn pop_first(
    cx: &mut Ctx<'_>,
    keys: &[Bytes],
    end: End,
    count: usize,
) -> Result<Option<Popped>, CmdError> {
    let mut found = None;
    for key in keys {
        let pop = |zset: &mut ZSet, _: &EncodingLimits| {
            Ok(match end {
                End::Min => zset.pop_min(count),
                End::Max => zset.pop_max(count),
            })
        };
        if let Some(popped) = edit_existing(cx, key, pop)? {
            found = Some((key.clone(), popped));
            break;
        }
    }
    cx.no_change();
    if let Some((key, popped)) = &found {
        // A count of 0 pops nothing and changes nothing.
        if !popped.is_empty() {
            cx.touch(key);
        }
    }
    Ok(found)
}

/// ZPOPMIN and ZPOPMAX.
fn zpop(cx: &mut Ctx<'_>, args: &[Bytes], end: End) -> CmdResult {
    let count = match args {
        [_, _] => None,
        [_, _, count] => Some(positive_count(count)?),
        _ => return Err(CmdError::Syntax),
    };
    let protocol = cx.client.protocol;
    let popped = pop_first(cx, &args[1..2], end, count.unwrap_or(1))?;
    let elements = popped.map(|(_, elements)| elements).unwrap_or_default();
    // Without a count the reply is one flat pair, in RESP3 too.
    let shape = if count.is_some() {
        protocol
    } else {
        Protocol::Resp2
    };
    Ok(elements_reply(elements, true, shape))
}

/// A count of ZPOPMIN/ZPOPMAX: an integer ≥ 0.
fn positive_count(arg: &[u8]) -> Result<usize, CmdError> {
    let count = args::non_negative(arg, "ERR value is out of range, must be positive")?;
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}

/// # Format
/// `ZPOPMIN key [count]`
///
/// Removes and replies the lowest-scored elements (one without a count), as
/// `member, score` pairs; nested pairs in RESP3 when a count is given.
fn zpopmin(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zpop(cx, args, End::Min)
}

/// # Format
/// `ZPOPMAX key [count]`
///
/// As ZPOPMIN, from the highest score down.
fn zpopmax(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zpop(cx, args, End::Max)
}

/// ZMPOP's arguments.
type MpopArgs<'a> = args::Mpop<'a, End>;

/// ZMPOP's reply: `[key, [[member, score], …]]`, or a null array.
fn mpop_reply(popped: Option<Popped>) -> Frame {
    match popped {
        Some((key, elements)) => Frame::Array(vec![
            Frame::Bulk(key),
            elements_reply(elements, true, Protocol::Resp3),
        ]),
        None => Frame::NullArray,
    }
}

/// # Format
/// `ZMPOP numkeys key [key ...] <MIN | MAX> [COUNT count]`
///
/// Pops up to count elements from the first non-empty key: `[key, [[member,
/// score], …]]`, or null when every key is empty.
fn zmpop(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let parsed = MpopArgs::parse(args, 1, End::parse)?;
    let popped = pop_first(cx, parsed.keys, parsed.end, parsed.count)?;
    Ok(mpop_reply(popped))
}

/// BZPOPMIN and BZPOPMAX.
fn bzpop(cx: &mut Ctx<'_>, args: &[Bytes], end: End) -> CmdResult {
    let (keys, wait) = args[1..].split_at(args.len() - 2);
    let wait = args::timeout(&wait[0])?;
    match pop_first(cx, keys, end, 1)? {
        Some((key, popped)) => {
            let mut reply = vec![Frame::Bulk(key)];
            for (member, score) in popped {
                reply.extend([Frame::Bulk(member), Frame::Double(score)]);
            }
            Ok(Frame::Array(reply))
        }
        None => cx.block(keys, wait, Frame::NullArray),
    }
}

/// # Format
/// `BZPOPMIN key [key ...] timeout`
///
/// Pops the lowest-scored element of the first non-empty key: `[key, member,
/// score]`; waits up to timeout seconds (0: forever) for one, then null.
fn bzpopmin(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bzpop(cx, args, End::Min)
}

/// # Format
/// `BZPOPMAX key [key ...] timeout`
///
/// As BZPOPMIN, from the highest score.
fn bzpopmax(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bzpop(cx, args, End::Max)
}

/// # Format
/// `BZMPOP timeout numkeys key [key ...] <MIN | MAX> [COUNT count]`
///
/// As ZMPOP, waiting up to timeout seconds (0: forever) for a non-empty key.
fn bzmpop(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let parsed = MpopArgs::parse(args, 2, End::parse)?;
    let wait = args::timeout(&args[1])?;
    match pop_first(cx, parsed.keys, parsed.end, parsed.count)? {
        Some(popped) => Ok(mpop_reply(Some(popped))),
        None => cx.block(parsed.keys, wait, Frame::NullArray),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn mpop_arguments() {
        let args = words("zmpop 2 a b MAX COUNT 3");
        let parsed = MpopArgs::parse(&args, 1, End::parse).unwrap();
        assert_eq!(
            (parsed.keys.len(), parsed.end, parsed.count),
            (2, End::Max, 3)
        );
        let err = |line: &str| {
            MpopArgs::parse(&words(line), 1, End::parse)
                .unwrap_err()
                .to_string()
        };
        let numkeys = "ERR numkeys should be greater than 0";
        let count = "ERR count should be greater than 0";
        assert_eq!(err("zmpop 0 a min"), numkeys);
        assert_eq!(err("zmpop -1 a min"), numkeys);
        assert_eq!(err("zmpop x a min"), numkeys);
        assert_eq!(err("zmpop 2 a min"), "ERR syntax error");
        assert_eq!(err("zmpop 9223372036854775807 a min"), "ERR syntax error");
        assert_eq!(err("zmpop 1 a middle"), "ERR syntax error");
        assert_eq!(err("zmpop 1 a min count"), "ERR syntax error");
        assert_eq!(err("zmpop 1 a min count 1 count 2"), "ERR syntax error");
        assert_eq!(err("zmpop 1 a min limit 1"), "ERR syntax error");
        assert_eq!(err("zmpop 1 a min count 0"), count);
        assert_eq!(err("zmpop 1 a min count -1"), count);
        assert_eq!(err("zmpop 1 a min count x"), count);
    }
}
