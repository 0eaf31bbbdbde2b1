//! The metrics a running `shardcar` exports, scraped from its admin port: every
//! metric declared in `src/telemetry.rs` appears, with HELP and TYPE, its label
//! values are bounded, its values follow the traffic; and every metric that the
//! Grafana dashboard and the Prometheus rules under `deploy/` query exists.

mod ops;

use ops::{config, free_port, get, poll, Scrape, Shardcar};
use shardcar::telemetry::{self, Kind, METRICS};
use std::collections::BTreeSet;
use std::path::Path;

/// A pool over two embedded shards on a free port, and its address.
pub(crate) fn embedded_pool() -> (tempfile::NamedTempFile, u16) {
    let port = free_port();
    let file = config(&format!(
        "alpha:\n  listen: 127.0.0.1:{port}\n  hash: fnv1a_64\n  distribution: ketama\n  \
         redis: true\n  timeout: 2000\n  servers:\n    - embedded:1 shard-a\n    - embedded:1 shard-b\n"
    ));
    (file, port)
}

/// `alpha` (see [`embedded_pool`]) and `beta`, a pool with an SQL cache in
/// `dir`: a look-aside rule on `user:{id}` and a write-back rule on
/// `event:{stream}`; and beta's port.
fn pools_with_a_cache(dir: &tempfile::TempDir) -> (tempfile::NamedTempFile, u16, u16) {
    let (alpha, port) = embedded_pool();
    let beta = free_port();
    let file = config(&format!(
        "{}beta:\n  listen: 127.0.0.1:{beta}\n  redis: true\n  servers:\n    - embedded:1 shard-c\n  \
         cache:\n    database: \"sqlite://{db}\"\n    journal: \"{journal}\"\n    rules:\n      \
         - {{name: users, match: \"user:{{id}}\", table: users, value: name, policy: look_aside, create: true}}\n      \
         - {{name: events, match: \"event:{{stream}}\", table: events, value: payload, policy: write_back, mode: append, flush_interval: 20ms, create: true}}\n",
        std::fs::read_to_string(alpha.path()).unwrap(),
        db = dir.path().join("cache.db").display(),
        journal = dir.path().join("journal").display(),
    ));
    (file, port, beta)
}

/// Through beta's cache: a miss read from SQL, a remembered absent row, a
/// journaled write.
fn cache_traffic(port: u16) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut con = client.get_connection().unwrap();
    for _ in 0..2 {
        let none: Option<String> = redis::cmd("GET").arg("user:7").query(&mut con).unwrap();
        assert_eq!(none, None);
    }
    let _: () = redis::cmd("SET")
        .arg("event:s1")
        .arg("hello")
        .query(&mut con)
        .unwrap();
}

/// Runs a little of everything through the proxy: each command counts.
fn traffic(port: u16) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut con = client.get_connection().unwrap();
    let _: () = redis::cmd("SET")
        .arg("user:1")
        .arg("v")
        .query(&mut con)
        .unwrap();
    let _: String = redis::cmd("GET").arg("user:1").query(&mut con).unwrap();
    let _: Vec<Option<String>> = redis::cmd("MGET")
        .arg(&["user:1", "user:2", "user:3", "user:4"])
        .query(&mut con)
        .unwrap();
    let unknown: redis::RedisResult<()> = redis::cmd("NOSUCHCOMMAND").arg("user:1").query(&mut con);
    assert!(unknown.is_err());
    let unroutable: redis::RedisResult<()> = redis::cmd("KEYS").arg("*").query(&mut con);
    assert!(unroutable.is_err());
}

/// Names of our metrics that a text (a dashboard, rules) mentions, histogram
/// series suffixes removed.
fn metric_names_in(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("shardcar_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                let base = name.strip_suffix(suffix)?;
                (telemetry::find(base)?.kind == Kind::Histogram).then_some(base)
            })
            .unwrap_or(name);
        names.insert(base.to_string());
        rest = &tail[end..];
    }
    names
}

/// Every file under `deploy/<dir>` whose name ends with one of `exts`.
fn deploy_files(dir: &str, exts: &[&str]) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(dir);
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| exts.iter().any(|ext| p.to_string_lossy().ends_with(ext)))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no {exts:?} under {}", dir.display());
    files
}

