//! The embedded SQLite store: one connection on a thread of its own, so that no
//! SQLite call ever blocks the async runtime.
//!
//! The file is opened in WAL mode with `synchronous=FULL`: a committed flush
//! survives a power loss, not only a crash of the process (with NORMAL, WAL
//! commits may roll back on power loss). Requests reach the thread as closures
//! over a channel and answer on a oneshot.
//!
//! A write-back batch of random keys touches most pages of a small table, and
//! each commit writes every page it touched to the WAL; a checkpoint then copies
//! them into the database file. So the page cache is larger than SQLite's
//! default (pages are not read back from the OS for each batch), and the WAL is
//! checkpointed less often (a page rewritten by several commits is copied once).
//! A multi-row statement that may fail halfway keeps a statement journal (a
//! copy of every page it changes, to undo it alone), which took about 40% of
//! the thread's time in a profile of write-back SETs, written to a temp file.
//! Row changes are `INSERT OR FAIL` so that they need none, and temporary
//! storage is in memory for any statement that still does.

use bytes::Bytes;
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, ErrorCode, OptionalExtension, ToSql};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

use super::sql::{self, Dialect, Guard};
use super::store::{Batch, Change, Row, RuleProblem, Store, StoreError, StoreFuture, Write};
use crate::config::Rule;

/// SQLite's page cache, in KiB (its default is 2,000).
const CACHE_KIB: i64 = 32 * 1024;
/// WAL pages between automatic checkpoints (its default is 1,000).
const WAL_CHECKPOINT_PAGES: i64 = 8 * 1024;

/// How long a statement waits for a lock held by another connection before the
/// database counts as unreachable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(1);

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// An SQLite database served by a dedicated thread.
#[derive(Debug)]
pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    name: String,
}

struct Sqlite;

impl Dialect for Sqlite {
    fn param(&self, n: usize, _table: &str, _column: &str) -> String {
        format!("?{n}")
    }
    fn output(&self, column: &str) -> String {
        sql::quote(column)
    }
    /// `OR FAIL`: a row refused by a constraint stops the statement without
    /// undoing its earlier rows, so SQLite keeps no statement journal (see
    /// the module's doc). Nothing partial is ever committed: every change
    /// runs in a transaction that is rolled back on any error.
    fn insert(&self) -> &'static str {
        "INSERT OR FAIL"
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the file and its directory, in WAL mode with
    /// `synchronous=FULL`.
    ///
    /// # Errors
    /// The file cannot be opened or is not a database.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let name = format!("sqlite://{}", path.display());
        let path = path.to_path_buf();
        let (tx, rx) = oneshot::channel();
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("shardcar-sqlite".into())
            .spawn(move || match open_connection(&path) {
                Ok(mut conn) => {
                    let _ = tx.send(Ok(()));
                    while let Ok(job) = queue.recv() {
                        job(&mut conn);
                    }
                }
                Err(err) => {
                    let _ = tx.send(Err(err));
                }
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite thread: {e}")))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("the SQLite thread stopped".into()))??;
        Ok(SqliteStore { jobs, name })
    }

    /// Runs `f` on the connection's thread.
    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Unavailable("the SQLite thread stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("the SQLite thread stopped".into()))?
    }
}

fn open_connection(path: &PathBuf) -> Result<Connection, StoreError> {
    if path.as_os_str() != ":memory:" {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
    }
    let conn = Connection::open(path).map_err(classify)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(classify)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(classify)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(classify)?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB)
        .map_err(classify)?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)
        .map_err(classify)?;
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(classify)?;
    Ok(conn)
}

/// Locks, I/O and open failures mean "try later"; anything else is this
/// statement's fault.
fn classify(err: rusqlite::Error) -> StoreError {
    match err.sqlite_error_code() {
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::NotADatabase
            | ErrorCode::DatabaseCorrupt
            | ErrorCode::OutOfMemory,
        ) => StoreError::Unavailable(err.to_string()),
        _ => StoreError::Rejected(err.to_string()),
    }
}

/// A value bound as text when it is UTF-8 (so column affinity applies), else
/// as a blob.
struct Param<'a>(Option<&'a [u8]>);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            None => ToSqlOutput::Owned(SqlValue::Null),
            Some(b) => match std::str::from_utf8(b) {
                Ok(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
                Err(_) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            },
        })
    }
}

