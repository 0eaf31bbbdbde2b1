//! The proxy's configuration: twemproxy's `nutcracker.yml`, read as it is.
//!
//! A file is a YAML mapping of pool names to pools, exactly as twemproxy 0.5 reads
//! it, with every key and default of twemproxy (see [`Pool`]) plus a few of
//! shardcar's own (`allow_flush`, `requirepass`, `ranges` for
//! `distribution: range`, and `cache` for SQL caching rules). Pools keep the file's order.
//!
//! Loading fails early and says everything that is wrong at once: each problem
//! names its pool, its key and, where the text shows it, its line
//! ([`ConfigErrors`]).
//!
//! Where shardcar and twemproxy disagree on a file:
//! - `redis: true` is required: twemproxy's default (memcached) is refused.
//! - Host names are not resolved while loading (twemproxy resolves `listen`).
//! - Stricter: socket permissions must be octal ≤ 0777, numbers must fit in a
//!   C `int`, a hash tag must be two ASCII characters, two servers may not share
//!   an address even under different names.
//! - More lenient: YAML flow style, `True`/`TRUE` booleans and `[::1]:port` hosts
//!   are accepted.
//!
//! ```
//! use shardcar::config::{Config, Hash};
//!
//! let yaml = "alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1\n";
//! let config = Config::from_yaml(yaml).unwrap();
//! assert_eq!(config.pools[0].hash, Hash::Fnv1a64);
//!
//! let err = Config::from_yaml(&yaml.replace("redis: true", "redis: true\n  hash: md6")).unwrap_err();
//! assert!(err.to_string().starts_with("line 4: pool 'alpha': key 'hash': unknown value 'md6' (expected one of"));
//! ```

mod addr;
mod cache;
mod error;
mod locate;
mod names;
mod parse;
mod pattern;
mod pool;
mod range;
mod rule;
mod scalar;

use std::collections::HashMap;
use std::path::Path;

pub use addr::{Listen, Server, ServerAddr};
pub use cache::{
    CacheConfig, Database, Fsync, Mode, OnFull, Policy, Rule, ValueColumns, WriteBack, CACHE_KEYS,
    DEFAULT_DATABASE, DEFAULT_JOURNAL, DEFAULT_SEGMENT_BYTES,
};
pub use error::{ConfigError, ConfigErrors, Problem};
pub use names::{Distribution, Hash, HashTag};
pub use parse::POOL_KEYS;
pub use pattern::Pattern;
pub use pool::{
    Pool, DEFAULT_BACKLOG, DEFAULT_LISTEN_PORT, DEFAULT_SERVER_FAILURE_LIMIT,
    DEFAULT_SERVER_RETRY_TIMEOUT,
};
pub use range::{HashSpan, PrefixRule, Ranges};

use parse::Decoded;

/// A whole proxy configuration: its pools, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The pools, in the order the file lists them.
    pub pools: Vec<Pool>,
}

impl Config {
    /// Parses and validates YAML text.
    ///
    /// # Errors
    /// Every problem in the text, each with its pool, key and line when known.
    pub fn from_yaml(src: &str) -> Result<Config, ConfigErrors> {
        parse::parse(src)
    }

    /// Reads, parses and validates a file.
    ///
    /// # Errors
    /// As [`Config::from_yaml`], with the path in each message; or the read error.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigErrors> {
        let path = path.as_ref();
        let src = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors::new(vec![ConfigError::file(Problem::Io(e))]).with_path(path)
        })?;
        Config::from_yaml(&src).map_err(|e| e.with_path(path))
    }

    /// Checks a config built in code the way a file is checked: servers, ranges,
    /// listen addresses. Returns it with hash spans sorted.
    ///
    /// # Errors
    /// Every problem found.
    pub fn validate(self) -> Result<Config, ConfigErrors> {
        let pools = self
            .pools
            .into_iter()
            .map(|pool| Decoded {
                server_items: (0..pool.servers.len()).collect(),
                pool,
                listen_ok: true,
                damaged: Default::default(),
            })
            .collect();
        let mut errors = Vec::new();
        let config = check_config(pools, &mut errors);
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors::new(errors))
        }
    }

    /// The pool of that name.
    pub fn pool(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.name == name)
    }
}

/// Runs the checks that need a whole pool or the whole config, adding to `errors`.
fn check_config(pools: Vec<Decoded>, errors: &mut Vec<ConfigError>) -> Config {
    if pools.is_empty() && errors.is_empty() {
        errors.push(ConfigError::file(Problem::NoPools));
    }
    let mut listeners: HashMap<String, String> = HashMap::new();
    let mut checked = Vec::with_capacity(pools.len());
    for mut d in pools {
        for mut error in d.pool.check(d.damaged) {
            if error.key.as_deref() == Some("servers") {
                error.item = error.item.and_then(|i| d.server_items.get(i).copied());
            }
            errors.push(error);
        }
        if d.listen_ok {
            let socket = socket_identity(&d.pool.listen);
            if let Some(other) = listeners.get(&socket) {
                let problem = Problem::DuplicateListen {
                    addr: d.pool.listen.to_string(),
                    other: other.clone(),
                };
                errors.push(ConfigError::key(&d.pool.name, "listen", problem));
            } else {
                listeners.insert(socket, d.pool.name.clone());
            }
        }
        checked.push(d.pool);
    }
    Config { pools: checked }
}

/// What two pools may not share: a host and port, or a socket path (whatever
/// the permissions).
fn socket_identity(listen: &Listen) -> String {
    match listen {
        Listen::Tcp { .. } => listen.to_string(),
        Listen::Unix { path, .. } => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests;
