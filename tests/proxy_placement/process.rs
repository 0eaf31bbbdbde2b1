//! Child processes for the placement tests: redis-server and nutcracker on
//! free loopback ports, polled until they answer, killed when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a child process may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// A child process killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[path = "../support/ports.rs"]
mod ports;
use ports::free_port;

/// Polls until `port` answers PING, or panics with `log` once `child` died
/// or [`READY_TIMEOUT`] passed. The pause between tries is a poll interval,
/// not a guess at the start-up time.
fn wait_ready(child: &mut Child, port: u16, log: &Path) {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if ping(port) {
            return;
        }
        let exited = child.try_wait().expect("try_wait");
        if exited.is_some() || Instant::now() > deadline {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("process on port {port} not ready (exit: {exited:?}); log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn ping(port: u16) -> bool {
    if TcpStream::connect(("127.0.0.1", port)).is_err() {
        return false;
    }
    connect(port)
        .and_then(|mut con| redis::cmd("PING").query::<String>(&mut con))
        .is_ok()
}

pub(crate) fn connect(port: u16) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    client.get_connection_with_timeout(Duration::from_secs(5))
}

pub(crate) struct Redis {
    pub(crate) port: u16,
    _child: Guard,
}

pub(crate) fn start_redis(dir: &Path, n: usize) -> Redis {
    let port = free_port();
    let log = dir.join(format!("redis-{n}.log"));
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-server");
    wait_ready(&mut child, port, &log);
    Redis {
        port,
        _child: Guard(child),
    }
}

/// The nutcracker binary named by `SHARDCAR_TEST_NUTCRACKER`, if any.
pub(crate) fn nutcracker_binary() -> Option<PathBuf> {
    let path = std::env::var_os("SHARDCAR_TEST_NUTCRACKER").filter(|p| !p.is_empty());
    if path.is_none() {
        println!("skipped: set SHARDCAR_TEST_NUTCRACKER");
    }
    path.map(PathBuf::from)
}

/// A nutcracker running one pool; `yaml` writes its config for a listen port.
pub(crate) struct Nutcracker {
    pub(crate) port: u16,
    _child: Guard,
}

pub(crate) fn start_nutcracker(
    bin: &Path,
    dir: &Path,
    yaml: impl FnOnce(u16) -> String,
) -> Nutcracker {
    let port = free_port();
    let conf = dir.join("nutcracker.yml");
    let log = dir.join("nutcracker.log");
    std::fs::write(&conf, yaml(port)).expect("write nutcracker.yml");
    let mut child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .args(["-s", &free_port().to_string(), "-a", "127.0.0.1"])
        .arg("-o")
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nutcracker");
    wait_ready(&mut child, port, &log);
    Nutcracker {
        port,
        _child: Guard(child),
    }
}
