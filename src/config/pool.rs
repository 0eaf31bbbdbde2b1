//! One server pool: a listen address, the servers behind it, and how keys find them.
//!
//! Every twemproxy 0.5 pool key is here with twemproxy's default (`src/nc_conf.h`),
//! plus shardcar's own keys (`allow_flush`, `requirepass`, `ranges`, `cache`). The checks
//! that need the whole pool (servers, ranges) live here too, so that a pool built
//! in code is validated exactly like one read from a file.

use std::num::NonZeroU32;
use std::time::Duration;

use super::addr::{Listen, Server, ServerAddr};
use super::cache::CacheConfig;
use super::error::{ConfigError, Problem};
use super::names::{Distribution, Hash, HashTag};
use super::range::Ranges;

/// twemproxy's `listen` backlog default.
pub const DEFAULT_BACKLOG: u32 = 512;
/// twemproxy's delay before an ejected server is tried again.
pub const DEFAULT_SERVER_RETRY_TIMEOUT: Duration = Duration::from_secs(30);
/// twemproxy's count of consecutive failures before a server is ejected.
pub const DEFAULT_SERVER_FAILURE_LIMIT: u32 = 2;
/// The port a pool built in code listens on: twemproxy's usual 22121.
pub const DEFAULT_LISTEN_PORT: u16 = 22121;

/// A pool as the proxy runs it. In a file, each top-level key names one pool.
///
/// The file keys are the field names. `redis` is not a field: shardcar only
/// proxies Redis, so a file must say `redis: true` (twemproxy's default is
/// memcached, which is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// The pool's name: its top-level key, and its label in stats and metrics.
    pub name: String,
    /// `listen`: where clients connect. Required in a file; a pool built in code
    /// defaults to 127.0.0.1:22121.
    pub listen: Listen,
    /// `hash`: the key hash function. Default `fnv1a_64`.
    pub hash: Hash,
    /// `hash_tag`: hash only the part of a key between these two characters.
    /// Default none.
    pub hash_tag: Option<HashTag>,
    /// `distribution`: how a hash picks a server. Default `ketama`.
    pub distribution: Distribution,
    /// `timeout` (ms): how long to wait to connect to a server or for its reply.
    /// Default none: wait forever. `0` also means none, as in twemproxy.
    pub timeout: Option<Duration>,
    /// `backlog`: the listen backlog. Default 512.
    pub backlog: u32,
    /// `preconnect`: connect to every server at start. Default false.
    pub preconnect: bool,
    /// `redis_auth`: the password sent with AUTH to each server on connect; also
    /// the one clients must give when `requirepass` is not set (as in twemproxy).
    /// Default none.
    pub redis_auth: Option<String>,
    /// `redis_db`: the database selected on each server connection; clients still
    /// see database 0. Default 0.
    pub redis_db: u32,
    /// `server_connections`: connections per server. Default 1; 0 is refused.
    pub server_connections: NonZeroU32,
    /// `auto_eject_hosts`: eject a server after `server_failure_limit` consecutive
    /// failures. Default false.
    pub auto_eject_hosts: bool,
    /// `server_retry_timeout` (ms): how long an ejected server stays out.
    /// Default 30000.
    pub server_retry_timeout: Duration,
    /// `server_failure_limit`: consecutive failures that eject a server. Default 2.
    pub server_failure_limit: u32,
    /// `tcpkeepalive`: SO_KEEPALIVE on server connections. Default false.
    pub tcpkeepalive: bool,
    /// `reuseport`: SO_REUSEPORT on the listen socket. Default false.
    pub reuseport: bool,
    /// `client_connections`: the most clients at once; `0` or none means
    /// unlimited. twemproxy documents this key but ignores it. Default unlimited.
    pub client_connections: Option<NonZeroU32>,
    /// `servers`: the backends, in file order (twemproxy sorts them by ketama name
    /// when it builds the ring; that ordering is the router's business).
    pub servers: Vec<Server>,
    /// `allow_flush` (shardcar): let FLUSHALL/FLUSHDB through to every server.
    /// Default false.
    pub allow_flush: bool,
    /// `requirepass` (shardcar): the password clients must AUTH with, separate
    /// from the servers' `redis_auth`. Default none.
    pub requirepass: Option<String>,
    /// `ranges` (shardcar): which server owns which keys; present exactly when
    /// `distribution` is `range`.
    pub ranges: Option<Ranges>,
    /// `cache` (shardcar): SQL caching rules for this pool's keys. Default none.
    pub cache: Option<CacheConfig>,
}

impl Default for Pool {
    fn default() -> Self {
        Pool {
            name: String::new(),
            listen: Listen::Tcp {
                host: "127.0.0.1".to_string(),
                port: DEFAULT_LISTEN_PORT,
            },
            hash: Hash::default(),
            hash_tag: None,
            distribution: Distribution::default(),
            timeout: None,
            backlog: DEFAULT_BACKLOG,
            preconnect: false,
            redis_auth: None,
            redis_db: 0,
            server_connections: NonZeroU32::MIN,
            auto_eject_hosts: false,
            server_retry_timeout: DEFAULT_SERVER_RETRY_TIMEOUT,
            server_failure_limit: DEFAULT_SERVER_FAILURE_LIMIT,
            tcpkeepalive: false,
            reuseport: false,
            client_connections: None,
            servers: Vec::new(),
            allow_flush: false,
            requirepass: None,
            ranges: None,
            cache: None,
        }
    }
}

