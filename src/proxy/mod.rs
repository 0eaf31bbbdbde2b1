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
//! - [`stream`]: TCP or unix socket connections and listeners.
//! - [`reload`]: the routing state behind one `ArcSwap`, and hot reload.
//! - [`workers`]: the threads that serve connections, one event loop per core.
//!
//! [`run_with`] serves until its shutdown input resolves, then stops accepting,
//! reports itself draining (the admin port's `/readyz` answers 503), lets every
//! request already read get its reply within the drain deadline, and closes the
//! connections still open after it with a warning. Given a stream of
//! [`Reload`]s ([`serve_reloading`]), it swaps each new configuration in while
//! it serves.

pub mod backend;
pub mod connect;
pub mod drain;
pub mod hash;
pub mod local;
pub mod merge;
pub mod pool;
pub mod reload;
pub mod ring;
pub mod route;
pub mod session;
pub mod stats;
pub mod stream;
pub mod subscriber;
pub mod workers;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub use reload::{Changes, Reload};
pub use stream::Listener;

use crate::config::{self, Listen};
use pool::Pool;
use reload::{Serving, Shared, Table};

/// Binds a pool's `listen` address: TCP with its `backlog` and `reuseport`, or
/// a unix socket with its permissions.
///
/// # Errors
/// The address cannot be resolved or bound.
pub async fn bind(cfg: &config::Pool) -> std::io::Result<Listener> {
    let (host, port) = match &cfg.listen {
        Listen::Tcp { host, port } => (host, *port),
        Listen::Unix { path, mode } => return Listener::bind_unix(path, *mode).await,
    };
    let addr: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
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
    socket.listen(cfg.backlog).map(Listener::Tcp)
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
    /// The routing state, set once every listener accepts.
    routing: OnceLock<Table>,
    /// Shutdown has begun.
    draining: AtomicBool,
}

impl Status {
    /// The pools being served now (empty until the listeners accept).
    pub fn pools(&self) -> Vec<Arc<Pool>> {
        self.routing
            .get()
            .map_or_else(Vec::new, |routing| routing.load().pools.clone())
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
        if self.routing.get().is_none() {
            return Err("starting: listeners not bound yet".into());
        }
        let dead: Vec<String> = self
            .pools()
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
    listeners: Vec<(Listener, config::Pool)>,
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
    listeners: Vec<(Listener, config::Pool)>,
    stats_listener: Option<TcpListener>,
    opts: Options,
    shutdown: impl Future,
) -> crate::Result<()> {
    let started = start_pools(listeners).await?;
    serve_with(started, stats_listener, opts, shutdown).await;
    Ok(())
}

/// Builds the run-time pools, starting their caches.
///
/// # Errors
/// A pool's cache cannot start.
pub async fn start_pools(
    listeners: Vec<(Listener, config::Pool)>,
) -> crate::Result<Vec<(Listener, Arc<Pool>)>> {
    let mut started = Vec::with_capacity(listeners.len());
    for (listener, cfg) in listeners {
        started.push((listener, Arc::new(Pool::start(cfg).await?)));
    }
    Ok(started)
}

/// [`serve_with`] with the default [`Options`].
pub async fn serve(
    listeners: Vec<(Listener, Arc<Pool>)>,
    stats_listener: Option<TcpListener>,
    shutdown: impl Future,
) {
    serve_with(listeners, stats_listener, Options::default(), shutdown).await;
}

/// Serves pools already built, as [`run_with`] does; after the drain, stops
/// their caches (a last flush, bounded; the rest stays journaled).
pub async fn serve_with(
    listeners: Vec<(Listener, Arc<Pool>)>,
    stats_listener: Option<TcpListener>,
    opts: Options,
    shutdown: impl Future,
) {
    let (_none, reloads) = mpsc::channel(1);
    serve_reloading(listeners, stats_listener, opts, reloads, shutdown).await;
}

/// [`serve_with`], swapping in each configuration `reloads` brings (see
/// [`reload`]) and logging what changed, or why a configuration was refused.
pub async fn serve_reloading(
    listeners: Vec<(Listener, Arc<Pool>)>,
    stats_listener: Option<TcpListener>,
    opts: Options,
    mut reloads: mpsc::Receiver<Reload>,
    shutdown: impl Future,
) {
    let mut serving = Serving::start(listeners, opts.drain_timeout, opts.slow_request);
    let routing = Arc::clone(&serving.shared.routing);
    let process = Arc::clone(&serving.shared.process);
    let stats = stats_listener
        .map(|listener| tokio::spawn(stats::serve(listener, process, Arc::clone(&routing))));
    let _ = opts.status.routing.set(Arc::clone(&routing));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(reload) = reloads.recv() => {
                let outcome = serving.apply(reload.config).await;
                match &outcome {
                    Ok(changes) => tracing::info!(generation = routing.load().generation, %changes, "configuration reloaded"),
                    Err(error) => tracing::error!(%error, "configuration reload refused; the running configuration stays"),
                }
                let _ = reload.done.send(outcome);
            }
        }
    }
    opts.status.draining.store(true, Ordering::Relaxed);
    serving.stop_accepting().await;
    let pools = routing.load_full();
    for pool in &pools.pools {
        pool.start_draining();
    }
    drain(&pools.pools, opts.drain_timeout).await;
    serving.join_retiring().await;
    if let Some(stats) = stats {
        stats.abort();
    }
    for cache in pools.pools.iter().filter_map(|p| p.cache.as_ref()) {
        cache.shutdown().await;
    }
}

