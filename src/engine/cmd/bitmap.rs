//! Bitmap commands (Redis's `bitops.c`): strings addressed bit by bit, the most
//! significant bit of the first byte being bit 0. SETBIT, GETBIT, BITCOUNT,
//! BITPOS, BITOP here; BITFIELD in `bitmap/bitfield.rs`.
//!
//! Bit offsets are limited to what a `proto-max-bulk-len` string holds (2^32 bits
//! by default), checked before anything is allocated.

mod bitfield;
mod scan;

use bytes::{Bytes, BytesMut};

use super::args;
use super::string::{clamp_range, edit_bytes, max_string_len, read, read_str};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::value::{Str, Value};
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("setbit", setbit),
    ("getbit", getbit),
    ("bitcount", bitcount),
    ("bitpos", bitpos),
    ("bitop", bitop),
    ("bitfield", bitfield::bitfield),
    ("bitfield_ro", bitfield::bitfield_ro),
];

/// "ERR bit offset is not an integer or out of range".
fn offset_error() -> CmdError {
    CmdError::msg("ERR bit offset is not an integer or out of range")
}

/// Parses a bit offset below `limit` bytes × 8. With `field_bits` (BITFIELD),
/// `#n` means the n-th field of that width.
fn bit_offset(arg: &[u8], field_bits: Option<u32>, limit: u64) -> Result<u64, CmdError> {
    let (digits, scale) = match (arg.split_first(), field_bits) {
        (Some((b'#', rest)), Some(bits)) => (rest, i64::from(bits)),
        _ => (arg, 1),
    };
    let offset = args::parse_i64(digits)
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(offset_error)?;
    if offset < 0 || (offset as u64 >> 3) >= limit {
        return Err(offset_error());
    }
    Ok(offset as u64)
}

/// Opens the string at `key` for bit edits, zero-padded to at least `min_len`
/// bytes and created if missing (Redis's `lookupStringForBitCommand`).
fn edit_bits<R>(
    cx: &mut Ctx<'_>,
    key: &Bytes,
    min_len: usize,
    edit: impl FnOnce(&mut BytesMut) -> R,
) -> Result<R, CmdError> {
    let (db, now) = cx.db_now();
    if let Some(value) = db.get_mut(key, now) {
        let s = value.as_str_mut()?;
        return Ok(edit_bytes(s, |bytes| {
            if bytes.len() < min_len {
                bytes.resize(min_len, 0);
            }
            edit(bytes)
        }));
    }
    let mut bytes = BytesMut::zeroed(min_len);
    let result = edit(&mut bytes);
    db.insert(key.clone(), Value::Str(Str::Raw(bytes.freeze())), now);
    Ok(result)
}

/// The bytes of the string at `key` for a read-only command (None if missing).
fn read_bytes(cx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Bytes>, CmdError> {
    Ok(read_str(cx, key)?.map(|s| s.to_bytes()))
}

/// # Format
/// `SETBIT key offset value`
///
/// Replies the bit's previous value.
fn setbit(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let offset = bit_offset(&args[2], None, max_string_len(cx))?;
    let on = match args::parse_i64(&args[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(CmdError::msg("ERR bit is not an integer or out of range")),
    };
    let (byte, mask) = ((offset >> 3) as usize, 0x80u8 >> (offset & 7));
    let old = edit_bits(cx, &args[1], byte + 1, |bytes| {
        let old = bytes[byte] & mask != 0;
        if on {
            bytes[byte] |= mask;
        } else {
            bytes[byte] &= !mask;
        }
        old
    })?;
    Ok(Frame::Integer(i64::from(old)))
}

/// # Format
/// `GETBIT key offset`
fn getbit(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let offset = bit_offset(&args[2], None, max_string_len(cx))?;
    let bytes = read_bytes(cx, &args[1])?.unwrap_or_default();
    Ok(Frame::Integer(i64::from(scan::bit(&bytes, offset))))
}

/// BYTE or BIT, the unit of BITCOUNT's and BITPOS's ranges.
fn is_bit_unit(arg: &[u8]) -> Result<bool, CmdError> {
    if args::is(arg, "bit") {
        Ok(true)
    } else if args::is(arg, "byte") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// # Format
/// `BITCOUNT key [start end [BYTE | BIT]]`
fn bitcount(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(bytes) = read_bytes(cx, &args[1])? else {
        return Ok(Frame::Integer(0));
    };
    let total_bits = bytes.len() as u64 * 8;
    let range = match args.len() {
        2 => (total_bits > 0).then(|| (0, total_bits - 1)),
        4 | 5 => {
            let (start, end) = (args::int(&args[2])?, args::int(&args[3])?);
            let bit_unit = args.len() == 5 && is_bit_unit(&args[4])?;
            bit_range(start, end, bytes.len(), bit_unit)
        }
        _ => return Err(CmdError::Syntax),
    };
    let count = range.map_or(0, |(first, last)| scan::count_ones(&bytes, first, last));
    Ok(Frame::Integer(count as i64))
}

/// A BITCOUNT range in bytes or bits, as an inclusive range of bit positions.
fn bit_range(start: i64, end: i64, len: usize, bit_unit: bool) -> Option<(u64, u64)> {
    if bit_unit {
        let (first, last) = clamp_range(start, end, len as i64 * 8)?;
        Some((first as u64, last as u64))
    } else {
        let (first, last) = clamp_range(start, end, len as i64)?;
        Some((first as u64 * 8, last as u64 * 8 + 7))
    }
}

/// # Format
/// `BITPOS key bit [start [end [BYTE | BIT]]]`
///
/// Looking for a 0 without an explicit end finds the first bit past the string
/// when every bit of it is set; with an explicit end, -1.
fn bitpos(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let wanted = match args::int(&args[2])? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::msg("ERR The bit argument must be 1 or 0.")),
    };
    let Some(bytes) = read_bytes(cx, &args[1])? else {
        return Ok(Frame::Integer(if wanted { -1 } else { 0 }));
    };
    if args.len() > 6 {
        return Err(CmdError::Syntax);
    }
    let start = args.get(3).map_or(Ok(0), |a| args::int(a))?;
    let bit_unit = args.len() == 6 && is_bit_unit(&args[5])?;
    let end = args.get(4).map(|a| args::int(a)).transpose()?;
    let unit = if bit_unit { 1 } else { 8 };
    let total = bytes.len() as i64 * 8 / unit;
    let from_end = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let first = from_end(start);
    let last = end.map_or(total - 1, from_end).min(total - 1);
    if first > last {
        return Ok(Frame::Integer(-1));
    }
    let (first, last) = (first * unit, last * unit + unit - 1);
    let found = scan::position(&bytes, wanted, first as u64, last as u64);
    Ok(Frame::Integer(match found {
        Some(pos) => pos as i64,
        None if !wanted && end.is_none() => last + 1,
        None => -1,
    }))
}

/// BITOP's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    And,
    Or,
    Xor,
    Not,
}

