//! Any RESP2/RESP3 value, as a backend replies: the half of the [`Decoder`]
//! behind [`Decoder::decode`].
//!
//! Aggregates are read without recursion: each open aggregate is a level on a
//! stack that collects its elements, and a finished element is handed to the
//! level above. Strings are split off the buffer as they complete, so the
//! stack and the unread bytes are the whole state; a value arriving over many
//! reads is read once. Nesting is bounded by [`Limits::max_depth`].
//!
//! [`Decoder`]: super::Decoder
//! [`Decoder::decode`]: super::Decoder::decode

use super::decode::{find_crlf, limit_i64, parse_int, Limits, LineFault};
use super::{Frame, ProtocolError};
use bytes::{Buf, Bytes, BytesMut};

/// The smallest encoding of one element, `_\r\n`: no more elements than
/// bytes / this can have arrived, whatever count was declared.
const MIN_ELEMENT_LEN: usize = 3;

/// The reply being read.
#[derive(Debug, Default)]
pub(super) struct ReplyState {
    /// Open aggregates, outermost first.
    stack: Vec<Level>,
    /// How far the search for the current line's end got.
    scanned: usize,
}

/// An open aggregate and the elements read so far.
#[derive(Debug)]
struct Level {
    kind: Aggregate,
    /// Elements still to read (two per pair for maps and attributes).
    remaining: usize,
    items: Vec<Frame>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Array,
    Set,
    Push,
    Map,
    /// RESP3 `|`: metadata about the value that follows; read and dropped.
    Attribute,
}

/// One step of reading: a whole value, or the header of an aggregate.
#[derive(Debug)]
enum Item {
    Frame(Frame),
    Open(Aggregate, usize),
}

impl ReplyState {
    pub(super) fn reset(&mut self) {
        self.stack.clear();
        self.scanned = 0;
    }

    #[cfg(test)]
    pub(super) fn reserved(&self) -> usize {
        self.stack.iter().map(|level| level.items.capacity()).sum()
    }

    /// See [`Decoder::decode`](super::Decoder::decode).
    pub(super) fn decode(
        &mut self,
        limits: &Limits,
        buf: &mut BytesMut,
    ) -> Result<Option<Frame>, ProtocolError> {
        loop {
            let Some(item) = self.read_item(limits, buf)? else {
                return Ok(None);
            };
            self.scanned = 0;
            let done = match item {
                Item::Frame(frame) => self.complete(frame),
                Item::Open(kind, count) => self.open(limits, kind, count, buf.len())?,
            };
            if done.is_some() {
                return Ok(done);
            }
        }
    }

    /// Pushes a level for an aggregate of `count` elements; an empty one is
    /// complete at once.
    fn open(
        &mut self,
        limits: &Limits,
        kind: Aggregate,
        count: usize,
        available: usize,
    ) -> Result<Option<Frame>, ProtocolError> {
        if self.stack.len() >= limits.max_depth {
            return Err(ProtocolError::TooDeep(limits.max_depth));
        }
        let per_entry = if matches!(kind, Aggregate::Map | Aggregate::Attribute) {
            2
        } else {
            1
        };
        let remaining = count
            .checked_mul(per_entry)
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        let level = Level {
            kind,
            remaining,
            items: Vec::new(),
        };
        if remaining == 0 {
            return Ok(level.into_frame().and_then(|frame| self.complete(frame)));
        }
        let arrived = available / MIN_ELEMENT_LEN;
        let mut level = level;
        if kind != Aggregate::Attribute {
            level.items.reserve(remaining.min(arrived));
        }
        self.stack.push(level);
        Ok(None)
    }

