//! INCRBYFLOAT's arithmetic, exactly as redis-server does it on x86-64: operands
//! read with `strtold` into the x87 80-bit `long double` (64-bit significand,
//! 15-bit exponent), added with round-to-nearest-even, and printed as `%.17Lf`
//! with trailing zeros removed.
//!
//! An `f64` cannot reproduce Redis's replies: 0.1 + 0.2 is "0.3" there (the extra
//! 11 bits absorb the error) but 0.30000000000000004 in double precision. So the
//! values are emulated: every step is computed exactly on big integers
//! ([`Big`]) and rounded once, which is what the FPU and glibc do. Operands are at most 5 KiB of text (Redis's limit), so the
//! big numbers stay below ~34 000 bits.

use std::cmp::Ordering;

mod big;

use big::Big;

/// Significand bits of x87 extended precision (the integer bit is explicit).
const MANT_BITS: i64 = 64;
/// Binary exponent of the lowest bit of the smallest subnormal, 2^-16445.
const MIN_LSB_EXP: i64 = -16445;
/// Binary exponent of the top bit of the largest finite value.
const MAX_TOP_EXP: i64 = 16383;
/// Redis reads at most this many characters minus one (MAX_LONG_DOUBLE_CHARS).
const MAX_CHARS: usize = 5 * 1024;
/// Digits printed after the point before trailing zeros are trimmed.
const FRACTION_DIGITS: u32 = 17;

/// An x87 extended-precision value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LongDouble {
    /// `±mant × 2^exp`.
    Finite { neg: bool, mant: u64, exp: i32 },
    /// ±infinity.
    Inf { neg: bool },
}

impl LongDouble {
    /// An integer, exactly (64 bits of significand hold any i64).
    pub(crate) fn from_i64(n: i64) -> LongDouble {
        LongDouble::Finite {
            neg: n < 0,
            mant: n.unsigned_abs(),
            exp: 0,
        }
    }

    /// Parses text as Redis's `string2ld` does: what `strtold` accepts in full
    /// (decimal, hexadecimal, "inf"), but no leading space, no NaN, nothing too
    /// long, and nothing that overflows or underflows to zero.
    pub(crate) fn parse(text: &[u8]) -> Option<LongDouble> {
        if text.is_empty() || text.len() >= MAX_CHARS || is_c_space(text[0]) {
            return None;
        }
        let (neg, body) = match text[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::Inf { neg });
        }
        let exact = match body {
            [b'0', b'x' | b'X', hex @ ..] => parse_hex(hex)?,
            _ => parse_decimal(body)?,
        };
        let Some((mag, exp, sticky)) = exact else {
            return Some(LongDouble::Finite {
                neg,
                mant: 0,
                exp: 0,
            });
        };
        match round(neg, mag, exp, sticky) {
            LongDouble::Finite { mant: 0, .. } | LongDouble::Inf { .. } => None,
            value => Some(value),
        }
    }

    /// True unless infinite.
    pub(crate) fn is_finite(self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// The sum, rounded to nearest-even (an infinite operand gives an infinite result).
    pub(crate) fn add(self, other: LongDouble) -> LongDouble {
        let (
            LongDouble::Finite {
                neg: n1,
                mant: m1,
                exp: e1,
            },
            LongDouble::Finite {
                neg: n2,
                mant: m2,
                exp: e2,
            },
        ) = (self, other)
        else {
            return if self.is_finite() { other } else { self };
        };
        let exp = e1.min(e2);
        let a = Big::from_u64(m1).shl((e1 - exp) as u64);
        let b = Big::from_u64(m2).shl((e2 - exp) as u64);
        let (neg, mag) = if n1 == n2 {
            (n1, a.add(&b))
        } else {
            match a.cmp(&b) {
                Ordering::Greater => (n1, a.sub(&b)),
                Ordering::Less => (n2, b.sub(&a)),
                Ordering::Equal => (false, Big::default()),
            }
        };
        round(neg, mag, i64::from(exp), false)
    }

    /// The text Redis stores and replies: `%.17Lf` without trailing zeros (and
    /// without the point if nothing follows it), "-0" printed as "0".
    pub(crate) fn to_human(self) -> String {
        let LongDouble::Finite { neg, mant, exp } = self else {
            return if self == (LongDouble::Inf { neg: true }) {
                "-inf"
            } else {
                "inf"
            }
            .to_string();
        };
        let (int, frac) = if exp >= 0 {
            (Big::from_u64(mant).shl(exp as u64).to_decimal(), 0)
        } else {
            split_fraction(mant, exp.unsigned_abs())
        };
        let mut text = String::new();
        if neg {
            text.push('-');
        }
        text.push_str(&int);
        let digits = format!("{frac:0width$}", width = FRACTION_DIGITS as usize);
        let digits = digits.trim_end_matches('0');
        if !digits.is_empty() {
            text.push('.');
            text.push_str(digits);
        }
        if text == "-0" {
            text.remove(0);
        }
        text
    }
}

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `mant / 2^shift` as (integer digits, 17 fraction digits rounded half-even).
fn split_fraction(mant: u64, shift: u32) -> (String, u128) {
    let (int, frac) = if shift >= 64 {
        (0, u128::from(mant))
    } else {
        (mant >> shift, u128::from(mant & ((1u64 << shift) - 1)))
    };
    let scale = 10u128.pow(FRACTION_DIGITS);
    // frac < 2^64 and scale < 2^57, so the product fits in 121 bits.
    let scaled = frac * scale;
    let digits = if shift >= 128 {
        0 // below 2^-64 × 2^121 / 2^128 < 1/2: rounds to zero
    } else {
        let q = scaled >> shift;
        let rem = scaled & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        q + u128::from(rem > half || (rem == half && q % 2 == 1))
    };
    if digits == scale {
        ((int + 1).to_string(), 0)
    } else {
        (int.to_string(), digits)
    }
}

