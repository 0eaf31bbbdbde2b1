//! SQL caching in front of a pool: rules bind key patterns to tables, and the
//! proxy keeps the pool's backends and the database in step.
//!
//! - [`store`]: the [`Store`] trait and the statements of a rule;
//!   [`sqlite`] (embedded, the default) and [`postgres`] implement it.
//! - `look_aside`: reads fill the cache from SQL on a miss (one query per
//!   key however many clients miss together; "no row" remembered for
//!   `negative_ttl`; a refill never overwrites a newer write); writes go to SQL
//!   first, then drop the cached value.
//! - `write_back`: writes are acknowledged once in the backend and in the
//!   [`journal`] (records framed in `record`); `pending` holds them until
//!   `flush` has moved them to SQL in batches, exactly once.
//! - `command`: which requests the cache takes, and the replies it shapes.
//! - `session`: a session's link to the cache ([`intercept`]): the reads it
//!   sends itself, the tasks, and the order between them.
//! - `keyspace`: the cache's own commands to the backends.
//!
//! A pool's cache is built by [`Cache::start`] before the pool serves; the
//! proxy session hands it requests with [`intercept`], and sends the backend
//! read of a cached key itself, as a plain read ([`Taken::Read`]), so that a
//! hit costs what a plain GET does. Each rule counts what
//! happens to it in a [`RuleMetrics`] (see `telemetry::cache`), which
//! [`Cache::count`] sums.

mod command;
mod counter;
mod flush;
pub mod journal;
mod keyspace;
mod look_aside;
mod pending;
pub mod postgres;
mod record;
mod session;
mod sql;
pub mod sqlite;
pub mod store;
mod write_back;

use bytes::Bytes;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{CacheConfig, Database, Fsync, Policy, Rule, ValueColumns};
use crate::resp::Frame;
use crate::telemetry::cache::{journal_bytes, RuleMetrics, Tally, LEVELS_INTERVAL};
use journal::{Journal, JournalError};
pub(crate) use session::Turn;
pub use session::{intercept, CacheReply, CachedRead, Miss, SessionCache, Taken};
pub use store::{Store, StoreError};

/// How long shutdown waits for the final flush before leaving the rest journaled.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why a cache cannot start.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The database cannot be opened or reached.
    #[error("pool '{pool}': cache database {database}: {source}")]
    Database {
        /// The pool.
        pool: String,
        /// The database, without password.
        database: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// Rules do not fit the database (missing tables or columns).
    #[error("pool '{pool}': {}", problems.join("; "))]
    Rules {
        /// The pool.
        pool: String,
        /// One line per problem, each naming its rule.
        problems: Vec<String>,
    },
    /// The journal cannot be read or written.
    #[error("pool '{pool}': {source}")]
    Journal {
        /// The pool.
        pool: String,
        /// The cause.
        #[source]
        source: JournalError,
    },
    /// The journal holds writes of a rule the config no longer has.
    #[error("pool '{pool}': the journal holds {count} unflushed writes of rule '{rule}', which the config no longer has: restore the rule, or move the journal aside")]
    OrphanWrites {
        /// The pool.
        pool: String,
        /// The missing rule.
        rule: String,
        /// How many writes.
        count: usize,
    },
}

/// One rule at run time.
#[derive(Debug)]
pub(crate) struct RuleState {
    pub(crate) rule: Rule,
    /// The rule's name, shared by its journal records.
    pub(crate) name: Arc<str>,
    /// The value columns' names, shared by its journal records.
    pub(crate) columns: Vec<Bytes>,
    pub(crate) reads: look_aside::Reads,
    pub(crate) pending: Option<pending::Pending>,
    pub(crate) metrics: RuleMetrics,
}

impl RuleState {
    /// Whether the rule's value is a hash (a row of several columns).
    pub(crate) fn is_hash(&self) -> bool {
        matches!(self.rule.value, ValueColumns::Hash(_))
    }
}

