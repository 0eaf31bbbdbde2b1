//! A write-back rule's pending writes: journaled, not yet in SQL. The queue
//! feeds the flusher in journal order; the overlay answers reads of keys whose
//! cached value left the backend, so that they never see an older SQL row.

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::journal::Record;
use super::keyspace::Cached;
use crate::config::{OnFull, Rule, ValueColumns};

/// What pending writes say about one key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overlay {
    last_seq: u64,
    /// A DEL (or a whole-value write) is among them: older SQL state is gone.
    replaced: bool,
    /// Column index → value, the latest of each.
    columns: Vec<(usize, Bytes)>,
}

impl Overlay {
    pub(super) fn add(&mut self, seq: u64, replace: bool, columns: &[(usize, Bytes)]) {
        self.last_seq = seq;
        if replace {
            self.replaced = true;
            self.columns.clear();
        }
        for (i, v) in columns {
            match self.columns.iter_mut().find(|(c, _)| c == i) {
                Some(slot) => slot.1 = v.clone(),
                None => self.columns.push((*i, v.clone())),
            }
        }
    }

    /// Whether the key's value is known without SQL.
    pub(crate) fn complete(&self, rule: &Rule) -> bool {
        self.replaced || self.columns.len() == rule.value.columns().len()
    }

    /// The value once these writes are applied over `base` (what SQL holds).
    pub(crate) fn apply(&self, rule: &Rule, base: Option<Cached>) -> Option<Cached> {
        let names = rule.value.columns();
        match &rule.value {
            ValueColumns::String(_) => match self.columns.last() {
                Some((_, v)) => Some(Cached::String(v.clone())),
                None if self.replaced => None,
                None => base,
            },
            ValueColumns::Hash(_) => {
                let mut fields = match base {
                    Some(Cached::Hash(f)) if !self.replaced => f,
                    _ => Vec::new(),
                };
                for (i, v) in &self.columns {
                    let name = Bytes::from(names[*i].clone());
                    fields.retain(|(f, _)| f != &name);
                    fields.push((name, v.clone()));
                }
                (!fields.is_empty()).then_some(Cached::Hash(fields))
            }
        }
    }
}

/// One pending write: what the flusher and the overlay need of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// Its journal sequence.
    pub(super) seq: u64,
    /// The Redis key.
    pub(super) key: Bytes,
    /// The row is deleted before `columns` are set.
    pub(super) replace: bool,
    /// Value column index → value.
    pub(super) columns: Vec<(usize, Bytes)>,
}

impl Entry {
    pub(super) fn new(record: Record, columns: Vec<(usize, Bytes)>) -> Entry {
        Entry {
            seq: record.seq,
            key: record.key,
            replace: record.replace,
            columns,
        }
    }
}

#[derive(Debug, Default)]
struct Queue {
    records: VecDeque<Entry>,
    /// When each of `records` was queued, in the same order (the flush lag).
    queued: VecDeque<Instant>,
    /// The overlay of the writes before the last `unindexed`. Built when a
    /// read asks for it rather than on every write: writes far outnumber the
    /// reads that miss, and a hash-map update per write on a map of every
    /// pending key was a tenth of a write's CPU. Hashed with ahash.
    overlay: HashMap<Bytes, Overlay, ahash::RandomState>,
    /// How many of the last `records` are not in `overlay` yet.
    unindexed: usize,
    /// Keys whose overlay stays after a flush, and by how many holders: an
    /// INCR reading the key's value meanwhile must see every later write.
    pinned: HashMap<Bytes, usize, ahash::RandomState>,
    /// The last sequence applied in SQL.
    applied: u64,
}

impl Queue {
    /// Brings the overlay up to date with every pending write.
    fn index(&mut self) {
        let from = self.records.len() - self.unindexed;
        for e in self.records.range(from..) {
            self.overlay
                .entry(e.key.clone())
                .or_default()
                .add(e.seq, e.replace, &e.columns);
        }
        self.unindexed = 0;
    }
}

/// Whether a write found room in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Room {
    /// At once.
    Free,
    /// After waiting for a flush (`on_full: block`).
    Waited,
    /// No: the queue is full (`on_full: reject`).
    Full,
}

