//! twemproxy's stats: the counters it keeps per pool and per server, and the JSON
//! document its stats port serves, field for field, so nutcracker dashboards and
//! exporters (Telegraf, Datadog, twemproxy_exporter) keep working.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use super::pool::Pool;
use super::reload::Table;

/// The version reported as twemproxy's, so consumers that check it are content.
pub const TWEMPROXY_VERSION: &str = "0.5.0";

macro_rules! counters {
    ($(#[$doc:meta])* $name:ident { $($field:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Default)]
        pub struct $name {
            $(
                #[doc = concat!("twemproxy's `", stringify!($field), "`.")]
                pub $field: AtomicU64,
            )*
        }

        impl $name {
            /// The counters as JSON members, in twemproxy's order.
            fn write_json(&self, out: &mut String) {
                let fields = [$((stringify!($field), self.$field.load(Ordering::Relaxed))),*];
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "\"{name}\":{value}");
                }
            }
        }
    };
}

counters!(
    /// Per-pool counters.
    PoolStats {
        client_eof,
        client_err,
        client_connections,
        server_ejects,
        forward_error,
        fragments,
    }
);

counters!(
    /// Per-server counters.
    ServerStats {
        server_eof,
        server_err,
        server_timedout,
        server_connections,
        server_ejected_at,
        requests,
        request_bytes,
        responses,
        response_bytes,
        in_queue,
        in_queue_bytes,
        out_queue,
        out_queue_bytes,
    }
);

/// Bumps a counter by one.
pub fn incr(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n` to a counter.
pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Process-wide counters.
#[derive(Debug)]
pub struct ProcessStats {
    /// When the proxy started.
    pub started: Instant,
    /// Client connections accepted since start.
    pub total_connections: AtomicU64,
    /// Client connections open now.
    pub curr_connections: AtomicU64,
}

impl Default for ProcessStats {
    fn default() -> Self {
        ProcessStats {
            started: Instant::now(),
            total_connections: AtomicU64::new(0),
            curr_connections: AtomicU64::new(0),
        }
    }
}

/// The stats document, as twemproxy writes it (one line of JSON).
pub fn render(process: &ProcessStats, pools: &[Arc<Pool>]) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let source = hostname();
    let mut out = format!(
        "{{\"service\":\"nutcracker\", \"source\":\"{}\", \"version\":\"{TWEMPROXY_VERSION}\", \"uptime\":{}, \"timestamp\":{now}, \"total_connections\":{}, \"curr_connections\":{}",
        escape(&source),
        process.started.elapsed().as_secs(),
        process.total_connections.load(Ordering::Relaxed),
        process.curr_connections.load(Ordering::Relaxed),
    );
    // twemproxy's separators: ", " before the first member of an object, ","
    // between pools and between servers.
    for (i, pool) in pools.iter().enumerate() {
        let sep = if i == 0 { ", " } else { "," };
        let _ = write!(out, "{sep}\"{}\": {{", escape(&pool.cfg.name));
        pool.stats.write_json(&mut out);
        for (j, server) in pool.servers_in_twemproxy_order().enumerate() {
            let sep = if j == 0 { ", " } else { "," };
            let _ = write!(out, "{sep}\"{}\": {{", escape(&server.name));
            server.stats.write_json(&mut out);
            out.push('}');
        }
        out.push('}');
    }
    out.push_str("}\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Serves the stats document to every connection on `listener`, then closes it,
/// as twemproxy's stats port does.
pub async fn serve(listener: TcpListener, process: Arc<ProcessStats>, routing: Table) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let body = render(&process, &routing.load().pools);
        tokio::spawn(async move {
            let _ = socket.write_all(body.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn servers_are_listed_in_twemproxys_order() {
        let yaml = "p:\n  listen: 127.0.0.1:1\n  redis: true\n  servers:\n   - 127.0.0.1:7003:3 node-c-long-name\n   - 127.0.0.1:7001:1\n   - 127.0.0.1:7002:2 cache-b\n";
        let cfg = Config::from_yaml(yaml).unwrap();
        let pool = Arc::new(Pool::new(cfg.pools[0].clone()));
        let doc = render(&ProcessStats::default(), &[pool]);
        let at = |name: &str| doc.find(&format!("\"{name}\": {{")).unwrap();
        assert!(at("cache-b") < at("127.0.0.1:7001"));
        assert!(at("127.0.0.1:7001") < at("node-c-long-name"));
        assert!(doc.contains("\"fragments\":0, \"cache-b\": {"), "{doc}");
        assert!(doc.contains("},\"127.0.0.1:7001\": {"), "{doc}");
        assert!(doc.ends_with("}}}\n"), "{doc}");
    }
}
