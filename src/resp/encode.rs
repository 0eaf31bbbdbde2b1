//! Encoding frames for the protocol a connection speaks.
//!
//! RESP3 connections get every kind natively (`_` for both nulls). RESP2
//! connections get RESP3-only kinds downgraded as Redis downgrades them: maps
//! flatten to arrays of 2N elements, sets and pushes become arrays, doubles
//! bulk strings (Redis's text, see [`format_double`](super::format_double)),
//! booleans the integers 1 and 0, big numbers and verbatim text bulk strings.
//!
//! Everything is written straight into the output buffer; numbers go through
//! `itoa`, never through an intermediate `String`.

use super::double::DoubleText;
use super::{Frame, Protocol};
use bytes::{BufMut, BytesMut};

/// Appends `frame` to `out` as `proto` spells it.
///
/// A `\r` or `\n` inside a simple string or error would end the line early
/// and desynchronise the peer, so each is written as a space (Redis does the
/// same for error texts).
pub fn encode(frame: &Frame, proto: Protocol, out: &mut BytesMut) {
    let resp3 = proto == Protocol::Resp3;
    match frame {
        Frame::Simple(text) => write_line(b'+', text, out),
        Frame::Error(text) => write_line(b'-', text, out),
        Frame::Integer(n) => write_integer(*n, out),
        Frame::Bulk(data) => write_bulk(data, out),
        Frame::Null | Frame::NullArray if resp3 => out.put_slice(b"_\r\n"),
        Frame::Null => out.put_slice(b"$-1\r\n"),
        Frame::NullArray => out.put_slice(b"*-1\r\n"),
        Frame::Array(items) => write_items(b'*', items, proto, out),
        Frame::Set(items) => write_items(if resp3 { b'~' } else { b'*' }, items, proto, out),
        Frame::Push(items) => write_items(if resp3 { b'>' } else { b'*' }, items, proto, out),
        Frame::Map(pairs) => write_map(pairs, proto, out),
        Frame::Double(v) => {
            let text = DoubleText::new(*v);
            if resp3 {
                write_line(b',', text.as_bytes(), out);
            } else {
                write_bulk(text.as_bytes(), out);
            }
        }
        Frame::Boolean(b) => out.put_slice(match (resp3, b) {
            (true, true) => b"#t\r\n",
            (true, false) => b"#f\r\n",
            (false, true) => b":1\r\n",
            (false, false) => b":0\r\n",
        }),
        Frame::BigNumber(digits) if resp3 => write_line(b'(', digits, out),
        Frame::BigNumber(digits) => write_bulk(digits, out),
        Frame::Verbatim { format, text } if resp3 => write_verbatim(format, text, out),
        Frame::Verbatim { text, .. } => write_bulk(text, out),
    }
}

/// Writes `<prefix><n>\r\n`: an aggregate or bulk header.
pub(crate) fn write_header(prefix: u8, n: u64, out: &mut BytesMut) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n).as_bytes();
    // Assembled on the stack so the buffer sees one copy, not three.
    let mut head = [0u8; 24];
    head[0] = prefix;
    head[1..1 + digits.len()].copy_from_slice(digits);
    head[1 + digits.len()..3 + digits.len()].copy_from_slice(b"\r\n");
    out.put_slice(&head[..3 + digits.len()]);
}

/// Writes `$<len>\r\n<data>\r\n`.
pub(crate) fn write_bulk(data: &[u8], out: &mut BytesMut) {
    out.reserve(data.len() + 16);
    write_header(b'$', data.len() as u64, out);
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

fn write_integer(n: i64, out: &mut BytesMut) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n).as_bytes();
    out.reserve(digits.len() + 3);
    out.put_u8(b':');
    out.put_slice(digits);
    out.put_slice(b"\r\n");
}

