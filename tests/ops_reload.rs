//! Hot reload of the real binary: SIGHUP (or `--watch-config`) swaps a new
//! configuration in while clients pipeline requests, with no error reply and no
//! dropped connection; keys then go where the new ring says; a broken file is
//! refused with its problem logged and the old configuration keeps serving; a
//! new pool's listener appears, a removed pool's closes and its clients are
//! drained; `shardcar up` starts the embedded shards a reload adds. The stats
//! port and `/readyz` follow. Needs redis-server (SHARDCAR_TEST_REDIS_SERVER)
//! for the backends of the load test.

mod children;
// Both helper modules include support/ports.rs; each needs it on its own.
#[allow(clippy::duplicate_mod)]
mod ops;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use children::Redis;
use ops::{free_port, get, poll, Scrape, Shardcar, PATIENCE};
use shardcar::config::Config;
use shardcar::proxy::pool::Pool;

/// A proxy started on `yaml` (rewritten by [`Reloading::reload`]), with its
/// admin and stats ports.
struct Reloading {
    file: tempfile::NamedTempFile,
    proc: Shardcar,
    admin: std::net::SocketAddr,
    stats: u16,
    reloads: usize,
}

impl Reloading {
    fn start(role: &str, yaml: &str, extra: &[&str]) -> Reloading {
        let file = ops::config(yaml);
        let stats = free_port();
        let path = file.path().to_str().expect("utf-8").to_string();
        let stats_arg = stats.to_string();
        let mut args = vec![
            role,
            "-c",
            &path,
            "-s",
            &stats_arg,
            "--admin",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        let proc = Shardcar::start(&args);
        let admin = proc.admin();
        proc.wait_ready(admin);
        Reloading {
            file,
            proc,
            admin,
            stats,
            reloads: 0,
        }
    }

    /// Writes `yaml` over the file and sends SIGHUP.
    fn reload(&mut self, yaml: &str) {
        std::fs::write(self.file.path(), yaml).expect("rewrite config");
        self.proc.signal("HUP");
    }

    /// Waits for the next "configuration reloaded" line; returns it.
    fn wait_reloaded(&mut self) -> String {
        self.reloads += 1;
        self.wait_nth("configuration reloaded", self.reloads)
    }

    fn wait_nth(&self, needle: &str, n: usize) -> String {
        let found = poll(|| {
            let log = self.proc.log();
            log.lines()
                .filter(|l| l.contains(needle))
                .nth(n - 1)
                .map(str::to_string)
        });
        found.unwrap_or_else(|| panic!("no {n}th {needle:?} line; log:\n{}", self.proc.log()))
    }

    fn stats(&self) -> String {
        children::read_stats(self.stats)
    }
}

/// A pool called `name` on `port` over `servers` lines.
fn pool(name: &str, port: u16, servers: &[String]) -> String {
    let mut yaml = format!(
        "{name}:\n  listen: 127.0.0.1:{port}\n  redis: true\n  timeout: 5000\n  servers:\n"
    );
    for line in servers {
        yaml.push_str(&format!("    - {line}\n"));
    }
    yaml
}

/// SET through a connection that must succeed.
fn set(con: &mut redis::Connection, key: &str, value: &str) {
    let () = redis::cmd("SET").arg(key).arg(value).query(con).unwrap();
}

/// A pool over embedded engine shards of these names.
fn embedded(name: &str, port: u16, shards: &[&str]) -> String {
    let lines: Vec<String> = shards.iter().map(|s| format!("embedded:1 {s}")).collect();
    pool(name, port, &lines)
}

/// Clients that pipeline SET/GET pairs until stopped, counting what they see.
struct Load {
    stop: Arc<AtomicBool>,
    rounds: Arc<AtomicU64>,
    threads: Vec<JoinHandle<Vec<String>>>,
}

impl Load {
    fn start(port: u16, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicU64::new(0));
        let threads = (0..clients)
            .map(|c| {
                let (stop, rounds) = (Arc::clone(&stop), Arc::clone(&rounds));
                std::thread::spawn(move || pipeline_until(port, c, &stop, &rounds))
            })
            .collect();
        Load {
            stop,
            rounds,
            threads,
        }
    }

    /// Waits until the clients have done `n` more pipelines.
    fn progress(&self, n: u64) {
        let target = self.rounds.load(Ordering::Relaxed) + n;
        let done = poll(|| (self.rounds.load(Ordering::Relaxed) >= target).then_some(()));
        done.expect("the clients make progress");
    }

    /// Stops the clients; every error they saw.
    fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        self.threads
            .into_iter()
            .flat_map(|t| t.join().expect("client thread"))
            .collect()
    }
}

