//! String commands (Redis's `t_string.c`): GET/SET and their variants, counters,
//! ranges and LCS, one submodule each under `string/`.
//!
//! A string is a [`Str`]: a canonical integer stays an `i64` so INCR does not
//! format and reparse it; anything else is bytes. Commands that edit bytes in
//! place (APPEND, SETRANGE, SETBIT, BITFIELD) go through [`edit_bytes`], which
//! reuses the value's buffer when nothing else holds it, so a loop of APPENDs is
//! amortised O(1) per call, as in Redis.
//!
//! The helpers here ([`read`], [`read_str`], [`check_length`]) are shared with the
//! bitmap and HyperLogLog families, which work on the same values.

mod counter;
mod expire;
mod get;
mod lcs;
mod range;
mod set;

use bytes::{Bytes, BytesMut};

use super::{CmdError, Ctx, Handler};
use crate::engine::value::{Str, Value};

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("get", get::get),
    ("getdel", get::getdel),
    ("getex", get::getex),
    ("mget", get::mget),
    ("strlen", get::strlen),
    ("set", set::set),
    ("setnx", set::setnx),
    ("setex", set::setex),
    ("psetex", set::psetex),
    ("getset", set::getset),
    ("mset", set::mset),
    ("msetnx", set::msetnx),
    ("incr", counter::incr),
    ("decr", counter::decr),
    ("incrby", counter::incrby),
    ("decrby", counter::decrby),
    ("incrbyfloat", counter::incrbyfloat),
    ("append", range::append),
    ("getrange", range::getrange),
    ("substr", range::getrange),
    ("setrange", range::setrange),
    ("lcs", lcs::lcs),
];

/// Looks `key` up for a read-only command, counting a keyspace hit or miss as
/// Redis's `lookupKeyRead` does.
pub(super) fn read<'c>(cx: &'c mut Ctx<'_>, key: &[u8]) -> Option<&'c Value> {
    let ks = &mut *cx.ks;
    let value = ks.dbs[cx.client.db].get(key, cx.now);
    if value.is_some() {
        ks.stats.keyspace_hits += 1;
    } else {
        ks.stats.keyspace_misses += 1;
    }
    value
}

/// Like [`read`] for a command that needs a string: WRONGTYPE for another type.
pub(super) fn read_str<'c>(cx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c Str>, CmdError> {
    read(cx, key).map(Value::as_str).transpose()
}

/// Redis's `proto-max-bulk-len`: the largest string a command may build.
pub(super) fn max_string_len(cx: &Ctx<'_>) -> u64 {
    cx.shared.config.read().proto_max_bulk_len
}

/// Checks that a string of `len` bytes grown by `extra` stays within `limit`
/// (`proto-max-bulk-len`), before anything is allocated.
pub(super) fn check_length(limit: u64, len: u64, extra: u64) -> Result<(), CmdError> {
    match len.checked_add(extra) {
        Some(total) if total <= limit => Ok(()),
        _ => Err(CmdError::msg(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

/// Redis's range rule (GETRANGE, BITCOUNT): negative indexes count from the end,
/// both are clamped into `0..len`, and the inclusive range may be empty (None).
/// Two negative indexes with start > end are empty even when both fall before
/// the start of the string.
pub(super) fn clamp_range(start: i64, end: i64, len: i64) -> Option<(i64, i64)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let from_end = |i: i64| if i < 0 { (len + i).max(0) } else { i };
    let (start, end) = (from_end(start), from_end(end).min(len - 1));
    (start <= end).then_some((start, end))
}

/// Runs `edit` on the bytes of `value`, reusing its buffer when the value is its
/// only holder (otherwise copying it once), and stores the result back as raw
/// bytes — as Redis's in-place edits leave a "raw" string.
pub(super) fn edit_bytes<R>(value: &mut Str, edit: impl FnOnce(&mut BytesMut) -> R) -> R {
    let bytes = match std::mem::replace(value, Str::Raw(Bytes::new())) {
        Str::Int(n) => BytesMut::from(itoa::Buffer::new().format(n).as_bytes()),
        Str::Raw(bytes) => bytes
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..])),
    };
    let mut bytes = bytes;
    let result = edit(&mut bytes);
    *value = Str::Raw(bytes.freeze());
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_bytes_reuses_an_unshared_buffer() {
        let mut value = Str::Raw(Bytes::from(vec![b'a'; 8]));
        edit_bytes(&mut value, |b| b.extend_from_slice(b"bc"));
        let before = match &value {
            Str::Raw(b) => b.as_ptr(),
            Str::Int(_) => unreachable!(),
        };
        // Growth within capacity keeps the same buffer: no copy per edit.
        edit_bytes(&mut value, |b| b.reserve(1000));
        edit_bytes(&mut value, |b| b.extend_from_slice(b"d"));
        let grown = match &value {
            Str::Raw(b) => b.as_ptr(),
            Str::Int(_) => unreachable!(),
        };
        edit_bytes(&mut value, |b| b.extend_from_slice(b"e"));
        let after = match &value {
            Str::Raw(b) => b.as_ptr(),
            Str::Int(_) => unreachable!(),
        };
        assert_eq!(grown, after);
        assert_ne!(before, std::ptr::null());
        assert_eq!(value.to_bytes(), Bytes::from("aaaaaaaabcde"));
    }

    #[test]
    fn ranges_as_redis_clamps_them() {
        assert_eq!(clamp_range(0, -1, 5), Some((0, 4)));
        assert_eq!(clamp_range(-3, -1, 5), Some((2, 4)));
        assert_eq!(clamp_range(0, -100, 5), Some((0, 0)));
        assert_eq!(clamp_range(-100, -100, 5), Some((0, 0)));
        assert_eq!(clamp_range(-1, -100, 5), None);
        assert_eq!(clamp_range(3, 1, 5), None);
        assert_eq!(clamp_range(0, 100, 5), Some((0, 4)));
        assert_eq!(clamp_range(0, 0, 0), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 5), Some((0, 4)));
    }

    #[test]
    fn length_limit() {
        assert!(check_length(10, 5, 5).is_ok());
        assert!(check_length(10, 5, 6).is_err());
        assert!(check_length(u64::MAX, u64::MAX, 1).is_err());
    }

    #[test]
    fn edit_bytes_copies_a_shared_buffer_and_formats_integers() {
        let shared = Bytes::from("xyz");
        let mut value = Str::Raw(shared.clone());
        edit_bytes(&mut value, |b| b[0] = b'X');
        assert_eq!(shared, Bytes::from("xyz"));
        assert_eq!(value.to_bytes(), Bytes::from("Xyz"));
        let mut int = Str::Int(-12);
        edit_bytes(&mut int, |b| b.extend_from_slice(b"3"));
        assert_eq!(int, Str::Raw(Bytes::from("-123")));
    }
}
