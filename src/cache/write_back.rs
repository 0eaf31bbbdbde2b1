//! Write-back: a write is acknowledged once it is in the backend and in the
//! journal (synced as the rule's `fsync` says); a flusher per rule moves
//! journaled writes to SQL in batches.
//!
//! Exactly once: each batch is one transaction that also advances the rule's
//! high-water mark in `shardcar_flush_state`; at start, only writes above it
//! are replayed. Upserts carry a version guard (the journal sequence) and
//! appends their sequence under a unique constraint, so a replayed write
//! changes nothing twice.
//!
//! When SQL refuses a batch, its writes are tried one by one and those SQL
//! still refuses go to `shardcar_dead_letter` with the error; the others are
//! applied. When SQL is unreachable, the flusher retries with backoff and the
//! journal grows up to `max_pending`; past it, writes wait (`on_full: block`)
//! or get `-BUSY` (`on_full: reject`). Nothing is ever dropped.
//!
//! Reads of a key whose cached value is gone see its pending writes before SQL
//! (the overlay), so a lost backend never exposes an older row.

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

use super::command::{Target, Write as WriteOp, WriteReply};
use super::journal::{self, Journal, Record};
use super::keyspace::{self, Cached, Sent};
use super::look_aside::jittered;
use super::store::{Batch, Change, StoreError, Write};
use super::{incr, Cache, CacheError};
use crate::config::{CacheConfig, Mode, OnFull, Rule, ValueColumns};
use crate::proxy::pool::Pool;
use crate::resp::Frame;

/// First wait after SQL could not be reached; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

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
    fn add(&mut self, seq: u64, replace: bool, columns: &[(usize, Bytes)]) {
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

#[derive(Debug, Default)]
struct Queue {
    records: VecDeque<(Record, Vec<(usize, Bytes)>)>,
    overlay: HashMap<Bytes, Overlay>,
}

/// A write-back rule's journaled writes not yet in SQL.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// Held briefly to push, peek or pop: never across an await.
    queue: Mutex<Queue>,
    /// Woken when a flush made room.
    room: Notify,
    /// Woken when a batch is full.
    work: Notify,
}

impl Pending {
    pub(crate) fn len(&self) -> usize {
        self.queue.lock().records.len()
    }

    pub(crate) fn overlay(&self, key: &Bytes) -> Option<Overlay> {
        self.queue.lock().overlay.get(key).cloned()
    }

    fn push(&self, record: Record, columns: Vec<(usize, Bytes)>) -> usize {
        let mut q = self.queue.lock();
        q.overlay
            .entry(record.key.clone())
            .or_default()
            .add(record.seq, record.replace, &columns);
        q.records.push_back((record, columns));
        q.records.len()
    }

    /// The first `n` writes, in order.
    fn peek(&self, n: usize) -> Vec<(Record, Vec<(usize, Bytes)>)> {
        self.queue.lock().records.iter().take(n).cloned().collect()
    }

    /// Forgets writes up to `seq`, now in SQL.
    fn applied(&self, seq: u64) {
        let mut q = self.queue.lock();
        while q.records.front().is_some_and(|(r, _)| r.seq <= seq) {
            q.records.pop_front();
        }
        q.overlay.retain(|_, o| o.last_seq > seq);
        drop(q);
        self.room.notify_waiters();
    }

    /// Waits until there is room under `max`, or says it is full (`reject`).
    async fn make_room(&self, max: usize, on_full: OnFull) -> bool {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.len() < max {
                return true;
            }
            if on_full == OnFull::Reject {
                return false;
            }
            notified.await;
        }
    }
}

