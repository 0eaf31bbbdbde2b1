//! BITFIELD and BITFIELD_RO: integers of 1 to 64 bits (signed) or 1 to 63 bits
//! (unsigned) at any bit offset, read, written and incremented with a chosen
//! overflow policy. Every subcommand is parsed before any runs, so a bad one
//! leaves the string untouched.

use bytes::{Bytes, BytesMut};

use super::{bit_offset, edit_bits, read_bytes, scan};
use crate::engine::cmd::args::{self, Args};
use crate::engine::cmd::string::max_string_len;
use crate::engine::cmd::{CmdError, CmdResult, Ctx};
use crate::resp::Frame;

/// An integer field: its type and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    signed: bool,
    bits: u32,
    offset: u64,
}

/// What SET and INCRBY do when the result does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// One subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Get(Field),
    Set(Field, i64, Overflow),
    IncrBy(Field, i64, Overflow),
}

/// # Format
/// `BITFIELD key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>]
///  <SET encoding offset value | INCRBY encoding offset increment> ...]`
///
/// `encoding` is `i1`..`i64` or `u1`..`u63`; `offset` is a bit offset, or `#n` for
/// the n-th field of that width. Replies one entry per GET/SET/INCRBY (SET gives
/// the old value; a FAILed write gives nil).
pub(super) fn bitfield(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let ops = parse(args, false, max_string_len(cx))?;
    run(cx, &args[1], &ops)
}

/// # Format
/// `BITFIELD_RO key [GET encoding offset ...]`
pub(super) fn bitfield_ro(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let ops = parse(args, true, max_string_len(cx))?;
    run(cx, &args[1], &ops)
}

fn parse(args: &[Bytes], readonly: bool, limit: u64) -> Result<Vec<Op>, CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut rest = Args::new(args, 2);
    while let Some(sub) = rest.next() {
        let left = rest.remaining().len();
        if args::is(sub, "overflow") && left >= 1 {
            overflow = parse_overflow(rest.value()?)?;
            continue;
        }
        let is_get = args::is(sub, "get") && left >= 2;
        let is_write = (args::is(sub, "set") || args::is(sub, "incrby")) && left >= 3;
        if !is_get && !is_write {
            return Err(CmdError::Syntax);
        }
        if readonly && !is_get {
            return Err(CmdError::msg(
                "ERR BITFIELD_RO only supports the GET subcommand",
            ));
        }
        let (signed, bits) = parse_type(rest.value()?)?;
        let offset = bit_offset(rest.value()?, Some(bits), limit)?;
        let field = Field {
            signed,
            bits,
            offset,
        };
        ops.push(if is_get {
            Op::Get(field)
        } else if args::is(sub, "set") {
            Op::Set(field, rest.int()?, overflow)
        } else {
            Op::IncrBy(field, rest.int()?, overflow)
        });
    }
    Ok(ops)
}

fn parse_overflow(arg: &[u8]) -> Result<Overflow, CmdError> {
    [
        ("wrap", Overflow::Wrap),
        ("sat", Overflow::Sat),
        ("fail", Overflow::Fail),
    ]
    .into_iter()
    .find(|(name, _)| args::is(arg, name))
    .map(|(_, o)| o)
    .ok_or_else(|| CmdError::msg("ERR Invalid OVERFLOW type specified"))
}

/// `i<bits>` or `u<bits>` (lowercase, as Redis).
fn parse_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let parsed = match arg.split_first() {
        Some((b'i', n)) => args::parse_i64(n)
            .filter(|b| (1..=64).contains(b))
            .map(|b| (true, b)),
        Some((b'u', n)) => args::parse_i64(n)
            .filter(|b| (1..=63).contains(b))
            .map(|b| (false, b)),
        _ => None,
    };
    parsed.map(|(signed, bits)| (signed, bits as u32)).ok_or_else(|| {
        CmdError::msg(
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        )
    })
}

fn run(cx: &mut Ctx<'_>, key: &Bytes, ops: &[Op]) -> CmdResult {
    let highest_write = ops
        .iter()
        .filter_map(|op| match op {
            Op::Get(_) => None,
            Op::Set(f, ..) | Op::IncrBy(f, ..) => Some(f.offset + u64::from(f.bits) - 1),
        })
        .max();
    let Some(highest) = highest_write else {
        let bytes = read_bytes(cx, key)?.unwrap_or_default();
        let replies = ops.iter().map(|op| match op {
            Op::Get(f) => Frame::Integer(get(&bytes, *f) as i64),
            _ => Frame::Null,
        });
        return Ok(Frame::Array(replies.collect()));
    };
    let min_len = (highest >> 3) as usize + 1;
    let (replies, changes) = edit_bits(cx, key, min_len, |bytes| {
        let mut changes = 0;
        let replies = ops
            .iter()
            .map(|op| {
                let (reply, changed) = apply(bytes, *op);
                changes += usize::from(changed);
                reply
            })
            .collect();
        (replies, changes)
    })?;
    if changes == 0 {
        cx.no_change();
    }
    Ok(Frame::Array(replies))
}

