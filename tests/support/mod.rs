//! Test helpers: real servers on ephemeral ports, driven by real clients.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use shardcar::engine::{self, EngineConfig};

/// A bundled engine running in this process on 127.0.0.1:<ephemeral>.
pub struct Engine {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    join: Option<tokio::task::JoinHandle<()>>,
}

impl Engine {
    /// Starts an engine with default options.
    pub async fn start() -> Engine {
        Engine::start_with(&[]).await
    }

    /// Starts an engine with `--name value` options, as `shardcar engine` takes them.
    pub async fn start_with(options: &[&str]) -> Engine {
        let args: Vec<String> = options.iter().map(|s| s.to_string()).collect();
        let cfg = EngineConfig::from_args(&args).expect("valid engine options");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let join = tokio::spawn(async move {
            engine::run(listener, cfg, async {
                let _ = rx.await;
            })
            .await
            .expect("engine runs");
        });
        Engine {
            addr,
            shutdown: Some(tx),
            join: Some(join),
        }
    }

    /// The `redis://` URL of this engine.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// A `redis` crate client.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("client")
    }

    /// A multiplexed async connection.
    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        self.client()
            .get_multiplexed_async_connection()
            .await
            .expect("connect")
    }

    /// A dedicated async connection (for blocking commands, pub/sub, MULTI).
    #[allow(deprecated)]
    pub async fn dedicated(&self) -> redis::aio::Connection {
        self.client().get_async_connection().await.expect("connect")
    }

    /// Stops the engine and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(join) = self.join.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), join).await;
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Raw RESP over TCP, for exact-byte assertions and malformed input.
pub struct Raw {
    pub stream: tokio::net::TcpStream,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw {
            stream: tokio::net::TcpStream::connect(addr).await.expect("connect"),
        }
    }

    /// Sends bytes as they are.
    pub async fn send(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads until `expected.len()` bytes arrived (or 5 s passed) and returns them.
    pub async fn read_exact_len(&mut self, len: usize) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        let mut out = vec![0; len];
        tokio::time::timeout(Duration::from_secs(5), self.stream.read_exact(&mut out))
            .await
            .expect("reply within 5 s")
            .expect("read");
        out
    }

    /// Sends a request and asserts the exact reply bytes.
    pub async fn roundtrip(&mut self, request: &[u8], expected: &[u8]) {
        self.send(request).await;
        let got = self.read_exact_len(expected.len()).await;
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "reply to {:?}",
            String::from_utf8_lossy(request)
        );
    }

    /// Reads one line, up to and including CRLF (or 5 s pass).
    pub async fn read_line(&mut self) -> String {
        let mut line = Vec::new();
        while !line.ends_with(b"\r\n") {
            line.extend(self.read_exact_len(1).await);
        }
        String::from_utf8_lossy(&line).into_owned()
    }

    /// Reads until the server closes the connection (or 5 s pass); returns what came.
    pub async fn read_to_close(&mut self) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), self.stream.read_to_end(&mut out))
            .await
            .expect("server closes within 5 s")
            .expect("read");
        out
    }
}

/// Encodes a command as a RESP multibulk.
pub fn cmd(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
    }
    out
}

