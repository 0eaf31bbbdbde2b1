//! Parsing command arguments the way Redis does (`string2ll`, `strtold`, options).

use bytes::Bytes;
use std::time::Duration;

use super::error::CmdError;

/// Parses an integer argument (`ERR value is not an integer or out of range`).
pub fn int(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Parses an integer argument that must be ≥ 0, with a custom error otherwise.
pub fn non_negative(arg: &[u8], err: &'static str) -> Result<i64, CmdError> {
    match int(arg)? {
        n if n < 0 => Err(CmdError::msg(err)),
        n => Ok(n),
    }
}

/// Parses a float argument (`ERR value is not a valid float`): Redis accepts what
/// strtold accepts, including "inf" and "-inf", but never NaN or trailing spaces.
pub fn float(arg: &[u8]) -> Result<f64, CmdError> {
    parse_f64(arg).ok_or(CmdError::NotFloat)
}

/// Integer parsing with Redis's rules: optional '-', no '+', no spaces, no leading
/// zeros except "0" itself, within i64.
pub fn parse_i64(arg: &[u8]) -> Option<i64> {
    if arg.is_empty() || arg.len() > 20 {
        return None;
    }
    let digits = arg.strip_prefix(b"-").unwrap_or(arg);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits[0] == b'0' && (digits.len() > 1 || digits.len() != arg.len()) {
        return None;
    }
    std::str::from_utf8(arg).ok()?.parse().ok()
}

/// Float parsing as Redis's `string2ld`: no spaces, no NaN.
pub fn parse_f64(arg: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(arg).ok()?;
    if text.is_empty()
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace)
    {
        return None;
    }
    let value: f64 = match text.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => text.parse().ok()?,
    };
    (!value.is_nan()).then_some(value)
}

/// A blocking command's timeout in seconds, as Redis 7.0 reads it (strtod: hex
/// and exponents accepted), rounded up to the millisecond; `None` = wait forever
/// (0, or a negative value that rounds to 0).
pub fn timeout(arg: &[u8]) -> Result<Option<Duration>, CmdError> {
    let secs = crate::engine::types::zset::parse_score(arg)
        .map_err(|_| CmdError::msg("ERR timeout is not a float or out of range"))?;
    let ms = (secs * 1000.0).ceil();
    // Also catches -inf and +inf; -0.0 (from -0.0001) passes as 0.
    if !(0.0..i64::MAX as f64).contains(&ms) {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    Ok((ms > 0.0).then(|| Duration::from_millis(ms as u64)))
}

/// The arguments LMPOP, ZMPOP and their blocking forms share:
/// `numkeys key [key ...] <direction> [COUNT count]` from `args[at..]`, with the
/// direction word read by `direction` (LEFT/RIGHT or MIN/MAX).
#[derive(Debug)]
pub struct Mpop<'a, E> {
    /// The keys, in the order they are tried.
    pub keys: &'a [Bytes],
    /// Which end to pop from.
    pub end: E,
    /// How many elements at most (default 1).
    pub count: usize,
}

impl<'a, E> Mpop<'a, E> {
    /// Parses with Redis's checks and texts, in Redis's order.
    pub fn parse(
        args: &'a [Bytes],
        at: usize,
        direction: impl Fn(&[u8]) -> Result<E, CmdError>,
    ) -> Result<Mpop<'a, E>, CmdError> {
        let numkeys = positive(&args[at], "ERR numkeys should be greater than 0")?;
        let first = at + 1;
        // The direction must follow the keys, so numkeys can't reach the last argument.
        if numkeys >= args.len() - first {
            return Err(CmdError::Syntax);
        }
        let mut rest = Args::new(args, first + numkeys);
        let end = direction(&rest.value()?[..])?;
        let mut count = None;
        while let Some(option) = rest.next() {
            if !is(option, "count") || count.is_some() {
                return Err(CmdError::Syntax);
            }
            count = Some(positive(
                rest.value()?,
                "ERR count should be greater than 0",
            )?);
        }
        Ok(Mpop {
            keys: &args[first..first + numkeys],
            end,
            count: count.unwrap_or(1),
        })
    }
}

/// A count that must be at least 1, with the command's own error otherwise.
fn positive(arg: &[u8], err: &'static str) -> Result<usize, CmdError> {
    match parse_i64(arg) {
        Some(n) if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(CmdError::msg(err)),
    }
}

/// Case-insensitive comparison of an argument with an option name.
pub fn is(arg: &[u8], name: &str) -> bool {
    arg.eq_ignore_ascii_case(name.as_bytes())
}

/// A cursor over arguments, for commands with trailing options.
#[derive(Debug)]
pub struct Args<'a> {
    args: &'a [Bytes],
    pos: usize,
}

impl<'a> Args<'a> {
    /// Starts after the first `skip` arguments (the command name and fixed ones).
    pub fn new(args: &'a [Bytes], skip: usize) -> Args<'a> {
        Args { args, pos: skip }
    }

    /// The next argument, if any.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<&'a Bytes> {
        let arg = self.args.get(self.pos)?;
        self.pos += 1;
        Some(arg)
    }

    /// The next argument, or a syntax error if there is none.
    pub fn value(&mut self) -> Result<&'a Bytes, CmdError> {
        self.next().ok_or(CmdError::Syntax)
    }

    /// The next argument as an integer, or a syntax error if there is none.
    pub fn int(&mut self) -> Result<i64, CmdError> {
        int(self.value()?)
    }

    /// True when every argument was consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.args.len()
    }

    /// Arguments left.
    pub fn remaining(&self) -> &'a [Bytes] {
        self.args.get(self.pos..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_as_redis_reads_them() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"0"), Some(0));
        for bad in [
            &b"+1"[..],
            b"01",
            b"-0",
            b" 1",
            b"1.5",
            b"",
            b"9223372036854775808",
            b"1e3",
        ] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn floats_as_redis_reads_them() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        for bad in [&b"nan"[..], b"", b" 1", b"1 ", b"abc", b"1.5x"] {
            assert_eq!(parse_f64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timeouts_as_redis_reads_them() {
        assert_eq!(timeout(b"0"), Ok(None));
        assert_eq!(timeout(b"1.5"), Ok(Some(Duration::from_millis(1500))));
        assert_eq!(timeout(b"0.0001"), Ok(Some(Duration::from_millis(1))));
        assert_eq!(timeout(b"0x10"), Ok(Some(Duration::from_secs(16))));
        // ceil(-0.1 ms) is -0: forever, as redis-server 7.0 does.
        assert_eq!(timeout(b"-0.0001"), Ok(None));
        for negative in [&b"-1"[..], b"inf", b"-inf", b"1e30"] {
            assert_eq!(
                timeout(negative),
                Err(CmdError::msg("ERR timeout is negative")),
                "{negative:?}"
            );
        }
        for junk in [&b"abc"[..], b" 1", b"1 ", b"", b"nan"] {
            let err = CmdError::msg("ERR timeout is not a float or out of range");
            assert_eq!(timeout(junk), Err(err), "{junk:?}");
        }
    }
}
