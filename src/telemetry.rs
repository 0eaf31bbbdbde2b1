//! Telemetry: logging setup, the Prometheus recorder, and the one table of every
//! metric shardcar exports — its name, kind, unit, labels and description.
//!
//! Metric names are fixed here and nowhere else: code elsewhere uses the
//! constants, through the handles of [`proxy`] and [`engine`]. Library code only
//! calls the `metrics` macros; the recorder and its exporter are installed by the
//! binary ([`install`]), so tests can use their own recorder
//! (`metrics_util::debugging::DebuggingRecorder`) or none at all.
//!
//! Naming follows Prometheus's conventions: a `shardcar_` prefix then the role
//! (`proxy`, `engine`, `cache`), base units (`_seconds`, `_bytes`), `_total` on counters.
//! Labels are bounded: pool and server names come from the configuration, the
//! command from the command table (`unknown` for anything else), the error kind
//! from [`proxy::ErrorKind`], the rule from the pool's `cache:` section. A key is
//! never a label.

pub mod cache;
pub mod engine;
pub mod proxy;
#[cfg(test)]
pub(crate) mod testing;

use metrics::Unit;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use std::path::Path;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// The `pool` label: a pool's name from the configuration.
pub const LABEL_POOL: &str = "pool";
/// The `server` label: a server's name (or `host:port`) from the configuration.
pub const LABEL_SERVER: &str = "server";
/// The `command` label: a name from the command table, or `unknown`.
pub const LABEL_COMMAND: &str = "command";
/// The `kind` label of error counters: see [`proxy::ErrorKind`].
pub const LABEL_KIND: &str = "kind";
/// The `engine` label: an embedded shard's server name, or a standalone engine's address.
pub const LABEL_ENGINE: &str = "engine";
/// The `rule` label: a cache rule's name from the configuration.
pub const LABEL_RULE: &str = "rule";
/// The `version` label of [`BUILD_INFO`].
pub const LABEL_VERSION: &str = "version";

/// Upper bounds of the latency histograms' buckets, in seconds: 50 µs to 10 s.
pub const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

/// How often histogram samples are folded into their buckets between scrapes.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// What kind of metric a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (and resets when the process restarts).
    Counter,
    /// Goes up and down.
    Gauge,
    /// A distribution of observations, exported as buckets.
    Histogram,
}

/// One exported metric.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    /// Its full name.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: Kind,
    /// Its unit.
    pub unit: Unit,
    /// The labels every series of it carries.
    pub labels: &'static [&'static str],
    /// The `# HELP` text.
    pub help: &'static str,
}

/// Declares each metric once: a constant for the name, and an entry of [`METRICS`].
macro_rules! metric_table {
    ($($konst:ident = $name:literal, $kind:ident, $unit:ident, [$($label:ident),*], $help:literal;)*) => {
        $(
            #[doc = $help]
            pub const $konst: &str = $name;
        )*

        /// Every metric shardcar exports.
        pub const METRICS: &[MetricDef] = &[$(MetricDef {
            name: $konst,
            kind: Kind::$kind,
            unit: Unit::$unit,
            labels: &[$($label),*],
            help: $help,
        }),*];
    };
}

