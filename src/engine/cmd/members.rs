//! What the aggregate families share: reading and editing a hash or set under a
//! key (with Redis's keyspace statistics and its rule that empty aggregates do not
//! exist), the `*SCAN` cursor and options, and the counts of HRANDFIELD and
//! SRANDMEMBER. Written for hashes and sets; sorted sets fit the same shapes.

use bytes::Bytes;

use super::args;
use super::{CmdError, Ctx};
use crate::engine::glob;
use crate::engine::types::hash::HashValue;
use crate::engine::types::set::SetValue;
use crate::engine::value::{EncodingLimits, Value};
use crate::resp::Frame;

/// An aggregate type stored in a [`Value`].
pub(super) trait Aggregate: Default {
    /// The aggregate inside `value`, or WRONGTYPE.
    fn from_value(value: &Value) -> Result<&Self, CmdError>;
    /// The aggregate inside `value`, mutably, or WRONGTYPE.
    fn from_value_mut(value: &mut Value) -> Result<&mut Self, CmdError>;
    /// Wraps the aggregate into a value.
    fn into_value(self) -> Value;
    /// True when it has no element left.
    fn is_empty(&self) -> bool;
}

impl Aggregate for HashValue {
    fn from_value(value: &Value) -> Result<&Self, CmdError> {
        value.as_hash()
    }
    fn from_value_mut(value: &mut Value) -> Result<&mut Self, CmdError> {
        value.as_hash_mut()
    }
    fn into_value(self) -> Value {
        Value::Hash(self)
    }
    fn is_empty(&self) -> bool {
        HashValue::is_empty(self)
    }
}

impl Aggregate for SetValue {
    fn from_value(value: &Value) -> Result<&Self, CmdError> {
        value.as_set()
    }
    fn from_value_mut(value: &mut Value) -> Result<&mut Self, CmdError> {
        value.as_set_mut()
    }
    fn into_value(self) -> Value {
        Value::Set(self)
    }
    fn is_empty(&self) -> bool {
        SetValue::is_empty(self)
    }
}

/// The aggregate at `key` for a read command, counting a keyspace hit or miss as
/// Redis's `lookupKeyRead` does. `None` when the key does not exist.
pub(super) fn read<'c, A: Aggregate>(
    cx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<&'c A>, CmdError> {
    let (index, now) = (cx.client.db, cx.now);
    let ks = &mut *cx.ks;
    match ks.dbs[index].get(key, now) {
        Some(value) => {
            ks.stats.keyspace_hits += 1;
            A::from_value(value).map(Some)
        }
        None => {
            ks.stats.keyspace_misses += 1;
            Ok(None)
        }
    }
}

/// Runs `edit` on the aggregate at `key` if it exists (`None` otherwise), and
/// deletes the key if `edit` left it empty.
pub(super) fn edit_existing<A: Aggregate, T>(
    cx: &mut Ctx<'_>,
    key: &[u8],
    edit: impl FnOnce(&mut A, &EncodingLimits) -> Result<T, CmdError>,
) -> Result<Option<T>, CmdError> {
    let (index, now) = (cx.client.db, cx.now);
    let ks = &mut *cx.ks;
    let db = &mut ks.dbs[index];
    let Some(value) = db.get_mut(key, now) else {
        return Ok(None);
    };
    let aggregate = A::from_value_mut(value)?;
    let result = edit(aggregate, &ks.limits);
    if aggregate.is_empty() {
        db.remove(key, now);
    }
    result.map(Some)
}

/// Runs `edit` on the aggregate at `key`, starting from an empty one if the key
/// does not exist; the new key is stored only if `edit` succeeded and left
/// something in it, and an existing key left empty is deleted.
pub(super) fn edit<A: Aggregate, T>(
    cx: &mut Ctx<'_>,
    key: &Bytes,
    edit: impl FnOnce(&mut A, &EncodingLimits) -> Result<T, CmdError>,
) -> Result<T, CmdError> {
    let (index, now) = (cx.client.db, cx.now);
    let ks = &mut *cx.ks;
    let db = &mut ks.dbs[index];
    if let Some(value) = db.get_mut(key, now) {
        let aggregate = A::from_value_mut(value)?;
        let result = edit(aggregate, &ks.limits);
        if aggregate.is_empty() {
            db.remove(key, now);
        }
        return result;
    }
    let mut aggregate = A::default();
    let result = edit(&mut aggregate, &ks.limits)?;
    if !aggregate.is_empty() {
        db.insert(key.clone(), aggregate.into_value(), now);
    }
    Ok(result)
}

