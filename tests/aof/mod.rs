//! The AOF tests' helpers: `shardcar engine` (and `redis-server`) processes
//! over one directory, restarted gracefully or killed with SIGKILL, and a
//! dump of everything a server holds, to compare across restarts.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::children::{connect, free_port, Guard, ProxyProcess, SHARDCAR};

/// A server process persisting into `dir`.
pub struct Node {
    pub port: u16,
    pub dir: PathBuf,
    child: Guard,
}

impl Node {
    /// `shardcar engine --appendonly yes` on `dir`, with `extra` options.
    pub fn engine(dir: &Path, extra: &[&str]) -> Node {
        let port = free_port();
        let mut command = Command::new(SHARDCAR);
        command.args(engine_args(dir, port)).args(extra);
        let child = ProxyProcess::spawn(command, &[port], dir.join("engine.log"));
        Node {
            port,
            dir: dir.to_path_buf(),
            child,
        }
    }

    /// `redis-server --appendonly yes` on `dir`, if SHARDCAR_TEST_REDIS_SERVER
    /// names it.
    pub fn redis(dir: &Path, extra: &[&str]) -> Option<Node> {
        let bin = redis_server()?;
        let port = free_port();
        let mut command = Command::new(bin);
        command
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--dir"])
            .arg(dir)
            .args(extra);
        let child = ProxyProcess::spawn(command, &[port], dir.join("redis.log"));
        Some(Node {
            port,
            dir: dir.to_path_buf(),
            child,
        })
    }

    pub fn conn(&self) -> redis::Connection {
        connect(self.port)
    }

    /// SIGTERM, and waits for the exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.pid().to_string()])
            .status();
        self.child.wait();
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        self.child.kill();
    }
}

/// The arguments of `shardcar engine` on `dir` and `port`, AOF on.
pub fn engine_args(dir: &Path, port: u16) -> Vec<String> {
    vec![
        "engine".into(),
        "--port".into(),
        port.to_string(),
        "--dir".into(),
        dir.display().to_string(),
        "--appendonly".into(),
        "yes".into(),
        "--admin".into(),
        "off".into(),
    ]
}

/// Runs `shardcar engine` expecting it to fail at start; its output.
pub fn engine_fails(dir: &Path, extra: &[&str]) -> Output {
    let output = Command::new(SHARDCAR)
        .args(engine_args(dir, free_port()))
        .args(extra)
        .output()
        .expect("run shardcar");
    assert!(!output.status.success(), "the engine started");
    output
}

pub use super::children::redis_server;

/// The AOF directory's files.
pub fn aof_dir(dir: &Path) -> PathBuf {
    dir.join("appendonlydir")
}

/// The last incremental file named by the manifest.
pub fn last_incr(dir: &Path) -> PathBuf {
    let manifest =
        std::fs::read_to_string(aof_dir(dir).join("appendonly.aof.manifest")).expect("manifest");
    let name = manifest
        .lines()
        .rfind(|l| l.ends_with("type i"))
        .and_then(|l| l.split(' ').nth(1))
        .expect("an incr file")
        .to_string();
    aof_dir(dir).join(name)
}

/// Everything in databases 0..4: `db:key` → its type, content and whether it
/// has a TTL.
pub fn dump(con: &mut redis::Connection) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for db in 0..4 {
        redis::cmd("SELECT")
            .arg(db)
            .query::<()>(con)
            .expect("SELECT");
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(con).expect("KEYS");
        for key in keys {
            let kind: String = redis::cmd("TYPE").arg(&key).query(con).expect("TYPE");
            let content = match kind.as_str() {
                "string" => q(con, &["GET", &key]),
                "list" => q(con, &["LRANGE", &key, "0", "-1"]),
                "hash" => sorted(con, &["HGETALL", &key]),
                "set" => sorted(con, &["SMEMBERS", &key]),
                "zset" => q(con, &["ZRANGE", &key, "0", "-1", "WITHSCORES"]),
                other => other.to_string(),
            };
            let ttl: i64 = redis::cmd("PTTL").arg(&key).query(con).expect("PTTL");
            out.insert(
                format!("{db}:{key}"),
                format!("{kind} {content} ttl:{}", ttl > 0),
            );
        }
    }
    redis::cmd("SELECT")
        .arg(0)
        .query::<()>(con)
        .expect("SELECT");
    out
}

fn q(con: &mut redis::Connection, args: &[&str]) -> String {
    let value: redis::Value = redis::cmd(args[0])
        .arg(&args[1..])
        .query(con)
        .expect("read");
    format!("{value:?}")
}

/// A reply of strings, sorted (set members, hash fields and values).
fn sorted(con: &mut redis::Connection, args: &[&str]) -> String {
    let mut items: Vec<Vec<u8>> = redis::cmd(args[0])
        .arg(&args[1..])
        .query(con)
        .expect("read");
    items.sort_unstable();
    format!("{items:?}")
}

/// Runs one command, ignoring the reply.
pub fn run(con: &mut redis::Connection, args: &[&str]) {
    let _: redis::Value = redis::cmd(args[0])
        .arg(&args[1..])
        .query(con)
        .expect(args[0]);
}
