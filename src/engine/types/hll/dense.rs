//! The dense encoding: 16384 registers of 6 bits packed into 12288 bytes.
//!
//! Register `i` occupies bits `6i .. 6i+6` of the byte string, counting bits from
//! the least significant of each byte upwards (so a register may straddle two
//! bytes, its low bits in the high part of the first). This is redis-server's
//! layout; the last register ends two bits short of the final byte's end.

use super::REGISTERS;

/// Bits per dense register.
const REGISTER_BITS: usize = 6;
/// The largest value a dense register holds.
const REGISTER_MAX: u8 = (1 << REGISTER_BITS) - 1;
/// Size of the dense register array in bytes.
pub(super) const DENSE_BYTES: usize = REGISTERS * REGISTER_BITS / 8;

/// The byte a register starts in and its bit offset inside that byte.
fn position(index: usize) -> (usize, usize) {
    let bit = index * REGISTER_BITS;
    (bit / 8, bit % 8)
}

/// The value of register `index`.
pub(super) fn get(registers: &[u8], index: usize) -> u8 {
    let (byte, shift) = position(index);
    let low = u16::from(registers[byte]);
    let high = u16::from(registers.get(byte + 1).copied().unwrap_or(0));
    // Lossless: masked to 6 bits.
    (((low | (high << 8)) >> shift) as u8) & REGISTER_MAX
}

/// Sets register `index` to `value` (which must fit in 6 bits).
fn set(registers: &mut [u8], index: usize, value: u8) {
    let (byte, shift) = position(index);
    let value = u16::from(value & REGISTER_MAX) << shift;
    let mask = u16::from(REGISTER_MAX) << shift;
    // Lossless truncations: each byte takes its own 8 bits of the 16-bit window.
    registers[byte] = (registers[byte] & !(mask as u8)) | value as u8;
    if let Some(next) = registers.get_mut(byte + 1) {
        *next = (*next & !((mask >> 8) as u8)) | (value >> 8) as u8;
    }
}

/// Raises register `index` to `value` if it is lower; true if it changed.
pub(super) fn raise(registers: &mut [u8], index: usize, value: u8) -> bool {
    if get(registers, index) >= value {
        return false;
    }
    set(registers, index, value);
    true
}

/// Calls `visit(first_register, run_length, value)` for every register.
pub(super) fn for_each_run(registers: &[u8], mut visit: impl FnMut(usize, usize, u8)) {
    for index in 0..REGISTERS {
        visit(index, 1, get(registers, index));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_are_independent_across_byte_boundaries() {
        let mut regs = vec![0u8; DENSE_BYTES];
        // Every value at every bit offset, with neighbours set to all ones first and
        // then zero, so a leak into a neighbour would show.
        for index in 1..9 {
            for value in 0..=REGISTER_MAX {
                set(&mut regs, index - 1, REGISTER_MAX);
                set(&mut regs, index + 1, REGISTER_MAX);
                set(&mut regs, index, value);
                assert_eq!(get(&regs, index), value);
                assert_eq!(get(&regs, index - 1), REGISTER_MAX);
                assert_eq!(get(&regs, index + 1), REGISTER_MAX);
                set(&mut regs, index - 1, 0);
                set(&mut regs, index + 1, 0);
                assert_eq!(get(&regs, index), value);
            }
        }
    }

    #[test]
    fn layout_is_little_endian_bit_packing() {
        let mut regs = vec![0u8; DENSE_BYTES];
        set(&mut regs, 0, 0b11_0001);
        set(&mut regs, 1, 0b10_1010);
        // Register 0 fills bits 0..6 of byte 0; register 1 has its low two bits in
        // bits 6..8 of byte 0 and its high four bits in bits 0..4 of byte 1.
        assert_eq!(regs[0], 0b1011_0001);
        assert_eq!(regs[1], 0b0000_1010);
    }

    #[test]
    fn last_register_fits_in_the_last_byte() {
        let mut regs = vec![0u8; DENSE_BYTES];
        set(&mut regs, REGISTERS - 1, REGISTER_MAX);
        assert_eq!(regs[DENSE_BYTES - 1], 0b1111_1100);
        assert_eq!(get(&regs, REGISTERS - 1), REGISTER_MAX);
        assert_eq!(get(&regs, REGISTERS - 2), 0);
    }

    #[test]
    fn raise_only_ever_increases() {
        let mut regs = vec![0u8; DENSE_BYTES];
        assert!(raise(&mut regs, 7, 3));
        assert!(!raise(&mut regs, 7, 3));
        assert!(!raise(&mut regs, 7, 2));
        assert!(raise(&mut regs, 7, 4));
        assert_eq!(get(&regs, 7), 4);
    }
}
