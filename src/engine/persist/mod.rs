//! Persistence: RDB snapshots and the append-only file.
//!
//! # Design
//! - [`rdb`] is the file format, pure: an encoder that appends records to a
//!   buffer, a writer that streams buffers with the checksum, a decoder.
//! - [`snapshot`] takes a point-in-time view of the keyspace without fork and
//!   without copying it: copy-on-write of single entries, see its docs.
//! - [`file`] writes a snapshot atomically (temporary file, fsync, rename,
//!   fsync of the directory) and loads one at start.
//! - [`aof`] logs every write and replays the log at start; its rewrite writes
//!   a [`snapshot`] as the new base.
//! - [`saver`] runs BGSAVE on its own thread, taking the keyspace lock one
//!   bounded chunk at a time and writing outside it, and the `save` schedule.
//!
//! [`Persistence`] holds what INFO persistence reports and what the commands
//! consult (LASTSAVE, MISCONF), readable without the keyspace lock.
//!
//! # Embedded shards
//! `shardcar up`'s shards serve as a cache in front of SQL or as scratch space:
//! they neither load nor save snapshots (`save ""`, no load at start). Several
//! shards in one process sharing `./dump.rdb` would overwrite each other.

pub mod aof;
pub mod file;
pub mod rdb;
pub mod saver;
pub mod snapshot;
#[cfg(test)]
mod snapshot_tests;

pub use file::{load_rdb, LoadError, LoadStats};

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use tokio::sync::mpsc;

use snapshot::Snapshot;

/// Redis's reply to writes after a failed background save.
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Snapshot state shared by commands, the saver and INFO.
#[derive(Debug)]
pub struct Persistence {
    /// A BGSAVE is writing.
    pub bgsave_in_progress: AtomicBool,
    /// Unix seconds when the running BGSAVE started.
    pub bgsave_started: AtomicU64,
    /// The last background save succeeded (or none failed yet).
    pub last_bgsave_ok: AtomicBool,
    /// Seconds the last background save took; -1 before the first.
    pub last_bgsave_secs: AtomicI64,
    /// Unix seconds of the last save attempt, to pace retries after a failure.
    pub last_attempt: AtomicU64,
    /// Saves completed since start.
    pub saves: AtomicU64,
    /// A BGSAVE SCHEDULE waiting for the running snapshot to end.
    pub bgsave_scheduled: AtomicBool,
    /// Bumped to make a running BGSAVE give up at its next step (SHUTDOWN):
    /// each BGSAVE carries on only while the generation it started in lasts.
    pub generation: AtomicU64,
    /// Keys loaded, and skipped as expired, by the load at start.
    pub loaded: Mutex<LoadStats>,
    /// BGSAVE hands its started snapshot to the saver task here.
    jobs: mpsc::UnboundedSender<Snapshot>,
    /// The saver task's end of `jobs`, taken when it starts.
    pub(crate) job_queue: Mutex<Option<mpsc::UnboundedReceiver<Snapshot>>>,
}

impl Default for Persistence {
    fn default() -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        Persistence {
            bgsave_in_progress: AtomicBool::new(false),
            bgsave_started: AtomicU64::new(0),
            last_bgsave_ok: AtomicBool::new(true),
            last_bgsave_secs: AtomicI64::new(-1),
            last_attempt: AtomicU64::new(0),
            saves: AtomicU64::new(0),
            bgsave_scheduled: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            loaded: Mutex::new(LoadStats::default()),
            jobs,
            job_queue: Mutex::new(Some(queue)),
        }
    }
}

impl Persistence {
    /// Hands a started snapshot to the saver; gives it back if no saver runs.
    pub(crate) fn submit(&self, snapshot: Snapshot) -> Result<(), Snapshot> {
        self.jobs.send(snapshot).map_err(|e| e.0)
    }

    /// Whether writes get MISCONF: the last background save failed while
    /// save points are set and `stop-writes-on-bgsave-error` is on.
    pub fn refuses_writes(&self, cfg: &crate::engine::EngineConfig) -> bool {
        !self.last_bgsave_ok.load(Ordering::Relaxed)
            && cfg.stop_writes_on_bgsave_error
            && !cfg.save.trim().is_empty()
    }
}