/// A proxy running in this process in front of `engines`, from a pool written as
/// YAML with `{servers}` standing for the server list and `{listen}` for a
/// placeholder address (the proxy is handed a listener on an ephemeral port).
pub struct Proxy {
    pub addr: SocketAddr,
    pub engines: Vec<Engine>,
    /// Real redis-server backends (see [`Proxy::over_redis`]).
    pub redis: Vec<RedisServer>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Proxy {
    /// A pool over `n` fresh engines named shard-0…, with extra pool keys.
    pub async fn over_engines(n: usize, extra: &str) -> Proxy {
        let mut engines = Vec::new();
        for _ in 0..n {
            engines.push(Engine::start().await);
        }
        let servers: Vec<String> = engines
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{}:1 shard-{i}", e.addr))
            .collect();
        let mut proxy = Proxy::start(&pool_yaml(&servers, extra)).await;
        proxy.engines = engines;
        proxy
    }

    /// A pool over `n` fresh real redis-servers named shard-0…, with extra pool keys.
    pub async fn over_redis(n: usize, extra: &str) -> Proxy {
        let mut servers = Vec::new();
        for _ in 0..n {
            servers.push(RedisServer::start().await);
        }
        let lines: Vec<String> = servers
            .iter()
            .enumerate()
            .map(|(i, r)| format!("{}:1 shard-{i}", r.addr))
            .collect();
        let mut proxy = Proxy::start(&pool_yaml(&lines, extra)).await;
        proxy.redis = servers;
        proxy
    }

    /// A proxy for the one pool in `yaml`.
    pub async fn start(yaml: &str) -> Proxy {
        let cfg = shardcar::config::Config::from_yaml(yaml).expect("valid pool");
        let pool = cfg.pools.into_iter().next().expect("one pool");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = shardcar::proxy::run(vec![(listener, pool)], None, async {
                let _ = rx.await;
            })
            .await;
        });
        Proxy {
            addr,
            engines: Vec::new(),
            redis: Vec::new(),
            shutdown: Some(tx),
        }
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(format!("redis://{}/", self.addr)).expect("client")
    }

    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        self.client()
            .get_multiplexed_async_connection()
            .await
            .expect("connect")
    }

    /// A dedicated async connection (for blocking commands, pub/sub, MULTI).
    #[allow(deprecated)]
    pub async fn dedicated(&self) -> redis::aio::Connection {
        self.client().get_async_connection().await.expect("connect")
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A one-pool nutcracker.yml text.
pub fn pool_yaml(servers: &[String], extra: &str) -> String {
    let mut yaml = String::from("test:\n  listen: 127.0.0.1:1\n  redis: true\n");
    for line in extra.lines().filter(|l| !l.trim().is_empty()) {
        yaml.push_str("  ");
        yaml.push_str(line.trim());
        yaml.push('\n');
    }
    yaml.push_str("  servers:\n");
    for s in servers {
        yaml.push_str(&format!("    - {s}\n"));
    }
    yaml
}

/// A real `redis-server` on a free port, with no persistence, killed on drop.
pub struct RedisServer {
    pub addr: SocketAddr,
    child: std::process::Child,
}

impl RedisServer {
    /// Starts one and waits until it answers PING (up to 10 s). A port taken
    /// between choosing it and the server binding it is retried with another.
    pub async fn start() -> RedisServer {
        for _ in 0..5 {
            let port = free_port().await;
            let mut child = std::process::Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("redis-server is installed");
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            if wait_for_pong(addr, &mut child).await {
                return RedisServer { addr, child };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server did not start");
    }

    /// A `redis` crate client.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(format!("redis://{}/", self.addr)).expect("client")
    }

    /// A multiplexed async connection.
    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        self.client()
            .get_multiplexed_async_connection()
            .await
            .expect("connect")
    }

    /// Clients connected to the server, not counting the ones that only ever
    /// asked this (an earlier count's connection may not be closed yet).
    pub async fn clients(&self) -> usize {
        let mut con = self.conn().await;
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut con)
            .await
            .expect("CLIENT LIST");
        list.lines()
            .filter(|line| !line.contains("cmd=client|list"))
            .count()
    }

    /// Waits (up to 5 s) until `clients()` is `n`; returns the last count seen.
    pub async fn wait_for_clients(&self, n: usize) -> usize {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let count = self.clients().await;
            if count == n || tokio::time::Instant::now() > deadline {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now (the OS's choice, so never 6379).
async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Retries PING until the server answers, or it exits, or 10 s pass.
async fn wait_for_pong(addr: SocketAddr, child: &mut std::process::Child) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
        if let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await {
            let mut reply = [0u8; 7];
            if stream.write_all(b"PING\r\n").await.is_ok()
                && stream.read_exact(&mut reply).await.is_ok()
                && &reply == b"+PONG\r\n"
            {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// One RESP2/RESP3 value as a test reads it off the wire (independent of the
/// crate's own decoder).
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Null,
    Array(Vec<Resp>),
    Push(Vec<Resp>),
    Map(Vec<(Resp, Resp)>),
}

impl Resp {
    /// A bulk string from text.
    pub fn bulk(text: &str) -> Resp {
        Resp::Bulk(text.as_bytes().to_vec())
    }

    /// The items of an array or a push.
    pub fn items(&self) -> &[Resp] {
        match self {
            Resp::Array(items) | Resp::Push(items) => items,
            other => panic!("not an array: {other:?}"),
        }
    }

    /// The text of a bulk or simple string.
    pub fn text(&self) -> String {
        match self {
            Resp::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            Resp::Simple(s) | Resp::Error(s) => s.clone(),
            other => panic!("not a string: {other:?}"),
        }
    }
}

impl Raw {
    /// Reads one whole value (5 s per piece at most).
    pub async fn read_value(&mut self) -> Resp {
        let line = self.read_line().await;
        let (kind, rest) = line.trim_end_matches("\r\n").split_at(1);
        let count = || rest.parse::<i64>().expect("a length");
        match kind {
            "+" => Resp::Simple(rest.to_string()),
            "-" => Resp::Error(rest.to_string()),
            ":" => Resp::Int(count()),
            "_" => Resp::Null,
            "$" if count() < 0 => Resp::Null,
            "$" => {
                let body = self.read_exact_len(count() as usize + 2).await;
                Resp::Bulk(body[..body.len() - 2].to_vec())
            }
            "*" if count() < 0 => Resp::Null,
            "*" | ">" => {
                let mut items = Vec::new();
                for _ in 0..count() {
                    items.push(Box::pin(self.read_value()).await);
                }
                if kind == "*" {
                    Resp::Array(items)
                } else {
                    Resp::Push(items)
                }
            }
            "%" => {
                let mut pairs = Vec::new();
                for _ in 0..count() {
                    let key = Box::pin(self.read_value()).await;
                    let value = Box::pin(self.read_value()).await;
                    pairs.push((key, value));
                }
                Resp::Map(pairs)
            }
            other => panic!("unexpected RESP type {other:?} in {line:?}"),
        }
    }

    /// Sends a command and reads its one reply.
    pub async fn call(&mut self, args: &[&str]) -> Resp {
        self.send(&cmd(args)).await;
        self.read_value().await
    }

    /// True if nothing arrives within `wait` (for asserting silence).
    pub async fn is_silent_for(&mut self, wait: Duration) -> bool {
        use tokio::io::AsyncReadExt;
        let mut byte = [0u8; 1];
        tokio::time::timeout(wait, self.stream.read(&mut byte))
            .await
            .is_err()
    }
}
