//! shardcar: a RESP sidecar proxy with a bundled Redis-compatible engine.
//!
//! # Layout
//! - [`resp`]: RESP2/RESP3 frames, incremental zero-copy decoding, encoding, limits.

pub mod proxy;
pub mod resp;
