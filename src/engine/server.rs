//! The engine server: shared state, the accept loop and background tasks.

use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify, Semaphore};
use tracing::{error, info, warn};

use super::client::Registry;
use super::config::EngineConfig;
use super::conn;
use super::db::UnixMs;
use super::keyspace::Keyspace;
use super::meter::{self, Meter};
use super::persist::aof::{self, Aof};
use super::persist::{self, Persistence};
use super::pubsub::PubSub;
use super::slowlog::SlowLog;
use crate::resp::Frame;

/// State shared by every connection of one engine.
#[derive(Debug)]
pub struct Shared {
    /// The keyspace. Held for one batch of commands at a time and never across
    /// an `.await`: parsing, encoding and socket I/O happen outside it.
    pub ks: Mutex<Keyspace>,
    /// Current settings (CONFIG SET writes them).
    pub config: RwLock<EngineConfig>,
    /// Connected clients.
    pub clients: Registry,
    /// Channel and pattern subscriptions.
    pub pubsub: Mutex<PubSub>,
    /// MONITOR streams.
    pub monitors: Mutex<Vec<mpsc::UnboundedSender<Frame>>>,
    /// Number of MONITOR clients, read on every command without a lock.
    pub monitor_count: AtomicUsize,
    /// The last client id handed out.
    pub next_client_id: AtomicU64,
    /// DEBUG SET-ACTIVE-EXPIRE.
    pub active_expire: AtomicBool,
    /// Connections accepted since start.
    pub total_connections: AtomicU64,
    /// Connections refused at maxclients.
    pub rejected_connections: AtomicU64,
    /// Bytes read from clients.
    pub net_input_bytes: AtomicU64,
    /// Bytes written to clients.
    pub net_output_bytes: AtomicU64,
    /// When the engine started.
    pub started: Instant,
    /// The port actually bound (for INFO when 0 was asked).
    pub port: AtomicU64,
    /// Rates for INFO, sampled by a background task.
    pub meter: Mutex<Meter>,
    /// SLOWLOG entries.
    pub slowlog: Mutex<SlowLog>,
    /// `maxmemory`, mirrored here because it is read before every command and
    /// the config lock is not worth taking for that.
    pub maxmemory: AtomicU64,
    /// `slowlog-log-slower-than`, mirrored for the same reason.
    pub slowlog_threshold: AtomicI64,
    /// Unix time of the last successful save (LASTSAVE), or of the start.
    pub lastsave: AtomicU64,
    /// Snapshot state: BGSAVE progress, last status, the saver's queue.
    pub persist: Persistence,
    /// A random id of this run (INFO run_id).
    pub run_id: String,
    /// Notified by SHUTDOWN: the accept loop stops.
    pub shutdown: Notify,
    /// Error replies by their code (`ERR`, `WRONGTYPE`…) for INFO errorstats.
    pub errors: Mutex<BTreeMap<String, u64>>,
    /// The append-only file (off unless appendonly yes).
    pub aof: Aof,
}

