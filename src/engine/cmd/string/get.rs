//! Reading strings: GET, GETDEL, GETEX, MGET, STRLEN.

use bytes::Bytes;

use super::expire::{self, Command};
use super::{read, read_str};
use crate::engine::cmd::{CmdResult, Ctx};
use crate::engine::value::Value;
use crate::resp::Frame;

/// # Format
/// `GET key`
pub(super) fn get(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    Ok(match read_str(cx, &args[1])? {
        Some(value) => Frame::Bulk(value.to_bytes()),
        None => Frame::Null,
    })
}

/// # Format
/// `GETDEL key`
pub(super) fn getdel(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(value) = read_str(cx, &args[1])?.map(|s| s.to_bytes()) else {
        cx.no_change();
        return Ok(Frame::Null);
    };
    let (db, now) = cx.db_now();
    db.remove(&args[1], now);
    Ok(Frame::Bulk(value))
}

/// # Format
/// `GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
///  PXAT unix-time-milliseconds | PERSIST]`
///
/// An expiry already in the past deletes the key (after reading it), as Redis does.
pub(super) fn getex(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let opts = expire::parse(args, 2, Command::GetEx)?;
    let at = match opts.expire {
        Some((kind, arg)) => Some(expire::deadline(kind, arg, cx.now, "getex")?),
        None => None,
    };
    let Some(value) = read_str(cx, &args[1])?.map(|s| s.to_bytes()) else {
        cx.no_change();
        return Ok(Frame::Null);
    };
    let (db, now) = cx.db_now();
    let key = &args[1];
    let changed = match at {
        Some(at) if at <= now => db.remove(key, now).is_some(),
        Some(at) => db.set_expiry(key, Some(at), now),
        None if opts.persist => {
            db.expiry(key, now).flatten().is_some() && db.set_expiry(key, None, now)
        }
        None => false,
    };
    if !changed {
        cx.no_change();
    }
    Ok(Frame::Bulk(value))
}

/// # Format
/// `MGET key [key ...]`
///
/// A key holding another type reads as nil, not as an error.
pub(super) fn mget(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let values = args[1..]
        .iter()
        .map(|key| match read(cx, key) {
            Some(Value::Str(s)) => Frame::Bulk(s.to_bytes()),
            _ => Frame::Null,
        })
        .collect();
    Ok(Frame::Array(values))
}

/// # Format
/// `STRLEN key`
pub(super) fn strlen(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let len = read_str(cx, &args[1])?.map_or(0, |s| s.len());
    Ok(Frame::Integer(len as i64))
}
