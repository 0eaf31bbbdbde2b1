//! The sharding proxy: twemproxy-compatible key routing over backend pools.
//!
//! - [`hash`]: the twelve key hash functions and hash-tag extraction.
//! - [`ring`]: the pure key-hash → server map (ketama, modula, random).
//! - [`pool`]: a pool at run time — servers, connections, health, the live ring.
//! - [`backend`]: pipelined, multiplexed connections to one server.
//! - [`connect`]: opening and preparing a server connection.
//! - [`route`]: where a request goes (one server, split per key, every server).
//! - [`merge`]: how the replies of several servers become one.
//! - [`subscriber`]: a subscribed client's own connection to one server.
//! - [`session`]: one client: requests in, replies out in request order.
//! - [`local`]: commands the proxy answers itself.
//! - [`stats`]: twemproxy's counters and stats JSON.
//! - [`drain`]: the open client connections, and the bounded drain on shutdown.
//!
//! [`run_with`] serves until its shutdown input resolves, then stops accepting,
//! reports itself draining (the admin port's `/readyz` answers 503), lets every
//! request already read get its reply within the drain deadline, and closes the
//! connections still open after it with a warning.

pub mod backend;
pub mod connect;
pub mod drain;
pub mod hash;
pub mod local;
pub mod merge;
pub mod pool;
pub mod ring;
pub mod route;
pub mod session;
pub mod stats;
pub mod subscriber;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;

use crate::config::{self, Listen};
use drain::Clients;
use pool::Pool;
use stats::ProcessStats;

/// Binds a pool's `listen` address with its `backlog` and `reuseport`.
///
/// # Errors
/// The address cannot be resolved or bound; unix sockets are not supported yet.
pub async fn bind(cfg: &config::Pool) -> std::io::Result<TcpListener> {
    let Listen::Tcp { host, port } = &cfg.listen else {
        return Err(std::io::Error::other(format!(
            "pool '{}': unix socket listeners are not supported yet",
            cfg.name
        )));
    };
    let addr: SocketAddr = tokio::net::lookup_host((host.as_str(), *port))
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("cannot resolve '{host}'")))?;
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    if cfg.reuseport {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    socket.listen(cfg.backlog)
}

/// How a proxy runs, beyond its pools.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long in-flight requests may take to finish after shutdown begins.
    pub drain_timeout: Duration,
    /// Requests slower than this are logged (None: none).
    pub slow_request: Option<Duration>,
    /// What the admin port reports; the proxy keeps it current.
    pub status: Arc<Status>,
}

/// The default drain deadline (`--drain-timeout`).
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for Options {
    fn default() -> Self {
        Options {
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            slow_request: None,
            status: Arc::new(Status::default()),
        }
    }
}

/// A running proxy's state, as readiness probes see it.
#[derive(Debug, Default)]
pub struct Status {
    /// The pools, set once every listener accepts.
    pools: OnceLock<Vec<Arc<Pool>>>,
    /// Shutdown has begun.
    draining: AtomicBool,
}

impl Status {
    /// The pools being served (empty until the listeners accept).
    pub fn pools(&self) -> &[Arc<Pool>] {
        self.pools.get().map_or(&[], Vec::as_slice)
    }

    /// True once shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Ok when the proxy should get traffic: listening, not draining, and every
    /// pool has a live server.
    ///
    /// # Errors
    /// Why not, in words for the probe's body.
    pub fn readiness(&self) -> Result<(), String> {
        if self.is_draining() {
            return Err("draining: shutting down".into());
        }
        let Some(pools) = self.pools.get() else {
            return Err("starting: listeners not bound yet".into());
        };
        let dead: Vec<String> = pools
            .iter()
            .filter(|pool| pool.live_servers() == 0)
            .map(|pool| {
                format!(
                    "pool '{}' has no live server (all {} ejected)",
                    pool.cfg.name,
                    pool.servers.len()
                )
            })
            .collect();
        if dead.is_empty() {
            Ok(())
        } else {
            Err(dead.join("; "))
        }
    }
}

/// Serves every pool on its listener (and the stats port, if given) until
/// `shutdown` resolves, then drains with the default [`Options`].
///
/// # Errors
/// None yet: failing connections are handled one by one.
pub async fn run(
    listeners: Vec<(TcpListener, config::Pool)>,
    stats_listener: Option<TcpListener>,
    shutdown: impl Future,
) -> crate::Result<()> {
    run_with(listeners, stats_listener, Options::default(), shutdown).await
}

