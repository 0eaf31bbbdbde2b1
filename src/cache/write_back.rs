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
use std::collections::HashMap;
use std::sync::Arc;

use super::command::{Target, Write as WriteOp, WriteReply};
use super::flush::flush_all;
use super::journal::{self, Journal, Record};
use super::keyspace::{self, Sent};
use super::look_aside::jittered;
use super::pending::{Overlay, Room};
use super::{Cache, CacheError, Turn};
use crate::config::{CacheConfig, Rule};
use crate::proxy::pool::Pool;
use crate::resp::Frame;

/// A write to a write-back key. The session's next request may start once
/// it is queued to the journal and the backend, in that order for both.
pub(crate) async fn write(
    cache: &Arc<Cache>,
    pool: &Arc<Pool>,
    target: &Target,
    op: WriteOp,
    turn: &mut Turn,
) -> Frame {
    let state = &cache.rules[target.rule];
    let (Some(pending), Some(wb)) = (&state.pending, &state.rule.write_back) else {
        return Frame::error("ERR shardcar: write-back is not running");
    };
    let room = pending.make_room(wb.max_pending, wb.on_full).await;
    if room == Room::Waited {
        state.metrics.full_blocked.incr();
    }
    if room == Room::Full {
        state.metrics.full_rejected.incr();
        return Frame::error(format!(
            "BUSY shardcar: the write-back queue of cache rule '{}' is full ({} writes not yet in SQL); retry later",
            state.rule.name, wb.max_pending
        ));
    }
    let queued = queue(cache, pool, target, op);
    turn.pass();
    queued.reply().await
}

/// Whether a write to `target` would find room in its queue at once.
pub(crate) fn has_room(cache: &Cache, target: &Target) -> bool {
    let state = &cache.rules[target.rule];
    match (&state.pending, &state.rule.write_back) {
        (Some(pending), Some(wb)) => pending.len() < wb.max_pending,
        _ => false,
    }
}

/// A write queued to the journal and the backend, its reply to come.
#[derive(Debug)]
pub(crate) struct Queued {
    cache: Arc<Cache>,
    pool: Arc<Pool>,
    rule: usize,
    /// The journal's word (`None`: there is no journal, write-back is off).
    ack: Option<journal::Ack>,
    sent: Vec<Sent>,
    reply: Option<WriteReply>,
    /// How many columns the write sets.
    written: usize,
}

/// Queues a write to the journal, the backend and the pending writes, in
/// the one order of the cache's sequence. Never waits: the caller made room.
pub(crate) fn queue(cache: &Arc<Cache>, pool: &Arc<Pool>, target: &Target, op: WriteOp) -> Queued {
    let state = &cache.rules[target.rule];
    let (replace, columns, reply) = match op {
        WriteOp::Set { columns, reply } => (false, columns, Some(reply)),
        WriteOp::Delete => (true, Vec::new(), None),
    };
    let mut queued = Queued {
        cache: Arc::clone(cache),
        pool: Arc::clone(pool),
        rule: target.rule,
        ack: None,
        sent: Vec::new(),
        reply,
        written: columns.len(),
    };
    let (Some(pending), Some(wb), Some(journal)) =
        (&state.pending, &state.rule.write_back, &cache.journal)
    else {
        return queued;
    };
    let names = state.rule.value.columns();
    let full = {
        let mut next = cache.order.lock();
        let record = Record {
            seq: *next,
            rule: Arc::clone(&state.name),
            key: target.key.clone(),
            replace,
            fields: columns
                .iter()
                .map(|(i, v)| (Bytes::from(names[*i].clone()), v.clone()))
                .collect(),
        };
        *next += 1;
        queued.ack = Some(journal.append(&record, wb.fsync));
        queued.sent = state.reads.invalidate(&target.key, || {
            backend_write(pool, &state.rule, &target.key, replace, &columns)
        });
        pending.push(record, columns) >= wb.batch_size
    };
    if full {
        pending.work.notify_one();
    }
    queued
}

impl Queued {
    /// The client's reply, once the journal and the backend answered.
    pub(crate) async fn reply(self) -> Frame {
        let state = &self.cache.rules[self.rule];
        let Some(ack) = self.ack else {
            return Frame::error("ERR shardcar: write-back is not running");
        };
        let mut frames = Vec::with_capacity(self.sent.len());
        for s in self.sent {
            frames.push(s.reply(&self.pool).await);
        }
        match ack.await {
            Ok(()) => state.metrics.journaled.incr(),
            Err(e) => return Frame::error(format!("ERR shardcar: {e}")),
        }
        if let Some(error) = frames.iter().find(|f| f.is_error()) {
            return error.clone();
        }
        match self.reply {
            Some(WriteReply::Ok) => Frame::ok(),
            // A whole hash went to the backend: its HSET counted the new fields.
            // A partial one only dropped the cached value: count what was written.
            Some(WriteReply::Count) if self.written < state.rule.value.columns().len() => {
                Frame::Integer(self.written as i64)
            }
            Some(WriteReply::Count) => frames.into_iter().next().unwrap_or(Frame::Integer(0)),
            None => frames.into_iter().next().unwrap_or(Frame::Integer(0)),
        }
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
    let journal_err = |source| CacheError::Journal {
        pool: cache.pool.clone(),
        source,
    };
    let dir = cfg.journal.clone();
    let recovered = tokio::task::spawn_blocking(move || journal::recover(&dir))
        .await
        .map_err(|e| journal::JournalError::Io {
            path: cfg.journal.clone(),
            source: std::io::Error::other(e),
        })
        .and_then(|read| read)
        .map_err(journal_err)?;
    let marks = high_water_marks(cache, &recovered.records).await?;
    replay(cache, &recovered.records, &marks)?;
    let floor = cache.store.max_high_water().await;
    let floor = floor.map_err(|e| cache.db_error(e))?;
    let highest_mark = marks.values().copied().max().unwrap_or(0);
    let next = recovered.last_seq.max(highest_mark).max(floor) + 1;
    *cache.order.lock() = next;
    let journal = Journal::start(&cfg.journal, next, cfg.segment_size, recovered);
    let journal = journal.map_err(journal_err)?;
    for (rule, mark) in &marks {
        journal.applied(rule, *mark);
    }
    cache.journal = Some(Arc::new(journal));
    for i in 0..cache.rules.len() {
        if cache.rules[i].pending.is_some() {
            let flushed = flush_all(&*cache, i, None).await;
            flushed.map_err(|e| cache.db_error(e))?;
        }
    }
    Ok(())
}

/// The high-water mark of every rule with journaled writes, and of every
/// write-back rule.
async fn high_water_marks(
    cache: &Cache,
    records: &[Record],
) -> Result<HashMap<String, u64>, CacheError> {
    let mut names: Vec<&str> = records.iter().map(|r| &*r.rule).collect();
    let write_back = cache.rules.iter().filter(|s| s.pending.is_some());
    names.extend(write_back.map(|s| s.rule.name.as_str()));
    names.sort_unstable();
    names.dedup();
    let mut marks = HashMap::new();
    for name in names {
        let mark = cache.store.high_water(name).await;
        marks.insert(name.to_string(), mark.map_err(|e| cache.db_error(e))?);
    }
    Ok(marks)
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
        if record.seq <= marks.get(&*record.rule).copied().unwrap_or(0) {
            continue;
        }
        let state = cache
            .rules
            .iter()
            .find(|s| *s.name == *record.rule && s.pending.is_some());
        let Some(state) = state else {
            *orphans.entry(&*record.rule).or_default() += 1;
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