/// A write-back rule's journaled writes not yet in SQL.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// Held briefly to push, peek or pop: never across an await.
    queue: Mutex<Queue>,
    /// Woken when a flush made room.
    room: Notify,
    /// Woken when a batch is full.
    pub(super) work: Notify,
}

impl Pending {
    pub(crate) fn len(&self) -> usize {
        self.queue.lock().records.len()
    }

    /// How many writes wait, and since when the oldest does.
    pub(crate) fn levels(&self) -> (usize, Option<Instant>) {
        let q = self.queue.lock();
        (q.records.len(), q.queued.front().copied())
    }

    pub(crate) fn overlay(&self, key: &Bytes) -> Option<Overlay> {
        let mut q = self.queue.lock();
        q.index();
        q.overlay.get(key).cloned()
    }

    /// The latest pending value of `key`'s column: `Some(None)` when a pending
    /// DEL left it without one, `None` when no pending write says.
    pub(crate) fn latest(&self, key: &Bytes, column: usize) -> Option<Option<Bytes>> {
        let mut q = self.queue.lock();
        q.index();
        let overlay = q.overlay.get(key)?;
        match overlay.columns.iter().find(|(c, _)| *c == column) {
            Some((_, v)) => Some(Some(v.clone())),
            None if overlay.replaced => Some(None),
            None => None,
        }
    }

    /// Keeps `key`'s pending writes in the overlay, flushed or not, until
    /// [`Pending::unpin`]: what is read of the key meanwhile plus the overlay
    /// is then its latest value.
    pub(crate) fn pin(&self, key: &Bytes) {
        *self.queue.lock().pinned.entry(key.clone()).or_default() += 1;
    }

    /// Undoes one [`Pending::pin`]; the overlay of writes already in SQL goes.
    pub(crate) fn unpin(&self, key: &Bytes) {
        let mut q = self.queue.lock();
        let Some(holders) = q.pinned.get_mut(key) else {
            return;
        };
        *holders -= 1;
        if *holders == 0 {
            q.pinned.remove(key);
            let applied = q.applied;
            if q.overlay.get(key).is_some_and(|o| o.last_seq <= applied) {
                q.overlay.remove(key);
            }
        }
    }

    /// Queues a write; how many wait now.
    pub(super) fn push(&self, record: Record, columns: Vec<(usize, Bytes)>) -> usize {
        let entry = Entry::new(record, columns);
        let now = Instant::now();
        let mut q = self.queue.lock();
        q.records.push_back(entry);
        q.queued.push_back(now);
        q.unindexed += 1;
        q.records.len()
    }

    /// The first `n` writes, in order.
    pub(super) fn peek(&self, n: usize) -> Vec<Entry> {
        self.queue.lock().records.iter().take(n).cloned().collect()
    }

    /// Forgets writes up to `seq`, now in SQL.
    pub(super) fn applied(&self, seq: u64) {
        let mut q = self.queue.lock();
        q.applied = q.applied.max(seq);
        if !q.pinned.is_empty() {
            // A pinned key's writes must reach its overlay before they go.
            q.index();
        }
        while q.records.front().is_some_and(|e| e.seq <= seq) {
            let indexed = q.records.len() > q.unindexed;
            let Some(e) = q.records.pop_front() else {
                break;
            };
            q.queued.pop_front();
            if !indexed {
                q.unindexed -= 1;
            } else if q.overlay.get(&e.key).is_some_and(|o| o.last_seq <= seq)
                && !q.pinned.contains_key(&e.key)
            {
                q.overlay.remove(&e.key);
            }
        }
        drop(q);
        self.room.notify_waiters();
    }

    /// Waits until there is room under `max`, or says it is full (`reject`).
    pub(super) async fn make_room(&self, max: usize, on_full: OnFull) -> Room {
        let mut room = Room::Free;
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.len() < max {
                return room;
            }
            if on_full == OnFull::Reject {
                return Room::Full;
            }
            room = Room::Waited;
            notified.await;
        }
    }
}
