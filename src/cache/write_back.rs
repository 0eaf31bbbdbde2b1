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
use super::keyspace::{self, Cached, Sent};
use super::look_aside::{self, jittered};
use super::pending::{Overlay, Room};
use super::{Cache, CacheError, Turn};
use crate::config::{CacheConfig, Rule};
use crate::proxy::pool::Pool;
use crate::resp::Frame;

/// A write to a write-back key. The session's next request may start once
/// it is queued to the journal and the backend, in that order for both.
/// `prepared` is what [`prepare`] learned before the write's turn.
pub(crate) async fn write(
    cache: &Arc<Cache>,
    pool: &Arc<Pool>,
    target: &Target,
    op: WriteOp,
    prepared: Prepared,
    turn: &mut Turn,
) -> Frame {
    let state = &cache.rules[target.rule];
    let (Some(pending), Some(wb)) = (&state.pending, &state.rule.write_back) else {
        return not_running();
    };
    let Prepared { learned, pinned } = prepared;
    let learned = match learned {
        Some(Ok(learned)) => Some(learned),
        Some(Err(frame)) => return frame,
        None => None,
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
    let queued = match queue(cache, pool, target, op, learned) {
        Ok(queued) => queued,
        Err(Unqueued::Refused(frame)) => return frame,
        // An XADD, or an INCR whose pending value went to SQL since `prepare`.
        Err(Unqueued::Unknown(op)) => {
            let _pinned = pin(cache, target);
            let learned = match learn(cache, pool, target, &op).await {
                Ok(learned) => learned,
                Err(frame) => return frame,
            };
            match queue(cache, pool, target, op, Some(learned)) {
                Ok(queued) => queued,
                Err(Unqueued::Refused(frame)) => return frame,
                Err(Unqueued::Unknown(_)) => return not_running(),
            }
        }
    };
    drop(pinned);
    turn.pass();
    queued.reply().await
}

/// What a write learned before its turn ([`prepare`]).
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    learned: Option<Result<Learned, Frame>>,
    /// Held until the write is queued.
    pinned: Option<Pinned>,
}

/// For an INCR of a column whose latest value no pending write holds: pins
/// the key and reads the value, before the write's turn, so that a
/// pipeline's INCRs read together. The pin keeps the read good until the
/// write is queued: a write coming meanwhile (even an earlier one of the same
/// pipeline) stays in the overlay, which [`queue`] prefers to what was read.
pub(crate) async fn prepare(
    cache: &Arc<Cache>,
    pool: &Arc<Pool>,
    target: &Target,
    op: &WriteOp,
) -> Prepared {
    let pending = cache.rules[target.rule].pending.as_ref();
    match (op, pending) {
        (WriteOp::Add { column, .. }, Some(pending))
            if pending.latest(&target.key, *column).is_none() =>
        {
            let pinned = pin(cache, target);
            Prepared {
                learned: Some(learn(cache, pool, target, op).await),
                pinned: Some(pinned),
            }
        }
        _ => Prepared::default(),
    }
}

/// A key pinned in its rule's overlay ([`Pending::pin`](super::pending::Pending::pin))
/// until dropped.
#[derive(Debug)]
pub(crate) struct Pinned {
    cache: Arc<Cache>,
    rule: usize,
    key: Bytes,
}

fn pin(cache: &Arc<Cache>, target: &Target) -> Pinned {
    if let Some(pending) = &cache.rules[target.rule].pending {
        pending.pin(&target.key);
    }
    Pinned {
        cache: Arc::clone(cache),
        rule: target.rule,
        key: target.key.clone(),
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Some(pending) = &self.cache.rules[self.rule].pending {
            pending.unpin(&self.key);
        }
    }
}

fn not_running() -> Frame {
    Frame::error("ERR shardcar: write-back is not running")
}

/// What the backend told of a write that `queue` could not make alone.
#[derive(Debug)]
pub(crate) enum Learned {
    /// INCR: the column's value, read from the backend, else from pending
    /// writes and SQL.
    Value(Option<Bytes>),
    /// XADD: the backend added the entry, with this ID.
    Added(Frame),
}

