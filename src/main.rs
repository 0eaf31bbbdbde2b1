//! The `shardcar` binary: parse the command line, set up logging, run a role.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

use shardcar::config::Config;
use shardcar::engine::{self, EngineConfig};
use shardcar::up::{self, StatsAddr};

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
    },
    /// The proxy alone, with twemproxy's flags.
    Proxy(ProxyArgs),
    /// The bundled Redis-compatible engine alone. Options are spelled as in
    /// redis.conf (`--port 7000 --maxmemory 1gb`), optionally after a config file
    /// path, as `redis-server` takes them.
    Engine {
        /// [redis.conf] [--name value ...]
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
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
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().role {
        Role::Up {
            conf,
            stats_port,
            stats_addr,
        } => {
            init_logging(EnvFilter::new("info"), None)?;
            let stats = StatsAddr {
                addr: stats_addr,
                port: stats_port,
            };
            serve(load(&conf), stats)
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
        println!(
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
        args.output.as_ref(),
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
    serve(cfg, stats)
}

fn serve(cfg: Config, stats: StatsAddr) -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(up::run(cfg, Some(stats), shutdown_signal()))?;
    Ok(())
}

fn run_engine(args: &[String]) -> anyhow::Result<()> {
    let cfg = EngineConfig::from_args(args).unwrap_or_else(|err| {
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
    tokio::runtime::Runtime::new()?.block_on(async {
        let addr = format!(
            "{}:{}",
            cfg.bind.first().map_or("127.0.0.1", String::as_str),
            cfg.port
        );
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|err| anyhow::anyhow!("cannot listen on {addr}: {err}"))?;
        tracing::info!(addr = %listener.local_addr()?, "engine ready to accept connections");
        engine::run(listener, cfg, shutdown_signal()).await?;
        Ok(())
    })
}

fn init_logging(filter: EnvFilter, file: Option<&PathBuf>) -> anyhow::Result<()> {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
        }
        None => builder.init(),
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
