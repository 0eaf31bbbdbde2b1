//! Child processes for the process-level proxy tests: `redis-server`,
//! Debian's `nutcracker` and the `shardcar` binary itself, each on free
//! loopback ports, polled until it answers, killed when dropped; plus what
//! those tests read from them (RSS, the stats document, raw replies).
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a child process may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// The shardcar binary under test.
pub const SHARDCAR: &str = env!("CARGO_BIN_EXE_shardcar");

/// A child process, killed (SIGKILL) and reaped when dropped.
pub struct Guard(Child);

impl Guard {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Kills it at once (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// Waits for it to exit on its own; its exit code.
    pub fn wait(&mut self) -> Option<i32> {
        self.0.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill();
    }
}

#[path = "../support/ports.rs"]
mod ports;
pub use ports::free_port;
#[path = "../support/peers.rs"]
mod peers;
pub use peers::redis_server;

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
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut reply = [0u8; 7];
    stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// A blocking `redis` crate connection.
pub fn connect(port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("client");
    client
        .get_connection_with_timeout(Duration::from_secs(5))
        .expect("connect")
}

/// True when a redis-server is configured; prints why not otherwise.
pub fn have_redis_server() -> bool {
    redis_server().is_some()
}

/// A `redis-server` child.
pub struct Redis {
    pub port: u16,
    child: Guard,
    dir: PathBuf,
}

impl Redis {
    /// Starts one on a free port, with no persistence, logging into `dir`.
    pub fn start(dir: &Path) -> Redis {
        Redis::start_on(dir, free_port())
    }

    /// Starts one on `port`.
    pub fn start_on(dir: &Path, port: u16) -> Redis {
        let log = dir.join(format!("redis-{port}.log"));
        let bin = std::env::var("SHARDCAR_TEST_REDIS_SERVER");
        let mut child = Command::new(bin.as_deref().unwrap_or("redis-server"))
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
            child: Guard(child),
            dir: dir.to_path_buf(),
        }
    }

    /// Kills it with SIGKILL: no goodbye to its clients.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        *self = Redis::start_on(&self.dir.clone(), self.port);
    }

    /// Every key it holds.
    pub fn keys(&self) -> std::collections::HashSet<Vec<u8>> {
        let mut con = connect(self.port);
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut con).expect("KEYS");
        keys.into_iter().collect()
    }

    /// FLUSHALL, directly.
    pub fn flush(&self) {
        let mut con = connect(self.port);
        redis::cmd("FLUSHALL")
            .query::<()>(&mut con)
            .expect("FLUSHALL");
    }
}

/// The nutcracker binary named by `SHARDCAR_TEST_NUTCRACKER`, if any.
pub fn nutcracker_binary() -> Option<PathBuf> {
    let path = std::env::var_os("SHARDCAR_TEST_NUTCRACKER").filter(|p| !p.is_empty());
    if path.is_none() {
        println!("skipped: set SHARDCAR_TEST_NUTCRACKER to the nutcracker binary");
    }
    path.map(PathBuf::from)
}

/// A proxy child (nutcracker or shardcar) serving a config file.
pub struct ProxyProcess {
    /// Stats port (`-s`).
    pub stats_port: u16,
    pub child: Guard,
    pub log: PathBuf,
}

impl ProxyProcess {
    /// Runs `program args…` (its config written already), waits until every
    /// port of `ready_ports` answers PING.
    pub fn spawn(mut command: Command, ready_ports: &[u16], log: PathBuf) -> Guard {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn proxy");
        for &port in ready_ports {
            wait_ready(&mut child, port, &log);
        }
        Guard(child)
    }

    /// `nutcracker -c conf -s stats -a 127.0.0.1 -i 100 -o log`.
    pub fn nutcracker(bin: &Path, conf: &Path, ready_ports: &[u16]) -> ProxyProcess {
        ProxyProcess::twemproxy_style(Command::new(bin), conf, ready_ports, &["-i", "100"])
    }

    /// `shardcar proxy -c conf -s stats -a 127.0.0.1 -o log`.
    pub fn shardcar(conf: &Path, ready_ports: &[u16]) -> ProxyProcess {
        let mut command = Command::new(SHARDCAR);
        command.arg("proxy");
        ProxyProcess::twemproxy_style(command, conf, ready_ports, &[])
    }

