//! Glob-style pattern matching for KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET: the
//! command table's matcher, so every command matches patterns alike.

pub use crate::command::glob::glob_match as matches;
