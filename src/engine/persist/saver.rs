//! SAVE, BGSAVE and the `save` schedule.
//!
//! BGSAVE starts a [`Snapshot`] under the keyspace lock (the instant it
//! captures) and hands it to the saver task, which writes it on a thread of its
//! own: each step takes the lock for one bounded chunk, encodes it, releases
//! the lock, and writes the bytes. Commands run between steps. The saver task
//! also checks the save points every 100 ms, as Redis's cron does.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::file::{write_atomically, SaveOptions};
use super::snapshot::{Snapshot, SnapshotBusy};
use crate::engine::config::parse_save_points;
use crate::engine::keyspace::Keyspace;
use crate::engine::server::{now_ms, Shared};

/// After a failed background save, scheduled saves wait this long to retry.
const RETRY_AFTER_SECS: u64 = 5;
/// How often the save points are checked.
const CHECK_EVERY: Duration = Duration::from_millis(100);

/// Why a save did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// A snapshot is already being written.
    #[error("a snapshot is in progress")]
    Busy(#[from] SnapshotBusy),
    /// No saver task runs for this engine (it is not serving).
    #[error("the engine is not serving")]
    NoSaver,
    /// Writing failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// SAVE: writes the snapshot now, holding the lock throughout (the caller's).
///
/// # Errors
/// Another snapshot runs, or the file cannot be written.
pub fn save(ks: &mut Keyspace, shared: &Shared) -> Result<(), SaveError> {
    let opts = SaveOptions::from_config(&shared.config.read());
    let now = now_ms();
    let started = Instant::now();
    let mut snap = Snapshot::start(ks, now)?;
    let written = write_atomically(&opts, now, |enc| Ok(snap.step(ks, enc)));
    snap.finish(ks);
    shared
        .persist
        .last_attempt
        .store(unix_secs(), Ordering::Relaxed);
    let size = written.inspect_err(|err| tracing::error!(cause = %err, "SAVE failed"))?;
    ks.dirty = 0;
    saved(shared);
    shared.persist.last_bgsave_ok.store(true, Ordering::Relaxed);
    tracing::info!(path = %opts.path.display(), bytes = size, ms = started.elapsed().as_millis() as u64, "DB saved on disk");
    Ok(())
}

/// BGSAVE: captures the keyspace now and has the saver task write it.
///
/// # Errors
/// A snapshot already runs, or the engine is not serving.
pub fn start_bgsave(ks: &mut Keyspace, shared: &Shared) -> Result<(), SaveError> {
    let snap = Snapshot::start(ks, now_ms())?;
    let persist = &shared.persist;
    persist.bgsave_in_progress.store(true, Ordering::Relaxed);
    persist.bgsave_started.store(unix_secs(), Ordering::Relaxed);
    persist.last_attempt.store(unix_secs(), Ordering::Relaxed);
    if let Err(snap) = persist.submit(snap) {
        snap.finish(ks);
        persist.bgsave_in_progress.store(false, Ordering::Relaxed);
        return Err(SaveError::NoSaver);
    }
    tracing::info!("Background saving started");
    Ok(())
}

/// The save at shutdown (SHUTDOWN, or a signal while save points are set):
/// a running BGSAVE is abandoned and the snapshot written in the foreground.
///
/// # Errors
/// The file cannot be written.
pub fn save_for_shutdown(ks: &mut Keyspace, shared: &Shared) -> Result<(), SaveError> {
    if shared.persist.bgsave_in_progress.load(Ordering::Relaxed) {
        tracing::warn!("there is a background save in progress: abandoning it to save at shutdown");
        shared.persist.generation.fetch_add(1, Ordering::Relaxed);
        Snapshot::discard(ks);
        shared
            .persist
            .bgsave_in_progress
            .store(false, Ordering::Relaxed);
    }
    tracing::info!("saving the final RDB snapshot before exiting");
    save(ks, shared)
}

/// Whether save points are configured (SHUTDOWN then saves by default).
pub fn has_save_points(shared: &Shared) -> bool {
    !shared.config.read().save.trim().is_empty()
}

fn saved(shared: &Shared) {
    shared.lastsave.store(unix_secs(), Ordering::Relaxed);
    shared.persist.saves.fetch_add(1, Ordering::Relaxed);
}

fn unix_secs() -> u64 {
    (now_ms() / 1000) as u64
}

/// The saver task: writes submitted BGSAVEs and starts scheduled ones. Owned by
/// `server::serve`, which aborts it at shutdown.
pub async fn run(shared: Arc<Shared>) {
    let Some(mut jobs) = shared.persist.job_queue.lock().take() else {
        return;
    };
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            job = jobs.recv() => match job {
                Some(snap) => spawn_writer(&shared, snap),
                None => return,
            },
            _ = tick.tick() => check_schedule(&shared),
        }
    }
}

