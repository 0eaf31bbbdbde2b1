//! The sparse encoding: a run-length code of the registers, for small sets.
//!
//! Three opcodes, read left to right, cover the 16384 registers exactly:
//! - `00xxxxxx` ZERO: `x+1` registers (1..=64) at zero;
//! - `01xxxxxx yyyyyyyy` XZERO: `(x<<8 | y)+1` registers (1..=16384) at zero;
//! - `1vvvvvxx` VAL: `x+1` registers (1..=4) at value `v+1` (1..=32).
//!
//! Updates are made in place the way redis-server makes them (split the opcode
//! that covers the register, then merge equal neighbouring VALs in a short window),
//! because the resulting bytes are visible through GET and must be identical.

use super::{HllError, HEADER_LEN, REGISTERS};

/// The largest value a VAL opcode can carry; higher runs force the dense encoding.
pub(super) const VAL_MAX_VALUE: u8 = 32;
/// The longest run a VAL opcode can carry.
const VAL_MAX_RUN: usize = 4;
/// The longest run a one-byte ZERO opcode can carry.
const ZERO_MAX_RUN: usize = 64;
/// How many opcodes the post-update merge looks at, from the one before the update.
const MERGE_WINDOW: usize = 5;

/// One decoded opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Opcode {
    /// The registers' value: 0 for ZERO and XZERO.
    value: u8,
    /// How many registers it covers.
    run: usize,
    /// Its size in bytes.
    width: usize,
}

/// Decodes the opcode at the start of `bytes`; `None` if an XZERO is cut short.
fn decode(bytes: &[u8]) -> Option<Opcode> {
    let first = *bytes.first()?;
    let low = usize::from(first & 0x3f);
    Some(match first >> 6 {
        0b00 => Opcode {
            value: 0,
            run: low + 1,
            width: 1,
        },
        0b01 => Opcode {
            value: 0,
            run: (low << 8 | usize::from(*bytes.get(1)?)) + 1,
            width: 2,
        },
        _ => Opcode {
            value: ((first >> 2) & 0x1f) + 1,
            run: usize::from(first & 0b11) + 1,
            width: 1,
        },
    })
}

/// Appends the opcodes for `run` zero registers (`run` in `1..=16384`).
fn push_zeros(out: &mut Vec<u8>, run: usize) {
    let code = run - 1;
    if run > ZERO_MAX_RUN {
        // Lossless: `code < 2^14`, split into 6 high and 8 low bits.
        out.extend_from_slice(&[0x40 | (code >> 8) as u8, code as u8]);
    } else {
        // Lossless: `code < 64`.
        out.push(code as u8);
    }
}

/// The VAL opcode for `run` registers (1..=4) at `value` (1..=32).
fn val(value: u8, run: usize) -> u8 {
    // Lossless: `run - 1 < 4`.
    0x80 | ((value - 1) << 2) | (run - 1) as u8
}

/// The sparse body of an empty set: one XZERO covering every register.
pub(super) const EMPTY_BODY: [u8; 2] = [0x7f, 0xff];

/// Walks the body's opcodes, calling `visit(first_register, run, value)` for each.
///
/// # Errors
/// [`HllError::Corrupted`] if an opcode is cut short or the runs do not add up to
/// exactly 16384 registers.
pub(super) fn for_each_run(
    body: &[u8],
    mut visit: impl FnMut(usize, usize, u8),
) -> Result<(), HllError> {
    let mut pos = 0;
    let mut first = 0;
    while pos < body.len() {
        let op = decode(&body[pos..]).ok_or(HllError::Corrupted)?;
        if first + op.run > REGISTERS {
            return Err(HllError::Corrupted);
        }
        visit(first, op.run, op.value);
        first += op.run;
        pos += op.width;
    }
    if first == REGISTERS {
        Ok(())
    } else {
        Err(HllError::Corrupted)
    }
}

/// What [`set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SetOutcome {
    /// The register already held at least that value.
    Unchanged,
    /// The register was raised in place.
    Updated,
    /// The value does not fit the sparse encoding or the string would outgrow
    /// `max_bytes`: the caller must convert to dense and set it there.
    Promote,
}

