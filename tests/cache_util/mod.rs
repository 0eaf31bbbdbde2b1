//! Helpers for the cache tests: a proxy with a `cache:` section over bundled
//! engines, and direct access to the database behind it (SQLite always;
//! PostgreSQL when SHARDCAR_TEST_PG names one).
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use shardcar::cache::Cache;
use shardcar::proxy::pool::Pool;
use shardcar::telemetry::cache::{RuleMetrics, Tally};

#[path = "../support/mod.rs"]
mod support;
#[allow(unused_imports)]
pub use support::{Engine, RedisServer};

/// The database a test runs against.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Db {
    /// An SQLite file in `dir`.
    pub fn sqlite(dir: &tempfile::TempDir) -> Db {
        Db::Sqlite(dir.path().join("cache.db"))
    }

    /// PostgreSQL from SHARDCAR_TEST_PG, or None (and a "skipped" line).
    pub fn postgres(test: &str) -> Option<Db> {
        match std::env::var("SHARDCAR_TEST_PG") {
            Ok(url) if !url.is_empty() => Some(Db::Postgres(url)),
            _ => {
                println!("{test}: PostgreSQL part skipped (set SHARDCAR_TEST_PG=postgres://USER@127.0.0.1:5432/test)");
                None
            }
        }
    }

    /// The `database:` URL.
    pub fn url(&self) -> String {
        match self {
            Db::Sqlite(path) => format!("sqlite://{}", path.display()),
            Db::Postgres(url) => url.clone(),
        }
    }

    /// Runs statements (`;`-separated, no parameters).
    pub async fn exec(&self, sql: &str) {
        match self {
            Db::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).expect("open sqlite");
                conn.busy_timeout(Duration::from_secs(5)).unwrap();
                conn.execute_batch(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            Db::Postgres(url) => {
                let client = pg(url).await;
                client
                    .batch_execute(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    /// The rows of a query, each column read as text (NULL as None).
    pub async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self {
            Db::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).expect("open sqlite");
                conn.busy_timeout(Duration::from_secs(5)).unwrap();
                let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    (0..n)
                        .map(|i| {
                            Ok(match r.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => None,
                                rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
                                rusqlite::types::ValueRef::Real(v) => Some(v.to_string()),
                                rusqlite::types::ValueRef::Text(t)
                                | rusqlite::types::ValueRef::Blob(t) => {
                                    Some(String::from_utf8_lossy(t).into_owned())
                                }
                            })
                        })
                        .collect()
                })
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
            }
            Db::Postgres(url) => {
                let client = pg(url).await;
                let rows = client
                    .simple_query(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.into_iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => {
                            Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                        }
                        _ => None,
                    })
                    .collect()
            }
        }
    }

    /// The first column of the first row, as a number.
    pub async fn count(&self, sql: &str) -> i64 {
        let rows = self.rows(sql).await;
        rows[0][0]
            .as_deref()
            .unwrap_or("0")
            .parse()
            .expect("a number")
    }

    /// A table name unique to this test and database.
    pub fn table(&self, base: &str) -> String {
        match self {
            Db::Sqlite(_) => base.to_string(),
            Db::Postgres(_) => format!("t_{base}_{}", std::process::id()),
        }
    }

    /// Drops a test's table from PostgreSQL (SQLite files go with their directory).
    pub async fn drop_table(&self, table: &str) {
        if self.is_postgres() {
            self.exec(&format!("DROP TABLE IF EXISTS {table}")).await;
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }
}

async fn pg(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(conn);
    client
}

/// Runs `scenario` on SQLite in a fresh directory, then on PostgreSQL when
/// SHARDCAR_TEST_PG is set (`test` names it in the "skipped" line otherwise).
pub async fn each_db(test: &str, scenario: impl AsyncFn(Db, tempfile::TempDir)) {
    let dir = tempfile::tempdir().unwrap();
    scenario(Db::sqlite(&dir), dir).await;
    if let Some(db) = Db::postgres(test) {
        scenario(db, tempfile::tempdir().unwrap()).await;
    }
}

/// A pool with a cache, served in this process over fresh engines.
pub struct CacheProxy {
    pub addr: SocketAddr,
    pub pool: Arc<Pool>,
    pub engines: Vec<Engine>,
    shutdown: Option<oneshot::Sender<()>>,
    join: Option<tokio::task::JoinHandle<()>>,
}

/// The YAML of one pool over `servers`, with `cache` (a `cache:` body, its
/// lines indented by two spaces already).
pub fn pool_yaml(servers: &[String], cache: &str) -> String {
    let mut yaml = String::from("test:\n  listen: 127.0.0.1:1\n  redis: true\n  servers:\n");
    for s in servers {
        yaml.push_str(&format!("    - {s}\n"));
    }
    yaml.push_str("  cache:\n");
    for line in cache.lines().filter(|l| !l.trim().is_empty()) {
        yaml.push_str("    ");
        yaml.push_str(line);
        yaml.push('\n');
    }
    yaml
}

