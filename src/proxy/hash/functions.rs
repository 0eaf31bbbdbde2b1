//! The twelve hash algorithms behind [`super::HashKind`], one function each.
//!
//! Written from twemproxy's observable behaviour (its results on real keys)
//! and the published algorithms; see the parent module for the quirks kept.

/// A byte read through x86-64's signed `char` and widened to 32 bits.
fn signed(byte: u8) -> u32 {
    byte as i8 as u32
}

pub(super) fn one_at_a_time(key: &[u8]) -> u32 {
    let mut h = 0u32;
    for &b in key {
        h = h.wrapping_add(signed(b));
        h = h.wrapping_add(h << 10);
        h ^= h >> 6;
    }
    h = h.wrapping_add(h << 3);
    h ^= h >> 11;
    h.wrapping_add(h << 15)
}

/// The XMODEM CRC-16 table (polynomial 0x1021, not reflected).
const CRC16_TABLE: [u32; 256] = crc16_table();

const fn crc16_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u32) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc & 0xffff;
        i += 1;
    }
    table
}

pub(super) fn crc16(key: &[u8]) -> u32 {
    // The state is 32 bits wide and never masked: bits shifted past 16 stay.
    key.iter().fold(0u32, |crc, &b| {
        (crc << 8) ^ CRC16_TABLE[(((crc >> 8) ^ u32::from(b)) & 0xff) as usize]
    })
}

pub(super) const FNV64_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
pub(super) const FNV64_PRIME: u64 = 0x0000_0100_0000_01b3;
pub(super) const FNV32_OFFSET: u32 = 0x811c_9dc5;
pub(super) const FNV32_PRIME: u32 = 0x0100_0193;

pub(super) fn fnv1_64(key: &[u8]) -> u32 {
    let h = key.iter().fold(FNV64_OFFSET, |h, &b| {
        h.wrapping_mul(FNV64_PRIME) ^ (b as i8 as u64)
    });
    h as u32
}

pub(super) fn fnv1_32(key: &[u8]) -> u32 {
    key.iter().fold(FNV32_OFFSET, |h, &b| {
        h.wrapping_mul(FNV32_PRIME) ^ signed(b)
    })
}

/// FNV-1a over a 32-bit state (used by both `fnv1a_32` and `fnv1a_64`).
pub(super) fn fnv1a_32bit(key: &[u8], offset: u32, prime: u32) -> u32 {
    key.iter()
        .fold(offset, |h, &b| (h ^ signed(b)).wrapping_mul(prime))
}

/// Two key bytes as a little-endian unsigned 16-bit value.
fn le16(bytes: &[u8]) -> u32 {
    u32::from(bytes[0]) | (u32::from(bytes[1]) << 8)
}

pub(super) fn hsieh(key: &[u8]) -> u32 {
    if key.is_empty() {
        return 0;
    }
    let mut chunks = key.chunks_exact(4);
    let mut h = 0u32;
    for chunk in &mut chunks {
        h = h.wrapping_add(le16(&chunk[..2]));
        let tmp = (le16(&chunk[2..]) << 11) ^ h;
        h = (h << 16) ^ tmp;
        h = h.wrapping_add(h >> 11);
    }
    h = hsieh_tail(h, chunks.remainder());
    h ^= h << 3;
    h = h.wrapping_add(h >> 5);
    h ^= h << 4;
    h = h.wrapping_add(h >> 17);
    h ^= h << 25;
    h.wrapping_add(h >> 6)
}

fn hsieh_tail(mut h: u32, tail: &[u8]) -> u32 {
    match *tail {
        [_, _, third] => {
            h = h.wrapping_add(le16(tail));
            h ^= h << 16;
            h ^= signed(third) << 18;
            h.wrapping_add(h >> 11)
        }
        [_, _] => {
            h = h.wrapping_add(le16(tail));
            h ^= h << 11;
            h.wrapping_add(h >> 17)
        }
        [only] => {
            h = h.wrapping_add(u32::from(only));
            h ^= h << 10;
            h.wrapping_add(h >> 1)
        }
        _ => h,
    }
}

/// Up to four bytes as a little-endian word, missing high bytes zero.
fn le_word(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .rev()
        .fold(0u32, |word, &b| (word << 8) | u32::from(b))
}

pub(super) fn murmur2(key: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    let len = key.len() as u32;
    let mut h = 0xdead_beef_u32.wrapping_mul(len) ^ len;
    let mut chunks = key.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = le_word(chunk).wrapping_mul(M);
        k ^= k >> 24;
        h = h.wrapping_mul(M) ^ k.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        h = (h ^ le_word(tail)).wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^ (h >> 15)
}

pub(super) fn jenkins_lookup3(key: &[u8]) -> u32 {
    let init = 0xdead_beef_u32
        .wrapping_add(key.len() as u32)
        .wrapping_add(13);
    if key.is_empty() {
        return init;
    }
    let mut s = [init; 3];
    // All blocks but the last are mixed; the last (1..=12 bytes, zero
    // padded) goes through the final mix.
    let last_start = (key.len() - 1) / 12 * 12;
    for block in key[..last_start].chunks_exact(12) {
        add_block(&mut s, block);
        jenkins_mix(&mut s);
    }
    add_block(&mut s, &key[last_start..]);
    jenkins_final(&mut s);
    s[2]
}

/// Adds up to 12 bytes to the state as three little-endian words.
fn add_block(s: &mut [u32; 3], block: &[u8]) {
    for (slot, word) in s.iter_mut().zip(block.chunks(4)) {
        *slot = slot.wrapping_add(le_word(word));
    }
}

fn jenkins_mix(s: &mut [u32; 3]) {
    let [mut a, mut b, mut c] = *s;
    a = a.wrapping_sub(c) ^ c.rotate_left(4);
    c = c.wrapping_add(b);
    b = b.wrapping_sub(a) ^ a.rotate_left(6);
    a = a.wrapping_add(c);
    c = c.wrapping_sub(b) ^ b.rotate_left(8);
    b = b.wrapping_add(a);
    a = a.wrapping_sub(c) ^ c.rotate_left(16);
    c = c.wrapping_add(b);
    b = b.wrapping_sub(a) ^ a.rotate_left(19);
    a = a.wrapping_add(c);
    c = c.wrapping_sub(b) ^ b.rotate_left(4);
    b = b.wrapping_add(a);
    *s = [a, b, c];
}

fn jenkins_final(s: &mut [u32; 3]) {
    let [mut a, mut b, mut c] = *s;
    c = (c ^ b).wrapping_sub(b.rotate_left(14));
    a = (a ^ c).wrapping_sub(c.rotate_left(11));
    b = (b ^ a).wrapping_sub(a.rotate_left(25));
    c = (c ^ b).wrapping_sub(b.rotate_left(16));
    a = (a ^ c).wrapping_sub(c.rotate_left(4));
    b = (b ^ a).wrapping_sub(a.rotate_left(14));
    c = (c ^ b).wrapping_sub(b.rotate_left(24));
    *s = [a, b, c];
}