/// An exact magnitude `mag × 2^exp`, plus a sticky flag when the true value is a
/// little more (a division had a remainder); `None` for zero.
type Exact = Option<(Big, i64, bool)>;

/// Rounds an exact value to the nearest long double, ties to even.
fn round(neg: bool, mag: Big, exp: i64, sticky: bool) -> LongDouble {
    if mag.is_zero() {
        return LongDouble::Finite {
            neg,
            mant: 0,
            exp: 0,
        };
    }
    let top = mag.bits() as i64 - 1 + exp;
    let lsb = (top - (MANT_BITS - 1)).max(MIN_LSB_EXP);
    let drop = lsb - exp;
    let (mut mant, mut exp) = if drop <= 0 {
        (u128::from(mag.low_u64()), exp)
    } else {
        let drop = drop as u64;
        let kept = u128::from(mag.shr(drop).low_u64());
        let half = mag.bit(drop - 1);
        let rest = sticky || mag.any_below(drop - 1);
        (kept + u128::from(half && (rest || kept % 2 == 1)), lsb)
    };
    if mant == 1 << MANT_BITS {
        mant >>= 1;
        exp += 1;
    }
    if mant != 0 && (128 - mant.leading_zeros()) as i64 - 1 + exp > MAX_TOP_EXP {
        return LongDouble::Inf { neg };
    }
    LongDouble::Finite {
        neg,
        mant: mant as u64,
        exp: exp as i32,
    }
}

/// Decimal `digits[.digits][e[±]digits]`, the whole input.
fn parse_decimal(text: &[u8]) -> Option<Exact> {
    let (mantissa, exp_text) = split_exponent(text, b'e');
    let (digits, frac_len) = mantissa_digits(mantissa, u8::is_ascii_digit)?;
    let exp10 = exponent(exp_text)?.saturating_sub(frac_len);
    let digits = strip_leading_zeros(&digits);
    if digits.is_empty() {
        return Some(None);
    }
    let nd = digits.len() as i64;
    // 10^4933 overflows for sure; below 10^-4952 is under half the smallest subnormal.
    if nd + exp10 > 4933 {
        return Some(Some((Big::from_u64(1), MAX_TOP_EXP + 1, false)));
    }
    if nd + exp10 < -4952 {
        return Some(Some((Big::from_u64(1), MIN_LSB_EXP - 2, false)));
    }
    let n = Big::from_decimal(digits);
    if exp10 >= 0 {
        return Some(Some((n.mul(&Big::pow10(exp10 as u32)), 0, false)));
    }
    let d = Big::pow10(exp10.unsigned_abs() as u32);
    // Scale so the quotient has MANT_BITS + 2 or 3 bits: enough to round
    // correctly, and a short division. Bits shifted out only matter as "sticky".
    let shift = MANT_BITS + 3 + d.bits() as i64 - n.bits() as i64;
    let (n, dropped) = if shift >= 0 {
        (n.shl(shift as u64), false)
    } else {
        let k = shift.unsigned_abs();
        (n.shr(k), n.any_below(k))
    };
    let (q, inexact) = n.div(&d);
    Some(Some((q, -shift, inexact || dropped)))
}

/// Hexadecimal (after "0x") `hex[.hex][p[±]digits]`, the whole input.
fn parse_hex(text: &[u8]) -> Option<Exact> {
    let (mantissa, exp_text) = split_exponent(text, b'p');
    let (digits, frac_len) = mantissa_digits(mantissa, u8::is_ascii_hexdigit)?;
    let exp2 = exponent(exp_text)?.saturating_sub(frac_len.saturating_mul(4));
    let digits = strip_leading_zeros(&digits);
    if digits.is_empty() {
        return Some(None);
    }
    let n = Big::from_hex(digits);
    let top = n.bits() as i64 - 1 + exp2;
    let clamped = if top > MAX_TOP_EXP + 1 {
        MAX_TOP_EXP + 1 - (n.bits() as i64 - 1)
    } else if top < MIN_LSB_EXP - 2 {
        MIN_LSB_EXP - 2 - (n.bits() as i64 - 1)
    } else {
        exp2
    };
    Some(Some((n, clamped, false)))
}

/// Splits off an exponent introduced by `marker` (either case).
fn split_exponent(text: &[u8], marker: u8) -> (&[u8], Option<&[u8]>) {
    match text.iter().position(|b| b.to_ascii_lowercase() == marker) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    }
}

/// The digits of `int[.frac]` (at least one) and how many followed the point.
fn mantissa_digits(text: &[u8], is_digit: fn(&u8) -> bool) -> Option<(Vec<u8>, i64)> {
    let (int, frac) = match text.iter().position(|&b| b == b'.') {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, &[][..]),
    };
    let valid = int.iter().chain(frac).all(is_digit) && !(int.is_empty() && frac.is_empty());
    valid.then(|| ([int, frac].concat(), frac.len() as i64))
}

/// An optional `[±]digits` exponent, saturated far beyond any finite value.
fn exponent(text: Option<&[u8]>) -> Option<i64> {
    let Some(text) = text else { return Some(0) };
    let (neg, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().fold(0i64, |acc, d| {
        (acc * 10 + i64::from(d - b'0')).min(1_000_000_000)
    });
    Some(if neg { -value } else { value })
}

fn strip_leading_zeros(digits: &[u8]) -> &[u8] {
    let first = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    &digits[first..]
}

#[cfg(test)]
mod tests;
