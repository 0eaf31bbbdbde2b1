//! Client requests: the [`Request`] type and the multibulk half of
//! [`Decoder::decode_request`](super::Decoder::decode_request).
//!
//! A request is parsed in place: the state remembers offsets into the read
//! buffer (which starts at the request's first byte until it completes), so a
//! request that arrives over many reads resumes where the last read ended. On
//! completion the request's bytes are split off the buffer once and every
//! argument is a slice of them.

use super::decode::{find_crlf, limit_i64, parse_int, Limits, LineFault};
use super::encode::{write_bulk, write_header};
use super::inline::{decode_inline, Inline};
use super::ProtocolError;
use bytes::{Buf, Bytes, BytesMut};
use std::ops::Range;

/// The smallest encoding of one argument, `$0\r\n\r\n`: no more arguments
/// than bytes / this can have arrived, whatever count was declared.
const MIN_ARG_LEN: usize = 6;

/// Offsets kept between requests for reuse; a giant request's are dropped.
const RETAINED_RANGES: usize = 1024;

/// One client command, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The exact bytes of this request as received, line ending included.
    pub raw: Bytes,
    /// The arguments, command name first. Slices of `raw`, except inline
    /// arguments spelled with escapes or adjacent quotes, which are unescaped
    /// copies.
    pub args: Vec<Bytes>,
    /// True if the request was an inline command line, not a multibulk.
    pub inline: bool,
}

impl Request {
    /// The request as a multibulk of bulk strings: `raw` itself for a
    /// multibulk request, a fresh encoding of `args` for an inline one (for
    /// forwarding to a backend that must not see inline syntax).
    pub fn to_resp(&self) -> Bytes {
        if !self.inline {
            return self.raw.clone();
        }
        let body: usize = self.args.iter().map(|a| a.len() + 16).sum();
        let mut out = BytesMut::with_capacity(body + 16);
        write_header(b'*', self.args.len() as u64, &mut out);
        for arg in &self.args {
            write_bulk(arg, &mut out);
        }
        out.freeze()
    }
}

/// Progress through the request at the front of the buffer.
#[derive(Debug, Default)]
pub(super) struct RequestState {
    /// Bytes of the current request already parsed; 0 when between requests.
    pos: usize,
    /// Arguments of the open multibulk still to read.
    remaining: usize,
    /// How far the current line search got, so a line is scanned once.
    scanned: usize,
    /// Where each argument read so far lies in the request.
    ranges: Vec<Range<usize>>,
}

impl RequestState {
    pub(super) fn reset(&mut self) {
        self.pos = 0;
        self.remaining = 0;
        self.scanned = 0;
        self.ranges.clear();
    }

    #[cfg(test)]
    pub(super) fn reserved(&self) -> usize {
        self.ranges.capacity()
    }

    /// See [`Decoder::decode_request`](super::Decoder::decode_request).
    pub(super) fn decode(
        &mut self,
        limits: &Limits,
        buf: &mut BytesMut,
    ) -> Result<Option<Request>, ProtocolError> {
        if self.pos > buf.len() {
            // Not the buffer we were reading: start over rather than misindex.
            self.reset();
        }
        loop {
            if self.pos == 0 {
                match buf.first() {
                    None => return Ok(None),
                    Some(b'*') => match self.read_count(limits, buf)? {
                        None => return Ok(None),
                        Some(0) => {
                            // `*0` and negative counts: Redis reads past them silently.
                            buf.advance(self.pos);
                            self.reset();
                            continue;
                        }
                        Some(n) => self.open(n, buf.len()),
                    },
                    Some(_) => match decode_inline(buf, limits, &mut self.scanned)? {
                        Inline::Incomplete => return Ok(None),
                        Inline::Blank => continue,
                        Inline::Request(request) => return Ok(Some(request)),
                    },
                }
            }
            while self.remaining > 0 {
                let Some(range) = self.read_bulk(limits, buf)? else {
                    return Ok(None);
                };
                self.ranges.push(range);
                self.remaining -= 1;
            }
            return Ok(Some(self.finish(buf)));
        }
    }

    /// Reads the `*N` line: the count, 0 for a count to skip, `None` if the
    /// line has not fully arrived.
    fn read_count(&mut self, limits: &Limits, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let cr = match find_crlf(buf, 0, limits.max_inline_len, &mut self.scanned) {
            Ok(Some(cr)) => cr,
            Ok(None) => return Ok(None),
            Err(LineFault::TooLong) => return Err(ProtocolError::TooBigMbulkCount),
            Err(LineFault::BareCr) => return Err(ProtocolError::InvalidMultibulkLength),
        };
        let count = parse_int(&buf[1..cr]).ok_or(ProtocolError::InvalidMultibulkLength)?;
        if count > limit_i64(limits.max_multibulk_len) {
            return Err(ProtocolError::InvalidMultibulkLength);
        }
        self.pos = cr + 2;
        // A count that fits the limit fits usize; negatives mean "skip".
        Ok(Some(usize::try_from(count).unwrap_or(0)))
    }

