//! Bringing a role up: for `shardcar up` and `shardcar proxy`, start the bundled
//! engine shards a configuration names (`embedded:1 shard-a` servers), bind every
//! pool's listener, the stats port and the admin port, serve until shutdown, then
//! drain within the deadline and stop the shards; for `shardcar engine`, the
//! engine with its admin port and gauges.
//!
//! The order on the way down is the reverse of the way up: the proxy stops
//! accepting and drains (readiness is 503 meanwhile), then the engines behind it
//! stop, then the admin port and the background tasks.
//!
//! Given its configuration file, a proxy re-reads it on SIGHUP (and, with
//! `--watch-config`, when its modification time changes, polled every second)
//! and hands it to the proxy to swap in (see [`crate::proxy::reload`]). An
//! invalid file is refused with its errors logged; the running configuration
//! stays. Embedded servers new to the file get an engine started for them;
//! those the file no longer names are stopped once the drain deadline has passed
//! (the requests sent to them before the reload are answered first).

use metrics_exporter_prometheus::PrometheusHandle;
use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tokio::signal::unix::Signal;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::admin::{self, Admin};
use crate::config::{Config, ServerAddr};
use crate::engine::server::Shared;
use crate::engine::{self, EngineConfig};
use crate::proxy::{self, Status};
use crate::telemetry::{self, engine::EngineExport};

/// Where the stats JSON is served (twemproxy's `-a` and `-s`).
#[derive(Debug, Clone)]
pub struct StatsAddr {
    /// Address to bind.
    pub addr: String,
    /// Port (twemproxy's 22222).
    pub port: u16,
}

/// Where the admin HTTP port listens (`--admin`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AdminAddr {
    /// No admin port (`--admin off`).
    Off,
    /// [`admin::DEFAULT_ADDR`]. If it is taken (another shardcar on the host),
    /// the process runs without an admin port and says so.
    #[default]
    Default,
    /// An address given on the command line: failing to bind it is an error.
    Given(String),
}

impl FromStr for AdminAddr {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "off" | "none" => AdminAddr::Off,
            addr => AdminAddr::Given(addr.to_string()),
        })
    }
}

/// Takes `--admin ADDR` (or `--admin=ADDR`) out of `shardcar engine`'s
/// arguments, which are otherwise redis.conf options.
///
/// # Errors
/// `--admin` without a value.
pub fn take_admin_flag(args: &[String]) -> Result<(AdminAddr, Vec<String>), String> {
    let mut admin = AdminAddr::Default;
    let mut rest = Vec::with_capacity(args.len());
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if let Some(value) = arg.strip_prefix("--admin=") {
            admin = value.parse().unwrap_or_default();
        } else if arg == "--admin" {
            let value = iter.next().ok_or("--admin needs an address (or off)")?;
            admin = value.parse().unwrap_or_default();
        } else {
            rest.push(arg.clone());
        }
    }
    Ok((admin, rest))
}

/// Parses a duration as the flags take it: `10s`, `500ms`, `2m`, or bare seconds.
///
/// # Errors
/// Not a number with one of those units.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (try 10s or 500ms)"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        _ => return Err(format!("'{text}': unknown unit '{unit}' (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("'{text}' is out of range"))
}

/// A process's settings that come from flags rather than the configuration file.
#[derive(Debug, Clone)]
pub struct Options {
    /// `up`, `proxy` or `engine`, for the status page.
    pub role: &'static str,
    /// twemproxy's stats port, if any.
    pub stats: Option<StatsAddr>,
    /// The admin port.
    pub admin: AdminAddr,
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT.
    pub drain_timeout: Duration,
    /// Requests slower than this are logged.
    pub slow_request: Option<Duration>,
    /// The installed recorder (None: metrics are not collected).
    pub metrics: Option<PrometheusHandle>,
    /// The configuration file, re-read on SIGHUP (None: no reloads).
    pub config_path: Option<PathBuf>,
    /// Also re-read it when it changes (its modification time, polled).
    pub watch_config: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            role: "proxy",
            stats: None,
            admin: AdminAddr::Off,
            drain_timeout: proxy::DEFAULT_DRAIN_TIMEOUT,
            slow_request: None,
            metrics: None,
            config_path: None,
            watch_config: false,
        }
    }
}

/// A bundled engine shard running in this process.
#[derive(Debug)]
pub struct Embedded {
    /// The pool it serves.
    pub pool: String,
    /// The server's name in its pool.
    pub name: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state, for the metrics exporter.
    pub shared: Arc<Shared>,
    stop: oneshot::Sender<()>,
    join: JoinHandle<()>,
}

impl Embedded {
    /// Stops the engine and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.join.await;
    }
}

