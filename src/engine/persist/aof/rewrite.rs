//! BGREWRITEAOF and the automatic rewrite: compacting the log while writes go on.
//!
//! Under the keyspace lock, in one hold, a rewrite:
//! 1. starts a fork-free [`Snapshot`] (the data as of now);
//! 2. opens a new incremental file, lists it in the manifest (so a crash from
//!    here on loses nothing: the old base and incr files plus this one are the
//!    whole log), and switches the writer to it.
//!
//! Then, on a thread of its own, it writes the snapshot as the new base, a
//! bounded step per hold of the lock (as RDB with `aof-use-rdb-preamble yes`,
//! Redis's default, else as commands), fsyncs it, renames it into place and
//! swaps the manifest atomically: new base, the incremental files since the
//! switch; the old files become history and are deleted.
//!
//! If anything fails, the temporary file is removed and the old manifest
//! (which already lists the new incremental file) stays valid.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::commands;
use super::manifest::{base_name, Kind, Manifest, Part};
use crate::engine::db::UnixMs;
use crate::engine::keyspace::Keyspace;
use crate::engine::persist::rdb::{Encoder, RdbWriter};
use crate::engine::persist::snapshot::{Sink, Snapshot};
use crate::engine::server::{now_ms, Shared};
use crate::engine::value::Value;

/// Why BGREWRITEAOF did not start.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// The AOF is off.
    #[error("ERR shardcar: BGREWRITEAOF needs appendonly yes")]
    Off,
    /// One runs already.
    #[error("ERR Background append only file rewriting already in progress")]
    Running,
    /// A file operation failed.
    #[error("ERR Can't rewrite the append only file: {0}")]
    Io(#[from] std::io::Error),
}

/// What the rewrite thread needs.
#[derive(Debug)]
pub struct Job {
    snap: Option<Snapshot>,
    dir: PathBuf,
    prefix: String,
    /// The first incremental file of the new log.
    first_incr: u64,
    rdb: bool,
    started: Instant,
}

/// Starts a rewrite; call under the keyspace lock (`ks` is the locked keyspace).
/// The snapshot is written by the AOF's background task ([`super::cron`]).
/// Returns false when it was only scheduled (a snapshot runs already: BGSAVE).
///
/// # Errors
/// The AOF is off, a rewrite runs, or the new incremental file cannot be made.
pub fn start(shared: &Shared, ks: &mut Keyspace) -> Result<bool, RewriteError> {
    let Some(job) = begin(shared, ks)? else {
        return Ok(false);
    };
    if let Err(refused) = shared.aof.jobs.send(job) {
        // No background task (the engine is not serving): give up cleanly.
        if let Some(snap) = refused.0.snap {
            snap.finish(ks);
        }
        shared.aof.rewrite.lock().started = None;
        return Err(RewriteError::Off);
    }
    tracing::info!("Background append only file rewriting started");
    Ok(true)
}

/// The part of a rewrite done under the lock: snapshot, new incremental file,
/// switch. None when only scheduled.
///
/// # Errors
/// As [`start`].
pub fn begin(shared: &Shared, ks: &mut Keyspace) -> Result<Option<Job>, RewriteError> {
    let aof = &shared.aof;
    let Some(writer) = aof.writer.get() else {
        return Err(RewriteError::Off);
    };
    let mut state = aof.rewrite.lock();
    if state.started.is_some() {
        return Err(RewriteError::Running);
    }
    if ks.aof.in_transaction() {
        // Inside EXEC after a logged write: switching files would split the
        // transaction. The background task starts it right after.
        state.scheduled = true;
        return Ok(None);
    }
    let Ok(snap) = Snapshot::start(ks, now_ms()) else {
        state.scheduled = true;
        return Ok(None);
    };
    let mut files = aof.files.lock();
    let Some(files) = files.as_mut() else {
        snap.finish(ks);
        return Err(RewriteError::Off);
    };
    let part = files.manifest.add_incr(&files.prefix);
    let opened = OpenOptions::new()
        .create(true)
        .append(true)
        .open(files.dir.join(&part.name))
        .and_then(|file| {
            files
                .manifest
                .store(&files.dir, &files.prefix)
                .map(|()| file)
        });
    let file = match opened {
        Ok(file) => file,
        Err(err) => {
            files.manifest.incrs.pop();
            snap.finish(ks);
            return Err(err.into());
        }
    };
    // Everything logged so far goes to the old file (the earlier commands of
    // this batch included: the snapshot has their effect); what follows, to
    // the new one.
    let owed = aof.submit(&mut ks.aof);
    ks.aof.owe(owed);
    let before = writer.progress().file_size;
    aof.incr_size.fetch_add(before, Ordering::Relaxed);
    writer.switch(file, 0);
    ks.aof.restart();
    state.started = Some(Instant::now());
    state.scheduled = false;
    Ok(Some(Job {
        snap: Some(snap),
        dir: files.dir.clone(),
        prefix: files.prefix.clone(),
        first_incr: part.seq,
        rdb: shared.config.read().aof_use_rdb_preamble,
        started: Instant::now(),
    }))
}

