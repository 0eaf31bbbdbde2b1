//! Config errors: every problem found in a file, each naming where it is.
//!
//! Loading never stops at the first mistake. [`ConfigErrors`] holds all of them, and
//! its `Display` prints one per line, located as precisely as the file allows:
//!
//! ```text
//! nutcracker.yml:3: pool 'alpha': key 'hash': unknown value 'md6' (expected one of one_at_a_time, …)
//! ```

use std::fmt;
use std::path::PathBuf;

/// What is wrong, without where. [`ConfigError`] adds the where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[source] std::io::Error),
    /// The text is not YAML, or has duplicate keys or several documents.
    #[error("YAML syntax error: {0}")]
    Yaml(#[source] serde_yaml_ng::Error),
    /// A pool, or a key in a pool, written twice.
    #[error("written twice (first on line {first_line})")]
    Duplicate {
        /// Where the first one is.
        first_line: usize,
    },
    /// The file holds no pool at all.
    #[error("no pools defined (the file must be a mapping of pool names to pools)")]
    NoPools,
    /// A value has the wrong YAML shape (a list where a string was expected…).
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the key takes.
        expected: &'static str,
        /// What the file has.
        found: &'static str,
    },
    /// A key that neither twemproxy nor shardcar knows.
    #[error("unknown key{}", suggestion.map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
    UnknownKey {
        /// The known key closest in spelling, if one is close.
        suggestion: Option<&'static str>,
    },
    /// A name outside a closed set (hash, distribution).
    #[error("unknown value '{value}' (expected one of {expected})")]
    UnknownValue {
        /// The value as written.
        value: String,
        /// The accepted names, comma-separated.
        expected: String,
    },
    /// A required key is absent.
    #[error("missing (required)")]
    Missing,
    /// A value that does not parse; `reason` says what was expected.
    #[error("invalid value '{value}': {reason}")]
    Invalid {
        /// The value as written.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// `redis: false`, or no `redis:` key (twemproxy's default is memcached).
    #[error("{}; shardcar proxies Redis only and does not support memcached pools: set 'redis: true'",
        if *explicit { "'redis: false' makes this a memcached pool" } else { "not set, which twemproxy reads as a memcached pool" })]
    Memcache {
        /// Whether the file says `redis: false` (rather than nothing).
        explicit: bool,
    },
    /// `hash_tag` is not two ASCII characters.
    #[error("invalid value '{value}': a hash tag must be exactly two ASCII characters, such as \"{{}}\"")]
    HashTag {
        /// The value as written.
        value: String,
    },
    /// The pool lists no server.
    #[error("the pool has no servers")]
    NoServers,
    /// A server weight of 0 (twemproxy: "has a zero weight").
    #[error("server '{server}' has a zero weight (weights start at 1)")]
    ZeroWeight {
        /// The server line.
        server: String,
    },
    /// Two servers share a name, an address, or a ketama identity.
    #[error("server '{server}' has the same {what} as server '{first}'")]
    DuplicateServer {
        /// The later server line.
        server: String,
        /// The earlier server line.
        first: String,
        /// `name`, `address`, or `ketama name`.
        what: &'static str,
    },
    /// Two pools listen on the same address.
    #[error("listen address '{addr}' is already used by pool '{other}'")]
    DuplicateListen {
        /// The address.
        addr: String,
        /// The pool that uses it first.
        other: String,
    },
    /// A problem in a pool's `ranges:` list.
    #[error("{0}")]
    Range(String),
    /// A problem in a pool's `cache:` section outside any rule.
    #[error("{0}")]
    Cache(String),
    /// A problem with one cache rule; the message names the rule.
    #[error("rule '{rule}': {reason}")]
    Rule {
        /// The rule's name (or `#N` when it has none).
        rule: String,
        /// What is wrong.
        reason: String,
    },
}

/// One problem, with the pool, key and line it belongs to.
#[derive(Debug)]
pub struct ConfigError {
    /// The pool, when the problem is inside one.
    pub pool: Option<String>,
    /// The pool key, when the problem is in one.
    pub key: Option<String>,
    /// The index in the key's list (`servers`, `ranges`), when it is one item.
    pub item: Option<usize>,
    /// The 1-based line in the YAML text, when it could be found.
    pub line: Option<usize>,
    /// What is wrong.
    pub problem: Problem,
}

impl ConfigError {
    /// A problem with the file as a whole.
    pub fn file(problem: Problem) -> Self {
        ConfigError {
            pool: None,
            key: None,
            item: None,
            line: None,
            problem,
        }
    }

    /// A problem with a pool as a whole.
    pub fn pool(pool: &str, problem: Problem) -> Self {
        ConfigError {
            pool: Some(pool.to_string()),
            ..ConfigError::file(problem)
        }
    }

    /// A problem with one key of a pool.
    pub fn key(pool: &str, key: &str, problem: Problem) -> Self {
        ConfigError {
            key: Some(key.to_string()),
            ..ConfigError::pool(pool, problem)
        }
    }

    /// A problem with one item of a pool key's list.
    pub fn item(pool: &str, key: &str, item: usize, problem: Problem) -> Self {
        ConfigError {
            item: Some(item),
            ..ConfigError::key(pool, key, problem)
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(pool) = &self.pool {
            write!(f, "pool '{pool}': ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "key '{key}': ")?;
        }
        write!(f, "{}", self.problem)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.problem)
    }
}

/// Every problem found in one config, in file order. Never empty.
#[derive(Debug)]
pub struct ConfigErrors {
    /// The file the text came from, when it came from a file.
    pub path: Option<PathBuf>,
    /// The problems.
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// Wraps problems found in text that came from no file.
    pub fn new(mut errors: Vec<ConfigError>) -> Self {
        errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        ConfigErrors { path: None, errors }
    }

    /// Names the file the problems are in.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The number of problems.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Always false: there is at least one problem.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The problems.
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.errors.iter()
    }
}

impl fmt::Display for ConfigErrors {
    /// One problem per line: `[file:]line N: pool 'p': key 'k': problem`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, err) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match (&self.path, err.line) {
                (Some(path), Some(line)) => write!(f, "{}:{line}: ", path.display())?,
                (Some(path), None) => write!(f, "{}: ", path.display())?,
                (None, Some(line)) => write!(f, "line {line}: ")?,
                (None, None) => {}
            }
            write!(f, "{err}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.errors.first().map(|e| e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_on_its_own_line_with_its_location() {
        let mut first = ConfigError::key(
            "alpha",
            "hash",
            Problem::UnknownValue {
                value: "md6".into(),
                expected: "md5, crc16".into(),
            },
        );
        first.line = Some(3);
        let second = ConfigError::pool("beta", Problem::NoServers);
        let errors = ConfigErrors::new(vec![second, first]);
        assert_eq!(
            errors.to_string(),
            "line 3: pool 'alpha': key 'hash': unknown value 'md6' (expected one of md5, crc16)\n\
             pool 'beta': the pool has no servers"
        );
        let errors = errors.with_path("conf/nutcracker.yml");
        assert!(errors
            .to_string()
            .starts_with("conf/nutcracker.yml:3: pool 'alpha'"));
        assert!(errors
            .to_string()
            .ends_with("\nconf/nutcracker.yml: pool 'beta': the pool has no servers"));
    }
}
