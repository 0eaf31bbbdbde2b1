//! The routing state, and how a reload replaces it.
//!
//! Every pool snapshot in service is in one [`Routing`] value behind one
//! `ArcSwap`: a reload builds the next value whole and stores it once. Sessions
//! compare its generation with theirs on each request (one atomic load) and move
//! to their pool's new snapshot between two requests; what they sent before
//! finishes on the snapshot it was sent on. See the session's module doc for how
//! a client moves (its pipelined replies are awaited first, so its commands stay
//! in order across the move).
//!
//! What a reload may change, and how:
//! - servers added, removed, re-weighted, renamed or moved; `hash`,
//!   `distribution`, `hash_tag`, `ranges`: a new ring. A server kept (same name,
//!   address and connection settings) keeps its connections, health and
//!   counters; one whose `redis_auth`, `redis_db`, `timeout`, `tcpkeepalive` or
//!   `server_connections` changed gets new connections. Connections no snapshot
//!   uses any more close once their last request is answered.
//! - `timeout`, `auto_eject_hosts`, failure limits, `requirepass`,
//!   `allow_flush`: from the next request on (a client already authenticated
//!   stays so).
//! - a new pool: its listener is bound and its cache started before anything
//!   is swapped; a removed pool: its listener closes and its clients are drained
//!   as on shutdown (bounded by the drain deadline), then its cache stops.
//! - `listen` of a pool: the new address is bound, the old listener closes; the
//!   pool's open connections stay. An address cannot move between two pools in
//!   one reload (the old listener still holds it): do it in two.
//!
//! Refused, with an error naming the pool (the old configuration stays whole):
//! a changed `cache:` section of a pool that stays (its write-back journal and
//! flushers belong to the running cache; restart to change it), and anything
//! that fails to bind or start. `backlog` and `reuseport` of an unchanged
//! address are set when the socket is bound, so they apply at the next restart
//! (logged). A renamed pool is a removed pool plus a new one.

use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::pool::Pool;
use super::stats::ProcessStats;
use super::{accept_loop, bind, Listener};
use crate::config::{self, Config};

/// The pools in service: one immutable snapshot, replaced whole on reload.
#[derive(Debug, Default)]
pub struct Routing {
    /// Bumped by each reload.
    pub generation: u64,
    /// The pools, in configuration order.
    pub pools: Vec<Arc<Pool>>,
}

impl Routing {
    /// The pool of that name.
    pub fn pool(&self, name: &str) -> Option<&Arc<Pool>> {
        self.pools.iter().find(|p| p.cfg.name == name)
    }
}

/// The routing state shared by the proxy's listeners and sessions.
pub type Table = Arc<ArcSwap<Routing>>;

/// A configuration to swap in, and where to say how it went.
#[derive(Debug)]
pub struct Reload {
    /// The new configuration, validated, embedded servers resolved.
    pub config: Config,
    /// The changes made, or why nothing was.
    pub done: oneshot::Sender<Result<Changes, String>>,
}

/// What every accept loop of a proxy shares.
#[derive(Debug, Clone)]
pub(super) struct Shared {
    pub(super) routing: Table,
    pub(super) process: Arc<ProcessStats>,
    pub(super) ids: Arc<AtomicU64>,
}

/// A running proxy's listeners and routing state, changed by [`Serving::apply`].
#[derive(Debug)]
pub(super) struct Serving {
    pub(super) shared: Shared,
    /// Each pool's accept loop, by pool name.
    accepting: HashMap<String, JoinHandle<()>>,
    /// Removed pools being drained.
    retiring: Vec<JoinHandle<()>>,
    drain_timeout: Duration,
    slow_request: Option<Duration>,
}

impl Serving {
    /// Starts accepting on every listener.
    pub(super) fn start(
        listeners: Vec<(Listener, Arc<Pool>)>,
        drain_timeout: Duration,
        slow_request: Option<Duration>,
    ) -> Serving {
        let pools = listeners.iter().map(|(_, p)| Arc::clone(p)).collect();
        let routing = Routing {
            generation: 0,
            pools,
        };
        let mut serving = Serving {
            shared: Shared {
                routing: Arc::new(ArcSwap::from_pointee(routing)),
                process: Arc::new(ProcessStats::default()),
                ids: Arc::new(AtomicU64::new(0)),
            },
            accepting: HashMap::new(),
            retiring: Vec::new(),
            drain_timeout,
            slow_request,
        };
        for (listener, pool) in listeners {
            serving.accept(listener, &pool);
        }
        serving
    }

