//! The status page at `/`, loaded in headless Chromium against a running
//! `shardcar proxy`: what its script shows once the traffic is over agrees with
//! a `/metrics` scrape — the pools and their servers, which server is ejected,
//! each pool's request and error totals, a server's mean latency, the cache's
//! hit rate and write-back lag.
//!
//! Needs SHARDCAR_TEST_CHROMIUM, the chromium binary (Debian's `chromium`);
//! without it the test prints "skipped: ..." and passes.

mod ops;

use ops::{config, free_port, poll, Scrape, Shardcar};
use shardcar::telemetry;
use std::collections::BTreeSet;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Virtual time Chromium gives the page before dumping its DOM: room for
/// several of the script's two-second refreshes, so rates are computed too.
const VIRTUAL_TIME_BUDGET_MS: u32 = 10_000;

/// Real time a Chromium run may take.
const CHROMIUM_PATIENCE: Duration = Duration::from_secs(60);

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("SHARDCAR_TEST_CHROMIUM")?;
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// `chromium --headless … --dump-dom url`: the DOM once the page's virtual
/// time budget is spent.
fn dump_dom(chromium: &Path, url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}"))
        .args(["--dump-dom", url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", chromium.display()));
    let read_all = |mut from: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = from.read_to_string(&mut text);
            text
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("stdout")));
    let stderr = read_all(Box::new(child.stderr.take().expect("stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > CHROMIUM_PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium still running after {CHROMIUM_PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (dom, log) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert!(status.success(), "chromium failed ({status}):\n{log}");
    assert!(
        dom.contains("</html>"),
        "no DOM dumped; chromium said:\n{log}"
    );
    dom
}

/// The text from `start` up to the first `end` after it (`start` included).
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)?;
    let len = text[from + start.len()..].find(end)? + start.len();
    Some(&text[from..from + len])
}

/// The value of attribute `name` in the start tag that holds `marker`.
fn attr(scope: &str, marker: &str, name: &str) -> Option<String> {
    let at = scope.find(marker)?;
    let tag_start = scope[..=at].rfind('<')?;
    let tag = between(&scope[tag_start..], "<", ">")?;
    let needle = format!(" {name}=\"");
    let value = between(tag, &needle, "\"")?;
    Some(value[needle.len()..].replace("&amp;", "&"))
}

/// What the page shows of one pool.
struct PoolView<'a>(&'a str);

impl PoolView<'_> {
    fn of<'a>(dom: &'a str, pool: &str) -> PoolView<'a> {
        let section = between(dom, &format!("<section data-pool=\"{pool}\""), "</section>");
        PoolView(section.unwrap_or_else(|| panic!("no section for pool {pool} in:\n{dom}")))
    }

    /// The `data-value` of the pool's figure `field`.
    fn figure(&self, field: &str) -> Option<String> {
        let pool_figures = self.0.split("<tr data-server=").next().unwrap_or(self.0);
        attr(
            pool_figures,
            &format!("data-field=\"{field}\""),
            "data-value",
        )
    }

    fn number(&self, field: &str) -> f64 {
        let value = self.figure(field);
        parse(value.as_deref(), field, self.0)
    }

    /// The server rows' names, in page order.
    fn servers(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut rest = self.0;
        while let Some(value) = attr(rest, "<tr data-server=\"", "data-server") {
            rest = &rest[rest.find("<tr data-server=\"").unwrap_or(0) + 1..];
            names.push(value);
        }
        names
    }

    /// The `<tr>` of `server`.
    fn row(&self, server: &str) -> &str {
        between(self.0, &format!("<tr data-server=\"{server}\""), "</tr>")
            .unwrap_or_else(|| panic!("no row for {server} in:\n{}", self.0))
    }

    fn server_figure(&self, server: &str, field: &str) -> Option<String> {
        attr(
            self.row(server),
            &format!("data-field=\"{field}\""),
            "data-value",
        )
    }

    fn server_number(&self, server: &str, field: &str) -> f64 {
        let value = self.server_figure(server, field);
        parse(value.as_deref(), field, self.row(server))
    }
}

fn parse(value: Option<&str>, field: &str, scope: &str) -> f64 {
    value
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} shows no number ({value:?}) in:\n{scope}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

/// `shardcar engine` on a free port, without an admin port, and that port.
fn engine() -> (Shardcar, u16) {
    let port = free_port();
    let proc = Shardcar::engine(port, "off");
    proc.wait_log("ready to accept connections");
    (proc, port)
}