    /// `shardcar proxy …` with its open-file limit raised to `nofile` (or
    /// to the hard limit, when that is lower), as `ulimit -n` does.
    pub fn shardcar_with_nofile(conf: &Path, ready_ports: &[u16], nofile: u64) -> ProxyProcess {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(r#"ulimit -n "$0" 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@""#)
            .arg(nofile.to_string())
            .args([SHARDCAR, "proxy"]);
        ProxyProcess::twemproxy_style(command, conf, ready_ports, &[])
    }

    fn twemproxy_style(
        mut command: Command,
        conf: &Path,
        ready_ports: &[u16],
        extra: &[&str],
    ) -> ProxyProcess {
        let stats_port = free_port();
        let log = conf.with_extension(format!("{stats_port}.log"));
        command
            .arg("-c")
            .arg(conf)
            .args(["-s", &stats_port.to_string(), "-a", "127.0.0.1"])
            .args(extra)
            .arg("-o")
            .arg(&log);
        let child = ProxyProcess::spawn(command, ready_ports, log.clone());
        ProxyProcess {
            stats_port,
            child,
            log,
        }
    }

    /// The stats document as served.
    pub fn stats(&self) -> String {
        read_stats(self.stats_port)
    }

    /// Resident set size of the process now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.child.pid())
    }
}

/// Reads whatever the stats port sends until it closes.
pub fn read_stats(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect stats port");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut body = String::new();
    stream.read_to_string(&mut body).expect("read stats");
    body
}

/// `VmRSS` of a process, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

/// One RESP2 reply, as a blocking test client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The error text, if this is an error.
    pub fn error(&self) -> Option<&str> {
        match self {
            Reply::Error(text) => Some(text),
            _ => None,
        }
    }
}

/// A blocking raw-RESP client with a read timeout.
pub struct RawClient {
    reader: std::io::BufReader<TcpStream>,
}

impl RawClient {
    /// Connects to 127.0.0.1:`port`; reads give up after `timeout`.
    pub fn connect(port: u16, timeout: Duration) -> RawClient {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(timeout)).expect("timeout");
        let _ = stream.set_nodelay(true);
        RawClient {
            reader: std::io::BufReader::new(stream),
        }
    }

    /// Sends bytes as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.try_send(bytes).expect("write");
    }

    /// Sends bytes, telling whether the peer took them (it may have closed).
    pub fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.reader.get_mut().write_all(bytes)
    }

    /// Reads one reply.
    pub fn read(&mut self) -> std::io::Result<Reply> {
        use std::io::BufRead;
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\r\n") {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("incomplete line {:?}", String::from_utf8_lossy(&line)),
            ));
        }
        let text = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
        let number = || {
            text.parse::<i64>()
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        };
        Ok(match line[0] {
            b'+' => Reply::Simple(text),
            b'-' => Reply::Error(text),
            b':' => Reply::Integer(number()?),
            b'$' => match number()? {
                n if n < 0 => Reply::Bulk(None),
                n => {
                    let mut data = vec![0; n as usize + 2];
                    self.reader.read_exact(&mut data)?;
                    data.truncate(n as usize);
                    Reply::Bulk(Some(data))
                }
            },
            b'*' => match number()? {
                n if n < 0 => Reply::Array(None),
                n => Reply::Array(Some(
                    (0..n)
                        .map(|_| self.read())
                        .collect::<std::io::Result<_>>()?,
                )),
            },
            other => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("unknown reply type {:?}", other as char),
                ))
            }
        })
    }

    /// Sends one command and reads its reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Reply {
        self.send(&command(args));
        self.read().expect("reply")
    }

    /// Everything until the peer closes (or the read timeout passes: then
    /// whatever came, and `closed` false).
    pub fn read_to_close(&mut self) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        match self.reader.read_to_end(&mut out) {
            Ok(_) => (out, true),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => (out, true),
            Err(_) => (out, false),
        }
    }
}

/// A command as a RESP multibulk.
pub fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `Max open files` of a process: (soft, hard).
pub fn nofile_limits(pid: &str) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("read limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files line");
    let mut values = line["Max open files".len()..]
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(u64::MAX));
    (values.next().expect("soft"), values.next().expect("hard"))
}
