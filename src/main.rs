//! The `shardcar` binary: parse the command line, set up logging, run a role.

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use shardcar::engine::{self, EngineConfig};

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
    /// The bundled Redis-compatible engine alone. Options are spelled as in
    /// redis.conf (`--port 7000 --maxmemory 1gb`), optionally after a config file
    /// path, as `redis-server` takes them.
    Engine {
        /// [redis.conf] [--name value ...]
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.role {
        Role::Engine { args } => run_engine(&args),
    }
}

fn run_engine(args: &[String]) -> anyhow::Result<()> {
    let cfg = match EngineConfig::from_args(args) {
        Ok(cfg) => cfg,
        Err(err) => {
            eprintln!("shardcar engine: {err}");
            std::process::exit(64);
        }
    };
    init_logging(&cfg.loglevel);
    for name in cfg.inactive_options_in_use() {
        tracing::warn!(
            option = name,
            "accepted, but not active yet in this version"
        );
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = bind(&cfg).await?;
        tracing::info!(addr = %listener.local_addr()?, "engine ready to accept connections");
        engine::run(listener, cfg, shutdown_signal()).await?;
        Ok(())
    })
}

async fn bind(cfg: &EngineConfig) -> anyhow::Result<tokio::net::TcpListener> {
    let host = cfg.bind.first().map_or("127.0.0.1", String::as_str);
    let addr = format!("{host}:{}", cfg.port);
    tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {addr}: {err}"))
}

fn init_logging(level: &str) {
    let default = match level {
        "debug" => "debug",
        "verbose" => "info",
        "warning" | "nothing" => "warn",
        _ => "info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
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