/// One client: pipelines of 25 SET+GET pairs on one connection.
fn pipeline_until(port: u16, client: usize, stop: &AtomicBool, rounds: &AtomicU64) -> Vec<String> {
    let mut con = children::connect(port);
    let mut errors = Vec::new();
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let mut pipe = redis::pipe();
        for i in 0..25 {
            let key = format!("load:{client}:{}", (round * 25 + i) % 2000);
            pipe.cmd("SET").arg(&key).arg(round).ignore();
            pipe.cmd("GET").arg(&key);
        }
        match pipe.query::<Vec<Option<u64>>>(&mut con) {
            Ok(values) if values.len() == 25 => {}
            Ok(values) => errors.push(format!("{} replies", values.len())),
            Err(err) => errors.push(err.to_string()),
        }
        round += 1;
        rounds.fetch_add(1, Ordering::Relaxed);
    }
    errors
}

/// Each key's server, as the ring of `yaml`'s first pool places it (an index
/// into its `servers:` lines).
fn expected_owner(yaml: &str, key: &str) -> usize {
    let cfg = Config::from_yaml(yaml).expect("valid");
    let pool = Pool::new(cfg.pools[0].clone());
    pool.server_for(key.as_bytes()).expect("a server")
}

#[test]
fn reloads_under_pipelined_load_move_keys_with_no_client_error() {
    if !children::have_redis_server() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let redis: Vec<Redis> = (0..3).map(|_| Redis::start(dir.path())).collect();
    let line = |i: usize, weight: u32| format!("127.0.0.1:{}:{weight} s{i}", redis[i].port);
    let port = free_port();
    let first = pool("alpha", port, &[line(0, 1), line(1, 1)]);
    let mut proxy = Reloading::start("proxy", &first, &[]);
    let load = Load::start(port, 4);
    load.progress(20);

    let steps = [
        (
            pool("alpha", port, &[line(0, 1), line(1, 1), line(2, 1)]),
            "servers added: alpha/s2",
        ),
        (
            pool("alpha", port, &[line(0, 3), line(1, 1), line(2, 1)]),
            "servers re-weighted: alpha/s0 1->3",
        ),
        (
            pool("alpha", port, &[line(0, 3), line(2, 1)]),
            "servers removed: alpha/s1",
        ),
    ];
    for (yaml, change) in &steps {
        proxy.reload(yaml);
        let logged = proxy.wait_reloaded();
        assert!(logged.contains(change), "{logged}");
        load.progress(20);
    }
    let errors = load.finish();
    assert!(errors.is_empty(), "clients saw errors: {errors:?}");

    // Keys now go where the last ring says.
    let last = &steps[2].0;
    let servers = [0, 2]; // the last config's servers, in its order
    for r in &redis {
        r.flush();
    }
    let mut con = children::connect(port);
    let keys: Vec<String> = (0..200).map(|i| format!("placed:{i}")).collect();
    for key in &keys {
        let () = redis::cmd("SET").arg(key).arg(1).query(&mut con).unwrap();
    }
    for key in &keys {
        let owner = servers[expected_owner(last, key)];
        assert!(
            redis[owner].keys().contains(key.as_bytes()),
            "{key} is not on s{owner}"
        );
    }
    assert!(redis[1].keys().is_empty(), "a removed server got keys");

    // The stats port and readiness follow the new configuration.
    let stats = proxy.stats();
    assert!(
        stats.contains("\"s0\"") && stats.contains("\"s2\""),
        "{stats}"
    );
    assert!(!stats.contains("\"s1\""), "{stats}");
    assert_eq!(get(proxy.admin, "/readyz").0, 200);
    // So do the metrics: the new server is counted under its name.
    let scrape = Scrape::take(proxy.admin);
    let requests = |s: &str| scrape.sum("shardcar_proxy_server_requests_total", &[("server", s)]);
    assert!(requests("s2") > 0.0 && requests("s0") > 0.0);
}

#[test]
fn a_broken_file_is_refused_and_the_running_configuration_stays() {
    let port = free_port();
    let good = embedded("alpha", port, &["shard-a"]);
    let mut proxy = Reloading::start("proxy", &good, &[]);
    let mut con = children::connect(port);
    set(&mut con, "k", "v");

    proxy.reload(&good.replace("redis: true", "redis: true\n  hash: md6"));
    let refused = proxy.wait_nth("configuration reload refused", 1);
    assert!(refused.contains("unknown value 'md6'"), "{refused}");
    proxy.reload("alpha: [unclosed\n");
    proxy.wait_nth("configuration reload refused", 2);
    // Valid YAML, but a listener that cannot be bound: refused whole.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other = embedded("beta", taken.local_addr().unwrap().port(), &["shard-b"]);
    proxy.reload(&format!("{good}{other}"));
    let refused = proxy.wait_nth("configuration reload refused", 3);
    assert!(
        refused.contains("pool 'beta': cannot listen on"),
        "{refused}"
    );

    let value: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(value, "v", "the connection and the data survived");
    assert_eq!(get(proxy.admin, "/readyz").0, 200);
    assert!(!proxy.stats().contains("\"beta\""));
    assert!(!proxy.proc.log().contains("configuration reloaded"));
}

