//! Cardinality from the register histogram, as Redis 7 estimates it.
//!
//! Redis 7 uses Otmar Ertl's "improved raw estimator" (*New cardinality estimation
//! algorithms for HyperLogLog sketches*, 2017) rather than the original HLL with
//! its bias tables: no empirical corrections, good accuracy across the whole range.
//! Only the histogram of register values matters, so dense, sparse and unions all
//! go through [`Histogram`]. To return the very numbers redis-server returns, the
//! floating-point operations are done in the same order and precision (`f64`).

use super::{REGISTERS, RUN_MAX};

/// `1 / (2 ln 2)`: the estimator's constant for an infinite number of registers.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
/// The estimate of a (nearly) saturated sketch, whose estimate does not fit an
/// `i64` or is infinite (every register at 51 or more). redis-server's conversion
/// of such a number yields the bit pattern 2^63, which it replies as `i64::MIN`
/// and which, stored as the cached cardinality, reads as "cache stale". We return
/// the same pattern. Real data never gets near: it takes ~2^50 elements.
pub(super) const SATURATED: u64 = 1 << 63;

/// How many registers hold each value (`0..64`: the dense registers' full range).
#[derive(Debug, Clone)]
pub(super) struct Histogram([u32; 64]);

impl Histogram {
    /// An empty histogram.
    pub(super) fn new() -> Self {
        Self([0; 64])
    }

    /// Counts `run` more registers at `value`.
    pub(super) fn add(&mut self, run: usize, value: u8) {
        // Lossless: runs never exceed the 16384 registers.
        self.0[usize::from(value & 63)] += run as u32;
    }

    /// The estimated number of distinct elements.
    pub(super) fn estimate(&self) -> u64 {
        let m = REGISTERS as f64;
        let count = |value: usize| f64::from(self.0[value]);
        let max = usize::from(RUN_MAX);
        let mut z = m * tau((m - count(max)) / m);
        for value in (1..max).rev() {
            z += count(value);
            z *= 0.5;
        }
        z += m * sigma(count(0) / m);
        let estimate = (ALPHA_INF * m * m / z).round();
        if estimate < SATURATED as f64 {
            // Lossless: an integer in [0, 2^63) (an empty sketch has z = inf).
            estimate as u64
        } else {
            SATURATED
        }
    }
}

/// Ertl's σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k-1), summed until it stops changing.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut weight = 1.0;
    let mut sum = x;
    loop {
        x *= x;
        let before = sum;
        sum += x * weight;
        weight += weight;
        if sum == before {
            return sum;
        }
    }
}

/// Ertl's τ(x) = (1 - x - Σ_{k≥1} (1 - x^(2^-k))² 2^-k) / 3, summed likewise.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut weight = 1.0;
    let mut sum = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = sum;
        weight *= 0.5;
        let gap = 1.0 - x;
        sum -= gap * gap * weight;
        if sum == before {
            return sum / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(pairs: &[(usize, u8)]) -> Histogram {
        let mut h = Histogram::new();
        let mut used = 0;
        for &(run, value) in pairs {
            h.add(run, value);
            used += run;
        }
        h.add(REGISTERS - used, 0);
        h
    }

    #[test]
    fn empty_is_zero() {
        assert_eq!(histogram(&[]).estimate(), 0);
    }

    #[test]
    fn small_sets_count_exactly() {
        // Few registers set, each once: linear counting territory, exact in practice.
        for n in [1usize, 2, 3, 10, 100] {
            assert_eq!(histogram(&[(n, 1)]).estimate(), n as u64, "n = {n}");
        }
    }

    #[test]
    fn sigma_and_tau_at_their_bounds() {
        assert_eq!(sigma(0.0), 0.0);
        assert_eq!(sigma(1.0), f64::INFINITY);
        assert_eq!(tau(0.0), 0.0);
        assert_eq!(tau(1.0), 0.0);
        // σ(x) ≥ x and τ(x) ≤ (1 - x) / 3 on (0, 1).
        for x in [0.01, 0.3, 0.5, 0.9, 0.999] {
            assert!(sigma(x) >= x);
            assert!(tau(x) <= (1.0 - x) / 3.0 && tau(x) > 0.0);
        }
    }

    #[test]
    fn saturated_sketches_estimate_what_redis_replies() {
        // redis-server 7.0 replies -9223372036854775808 for these.
        assert_eq!(histogram(&[(REGISTERS, RUN_MAX)]).estimate(), SATURATED);
        assert_eq!(histogram(&[(REGISTERS, 63)]).estimate(), SATURATED);
        assert_eq!(SATURATED as i64, i64::MIN);
        // redis-server 7.0 on dense values with these registers.
        assert_eq!(
            histogram(&[(REGISTERS - 1, RUN_MAX), (1, 50)]).estimate(),
            SATURATED
        );
        assert_eq!(
            histogram(&[(16000, RUN_MAX), (384, 40)]).estimate(),
            550_579_434_398_095_936
        );
        assert_eq!(
            histogram(&[(8000, RUN_MAX), (8384, 30)]).estimate(),
            24_798_927_744_212
        );
    }
}