/// A pool's cache.
#[derive(Debug)]
pub struct Cache {
    pool: String,
    database: String,
    store: Arc<dyn Store>,
    rules: Vec<Arc<RuleState>>,
    journal: Option<Arc<Journal>>,
    /// The next journal sequence. Held while a write-back write is queued to
    /// the journal and to the backend, so that both see writes in one order.
    order: Mutex<u64>,
    stop: watch::Sender<bool>,
    flushers: Mutex<Vec<JoinHandle<()>>>,
}

/// Opens a cache's database.
///
/// # Errors
/// The database cannot be opened or reached.
pub async fn open_store(database: &Database) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match database {
        Database::Sqlite(path) => Arc::new(sqlite::SqliteStore::open(path).await?),
        Database::Postgres(url) => Arc::new(postgres::PgStore::open(url).await?),
    })
}

/// Checks a pool's rules against its database without changing anything
/// (`shardcar proxy -t`): tables and columns exist, or will be created.
///
/// # Errors
/// The database is unreachable, or rules do not fit it.
pub async fn check(pool: &str, cfg: &CacheConfig) -> Result<(), CacheError> {
    let database = cfg.database.to_string();
    let db_err = |source| CacheError::Database {
        pool: pool.to_string(),
        database: database.clone(),
        source,
    };
    if let Database::Sqlite(path) = &cfg.database {
        if path.as_os_str() != ":memory:" && !path.exists() {
            // Not created yet, and a check creates nothing: an empty database.
            let missing = cfg.rules.iter().filter(|r| !r.create);
            let problems = missing.map(|r| sql::missing_table(r, &database)).collect();
            return rule_problems(pool, problems);
        }
    }
    let store = open_store(&cfg.database).await.map_err(db_err)?;
    let problems = store.prepare(&cfg.rules, true).await.map_err(db_err)?;
    rule_problems(pool, problems)
}

fn rule_problems(pool: &str, problems: Vec<store::RuleProblem>) -> Result<(), CacheError> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(CacheError::Rules {
        pool: pool.to_string(),
        problems: problems
            .into_iter()
            .map(|p| format!("rule '{}': {}", p.rule, p.reason))
            .collect(),
    })
}

impl Cache {
    /// Opens the database, checks (and with `create: true` creates) the rules'
    /// tables, replays the journal and flushes what it holds, then starts the
    /// flushers. The pool may serve once this returns.
    ///
    /// # Errors
    /// See [`CacheError`].
    pub async fn start(pool: &str, cfg: &CacheConfig) -> Result<Cache, CacheError> {
        let store = open_store(&cfg.database)
            .await
            .map_err(|source| CacheError::Database {
                pool: pool.to_string(),
                database: cfg.database.to_string(),
                source,
            })?;
        Cache::with_store(pool, cfg, store).await
    }

    /// [`Cache::start`] over a store already open.
    ///
    /// # Errors
    /// See [`CacheError`].
    pub async fn with_store(
        pool: &str,
        cfg: &CacheConfig,
        store: Arc<dyn Store>,
    ) -> Result<Cache, CacheError> {
        let database = cfg.database.to_string();
        let db_err = |source| CacheError::Database {
            pool: pool.to_string(),
            database: database.clone(),
            source,
        };
        let problems = store.prepare(&cfg.rules, false).await.map_err(db_err)?;
        rule_problems(pool, problems)?;
        log_durability(pool, &cfg.rules);
        let rules: Vec<Arc<RuleState>> = cfg
            .rules
            .iter()
            .map(|rule| {
                Arc::new(RuleState {
                    rule: rule.clone(),
                    name: Arc::from(rule.name.as_str()),
                    columns: rule
                        .value
                        .columns()
                        .iter()
                        .map(|c| Bytes::from(c.clone()))
                        .collect(),
                    reads: look_aside::Reads::default(),
                    pending: rule
                        .write_back
                        .as_ref()
                        .map(|_| pending::Pending::default()),
                    metrics: RuleMetrics::new(pool, &rule.name),
                })
            })
            .collect();
        let (stop, _) = watch::channel(false);
        let mut cache = Cache {
            pool: pool.to_string(),
            database,
            store,
            rules,
            journal: None,
            order: Mutex::new(1),
            stop,
            flushers: Mutex::new(Vec::new()),
        };
        // Even with no write-back rule left, a journal may hold writes of one.
        if cache.rules.iter().any(|r| r.pending.is_some()) || cfg.journal.exists() {
            write_back::recover(&mut cache, cfg).await?;
        }
        Ok(cache)
    }

