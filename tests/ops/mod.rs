//! Helpers for the operations tests: the real `shardcar` binary run as a child
//! process (its output collected line by line), a minimal HTTP client for the
//! admin port, and a parser for Prometheus's text format.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long anything in these tests may take to happen.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A `shardcar` process.
pub struct Shardcar {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Shardcar {
    /// Starts `shardcar ARGS…`.
    pub fn start(args: &[&str]) -> Shardcar {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shardcar"))
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn shardcar");
        let lines = Arc::new(Mutex::new(Vec::new()));
        collect(child.stdout.take().expect("stdout"), &lines);
        collect(child.stderr.take().expect("stderr"), &lines);
        Shardcar { child, lines }
    }

    /// `shardcar engine` on `port`, no snapshots, its admin port at `admin`
    /// (an address, or `off`).
    pub fn engine(port: u16, admin: &str) -> Shardcar {
        let port = port.to_string();
        Shardcar::start(&["engine", "--port", &port, "--save", "", "--admin", admin])
    }

    /// `shardcar proxy -c CONFIG` with its stats port on a free port (twemproxy's
    /// 22222 may be taken by another process), then `extra` flags.
    pub fn proxy(config: &tempfile::NamedTempFile, extra: &[&str]) -> Shardcar {
        let stats = free_port().to_string();
        let path = config.path().to_str().expect("utf-8 path");
        let mut args = vec!["proxy", "-c", path, "-s", &stats];
        args.extend_from_slice(extra);
        Shardcar::start(&args)
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits for a log line containing `needle` and returns it.
    pub fn wait_log(&self, needle: &str) -> String {
        let found = poll(|| {
            self.lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
                .cloned()
        });
        found.unwrap_or_else(|| panic!("no log line with {needle:?} in:\n{}", self.log()))
    }

    /// The admin port's address, from its log line.
    pub fn admin(&self) -> SocketAddr {
        let line = self.wait_log("admin HTTP listening");
        let addr = line
            .split("addr=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        addr.parse()
            .unwrap_or_else(|_| panic!("bad address in {line:?}"))
    }

    /// Waits until `/readyz` answers 200.
    pub fn wait_ready(&self, admin: SocketAddr) {
        let ready = poll(|| (get(admin, "/readyz").0 == 200).then_some(()));
        ready.unwrap_or_else(|| panic!("never ready; log:\n{}", self.log()));
    }

    /// Sends a signal (`TERM`, `INT`) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits for the process to exit, within `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "still running after {limit:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Shardcar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Calls `f` every 20 ms until it gives something, for at most [`PATIENCE`].
pub fn poll<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(found) = f() {
            return Some(found);
        }
        if started.elapsed() > PATIENCE {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Appends each line `from` gives to `lines`, on a thread of its own.
fn collect(from: impl Read + Send + 'static, lines: &Arc<Mutex<Vec<String>>>) {
    let sink = Arc::clone(lines);
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(strip_ansi(&line));
        }
    });
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[path = "../support/ports.rs"]
mod ports;
pub use ports::free_port;

/// A configuration file with `yaml` in it.
pub fn config(yaml: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(".yml")
        .tempfile()
        .expect("temp file");
    file.write_all(yaml.as_bytes()).expect("write config");
    file
}

/// `GET path` on the admin port: the status code and the body (0 and empty when
/// nothing answers).
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut response = String::new();
    if stream.read_to_string(&mut response).is_err() {
        return (0, String::new());
    }
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

/// One scrape of `/metrics`: every sample by series, and the declared names.
#[derive(Debug, Default)]
pub struct Scrape {
    /// `name{labels}` → value, exactly as exposed.
    pub samples: BTreeMap<String, f64>,
    /// Names with a `# TYPE` line, and their type.
    pub types: BTreeMap<String, String>,
    /// Names with a `# HELP` line.
    pub helped: Vec<String>,
}

impl Scrape {
    /// Scrapes `admin`.
    pub fn take(admin: SocketAddr) -> Scrape {
        let (status, body) = get(admin, "/metrics");
        assert_eq!(status, 200, "/metrics: {body}");
        Scrape::parse(&body)
    }

    /// Parses Prometheus's text format.
    pub fn parse(text: &str) -> Scrape {
        let mut scrape = Scrape::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                    scrape.types.insert(name.into(), kind.into());
                }
            } else if let Some(rest) = line.strip_prefix("# HELP ") {
                if let Some(name) = rest.split_whitespace().next() {
                    scrape.helped.push(name.into());
                }
            } else if !line.starts_with('#') {
                let (series, value) = line.rsplit_once(' ').expect("sample line");
                let value = value.parse().unwrap_or(f64::NAN);
                scrape.samples.insert(series.to_string(), value);
            }
        }
        scrape
    }

    /// The sum of the samples of `name` whose labels include every `k="v"` given.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.series(name)
            .filter(|(series, _)| {
                labels
                    .iter()
                    .all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))
            })
            .map(|(_, v)| v)
            .sum()
    }

    /// The series (`name{…}` text) and values of exactly `name`.
    pub fn series<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (&'a str, f64)> + 'a {
        self.samples.iter().filter_map(move |(series, value)| {
            let base = series.split('{').next().unwrap_or(series);
            (base == name).then_some((series.as_str(), *value))
        })
    }

    /// True when some sample of `name` is exposed.
    pub fn has(&self, name: &str) -> bool {
        self.series(name).next().is_some()
    }

    /// The value of label `label` in each series of `name`.
    pub fn label_values(&self, name: &str, label: &str) -> Vec<String> {
        let needle = format!("{label}=\"");
        self.series(name)
            .filter_map(|(series, _)| {
                let start = series.find(&needle)? + needle.len();
                let end = series[start..].find('"')? + start;
                Some(series[start..end].to_string())
            })
            .collect()
    }
}