metric_table! {
    BUILD_INFO = "shardcar_build_info", Gauge, Count, [LABEL_VERSION],
        "Always 1; the version label says which shardcar is running.";

    PROXY_REQUESTS_TOTAL = "shardcar_proxy_requests_total", Counter, Count, [LABEL_POOL, LABEL_COMMAND],
        "Requests received from clients, by command.";
    PROXY_ERRORS_TOTAL = "shardcar_proxy_errors_total", Counter, Count, [LABEL_POOL, LABEL_KIND],
        "Requests answered with an error, and client connections ended by one, by kind: client, backend, timeout, protocol, unroutable.";
    PROXY_REQUEST_DURATION_SECONDS = "shardcar_proxy_request_duration_seconds", Histogram, Seconds, [LABEL_POOL],
        "Time from reading a forwarded request to having its whole reply, measured at the proxy (blocking commands excluded; reads of cached keys included, a miss's SQL time with them).";
    PROXY_IN_FLIGHT_REQUESTS = "shardcar_proxy_in_flight_requests", Gauge, Count, [LABEL_POOL],
        "Forwarded requests not answered yet.";
    PROXY_CLIENT_CONNECTIONS = "shardcar_proxy_client_connections", Gauge, Count, [LABEL_POOL],
        "Client connections open now.";
    PROXY_CLIENT_CONNECTIONS_TOTAL = "shardcar_proxy_client_connections_total", Counter, Count, [LABEL_POOL],
        "Client connections accepted.";
    PROXY_CLIENT_RECEIVED_BYTES_TOTAL = "shardcar_proxy_client_received_bytes_total", Counter, Bytes, [LABEL_POOL],
        "Bytes read from clients.";
    PROXY_CLIENT_SENT_BYTES_TOTAL = "shardcar_proxy_client_sent_bytes_total", Counter, Bytes, [LABEL_POOL],
        "Bytes of replies written to clients.";

    PROXY_SERVER_REQUESTS_TOTAL = "shardcar_proxy_server_requests_total", Counter, Count, [LABEL_POOL, LABEL_SERVER],
        "Requests (or parts of split requests) sent to a server.";
    PROXY_SERVER_ERRORS_TOTAL = "shardcar_proxy_server_errors_total", Counter, Count, [LABEL_POOL, LABEL_SERVER, LABEL_KIND],
        "Requests a server did not answer, by kind: backend (connection failed or broke), timeout, protocol.";
    PROXY_SERVER_REQUEST_DURATION_SECONDS = "shardcar_proxy_server_request_duration_seconds", Histogram, Seconds, [LABEL_POOL, LABEL_SERVER],
        "Time from writing a request to a server to reading its reply, measured at the backend connection.";
    PROXY_SERVER_CONNECTIONS = "shardcar_proxy_server_connections", Gauge, Count, [LABEL_POOL, LABEL_SERVER],
        "Connections to a server open now (shared and private).";
    PROXY_SERVER_PIPELINE_DEPTH = "shardcar_proxy_server_pipeline_depth", Gauge, Count, [LABEL_POOL, LABEL_SERVER],
        "Requests written to a server's connections and waiting for their replies.";
    PROXY_SERVER_EJECTED = "shardcar_proxy_server_ejected", Gauge, Count, [LABEL_POOL, LABEL_SERVER],
        "1 while a server is ejected from its pool's ring, else 0.";
    PROXY_SERVER_EJECTIONS_TOTAL = "shardcar_proxy_server_ejections_total", Counter, Count, [LABEL_POOL, LABEL_SERVER],
        "Times a server was ejected after server_failure_limit consecutive failures.";
    PROXY_SERVER_READMISSIONS_TOTAL = "shardcar_proxy_server_readmissions_total", Counter, Count, [LABEL_POOL, LABEL_SERVER],
        "Times an ejected server was put back after server_retry_timeout.";
    PROXY_SERVER_SENT_BYTES_TOTAL = "shardcar_proxy_server_sent_bytes_total", Counter, Bytes, [LABEL_POOL, LABEL_SERVER],
        "Request bytes sent to a server.";
    PROXY_SERVER_RECEIVED_BYTES_TOTAL = "shardcar_proxy_server_received_bytes_total", Counter, Bytes, [LABEL_POOL, LABEL_SERVER],
        "Reply bytes read from a server.";

    ENGINE_KEYS = "shardcar_engine_keys", Gauge, Count, [LABEL_ENGINE],
        "Keys in all of an engine's databases (expired keys not yet removed included).";
    ENGINE_EXPIRED_KEYS_TOTAL = "shardcar_engine_expired_keys_total", Counter, Count, [LABEL_ENGINE],
        "Keys an engine removed because their TTL passed.";
    ENGINE_EVICTED_KEYS_TOTAL = "shardcar_engine_evicted_keys_total", Counter, Count, [LABEL_ENGINE],
        "Keys an engine evicted to stay under maxmemory.";
    ENGINE_COMMANDS_TOTAL = "shardcar_engine_commands_total", Counter, Count, [LABEL_ENGINE],
        "Commands an engine executed.";
    ENGINE_CONNECTED_CLIENTS = "shardcar_engine_connected_clients", Gauge, Count, [LABEL_ENGINE],
        "Client connections an engine has open (the proxy's included).";
    ENGINE_MEMORY_USED_BYTES = "shardcar_engine_memory_used_bytes", Gauge, Bytes, [],
        "Bytes allocated by the process (jemalloc), as INFO's used_memory; shared by every engine the process runs.";
    ENGINE_MEMORY_RSS_BYTES = "shardcar_engine_memory_rss_bytes", Gauge, Bytes, [],
        "Resident set size of the process, as INFO's used_memory_rss.";

    CACHE_HITS_TOTAL = "shardcar_cache_hits_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "Reads of a cached key answered by the backend.";
    CACHE_MISSES_TOTAL = "shardcar_cache_misses_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "Reads of a cached key the backend could not answer (then answered by pending writes, the negative cache or SQL).";
    CACHE_SQL_READS_TOTAL = "shardcar_cache_sql_reads_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "Rows fetched from SQL on a miss: one per key however many clients missed together.";
    CACHE_COALESCED_MISSES_TOTAL = "shardcar_cache_coalesced_misses_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "Misses that waited for another client's fetch of the same key instead of querying SQL.";
    CACHE_NEGATIVE_HITS_TOTAL = "shardcar_cache_negative_hits_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "Misses answered nil by a remembered absent row (negative_ttl).";
    CACHE_REFILLS_DISCARDED_TOTAL = "shardcar_cache_refills_discarded_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "Rows fetched from SQL but not cached, because a write to the key came in meanwhile.";
    CACHE_SQL_ERRORS_TOTAL = "shardcar_cache_sql_errors_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "SQL statements the database refused (a constraint, a type): reads and writes answered with an error, flushed rows retried one by one.";
    CACHE_SQL_UNREACHABLE_TOTAL = "shardcar_cache_sql_unreachable_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "SQL statements that could not run because the database was unreachable, locked or timed out (flushes are retried with backoff).";
    CACHE_JOURNALED_WRITES_TOTAL = "shardcar_cache_journaled_writes_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "Write-back writes acknowledged to clients once journaled.";
    CACHE_FLUSHED_WRITES_TOTAL = "shardcar_cache_flushed_writes_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "Journaled write-back writes applied to SQL (or moved to the dead-letter table).";
    CACHE_FLUSH_BATCHES_TOTAL = "shardcar_cache_flush_batches_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "Flush transactions committed.";
    CACHE_FLUSHED_ROWS_TOTAL = "shardcar_cache_flushed_rows_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "Row changes the flushes made: fewer than the writes when upserts of one key coalesce.";
    CACHE_DEAD_LETTERS_TOTAL = "shardcar_cache_dead_letters_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "Write-back writes SQL refused, recorded in shardcar_dead_letter instead.";
    CACHE_QUEUE_FULL_REJECTED_TOTAL = "shardcar_cache_queue_full_rejected_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "Write-back writes answered -BUSY because max_pending writes were waiting for SQL (on_full: reject).";
    CACHE_QUEUE_FULL_BLOCKED_TOTAL = "shardcar_cache_queue_full_blocked_total", Counter, Count, [LABEL_POOL, LABEL_RULE],
        "Write-back writes that waited for room because max_pending writes were waiting for SQL (on_full: block).";
    CACHE_PENDING_WRITES = "shardcar_cache_pending_writes", Gauge, Count, [LABEL_POOL, LABEL_RULE],
        "Journaled write-back writes not yet in SQL.";
    CACHE_FLUSH_LAG_SECONDS = "shardcar_cache_flush_lag_seconds", Gauge, Seconds, [LABEL_POOL, LABEL_RULE],
        "Age of the oldest journaled write-back write not yet in SQL; 0 when none waits.";
    CACHE_FLUSH_DURATION_SECONDS = "shardcar_cache_flush_duration_seconds", Histogram, Seconds, [LABEL_POOL, LABEL_RULE],
        "Time to apply one committed flush batch to SQL (dead letters included).";
    CACHE_JOURNAL_BYTES = "shardcar_cache_journal_bytes", Gauge, Bytes, [LABEL_POOL],
        "Bytes of a pool's write-back journal on disk (segments not yet applied in full).";
}

