//! The `shardcar` binary: parse the command line, set up logging, run a role.

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tracing_subscriber::EnvFilter;

use shardcar::config::Config;
use shardcar::engine::EngineConfig;
use shardcar::telemetry::{self, init_logging};
use shardcar::up::{self, AdminAddr, Options, StatsAddr};

#[derive(Parser, Debug)]
#[command(
    name = "shardcar",
    version,
    about = "A RESP sidecar proxy with a bundled Redis-compatible engine"
)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand, Debug)]
enum Role {
    /// The embedded default: a proxy on 127.0.0.1:22121 in front of three bundled
    /// engine shards, from config/shardcar.yml.
    Up {
        /// The configuration file.
        #[arg(short = 'c', long = "conf-file", default_value = "config/shardcar.yml")]
        conf: PathBuf,
        /// Stats port (as `proxy -s`).
        #[arg(short = 's', long = "stats-port", default_value_t = 22222)]
        stats_port: u16,
        /// Stats address (as `proxy -a`).
        #[arg(short = 'a', long = "stats-addr", default_value = "127.0.0.1")]
        stats_addr: String,
        #[command(flatten)]
        ops: OpsArgs,
    },
    /// The proxy alone, with twemproxy's flags.
    Proxy(ProxyArgs),
    /// The bundled Redis-compatible engine alone. Options are spelled as in
    /// redis.conf (`--port 7000 --maxmemory 1gb`), optionally after a config file
    /// path, as `redis-server` takes them; `--admin ADDR|off` sets the admin port.
    Engine {
        /// [redis.conf] [--name value ...]
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Operations flags of `up` and `proxy`.
#[derive(clap::Args, Debug)]
struct OpsArgs {
    /// Admin HTTP address (/metrics, /healthz, /readyz, /), or `off`
    /// [default: 127.0.0.1:9722, skipped with a warning if taken].
    #[arg(long = "admin", value_name = "ADDR")]
    admin: Option<AdminAddr>,
    /// How long in-flight requests may take to finish after SIGTERM or SIGINT.
    #[arg(long = "drain-timeout", value_name = "DURATION", default_value = "10s", value_parser = up::parse_duration)]
    drain_timeout: Duration,
    /// Log requests slower than this (e.g. 250ms), or `off`.
    #[arg(long = "slow-request", value_name = "DURATION", default_value = "1s", value_parser = parse_threshold)]
    slow_request: Threshold,
    /// Threads serving clients, each an event loop of its own [default: one per core].
    #[arg(long = "threads", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Reload the configuration when its file changes (checked every second),
    /// as well as on SIGHUP.
    #[arg(long = "watch-config")]
    watch_config: bool,
}

/// A duration or `off`.
#[derive(Debug, Clone, Copy)]
struct Threshold(Option<Duration>);

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    match text {
        "off" => Ok(Threshold(None)),
        _ => up::parse_duration(text).map(|d| Threshold(Some(d))),
    }
}

impl OpsArgs {
    /// The threads: `threads` (default: one per core) client workers, each an
    /// event loop of its own (see `proxy::workers`), and as many for the rest —
    /// accepting, the admin port, and in `up` the engine shards.
    fn runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        let threads = self.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            usize::from,
        );
        shardcar::proxy::workers::start(threads)?;
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }

    /// The run options, with the recorder installed unless the admin port is off.
    /// `conf` is re-read on SIGHUP.
    fn options(self, role: &'static str, stats: StatsAddr, conf: &Path) -> anyhow::Result<Options> {
        let admin = self.admin.unwrap_or_default();
        Ok(Options {
            role,
            stats: Some(stats),
            metrics: install_metrics(&admin)?,
            admin,
            drain_timeout: self.drain_timeout,
            slow_request: self.slow_request.0,
            config_path: Some(conf.to_path_buf()),
            watch_config: self.watch_config,
        })
    }
}

fn install_metrics(
    admin: &AdminAddr,
) -> anyhow::Result<Option<metrics_exporter_prometheus::PrometheusHandle>> {
    Ok(match admin {
        AdminAddr::Off => None,
        _ => Some(telemetry::install()?),
    })
}

