//! The element hash and the (register, run) pair an element contributes.
//!
//! Redis hashes each element with MurmurHash64A (seed `0xadc83b19`, 8-byte blocks
//! read little-endian on every platform). The low 14 bits pick the register; the
//! remaining 50 bits, with a sentinel bit set above them, give the run: the number
//! of trailing zero bits plus one, so a run is always in `1..=51`. Matching this
//! bit for bit is what makes our values interchangeable with redis-server's.

use super::{INDEX_BITS, REGISTERS};

/// MurmurHash64A's multiplier.
const MURMUR_M: u64 = 0xc6a4_a793_5bd1_e995;
/// MurmurHash64A's shift.
const MURMUR_R: u32 = 47;
/// The seed Redis passes for HyperLogLog elements.
const HLL_SEED: u64 = 0xadc8_3b19;
/// Bits of the hash left once the register index is taken off.
const RUN_BITS: u32 = 64 - INDEX_BITS;

/// MurmurHash64A of `data` with `seed`, as Redis computes it on little-endian hosts.
pub(super) fn murmur64a(data: &[u8], seed: u64) -> u64 {
    let mut h = seed ^ (data.len() as u64).wrapping_mul(MURMUR_M);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut k = le_u64(block);
        k = k.wrapping_mul(MURMUR_M);
        k ^= k >> MURMUR_R;
        k = k.wrapping_mul(MURMUR_M);
        h ^= k;
        h = h.wrapping_mul(MURMUR_M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        h ^= le_u64(tail);
        h = h.wrapping_mul(MURMUR_M);
    }
    h ^= h >> MURMUR_R;
    h = h.wrapping_mul(MURMUR_M);
    h ^ (h >> MURMUR_R)
}

/// Up to eight bytes as a little-endian integer, missing high bytes being zero.
fn le_u64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |acc, &b| (acc << 8) | u64::from(b))
}

/// The register `element` falls into and the run it proposes for that register.
pub(super) fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, HLL_SEED);
    // Lossless: the mask keeps 14 bits.
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> INDEX_BITS) | (1u64 << RUN_BITS);
    // Lossless: at most 50 trailing zeros because of the sentinel bit.
    let run = rest.trailing_zeros() as u8 + 1;
    (index, run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_u64_pads_short_tails_with_zero_high_bytes() {
        assert_eq!(le_u64(&[0x01, 0x02, 0x03]), 0x0003_0201);
        assert_eq!(le_u64(&[]), 0);
        assert_eq!(le_u64(&[1, 0, 0, 0, 0, 0, 0, 0x80]), 0x8000_0000_0000_0001);
    }

    #[test]
    fn murmur_changes_with_every_input_length() {
        // One value per tail length 0..=7 plus a full block and a block with a tail:
        // the hashes must all differ (each branch of the tail handling is exercised).
        let data = b"0123456789abcdef";
        let hashes: Vec<u64> = (0..=data.len())
            .map(|n| murmur64a(&data[..n], HLL_SEED))
            .collect();
        let mut sorted = hashes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), hashes.len());
    }

    #[test]
    fn patterns_match_redis_server() {
        // Read off redis-server 7.0: `PFADD k <elem>` then `GET k` shows one XZERO
        // opcode (the registers before ours) and one VAL opcode (our run).
        assert_eq!(pattern(b"a"), (12711, 2));
        assert_eq!(pattern(b"b"), (15780, 1));
        assert_eq!(pattern(b"c"), (8436, 1));
        assert_eq!(pattern(b""), (5938, 2));
        // 19 bytes: two full blocks and a three-byte tail.
        assert_eq!(pattern(b"hello world, longer"), (9042, 5));
    }

    #[test]
    fn runs_stay_within_the_sentinel_bound() {
        for i in 0..10_000u32 {
            let (index, run) = pattern(&i.to_le_bytes());
            assert!(index < REGISTERS);
            assert!((1..=51).contains(&run));
        }
    }
}
