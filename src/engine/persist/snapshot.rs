//! Point-in-time snapshots of the keyspace, without fork and without a copy.
//!
//! # How
//! [`Snapshot::start`] runs under the keyspace lock and freezes every database:
//! it records the slab length at that instant (`end`) and puts a [`Frozen`]
//! beside the database. Then [`Snapshot::step`], again under the lock, walks a
//! bounded chunk of slab positions into a [`Sink`] (the RDB encoder), and the
//! caller writes the bytes after releasing the lock. Between steps, commands
//! run as usual, and the database's two mutation hooks keep the view exact:
//!
//! - before an entry at a position the walk has not reached is changed or
//!   removed, its current state (key, value, expiry) is copied into the
//!   `preserved` list, and its position is marked to be skipped by the walk;
//! - an entry created after the start is marked to be skipped too (new slab
//!   positions are beyond `end`; reused holes are marked when filled).
//!
//! Each step writes the preserved entries first, which frees them. So the
//! extra memory is bounded by what is modified ahead of the walk and not yet
//! written — not by the dataset, as fork's copy-on-write pages can be. A copy
//! is shallow where values share `Bytes` (strings, list elements, members).
//!
//! Every entry present at the start is written exactly once: either by the
//! walk (never changed before the walk reached it) or from `preserved` (changed
//! first; marked so the walk skips it). Keys expired at the start are left out.
//!
//! FLUSHDB/FLUSHALL during a snapshot move the unwritten entries into
//! `preserved` (no copy); SWAPDB moves a database with its bookkeeping, which
//! remembers the index it had at the start.
//!
//! One snapshot runs at a time (BGSAVE or an AOF rewrite): `start` says so.

use bytes::Bytes;

use crate::engine::db::{Db, Entry, UnixMs};
use crate::engine::keyspace::Keyspace;
use crate::engine::persist::rdb::Encoder;
use crate::engine::value::Value;

/// Slab positions (or preserved entries) visited per step, at most.
pub const STEP_POSITIONS: usize = 1024;
/// Encoded bytes after which a step returns early.
pub const STEP_BYTES: usize = 256 * 1024;

/// Where a snapshot's entries go.
pub trait Sink {
    /// A database begins; its key and TTL counts at the start (hints).
    fn select_db(&mut self, db: usize, keys: usize, expires: usize);
    /// One key as it was at the start.
    fn entry(&mut self, key: &[u8], value: &Value, expire_at: Option<UnixMs>);
    /// Bytes produced and not yet taken: a step stops early past [`STEP_BYTES`].
    fn pending_bytes(&self) -> usize;
}

impl Sink for Encoder {
    fn select_db(&mut self, db: usize, keys: usize, expires: usize) {
        Encoder::select_db(self, db, keys, expires);
    }

    fn entry(&mut self, key: &[u8], value: &Value, expire_at: Option<UnixMs>) {
        Encoder::entry(self, key, value, expire_at);
    }

    fn pending_bytes(&self) -> usize {
        self.len()
    }
}

/// A database's state while a snapshot runs: what the walk has done and the
/// old states of entries changed ahead of it.
#[derive(Debug)]
pub struct Frozen {
    /// The database's index when the snapshot started (SWAPDB moves it).
    origin: usize,
    /// Keys expired at this instant are not part of the snapshot.
    started_at: UnixMs,
    /// Positions below this one are written.
    cursor: u32,
    /// The slab length at the start: later positions hold only new entries.
    end: u32,
    /// One bit per position below `end`: skip it (preserved, or new).
    skip: Vec<u64>,
    /// Entries changed before the walk reached them, as they were at the start.
    preserved: Vec<(Bytes, Value, Option<UnixMs>)>,
    /// Key and TTL counts at the start.
    sizes: (usize, usize),
}

impl Frozen {
    fn new(origin: usize, db: &Db, started_at: UnixMs) -> Frozen {
        let end = db.slab_len();
        Frozen {
            origin,
            started_at,
            cursor: 0,
            end,
            skip: vec![0; (end as usize).div_ceil(64)],
            preserved: Vec::new(),
            sizes: (db.len(), db.volatile_len()),
        }
    }

    fn skipped(&self, pos: u32) -> bool {
        self.skip[pos as usize / 64] & (1 << (pos % 64)) != 0
    }

    fn mark(&mut self, pos: u32) {
        self.skip[pos as usize / 64] |= 1 << (pos % 64);
    }

    /// True if the entry at `pos` is part of the snapshot and not written yet.
    pub(crate) fn wants(&self, pos: u32) -> bool {
        pos >= self.cursor && pos < self.end && !self.skipped(pos)
    }

    /// Keeps the state of the entry at `pos`, which is about to change.
    pub(crate) fn preserve(&mut self, pos: u32, key: &Bytes, entry: &Entry) {
        self.mark(pos);
        if !expired(entry, self.started_at) {
            let value = entry.value.clone();
            self.preserved.push((key.clone(), value, entry.expire_at()));
        }
    }

    /// A new entry took position `pos`: not part of the snapshot.
    pub(crate) fn born(&mut self, pos: u32) {
        if pos < self.end {
            self.mark(pos);
        }
    }

    /// The database is being emptied: `take(pos)` moves out the entry at each
    /// position still wanted, and whatever comes next is new.
    pub(crate) fn flushed(&mut self, mut take: impl FnMut(u32) -> Option<(Bytes, Entry)>) {
        for pos in self.cursor..self.end {
            if self.skipped(pos) {
                continue;
            }
            if let Some((key, entry)) = take(pos) {
                if !expired(&entry, self.started_at) {
                    let at = entry.expire_at();
                    self.preserved.push((key, entry.value, at));
                }
            }
        }
        (self.cursor, self.end) = (0, 0);
        self.skip = Vec::new();
    }