/// # Format
/// `BITOP <AND | OR | XOR | NOT> destkey key [key ...]`
///
/// Missing sources are zero bytes; shorter ones are zero-padded. An empty result
/// deletes `destkey`. Replies the result's length.
fn bitop(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let op = [
        ("and", Op::And),
        ("or", Op::Or),
        ("xor", Op::Xor),
        ("not", Op::Not),
    ]
    .into_iter()
    .find(|(name, _)| args::is(&args[1], name))
    .map(|(_, op)| op)
    .ok_or(CmdError::Syntax)?;
    let (dest, keys) = (&args[2], &args[3..]);
    if op == Op::Not && keys.len() != 1 {
        return Err(CmdError::msg(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let mut sources = Vec::with_capacity(keys.len());
    for key in keys {
        sources.push(match read(cx, key) {
            Some(value) => value.as_str()?.to_bytes(),
            None => Bytes::new(),
        });
    }
    let result = combine(op, &sources);
    let (db, now) = cx.db_now();
    if result.is_empty() {
        if db.remove(dest, now).is_none() {
            cx.no_change();
        }
        return Ok(Frame::Integer(0));
    }
    let len = result.len();
    db.insert(dest.clone(), Value::Str(Str::Raw(Bytes::from(result))), now);
    Ok(Frame::Integer(len as i64))
}

/// Applies `op` byte by byte over the sources, each zero-padded to the longest.
fn combine(op: Op, sources: &[Bytes]) -> Vec<u8> {
    let len = sources.iter().map(Bytes::len).max().unwrap_or(0);
    let byte = |source: &Bytes, i: usize| source.get(i).copied().unwrap_or(0);
    let (first, rest) = match sources.split_first() {
        Some(split) => split,
        None => return Vec::new(),
    };
    (0..len)
        .map(|i| {
            let init = byte(first, i);
            match op {
                Op::Not => !init,
                Op::And => rest.iter().fold(init, |acc, s| acc & byte(s, i)),
                Op::Or => rest.iter().fold(init, |acc, s| acc | byte(s, i)),
                Op::Xor => rest.iter().fold(init, |acc, s| acc ^ byte(s, i)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        let limit = 512 * 1024 * 1024;
        assert_eq!(bit_offset(b"4294967295", None, limit), Ok(4_294_967_295));
        assert_eq!(bit_offset(b"#3", Some(8), limit), Ok(24));
        assert_eq!(bit_offset(b"#536870911", Some(8), limit), Ok(4_294_967_288));
        for bad in [&b"4294967296"[..], b"-1", b"x", b"#3", b"01", b""] {
            assert_eq!(bit_offset(bad, None, limit), Err(offset_error()), "{bad:?}");
        }
        for bad in [&b"#536870912"[..], b"#-1", b"#x", b"#9223372036854775807"] {
            assert_eq!(
                bit_offset(bad, Some(8), limit),
                Err(offset_error()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bitop_combinations() {
        let a = Bytes::from_static(b"\xff\x0f");
        let b = Bytes::from_static(b"\xf0");
        assert_eq!(combine(Op::And, &[a.clone(), b.clone()]), vec![0xf0, 0x00]);
        assert_eq!(combine(Op::Or, &[a.clone(), b.clone()]), vec![0xff, 0x0f]);
        assert_eq!(combine(Op::Xor, &[a.clone(), b.clone()]), vec![0x0f, 0x0f]);
        assert_eq!(combine(Op::Not, &[a]), vec![0x00, 0xf0]);
        assert_eq!(combine(Op::And, &[b, Bytes::new()]), vec![0x00]);
    }
}