/// A write to a write-back key.
pub(crate) async fn write(
    cache: &Arc<Cache>,
    pool: &Arc<Pool>,
    target: &Target,
    op: WriteOp,
) -> Frame {
    let state = &cache.rules[target.rule];
    let (Some(pending), Some(wb), Some(journal)) =
        (&state.pending, &state.rule.write_back, &cache.journal)
    else {
        return Frame::error("ERR shardcar: write-back is not running");
    };
    if !pending.make_room(wb.max_pending, wb.on_full).await {
        return Frame::error(format!(
            "BUSY shardcar: the write-back queue of cache rule '{}' is full ({} writes not yet in SQL); retry later",
            state.rule.name, wb.max_pending
        ));
    }
    let (replace, columns, reply) = match op {
        WriteOp::Set { columns, reply } => (false, columns, Some(reply)),
        WriteOp::Delete => (true, Vec::new(), None),
    };
    let names = state.rule.value.columns();
    let (ack, sent, full) = {
        let mut next = cache.order.lock();
        let record = Record {
            seq: *next,
            rule: state.rule.name.clone(),
            key: target.key.clone(),
            replace,
            fields: columns
                .iter()
                .map(|(i, v)| (Bytes::from(names[*i].clone()), v.clone()))
                .collect(),
        };
        *next += 1;
        let ack = journal.append(&record, wb.fsync);
        let sent = state.reads.invalidate(&target.key, || {
            backend_write(pool, &state.rule, &target.key, replace, &columns)
        });
        let len = pending.push(record, columns.clone());
        (ack, sent, len >= wb.batch_size)
    };
    if full {
        pending.work.notify_one();
    }
    let mut frames = Vec::new();
    for s in sent {
        frames.push(s.reply(pool).await);
    }
    match ack.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Frame::error(format!("ERR shardcar: {e}")),
        Err(_) => return Frame::error("ERR shardcar: the journal is closed"),
    }
    if let Some(error) = frames.iter().find(|f| f.is_error()) {
        return error.clone();
    }
    match reply {
        Some(WriteReply::Ok) => Frame::ok(),
        Some(WriteReply::Count) => frames.into_iter().next().unwrap_or(Frame::Integer(0)),
        None => frames.into_iter().next().unwrap_or(Frame::Integer(0)),
    }
}

/// The backend side of a write: the whole new value when the write says it
/// all, else the cached value is dropped (a partial hash must not pass for
/// the whole row; the next read merges SQL and the pending writes).
fn backend_write(
    pool: &Pool,
    rule: &Rule,
    key: &Bytes,
    replace: bool,
    columns: &[(usize, Bytes)],
) -> Vec<Sent> {
    let whole = columns.len() == rule.value.columns().len();
    if replace || !whole {
        return vec![keyspace::send(pool, key, &[b"DEL", key])];
    }
    let mut overlay = Overlay::default();
    overlay.add(0, false, columns);
    match overlay.apply(rule, None) {
        Some(value) => value.store(pool, key, jittered(rule)),
        None => vec![keyspace::send(pool, key, &[b"DEL", key])],
    }
}

/// Replays the journal above each rule's high-water mark and flushes it all
/// before the pool serves, then starts the journal writer.
pub(crate) async fn recover(cache: &mut Cache, cfg: &CacheConfig) -> Result<(), CacheError> {
    let dir = cfg.journal.clone();
    let pool = cache.pool.clone();
    let journal_err = |source| CacheError::Journal {
        pool: pool.clone(),
        source,
    };
    let recovered = tokio::task::spawn_blocking(move || journal::recover(&dir))
        .await
        .map_err(|e| {
            journal_err(journal::JournalError::Io {
                path: cfg.journal.clone(),
                source: std::io::Error::other(e),
            })
        })?
        .map_err(journal_err)?;
    // Every rule with journaled writes, and every write-back rule.
    let mut names: Vec<String> = recovered.records.iter().map(|r| r.rule.clone()).collect();
    names.extend(
        cache
            .rules
            .iter()
            .filter(|s| s.pending.is_some())
            .map(|s| s.rule.name.clone()),
    );
    names.sort();
    names.dedup();
    let mut marks = HashMap::new();
    for name in names {
        let mark = cache
            .store
            .high_water(&name)
            .await
            .map_err(|source| CacheError::Database {
                pool: cache.pool.clone(),
                database: cache.database.clone(),
                source,
            })?;
        marks.insert(name, mark);
    }
    replay(cache, &recovered.records, &marks)?;
    let next = recovered
        .last_seq
        .max(marks.values().copied().max().unwrap_or(0))
        + 1;
    *cache.order.lock() = next;
    let journal =
        Journal::start(&cfg.journal, next, cfg.segment_size, recovered).map_err(journal_err)?;
    for (rule, mark) in &marks {
        journal.applied(rule, *mark);
    }
    cache.journal = Some(Arc::new(journal));
    for i in 0..cache.rules.len() {
        if cache.rules[i].pending.is_some() {
            flush_all(&*cache, i, None)
                .await
                .map_err(|source| CacheError::Database {
                    pool: cache.pool.clone(),
                    database: cache.database.clone(),
                    source,
                })?;
        }
    }
    Ok(())
}

