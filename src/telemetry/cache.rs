//! The SQL cache's metrics: one [`RuleMetrics`] per cache rule, registered
//! when the cache starts, so counting an event is an atomic add.
//!
//! Events (a hit, a fetch, a flushed batch…) are recorded where they happen,
//! not copied from counters at scrape time: the flush-duration histogram needs
//! its samples as they come, the exporter offers no hook at scrape time, and
//! one way for every event keeps each counted in one line. Each counter is a
//! [`Tally`], which the process can read back too (tests, `Cache::count`)
//! without a recorder.
//!
//! Levels — pending writes, flush lag, journal bytes — are not events: the
//! cache reads them where they live every [`LEVELS_INTERVAL`] and sets them
//! here ([`RuleMetrics::set_levels`], [`journal_bytes`]). The lag grows with
//! time alone, so only sampling keeps it true while SQL is down.

use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

use super::{
    CACHE_COALESCED_MISSES_TOTAL, CACHE_DEAD_LETTERS_TOTAL, CACHE_FLUSHED_ROWS_TOTAL,
    CACHE_FLUSHED_WRITES_TOTAL, CACHE_FLUSH_BATCHES_TOTAL, CACHE_FLUSH_DURATION_SECONDS,
    CACHE_FLUSH_LAG_SECONDS, CACHE_HITS_TOTAL, CACHE_JOURNALED_WRITES_TOTAL, CACHE_JOURNAL_BYTES,
    CACHE_MISSES_TOTAL, CACHE_NEGATIVE_HITS_TOTAL, CACHE_PENDING_WRITES,
    CACHE_QUEUE_FULL_BLOCKED_TOTAL, CACHE_QUEUE_FULL_REJECTED_TOTAL, CACHE_REFILLS_DISCARDED_TOTAL,
    CACHE_SQL_ERRORS_TOTAL, CACHE_SQL_READS_TOTAL, CACHE_SQL_UNREACHABLE_TOTAL, LABEL_POOL,
    LABEL_RULE,
};
use crate::cache::StoreError;

/// How often the levels (pending writes, flush lag, journal bytes) are read.
pub const LEVELS_INTERVAL: Duration = Duration::from_secs(1);

/// A Prometheus counter that also keeps its own count, readable in-process.
#[derive(Debug)]
pub struct Tally {
    count: AtomicU64,
    counter: Counter,
}

impl Tally {
    fn new(counter: Counter) -> Tally {
        Tally {
            count: AtomicU64::new(0),
            counter,
        }
    }

    /// Counts `n` more.
    pub fn add(&self, n: u64) {
        self.count.fetch_add(n, Ordering::Relaxed);
        self.counter.increment(n);
    }

    /// Counts one more.
    pub fn incr(&self) {
        self.add(1);
    }

    /// The count since start.
    pub fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// The metrics of one cache rule (labels `pool` and `rule`).
#[derive(Debug)]
pub struct RuleMetrics {
    /// Reads answered by the backend.
    pub hits: Tally,
    /// Reads the backend could not answer.
    pub misses: Tally,
    /// Rows fetched from SQL (one per coalesced miss).
    pub sql_reads: Tally,
    /// Misses that waited for another client's fetch.
    pub coalesced: Tally,
    /// Misses answered by a remembered "no row".
    pub negative_hits: Tally,
    /// Fetched values not stored because a write came in meanwhile.
    pub refills_discarded: Tally,
    /// Statements SQL refused.
    pub sql_errors: Tally,
    /// Statements that found SQL unreachable.
    pub sql_unreachable: Tally,
    /// Write-back writes acknowledged.
    pub journaled: Tally,
    /// Journaled writes applied to SQL (or dead-lettered).
    pub flushed: Tally,
    /// Flush transactions committed.
    pub flush_batches: Tally,
    /// Row changes those transactions made (fewer than `flushed` when upserts
    /// of one key coalesce).
    pub rows_flushed: Tally,
    /// Writes SQL refused, moved to the dead-letter table.
    pub dead_letters: Tally,
    /// Writes answered -BUSY by a full queue.
    pub full_rejected: Tally,
    /// Writes that waited for room in a full queue.
    pub full_blocked: Tally,
    pending: Gauge,
    lag: Gauge,
    flush_duration: Histogram,
}

impl RuleMetrics {
    /// Registers rule `rule` of pool `pool` with the current recorder.
    pub fn new(pool: &str, rule: &str) -> RuleMetrics {
        let labels = [
            (LABEL_POOL, pool.to_string()),
            (LABEL_RULE, rule.to_string()),
        ];
        let tally = |name: &'static str| Tally::new(counter!(name, &labels));
        RuleMetrics {
            hits: tally(CACHE_HITS_TOTAL),
            misses: tally(CACHE_MISSES_TOTAL),
            sql_reads: tally(CACHE_SQL_READS_TOTAL),
            coalesced: tally(CACHE_COALESCED_MISSES_TOTAL),
            negative_hits: tally(CACHE_NEGATIVE_HITS_TOTAL),
            refills_discarded: tally(CACHE_REFILLS_DISCARDED_TOTAL),
            sql_errors: tally(CACHE_SQL_ERRORS_TOTAL),
            sql_unreachable: tally(CACHE_SQL_UNREACHABLE_TOTAL),
            journaled: tally(CACHE_JOURNALED_WRITES_TOTAL),
            flushed: tally(CACHE_FLUSHED_WRITES_TOTAL),
            flush_batches: tally(CACHE_FLUSH_BATCHES_TOTAL),
            rows_flushed: tally(CACHE_FLUSHED_ROWS_TOTAL),
            dead_letters: tally(CACHE_DEAD_LETTERS_TOTAL),
            full_rejected: tally(CACHE_QUEUE_FULL_REJECTED_TOTAL),
            full_blocked: tally(CACHE_QUEUE_FULL_BLOCKED_TOTAL),
            pending: gauge!(CACHE_PENDING_WRITES, &labels),
            lag: gauge!(CACHE_FLUSH_LAG_SECONDS, &labels),
            flush_duration: histogram!(CACHE_FLUSH_DURATION_SECONDS, &labels),
        }
    }