/// `alpha` over two engines `one` and `two`, ejected after one failure for
/// ten minutes; `beta` over an embedded shard with an SQL cache in `dir` (a
/// look-aside rule on `user:{id}`, a write-back rule on `event:{stream}`).
fn two_pools(dir: &Path, one: u16, two: u16) -> (tempfile::NamedTempFile, u16, u16) {
    let (alpha, beta) = (free_port(), free_port());
    let file = config(&format!(
        "alpha:\n  listen: 127.0.0.1:{alpha}\n  redis: true\n  hash: fnv1a_64\n  distribution: ketama\n  \
         timeout: 1000\n  auto_eject_hosts: true\n  server_failure_limit: 1\n  server_retry_timeout: 600000\n  \
         servers:\n    - 127.0.0.1:{one}:1 one\n    - 127.0.0.1:{two}:1 two\n\
         beta:\n  listen: 127.0.0.1:{beta}\n  redis: true\n  servers:\n    - embedded:1 shard-c\n  \
         cache:\n    database: \"sqlite://{db}\"\n    journal: \"{journal}\"\n    rules:\n      \
         - {{name: users, match: \"user:{{id}}\", table: users, value: name, policy: look_aside, create: true}}\n      \
         - {{name: events, match: \"event:{{stream}}\", table: events, value: payload, policy: write_back, mode: append, flush_interval: 20ms, create: true}}\n",
        db = dir.join("cache.db").display(),
        journal = dir.join("journal").display(),
    ));
    (file, alpha, beta)
}

fn connect(port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    client.get_connection().unwrap()
}

/// SETs `key:0` … `key:19` through `port`, some of them failing if a server
/// is down.
fn set_keys(port: u16) {
    let mut con = connect(port);
    for i in 0..20 {
        let _: redis::RedisResult<()> = redis::cmd("SET")
            .arg(format!("key:{i}"))
            .arg(i)
            .query(&mut con);
    }
}

/// Through beta's cache: a write to SQL, a miss that reads it back, a hit, a
/// journaled write.
fn cache_traffic(port: u16) {
    let mut con = connect(port);
    let _: () = redis::cmd("SET")
        .arg("user:1")
        .arg("ada")
        .query(&mut con)
        .unwrap();
    for _ in 0..2 {
        let name: String = redis::cmd("GET").arg("user:1").query(&mut con).unwrap();
        assert_eq!(name, "ada");
    }
    let _: () = redis::cmd("SET")
        .arg("event:s1")
        .arg("hello")
        .query(&mut con)
        .unwrap();
}

/// Loads the page once the traffic is over, between two scrapes that agree.
fn page_and_scrape(chromium: &Path, admin: SocketAddr) -> (String, Scrape) {
    let before = Scrape::take(admin);
    let dom = dump_dom(chromium, &format!("http://{admin}/"));
    let after = Scrape::take(admin);
    for name in [
        telemetry::PROXY_REQUESTS_TOTAL,
        telemetry::PROXY_ERRORS_TOTAL,
        telemetry::PROXY_SERVER_EJECTED,
        telemetry::CACHE_HITS_TOTAL,
    ] {
        assert_eq!(
            before.sum(name, &[]),
            after.sum(name, &[]),
            "{name} moved while the page loaded: the traffic is not over"
        );
    }
    (dom, after)
}

