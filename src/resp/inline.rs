//! Inline commands: a request typed as one line, as telnet or `nc` sends it.
//!
//! The line ends at `\n` (a `\r` before it is dropped) and splits on
//! whitespace with Redis's quoting rules, learnt from redis-server 7:
//!
//! - `"…"` takes the escapes `\n \r \t \b \a`, `\xHH` (two hex digits, either
//!   case) and `\<c>` for any other `c`, which stands for `c` itself;
//! - `'…'` takes only `\'`; every other byte, backslashes too, is literal;
//! - a closing quote must be followed by whitespace or the end of the line,
//!   and an unclosed quote is an error ("unbalanced quotes in request");
//! - a quote inside an unquoted word opens a quoted part of that same word
//!   (`a"b c"` is one argument, `ab c`).
//!
//! Arguments with nothing to unescape are slices of the request's bytes. Redis
//! reads the line as a C string and stalls on a NUL byte; here NUL is an
//! ordinary byte.

use super::decode::{find_byte, Limits};
use super::request::Request;
use super::ProtocolError;
use bytes::{Bytes, BytesMut};
use std::ops::Range;

/// What the line at the front of the buffer held.
#[derive(Debug)]
pub(super) enum Inline {
    /// The line has not fully arrived.
    Incomplete,
    /// A line with no arguments, now dropped from the buffer.
    Blank,
    /// A command, now split off the buffer.
    Request(Request),
}

/// Reads the inline command at the front of `buf`; `scanned` carries the
/// newline search across calls.
pub(super) fn decode_inline(
    buf: &mut BytesMut,
    limits: &Limits,
    scanned: &mut usize,
) -> Result<Inline, ProtocolError> {
    // The line may be max_inline_len long, plus `\r\n`.
    let window = limits.max_inline_len.saturating_add(2);
    let newline = match find_byte(buf, 0, window, b'\n', scanned) {
        Ok(Some(at)) => at,
        Ok(None) => return Ok(Inline::Incomplete),
        Err(_) => return Err(ProtocolError::TooBigInline),
    };
    let end = if newline > 0 && buf[newline - 1] == b'\r' {
        newline - 1
    } else {
        newline
    };
    if end > limits.max_inline_len {
        return Err(ProtocolError::TooBigInline);
    }
    let words = split_words(&buf[..end])?;
    let raw = buf.split_to(newline + 1).freeze();
    *scanned = 0;
    if words.is_empty() {
        return Ok(Inline::Blank);
    }
    let args = words.into_iter().map(|w| w.into_bytes(&raw)).collect();
    Ok(Inline::Request(Request {
        raw,
        args,
        inline: true,
    }))
}

/// One argument being read: a range of the line while it is a plain run of
/// its bytes, an unescaped copy once it is not.
#[derive(Debug)]
enum Word {
    Slice(Range<usize>),
    Owned(Vec<u8>),
}

impl Word {
    /// Appends the line's byte at `at`, as is.
    fn push_source(&mut self, line: &[u8], at: usize) {
        match self {
            Word::Slice(r) if r.end == at => r.end += 1,
            Word::Slice(r) if r.start == r.end => *r = at..at + 1,
            Word::Slice(_) => self.push_byte(line, line[at]),
            Word::Owned(v) => v.push(line[at]),
        }
    }

    /// Appends a byte that is not where the line has it (an escape, or a byte
    /// after a quote that joined two runs).
    fn push_byte(&mut self, line: &[u8], byte: u8) {
        if let Word::Slice(r) = self {
            *self = Word::Owned(line[r.clone()].to_vec());
        }
        if let Word::Owned(v) = self {
            v.push(byte);
        }
    }

    fn into_bytes(self, raw: &Bytes) -> Bytes {
        match self {
            Word::Slice(r) => raw.slice(r),
            Word::Owned(v) => Bytes::from(v),
        }
    }
}