/// Registers every metric's description and unit with the installed recorder.
pub fn describe_all() {
    for def in METRICS {
        match def.kind {
            Kind::Counter => metrics::describe_counter!(def.name, def.unit, def.help),
            Kind::Gauge => metrics::describe_gauge!(def.name, def.unit, def.help),
            Kind::Histogram => metrics::describe_histogram!(def.name, def.unit, def.help),
        }
    }
}

/// The definition of metric `name`, if it is one of ours.
pub fn find(name: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|def| def.name == name)
}

/// Installs the Prometheus recorder as the process's global recorder, describes
/// every metric and sets [`BUILD_INFO`]. Only the binary calls this; the admin
/// port renders the returned handle. Call [`PrometheusHandle::run_upkeep`]
/// every [`UPKEEP_INTERVAL`] (see [`upkeep`]) so histogram samples stay bounded.
///
/// # Errors
/// A recorder is already installed.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS_SECONDS)?
        .install_recorder()?;
    describe_all();
    metrics::gauge!(BUILD_INFO, LABEL_VERSION => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(handle)
}

/// Folds histogram samples into buckets every [`UPKEEP_INTERVAL`] until
/// `shutdown` resolves.
pub async fn upkeep(handle: PrometheusHandle, shutdown: impl std::future::Future) {
    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = tick.tick() => handle.run_upkeep(),
            _ = &mut shutdown => return,
        }
    }
}