fn execute(conn: &Connection, sql: &str, params: &[Option<Bytes>]) -> Result<u64, StoreError> {
    let params: Vec<Param<'_>> = params.iter().map(|p| Param(p.as_deref())).collect();
    let mut stmt = conn.prepare_cached(sql).map_err(classify)?;
    let n = stmt
        .execute(rusqlite::params_from_iter(params.iter()))
        .map_err(classify)?;
    Ok(n as u64)
}

fn to_bytes(value: ValueRef<'_>) -> Option<Bytes> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(Bytes::from(n.to_string())),
        ValueRef::Real(f) => Some(Bytes::from(f.to_string())),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(Bytes::copy_from_slice(t)),
    }
}

fn table_columns(conn: &Connection, table: &str) -> Result<HashMap<String, String>, StoreError> {
    let sql = format!("PRAGMA table_info({})", sql::quote(table));
    let mut stmt = conn.prepare(&sql).map_err(classify)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
        .map_err(classify)?;
    let mut columns = HashMap::new();
    for row in rows {
        let (name, ty) = row.map_err(classify)?;
        columns.insert(name.to_ascii_lowercase(), ty);
    }
    Ok(columns)
}

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS shardcar_flush_state (\
        rule TEXT PRIMARY KEY, applied_seq INTEGER NOT NULL);\
    CREATE TABLE IF NOT EXISTS shardcar_dead_letter (\
        id INTEGER PRIMARY KEY AUTOINCREMENT, rule TEXT NOT NULL, seq INTEGER NOT NULL, \
        redis_key BLOB, payload TEXT, error TEXT NOT NULL, \
        at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);";

fn prepare(
    conn: &mut Connection,
    rules: &[Rule],
    check_only: bool,
    db: &str,
) -> Result<Vec<RuleProblem>, StoreError> {
    if !check_only {
        conn.execute_batch(BOOKKEEPING).map_err(classify)?;
    }
    let mut problems = Vec::new();
    for rule in rules {
        let mut columns = table_columns(conn, &rule.table)?;
        if columns.is_empty() && rule.create && !check_only {
            conn.execute_batch(&sql::create_table(rule, "INTEGER"))
                .map_err(classify)?;
            columns = table_columns(conn, &rule.table)?;
        }
        if columns.is_empty() && !(rule.create && check_only) {
            problems.push(sql::missing_table(rule, db));
        } else if !columns.is_empty() {
            problems.extend(sql::check_columns(rule, &columns, db));
            problems.extend(sql::check_unique(
                rule,
                &unique_indexes(conn, &rule.table)?,
                db,
            ));
        }
    }
    Ok(problems)
}

/// The columns of each unique index of `table`, primary key included.
fn unique_indexes(conn: &Connection, table: &str) -> Result<Vec<Vec<String>>, StoreError> {
    let column_list =
        |sql: String, pick: fn(&rusqlite::Row<'_>) -> rusqlite::Result<Option<String>>| {
            let mut stmt = conn.prepare(&sql).map_err(classify)?;
            let rows = stmt.query_map([], pick).map_err(classify)?;
            let mut out = Vec::new();
            for row in rows {
                out.extend(row.map_err(classify)?);
            }
            Ok::<_, StoreError>(out)
        };
    let quoted = sql::quote(table);
    let pk = column_list(format!("PRAGMA table_info({quoted})"), |r| {
        let name: String = r.get(1)?;
        Ok((r.get::<_, i64>(5)? > 0).then(|| name.to_ascii_lowercase()))
    })?;
    let mut sets = vec![pk];
    let indexes = column_list(format!("PRAGMA index_list({quoted})"), |r| {
        let name: String = r.get(1)?;
        Ok((r.get::<_, i64>(2)? == 1).then_some(name))
    })?;
    for index in indexes {
        let sql = format!("PRAGMA index_info({})", sql::quote(&index));
        sets.push(column_list(sql, |r| {
            Ok(r.get::<_, Option<String>>(2)?
                .map(|c| c.to_ascii_lowercase()))
        })?);
    }
    Ok(sets)
}