#[test]
fn every_declared_metric_is_on_a_live_scrape_and_follows_the_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, port, beta) = pools_with_a_cache(&dir);
    let proc = Shardcar::proxy(&cfg, &["--admin", "127.0.0.1:0", "--slow-request", "0ms"]);
    let admin = proc.admin();
    proc.wait_ready(admin);
    traffic(port);
    cache_traffic(beta);
    // The engine gauges are sampled every second: wait for the keys to show,
    // and for the write to be flushed.
    let scrape = poll(|| {
        let scrape = Scrape::take(admin);
        let flushed = scrape.sum(telemetry::CACHE_FLUSHED_WRITES_TOTAL, &[]);
        let journal = scrape.sum(telemetry::CACHE_JOURNAL_BYTES, &[("pool", "beta")]);
        let keys = scrape.sum(telemetry::ENGINE_KEYS, &[]);
        (keys >= 2.0 && flushed == 1.0 && journal > 0.0).then_some(scrape)
    })
    .expect("the engines' keys, the cached write flushed and the journal's size are exported");

    for def in METRICS {
        let kind = match def.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        assert_eq!(
            scrape.types.get(def.name).map(String::as_str),
            Some(kind),
            "{} TYPE",
            def.name
        );
        assert!(
            scrape.helped.iter().any(|n| n == def.name),
            "{} has no HELP",
            def.name
        );
        let sample = match def.kind {
            Kind::Histogram => format!("{}_bucket", def.name),
            _ => def.name.to_string(),
        };
        assert!(scrape.has(&sample), "{sample} is not on the scrape");
        for label in def.labels {
            assert!(
                scrape
                    .series(&sample)
                    .all(|(s, _)| s.contains(&format!("{label}=\""))),
                "{sample} lacks label {label}"
            );
        }
    }

    let alpha = [("pool", "alpha")];
    let requests = |command| {
        scrape.sum(
            telemetry::PROXY_REQUESTS_TOTAL,
            &[("pool", "alpha"), ("command", command)],
        )
    };
    assert_eq!(requests("set"), 1.0);
    assert_eq!(requests("get"), 1.0);
    assert_eq!(requests("mget"), 1.0);
    assert_eq!(
        requests("unknown"),
        1.0,
        "NOSUCHCOMMAND is counted as unknown"
    );
    let errors = |kind| {
        scrape.sum(
            telemetry::PROXY_ERRORS_TOTAL,
            &[("pool", "alpha"), ("kind", kind)],
        )
    };
    assert_eq!(errors("client"), 1.0);
    assert_eq!(errors("unroutable"), 1.0);
    assert_eq!(
        errors("backend") + errors("timeout") + errors("protocol"),
        0.0
    );
    // SET, GET and one part of MGET per shard it touched.
    let server_requests = scrape.sum(telemetry::PROXY_SERVER_REQUESTS_TOTAL, &alpha);
    assert!((3.0..=4.0).contains(&server_requests), "{server_requests}");
    assert_eq!(
        scrape.sum(telemetry::PROXY_CLIENT_CONNECTIONS, &alpha),
        0.0,
        "the client left"
    );
    assert_eq!(scrape.sum(telemetry::PROXY_IN_FLIGHT_REQUESTS, &alpha), 0.0);
    assert!(scrape.sum(telemetry::PROXY_CLIENT_RECEIVED_BYTES_TOTAL, &alpha) > 50.0);
    assert!(scrape.sum(telemetry::PROXY_SERVER_RECEIVED_BYTES_TOTAL, &alpha) > 0.0);
    let forwarded = scrape.sum("shardcar_proxy_request_duration_seconds_count", &alpha);
    assert_eq!(forwarded, 3.0, "SET, GET and MGET were forwarded");
    assert_eq!(
        scrape.sum(telemetry::ENGINE_KEYS, &[]),
        2.0,
        "user:1 in alpha, event:s1 in beta"
    );
    let rule = |name| [("pool", "beta"), ("rule", name)];
    let users = |name| scrape.sum(name, &rule("users"));
    assert_eq!(users(telemetry::CACHE_MISSES_TOTAL), 2.0);
    assert_eq!(users(telemetry::CACHE_SQL_READS_TOTAL), 1.0);
    assert_eq!(users(telemetry::CACHE_NEGATIVE_HITS_TOTAL), 1.0);
    let events = |name| scrape.sum(name, &rule("events"));
    assert_eq!(events(telemetry::CACHE_JOURNALED_WRITES_TOTAL), 1.0);
    assert_eq!(events(telemetry::CACHE_FLUSHED_ROWS_TOTAL), 1.0);
    let flushes = events("shardcar_cache_flush_duration_seconds_count");
    assert_eq!(flushes, events(telemetry::CACHE_FLUSH_BATCHES_TOTAL));

    assert!(scrape.sum(telemetry::ENGINE_MEMORY_RSS_BYTES, &[]) > 1e6);
    assert_eq!(
        scrape.sum(
            telemetry::BUILD_INFO,
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );

    // Label values are bounded: commands from the table, never a key.
    let table: BTreeSet<&str> = shardcar::command::commands()
        .iter()
        .map(|c| c.name)
        .collect();
    for command in scrape.label_values(telemetry::PROXY_REQUESTS_TOTAL, "command") {
        assert!(
            table.contains(command.as_str()) || command == "unknown",
            "command label {command}"
        );
    }
    let text = get(admin, "/metrics").1;
    for key in ["user:1", "user:7", "event:s1"] {
        assert!(!text.contains(key), "{key} leaked into the metrics");
    }

    // --slow-request 0ms: every forwarded request is logged, by command, never by key.
    let slow = proc.wait_log("slow request");
    assert!(
        slow.contains("pool=alpha") && slow.contains("command="),
        "{slow}"
    );
    assert!(!proc.log().contains("user:1"), "a key leaked into the log");

    // Whatever the dashboard and the alert rules query is on the scrape.
    let mut queried = BTreeSet::new();
    for (file, text) in deploy_files("grafana", &[".json"])
        .into_iter()
        .chain(deploy_files("prometheus", &[".yml"]))
    {
        let names = metric_names_in(&text);
        let is_query_file = file.ends_with(".json") || file.ends_with("alerts.yml");
        assert!(
            !is_query_file || !names.is_empty(),
            "{file} queries no shardcar metric"
        );
        for name in names {
            assert!(
                telemetry::find(&name).is_some(),
                "{file} queries {name}, which src/telemetry.rs does not declare"
            );
            let sample = match telemetry::find(&name).map(|d| d.kind) {
                Some(Kind::Histogram) => format!("{name}_bucket"),
                _ => name.clone(),
            };
            assert!(
                scrape.has(&sample),
                "{file} queries {name}, which is not on a live scrape"
            );
            queried.insert(name);
        }
    }
    // And the dashboard shows every metric.
    let dashboard: BTreeSet<String> = deploy_files("grafana", &[".json"])
        .iter()
        .flat_map(|(_, text)| metric_names_in(text))
        .collect();
    for def in METRICS {
        assert!(
            dashboard.contains(def.name),
            "the dashboard does not show {}",
            def.name
        );
    }
}