impl Shared {
    /// Fresh state for `cfg`.
    pub fn new(cfg: EngineConfig) -> Shared {
        let mut ks = Keyspace::new(cfg.databases);
        ks.limits = cfg.encoding_limits();
        let started_unix = now_ms() as u64 / 1000;
        // Fixes INFO's used_memory_startup at the first engine's start.
        super::memory::startup_memory();
        Shared {
            ks: Mutex::new(ks),
            port: AtomicU64::new(u64::from(cfg.port)),
            meter: Mutex::new(Meter::default()),
            slowlog: Mutex::new(SlowLog::default()),
            maxmemory: AtomicU64::new(cfg.maxmemory),
            slowlog_threshold: AtomicI64::new(cfg.slowlog_log_slower_than),
            lastsave: AtomicU64::new(started_unix),
            persist: Persistence::default(),
            run_id: random_run_id(),
            shutdown: Notify::new(),
            errors: Mutex::new(BTreeMap::new()),
            aof: Aof::default(),
            config: RwLock::new(cfg),
            clients: Registry::default(),
            pubsub: Mutex::new(PubSub::default()),
            monitors: Mutex::new(Vec::new()),
            monitor_count: AtomicUsize::new(0),
            next_client_id: AtomicU64::new(0),
            active_expire: AtomicBool::new(true),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

/// Forty random hex digits, as Redis's run ids.
fn random_run_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// Wall-clock milliseconds since the Unix epoch: the clock of TTLs.
pub fn now_ms() -> UnixMs {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as UnixMs)
}

/// Serves clients accepted on `listener` until `shutdown` resolves.
///
/// # Errors
/// Only setup failures; a failing connection is logged and closed alone.
pub async fn run(
    listener: TcpListener,
    cfg: EngineConfig,
    shutdown: impl Future,
) -> crate::Result<()> {
    serve(listener, open(cfg)?, shutdown).await
}

/// State for `cfg` with the persisted data loaded, as a server starts.
///
/// # Errors
/// The snapshot exists but cannot be loaded: the engine must not start empty.
pub fn open(cfg: EngineConfig) -> crate::Result<Arc<Shared>> {
    let shared = Arc::new(Shared::new(cfg));
    // The AOF, when on and present, is the whole data set (loaded by
    // `aof::start`); the snapshot otherwise.
    if !aof::present(&shared.config.read()) {
        persist::file::load_at_start(&shared)?;
    }
    Ok(shared)
}

/// [`run`] with state made by the caller, who may read it meanwhile (the
/// metrics exporter samples its counters).
///
/// # Errors
/// Only setup failures; a failing connection is logged and closed alone.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future,
) -> crate::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        shared.port.store(u64::from(addr.port()), Ordering::Relaxed);
    }
    aof::start(&shared)?;
    let aof_cron = tokio::spawn(aof::cron(Arc::clone(&shared)));
    let expiry = tokio::spawn(active_expiry(Arc::clone(&shared)));
    let meter = tokio::spawn(meter::run(Arc::clone(&shared)));
    let saver = tokio::spawn(persist::saver::run(Arc::clone(&shared)));
    let signalled = tokio::select! {
        result = accept_loop(&listener, &shared) => result.map(|()| false)?,
        _ = shutdown => true,
        _ = shared.shutdown.notified() => false,
    };
    info!(signalled, "engine shutting down");
    expiry.abort();
    meter.abort();
    saver.abort();
    aof_cron.abort();
    // SHUTDOWN saved already; a signal saves here when save points are set.
    if signalled && persist::saver::has_save_points(&shared) {
        let mut ks = shared.ks.lock();
        if let Err(err) = persist::saver::save_for_shutdown(&mut ks, &shared) {
            error!(cause = %err, "the final save failed");
        }
    }
    shared.aof.stop().await;
    Ok(())
}

async fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) -> crate::Result<()> {
    let maxclients = shared.config.read().maxclients;
    let permits = Arc::new(Semaphore::new(maxclients));
    let mut backoff = Duration::from_millis(1);
    loop {
        let (socket, addr) = match listener.accept().await {
            Ok(pair) => {
                backoff = Duration::from_millis(1);
                pair
            }
            Err(err) => {
                // Out of file descriptors and the like: wait and try again.
                error!(cause = %err, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        shared.total_connections.fetch_add(1, Ordering::Relaxed);
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(conn::refuse(socket, "ERR max number of clients reached"));
            continue;
        };
        let _ = socket.set_nodelay(true);
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            if let Err(err) = conn::serve(socket, Some(addr), shared).await {
                warn!(peer = %addr, cause = %err, "connection closed with an error");
            }
            drop(permit);
        });
    }
}

/// Redis's active expiry: `hz` times a second, sample volatile keys in each
/// database and delete the expired ones, repeating while more than a quarter of
/// a sample was expired, within a time budget so clients are not held up.
async fn active_expiry(shared: Arc<Shared>) {
    const SAMPLES: usize = 20;
    loop {
        let hz = shared.config.read().hz.max(1);
        tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
        if !shared.active_expire.load(Ordering::Relaxed) {
            continue;
        }
        let budget = Duration::from_micros(25_000 / hz);
        let started = Instant::now();
        let databases = shared.ks.lock().dbs.len();
        for db in 0..databases {
            loop {
                // One short slice under the lock per round.
                let mut ks = shared.ks.lock();
                let (sampled, expired) = ks.dbs[db].expire_sample(SAMPLES, now_ms());
                ks.settle_expired();
                shared.aof.submit(&mut ks.aof);
                drop(ks);
                if sampled == 0 || expired * 4 <= sampled || started.elapsed() > budget {
                    break;
                }
            }
        }
    }
}