/// Where the opcode covering a register sits.
#[derive(Debug)]
struct Located {
    /// Byte offset of the opcode in the body.
    pos: usize,
    /// Byte offset of the opcode before it, if any.
    prev: Option<usize>,
    /// The first register the opcode covers.
    first: usize,
    op: Opcode,
}

/// Finds the opcode covering register `index`; `None` only for a corrupt body.
fn locate(body: &[u8], index: usize) -> Option<Located> {
    let (mut pos, mut prev, mut first) = (0, None, 0);
    loop {
        let op = decode(body.get(pos..)?)?;
        if index < first + op.run {
            return Some(Located {
                pos,
                prev,
                first,
                op,
            });
        }
        prev = Some(pos);
        pos += op.width;
        first += op.run;
    }
}

/// Raises register `index` to `value` in the sparse string `hll` (header included),
/// keeping the whole string within `max_bytes` when it has to grow.
pub(super) fn set(hll: &mut Vec<u8>, index: usize, value: u8, max_bytes: usize) -> SetOutcome {
    if value > VAL_MAX_VALUE {
        return SetOutcome::Promote;
    }
    let Some(at) = locate(&hll[HEADER_LEN..], index) else {
        debug_assert!(false, "sparse HLL validated on load yet corrupt");
        return SetOutcome::Unchanged;
    };
    if at.op.value >= value {
        return SetOutcome::Unchanged;
    }
    let replacement = split(&at, index, value);
    let growth = replacement.len().saturating_sub(at.op.width);
    if growth > 0 && hll.len() + growth > max_bytes {
        return SetOutcome::Promote;
    }
    let start = HEADER_LEN + at.pos;
    hll.splice(start..start + at.op.width, replacement);
    merge_equal_vals(hll, HEADER_LEN + at.prev.unwrap_or(0));
    SetOutcome::Updated
}

/// The opcodes replacing `at.op` once register `index` is raised to `value`: the
/// registers before it, the one-register VAL, the registers after it.
fn split(at: &Located, index: usize, value: u8) -> Vec<u8> {
    let before = index - at.first;
    let after = at.first + at.op.run - 1 - index;
    let mut out = Vec::with_capacity(5);
    let push_run = |out: &mut Vec<u8>, run: usize| {
        if run == 0 {
            return;
        }
        match at.op.value {
            0 => push_zeros(out, run),
            old => out.push(val(old, run)),
        }
    };
    push_run(&mut out, before);
    out.push(val(value, 1));
    push_run(&mut out, after);
    out
}

