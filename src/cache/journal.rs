//! The write-back journal: every acknowledged write-back write, on disk before
//! (or, as a rule's `fsync` allows, soon after) its reply.
//!
//! Files: `DIR/<first-seq>.journal`, appended in sequence order, a new one
//! started past `segment_size`. A record is `len u32 | crc32 u32 | payload`
//! (little-endian), the CRC over the payload; a torn tail (a crash mid-write)
//! is cut off at open, a damaged record anywhere else stops the start with an
//! error rather than silently dropping what follows it.
//!
//! One thread owns the files. Appends queued while it wrote or synced are
//! written together and share one fsync (group commit): under load, `always`
//! costs about one fsync per batch of writers, not per write. A segment is
//! deleted once every rule with records in it has flushed past them.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

pub use self::inbox::Ack;
use self::inbox::{Shared, Taken};
use super::record::frame_at;
pub use super::record::Record;
use crate::config::Fsync;

/// How often `everysec` writes are synced, however busy the journal is.
const EVERYSEC: Duration = Duration::from_secs(1);
/// How long the writer lets appends gather after writing some: long enough
/// that under load it is not woken by each append, short next to a reply's
/// round trip.
const NAP: Duration = Duration::from_micros(50);

/// Why the journal cannot be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file operation failed.
    #[error("journal {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A record other than the last is damaged.
    #[error("journal {path} is damaged at byte {offset}: move the file aside to start (the writes after that point would be lost)")]
    Damaged {
        /// The segment.
        path: PathBuf,
        /// Where the bad record starts.
        offset: u64,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What is known of a closed segment: the last sequence of each rule in it.
#[derive(Debug)]
struct Segment {
    path: PathBuf,
    last_per_rule: HashMap<Arc<str>, u64>,
    /// Its size on disk.
    bytes: u64,
}

impl Segment {
    fn applied(&self, applied: &HashMap<String, u64>) -> bool {
        self.last_per_rule
            .iter()
            .all(|(rule, last)| applied.get(&**rule).is_some_and(|a| a >= last))
    }
}

/// The records found at open, and the largest sequence seen.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Every intact record, in sequence order.
    pub records: Vec<Record>,
    /// The largest sequence in the journal (0 when empty).
    pub last_seq: u64,
    /// The segments read, to delete once applied.
    segments: Vec<Segment>,
}

/// Reads every segment of `dir` (creating it if needed), cutting a torn tail.
///
/// # Errors
/// The directory cannot be read, or a record before the tail is damaged.
pub fn recover(dir: &Path) -> Result<Recovered, JournalError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "journal"))
        .collect();
    paths.sort();
    let mut out = Recovered::default();
    for (i, path) in paths.iter().enumerate() {
        let last = i + 1 == paths.len();
        let from = out.records.len();
        let bytes = read_segment(path, last, &mut out.records)?;
        let mut last_per_rule = HashMap::new();
        for r in &out.records[from..] {
            last_per_rule.insert(r.rule.clone(), r.seq);
        }
        out.segments.push(Segment {
            path: path.clone(),
            last_per_rule,
            bytes,
        });
    }
    out.last_seq = out.records.iter().map(|r| r.seq).max().unwrap_or(0);
    Ok(out)
}

/// Appends `path`'s records to `records`; the bytes kept.
fn read_segment(path: &Path, last: bool, records: &mut Vec<Record>) -> Result<u64, JournalError> {
    let mut data = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut data))
        .map_err(io_err(path))?;
    let mut at = 0usize;
    while at < data.len() {
        match frame_at(&data[at..]) {
            Some((record, used)) => {
                records.push(record);
                at += used;
            }
            None if last => {
                tracing::warn!(path = %path.display(), offset = at, dropped = data.len() - at, "journal: cutting a torn tail (a write that was never acknowledged)");
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io_err(path))?;
                file.set_len(at as u64)
                    .and_then(|_| file.sync_all())
                    .map_err(io_err(path))?;
                break;
            }
            None => {
                return Err(JournalError::Damaged {
                    path: path.to_path_buf(),
                    offset: at as u64,
                })
            }
        }
    }
    Ok(at as u64)
}

/// The running journal: a handle to its thread.
#[derive(Debug)]
pub struct Journal {
    shared: Arc<Shared>,
    /// Bytes on disk, as the writer last counted them.
    bytes: Arc<AtomicU64>,
}

impl Journal {
    /// Starts the writer on a new segment named after `next_seq`; the segments
    /// found at open are deleted once applied (see [`Journal::applied`]).
    ///
    /// # Errors
    /// The new segment cannot be created.
    pub fn start(
        dir: &Path,
        next_seq: u64,
        segment_size: u64,
        recovered: Recovered,
    ) -> Result<Journal, JournalError> {
        let writer = Writer::create(dir, next_seq, segment_size, recovered.segments)?;
        let bytes = Arc::clone(&writer.bytes);
        writer.count_bytes();
        let shared = Arc::new(Shared::default());
        let inbox = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("shardcar-journal".into())
            .spawn(move || writer.run(&inbox))
            .map_err(io_err(dir))?;
        Ok(Journal { shared, bytes })
    }

    /// The bytes of every segment not deleted yet.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Queues a record; the [`Ack`] resolves once it is written (and synced,
    /// under `always`). Records are written in the order they are appended.
    pub fn append(&self, record: &Record, fsync: Fsync) -> Ack {
        self.shared.append(record, fsync)
    }