fn replay(
    cache: &Cache,
    records: &[Record],
    marks: &HashMap<String, u64>,
) -> Result<(), CacheError> {
    let mut orphans: HashMap<&str, usize> = HashMap::new();
    let mut replayed = 0;
    for record in records {
        // Writes already flushed past (the mark) are no loss, whatever the rule.
        if record.seq <= marks.get(&record.rule).copied().unwrap_or(0) {
            continue;
        }
        let state = cache
            .rules
            .iter()
            .find(|s| s.rule.name == record.rule && s.pending.is_some());
        let Some(state) = state else {
            *orphans.entry(record.rule.as_str()).or_default() += 1;
            continue;
        };
        let names = state.rule.value.columns();
        let columns = record
            .fields
            .iter()
            .filter_map(|(n, v)| {
                Some((
                    names.iter().position(|c| c.as_bytes() == n.as_ref())?,
                    v.clone(),
                ))
            })
            .collect();
        if let Some(pending) = &state.pending {
            pending.push(record.clone(), columns);
            replayed += 1;
        }
    }
    if let Some((rule, count)) = orphans.into_iter().next() {
        return Err(CacheError::OrphanWrites {
            pool: cache.pool.clone(),
            rule: rule.to_string(),
            count,
        });
    }
    if replayed > 0 {
        tracing::info!(pool = %cache.pool, writes = replayed, "cache: replaying journaled writes not yet in SQL");
    }
    Ok(())
}

