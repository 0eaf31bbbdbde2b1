//! Reading through the cache, and writing through it to SQL.
//!
//! A read asks the backend first: mostly the session sends the read itself,
//! as it sends a plain GET, and hands the reply to [`hit`] (see
//! `super::CachedRead`); a task reads with [`value`]. On a miss ([`missed`]),
//! pending write-back writes answer when they say everything about the key;
//! else one fetch per key runs, however many clients missed together
//! (single-flight: the first becomes the leader, the others wait for its
//! answer). The leader stores what it read with the rule's TTL plus jitter, or
//! remembers "no row" for `negative_ttl`.
//!
//! A refill never overwrites a newer write: a write removes the key's flight,
//! and a leader stores only if its flight is still registered. Both happen
//! under the flights lock, and the store and the invalidation are queued to the
//! backend under it too, on one connection (see `keyspace`), so the backend
//! sees them in the order the lock gave them.
//!
//! The negative cache is this process's own (a map with deadlines), not the
//! backends': other proxies' writes clear it only when it expires.

use bytes::Bytes;
use parking_lot::Mutex;
use rand::Rng;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

use super::command::{Target, Write, WriteReply};
use super::keyspace::{self, Cached, Sent};
use super::store::{Change, Row};
use super::{Cache, RuleState, Turn};
use crate::config::{Rule, ValueColumns};
use crate::proxy::pool::Pool;
use crate::resp::Frame;

/// Remembered "no row" entries at most, per rule; past it, expired ones are
/// swept and, if still full, the new one is not remembered.
const MAX_NEGATIVE: usize = 100_000;

/// A cached key's value (`None`: no such key), or the error the client gets.
pub(crate) type Outcome = Result<Option<Cached>, Frame>;

/// Flights kept (done or not) before finished ones are swept.
const MAX_FLIGHTS: usize = 10_000;
/// How long a finished fetch still answers readers that missed in the backend
/// just before its value landed there: without it, such a late reader would
/// run a second query. Bounded by a quarter of the rule's TTL.
const LINGER: Duration = Duration::from_millis(100);

/// One fetch, in progress or just done.
#[derive(Debug)]
struct Flight {
    id: u64,
    result: watch::Receiver<Option<Outcome>>,
    /// Until when a finished fetch answers; `None` while in progress.
    valid_until: Option<Instant>,
}

impl Flight {
    fn usable(&self, now: Instant) -> bool {
        self.valid_until.is_none_or(|t| t > now)
    }
}

/// The read-side state of a rule.
#[derive(Debug, Default)]
pub(crate) struct Reads {
    /// Fetches in progress by key. Held only to look up, insert or remove
    /// (and to queue a store or invalidation): never across an await.
    flights: Mutex<HashMap<Bytes, Flight>>,
    /// Keys with no row, until when.
    negative: Mutex<HashMap<Bytes, Instant>>,
    next_id: AtomicU64,
}

impl Reads {
    fn is_negative(&self, key: &Bytes) -> bool {
        let mut negative = self.negative.lock();
        match negative.get(key) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                negative.remove(key);
                false
            }
            None => false,
        }
    }

    fn remember_absent(&self, key: &[u8], ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let mut negative = self.negative.lock();
        if negative.len() >= MAX_NEGATIVE {
            let now = Instant::now();
            negative.retain(|_, until| *until > now);
        }
        if negative.len() < MAX_NEGATIVE {
            // A copy: the request's key is a slice of the client's read
            // buffer, which it would keep alive for `negative_ttl`.
            negative.insert(Bytes::copy_from_slice(key), Instant::now() + ttl);
        }
    }

    /// Drops whatever is cached or being fetched for `key` in this process,
    /// and queues `then` (the backend's DEL or new value) under the same lock.
    pub(crate) fn invalidate<T>(&self, key: &Bytes, then: impl FnOnce() -> T) -> T {
        let mut flights = self.flights.lock();
        flights.remove(key);
        self.negative.lock().remove(key);
        then()
    }
}

