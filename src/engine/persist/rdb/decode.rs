//! Reading RDB, record by record, into engine values.
//!
//! Every length read from the file is checked against the bytes left before
//! anything is allocated for it, so a corrupt or hostile file fails with an
//! error naming its offset instead of exhausting memory.

use bytes::Bytes;
use crc::{Digest, Table};
use std::collections::VecDeque;
use std::io::{self, Read};

use super::packed::{intset_members, listpack_entries, ziplist_entries, zipmap_entries};
use super::{enc, lzf, op, ty, RdbError, RdbErrorKind, MAGIC, QUICKLIST_PACKED, QUICKLIST_PLAIN};
use crate::engine::db::UnixMs;
use crate::engine::types::hash::HashValue;
use crate::engine::types::set::SetValue;
use crate::engine::types::zset::{parse_score, ListpackLimits, ZSet};
use crate::engine::value::{parse_canonical_int, EncodingLimits, Str, Value};

/// The newest version we read (7.2's; it adds listpack sets to 7.0's).
pub(super) const MAX_VERSION: u32 = 11;

/// What an RDB file holds, one item at a time.
#[derive(Debug)]
pub enum Record {
    /// An auxiliary field (`redis-ver`, `ctime`…).
    Aux(Bytes, Bytes),
    /// A key of database `db`.
    Key {
        /// Database index.
        db: usize,
        /// The key.
        key: Bytes,
        /// Its value, in the encoding the engine's limits choose.
        value: Value,
        /// Absolute expiry time, if any.
        expire_at: Option<UnixMs>,
    },
    /// A Redis function library, which the engine does not run.
    Function(Bytes),
}

/// A string as stored: an integer encoding or bytes.
enum Raw {
    Int(i64),
    Bytes(Vec<u8>),
}

impl Raw {
    fn into_bytes(self) -> Bytes {
        match self {
            Raw::Int(n) => Bytes::copy_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            Raw::Bytes(b) => Bytes::from(b),
        }
    }
}

type Crc64Digest = Digest<'static, u64, Table<16>>;
static CRC64_FAST: crc::Crc<u64, Table<16>> = crc::Crc::<u64, Table<16>>::new(&crc::CRC_64_REDIS);

/// Reads an RDB stream.
pub struct Decoder<R> {
    input: R,
    offset: u64,
    size: u64,
    digest: Crc64Digest,
    version: u32,
    limits: EncodingLimits,
    db: usize,
    done: bool,
}

impl<R> std::fmt::Debug for Decoder<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("offset", &self.offset)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

type Result<T> = std::result::Result<T, RdbError>;

impl<R: Read> Decoder<R> {
    /// Reads the header of a stream of `size` bytes; values are built with
    /// `limits` deciding their encodings.
    ///
    /// # Errors
    /// Not an RDB stream, or a version we cannot read.
    pub fn new(input: R, size: u64, limits: EncodingLimits) -> Result<Decoder<R>> {
        let mut d = Decoder {
            input,
            offset: 0,
            size,
            digest: CRC64_FAST.digest(),
            version: 0,
            limits,
            db: 0,
            done: false,
        };
        let mut head = [0u8; 9];
        d.read_exact(&mut head)
            .map_err(|_| d.error(RdbErrorKind::BadMagic))?;
        let version = std::str::from_utf8(&head[5..])
            .ok()
            .and_then(|v| v.parse::<u32>().ok());
        match version {
            _ if &head[..5] != MAGIC => return Err(d.at(0, RdbErrorKind::BadMagic)),
            Some(v @ 1..=MAX_VERSION) => d.version = v,
            Some(v) => return Err(d.at(5, RdbErrorKind::Version(v))),
            None => return Err(d.at(5, RdbErrorKind::BadMagic)),
        }
        Ok(d)
    }

    /// A decoder of one bare value (a DUMP payload's), written by an RDB of
    /// `version`: no header, no trailer.
    pub(super) fn bare(input: R, size: u64, limits: EncodingLimits, version: u32) -> Decoder<R> {
        Decoder {
            input,
            offset: 0,
            size,
            digest: CRC64_FAST.digest(),
            version,
            limits,
            db: 0,
            done: false,
        }
    }

    /// A type byte and the value it announces; `None` for an empty aggregate.
    pub(super) fn object(&mut self) -> Result<Option<Value>> {
        let kind = self.byte()?;
        self.value(kind, 0, b"")
    }