/// The bounded drain of every pool's clients at once: logs what it waited for
/// and whether the deadline was hit.
async fn drain(pools: &[Arc<Pool>], deadline: Duration) {
    let open: usize = pools.iter().map(|p| p.clients.len()).sum();
    tracing::info!(
        clients = open,
        deadline_ms = deadline.as_millis() as u64,
        "stopped accepting; draining client connections"
    );
    let started = tokio::time::Instant::now();
    let draining: Vec<_> = pools
        .iter()
        .map(|pool| {
            let clients = Arc::clone(&pool.clients);
            tokio::spawn(async move { clients.drain(deadline).await })
        })
        .collect();
    let mut cut = 0;
    for task in draining {
        cut += task.await.unwrap_or(0);
    }
    match cut {
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

/// Accepts clients of pool `name` until aborted; each session starts on the
/// pool's snapshot in service when it connects.
async fn accept_loop(listener: Listener, name: String, shared: Shared) {
    let mut backoff = Duration::from_millis(1);
    loop {
        let socket = match listener.accept().await {
            Ok(socket) => {
                backoff = Duration::from_millis(1);
                socket
            }
            Err(err) => {
                tracing::error!(pool = %name, cause = %err, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let Some(pool) = shared.routing.load().pool(&name).cloned() else {
            continue; // removed by a reload this very moment
        };
        spawn_session(socket, pool, &shared);
    }
}

fn spawn_session(socket: stream::Stream, pool: Arc<Pool>, shared: &Shared) {
    let id = shared.ids.fetch_add(1, Ordering::Relaxed) + 1;
    let process = Arc::clone(&shared.process);
    stats::incr(&process.total_connections);
    stats::incr(&process.curr_connections);
    stats::incr(&pool.stats.client_connections);
    let clients = Arc::clone(&pool.clients);
    let registered = clients.open(id);
    let routing = Arc::clone(&shared.routing);
    // The socket moves to a worker's event loop: out of this runtime's
    // reactor, into the worker's.
    let socket = socket.detach();
    workers::run(move || {
        let task = tokio::spawn(async move {
            let _counted = pool.metrics.client_connected();
            let stats = Arc::clone(&pool.stats);
            if let Ok(socket) = socket.and_then(stream::Detached::attach) {
                session::serve(socket, id, pool, routing, Arc::clone(&process), &registered).await;
            }
            process.curr_connections.fetch_sub(1, Ordering::Relaxed);
            stats.client_connections.fetch_sub(1, Ordering::Relaxed);
            drop(registered);
        });
        clients.spawned(id, task.abort_handle());
    });
}