/// Parses a `*SCAN` cursor as Redis does (`strtoul`): an unsigned decimal with an
/// optional sign ("-1" wraps to 2^64-1, "" is 0), no leading space, nothing after.
pub(super) fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::msg("ERR invalid cursor");
    let (negative, digits) = match arg.first() {
        None => return Ok(0),
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        Some(_) => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let value: u64 = std::str::from_utf8(digits)
        .map_err(|_| invalid())?
        .parse()
        .map_err(|_| invalid())?;
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// The options of HSCAN and SSCAN.
#[derive(Debug)]
pub(super) struct ScanOptions {
    /// MATCH pattern; None for none or "*".
    pub(super) pattern: Option<Bytes>,
    /// COUNT: roughly how many elements one call visits.
    pub(super) count: usize,
}

impl ScanOptions {
    /// Parses `[MATCH pattern] [COUNT count]` (in any order, the last one winning).
    pub(super) fn parse(options: &[Bytes]) -> Result<ScanOptions, CmdError> {
        let mut parsed = ScanOptions {
            pattern: None,
            count: 10,
        };
        let mut rest = options;
        while let [name, value, tail @ ..] = rest {
            if args::is(name, "count") {
                let count = args::int(value)?;
                if count < 1 {
                    return Err(CmdError::Syntax);
                }
                parsed.count = usize::try_from(count).unwrap_or(usize::MAX);
            } else if args::is(name, "match") {
                parsed.pattern = (value.as_ref() != b"*").then(|| value.clone());
            } else {
                return Err(CmdError::Syntax);
            }
            rest = tail;
        }
        match rest {
            [] => Ok(parsed),
            _ => Err(CmdError::Syntax),
        }
    }

    /// True if `element` passes the MATCH filter.
    pub(super) fn matches(&self, element: &[u8]) -> bool {
        self.pattern
            .as_ref()
            .is_none_or(|p| glob::matches(p, element, false))
    }
}

/// The reply of a `*SCAN` call: the next cursor and the elements.
pub(super) fn scan_reply(cursor: u64, elements: Vec<Frame>) -> Frame {
    let cursor = Bytes::copy_from_slice(itoa::Buffer::new().format(cursor).as_bytes());
    Frame::Array(vec![Frame::Bulk(cursor), Frame::Array(elements)])
}

/// What HRANDFIELD / SRANDMEMBER were asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Picks {
    /// A non-negative count: that many distinct elements at most.
    Distinct(u64),
    /// A negative count: exactly that many, repeats allowed.
    Repeated(u64),
}

/// Most picks one reply may hold when repeats are allowed. Redis builds a reply of
/// any size the client names and can run out of memory; this bound (some 40 MiB of
/// reply frames) keeps a client from doing that to the process.
pub(super) const MAX_REPEATED_PICKS: u64 = 1 << 20;

impl Picks {
    /// Parses the count, within ±(2^63-1) as Redis requires.
    pub(super) fn parse(arg: &[u8]) -> Result<Picks, CmdError> {
        match args::int(arg)? {
            i64::MIN => Err(CmdError::msg(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            )),
            n if n >= 0 => Ok(Picks::Distinct(n as u64)),
            n => Ok(Picks::Repeated(n.unsigned_abs())),
        }
    }

    /// The number of elements a set of `len` elements yields, refusing repeated
    /// picks beyond [`MAX_REPEATED_PICKS`].
    pub(super) fn reply_len(self, len: usize) -> Result<usize, CmdError> {
        match self {
            Picks::Distinct(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX).min(len)),
            Picks::Repeated(n) if n > MAX_REPEATED_PICKS => Err(CmdError::msg(format!(
                "ERR value is out of range, at most {MAX_REPEATED_PICKS} repeated picks are served"
            ))),
            Picks::Repeated(n) => Ok(n as usize),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_as_strtoul_reads_them() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b""), Ok(0));
        assert_eq!(parse_cursor(b"+7"), Ok(7));
        assert_eq!(parse_cursor(b"007"), Ok(7));
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Ok(u64::MAX));
        for bad in [
            &b"18446744073709551616"[..],
            b" 1",
            b"1 ",
            b"+",
            b"-",
            b"abc",
            b"0x10",
            b"1.0",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }

    fn opts(words: &[&str]) -> Result<ScanOptions, CmdError> {
        let args: Vec<Bytes> = words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        ScanOptions::parse(&args)
    }

    #[test]
    fn scan_options() {
        let o = opts(&[]).unwrap();
        assert_eq!((o.pattern, o.count), (None, 10));
        let o = opts(&["match", "a*", "COUNT", "5", "MATCH", "b*"]).unwrap();
        assert_eq!((o.pattern.as_deref(), o.count), (Some(&b"b*"[..]), 5));
        assert!(o.matches(b"bee") && !o.matches(b"ant"));
        assert!(opts(&["MATCH", "*"]).unwrap().pattern.is_none());
        assert_eq!(opts(&["COUNT", "0"]).unwrap_err(), CmdError::Syntax);
        assert_eq!(opts(&["COUNT", "-1"]).unwrap_err(), CmdError::Syntax);
        assert_eq!(opts(&["COUNT", "x"]).unwrap_err(), CmdError::NotInteger);
        assert_eq!(opts(&["COUNT"]).unwrap_err(), CmdError::Syntax);
        assert_eq!(opts(&["TYPE", "string"]).unwrap_err(), CmdError::Syntax);
        assert_eq!(
            opts(&["MATCH", "a", "NOVALUES"]).unwrap_err(),
            CmdError::Syntax
        );
    }

    #[test]
    fn pick_counts() {
        assert_eq!(Picks::parse(b"3"), Ok(Picks::Distinct(3)));
        assert_eq!(Picks::parse(b"-3"), Ok(Picks::Repeated(3)));
        assert_eq!(
            Picks::parse(b"-9223372036854775807"),
            Ok(Picks::Repeated(i64::MAX as u64))
        );
        assert!(Picks::parse(b"-9223372036854775808").is_err());
        assert_eq!(Picks::parse(b"x"), Err(CmdError::NotInteger));
        assert_eq!(Picks::Distinct(10).reply_len(3), Ok(3));
        assert_eq!(Picks::Repeated(10).reply_len(3), Ok(10));
        assert!(Picks::Repeated(MAX_REPEATED_PICKS + 1)
            .reply_len(3)
            .is_err());
    }
}