/// C's `isspace`: what separates arguments and may follow a closing quote.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// Splits a line into its arguments.
fn split_words(line: &[u8]) -> Result<Vec<Word>, ProtocolError> {
    let mut words = Vec::new();
    let mut at = 0;
    loop {
        while line.get(at).is_some_and(|&b| is_space(b)) {
            at += 1;
        }
        if at == line.len() {
            return Ok(words);
        }
        let (word, next) = read_word(line, at)?;
        words.push(word);
        at = next;
    }
}

/// Reads the word starting at `at`; gives it and the offset after it.
fn read_word(line: &[u8], mut at: usize) -> Result<(Word, usize), ProtocolError> {
    let mut word = Word::Slice(at..at);
    loop {
        match line.get(at) {
            // Vertical tab and form feed do not end an unquoted word (Redis).
            None | Some(b' ' | b'\t' | b'\n' | b'\r') => return Ok((word, at)),
            Some(b'"') => return read_double_quoted(line, at + 1, word),
            Some(b'\'') => return read_single_quoted(line, at + 1, word),
            Some(_) => {
                word.push_source(line, at);
                at += 1;
            }
        }
    }
}

/// Reads a `"…"` part from just after its opening quote to the word's end.
fn read_double_quoted(
    line: &[u8],
    mut at: usize,
    mut word: Word,
) -> Result<(Word, usize), ProtocolError> {
    loop {
        match line.get(at) {
            None => return Err(ProtocolError::UnbalancedQuotes),
            Some(b'"') => return close_quote(line, at + 1, word),
            Some(b'\\') if at + 1 < line.len() => {
                let (byte, len) = unescape(&line[at + 1..]);
                word.push_byte(line, byte);
                at += 1 + len;
            }
            Some(_) => {
                word.push_source(line, at);
                at += 1;
            }
        }
    }
}

