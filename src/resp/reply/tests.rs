//! Unit tests of the reply decoder: every kind, every split, every error.

use super::*;
use crate::resp::Decoder;

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn decode(input: &[u8]) -> Result<Option<Frame>, ProtocolError> {
    Decoder::default().decode(&mut BytesMut::from(input))
}

/// Wire bytes and the frame they decode to, one of every kind.
fn table() -> Vec<(&'static [u8], Frame)> {
    vec![
        (b"+OK\r\n", Frame::ok()),
        (b"-ERR no\r\n", Frame::error("ERR no")),
        (b"!7\r\nERR a\r\n\r\n", Frame::error("ERR a\r\n")),
        (b":-7\r\n", Frame::Integer(-7)),
        (b"$5\r\na\r\nbc\r\n", Frame::bulk("a\r\nbc")),
        (b"$0\r\n\r\n", Frame::bulk("")),
        (b"$-1\r\n", Frame::Null),
        (b"_\r\n", Frame::Null),
        (b"*-1\r\n", Frame::NullArray),
        (b"*0\r\n", Frame::Array(vec![])),
        (b",1.5\r\n", Frame::Double(1.5)),
        (b",-inf\r\n", Frame::Double(f64::NEG_INFINITY)),
        (b",1e+21\r\n", Frame::Double(1e21)),
        (b"#t\r\n", Frame::Boolean(true)),
        (b"#f\r\n", Frame::Boolean(false)),
        (
            b"(-1234567890123456789012\r\n",
            Frame::BigNumber(b("-1234567890123456789012")),
        ),
        (
            b"=8\r\ntxt:a\r\nb\r\n",
            Frame::Verbatim {
                format: *b"txt",
                text: b("a\r\nb"),
            },
        ),
        (
            b"~2\r\n:1\r\n+a\r\n",
            Frame::Set(vec![Frame::Integer(1), Frame::simple("a")]),
        ),
        (
            b">2\r\n$1\r\nx\r\n_\r\n",
            Frame::Push(vec![Frame::bulk("x"), Frame::Null]),
        ),
        (
            b"%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n%0\r\n",
            Frame::Map(vec![
                (Frame::simple("a"), Frame::Integer(1)),
                (Frame::simple("b"), Frame::Array(vec![Frame::Map(vec![])])),
            ]),
        ),
        (
            b"*3\r\n*2\r\n:1\r\n*1\r\n:2\r\n:3\r\n~0\r\n",
            Frame::Array(vec![
                Frame::Array(vec![
                    Frame::Integer(1),
                    Frame::Array(vec![Frame::Integer(2)]),
                ]),
                Frame::Integer(3),
                Frame::Set(vec![]),
            ]),
        ),
        // Attributes describe the value after them and are dropped.
        (b"|1\r\n+ttl\r\n:3\r\n:42\r\n", Frame::Integer(42)),
        (
            b"*2\r\n|1\r\n+a\r\n*1\r\n:0\r\n+x\r\n+y\r\n",
            Frame::Array(vec![Frame::simple("x"), Frame::simple("y")]),
        ),
        (b"|0\r\n_\r\n", Frame::Null),
    ]
}

#[test]
fn every_kind_decodes() {
    for (input, want) in table() {
        let mut buf = BytesMut::from(input);
        assert_eq!(
            Decoder::default().decode(&mut buf),
            Ok(Some(want)),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert!(buf.is_empty());
    }
}

#[test]
fn a_stream_of_replies_decodes_the_same_at_every_split() {
    let (inputs, want): (Vec<&[u8]>, Vec<Frame>) = table().into_iter().unzip();
    let stream = inputs.concat();
    for split in 0..=stream.len() {
        let mut decoder = Decoder::default();
        let mut buf = BytesMut::from(&stream[..split]);
        let mut got = Vec::new();
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            got.push(frame);
        }
        buf.extend_from_slice(&stream[split..]);
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            got.push(frame);
        }
        assert_eq!(got, want, "split at {split}");
    }
}

#[test]
fn malformed_replies_are_errors() {
    use ProtocolError::*;
    let cases: [(&[u8], ProtocolError); 20] = [
        (b"?\r\n", UnknownType(b'?')),
        (b"*1\r\nx", UnknownType(b'x')),
        (b":1.5\r\n", InvalidInteger),
        (b":\r\n", InvalidInteger),
        (b",abc\r\n", InvalidDouble),
        (b"#x\r\n", InvalidBoolean),
        (b"#\r\n", InvalidBoolean),
        (b"_x\r\n", InvalidNull),
        (b"(12a\r\n", InvalidBigNumber),
        (b"(-\r\n", InvalidBigNumber),
        (b"=3\r\ntxt\r\n", InvalidVerbatim),
        (b"=5\r\ntxt-a\r\n", InvalidVerbatim),
        (b"$-2\r\n", InvalidBulkLength),
        (b"!-1\r\n", InvalidBulkLength),
        (b"$?\r\n", InvalidBulkLength),
        (b"%-1\r\n", InvalidMultibulkLength),
        (b"*x\r\n", InvalidMultibulkLength),
        (b"$1\r\nab\r\n", ExpectedCrlf),
        (b"+OK\rX", ExpectedCrlf),
        (b"*1\r\n*1\r\n*1\r\n*0\r\n", TooDeep(2)),
    ];
    let limits = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    for (input, want) in cases {
        let got = Decoder::new(limits.clone()).decode(&mut BytesMut::from(input));
        assert_eq!(got, Err(want), "{:?}", String::from_utf8_lossy(input));
    }
    assert!(
        decode(b"*1\r\n*1\r\n*0\r\n").unwrap().is_some(),
        "depth 128 by default"
    );
}

#[test]
fn declared_sizes_are_not_allocated() {
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::from(&b"*1000000\r\n"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert_eq!(decoder.reserved(), 0);
    buf.extend_from_slice(b":1\r\n:2\r\n%1000000\r\n");
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert!(decoder.reserved() <= 8, "reserved {}", decoder.reserved());

    let mut decoder = Decoder::default();
    let mut buf = BytesMut::from(&b"$536870912\r\n0123456789"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert!(decoder.reserved() == 0 && buf.capacity() < 1024);
    assert_eq!(
        decode(b"$536870913\r\n"),
        Err(ProtocolError::InvalidBulkLength)
    );
    assert_eq!(
        decode(b"*2147483648\r\n"),
        Err(ProtocolError::InvalidMultibulkLength)
    );
}

#[test]
fn limits_are_configurable() {
    use ProtocolError::*;
    let limits = Limits {
        max_bulk_len: 4,
        max_multibulk_len: 2,
        max_inline_len: 8,
        max_depth: 1,
    };
    let decode = |input: &[u8]| Decoder::new(limits.clone()).decode(&mut BytesMut::from(input));
    assert!(decode(b"*2\r\n$4\r\nabcd\r\n+abcd\r\n").unwrap().is_some());
    assert_eq!(decode(b"$5\r\n"), Err(InvalidBulkLength));
    assert_eq!(decode(b"~3\r\n"), Err(InvalidMultibulkLength));
    assert_eq!(decode(b"+abcde\r\n"), Err(TooBigLine));
    assert_eq!(decode(b":12345678\r\n"), Err(TooBigLine));
    assert_eq!(decode(b"*1\r\n*1\r\n"), Err(TooDeep(1)));
}
