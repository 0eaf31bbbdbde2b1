//! Just enough unsigned big-integer arithmetic for exact long-double emulation:
//! little-endian 32-bit limbs, no leading zero limbs.

use std::cmp::Ordering;

/// An unsigned integer of any size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Big(Vec<u32>);

const CHUNK: u32 = 1_000_000_000;

impl Big {
    fn normalized(mut limbs: Vec<u32>) -> Big {
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
        Big(limbs)
    }

    pub(super) fn from_u64(n: u64) -> Big {
        Big::normalized(vec![n as u32, (n >> 32) as u32])
    }

    /// From ASCII decimal digits.
    pub(super) fn from_decimal(digits: &[u8]) -> Big {
        let mut n = Big::default();
        for chunk in digits.chunks(9) {
            let value = chunk
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
            n.mul_add_small(10u32.pow(chunk.len() as u32), value);
        }
        n
    }

    /// From ASCII hexadecimal digits.
    pub(super) fn from_hex(digits: &[u8]) -> Big {
        let mut n = Big::default();
        for &d in digits {
            let value = (d as char).to_digit(16).unwrap_or(0);
            n.mul_add_small(16, value);
        }
        n
    }

    /// 10^n.
    pub(super) fn pow10(mut n: u32) -> Big {
        let mut p = Big::from_u64(1);
        while n > 0 {
            let step = n.min(9);
            p.mul_add_small(10u32.pow(step), 0);
            n -= step;
        }
        p
    }