/// A cached key's value: from the backend, pending writes, or SQL. The
/// session's next request may start once the backend read is queued.
pub(crate) async fn value(
    cache: &Arc<Cache>,
    pool: &Arc<Pool>,
    target: &Target,
    turn: &mut Turn,
) -> Outcome {
    let state = &cache.rules[target.rule];
    let command = keyspace::read_command(state.is_hash());
    let reading = keyspace::send(pool, &target.key, &[command, &target.key]);
    turn.pass();
    match hit(state, reading.reply(pool).await)? {
        Some(value) => Ok(Some(value)),
        None => missed(cache, pool, target).await,
    }
}

/// What the backend's reply to a read of one of `state`'s keys holds: the
/// value (a hit, counted), `Ok(None)` (a miss, for [`missed`]), or the
/// backend's error.
pub(crate) fn hit(state: &RuleState, reply: Frame) -> Outcome {
    let value = keyspace::to_cached(reply, state.is_hash())?;
    if value.is_some() {
        state.metrics.hits.incr();
    }
    Ok(value)
}

/// The value of a key the backend does not hold: from pending writes when
/// they say it all, else "no row" if remembered, else SQL.
pub(crate) async fn missed(cache: &Arc<Cache>, pool: &Arc<Pool>, target: &Target) -> Outcome {
    let state = &cache.rules[target.rule];
    state.metrics.misses.incr();
    let overlay = state.pending.as_ref().and_then(|p| p.overlay(&target.key));
    if let Some(overlay) = &overlay {
        if overlay.complete(&state.rule) {
            return Ok(overlay.apply(&state.rule, None));
        }
    } else if state.reads.is_negative(&target.key) {
        state.metrics.negative_hits.incr();
        return Ok(None);
    }
    fetch(cache, pool, target).await
}

/// Joins the key's flight, or leads a new one.
async fn fetch(cache: &Arc<Cache>, pool: &Arc<Pool>, target: &Target) -> Outcome {
    let state = &cache.rules[target.rule];
    let reads = &state.reads;
    let (tx, rx) = watch::channel(None);
    let (id, mut result) = {
        let mut flights = reads.flights.lock();
        let now = Instant::now();
        match flights.get(&target.key).filter(|f| f.usable(now)) {
            Some(flight) => (None, flight.result.clone()),
            None => {
                if flights.len() >= MAX_FLIGHTS {
                    flights.retain(|_, f| f.usable(now));
                }
                let id = reads.next_id.fetch_add(1, Ordering::Relaxed);
                let result = rx.clone();
                let flight = Flight {
                    id,
                    result,
                    valid_until: None,
                };
                flights.insert(target.key.clone(), flight);
                (Some(id), rx)
            }
        }
    };
    let Some(id) = id else {
        state.metrics.coalesced.incr();
        return match result.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or(Ok(None)),
            Err(_) => Err(Frame::error("ERR shardcar: a concurrent cache fill failed")),
        };
    };
    // In a task of its own: were the leader's reader to go away mid-fetch
    // (its client disconnected), the flight would stay registered, unfinished,
    // and every later reader of the key would join it and fail.
    let (cache, pool, target) = (Arc::clone(cache), Arc::clone(pool), target.clone());
    let leader = tokio::spawn(async move {
        let outcome = lead(&cache, &pool, &target, id, &tx).await;
        let _ = tx.send(Some(outcome.clone()));
        outcome
    });
    leader
        .await
        .unwrap_or_else(|_| Err(Frame::error("ERR shardcar: a cache fill failed")))
}

