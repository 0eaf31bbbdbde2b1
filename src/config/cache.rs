//! A pool's `cache:` section: the SQL database behind the pool, the write-back
//! journal, and the rules that bind key patterns to tables.
//!
//! ```yaml
//! cache:
//!   database: sqlite://./data/shardcar.db   # or postgres://user@host/db
//!   journal: ./data/journal
//!   rules:
//!     - name: users
//!       match: "user:{id}"
//!       table: users
//!       value: [name, email]       # a list: a hash, one field per column
//!       policy: look_aside
//!       ttl: 300s
//! ```
//!
//! Everything that can be checked without the database is checked here, and
//! every problem is reported (each naming its rule). What needs the database
//! (does the table exist, its columns) is checked when the cache starts and by
//! `shardcar proxy -t`.

use std::path::PathBuf;
use std::time::Duration;

use serde_yaml_ng::Value;

use super::error::{ConfigError, Problem};
use super::pattern::Pattern;
use super::scalar::{kind, list, text};

/// The database a pool caches when the section does not say.
pub const DEFAULT_DATABASE: &str = "sqlite://./data/shardcar.db";
/// The journal directory when the section does not say.
pub const DEFAULT_JOURNAL: &str = "./data/journal";
/// A journal segment is closed and a new one started past this size.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Every key the `cache:` section takes.
pub const CACHE_KEYS: &[&str] = &["database", "journal", "segment_size", "rules"];

/// A pool's cache: where the rows are, where pending writes are journaled, and
/// which keys map to which rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// `database`: `sqlite://PATH` (`sqlite://:memory:` for tests) or
    /// `postgres://…`. Default `sqlite://./data/shardcar.db`.
    pub database: Database,
    /// `journal`: the directory of the write-back journal. Default `./data/journal`.
    pub journal: PathBuf,
    /// `segment_size` (bytes): when a journal file is closed for a new one.
    /// Default 64 MiB.
    pub segment_size: u64,
    /// `rules`: at least one.
    pub rules: Vec<Rule>,
}

/// Where the rows live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file (created if missing), or `:memory:`.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string, as written.
    Postgres(String),
}

impl Database {
    /// Reads `sqlite://PATH` or `postgres://…` / `postgresql://…`.
    ///
    /// # Errors
    /// Any other scheme, or an empty path.
    pub fn parse(url: &str) -> Result<Database, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(
                    "sqlite:// needs a file path, as in sqlite://./data/shardcar.db".into(),
                );
            }
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Database::Postgres(url.to_string()));
        }
        Err("expected sqlite://PATH or postgres://USER@HOST/DB".into())
    }
}

impl std::fmt::Display for Database {
    /// The URL, without a PostgreSQL password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Database::Postgres(url) => f.write_str(&hide_password(url)),
        }
    }
}

fn hide_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{name}:***@{host}")
        }
        _ => url.to_string(),
    }
}

/// Which way a rule's keys and rows agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Reads fill the cache from SQL on a miss; writes go to SQL first, then
    /// the cached value is dropped.
    LookAside,
    /// Writes are acknowledged once in the cache and the journal, and reach SQL
    /// in batches.
    WriteBack,
}

/// How the cached value maps to columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueColumns {
    /// A string key: one column.
    String(String),
    /// A hash key: each listed column is a field of the same name.
    Hash(Vec<String>),
}

impl ValueColumns {
    /// The columns, in order.
    pub fn columns(&self) -> &[String] {
        match self {
            ValueColumns::String(c) => std::slice::from_ref(c),
            ValueColumns::Hash(cs) => cs,
        }
    }
}

/// How a write-back rule turns writes into rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One row per key, the latest write wins; repeated writes coalesce.
    Upsert,
    /// One row per write, in order per key (a log).
    Append,
}

/// When a journaled write reaches the disk, as Redis's `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// Before the reply (writes in flight together share one fsync).
    Always,
    /// Once a second: a crash may lose the last second of acknowledged writes.
    Everysec,
    /// Left to the OS: a crash may lose more.
    No,
}

/// What a write gets when the rule's journal holds `max_pending` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFull {
    /// Wait until the flusher makes room.
    Block,
    /// Answer `-BUSY` at once.
    Reject,
}

/// The write-back part of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteBack {
    /// `mode`: `upsert` (default) or `append`.
    pub mode: Mode,
    /// `fsync`: `always` (default), `everysec` or `no`.
    pub fsync: Fsync,
    /// `batch_size`: writes per SQL transaction while the flusher keeps up (a
    /// full batch starts a flush); one that fell behind takes up to 32 times as
    /// many at once. Default 500.
    pub batch_size: usize,
    /// `flush_interval`: the longest a write waits for its batch. Default 1s.
    pub flush_interval: Duration,
    /// `max_pending`: journaled writes not yet in SQL, at most. Default 100000.
    pub max_pending: usize,
    /// `on_full`: `block` (default) or `reject`.
    pub on_full: OnFull,
    /// `version_column` (upsert): the journal sequence of the row's last write,
    /// so that an older write never overwrites a newer one. Default `_version`.
    pub version_column: String,
    /// `seq_column` (append): the journal sequence of the row, under a unique
    /// constraint, so that a write is inserted once. Default `_seq`.
    pub seq_column: String,
}

