//! The sharding proxy: twemproxy-compatible key routing over backend pools.
//!
//! - [`hash`]: the twelve key hash functions and hash-tag extraction.
//! - [`ring`]: the pure key-hash → server map (ketama, modula, random).

pub mod hash;
pub mod ring;
