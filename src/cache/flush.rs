//! The flusher: journaled writes to SQL in batches, exactly once (each batch
//! one transaction with the rule's high-water mark), refused rows to the
//! dead-letter table, an unreachable database retried with backoff.

use bytes::Bytes;
use std::collections::{hash_map, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

use super::pending::Entry;
use super::store::{Batch, Change, StoreError, Write};
use super::Cache;
use crate::config::{Mode, Rule};

/// First wait after SQL could not be reached; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A flusher that fell behind takes up to this many times `batch_size` queued
/// writes in one transaction. Each commit costs a sync, and rewrites every
/// page its rows touched (SQLite's WAL), so while writes come faster than
/// batches of `batch_size` go, fewer larger ones catch up where small ones
/// would fall further behind.
const BEHIND_GROWTH: usize = 32;

/// Flushes rule `i` until nothing is pending. With `stop`, an unreachable
/// database is retried with backoff until it comes back or `stop` is set;
/// without, the first such error is returned.
pub(super) async fn flush_all(
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
        let records = pending.peek(wb.batch_size.saturating_mul(BEHIND_GROWTH));
        let Some(high_water) = records.last().map(|e| e.seq) else {
            return Ok(());
        };
        match flush_batch(cache, i, &records, high_water).await {
            Ok(()) => {
                backoff = FIRST_BACKOFF;
                pending.applied(high_water);
                if let Some(journal) = &cache.journal {
                    journal.applied(&state.rule.name, high_water);
                }
                state.metrics.flushed.add(records.len() as u64);
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
    i: usize,
    records: &[Entry],
    high_water: u64,
) -> Result<(), StoreError> {
    let state = &cache.rules[i];
    let rule = &state.rule;
    let started = Instant::now();
    let batch = Batch {
        rule: rule.name.clone(),
        writes: to_writes(rule, records),
        high_water: Some(high_water),
    };
    match state.metrics.sql(cache.store.apply(rule, &batch).await) {
        Ok(()) => {}
        Err(StoreError::Rejected(_)) => in_parts(cache, i, &batch).await?,
        Err(unavailable) => return Err(unavailable),
    }
    let rows = batch.writes.len() as u64;
    state.metrics.batch_committed(rows, started.elapsed());
    Ok(())
}

/// A refused batch in parts of `batch_size` (it may have grown past it),
/// each refused part write by write, the refused writes to the dead-letter
/// table; then the high-water mark. A poisoned row then costs about as many
/// transactions as in a batch that did not grow. Replaying any of it is
/// harmless (the guards), so only the last transaction advances the mark.
async fn in_parts(cache: &Cache, i: usize, batch: &Batch) -> Result<(), StoreError> {
    let state = &cache.rules[i];
    let rule = &state.rule;
    let size = rule
        .write_back
        .as_ref()
        .map_or(1, |wb| wb.batch_size.max(1));
    let grown = batch.writes.len() > size;
    for part in batch.writes.chunks(size) {
        if grown {
            let applied = cache
                .store
                .apply(rule, &unmarked(rule, part.to_vec()))
                .await;
            match state.metrics.sql(applied) {
                Ok(()) => continue,
                Err(StoreError::Rejected(_)) => {}
                Err(unavailable) => return Err(unavailable),
            }
        }
        one_by_one(cache, i, part).await?;
    }
    let mark = Batch {
        rule: rule.name.clone(),
        writes: Vec::new(),
        high_water: batch.high_water,
    };
    let marked = cache.store.apply(rule, &mark).await;
    state.metrics.sql(marked)
}

/// Writes to apply without advancing the high-water mark.
fn unmarked(rule: &Rule, writes: Vec<Write>) -> Batch {
    Batch {
        rule: rule.name.clone(),
        writes,
        high_water: None,
    }
}

/// Writes one by one, each refused one to the dead-letter table.
async fn one_by_one(cache: &Cache, i: usize, writes: &[Write]) -> Result<(), StoreError> {
    let state = &cache.rules[i];
    let rule = &state.rule;
    for write in writes {
        let applied = cache
            .store
            .apply(rule, &unmarked(rule, vec![write.clone()]))
            .await;
        match state.metrics.sql(applied) {
            Ok(()) => {}
            Err(StoreError::Rejected(reason)) => {
                tracing::error!(rule = %rule.name, seq = write.seq, cause = %reason, "cache: SQL refused a write; moved to shardcar_dead_letter");
                let recorded = cache.store.dead_letter(rule, write, &reason, None).await;
                recorded.map_err(|e| {
                    StoreError::Unavailable(format!("cannot record a dead letter: {e}"))
                })?;
                state.metrics.dead_letters.incr();
            }
            Err(unavailable) => return Err(unavailable),
        }
    }
    Ok(())
}

/// Pending writes as row changes: one per write for append rules; one per
/// key for upsert rules, the key's writes merged in order. Key columns are
/// slices of the Redis key, not copies.
fn to_writes(rule: &Rule, records: &[Entry]) -> Vec<Write> {
    let mut writes: Vec<Write> = Vec::with_capacity(records.len());
    let append = rule
        .write_back
        .as_ref()
        .is_some_and(|wb| wb.mode == Mode::Append);
    let mut by_key: HashMap<&Bytes, usize, ahash::RandomState> = HashMap::default();
    for entry in records {
        let key: Vec<Bytes> = rule
            .pattern
            .matches(&entry.key)
            .unwrap_or_default()
            .into_iter()
            .map(|capture| entry.key.slice_ref(capture))
            .collect();
        let change = if entry.replace {
            Change::Replace(entry.columns.clone())
        } else {
            Change::Set(entry.columns.clone())
        };
        let write = Write {
            seq: entry.seq,
            redis_key: entry.key.clone(),
            key,
            change,
        };
        if append {
            writes.push(write);
            continue;
        }
        match by_key.entry(&entry.key) {
            hash_map::Entry::Occupied(at) => merge(&mut writes[*at.get()], write),
            hash_map::Entry::Vacant(slot) => {
                slot.insert(writes.len());
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
        // Checked first: a change seen inside a flush's backoff is not seen
        // again by `changed()`.
        let stopping = *stop.borrow()
            || tokio::select! {
                _ = tokio::time::sleep(wb.flush_interval) => false,
                _ = pending.work.notified() => false,
                _ = stop.changed() => true,
            };
        if stopping {
            if let Err(err) = flush_all(&cache, i, None).await {
                tracing::warn!(rule = %state.rule.name, pending = pending.len(), cause = %err, "cache: final flush failed; the writes stay journaled for the next start");
            }
            return;
        }
        // Unreachable SQL is retried inside, until it is back or `stop` is set.
        let _ = flush_all(&cache, i, Some(&mut stop)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn rule(mode: &str) -> Rule {
        let yaml = format!(
            "p:\n  listen: 127.0.0.1:1\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n  cache:\n    rules:\n      - name: r\n        match: \"h:{{id}}\"\n        table: t\n        value: [a, b]\n        policy: write_back\n        mode: {mode}\n"
        );
        let mut pools = Config::from_yaml(&yaml).unwrap().pools;
        pools.remove(0).cache.unwrap().rules.remove(0)
    }

    fn rec(seq: u64, key: &str, replace: bool, columns: &[(usize, &str)]) -> Entry {
        Entry {
            seq,
            key: Bytes::from(key.to_string()),
            replace,
            columns: set(columns),
        }
    }

    fn set(columns: &[(usize, &str)]) -> Vec<(usize, Bytes)> {
        columns
            .iter()
            .map(|(i, v)| (*i, Bytes::from(v.to_string())))
            .collect()
    }

    #[test]
    fn upserts_merge_per_key_in_order() {
        let records = [
            rec(1, "h:1", false, &[(0, "a1")]),
            rec(2, "h:2", false, &[(1, "b2")]),
            rec(3, "h:1", false, &[(1, "b1"), (0, "a1'")]),
            rec(4, "h:2", true, &[]),
            rec(5, "h:2", false, &[(0, "a2")]),
        ];
        let writes = to_writes(&rule("upsert"), &records);
        assert_eq!(writes.len(), 2);
        assert_eq!(
            (writes[0].seq, &writes[0].key[..]),
            (3, &[Bytes::from("1")][..])
        );
        assert_eq!(writes[0].change, Change::Set(set(&[(1, "b1"), (0, "a1'")])));
        assert_eq!(writes[1].seq, 5);
        assert_eq!(
            writes[1].change,
            Change::Replace(set(&[(0, "a2")])),
            "a DEL, then a field: only that field"
        );
    }

    /// `?N` parameters, as SQLite spells them.
    struct Numbered;

    impl crate::cache::sql::Dialect for Numbered {
        fn param(&self, n: usize, _: &str, _: &str) -> String {
            format!("?{n}")
        }
        fn output(&self, column: &str) -> String {
            column.to_string()
        }
    }

    #[test]
    fn a_batch_becomes_few_multi_row_statements() {
        let records: Vec<_> = (1..=300)
            .map(|seq| rec(seq, &format!("h:{seq}"), seq % 100 == 0, &[(0, "x")]))
            .collect();
        let rule = rule("upsert");
        let statements = crate::cache::sql::batch(&Numbered, &rule, &to_writes(&rule, &records));
        let deletes = statements
            .iter()
            .take_while(|(sql, _)| sql.starts_with("DELETE"));
        assert_eq!(deletes.count(), 3, "the replaced rows' deletes come first");
        let rows: Vec<usize> = statements[3..]
            .iter()
            .map(|(sql, params)| {
                let rows = sql.matches("), (").count() + 1;
                assert_eq!(params.len(), rows * 3, "key, a, version per row: {sql}");
                rows
            })
            .collect();
        assert_eq!(
            rows,
            [256, 32, 4, 4, 4],
            "300 rows in few distinct statements"
        );
        assert!(crate::cache::sql::batch(&Numbered, &rule, &[]).is_empty());
    }

    #[test]
    fn appends_keep_every_write() {
        let records = [
            rec(1, "h:1", false, &[(0, "x")]),
            rec(2, "h:1", false, &[(0, "y")]),
        ];
        let writes = to_writes(&rule("append"), &records);
        assert_eq!(writes.iter().map(|w| w.seq).collect::<Vec<_>>(), [1, 2]);
    }
}