/// Flushes rule `i` until nothing is pending. With `stop`, an unreachable
/// database is retried with backoff until it comes back or `stop` is set;
/// without, the first such error is returned.
async fn flush_all(
    cache: &Cache,
    i: usize,
    mut stop: Option<&mut watch::Receiver<bool>>,
) -> Result<(), StoreError> {
    let state = &cache.rules[i];
    let (Some(pending), Some(wb)) = (&state.pending, &state.rule.write_back) else {
        return Ok(());
    };
    let mut backoff = FIRST_BACKOFF;
    loop {
        let records = pending.peek(wb.batch_size);
        let Some(high_water) = records.last().map(|(r, _)| r.seq) else {
            return Ok(());
        };
        match flush_batch(cache, &state.rule, &records, high_water).await {
            Ok(()) => {
                backoff = FIRST_BACKOFF;
                pending.applied(high_water);
                if let Some(journal) = &cache.journal {
                    journal.applied(&state.rule.name, high_water);
                }
                cache.stats.flushed.fetch_add(records.len() as u64, Relaxed);
            }
            Err(err) => {
                let Some(stop) = stop.as_deref_mut() else {
                    return Err(err);
                };
                tracing::warn!(rule = %state.rule.name, pending = pending.len(), retry_in = ?backoff, cause = %err, "cache: flush failed; writes stay journaled");
                if *stop.borrow() {
                    return Err(err);
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return Err(err),
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// One batch: all in one transaction; if SQL refuses it, write by write, the
/// refused ones to the dead-letter table. `Err` only when SQL is unreachable.
async fn flush_batch(
    cache: &Cache,
    rule: &Rule,
    records: &[(Record, Vec<(usize, Bytes)>)],
    high_water: u64,
) -> Result<(), StoreError> {
    let batch = Batch {
        rule: rule.name.clone(),
        writes: to_writes(rule, records),
        high_water: Some(high_water),
    };
    match cache.store.apply(rule, &batch).await {
        Ok(()) => {}
        Err(StoreError::Rejected(_)) => one_by_one(cache, rule, &batch).await?,
        Err(unavailable) => return Err(unavailable),
    }
    incr(&cache.stats.flush_batches);
    let rows = batch.writes.len() as u64;
    cache.stats.rows_flushed.fetch_add(rows, Relaxed);
    Ok(())
}

/// A refused batch, write by write: each refused one to the dead-letter table,
/// then the high-water mark. Replaying any of it is harmless (the guards), so
/// only the last transaction advances the mark.
async fn one_by_one(cache: &Cache, rule: &Rule, batch: &Batch) -> Result<(), StoreError> {
    let single = |writes: Vec<Write>, high_water: Option<u64>| Batch {
        rule: rule.name.clone(),
        writes,
        high_water,
    };
    for write in &batch.writes {
        match cache
            .store
            .apply(rule, &single(vec![write.clone()], None))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Rejected(reason)) => {
                tracing::error!(rule = %rule.name, seq = write.seq, cause = %reason, "cache: SQL refused a write; moved to shardcar_dead_letter");
                let recorded = cache.store.dead_letter(rule, write, &reason, None).await;
                recorded.map_err(|e| {
                    StoreError::Unavailable(format!("cannot record a dead letter: {e}"))
                })?;
                incr(&cache.stats.dead_letters);
            }
            Err(unavailable) => return Err(unavailable),
        }
    }
    cache
        .store
        .apply(rule, &single(Vec::new(), batch.high_water))
        .await
}

/// Journal records as row changes: one per write for append rules; one per key
/// for upsert rules, the key's writes merged in order.
fn to_writes(rule: &Rule, records: &[(Record, Vec<(usize, Bytes)>)]) -> Vec<Write> {
    let mut writes: Vec<Write> = Vec::new();
    let mut by_key: HashMap<&Bytes, usize> = HashMap::new();
    let append = rule
        .write_back
        .as_ref()
        .is_some_and(|wb| wb.mode == Mode::Append);
    for (record, columns) in records {
        let key: Vec<Bytes> = rule
            .pattern
            .matches(&record.key)
            .unwrap_or_default()
            .into_iter()
            .map(Bytes::copy_from_slice)
            .collect();
        let change = if record.replace {
            Change::Replace(columns.clone())
        } else {
            Change::Set(columns.clone())
        };
        let write = Write {
            seq: record.seq,
            redis_key: record.key.clone(),
            key,
            change,
        };
        match by_key.get(&record.key).filter(|_| !append) {
            Some(&at) => merge(&mut writes[at], write),
            None => {
                by_key.insert(&record.key, writes.len());
                writes.push(write);
            }
        }
    }
    writes
}

fn merge(into: &mut Write, later: Write) {
    into.seq = later.seq;
    match later.change {
        Change::Replace(columns) => into.change = Change::Replace(columns),
        Change::Set(columns) => {
            let (Change::Set(existing) | Change::Replace(existing)) = &mut into.change;
            for (i, v) in columns {
                existing.retain(|(c, _)| *c != i);
                existing.push((i, v));
            }
        }
    }
}

/// Rule `i`'s flusher: a batch when it is full or `flush_interval` passed;
/// a last flush when `stop` is set.
pub(crate) async fn flusher(cache: Arc<Cache>, i: usize, mut stop: watch::Receiver<bool>) {
    let state = &cache.rules[i];
    let (Some(pending), Some(wb)) = (&state.pending, &state.rule.write_back) else {
        return;
    };
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(wb.flush_interval) => false,
            _ = pending.work.notified() => false,
            _ = stop.changed() => true,
        } || *stop.borrow();
        let result = if stopping {
            flush_all(&cache, i, None).await
        } else {
            flush_all(&cache, i, Some(&mut stop)).await
        };
        if stopping {
            if let Err(err) = result {
                tracing::warn!(rule = %state.rule.name, pending = pending.len(), cause = %err, "cache: final flush failed; the writes stay journaled for the next start");
            }
            return;
        }
    }
}