/// Starts a BGSAVE if a save point is reached (or one was scheduled).
fn check_schedule(shared: &Shared) {
    let persist = &shared.persist;
    if persist.bgsave_in_progress.load(Ordering::Relaxed) {
        return;
    }
    let points = parse_save_points(&shared.config.read().save).unwrap_or_default();
    let scheduled = persist.bgsave_scheduled.load(Ordering::Relaxed);
    if points.is_empty() && !scheduled {
        return;
    }
    let mut ks = shared.ks.lock();
    let now = unix_secs();
    let since_save = now.saturating_sub(shared.lastsave.load(Ordering::Relaxed));
    let may_retry = persist.last_bgsave_ok.load(Ordering::Relaxed)
        || now.saturating_sub(persist.last_attempt.load(Ordering::Relaxed)) >= RETRY_AFTER_SECS;
    let due = points
        .iter()
        .find(|&&(secs, changes)| ks.dirty >= changes && since_save > secs && may_retry);
    if let Some((secs, changes)) = due {
        tracing::info!("{changes} changes in {secs} seconds. Saving...");
    } else if !scheduled {
        return;
    }
    match start_bgsave(&mut ks, shared) {
        Ok(()) => persist.bgsave_scheduled.store(false, Ordering::Relaxed),
        Err(err) => tracing::debug!(cause = %err, "scheduled BGSAVE postponed"),
    }
}

/// Writes `snap` on a thread of its own, holding an `Arc` of the state.
fn spawn_writer(shared: &Arc<Shared>, snap: Snapshot) {
    let shared = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name("bgsave".into())
        .spawn(move || write_in_background(&shared, snap));
    if let Err(err) = spawned {
        tracing::error!(cause = %err, "cannot start the BGSAVE thread");
    }
}

fn write_in_background(shared: &Shared, mut snap: Snapshot) {
    let persist = &shared.persist;
    let generation = persist.generation.load(Ordering::Relaxed);
    let current = || persist.generation.load(Ordering::Relaxed) == generation;
    let opts = SaveOptions::from_config(&shared.config.read());
    let started = Instant::now();
    let written = write_atomically(&opts, snap.started_at(), |enc| {
        let mut ks = shared.ks.lock();
        if !current() {
            return Err(io::Error::other("abandoned"));
        }
        Ok(snap.step(&mut ks, enc))
    });
    let mut ks = shared.ks.lock();
    if !current() {
        return; // SHUTDOWN took over: its foreground save reports for both.
    }
    let dirty = snap.dirty_at_start();
    snap.finish(&mut ks);
    persist.bgsave_in_progress.store(false, Ordering::Relaxed);
    let secs = started.elapsed().as_secs() as i64;
    persist.last_bgsave_secs.store(secs, Ordering::Relaxed);
    match written {
        Ok(size) => {
            ks.dirty = ks.dirty.saturating_sub(dirty);
            drop(ks);
            saved(shared);
            persist.last_bgsave_ok.store(true, Ordering::Relaxed);
            tracing::info!(path = %opts.path.display(), bytes = size, ms = started.elapsed().as_millis() as u64, "Background saving terminated with success");
        }
        Err(err) => {
            drop(ks);
            persist.last_bgsave_ok.store(false, Ordering::Relaxed);
            tracing::error!(cause = %err, "Background saving error");
        }
    }
}