    /// self = self × m + a.
    fn mul_add_small(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        if self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    pub(super) fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of significant bits.
    pub(super) fn bits(&self) -> u64 {
        match self.0.last() {
            Some(top) => self.0.len() as u64 * 32 - u64::from(top.leading_zeros()),
            None => 0,
        }
    }

    /// The low 64 bits.
    pub(super) fn low_u64(&self) -> u64 {
        let limb = |i: usize| u64::from(self.0.get(i).copied().unwrap_or(0));
        limb(0) | limb(1) << 32
    }

    /// Bit `i`.
    pub(super) fn bit(&self, i: u64) -> bool {
        let limb = self.0.get((i / 32) as usize).copied().unwrap_or(0);
        limb >> (i % 32) & 1 == 1
    }

    /// True if any bit below position `i` is set.
    pub(super) fn any_below(&self, i: u64) -> bool {
        let whole = ((i / 32) as usize).min(self.0.len());
        if self.0[..whole].iter().any(|&l| l != 0) {
            return true;
        }
        let part = i % 32;
        part != 0
            && self
                .0
                .get(whole)
                .is_some_and(|&l| l & ((1u32 << part) - 1) != 0)
    }

    pub(super) fn shl(&self, n: u64) -> Big {
        if self.is_zero() {
            return Big::default();
        }
        let (limbs, bits) = ((n / 32) as usize, (n % 32) as u32);
        let mut out = vec![0u32; limbs];
        out.reserve(self.0.len() + 1);
        let mut carry = 0u32;
        for &limb in &self.0 {
            out.push(if bits == 0 {
                limb
            } else {
                limb << bits | carry
            });
            carry = if bits == 0 { 0 } else { limb >> (32 - bits) };
        }
        out.push(carry);
        Big::normalized(out)
    }

    pub(super) fn shr(&self, n: u64) -> Big {
        let (limbs, bits) = ((n / 32) as usize, (n % 32) as u32);
        if limbs >= self.0.len() {
            return Big::default();
        }
        let src = &self.0[limbs..];
        let out = (0..src.len())
            .map(|i| {
                let high = src.get(i + 1).copied().unwrap_or(0);
                if bits == 0 {
                    src[i]
                } else {
                    src[i] >> bits | high << (32 - bits)
                }
            })
            .collect();
        Big::normalized(out)
    }

    pub(super) fn add(&self, other: &Big) -> Big {
        let len = self.0.len().max(other.0.len());
        let mut out = Vec::with_capacity(len + 1);
        let mut carry = 0u64;
        for i in 0..len {
            let v = u64::from(self.limb(i)) + u64::from(other.limb(i)) + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        out.push(carry as u32);
        Big::normalized(out)
    }

    /// self − other, for self ≥ other.
    pub(super) fn sub(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let mut v = i64::from(self.0[i]) - i64::from(other.limb(i)) - borrow;
            borrow = i64::from(v < 0);
            if v < 0 {
                v += 1 << 32;
            }
            out.push(v as u32);
        }
        Big::normalized(out)
    }

    pub(super) fn mul(&self, other: &Big) -> Big {
        let mut out = vec![0u32; self.0.len() + other.0.len()];
        for (i, &a) in self.0.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &b) in other.0.iter().enumerate() {
                let v = u64::from(out[i + j]) + u64::from(a) * u64::from(b) + carry;
                out[i + j] = v as u32;
                carry = v >> 32;
            }
            out[i + other.0.len()] = carry as u32;
        }
        Big::normalized(out)
    }

    /// ⌊self / d⌋ and whether there was a remainder, by binary long division
    /// (callers keep the quotient short: about 70 bits).
    pub(super) fn div(&self, d: &Big) -> (Big, bool) {
        if self.cmp(d) == Ordering::Less {
            return (Big::default(), !self.is_zero());
        }
        let shift = self.bits() - d.bits();
        let mut rem = self.clone();
        let mut q = vec![0u32; (shift / 32 + 1) as usize];
        for i in (0..=shift).rev() {
            let t = d.shl(i);
            if rem >= t {
                rem = rem.sub(&t);
                q[(i / 32) as usize] |= 1 << (i % 32);
            }
        }
        (Big::normalized(q), !rem.is_zero())
    }

    /// Decimal digits ("0" for zero).
    pub(super) fn to_decimal(&self) -> String {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_small(CHUNK));
        }
        let Some((top, rest)) = chunks.split_last() else {
            return "0".to_string();
        };
        let mut text = top.to_string();
        for chunk in rest.iter().rev() {
            text.push_str(&format!("{chunk:09}"));
        }
        text
    }

    /// self = self / d; returns the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.0.iter_mut().rev() {
            let v = rem << 32 | u64::from(*limb);
            *limb = (v / u64::from(d)) as u32;
            rem = v % u64::from(d);
        }
        *self = Big::normalized(std::mem::take(&mut self.0));
        rem as u32
    }

    fn limb(&self, i: usize) -> u32 {
        self.0.get(i).copied().unwrap_or(0)
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Big) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_round_trips_through_decimal() {
        let a = Big::from_decimal(b"123456789012345678901234567890");
        assert_eq!(a.to_decimal(), "123456789012345678901234567890");
        let b = Big::pow10(20);
        assert_eq!(b.to_decimal(), "100000000000000000000");
        assert_eq!(a.add(&b).to_decimal(), "123456789112345678901234567890");
        assert_eq!(a.sub(&b).to_decimal(), "123456788912345678901234567890");
        assert_eq!(
            a.mul(&b).to_decimal(),
            "12345678901234567890123456789000000000000000000000"
        );
        let (q, inexact) = a.div(&b);
        assert_eq!((q.to_decimal(), inexact), ("1234567890".to_string(), true));
        assert_eq!(Big::from_hex(b"ff").to_decimal(), "255");
        assert_eq!(Big::default().to_decimal(), "0");
    }

    #[test]
    fn shifts_and_bits() {
        let one = Big::from_u64(1);
        let big = one.shl(100);
        assert_eq!(big.bits(), 101);
        assert!(big.bit(100) && !big.bit(99));
        assert!(!big.any_below(100) && big.any_below(101));
        assert_eq!(big.shr(100), one);
        assert_eq!(big.shr(101), Big::default());
        assert_eq!(Big::from_u64(0b1011).shr(1).low_u64(), 0b101);
        assert_eq!(Big::from_u64(u64::MAX).shl(4).shr(4).low_u64(), u64::MAX);
    }
}