impl Default for WriteBack {
    fn default() -> Self {
        WriteBack {
            mode: Mode::Upsert,
            fsync: Fsync::Always,
            batch_size: 500,
            flush_interval: Duration::from_secs(1),
            max_pending: 100_000,
            on_full: OnFull::Block,
            version_column: "_version".into(),
            seq_column: "_seq".into(),
        }
    }
}

/// One rule: a key pattern bound to a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `name`: unique in the pool; names the rule in errors, metrics and SQL
    /// bookkeeping.
    pub name: String,
    /// `match`: the key pattern, `user:{id}`.
    pub pattern: Pattern,
    /// `table`: `name` or `schema.name`.
    pub table: String,
    /// `key`: for each capture in pattern order, its column. Default: each
    /// capture's own name.
    pub key: Vec<(String, String)>,
    /// `value`: a column (string keys) or a list of columns (hash keys).
    pub value: ValueColumns,
    /// `policy`: `look_aside` or `write_back`.
    pub policy: Policy,
    /// `create`: create the table at start if it is missing. Default false.
    pub create: bool,
    /// `ttl`: how long a value read from SQL stays cached. Default 300s.
    pub ttl: Duration,
    /// `ttl_jitter` (%): each TTL is lengthened by up to this share, at random,
    /// so that keys loaded together do not expire together. Default 10.
    pub ttl_jitter: u32,
    /// `negative_ttl`: how long "no such row" is remembered. Default 30s; 0s
    /// turns it off.
    pub negative_ttl: Duration,
    /// The write-back settings; present exactly when the policy is write_back.
    pub write_back: Option<WriteBack>,
}

impl Rule {
    /// The key columns, in capture order.
    pub fn key_columns(&self) -> impl Iterator<Item = &str> {
        self.key.iter().map(|(_, column)| column.as_str())
    }

    /// Whether the rule's writes are appended rows (a log).
    pub fn is_append(&self) -> bool {
        matches!(&self.write_back, Some(wb) if wb.mode == Mode::Append)
    }
}

/// Decodes the `cache:` value of pool `pool`, adding every problem to `errors`.
pub(crate) fn decode(pool: &str, v: &Value, errors: &mut Vec<ConfigError>) -> Option<CacheConfig> {
    let Value::Mapping(map) = v else {
        let problem = Problem::WrongType {
            expected: "a mapping (database, journal, rules)",
            found: kind(v),
        };
        errors.push(ConfigError::key(pool, "cache", problem));
        return None;
    };
    let mut cfg = CacheConfig {
        database: Database::Sqlite(PathBuf::from(&DEFAULT_DATABASE["sqlite://".len()..])),
        journal: PathBuf::from(DEFAULT_JOURNAL),
        segment_size: DEFAULT_SEGMENT_BYTES,
        rules: Vec::new(),
    };
    let before = errors.len();
    let mut rules = None;
    for (key, value) in map {
        let key = key.as_str().unwrap_or_default();
        let result = match key {
            "database" => text(value).and_then(|url| {
                Database::parse(&url)
                    .map(|db| cfg.database = db)
                    .map_err(|reason| Problem::Invalid { value: url, reason })
            }),
            "journal" => text(value).map(|dir| cfg.journal = PathBuf::from(dir)),
            "segment_size" => bytes(value).map(|n| cfg.segment_size = n),
            "rules" => list(value).map(|items| rules = Some(items)),
            other => Err(Problem::Cache(format!(
                "unknown key '{other}' (expected one of {})",
                CACHE_KEYS.join(", ")
            ))),
        };
        if let Err(problem) = result {
            errors.push(ConfigError::key(pool, "cache", problem));
        }
    }
    match rules {
        Some(items) => cfg.rules = super::rule::decode_rules(pool, items, errors),
        None if errors.len() == before => {
            let problem =
                Problem::Cache("'rules' is missing: a cache needs at least one rule".into());
            errors.push(ConfigError::key(pool, "cache", problem));
        }
        None => {}
    }
    (errors.len() == before).then_some(cfg)
}

fn bytes(v: &Value) -> Result<u64, Problem> {
    let value = text(v)?;
    let lower = value.to_ascii_lowercase();
    let (digits, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => lower.split_at(at),
        None => (lower.as_str(), ""),
    };
    let scale: u64 = match unit.trim() {
        "" | "b" => 1,
        "kb" | "kib" => 1 << 10,
        "mb" | "mib" => 1 << 20,
        "gb" | "gib" => 1 << 30,
        _ => 0,
    };
    match digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
    {
        Some(n) if n >= 4096 => Ok(n),
        _ => Err(Problem::Invalid {
            value,
            reason: "expected a size of at least 4096 bytes, such as 64MiB".into(),
        }),
    }
}

/// Reads a duration with its unit: `250ms`, `30s`, `5m`, `1h`.
pub(crate) fn duration(v: &Value) -> Result<Duration, Problem> {
    let value = text(v)?;
    let at = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(at);
    let n: Option<u64> = digits.parse().ok();
    let d = match (n, unit) {
        (Some(n), "ms") => Some(Duration::from_millis(n)),
        (Some(n), "s") => Some(Duration::from_secs(n)),
        (Some(n), "m") => n.checked_mul(60).map(Duration::from_secs),
        (Some(n), "h") => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    };
    d.filter(|d| d.as_secs() <= 365 * 24 * 3600)
        .ok_or(Problem::Invalid {
            value,
            reason:
                "expected a duration with its unit, such as 250ms, 30s, 5m or 1h (at most a year)"
                    .into(),
        })
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
