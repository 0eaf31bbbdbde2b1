//! Incremental, zero-copy decoding: the [`Decoder`], its [`Limits`], and the
//! line and number scanning both of its halves share.
//!
//! A [`Decoder`] belongs to one byte stream. Call it with the stream's read
//! buffer after every read: `Ok(None)` means "need more bytes" (tokio-util's
//! `Decoder` contract); a complete value is split off the front of the buffer
//! and its strings are `Bytes` slices of it, never copies. Between calls the
//! decoder remembers how far it got, so a value that arrives in many small
//! reads is scanned once, not once per read. Nothing is allocated for sizes a
//! peer merely declared: vectors are sized by the bytes that have arrived.
//!
//! - [`Decoder::decode_request`] reads what clients send: multibulks of bulk
//!   strings, or inline command lines (`request.rs`, `inline.rs`).
//! - [`Decoder::decode`] reads any RESP2/RESP3 value, as backends reply (`reply.rs`).

use super::reply::ReplyState;
use super::request::{Request, RequestState};
use super::{Frame, ProtocolError};
use bytes::BytesMut;

/// Bounds on what a peer may send; anything beyond is a [`ProtocolError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest bulk string, in bytes. Redis's `proto-max-bulk-len`: 512 MiB.
    pub max_bulk_len: usize,
    /// Most elements in one aggregate (pairs, for a map). Redis accepts a
    /// request count up to `INT_MAX` (2³¹ − 1) and refuses `2147483648`.
    pub max_multibulk_len: usize,
    /// Longest inline command line and `*`/`$` count line, in bytes. Redis's
    /// `PROTO_INLINE_MAX_SIZE`: 64 KiB.
    pub max_inline_len: usize,
    /// Deepest nesting of aggregates in a reply.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as usize,
            max_inline_len: 64 * 1024,
            max_depth: 128,
        }
    }
}

/// Incremental RESP decoder for one connection's byte stream.
///
/// Use one decoder per stream and keep handing it the same buffer, only ever
/// appended to between calls that returned `Ok(None)`. After an error the
/// stream is out of step: reply, then close the connection.
#[derive(Debug, Default)]
pub struct Decoder {
    limits: Limits,
    request: RequestState,
    reply: ReplyState,
}

impl Decoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            ..Decoder::default()
        }
    }

    /// The limits this decoder enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Splits the next client request off the front of `buf`: a multibulk of
    /// bulk strings, or an inline command line (what telnet sends: split on
    /// spaces, with Redis's `"…"` and `'…'` quoting). Empty inline lines and
    /// `*0`/`*-1` multibulks are dropped from `buf` and skipped, as Redis does.
    ///
    /// # Errors
    /// A [`ProtocolError`] worded as Redis words it for the same input.
    pub fn decode_request(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, ProtocolError> {
        let result = self.request.decode(&self.limits, buf);
        if result.is_err() {
            self.reset();
        }
        result
    }

    /// Splits the next value off the front of `buf`: any RESP2 or RESP3 frame,
    /// nested, as a backend replies. `*-1` decodes to [`Frame::NullArray`],
    /// `$-1` and `_` to [`Frame::Null`]; RESP3 attributes (`|`) are read and
    /// dropped. Unlike `decode_request`, this consumes a value's bytes as its
    /// parts complete.
    ///
    /// # Errors
    /// A [`ProtocolError`] when the bytes are not RESP or exceed the limits.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
        let result = self.reply.decode(&self.limits, buf);
        if result.is_err() {
            self.reset();
        }
        result
    }

    /// Forgets any partly decoded value, as for a fresh stream.
    pub fn reset(&mut self) {
        self.request.reset();
        self.reply.reset();
    }

    /// Elements reserved by partly decoded values, for tests that check a
    /// declared-but-unsent size did not become an allocation.
    #[cfg(test)]
    pub(super) fn reserved(&self) -> usize {
        self.request.reserved() + self.reply.reserved()
    }
}

/// Why a line could not be delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LineFault {
    /// No terminator within the allowed length.
    TooLong,
    /// A `\r` followed by something other than `\n`.
    BareCr,
}

