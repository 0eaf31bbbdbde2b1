//! Sorted-set commands, as Redis 7.0's `t_zset.c`: this file holds what the
//! family shares and the single-member commands (ZADD, ZINCRBY, ZREM, ZCARD,
//! ZSCORE, ZMSCORE, ZRANK, ZREVRANK). The others live beside it:
//! `zset_range.rs` (ZRANGE and its older forms, counts, range removals),
//! `zset_pop.rs` (pops, blocking pops), `zset_algebra.rs` with
//! `zset_combine.rs` (union, intersection, difference) and `zset_random.rs`
//! (ZRANDMEMBER, ZSCAN). The value type is [`ZSet`]; these files only parse,
//! look keys up (through `members.rs`, shared with hashes and sets) and shape
//! replies.
//!
//! Decisions that hold for the whole family:
//! - Scores are replied as [`Frame::Double`]: RESP3 clients get `,1.5`, RESP2
//!   clients the same text as a bulk string (the encoder's job, with the crate's
//!   double formatting). Only ZSCAN replies scores as bulk strings in both, as
//!   Redis does.
//! - WITHSCORES pairs are flat in RESP2 and nested `[member, score]` arrays in
//!   RESP3, as Redis 7 replies them. The blocking pops never depend on the
//!   protocol: they may be retried on behalf of a waiter by another client.
//! - A command that writes only some of its declared keys (the `*STORE`
//!   commands, ZMPOP, the blocking pops) tells the dispatcher it changed nothing
//!   and touches the key it wrote itself, so a WATCH on a source key is not
//!   broken, as in Redis where only the written key is signalled.
//! - An empty sorted set never stays in the keyspace.

use bytes::Bytes;

use super::members::{edit, edit_existing, read, Aggregate};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::types::zset::{
    parse_score, AddFlags, AddOutcome, InsertOutcome, ListpackLimits, ZSet, ZsetError,
};
use crate::engine::value::{EncodingLimits, Value};
use crate::resp::{Frame, Protocol};

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("zadd", zadd),
    ("zincrby", zincrby),
    ("zrem", zrem),
    ("zcard", zcard),
    ("zscore", zscore),
    ("zmscore", zmscore),
    ("zrank", zrank),
    ("zrevrank", zrevrank),
];

impl From<ZsetError> for CmdError {
    fn from(err: ZsetError) -> CmdError {
        match err {
            ZsetError::NotAFloat => CmdError::NotFloat,
            other => CmdError::msg(other.to_string()),
        }
    }
}

impl Aggregate for ZSet {
    fn from_value(value: &Value) -> Result<&Self, CmdError> {
        value.as_zset().map(|zset| &**zset)
    }
    fn from_value_mut(value: &mut Value) -> Result<&mut Self, CmdError> {
        value.as_zset_mut().map(|zset| &mut **zset)
    }
    fn into_value(self) -> Value {
        Value::ZSet(Box::new(self))
    }
    fn is_empty(&self) -> bool {
        ZSet::is_empty(self)
    }
}

/// The listpack thresholds of sorted sets, from the engine's configuration.
pub(super) fn listpack(limits: &EncodingLimits) -> ListpackLimits {
    ListpackLimits {
        max_entries: limits.zset_max_listpack_entries,
        max_value: limits.zset_max_listpack_value,
    }
}

/// Elements with or without their scores, shaped for `protocol`: with scores,
/// a flat `member, score, …` array in RESP2 and `[member, score]` pairs in RESP3.
pub(super) fn elements_reply<I>(elements: I, withscores: bool, protocol: Protocol) -> Frame
where
    I: IntoIterator<Item = (Bytes, f64)>,
{
    let elements = elements.into_iter();
    let nested = withscores && protocol == Protocol::Resp3;
    let mut out =
        Vec::with_capacity(elements.size_hint().0 * if withscores && !nested { 2 } else { 1 });
    for (member, score) in elements {
        match (withscores, nested) {
            (false, _) => out.push(Frame::Bulk(member)),
            (true, true) => out.push(Frame::Array(vec![
                Frame::Bulk(member),
                Frame::Double(score),
            ])),
            (true, false) => out.extend([Frame::Bulk(member), Frame::Double(score)]),
        }
    }
    Frame::Array(out)
}

/// Stores `elements` (sorted or not) as the sorted set `dest`, replacing what
/// was there, or deletes `dest` when there is none; replies the new size. Only
/// `dest` is signalled, and only if it changed, as Redis's `*STORE` commands do.
pub(super) fn store(cx: &mut Ctx<'_>, dest: &Bytes, elements: Vec<(Bytes, f64)>) -> CmdResult {
    let limits = listpack(&cx.ks.limits);
    let mut zset = ZSet::new();
    for (member, score) in &elements {
        zset.insert(member, *score, limits)?;
    }
    let len = zset.len();
    let (db, now) = cx.db_now();
    let changed = if zset.is_empty() {
        db.remove(dest, now).is_some()
    } else {
        db.insert(dest.clone(), Value::ZSet(Box::new(zset)), now);
        true
    };
    cx.no_change();
    if changed {
        cx.touch(dest);
    }
    Ok(Frame::Integer(len as i64))
}

/// ZADD's options and elements, checked as Redis checks them.
#[derive(Debug)]
struct ZaddArgs<'a> {
    flags: AddFlags,
    ch: bool,
    elements: Vec<(f64, &'a Bytes)>,
}