#[test]
fn metric_names_are_found_in_queries() {
    let names = metric_names_in(
        r#"histogram_quantile(0.99, rate(shardcar_proxy_request_duration_seconds_bucket{pool="a"}[5m])) / shardcar_proxy_requests_total"#,
    );
    let expected: BTreeSet<String> = [
        "shardcar_proxy_request_duration_seconds",
        "shardcar_proxy_requests_total",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(names, expected);
    // A counter whose name ends like a histogram series keeps its name.
    assert!(metric_names_in("shardcar_foo_count").contains("shardcar_foo_count"));
}

#[test]
fn the_engine_alone_exports_its_gauges() {
    let port = free_port();
    let proc = Shardcar::engine(port, "127.0.0.1:0");
    let admin = proc.admin();
    proc.wait_ready(admin);
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut con = client.get_connection().unwrap();
    for key in ["a", "b", "c"] {
        let _: () = redis::cmd("SET").arg(key).arg(1).query(&mut con).unwrap();
    }
    let engine = format!("127.0.0.1:{port}");
    let scrape = poll(|| {
        let scrape = Scrape::take(admin);
        (scrape.sum(telemetry::ENGINE_KEYS, &[("engine", &engine)]) == 3.0).then_some(scrape)
    })
    .expect("the engine's keys are exported");
    assert_eq!(
        scrape.sum(telemetry::ENGINE_CONNECTED_CLIENTS, &[("engine", &engine)]),
        1.0
    );
    assert!(scrape.sum(telemetry::ENGINE_MEMORY_USED_BYTES, &[]) > 0.0);
    assert!(
        !scrape.has(telemetry::PROXY_REQUESTS_TOTAL),
        "no proxy in this process"
    );
    let page = get(admin, "/").1;
    assert!(page.contains("role: engine"), "{page}");
}

#[test]
fn admin_off_serves_without_it_and_a_taken_address_is_an_error() {
    let (cfg, _) = embedded_pool();
    let off = Shardcar::proxy(&cfg, &["--admin", "off"]);
    off.wait_log("pool listening");
    assert!(!off.log().contains("admin HTTP listening"), "{}", off.log());
    drop(off);

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (cfg, _) = embedded_pool();
    let mut proc = Shardcar::proxy(&cfg, &["--admin", &addr]);
    let status = proc.wait_exit(ops::PATIENCE);
    assert!(!status.success());
    assert!(
        proc.log().contains("cannot listen for admin HTTP"),
        "{}",
        proc.log()
    );
}
