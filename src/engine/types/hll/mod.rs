//! HyperLogLog values, byte-compatible with redis-server 7.
//!
//! In Redis a HyperLogLog is a plain string, so it is stored, replicated and
//! persisted like any other and GET/SET move it between servers. This module
//! works on that string directly and produces exactly the bytes redis-server
//! produces, so a value built by `PFADD` here and `SET` into Redis (or the other
//! way round) counts the same.
//!
//! The string is a 16-byte header followed by the registers:
//!
//! ```text
//! "HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes | cardinality (u64 LE)
//! ```
//!
//! The cardinality caches the last `PFCOUNT`; its top bit set means "stale". The
//! 16384 registers are either `dense` (6 bits each, 12 KiB) or `sparse`
//! (run-length opcodes), the sparse form being promoted to dense once it would
//! outgrow `hll-sparse-max-bytes` or hold a value above 32. Elements are hashed
//! as in `hash`; counts come from `estimate`.
//!
//! Pure code: no engine types, no I/O. The engine looks the key up, builds an
//! [`Hll`] from the string, calls one operation and stores the bytes back.
//!
//! # Where we differ from redis-server
//!
//! redis-server checks a sparse value's opcodes only as far as an operation walks
//! them: it will `PFADD` into, or return the cached count of, a value whose runs do
//! not add up to 16384 registers, and reads a byte past the end of one that ends in
//! half an XZERO. We check the whole value when it is loaded
//! ([`Hll::from_bytes`]) and answer `INVALIDOBJ` for any of these, whatever the
//! command. Valid values behave identically, byte for byte.

mod dense;
mod estimate;
mod hash;
mod sparse;
#[cfg(test)]
mod tests;

use std::fmt;

use bytes::Bytes;

use estimate::Histogram;
use sparse::SetOutcome;

/// redis.conf's default `hll-sparse-max-bytes`: the largest sparse string, header
/// included, before promotion to dense.
pub const DEFAULT_SPARSE_MAX_BYTES: usize = 3000;

/// Hash bits that select the register.
const INDEX_BITS: u32 = 14;
/// Number of registers.
const REGISTERS: usize = 1 << INDEX_BITS;
/// The largest run an element can propose (the hash bits left, plus one).
const RUN_MAX: u8 = 64 - INDEX_BITS as u8 + 1;
/// Size of the header in bytes.
const HEADER_LEN: usize = 16;
/// The header's first four bytes.
const MAGIC: &[u8; 4] = b"HYLL";
/// Offset of the encoding byte.
const ENCODING_AT: usize = 4;
/// Encoding byte values.
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
/// Where the cached cardinality lives, little-endian.
const CARD_AT: std::ops::Range<usize> = 8..16;
/// The flag in the cardinality's last byte that marks the cache stale.
const CARD_STALE: u8 = 0x80;
/// Length of a dense string.
const DENSE_LEN: usize = HEADER_LEN + dense::DENSE_BYTES;

/// Why a string cannot be used as a HyperLogLog; `Display` is redis-server's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HllError {
    /// Not a HyperLogLog at all: too short, wrong magic, unknown encoding, or a
    /// dense value of the wrong length.
    #[error("WRONGTYPE Key is not a valid HyperLogLog string value.")]
    NotHll,
    /// The header is right but the sparse registers do not add up.
    #[error("INVALIDOBJ Corrupted HLL object detected")]
    Corrupted,
}

/// A HyperLogLog held as its Redis string encoding.
///
/// # Example
/// ```
/// use shardcar::engine::types::hll::{Hll, DEFAULT_SPARSE_MAX_BYTES};
///
/// // PFADD k a b c on a missing key: the key is created, so the reply is 1
/// // whatever `add` returns.
/// let mut hll = Hll::new();
/// for element in [&b"a"[..], b"b", b"c"] {
///     hll.add(element, DEFAULT_SPARSE_MAX_BYTES);
/// }
/// // PFCOUNT k: with a stale cache, counting rewrites the header, so the engine
/// // stores the value back.
/// let store_back = hll.cached_count().is_none();
/// assert_eq!(hll.count(), 3);
/// assert!(store_back);
/// // GET k returns the string; it loads back as the same HyperLogLog.
/// let value = hll.to_bytes();
/// assert_eq!(Hll::from_bytes(&value), Ok(hll));
/// assert_eq!(Hll::from_bytes(b"not an hll").unwrap_err().to_string(),
///            "WRONGTYPE Key is not a valid HyperLogLog string value.");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Hll {
    /// The whole string: header and registers, always valid.
    bytes: Vec<u8>,
}

