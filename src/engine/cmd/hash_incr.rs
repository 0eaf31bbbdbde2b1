//! Hash counters: HINCRBY and HINCRBYFLOAT, which read a field as a number, add
//! to it and store the result back as text (creating the hash and the field,
//! from 0, when missing).
//!
//! HINCRBYFLOAT computes in `f64` and prints with [`crate::resp::format_double_human`]
//! (fixed point, ≤ 17 fractional digits, trailing zeros trimmed). Redis computes in
//! x87 `long double`, so the last digits can differ (0.1 + 0.2 is "0.3" there and
//! "0.30000000000000004" here), as can values beyond 2^53; the exact emulation
//! INCRBYFLOAT uses should replace [`add_float`] once it is shared.

use bytes::Bytes;

use super::args;
use super::long_double::LongDouble;
use super::members::edit;
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::types::hash::HashValue;
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] =
    &[("hincrby", hincrby), ("hincrbyfloat", hincrbyfloat)];

/// # Format
/// `HINCRBY key field increment`
///
/// Replies the new value. The field must hold a canonical decimal integer
/// ("ERR hash value is not an integer") and stay within i64.
fn hincrby(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = args::int(&args[3])?;
    let field = &args[2];
    let value = edit(cx, &args[1], |hash: &mut HashValue, limits| {
        let current = match hash.get(field) {
            Some(text) => {
                args::parse_i64(text).ok_or(CmdError::msg("ERR hash value is not an integer"))?
            }
            None => 0,
        };
        let value = current.checked_add(by).ok_or(CmdError::Overflow)?;
        hash.insert(field, itoa::Buffer::new().format(value).as_bytes(), limits);
        Ok(value)
    })?;
    Ok(Frame::Integer(value))
}

/// # Format
/// `HINCRBYFLOAT key field increment`
///
/// Replies the new value as a bulk string, the text now stored in the field.
fn hincrbyfloat(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = LongDouble::parse(&args[3]).ok_or(CmdError::NotFloat)?;
    if !by.is_finite() {
        return Err(CmdError::msg("ERR value is NaN or Infinity"));
    }
    let field = &args[2];
    let text = edit(cx, &args[1], |hash: &mut HashValue, limits| {
        let current = match hash.get(field) {
            Some(text) => {
                LongDouble::parse(text).ok_or(CmdError::msg("ERR hash value is not a float"))?
            }
            None => LongDouble::from_i64(0),
        };
        let sum = current.add(by);
        if !sum.is_finite() {
            return Err(CmdError::msg("ERR increment would produce NaN or Infinity"));
        }
        let text = Bytes::from(sum.to_human());
        hash.insert(field, &text, limits);
        Ok(text)
    })?;
    Ok(Frame::Bulk(text))
}