/// twemproxy's command line, with its meanings.
#[derive(clap::Args, Debug)]
#[command(disable_version_flag = true)]
struct ProxyArgs {
    /// Configuration file (nutcracker.yml).
    #[arg(short = 'c', long = "conf-file", default_value = "conf/nutcracker.yml")]
    conf: PathBuf,
    /// Test the configuration for errors and exit (0: valid, 1: not).
    #[arg(short = 't', long = "test-conf")]
    test: bool,
    /// Stats port.
    #[arg(short = 's', long = "stats-port", default_value_t = 22222)]
    stats_port: u16,
    /// Stats address (twemproxy's default is 0.0.0.0; ours is loopback).
    #[arg(short = 'a', long = "stats-addr", default_value = "127.0.0.1")]
    stats_addr: String,
    /// Stats aggregation interval in ms (accepted; our stats are always current).
    #[arg(short = 'i', long = "stats-interval")]
    stats_interval: Option<u64>,
    /// Log verbosity, 0 to 11 (twemproxy's scale; 5 = notice).
    #[arg(short = 'v', long = "verbose", default_value_t = 5)]
    verbose: u8,
    /// Log file (default: stderr).
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// PID file.
    #[arg(short = 'p', long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Daemonize (accepted; shardcar stays in the foreground, as supervisors want).
    #[arg(short = 'd', long = "daemonize")]
    daemonize: bool,
    /// mbuf size (accepted; buffers here grow as needed).
    #[arg(short = 'm', long = "mbuf-size")]
    mbuf_size: Option<usize>,
    /// Print the version and exit.
    #[arg(short = 'V', long = "version")]
    version: bool,
    #[command(flatten)]
    ops: OpsArgs,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().role {
        Role::Up {
            conf,
            stats_port,
            stats_addr,
            ops,
        } => {
            init_logging(
                EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
                None,
            )?;
            let stats = StatsAddr {
                addr: stats_addr,
                port: stats_port,
            };
            let runtime = ops.runtime()?;
            serve(runtime, load(&conf), ops.options("up", stats, &conf)?)
        }
        Role::Proxy(args) => run_proxy(args),
        Role::Engine { args } => run_engine(&args),
    }
}

fn load(path: &PathBuf) -> Config {
    Config::load(path).unwrap_or_else(|errors| {
        eprintln!(
            "shardcar: configuration file '{}' is invalid:\n{errors}",
            path.display()
        );
        std::process::exit(1);
    })
}

fn run_proxy(args: ProxyArgs) -> anyhow::Result<()> {
    if args.version {
        println!("shardcar {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    let cfg = load(&args.conf);
    if args.test {
        let checked = tokio::runtime::Runtime::new()?.block_on(up::check_caches(&cfg));
        if let Err(err) = checked {
            eprintln!(
                "shardcar: configuration file '{}' is invalid:\n{err}",
                args.conf.display()
            );
            std::process::exit(1);
        }
        // On stderr, where nutcracker -t prints its verdict.
        eprintln!(
            "shardcar: configuration file '{}' syntax is ok",
            args.conf.display()
        );
        return Ok(());
    }
    let level = match args.verbose {
        0..=2 => "error",
        3..=4 => "warn",
        5..=6 => "info",
        7..=8 => "debug",
        _ => "trace",
    };
    init_logging(
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level)),
        args.output.as_deref(),
    )?;
    if args.daemonize || args.mbuf_size.is_some() || args.stats_interval.is_some() {
        tracing::info!("-d, -m and -i are accepted for twemproxy compatibility and have no effect: shardcar runs in the foreground, sizes its buffers itself and keeps its stats current");
    }
    if let Some(pid_file) = &args.pid_file {
        std::fs::write(pid_file, format!("{}\n", std::process::id()))?;
    }
    let stats = StatsAddr {
        addr: args.stats_addr,
        port: args.stats_port,
    };
    let runtime = args.ops.runtime()?;
    serve(runtime, cfg, args.ops.options("proxy", stats, &args.conf)?)
}

fn serve(runtime: tokio::runtime::Runtime, cfg: Config, opts: Options) -> anyhow::Result<()> {
    runtime.block_on(async {
        let shutdown = shutdown_signal()?;
        up::run(cfg, opts, shutdown).await
    })?;
    tracing::info!("shut down");
    Ok(())
}

fn run_engine(args: &[String]) -> anyhow::Result<()> {
    let (admin, args) = up::take_admin_flag(args).unwrap_or_else(|err| {
        eprintln!("shardcar engine: {err}");
        std::process::exit(64);
    });
    let cfg = EngineConfig::from_args(&args).unwrap_or_else(|err| {
        eprintln!("shardcar engine: {err}");
        std::process::exit(64);
    });
    let level = match cfg.loglevel.as_str() {
        "debug" => "debug",
        "warning" | "nothing" => "warn",
        _ => "info",
    };
    init_logging(
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level)),
        None,
    )?;
    for name in cfg.inactive_options_in_use() {
        tracing::warn!(
            option = name,
            "accepted, but not active yet in this version"
        );
    }
    let opts = Options {
        role: "engine",
        metrics: install_metrics(&admin)?,
        admin,
        ..Options::default()
    };
    tokio::runtime::Runtime::new()?.block_on(async {
        let shutdown = shutdown_signal()?;
        up::run_engine(cfg, opts, shutdown).await
    })?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed at once, so a
/// signal that comes while the process is still starting is not lost.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal = name, "shutting down");
    })
}
