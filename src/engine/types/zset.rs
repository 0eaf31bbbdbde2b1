//! Placeholder until the sorted-set type lands.

/// A sorted set.
#[derive(Debug, Clone, Default)]
pub struct ZSet;

impl ZSet {
    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
}