/// True when something accepts on `port`.
fn accepts(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn pools_come_and_go_with_their_listeners_when_the_file_changes() {
    let (a, b) = (free_port(), free_port());
    let alpha = embedded("alpha", a, &["shard-a"]);
    let beta = embedded("beta", b, &["shard-b"]);
    // Watching the file: no signal needed.
    let mut proxy = Reloading::start("proxy", &alpha, &["--watch-config"]);
    assert!(!proxy.stats().contains("\"beta\""));

    std::fs::write(proxy.file.path(), format!("{alpha}{beta}")).unwrap();
    let logged = proxy.wait_reloaded();
    assert!(logged.contains("pools added: beta"), "{logged}");
    let mut on_beta = children::connect(b);
    set(&mut on_beta, "k", "b");
    assert!(proxy.stats().contains("\"beta\""));

    // An idle client of alpha, then alpha goes: no new clients, the idle one is
    // drained (its connection closes).
    let mut idle = TcpStream::connect(("127.0.0.1", a)).unwrap();
    idle.set_read_timeout(Some(PATIENCE)).unwrap();
    idle.write_all(b"PING\r\n").unwrap();
    let mut pong = [0u8; 7];
    idle.read_exact(&mut pong).unwrap();
    std::fs::write(proxy.file.path(), &beta).unwrap();
    let logged = proxy.wait_reloaded();
    assert!(logged.contains("pools removed: alpha"), "{logged}");
    let closed = poll(|| (!accepts(a)).then_some(()));
    assert!(closed.is_some(), "alpha still accepts");
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    let value: String = redis::cmd("GET").arg("k").query(&mut on_beta).unwrap();
    assert_eq!(value, "b");
    let stats = proxy.stats();
    assert!(
        stats.contains("\"beta\"") && !stats.contains("\"alpha\""),
        "{stats}"
    );
    assert_eq!(get(proxy.admin, "/readyz").0, 200);
}

#[test]
fn sighup_reloads_shardcar_up_and_starts_new_embedded_shards() {
    let port = free_port();
    let one = embedded("up", port, &["shard-a"]);
    let mut proxy = Reloading::start("up", &one, &[]);
    let two = embedded("up", port, &["shard-a", "shard-b"])
        // md5: twemproxy's default hash leaves short keys like k0…k99 on one server.
        .replace("redis: true", "redis: true\n  hash: md5");
    proxy.reload(&two);
    let logged = proxy.wait_reloaded();
    assert!(logged.contains("servers added: up/shard-b"), "{logged}");
    assert!(proxy.proc.log().contains("server=shard-b"));
    assert!(
        !proxy.proc.log().contains("shard removed"),
        "a shard in use was retired"
    );

    let mut con = children::connect(port);
    for i in 0..100 {
        let () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
    }
    let stats = proxy.stats();
    let requests = |server: &str| -> u64 {
        let at = stats
            .find(&format!("\"{server}\": {{"))
            .expect("server in stats");
        let rest = &stats[at..];
        let field = rest.find("\"requests\":").expect("requests") + "\"requests\":".len();
        rest[field..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(
        requests("shard-a") > 0 && requests("shard-b") > 0,
        "{stats}"
    );
}

#[test]
fn a_changed_listen_moves_the_pool_to_a_unix_socket_and_keeps_its_clients() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("alpha.sock");
    let port = free_port();
    let tcp = embedded("alpha", port, &["shard-a"]);
    let mut proxy = Reloading::start("proxy", &tcp, &[]);
    let mut old_client = children::connect(port);
    set(&mut old_client, "k", "v");

    let listen = format!("listen: {} 0600", sock.display());
    proxy.reload(&tcp.replace(&format!("listen: 127.0.0.1:{port}"), &listen));
    let logged = proxy.wait_reloaded();
    assert!(logged.contains("pools changed: alpha"), "{logged}");
    let closed = poll(|| (!accepts(port)).then_some(()));
    assert!(closed.is_some(), "the old address still accepts");

    let url = format!("redis+unix://{}", sock.display());
    let mut on_socket = redis::Client::open(url).unwrap().get_connection().unwrap();
    let value: String = redis::cmd("GET").arg("k").query(&mut on_socket).unwrap();
    assert_eq!(value, "v");
    // The client of the old address is still served.
    let value: String = redis::cmd("GET").arg("k").query(&mut old_client).unwrap();
    assert_eq!(value, "v");

    proxy.proc.signal("TERM");
    assert!(proxy.proc.wait_exit(PATIENCE).success());
    assert!(!sock.exists(), "the socket file outlived the proxy");
}