    /// Counts a failed SQL statement by why it failed.
    pub fn sql_failed(&self, err: &StoreError) {
        match err {
            StoreError::Rejected(_) => self.sql_errors.incr(),
            StoreError::Unavailable(_) => self.sql_unreachable.incr(),
        }
    }

    /// `result` as it is, its error counted.
    pub fn sql<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(err) = &result {
            self.sql_failed(err);
        }
        result
    }

    /// Counts a committed flush batch of `rows` row changes that took `took`.
    pub fn batch_committed(&self, rows: u64, took: Duration) {
        self.flush_batches.incr();
        self.rows_flushed.add(rows);
        self.flush_duration.record(took);
    }

    /// Sets the write-back levels: `pending` writes, the oldest journaled at
    /// `oldest` (None: nothing pending).
    pub fn set_levels(&self, pending: usize, oldest: Option<Instant>) {
        self.pending.set(pending as f64);
        let lag = oldest.map_or(Duration::ZERO, |at| at.elapsed());
        self.lag.set(lag.as_secs_f64());
    }
}

/// Pool `pool`'s journal-size gauge.
pub fn journal_bytes(pool: &str) -> Gauge {
    gauge!(CACHE_JOURNAL_BYTES, LABEL_POOL => pool.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::testing::{snapshot, value, with_recorder, V};

    #[test]
    fn events_count_by_pool_and_rule_and_read_back() {
        let (metrics, snapshotter) = with_recorder(|| {
            let m = RuleMetrics::new("p", "users");
            m.hits.incr();
            m.hits.add(2);
            m.sql_failed(&StoreError::Rejected("constraint".into()));
            m.sql_failed(&StoreError::Unavailable("down".into()));
            m.sql_failed(&StoreError::Unavailable("down".into()));
            m.batch_committed(5, Duration::from_millis(3));
            m.set_levels(7, Some(Instant::now() - Duration::from_secs(2)));
            journal_bytes("p").set(4096.0);
            m
        });
        assert_eq!(metrics.hits.get(), 3);
        let snap = snapshot(&snapshotter);
        let rule = [("pool", "p"), ("rule", "users")];
        assert_eq!(value(&snap, CACHE_HITS_TOTAL, &rule), V::C(3));
        assert_eq!(value(&snap, CACHE_SQL_ERRORS_TOTAL, &rule), V::C(1));
        assert_eq!(value(&snap, CACHE_SQL_UNREACHABLE_TOTAL, &rule), V::C(2));
        assert_eq!(value(&snap, CACHE_FLUSHED_ROWS_TOTAL, &rule), V::C(5));
        assert_eq!(value(&snap, CACHE_FLUSH_DURATION_SECONDS, &rule), V::H(1));
        assert_eq!(value(&snap, CACHE_PENDING_WRITES, &rule), V::G(7.0));
        let V::G(lag) = value(&snap, CACHE_FLUSH_LAG_SECONDS, &rule) else {
            panic!("gauge")
        };
        assert!((2.0..60.0).contains(&lag), "{lag}");
        let journal = value(&snap, CACHE_JOURNAL_BYTES, &[("pool", "p")]);
        assert_eq!(journal, V::G(4096.0));
        assert_eq!(value(&snap, CACHE_DEAD_LETTERS_TOTAL, &rule), V::C(0));
    }

    #[test]
    fn nothing_pending_is_no_lag() {
        let (_, snapshotter) = with_recorder(|| {
            RuleMetrics::new("p", "r").set_levels(0, None);
        });
        let snap = snapshot(&snapshotter);
        let rule = [("pool", "p"), ("rule", "r")];
        assert_eq!(value(&snap, CACHE_FLUSH_LAG_SECONDS, &rule), V::G(0.0));
    }
}
