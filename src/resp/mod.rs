//! RESP2/RESP3 frames: the wire IR shared by the engine and the proxy.
//!
//! Pure code: bytes in, frames out, no I/O. `decode` parses incrementally from a
//! `BytesMut` without copying bulk payloads (they are `Bytes` split off the read
//! buffer); `encode` writes a frame for the protocol version a connection speaks.

mod decode;
mod double;
mod encode;
mod error;
mod inline;
mod reply;
mod request;
#[cfg(test)]
mod tests;

pub use decode::{Decoder, Limits};
pub use double::{format_double, format_double_human};
pub use encode::encode;
pub use error::ProtocolError;
pub use request::Request;

use bytes::Bytes;

/// The protocol version a connection speaks; HELLO switches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

/// One RESP value. RESP3-only kinds are downgraded by `encode` on a RESP2 connection
/// the way Redis does (maps and sets flatten to arrays, doubles become bulk strings,
/// booleans integers, pushes arrays).
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK`
    Simple(Bytes),
    /// `-ERR message`: the text after `-`, including the error code.
    Error(Bytes),
    /// `:42`
    Integer(i64),
    /// `$3\r\nfoo`
    Bulk(Bytes),
    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// The null array: `*-1` in RESP2, `_` in RESP3.
    NullArray,
    /// `*N` followed by N frames.
    Array(Vec<Frame>),
    /// RESP3 `%N`: N key/value pairs.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~N`.
    Set(Vec<Frame>),
    /// RESP3 `,1.5`
    Double(f64),
    /// RESP3 `#t` / `#f`
    Boolean(bool),
    /// RESP3 `(12345678901234567890`
    BigNumber(Bytes),
    /// RESP3 `=15\r\ntxt:Some string`: a three-byte format and the text.
    Verbatim { format: [u8; 3], text: Bytes },
    /// RESP3 `>N`: out-of-band data such as pub/sub messages.
    Push(Vec<Frame>),
}

impl Frame {
    /// `+OK`, the most common reply.
    pub fn ok() -> Frame {
        Frame::Simple(Bytes::from_static(b"OK"))
    }

    /// A simple string from a static text.
    pub fn simple(text: &'static str) -> Frame {
        Frame::Simple(Bytes::from_static(text.as_bytes()))
    }

    /// An error reply; `text` starts with the code (`ERR`, `WRONGTYPE`, …).
    pub fn error(text: impl Into<String>) -> Frame {
        Frame::Error(Bytes::from(text.into()))
    }

    /// A bulk string holding a copy of `data`.
    pub fn bulk(data: impl Into<Bytes>) -> Frame {
        Frame::Bulk(data.into())
    }

    /// An array of bulk strings.
    pub fn bulks<I, B>(items: I) -> Frame
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        Frame::Array(items.into_iter().map(|b| Frame::Bulk(b.into())).collect())
    }

    /// True for `Frame::Error`.
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }
}
