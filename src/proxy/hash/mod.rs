//! Key hash functions, bit-exact with twemproxy 0.5 (nutcracker) on x86-64.
//!
//! A pool's `hash:` setting names one of twelve functions; the 32-bit value
//! it returns feeds the distribution ([`super::ring`]). To be a drop-in
//! replacement we must put every key on the server twemproxy would, so each
//! function here reproduces twemproxy's result, quirks included:
//!
//! - Several functions read key bytes through a C `char`, which is signed on
//!   x86-64: a byte ≥ 0x80 enters the arithmetic sign-extended (`0xff` becomes
//!   `0xffff_ffff`). That is `one_at_a_time`, the four FNV variants, and the
//!   third byte of a 3-byte tail in `hsieh`. (On ARM twemproxy itself gives
//!   other values for such keys; we follow the x86-64 build, the common one.)
//! - `fnv1a_64` is a 32-bit FNV-1a whose offset basis and prime are the 64-bit
//!   constants truncated to 32 bits; `fnv1_64` is a true 64-bit FNV-1,
//!   truncated to its low 32 bits at the end.
//! - `crc32` is libmemcached's: 15 bits (bits 16..31 of the CRC-32, masked to
//!   `0x7fff`); `crc32a` is the standard CRC-32.
//! - `crc16` is an XMODEM-table CRC whose 32-bit state is never cut to 16
//!   bits, so values above `0xffff` are normal.
//! - `hsieh` starts from 0 rather than the key length; `murmur` (MurmurHash2)
//!   seeds with `0xdeadbeef * len`; `jenkins` (lookup3) starts from
//!   `0xdeadbeef + len + 13`.
//!
//! An empty key is routed with hash 0 whatever the function
//! ([`HashKind::dispatch_hash`]); [`hash_tagged_key`] picks the part of a key
//! that is hashed when the pool has a `hash_tag`.

use std::fmt;
use std::str::FromStr;

use md5::{Digest, Md5};

mod functions;
#[cfg(test)]
mod tests;

use functions::{
    crc16, fnv1_32, fnv1_64, fnv1a_32bit, hsieh, jenkins_lookup3, murmur2, one_at_a_time,
    FNV32_OFFSET, FNV32_PRIME, FNV64_OFFSET, FNV64_PRIME,
};

/// One of twemproxy's twelve key hash functions (the pool's `hash:` key).
///
/// The default in twemproxy is [`HashKind::Fnv1a64`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashKind {
    /// `one_at_a_time`: Bob Jenkins' one-at-a-time hash, signed bytes.
    OneAtATime,
    /// `md5`: the first four digest bytes, little-endian.
    Md5,
    /// `crc16`: XMODEM table, 32-bit unmasked state.
    Crc16,
    /// `crc32`: libmemcached's 15-bit CRC-32.
    Crc32,
    /// `crc32a`: the standard CRC-32 (IEEE).
    Crc32a,
    /// `fnv1_64`: 64-bit FNV-1 truncated to 32 bits, signed bytes.
    Fnv1_64,
    /// `fnv1a_64`: 32-bit FNV-1a with truncated 64-bit constants, signed bytes.
    Fnv1a64,
    /// `fnv1_32`: 32-bit FNV-1, signed bytes.
    Fnv1_32,
    /// `fnv1a_32`: 32-bit FNV-1a, signed bytes.
    Fnv1a32,
    /// `hsieh`: Paul Hsieh's SuperFastHash starting from 0.
    Hsieh,
    /// `murmur`: MurmurHash2 seeded with `0xdeadbeef * len`.
    Murmur,
    /// `jenkins`: Bob Jenkins' lookup3 (`hashlittle`) with initval 13.
    Jenkins,
}

/// A `hash:` value that names no twemproxy hash function.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a valid hash")]
pub struct UnknownHash(pub String);

impl HashKind {
    /// Every hash kind, in twemproxy's declaration order.
    pub const ALL: [HashKind; 12] = [
        HashKind::OneAtATime,
        HashKind::Md5,
        HashKind::Crc16,
        HashKind::Crc32,
        HashKind::Crc32a,
        HashKind::Fnv1_64,
        HashKind::Fnv1a64,
        HashKind::Fnv1_32,
        HashKind::Fnv1a32,
        HashKind::Hsieh,
        HashKind::Murmur,
        HashKind::Jenkins,
    ];