impl Hll {
    /// An empty HyperLogLog, sparse, as `PFADD` or `PFMERGE` create it for a missing
    /// key (with the cache already marked stale, as both commands leave it).
    pub fn new() -> Self {
        let mut bytes = vec![0; HEADER_LEN];
        bytes[..MAGIC.len()].copy_from_slice(MAGIC);
        bytes[ENCODING_AT] = SPARSE;
        bytes[CARD_AT.end - 1] = CARD_STALE;
        bytes.extend_from_slice(&sparse::EMPTY_BODY);
        Self { bytes }
    }

    /// Parses and validates a string value.
    ///
    /// # Errors
    /// [`HllError::NotHll`] if the header is not a HyperLogLog's, [`HllError::Corrupted`]
    /// if a sparse value's opcodes do not cover exactly 16384 registers.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, HllError> {
        Self::check(bytes)?;
        Ok(Self {
            bytes: bytes.to_vec(),
        })
    }

    /// Like [`Hll::from_bytes`], taking ownership of the buffer instead of copying it.
    ///
    /// # Errors
    /// As [`Hll::from_bytes`].
    pub fn from_vec(bytes: Vec<u8>) -> Result<Self, HllError> {
        Self::check(&bytes)?;
        Ok(Self { bytes })
    }

    /// Checks the header as redis-server does on every access, and the sparse
    /// opcodes, which redis-server only checks when it happens to walk past them.
    fn check(bytes: &[u8]) -> Result<(), HllError> {
        if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
            return Err(HllError::NotHll);
        }
        match bytes[ENCODING_AT] {
            DENSE if bytes.len() == DENSE_LEN => Ok(()),
            SPARSE => sparse::for_each_run(&bytes[HEADER_LEN..], |_, _, _| {}),
            _ => Err(HllError::NotHll),
        }
    }

    /// The string value, as GET returns it.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A copy of the string value.
    pub fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(&self.bytes)
    }

    /// The string value, without copying.
    pub fn into_bytes(self) -> Bytes {
        Bytes::from(self.bytes)
    }

    /// Whether the registers use the sparse encoding.
    pub fn is_sparse(&self) -> bool {
        self.bytes[ENCODING_AT] == SPARSE
    }

    /// Adds one element (`PFADD`); true if a register changed, and so the value.
    ///
    /// A sparse value that would outgrow `sparse_max_bytes` (header included) is
    /// converted to dense, as is one that needs a register above 32.
    pub fn add(&mut self, element: &[u8], sparse_max_bytes: usize) -> bool {
        let (index, run) = hash::pattern(element);
        self.raise(index, run, sparse_max_bytes)
    }

    /// The estimated cardinality (`PFCOUNT` of one key): the cached value if it is
    /// fresh, otherwise computed and cached, which changes the bytes (redis-server
    /// writes that back to the key; so should the engine, see [`Hll::cached_count`]).
    ///
    /// Reply it as a signed integer, as Redis does: a saturated sketch (every
    /// register at 51 or more, which real data never reaches) gives 2^63, which
    /// redis-server replies as `i64::MIN` and never manages to cache.
    pub fn count(&mut self) -> u64 {
        if let Some(count) = self.cached_count() {
            return count;
        }
        let count = self.histogram().estimate();
        self.bytes[CARD_AT].copy_from_slice(&count.to_le_bytes());
        count
    }

    /// The cached cardinality if it is fresh: when `None`, [`Hll::count`] will
    /// compute it and update the value.
    pub fn cached_count(&self) -> Option<u64> {
        let mut card = [0; 8];
        card.copy_from_slice(&self.bytes[CARD_AT]);
        (card[7] & CARD_STALE == 0).then(|| u64::from_le_bytes(card))
    }

    /// Folds `sources` into `self` register by register (`PFMERGE self sources…`).
    ///
    /// Like redis-server, the result is dense if `self` or any source is dense, and
    /// otherwise stays sparse (unless it outgrows `sparse_max_bytes`). The cached
    /// cardinality is marked stale even if no register changed.
    pub fn merge(&mut self, sources: &[&Hll], sparse_max_bytes: usize) {
        let mut max = vec![0u8; REGISTERS];
        for hll in std::iter::once(&*self).chain(sources.iter().copied()) {
            hll.fold_max(&mut max);
        }
        if sources.iter().any(|hll| !hll.is_sparse()) {
            self.promote();
        }
        for (index, &value) in max.iter().enumerate() {
            if value != 0 {
                self.raise(index, value, sparse_max_bytes);
            }
        }
        self.mark_stale();
    }

    /// The cardinality of the union of `hlls` (`PFCOUNT k1 k2…`), without touching
    /// them or their caches. An empty slice counts 0.
    pub fn count_union(hlls: &[&Hll]) -> u64 {
        let mut max = vec![0u8; REGISTERS];
        for hll in hlls {
            hll.fold_max(&mut max);
        }
        let mut histogram = Histogram::new();
        for &value in &max {
            histogram.add(1, value);
        }
        histogram.estimate()
    }

    /// Raises register `index` to `value` if lower; true if it changed.
    fn raise(&mut self, index: usize, value: u8, sparse_max_bytes: usize) -> bool {
        if self.is_sparse() {
            match sparse::set(&mut self.bytes, index, value, sparse_max_bytes) {
                SetOutcome::Unchanged => return false,
                SetOutcome::Updated => {
                    self.mark_stale();
                    return true;
                }
                SetOutcome::Promote => self.promote(),
            }
        }
        let changed = dense::raise(&mut self.bytes[HEADER_LEN..], index, value);
        if changed {
            self.mark_stale();
        }
        changed
    }

    /// Converts to the dense encoding (a no-op if already dense), keeping the rest
    /// of the header, cached cardinality included, as redis-server does.
    fn promote(&mut self) {
        if !self.is_sparse() {
            return;
        }
        let mut bytes = Vec::with_capacity(DENSE_LEN);
        bytes.extend_from_slice(&self.bytes[..HEADER_LEN]);
        bytes[ENCODING_AT] = DENSE;
        bytes.resize(DENSE_LEN, 0);
        let registers = &mut bytes[HEADER_LEN..];
        self.for_each_run(|first, run, value| {
            for index in first..first + run {
                dense::raise(registers, index, value);
            }
        });
        self.bytes = bytes;
    }

    /// Calls `visit(first_register, run, value)` for the registers that are not zero.
    fn for_each_run(&self, mut visit: impl FnMut(usize, usize, u8)) {
        let registers = &self.bytes[HEADER_LEN..];
        let nonzero = |first, run, value| {
            if value != 0 {
                visit(first, run, value);
            }
        };
        if self.is_sparse() {
            let walked = sparse::for_each_run(registers, nonzero);
            debug_assert!(walked.is_ok(), "sparse HLL validated on load yet corrupt");
        } else {
            dense::for_each_run(registers, nonzero);
        }
    }

    /// Raises each `max[i]` to this HyperLogLog's register `i`.
    fn fold_max(&self, max: &mut [u8]) {
        self.for_each_run(|first, run, value| {
            for slot in &mut max[first..first + run] {
                *slot = (*slot).max(value);
            }
        });
    }

    /// How many registers hold each value.
    fn histogram(&self) -> Histogram {
        let mut histogram = Histogram::new();
        let mut zeros = REGISTERS;
        self.for_each_run(|_, run, value| {
            histogram.add(run, value);
            zeros -= run;
        });
        histogram.add(zeros, 0);
        histogram
    }

    /// Marks the cached cardinality stale, leaving its other bits as they were.
    fn mark_stale(&mut self) {
        self.bytes[CARD_AT.end - 1] |= CARD_STALE;
    }
}

impl Default for Hll {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Hll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hll")
            .field(
                "encoding",
                &if self.is_sparse() { "sparse" } else { "dense" },
            )
            .field("len", &self.bytes.len())
            .field("cached_count", &self.cached_count())
            .finish()
    }
}