/// Sets up logging to stderr, or appended to `file`, filtered by `filter`.
///
/// # Errors
/// `file` cannot be opened.
pub fn init_logging(filter: EnvFilter, file: Option<&Path>) -> std::io::Result<()> {
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
        None => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .init(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique() {
        let mut seen = HashSet::new();
        for def in METRICS {
            assert!(seen.insert(def.name), "{} is declared twice", def.name);
        }
    }

    #[test]
    fn names_follow_the_conventions() {
        for def in METRICS {
            let name = def.name;
            assert!(name.starts_with("shardcar_"), "{name}: no shardcar_ prefix");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}: not snake_case"
            );
            assert_eq!(
                def.kind == Kind::Counter,
                name.ends_with("_total"),
                "{name}: _total is for counters, and every counter has it"
            );
            if def.kind == Kind::Histogram {
                assert!(
                    name.ends_with("_seconds"),
                    "{name}: histograms are in seconds"
                );
            }
            match def.unit {
                Unit::Bytes => assert!(name.contains("_bytes"), "{name}: unit bytes"),
                Unit::Seconds => assert!(name.contains("_seconds"), "{name}: unit seconds"),
                _ => {}
            }
            assert!(!def.help.is_empty(), "{name}: no description");
        }
    }

    #[test]
    fn labels_are_the_bounded_ones() {
        let allowed = [
            LABEL_POOL,
            LABEL_SERVER,
            LABEL_COMMAND,
            LABEL_KIND,
            LABEL_ENGINE,
            LABEL_RULE,
            LABEL_VERSION,
        ];
        for def in METRICS {
            for label in def.labels {
                assert!(allowed.contains(label), "{}: label {label}", def.name);
            }
        }
    }

    #[test]
    fn describe_all_describes_every_metric() {
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            describe_all();
            for def in METRICS {
                match def.kind {
                    Kind::Counter => metrics::counter!(def.name).increment(1),
                    Kind::Gauge => metrics::gauge!(def.name).set(1.0),
                    Kind::Histogram => metrics::histogram!(def.name).record(1.0),
                }
            }
        });
        let described: HashSet<String> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(_, unit, help, _)| unit.is_some() && help.is_some())
            .map(|(key, ..)| key.key().name().to_string())
            .collect();
        for def in METRICS {
            assert!(
                described.contains(def.name),
                "{} is not described",
                def.name
            );
        }
        assert_eq!(
            find(PROXY_REQUESTS_TOTAL).map(|d| d.kind),
            Some(Kind::Counter)
        );
        assert!(find("shardcar_nonexistent").is_none());
    }
}
