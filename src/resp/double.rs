//! Redis's text for a double: scores (ZSCORE, WITHSCORES), RESP3 `,` doubles
//! and their RESP2 bulk form, and the fixed-point text of INCRBYFLOAT.
//!
//! [`format_double`] follows Redis 7.2+ (`d2string` + `fpconv_dtoa`): the
//! shortest digits that read back to the same double, laid out like `%g` but
//! with an exponent of as few digits as it needs (`1e+21`, `1e-7`). Redis 7.0
//! printed `%.17g` instead (`0.10000000000000001`); clients parse both the same.
//! The shortest digits come from `ryu`; we only lay them out.

use bytes::BufMut;

/// The longest text `format_double` writes: `-` + `0.000000` + 17 digits.
const MAX_DOUBLE_LEN: usize = 32;

/// Up to this magnitude an integral double prints as an integer (Redis's
/// `LLONG_MAX/2` bound), beyond it in the shortest-digits form.
const INTEGER_BOUND: f64 = (i64::MAX / 2) as f64;

/// Fractional digits INCRBYFLOAT keeps (Redis prints `%.17Lf`).
const HUMAN_FRAC_DIGITS: i32 = 17;

/// Appends Redis's text for `v`: `3`, `1.5`, `0.1`, `1e+21`, `1e-7`, `inf`,
/// `-inf`, `nan`, `-0`. The text reads back as exactly `v`.
///
/// ```
/// let mut out = Vec::new();
/// shardcar::resp::format_double(1e21, &mut out);
/// assert_eq!(out, b"1e+21");
/// ```
pub fn format_double(v: f64, out: &mut impl BufMut) {
    out.put_slice(DoubleText::new(v).as_bytes());
}

/// Appends the fixed-point text INCRBYFLOAT and HINCRBYFLOAT reply with: no
/// exponent, at most 17 fractional digits, trailing zeros trimmed
/// (`1000000000000000000000`, `0.0000001`, `0.1`, `3`).
///
/// Redis computes these in `long double`; from an `f64` this prints the
/// shortest digits of the double, rounded half-up to 17 fractional digits.
pub fn format_double_human(v: f64, out: &mut impl BufMut) {
    if !v.is_finite() {
        out.put_slice(DoubleText::new(v).as_bytes());
        return;
    }
    if v == 0.0 {
        // Zero prints as `0` whatever its sign, as Redis's trimmed `%.17Lf` does.
        out.put_u8(b'0');
        return;
    }
    let mut d = Decimal::shortest(v);
    d.round_to_fraction(HUMAN_FRAC_DIGITS);
    if d.len == 0 {
        out.put_u8(b'0');
        return;
    }
    if v < 0.0 {
        out.put_u8(b'-');
    }
    let digits = &d.digits[..d.len];
    if d.exp >= 0 {
        out.put_slice(digits);
        out.put_bytes(b'0', d.exp as usize);
    } else {
        write_fraction(digits, d.exp, &mut |s| out.put_slice(s));
    }
}

/// Redis's text for a double, formatted on the stack so its length is known
/// before it is written (the RESP2 bulk header comes first).
#[derive(Debug)]
pub(crate) struct DoubleText {
    buf: [u8; MAX_DOUBLE_LEN],
    len: usize,
}

impl DoubleText {
    /// Formats `v` as [`format_double`] describes.
    pub(crate) fn new(v: f64) -> Self {
        let mut text = DoubleText {
            buf: [0; MAX_DOUBLE_LEN],
            len: 0,
        };
        if v.is_nan() {
            text.push(b"nan");
        } else if v.is_infinite() {
            text.push(if v < 0.0 { b"-inf" } else { b"inf" });
        } else if v == 0.0 {
            text.push(if v.is_sign_negative() { b"-0" } else { b"0" });
        } else if v.fract() == 0.0 && v.abs() <= INTEGER_BOUND {
            text.push(itoa::Buffer::new().format(v as i64).as_bytes());
        } else {
            text.push_shortest(v);
        }
        text
    }

