//! The SQL side of the cache: the [`Store`] trait both databases implement,
//! and what crosses it (rows, changes, batches). The statements themselves are
//! in `sql`, written once for both dialects.
//!
//! Every value crosses the boundary as text (bytes): SQLite's column affinity
//! turns `'42'` into 42 in an INTEGER column, and PostgreSQL statements cast
//! each parameter to its column's type and each selected column to text. So a
//! rule needs no type declarations, and RESP values (which are bytes) map to
//! rows without a lossy detour.
//!
//! Two bookkeeping tables are created at start: `shardcar_flush_state` (each
//! write-back rule's high-water mark, advanced in the same transaction as the
//! batch it covers) and `shardcar_dead_letter` (rows SQL refused, with the error).

use bytes::Bytes;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use crate::config::Rule;

/// A boxed future, so that [`Store`] can be used as `dyn Store`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why SQL did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (down, locked, timed out): try again later.
    #[error("the database is unreachable: {0}")]
    Unavailable(String),
    /// The database refused this statement (a constraint, a type): retrying
    /// will not help.
    #[error("the database refused the write: {0}")]
    Rejected(String),
}

/// A row's value columns, in the rule's order; `None` is SQL NULL.
pub type Row = Vec<Option<Bytes>>;

/// What one write does to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Set these value columns (by index in the rule's value columns).
    Set(Vec<(usize, Bytes)>),
    /// Delete the row, then set these columns (a DEL followed by writes); an
    /// empty list leaves the row deleted.
    Replace(Vec<(usize, Bytes)>),
}

/// One row change of a flush: the key columns' values, the change, and the
/// journal sequence that versions it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Journal sequence of the (last) write this change carries.
    pub seq: u64,
    /// The Redis key, for the dead-letter table.
    pub redis_key: Bytes,
    /// Key column values, in the rule's order.
    pub key: Vec<Bytes>,
    /// What to do.
    pub change: Change,
}

/// The changes one SQL transaction applies for one rule.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The rule's name (its row in `shardcar_flush_state`).
    pub rule: String,
    /// The changes, in journal order.
    pub writes: Vec<Write>,
    /// The high-water mark to record with them, if any: every journaled write
    /// of the rule up to it is then applied.
    pub high_water: Option<u64>,
}

/// A problem found when checking a rule against the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    /// The rule's name.
    pub rule: String,
    /// What is wrong.
    pub reason: String,
}

/// A database the cache reads rows from and writes rows to.
pub trait Store: Send + Sync + Debug {
    /// Creates the bookkeeping tables and the tables of rules that say
    /// `create: true` (unless `check_only`), then checks every rule's table and
    /// columns. Returns the problems found.
    fn prepare<'a>(
        &'a self,
        rules: &'a [Rule],
        check_only: bool,
    ) -> StoreFuture<'a, Vec<RuleProblem>>;

    /// The value columns of the row with these key values, if there is one.
    fn fetch<'a>(&'a self, rule: &'a Rule, key: &'a [Bytes]) -> StoreFuture<'a, Option<Row>>;

    /// Applies one change at once, outside any batch (write-through). Returns
    /// the number of rows changed.
    fn write<'a>(
        &'a self,
        rule: &'a Rule,
        key: &'a [Bytes],
        change: &'a Change,
    ) -> StoreFuture<'a, u64>;

    /// Applies a batch in one transaction, high-water mark included.
    fn apply<'a>(&'a self, rule: &'a Rule, batch: &'a Batch) -> StoreFuture<'a, ()>;

    /// Records a write SQL refused in the dead-letter table, in one transaction
    /// with the high-water mark, if given.
    fn dead_letter<'a>(
        &'a self,
        rule: &'a Rule,
        write: &'a Write,
        error: &'a str,
        high_water: Option<u64>,
    ) -> StoreFuture<'a, ()>;

    /// The rule's high-water mark (0 when it has none yet).
    fn high_water<'a>(&'a self, rule: &'a str) -> StoreFuture<'a, u64>;

    /// The largest high-water mark of any rule, gone ones included: journal
    /// sequences continue above it, so version guards never see a sequence
    /// reused (a rule renamed over its old table, a journal moved aside).
    fn max_high_water(&self) -> StoreFuture<'_, u64>;
}
