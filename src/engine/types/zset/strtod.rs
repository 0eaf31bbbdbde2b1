//! A byte-level stand-in for C's `strtod`, the parser behind every score Redis reads.
//!
//! Redis parses ZADD scores and ZRANGEBYSCORE bounds with `strtod` and then judges
//! the result in two different ways (see `bound.rs`), so matching Redis means first
//! matching `strtod` itself: skip leading C whitespace, take an optional sign, then
//! the longest prefix that is `inf`/`infinity`, `nan[(…)]`, a hexadecimal float
//! (`0x1.8p3`) or a decimal one (`1.`, `.5`, `1e-3`), and report how many bytes it
//! used and whether the value overflowed or underflowed to zero (`ERANGE`).
//!
//! Decimal text is handed to Rust's own correctly rounded parser, which rounds as
//! glibc does; hexadecimal text is rounded here, to nearest, ties to even.

/// What one `strtod` call produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Strtod {
    /// The parsed value; `0.0` when nothing was converted.
    pub(super) value: f64,
    /// Bytes of the input used, leading whitespace included; `0` when nothing
    /// was converted (C's `endptr == str`).
    pub(super) consumed: usize,
    /// C's `errno == ERANGE` in the two cases Redis cares about: a finite number
    /// too large for a double, or a non-zero one that rounded to zero.
    pub(super) out_of_range: bool,
}

impl Strtod {
    const NOTHING: Strtod = Strtod {
        value: 0.0,
        consumed: 0,
        out_of_range: false,
    };
}

/// Parses the longest float prefix of `text` as glibc's `strtod` does.
pub(super) fn strtod(text: &[u8]) -> Strtod {
    let start = text
        .iter()
        .position(|&b| !is_c_space(b))
        .unwrap_or(text.len());
    let (negative, body_start) = match text.get(start) {
        Some(b'-') => (true, start + 1),
        Some(b'+') => (false, start + 1),
        _ => (false, start),
    };
    let body = &text[body_start..];
    let parsed = special(body)
        .or_else(|| hex(body))
        .or_else(|| decimal(body));
    match parsed {
        Some(Strtod {
            value,
            consumed,
            out_of_range,
        }) => Strtod {
            value: if negative { -value } else { value },
            consumed: body_start + consumed,
            out_of_range,
        },
        None => Strtod::NOTHING,
    }
}

/// C's `isspace` in the "C" locale.
pub(super) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn starts_with_ignore_case(text: &[u8], word: &[u8]) -> bool {
    text.len() >= word.len() && text[..word.len()].eq_ignore_ascii_case(word)
}

/// `inf`, `infinity` and `nan`, `nan(chars)`, in any case.
fn special(body: &[u8]) -> Option<Strtod> {
    let found = |value, consumed| {
        Some(Strtod {
            value,
            consumed,
            out_of_range: false,
        })
    };
    if starts_with_ignore_case(body, b"infinity") {
        return found(f64::INFINITY, 8);
    }
    if starts_with_ignore_case(body, b"inf") {
        return found(f64::INFINITY, 3);
    }
    if !starts_with_ignore_case(body, b"nan") {
        return None;
    }
    // `nan(n-char-sequence)` is consumed whole when the parenthesis closes.
    let rest = &body[3..];
    let chars = rest
        .iter()
        .skip(1)
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    let closed = rest.first() == Some(&b'(') && rest.get(1 + chars) == Some(&b')');
    found(f64::NAN, if closed { 3 + chars + 2 } else { 3 })
}

/// Length of the run of bytes at the start of `text` that satisfy `pred`.
fn run(text: &[u8], pred: impl Fn(u8) -> bool) -> usize {
    text.iter().take_while(|&&b| pred(b)).count()
}