    /// Hands a finished value to the open aggregate, closing every level it
    /// completes; gives the top-level value once there is one.
    fn complete(&mut self, mut frame: Frame) -> Option<Frame> {
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Some(frame);
            };
            if top.kind != Aggregate::Attribute {
                top.items.push(frame);
            }
            top.remaining -= 1;
            if top.remaining > 0 {
                return None;
            }
            // An attribute completes into nothing: the value it describes follows.
            frame = self.stack.pop()?.into_frame()?;
        }
    }

    /// Reads the value or aggregate header at the front of `buf`, consuming
    /// it; `None` if it has not fully arrived.
    fn read_item(
        &mut self,
        limits: &Limits,
        buf: &mut BytesMut,
    ) -> Result<Option<Item>, ProtocolError> {
        let Some(&kind) = buf.first() else {
            return Ok(None);
        };
        let item = match kind {
            b'+' => self.read_text(limits, buf)?.map(Frame::Simple),
            b'-' => self.read_text(limits, buf)?.map(Frame::Error),
            b'(' => self.read_text(limits, buf)?.map(big_number).transpose()?,
            b'$' | b'!' | b'=' => return self.read_blob(limits, buf),
            b':' | b',' | b'#' | b'_' => self.read_scalar(limits, buf)?,
            b'*' | b'~' | b'>' | b'%' | b'|' => return self.read_header(limits, buf),
            other => return Err(ProtocolError::UnknownType(other)),
        };
        Ok(item.map(Item::Frame))
    }

    /// The offset of the `\r` ending the line at the front of `buf`.
    fn line_end(&mut self, buf: &[u8], max_len: usize) -> Result<Option<usize>, ProtocolError> {
        find_crlf(buf, 0, max_len, &mut self.scanned).map_err(|fault| match fault {
            LineFault::TooLong => ProtocolError::TooBigLine,
            LineFault::BareCr => ProtocolError::ExpectedCrlf,
        })
    }

    /// Splits off a `+`, `-` or `(` line and gives its text.
    fn read_text(
        &mut self,
        limits: &Limits,
        buf: &mut BytesMut,
    ) -> Result<Option<Bytes>, ProtocolError> {
        // The text may be as long as a bulk string, plus its type byte.
        let Some(cr) = self.line_end(buf, limits.max_bulk_len.saturating_add(1))? else {
            return Ok(None);
        };
        let text = buf.split_to(cr).freeze().slice(1..);
        buf.advance(2);
        Ok(Some(text))
    }

    /// Reads a `:`, `,`, `#` or `_` line.
    fn read_scalar(
        &mut self,
        limits: &Limits,
        buf: &mut BytesMut,
    ) -> Result<Option<Frame>, ProtocolError> {
        let Some(cr) = self.line_end(buf, limits.max_inline_len)? else {
            return Ok(None);
        };
        let text = &buf[1..cr];
        let frame = match buf[0] {
            b':' => Frame::Integer(parse_int(text).ok_or(ProtocolError::InvalidInteger)?),
            b',' => Frame::Double(parse_double(text).ok_or(ProtocolError::InvalidDouble)?),
            b'#' => match text {
                b"t" => Frame::Boolean(true),
                b"f" => Frame::Boolean(false),
                _ => return Err(ProtocolError::InvalidBoolean),
            },
            _ if text.is_empty() => Frame::Null,
            _ => return Err(ProtocolError::InvalidNull),
        };
        buf.advance(cr + 2);
        Ok(Some(frame))
    }

    /// Reads a length-prefixed `$`, `!` (blob error) or `=` (verbatim) string.
    fn read_blob(
        &mut self,
        limits: &Limits,
        buf: &mut BytesMut,
    ) -> Result<Option<Item>, ProtocolError> {
        let Some(cr) = self.line_end(buf, limits.max_inline_len)? else {
            return Ok(None);
        };
        let kind = buf[0];
        let len = match parse_int(&buf[1..cr]) {
            Some(-1) if kind == b'$' => {
                buf.advance(cr + 2);
                return Ok(Some(Item::Frame(Frame::Null)));
            }
            Some(n) if (0..=limit_i64(limits.max_bulk_len)).contains(&n) => n as usize,
            _ => return Err(ProtocolError::InvalidBulkLength),
        };
        let end = cr + 2 + len;
        match buf.get(end..end + 2) {
            None => return Ok(None),
            Some(b"\r\n") => {}
            Some(_) => return Err(ProtocolError::ExpectedCrlf),
        }
        buf.advance(cr + 2);
        let data = buf.split_to(len).freeze();
        buf.advance(2);
        let frame = match kind {
            b'$' => Frame::Bulk(data),
            b'!' => Frame::Error(data),
            _ => verbatim(data)?,
        };
        Ok(Some(Item::Frame(frame)))
    }

    /// Reads the `*N`, `~N`, `>N`, `%N` or `|N` line opening an aggregate.
    fn read_header(
        &mut self,
        limits: &Limits,
        buf: &mut BytesMut,
    ) -> Result<Option<Item>, ProtocolError> {
        let Some(cr) = self.line_end(buf, limits.max_inline_len)? else {
            return Ok(None);
        };
        let kind = match buf[0] {
            b'*' => Aggregate::Array,
            b'~' => Aggregate::Set,
            b'>' => Aggregate::Push,
            b'%' => Aggregate::Map,
            _ => Aggregate::Attribute,
        };
        let item = match parse_int(&buf[1..cr]) {
            Some(-1) if kind == Aggregate::Array => Item::Frame(Frame::NullArray),
            Some(n) if (0..=limit_i64(limits.max_multibulk_len)).contains(&n) => {
                Item::Open(kind, n as usize)
            }
            _ => return Err(ProtocolError::InvalidMultibulkLength),
        };
        buf.advance(cr + 2);
        Ok(Some(item))
    }
}

impl Level {
    /// The frame a completed level stands for; `None` for an attribute.
    fn into_frame(self) -> Option<Frame> {
        Some(match self.kind {
            Aggregate::Array => Frame::Array(self.items),
            Aggregate::Set => Frame::Set(self.items),
            Aggregate::Push => Frame::Push(self.items),
            Aggregate::Map => Frame::Map(pairs(self.items)),
            Aggregate::Attribute => return None,
        })
    }
}

/// Groups a map's elements into key/value pairs.
fn pairs(items: Vec<Frame>) -> Vec<(Frame, Frame)> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut items = items.into_iter();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        out.push((key, value));
    }
    out
}

/// A double's text: a decimal or exponent form, `inf`, `-inf` or `nan`.
fn parse_double(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// A big number's text: an optional sign, then one or more digits.
fn big_number(text: Bytes) -> Result<Frame, ProtocolError> {
    let digits = text
        .strip_prefix(b"-")
        .or_else(|| text.strip_prefix(b"+"))
        .unwrap_or(&text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ProtocolError::InvalidBigNumber);
    }
    Ok(Frame::BigNumber(text))
}

/// A verbatim string's payload: a three-byte format, `:`, then the text.
fn verbatim(data: Bytes) -> Result<Frame, ProtocolError> {
    match data.get(..4) {
        Some(&[a, b, c, b':']) => Ok(Frame::Verbatim {
            format: [a, b, c],
            text: data.slice(4..),
        }),
        _ => Err(ProtocolError::InvalidVerbatim),
    }
}

#[cfg(test)]
mod tests;
