//! The bundled engine's gauges: a background task that reads INFO-like counters
//! from each engine's [`Shared`] state every [`SAMPLE_INTERVAL`] and sets them.
//!
//! The engine itself knows nothing of metrics: this task is their only reader, and
//! it holds the keyspace lock just long enough to copy a few counters.

use metrics::{counter, gauge, Counter, Gauge};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::{
    ENGINE_COMMANDS_TOTAL, ENGINE_CONNECTED_CLIENTS, ENGINE_EVICTED_KEYS_TOTAL,
    ENGINE_EXPIRED_KEYS_TOTAL, ENGINE_KEYS, ENGINE_MEMORY_RSS_BYTES, ENGINE_MEMORY_USED_BYTES,
    LABEL_ENGINE,
};
use crate::engine::server::Shared;

/// How often the engines are sampled.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// One reading of an engine's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sample {
    /// Keys in every database.
    pub keys: u64,
    /// Keys removed by expiry since start.
    pub expired: u64,
    /// Keys evicted since start.
    pub evicted: u64,
    /// Commands executed since start.
    pub commands: u64,
    /// Connected clients.
    pub clients: u64,
}

impl Sample {
    /// Reads `shared`'s counters (one short hold of the keyspace lock).
    pub fn read(shared: &Shared) -> Sample {
        let clients = shared.clients.len() as u64;
        let ks = shared.ks.lock();
        Sample {
            keys: ks.dbs.iter().map(|db| db.len() as u64).sum(),
            expired: ks.stats.expired_keys,
            evicted: ks.stats.evicted_keys,
            commands: ks.stats.total_commands,
            clients,
        }
    }
}

/// The gauges of one engine.
#[derive(Debug)]
struct Watched {
    shared: Arc<Shared>,
    keys: Gauge,
    expired: Counter,
    evicted: Counter,
    commands: Counter,
    clients: Gauge,
}

impl Watched {
    fn new(name: &str, shared: Arc<Shared>) -> Watched {
        let label = || [(LABEL_ENGINE, name.to_string())];
        Watched {
            shared,
            keys: gauge!(ENGINE_KEYS, &label()),
            expired: counter!(ENGINE_EXPIRED_KEYS_TOTAL, &label()),
            evicted: counter!(ENGINE_EVICTED_KEYS_TOTAL, &label()),
            commands: counter!(ENGINE_COMMANDS_TOTAL, &label()),
            clients: gauge!(ENGINE_CONNECTED_CLIENTS, &label()),
        }
    }

    fn export(&self) {
        let sample = Sample::read(&self.shared);
        self.keys.set(sample.keys as f64);
        self.expired.absolute(sample.expired);
        self.evicted.absolute(sample.evicted);
        self.commands.absolute(sample.commands);
        self.clients.set(sample.clients as f64);
    }
}

/// Exports the gauges of a set of engines.
#[derive(Debug)]
pub struct EngineExport {
    engines: Vec<Watched>,
    used: Gauge,
    rss: Gauge,
}

impl EngineExport {
    /// Registers the gauges of `engines`, each `(label, state)`.
    pub fn new(engines: Vec<(String, Arc<Shared>)>) -> EngineExport {
        EngineExport {
            engines: engines
                .into_iter()
                .map(|(name, shared)| Watched::new(&name, shared))
                .collect(),
            used: gauge!(ENGINE_MEMORY_USED_BYTES),
            rss: gauge!(ENGINE_MEMORY_RSS_BYTES),
        }
    }

    /// Samples every engine once.
    pub fn export(&self) {
        for engine in &self.engines {
            engine.export();
        }
        let (used, rss) = process_memory();
        self.used.set(used as f64);
        self.rss.set(rss as f64);
    }

    /// Samples every [`SAMPLE_INTERVAL`] until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future) {
        let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = tick.tick() => self.export(),
                _ = &mut shutdown => return,
            }
        }
    }
}

/// The process's allocated bytes (jemalloc's `stats.allocated`) and resident
/// set size; 0 for a figure that cannot be read.
pub fn process_memory() -> (u64, u64) {
    use tikv_jemalloc_ctl::{epoch, stats};
    let used = epoch::advance()
        .ok()
        .and_then(|_| stats::allocated::read().ok())
        .map_or(0, |n| n as u64);
    (used, rss().unwrap_or(0))
}

/// `VmRSS` from /proc/self/status, in bytes.
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kb.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineConfig;
    use bytes::Bytes;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    #[test]
    fn vm_rss_is_parsed_in_bytes() {
        let status = "Name:\tshardcar\nVmPeak:\t  9999 kB\nVmRSS:\t    2048 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss(status), Some(2048 * 1024));
        assert_eq!(parse_vm_rss("VmRSS: lots\n"), None);
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        assert!(rss().is_some_and(|n| n > 0));
    }

    #[test]
    fn samples_follow_the_keyspace() {
        let shared = Arc::new(Shared::new(EngineConfig::default()));
        assert_eq!(Sample::read(&shared), Sample::default());
        {
            let mut ks = shared.ks.lock();
            for (db, key) in [(0, "a"), (0, "b"), (3, "c")] {
                let value = crate::engine::value::Value::from_bytes(Bytes::from_static(b"v"));
                ks.dbs[db].insert(Bytes::from_static(key.as_bytes()), value, 0);
            }
            ks.stats.expired_keys = 7;
            ks.stats.evicted_keys = 2;
            ks.stats.total_commands = 40;
        }
        let sample = Sample::read(&shared);
        assert_eq!(
            sample,
            Sample {
                keys: 3,
                expired: 7,
                evicted: 2,
                commands: 40,
                clients: 0
            }
        );
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let export = metrics::with_local_recorder(&recorder, || {
            EngineExport::new(vec![("shard-a".into(), Arc::clone(&shared))])
        });
        export.export();
        let snap = snapshotter.snapshot().into_vec();
        let get = |name: &str| {
            snap.iter()
                .find(|(k, ..)| k.key().name() == name)
                .map(|(.., v)| v)
                .unwrap_or_else(|| panic!("{name} missing"))
        };
        assert_eq!(get(ENGINE_KEYS), &DebugValue::Gauge(3.0.into()));
        assert_eq!(get(ENGINE_EXPIRED_KEYS_TOTAL), &DebugValue::Counter(7));
        assert_eq!(get(ENGINE_COMMANDS_TOTAL), &DebugValue::Counter(40));
        let DebugValue::Gauge(used) = get(ENGINE_MEMORY_USED_BYTES) else {
            panic!("gauge")
        };
        assert!(used.0 > 0.0, "jemalloc reports allocated bytes");
    }
}