/// `digits [. digits] [e [sign] digits]`, with at least one mantissa digit.
fn decimal(body: &[u8]) -> Option<Strtod> {
    let int_digits = run(body, |b| b.is_ascii_digit());
    let mut end = int_digits;
    let mut frac_digits = 0;
    if body.get(end) == Some(&b'.') {
        frac_digits = run(&body[end + 1..], |b| b.is_ascii_digit());
        end += 1 + frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    let nonzero = body[..end].iter().any(|b| (b'1'..=b'9').contains(b));
    end += exponent_len(&body[end..], b'e');
    // Only ASCII digits, '.', 'e' and signs were taken, so this cannot fail.
    let value: f64 = std::str::from_utf8(&body[..end]).ok()?.parse().ok()?;
    let out_of_range = value.is_infinite() || (value == 0.0 && nonzero);
    Some(Strtod {
        value,
        consumed: end,
        out_of_range,
    })
}

/// Length of an exponent suffix (`e`/`E` or `p`/`P`, optional sign, decimal
/// digits) at the start of `text`, or 0 when there is no complete one.
fn exponent_len(text: &[u8], marker: u8) -> usize {
    if !text
        .first()
        .is_some_and(|b| b.eq_ignore_ascii_case(&marker))
    {
        return 0;
    }
    let sign = usize::from(matches!(text.get(1), Some(b'+' | b'-')));
    let digits = run(&text[1 + sign..], |b| b.is_ascii_digit());
    if digits == 0 {
        0
    } else {
        1 + sign + digits
    }
}

/// Decimal exponent digits, saturated far beyond any double's range.
fn exponent_value(text: &[u8]) -> i64 {
    let negative = text.first() == Some(&b'-');
    let magnitude = text
        .iter()
        .filter(|b| b.is_ascii_digit())
        .fold(0i64, |acc, b| (acc * 10 + i64::from(b - b'0')).min(1 << 20));
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// Hexadecimal mantissa digits gathered into 64 bits: the first 15 significant
/// digits exactly, anything after them folded into `sticky`.
#[derive(Default)]
struct HexMantissa {
    bits: u64,
    /// Power of two applied to `bits`.
    exp: i64,
    /// Whether a non-zero digit was dropped.
    sticky: bool,
}

impl HexMantissa {
    fn push(&mut self, digit: u64, fractional: bool) {
        if self.bits >> 60 == 0 {
            self.bits = self.bits << 4 | digit;
            self.exp -= if fractional { 4 } else { 0 };
        } else {
            self.exp += if fractional { 0 } else { 4 };
            self.sticky |= digit != 0;
        }
    }
}

/// `0x hexdigits [. hexdigits] [p [sign] digits]`; `0x` with no digit after it
/// is left to `decimal`, which then reads the lone `0` as C does.
fn hex(body: &[u8]) -> Option<Strtod> {
    if !starts_with_ignore_case(body, b"0x") {
        return None;
    }
    let digit = |b: u8| char::from(b).to_digit(16).map(u64::from);
    let mut mantissa = HexMantissa::default();
    let int_digits = run(&body[2..], |b| b.is_ascii_hexdigit());
    body[2..2 + int_digits]
        .iter()
        .filter_map(|&b| digit(b))
        .for_each(|d| mantissa.push(d, false));
    let mut end = 2 + int_digits;
    let mut frac_digits = 0;
    if body.get(end) == Some(&b'.') {
        frac_digits = run(&body[end + 1..], |b| b.is_ascii_hexdigit());
        body[end + 1..end + 1 + frac_digits]
            .iter()
            .filter_map(|&b| digit(b))
            .for_each(|d| mantissa.push(d, true));
        end += 1 + frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    let exp_len = exponent_len(&body[end..], b'p');
    if exp_len > 0 {
        mantissa.exp += exponent_value(&body[end + 1..end + exp_len]);
    }
    end += exp_len;
    let value = compose(mantissa);
    let out_of_range = value.is_infinite() || (value == 0.0 && (mantissa_nonzero(&body[2..end])));
    Some(Strtod {
        value,
        consumed: end,
        out_of_range,
    })
}

fn mantissa_nonzero(digits: &[u8]) -> bool {
    digits
        .iter()
        .take_while(|b| !b.eq_ignore_ascii_case(&b'p'))
        .any(|b| b.is_ascii_hexdigit() && *b != b'0')
}

/// `bits × 2^exp` rounded to the nearest double (ties to even), including
/// subnormal results, without double rounding.
fn compose(m: HexMantissa) -> f64 {
    if m.bits == 0 {
        return 0.0;
    }
    let bit_len = i64::from(64 - m.bits.leading_zeros());
    // Exponent of the leading bit, and how many bits the result can keep there.
    let top = m.exp + bit_len - 1;
    let precision = if top >= -1022 { 53 } else { top + 1075 };
    let shift = bit_len - precision;
    if top > 1023 {
        return f64::INFINITY;
    }
    let (q, scale) = if shift > 0 {
        (round_shift(m.bits, shift, m.sticky), m.exp + shift)
    } else {
        (m.bits, m.exp)
    };
    // q < 2^54 and scale is within [-1074, 971]: both factors are exact, and so
    // is their product unless it overflows, which then gives infinity.
    q as f64 * pow2(scale)
}

/// `bits >> shift`, rounded to nearest with ties to even; `sticky` says a
/// non-zero tail lies below `bits`.
fn round_shift(bits: u64, shift: i64, sticky: bool) -> u64 {
    if shift > 64 {
        return 0;
    }
    let shift = shift as u32; // 1..=64
    let q = bits.checked_shr(shift).unwrap_or(0);
    let half = 1u64 << (shift - 1);
    let round = bits & half != 0;
    let rest = bits & (half - 1) != 0 || sticky;
    q + u64::from(round && (rest || q & 1 == 1))
}

/// 2^k for k in [-1074, 1023], exactly.
fn pow2(k: i64) -> f64 {
    if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (k + 1074))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (f64, usize, bool) {
        let r = strtod(text.as_bytes());
        (r.value, r.consumed, r.out_of_range)
    }

    #[test]
    fn decimal_prefixes() {
        assert_eq!(parse("1"), (1.0, 1, false));
        assert_eq!(parse("  -2.5e1x"), (-25.0, 8, false));
        assert_eq!(parse("1."), (1.0, 2, false));
        assert_eq!(parse(".5"), (0.5, 2, false));
        assert_eq!(parse("1e"), (1.0, 1, false));
        assert_eq!(parse("1e+"), (1.0, 1, false));
        assert_eq!(parse("+7E-1"), (0.7, 5, false));
        assert_eq!(parse("1_0"), (1.0, 1, false));
    }

    #[test]
    fn nothing_converted() {
        for text in ["", " ", ".", "-", "+", "e5", "abc", " -x", "\0"] {
            assert_eq!(parse(text), (0.0, 0, false), "{text:?}");
        }
    }

    #[test]
    fn infinities_and_nans() {
        assert_eq!(parse("inf"), (f64::INFINITY, 3, false));
        assert_eq!(parse("-INF"), (f64::NEG_INFINITY, 4, false));
        assert_eq!(parse("+Infinity"), (f64::INFINITY, 9, false));
        assert_eq!(parse("infinit"), (f64::INFINITY, 3, false));
        for (text, used) in [
            ("nan", 3),
            ("-NaN", 4),
            ("nan(12ab)", 9),
            ("nan(", 3),
            ("nanx", 3),
        ] {
            let r = strtod(text.as_bytes());
            assert!(r.value.is_nan(), "{text}");
            assert_eq!(r.consumed, used, "{text}");
        }
    }

    #[test]
    fn range_errors() {
        assert_eq!(parse("1e400"), (f64::INFINITY, 5, true));
        assert_eq!(parse("-1e400"), (f64::NEG_INFINITY, 6, true));
        assert_eq!(parse("1e-400"), (0.0, 6, true));
        assert_eq!(parse("0e-400"), (0.0, 6, false));
        assert_eq!(parse("0.000"), (0.0, 5, false));
        // Subnormal results are not a range error for Redis's purposes.
        assert_eq!(parse("1e-310"), (1e-310, 6, false));
        assert_eq!(
            parse("1e99999999999999999999999"),
            (f64::INFINITY, 25, true)
        );
    }

    #[test]
    fn hexadecimal() {
        assert_eq!(parse("0x1p3"), (8.0, 5, false));
        assert_eq!(parse("0x1.8p1"), (3.0, 7, false));
        assert_eq!(parse("0X.8"), (0.5, 4, false));
        assert_eq!(parse("0x10"), (16.0, 4, false));
        assert_eq!(parse("-0x1P+2"), (-4.0, 7, false));
        assert_eq!(parse("0x1p"), (1.0, 3, false));
        assert_eq!(parse("0x"), (0.0, 1, false));
        assert_eq!(parse("0x.p1"), (0.0, 1, false));
        assert_eq!(parse("0xffffffffffffffffff"), (2f64.powi(72), 20, false));
    }

    #[test]
    fn hexadecimal_rounding_and_limits() {
        assert_eq!(parse("0x1p-1074"), (f64::from_bits(1), 9, false));
        assert_eq!(parse("0x1.8p-1074"), (f64::from_bits(2), 11, false));
        assert_eq!(parse("0x1p-1075"), (0.0, 9, true));
        assert_eq!(
            parse("0x1.0000000000001p-1075"),
            (f64::from_bits(1), 23, false)
        );
        assert_eq!(parse("0x1p1023"), (2f64.powi(1023), 8, false));
        assert_eq!(parse("0x1p1024"), (f64::INFINITY, 8, true));
        assert_eq!(parse("0x1.fffffffffffff8p1023"), (f64::INFINITY, 23, true));
        assert_eq!(parse("0x1.fffffffffffff7p1023"), (f64::MAX, 23, false));
        // Ties go to even: 1 + 2^-53 rounds down, 1 + 3·2^-53 rounds up.
        assert_eq!(parse("0x1.00000000000008").0, 1.0);
        assert_eq!(parse("0x1.00000000000018").0, 1.0 + 2.0 * f64::EPSILON);
        assert_eq!(parse("0x1.000000000000080000001").0, 1.0 + f64::EPSILON);
        assert_eq!(parse("0x0p99999999999"), (0.0, 15, false));
    }
}
