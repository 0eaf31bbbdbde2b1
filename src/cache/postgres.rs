//! The PostgreSQL store: tokio-postgres connections behind a deadpool pool.
//!
//! Every parameter is sent as text and cast to its column's type in the
//! statement (`CAST($1 AS integer)`), and every selected column is cast to
//! text, so a rule needs no type declarations. The column types are read from
//! the catalog when the rules are checked at start.

use bytes::Bytes;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::future::try_join_all;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{NoTls, Statement};

use super::sql::{self, Dialect, Guard};
use super::store::{Batch, Change, Row, RuleProblem, Store, StoreError, StoreFuture, Write};
use crate::config::Rule;

/// Connections kept open at most.
const MAX_CONNECTIONS: usize = 8;
/// How long to wait for a connection (new or from the pool).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The server-side bound on one statement, unless the URL sets `options`.
const STATEMENT_TIMEOUT_OPTION: &str = "-c statement_timeout=30000";

/// A PostgreSQL database.
#[derive(Debug)]
pub struct PgStore {
    pool: Pool,
    name: String,
    /// (table, column) → SQL type, from the catalog; read on every statement
    /// built, written only while rules are checked.
    types: RwLock<HashMap<(String, String), String>>,
}

struct Pg<'a>(&'a HashMap<(String, String), String>);

impl Dialect for Pg<'_> {
    fn param(&self, n: usize, table: &str, column: &str) -> String {
        let key = (table.to_string(), column.to_ascii_lowercase());
        let ty = self.0.get(&key).map_or("text", String::as_str);
        format!("CAST(${n} AS {ty})")
    }
    fn output(&self, column: &str) -> String {
        format!("CAST({} AS text)", sql::quote(column))
    }
}

fn classify(err: &tokio_postgres::Error) -> StoreError {
    let Some(db) = err.as_db_error() else {
        return StoreError::Unavailable(err.to_string());
    };
    let code = db.code().code();
    let transient = ["08", "53", "57", "40", "58"]
        .iter()
        .any(|c| code.starts_with(c));
    let text = format!("{}: {}", db.severity(), db.message());
    if transient {
        StoreError::Unavailable(text)
    } else {
        StoreError::Rejected(text)
    }
}

fn pool_error(err: deadpool_postgres::PoolError) -> StoreError {
    match err {
        deadpool_postgres::PoolError::Backend(e) => classify(&e),
        other => StoreError::Unavailable(other.to_string()),
    }
}

fn text_params(params: &[Option<Bytes>]) -> Result<Vec<Option<String>>, StoreError> {
    params
        .iter()
        .map(|p| match p {
            None => Ok(None),
            Some(b) => String::from_utf8(b.to_vec()).map(Some).map_err(|_| {
                StoreError::Rejected(
                    "a value is not UTF-8 text, which PostgreSQL columns here take".into(),
                )
            }),
        })
        .collect()
}

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS shardcar_flush_state (\
        rule TEXT PRIMARY KEY, applied_seq BIGINT NOT NULL);\
    CREATE TABLE IF NOT EXISTS shardcar_dead_letter (\
        id BIGSERIAL PRIMARY KEY, rule TEXT NOT NULL, seq BIGINT NOT NULL, \
        redis_key TEXT, payload TEXT, error TEXT NOT NULL, \
        at TIMESTAMPTZ NOT NULL DEFAULT now());";

