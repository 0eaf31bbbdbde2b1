//! Set commands (Redis's `t_set.c`): members added, removed, tested and moved.
//!
//! The value type and its two encodings are in [`crate::engine::types::set`].
//! Random picks (SPOP, SRANDMEMBER) and SSCAN live in `set_random.rs`, the
//! algebra (SINTER, SUNION, SDIFF and their STORE forms, SINTERCARD) in
//! `set_algebra.rs`. As in Redis, a set whose last member goes is deleted.

use bytes::Bytes;

use super::members::{edit, edit_existing, read};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::types::set::{Member, SetValue};
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("sadd", sadd),
    ("srem", srem),
    ("smembers", smembers),
    ("sismember", sismember),
    ("smismember", smismember),
    ("scard", scard),
    ("smove", smove),
];

/// The set at `key` for reading (hit/miss counted); `None` if there is none.
pub(super) fn read_set<'c>(
    cx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<&'c SetValue>, CmdError> {
    read::<SetValue>(cx, key)
}

/// Members as reply frames.
pub(super) fn member_frames<'a>(members: impl IntoIterator<Item = Member<'a>>) -> Vec<Frame> {
    members
        .into_iter()
        .map(|m| Frame::Bulk(m.to_bytes()))
        .collect()
}

/// # Format
/// `SADD key member [member ...]`
///
/// Replies how many members were not already there.
fn sadd(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let added = edit(cx, &args[1], |set: &mut SetValue, limits| {
        Ok(args[2..].iter().filter(|m| set.insert(m, limits)).count())
    })?;
    if added == 0 {
        cx.no_change();
    }
    Ok(Frame::Integer(added as i64))
}

/// # Format
/// `SREM key member [member ...]`
///
/// Replies how many members were there; deletes the key with its last member.
fn srem(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let removed = edit_existing(cx, &args[1], |set: &mut SetValue, _| {
        Ok(args[2..].iter().filter(|m| set.remove(m)).count())
    })?
    .unwrap_or(0);
    if removed == 0 {
        cx.no_change();
    }
    Ok(Frame::Integer(removed as i64))
}

/// # Format
/// `SMEMBERS key`
///
/// Every member (a RESP3 set); ascending for an intset.
fn smembers(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let members = read_set(cx, &args[1])?.map(|set| member_frames(set.iter()));
    Ok(Frame::Set(members.unwrap_or_default()))
}

/// # Format
/// `SISMEMBER key member`
fn sismember(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let found = read_set(cx, &args[1])?.is_some_and(|set| set.contains(&args[2]));
    Ok(Frame::Integer(i64::from(found)))
}

/// # Format
/// `SMISMEMBER key member [member ...]`
///
/// 1 or 0 per member.
fn smismember(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let set = read_set(cx, &args[1])?;
    let found = args[2..]
        .iter()
        .map(|m| Frame::Integer(i64::from(set.is_some_and(|s| s.contains(m)))));
    Ok(Frame::Array(found.collect()))
}

/// # Format
/// `SCARD key`
fn scard(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let len = read_set(cx, &args[1])?.map_or(0, SetValue::len);
    Ok(Frame::Integer(len as i64))
}

/// # Format
/// `SMOVE source destination member`
///
/// 1 if the member moved (or source and destination are the same set holding
/// it), 0 if source does not hold it. A missing source answers 0 before any type
/// check, as in Redis.
fn smove(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let (db, now) = cx.db_now();
    let Some(source) = db.get(src, now) else {
        cx.no_change();
        return Ok(Frame::Integer(0));
    };
    let in_source = source.as_set()?.contains(member);
    if let Some(target) = db.get(dst, now) {
        target.as_set()?;
    }
    if src == dst || !in_source {
        cx.no_change();
        return Ok(Frame::Integer(i64::from(in_source)));
    }
    edit_existing(cx, src, |set: &mut SetValue, _| Ok(set.remove(member)))?;
    edit(cx, dst, |set: &mut SetValue, limits| {
        Ok(set.insert(member, limits))
    })?;
    Ok(Frame::Integer(1))
}