/// Starts an engine for each embedded server and points the server at it.
///
/// # Errors
/// An engine's listener cannot be bound.
pub async fn start_embedded(cfg: &mut Config) -> crate::Result<Vec<Embedded>> {
    let mut started = Vec::new();
    place_embedded(cfg, &mut started).await?;
    Ok(started)
}

/// Points each embedded server of `cfg` at its engine: the running one of the
/// same pool and name, else a new one, pushed onto `engines`.
///
/// # Errors
/// An engine's listener cannot be bound (those started so far stay in `engines`).
async fn place_embedded(cfg: &mut Config, engines: &mut Vec<Embedded>) -> crate::Result<()> {
    for pool in &mut cfg.pools {
        for server in pool
            .servers
            .iter_mut()
            .filter(|s| s.addr == ServerAddr::Embedded)
        {
            let name = server.ketama_name();
            let running = engines
                .iter()
                .find(|e| e.pool == pool.name && e.name == name);
            let addr = match running {
                Some(engine) => engine.addr,
                None => {
                    // A shard is a cache: no snapshots (see engine::persist).
                    let cfg = EngineConfig {
                        save: String::new(),
                        ..EngineConfig::default()
                    };
                    let engine = start_engine(&pool.name, name, cfg).await?;
                    tracing::info!(pool = %pool.name, server = %engine.name, addr = %engine.addr, "embedded engine shard started");
                    let addr = engine.addr;
                    engines.push(engine);
                    addr
                }
            };
            server.addr = ServerAddr::Tcp {
                host: addr.ip().to_string(),
                port: addr.port(),
            };
        }
    }
    Ok(())
}

/// The embedded servers a configuration names, as (pool, server name).
fn embedded_names(cfg: &Config) -> HashSet<(String, String)> {
    cfg.pools
        .iter()
        .flat_map(|pool| {
            pool.servers
                .iter()
                .filter(|s| s.addr == ServerAddr::Embedded)
                .map(|s| (pool.name.clone(), s.ketama_name()))
        })
        .collect()
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

async fn start_engine(pool: &str, name: String, cfg: EngineConfig) -> crate::Result<Embedded> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared::new(cfg));
    let (stop, stopped) = oneshot::channel::<()>();
    let state = Arc::clone(&shared);
    let join = tokio::spawn(async move {
        let stopped = async {
            let _ = stopped.await;
        };
        if let Err(err) = engine::server::serve(listener, state, stopped).await {
            tracing::error!(cause = %err, "embedded engine stopped");
        }
    });
    Ok(Embedded {
        pool: pool.to_string(),
        name,
        addr,
        shared,
        stop,
        join,
    })
}

/// Runs the proxy for `cfg` until `shutdown` resolves, then drains.
///
/// # Errors
/// A listener cannot be bound (the error names the pool and address).
pub async fn run(mut cfg: Config, opts: Options, shutdown: impl Future) -> crate::Result<()> {
    // First: a SIGHUP that comes while the process starts must not end it.
    let hangup = opts.config_path.as_ref().map(|_| hangup_signal());
    let background = Background::default();
    let status = Arc::new(Status::default());
    let admin = Admin::new(opts.role, opts.metrics.clone(), Some(Arc::clone(&status)));
    background.start_admin(&opts.admin, admin).await?;
    background.start_upkeep(opts.metrics.clone());
    let engines = start_embedded(&mut cfg).await?;
    let watched = engines
        .iter()
        .map(|e| (e.name.clone(), Arc::clone(&e.shared)))
        .collect();
    background.start_export(watched, opts.metrics.is_some());
    let listeners = bind_pools(cfg).await?;
    let stats = match &opts.stats {
        Some(stats) => Some(bind_stats(stats).await?),
        None => None,
    };
    let proxy_opts = proxy::Options {
        drain_timeout: opts.drain_timeout,
        slow_request: opts.slow_request,
        status,
    };
    let pools = proxy::start_pools(listeners).await?;
    let (reloads, reloads_rx) = mpsc::channel(1);
    let (stop_watching, unwatched) = oneshot::channel();
    let reloader = Reloader {
        path: opts.config_path.clone(),
        hangup,
        watch: opts.watch_config,
        engines,
        proxy: reloads,
        grace: opts.drain_timeout,
    };
    let watching = tokio::spawn(reloader.run(unwatched));
    proxy::serve_reloading(pools, stats, proxy_opts, reloads_rx, shutdown).await;
    let _ = stop_watching.send(());
    for engine in watching.await.unwrap_or_default() {
        engine.stop().await;
    }
    background.stop().await;
    Ok(())
}