impl PgStore {
    /// Connects (one connection, to fail early when the server is not there).
    ///
    /// # Errors
    /// The URL does not parse, or the server cannot be reached.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("invalid PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_options().is_none() {
            // A statement that hangs (a lock held elsewhere) must not hold a
            // flusher or a reader forever: it fails and is retried.
            config.options(STATEMENT_TIMEOUT_OPTION);
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(MAX_CONNECTIONS)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut types = HashMap::new();
        for (t, c, ty) in [
            ("shardcar_flush_state", "applied_seq", "bigint"),
            ("shardcar_dead_letter", "seq", "bigint"),
        ] {
            types.insert((t.to_string(), c.to_string()), ty.to_string());
        }
        let store = PgStore {
            pool,
            name: crate::config::Database::Postgres(url.to_string()).to_string(),
            types: RwLock::new(types),
        };
        drop(store.client().await?);
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Column name → type of `table`, empty when the table does not exist.
    async fn columns(
        &self,
        client: &impl GenericClient,
        table: &str,
    ) -> Result<HashMap<String, String>, StoreError> {
        let sql =
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
                   WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped";
        let rows = client
            .query(sql, &[&table])
            .await
            .map_err(|e| classify(&e))?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0).to_ascii_lowercase(), r.get(1)))
            .collect())
    }

    /// The columns of each unique index of `table`, primary key included.
    async fn unique_indexes(
        &self,
        client: &impl GenericClient,
        table: &str,
    ) -> Result<Vec<Vec<String>>, StoreError> {
        let sql = "SELECT array_agg(lower(a.attname::text)) FROM pg_index i \
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                   WHERE i.indrelid = to_regclass($1) AND i.indisunique GROUP BY i.indexrelid";
        let rows = client
            .query(sql, &[&table])
            .await
            .map_err(|e| classify(&e))?;
        Ok(rows.iter().map(|r| r.get::<_, Vec<String>>(0)).collect())
    }

    async fn prepare_rules(
        &self,
        rules: &[Rule],
        check_only: bool,
    ) -> Result<Vec<RuleProblem>, StoreError> {
        let client = self.client().await?;
        if !check_only {
            client
                .batch_execute(BOOKKEEPING)
                .await
                .map_err(|e| classify(&e))?;
        }
        let mut problems = Vec::new();
        for rule in rules {
            let quoted = sql::quote(&rule.table);
            let mut columns = self.columns(&client, &quoted).await?;
            if columns.is_empty() && rule.create && !check_only {
                let ddl = sql::create_table(rule, "BIGINT");
                client.batch_execute(&ddl).await.map_err(|e| classify(&e))?;
                columns = self.columns(&client, &quoted).await?;
            }
            if columns.is_empty() && !(rule.create && check_only) {
                problems.push(sql::missing_table(rule, &self.name));
            } else if !columns.is_empty() {
                problems.extend(sql::check_columns(rule, &columns, &self.name));
                let unique = self.unique_indexes(&client, &quoted).await?;
                problems.extend(sql::check_unique(rule, &unique, &self.name));
            }
            let mut types = self.types.write();
            for (column, ty) in columns {
                types.insert((rule.table.clone(), column), ty);
            }
        }
        Ok(problems)
    }

    /// The statements of `writes` (versioned), built with the known types.
    fn batch_statements(&self, rule: &Rule, writes: &[Write]) -> Vec<(String, Vec<Option<Bytes>>)> {
        let types = self.types.read();
        sql::batch(&Pg(&types), rule, writes)
    }

    fn high_water_statement(
        &self,
        rule: &str,
        seq: Option<u64>,
    ) -> Option<(String, Vec<Option<Bytes>>)> {
        let sql = sql::advance_high_water(&Pg(&self.types.read()));
        seq.map(|seq| {
            (
                sql,
                vec![
                    Some(Bytes::from(rule.to_string())),
                    Some(Bytes::from(seq.to_string())),
                ],
            )
        })
    }

    /// Runs statements in one transaction, pipelined: each distinct statement
    /// is prepared once, then all are sent without waiting for each answer
    /// (the server runs them in order), so a batch of a thousand rows costs a
    /// few round trips, not a thousand.
    async fn transaction(
        &self,
        statements: Vec<(String, Vec<Option<Bytes>>)>,
    ) -> Result<u64, StoreError> {
        let values = statements
            .iter()
            .map(|(_, params)| text_params(params))
            .collect::<Result<Vec<_>, _>>()?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| classify(&e))?;
        let mut prepared: HashMap<&str, Statement> = HashMap::new();
        for (sql, params) in &statements {
            if !prepared.contains_key(sql.as_str()) {
                let types = vec![Type::TEXT; params.len()];
                let stmt = tx.prepare_typed_cached(sql, &types).await;
                prepared.insert(sql, stmt.map_err(|e| classify(&e))?);
            }
        }
        let runs = statements.iter().zip(&values).map(|((sql, _), values)| {
            let (tx, stmt) = (&tx, &prepared[sql.as_str()]);
            async move {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                tx.execute(stmt, &refs).await
            }
        });
        let changed = try_join_all(runs).await.map_err(|e| classify(&e))?;
        tx.commit().await.map_err(|e| classify(&e))?;
        Ok(changed.iter().sum())
    }
}

