//! Hash commands (Redis's `t_hash.c`): fields set, read, counted and deleted.
//!
//! The value type and its two encodings are in [`crate::engine::types::hash`].
//! Counters (HINCRBY, HINCRBYFLOAT) live in `hash_incr.rs`, random picks and
//! HSCAN in `hash_scan.rs`. As in Redis, a hash whose last field is deleted is
//! deleted with it.

use bytes::Bytes;

use super::members::{edit, edit_existing, read};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::types::hash::HashValue;
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("hset", hset),
    ("hmset", hmset),
    ("hsetnx", hsetnx),
    ("hget", hget),
    ("hmget", hmget),
    ("hgetall", hgetall),
    ("hkeys", hkeys),
    ("hvals", hvals),
    ("hlen", hlen),
    ("hexists", hexists),
    ("hstrlen", hstrlen),
    ("hdel", hdel),
];

/// The hash at `key` for reading (hit/miss counted); `None` if there is none.
pub(super) fn read_hash<'c>(
    cx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<&'c HashValue>, CmdError> {
    read::<HashValue>(cx, key)
}

/// Sets every field/value pair of `args[2..]`; returns how many fields are new.
fn set_pairs(cx: &mut Ctx<'_>, args: &[Bytes]) -> Result<usize, CmdError> {
    if args.len() % 2 != 0 {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        return Err(CmdError::WrongArity(name));
    }
    edit(cx, &args[1], |hash: &mut HashValue, limits| {
        let pairs = args[2..].chunks_exact(2);
        Ok(pairs
            .filter(|pair| hash.insert(&pair[0], &pair[1], limits))
            .count())
    })
}

/// # Format
/// `HSET key field value [field value ...]`
///
/// Replies the number of fields that were added (not merely updated).
fn hset(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let added = set_pairs(cx, args)?;
    Ok(Frame::Integer(added as i64))
}

/// # Format
/// `HMSET key field value [field value ...]`
///
/// HSET's deprecated twin: replies `OK`.
fn hmset(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_pairs(cx, args)?;
    Ok(Frame::ok())
}

/// # Format
/// `HSETNX key field value`
///
/// Sets the field only if it does not exist: 1 if set, 0 otherwise.
fn hsetnx(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (field, value) = (&args[2], &args[3]);
    let set = edit(cx, &args[1], |hash: &mut HashValue, limits| {
        Ok(!hash.contains(field) && hash.insert(field, value, limits))
    })?;
    if !set {
        cx.no_change();
    }
    Ok(Frame::Integer(i64::from(set)))
}

/// # Format
/// `HGET key field`
fn hget(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let value = read_hash(cx, &args[1])?.and_then(|hash| hash.get(&args[2]));
    Ok(value.map_or(Frame::Null, |v| Frame::Bulk(v.clone())))
}

/// # Format
/// `HMGET key field [field ...]`
///
/// One value or null per field; all nulls when the key does not exist.
fn hmget(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let hash = read_hash(cx, &args[1])?;
    let values = args[2..]
        .iter()
        .map(|field| match hash.and_then(|h| h.get(field)) {
            Some(value) => Frame::Bulk(value.clone()),
            None => Frame::Null,
        });
    Ok(Frame::Array(values.collect()))
}

/// # Format
/// `HGETALL key`
///
/// A map of fields to values (RESP2: a flat array field, value, field, value…).
fn hgetall(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let pairs = read_hash(cx, &args[1])?
        .map(|hash| {
            let pair = |(f, v): (&Bytes, &Bytes)| (Frame::Bulk(f.clone()), Frame::Bulk(v.clone()));
            hash.iter().map(pair).collect()
        })
        .unwrap_or_default();
    Ok(Frame::Map(pairs))
}

/// # Format
/// `HKEYS key`
fn hkeys(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let keys = read_hash(cx, &args[1])?
        .map(|hash| hash.iter().map(|(f, _)| Frame::Bulk(f.clone())).collect());
    Ok(Frame::Array(keys.unwrap_or_default()))
}

/// # Format
/// `HVALS key`
fn hvals(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let values = read_hash(cx, &args[1])?
        .map(|hash| hash.iter().map(|(_, v)| Frame::Bulk(v.clone())).collect());
    Ok(Frame::Array(values.unwrap_or_default()))
}

/// # Format
/// `HLEN key`
fn hlen(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let len = read_hash(cx, &args[1])?.map_or(0, HashValue::len);
    Ok(Frame::Integer(len as i64))
}

/// # Format
/// `HEXISTS key field`
fn hexists(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let exists = read_hash(cx, &args[1])?.is_some_and(|hash| hash.contains(&args[2]));
    Ok(Frame::Integer(i64::from(exists)))
}

/// # Format
/// `HSTRLEN key field`
///
/// The length of the field's value, 0 if there is none.
fn hstrlen(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let len = read_hash(cx, &args[1])?
        .and_then(|hash| hash.get(&args[2]))
        .map_or(0, Bytes::len);
    Ok(Frame::Integer(len as i64))
}

/// # Format
/// `HDEL key field [field ...]`
///
/// Replies how many of the fields existed; deletes the key with its last field.
fn hdel(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let removed = edit_existing(cx, &args[1], |hash: &mut HashValue, _| {
        Ok(args[2..].iter().filter(|field| hash.remove(field)).count())
    })?
    .unwrap_or(0);
    if removed == 0 {
        cx.no_change();
    }
    Ok(Frame::Integer(removed as i64))
}
