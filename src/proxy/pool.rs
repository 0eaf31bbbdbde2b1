//! A pool at run time: its servers, their connections and health, and the ring
//! over the live ones.
//!
//! A `Pool` is one snapshot of a pool's configuration, immutable but for health:
//! a reload builds a new one ([`Pool::next`]) and swaps it in with the rest of
//! the routing state (see [`super::reload`]). What must outlive a snapshot is
//! shared with its successor rather than copied: the servers that stay (their
//! connections, health and counters, matched by name, address and connection
//! settings), the pool's counters and metrics, its clients and its cache.
//!
//! The ring is derived state: rebuilt (and swapped whole) when a server is
//! ejected after `server_failure_limit` consecutive failures or re-admitted after
//! `server_retry_timeout`, exactly as twemproxy rebuilds its continuum.

use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::backend::{Endpoint, Link};
use super::drain::Clients;
use super::hash::{hash_tagged_key, HashKind};
use super::ring::{self, Distribution, Ring, ServerSpec};
use super::stats::{PoolStats, ServerStats};
use super::workers;
use crate::config::{self, Ranges, ServerAddr};
use crate::telemetry::proxy::{PoolMetrics, ServerMetrics};

/// One backend server of a pool. Cloned (with another weight) when a reload
/// keeps it: the clone shares its connections, health and counters.
#[derive(Debug, Clone)]
pub struct Server {
    /// Its identity on the ring and in stats: the name, or `host:port`.
    pub name: String,
    /// Where it is.
    pub addr: String,
    /// Its weight.
    pub weight: u32,
    /// `server_connections` shared connections per worker, worker by worker.
    links: Arc<[Link]>,
    /// Consecutive failures and ejection.
    health: Arc<Health>,
    /// twemproxy's per-server counters, shared with its connections.
    pub stats: Arc<ServerStats>,
    /// Prometheus metrics (also held by its connections' endpoint).
    pub metrics: Arc<ServerMetrics>,
}

#[derive(Debug, Default)]
struct Health {
    /// Consecutive failures.
    failures: AtomicU32,
    /// When an ejected server may come back (ms since the epoch; 0 = not ejected).
    ejected_until: AtomicU64,
}

impl Server {
    /// The connection a client uses: always the same one for a given client, so a
    /// client's requests to this server stay in order (twemproxy's read-your-writes
    /// caveat with `server_connections > 1` does not apply).
    /// The connection is one of the caller's worker (see [`workers`]), so the
    /// request and its reply stay on the worker's thread.
    pub fn link(&self, client_id: u64) -> &Link {
        let per_worker = self.links.len() / workers::count();
        let first = workers::current() % workers::count() * per_worker;
        &self.links[first + (client_id % per_worker as u64) as usize]
    }

    /// The connection the SQL cache's own commands take: one per server for
    /// the whole process, not one per worker as [`Server::link`] gives, since
    /// the cache's refills, invalidations and write-back writes come from
    /// every worker and must reach the server in the order they were queued.
    pub fn cache_link(&self) -> &Link {
        &self.links[0]
    }

    /// True while ejected.
    pub fn is_ejected(&self) -> bool {
        self.health.ejected_until.load(Ordering::Relaxed) != 0
    }

    /// Where a private connection (blocking, MULTI, pub/sub) should go.
    pub fn endpoint(&self) -> Endpoint {
        self.links[0].endpoint().clone()
    }

    /// True when a reload may keep this server for `other`: same identity, same
    /// address, same way of connecting. The weight may differ.
    fn same_backend(&self, other: &Server) -> bool {
        let (a, b) = (self.endpoint(), other.endpoint());
        self.name == other.name
            && self.addr == other.addr
            && self.links.len() == other.links.len()
            && (a.auth, a.db, a.connect_timeout, a.keepalive)
                == (b.auth, b.db, b.connect_timeout, b.keepalive)
    }
}