/// Finds `needle` in `buf[start..start + window]`, starting where an earlier
/// call stopped (`*scanned`, an offset into `buf`), so a line that arrives in
/// pieces is scanned once. Gives the needle's offset, `None` if it has not
/// arrived, or `TooLong` once all `window` bytes are there without it.
pub(super) fn find_byte(
    buf: &[u8],
    start: usize,
    window: usize,
    needle: u8,
    scanned: &mut usize,
) -> Result<Option<usize>, LineFault> {
    let end = start.saturating_add(window);
    let from = (*scanned).max(start);
    let stop = end.min(buf.len());
    if from < stop {
        if let Some(i) = memchr::memchr(needle, &buf[from..stop]) {
            *scanned = from + i;
            return Ok(Some(from + i));
        }
        *scanned = stop;
    }
    if buf.len() >= end {
        Err(LineFault::TooLong)
    } else {
        Ok(None)
    }
}

/// Finds the `\r\n` ending the line that starts at `buf[start]` and gives the
/// offset of its `\r`. The line (type byte included) may be `max_len` long.
pub(super) fn find_crlf(
    buf: &[u8],
    start: usize,
    max_len: usize,
    scanned: &mut usize,
) -> Result<Option<usize>, LineFault> {
    let Some(cr) = find_byte(buf, start, max_len.saturating_add(1), b'\r', scanned)? else {
        return Ok(None);
    };
    match buf.get(cr + 1) {
        None => Ok(None),
        Some(b'\n') => Ok(Some(cr)),
        Some(_) => Err(LineFault::BareCr),
    }
}

/// Parses a decimal `i64` the way Redis's `string2ll` does: an optional `-`,
/// no `+`, no spaces, no leading zeros (`0` alone is fine, `-0` is not), no
/// overflow.
pub(super) fn parse_int(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, text),
    };
    match digits {
        [b'0'] if !negative => return Some(0),
        [b'1'..=b'9', ..] => {}
        _ => return None,
    }
    // Accumulate negatively so i64::MIN parses without overflow.
    let mut value: i64 = 0;
    for &c in digits {
        let digit = i64::from(c.wrapping_sub(b'0'));
        if digit > 9 {
            return None;
        }
        value = value.checked_mul(10)?.checked_sub(digit)?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// `limit` as an `i64`, for comparing with a parsed length.
pub(super) fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_int_follows_string2ll() {
        let good: [(&[u8], i64); 7] = [
            (b"0", 0),
            (b"1", 1),
            (b"-1", -1),
            (b"42", 42),
            (b"9223372036854775807", i64::MAX),
            (b"-9223372036854775808", i64::MIN),
            (b"2147483648", 2147483648),
        ];
        for (text, want) in good {
            assert_eq!(
                parse_int(text),
                Some(want),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
        let bad: [&[u8]; 12] = [
            b"",
            b"-",
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"1a",
            b"abc",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"1-",
        ];
        for text in bad {
            assert_eq!(parse_int(text), None, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn find_crlf_resumes_and_bounds_the_line() {
        let mut scanned = 0;
        assert_eq!(find_crlf(b"*12", 0, 8, &mut scanned), Ok(None));
        assert_eq!(scanned, 3);
        assert_eq!(find_crlf(b"*12\r", 0, 8, &mut scanned), Ok(None));
        assert_eq!(find_crlf(b"*12\r\n", 0, 8, &mut scanned), Ok(Some(3)));
        assert_eq!(find_crlf(b"*12\rx", 0, 8, &mut 0), Err(LineFault::BareCr));
        // A line of exactly max_len bytes is fine; one more byte is not.
        assert_eq!(find_crlf(b"*1234567\r\n", 0, 8, &mut 0), Ok(Some(8)));
        assert_eq!(
            find_crlf(b"*12345678\r\n", 0, 8, &mut 0),
            Err(LineFault::TooLong)
        );
        assert_eq!(
            find_crlf(b"*12345678", 0, 8, &mut 0),
            Err(LineFault::TooLong)
        );
        assert_eq!(find_crlf(b"*1234567", 0, 8, &mut 0), Ok(None));
        assert_eq!(find_crlf(b"xx$1\r\n", 2, 8, &mut 0), Ok(Some(4)));
    }

    #[test]
    fn default_limits_are_redis_defaults() {
        let limits = Limits::default();
        assert_eq!(limits.max_bulk_len, 536_870_912);
        assert_eq!(limits.max_multibulk_len, 2_147_483_647);
        assert_eq!(limits.max_inline_len, 65_536);
        assert_eq!(limits.max_depth, 128);
    }
}
