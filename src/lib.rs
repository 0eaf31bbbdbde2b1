//! shardcar: a RESP sidecar proxy with a bundled Redis-compatible engine.
//!
//! # Layout
//! - [`resp`]: RESP2/RESP3 frames, incremental zero-copy decoding, encoding, limits.
//! - [`command`]: the one table of every command: arity, flags, keys, routing.
//! - [`config`]: the proxy's configuration: twemproxy's `nutcracker.yml`, validated.
//! - [`engine`]: the bundled Redis-compatible server.
//! - [`proxy`]: key placement (twemproxy's hashes, ketama/modula/random rings), routing.
//! - [`cache`]: SQL caching rules: look-aside and write-back with a journal.
//! - [`up`]: bringing a proxy config up: embedded engine shards, listeners, stats,
//!   the admin port, and the bounded drain on shutdown.
//! - [`telemetry`]: logging, the Prometheus recorder, every metric name and its handles.
//! - [`admin`]: the admin HTTP port: `/metrics`, `/healthz`, `/readyz`, a status page
//!   whose script reads `/metrics`.
//! - [`error`]: the crate's error type.

pub mod admin;
pub mod cache;
pub mod command;
pub mod config;
pub mod engine;
pub mod error;
pub mod proxy;
pub mod resp;
pub mod telemetry;
pub mod up;

pub use error::{Error, Result};

/// jemalloc, as Redis uses: less fragmentation than the system allocator under a
/// keyspace's churn, and its statistics give INFO's used_memory.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