/// A pool's routing state and servers.
#[derive(Debug)]
pub struct Pool {
    /// The pool's configuration.
    pub cfg: config::Pool,
    /// Its servers, in config order.
    pub servers: Vec<Arc<Server>>,
    /// Indices into `servers` in twemproxy's order (identity length, then bytes).
    twemproxy_order: Vec<usize>,
    hash: HashKind,
    distribution: Option<Distribution>,
    ring: ArcSwap<Ring>,
    /// Earliest time an ejected server is due back (ms; u64::MAX = none ejected).
    next_rebuild: AtomicU64,
    /// twemproxy's per-pool counters (kept across reloads).
    pub stats: Arc<PoolStats>,
    /// Prometheus metrics (kept across reloads).
    pub metrics: Arc<PoolMetrics>,
    /// Index for RANDOMKEY-style picks.
    round_robin: AtomicUsize,
    /// The pool's SQL cache, when its config has a `cache:` section.
    pub cache: Option<Arc<crate::cache::Cache>>,
    /// The pool's open client connections (kept across reloads).
    pub clients: Arc<Clients>,
    /// The pool is shutting down (or was removed by a reload): sessions finish
    /// what they have read.
    draining: Arc<AtomicBool>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Pool {
    /// Builds the run-time pool from its validated configuration.
    pub fn new(cfg: config::Pool) -> Pool {
        let servers = cfg
            .servers
            .iter()
            .map(|s| Arc::new(server(&cfg, s)))
            .collect();
        Pool::assemble(cfg, servers, None)
    }

    /// The snapshot that follows this one for `cfg` (a reload of the same pool):
    /// servers that stay keep their connections, health and counters; the
    /// pool keeps its counters, metrics, clients and cache (a changed cache is
    /// refused before this, see [`super::reload`]).
    pub fn next(&self, cfg: config::Pool) -> Pool {
        let servers = cfg
            .servers
            .iter()
            .map(|line| {
                let fresh = server(&cfg, line);
                match self.servers.iter().find(|old| old.same_backend(&fresh)) {
                    Some(old) => Arc::new(Server {
                        weight: fresh.weight,
                        ..Server::clone(old)
                    }),
                    None => Arc::new(fresh),
                }
            })
            .collect::<Vec<_>>();
        for old in &self.servers {
            if !servers
                .iter()
                .any(|s| Arc::ptr_eq(&s.metrics, &old.metrics))
            {
                old.metrics.show_ejected(false);
            }
        }
        Pool {
            cache: self.cache.clone(),
            ..Pool::assemble(cfg, servers, Some(self))
        }
    }

    fn assemble(cfg: config::Pool, servers: Vec<Arc<Server>>, previous: Option<&Pool>) -> Pool {
        for server in &servers {
            server.metrics.show_ejected(server.is_ejected());
        }
        let hash: HashKind = cfg.hash.name().parse().unwrap_or(HashKind::Fnv1a64);
        let distribution = cfg.distribution.name().parse::<Distribution>().ok();
        let ring = build_ring(distribution, &servers);
        let twemproxy_order = ring::twemproxy_order(&specs(&servers))
            .into_iter()
            .map(|i| i as usize)
            .collect();
        let next_rebuild = servers
            .iter()
            .map(|s| s.health.ejected_until.load(Ordering::Relaxed))
            .filter(|&until| until != 0)
            .min()
            .unwrap_or(u64::MAX);
        Pool {
            twemproxy_order,
            hash,
            distribution,
            ring: ArcSwap::from_pointee(ring),
            servers,
            next_rebuild: AtomicU64::new(next_rebuild),
            stats: previous.map_or_else(Default::default, |p| Arc::clone(&p.stats)),
            metrics: previous.map_or_else(
                || Arc::new(PoolMetrics::new(&cfg.name)),
                |p| Arc::clone(&p.metrics),
            ),
            round_robin: AtomicUsize::new(0),
            cache: None,
            clients: previous.map_or_else(Default::default, |p| Arc::clone(&p.clients)),
            draining: previous.map_or_else(Default::default, |p| Arc::clone(&p.draining)),
            cfg,
        }
    }

    /// Builds the run-time pool and starts its cache, if it has one: the
    /// journal is replayed and flushed before this returns.
    ///
    /// # Errors
    /// The cache cannot start (database, rules, journal).
    pub async fn start(cfg: config::Pool) -> crate::Result<Pool> {
        let cache = match &cfg.cache {
            Some(cache_cfg) => {
                let cache = Arc::new(crate::cache::Cache::start(&cfg.name, cache_cfg).await?);
                cache.spawn_flushers();
                Some(cache)
            }
            None => None,
        };
        Ok(Pool {
            cache,
            ..Pool::new(cfg)
        })
    }

    /// The server that owns `key`, or None when no server is live.
    pub fn server_for(&self, key: &[u8]) -> Option<usize> {
        if self.servers.len() == 1 {
            return Some(0); // twemproxy: one server is used without hashing, even ejected
        }
        self.readmit_due();
        let tag = self.cfg.hash_tag.map(|t| [t.open(), t.close()]);
        let key = hash_tagged_key(key, tag);
        let hash = self.hash.dispatch_hash(key);
        match (&self.cfg.ranges, self.distribution) {
            (Some(ranges), _) => self.range_server(ranges, key, hash),
            (None, Some(_)) => self.ring.load().server_for(hash),
            (None, None) => None,
        }
    }

    fn range_server(&self, ranges: &Ranges, key: &[u8], hash: u32) -> Option<usize> {
        ranges
            .server_for(key, hash)
            .filter(|&i| !self.servers[i].is_ejected())
    }

    /// A live server chosen in turn (RANDOMKEY and other keyless commands).
    pub fn any_server(&self) -> Option<usize> {
        self.readmit_due();
        let n = self.servers.len();
        let start = self.round_robin.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|i| (start + i) % n)
            .find(|&i| !self.servers[i].is_ejected())
    }

