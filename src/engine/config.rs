//! The engine's options, spelled as in redis.conf.
//!
//! They come from a config file (`shardcar engine /path/redis.conf`), from
//! `--name value` pairs after it (as `redis-server` takes them), and at run time from
//! CONFIG SET. One table (`PARAMS`) names every option with its parser and printer,
//! so the three paths and CONFIG GET cannot drift apart.

use std::fmt::Write as _;

/// The engine's settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// TCP port (0 = pick a free one).
    pub port: u16,
    /// Addresses to listen on.
    pub bind: Vec<String>,
    /// Password clients must AUTH with; empty = none.
    pub requirepass: String,
    /// Number of databases.
    pub databases: usize,
    /// Maximum connected clients.
    pub maxclients: usize,
    /// Idle seconds before a client is closed; 0 = never.
    pub timeout: u64,
    /// Working directory for persistence files.
    pub dir: String,
    /// Snapshot schedule: "<seconds> <changes>" pairs ("3600 1 300 100"); "" = none.
    pub save: String,
    /// RDB file name (a name, not a path: it lives in `dir`).
    pub dbfilename: String,
    /// LZF-compress long strings in RDB files.
    pub rdbcompression: bool,
    /// Write (and verify on load) the RDB checksum.
    pub rdbchecksum: bool,
    /// Refuse writes (MISCONF) after a failed background save, while save points are set.
    pub stop_writes_on_bgsave_error: bool,
    /// Append-only file on/off.
    pub appendonly: bool,
    /// AOF fsync policy: always, everysec or no.
    pub appendfsync: String,
    /// Base name of the AOF files.
    pub appendfilename: String,
    /// Directory of the AOF files, inside `dir`.
    pub appenddirname: String,
    /// Rewrite the AOF when it grew by this percentage over its size after
    /// the last rewrite; 0 = never automatically.
    pub auto_aof_rewrite_percentage: u64,
    /// ... and is at least this large.
    pub auto_aof_rewrite_min_size: u64,
    /// Load an AOF whose tail is cut off, dropping the incomplete command.
    pub aof_load_truncated: bool,
    /// Write the rewritten base as an RDB snapshot rather than commands.
    pub aof_use_rdb_preamble: bool,
    /// Memory limit in bytes; 0 = none.
    pub maxmemory: u64,
    /// What to evict past maxmemory.
    pub maxmemory_policy: String,
    /// Keys sampled per eviction.
    pub maxmemory_samples: u64,
    /// Background task frequency (active expiry cycles per second).
    pub hz: u64,
    /// Log verbosity: debug, verbose, notice, warning.
    pub loglevel: String,
    /// Largest bulk string a client may send.
    pub proto_max_bulk_len: u64,
    /// hash-max-listpack-entries
    pub hash_max_listpack_entries: u64,
    /// hash-max-listpack-value
    pub hash_max_listpack_value: u64,
    /// set-max-intset-entries
    pub set_max_intset_entries: u64,
    /// zset-max-listpack-entries
    pub zset_max_listpack_entries: u64,
    /// zset-max-listpack-value
    pub zset_max_listpack_value: u64,
    /// list-max-listpack-size (negative: bytes per node, -2 = 8 KiB)
    pub list_max_listpack_size: i64,
    /// HyperLogLog sparse representation limit.
    pub hll_sparse_max_bytes: u64,
    /// SLOWLOG threshold in microseconds.
    pub slowlog_log_slower_than: i64,
    /// SLOWLOG length.
    pub slowlog_max_len: u64,
    /// Free large values off the command path on DEL (as UNLINK).
    pub lazyfree_lazy_user_del: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            port: 6379,
            bind: vec!["127.0.0.1".into()],
            requirepass: String::new(),
            databases: 16,
            maxclients: 10000,
            timeout: 0,
            dir: ".".into(),
            save: "3600 1 300 100 60 10000".into(),
            dbfilename: "dump.rdb".into(),
            rdbcompression: true,
            rdbchecksum: true,
            stop_writes_on_bgsave_error: true,
            appendonly: false,
            appendfsync: "everysec".into(),
            appendfilename: "appendonly.aof".into(),
            appenddirname: "appendonlydir".into(),
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            aof_load_truncated: true,
            aof_use_rdb_preamble: true,
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            maxmemory_samples: 5,
            hz: 10,
            loglevel: "notice".into(),
            proto_max_bulk_len: 512 * 1024 * 1024,
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            hll_sparse_max_bytes: 3000,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            lazyfree_lazy_user_del: false,
        }
    }
}