/// The `cache:` body: database, journal in `dir`, and `rules` (YAML list text).
pub fn cache_yaml(db: &Db, dir: &tempfile::TempDir, rules: &str) -> String {
    format!(
        "database: \"{}\"\njournal: \"{}\"\nrules:\n{}",
        db.url(),
        dir.path().join("journal").display(),
        rules
    )
}

impl CacheProxy {
    /// Starts engines and the proxy; the cache's start error, if any.
    pub async fn try_start(engines: usize, cache: &str) -> Result<CacheProxy, String> {
        let mut started = Vec::new();
        for _ in 0..engines {
            started.push(Engine::start().await);
        }
        let addrs: Vec<SocketAddr> = started.iter().map(|e| e.addr).collect();
        let mut proxy = CacheProxy::try_over(&addrs, cache).await?;
        proxy.engines = started;
        Ok(proxy)
    }

    /// Starts the proxy over backends already running at `addrs`.
    pub async fn try_over(addrs: &[SocketAddr], cache: &str) -> Result<CacheProxy, String> {
        let servers: Vec<String> = addrs
            .iter()
            .enumerate()
            .map(|(i, addr)| format!("{addr}:1 shard-{i}"))
            .collect();
        let yaml = pool_yaml(&servers, cache);
        let cfg = shardcar::config::Config::from_yaml(&yaml).map_err(|e| e.to_string())?;
        let pool_cfg = cfg.pools.into_iter().next().expect("one pool");
        let pool = Arc::new(Pool::start(pool_cfg).await.map_err(|e| e.to_string())?);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let serving = Arc::clone(&pool);
        let join = tokio::spawn(async move {
            shardcar::proxy::serve(vec![(listener.into(), serving)], None, async {
                let _ = rx.await;
            })
            .await;
        });
        Ok(CacheProxy {
            addr,
            pool,
            engines: Vec::new(),
            shutdown: Some(tx),
            join: Some(join),
        })
    }

    pub async fn start(engines: usize, cache: &str) -> CacheProxy {
        match CacheProxy::try_start(engines, cache).await {
            Ok(proxy) => proxy,
            Err(e) => panic!("cache proxy did not start: {e}"),
        }
    }

    pub fn cache(&self) -> &Cache {
        self.pool.cache.as_deref().expect("the pool has a cache")
    }

    /// A cache counter, summed over the rules.
    pub fn stat(&self, pick: impl Fn(&RuleMetrics) -> &Tally) -> u64 {
        self.cache().count(pick)
    }

    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(format!("redis://{}/", self.addr))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("connect")
    }

    /// Shuts down (last flush included) and waits.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(join) = self.join.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), join).await;
        }
    }
}

impl Drop for CacheProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Polls `check` every 20 ms until it holds or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends one command and returns the reply (errors as `Err(text)`).
pub async fn query(
    con: &mut redis::aio::MultiplexedConnection,
    args: &[&str],
) -> Result<redis::Value, String> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(con).await.map_err(|e| e.to_string())
}

/// A TCP relay to a PostgreSQL server that a test can cut and restore.
pub struct Relay {
    /// The PostgreSQL URL through the relay.
    pub url: String,
    cut: Arc<std::sync::atomic::AtomicBool>,
    conns: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// PostgreSQL (SHARDCAR_TEST_PG) behind a new relay, and the database as
    /// reached through it; None, with a "skipped" line, without PostgreSQL.
    pub async fn postgres(test: &str) -> Option<(Relay, Db)> {
        let Some(Db::Postgres(url)) = Db::postgres(test) else {
            return None;
        };
        let relay = Relay::start(&url).await;
        let db = Db::Postgres(relay.url.clone());
        Some((relay, db))
    }

    /// Listens on 127.0.0.1:0 and relays to the host and port of `url`.
    pub async fn start(url: &str) -> Relay {
        let (prefix, rest) = url.split_once('@').expect("postgres://USER@HOST:PORT/DB");
        let (host_port, db) = rest.split_once('/').unwrap_or((rest, ""));
        let target = host_port.to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let conns = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (c, k) = (cut.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if c.load(std::sync::atomic::Ordering::SeqCst) {
                    continue;
                }
                let target = target.clone();
                k.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        Relay {
            url: format!("{prefix}@{addr}/{db}"),
            cut,
            conns,
            accept,
        }
    }

    /// Drops every relayed connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for conn in self.conns.lock().unwrap().drain(..) {
            conn.abort();
        }
    }

    /// Relays again.
    pub fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