/// The leader's work: fetch, then store unless a write came in meanwhile.
async fn lead(
    cache: &Arc<Cache>,
    pool: &Arc<Pool>,
    target: &Target,
    id: u64,
    tx: &watch::Sender<Option<Outcome>>,
) -> Outcome {
    let state = &cache.rules[target.rule];
    let rule = &state.rule;
    state.metrics.sql_reads.incr();
    let fetched = cache.store.fetch(rule, &target.captures(rule)).await;
    let row = match fetched {
        Ok(row) => row,
        Err(err) => {
            let mut flights = state.reads.flights.lock();
            if flights.get(&target.key).is_some_and(|f| f.id == id) {
                flights.remove(&target.key);
            }
            return Err(cache.sql_error(state, &err));
        }
    };
    let mut value = row.and_then(|row| from_row(rule, row));
    if let Some(overlay) = state.pending.as_ref().and_then(|p| p.overlay(&target.key)) {
        value = overlay.apply(rule, value);
    }
    let stored: Vec<Sent> = {
        let mut flights = state.reads.flights.lock();
        if let Some(flight) = flights.get_mut(&target.key).filter(|f| f.id == id) {
            // Answer readers that come late from here on, for a moment.
            let _ = tx.send(Some(Ok(value.clone())));
            flight.valid_until = Some(Instant::now() + LINGER.min(rule.ttl / 4));
            match &value {
                Some(v) => v.store(pool, &target.key, jittered(rule)),
                None => {
                    state.reads.remember_absent(&target.key, rule.negative_ttl);
                    Vec::new()
                }
            }
        } else {
            state.metrics.refills_discarded.incr();
            Vec::new()
        }
    };
    for sent in stored {
        sent.reply(pool).await;
    }
    Ok(value)
}

/// The rule's TTL, lengthened by up to `ttl_jitter` percent.
pub(crate) fn jittered(rule: &Rule) -> Duration {
    let max = rule.ttl.as_millis() as u64 * u64::from(rule.ttl_jitter) / 100;
    let extra = if max == 0 {
        0
    } else {
        rand::thread_rng().gen_range(0..=max)
    };
    rule.ttl + Duration::from_millis(extra)
}

/// A row as the cached value; `None` when it has no value at all.
pub(crate) fn from_row(rule: &Rule, row: Row) -> Option<Cached> {
    match &rule.value {
        ValueColumns::String(_) => row.into_iter().next().flatten().map(Cached::String),
        ValueColumns::Hash(names) => {
            let fields: Vec<(Bytes, Bytes)> = names
                .iter()
                .zip(row)
                .filter_map(|(n, v)| Some((Bytes::from(n.clone()), v?)))
                .collect();
            (!fields.is_empty()).then_some(Cached::Hash(fields))
        }
    }
}

/// A write to a look-aside key: SQL first, then the cached value is dropped;
/// the session's next request may start once that is queued.
pub(crate) async fn write_through(
    cache: &Arc<Cache>,
    pool: &Arc<Pool>,
    target: &Target,
    write: Write,
    turn: &mut Turn,
) -> Frame {
    let state = &cache.rules[target.rule];
    let (change, reply) = match write {
        Write::Set { columns, reply } => {
            let n = columns.len() as i64;
            (
                Change::Set(columns),
                match reply {
                    WriteReply::Count => Frame::Integer(n),
                    _ => Frame::ok(),
                },
            )
        }
        Write::Delete => (Change::Replace(Vec::new()), Frame::Null),
        // `command` takes these for write-back rules only.
        Write::Add { .. } | Write::Push(_) | Write::Stream { .. } => {
            return Frame::error(
                "ERR shardcar: INCR, RPUSH and XADD are taken by write-back rules only",
            )
        }
    };
    let changed = match cache
        .store
        .write(&state.rule, &target.captures(&state.rule), &change)
        .await
    {
        Ok(n) => n,
        Err(err) => return cache.sql_error(state, &err),
    };
    let key = &target.key;
    let sent = state
        .reads
        .invalidate(key, || keyspace::send(pool, key, &[b"DEL", key]));
    turn.pass();
    if let Frame::Error(e) = sent.reply(pool).await {
        tracing::warn!(rule = %state.rule.name, cause = %String::from_utf8_lossy(&e), "cache: SQL is written but the cached value could not be dropped; it stays until its TTL");
    }
    match reply {
        Frame::Null => Frame::Integer(changed.min(1) as i64),
        other => other,
    }
}