/// An option that could not be applied.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigError {
    /// No such option.
    #[error("unknown option '{0}'")]
    Unknown(String),
    /// The value does not parse or is out of range.
    #[error("argument '{value}' for option '{name}' is invalid: {why}")]
    Invalid {
        /// Option name.
        name: String,
        /// The value given.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// An option given without a value.
    #[error("option '{0}' needs a value")]
    MissingValue(String),
    /// The config file could not be read.
    #[error("cannot read config file '{path}': {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },
}

/// How an option is read, printed and changed.
#[derive(Debug)]
pub struct Param {
    /// The redis.conf name.
    pub name: &'static str,
    /// Accepted but without effect yet (logged at start).
    pub inactive: bool,
    /// May be changed by CONFIG SET.
    pub mutable: bool,
    get: fn(&EngineConfig) -> String,
    set: fn(&mut EngineConfig, &str) -> Result<(), String>,
}

macro_rules! params {
    ($( $name:literal => $field:ident : $kind:ident $(, $flag:ident)* ;)*) => {
        /// Every option, in CONFIG GET order.
        pub static PARAMS: &[Param] = &[$(Param {
            name: $name,
            inactive: params!(@has inactive $($flag)*),
            mutable: !params!(@has immutable $($flag)*),
            get: |c| $kind::show(&c.$field),
            set: |c, v| { c.$field = $kind::parse(v)?; Ok(()) },
        },)*];
    };
    (@has $want:ident) => { false };
    (@has $want:ident $first:ident $($rest:ident)*) => {
        params!(@same $want $first) || params!(@has $want $($rest)*)
    };
    (@same inactive inactive) => { true };
    (@same immutable immutable) => { true };
    (@same $a:ident $b:ident) => { false };
}

params! {
    "port" => port: Port, immutable;
    "bind" => bind: Words, immutable;
    "requirepass" => requirepass: Text;
    "databases" => databases: Count, immutable;
    "maxclients" => maxclients: Count;
    "timeout" => timeout: Num;
    "dir" => dir: Text;
    "save" => save: SavePoints;
    "dbfilename" => dbfilename: FileName;
    "rdbcompression" => rdbcompression: YesNo;
    "rdbchecksum" => rdbchecksum: YesNo;
    "stop-writes-on-bgsave-error" => stop_writes_on_bgsave_error: YesNo;
    "appendonly" => appendonly: YesNo, immutable;
    "appendfsync" => appendfsync: Fsync;
    "appendfilename" => appendfilename: FileName, immutable;
    "appenddirname" => appenddirname: FileName, immutable;
    "auto-aof-rewrite-percentage" => auto_aof_rewrite_percentage: Num;
    "auto-aof-rewrite-min-size" => auto_aof_rewrite_min_size: Memory;
    "aof-load-truncated" => aof_load_truncated: YesNo;
    "aof-use-rdb-preamble" => aof_use_rdb_preamble: YesNo;
    "maxmemory" => maxmemory: Memory;
    "maxmemory-policy" => maxmemory_policy: Policy;
    "maxmemory-samples" => maxmemory_samples: Num;
    "hz" => hz: Hz;
    "loglevel" => loglevel: LogLevel;
    "proto-max-bulk-len" => proto_max_bulk_len: Memory;
    "hash-max-listpack-entries" => hash_max_listpack_entries: Num;
    "hash-max-listpack-value" => hash_max_listpack_value: Num;
    "set-max-intset-entries" => set_max_intset_entries: Num;
    "zset-max-listpack-entries" => zset_max_listpack_entries: Num;
    "zset-max-listpack-value" => zset_max_listpack_value: Num;
    "list-max-listpack-size" => list_max_listpack_size: Int;
    "hll-sparse-max-bytes" => hll_sparse_max_bytes: Memory;
    "slowlog-log-slower-than" => slowlog_log_slower_than: Int;
    "slowlog-max-len" => slowlog_max_len: Num;
    "lazyfree-lazy-user-del" => lazyfree_lazy_user_del: YesNo;
}