fn set_high_water(conn: &Connection, rule: &str, seq: Option<u64>) -> Result<(), StoreError> {
    if let Some(seq) = seq {
        let params = [
            Some(Bytes::from(rule.to_string())),
            Some(Bytes::from(seq.to_string())),
        ];
        execute(conn, &sql::advance_high_water(&Sqlite), &params)?;
    }
    Ok(())
}

/// Runs `f` in a transaction: committed if it succeeds, rolled back if not.
fn transaction<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let tx = conn.transaction().map_err(classify)?;
    let out = f(&tx)?;
    tx.commit().map_err(classify)?;
    Ok(out)
}

impl Store for SqliteStore {
    fn prepare<'a>(
        &'a self,
        rules: &'a [Rule],
        check_only: bool,
    ) -> StoreFuture<'a, Vec<RuleProblem>> {
        let (rules, db) = (rules.to_vec(), self.name.clone());
        Box::pin(self.call(move |conn| prepare(conn, &rules, check_only, &db)))
    }

    fn fetch<'a>(&'a self, rule: &'a Rule, key: &'a [Bytes]) -> StoreFuture<'a, Option<Row>> {
        let sql = sql::select(&Sqlite, rule);
        let key: Vec<Option<Bytes>> = key.iter().cloned().map(Some).collect();
        let width = rule.value.columns().len();
        Box::pin(self.call(move |conn| {
            let params: Vec<Param<'_>> = key.iter().map(|p| Param(p.as_deref())).collect();
            let mut stmt = conn.prepare_cached(&sql).map_err(classify)?;
            stmt.query_row(rusqlite::params_from_iter(params.iter()), |r| {
                (0..width)
                    .map(|i| r.get_ref(i).map(to_bytes))
                    .collect::<rusqlite::Result<Row>>()
            })
            .optional()
            .map_err(classify)
        }))
    }

    fn write<'a>(
        &'a self,
        rule: &'a Rule,
        key: &'a [Bytes],
        change: &'a Change,
    ) -> StoreFuture<'a, u64> {
        let write = Write {
            seq: 0,
            redis_key: Bytes::new(),
            key: key.to_vec(),
            change: change.clone(),
        };
        let statements = sql::statements(&Sqlite, rule, &write, Guard::None);
        Box::pin(self.call(move |conn| {
            transaction(conn, |tx| {
                let mut changed = 0;
                for (sql, params) in &statements {
                    changed += execute(tx, sql, params)?;
                }
                Ok(changed)
            })
        }))
    }

    fn apply<'a>(&'a self, rule: &'a Rule, batch: &'a Batch) -> StoreFuture<'a, ()> {
        // Built here, so that the SQLite thread only runs them (and the
        // batch is not copied to reach it).
        let statements = sql::batch(&Sqlite, rule, &batch.writes);
        let (name, high_water) = (batch.rule.clone(), batch.high_water);
        Box::pin(self.call(move |conn| {
            transaction(conn, |tx| {
                for (sql, params) in &statements {
                    execute(tx, sql, params)?;
                }
                set_high_water(tx, &name, high_water)
            })
        }))
    }

    fn dead_letter<'a>(
        &'a self,
        rule: &'a Rule,
        write: &'a Write,
        error: &'a str,
        high_water: Option<u64>,
    ) -> StoreFuture<'a, ()> {
        let params = sql::dead_letter_params(rule, write, error);
        let name = rule.name.clone();
        Box::pin(self.call(move |conn| {
            transaction(conn, |tx| {
                execute(tx, &sql::insert_dead_letter(&Sqlite), &params)?;
                set_high_water(tx, &name, high_water)
            })
        }))
    }

    fn max_high_water(&self) -> StoreFuture<'_, u64> {
        Box::pin(self.call(|conn| {
            conn.query_row(
                "SELECT COALESCE(MAX(applied_seq), 0) FROM shardcar_flush_state",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(classify)
        }))
    }

    fn high_water<'a>(&'a self, rule: &'a str) -> StoreFuture<'a, u64> {
        let rule = rule.to_string();
        Box::pin(self.call(move |conn| {
            conn.query_row(
                "SELECT applied_seq FROM shardcar_flush_state WHERE rule = ?1",
                [rule],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|v| v.map_or(0, |n| n.max(0) as u64))
            .map_err(classify)
        }))
    }
}