impl<'a> ZaddArgs<'a> {
    /// Parses `[NX|XX] [GT|LT] [CH] [INCR] score member [score member …]`.
    fn parse(args: &'a [Bytes]) -> Result<ZaddArgs<'a>, CmdError> {
        let mut flags = AddFlags::default();
        let mut ch = false;
        let mut at = 2;
        while let Some(option) = args.get(at) {
            let flag = match option.to_ascii_lowercase().as_slice() {
                b"nx" => &mut flags.nx,
                b"xx" => &mut flags.xx,
                b"gt" => &mut flags.gt,
                b"lt" => &mut flags.lt,
                b"incr" => &mut flags.incr,
                b"ch" => &mut ch,
                _ => break,
            };
            *flag = true;
            at += 1;
        }
        let rest = &args[at..];
        if rest.is_empty() || rest.len() % 2 != 0 {
            return Err(CmdError::Syntax);
        }
        check_zadd_flags(flags, rest.len() / 2)?;
        let elements = rest
            .chunks_exact(2)
            .map(|pair| Ok((parse_score(&pair[0])?, &pair[1])))
            .collect::<Result<_, CmdError>>()?;
        Ok(ZaddArgs {
            flags,
            ch,
            elements,
        })
    }
}

/// Rejects ZADD's incompatible options, with Redis's texts and in its order.
fn check_zadd_flags(flags: AddFlags, pairs: usize) -> Result<(), CmdError> {
    if flags.nx && flags.xx {
        return Err(CmdError::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(CmdError::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if flags.incr && pairs > 1 {
        return Err(CmdError::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    Ok(())
}

/// # Format
/// `ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]`
///
/// The number of members added (added or updated with CH); with INCR, the
/// member's new score, or null when an option ruled the change out.
fn zadd(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let parsed = ZaddArgs::parse(args)?;
    let (flags, incr) = (parsed.flags, parsed.flags.incr);
    let apply = |zset: &mut ZSet, limits: &EncodingLimits| {
        let (mut added, mut updated, mut last) = (0, 0, None);
        for &(score, member) in &parsed.elements {
            last = match zset.add(member, score, flags, listpack(limits))? {
                AddOutcome::Applied { change, score } => {
                    added += i64::from(change == InsertOutcome::Added);
                    updated += i64::from(change == InsertOutcome::Updated);
                    Some(score)
                }
                AddOutcome::Skipped => None,
            };
        }
        Ok((added, updated, last))
    };
    // XX never creates the key.
    let outcome = if flags.xx {
        edit_existing(cx, &args[1], apply)?
    } else {
        Some(edit(cx, &args[1], apply)?)
    };
    let (added, updated, last) = outcome.unwrap_or((0, 0, None));
    if added + updated == 0 {
        cx.no_change();
    }
    Ok(match (incr, last) {
        (true, Some(score)) => Frame::Double(score),
        (true, None) => Frame::Null,
        (false, _) if parsed.ch => Frame::Integer(added + updated),
        (false, _) => Frame::Integer(added),
    })
}

/// # Format
/// `ZINCRBY key increment member`
///
/// The member's new score.
fn zincrby(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let increment = parse_score(&args[2])?;
    let flags = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    let outcome = edit(cx, &args[1], |zset: &mut ZSet, limits| {
        Ok(zset.add(&args[3], increment, flags, listpack(limits))?)
    })?;
    // Without NX, XX, GT or LT nothing rules an increment out; were it ruled
    // out, the reply would be ZADD INCR's null.
    Ok(match outcome {
        AddOutcome::Applied { score, .. } => Frame::Double(score),
        AddOutcome::Skipped => Frame::Null,
    })
}

/// # Format
/// `ZREM key member [member ...]`
///
/// The number of members removed; the key goes with its last member.
fn zrem(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let removed = edit_existing(cx, &args[1], |zset: &mut ZSet, _| {
        Ok(args[2..]
            .iter()
            .filter(|member| zset.remove(member))
            .count())
    })?
    .unwrap_or(0);
    if removed == 0 {
        cx.no_change();
    }
    Ok(Frame::Integer(removed as i64))
}

/// # Format
/// `ZCARD key`
fn zcard(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let len = read::<ZSet>(cx, &args[1])?.map_or(0, ZSet::len);
    Ok(Frame::Integer(len as i64))
}

/// A score, or null for a member (or key) that is not there.
fn score_frame(score: Option<f64>) -> Frame {
    score.map_or(Frame::Null, Frame::Double)
}

/// # Format
/// `ZSCORE key member`
fn zscore(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let zset = read::<ZSet>(cx, &args[1])?;
    Ok(score_frame(zset.and_then(|z| z.score(&args[2]))))
}

/// # Format
/// `ZMSCORE key member [member ...]`
///
/// One score or null per member.
fn zmscore(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let zset = read::<ZSet>(cx, &args[1])?;
    let scores = args[2..]
        .iter()
        .map(|member| score_frame(zset.and_then(|z| z.score(member))));
    Ok(Frame::Array(scores.collect()))
}

/// ZRANK and ZREVRANK: the member's rank, or null.
fn rank(cx: &mut Ctx<'_>, args: &[Bytes], rev: bool) -> CmdResult {
    let zset = read::<ZSet>(cx, &args[1])?;
    let rank = zset.and_then(|z| z.rank(&args[2], rev));
    Ok(rank.map_or(Frame::Null, |r| Frame::Integer(r as i64)))
}

/// # Format
/// `ZRANK key member`
///
/// The member's 0-based rank from the lowest score, or null.
fn zrank(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    rank(cx, args, false)
}

/// # Format
/// `ZREVRANK key member`
///
/// The member's 0-based rank from the highest score, or null.
fn zrevrank(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    rank(cx, args, true)
}
