//! Test helpers: real servers on ephemeral ports, driven by real clients.
#![allow(dead_code, unreachable_pub)]

pub mod peers;
pub mod ports;
mod redis_server;
mod resp;

#[allow(unused_imports)]
pub use redis_server::RedisServer;
#[allow(unused_imports)]
pub use resp::Resp;

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
    /// The engine's `dir` when the test gave none, so no dump.rdb lands in the repo.
    _dir: Option<tempfile::TempDir>,
}

impl Engine {
    /// Starts an engine with default options.
    pub async fn start() -> Engine {
        Engine::start_with(&[]).await
    }

    /// Starts an engine with `--name value` options, as `shardcar engine` takes them.
    /// Unless they say otherwise, it has no save points and a temporary `dir`.
    pub async fn start_with(options: &[&str]) -> Engine {
        let mut args: Vec<String> = options.iter().map(|s| s.to_string()).collect();
        let given = |name: &str| options.iter().any(|o| o.eq_ignore_ascii_case(name));
        if !given("--save") {
            args.extend(["--save".to_string(), String::new()]);
        }
        let dir = (!given("--dir")).then(|| tempfile::tempdir().expect("temp dir"));
        if let Some(dir) = &dir {
            args.extend(["--dir".to_string(), dir.path().display().to_string()]);
        }
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
            _dir: dir,
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

    /// Sends each command in turn and asserts its exact reply: a table of steps.
    pub async fn exchange(&mut self, steps: &[(&[&str], &str)]) {
        for (args, reply) in steps {
            self.roundtrip(&cmd(args), reply.as_bytes()).await;
        }
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

    /// A pool over `n` fresh real redis-servers named shard-0…, with extra pool
    /// keys; None (the test is skipped) when no redis-server is configured.
    pub async fn over_redis(n: usize, extra: &str) -> Option<Proxy> {
        let bin = peers::redis_server()?;
        let mut servers = Vec::new();
        for _ in 0..n {
            servers.push(RedisServer::start_with(&bin, None).await);
        }
        let lines: Vec<String> = servers
            .iter()
            .enumerate()
            .map(|(i, r)| format!("{}:1 shard-{i}", r.addr))
            .collect();
        let mut proxy = Proxy::start(&pool_yaml(&lines, extra)).await;
        proxy.redis = servers;
        Some(proxy)
    }

    /// A proxy for the one pool in `yaml`.
    pub async fn start(yaml: &str) -> Proxy {
        let cfg = shardcar::config::Config::from_yaml(yaml).expect("valid pool");
        let pool = cfg.pools.into_iter().next().expect("one pool");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = shardcar::proxy::run(vec![(listener.into(), pool)], None, async {
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

    /// Index of the backend (engine or redis-server) that owns `key`: a probe
    /// string written through the proxy, looked for on each backend, removed.
    pub async fn owner(&self, key: &str) -> usize {
        let backends: Vec<SocketAddr> = match self.engines.is_empty() {
            true => self.redis.iter().map(|r| r.addr).collect(),
            false => self.engines.iter().map(|e| e.addr).collect(),
        };
        let mut raw = Raw::connect(self.addr).await;
        raw.call(&["SET", key, "probe"]).await;
        let mut found = None;
        for (i, addr) in backends.into_iter().enumerate() {
            let mut direct = Raw::connect(addr).await;
            if direct.call(&["GET", key]).await != Resp::Null {
                found = Some(i);
            }
        }
        raw.call(&["GETDEL", key]).await;
        found.expect("an owner")
    }

    /// Two keys that live on different servers, each with its server's name
    /// (`shard-N`, as `over_engines` and `over_redis` name them).
    pub async fn keys_apart(&self) -> [(String, String); 2] {
        let first = "apart:0".to_string();
        let home = self.owner(&first).await;
        for i in 1..100 {
            let key = format!("apart:{i}");
            let other = self.owner(&key).await;
            if other != home {
                let names = (format!("shard-{home}"), format!("shard-{other}"));
                return [(first, names.0), (key, names.1)];
            }
        }
        panic!("every key on one server");
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
