//! Values stored in the keyspace, one variant per Redis type.
//!
//! Each aggregate type keeps a compact encoding while small and converts to a
//! hashed or ordered one past the `*-max-listpack-*` thresholds, as Redis does;
//! `encoding()` names them as OBJECT ENCODING reports them.

use bytes::Bytes;
use std::collections::VecDeque;

use super::cmd::CmdError;
use super::types::hash::HashValue;
use super::types::set::SetValue;
use super::types::zset::ZSet;

/// A stored value.
#[derive(Debug, Clone)]
pub enum Value {
    /// Strings, bitmaps and HyperLogLogs.
    Str(Str),
    /// Lists: a deque of elements.
    List(VecDeque<Bytes>),
    /// Hashes.
    Hash(HashValue),
    /// Sets.
    Set(SetValue),
    /// Sorted sets (boxed: larger than the other variants).
    ZSet(Box<ZSet>),
}

/// A string value: integers that print back identically are stored as `i64`.
#[derive(Debug, Clone, PartialEq)]
pub enum Str {
    /// A canonical decimal integer ("int" encoding).
    Int(i64),
    /// Any other bytes ("embstr" up to 44 bytes, else "raw").
    Raw(Bytes),
}

/// Strings of at most this many bytes report the "embstr" encoding, as in Redis.
const EMBSTR_MAX: usize = 44;

impl Value {
    /// A string value from client bytes, stored as an integer when it is one.
    pub fn from_bytes(bytes: Bytes) -> Value {
        Value::Str(Str::from_bytes(bytes))
    }

    /// A string value holding `n`.
    pub fn from_int(n: i64) -> Value {
        Value::Str(Str::Int(n))
    }

    /// The type name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self, limits: &EncodingLimits) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => {
                if l.len() <= limits.list_max_listpack_entries
                    && l.iter().map(Bytes::len).sum::<usize>() <= limits.list_max_listpack_bytes
                {
                    "listpack"
                } else {
                    "quicklist"
                }
            }
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }
}

/// Typed access: `value.as_list()?` answers WRONGTYPE for any other type.
macro_rules! accessors {
    ($($variant:ident => $get:ident, $get_mut:ident: $ty:ty;)*) => {
        impl Value {
            $(
                #[doc = concat!("The ", stringify!($variant), " inside, or WRONGTYPE.")]
                pub fn $get(&self) -> Result<&$ty, CmdError> {
                    match self {
                        Value::$variant(inner) => Ok(inner),
                        _ => Err(CmdError::WrongType),
                    }
                }

                #[doc = concat!("The ", stringify!($variant), " inside, mutably, or WRONGTYPE.")]
                pub fn $get_mut(&mut self) -> Result<&mut $ty, CmdError> {
                    match self {
                        Value::$variant(inner) => Ok(inner),
                        _ => Err(CmdError::WrongType),
                    }
                }
            )*
        }
    };
}

accessors! {
    Str => as_str, as_str_mut: Str;
    List => as_list, as_list_mut: VecDeque<Bytes>;
    Hash => as_hash, as_hash_mut: HashValue;
    Set => as_set, as_set_mut: SetValue;
    ZSet => as_zset, as_zset_mut: Box<ZSet>;
}

impl Str {
    /// Parses `bytes` as an integer when it is the canonical form of one.
    pub fn from_bytes(bytes: Bytes) -> Str {
        match parse_canonical_int(&bytes) {
            Some(n) => Str::Int(n),
            None => Str::Raw(Bytes::copy_from_slice(&bytes)),
        }
    }

    /// The string's bytes (formats an integer).
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Str::Int(n) => Bytes::copy_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            Str::Raw(b) => b.clone(),
        }
    }

    /// Length in bytes of the string form.
    pub fn len(&self) -> usize {
        match self {
            Str::Int(n) => itoa::Buffer::new().format(*n).len(),
            Str::Raw(b) => b.len(),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn encoding(&self) -> &'static str {
        match self {
            Str::Int(_) => "int",
            Str::Raw(b) if b.len() <= EMBSTR_MAX => "embstr",
            Str::Raw(_) => "raw",
        }
    }
}

/// The thresholds at which compact encodings convert, from the engine's config.
#[derive(Debug, Clone)]
pub struct EncodingLimits {
    /// hash-max-listpack-entries
    pub hash_max_listpack_entries: usize,
    /// hash-max-listpack-value
    pub hash_max_listpack_value: usize,
    /// set-max-intset-entries
    pub set_max_intset_entries: usize,
    /// zset-max-listpack-entries
    pub zset_max_listpack_entries: usize,
    /// zset-max-listpack-value
    pub zset_max_listpack_value: usize,
    /// list-max-listpack-size, as entries
    pub list_max_listpack_entries: usize,
    /// list-max-listpack-size -2 = 8 KiB per node
    pub list_max_listpack_bytes: usize,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_entries: 128,
            list_max_listpack_bytes: 8192,
        }
    }
}

/// Parses the canonical decimal form of an i64 ("-12", not "012", "+1" or " 1"):
/// exactly the strings Redis stores with the "int" encoding.
pub fn parse_canonical_int(bytes: &[u8]) -> Option<i64> {
    super::cmd::args::parse_i64(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ints() {
        assert_eq!(parse_canonical_int(b"0"), Some(0));
        assert_eq!(parse_canonical_int(b"-12"), Some(-12));
        assert_eq!(parse_canonical_int(b"9223372036854775807"), Some(i64::MAX));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1.0",
            b"99999999999999999999",
        ] {
            assert_eq!(parse_canonical_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn string_encodings() {
        let limits = EncodingLimits::default();
        assert_eq!(
            Value::from_bytes(Bytes::from("123")).encoding(&limits),
            "int"
        );
        assert_eq!(
            Value::from_bytes(Bytes::from("abc")).encoding(&limits),
            "embstr"
        );
        assert_eq!(
            Value::from_bytes(Bytes::from(vec![b'x'; 45])).encoding(&limits),
            "raw"
        );
    }
}