/// Asks the backend what `op` needs to know; `Err` is the client's reply
/// (the backend's error, or XADD's nil when NOMKSTREAM found no stream).
async fn learn(
    cache: &Arc<Cache>,
    pool: &Arc<Pool>,
    target: &Target,
    op: &WriteOp,
) -> Result<Learned, Frame> {
    match op {
        WriteOp::Add { column, .. } => {
            let state = &cache.rules[target.rule];
            let name = state.rule.value.columns()[*column].as_bytes();
            let value = look_aside::value(cache, pool, target, &mut Turn::default()).await?;
            Ok(Learned::Value(match value {
                None => None,
                Some(Cached::String(v)) => Some(v),
                Some(Cached::Hash(fields)) => fields
                    .into_iter()
                    .find(|(field, _)| field.as_ref() == name)
                    .map(|(_, v)| v),
            }))
        }
        WriteOp::Stream { args, .. } => {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
            match keyspace::call(pool, &target.key, &args).await {
                id @ Frame::Bulk(_) => Ok(Learned::Added(id)),
                other => Err(other),
            }
        }
        _ => Err(not_running()),
    }
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
    /// The journal's word on each row written.
    acks: Vec<journal::Ack>,
    sent: Vec<Sent>,
    reply: WriteReply,
    /// How many columns the write sets.
    written: usize,
}

/// Why a write was not queued.
#[derive(Debug)]
pub(crate) enum Unqueued {
    /// The client's reply, at once: write-back is off, or an INCR found no
    /// number to add to.
    Refused(Frame),
    /// The backend must be asked first ([`learn`], with the key pinned): an
    /// INCR of a column whose latest value no pending write holds, or an XADD
    /// (the entry is journaled once added). Queue `op` again with the answer.
    Unknown(WriteOp),
}

/// The backend's side of a queued write.
enum Backend {
    /// The new value, or the cached one dropped ([`backend_write`]).
    Write,
    /// RPUSH these values ([`backend_push`]).
    Push(Vec<Bytes>),
    /// Nothing more: the backend has it already (XADD).
    Done,
}

/// A journal record's body: whether it replaces the key's row, and the
/// (column index, value) pairs it sets.
type Row = (bool, Vec<(usize, Bytes)>);

