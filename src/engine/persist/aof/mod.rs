//! The append-only file (AOF): every write the engine executes, logged in RESP
//! so that replaying the log rebuilds the data.
//!
//! - [`feed`]: what is logged for each executed write (under the keyspace lock);
//! - [`writer`]: the thread that appends it and fsyncs as `appendfsync` says,
//!   group-committing the writes that arrive while it syncs;
//! - [`manifest`]: Redis 7's multi-part layout (base, incremental files, manifest);
//! - [`load`]: replay at start;
//! - [`rewrite`]: BGREWRITEAOF and the automatic rewrite, from a fork-free
//!   snapshot; [`commands`] writes a base as commands when it is not RDB.
//!
//! The flow of one batch of commands: the connection runs them under the lock,
//! their [`Feed`] entries are handed to the writer before the lock is released
//! ([`Aof::submit`]), and under `always` the connection waits for the fsync
//! covering them ([`Aof::durable`]) before it writes the replies.

pub mod commands;
mod error;
pub mod feed;
mod info;
pub mod load;
pub mod manifest;
mod open;
pub mod rewrite;
pub mod writer;

pub use error::AofError;
pub use feed::Feed;
pub use open::{present, start};
pub use rewrite::cron;
pub use writer::Fsync;

use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;

use manifest::Manifest;
use writer::Writer;

/// The engine's AOF: off, or a running writer.
#[derive(Debug)]
pub struct Aof {
    writer: OnceLock<Writer>,
    /// Where the files are and which they are (None while off).
    files: Mutex<Option<Files>>,
    /// Size of the base file.
    base_size: AtomicU64,
    /// Sizes of the incremental files before the one being written.
    incr_size: AtomicU64,
    /// The whole AOF's size after the last rewrite (or at start): the
    /// automatic rewrite measures growth from it.
    rewrite_base_size: AtomicU64,
    /// Rewrites: now, last, how many.
    rewrite: Mutex<RewriteState>,
    /// Rewrites started under the lock, for the background task to write.
    jobs: mpsc::UnboundedSender<rewrite::Job>,
    job_queue: Mutex<Option<mpsc::UnboundedReceiver<rewrite::Job>>>,
}

impl Default for Aof {
    fn default() -> Self {
        let (jobs, job_queue) = mpsc::unbounded_channel();
        Aof {
            writer: OnceLock::new(),
            files: Mutex::new(None),
            base_size: AtomicU64::new(0),
            incr_size: AtomicU64::new(0),
            rewrite_base_size: AtomicU64::new(0),
            rewrite: Mutex::new(RewriteState::default()),
            jobs,
            job_queue: Mutex::new(Some(job_queue)),
        }
    }
}

/// The AOF's directory, file prefix and current manifest.
#[derive(Debug)]
struct Files {
    dir: PathBuf,
    prefix: String,
    manifest: Manifest,
}

/// What INFO says about rewrites.
#[derive(Debug, Clone)]
struct RewriteState {
    /// When the running rewrite started.
    started: Option<std::time::Instant>,
    /// One is wanted but waits for the running one.
    scheduled: bool,
    /// Seconds the last one took; -1 before any.
    last_secs: i64,
    /// Whether the last one succeeded.
    last_ok: bool,
    /// Rewrites done.
    count: u64,
    /// Failures since the last success.
    failures: u64,
}

impl Default for RewriteState {
    fn default() -> Self {
        RewriteState {
            started: None,
            scheduled: false,
            last_secs: -1,
            last_ok: true,
            count: 0,
            failures: 0,
        }
    }
}

impl Aof {
    /// Hands what `feed` logged to the writer; under `always`, returns the
    /// offset to wait for with [`Aof::durable`] before replying. Called under
    /// the keyspace lock, so the log keeps execution order.
    pub fn submit(&self, feed: &mut Feed) -> Option<u64> {
        let owed = feed.take_owed();
        if feed.is_empty() {
            return owed;
        }
        let writer = self.writer.get()?;
        let end = writer.append(feed.take());
        (writer.fsync() == Fsync::Always).then_some(end).max(owed)
    }

    /// The offset to wait for so that everything logged so far is durable,
    /// under `always` (a served blocked client replies only then). Take the
    /// keyspace lock first: whoever fed the key has then submitted.
    pub fn pending_always(&self) -> Option<u64> {
        let writer = self.writer.get()?;
        (writer.fsync() == Fsync::Always).then(|| writer.queued())
    }

    /// Waits until the log is fsynced up to `offset`.
    ///
    /// # Errors
    /// The write or fsync failed: the reply must not be sent.
    pub async fn durable(&self, offset: u64) -> Result<(), Arc<str>> {
        match self.writer.get() {
            Some(writer) => writer.durable(offset).await,
            None => Ok(()),
        }
    }

    /// The error that makes the engine refuse writes, while the AOF cannot be
    /// written.
    pub fn write_error(&self) -> Option<Arc<str>> {
        let writer = self.writer.get()?;
        if !writer.failing() {
            return None;
        }
        writer.progress().error
    }

    /// Applies settings changed by CONFIG SET.
    pub fn configure(&self, cfg: &crate::engine::EngineConfig) {
        if let Some(writer) = self.writer.get() {
            writer.set_fsync(Fsync::from_name(&cfg.appendfsync));
        }
    }

    /// True while writes are logged.
    pub fn is_on(&self) -> bool {
        self.writer.get().is_some()
    }

    /// What the writer has achieved (INFO).
    pub fn progress(&self) -> Option<writer::Progress> {
        self.writer.get().map(Writer::progress)
    }

    /// The AOF's size: base and incremental files (INFO aof_current_size).
    pub fn current_size(&self) -> u64 {
        let current = self.progress().map_or(0, |p| p.file_size);
        self.base_size.load(Ordering::Relaxed) + self.incr_size.load(Ordering::Relaxed) + current
    }

    /// Writes and fsyncs what is queued, and stops the writer (shutdown).
    pub async fn stop(&self) {
        if let Some(writer) = self.writer.get() {
            writer.stop().await;
        }
    }
}

#[cfg(test)]
mod feed_tests;
