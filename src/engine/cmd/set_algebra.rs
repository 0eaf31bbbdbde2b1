//! Set algebra: SINTER, SUNION, SDIFF, their STORE forms, and SINTERCARD.
//!
//! Every source key is looked up first (lazy expiry; WRONGTYPE for any source of
//! another type, even after a missing one, as in Redis), then the sets are read
//! together, borrowed. Results are lists of borrowed members; the STORE forms copy
//! them into a new set built by the same rules as SADD (so an all-integer result
//! is an intset whatever the sources' encodings) and overwrite the destination
//! whatever it held, TTL included, or delete it when the result is empty.

use bytes::Bytes;
use std::collections::HashSet;

use super::set::member_frames;
use super::{args, CmdError, CmdResult, Ctx, Handler};
use crate::engine::types::set::{Member, SetValue};
use crate::engine::value::{EncodingLimits, Value};
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("sinter", sinter),
    ("sinterstore", sinterstore),
    ("sintercard", sintercard),
    ("sunion", sunion),
    ("sunionstore", sunionstore),
    ("sdiff", sdiff),
    ("sdiffstore", sdiffstore),
];

/// The three operations.
#[derive(Debug, Clone, Copy)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// The sets at `keys` (None for a missing key), borrowed together. Read commands
/// count keyspace hits and misses; the STORE forms look keys up for writing, which
/// Redis does not count.
fn load<'c>(
    cx: &'c mut Ctx<'_>,
    keys: &[Bytes],
    count_stats: bool,
) -> Result<Vec<Option<&'c SetValue>>, CmdError> {
    let (index, now) = (cx.client.db, cx.now);
    let ks = &mut *cx.ks;
    for key in keys {
        // Reclaims an expired key before the sets are borrowed below.
        let found = ks.dbs[index].contains(key, now);
        if count_stats {
            *if found {
                &mut ks.stats.keyspace_hits
            } else {
                &mut ks.stats.keyspace_misses
            } += 1;
        }
    }
    let db = &ks.dbs[index];
    keys.iter()
        .map(|key| db.peek(key).map(|entry| entry.value.as_set()).transpose())
        .collect()
}

impl Op {
    /// The members of the result, each once.
    fn apply<'a>(self, sets: &[Option<&'a SetValue>]) -> Vec<Member<'a>> {
        match self {
            Op::Inter => intersection(sets, usize::MAX),
            Op::Union => union(sets),
            Op::Diff => difference(sets),
        }
    }
}

/// At most `limit` members of the intersection; empty if any set is missing.
fn intersection<'a>(sets: &[Option<&'a SetValue>], limit: usize) -> Vec<Member<'a>> {
    let Some(mut sets) = sets.iter().copied().collect::<Option<Vec<&SetValue>>>() else {
        return Vec::new();
    };
    sets.sort_by_key(|set| set.len());
    let Some((smallest, others)) = sets.split_first() else {
        return Vec::new();
    };
    smallest
        .iter()
        .filter(|&m| others.iter().all(|set| set.contains_member(m)))
        .take(limit)
        .collect()
}

/// Every member of every set, once: members are deduplicated in their normalized
/// form, so "5" from a table and 5 from an intset are one member.
fn union<'a>(sets: &[Option<&'a SetValue>]) -> Vec<Member<'a>> {
    let mut seen = HashSet::new();
    sets.iter()
        .flatten()
        .flat_map(|set| set.iter())
        .map(Member::normalized)
        .filter(|&m| seen.insert(m))
        .collect()
}

/// The members of the first set that no other set holds. Tests each member of the
/// first set against the others, unless removing the others' members from a copy
/// costs less (many sources), as Redis chooses between its two algorithms.
fn difference<'a>(sets: &[Option<&'a SetValue>]) -> Vec<Member<'a>> {
    let Some((Some(first), rest)) = sets.split_first() else {
        return Vec::new();
    };
    let others: Vec<&SetValue> = rest.iter().flatten().copied().collect();
    let total: usize = others.iter().map(|set| set.len()).sum();
    if first.len().saturating_mul(others.len()) <= total.saturating_add(first.len()) {
        return first
            .iter()
            .filter(|&m| !others.iter().any(|set| set.contains_member(m)))
            .collect();
    }
    let mut kept: HashSet<Member<'a>> = first.iter().map(Member::normalized).collect();
    for member in others.iter().flat_map(|set| set.iter()) {
        kept.remove(&member.normalized());
    }
    first
        .iter()
        .filter(|m| kept.contains(&m.normalized()))
        .collect()
}

/// SINTER, SUNION, SDIFF: the result as a RESP3 set.
fn reply(cx: &mut Ctx<'_>, keys: &[Bytes], op: Op) -> CmdResult {
    let sets = load(cx, keys, true)?;
    Ok(Frame::Set(member_frames(op.apply(&sets))))
}

/// The STORE forms: computes the result, then overwrites `args[1]` with it.
fn store(cx: &mut Ctx<'_>, args: &[Bytes], op: Op) -> CmdResult {
    let limits: EncodingLimits = cx.ks.limits.clone();
    let sets = load(cx, &args[2..], false)?;
    let mut result = SetValue::new();
    for member in op.apply(&sets) {
        result.insert_member(member, &limits);
    }
    let len = result.len();
    let (db, now) = cx.db_now();
    if result.is_empty() {
        if db.remove(&args[1], now).is_none() {
            cx.no_change();
        }
    } else {
        db.insert(args[1].clone(), Value::Set(result), now);
    }
    Ok(Frame::Integer(len as i64))
}

/// # Format
/// `SINTER key [key ...]`
fn sinter(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    reply(cx, &args[1..], Op::Inter)
}

/// # Format
/// `SUNION key [key ...]`
fn sunion(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    reply(cx, &args[1..], Op::Union)
}

/// # Format
/// `SDIFF key [key ...]`
fn sdiff(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    reply(cx, &args[1..], Op::Diff)
}

/// # Format
/// `SINTERSTORE destination key [key ...]`
///
/// Replies the size of the stored result.
fn sinterstore(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    store(cx, args, Op::Inter)
}

/// # Format
/// `SUNIONSTORE destination key [key ...]`
fn sunionstore(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    store(cx, args, Op::Union)
}

/// # Format
/// `SDIFFSTORE destination key [key ...]`
fn sdiffstore(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    store(cx, args, Op::Diff)
}

/// # Format
/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
///
/// The size of the intersection, counting stops at `limit` (0 = no limit).
fn sintercard(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let numkeys = match args::parse_i64(&args[1]) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(CmdError::msg("ERR numkeys should be greater than 0")),
    };
    let keys_end = match usize::try_from(numkeys) {
        Ok(n) if n <= args.len() - 2 => 2 + n,
        _ => {
            return Err(CmdError::msg(
                "ERR Number of keys can't be greater than number of args",
            ))
        }
    };
    let mut limit = 0;
    let mut options = &args[keys_end..];
    while let [name, tail @ ..] = options {
        match tail {
            [value, rest @ ..] if args::is(name, "limit") => {
                limit = match args::parse_i64(value) {
                    Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                    _ => return Err(CmdError::msg("ERR LIMIT can't be negative")),
                };
                options = rest;
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    let sets = load(cx, &args[2..keys_end], true)?;
    let limit = if limit == 0 { usize::MAX } else { limit };
    Ok(Frame::Integer(intersection(&sets, limit).len() as i64))
}