/// Queues a write to the journal, the backend and the pending writes, in
/// the one order of the cache's sequence. Never waits: the caller made room.
/// An INCR adds to the column's latest pending value, else to the value
/// `learned` while the key was pinned.
pub(crate) fn queue(
    cache: &Arc<Cache>,
    pool: &Arc<Pool>,
    target: &Target,
    op: WriteOp,
    learned: Option<Learned>,
) -> Result<Queued, Unqueued> {
    let state = &cache.rules[target.rule];
    let (Some(pending), Some(wb), Some(journal)) =
        (&state.pending, &state.rule.write_back, &cache.journal)
    else {
        return Err(Unqueued::Refused(not_running()));
    };
    let rule = &state.rule;
    // What stays pending is copied out of the request, which is a slice of
    // the client's read buffer: each pending write would pin 16 KiB of it.
    let key = &Bytes::copy_from_slice(&target.key);
    let mut next = cache.order.lock();
    // The rows to journal, the reply, and the backend's side of the write.
    let (rows, reply, backend): (Vec<Row>, _, _) = match (op, learned) {
        (WriteOp::Set { columns, reply }, _) => (vec![(false, columns)], reply, Backend::Write),
        (WriteOp::Delete, _) => (
            vec![(true, Vec::new())],
            WriteReply::Backend,
            Backend::Write,
        ),
        (WriteOp::Add { column, by }, learned) => {
            let current = match (pending.latest(key, column), learned) {
                (Some(latest), _) | (None, Some(Learned::Value(latest))) => latest,
                _ => return Err(Unqueued::Unknown(WriteOp::Add { column, by })),
            };
            let (value, frame) = by.add_to(current.as_deref()).map_err(Unqueued::Refused)?;
            let row = (false, vec![(column, value)]);
            (vec![row], WriteReply::Value(frame), Backend::Write)
        }
        (WriteOp::Push(values), _) => {
            let rows = values.iter().map(|v| (false, vec![(0, v.clone())]));
            (rows.collect(), WriteReply::Backend, Backend::Push(values))
        }
        (WriteOp::Stream { columns, .. }, Some(Learned::Added(id))) => {
            (vec![(false, columns)], WriteReply::Value(id), Backend::Done)
        }
        (stream @ WriteOp::Stream { .. }, _) => return Err(Unqueued::Unknown(stream)),
    };
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|(replace, columns)| {
            let columns = columns.into_iter();
            (
                replace,
                columns
                    .map(|(i, v)| (i, Bytes::copy_from_slice(&v)))
                    .collect(),
            )
        })
        .collect();
    let mut queued = Queued {
        cache: Arc::clone(cache),
        pool: Arc::clone(pool),
        rule: target.rule,
        acks: Vec::with_capacity(rows.len()),
        sent: Vec::new(),
        reply,
        written: rows.first().map_or(0, |(_, columns)| columns.len()),
    };
    let records: Vec<Record> = rows
        .iter()
        .map(|(replace, columns)| {
            let record = Record {
                seq: *next,
                rule: Arc::clone(&state.name),
                key: key.clone(),
                replace: *replace,
                fields: columns
                    .iter()
                    .map(|(i, v)| (state.columns[*i].clone(), v.clone()))
                    .collect(),
            };
            *next += 1;
            queued.acks.push(journal.append(&record, wb.fsync));
            record
        })
        .collect();
    queued.sent = state.reads.invalidate(key, || match &backend {
        Backend::Write => backend_write(pool, rule, key, rows[0].0, &rows[0].1),
        Backend::Push(values) => backend_push(pool, rule, key, values),
        Backend::Done => Vec::new(),
    });
    let mut waiting = 0;
    for (record, (_, columns)) in records.into_iter().zip(rows) {
        waiting = pending.push(record, columns);
    }
    drop(next);
    if waiting >= wb.batch_size {
        pending.work.notify_one();
    }
    Ok(queued)
}

impl Queued {
    /// The client's reply, once the journal and the backend answered.
    pub(crate) async fn reply(self) -> Frame {
        let state = &self.cache.rules[self.rule];
        let mut frames = Vec::with_capacity(self.sent.len());
        for s in self.sent {
            frames.push(s.reply(&self.pool).await);
        }
        for ack in self.acks {
            match ack.outcome().await {
                Ok(()) => state.metrics.journaled.incr(),
                Err(e) => return Frame::error(format!("ERR shardcar: {e}")),
            }
        }
        if let Some(error) = frames.iter().find(|f| f.is_error()) {
            return error.clone();
        }
        let backend = || frames.into_iter().next().unwrap_or(Frame::Integer(0));
        match self.reply {
            WriteReply::Ok => Frame::ok(),
            WriteReply::Value(frame) => frame,
            // A whole hash went to the backend: its HSET counted the new fields.
            // A partial one only dropped the cached value: count what was written.
            WriteReply::Count if self.written < state.rule.value.columns().len() => {
                Frame::Integer(self.written as i64)
            }
            WriteReply::Count | WriteReply::Backend => backend(),
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

/// The backend side of an RPUSH to an append rule: the push, and the rule's
/// TTL renewed as a SET's would be.
fn backend_push(pool: &Pool, rule: &Rule, key: &Bytes, values: &[Bytes]) -> Vec<Sent> {
    let mut args: Vec<&[u8]> = Vec::with_capacity(values.len() + 2);
    args.push(b"RPUSH");
    args.push(key);
    args.extend(values.iter().map(|v| v.as_ref()));
    let ms = jittered(rule).as_millis().max(1).to_string();
    vec![
        keyspace::send(pool, key, &args),
        keyspace::send(pool, key, &[b"PEXPIRE", key, ms.as_bytes()]),
    ]
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
