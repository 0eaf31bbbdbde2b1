//! The AOF writer: one thread owns the open incremental file; lock holders
//! queue bytes to it, and `always` clients wait for the fsync that covers them.
//!
//! Group commit: whatever was queued while the thread wrote or synced is
//! written next in one `write` and made durable by one `fsync`, so under load
//! `always` costs one fsync per round of writers, not one per write.
//!
//! Offsets are logical: the count of bytes ever queued, across file switches.
//! A client that queued up to offset N is durable once `synced >= N`.
//!
//! A failed write is undone (the file cut back to its last good length, so no
//! half command stays in it) and retried every second; meanwhile the status is
//! an error, which makes the engine refuse writes (MISCONF) and the clients
//! waiting for the failed bytes lose their connection unanswered.

use parking_lot::{Condvar, Mutex};
use std::fs::File;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often `everysec` syncs, and a failed write is retried.
const SECOND: Duration = Duration::from_secs(1);

/// appendfsync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// fsync before replying.
    Always = 0,
    /// fsync once a second.
    EverySec = 1,
    /// Leave it to the OS.
    No = 2,
}

impl Fsync {
    /// From its config spelling; `everysec` for anything unknown.
    pub fn from_name(name: &str) -> Fsync {
        match name {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }

    fn from_u8(n: u8) -> Fsync {
        match n {
            0 => Fsync::Always,
            2 => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// What the writer has achieved, published after every round.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Offset written to the file (the OS has it).
    pub written: u64,
    /// Offset fsynced.
    pub synced: u64,
    /// Length of the current incremental file.
    pub file_size: u64,
    /// The last write or fsync error, until a retry succeeds.
    pub error: Option<Arc<str>>,
    /// The thread has finished (after [`Writer::stop`]).
    pub stopped: bool,
}

/// Bytes queued for the thread.
#[derive(Debug, Default)]
struct Pending {
    buf: Vec<u8>,
    /// Logical offset at the end of `buf`.
    end: u64,
    /// A file to continue in, once the first `at` bytes of `buf` are written.
    switch: Option<(usize, File, u64)>,
    stop: bool,
}

#[derive(Debug)]
struct Inner {
    pending: Mutex<Pending>,
    wake: Condvar,
    progress: watch::Sender<Progress>,
    fsync: AtomicU8,
    /// Mirrors `progress.error.is_some()`, read by every write command.
    failing: AtomicBool,
}

/// The handle: queue bytes, wait for durability, switch files, stop.
#[derive(Debug, Clone)]
pub struct Writer {
    inner: Arc<Inner>,
}

impl Writer {
    /// Starts the thread appending to `file`, whose length is `size`.
    ///
    /// # Errors
    /// The thread cannot be spawned.
    pub fn start(file: File, size: u64, fsync: Fsync) -> std::io::Result<Writer> {
        let inner = Arc::new(Inner {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            progress: watch::Sender::new(Progress {
                file_size: size,
                ..Progress::default()
            }),
            fsync: AtomicU8::new(fsync as u8),
            failing: AtomicBool::new(false),
        });
        let thread = Thread {
            inner: Arc::clone(&inner),
            file,
            size,
            unwritten: Vec::new(),
            unsynced: false,
            last_sync: Instant::now(),
            retry_at: None,
            switch: None,
        };
        std::thread::Builder::new()
            .name("shardcar-aof".into())
            .spawn(move || thread.run())?;
        Ok(Writer { inner })
    }

    /// Queues `bytes`; returns the offset they end at.
    pub fn append(&self, bytes: Vec<u8>) -> u64 {
        let mut pending = self.inner.pending.lock();
        pending.end += bytes.len() as u64;
        if pending.buf.is_empty() {
            pending.buf = bytes;
        } else {
            pending.buf.extend_from_slice(&bytes);
        }
        let end = pending.end;
        drop(pending);
        self.inner.wake.notify_one();
        end
    }

    /// The offset at the end of everything queued so far.
    pub fn queued(&self) -> u64 {
        self.inner.pending.lock().end
    }

    /// The current policy.
    pub fn fsync(&self) -> Fsync {
        Fsync::from_u8(self.inner.fsync.load(Ordering::Relaxed))
    }

    /// Changes the policy (CONFIG SET appendfsync).
    pub fn set_fsync(&self, fsync: Fsync) {
        self.inner.fsync.store(fsync as u8, Ordering::Relaxed);
        self.inner.wake.notify_one();
    }

    /// True while the last write or fsync failed.
    pub fn failing(&self) -> bool {
        self.inner.failing.load(Ordering::Relaxed)
    }

    /// What the thread has achieved.
    pub fn progress(&self) -> Progress {
        self.inner.progress.borrow().clone()
    }

    /// Waits until everything up to `offset` is fsynced.
    ///
    /// # Errors
    /// The write or fsync failed (the text says why), or the writer stopped.
    pub async fn durable(&self, offset: u64) -> Result<(), Arc<str>> {
        let mut rx = self.inner.progress.subscribe();
        let seen = rx
            .wait_for(|p| p.synced >= offset || p.error.is_some() || p.stopped)
            .await
            .map_err(|_| Arc::<str>::from("the AOF writer is gone"))?;
        match (&seen.error, seen.synced >= offset) {
            (_, true) => Ok(()),
            (Some(err), false) => Err(Arc::clone(err)),
            (None, false) => Err("the AOF writer stopped".into()),
        }
    }

    /// Continues in `file` (of length `size`) after what is queued now; the
    /// old file is fsynced first.
    pub fn switch(&self, file: File, size: u64) {
        let mut pending = self.inner.pending.lock();
        let at = pending.buf.len();
        pending.switch = Some((at, file, size));
        drop(pending);
        self.inner.wake.notify_one();
    }

    /// Writes and fsyncs what is queued, then ends the thread.
    pub async fn stop(&self) {
        self.inner.pending.lock().stop = true;
        self.inner.wake.notify_one();
        let mut rx = self.inner.progress.subscribe();
        let _ = rx.wait_for(|p| p.stopped).await;
    }
}

/// The thread's own state.
struct Thread {
    inner: Arc<Inner>,
    file: File,
    size: u64,
    /// Taken from the queue but not yet written (a failed write keeps them).
    unwritten: Vec<u8>,
    unsynced: bool,
    last_sync: Instant,
    retry_at: Option<Instant>,
    /// A file to continue in once the first `.0` bytes of `unwritten` are written.
    switch: Option<(usize, File, u64)>,
}

impl Thread {
    fn run(mut self) {
        loop {
            let (end, stop) = self.next_round();
            self.write_round();
            let due = match Fsync::from_u8(self.inner.fsync.load(Ordering::Relaxed)) {
                Fsync::Always => true,
                Fsync::EverySec => self.last_sync.elapsed() >= SECOND,
                Fsync::No => false,
            };
            if self.unsynced && (due || stop) {
                self.sync();
            }
            self.publish(end);
            if stop && (self.unwritten.is_empty() || self.retry_at.is_some()) {
                self.inner.progress.send_modify(|p| p.stopped = true);
                return;
            }
        }
    }

    /// Waits for work, then takes the queue: (its end offset, stop).
    fn next_round(&mut self) -> (u64, bool) {
        let mut pending = self.inner.pending.lock();
        loop {
            let now = Instant::now();
            let retrying = self.retry_at.is_some_and(|at| now < at);
            let work = !pending.buf.is_empty() || pending.switch.is_some();
            if pending.stop || (work && !retrying) {
                break;
            }
            let timeout = match self.retry_at {
                Some(at) if at > now => at - now,
                Some(_) => break,
                None if self.unsynced => SECOND.saturating_sub(self.last_sync.elapsed()),
                None => SECOND,
            };
            if self
                .inner
                .wake
                .wait_for(&mut pending, timeout.max(Duration::from_millis(1)))
                .timed_out()
            {
                break;
            }
        }
        let offset = self.unwritten.len();
        if let Some((at, file, size)) = pending.switch.take() {
            self.switch = Some((offset + at, file, size));
        }
        self.unwritten.append(&mut pending.buf);
        (pending.end, pending.stop)
    }

    /// Writes what was taken, switching files where asked.
    fn write_round(&mut self) {
        if let Some((at, _, _)) = &self.switch {
            let tail = self.unwritten.split_off(*at);
            let ok = self.write_unwritten() && (!self.unsynced || self.sync());
            match self.switch.take() {
                Some((_, file, size)) if ok => {
                    self.file = file;
                    self.size = size;
                }
                Some((_, file, size)) => self.switch = Some((self.unwritten.len(), file, size)),
                None => {}
            }
            self.unwritten.extend(tail);
            if !ok {
                return;
            }
        }
        self.write_unwritten();
    }

    /// Writes what is unwritten; false (and the file cut back) on failure.
    fn write_unwritten(&mut self) -> bool {
        if self.unwritten.is_empty() {
            return true;
        }
        match self.file.write_all(&self.unwritten) {
            Ok(()) => {
                self.size += self.unwritten.len() as u64;
                self.unwritten.clear();
                self.unsynced = true;
                self.retry_at = None;
                true
            }
            Err(err) => {
                // Cut a partial write back, so the file never ends mid-command
                // with more commands appended after it.
                let _ = self.file.set_len(self.size);
                self.fail(format!("{err}"));
                false
            }
        }
    }

    fn sync(&mut self) -> bool {
        match self.file.sync_data() {
            Ok(()) => {
                self.unsynced = false;
                self.last_sync = Instant::now();
                true
            }
            Err(err) => {
                self.fail(format!("fsync: {err}"));
                false
            }
        }
    }

    fn fail(&mut self, why: String) {
        if self.retry_at.is_none() {
            tracing::error!(cause = %why, "AOF: cannot write the append-only file; writes are refused until it works again");
        }
        self.retry_at = Some(Instant::now() + SECOND);
        self.inner.failing.store(true, Ordering::Relaxed);
        self.inner
            .progress
            .send_modify(|p| p.error = Some(Arc::from(why.as_str())));
    }

    /// Publishes how far the file got.
    fn publish(&self, end: u64) {
        let unwritten = self.unwritten.len() as u64;
        let written = end - unwritten;
        let synced = !self.unsynced;
        let healthy = self.retry_at.is_none();
        let size = self.size;
        self.inner.progress.send_if_modified(|p| {
            let before = (p.written, p.synced, p.file_size, p.error.is_some());
            p.written = written;
            if synced {
                p.synced = written;
            }
            p.file_size = size;
            if healthy && p.error.take().is_some() {
                self.inner.failing.store(false, Ordering::Relaxed);
                tracing::warn!("AOF: the append-only file can be written again");
            }
            before != (p.written, p.synced, p.file_size, p.error.is_some())
        });
    }
}