    /// Starts the flushers (one per write-back rule) and, with a journal, the
    /// task that exports the write-back levels. Called once the cache is shared.
    pub fn spawn_flushers(self: &Arc<Cache>) {
        let mut flushers = self.flushers.lock();
        if self.journal.is_some() {
            let cache = Arc::clone(self);
            let stop = self.stop.subscribe();
            flushers.push(tokio::spawn(cache.export_levels(stop)));
        }
        for (i, state) in self.rules.iter().enumerate() {
            if state.pending.is_some() {
                let cache = Arc::clone(self);
                let stop = self.stop.subscribe();
                flushers.push(tokio::spawn(
                    async move { flush::flusher(cache, i, stop).await },
                ));
            }
        }
    }

    /// Flushes what it can within [`SHUTDOWN_GRACE`], keeps the rest journaled,
    /// and closes the journal.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let flushers: Vec<JoinHandle<()>> = std::mem::take(&mut *self.flushers.lock());
        let all = async {
            for f in flushers {
                let _ = f.await;
            }
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, all).await.is_err() {
            tracing::warn!(pool = %self.pool, "cache: final flush did not finish in time; the rest stays journaled");
        }
        if let Some(journal) = &self.journal {
            journal.stop().await;
        }
    }

    /// Journaled writes not yet in SQL, over all rules.
    pub fn pending(&self) -> usize {
        self.rules
            .iter()
            .filter_map(|r| r.pending.as_ref())
            .map(|p| p.len())
            .sum()
    }

    /// A counter summed over every rule: `pick` chooses it.
    pub fn count(&self, pick: impl Fn(&RuleMetrics) -> &Tally) -> u64 {
        self.rules.iter().map(|r| pick(&r.metrics).get()).sum()
    }

    /// Sets the pending writes, flush lag and journal size every
    /// [`LEVELS_INTERVAL`] until `stop` is set.
    async fn export_levels(self: Arc<Cache>, mut stop: watch::Receiver<bool>) {
        let bytes = journal_bytes(&self.pool);
        let mut tick = tokio::time::interval(LEVELS_INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            for state in &self.rules {
                if let Some(pending) = &state.pending {
                    let (len, oldest) = pending.levels();
                    state.metrics.set_levels(len, oldest);
                }
            }
            if let Some(journal) = &self.journal {
                bytes.set(journal.bytes() as f64);
            }
        }
    }

    /// The rule `key` falls under.
    fn rule_for(&self, key: &[u8]) -> Option<usize> {
        self.rules.iter().position(|state| {
            key.starts_with(state.rule.pattern.prefix()) && state.rule.pattern.is_match(key)
        })
    }

    fn db_error(&self, source: StoreError) -> CacheError {
        CacheError::Database {
            pool: self.pool.clone(),
            database: self.database.clone(),
            source,
        }
    }

    /// Counts a failed statement of a client's request and words its reply.
    fn sql_error(&self, state: &RuleState, err: &StoreError) -> Frame {
        state.metrics.sql_failed(err);
        Frame::error(format!(
            "ERR shardcar: cache rule '{}' ({}): {err}",
            state.rule.name, self.database
        ))
    }
}

fn log_durability(pool: &str, rules: &[Rule]) {
    for rule in rules.iter().filter(|r| r.policy == Policy::WriteBack) {
        match rule.write_back.as_ref().map(|wb| wb.fsync) {
            Some(Fsync::Everysec) => {
                tracing::warn!(pool, rule = %rule.name, "fsync: everysec — a crash of the machine may lose up to a second of acknowledged writes")
            }
            Some(Fsync::No) => {
                tracing::warn!(pool, rule = %rule.name, "fsync: no — a crash of the machine may lose acknowledged writes the OS had not written yet")
            }
            _ => {
                tracing::info!(pool, rule = %rule.name, "fsync: always — every acknowledged write is on disk")
            }
        }
    }
}

#[cfg(test)]
mod tests;