#[test]
fn the_status_page_shows_what_metrics_says() {
    let Some(chromium) = chromium() else {
        println!("skipped: set SHARDCAR_TEST_CHROMIUM to the chromium binary");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (one, one_port) = engine();
    let (two, two_port) = engine();
    let (cfg, alpha, beta) = two_pools(dir.path(), one_port, two_port);
    let proc = Shardcar::proxy(&cfg, &["--admin", "127.0.0.1:0"]);
    let admin = proc.admin();
    proc.wait_ready(admin);

    set_keys(alpha);
    cache_traffic(beta);
    // `two` stops: the first request routed to it fails and ejects it.
    drop(two);
    set_keys(alpha);
    let ejected = [("pool", "alpha"), ("server", "two")];
    poll(|| {
        let scrape = Scrape::take(admin);
        let flushed = scrape.sum(telemetry::CACHE_FLUSHED_WRITES_TOTAL, &[("pool", "beta")]);
        let lag = scrape.sum(telemetry::CACHE_FLUSH_LAG_SECONDS, &[("pool", "beta")]);
        let pending = scrape.sum(telemetry::CACHE_PENDING_WRITES, &[("pool", "beta")]);
        let out = scrape.sum(telemetry::PROXY_SERVER_EJECTED, &ejected) == 1.0;
        (out && flushed == 1.0 && pending == 0.0 && lag == 0.0).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "two is never ejected, or the write never flushed:\n{}",
            proc.log()
        )
    });

    let (dom, scrape) = page_and_scrape(&chromium, admin);
    let scrapes = attr(&dom, "<body", "data-scrapes").unwrap_or_default();
    assert!(
        scrapes.parse::<u32>().unwrap_or(0) >= 2,
        "the script scraped /metrics {scrapes:?} times:\n{dom}"
    );
    let problem = between(&dom, "<p id=\"problem\">", "</p>");
    assert_eq!(
        problem,
        Some("<p id=\"problem\">"),
        "the script reported a problem"
    );

    // Every pool and server on the scrape has its section and row, and no more.
    let pools: BTreeSet<String> = scrape
        .label_values(telemetry::PROXY_SERVER_EJECTED, "pool")
        .into_iter()
        .collect();
    assert_eq!(pools, BTreeSet::from(["alpha".into(), "beta".into()]));
    for pool in &pools {
        let view = PoolView::of(&dom, pool);
        let shown: BTreeSet<String> = view.servers().into_iter().collect();
        let exported: BTreeSet<String> = scrape
            .series(telemetry::PROXY_SERVER_EJECTED)
            .filter(|(series, _)| series.contains(&format!("pool=\"{pool}\"")))
            .filter_map(|(series, _)| Some(between(series, "server=\"", "\"")?[8..].to_string()))
            .collect();
        assert_eq!(shown, exported, "servers of {pool}");
        for server in &shown {
            let labels = [("pool", pool.as_str()), ("server", server.as_str())];
            let out = scrape.sum(telemetry::PROXY_SERVER_EJECTED, &labels) == 1.0;
            let state = view.server_figure(server, "state");
            assert_eq!(state.as_deref(), Some(if out { "ejected" } else { "live" }));
            let requests = scrape.sum(telemetry::PROXY_SERVER_REQUESTS_TOTAL, &labels);
            assert_eq!(view.server_number(server, "requests"), requests, "{server}");
        }
        let labels = [("pool", pool.as_str())];
        let requests = scrape.sum(telemetry::PROXY_REQUESTS_TOTAL, &labels);
        assert_eq!(view.number("requests"), requests, "requests of {pool}");
        let errors = scrape.sum(telemetry::PROXY_ERRORS_TOTAL, &labels);
        assert_eq!(view.number("errors"), errors, "errors of {pool}");
        // Scrapes after the traffic see no new requests.
        let rate = attr(view.0, "data-field=\"requests\"", "data-rate");
        assert_eq!(rate.as_deref(), Some("0"), "request rate of {pool}");
    }

    let alpha = PoolView::of(&dom, "alpha");
    assert_eq!(alpha.number("requests"), 40.0, "two rounds of 20 SETs");
    assert!(alpha.number("errors") >= 1.0, "a SET to `two` failed");
    assert_eq!(
        alpha.server_figure("two", "state").as_deref(),
        Some("ejected")
    );
    assert_eq!(alpha.server_figure("one", "state").as_deref(), Some("live"));
    assert!(
        alpha.row("two").contains("class=\"ejected\""),
        "{}",
        alpha.row("two")
    );
    assert_eq!(alpha.number("live"), 1.0);
    let one_labels = [("pool", "alpha"), ("server", "one")];
    let sum = scrape.sum(
        "shardcar_proxy_server_request_duration_seconds_sum",
        &one_labels,
    );
    let count = scrape.sum(
        "shardcar_proxy_server_request_duration_seconds_count",
        &one_labels,
    );
    assert!(count > 0.0);
    let latency = alpha.server_number("one", "latency");
    assert!(close(latency, sum / count), "{latency} vs {}", sum / count);
    assert_eq!(alpha.figure("hit-rate"), None, "alpha has no cache");

    let beta = PoolView::of(&dom, "beta");
    let hits = scrape.sum(telemetry::CACHE_HITS_TOTAL, &[("pool", "beta")]);
    let misses = scrape.sum(telemetry::CACHE_MISSES_TOTAL, &[("pool", "beta")]);
    assert!(hits > 0.0 && misses > 0.0, "{hits} hits, {misses} misses");
    let hit_rate = beta.number("hit-rate");
    assert!(close(hit_rate, hits / (hits + misses)), "{hit_rate}");
    assert_eq!(beta.number("flush-lag"), 0.0);
    assert_eq!(beta.number("pending-writes"), 0.0);
    drop(one);
}
