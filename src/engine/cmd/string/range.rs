//! Parts of strings: APPEND, GETRANGE (and its old name SUBSTR), SETRANGE.

use bytes::{Bytes, BytesMut};

use super::{check_length, clamp_range, edit_bytes, max_string_len, read_str};
use crate::engine::cmd::args;
use crate::engine::cmd::{CmdError, CmdResult, Ctx};
use crate::engine::value::{Str, Value};
use crate::resp::Frame;

/// # Format
/// `APPEND key value`
pub(super) fn append(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, tail) = (&args[1], &args[2]);
    let limit = max_string_len(cx);
    let (db, now) = cx.db_now();
    let len = match db.get_mut(key, now) {
        Some(value) => {
            let s = value.as_str_mut()?;
            check_length(limit, s.len() as u64, tail.len() as u64)?;
            edit_bytes(s, |bytes| {
                bytes.extend_from_slice(tail);
                bytes.len()
            })
        }
        None => {
            db.insert(key.clone(), Value::from_bytes(tail.clone()), now);
            tail.len()
        }
    };
    Ok(Frame::Integer(len as i64))
}

/// # Format
/// `GETRANGE key start end` (also `SUBSTR key start end`)
///
/// Inclusive byte offsets; negative ones count from the end.
pub(super) fn getrange(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let start = args::int(&args[2])?;
    let end = args::int(&args[3])?;
    let Some(s) = read_str(cx, &args[1])? else {
        return Ok(Frame::Bulk(Bytes::new()));
    };
    let bytes = s.to_bytes();
    Ok(Frame::Bulk(
        match clamp_range(start, end, bytes.len() as i64) {
            Some((start, end)) => bytes.slice(start as usize..=end as usize),
            None => Bytes::new(),
        },
    ))
}

/// # Format
/// `SETRANGE key offset value`
///
/// Zero-pads the string up to `offset`. An empty value changes nothing and
/// replies the current length (without creating the key).
pub(super) fn setrange(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, patch) = (&args[1], &args[3]);
    let offset = args::int(&args[2])?;
    if offset < 0 {
        return Err(CmdError::msg("ERR offset is out of range"));
    }
    let limit = max_string_len(cx);
    let (db, now) = cx.db_now();
    let len = match db.get_mut(key, now) {
        Some(value) => {
            let s = value.as_str_mut()?;
            if patch.is_empty() {
                let len = s.len();
                cx.no_change();
                return Ok(Frame::Integer(len as i64));
            }
            check_length(limit, offset as u64, patch.len() as u64)?;
            edit_bytes(s, |bytes| overwrite(bytes, offset as usize, patch))
        }
        None if patch.is_empty() => {
            cx.no_change();
            return Ok(Frame::Integer(0));
        }
        None => {
            check_length(limit, offset as u64, patch.len() as u64)?;
            let mut bytes = BytesMut::new();
            let len = overwrite(&mut bytes, offset as usize, patch);
            db.insert(key.clone(), Value::Str(Str::Raw(bytes.freeze())), now);
            len
        }
    };
    Ok(Frame::Integer(len as i64))
}

/// Writes `patch` at `offset`, zero-padding as needed; returns the new length.
fn overwrite(bytes: &mut BytesMut, offset: usize, patch: &[u8]) -> usize {
    let end = offset + patch.len();
    if bytes.len() < end {
        bytes.resize(end, 0);
    }
    bytes[offset..end].copy_from_slice(patch);
    bytes.len()
}
