//! The bundled Redis-compatible engine.
//!
//! # Design
//! One [`keyspace::Keyspace`] (all numbered databases, watches, blocked clients)
//! sits behind one mutex in [`server::Shared`]. A connection task ([`conn`]) reads
//! whatever the socket has, parses every complete request, takes the lock once for
//! the whole batch, runs the commands ([`session::process`] → [`cmd`]), releases it,
//! then encodes and writes every reply with one write. Parsing, encoding and socket
//! I/O run on tokio's worker threads outside the lock, so both cores work while
//! each command, and each MULTI/EXEC, stays atomic as under Redis's single thread.
//!
//! The lock is never held across an `.await`. Anything that must wait — a blocking
//! pop with no data, DEBUG SLEEP — is an [`cmd::Action`] the connection carries out
//! after releasing the lock. Blocked clients wait on per-key FIFO queues and are
//! served, under the lock, right after the command that fed their key. Background
//! work (active expiry) takes the lock in short slices. Pub/sub has its own lock,
//! and MONITOR and CLIENT KILL reach other connections through channels, so none of
//! them stall the keyspace.
//!
//! Slow O(N) commands (KEYS over a million keys) hold the lock for their duration,
//! as they hold Redis's thread: other clients wait, nothing is corrupted.

pub mod client;
pub mod cmd;
pub mod config;
mod conn;
pub mod db;
pub mod eviction;
pub mod glob;
pub mod keyspace;
pub mod memory;
pub mod meter;
pub mod persist;
pub mod pubsub;
pub mod server;
pub mod session;
pub mod slowlog;
pub mod types;
pub mod value;

pub use config::EngineConfig;
pub use server::run;
