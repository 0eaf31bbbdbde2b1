//! Protocol errors: malformed or over-limit input. Each one ends the connection.
//!
//! `Display` gives the text Redis writes after `Protocol error: ` for the same
//! input (checked against redis-server 7), so the edge can reply
//! `-ERR Protocol error: …` and close, exactly as Redis does. Reply-only
//! errors (a backend sent something that is not RESP) have no Redis wording
//! and say plainly what was wrong.

use super::Frame;
use bytes::Bytes;

/// The prefix Redis puts before every protocol error it reports.
const REPLY_PREFIX: &str = "ERR Protocol error: ";

/// A violation of RESP or of a configured [`Limits`](super::Limits) bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// `*` not followed by a valid count, or a count above the limit.
    #[error("invalid multibulk length")]
    InvalidMultibulkLength,
    /// `$` not followed by a valid length, or a length above the limit.
    #[error("invalid bulk length")]
    InvalidBulkLength,
    /// An element of a request multibulk that is not a bulk string.
    #[error("expected '$', got '{}'", shown(*.0))]
    ExpectedDollar(u8),
    /// An inline command line longer than the limit.
    #[error("too big inline request")]
    TooBigInline,
    /// A `*` count line longer than the inline limit.
    #[error("too big mbulk count string")]
    TooBigMbulkCount,
    /// A `$` length line longer than the inline limit.
    #[error("too big bulk count string")]
    TooBigBulkCount,
    /// An inline command with an unterminated quote, or a closing quote
    /// followed by something other than a space.
    #[error("unbalanced quotes in request")]
    UnbalancedQuotes,
    /// A line or bulk payload not terminated by `\r\n`. (Redis skips two
    /// bytes after a request bulk without looking at them; we refuse, so a
    /// desynchronised client is caught instead of misread.)
    #[error("expected CRLF line ending")]
    ExpectedCrlf,
    /// A reply line (simple string, error, number) longer than the limit.
    #[error("too big reply line")]
    TooBigLine,
    /// A reply starting with a byte that is no RESP2/RESP3 type.
    #[error("unknown reply type byte '{}'", shown(*.0))]
    UnknownType(u8),
    /// Aggregates nested deeper than the limit.
    #[error("nesting deeper than {0} levels")]
    TooDeep(usize),
    /// A `:` reply that is not a 64-bit signed integer.
    #[error("invalid integer")]
    InvalidInteger,
    /// A `,` reply that is not a floating-point number.
    #[error("invalid double")]
    InvalidDouble,
    /// A `#` reply other than `#t` or `#f`.
    #[error("invalid boolean")]
    InvalidBoolean,
    /// A `_` reply with something between `_` and `\r\n`.
    #[error("invalid null")]
    InvalidNull,
    /// A `(` reply that is not an optionally signed run of digits.
    #[error("invalid big number")]
    InvalidBigNumber,
    /// A `=` reply without its three-byte format and `:`.
    #[error("invalid verbatim string")]
    InvalidVerbatim,
}

impl ProtocolError {
    /// The full error reply text, `ERR Protocol error: …`, without the `-`.
    pub fn reply_text(&self) -> String {
        format!("{REPLY_PREFIX}{self}")
    }

    /// The error reply as a frame, byte for byte what Redis sends: unlike
    /// [`reply_text`](Self::reply_text), a non-ASCII byte echoed in the message
    /// stays that raw byte rather than becoming UTF-8.
    pub fn to_frame(&self) -> Frame {
        match *self {
            ProtocolError::ExpectedDollar(b) | ProtocolError::UnknownType(b) if !b.is_ascii() => {
                // The text ends `'<c>'` where <c> is `b` as a char: two bytes of
                // UTF-8 for a non-ASCII byte. Put the raw byte in their place.
                let mut raw = self.reply_text().into_bytes();
                raw.truncate(raw.len() - 3);
                raw.extend_from_slice(&[b, b'\'']);
                Frame::Error(Bytes::from(raw))
            }
            _ => Frame::Error(Bytes::from(self.reply_text())),
        }
    }
}

/// How a byte from the input is echoed in a message: line breaks become
/// spaces (an error reply is one line), anything else is printed as is.
fn shown(b: u8) -> char {
    match b {
        b'\r' | b'\n' => ' ',
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_texts_match_redis() {
        let cases = [
            (
                ProtocolError::InvalidMultibulkLength,
                "ERR Protocol error: invalid multibulk length",
            ),
            (
                ProtocolError::InvalidBulkLength,
                "ERR Protocol error: invalid bulk length",
            ),
            (
                ProtocolError::ExpectedDollar(b'+'),
                "ERR Protocol error: expected '$', got '+'",
            ),
            (
                ProtocolError::ExpectedDollar(b'\r'),
                "ERR Protocol error: expected '$', got ' '",
            ),
            (
                ProtocolError::TooBigInline,
                "ERR Protocol error: too big inline request",
            ),
            (
                ProtocolError::TooBigMbulkCount,
                "ERR Protocol error: too big mbulk count string",
            ),
            (
                ProtocolError::TooBigBulkCount,
                "ERR Protocol error: too big bulk count string",
            ),
            (
                ProtocolError::UnbalancedQuotes,
                "ERR Protocol error: unbalanced quotes in request",
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.reply_text(), text);
            assert_eq!(err.to_frame(), Frame::Error(Bytes::from(text)));
        }
    }

    #[test]
    fn non_ascii_byte_is_echoed_raw_in_the_frame() {
        let frame = ProtocolError::ExpectedDollar(0xff).to_frame();
        assert_eq!(
            frame,
            Frame::Error(Bytes::from_static(
                b"ERR Protocol error: expected '$', got '\xff'"
            ))
        );
        let frame = ProtocolError::UnknownType(0x80).to_frame();
        assert_eq!(
            frame,
            Frame::Error(Bytes::from_static(
                b"ERR Protocol error: unknown reply type byte '\x80'"
            ))
        );
    }
}
