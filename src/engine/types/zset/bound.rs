//! Scores and range bounds as sorted-set commands read them, with Redis's errors.
//!
//! Redis reads the same float syntax in two ways, and clients see the difference:
//! - a score (ZADD, ZINCRBY) must be the whole argument, with no leading space, not
//!   NaN, and must not overflow or underflow to zero: `1e400` is an error;
//! - a score bound (ZRANGEBYSCORE, ZCOUNT…) is whatever `strtod` makes of the text
//!   after an optional `(`, up to the end or a NUL byte: leading spaces are fine, an
//!   empty bound is 0 and `1e400` is infinity. Only NaN and trailing junk fail.
//!
//! Lex bounds are `-`, `+`, `[member` (inclusive) or `(member` (exclusive).

use bytes::Bytes;

use super::strtod::{is_c_space, strtod};

/// A sorted-set error, rendered with Redis's exact text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ZsetError {
    /// A score argument that is not a float (or is NaN, or out of range).
    #[error("ERR value is not a valid float")]
    NotAFloat,
    /// A bad ZRANGEBYSCORE-style bound.
    #[error("ERR min or max is not a float")]
    ScoreRange,
    /// A bad ZRANGEBYLEX-style bound.
    #[error("ERR min or max not valid string range item")]
    LexRange,
    /// An increment that produced NaN (`+inf` plus `-inf`).
    #[error("ERR resulting score is not a number (NaN)")]
    NanScore,
}

/// Parses a score argument (ZADD, ZINCRBY) as Redis does.
///
/// Accepts what C's `strtod` reads when it reads the whole argument: decimal and
/// hexadecimal floats, `inf`, `+inf`, `-inf`, `infinity` in any case.
///
/// # Errors
/// [`ZsetError::NotAFloat`] for an empty argument, leading or trailing bytes that
/// are not part of the number, NaN, or a value that overflows or underflows to 0.
pub fn parse_score(arg: &[u8]) -> Result<f64, ZsetError> {
    let leading_space = arg.first().is_some_and(|&b| is_c_space(b));
    let parsed = strtod(arg);
    if arg.is_empty()
        || leading_space
        || parsed.consumed != arg.len()
        || parsed.out_of_range
        || parsed.value.is_nan()
    {
        return Err(ZsetError::NotAFloat);
    }
    Ok(parsed.value)
}

/// Whether the bytes after a parsed prefix end the argument as C sees it: at the
/// end, or at a NUL byte (Redis hands the argument to C as a NUL-terminated string).
fn ends_for_c(rest: &[u8]) -> bool {
    rest.first().is_none_or(|&b| b == 0)
}

/// One end of a score range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoreBound {
    /// `1.5`, `-inf`, `+inf`: scores equal to the bound are in range.
    Inclusive(f64),
    /// `(1.5`: scores equal to the bound are out of range.
    Exclusive(f64),
}

impl ScoreBound {
    /// The bound below every score: `-inf`.
    pub const MIN: ScoreBound = ScoreBound::Inclusive(f64::NEG_INFINITY);
    /// The bound above every score: `+inf`.
    pub const MAX: ScoreBound = ScoreBound::Inclusive(f64::INFINITY);

    /// Parses a ZRANGEBYSCORE-style bound: `[(]float`, where float is anything
    /// `strtod` reads up to the end (or a NUL byte).
    ///
    /// # Errors
    /// [`ZsetError::ScoreRange`] when bytes remain after the number or it is NaN.
    pub fn parse(arg: &[u8]) -> Result<ScoreBound, ZsetError> {
        let (exclusive, text) = match arg.split_first() {
            Some((b'(', rest)) => (true, rest),
            _ => (false, arg),
        };
        let parsed = strtod(text);
        if !ends_for_c(&text[parsed.consumed..]) || parsed.value.is_nan() {
            return Err(ZsetError::ScoreRange);
        }
        Ok(if exclusive {
            ScoreBound::Exclusive(parsed.value)
        } else {
            ScoreBound::Inclusive(parsed.value)
        })
    }

    /// As a lower bound: whether `score` lies below the range.
    pub(super) fn below_min(&self, score: f64) -> bool {
        match *self {
            ScoreBound::Inclusive(min) => score < min,
            ScoreBound::Exclusive(min) => score <= min,
        }
    }

    /// As an upper bound: whether `score` does not lie above the range.
    pub(super) fn within_max(&self, score: f64) -> bool {
        match *self {
            ScoreBound::Inclusive(max) => score <= max,
            ScoreBound::Exclusive(max) => score < max,
        }
    }
}

/// One end of a lexicographic (ZRANGEBYLEX) range; members compare as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[member`
    Inclusive(Bytes),
    /// `(member`
    Exclusive(Bytes),
}

impl LexBound {
    /// Parses `-`, `+`, `[member` or `(member`; the member shares `arg`'s buffer.
    ///
    /// # Errors
    /// [`ZsetError::LexRange`] for anything else, `-x` and `+x` included.
    pub fn parse(arg: &Bytes) -> Result<LexBound, ZsetError> {
        match arg.split_first() {
            Some((b'-', rest)) if ends_for_c(rest) => Ok(LexBound::Min),
            Some((b'+', rest)) if ends_for_c(rest) => Ok(LexBound::Max),
            Some((b'[', _)) => Ok(LexBound::Inclusive(arg.slice(1..))),
            Some((b'(', _)) => Ok(LexBound::Exclusive(arg.slice(1..))),
            _ => Err(ZsetError::LexRange),
        }
    }