/// Writes `<prefix><text>\r\n`, with any `\r` or `\n` in `text` as a space.
fn write_line(prefix: u8, text: &[u8], out: &mut BytesMut) {
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    if memchr::memchr2(b'\r', b'\n', text).is_none() {
        out.put_slice(text);
    } else {
        out.extend(
            text.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
    }
    out.put_slice(b"\r\n");
}

fn write_items(prefix: u8, items: &[Frame], proto: Protocol, out: &mut BytesMut) {
    write_header(prefix, items.len() as u64, out);
    for item in items {
        encode(item, proto, out);
    }
}

fn write_map(pairs: &[(Frame, Frame)], proto: Protocol, out: &mut BytesMut) {
    match proto {
        Protocol::Resp3 => write_header(b'%', pairs.len() as u64, out),
        Protocol::Resp2 => write_header(b'*', 2 * pairs.len() as u64, out),
    }
    for (key, value) in pairs {
        encode(key, proto, out);
        encode(value, proto, out);
    }
}

/// Writes `=<len>\r\n<fmt>:<text>\r\n`.
fn write_verbatim(format: &[u8; 3], text: &[u8], out: &mut BytesMut) {
    out.reserve(text.len() + 20);
    write_header(b'=', text.len() as u64 + 4, out);
    out.put_slice(format);
    out.put_u8(b':');
    out.put_slice(text);
    out.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn encoded(frame: &Frame, proto: Protocol) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(frame, proto, &mut out);
        out.to_vec()
    }

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    /// Every kind, with its RESP2 and RESP3 bytes.
    fn table() -> Vec<(Frame, &'static [u8], &'static [u8])> {
        vec![
            (Frame::ok(), b"+OK\r\n", b"+OK\r\n"),
            (Frame::error("ERR bad"), b"-ERR bad\r\n", b"-ERR bad\r\n"),
            (Frame::Integer(-42), b":-42\r\n", b":-42\r\n"),
            (
                Frame::Integer(i64::MIN),
                b":-9223372036854775808\r\n",
                b":-9223372036854775808\r\n",
            ),
            (Frame::bulk("foo"), b"$3\r\nfoo\r\n", b"$3\r\nfoo\r\n"),
            (Frame::bulk(""), b"$0\r\n\r\n", b"$0\r\n\r\n"),
            (Frame::Null, b"$-1\r\n", b"_\r\n"),
            (Frame::NullArray, b"*-1\r\n", b"_\r\n"),
            (Frame::Array(vec![]), b"*0\r\n", b"*0\r\n"),
            (
                Frame::Array(vec![
                    Frame::Integer(1),
                    Frame::Array(vec![Frame::bulk("a"), Frame::Null]),
                ]),
                b"*2\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n",
                b"*2\r\n:1\r\n*2\r\n$1\r\na\r\n_\r\n",
            ),
            (
                Frame::Map(vec![
                    (Frame::bulk("k"), Frame::Integer(1)),
                    (Frame::simple("s"), Frame::Boolean(true)),
                ]),
                b"*4\r\n$1\r\nk\r\n:1\r\n+s\r\n:1\r\n",
                b"%2\r\n$1\r\nk\r\n:1\r\n+s\r\n#t\r\n",
            ),
            (
                Frame::Set(vec![Frame::bulk("x")]),
                b"*1\r\n$1\r\nx\r\n",
                b"~1\r\n$1\r\nx\r\n",
            ),
            (Frame::Double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n"),
            (Frame::Double(1e21), b"$5\r\n1e+21\r\n", b",1e+21\r\n"),
            (
                Frame::Double(f64::NEG_INFINITY),
                b"$4\r\n-inf\r\n",
                b",-inf\r\n",
            ),
            (Frame::Boolean(true), b":1\r\n", b"#t\r\n"),
            (Frame::Boolean(false), b":0\r\n", b"#f\r\n"),
            (
                Frame::BigNumber(b("-12345678901234567890")),
                b"$21\r\n-12345678901234567890\r\n",
                b"(-12345678901234567890\r\n",
            ),
            (
                Frame::Verbatim {
                    format: *b"txt",
                    text: b("Some string"),
                },
                b"$11\r\nSome string\r\n",
                b"=15\r\ntxt:Some string\r\n",
            ),
            (
                Frame::Push(vec![
                    Frame::bulk("message"),
                    Frame::bulk("ch"),
                    Frame::bulk("hi"),
                ]),
                b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
                b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            ),
        ]
    }

    #[test]
    fn every_kind_in_both_protocols() {
        for (frame, resp2, resp3) in table() {
            assert_eq!(encoded(&frame, Protocol::Resp2), resp2, "RESP2 {frame:?}");
            assert_eq!(encoded(&frame, Protocol::Resp3), resp3, "RESP3 {frame:?}");
        }
    }

    #[test]
    fn line_breaks_in_simple_strings_become_spaces() {
        assert_eq!(
            encoded(&Frame::error("ERR a\r\nb"), Protocol::Resp2),
            b"-ERR a  b\r\n"
        );
        assert_eq!(
            encoded(&Frame::simple("x\ny"), Protocol::Resp3),
            b"+x y\r\n"
        );
    }

    #[test]
    fn appends_after_what_is_there() {
        let mut out = BytesMut::from(&b"+A\r\n"[..]);
        encode(&Frame::Integer(7), Protocol::Resp2, &mut out);
        assert_eq!(&out[..], b"+A\r\n:7\r\n");
    }
}