/// Re-reads the configuration file when told to and hands it to the proxy;
/// owns the embedded engines meanwhile.
struct Reloader {
    path: Option<PathBuf>,
    hangup: Option<std::io::Result<Signal>>,
    watch: bool,
    engines: Vec<Embedded>,
    proxy: mpsc::Sender<proxy::Reload>,
    /// How long a removed engine keeps serving what was sent to it.
    grace: Duration,
}

fn hangup_signal() -> std::io::Result<Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
}

/// How often `--watch-config` looks at the file.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

impl Reloader {
    /// Reloads on SIGHUP (and file changes when watching) until `stop`; returns
    /// the engines still in use.
    async fn run(mut self, mut stop: oneshot::Receiver<()>) -> Vec<Embedded> {
        let (Some(path), Some(hangup)) = (self.path.clone(), self.hangup.take()) else {
            let _ = stop.await;
            return self.engines;
        };
        let mut hangup = match hangup {
            Ok(hangup) => hangup,
            Err(err) => {
                tracing::error!(cause = %err, "cannot handle SIGHUP: configuration reloads are off");
                let _ = stop.await;
                return self.engines;
            }
        };
        let mut tick = tokio::time::interval(WATCH_INTERVAL);
        let mut seen = modified(&path);
        loop {
            tokio::select! {
                _ = &mut stop => return self.engines,
                _ = hangup.recv() => tracing::info!(path = %path.display(), "SIGHUP: reloading the configuration"),
                _ = tick.tick(), if self.watch => {
                    let now = modified(&path);
                    if now == seen {
                        continue;
                    }
                    seen = now;
                    tracing::info!(path = %path.display(), "the configuration file changed: reloading it");
                }
            }
            self.reload(&path).await;
        }
    }

    async fn reload(&mut self, path: &Path) {
        let mut cfg = match Config::load(path) {
            Ok(cfg) => cfg,
            Err(errors) => {
                tracing::error!(error = %errors, "configuration reload refused: the file is invalid; the running configuration stays");
                return;
            }
        };
        let before = self.engines.len();
        let in_use = embedded_names(&cfg);
        let swapped = match place_embedded(&mut cfg, &mut self.engines).await {
            Err(err) => {
                tracing::error!(cause = %err, "configuration reload refused: an embedded engine cannot start; the running configuration stays");
                false
            }
            Ok(()) => {
                let swapped = self.swap(cfg).await;
                if swapped {
                    self.retire_unused(&in_use);
                }
                swapped
            }
        };
        if !swapped {
            for engine in self.engines.drain(before..) {
                engine.stop().await;
            }
        }
    }

    /// Hands `cfg` to the proxy; true when it was swapped in (the proxy logs
    /// the changes, or why it refused them).
    async fn swap(&self, cfg: Config) -> bool {
        let (done, outcome) = oneshot::channel();
        let reload = proxy::Reload { config: cfg, done };
        if self.proxy.send(reload).await.is_err() {
            return false; // shutting down
        }
        matches!(outcome.await, Ok(Ok(_)))
    }

    /// Stops the engines no pool names any more, after the drain deadline.
    fn retire_unused(&mut self, in_use: &HashSet<(String, String)>) {
        let (kept, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.engines)
            .into_iter()
            .partition(|e| in_use.contains(&(e.pool.clone(), e.name.clone())));
        self.engines = kept;
        for engine in gone {
            self.retire(engine);
        }
    }

    fn retire(&self, engine: Embedded) {
        let grace = self.grace;
        tracing::info!(pool = %engine.pool, server = %engine.name, grace_ms = grace.as_millis() as u64, "embedded engine shard removed: stopping it after the drain deadline");
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            engine.stop().await;
        });
    }
}

/// The file's modification time, if it can be read.
fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