    fn accept(&mut self, listener: Listener, pool: &Pool) {
        pool.metrics.set_slow_threshold(self.slow_request);
        let name = pool.cfg.name.clone();
        let task = tokio::spawn(accept_loop(listener, name.clone(), self.shared.clone()));
        if let Some(old) = self.accepting.insert(name, task) {
            old.abort(); // the listener closes with its task
        }
    }

    /// Swaps `cfg` in, or changes nothing and says why.
    pub(super) async fn apply(&mut self, cfg: Config) -> Result<Changes, String> {
        let current = self.shared.routing.load_full();
        refuse_cache_changes(&current, &cfg)?;
        let mut bound = bind_new_listeners(&current, &cfg).await?;
        let pools = build_pools(&current, cfg).await?;
        let changes = Changes::between(&current, &pools);
        self.shared.routing.store(Arc::new(Routing {
            generation: current.generation + 1,
            pools: pools.clone(),
        }));
        for pool in &pools {
            if let Some(listener) = bound.remove(&pool.cfg.name) {
                self.accept(listener, pool);
            }
        }
        for old in &current.pools {
            if !pools.iter().any(|p| p.cfg.name == old.cfg.name) {
                self.retire(Arc::clone(old));
            }
        }
        Ok(changes)
    }

    /// Stops accepting for a removed pool, drains its clients, stops its cache.
    fn retire(&mut self, pool: Arc<Pool>) {
        if let Some(task) = self.accepting.remove(&pool.cfg.name) {
            task.abort();
        }
        pool.start_draining();
        let deadline = self.drain_timeout;
        self.retiring.push(tokio::spawn(async move {
            let cut = pool.clients.drain(deadline).await;
            if cut > 0 {
                tracing::warn!(pool = %pool.cfg.name, clients = cut, "removed pool: drain deadline hit, closed client connections with requests in flight");
            }
            if let Some(cache) = &pool.cache {
                cache.shutdown().await;
            }
        }));
    }

    /// Stops every accept loop; waits until they are gone, so their listeners
    /// are closed.
    pub(super) async fn stop_accepting(&mut self) {
        for (_, task) in self.accepting.drain() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Waits for removed pools still draining.
    pub(super) async fn join_retiring(&mut self) {
        for task in self.retiring.drain(..) {
            let _ = task.await;
        }
    }
}

fn refuse_cache_changes(current: &Routing, cfg: &Config) -> Result<(), String> {
    let changed: Vec<String> = cfg
        .pools
        .iter()
        .filter(|new| current.pool(&new.name).is_some_and(|old| old.cfg.cache != new.cache))
        .map(|new| format!("pool '{}': its cache section changed; a running cache cannot be replaced on reload (its write-back journal is in use), restart to change it", new.name))
        .collect();
    if changed.is_empty() {
        Ok(())
    } else {
        Err(changed.join("; "))
    }
}

/// Binds the listeners of new pools and of pools whose `listen` changed. On
/// error the ones bound so far are closed again (dropped).
async fn bind_new_listeners(
    current: &Routing,
    cfg: &Config,
) -> Result<HashMap<String, Listener>, String> {
    let mut bound = HashMap::new();
    for new in &cfg.pools {
        let old = current.pool(&new.name).map(|p| &p.cfg);
        if let Some(old) = old.filter(|old| old.listen == new.listen) {
            if (old.backlog, old.reuseport) != (new.backlog, new.reuseport) {
                tracing::warn!(pool = %new.name, "backlog and reuseport apply when the address is bound: at the next restart, or with a new listen address");
            }
            continue;
        }
        let listener = bind(new).await.map_err(|err| {
            format!(
                "pool '{}': cannot listen on {}: {err}",
                new.name, new.listen
            )
        })?;
        bound.insert(new.name.clone(), listener);
    }
    Ok(bound)
}

/// The next snapshot of each pool: built on the current one if the pool stays,
/// started (with its cache) if it is new.
async fn build_pools(current: &Routing, cfg: Config) -> Result<Vec<Arc<Pool>>, String> {
    let mut pools = Vec::with_capacity(cfg.pools.len());
    for new in cfg.pools {
        let pool = match current.pool(&new.name) {
            Some(old) => old.next(new),
            None => start_pool(new, &pools).await?,
        };
        pools.push(Arc::new(pool));
    }
    Ok(pools)
}

/// Starts a new pool; on failure stops the caches of the pools started before
/// it in this reload.
async fn start_pool(cfg: config::Pool, started: &[Arc<Pool>]) -> Result<Pool, String> {
    let name = cfg.name.clone();
    match Pool::start(cfg).await {
        Ok(pool) => Ok(pool),
        Err(err) => {
            for cache in started.iter().filter_map(|p| p.cache.as_ref()) {
                if Arc::strong_count(cache) == 1 {
                    cache.shutdown().await;
                }
            }
            Err(format!("pool '{name}': {err}"))
        }
    }
}

/// What a reload changed, for its log line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Pools added.
    pub pools_added: Vec<String>,
    /// Pools removed.
    pub pools_removed: Vec<String>,
    /// `pool/server` added.
    pub servers_added: Vec<String>,
    /// `pool/server` removed.
    pub servers_removed: Vec<String>,
    /// `pool/server old→new`.
    pub servers_reweighted: Vec<String>,
    /// Pools with other changes (keys, addresses, listen).
    pub pools_changed: Vec<String>,
}

