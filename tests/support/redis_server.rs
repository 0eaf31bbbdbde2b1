//! Real `redis-server` processes for tests: backends for the proxy and a
//! reference to compare with. Each runs on a free port with no persistence
//! (unless given a directory to snapshot into) and is killed when dropped.
//!
//! The binary is the one SHARDCAR_TEST_REDIS_SERVER names; without it the
//! constructors print that the test is skipped and return None, so that
//! `cargo test` passes on a machine without Redis.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// A real `redis-server` on a free port, killed on drop.
pub struct RedisServer {
    pub addr: SocketAddr,
    child: std::process::Child,
}

impl RedisServer {
    /// Starts one with no persistence; None when no redis-server is configured.
    pub async fn start() -> Option<RedisServer> {
        Some(Self::start_with(&super::peers::redis_server()?, None).await)
    }

    /// Starts `bin`, with its snapshot file in `dir` when given, and waits
    /// until it answers PING (up to 10 s). A port taken between choosing it
    /// and the server binding it is retried with another.
    pub async fn start_with(bin: &str, dir: Option<&Path>) -> RedisServer {
        for _ in 0..5 {
            let port = super::ports::free_port();
            let mut command = std::process::Command::new(bin);
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            if let Some(dir) = dir {
                command.arg("--dir").arg(dir);
            }
            let mut child = command.spawn().expect("redis-server starts");
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

    /// Clients connected to the server, not counting the test's own probes
    /// (CLIENT LIST, INFO), whose earlier connections may not be closed yet.
    pub async fn clients(&self) -> usize {
        let mut con = self.conn().await;
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut con)
            .await
            .expect("CLIENT LIST");
        list.lines()
            .filter(|line| !line.contains("cmd=client|list") && !line.contains("cmd=info"))
            .count()
    }

    /// A numeric field of INFO, such as `blocked_clients`.
    pub async fn info_number(&self, field: &str) -> i64 {
        let mut con = self.conn().await;
        let info: String = redis::cmd("INFO")
            .query_async(&mut con)
            .await
            .expect("INFO");
        info.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in INFO"))
    }

    /// Waits (up to 5 s) until `blocked_clients` is `n`.
    pub async fn wait_for_blocked(&self, n: i64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while self.info_number("blocked_clients").await != n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "blocked_clients never became {n}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The channels subscribed on this server (PUBSUB CHANNELS), sorted.
    pub async fn pubsub_channels(&self) -> Vec<String> {
        let mut con = self.conn().await;
        let mut names: Vec<String> = redis::cmd("PUBSUB")
            .arg("CHANNELS")
            .query_async(&mut con)
            .await
            .expect("PUBSUB CHANNELS");
        names.sort();
        names
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