/// The byte an escape stands for, given the bytes after its backslash (at
/// least one), and how many of them it used.
fn unescape(after: &[u8]) -> (u8, usize) {
    if let [b'x', hi, lo, ..] = after {
        if let (Some(hi), Some(lo)) = (hex_value(*hi), hex_value(*lo)) {
            return (hi << 4 | lo, 3);
        }
    }
    let byte = match after[0] {
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'b' => b'\x08',
        b'a' => b'\x07',
        other => other,
    };
    (byte, 1)
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

/// Reads a `'…'` part from just after its opening quote to the word's end.
fn read_single_quoted(
    line: &[u8],
    mut at: usize,
    mut word: Word,
) -> Result<(Word, usize), ProtocolError> {
    loop {
        match line.get(at) {
            None => return Err(ProtocolError::UnbalancedQuotes),
            Some(b'\\') if line.get(at + 1) == Some(&b'\'') => {
                word.push_byte(line, b'\'');
                at += 2;
            }
            Some(b'\'') => return close_quote(line, at + 1, word),
            Some(_) => {
                word.push_source(line, at);
                at += 1;
            }
        }
    }
}

/// Ends a word at a closing quote, which must be followed by whitespace or
/// the end of the line.
fn close_quote(line: &[u8], after: usize, word: Word) -> Result<(Word, usize), ProtocolError> {
    match line.get(after) {
        Some(&b) if !is_space(b) => Err(ProtocolError::UnbalancedQuotes),
        _ => Ok((word, after)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::Decoder;

    fn args(line: &[u8]) -> Result<Vec<Vec<u8>>, ProtocolError> {
        let mut buf = BytesMut::from(line);
        let mut decoder = Decoder::default();
        let request = decoder.decode_request(&mut buf)?.expect("a complete line");
        assert!(request.inline);
        assert!(buf.is_empty());
        Ok(request.args.iter().map(|a| a.to_vec()).collect())
    }

    fn words(list: &[&[u8]]) -> Vec<Vec<u8>> {
        list.iter().map(|w| w.to_vec()).collect()
    }

    #[test]
    fn quoting_follows_redis() {
        let cases: [(&[u8], &[&[u8]]); 17] = [
            (b"PING\r\n", &[b"PING"]),
            (b"SET k v\n", &[b"SET", b"k", b"v"]),
            (b"  ECHO   x  \r\n", &[b"ECHO", b"x"]),
            (b"ECHO a\tb\r\n", &[b"ECHO", b"a", b"b"]),
            (b"ECHO a\rb\r\n", &[b"ECHO", b"a", b"b"]),
            (b"ECHO a\x0bb\r\n", &[b"ECHO", b"a\x0bb"]),
            (b"ECHO \"a b\"\r\n", &[b"ECHO", b"a b"]),
            (b"ECHO \"\\x41\\x4g\\n\"\r\n", &[b"ECHO", b"Ax4g\n"]),
            (b"ECHO \"\\xfF\\X41\"\r\n", &[b"ECHO", b"\xffX41"]),
            (
                b"ECHO \"\\q\\t\\b\\a\\r\"\r\n",
                &[b"ECHO", b"q\t\x08\x07\r"],
            ),
            (b"ECHO \"a\\\"b\"\r\n", &[b"ECHO", b"a\"b"]),
            (b"ECHO 'it\\'s \\n'\r\n", &[b"ECHO", b"it's \\n"]),
            (b"ECHO 'a\\\\b'\r\n", &[b"ECHO", b"a\\\\b"]),
            (b"ECHO \"\" ''\r\n", &[b"ECHO", b"", b""]),
            (b"ECHO a\"b c\"\r\n", &[b"ECHO", b"ab c"]),
            (b"ECHO \"a\"\t\x0b\r\n", &[b"ECHO", b"a"]),
            (b"ECHO a\x00b\r\n", &[b"ECHO", b"a\x00b"]),
        ];
        for (line, want) in cases {
            assert_eq!(
                args(line),
                Ok(words(want)),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn unbalanced_quotes_are_errors() {
        let cases: [&[u8]; 7] = [
            b"ECHO \"a\"b\r\n",
            b"ECHO 'a'b\r\n",
            b"ECHO \"a\r\n",
            b"ECHO 'x\r\n",
            b"ECHO \"a\\\"\r\n",
            b"ECHO \"abc\\\r\n",
            b"\"\r\n",
        ];
        for line in cases {
            assert_eq!(
                args(line),
                Err(ProtocolError::UnbalancedQuotes),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn plain_words_are_slices_of_the_raw_line() {
        let mut buf = BytesMut::from(&b"SET \"key\" va\\lue \"a\\nb\"\r\n"[..]);
        let request = Decoder::default()
            .decode_request(&mut buf)
            .unwrap()
            .unwrap();
        let inside = |b: &Bytes| request.raw.as_ptr_range().contains(&b.as_ptr());
        assert!(inside(&request.args[0]) && inside(&request.args[1]) && inside(&request.args[2]));
        assert_eq!(&request.args[2][..], b"va\\lue");
        assert_eq!(&request.args[3][..], b"a\nb");
        assert!(!inside(&request.args[3]), "an unescaped copy");
    }

    #[test]
    fn blank_lines_are_skipped() {
        let mut buf = BytesMut::from(&b"\r\n   \n\t\r\nPING\r\n"[..]);
        let request = Decoder::default()
            .decode_request(&mut buf)
            .unwrap()
            .unwrap();
        assert_eq!(request.args, vec![Bytes::from_static(b"PING")]);
        assert_eq!(&request.raw[..], b"PING\r\n");
    }

    #[test]
    fn to_resp_encodes_the_unescaped_args() {
        let mut buf = BytesMut::from(&b"SET \"a b\" ''\r\n"[..]);
        let request = Decoder::default()
            .decode_request(&mut buf)
            .unwrap()
            .unwrap();
        assert_eq!(
            &request.to_resp()[..],
            b"*3\r\n$3\r\nSET\r\n$3\r\na b\r\n$0\r\n\r\n"
        );
    }
}
