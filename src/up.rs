//! Bringing a proxy configuration up: start the bundled engine shards it names
//! (`embedded:1 shard-a` servers), bind every pool's listener and the stats port,
//! then serve until shutdown. Both `shardcar up` and `shardcar proxy` run this.

use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

use crate::config::{Config, ServerAddr};
use crate::engine::{self, EngineConfig};

/// Where the stats JSON is served (twemproxy's `-a` and `-s`).
#[derive(Debug, Clone)]
pub struct StatsAddr {
    /// Address to bind.
    pub addr: String,
    /// Port (twemproxy's 22222).
    pub port: u16,
}

/// Starts an engine for each embedded server and points the server at it.
///
/// # Errors
/// An engine's listener cannot be bound.
pub async fn start_embedded(cfg: &mut Config) -> crate::Result<()> {
    for pool in &mut cfg.pools {
        for server in pool
            .servers
            .iter_mut()
            .filter(|s| s.addr == ServerAddr::Embedded)
        {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            tracing::info!(
                pool = %pool.name,
                server = server.name.as_deref().unwrap_or_default(),
                %addr,
                "embedded engine shard started"
            );
            tokio::spawn(async move {
                let never = std::future::pending::<()>();
                if let Err(err) = engine::run(listener, EngineConfig::default(), never).await {
                    tracing::error!(cause = %err, "embedded engine stopped");
                }
            });
            server.addr = ServerAddr::Tcp {
                host: addr.ip().to_string(),
                port: addr.port(),
            };
        }
    }
    Ok(())
}

/// Checks every pool's cache rules against its database (`shardcar proxy -t`),
/// changing nothing.
///
/// # Errors
/// The first pool whose database is unreachable or whose rules do not fit it.
pub async fn check_caches(cfg: &Config) -> crate::Result<()> {
    for pool in &cfg.pools {
        if let Some(cache) = &pool.cache {
            crate::cache::check(&pool.name, cache).await?;
        }
    }
    Ok(())
}

/// Runs the proxy for `cfg` until `shutdown` resolves.
///
/// # Errors
/// A listener cannot be bound (the error names the pool and address).
pub async fn run(
    mut cfg: Config,
    stats: Option<StatsAddr>,
    shutdown: impl Future,
) -> crate::Result<()> {
    start_embedded(&mut cfg).await?;
    let mut listeners = Vec::new();
    for pool in cfg.pools {
        let listener = crate::proxy::bind(&pool).await.map_err(|err| {
            std::io::Error::new(
                err.kind(),
                format!(
                    "pool '{}': cannot listen on {}: {err}",
                    pool.name, pool.listen
                ),
            )
        })?;
        tracing::info!(pool = %pool.name, addr = %pool.listen, servers = pool.servers.len(), "pool listening");
        listeners.push((listener, pool));
    }
    let stats_listener = match stats {
        Some(stats) => {
            let listener = TcpListener::bind((stats.addr.as_str(), stats.port))
                .await
                .map_err(|err| {
                    std::io::Error::new(
                        err.kind(),
                        format!(
                            "cannot listen for stats on {}:{}: {err}",
                            stats.addr, stats.port
                        ),
                    )
                })?;
            let addr: Option<SocketAddr> = listener.local_addr().ok();
            tracing::info!(addr = ?addr, "stats listening");
            Some(listener)
        }
        None => None,
    };
    crate::proxy::run(listeners, stats_listener, shutdown).await
}
