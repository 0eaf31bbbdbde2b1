//! Set values: sorted integers while every member is one, else a hash set (as Redis 7.0), converting as they grow.

use bytes::Bytes;
use std::collections::HashSet;

/// A set value.
#[derive(Debug, Clone)]
pub enum SetValue {
    /// "intset": sorted distinct integers.
    Ints(Vec<i64>),
    /// "hashtable".
    Table(HashSet<Bytes>),
}

impl SetValue {
    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            SetValue::Ints(_) => "intset",
            SetValue::Table(_) => "hashtable",
        }
    }
}
