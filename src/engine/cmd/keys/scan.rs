//! Iterating the keyspace: KEYS (all at once, under the lock, as Redis) and SCAN
//! (a few at a time, by cursor).
//!
//! SCAN's cursor is a slab position of the [`Db`](crate::engine::db::Db): entries
//! never move, so a key present for the whole iteration is returned exactly once
//! whatever is added or deleted between calls.

use bytes::Bytes;

use crate::engine::cmd::args;
use crate::engine::cmd::{CmdError, CmdResult, Ctx};
use crate::engine::db::Entry;
use crate::engine::glob;
use crate::resp::Frame;

/// SCAN's default COUNT.
const DEFAULT_COUNT: usize = 10;

/// A call visits at most this many times COUNT slab positions looking for COUNT
/// keys, so a sparse slab (after mass deletions) still answers in bounded time.
const MAX_ROUNDS: usize = 10;

/// # Format
/// `KEYS pattern` → every key matching the glob `pattern`.
///
/// O(N) under the lock: other clients wait meanwhile, as under Redis.
pub(super) fn keys(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let filter = Filter {
        pattern: Some(&args[1][..]).filter(|p| *p != b"*"),
        type_name: None,
    };
    let (db, now) = cx.db_now();
    let keys = db
        .iter(now)
        .filter(|(key, entry)| filter.accepts(key, entry))
        .map(|(key, _)| Frame::Bulk(key.clone()))
        .collect();
    Ok(Frame::Array(keys))
}

/// # Format
/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]` → `[next-cursor, [key …]]`;
/// the iteration is complete when the next cursor is `0`.
pub(super) fn scan(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut cursor = parse_cursor(&args[1]).ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    let (filter, count) = parse_options(&args[2..])?;
    let (db, now) = cx.db_now();
    let mut found = Vec::new();
    let mut candidates = 0;
    let mut visited = 0usize;
    loop {
        // As Redis, COUNT counts keys met before MATCH and TYPE filter them.
        cursor = db.scan(cursor, count, now, |key, entry| {
            candidates += 1;
            if filter.accepts(key, entry) {
                found.push(Frame::Bulk(key.clone()));
            }
        });
        visited = visited.saturating_add(count);
        if cursor == 0 || candidates >= count || visited >= count.saturating_mul(MAX_ROUNDS) {
            break;
        }
    }
    let cursor = Frame::Bulk(Bytes::copy_from_slice(
        itoa::Buffer::new().format(cursor).as_bytes(),
    ));
    Ok(Frame::Array(vec![cursor, Frame::Array(found)]))
}

/// What a KEYS or SCAN call returns of the keys it meets.
#[derive(Debug)]
struct Filter<'a> {
    /// A glob; None for every key (`*` needs no matching).
    pattern: Option<&'a [u8]>,
    /// A type name, compared ignoring case; an unknown one matches nothing.
    type_name: Option<&'a [u8]>,
}

impl Filter<'_> {
    fn accepts(&self, key: &[u8], entry: &Entry) -> bool {
        self.pattern.is_none_or(|p| glob::matches(p, key, false))
            && self
                .type_name
                .is_none_or(|t| t.eq_ignore_ascii_case(entry.value.type_name().as_bytes()))
    }
}

/// SCAN's MATCH, COUNT and TYPE options, each taking a value.
fn parse_options(options: &[Bytes]) -> Result<(Filter<'_>, usize), CmdError> {
    let mut filter = Filter {
        pattern: None,
        type_name: None,
    };
    let mut count = DEFAULT_COUNT;
    for pair in options.chunks(2) {
        let [name, value] = pair else {
            return Err(CmdError::Syntax);
        };
        if args::is(name, "count") {
            count = match args::int(value)? {
                n if n < 1 => return Err(CmdError::Syntax),
                n => usize::try_from(n).unwrap_or(usize::MAX),
            };
        } else if args::is(name, "match") {
            filter.pattern = Some(&value[..]).filter(|p| *p != b"*");
        } else if args::is(name, "type") {
            filter.type_name = Some(value);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((filter, count))
}

/// A cursor as Redis reads it with `strtoul`: an optional sign ("-1" wraps to the
/// largest cursor), decimal digits, nothing after them; the empty string is 0; no
/// leading space. Redis sees the argument as a C string, so it ends at a NUL.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let arg = &arg[..memchr::memchr(0, arg).unwrap_or(arg.len())];
    if arg.is_empty() {
        return Some(0);
    }
    let (negative, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if negative { n.wrapping_neg() } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_as_strtoul_reads_them() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+5"), Some(5));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"007"), Some(7));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"12\0junk"), Some(12));
        for bad in [
            &b" 1"[..],
            b"1 ",
            b"1.5",
            b"abc",
            b"-",
            b"+",
            b"18446744073709551616",
            b"0x10",
        ] {
            assert_eq!(parse_cursor(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn options() {
        let opts = |list: &[&str]| -> Vec<Bytes> {
            list.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect()
        };
        let o = opts(&["COUNT", "5", "match", "a*", "Type", "hash"]);
        let (filter, count) = parse_options(&o).unwrap();
        assert_eq!(count, 5);
        assert_eq!(filter.pattern, Some(&b"a*"[..]));
        assert_eq!(filter.type_name, Some(&b"hash"[..]));
        let o = opts(&["match", "*"]);
        assert_eq!(parse_options(&o).unwrap().0.pattern, None);
        for (bad, err) in [
            (&["count", "0"][..], "ERR syntax error"),
            (&["count", "-1"], "ERR syntax error"),
            (
                &["count", "x"],
                "ERR value is not an integer or out of range",
            ),
            (&["match"], "ERR syntax error"),
            (&["foo", "bar"], "ERR syntax error"),
            (&["count", "1", "type"], "ERR syntax error"),
        ] {
            assert_eq!(
                parse_options(&opts(bad)).unwrap_err().to_string(),
                err,
                "{bad:?}"
            );
        }
    }
}