/// Merges neighbouring VAL opcodes of equal value whose runs fit one opcode,
/// scanning [`MERGE_WINDOW`] opcodes from byte `pos` of `hll`.
fn merge_equal_vals(hll: &mut Vec<u8>, mut pos: usize) {
    for _ in 0..MERGE_WINDOW {
        let Some(op) = hll.get(pos..).and_then(decode) else {
            return;
        };
        if op.value != 0 {
            let next = hll.get(pos + 1..).and_then(decode);
            if let Some(next) =
                next.filter(|n| n.value == op.value && n.run + op.run <= VAL_MAX_RUN)
            {
                hll[pos + 1] = val(op.value, op.run + next.run);
                hll.remove(pos);
                // Stay put: the merged opcode may merge again with its right neighbour.
                continue;
            }
        }
        pos += op.width;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(body: &[u8]) -> Result<Vec<(usize, usize, u8)>, HllError> {
        let mut out = Vec::new();
        for_each_run(body, |first, run, value| out.push((first, run, value)))?;
        Ok(out)
    }

    fn with_header(body: &[u8]) -> Vec<u8> {
        let mut hll = vec![0u8; HEADER_LEN];
        hll.extend_from_slice(body);
        hll
    }

    #[test]
    fn opcodes_decode_at_their_bounds() {
        assert_eq!(
            decode(&[0x00]),
            Some(Opcode {
                value: 0,
                run: 1,
                width: 1
            })
        );
        assert_eq!(
            decode(&[0x3f]),
            Some(Opcode {
                value: 0,
                run: 64,
                width: 1
            })
        );
        assert_eq!(
            decode(&[0x40, 0x00]),
            Some(Opcode {
                value: 0,
                run: 1,
                width: 2
            })
        );
        assert_eq!(
            decode(&[0x7f, 0xff]),
            Some(Opcode {
                value: 0,
                run: 16384,
                width: 2
            })
        );
        assert_eq!(
            decode(&[0x80]),
            Some(Opcode {
                value: 1,
                run: 1,
                width: 1
            })
        );
        assert_eq!(
            decode(&[0xff]),
            Some(Opcode {
                value: 32,
                run: 4,
                width: 1
            })
        );
        assert_eq!(decode(&[0x7f]), None);
        assert_eq!(decode(&[]), None);
    }

    #[test]
    fn zero_runs_pick_the_short_opcode_up_to_64() {
        let mut out = Vec::new();
        push_zeros(&mut out, 64);
        push_zeros(&mut out, 65);
        push_zeros(&mut out, REGISTERS);
        assert_eq!(out, [0x3f, 0x40, 0x40, 0x7f, 0xff]);
        assert_eq!(runs(&EMPTY_BODY), Ok(vec![(0, REGISTERS, 0)]));
    }

    #[test]
    fn bodies_that_do_not_cover_16384_registers_are_corrupt() {
        let cases: [&[u8]; 6] = [
            &[],                       // nothing at all
            &[0x7f, 0xfe],             // 16383 registers
            &[0x7f, 0xff, 0x80],       // 16385
            &[0x7f, 0xfe, 0x40],       // XZERO cut short
            &[0x7f, 0xfc, 0xff],       // VAL of 4 overflowing by 1
            &[0x7f, 0xff, 0x7f, 0xff], // twice the registers
        ];
        for body in cases {
            assert_eq!(runs(body), Err(HllError::Corrupted), "{body:02x?}");
        }
        assert_eq!(
            runs(&[0x7f, 0xfe, 0x80]),
            Ok(vec![(0, 16383, 0), (16383, 1, 1)])
        );
    }

    #[test]
    fn raising_a_zero_run_splits_it_in_three() {
        let mut hll = with_header(&EMPTY_BODY);
        assert_eq!(set(&mut hll, 100, 3, 3000), SetOutcome::Updated);
        assert_eq!(&hll[HEADER_LEN..], [0x40, 0x63, 0x88, 0x7f, 0x9a]);
        assert_eq!(
            runs(&hll[HEADER_LEN..]),
            Ok(vec![(0, 100, 0), (100, 1, 3), (101, 16283, 0)])
        );
        assert_eq!(set(&mut hll, 100, 3, 3000), SetOutcome::Unchanged);
        assert_eq!(set(&mut hll, 100, 2, 3000), SetOutcome::Unchanged);
    }

    #[test]
    fn neighbouring_equal_vals_merge() {
        let mut hll = with_header(&EMPTY_BODY);
        for index in [10, 11, 12] {
            assert_eq!(set(&mut hll, index, 2, 3000), SetOutcome::Updated);
        }
        assert_eq!(
            runs(&hll[HEADER_LEN..]),
            Ok(vec![(0, 10, 0), (10, 3, 2), (13, 16371, 0)])
        );
        assert_eq!(&hll[HEADER_LEN..], [0x09, val(2, 3), 0x7f, 0xf2]);
    }

    #[test]
    fn raising_inside_a_val_run_splits_it() {
        let mut hll = with_header(&[0x7f, 0xfb, val(1, 3), 0x00]);
        assert_eq!(set(&mut hll, 16381, 5, 3000), SetOutcome::Updated);
        assert_eq!(
            &hll[HEADER_LEN..],
            [0x7f, 0xfb, val(1, 1), val(5, 1), val(1, 1), 0x00]
        );
    }

    #[test]
    fn growth_past_the_limit_or_large_values_promote() {
        let mut hll = with_header(&EMPTY_BODY);
        let limit = hll.len() + 2;
        assert_eq!(set(&mut hll, 100, 33, 3000), SetOutcome::Promote);
        assert_eq!(set(&mut hll, 100, 1, limit), SetOutcome::Promote);
        assert_eq!(
            hll,
            with_header(&EMPTY_BODY),
            "nothing written before promotion"
        );
        assert_eq!(set(&mut hll, 0, 1, limit), SetOutcome::Updated); // grows by 1 only
    }
}