/// Runs one subcommand on a string long enough for it; true if it wrote.
fn apply(bytes: &mut BytesMut, op: Op) -> (Frame, bool) {
    match op {
        Op::Get(f) => (Frame::Integer(get(bytes, f) as i64), false),
        Op::Set(f, value, overflow) => {
            let wanted = if f.signed {
                i128::from(value)
            } else {
                i128::from(value as u64)
            };
            match fit(f, wanted, overflow) {
                Some(new) => {
                    let old = get(bytes, f);
                    put(bytes, f, new);
                    (Frame::Integer(old as i64), true)
                }
                None => (Frame::Null, false),
            }
        }
        Op::IncrBy(f, incr, overflow) => match fit(f, get(bytes, f) + i128::from(incr), overflow) {
            Some(new) => {
                put(bytes, f, new);
                (Frame::Integer(new as i64), true)
            }
            None => (Frame::Null, false),
        },
    }
}

/// The field's range.
fn bounds(f: Field) -> (i128, i128) {
    if f.signed {
        (-(1i128 << (f.bits - 1)), (1i128 << (f.bits - 1)) - 1)
    } else {
        (0, (1i128 << f.bits) - 1)
    }
}

/// `value` if it fits the field, else what the overflow policy makes of it.
fn fit(f: Field, value: i128, overflow: Overflow) -> Option<i128> {
    let (min, max) = bounds(f);
    if (min..=max).contains(&value) {
        return Some(value);
    }
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if value > max { max } else { min }),
        Overflow::Wrap => {
            let low = value & ((1i128 << f.bits) - 1);
            Some(if f.signed && low > max {
                low - (1i128 << f.bits)
            } else {
                low
            })
        }
    }
}

/// Reads a field (bits past the end of the string read as 0).
fn get(bytes: &[u8], f: Field) -> i128 {
    let raw = (0..u64::from(f.bits)).fold(0u64, |acc, i| {
        acc << 1 | u64::from(scan::bit(bytes, f.offset + i))
    });
    let value = i128::from(raw);
    if f.signed && raw >> (f.bits - 1) & 1 == 1 {
        value - (1i128 << f.bits)
    } else {
        value
    }
}

/// Writes a field that fits (two's complement for negative values).
fn put(bytes: &mut [u8], f: Field, value: i128) {
    let raw = value as u64;
    for i in 0..u64::from(f.bits) {
        let pos = f.offset + i;
        let mask = 0x80u8 >> (pos & 7);
        let byte = &mut bytes[(pos >> 3) as usize];
        if raw >> (u64::from(f.bits) - 1 - i) & 1 == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(signed: bool, bits: u32) -> Field {
        Field {
            signed,
            bits,
            offset: 0,
        }
    }

    #[test]
    fn overflow_policies() {
        let i8f = field(true, 8);
        assert_eq!(fit(i8f, 127, Overflow::Fail), Some(127));
        assert_eq!(fit(i8f, 128, Overflow::Fail), None);
        assert_eq!(fit(i8f, 128, Overflow::Wrap), Some(-128));
        assert_eq!(fit(i8f, -200, Overflow::Sat), Some(-128));
        let u8f = field(false, 8);
        assert_eq!(fit(u8f, 300, Overflow::Wrap), Some(44));
        assert_eq!(fit(u8f, -1, Overflow::Sat), Some(0));
        assert_eq!(fit(u8f, i128::from(u64::MAX), Overflow::Sat), Some(255));
        let i64f = field(true, 64);
        assert_eq!(
            fit(i64f, i128::from(i64::MAX) + 1, Overflow::Wrap),
            Some(i128::from(i64::MIN))
        );
        let u63f = field(false, 63);
        assert_eq!(fit(u63f, i128::from(i64::MAX) + 1, Overflow::Wrap), Some(0));
    }

    #[test]
    fn fields_round_trip_at_odd_offsets() {
        let mut bytes = BytesMut::zeroed(16);
        for (signed, bits, offset, value) in [
            (true, 13, 5, -1000),
            (false, 63, 17, (1i128 << 62) + 5),
            (true, 64, 3, -7),
        ] {
            let f = Field {
                signed,
                bits,
                offset,
            };
            put(&mut bytes, f, value);
            assert_eq!(get(&bytes, f), value);
        }
        assert_eq!(get(b"", field(true, 8)), 0);
    }

    #[test]
    fn types() {
        assert_eq!(parse_type(b"i64"), Ok((true, 64)));
        assert_eq!(parse_type(b"u63"), Ok((false, 63)));
        for bad in [
            &b"u64"[..],
            b"i65",
            b"i0",
            b"U8",
            b"u08",
            b"u8x",
            b"x8",
            b"",
        ] {
            assert!(parse_type(bad).is_err(), "{bad:?}");
        }
    }
}
