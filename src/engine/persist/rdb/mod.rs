//! Redis's RDB file format, as redis-server 7.0 writes it (version 10), and the
//! older encodings it still loads.
//!
//! A file is `REDIS0010`, then opcodes: auxiliary fields (`redis-ver`, `ctime`…),
//! per database a SELECTDB and a RESIZEDB hint, then each key as
//! `[EXPIRETIME_MS] type key value`, and finally EOF and a CRC-64 (Jones, the
//! `crc` crate's `CRC_64_REDIS`) of everything before it.
//!
//! - [`Encoder`] appends records to a byte buffer: pure and cheap to call
//!   under the keyspace lock, a bounded chunk at a time.
//! - [`RdbWriter`] streams those chunks to a file, keeping the running checksum,
//!   and writes the trailer.
//! - [`Decoder`] reads a file record by record into engine values; every error
//!   carries the byte offset where it was found.
//!
//! Lengths use Redis's variable encoding (6, 14, 32 or 64 bits). Strings are
//! stored as small integers when they are canonical ones, LZF-compressed past
//! 20 bytes when that saves at least 4, else plain. Aggregates follow the
//! value's in-memory encoding, as Redis does: listpacks for small hashes and
//! sorted sets, intsets for small integer sets, quicklists of listpacks for lists.

mod decode;
pub mod dump;
mod encode;
pub mod lzf;
pub mod packed;
#[cfg(test)]
mod tests;

pub use decode::{Decoder, Record};
pub use encode::{Encoder, RdbWriter};

use crc::{Crc, CRC_64_REDIS};

/// The version redis-server 7.0 writes.
pub const RDB_VERSION: u32 = 10;

/// Every file starts with this, then the version in four ASCII digits.
pub const MAGIC: &[u8; 5] = b"REDIS";

/// The checksum of RDB files and DUMP payloads.
pub static CRC64: Crc<u64> = Crc::<u64>::new(&CRC_64_REDIS);

/// Opcodes, in the byte where a value type would otherwise be.
pub(crate) mod op {
    pub(crate) const FUNCTION2: u8 = 245;
    pub(crate) const MODULE_AUX: u8 = 247;
    pub(crate) const IDLE: u8 = 248;
    pub(crate) const FREQ: u8 = 249;
    pub(crate) const AUX: u8 = 250;
    pub(crate) const RESIZEDB: u8 = 251;
    pub(crate) const EXPIRETIME_MS: u8 = 252;
    pub(crate) const EXPIRETIME: u8 = 253;
    pub(crate) const SELECTDB: u8 = 254;
    pub(crate) const EOF: u8 = 255;
}

/// Value types.
pub(crate) mod ty {
    pub(crate) const STRING: u8 = 0;
    pub(crate) const LIST: u8 = 1;
    pub(crate) const SET: u8 = 2;
    pub(crate) const ZSET: u8 = 3;
    pub(crate) const HASH: u8 = 4;
    pub(crate) const ZSET_2: u8 = 5;
    pub(crate) const HASH_ZIPMAP: u8 = 9;
    pub(crate) const LIST_ZIPLIST: u8 = 10;
    pub(crate) const SET_INTSET: u8 = 11;
    pub(crate) const ZSET_ZIPLIST: u8 = 12;
    pub(crate) const HASH_ZIPLIST: u8 = 13;
    pub(crate) const LIST_QUICKLIST: u8 = 14;
    pub(crate) const HASH_LISTPACK: u8 = 16;
    pub(crate) const ZSET_LISTPACK: u8 = 17;
    pub(crate) const LIST_QUICKLIST_2: u8 = 18;
    pub(crate) const SET_LISTPACK: u8 = 20;
}

/// Special string encodings (a length whose top two bits are `11`).
pub(crate) mod enc {
    pub(crate) const INT8: u8 = 0;
    pub(crate) const INT16: u8 = 1;
    pub(crate) const INT32: u8 = 2;
    pub(crate) const LZF: u8 = 3;
}

/// A quicklist node holding a listpack (the other kind holds one plain element).
pub(crate) const QUICKLIST_PACKED: u64 = 2;
/// A quicklist node holding one element as a plain string.
pub(crate) const QUICKLIST_PLAIN: u64 = 1;

/// An RDB file or payload that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{kind} at offset {offset}")]
pub struct RdbError {
    /// Byte offset in the file where the problem was found.
    pub offset: u64,
    /// What is wrong.
    pub kind: RdbErrorKind,
}

/// What is wrong with an RDB file.
#[derive(Debug, thiserror::Error)]
pub enum RdbErrorKind {
    /// The underlying read failed.
    #[error("read error: {0}")]
    Io(#[source] std::io::Error),
    /// The file ends in the middle of a record.
    #[error("unexpected end of file")]
    Truncated,
    /// Not an RDB file.
    #[error("not an RDB file (no REDIS signature)")]
    BadMagic,
    /// A version newer than we understand.
    #[error("unsupported RDB version {0}")]
    Version(u32),
    /// A type or opcode we do not know or do not support.
    #[error("{0}")]
    Unsupported(String),
    /// Inconsistent content.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The trailer's checksum does not match the content.
    #[error("wrong checksum: file says {expected:016x}, content gives {actual:016x}")]
    Checksum {
        /// From the file.
        expected: u64,
        /// Computed.
        actual: u64,
    },
}