async fn bind_pools(cfg: Config) -> crate::Result<Vec<(proxy::Listener, crate::config::Pool)>> {
    let mut listeners = Vec::new();
    for pool in cfg.pools {
        let listener = proxy::bind(&pool).await.map_err(|err| {
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
    Ok(listeners)
}

async fn bind_stats(stats: &StatsAddr) -> crate::Result<TcpListener> {
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
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "stats listening");
    Ok(listener)
}

/// Runs the bundled engine alone (`shardcar engine`) until `shutdown` resolves,
/// with its admin port and gauges.
///
/// # Errors
/// The engine's or the admin port's address cannot be bound.
pub async fn run_engine(
    cfg: EngineConfig,
    opts: Options,
    shutdown: impl Future,
) -> crate::Result<()> {
    let addr = format!(
        "{}:{}",
        cfg.bind.first().map_or("127.0.0.1", String::as_str),
        cfg.port
    );
    let listener = TcpListener::bind(&addr).await.map_err(|err| {
        std::io::Error::new(err.kind(), format!("cannot listen on {addr}: {err}"))
    })?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, "engine ready to accept connections");
    let background = Background::default();
    background
        .start_admin(
            &opts.admin,
            Admin::new("engine", opts.metrics.clone(), None),
        )
        .await?;
    background.start_upkeep(opts.metrics.clone());
    let shared = engine::server::open(cfg)?;
    background.start_export(
        vec![(local.to_string(), Arc::clone(&shared))],
        opts.metrics.is_some(),
    );
    let served = engine::server::serve(listener, shared, shutdown).await;
    background.stop().await;
    served
}

/// The tasks that serve a role without being it: the admin port, the recorder's
/// upkeep, the engine gauges. Each gets the same stop signal and is joined.
#[derive(Debug)]
struct Background {
    stop: watch::Sender<bool>,
    tasks: parking_lot::Mutex<Vec<JoinHandle<()>>>,
}

impl Default for Background {
    fn default() -> Self {
        Background {
            stop: watch::Sender::new(false),
            tasks: parking_lot::Mutex::new(Vec::new()),
        }
    }
}

impl Background {
    /// A future that resolves when [`Background::stop`] is called.
    fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut stop = self.stop.subscribe();
        async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.lock().push(tokio::spawn(task));
    }

    async fn start_admin(&self, addr: &AdminAddr, admin: Admin) -> crate::Result<()> {
        if let Some(listener) = bind_admin(addr).await? {
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "admin HTTP listening");
            self.spawn(admin::serve(listener, Arc::new(admin), self.stopped()));
        }
        Ok(())
    }

    fn start_upkeep(&self, metrics: Option<PrometheusHandle>) {
        if let Some(handle) = metrics {
            self.spawn(telemetry::upkeep(handle, self.stopped()));
        }
    }

    fn start_export(&self, engines: Vec<(String, Arc<Shared>)>, enabled: bool) {
        if enabled && !engines.is_empty() {
            self.spawn(EngineExport::new(engines).run(self.stopped()));
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks.into_inner() {
            let _ = task.await;
        }
    }
}

/// Binds the admin port; a taken default address is a warning, a taken given one
/// an error.
async fn bind_admin(addr: &AdminAddr) -> crate::Result<Option<TcpListener>> {
    match addr {
        AdminAddr::Off => Ok(None),
        AdminAddr::Default => match TcpListener::bind(admin::DEFAULT_ADDR).await {
            Ok(listener) => Ok(Some(listener)),
            Err(err) => {
                tracing::warn!(addr = admin::DEFAULT_ADDR, cause = %err, "admin HTTP not started: its default address is not free; choose one with --admin ADDR");
                Ok(None)
            }
        },
        AdminAddr::Given(given) => {
            TcpListener::bind(given.as_str())
                .await
                .map(Some)
                .map_err(|err| {
                    std::io::Error::new(
                        err.kind(),
                        format!("cannot listen for admin HTTP on {given}: {err}"),
                    )
                    .into()
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_addresses_parse() {
        assert_eq!("off".parse::<AdminAddr>(), Ok(AdminAddr::Off));
        assert_eq!("none".parse::<AdminAddr>(), Ok(AdminAddr::Off));
        assert_eq!(
            "0.0.0.0:9722".parse::<AdminAddr>(),
            Ok(AdminAddr::Given("0.0.0.0:9722".into()))
        );
        assert_eq!(AdminAddr::default(), AdminAddr::Default);
    }

    #[test]
    fn durations_parse_with_units_and_reject_the_rest() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "s", "ten", "10h", "-1s", "1e999", "10 s x"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_admin_flag_is_taken_out_of_engine_arguments() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (admin, rest) =
            take_admin_flag(&args(&["--port", "7000", "--admin", "127.0.0.1:9800"])).unwrap();
        assert_eq!(admin, AdminAddr::Given("127.0.0.1:9800".into()));
        assert_eq!(rest, args(&["--port", "7000"]));
        let (admin, rest) = take_admin_flag(&args(&["redis.conf", "--admin=off"])).unwrap();
        assert_eq!((admin, rest), (AdminAddr::Off, args(&["redis.conf"])));
        let (admin, _) = take_admin_flag(&args(&["--port", "1"])).unwrap();
        assert_eq!(admin, AdminAddr::Default);
        assert!(take_admin_flag(&args(&["--admin"])).is_err());
    }

    #[tokio::test]
    async fn a_given_admin_address_that_is_taken_is_an_error() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = AdminAddr::Given(taken.local_addr().unwrap().to_string());
        let err = bind_admin(&addr).await.unwrap_err().to_string();
        assert!(err.contains("cannot listen for admin HTTP"), "{err}");
        assert!(bind_admin(&AdminAddr::Off).await.unwrap().is_none());
    }
}
