//! Reading bits out of byte strings: one bit, population counts and searches
//! over inclusive ranges of bit positions (bit 0 = most significant bit of byte 0).
//! Whole bytes in the middle of a range go eight at a time.

/// Bit `offset`, 0 beyond the end.
pub(super) fn bit(bytes: &[u8], offset: u64) -> bool {
    bytes
        .get((offset >> 3) as usize)
        .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// The bits `first..=last` of the byte at `index` that lie in the range, as a mask.
fn edge_mask(index: u64, first: u64, last: u64) -> u8 {
    let lo = if index == first >> 3 { first & 7 } else { 0 };
    let hi = if index == last >> 3 { last & 7 } else { 7 };
    (0xffu8 >> lo) & (0xffu8 << (7 - hi))
}

/// Number of set bits among positions `first..=last` (within the string).
pub(super) fn count_ones(bytes: &[u8], first: u64, last: u64) -> u64 {
    let (lo, hi) = (first >> 3, last >> 3);
    let edges = |i: u64| u64::from((bytes[i as usize] & edge_mask(i, first, last)).count_ones());
    if lo == hi {
        return edges(lo);
    }
    let middle = &bytes[(lo + 1) as usize..hi as usize];
    let mut chunks = middle.chunks_exact(8);
    let mut count: u64 = chunks
        .by_ref()
        .map(|c| u64::from(u64::from_ne_bytes(c.try_into().unwrap_or_default()).count_ones()))
        .sum();
    count += chunks
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>();
    count + edges(lo) + edges(hi)
}

/// The first position in `first..=last` (within the string) whose bit is `wanted`.
pub(super) fn position(bytes: &[u8], wanted: bool, first: u64, last: u64) -> Option<u64> {
    let skip = if wanted { 0x00 } else { 0xff };
    let (lo, hi) = (first >> 3, last >> 3);
    let mut i = lo;
    while i <= hi {
        // Skip runs of uninteresting whole bytes eight at a time.
        if i > lo && i + 8 <= hi {
            let word = &bytes[i as usize..i as usize + 8];
            if word.iter().all(|&b| b == skip) {
                i += 8;
                continue;
            }
        }
        let mask = edge_mask(i, first, last);
        let byte = bytes[i as usize];
        let hits = if wanted { byte & mask } else { !byte & mask };
        if hits != 0 {
            return Some(i * 8 + u64::from(hits.leading_zeros()));
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_count(bytes: &[u8], first: u64, last: u64) -> u64 {
        (first..=last).filter(|&i| bit(bytes, i)).count() as u64
    }

    fn naive_position(bytes: &[u8], wanted: bool, first: u64, last: u64) -> Option<u64> {
        (first..=last).find(|&i| bit(bytes, i) == wanted)
    }

    #[test]
    fn agrees_with_bit_by_bit() {
        let mut bytes: Vec<u8> = (0..40u32).map(|i| (i * 37 % 256) as u8).collect();
        bytes[5..30].fill(0xff);
        let bits = bytes.len() as u64 * 8;
        for first in (0..bits).step_by(3) {
            for last in (first..bits).step_by(5) {
                assert_eq!(
                    count_ones(&bytes, first, last),
                    naive_count(&bytes, first, last)
                );
                for wanted in [false, true] {
                    assert_eq!(
                        position(&bytes, wanted, first, last),
                        naive_position(&bytes, wanted, first, last),
                        "{wanted} in {first}..={last}"
                    );
                }
            }
        }
    }

    #[test]
    fn foobar() {
        assert_eq!(count_ones(b"foobar", 0, 47), 26);
        assert_eq!(count_ones(b"foobar", 8, 15), 6);
        assert_eq!(count_ones(b"foobar", 5, 30), 17);
        assert_eq!(position(b"\xff\xf0\x00", false, 0, 23), Some(12));
        assert_eq!(position(b"\x00\x00\x01", true, 0, 23), Some(23));
        assert!(!bit(b"", 100));
    }
}
