//! Hash values: a flat field/value list while small, a hash table past the thresholds.

use bytes::Bytes;
use std::collections::HashMap;

/// A hash value.
#[derive(Debug, Clone)]
pub enum HashValue {
    /// "listpack": fields in insertion order.
    Pack(Vec<(Bytes, Bytes)>),
    /// "hashtable".
    Table(HashMap<Bytes, Bytes>),
}

impl HashValue {
    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            HashValue::Pack(_) => "listpack",
            HashValue::Table(_) => "hashtable",
        }
    }
}