/// Serves every pool on its listener (and the stats port, if given) until
/// `shutdown` resolves; then stops accepting, marks `opts.status` draining, lets
/// the requests already read finish within `opts.drain_timeout`, and closes what
/// is left with a warning.
///
/// Pools with a cache start it first (see [`Pool::start`]): the journal is
/// replayed and flushed before their listener accepts.
///
/// # Errors
/// A pool's cache cannot start.
pub async fn run_with(
    listeners: Vec<(TcpListener, config::Pool)>,
    stats_listener: Option<TcpListener>,
    opts: Options,
    shutdown: impl Future,
) -> crate::Result<()> {
    let mut started = Vec::with_capacity(listeners.len());
    for (listener, cfg) in listeners {
        started.push((listener, Arc::new(Pool::start(cfg).await?)));
    }
    serve_with(started, stats_listener, opts, shutdown).await;
    Ok(())
}

/// [`serve_with`] with the default [`Options`].
pub async fn serve(
    listeners: Vec<(TcpListener, Arc<Pool>)>,
    stats_listener: Option<TcpListener>,
    shutdown: impl Future,
) {
    serve_with(listeners, stats_listener, Options::default(), shutdown).await;
}

/// Serves pools already built, as [`run_with`] does; after the drain, stops
/// their caches (a last flush, bounded; the rest stays journaled).
pub async fn serve_with(
    listeners: Vec<(TcpListener, Arc<Pool>)>,
    stats_listener: Option<TcpListener>,
    opts: Options,
    shutdown: impl Future,
) {
    let process = Arc::new(ProcessStats::default());
    let ids = Arc::new(AtomicU64::new(0));
    let clients = Arc::new(Clients::default());
    let mut pools = Vec::new();
    let mut accepting = Vec::new();
    for (listener, pool) in listeners {
        pool.metrics.set_slow_threshold(opts.slow_request);
        pools.push(Arc::clone(&pool));
        let shared = Shared {
            pool,
            process: Arc::clone(&process),
            ids: Arc::clone(&ids),
            clients: Arc::clone(&clients),
        };
        accepting.push(tokio::spawn(accept_loop(listener, shared)));
    }
    let stats = stats_listener
        .map(|listener| tokio::spawn(stats::serve(listener, Arc::clone(&process), pools.clone())));
    let _ = opts.status.pools.set(pools);
    shutdown.await;
    opts.status.draining.store(true, Ordering::Relaxed);
    for task in accepting {
        task.abort();
        let _ = task.await; // the listener is closed once its task is gone
    }
    for pool in opts.status.pools() {
        pool.start_draining();
    }
    drain(&clients, opts.drain_timeout).await;
    if let Some(stats) = stats {
        stats.abort();
    }
    for cache in opts.status.pools().iter().filter_map(|p| p.cache.as_ref()) {
        cache.shutdown().await;
    }
}

/// The bounded drain: logs what it waited for and whether the deadline was hit.
async fn drain(clients: &Clients, deadline: Duration) {
    let open = clients.len();
    tracing::info!(
        clients = open,
        deadline_ms = deadline.as_millis() as u64,
        "stopped accepting; draining client connections"
    );
    let started = tokio::time::Instant::now();
    match clients.drain(deadline).await {
        0 => tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "drained every client connection"
        ),
        cut => tracing::warn!(
            clients = cut,
            deadline_ms = deadline.as_millis() as u64,
            "drain deadline hit: closed client connections with requests still in flight"
        ),
    }
}

/// What every accept loop of a proxy shares.
struct Shared {
    pool: Arc<Pool>,
    process: Arc<ProcessStats>,
    ids: Arc<AtomicU64>,
    clients: Arc<Clients>,
}

async fn accept_loop(listener: TcpListener, shared: Shared) {
    let Shared {
        pool,
        process,
        ids,
        clients,
    } = shared;
    let mut backoff = Duration::from_millis(1);
    loop {
        let socket = match listener.accept().await {
            Ok((socket, _)) => {
                backoff = Duration::from_millis(1);
                socket
            }
            Err(err) => {
                tracing::error!(pool = %pool.cfg.name, cause = %err, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let id = ids.fetch_add(1, Ordering::Relaxed) + 1;
        stats::incr(&process.total_connections);
        stats::incr(&process.curr_connections);
        stats::incr(&pool.stats.client_connections);
        let registered = clients.open(id);
        let (pool, process) = (Arc::clone(&pool), Arc::clone(&process));
        let task = tokio::spawn(async move {
            let _counted = pool.metrics.client_connected();
            session::serve(
                socket,
                id,
                Arc::clone(&pool),
                Arc::clone(&process),
                &registered,
            )
            .await;
            process.curr_connections.fetch_sub(1, Ordering::Relaxed);
            pool.stats
                .client_connections
                .fetch_sub(1, Ordering::Relaxed);
            drop(registered);
        });
        clients.spawned(id, task.abort_handle());
    }
}