/// Keys whose values failed to parse, so the checks that depend on them would
/// only repeat the first error in other words.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Damaged {
    pub(crate) servers: bool,
    pub(crate) ranges: bool,
    pub(crate) distribution: bool,
}

impl Pool {
    /// Every problem with the pool as a whole. Sorts hash spans as a side effect.
    /// Errors about one server carry its index in `servers` as `item`.
    pub(crate) fn check(&mut self, damaged: Damaged) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if self.servers.is_empty() && !damaged.servers {
            errors.push(ConfigError::key(&self.name, "servers", Problem::NoServers));
        }
        errors.extend(self.check_servers());
        if !damaged.ranges && !damaged.distribution && !damaged.servers {
            errors.extend(
                self.check_ranges()
                    .into_iter()
                    .map(|problem| ConfigError::key(&self.name, "ranges", Problem::Range(problem))),
            );
        }
        errors
    }

    fn check_servers(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        for (i, server) in self.servers.iter().enumerate() {
            let mut problem = None;
            if server.weight == 0 {
                problem = Some(Problem::ZeroWeight {
                    server: server.to_string(),
                });
            } else if server.addr == ServerAddr::Embedded && server.name.is_none() {
                problem = Some(Problem::Invalid {
                    value: server.to_string(),
                    reason: "an embedded server needs a name, as in 'embedded:1 shard-a'".into(),
                });
            } else if let Some((first, what)) = self.earlier_twin(i) {
                problem = Some(Problem::DuplicateServer {
                    server: server.to_string(),
                    first: first.to_string(),
                    what,
                });
            }
            if let Some(problem) = problem {
                errors.push(ConfigError::item(&self.name, "servers", i, problem));
            }
        }
        errors
    }

    /// The first server before `servers[i]` that it duplicates, and in what.
    fn earlier_twin(&self, i: usize) -> Option<(&Server, &'static str)> {
        let server = &self.servers[i];
        self.servers[..i].iter().find_map(|other| {
            if server.name.is_some() && other.name == server.name {
                Some((other, "name"))
            } else if other.addr == server.addr && server.addr != ServerAddr::Embedded {
                Some((other, "address"))
            } else if other.ketama_name() == server.ketama_name() {
                Some((other, "ketama name"))
            } else {
                None
            }
        })
    }

    fn check_ranges(&mut self) -> Vec<String> {
        let is_range = self.distribution == Distribution::Range;
        match &mut self.ranges {
            Some(ranges) if is_range => ranges.check(&self.servers),
            Some(_) => vec![format!(
                "only used with 'distribution: range' (this pool uses '{}')",
                self.distribution
            )],
            None if is_range => vec!["missing: 'distribution: range' needs a 'ranges' list".into()],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(servers: &[&str]) -> Pool {
        Pool {
            name: "p".into(),
            servers: servers.iter().map(|s| Server::parse(s).unwrap()).collect(),
            ..Pool::default()
        }
    }

    fn messages(mut pool: Pool) -> Vec<String> {
        pool.check(Damaged::default())
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn defaults_are_twemproxys() {
        let p = Pool::default();
        assert_eq!(p.hash, Hash::Fnv1a64);
        assert_eq!(p.distribution, Distribution::Ketama);
        assert_eq!(p.timeout, None);
        assert_eq!(p.backlog, 512);
        assert_eq!(p.server_connections.get(), 1);
        assert_eq!(p.server_retry_timeout, Duration::from_millis(30000));
        assert_eq!(p.server_failure_limit, 2);
        assert_eq!(p.redis_db, 0);
        assert_eq!(p.client_connections, None);
        assert!(!(p.preconnect || p.auto_eject_hosts || p.tcpkeepalive || p.reuseport));
        assert!(!p.allow_flush && p.requirepass.is_none() && p.redis_auth.is_none());
    }

    #[test]
    fn a_sound_pool_has_no_problems() {
        assert!(messages(pool(&["10.0.0.1:6379:1 a", "10.0.0.2:6379:1 b"])).is_empty());
    }

    #[test]
    fn server_problems() {
        let cases: &[(&[&str], &str)] = &[
            (&[], "pool 'p': key 'servers': the pool has no servers"),
            (
                &["10.0.0.1:6379:0"],
                "server '10.0.0.1:6379:0' has a zero weight",
            ),
            (
                &["10.0.0.1:6379:1 a", "10.0.0.2:6379:1 a"],
                "server '10.0.0.2:6379:1 a' has the same name as server '10.0.0.1:6379:1 a'",
            ),
            (
                &["10.0.0.1:6379:1 a", "10.0.0.1:6379:2 b"],
                "has the same address as server '10.0.0.1:6379:1 a'",
            ),
            (
                &["10.0.0.1:6379:1", "10.0.0.2:6379:1 10.0.0.1:6379"],
                "has the same ketama name as server '10.0.0.1:6379:1'",
            ),
        ];
        for (servers, expected) in cases {
            let got = messages(pool(servers));
            assert!(
                got.iter().any(|m| m.contains(expected)),
                "{servers:?}: {got:?}"
            );
        }
    }

    #[test]
    fn range_distribution_needs_ranges_and_only_it() {
        let mut p = pool(&["10.0.0.1:6379:1 a"]);
        p.distribution = Distribution::Range;
        assert!(messages(p.clone())[0].contains("needs a 'ranges' list"));
        p.ranges = Some(Ranges::Prefix(Vec::new()));
        p.distribution = Distribution::Modula;
        assert!(messages(p)[0].contains("this pool uses 'modula'"));
    }
}