    /// The formatted bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn push(&mut self, s: &[u8]) {
        self.buf[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    /// Lays out the shortest digits as `fpconv_dtoa` does: plain when the
    /// exponent is small, else `d.ddde±x`.
    fn push_shortest(&mut self, v: f64) {
        if v < 0.0 {
            self.push(b"-");
        }
        let d = Decimal::shortest(v);
        let (digits, k) = (&d.digits[..d.len], d.exp);
        let n = d.len as i32;
        let exp10 = k + n - 1;
        if k >= 0 && exp10 < n + 7 {
            self.push(digits);
            for _ in 0..k {
                self.push(b"0");
            }
        } else if k < 0 && (k > -7 || exp10.abs() < 4) {
            write_fraction(digits, k, &mut |s| self.push(s));
        } else {
            self.push(&digits[..1]);
            if digits.len() > 1 {
                self.push(b".");
                self.push(&digits[1..]);
            }
            self.push(if exp10 < 0 { b"e-" } else { b"e+" });
            self.push(itoa::Buffer::new().format(exp10.unsigned_abs()).as_bytes());
        }
    }
}

/// Writes `digits × 10^exp` (exp < 0) in fixed notation: `0.00ddd` or `dd.ddd`.
fn write_fraction(digits: &[u8], exp: i32, write: &mut impl FnMut(&[u8])) {
    let int_len = digits.len() as i32 + exp;
    if int_len <= 0 {
        write(b"0.");
        for _ in 0..-int_len {
            write(b"0");
        }
        write(digits);
    } else {
        let (int, frac) = digits.split_at(int_len as usize);
        write(int);
        write(b".");
        write(frac);
    }
}

/// A positive decimal `digits × 10^exp` with no leading or trailing zeros.
#[derive(Debug)]
struct Decimal {
    digits: [u8; 24],
    len: usize,
    exp: i32,
}

impl Decimal {
    /// The shortest round-trip digits of a finite, nonzero `v` (sign dropped).
    fn shortest(v: f64) -> Self {
        let mut ryu = ryu::Buffer::new();
        let text = ryu.format_finite(v.abs()).as_bytes();
        let (mantissa, exp) = match text.iter().position(|&c| c == b'e') {
            // ryu writes a plain, in-range exponent such as `e-7` or `e21`.
            Some(e) => (&text[..e], parse_exponent(&text[e + 1..])),
            None => (text, 0),
        };
        let mut d = Decimal {
            digits: [0; 24],
            len: 0,
            exp,
        };
        let mut in_fraction = false;
        for &c in mantissa {
            match c {
                b'.' => in_fraction = true,
                b'0' if d.len == 0 => d.exp -= i32::from(in_fraction),
                _ => {
                    d.digits[d.len] = c;
                    d.len += 1;
                    d.exp -= i32::from(in_fraction);
                }
            }
        }
        d.trim_zeros();
        d
    }

    fn trim_zeros(&mut self) {
        while self.len > 0 && self.digits[self.len - 1] == b'0' {
            self.len -= 1;
            self.exp += 1;
        }
    }

    /// Rounds half-up to `frac` fractional digits; `len == 0` means zero.
    fn round_to_fraction(&mut self, frac: i32) {
        if self.exp >= -frac {
            return;
        }
        let dropped = (-frac - self.exp) as usize;
        self.exp = -frac;
        if dropped > self.len {
            self.len = 0;
            return;
        }
        let keep = self.len - dropped;
        let round_up = self.digits[keep] >= b'5';
        self.len = keep;
        if round_up {
            self.increment();
        }
        self.trim_zeros();
    }

    /// Adds one unit in the last place, carrying; `999` becomes `1` × 10³.
    fn increment(&mut self) {
        for i in (0..self.len).rev() {
            if self.digits[i] < b'9' {
                self.digits[i] += 1;
                return;
            }
            self.digits[i] = b'0';
        }
        self.exp += self.len as i32;
        self.digits[0] = b'1';
        self.len = 1;
    }
}

/// Parses ryu's exponent (`-7`, `21`); it is always a small valid integer.
fn parse_exponent(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let magnitude = digits
        .iter()
        .fold(0i32, |acc, &c| acc * 10 + i32::from(c - b'0'));
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(v: f64) -> String {
        let mut out = Vec::new();
        format_double(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn human(v: f64) -> String {
        let mut out = Vec::new();
        format_double_human(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn scores_print_as_redis_7_2_does() {
        let cases = [
            (1e21, "1e+21"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (0.3, "0.3"),
            (1e-7, "1e-7"),
            (3.0, "3"),
            (-2.5, "-2.5"),
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (1e17, "100000000000000000"),
            (1e20, "1e+20"),
            (2f64.powi(63), "9223372036854776000"),
            (123.456, "123.456"),
            (12345678.9, "12345678.9"),
            (1e-6, "0.000001"),
            (1.5e-6, "1.5e-6"),
            (0.001234, "0.001234"),
            (1e-10, "1e-10"),
            (-1e-10, "-1e-10"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-1.7976931348623157e308, "-1.7976931348623157e+308"),
        ];
        for (v, want) in cases {
            assert_eq!(text(v), want, "format_double({v:e})");
        }
    }

    #[test]
    fn incrbyfloat_text_is_fixed_point() {
        let cases = [
            (1e21, "1000000000000000000000"),
            (1e-7, "0.0000001"),
            (0.1, "0.1"),
            (3.0, "3"),
            (1.5, "1.5"),
            (-10.5, "-10.5"),
            (1e-20, "0"),
            (-1e-20, "0"),
            (-0.0, "0"),
            (1.23456789e-10, "0.00000000012345679"),
            (9.999999999999999e-18, "0.00000000000000001"),
            (0.999999999999999999, "1"),
            (f64::INFINITY, "inf"),
        ];
        for (v, want) in cases {
            assert_eq!(human(v), want, "format_double_human({v:e})");
        }
    }

    proptest! {
        #[test]
        fn text_reads_back_as_the_same_double(v in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
            let t = text(v);
            prop_assert!(t.len() <= MAX_DOUBLE_LEN);
            prop_assert_eq!(t.parse::<f64>().unwrap().to_bits(), v.to_bits());
        }

        #[test]
        fn human_text_is_within_rounding(v in -1e30f64..1e30) {
            let h = human(v);
            prop_assert!(!h.contains('e'));
            let back: f64 = h.parse().unwrap();
            prop_assert!((back - v).abs() <= 1e-17 + v.abs() * 1e-15, "{} -> {}", v, h);
        }
    }
}