    /// The file's RDB version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next record; `None` after EOF and a matching checksum.
    ///
    /// # Errors
    /// The first problem met, with its offset.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        let mut expire_at = None;
        while !self.done {
            let start = self.offset;
            match self.byte()? {
                op::EOF => self.trailer()?,
                op::SELECTDB => self.db = self.len()? as usize,
                op::RESIZEDB => {
                    self.len()?;
                    self.len()?;
                }
                op::AUX => {
                    let key = self.string()?.into_bytes();
                    return Ok(Some(Record::Aux(key, self.string()?.into_bytes())));
                }
                op::FUNCTION2 => return Ok(Some(Record::Function(self.string()?.into_bytes()))),
                op::EXPIRETIME_MS => expire_at = Some(self.int_le::<8>()?),
                op::EXPIRETIME => expire_at = Some(self.int_le::<4>()? * 1000),
                op::IDLE => drop(self.len()?),
                op::FREQ => drop(self.byte()?),
                op::MODULE_AUX => return Err(self.unsupported(start, "module data")),
                kind => {
                    let key = self.string()?.into_bytes();
                    let value = self.value(kind, start, &key)?;
                    let Some(value) = value else {
                        expire_at = None;
                        continue;
                    };
                    let db = self.db;
                    return Ok(Some(Record::Key {
                        db,
                        key,
                        value,
                        expire_at,
                    }));
                }
            }
        }
        Ok(None)
    }

    fn trailer(&mut self) -> Result<()> {
        self.done = true;
        if self.version < 5 {
            return Ok(());
        }
        let actual = self.digest.clone().finalize();
        let mut crc = [0u8; 8];
        self.input
            .read_exact(&mut crc)
            .map_err(|e| self.io_error(e))?;
        let expected = u64::from_le_bytes(crc);
        if expected != 0 && expected != actual {
            return Err(self.error(RdbErrorKind::Checksum { expected, actual }));
        }
        self.offset += 8;
        Ok(())
    }

    fn error(&self, kind: RdbErrorKind) -> RdbError {
        self.at(self.offset, kind)
    }

    fn at(&self, offset: u64, kind: RdbErrorKind) -> RdbError {
        RdbError { offset, kind }
    }

    fn corrupt(&self, what: impl Into<String>) -> RdbError {
        self.error(RdbErrorKind::Corrupt(what.into()))
    }

    fn unsupported(&self, offset: u64, what: &str) -> RdbError {
        self.at(
            offset,
            RdbErrorKind::Unsupported(format!("{what} is not supported")),
        )
    }

    fn io_error(&self, err: io::Error) -> RdbError {
        match err.kind() {
            io::ErrorKind::UnexpectedEof => self.error(RdbErrorKind::Truncated),
            _ => self.error(RdbErrorKind::Io(err)),
        }
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        self.input.read_exact(buf).map_err(|e| self.io_error(e))?;
        self.digest.update(buf);
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn byte(&mut self) -> Result<u8> {
        let mut b = [0u8; 1];
        self.read_exact(&mut b)?;
        Ok(b[0])
    }

    fn int_le<const N: usize>(&mut self) -> Result<i64> {
        let mut b = [0u8; N];
        self.read_exact(&mut b)?;
        let mut wide = [0u8; 8];
        wide[..N].copy_from_slice(&b);
        let shift = 64 - 8 * N as u32;
        Ok(i64::from_le_bytes(wide) << shift >> shift)
    }

    fn remaining(&self) -> u64 {
        self.size.saturating_sub(self.offset)
    }

    /// `n` bytes, refused before allocating if the input cannot hold them.
    fn bytes(&mut self, n: u64) -> Result<Vec<u8>> {
        if n > self.remaining() {
            return Err(self.error(RdbErrorKind::Truncated));
        }
        let mut buf = vec![0u8; n as usize];
        self.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// A length, or the special encoding it announces (`Err(encoding)`).
    fn len_or_special(&mut self) -> Result<std::result::Result<u64, u8>> {
        let first = self.byte()?;
        Ok(Ok(match first >> 6 {
            0 => u64::from(first & 0x3F),
            1 => u64::from(first & 0x3F) << 8 | u64::from(self.byte()?),
            2 if first == 0x80 => self.int_be::<4>()?,
            2 if first == 0x81 => self.int_be::<8>()?,
            2 => return Err(self.corrupt(format!("unknown length prefix 0x{first:02x}"))),
            _ => return Ok(Err(first & 0x3F)),
        }))
    }

    fn int_be<const N: usize>(&mut self) -> Result<u64> {
        let mut b = [0u8; N];
        self.read_exact(&mut b)?;
        Ok(b.iter().fold(0, |acc, &x| acc << 8 | u64::from(x)))
    }

    fn len(&mut self) -> Result<u64> {
        self.len_or_special()?
            .map_err(|_| self.corrupt("an encoded string where a length belongs"))
    }

    /// A count of elements, each taking at least a byte of what is left.
    fn count(&mut self) -> Result<u64> {
        let n = self.len()?;
        if n > self.remaining() {
            return Err(self.corrupt(format!("{n} elements cannot fit in the rest of the file")));
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<Raw> {
        let special = match self.len_or_special()? {
            Ok(len) => return Ok(Raw::Bytes(self.bytes(len)?)),
            Err(special) => special,
        };
        Ok(match special {
            enc::INT8 => Raw::Int(self.int_le::<1>()?),
            enc::INT16 => Raw::Int(self.int_le::<2>()?),
            enc::INT32 => Raw::Int(self.int_le::<4>()?),
            enc::LZF => {
                let packed_len = self.len()?;
                let len = self.len()?;
                let packed = self.bytes(packed_len)?;
                let at = self.offset;
                let plain = lzf::decompress(&packed, len as usize)
                    .map_err(|why| self.at(at, RdbErrorKind::Corrupt(why.into())))?;
                Raw::Bytes(plain)
            }
            other => return Err(self.corrupt(format!("unknown string encoding {other}"))),
        })
    }

    /// `n` strings (a count already checked against the input's size).
    fn strings(&mut self, n: u64) -> Result<Vec<Bytes>> {
        (0..n).map(|_| Ok(self.string()?.into_bytes())).collect()
    }

    fn blob(&mut self) -> Result<Vec<u8>> {
        Ok(match self.string()? {
            Raw::Bytes(b) => b,
            Raw::Int(_) => return Err(self.corrupt("an integer where a packed blob belongs")),
        })
    }

    /// Runs a blob parser, turning its complaint into an error at this offset.
    fn unpack<T>(&mut self, parse: fn(&[u8]) -> std::result::Result<T, String>) -> Result<T> {
        let blob = self.blob()?;
        parse(&blob).map_err(|why| self.corrupt(why))
    }

    /// A value of type `kind`; `None` for an empty aggregate, which Redis skips too.
    fn value(&mut self, kind: u8, start: u64, key: &[u8]) -> Result<Option<Value>> {
        let value = match kind {
            ty::STRING => Value::Str(match self.string()? {
                Raw::Int(n) => Str::Int(n),
                Raw::Bytes(b) => match parse_canonical_int(&b) {
                    Some(n) => Str::Int(n),
                    None => Str::Raw(Bytes::from(b)),
                },
            }),
            ty::LIST => {
                let n = self.count()?;
                Value::List(self.strings(n)?.into())
            }
            ty::LIST_ZIPLIST => Value::List(self.unpack(ziplist_entries)?.into()),
            ty::LIST_QUICKLIST | ty::LIST_QUICKLIST_2 => self.quicklist(kind)?,
            ty::SET => {
                let n = self.count()?;
                let members = self.strings(n)?;
                self.set(members)?
            }
            ty::SET_INTSET => {
                let ints = self.unpack(intset_members)?;
                let members = ints.into_iter().map(|n| Raw::Int(n).into_bytes()).collect();
                self.set(members)?
            }
            ty::SET_LISTPACK => {
                let members = self.unpack(listpack_entries)?;
                self.set(members)?
            }
            ty::HASH => {
                let n = self.count()?;
                let items = self.strings(n * 2)?;
                self.hash(items)?
            }
            ty::HASH_ZIPMAP => {
                let items = self.unpack(zipmap_entries)?;
                self.hash(items)?
            }
            ty::HASH_ZIPLIST => {
                let items = self.unpack(ziplist_entries)?;
                self.hash(items)?
            }
            ty::HASH_LISTPACK => {
                let items = self.unpack(listpack_entries)?;
                self.hash(items)?
            }
            ty::ZSET | ty::ZSET_2 => self.zset_plain(kind)?,
            ty::ZSET_ZIPLIST => {
                let items = self.unpack(ziplist_entries)?;
                self.zset_packed(items)?
            }
            ty::ZSET_LISTPACK => {
                let items = self.unpack(listpack_entries)?;
                self.zset_packed(items)?
            }
            15 | 19 | 21 => return Err(self.stream_unsupported(start, key)),
            6 | 7 => return Err(self.unsupported(start, "a module value")),
            other => {
                return Err(self.at(
                    start,
                    RdbErrorKind::Unsupported(format!("unknown value type {other}")),
                ))
            }
        };
        Ok(Some(value).filter(|v| !is_empty(v)))
    }

    fn stream_unsupported(&self, start: u64, key: &[u8]) -> RdbError {
        let what = format!("stream value (key '{}')", String::from_utf8_lossy(key));
        self.unsupported(start, &what)
    }

    fn quicklist(&mut self, kind: u8) -> Result<Value> {
        let nodes = self.count()?;
        let mut list = VecDeque::new();
        for _ in 0..nodes {
            let container = match kind {
                ty::LIST_QUICKLIST_2 => self.len()?,
                _ => 0,
            };
            match container {
                QUICKLIST_PLAIN => list.push_back(self.string()?.into_bytes()),
                QUICKLIST_PACKED => list.extend(self.unpack(listpack_entries)?),
                0 => list.extend(self.unpack(ziplist_entries)?),
                other => return Err(self.corrupt(format!("unknown quicklist container {other}"))),
            }
        }
        Ok(Value::List(list))
    }

    fn set(&self, members: Vec<Bytes>) -> Result<Value> {
        let mut set = SetValue::new();
        for member in members {
            if !set.insert(&member, &self.limits) {
                return Err(self.corrupt("duplicate set member"));
            }
        }
        Ok(Value::Set(set))
    }

    fn hash(&self, items: Vec<Bytes>) -> Result<Value> {
        if items.len() % 2 != 0 {
            return Err(self.corrupt("a hash field without a value"));
        }
        let mut hash = HashValue::new();
        for pair in items.chunks_exact(2) {
            if !hash.insert(&pair[0], &pair[1], &self.limits) {
                return Err(self.corrupt("duplicate hash field"));
            }
        }
        Ok(Value::Hash(hash))
    }

    fn zset_plain(&mut self, kind: u8) -> Result<Value> {
        let n = self.count()?;
        let mut pairs = Vec::with_capacity(n.min(1024) as usize);
        for _ in 0..n {
            let member = self.string()?.into_bytes();
            let score = match kind {
                ty::ZSET_2 => f64::from_bits(self.int_le::<8>()? as u64),
                _ => self.old_score()?,
            };
            pairs.push((member, score));
        }
        self.zset(pairs)
    }

    /// A score as text with a one-byte length (253 = NaN, 254 = +inf, 255 = -inf).
    fn old_score(&mut self) -> Result<f64> {
        Ok(match self.byte()? {
            253 => f64::NAN,
            254 => f64::INFINITY,
            255 => f64::NEG_INFINITY,
            len => {
                let text = self.bytes(u64::from(len))?;
                parse_score(&text).map_err(|_| self.corrupt("a score that is not a number"))?
            }
        })
    }

    fn zset_packed(&self, items: Vec<Bytes>) -> Result<Value> {
        if items.len() % 2 != 0 {
            return Err(self.corrupt("a sorted set member without a score"));
        }
        let pairs = items
            .chunks_exact(2)
            .map(|pair| {
                let score = parse_score(&pair[1])
                    .map_err(|_| self.corrupt("a score that is not a number"))?;
                Ok((pair[0].clone(), score))
            })
            .collect::<Result<Vec<_>>>()?;
        self.zset(pairs)
    }

    fn zset(&self, pairs: Vec<(Bytes, f64)>) -> Result<Value> {
        let limits = ListpackLimits {
            max_entries: self.limits.zset_max_listpack_entries,
            max_value: self.limits.zset_max_listpack_value,
        };
        let mut zset = ZSet::new();
        for (member, score) in pairs {
            match zset.insert(&member, score, limits) {
                Ok(crate::engine::types::zset::InsertOutcome::Added) => {}
                Ok(_) => return Err(self.corrupt("duplicate sorted set member")),
                Err(_) => return Err(self.corrupt("a NaN score")),
            }
        }
        Ok(Value::ZSet(Box::new(zset)))
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Str(_) => false,
        Value::List(l) => l.is_empty(),
        Value::Hash(h) => h.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::ZSet(z) => z.is_empty(),
    }
}
