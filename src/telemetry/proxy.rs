//! The proxy's metrics: one [`PoolMetrics`] per pool and one [`ServerMetrics`]
//! per server, holding handles registered once, so the hot path only bumps
//! atomics. Guards ([`Timer`], [`Pipelined`], [`Connection`]) keep the gauges
//! right whichever way a request or a connection ends.
//!
//! The proxy calls these in one line each; the logic (what counts as which error,
//! when a request is slow, what an ejection logs) lives here.

mod server;

pub use server::{Pipelined, ServerMetrics};

use bytes::Bytes;
use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

use super::{
    LABEL_COMMAND, LABEL_KIND, LABEL_POOL, PROXY_CLIENT_CONNECTIONS,
    PROXY_CLIENT_CONNECTIONS_TOTAL, PROXY_CLIENT_RECEIVED_BYTES_TOTAL,
    PROXY_CLIENT_SENT_BYTES_TOTAL, PROXY_ERRORS_TOTAL, PROXY_IN_FLIGHT_REQUESTS,
    PROXY_REQUESTS_TOTAL, PROXY_REQUEST_DURATION_SECONDS,
};
use crate::command;
use crate::proxy::backend::BackendError;
use crate::resp::Frame;

/// The `command` label of names that are not in the command table.
pub const UNKNOWN_COMMAND: &str = "unknown";

/// Replies the proxy makes itself when it cannot route a request start so
/// (DESIGN.md: errors that name the command and why).
const UNROUTABLE_PREFIX: &[u8] = b"ERR shardcar:";

/// Why a request got an error, or a connection ended with one: the `kind` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The client's fault: unknown command, wrong arity, NOAUTH, a bad argument,
    /// or its connection failed.
    Client,
    /// A server could not be reached, or its connection broke.
    Backend,
    /// A server did not answer within the pool's `timeout`.
    Timeout,
    /// Malformed RESP, from a client (which is then disconnected) or a server.
    Protocol,
    /// The proxy cannot route the command (unsupported across shards, no live server).
    Unroutable,
}

