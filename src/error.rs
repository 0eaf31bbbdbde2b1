//! The crate's error type, one variant per layer, each keeping its cause.

/// Errors that end a server or a command-line run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A socket or file operation failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The engine's options are invalid.
    #[error("invalid engine option: {0}")]
    EngineConfig(#[from] crate::engine::config::ConfigError),
    /// The engine's snapshot cannot be loaded.
    #[error("{0}")]
    Load(#[from] crate::engine::persist::LoadError),
    /// The append-only file cannot be loaded or opened.
    #[error("{0}")]
    Aof(#[from] crate::engine::persist::aof::AofError),
    /// A pool's cache cannot start.
    #[error("cache: {0}")]
    Cache(#[from] crate::cache::CacheError),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
