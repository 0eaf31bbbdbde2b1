//! Counters: INCR, DECR, INCRBY, DECRBY on 64-bit integers, and INCRBYFLOAT on
//! x87 long doubles as Redis computes it ([`super::long_double`]). All of them keep
//! the key's TTL.

use bytes::Bytes;

use super::super::long_double::LongDouble;
use crate::engine::cmd::args;
use crate::engine::cmd::{CmdError, CmdResult, Ctx};
use crate::engine::value::{Str, Value};
use crate::resp::Frame;

/// # Format
/// `INCR key`
pub(super) fn incr(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    incr_by(cx, &args[1], 1)
}

/// # Format
/// `DECR key`
pub(super) fn decr(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    incr_by(cx, &args[1], -1)
}

/// # Format
/// `INCRBY key increment`
pub(super) fn incrby(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = args::int(&args[2])?;
    incr_by(cx, &args[1], by)
}

/// # Format
/// `DECRBY key decrement`
pub(super) fn decrby(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = args::int(&args[2])?;
    let by = by
        .checked_neg()
        .ok_or_else(|| CmdError::msg("ERR decrement would overflow"))?;
    incr_by(cx, &args[1], by)
}

/// Adds `by` to the integer at `key` (0 if missing) and replies the new value.
fn incr_by(cx: &mut Ctx<'_>, key: &Bytes, by: i64) -> CmdResult {
    let (db, now) = cx.db_now();
    let n = match db.get_mut(key, now) {
        Some(value) => {
            let s = value.as_str_mut()?;
            let n = int_of(s)?.checked_add(by).ok_or(CmdError::Overflow)?;
            *s = Str::Int(n);
            n
        }
        None => {
            db.insert(key.clone(), Value::from_int(by), now);
            by
        }
    };
    Ok(Frame::Integer(n))
}

/// The integer a string holds, with Redis's strict parsing of raw strings.
fn int_of(s: &Str) -> Result<i64, CmdError> {
    match s {
        Str::Int(n) => Ok(*n),
        Str::Raw(bytes) => args::parse_i64(bytes).ok_or(CmdError::NotInteger),
    }
}

/// # Format
/// `INCRBYFLOAT key increment`
///
/// The reply and the stored value are `%.17Lf` of the long-double sum with
/// trailing zeros removed ("10.5", "5200", "0.3").
pub(super) fn incrbyfloat(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let (db, now) = cx.db_now();
    let current = match db.get_mut(key, now) {
        Some(value) => float_of(value.as_str()?)?,
        None => LongDouble::from_i64(0),
    };
    let by = LongDouble::parse(&args[2]).ok_or(CmdError::NotFloat)?;
    let sum = current.add(by);
    if !sum.is_finite() {
        return Err(CmdError::msg("ERR increment would produce NaN or Infinity"));
    }
    let text = Bytes::from(sum.to_human());
    let value = Value::from_bytes(text.clone());
    match db.get_mut(key, now) {
        Some(slot) => *slot = value,
        None => {
            db.insert(key.clone(), value, now);
        }
    }
    Ok(Frame::Bulk(text))
}

fn float_of(s: &Str) -> Result<LongDouble, CmdError> {
    match s {
        Str::Int(n) => Ok(LongDouble::from_i64(*n)),
        Str::Raw(bytes) => LongDouble::parse(bytes).ok_or(CmdError::NotFloat),
    }
}