    /// Entries preserved and not yet written (INFO, tests).
    pub fn preserved_len(&self) -> usize {
        self.preserved.len()
    }
}

fn expired(entry: &Entry, at: UnixMs) -> bool {
    entry.expire_at().is_some_and(|e| e <= at)
}

/// A snapshot in progress. Drive it with [`step`](Self::step) until it returns
/// true, then [`finish`](Self::finish); on failure, [`finish`](Self::finish) too
/// (it only removes the bookkeeping).
#[derive(Debug)]
pub struct Snapshot {
    /// Index (at the start) of the database being walked.
    current: usize,
    databases: usize,
    /// Whether `current`'s SELECTDB went out.
    announced: bool,
    started_at: UnixMs,
    dirty: u64,
}

/// Another snapshot is running.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("a snapshot is already in progress")]
pub struct SnapshotBusy;

impl Snapshot {
    /// Freezes the keyspace as it is now. Call under the lock; O(databases +
    /// slab length / 64) for the skip bitmaps.
    ///
    /// # Errors
    /// [`SnapshotBusy`] if another snapshot runs.
    pub fn start(ks: &mut Keyspace, now: UnixMs) -> Result<Snapshot, SnapshotBusy> {
        if ks.dbs.iter().any(|db| db.frozen().is_some()) {
            return Err(SnapshotBusy);
        }
        for (origin, db) in ks.dbs.iter_mut().enumerate() {
            let frozen = Frozen::new(origin, db, now);
            *db.frozen_mut() = Some(Box::new(frozen));
        }
        Ok(Snapshot {
            current: 0,
            databases: ks.dbs.len(),
            announced: false,
            started_at: now,
            dirty: ks.dirty,
        })
    }

    /// The keyspace's change counter when the snapshot was taken: a successful
    /// save subtracts it (changes made meanwhile still count as unsaved).
    pub fn dirty_at_start(&self) -> u64 {
        self.dirty
    }

    /// When the snapshot was taken.
    pub fn started_at(&self) -> UnixMs {
        self.started_at
    }

    /// Feeds the next chunk (at most [`STEP_POSITIONS`] positions, stopping
    /// early past [`STEP_BYTES`]) to `sink`; true when everything is written.
    /// Call under the lock, and write what the sink produced after releasing it.
    pub fn step(&mut self, ks: &mut Keyspace, sink: &mut impl Sink) -> bool {
        self.step_bounded(ks, sink, STEP_POSITIONS)
    }

    /// [`step`](Self::step) with a chosen number of positions per step.
    pub fn step_bounded(
        &mut self,
        ks: &mut Keyspace,
        sink: &mut impl Sink,
        positions: usize,
    ) -> bool {
        let mut budget = positions.max(1);
        while self.current < self.databases {
            let Some(db) = ks
                .dbs
                .iter_mut()
                .find(|db| origin(db) == Some(self.current))
            else {
                self.current += 1;
                continue;
            };
            let Some(mut frozen) = db.frozen_mut().take() else {
                self.current += 1;
                continue;
            };
            if !self.announced {
                self.announced = true;
                if frozen.sizes.0 > 0 {
                    sink.select_db(self.current, frozen.sizes.0, frozen.sizes.1);
                }
            }
            let done = walk(&mut frozen, db, &mut budget, sink);
            *db.frozen_mut() = Some(frozen);
            if !done {
                return false;
            }
            self.current += 1;
            self.announced = false;
            if !room(budget, sink) {
                return self.current >= self.databases;
            }
        }
        true
    }

    /// Removes the bookkeeping from every database. Call under the lock, when
    /// the snapshot is complete or abandoned.
    pub fn finish(self, ks: &mut Keyspace) {
        Snapshot::discard(ks);
    }

    /// Ends whatever snapshot runs, from outside its owner (SHUTDOWN, which then
    /// saves in the foreground); the owner must be told to stop calling `step`.
    pub fn discard(ks: &mut Keyspace) {
        for db in &mut ks.dbs {
            *db.frozen_mut() = None;
        }
    }
}

fn origin(db: &Db) -> Option<usize> {
    db.frozen().map(|f| f.origin)
}

/// Writes preserved entries, then walks positions, while budget and sink allow;
/// true when this database is done.
fn walk(frozen: &mut Frozen, db: &Db, budget: &mut usize, sink: &mut impl Sink) -> bool {
    while room(*budget, sink) {
        let Some((key, value, expire_at)) = frozen.preserved.pop() else {
            break;
        };
        sink.entry(&key, &value, expire_at);
        *budget -= 1;
    }
    while room(*budget, sink) && frozen.cursor < frozen.end {
        let pos = frozen.cursor;
        frozen.cursor += 1;
        *budget -= 1;
        if frozen.skipped(pos) {
            continue;
        }
        if let Some((key, entry)) = db.slot_at(pos) {
            if !expired(entry, frozen.started_at) {
                sink.entry(key, &entry.value, entry.expire_at());
            }
        }
    }
    frozen.cursor >= frozen.end && frozen.preserved.is_empty()
}

fn room(budget: usize, sink: &impl Sink) -> bool {
    budget > 0 && sink.pending_bytes() < STEP_BYTES
}