impl Job {
    /// Writes the base and installs the new manifest (on a blocking thread).
    pub fn run(mut self, shared: &Shared) {
        let temp = self
            .dir
            .join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
        let written = self.write_base(shared, &temp);
        if let Some(snap) = self.snap.take() {
            snap.finish(&mut shared.ks.lock());
        }
        let outcome = written.and_then(|size| self.install(shared, &temp, size));
        let secs = self.started.elapsed().as_secs() as i64;
        let mut state = shared.aof.rewrite.lock();
        state.started = None;
        state.last_secs = secs;
        match outcome {
            Ok(()) => {
                state.last_ok = true;
                state.count += 1;
                state.failures = 0;
                tracing::info!(
                    seconds = secs,
                    "Background AOF rewrite finished successfully"
                );
            }
            Err(err) => {
                let _ = fs::remove_file(&temp);
                state.last_ok = false;
                state.failures += 1;
                tracing::error!(cause = %err, "Background AOF rewrite failed");
            }
        }
    }

    /// Writes the snapshot into `temp`, a step per hold of the lock; its size.
    fn write_base(&mut self, shared: &Shared, temp: &Path) -> std::io::Result<u64> {
        let file = BufWriter::new(File::create(temp)?);
        let limits = shared.ks.lock().limits.clone();
        let file = if self.rdb {
            let mut enc = Encoder::new(true, limits);
            let mut out = RdbWriter::new(file);
            enc.header(&[
                ("redis-ver", crate::engine::cmd::REDIS_VERSION),
                ("aof-base", "1"),
            ]);
            self.steps(shared, &mut enc, |chunk| out.write(chunk))?;
            out.write(&enc.take())?;
            out.finish(true)?
        } else {
            let mut sink = CommandSink::default();
            let mut out = file;
            self.steps(shared, &mut sink, |chunk| out.write_all(chunk))?;
            out
        };
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(file.metadata()?.len())
    }

    /// Drives the snapshot into `sink`, handing each step's bytes to `write`
    /// outside the lock.
    fn steps<S: Sink + Take>(
        &mut self,
        shared: &Shared,
        sink: &mut S,
        mut write: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let Some(snap) = self.snap.as_mut() else {
            return Ok(());
        };
        loop {
            let done = snap.step(&mut shared.ks.lock(), sink);
            let chunk = sink.take_bytes();
            write(&chunk)?;
            if done {
                return Ok(());
            }
        }
    }