    /// The name used in `nutcracker.yml` (`fnv1a_64`, `murmur`, …).
    pub const fn name(self) -> &'static str {
        match self {
            HashKind::OneAtATime => "one_at_a_time",
            HashKind::Md5 => "md5",
            HashKind::Crc16 => "crc16",
            HashKind::Crc32 => "crc32",
            HashKind::Crc32a => "crc32a",
            HashKind::Fnv1_64 => "fnv1_64",
            HashKind::Fnv1a64 => "fnv1a_64",
            HashKind::Fnv1_32 => "fnv1_32",
            HashKind::Fnv1a32 => "fnv1a_32",
            HashKind::Hsieh => "hsieh",
            HashKind::Murmur => "murmur",
            HashKind::Jenkins => "jenkins",
        }
    }

    /// Hashes `key` exactly as twemproxy's function of this kind does.
    ///
    /// This is the raw function; routing uses [`HashKind::dispatch_hash`],
    /// which maps the empty key to 0.
    ///
    /// ```
    /// use shardcar::proxy::hash::HashKind;
    ///
    /// // The value twemproxy's own test suite expects.
    /// assert_eq!(HashKind::Fnv1a64.hash(b"apple"), 1_488_911_807);
    /// ```
    pub fn hash(self, key: &[u8]) -> u32 {
        match self {
            HashKind::OneAtATime => one_at_a_time(key),
            HashKind::Md5 => md5_le_word(key, 0),
            HashKind::Crc16 => crc16(key),
            HashKind::Crc32 => (crc32fast::hash(key) >> 16) & 0x7fff,
            HashKind::Crc32a => crc32fast::hash(key),
            HashKind::Fnv1_64 => fnv1_64(key),
            HashKind::Fnv1a64 => fnv1a_32bit(key, FNV64_OFFSET as u32, FNV64_PRIME as u32),
            HashKind::Fnv1_32 => fnv1_32(key),
            HashKind::Fnv1a32 => fnv1a_32bit(key, FNV32_OFFSET, FNV32_PRIME),
            HashKind::Hsieh => hsieh(key),
            HashKind::Murmur => murmur2(key),
            HashKind::Jenkins => jenkins_lookup3(key),
        }
    }

    /// The hash twemproxy feeds to the distribution for `key`: 0 for the
    /// empty key, [`HashKind::hash`] otherwise.
    pub fn dispatch_hash(self, key: &[u8]) -> u32 {
        if key.is_empty() {
            0
        } else {
            self.hash(key)
        }
    }
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashKind {
    type Err = UnknownHash;

    /// Parses a `hash:` value; names are case-sensitive, as in twemproxy.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HashKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| UnknownHash(s.to_owned()))
    }
}

/// The part of `key` that is hashed when the pool's `hash_tag` is `tag`.
///
/// With a tag such as `{}`: the bytes between the first `{` and the first
/// `}` after it. The whole key is hashed when there is no tag, no opening
/// character, no closing character after it, or nothing between the two
/// (`{}` hashes the whole key, as in Redis Cluster).
pub fn hash_tagged_key(key: &[u8], tag: Option<[u8; 2]>) -> &[u8] {
    let Some([open, close]) = tag else {
        return key;
    };
    let Some(start) = memchr::memchr(open, key) else {
        return key;
    };
    let inner = &key[start + 1..];
    match memchr::memchr(close, inner) {
        Some(end) if end > 0 => &inner[..end],
        _ => key,
    }
}

/// The 16-byte MD5 digest of `data`.
pub(crate) fn md5_digest(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// Little-endian 32-bit word number `word` (0..4) of the MD5 digest of
/// `data`; twemproxy uses word 0 as the `md5` key hash and all four words
/// as ketama points.
pub(crate) fn md5_le_word(data: &[u8], word: usize) -> u32 {
    digest_word(&md5_digest(data), word)
}

/// Little-endian 32-bit word number `word` (0..4) of a digest.
pub(crate) fn digest_word(digest: &[u8; 16], word: usize) -> u32 {
    let at = word * 4;
    u32::from_le_bytes([digest[at], digest[at + 1], digest[at + 2], digest[at + 3]])
}