/// Old names Redis still accepts for the same options.
const ALIASES: &[(&str, &str)] = &[
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
];

/// Finds an option by name, case-insensitively, aliases included.
pub fn param(name: &str) -> Option<&'static Param> {
    let lower = name.to_ascii_lowercase();
    let name = ALIASES
        .iter()
        .find(|(old, _)| *old == lower)
        .map_or(lower.as_str(), |(_, new)| new);
    PARAMS.iter().find(|p| p.name == name)
}

impl EngineConfig {
    /// Sets one option from its text form.
    ///
    /// # Errors
    /// Unknown option or invalid value.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let p = param(name).ok_or_else(|| ConfigError::Unknown(name.to_string()))?;
        (p.set)(self, value).map_err(|why| ConfigError::Invalid {
            name: p.name.to_string(),
            value: value.to_string(),
            why,
        })
    }

    /// The text form of one option.
    pub fn get(&self, p: &Param) -> String {
        (p.get)(self)
    }

    /// Builds a config from `shardcar engine` arguments: an optional config file
    /// path first, then `--name value…` pairs (a value may span several words, as
    /// `--save 900 1 300 10`).
    ///
    /// # Errors
    /// An unreadable file, unknown option, or invalid value, naming it.
    pub fn from_args(args: &[String]) -> Result<EngineConfig, ConfigError> {
        let mut cfg = EngineConfig::default();
        let mut rest = args;
        if let Some(first) = args.first().filter(|a| !a.starts_with("--")) {
            let text = std::fs::read_to_string(first).map_err(|e| ConfigError::Io {
                path: first.clone(),
                source: std::sync::Arc::new(e),
            })?;
            cfg.apply_file(&text)?;
            rest = &args[1..];
        }
        let mut i = 0;
        while i < rest.len() {
            let name = rest[i]
                .strip_prefix("--")
                .ok_or_else(|| ConfigError::Unknown(rest[i].clone()))?;
            let values: Vec<&str> = rest[i + 1..]
                .iter()
                .take_while(|a| !a.starts_with("--"))
                .map(String::as_str)
                .collect();
            if values.is_empty() && name != "save" {
                return Err(ConfigError::MissingValue(name.to_string()));
            }
            cfg.set(name, &values.join(" "))?;
            i += 1 + values.len();
        }
        Ok(cfg)
    }

    /// Applies redis.conf text: one `name value…` per line, `#` comments.
    ///
    /// # Errors
    /// The first bad line, by option name.
    pub fn apply_file(&mut self, text: &str) -> Result<(), ConfigError> {
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (name, value) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            self.set(name, value)?;
        }
        Ok(())
    }

    /// Names of the options set away from their defaults that have no effect yet.
    pub fn inactive_options_in_use(&self) -> Vec<&'static str> {
        let default = EngineConfig::default();
        PARAMS
            .iter()
            .filter(|p| p.inactive && self.get(p) != default.get(p))
            .map(|p| p.name)
            .collect()
    }

    /// The encoding thresholds commands use.
    pub fn encoding_limits(&self) -> super::value::EncodingLimits {
        let list_bytes = match self.list_max_listpack_size {
            n if n >= 0 => usize::MAX,
            n => 4096usize << (n.unsigned_abs().clamp(1, 5) - 1),
        };
        super::value::EncodingLimits {
            hash_max_listpack_entries: self.hash_max_listpack_entries as usize,
            hash_max_listpack_value: self.hash_max_listpack_value as usize,
            set_max_intset_entries: self.set_max_intset_entries as usize,
            zset_max_listpack_entries: self.zset_max_listpack_entries as usize,
            zset_max_listpack_value: self.zset_max_listpack_value as usize,
            list_max_listpack_entries: match self.list_max_listpack_size {
                n if n > 0 => n as usize,
                _ => usize::MAX,
            },
            list_max_listpack_bytes: list_bytes,
        }
    }
}

/// Parses redis.conf memory sizes: "100", "1k" (1000), "1kb" (1024), "2gb"…
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| "not a memory size".to_string())?;
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(format!("unknown unit '{unit}'")),
    };
    n.checked_mul(mul).ok_or_else(|| "too large".to_string())
}

/// The value kinds of options: how each parses and prints.
trait Kind<T> {
    fn parse(text: &str) -> Result<T, String>;
    fn show(value: &T) -> String;
}

