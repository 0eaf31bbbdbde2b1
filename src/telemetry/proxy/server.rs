//! The metrics of a pool's backend servers: one [`ServerMetrics`] per server,
//! shared by its connections, and the [`Pipelined`] guard of a request written
//! to one of them.

use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

use super::{Connection, ErrorKind};
use crate::telemetry::{
    LABEL_KIND, LABEL_POOL, LABEL_SERVER, PROXY_SERVER_CONNECTIONS, PROXY_SERVER_EJECTED,
    PROXY_SERVER_EJECTIONS_TOTAL, PROXY_SERVER_ERRORS_TOTAL, PROXY_SERVER_PIPELINE_DEPTH,
    PROXY_SERVER_READMISSIONS_TOTAL, PROXY_SERVER_RECEIVED_BYTES_TOTAL,
    PROXY_SERVER_REQUESTS_TOTAL, PROXY_SERVER_REQUEST_DURATION_SECONDS,
    PROXY_SERVER_SENT_BYTES_TOTAL,
};

/// A server's metric handles.
#[derive(Debug)]
pub struct ServerMetrics {
    pool: String,
    server: String,
    requests: Counter,
    /// Backend, timeout and protocol errors (the kinds a server can cause).
    errors: [Counter; 3],
    latency: Histogram,
    connections: Gauge,
    pipeline: Gauge,
    ejected: Gauge,
    ejections: Counter,
    readmissions: Counter,
    sent: Counter,
    received: Counter,
}

const SERVER_ERROR_KINDS: [ErrorKind; 3] =
    [ErrorKind::Backend, ErrorKind::Timeout, ErrorKind::Protocol];

impl ServerMetrics {
    /// Registers the metrics of server `server` of pool `pool`.
    pub fn new(pool: &str, server: &str) -> ServerMetrics {
        let labels = || {
            [
                (LABEL_POOL, pool.to_string()),
                (LABEL_SERVER, server.to_string()),
            ]
        };
        let error = |kind: ErrorKind| {
            counter!(PROXY_SERVER_ERRORS_TOTAL, LABEL_POOL => pool.to_string(),
                LABEL_SERVER => server.to_string(), LABEL_KIND => kind.as_str())
        };
        ServerMetrics {
            pool: pool.to_string(),
            server: server.to_string(),
            requests: counter!(PROXY_SERVER_REQUESTS_TOTAL, &labels()),
            errors: SERVER_ERROR_KINDS.map(error),
            latency: histogram!(PROXY_SERVER_REQUEST_DURATION_SECONDS, &labels()),
            connections: gauge!(PROXY_SERVER_CONNECTIONS, &labels()),
            pipeline: gauge!(PROXY_SERVER_PIPELINE_DEPTH, &labels()),
            ejected: gauge!(PROXY_SERVER_EJECTED, &labels()),
            ejections: counter!(PROXY_SERVER_EJECTIONS_TOTAL, &labels()),
            readmissions: counter!(PROXY_SERVER_READMISSIONS_TOTAL, &labels()),
            sent: counter!(PROXY_SERVER_SENT_BYTES_TOTAL, &labels()),
            received: counter!(PROXY_SERVER_RECEIVED_BYTES_TOTAL, &labels()),
        }
    }

    /// Counts a request (or part of one) of `bytes` bytes sent to this server.
    pub fn request(&self, bytes: usize) {
        self.requests.increment(1);
        self.sent.increment(bytes as u64);
    }

    pub(super) fn error(&self, kind: ErrorKind) {
        if let Some(i) = SERVER_ERROR_KINDS.iter().position(|&k| k == kind) {
            self.errors[i].increment(1);
        }
    }

    /// Counts reply bytes read from this server.
    pub fn received(&self, bytes: usize) {
        self.received.increment(bytes as u64);
    }

    /// Counts a connection to this server, open until the guard is dropped.
    pub fn connected(&self) -> Connection {
        Connection::open(self.connections.clone())
    }

    /// A request written to this server: in its pipeline until the guard is
    /// dropped; [`Pipelined::answered`] records how long the server took.
    pub fn pipelined(self: &Arc<Self>) -> Pipelined {
        self.pipeline.increment(1.0);
        Pipelined {
            metrics: Arc::clone(self),
            written: Instant::now(),
        }
    }

    /// Sets the ejected gauge to the server's state without counting or
    /// logging anything: when a pool snapshot is built (a reload keeps an
    /// ejected server ejected), and 0 for a server a reload removed, so that
    /// no alert stays on for a server that is gone.
    pub fn show_ejected(&self, ejected: bool) {
        self.ejected.set(if ejected { 1.0 } else { 0.0 });
    }

    /// Logs and counts the server's ejection after `failures` consecutive failures,
    /// for `retry` (the pool's `server_retry_timeout`).
    pub fn ejected(&self, failures: u32, retry: Duration) {
        self.ejections.increment(1);
        self.ejected.set(1.0);
        tracing::warn!(
            pool = %self.pool,
            server = %self.server,
            failures,
            retry_ms = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX),
            "server ejected"
        );
    }

    /// Logs and counts the server's return to the ring.
    pub fn readmitted(&self) {
        self.readmissions.increment(1);
        self.ejected.set(0.0);
        tracing::info!(pool = %self.pool, server = %self.server, "server re-admitted");
    }
}

/// A request waiting in a server's pipeline.
#[derive(Debug)]
pub struct Pipelined {
    metrics: Arc<ServerMetrics>,
    written: Instant,
}

impl Pipelined {
    /// The server answered: record how long it took.
    pub fn answered(self) {
        self.metrics.latency.record(self.written.elapsed());
    }
}

impl Drop for Pipelined {
    fn drop(&mut self) {
        self.metrics.pipeline.decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::testing::{snapshot, value, with_recorder, V};

    #[test]
    fn ejection_and_readmission_flip_the_gauge() {
        let (server, snapshotter) = with_recorder(|| ServerMetrics::new("p", "s"));
        server.ejected(3, Duration::from_secs(30));
        let snap = snapshot(&snapshotter);
        assert_eq!(value(&snap, PROXY_SERVER_EJECTED, &[]), V::G(1.0));
        assert_eq!(value(&snap, PROXY_SERVER_EJECTIONS_TOTAL, &[]), V::C(1));
        server.readmitted();
        let snap = snapshot(&snapshotter);
        assert_eq!(value(&snap, PROXY_SERVER_EJECTED, &[]), V::G(0.0));
        assert_eq!(value(&snap, PROXY_SERVER_READMISSIONS_TOTAL, &[]), V::C(1));
    }
}