impl Changes {
    fn between(old: &Routing, new: &[Arc<Pool>]) -> Changes {
        let mut changes = Changes::default();
        for pool in new {
            let Some(before) = old.pool(&pool.cfg.name) else {
                changes.pools_added.push(pool.cfg.name.clone());
                continue;
            };
            changes.servers(before, pool);
        }
        for pool in &old.pools {
            if !new.iter().any(|p| p.cfg.name == pool.cfg.name) {
                changes.pools_removed.push(pool.cfg.name.clone());
            }
        }
        changes
    }

    fn servers(&mut self, before: &Pool, after: &Pool) {
        let name = &after.cfg.name;
        let weights = |pool: &Pool| -> HashMap<String, u32> {
            pool.servers
                .iter()
                .map(|s| (s.name.clone(), s.weight))
                .collect()
        };
        let (old, new) = (weights(before), weights(after));
        for (server, weight) in &new {
            match old.get(server) {
                None => self.servers_added.push(format!("{name}/{server}")),
                Some(w) if w != weight => self
                    .servers_reweighted
                    .push(format!("{name}/{server} {w}->{weight}")),
                Some(_) => {}
            }
        }
        for server in old.keys().filter(|s| !new.contains_key(*s)) {
            self.servers_removed.push(format!("{name}/{server}"));
        }
        let addr = |pool: &Pool, server: &str| {
            let found = pool.servers.iter().find(|s| s.name == server);
            found.map(|s| s.addr.clone())
        };
        let moved = new
            .keys()
            .any(|s| old.contains_key(s) && addr(before, s) != addr(after, s));
        let mut rest = (before.cfg.clone(), after.cfg.clone());
        rest.0.servers.clear();
        rest.1.servers.clear();
        if moved || rest.0 != rest.1 {
            self.pools_changed.push(name.clone());
        }
    }

    /// True when the reload changed nothing.
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("no changes");
        }
        let parts = [
            ("pools added", &self.pools_added),
            ("pools removed", &self.pools_removed),
            ("servers added", &self.servers_added),
            ("servers removed", &self.servers_removed),
            ("servers re-weighted", &self.servers_reweighted),
            ("pools changed", &self.pools_changed),
        ];
        let mut first = true;
        for (what, list) in parts.iter().filter(|(_, l)| !l.is_empty()) {
            let mut list = list.to_vec();
            list.sort();
            write!(
                f,
                "{}{what}: {}",
                if first { "" } else { "; " },
                list.join(", ")
            )?;
            first = false;
        }
        Ok(())
    }
}