    /// Renames the base into place and swaps the manifest.
    fn install(&self, shared: &Shared, temp: &Path, size: u64) -> std::io::Result<()> {
        let aof = &shared.aof;
        let mut files = aof.files.lock();
        let Some(files) = files.as_mut() else {
            return Err(std::io::Error::other("the AOF was turned off"));
        };
        let seq = files.manifest.base.as_ref().map_or(0, |b| b.seq) + 1;
        let name = base_name(&self.prefix, seq, self.rdb);
        fs::rename(temp, self.dir.join(&name))?;
        let old = files.manifest.clone();
        let (keep, gone): (Vec<Part>, Vec<Part>) = old
            .incrs
            .iter()
            .cloned()
            .partition(|p| p.seq >= self.first_incr);
        let history = old
            .base
            .iter()
            .cloned()
            .chain(gone)
            .chain(old.history.iter().cloned());
        let mut next = Manifest {
            base: Some(Part {
                name,
                seq,
                kind: Kind::Base,
            }),
            incrs: keep,
            history: history
                .map(|p| Part {
                    kind: Kind::History,
                    ..p
                })
                .collect(),
        };
        next.store(&self.dir, &self.prefix)?;
        aof.base_size.store(size, Ordering::Relaxed);
        let older: u64 = next
            .incrs
            .iter()
            .rev()
            .skip(1)
            .filter_map(|p| fs::metadata(self.dir.join(&p.name)).ok())
            .map(|m| m.len())
            .sum();
        aof.incr_size.store(older, Ordering::Relaxed);
        for part in std::mem::take(&mut next.history) {
            if let Err(err) = fs::remove_file(self.dir.join(&part.name)) {
                tracing::warn!(file = %part.name, cause = %err, "cannot delete an old AOF file");
            }
        }
        next.store(&self.dir, &self.prefix)?;
        let current = aof.writer.get().map_or(0, |w| w.progress().file_size);
        aof.rewrite_base_size
            .store(size + older + current, Ordering::Relaxed);
        files.manifest = next;
        Ok(())
    }
}

/// Bytes a sink produced, taken between steps.
trait Take {
    fn take_bytes(&mut self) -> Vec<u8>;
}

impl Take for Encoder {
    fn take_bytes(&mut self) -> Vec<u8> {
        self.take()
    }
}

/// A snapshot written as commands (`aof-use-rdb-preamble no`).
#[derive(Debug, Default)]
struct CommandSink {
    out: Vec<u8>,
}

impl Sink for CommandSink {
    fn select_db(&mut self, db: usize, _keys: usize, _expires: usize) {
        commands::select(&mut self.out, db);
    }

    fn entry(&mut self, key: &[u8], value: &Value, expire_at: Option<UnixMs>) {
        commands::entry(&mut self.out, key, value, expire_at);
    }

    fn pending_bytes(&self) -> usize {
        self.out.len()
    }
}

impl Take for CommandSink {
    fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

/// How often the automatic rewrite's condition is checked.
const CRON_EVERY: Duration = Duration::from_millis(100);

/// The AOF's background task: writes the rewrites started under the lock, and
/// starts one when the AOF grew past `auto-aof-rewrite-percentage` over its
/// size after the last rewrite and is over `auto-aof-rewrite-min-size`, or
/// when one was scheduled behind a BGSAVE. Owned by `server::serve`.
pub async fn cron(shared: Arc<Shared>) {
    let Some(mut jobs) = shared.aof.job_queue.lock().take() else {
        return;
    };
    let mut tick = tokio::time::interval(CRON_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => {
                    let shared = Arc::clone(&shared);
                    tokio::task::spawn_blocking(move || job.run(&shared));
                }
                None => return,
            },
            _ = tick.tick() => auto_rewrite(&shared),
        }
    }
}

fn auto_rewrite(shared: &Shared) {
    let aof = &shared.aof;
    if !aof.is_on() {
        return;
    }
    let (percent, min) = {
        let cfg = shared.config.read();
        (
            cfg.auto_aof_rewrite_percentage,
            cfg.auto_aof_rewrite_min_size,
        )
    };
    let (running, scheduled) = {
        let state = aof.rewrite.lock();
        (state.started.is_some(), state.scheduled)
    };
    if running {
        return;
    }
    let size = aof.current_size();
    let base = aof.rewrite_base_size.load(Ordering::Relaxed).max(1);
    let grown = percent > 0 && size > min && (size * 100 / base).saturating_sub(100) >= percent;
    if !grown && !scheduled {
        return;
    }
    if grown {
        tracing::info!(
            percent = (size * 100 / base).saturating_sub(100),
            "starting automatic rewriting of the AOF"
        );
    }
    if let Err(err) = start(shared, &mut shared.ks.lock()) {
        tracing::warn!(cause = %err, "cannot start the AOF rewrite");
    }
}