    /// Starts reading `count` arguments, reserving room for no more than
    /// could be in the `available` bytes already received.
    fn open(&mut self, count: usize, available: usize) {
        self.remaining = count;
        let arrived = available.saturating_sub(self.pos) / MIN_ARG_LEN;
        self.ranges.reserve(count.min(arrived));
    }

    /// Reads the next `$N\r\n<data>\r\n` argument; `None` until all of it is
    /// there (the header is read again then, which costs a few bytes).
    fn read_bulk(
        &mut self,
        limits: &Limits,
        buf: &[u8],
    ) -> Result<Option<Range<usize>>, ProtocolError> {
        let start = self.pos;
        match buf.get(start) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(&other) => return Err(ProtocolError::ExpectedDollar(other)),
        }
        let cr = match find_crlf(buf, start, limits.max_inline_len, &mut self.scanned) {
            Ok(Some(cr)) => cr,
            Ok(None) => return Ok(None),
            Err(LineFault::TooLong) => return Err(ProtocolError::TooBigBulkCount),
            Err(LineFault::BareCr) => return Err(ProtocolError::InvalidBulkLength),
        };
        let len = parse_int(&buf[start + 1..cr])
            .filter(|&n| (0..=limit_i64(limits.max_bulk_len)).contains(&n))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(ProtocolError::InvalidBulkLength)?;
        let data = cr + 2;
        let end = data + len;
        match buf.get(end..end + 2) {
            None => Ok(None),
            Some(b"\r\n") => {
                self.pos = end + 2;
                Ok(Some(data..end))
            }
            Some(_) => Err(ProtocolError::ExpectedCrlf),
        }
    }

    /// Splits the completed request off `buf` and slices its arguments.
    fn finish(&mut self, buf: &mut BytesMut) -> Request {
        let raw = buf.split_to(self.pos).freeze();
        let args = self.ranges.drain(..).map(|r| raw.slice(r)).collect();
        if self.ranges.capacity() > RETAINED_RANGES {
            self.ranges = Vec::new();
        }
        self.pos = 0;
        self.scanned = 0;
        Request {
            raw,
            args,
            inline: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::Decoder;

    /// Several requests of every shape, with the args each should give.
    const PIPELINE: &[u8] = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n\
        *0\r\n*-1\r\n\
        PING\r\n\r\n   \n\
        *2\r\n$4\r\nECHO\r\n$0\r\n\r\n\
        ECHO \"a b\" 'c'\n\
        *1\r\n$4\r\nPING\r\n";

    fn pipeline_args() -> Vec<Vec<&'static [u8]>> {
        vec![
            vec![b"SET", b"key", b"va\r\nl"],
            vec![b"PING"],
            vec![b"ECHO", b""],
            vec![b"ECHO", b"a b", b"c"],
            vec![b"PING"],
        ]
    }

    /// Feeds `input` in the given chunks, decoding after each, and returns
    /// every request's args.
    fn decode_chunked(input: &[u8], chunks: &[usize]) -> Vec<Vec<Vec<u8>>> {
        let mut decoder = Decoder::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut fed = 0;
        for &len in chunks.iter().chain(std::iter::once(&input.len())) {
            let end = (fed + len).min(input.len());
            buf.extend_from_slice(&input[fed..end]);
            fed = end;
            while let Some(request) = decoder.decode_request(&mut buf).unwrap() {
                out.push(request.args.iter().map(|a| a.to_vec()).collect());
            }
        }
        assert!(buf.is_empty(), "left over: {buf:?}");
        out
    }

    fn request(input: &[u8]) -> Result<Option<Request>, ProtocolError> {
        Decoder::default().decode_request(&mut BytesMut::from(input))
    }

    #[test]
    fn multibulk_args_are_slices_of_raw() {
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1"[..]);
        let request = Decoder::default()
            .decode_request(&mut buf)
            .unwrap()
            .unwrap();
        assert_eq!(&request.raw[..], b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        assert_eq!(
            request.args,
            vec![Bytes::from_static(b"GET"), Bytes::from_static(b"k")]
        );
        assert!(!request.inline);
        let raw = request.raw.as_ptr_range();
        assert!(request.args.iter().all(|a| raw.contains(&a.as_ptr())));
        assert_eq!(request.to_resp(), request.raw);
        assert_eq!(&buf[..], b"*1");
    }

    #[test]
    fn pipeline_gives_the_same_requests_at_every_split() {
        let want: Vec<Vec<Vec<u8>>> = pipeline_args()
            .iter()
            .map(|r| r.iter().map(|a| a.to_vec()).collect())
            .collect();
        assert_eq!(decode_chunked(PIPELINE, &[]), want, "whole");
        assert_eq!(
            decode_chunked(PIPELINE, &vec![1; PIPELINE.len()]),
            want,
            "byte by byte"
        );
        for split in 0..=PIPELINE.len() {
            assert_eq!(decode_chunked(PIPELINE, &[split]), want, "split at {split}");
        }
    }

    #[test]
    fn errors_are_worded_as_redis_words_them() {
        use ProtocolError::*;
        let long = |prefix: &[u8]| [prefix, &[b'1'; 65 * 1024][..]].concat();
        let cases: Vec<(Vec<u8>, ProtocolError)> = vec![
            (b"*abc\r\n".to_vec(), InvalidMultibulkLength),
            (b"*\r\n".to_vec(), InvalidMultibulkLength),
            (b"*-0\r\n".to_vec(), InvalidMultibulkLength),
            (b"*01\r\n".to_vec(), InvalidMultibulkLength),
            (b"*+1\r\n".to_vec(), InvalidMultibulkLength),
            (b"* 1\r\n".to_vec(), InvalidMultibulkLength),
            (b"*1 \r\n".to_vec(), InvalidMultibulkLength),
            (b"*1\rX".to_vec(), InvalidMultibulkLength),
            (b"*2147483648\r\n".to_vec(), InvalidMultibulkLength),
            (b"*1\r\n+foo\r\n".to_vec(), ExpectedDollar(b'+')),
            (b"*1\r\n\r\n".to_vec(), ExpectedDollar(b'\r')),
            (b"*2\r\n$1\r\na\r\n:1\r\n".to_vec(), ExpectedDollar(b':')),
            (b"*1\r\n$abc\r\n".to_vec(), InvalidBulkLength),
            (b"*1\r\n$\r\n".to_vec(), InvalidBulkLength),
            (b"*1\r\n$-1\r\n".to_vec(), InvalidBulkLength),
            (b"*1\r\n$-0\r\n".to_vec(), InvalidBulkLength),
            (b"*1\r\n$01\r\n".to_vec(), InvalidBulkLength),
            (b"*1\r\n$1 \r\n".to_vec(), InvalidBulkLength),
            (b"*1\r\n$536870913\r\n".to_vec(), InvalidBulkLength),
            (b"*1\r\n$3\r\nfooX\r\n".to_vec(), ExpectedCrlf),
            (long(b"A"), TooBigInline),
            (long(b"*"), TooBigMbulkCount),
            (long(b"*1\r\n$"), TooBigBulkCount),
            (b"SET \"a\r\n".to_vec(), UnbalancedQuotes),
        ];
        for (input, want) in cases {
            assert_eq!(
                request(&input),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&input[..input.len().min(20)])
            );
        }
    }

    #[test]
    fn declared_sizes_are_not_allocated() {
        let mut decoder = Decoder::default();
        let mut buf = BytesMut::from(&b"*2147483647\r\n"[..]);
        assert_eq!(decoder.decode_request(&mut buf), Ok(None));
        assert_eq!(decoder.reserved(), 0);
        buf.extend_from_slice(b"$3\r\nGET\r\n");
        assert_eq!(decoder.decode_request(&mut buf), Ok(None));
        assert!(decoder.reserved() <= 4, "reserved {}", decoder.reserved());

        let mut decoder = Decoder::default();
        let mut buf = BytesMut::from(&b"*1\r\n$536870912\r\n0123456789"[..]);
        assert_eq!(decoder.decode_request(&mut buf), Ok(None));
        assert!(decoder.reserved() <= 4 && buf.capacity() < 1024);
    }

    #[test]
    fn a_large_request_in_small_reads_resumes_where_it_stopped() {
        const ARGS: usize = 200_000;
        let mut input = format!("*{ARGS}\r\n").into_bytes();
        for i in 0..ARGS {
            let arg = i.to_string();
            input.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
        }
        let (mut state, limits) = (RequestState::default(), Limits::default());
        let mut buf = BytesMut::new();
        for chunk in input.chunks(4096) {
            buf.extend_from_slice(chunk);
            if let Some(request) = state.decode(&limits, &mut buf).unwrap() {
                assert_eq!(request.args.len(), ARGS);
                assert_eq!(&request.args[ARGS - 1][..], b"199999");
                return;
            }
            // Every complete argument is already read: only a partial one is left.
            assert!(buf.len() - state.pos < 20);
        }
        panic!("never completed");
    }

    #[test]
    fn limits_are_configurable() {
        use ProtocolError::*;
        let limits = Limits {
            max_bulk_len: 4,
            max_multibulk_len: 2,
            max_inline_len: 10,
            max_depth: 2,
        };
        let decode =
            |input: &[u8]| Decoder::new(limits.clone()).decode_request(&mut BytesMut::from(input));
        assert!(decode(b"*2\r\n$4\r\nabcd\r\n$0\r\n\r\n").unwrap().is_some());
        assert_eq!(decode(b"*3\r\n"), Err(InvalidMultibulkLength));
        assert_eq!(decode(b"*1\r\n$5\r\n"), Err(InvalidBulkLength));
        assert!(decode(b"0123456789\r\n").unwrap().is_some());
        assert_eq!(decode(b"0123456789A\r\n"), Err(TooBigInline));
        assert_eq!(decode(b"0123456789AB"), Err(TooBigInline));
        assert_eq!(decode(b"*0000000001"), Err(TooBigMbulkCount));
        assert_eq!(decode(b"*1\r\n$0000000001"), Err(TooBigBulkCount));
    }
}
