//! Writing whole strings: SET (with its options), SETNX, SETEX, PSETEX, GETSET,
//! MSET, MSETNX.

use bytes::Bytes;

use super::expire::{self, Command, Expire};
use super::read_str;
use crate::engine::cmd::{CmdError, CmdResult, Ctx};
use crate::engine::db::UnixMs;
use crate::engine::value::Value;
use crate::resp::Frame;

/// # Format
/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds |
///  EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]`
///
/// With GET the reply is the old value (nil if none), whether or not NX/XX let
/// the write happen; an old value of another type is WRONGTYPE and nothing is set.
pub(super) fn set(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let opts = expire::parse(args, 3, Command::Set)?;
    let at = match opts.expire {
        Some((kind, arg)) => Some(expire::deadline(kind, arg, cx.now, "set")?),
        None => None,
    };
    let key = &args[1];
    let old = if opts.get {
        Some(read_str(cx, key)?.map(|s| s.to_bytes()))
    } else {
        None
    };
    let (db, now) = cx.db_now();
    let exists = db.contains(key, now);
    let blocked = (opts.nx && exists) || (opts.xx && !exists);
    let reply = match old {
        Some(old) => old.map_or(Frame::Null, Frame::Bulk),
        None if blocked => Frame::Null,
        None => Frame::ok(),
    };
    if blocked {
        cx.no_change();
        return Ok(reply);
    }
    let value = Value::from_bytes(args[2].clone());
    if opts.keepttl {
        db.replace_keep_ttl(key.clone(), value, now);
    } else {
        db.insert_with_expiry(key.clone(), value, at, now);
    }
    Ok(reply)
}

/// # Format
/// `SETNX key value`
pub(super) fn setnx(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (db, now) = cx.db_now();
    if db.contains(&args[1], now) {
        cx.no_change();
        return Ok(Frame::Integer(0));
    }
    db.insert(args[1].clone(), Value::from_bytes(args[2].clone()), now);
    Ok(Frame::Integer(1))
}

/// # Format
/// `SETEX key seconds value`
pub(super) fn setex(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_with_expiry(cx, args, Expire::Ex, "setex")
}

/// # Format
/// `PSETEX key milliseconds value`
pub(super) fn psetex(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_with_expiry(cx, args, Expire::Px, "psetex")
}

fn set_with_expiry(cx: &mut Ctx<'_>, args: &[Bytes], kind: Expire, name: &str) -> CmdResult {
    let at: UnixMs = expire::deadline(kind, &args[2], cx.now, name)?;
    let (db, now) = cx.db_now();
    db.insert_with_expiry(
        args[1].clone(),
        Value::from_bytes(args[3].clone()),
        Some(at),
        now,
    );
    Ok(Frame::ok())
}

/// # Format
/// `GETSET key value`
pub(super) fn getset(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let old = read_str(cx, &args[1])?.map(|s| s.to_bytes());
    let (db, now) = cx.db_now();
    db.insert(args[1].clone(), Value::from_bytes(args[2].clone()), now);
    Ok(old.map_or(Frame::Null, Frame::Bulk))
}

/// # Format
/// `MSET key value [key value ...]`
pub(super) fn mset(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let pairs = pairs(args, "mset")?;
    let (db, now) = cx.db_now();
    for pair in pairs {
        db.insert(pair[0].clone(), Value::from_bytes(pair[1].clone()), now);
    }
    Ok(Frame::ok())
}

/// # Format
/// `MSETNX key value [key value ...]`
///
/// Sets all or nothing: 0 if any of the keys exists.
pub(super) fn msetnx(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let pairs = pairs(args, "msetnx")?;
    let (db, now) = cx.db_now();
    if pairs.clone().any(|pair| db.contains(&pair[0], now)) {
        cx.no_change();
        return Ok(Frame::Integer(0));
    }
    for pair in pairs {
        db.insert(pair[0].clone(), Value::from_bytes(pair[1].clone()), now);
    }
    Ok(Frame::Integer(1))
}

/// The key/value pairs after the command name; an odd count is an arity error.
fn pairs<'a>(
    args: &'a [Bytes],
    name: &str,
) -> Result<std::slice::ChunksExact<'a, Bytes>, CmdError> {
    if args.len() % 2 == 0 {
        return Err(CmdError::WrongArity(name.into()));
    }
    Ok(args[1..].chunks_exact(2))
}