struct Text;
impl Kind<String> for Text {
    fn parse(text: &str) -> Result<String, String> {
        Ok(text.to_string())
    }
    fn show(value: &String) -> String {
        value.clone()
    }
}

struct SavePoints;
impl Kind<String> for SavePoints {
    fn parse(text: &str) -> Result<String, String> {
        parse_save_points(text)?;
        Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
    }
    fn show(value: &String) -> String {
        value.clone()
    }
}

/// The `save` option as (seconds, changes) pairs: snapshot when at least
/// `changes` writes happened within `seconds`.
///
/// # Errors
/// An odd number of words, or one that is not a non-negative integer.
pub fn parse_save_points(text: &str) -> Result<Vec<(u64, u64)>, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() % 2 != 0 {
        return Err("save points come in <seconds> <changes> pairs".into());
    }
    words
        .chunks_exact(2)
        .map(|pair| match (pair[0].parse(), pair[1].parse()) {
            (Ok(secs), Ok(changes)) => Ok((secs, changes)),
            _ => Err(format!(
                "'{} {}' is not a pair of integers",
                pair[0], pair[1]
            )),
        })
        .collect()
}

struct FileName;
impl Kind<String> for FileName {
    fn parse(text: &str) -> Result<String, String> {
        if text.is_empty() || text.contains('/') || text == "." || text == ".." {
            return Err("can't be a path, just a filename".into());
        }
        Ok(text.to_string())
    }
    fn show(value: &String) -> String {
        value.clone()
    }
}

struct Words;
impl Kind<Vec<String>> for Words {
    fn parse(text: &str) -> Result<Vec<String>, String> {
        let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        if words.is_empty() {
            return Err("needs at least one address".into());
        }
        Ok(words)
    }
    fn show(value: &Vec<String>) -> String {
        value.join(" ")
    }
}

struct Num;
impl Kind<u64> for Num {
    fn parse(text: &str) -> Result<u64, String> {
        text.parse()
            .map_err(|_| "not a non-negative integer".into())
    }
    fn show(value: &u64) -> String {
        value.to_string()
    }
}

struct Int;
impl Kind<i64> for Int {
    fn parse(text: &str) -> Result<i64, String> {
        text.parse().map_err(|_| "not an integer".into())
    }
    fn show(value: &i64) -> String {
        value.to_string()
    }
}

struct Count;
impl Kind<usize> for Count {
    fn parse(text: &str) -> Result<usize, String> {
        match text.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err("must be a positive integer".into()),
        }
    }
    fn show(value: &usize) -> String {
        value.to_string()
    }
}

struct Port;
impl Kind<u16> for Port {
    fn parse(text: &str) -> Result<u16, String> {
        text.parse()
            .map_err(|_| "not a port number (0-65535)".into())
    }
    fn show(value: &u16) -> String {
        value.to_string()
    }
}

struct Hz;
impl Kind<u64> for Hz {
    fn parse(text: &str) -> Result<u64, String> {
        // Redis clamps hz to 1..=500.
        Num::parse(text).map(|n| n.clamp(1, 500))
    }
    fn show(value: &u64) -> String {
        value.to_string()
    }
}

struct Memory;
impl Kind<u64> for Memory {
    fn parse(text: &str) -> Result<u64, String> {
        parse_memory(text)
    }
    fn show(value: &u64) -> String {
        value.to_string()
    }
}

struct YesNo;
impl Kind<bool> for YesNo {
    fn parse(text: &str) -> Result<bool, String> {
        match text.to_ascii_lowercase().as_str() {
            "yes" => Ok(true),
            "no" => Ok(false),
            _ => Err("must be 'yes' or 'no'".into()),
        }
    }
    fn show(value: &bool) -> String {
        if *value { "yes" } else { "no" }.into()
    }
}

fn one_of(text: &str, allowed: &[&str]) -> Result<String, String> {
    let lower = text.to_ascii_lowercase();
    if allowed.contains(&lower.as_str()) {
        return Ok(lower);
    }
    let mut why = String::from("must be one of:");
    for a in allowed {
        let _ = write!(why, " {a}");
    }
    Err(why)
}

