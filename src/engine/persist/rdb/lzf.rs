//! LZF, the small compression format RDB files use for long strings.
//!
//! A stream of items, each led by a control byte `c`:
//! - `c < 32`: a literal run of `c + 1` bytes follows;
//! - otherwise a back-reference: length `(c >> 5) + 2` (when `c >> 5 == 7`, one
//!   more byte is added to the length), offset `((c & 31) << 8 | next byte) + 1`
//!   counted back from the end of the output.
//!
//! Written here rather than taken from a crate: the `lzf` crate is deprecated
//! upstream, and both directions fit in a page of safe code.

/// Largest back-reference offset (13 bits, plus one).
const MAX_OFFSET: usize = 1 << 13;
/// Longest back-reference: 2 + 7 + 255 bytes.
const MAX_MATCH: usize = 264;
/// Longest literal run.
const MAX_LITERAL: usize = 32;
/// Bits of the match-finder's hash table.
const HASH_BITS: u32 = 14;

/// The most output one input byte can produce (a 3-byte reference to 264 bytes),
/// so a declared length above `88 × compressed` is a lie, not a big value.
pub const MAX_RATIO: usize = MAX_MATCH.div_ceil(3);

/// Compresses `input`; `None` unless the result is shorter than `limit` bytes
/// (RDB stores a string plain when compressing would not save enough).
pub fn compress(input: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(limit);
    let mut table = vec![u32::MAX; 1 << HASH_BITS];
    let (mut i, mut literal_start) = (0, 0);
    while i + 2 < input.len() {
        let slot = &mut table[hash(&input[i..i + 3])];
        let candidate = std::mem::replace(slot, i as u32) as usize;
        let found = candidate < i
            && i - candidate <= MAX_OFFSET
            && input[candidate..candidate + 3] == input[i..i + 3];
        if !found {
            i += 1;
            continue;
        }
        push_literals(&mut out, &input[literal_start..i]);
        let max = (input.len() - i).min(MAX_MATCH);
        let len = (3..max)
            .find(|&n| input[candidate + n] != input[i + n])
            .unwrap_or(max);
        push_reference(&mut out, i - candidate - 1, len);
        i += len;
        literal_start = i;
        if out.len() >= limit {
            return None;
        }
    }
    push_literals(&mut out, &input[literal_start..]);
    (out.len() < limit).then_some(out)
}

fn hash(three: &[u8]) -> usize {
    let v = u32::from(three[0]) << 16 | u32::from(three[1]) << 8 | u32::from(three[2]);
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

fn push_literals(out: &mut Vec<u8>, literals: &[u8]) {
    for run in literals.chunks(MAX_LITERAL) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

fn push_reference(out: &mut Vec<u8>, offset: usize, len: usize) {
    let high = (offset >> 8) as u8;
    let code = len - 2;
    if code < 7 {
        out.push(high | (code as u8) << 5);
    } else {
        out.push(high | 7 << 5);
        out.push((code - 7) as u8);
    }
    out.push(offset as u8);
}

/// Decompresses `input` into exactly `len` bytes.
///
/// # Errors
/// A description of the first inconsistency: a reference before the start, a
/// truncated item, or an output of another length.
pub fn decompress(input: &[u8], len: usize) -> Result<Vec<u8>, &'static str> {
    if len > input.len().saturating_mul(MAX_RATIO) {
        return Err("LZF length larger than the data can hold");
    }
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    let byte = |at: usize| input.get(at).copied().ok_or("truncated LZF data");
    while i < input.len() {
        let ctrl = usize::from(input[i]);
        i += 1;
        if ctrl < MAX_LITERAL {
            let run = input.get(i..i + ctrl + 1).ok_or("truncated LZF literal")?;
            if out.len() + run.len() > len {
                return Err("LZF data longer than declared");
            }
            out.extend_from_slice(run);
            i += run.len();
            continue;
        }
        let mut n = ctrl >> 5;
        if n == 7 {
            n += usize::from(byte(i)?);
            i += 1;
        }
        let offset = ((ctrl & 31) << 8 | usize::from(byte(i)?)) + 1;
        i += 1;
        n += 2;
        if offset > out.len() {
            return Err("LZF reference before the start");
        }
        if out.len() + n > len {
            return Err("LZF data longer than declared");
        }
        let from = out.len() - offset;
        for k in 0..n {
            out.push(out[from + k]);
        }
    }
    if out.len() != len {
        return Err("LZF data shorter than declared");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repetitive_text_shrinks_and_comes_back() {
        let text = b"hello hello hello hello hello hello world world world".repeat(20);
        let packed = compress(&text, text.len()).unwrap();
        assert!(packed.len() < text.len() / 4);
        assert_eq!(decompress(&packed, text.len()).unwrap(), text);
    }

    #[test]
    fn incompressible_input_is_refused() {
        assert_eq!(compress(b"abcdefghij", 6), None);
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        assert!(decompress(&[0x20, 0x00], 10).is_err()); // reference before start
        assert!(decompress(&[5, b'a'], 6).is_err()); // truncated literal
        assert!(decompress(&[0, b'a'], 1 << 40).is_err()); // absurd length
        assert!(decompress(&[0, b'a'], 2).is_err()); // shorter than declared
        assert!(decompress(&[0xE0], 100).is_err()); // truncated reference
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(0u8..4, 0..3000)) {
            if let Some(packed) = compress(&data, data.len() + 64) {
                prop_assert_eq!(decompress(&packed, data.len()).unwrap(), data);
            }
        }

        #[test]
        fn decompress_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), len in 0usize..2000) {
            let _ = decompress(&data, len);
        }
    }
}