    /// Records a successful reply from server `index`.
    pub fn record_success(&self, index: usize) {
        self.servers[index]
            .health
            .failures
            .store(0, Ordering::Relaxed);
    }

    /// Records a failure of server `index`; ejects it when the pool says so.
    pub fn record_failure(&self, index: usize) {
        let server = &self.servers[index];
        let failures = server.health.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if !self.cfg.auto_eject_hosts || failures < self.cfg.server_failure_limit {
            return;
        }
        let until = server.health.ejected_until.load(Ordering::Relaxed);
        if until != 0 {
            // Ejected through another snapshot of the pool (a reload came in
            // between): this one's ring must learn it too.
            self.next_rebuild.fetch_min(until, Ordering::Relaxed);
            return self.rebuild();
        }
        let until = now_ms() + self.cfg.server_retry_timeout.as_millis() as u64;
        server.health.ejected_until.store(until, Ordering::Relaxed);
        server
            .stats
            .server_ejected_at
            .store(now_ms() * 1000, Ordering::Relaxed);
        self.stats.server_ejects.fetch_add(1, Ordering::Relaxed);
        self.next_rebuild.fetch_min(until, Ordering::Relaxed);
        server
            .metrics
            .ejected(failures, self.cfg.server_retry_timeout);
        self.rebuild();
    }

    /// Puts back servers whose retry time has come, as twemproxy does on the next
    /// request after `next_rebuild`.
    fn readmit_due(&self) {
        let due = self.next_rebuild.load(Ordering::Relaxed);
        let now = now_ms();
        if due > now {
            return;
        }
        let mut next = u64::MAX;
        for server in &self.servers {
            let until = server.health.ejected_until.load(Ordering::Relaxed);
            if until != 0 && until <= now {
                server.health.ejected_until.store(0, Ordering::Relaxed);
                server.health.failures.store(0, Ordering::Relaxed);
                server.metrics.readmitted();
            } else if until != 0 {
                next = next.min(until);
            }
        }
        self.next_rebuild.store(next, Ordering::Relaxed);
        self.rebuild();
    }

    fn rebuild(&self) {
        self.ring
            .store(Arc::new(build_ring(self.distribution, &self.servers)));
    }

    /// The servers in twemproxy's order, the order its stats list them in.
    pub fn servers_in_twemproxy_order(&self) -> impl Iterator<Item = &Server> {
        self.twemproxy_order.iter().map(|&i| &*self.servers[i])
    }

    /// Servers in the ring now; servers whose retry time has come count as live
    /// (they are re-admitted here, as a request would).
    pub fn live_servers(&self) -> usize {
        self.readmit_due();
        self.servers.iter().filter(|s| !s.is_ejected()).count()
    }

    /// Marks the pool as shutting down (before its clients are told).
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// True once shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// What a session that ends keeps until its last reply is written: its
    /// private connections while the pool drains (their requests are in flight),
    /// nothing otherwise (the client left: its blocked requests are dropped).
    pub fn lingering<T: Default>(&self, private: T) -> T {
        if self.is_draining() {
            private
        } else {
            T::default()
        }
    }

    /// The pool's request timeout, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.cfg.timeout
    }
}

fn specs(servers: &[Arc<Server>]) -> Vec<ServerSpec<'_>> {
    servers
        .iter()
        .map(|s| ServerSpec {
            name: &s.name,
            weight: s.weight,
        })
        .collect()
}

fn build_ring(distribution: Option<Distribution>, servers: &[Arc<Server>]) -> Ring {
    Ring::with_live(
        distribution.unwrap_or(Distribution::Ketama),
        &specs(servers),
        |i| !servers[i].is_ejected(),
    )
}

fn server(cfg: &config::Pool, server: &config::Server) -> Server {
    let addr = match &server.addr {
        ServerAddr::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
        ServerAddr::Tcp { host, port } => format!("{host}:{port}"),
        ServerAddr::Unix { path } => path.display().to_string(),
        // Replaced by the engine's address when the process starts its shards.
        ServerAddr::Embedded => server.addr.to_string(),
    };
    let stats = Arc::new(ServerStats::default());
    let name = server.ketama_name();
    let metrics = Arc::new(ServerMetrics::new(&cfg.name, &name));
    let endpoint = Endpoint {
        stats: Arc::clone(&stats),
        metrics: Arc::clone(&metrics),
        addr: addr.clone(),
        auth: cfg.redis_auth.clone(),
        db: cfg.redis_db,
        connect_timeout: cfg.timeout,
        keepalive: cfg.tcpkeepalive,
    };
    let links = (0..cfg.server_connections.get() as usize * workers::count())
        .map(|_| Link::new(endpoint.clone()))
        .collect();
    Server {
        name,
        addr,
        weight: server.weight,
        links,
        health: Arc::default(),
        stats,
        metrics,
    }
}