impl Store for PgStore {
    fn prepare<'a>(
        &'a self,
        rules: &'a [Rule],
        check_only: bool,
    ) -> StoreFuture<'a, Vec<RuleProblem>> {
        Box::pin(self.prepare_rules(rules, check_only))
    }

    fn fetch<'a>(&'a self, rule: &'a Rule, key: &'a [Bytes]) -> StoreFuture<'a, Option<Row>> {
        Box::pin(async move {
            let sql = sql::select(&Pg(&self.types.read()), rule);
            let client = self.client().await?;
            let values = text_params(&key.iter().cloned().map(Some).collect::<Vec<_>>())?;
            let types = vec![Type::TEXT; values.len()];
            let stmt = client
                .prepare_typed_cached(&sql, &types)
                .await
                .map_err(|e| classify(&e))?;
            let refs: Vec<&(dyn ToSql + Sync)> =
                values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            let row = client
                .query_opt(&stmt, &refs)
                .await
                .map_err(|e| classify(&e))?;
            Ok(row.map(|r| {
                (0..r.len())
                    .map(|i| r.get::<_, Option<String>>(i).map(Bytes::from))
                    .collect()
            }))
        })
    }

    fn write<'a>(
        &'a self,
        rule: &'a Rule,
        key: &'a [Bytes],
        change: &'a Change,
    ) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let write = Write {
                seq: 0,
                redis_key: Bytes::new(),
                key: key.to_vec(),
                change: change.clone(),
            };
            let statements = sql::statements(&Pg(&self.types.read()), rule, &write, Guard::None);
            self.transaction(statements).await
        })
    }

    fn apply<'a>(&'a self, rule: &'a Rule, batch: &'a Batch) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut statements = self.batch_statements(rule, &batch.writes);
            statements.extend(self.high_water_statement(&batch.rule, batch.high_water));
            self.transaction(statements).await.map(|_| ())
        })
    }

    fn dead_letter<'a>(
        &'a self,
        rule: &'a Rule,
        write: &'a Write,
        error: &'a str,
        high_water: Option<u64>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let sql = sql::insert_dead_letter(&Pg(&self.types.read()));
            let mut statements = vec![(sql, sql::dead_letter_params(rule, write, error))];
            statements.extend(self.high_water_statement(&rule.name, high_water));
            self.transaction(statements).await.map(|_| ())
        })
    }

    fn max_high_water(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let client = self.client().await?;
            let sql = "SELECT COALESCE(MAX(applied_seq), 0)::bigint FROM shardcar_flush_state";
            let row = client.query_one(sql, &[]).await.map_err(|e| classify(&e))?;
            Ok(row.get::<_, i64>(0).max(0) as u64)
        })
    }

    fn high_water<'a>(&'a self, rule: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT applied_seq FROM shardcar_flush_state WHERE rule = $1",
                    &[&rule],
                )
                .await
                .map_err(|e| classify(&e))?;
            Ok(row.map_or(0, |r| r.get::<_, i64>(0).max(0) as u64))
        })
    }
}