    /// As a lower bound: whether `member` lies below the range.
    pub(super) fn below_min(&self, member: &[u8]) -> bool {
        match self {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(min) => member < &min[..],
            LexBound::Exclusive(min) => member <= &min[..],
        }
    }

    /// As an upper bound: whether `member` does not lie above the range.
    pub(super) fn within_max(&self, member: &[u8]) -> bool {
        match self {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(max) => member <= &max[..],
            LexBound::Exclusive(max) => member < &max[..],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_redis_accepts() {
        let cases: &[(&str, f64)] = &[
            ("1", 1.0),
            ("-2.5", -2.5),
            ("+5", 5.0),
            ("1.", 1.0),
            (".5", 0.5),
            ("inf", f64::INFINITY),
            ("+inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("INF", f64::INFINITY),
            ("Infinity", f64::INFINITY),
            ("0x1p3", 8.0),
            ("1e-310", 1e-310),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_score(text.as_bytes()), Ok(want), "{text}");
        }
        let negative_zero = parse_score(b"-0").unwrap();
        assert!(negative_zero == 0.0 && negative_zero.is_sign_negative());
    }

    #[test]
    fn scores_redis_rejects() {
        let cases: &[&[u8]] = &[
            b"", b" 1", b"1 ", b"\t1", b"\x0b1", b"infinit", b"nan", b"-nan", b"NaN(1)", b"1e400",
            b"-1e400", b"1e-400", b"0x", b".", b"1e", b"1_0", b"abc", b"2\0", b"2\0x", b"-",
        ];
        for &text in cases {
            assert_eq!(parse_score(text), Err(ZsetError::NotAFloat), "{text:?}");
        }
    }

    #[test]
    fn score_bounds() {
        use ScoreBound::{Exclusive, Inclusive};
        let cases: &[(&[u8], ScoreBound)] = &[
            (b"1.5", Inclusive(1.5)),
            (b"(1.5", Exclusive(1.5)),
            (b"-inf", Inclusive(f64::NEG_INFINITY)),
            (b"+inf", Inclusive(f64::INFINITY)),
            (b"inf", Inclusive(f64::INFINITY)),
            (b"(-inf", Exclusive(f64::NEG_INFINITY)),
            // strtod's view, as Redis: empty is 0, spaces lead, overflow saturates.
            (b"", Inclusive(0.0)),
            (b"(", Exclusive(0.0)),
            (b" 1", Inclusive(1.0)),
            (b"( 1", Exclusive(1.0)),
            (b"1e400", Inclusive(f64::INFINITY)),
            (b"1e-400", Inclusive(0.0)),
            (b"0x10", Inclusive(16.0)),
            (b"2\0x", Inclusive(2.0)),
        ];
        for &(text, want) in cases {
            assert_eq!(ScoreBound::parse(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn bad_score_bounds() {
        let cases: &[&[u8]] = &[
            b"1 ", b"-", b"+", b"nan", b"(nan", b"abc", b"((1", b"[1", b" ",
        ];
        for &text in cases {
            assert_eq!(
                ScoreBound::parse(text),
                Err(ZsetError::ScoreRange),
                "{text:?}"
            );
        }
        assert_eq!(
            ZsetError::ScoreRange.to_string(),
            "ERR min or max is not a float"
        );
    }

    #[test]
    fn lex_bounds() {
        let parse = |text: &'static [u8]| LexBound::parse(&Bytes::from_static(text));
        let bytes = Bytes::from_static;
        assert_eq!(parse(b"-"), Ok(LexBound::Min));
        assert_eq!(parse(b"+"), Ok(LexBound::Max));
        assert_eq!(parse(b"+\0x"), Ok(LexBound::Max));
        assert_eq!(parse(b"[a"), Ok(LexBound::Inclusive(bytes(b"a"))));
        assert_eq!(parse(b"(a"), Ok(LexBound::Exclusive(bytes(b"a"))));
        assert_eq!(parse(b"["), Ok(LexBound::Inclusive(bytes(b""))));
        assert_eq!(parse(b"[b\0x"), Ok(LexBound::Inclusive(bytes(b"b\0x"))));
        for bad in [&b""[..], b"a", b"-a", b"+a", b"*"] {
            assert_eq!(parse(bad), Err(ZsetError::LexRange), "{bad:?}");
        }
        assert_eq!(
            ZsetError::LexRange.to_string(),
            "ERR min or max not valid string range item"
        );
    }

    #[test]
    fn bound_predicates() {
        assert!(ScoreBound::Inclusive(1.0).below_min(0.5));
        assert!(!ScoreBound::Inclusive(1.0).below_min(1.0));
        assert!(ScoreBound::Exclusive(1.0).below_min(1.0));
        assert!(ScoreBound::Inclusive(1.0).within_max(1.0));
        assert!(!ScoreBound::Exclusive(1.0).within_max(1.0));
        // -0.0 and 0.0 are the same score.
        assert!(ScoreBound::Exclusive(0.0).below_min(-0.0));
        assert!(ScoreBound::MIN.within_max(f64::NEG_INFINITY));
        assert!(!ScoreBound::MIN.below_min(f64::NEG_INFINITY));
        assert!(LexBound::Max.below_min(b"z") && !LexBound::Min.within_max(b""));
        assert!(LexBound::Exclusive(Bytes::from_static(b"ab")).within_max(b"a"));
        assert!(!LexBound::Exclusive(Bytes::from_static(b"ab")).within_max(b"ab"));
        assert!(LexBound::Inclusive(Bytes::from_static(b"ab")).below_min(b"a"));
    }
}