struct Fsync;
impl Kind<String> for Fsync {
    fn parse(text: &str) -> Result<String, String> {
        one_of(text, &["always", "everysec", "no"])
    }
    fn show(value: &String) -> String {
        value.clone()
    }
}

/// The eviction policies Redis has.
pub const EVICTION_POLICIES: &[&str] = &[
    "noeviction",
    "allkeys-lru",
    "volatile-lru",
    "allkeys-lfu",
    "volatile-lfu",
    "allkeys-random",
    "volatile-random",
    "volatile-ttl",
];

struct Policy;
impl Kind<String> for Policy {
    fn parse(text: &str) -> Result<String, String> {
        one_of(text, EVICTION_POLICIES)
    }
    fn show(value: &String) -> String {
        value.clone()
    }
}

struct LogLevel;
impl Kind<String> for LogLevel {
    fn parse(text: &str) -> Result<String, String> {
        one_of(text, &["debug", "verbose", "notice", "warning", "nothing"])
    }
    fn show(value: &String) -> String {
        value.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn redis_server_style_arguments() {
        let cfg = EngineConfig::from_args(&args(&[
            "--port",
            "7000",
            "--save",
            "900",
            "1",
            "300",
            "10",
            "--maxmemory",
            "100mb",
            "--appendonly",
            "yes",
        ]))
        .unwrap();
        assert_eq!(cfg.port, 7000);
        assert_eq!(cfg.save, "900 1 300 10");
        assert_eq!(cfg.maxmemory, 100 * 1024 * 1024);
        assert!(cfg.appendonly);
        assert!(cfg.inactive_options_in_use().is_empty());
    }

    #[test]
    fn empty_save_disables_snapshots() {
        let cfg = EngineConfig::from_args(&args(&["--save", "", "--port", "1"])).unwrap();
        assert_eq!(cfg.save, "");
        let cfg = EngineConfig::from_args(&args(&["--save"])).unwrap();
        assert_eq!(cfg.save, "");
    }

    #[test]
    fn bad_arguments_are_named() {
        let err = EngineConfig::from_args(&args(&["--no-such", "1"])).unwrap_err();
        assert_eq!(err.to_string(), "unknown option 'no-such'");
        let err = EngineConfig::from_args(&args(&["--port", "99999"])).unwrap_err();
        assert!(err.to_string().contains("'port'"), "{err}");
        let err = EngineConfig::from_args(&args(&["--appendfsync", "sometimes"])).unwrap_err();
        assert!(err.to_string().contains("always everysec no"), "{err}");
        let err = EngineConfig::from_args(&args(&["--port"])).unwrap_err();
        assert!(matches!(err, ConfigError::MissingValue(name) if name == "port"));
        let err = EngineConfig::from_args(&args(&["/nonexistent/redis.conf"])).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/redis.conf"));
    }

    #[test]
    fn config_file_then_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redis.conf");
        std::fs::write(&path, "# comment\nport 7001\nmaxmemory-policy allkeys-lru\nsave \"\"\nhash-max-ziplist-entries 64\n").unwrap();
        let cfg =
            EngineConfig::from_args(&args(&[path.to_str().unwrap(), "--port", "7002"])).unwrap();
        assert_eq!(cfg.port, 7002);
        assert_eq!(cfg.maxmemory_policy, "allkeys-lru");
        assert_eq!(cfg.save, "");
        assert_eq!(cfg.hash_max_listpack_entries, 64);
    }

    #[test]
    fn save_points_and_file_names_are_checked() {
        assert_eq!(
            parse_save_points("900 1  300 10"),
            Ok(vec![(900, 1), (300, 10)])
        );
        assert_eq!(parse_save_points(""), Ok(vec![]));
        for bad in ["900", "900 x", "-1 5"] {
            let err = EngineConfig::from_args(&args(&["--save", bad])).unwrap_err();
            assert!(err.to_string().contains("'save'"), "{err}");
        }
        let err = EngineConfig::from_args(&args(&["--dbfilename", "a/b.rdb"])).unwrap_err();
        assert!(err.to_string().contains("just a filename"), "{err}");
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1k"), Ok(1000));
        assert_eq!(parse_memory("1KB"), Ok(1024));
        assert_eq!(parse_memory("2gb"), Ok(2 << 30));
        assert!(parse_memory("1xb").is_err());
        assert!(parse_memory("-1").is_err());
    }
}
