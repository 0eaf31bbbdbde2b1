//! Writing RDB: [`Encoder`] turns records into bytes, [`RdbWriter`] streams them
//! to a file with the running checksum.

use bytes::Bytes;
use crc::{Digest, Table};
use std::collections::VecDeque;
use std::io::{self, Write};

use super::packed::{intset, ListpackBuilder};
use super::{enc, lzf, op, ty, MAGIC, QUICKLIST_PACKED, RDB_VERSION};
use crate::engine::db::UnixMs;
use crate::engine::types::hash::HashValue;
use crate::engine::types::set::SetValue;
use crate::engine::types::zset::ZSet;
use crate::engine::value::{parse_canonical_int, EncodingLimits, Str, Value};

/// Strings longer than this are tried with LZF (when compression is on).
const COMPRESS_MIN_LEN: usize = 20;
/// Bytes a quicklist node may hold when the configured fill counts entries.
const QUICKLIST_SAFETY_BYTES: usize = 8192;

/// Appends RDB records to a buffer.
///
/// Pure and allocation-light, so it can run under the keyspace lock on a
/// bounded chunk; [`take`](Self::take) hands the bytes to whoever writes them.
#[derive(Debug)]
pub struct Encoder {
    buf: Vec<u8>,
    compress: bool,
    limits: EncodingLimits,
}

impl Encoder {
    /// An encoder; `compress` is `rdbcompression`, `limits` size list nodes.
    pub fn new(compress: bool, limits: EncodingLimits) -> Encoder {
        Encoder {
            buf: Vec::new(),
            compress,
            limits,
        }
    }

    /// Bytes encoded and not yet taken.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing waits to be taken.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bytes encoded since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// The signature, version and auxiliary fields that open a file.
    pub fn header(&mut self, aux: &[(&str, &str)]) {
        self.buf.extend_from_slice(MAGIC);
        self.buf
            .extend_from_slice(format!("{RDB_VERSION:04}").as_bytes());
        for (key, value) in aux {
            self.buf.push(op::AUX);
            self.string(key.as_bytes());
            self.string(value.as_bytes());
        }
    }

    /// Starts database `db`, with its sizes as a hint for the loader.
    pub fn select_db(&mut self, db: usize, keys: usize, expires: usize) {
        self.buf.push(op::SELECTDB);
        self.len_of(db as u64);
        self.buf.push(op::RESIZEDB);
        self.len_of(keys as u64);
        self.len_of(expires as u64);
    }

    /// One key with its value and expiry.
    pub fn entry(&mut self, key: &[u8], value: &Value, expire_at: Option<UnixMs>) {
        if let Some(at) = expire_at {
            self.buf.push(op::EXPIRETIME_MS);
            self.buf.extend_from_slice(&at.to_le_bytes());
        }
        self.buf.push(type_of(value));
        self.string(key);
        self.value(value);
    }

    /// A value after its type byte, as a DUMP payload starts.
    pub fn value_with_type(&mut self, value: &Value) {
        self.buf.push(type_of(value));
        self.value(value);
    }

    /// A value without its type byte.
    pub fn value(&mut self, value: &Value) {
        match value {
            Value::Str(Str::Int(n)) => self.int_string(*n),
            Value::Str(Str::Raw(bytes)) => self.string(bytes),
            Value::List(list) => self.list(list),
            Value::Hash(hash) => self.hash(hash),
            Value::Set(set) => self.set(set),
            Value::ZSet(zset) => self.zset(zset),
        }
    }