impl ErrorKind {
    /// Every kind, in label order.
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::Client,
        ErrorKind::Backend,
        ErrorKind::Timeout,
        ErrorKind::Protocol,
        ErrorKind::Unroutable,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Client => "client",
            ErrorKind::Backend => "backend",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Unroutable => "unroutable",
        }
    }

    /// The kind of a backend failure.
    pub fn of_backend(err: &BackendError) -> ErrorKind {
        match err {
            BackendError::Timeout => ErrorKind::Timeout,
            BackendError::Protocol(_) => ErrorKind::Protocol,
            BackendError::Io(_) | BackendError::Handshake(_) => ErrorKind::Backend,
            BackendError::Aborted => ErrorKind::Client,
        }
    }

    /// The kind of an error reply the proxy made itself without asking a server.
    pub fn of_immediate(text: &[u8]) -> ErrorKind {
        if text.starts_with(UNROUTABLE_PREFIX) {
            ErrorKind::Unroutable
        } else {
            ErrorKind::Client
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The command table's position and name of a request's command: bounded label
/// values, `unknown` (at the table's length) for everything else.
pub fn command_label(name: &[u8]) -> (usize, &'static str) {
    command::lookup(name)
        .and_then(|spec| Some((command::position(spec)?, spec.name)))
        .unwrap_or((command::commands().len(), UNKNOWN_COMMAND))
}

/// A pool's metric handles.
#[derive(Debug)]
pub struct PoolMetrics {
    pool: String,
    /// Per command, registered on first use (a pool sees few of the ~240).
    requests: Box<[OnceLock<Counter>]>,
    errors: [Counter; 5],
    latency: Histogram,
    in_flight: Gauge,
    clients: Gauge,
    clients_total: Counter,
    received: Counter,
    sent: Counter,
    /// Requests slower than this are logged (ns; `u64::MAX`: never).
    slow_ns: AtomicU64,
}

impl PoolMetrics {
    /// Registers pool `pool`'s metrics with the current recorder.
    pub fn new(pool: &str) -> PoolMetrics {
        let label = || (LABEL_POOL, pool.to_string());
        let error = |kind: ErrorKind| counter!(PROXY_ERRORS_TOTAL, LABEL_POOL => pool.to_string(), LABEL_KIND => kind.as_str());
        PoolMetrics {
            pool: pool.to_string(),
            requests: (0..=command::commands().len())
                .map(|_| OnceLock::new())
                .collect(),
            errors: ErrorKind::ALL.map(error),
            latency: histogram!(PROXY_REQUEST_DURATION_SECONDS, &[label()]),
            in_flight: gauge!(PROXY_IN_FLIGHT_REQUESTS, &[label()]),
            clients: gauge!(PROXY_CLIENT_CONNECTIONS, &[label()]),
            clients_total: counter!(PROXY_CLIENT_CONNECTIONS_TOTAL, &[label()]),
            received: counter!(PROXY_CLIENT_RECEIVED_BYTES_TOTAL, &[label()]),
            sent: counter!(PROXY_CLIENT_SENT_BYTES_TOTAL, &[label()]),
            slow_ns: AtomicU64::new(u64::MAX),
        }
    }

    /// The pool's name.
    pub fn pool(&self) -> &str {
        &self.pool
    }

    /// Logs requests slower than `threshold` (None: none).
    pub fn set_slow_threshold(&self, threshold: Option<Duration>) {
        let ns = threshold.map_or(u64::MAX, |t| {
            u64::try_from(t.as_nanos()).unwrap_or(u64::MAX)
        });
        self.slow_ns.store(ns, Ordering::Relaxed);
    }

    fn slow_threshold(&self) -> Option<Duration> {
        match self.slow_ns.load(Ordering::Relaxed) {
            u64::MAX => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }

    /// Counts a request by its command (`args[0]`).
    pub fn request(&self, name: &[u8]) {
        let (index, label) = command_label(name);
        self.requests[index]
            .get_or_init(|| {
                counter!(PROXY_REQUESTS_TOTAL, LABEL_POOL => self.pool.clone(), LABEL_COMMAND => label)
            })
            .increment(1);
    }

    /// Counts an error of `kind`.
    pub fn error(&self, kind: ErrorKind) {
        self.errors[kind.index()].increment(1);
    }

    /// Counts a reply the proxy made without a server if it is an error (by whose
    /// fault), and hands it back.
    pub fn immediate(&self, frame: Frame) -> Frame {
        if let Frame::Error(text) = &frame {
            self.error(ErrorKind::of_immediate(text));
        }
        frame
    }

    /// Counts a failed backend request against the pool and the server.
    pub fn backend_error(&self, server: &ServerMetrics, err: &BackendError) {
        let kind = ErrorKind::of_backend(err);
        self.error(kind);
        server.error(kind);
    }

    /// Counts bytes read from a client.
    pub fn client_received(&self, bytes: usize) {
        self.received.increment(bytes as u64);
    }

    /// Counts reply bytes written to a client.
    pub fn client_sent(&self, bytes: usize) {
        self.sent.increment(bytes as u64);
    }

    /// Counts a client connection, open until the guard is dropped.
    pub fn client_connected(&self) -> Connection {
        self.clients_total.increment(1);
        Connection::open(self.clients.clone())
    }

    /// Starts timing a forwarded request: in flight until the timer is dropped,
    /// when its latency is recorded (and logged if slow) — unless it is not
    /// `timed`: a blocking command's wait says nothing about the proxy.
    pub fn start(self: &Arc<Self>, command: &Bytes, timed: bool) -> Timer {
        self.in_flight.increment(1.0);
        Timer {
            metrics: Arc::clone(self),
            started: Instant::now(),
            command: command.clone(),
            timed,
        }
    }
}

/// A forwarded request's clock. Dropping it ends the request: the latency goes to
/// the pool's histogram and, above the slow threshold, to the log.
#[derive(Debug)]
pub struct Timer {
    metrics: Arc<PoolMetrics>,
    started: Instant,
    /// The command name as the client sent it; resolved to a table name only
    /// when logged, and never logged as sent.
    command: Bytes,
    /// False for blocking commands: no latency, no slow log.
    timed: bool,
}

impl Timer {
    /// When the request was read.
    pub fn at(&self) -> Instant {
        self.started
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.metrics.in_flight.decrement(1.0);
        if !self.timed {
            return;
        }
        let elapsed = self.started.elapsed();
        self.metrics.latency.record(elapsed);
        if self.metrics.slow_threshold().is_some_and(|t| elapsed >= t) {
            tracing::warn!(
                pool = %self.metrics.pool,
                command = command_label(&self.command).1,
                elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                "slow request"
            );
        }
    }
}

/// An open connection counted in a gauge until dropped.
#[derive(Debug)]
pub struct Connection {
    gauge: Gauge,
}

impl Connection {
    pub(super) fn open(gauge: Gauge) -> Connection {
        gauge.increment(1.0);
        Connection { gauge }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.gauge.decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::testing::{snapshot, value, with_recorder, V};
    use crate::telemetry::{
        PROXY_SERVER_CONNECTIONS, PROXY_SERVER_ERRORS_TOTAL, PROXY_SERVER_PIPELINE_DEPTH,
        PROXY_SERVER_REQUEST_DURATION_SECONDS,
    };
    use metrics_util::debugging::Snapshotter;

    #[test]
    fn command_labels_come_from_the_table() {
        assert_eq!(command_label(b"GET").1, "get");
        assert_eq!(command_label(b"get").1, "get");
        assert_eq!(command_label(b"hSeT").1, "hset");
        let unknown = command_label(b"user-supplied-garbage:\xff");
        assert_eq!(unknown, (command::commands().len(), UNKNOWN_COMMAND));
        let (i, name) = command_label(b"MGET");
        assert_eq!(command::commands()[i].name, name);
    }

    #[test]
    fn requests_are_counted_by_command_never_by_raw_name() {
        let (_, snapshotter) = with_recorder(|| {
            let pool = PoolMetrics::new("alpha");
            pool.request(b"GET");
            pool.request(b"get");
            pool.request(b"secret-key-looking-thing");
            pool.request(b"SET");
        });
        let snap = snapshot(&snapshotter);
        let get = [("pool", "alpha"), ("command", "get")];
        assert_eq!(value(&snap, PROXY_REQUESTS_TOTAL, &get), V::C(2));
        let unknown = [("pool", "alpha"), ("command", "unknown")];
        assert_eq!(value(&snap, PROXY_REQUESTS_TOTAL, &unknown), V::C(1));
        let commands: Vec<String> = snap
            .iter()
            .filter(|(k, _)| k.key().name() == PROXY_REQUESTS_TOTAL)
            .flat_map(|(k, _)| {
                k.key()
                    .labels()
                    .map(|l| l.value().to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(
            !commands.iter().any(|c| c.contains("secret")),
            "{commands:?}"
        );
    }

    #[test]
    fn immediate_errors_are_classified_and_every_kind_is_registered() {
        let (_, snapshotter) = with_recorder(|| {
            let pool = PoolMetrics::new("p");
            let ok = pool.immediate(Frame::ok());
            assert_eq!(ok, Frame::ok());
            pool.immediate(Frame::error("ERR unknown command 'foo'"));
            pool.immediate(Frame::error("NOAUTH Authentication required."));
            pool.immediate(Frame::error("ERR shardcar: KEYS is not supported"));
        });
        let snap = snapshot(&snapshotter);
        let count = |kind| value(&snap, PROXY_ERRORS_TOTAL, &[("pool", "p"), ("kind", kind)]);
        assert_eq!(count("client"), V::C(2));
        assert_eq!(count("unroutable"), V::C(1));
        for kind in ["backend", "timeout", "protocol"] {
            assert_eq!(count(kind), V::C(0));
        }
    }

    #[test]
    fn backend_errors_count_for_pool_and_server() {
        let (_, snapshotter) = with_recorder(|| {
            let pool = PoolMetrics::new("p");
            let server = ServerMetrics::new("p", "s1");
            pool.backend_error(&server, &BackendError::Timeout);
            pool.backend_error(&server, &BackendError::Io("Connection refused".into()));
            pool.backend_error(&server, &BackendError::Protocol("bad".into()));
            pool.backend_error(&server, &BackendError::Timeout);
        });
        let snap = snapshot(&snapshotter);
        let server = |kind| {
            value(
                &snap,
                PROXY_SERVER_ERRORS_TOTAL,
                &[("server", "s1"), ("kind", kind)],
            )
        };
        assert_eq!(server("timeout"), V::C(2));
        assert_eq!(server("backend"), V::C(1));
        assert_eq!(server("protocol"), V::C(1));
        let pool = value(
            &snap,
            PROXY_ERRORS_TOTAL,
            &[("pool", "p"), ("kind", "timeout")],
        );
        assert_eq!(pool, V::C(2));
    }

    fn guards() -> (Arc<PoolMetrics>, Arc<ServerMetrics>, Snapshotter) {
        let ((pool, server), snapshotter) = with_recorder(|| {
            (
                Arc::new(PoolMetrics::new("p")),
                Arc::new(ServerMetrics::new("p", "s")),
            )
        });
        (pool, server, snapshotter)
    }

    // The debugging recorder's snapshots reset every value, so each test reads once.

    #[test]
    fn guards_count_while_held() {
        let (pool, server, snapshotter) = guards();
        let _held = (
            pool.start(&Bytes::from_static(b"GET"), true),
            pool.client_connected(),
            server.connected(),
            server.pipelined(),
            server.pipelined(),
        );
        let snap = snapshot(&snapshotter);
        let gauge = |name| value(&snap, name, &[("pool", "p")]);
        assert_eq!(gauge(PROXY_IN_FLIGHT_REQUESTS), V::G(1.0));
        assert_eq!(gauge(PROXY_CLIENT_CONNECTIONS), V::G(1.0));
        assert_eq!(gauge(PROXY_SERVER_CONNECTIONS), V::G(1.0));
        assert_eq!(gauge(PROXY_SERVER_PIPELINE_DEPTH), V::G(2.0));
        assert_eq!(gauge(PROXY_CLIENT_CONNECTIONS_TOTAL), V::C(1));
    }

    #[test]
    fn guards_give_back_however_they_end() {
        let (pool, server, snapshotter) = guards();
        drop(pool.start(&Bytes::from_static(b"GET"), true));
        drop(pool.start(&Bytes::from_static(b"BLPOP"), false));
        drop(pool.client_connected());
        drop(server.connected());
        server.pipelined().answered();
        drop(server.pipelined()); // the connection failed before a reply
        let snap = snapshot(&snapshotter);
        for name in [
            PROXY_IN_FLIGHT_REQUESTS,
            PROXY_CLIENT_CONNECTIONS,
            PROXY_SERVER_CONNECTIONS,
            PROXY_SERVER_PIPELINE_DEPTH,
        ] {
            assert_eq!(value(&snap, name, &[]), V::G(0.0), "{name}");
        }
        assert_eq!(value(&snap, PROXY_REQUEST_DURATION_SECONDS, &[]), V::H(1));
        assert_eq!(
            value(&snap, PROXY_SERVER_REQUEST_DURATION_SECONDS, &[]),
            V::H(1),
            "only the answered request has a server latency"
        );
    }

    #[test]
    fn slow_threshold_round_trips() {
        let pool = PoolMetrics::new("p");
        assert_eq!(pool.slow_threshold(), None);
        pool.set_slow_threshold(Some(Duration::from_millis(25)));
        assert_eq!(pool.slow_threshold(), Some(Duration::from_millis(25)));
        pool.set_slow_threshold(None);
        assert_eq!(pool.slow_threshold(), None);
    }
}
