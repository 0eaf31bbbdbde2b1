//! The sharding proxy: twemproxy-compatible key routing over backend pools.
//!
//! - [`hash`]: the twelve key hash functions and hash-tag extraction.
//! - [`ring`]: the pure key-hash → server map (ketama, modula, random).
//! - [`pool`]: a pool at run time — servers, connections, health, the live ring.
//! - [`backend`]: pipelined, multiplexed connections to one server.
//! - [`route`]: where a request goes (one server, split per key, every server).
//! - [`session`]: one client: requests in, replies out in request order.
//! - [`local`]: commands the proxy answers itself.
//! - [`stats`]: twemproxy's counters and stats JSON.

pub mod backend;
pub mod hash;
pub mod local;
pub mod pool;
pub mod ring;
pub mod route;
pub mod session;
pub mod stats;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

use crate::config::{self, Listen};
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

/// Serves every pool on its listener (and the stats port, if given) until
/// `shutdown` resolves. Pools with a cache start it first (see [`Pool::start`]).
///
/// # Errors
/// A pool's cache cannot start.
pub async fn run(
    listeners: Vec<(TcpListener, config::Pool)>,
    stats_listener: Option<TcpListener>,
    shutdown: impl Future,
) -> crate::Result<()> {
    let mut started = Vec::with_capacity(listeners.len());
    for (listener, cfg) in listeners {
        started.push((listener, Arc::new(Pool::start(cfg).await?)));
    }
    serve(started, stats_listener, shutdown).await;
    Ok(())
}

/// Serves pools already built until `shutdown` resolves, then stops their
/// caches (a last flush, bounded; the rest stays journaled).
pub async fn serve(
    listeners: Vec<(TcpListener, Arc<Pool>)>,
    stats_listener: Option<TcpListener>,
    shutdown: impl Future,
) {
    let process = Arc::new(ProcessStats::default());
    let ids = Arc::new(AtomicU64::new(0));
    let mut pools = Vec::new();
    let mut tasks = Vec::new();
    for (listener, pool) in listeners {
        pools.push(Arc::clone(&pool));
        tasks.push(tokio::spawn(accept_loop(
            listener,
            pool,
            Arc::clone(&process),
            Arc::clone(&ids),
        )));
    }
    if let Some(listener) = stats_listener {
        tasks.push(tokio::spawn(stats::serve(
            listener,
            Arc::clone(&process),
            pools.clone(),
        )));
    }
    shutdown.await;
    for task in tasks {
        task.abort();
    }
    for cache in pools.iter().filter_map(|p| p.cache.as_ref()) {
        cache.shutdown().await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    pool: Arc<Pool>,
    process: Arc<ProcessStats>,
    ids: Arc<AtomicU64>,
) {
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
        let (pool, process) = (Arc::clone(&pool), Arc::clone(&process));
        tokio::spawn(async move {
            session::serve(socket, id, Arc::clone(&pool), Arc::clone(&process)).await;
            process.curr_connections.fetch_sub(1, Ordering::Relaxed);
            pool.stats
                .client_connections
                .fetch_sub(1, Ordering::Relaxed);
        });
    }
}