/// The sessions' side: load the routing state once per request and tell
/// whether the client's pool has a newer snapshot.
pub(super) fn newer(routing: &Table, generation: &mut u64, pool: &Arc<Pool>) -> Option<Arc<Pool>> {
    let now = routing.load();
    if now.generation == *generation {
        return None;
    }
    match now.pool(&pool.cfg.name) {
        Some(next) if !Arc::ptr_eq(next, pool) => Some(Arc::clone(next)),
        // Unchanged, or removed (the client is being drained on its snapshot).
        _ => {
            *generation = now.generation;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing(yaml: &str, generation: u64) -> Routing {
        let pools = Config::from_yaml(yaml)
            .unwrap()
            .pools
            .into_iter()
            .map(|p| Arc::new(Pool::new(p)))
            .collect();
        Routing { generation, pools }
    }

    const BEFORE: &str = "a:\n  listen: 127.0.0.1:1\n  redis: true\n  servers:\n    - 127.0.0.1:7001:1 s1\n    - 127.0.0.1:7002:1 s2\nb:\n  listen: 127.0.0.1:2\n  redis: true\n  servers:\n    - 127.0.0.1:7003:1\n";

    #[test]
    fn changes_name_pools_and_servers() {
        let old = routing(BEFORE, 0);
        let after = "a:\n  listen: 127.0.0.1:1\n  redis: true\n  servers:\n    - 127.0.0.1:7001:3 s1\n    - 127.0.0.1:7004:1 s4\nc:\n  listen: 127.0.0.1:3\n  redis: true\n  servers:\n    - 127.0.0.1:7003:1\n";
        let new: Vec<Arc<Pool>> = Config::from_yaml(after)
            .unwrap()
            .pools
            .into_iter()
            .map(|p| match old.pool(&p.name) {
                Some(o) => Arc::new(o.next(p)),
                None => Arc::new(Pool::new(p)),
            })
            .collect();
        let changes = Changes::between(&old, &new);
        assert_eq!(
            changes.to_string(),
            "pools added: c; pools removed: b; servers added: a/s4; servers removed: a/s2; servers re-weighted: a/s1 1->3"
        );
        // s1 stays: the same connections and health, a new weight.
        let (s1_old, s1_new) = (&old.pools[0].servers[0], &new[0].servers[0]);
        assert!(std::ptr::eq(s1_old.link(0), s1_new.link(0)));
        assert_eq!(s1_new.weight, 3);
        assert!(Arc::ptr_eq(&old.pools[0].stats, &new[0].stats));
        assert!(Changes::between(&old, &old.pools).is_empty());
    }

    #[test]
    fn the_ejected_gauge_survives_a_reload_and_clears_for_a_removed_server() {
        use crate::telemetry::testing::{snapshot, value, with_recorder, V};
        use crate::telemetry::PROXY_SERVER_EJECTED;
        let ejecting = BEFORE.replace(
            "redis: true\n  servers:\n    - 127.0.0.1:7001",
            "redis: true\n  auto_eject_hosts: true\n  server_failure_limit: 1\n  servers:\n    - 127.0.0.1:7001",
        );
        let ejected = |snap: &[_], server| value(snap, PROXY_SERVER_EJECTED, &[("server", server)]);
        let (kept, snapshotter) = with_recorder(|| {
            let old = routing(&ejecting, 0);
            old.pools[0].record_failure(0);
            old.pools[0].record_failure(1);
            let mut cfg = Config::from_yaml(&ejecting).unwrap().pools.remove(0);
            cfg.servers.truncate(1);
            old.pools[0].next(cfg)
        });
        let snap = snapshot(&snapshotter);
        assert!(kept.servers[0].is_ejected());
        assert_eq!(ejected(&snap, "s1"), V::G(1.0), "s1 is still ejected");
        assert_eq!(ejected(&snap, "s2"), V::G(0.0), "s2 is gone");
    }

    #[test]
    fn a_changed_connection_setting_means_new_connections() {
        let old = routing(BEFORE, 0);
        let cfg = Config::from_yaml(&BEFORE.replace(
            "redis: true\n  servers:\n    - 127.0.0.1:7001",
            "redis: true\n  redis_db: 2\n  servers:\n    - 127.0.0.1:7001",
        ))
        .unwrap();
        let next = old.pools[0].next(cfg.pools[0].clone());
        assert!(!std::ptr::eq(
            old.pools[0].servers[0].link(0),
            next.servers[0].link(0)
        ));
    }

    #[test]
    fn a_changed_cache_section_is_refused_naming_the_pool() {
        let old = routing(BEFORE, 0);
        let mut cfg = Config::from_yaml(BEFORE).unwrap();
        let cached = Config::from_yaml(include_str!("../../config/shardcar.yml")).unwrap();
        cfg.pools[1].cache = cached.pools.iter().find_map(|p| p.cache.clone());
        assert!(
            cfg.pools[1].cache.is_some(),
            "the example has a cache section"
        );
        let err = refuse_cache_changes(&old, &cfg).unwrap_err();
        assert!(
            err.starts_with("pool 'b': its cache section changed"),
            "{err}"
        );
        assert!(refuse_cache_changes(&old, &Config::from_yaml(BEFORE).unwrap()).is_ok());
    }

    #[test]
    fn sessions_see_a_newer_snapshot_of_their_pool_once() {
        let table: Table = Arc::new(ArcSwap::from_pointee(routing(BEFORE, 0)));
        let pool = Arc::clone(&table.load().pools[0]);
        let mut generation = 0;
        assert!(newer(&table, &mut generation, &pool).is_none());
        let next = Arc::new(pool.next(pool.cfg.clone()));
        table.store(Arc::new(Routing {
            generation: 1,
            pools: vec![Arc::clone(&next)],
        }));
        assert!(Arc::ptr_eq(
            &newer(&table, &mut generation, &pool).unwrap(),
            &next
        ));
        assert!(newer(&table, &mut generation, &next).is_none());
        assert_eq!(generation, 1);
    }
}