    /// Tells the journal that `rule` is applied in SQL up to `seq`: segments
    /// holding nothing newer for any rule are deleted.
    pub fn applied(&self, rule: &str, seq: u64) {
        self.shared.applied(rule, seq);
    }

    /// Syncs and closes the journal; waits for the thread.
    pub async fn stop(&self) {
        let (tx, rx) = oneshot::channel();
        if self.shared.stop(tx) {
            let _ = rx.await;
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.shared.close();
    }
}

struct Writer {
    dir: PathBuf,
    segment_size: u64,
    file: File,
    path: PathBuf,
    written: u64,
    current: Segment,
    closed: Vec<Segment>,
    applied: HashMap<String, u64>,
    /// Since when writes wait for an `everysec` sync (None: all synced).
    unsynced: Option<Instant>,
    bytes: Arc<AtomicU64>,
}

impl Writer {
    fn create(
        dir: &Path,
        next_seq: u64,
        segment_size: u64,
        mut closed: Vec<Segment>,
    ) -> Result<Writer, JournalError> {
        let path = dir.join(format!("{next_seq:020}.journal"));
        // An empty segment left by the last run may bear this name: it is ours now.
        closed.retain(|s| s.path != path);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all(); // the new file's name is durable too
        }
        Ok(Writer {
            dir: dir.to_path_buf(),
            segment_size,
            file,
            current: Segment {
                path: path.clone(),
                last_per_rule: HashMap::new(),
                bytes: 0,
            },
            path,
            written: 0,
            closed,
            applied: HashMap::new(),
            unsynced: None,
            bytes: Arc::new(AtomicU64::new(0)),
        })
    }

    fn run(mut self, shared: &Shared) {
        // The buffer the appenders fill next: the last one, emptied.
        let mut spare = Vec::new();
        loop {
            // A steady stream of writes must not put off their sync: wait at
            // most until the oldest unsynced write is a second old.
            let wait = self
                .unsynced
                .map_or(EVERYSEC, |since| EVERYSEC.saturating_sub(since.elapsed()));
            let taken = shared.take(std::mem::take(&mut spare), wait);
            let appended = !taken.bytes.is_empty();
            match self.handle(taken) {
                Some(bytes) => spare = bytes,
                None => break,
            }
            if self
                .unsynced
                .is_some_and(|since| since.elapsed() >= EVERYSEC)
            {
                self.sync();
            }
            if appended {
                // Let appends gather: under load the writer wakes on its own
                // every NAP instead of being woken by each append.
                std::thread::sleep(NAP);
            }
        }
    }

    /// Writes what was taken, acknowledges it, and gives its emptied buffer
    /// back; `None` once closed.
    fn handle(&mut self, taken: Taken) -> Option<Vec<u8>> {
        let Taken {
            mut bytes,
            last_per_rule,
            sync,
            everysec,
            group,
            applied,
            stop,
            closed,
        } = taken;
        for (rule, seq) in applied {
            let entry = self.applied.entry(rule).or_default();
            *entry = (*entry).max(seq);
        }
        let mut result = Ok(());
        if !bytes.is_empty() {
            result = self.file.write_all(&bytes);
            self.written += bytes.len() as u64;
            self.current.last_per_rule.extend(last_per_rule);
            if everysec && self.unsynced.is_none() {
                self.unsynced = Some(Instant::now());
            }
        }
        if result.is_ok() && (sync || closed) {
            result = self.file.sync_data();
            self.unsynced = None;
        }
        group.send_replace(Some(
            result.map_err(|e| format!("journal write failed: {e}")),
        ));
        if self.written >= self.segment_size {
            self.rotate();
        }
        self.collect();
        self.count_bytes();
        if closed {
            self.sync();
            stop.into_iter().for_each(|done| {
                let _ = done.send(());
            });
            return None;
        }
        bytes.clear();
        Some(bytes)
    }

    /// Syncs the `everysec` writes that wait for it.
    fn sync(&mut self) {
        if self.unsynced.take().is_some() {
            if let Err(err) = self.file.sync_data() {
                tracing::error!(cause = %err, "journal: fsync failed");
            }
        }
    }

    /// Publishes the bytes of the segments not deleted yet.
    fn count_bytes(&self) {
        let closed: u64 = self.closed.iter().map(|s| s.bytes).sum();
        self.bytes.store(closed + self.written, Ordering::Relaxed);
    }

    /// Closes the current segment and starts the next.
    fn rotate(&mut self) {
        let next = self
            .current
            .last_per_rule
            .values()
            .max()
            .map_or(0, |s| s + 1);
        let _ = self.file.sync_data();
        match Writer::create(&self.dir, next, self.segment_size, Vec::new()) {
            Ok(fresh) => {
                let mut old = std::mem::replace(&mut self.current, fresh.current);
                old.bytes = self.written;
                self.closed.push(old);
                self.file = fresh.file;
                self.path = fresh.path;
                self.written = 0;
            }
            Err(err) => {
                tracing::error!(cause = %err, "journal: cannot start a new segment; the current one keeps growing")
            }
        }
    }

    /// Deletes closed segments whose records are all applied.
    fn collect(&mut self) {
        let applied = &self.applied;
        self.closed.retain(|segment| {
            if !segment.applied(applied) {
                return true;
            }
            match fs::remove_file(&segment.path) {
                Ok(()) => false,
                Err(err) => {
                    tracing::warn!(path = %segment.path.display(), cause = %err, "journal: cannot delete an applied segment");
                    true
                }
            }
        });
    }
}

#[path = "journal_inbox.rs"]
mod inbox;

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