    /// Redis's variable-length integer: 6, 14, 32 or 64 bits.
    fn len_of(&mut self, n: u64) {
        match n {
            0..=63 => self.buf.push(n as u8),
            64..=16383 => self
                .buf
                .extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]),
            _ if n <= u64::from(u32::MAX) => {
                self.buf.push(0x80);
                self.buf.extend_from_slice(&(n as u32).to_be_bytes());
            }
            _ => {
                self.buf.push(0x81);
                self.buf.extend_from_slice(&n.to_be_bytes());
            }
        }
    }

    /// A string: as a small integer when it is one, else as a blob.
    fn string(&mut self, s: &[u8]) {
        let small = s.len() <= 11 && parse_canonical_int(s).is_some_and(|n| self.small_int(n));
        if !small {
            self.blob(s);
        }
    }

    fn int_string(&mut self, n: i64) {
        if !self.small_int(n) {
            self.blob(itoa::Buffer::new().format(n).as_bytes());
        }
    }

    /// Writes `n` in an integer encoding if it fits 32 bits.
    fn small_int(&mut self, n: i64) -> bool {
        let special = |e: u8| 0xC0 | e;
        if let Ok(n) = i8::try_from(n) {
            self.buf.extend_from_slice(&[special(enc::INT8), n as u8]);
        } else if let Ok(n) = i16::try_from(n) {
            self.buf.push(special(enc::INT16));
            self.buf.extend_from_slice(&n.to_le_bytes());
        } else if let Ok(n) = i32::try_from(n) {
            self.buf.push(special(enc::INT32));
            self.buf.extend_from_slice(&n.to_le_bytes());
        } else {
            return false;
        }
        true
    }

    /// Bytes as they are, LZF-compressed when that saves at least 4 bytes.
    fn blob(&mut self, s: &[u8]) {
        if self.compress && s.len() > COMPRESS_MIN_LEN {
            if let Some(packed) = lzf::compress(s, s.len() - 3) {
                self.buf.push(0xC0 | enc::LZF);
                self.len_of(packed.len() as u64);
                self.len_of(s.len() as u64);
                self.buf.extend_from_slice(&packed);
                return;
            }
        }
        self.len_of(s.len() as u64);
        self.buf.extend_from_slice(s);
    }

    /// A quicklist of listpack nodes, each within `list-max-listpack-size`.
    fn list(&mut self, list: &VecDeque<Bytes>) {
        let max_entries = self.limits.list_max_listpack_entries;
        let max_bytes = match self.limits.list_max_listpack_bytes {
            usize::MAX => QUICKLIST_SAFETY_BYTES,
            bytes => bytes,
        };
        let mut nodes = Vec::new();
        let mut node = ListpackBuilder::new();
        for element in list {
            let full = node.len() >= max_entries || node.bytes() + element.len() > max_bytes;
            if full && !node.is_empty() {
                nodes.push(std::mem::take(&mut node).finish());
            }
            node.push(element);
        }
        if !node.is_empty() {
            nodes.push(node.finish());
        }
        self.len_of(nodes.len() as u64);
        for node in nodes {
            self.len_of(QUICKLIST_PACKED);
            self.blob(&node);
        }
    }

    fn hash(&mut self, hash: &HashValue) {
        match hash {
            HashValue::Pack(pairs) => {
                let mut lp = ListpackBuilder::new();
                for (field, value) in pairs {
                    lp.push(field);
                    lp.push(value);
                }
                self.blob(&lp.finish());
            }
            HashValue::Table(table) => {
                self.len_of(table.len() as u64);
                for (field, value) in table.iter() {
                    self.string(field);
                    self.string(value);
                }
            }
        }
    }

    fn set(&mut self, set: &SetValue) {
        match set {
            SetValue::Ints(ints) => self.blob(&intset(ints)),
            SetValue::Table(table) => {
                self.len_of(table.len() as u64);
                for (member, ()) in table.iter() {
                    self.string(member);
                }
            }
        }
    }

    fn zset(&mut self, zset: &ZSet) {
        if is_listpack(zset) {
            let mut lp = ListpackBuilder::new();
            for (member, score) in zset.iter() {
                lp.push(member);
                push_score(&mut lp, score);
            }
            self.blob(&lp.finish());
            return;
        }
        self.len_of(zset.len() as u64);
        // Highest first, as Redis writes them: each load is then an append.
        for (member, score) in zset.range_by_rank(0, -1, true) {
            self.string(member);
            self.buf.extend_from_slice(&score.to_le_bytes());
        }
    }
}

fn is_listpack(zset: &ZSet) -> bool {
    zset.encoding() == "listpack"
}

/// The RDB type byte of a value, following its in-memory encoding.
pub(crate) fn type_of(value: &Value) -> u8 {
    match value {
        Value::Str(_) => ty::STRING,
        Value::List(_) => ty::LIST_QUICKLIST_2,
        Value::Hash(HashValue::Pack(_)) => ty::HASH_LISTPACK,
        Value::Hash(HashValue::Table(_)) => ty::HASH,
        Value::Set(SetValue::Ints(_)) => ty::SET_INTSET,
        Value::Set(SetValue::Table(_)) => ty::SET,
        Value::ZSet(z) if is_listpack(z) => ty::ZSET_LISTPACK,
        Value::ZSet(_) => ty::ZSET_2,
    }
}

/// A listpack score as Redis stores it: an integer when it is a whole number
/// that fits, else the shortest text that reads back as the same double.
fn push_score(lp: &mut ListpackBuilder, score: f64) {
    const EXACT: f64 = (1u64 << 53) as f64;
    if score.fract() == 0.0 && score.abs() < EXACT {
        lp.push_int(score as i64);
    } else if score.is_infinite() {
        lp.push(if score > 0.0 { b"inf" } else { b"-inf" });
    } else {
        lp.push(ryu::Buffer::new().format_finite(score).as_bytes());
    }
}

type Crc64Digest = Digest<'static, u64, Table<16>>;

/// Streams encoded chunks to `out`, keeping the CRC-64 of all of them, and
/// closes the file with EOF and the checksum.
pub struct RdbWriter<W> {
    out: W,
    digest: Crc64Digest,
    written: u64,
}

impl<W> std::fmt::Debug for RdbWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RdbWriter")
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

/// The table-driven (16 bytes at a time) form of [`super::CRC64`], for files.
static CRC64_FAST: crc::Crc<u64, Table<16>> = crc::Crc::<u64, Table<16>>::new(&crc::CRC_64_REDIS);

impl<W: Write> RdbWriter<W> {
    /// A writer at the start of a file.
    pub fn new(out: W) -> RdbWriter<W> {
        RdbWriter {
            out,
            digest: CRC64_FAST.digest(),
            written: 0,
        }
    }

    /// Writes an encoded chunk.
    ///
    /// # Errors
    /// The underlying write's.
    pub fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.out.write_all(chunk)?;
        self.digest.update(chunk);
        self.written += chunk.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes EOF and the checksum (zero when `checksum` is off, as
    /// `rdbchecksum no` does), flushes, and returns the output.
    ///
    /// # Errors
    /// The underlying write's.
    pub fn finish(mut self, checksum: bool) -> io::Result<W> {
        self.write(&[op::EOF])?;
        let crc = if checksum { self.digest.finalize() } else { 0 };
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}
