//! The `shardcar proxy` binary under faults: backends that die mid-pipeline,
//! come back, or never answer; clients that send garbage, declare huge
//! payloads, or just sit there by the ten thousand. Backends are real
//! `redis-server`s (skipped, with a note, where it is not installed) or
//! listeners in the test that misbehave on purpose.

#[path = "children/mod.rs"]
mod children;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use children::{
    command, connect, free_port, have_redis_server, nofile_limits, ProxyProcess, RawClient, Redis,
    Reply,
};

/// The idle-clients test takes ten thousand ephemeral ports: it runs alone
/// (write guard) so that no other test's "free" port is taken meanwhile.
static PORTS: RwLock<()> = RwLock::new(());

fn sharing_ports() -> RwLockReadGuard<'static, ()> {
    PORTS.read().unwrap_or_else(|e| e.into_inner())
}

fn owning_ports() -> RwLockWriteGuard<'static, ()> {
    PORTS.write().unwrap_or_else(|e| e.into_inner())
}

/// A one-pool config on a free port; its port.
fn write_config(dir: &Path, settings: &str, servers: &[String]) -> (std::path::PathBuf, u16) {
    let port = free_port();
    let mut yaml =
        format!("faults:\n  listen: 127.0.0.1:{port}\n  redis: true\n{settings}  servers:\n");
    for server in servers {
        yaml.push_str(&format!("   - {server}\n"));
    }
    let conf = dir.join(format!("faults-{port}.yml"));
    std::fs::write(&conf, yaml).expect("write config");
    (conf, port)
}

/// Starts `shardcar proxy` on a one-pool config; the process and its port.
fn start_proxy(dir: &Path, settings: &str, servers: &[String]) -> (ProxyProcess, u16) {
    let (conf, port) = write_config(dir, settings, servers);
    (ProxyProcess::shardcar(&conf, &[port]), port)
}

fn server_line(port: u16, name: &str) -> String {
    format!("127.0.0.1:{port}:1 {name}")
}

/// SETs `key` = `key` for every key through the proxy, pipelined.
fn seed(port: u16, keys: &[Vec<u8>]) {
    let mut con = connect(port);
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.cmd("SET")
            .arg(key.as_slice())
            .arg(key.as_slice())
            .ignore();
    }
    pipe.query::<()>(&mut con).expect("seed keys");
}

fn keys(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{prefix}:{i}").into_bytes())
        .collect()
}

fn is_err(reply: &Reply) -> bool {
    reply.error().is_some_and(|e| e.starts_with("ERR "))
}

/// A stats counter of the document: the first `"name":N` after `after`.
fn stat(doc: &str, after: &str, name: &str) -> u64 {
    let from = doc
        .find(after)
        .unwrap_or_else(|| panic!("{after} in {doc}"));
    let needle = format!("\"{name}\":");
    let at = from + doc[from..].find(&needle).expect("counter") + needle.len();
    let digits: String = doc[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("number")
}

// ------------------------------------------------------------- dead backends

#[test]
fn backend_killed_mid_pipeline_fails_each_inflight_request_in_order() {
    let _ports = sharing_ports();
    if !have_redis_server() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = Redis::start(dir.path());
    let b = Redis::start(dir.path());
    let servers = [server_line(a.port, "alpha"), server_line(b.port, "beta")];
    // md5 spreads these similar keys; fnv1a_64 (with its tiny prime) would not.
    let settings = "  hash: md5\n  timeout: 20000\n";
    let (_proxy, port) = start_proxy(dir.path(), settings, &servers);
    let keys = keys("inflight", 200);
    seed(port, &keys);
    let on_a = a.keys();
    assert!(
        on_a.len() > 20 && on_a.len() < 180,
        "{} keys on a",
        on_a.len()
    );

    // Paused, `a` reads the proxy's requests but answers none: they stay in
    // flight until it dies.
    let mut direct = connect(a.port);
    redis::cmd("CLIENT")
        .arg(&["PAUSE", "30000", "ALL"])
        .query::<()>(&mut direct)
        .expect("CLIENT PAUSE");
    let mut client = RawClient::connect(port, Duration::from_secs(10));
    // GETs, with an MGET over every key in the middle: split over both
    // servers, its part on `a` is in flight too.
    let mut pipeline: Vec<u8> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        pipeline.extend(command(&[b"GET", key]));
        if i == keys.len() / 2 {
            let mget: Vec<&[u8]> = std::iter::once(&b"MGET"[..])
                .chain(keys.iter().map(Vec::as_slice))
                .collect();
            pipeline.extend(command(&mget));
        }
    }
    client.send(&pipeline);
    std::thread::sleep(Duration::from_millis(300));
    a.kill();
    let killed = Instant::now();
    for (i, key) in keys.iter().enumerate() {
        let reply = client.read().expect("a reply for every request");
        assert_fate(&on_a, key, &reply);
        if i == keys.len() / 2 {
            let Reply::Array(Some(values)) = client.read().expect("the MGET's reply") else {
                panic!("MGET answers an array")
            };
            assert_eq!(values.len(), keys.len());
            for (key, value) in keys.iter().zip(&values) {
                assert_fate(&on_a, key, value);
            }
        }
    }
    assert!(
        killed.elapsed() < Duration::from_secs(3),
        "{:?}",
        killed.elapsed()
    );

    // The client's connection carries on: `b` answers, `a` is refused at once.
    let b_key = keys
        .iter()
        .find(|k| !on_a.contains(*k))
        .expect("a key on b");
    let a_key = on_a.iter().next().expect("a key on a");
    assert_eq!(
        client.call(&[b"GET", b_key]),
        Reply::Bulk(Some(b_key.clone()))
    );
    let started = Instant::now();
    let reply = client.call(&[b"GET", a_key]);
    assert_eq!(reply.error(), Some("ERR Connection refused"), "{reply:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A key on the killed server gets an error; any other key its value.
fn assert_fate(on_killed: &HashSet<Vec<u8>>, key: &Vec<u8>, reply: &Reply) {
    if on_killed.contains(key) {
        assert!(is_err(reply), "key on the killed server: {reply:?}");
    } else {
        assert_eq!(reply, &Reply::Bulk(Some(key.clone())), "in request order");
    }
}

#[test]
fn ejected_backend_leaves_the_ring_and_returns_after_retry_timeout() {
    let _ports = sharing_ports();
    if !have_redis_server() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut redis: Vec<Redis> = (0..3).map(|_| Redis::start(dir.path())).collect();
    let servers: Vec<String> = redis
        .iter()
        .zip(["alpha", "beta", "gamma"])
        .map(|(r, name)| server_line(r.port, name))
        .collect();
    let retry = Duration::from_millis(2000);
    let settings = format!(
        "  hash: md5\n  timeout: 2000\n  auto_eject_hosts: true\n  server_failure_limit: 2\n  server_retry_timeout: {}\n",
        retry.as_millis()
    );
    let (proxy, port) = start_proxy(dir.path(), &settings, &servers);
    let keys = keys("eject", 300);
    seed(port, &keys);
    let before: Vec<HashSet<Vec<u8>>> = redis.iter().map(Redis::keys).collect();
    assert!(
        before.iter().all(|k| k.len() > 30),
        "a share for every server"
    );

    // `a` dies: its first `server_failure_limit` requests fail, then it is
    // ejected and its keys go to the rest of the ring.
    redis[0].kill();
    let mut client = RawClient::connect(port, Duration::from_secs(5));
    let mut failed = 0;
    let mut succeeded = false;
    for key in &before[0] {
        let reply = client.call(&[b"SET", key, key]);
        if is_err(&reply) {
            assert!(!succeeded, "a failure after the ejection: {reply:?}");
            failed += 1;
        } else {
            assert_eq!(reply, Reply::Simple("OK".into()));
            succeeded = true;
        }
    }
    let ejected = Instant::now();
    assert_eq!(failed, 2, "server_failure_limit failures, then ejection");
    let stats = proxy.stats();
    assert_eq!(stat(&stats, "\"faults\"", "server_ejects"), 1, "{stats}");
    assert!(
        stat(&stats, "\"alpha\"", "server_ejected_at") > 0,
        "{stats}"
    );

    // Over the live ring, b and c keep their keys and share a's.
    redis[1].flush();
    redis[2].flush();
    seed(port, &keys);
    let (b, c) = (redis[1].keys(), redis[2].keys());
    assert!(before[1].is_subset(&b) && before[2].is_subset(&c));
    assert_eq!(b.len() + c.len(), keys.len());

    // `a` comes back; after server_retry_timeout it is in the ring again and
    // every key is where it was at the start.
    redis[0].restart();
    std::thread::sleep(
        (ejected + retry + Duration::from_millis(300)).saturating_duration_since(Instant::now()),
    );
    redis.iter().for_each(Redis::flush);
    seed(port, &keys);
    let after: Vec<HashSet<Vec<u8>>> = redis.iter().map(Redis::keys).collect();
    assert_eq!(before, after, "placement after the server's return");
}

/// A backend that accepts and reads, and never writes a byte back: or, with
/// `greeting`, writes that once per connection and then falls silent.
fn silent_backend(greeting: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut greeted = false;
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if !greeted && !greeting.is_empty() {
                        let _ = stream.write_all(greeting);
                        greeted = true;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn silent_backend_fails_requests_at_the_timeout() {
    let _ports = sharing_ports();
    let dir = tempfile::tempdir().expect("tempdir");
    let silent = silent_backend(b"");
    let servers = [server_line(silent, "silent")];
    let (proxy, port) = start_proxy(dir.path(), "  timeout: 300\n", &servers);
    let mut client = RawClient::connect(port, Duration::from_secs(5));
    for round in 0..2 {
        let started = Instant::now();
        client.send(&[command(&[b"GET", b"x"]), command(&[b"SET", b"y", b"1"])].concat());
        for _ in 0..2 {
            let reply = client.read().expect("a reply");
            assert_eq!(
                reply.error(),
                Some("ERR Connection timed out"),
                "round {round}"
            );
        }
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(290) && waited < Duration::from_millis(1500),
            "round {round}: {waited:?}"
        );
        // Meanwhile the proxy itself answers at once.
        assert_eq!(client.call(&[b"PING"]), Reply::Simple("PONG".into()));
    }
    let stats = proxy.stats();
    assert!(
        stat(&stats, "\"silent\"", "server_timedout") >= 2,
        "{stats}"
    );
}

// ---------------------------------------------------------------- bad input

/// What a server sends back to `input` before it closes the connection.
fn answer_then_close(port: u16, input: &[u8]) -> Vec<u8> {
    let mut client = RawClient::connect(port, Duration::from_secs(5));
    // The server may close before it has read everything: that is its right.
    let _ = client.try_send(input);
    let (reply, closed) = client.read_to_close();
    assert!(
        closed,
        "connection left open after {:?}",
        String::from_utf8_lossy(input)
    );
    reply
}

#[test]
fn malformed_resp_gets_redis_protocol_error_then_close() {
    let _ports = sharing_ports();
    if !have_redis_server() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let redis = Redis::start(dir.path());
    let (_proxy, port) = start_proxy(dir.path(), "", &[server_line(redis.port, "r")]);
    let mut bystander = RawClient::connect(port, Duration::from_secs(5));
    assert_eq!(
        bystander.call(&[b"SET", b"k", b"v"]),
        Reply::Simple("OK".into())
    );
    let cases: Vec<Vec<u8>> = vec![
        b"*abc\r\n".to_vec(),
        b"*1\r\n$x\r\n".to_vec(),
        b"*1\r\nfoo\r\n".to_vec(),
        b"*1\r\n\xff\r\n".to_vec(),
        b"*2\r\n$3\r\nGET\r\n$536870913\r\n".to_vec(),
        b"*2147483648\r\n".to_vec(),
        b"SET \"unbalanced\r\n".to_vec(),
        vec![b'a'; 70_000],
        [&command(&[b"PING"])[..], b"*1\r\n$-5\r\n"].concat(),
        [
            &command(&[b"GET", b"k"])[..],
            b"*x\r\n",
            &command(&[b"PING"]),
        ]
        .concat(),
    ];
    for input in &cases {
        let ours = answer_then_close(port, input);
        let theirs = answer_then_close(redis.port, input);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "input {:?}",
            String::from_utf8_lossy(&input[..input.len().min(40)])
        );
        assert!(
            ours.windows(20).any(|w| w == b"-ERR Protocol error:"),
            "{ours:?}"
        );
        assert_eq!(
            bystander.call(&[b"GET", b"k"]),
            Reply::Bulk(Some(b"v".to_vec()))
        );
    }
}

/// `VmSize` and `VmRSS` of a process, in KiB.
fn vm_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("field")
    };
    (field("VmSize:"), field("VmRSS:"))
}

#[test]
fn declared_giant_payloads_allocate_nothing() {
    let _ports = sharing_ports();
    let dir = tempfile::tempdir().expect("tempdir");
    // The backend declares a 512 MB reply to whatever it is asked, then stalls.
    let liar = silent_backend(b"$536870912\r\nabc");
    let (proxy, port) = start_proxy(dir.path(), "  timeout: 500\n", &[server_line(liar, "liar")]);
    let pid = proxy.child.pid();
    let mut bystander = RawClient::connect(port, Duration::from_secs(5));
    assert_eq!(bystander.call(&[b"PING"]), Reply::Simple("PONG".into()));
    let (size_before, rss_before) = vm_kib(pid);

    // Twenty clients each declare 512 MB (or 2³¹−1 arguments) and send a little.
    let mut clients = Vec::new();
    let some = vec![b'x'; 64 * 1024];
    for i in 0..20 {
        let mut client = RawClient::connect(port, Duration::from_secs(5));
        if i % 2 == 0 {
            client.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n");
            client.send(&some);
        } else {
            client.send(b"*2147483647\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        }
        clients.push(client);
    }
    // And the backend's declared 512 MB reply ends in a timeout.
    let reply = bystander.call(&[b"GET", b"k"]);
    assert_eq!(reply.error(), Some("ERR Connection timed out"));
    let (size_after, rss_after) = vm_kib(pid);
    println!(
        "declared 10 × 512 MB requests + a 512 MB reply: VmSize {size_before} → {size_after} KiB, VmRSS {rss_before} → {rss_after} KiB"
    );
    assert!(
        rss_after < rss_before + 32 * 1024,
        "RSS grew by {} KiB",
        rss_after - rss_before
    );
    assert!(
        size_after < size_before + 1024 * 1024,
        "virtual size grew by {} KiB",
        size_after - size_before
    );

    // One byte over the limit is refused outright.
    let reply = answer_then_close(port, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870913\r\n");
    assert_eq!(reply, b"-ERR Protocol error: invalid bulk length\r\n");
    assert_eq!(bystander.call(&[b"PING"]), Reply::Simple("PONG".into()));
    drop(clients);
}

// ------------------------------------------------------ many idle clients

/// Idle clients held at once.
const IDLE_CLIENTS: usize = 10_000;

/// Makes sure this process may open `needed` files: raises its soft limit to
/// the hard one with `prlimit` if it must. False (with a note) if it cannot.
fn ensure_nofile(needed: u64) -> bool {
    let pid = std::process::id().to_string();
    let (soft, hard) = nofile_limits(&pid);
    if soft < needed && hard >= needed {
        let limit = format!("--nofile={hard}:{hard}");
        let _ = std::process::Command::new("prlimit")
            .args(["--pid", &pid, &limit])
            .status();
    }
    let (soft, hard) = nofile_limits(&pid);
    if soft < needed {
        println!("skipped: open-file limit {soft} (hard {hard}) < {needed} needed");
    }
    soft >= needed
}

/// Polls the stats port until `curr_connections` reaches `expected`.
fn wait_for_clients(proxy: &ProxyProcess, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stats = proxy.stats();
        let current = stat(&stats, "{", "curr_connections");
        if current == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{current} of {expected} clients accepted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ten_thousand_idle_clients() {
    let _ports = owning_ports();
    let headroom = 200;
    if !ensure_nofile((IDLE_CLIENTS + headroom) as u64) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let silent = silent_backend(b"");
    let (conf, port) = write_config(dir.path(), "  timeout: 1000\n", &[server_line(silent, "s")]);
    let proxy =
        ProxyProcess::shardcar_with_nofile(&conf, &[port], (IDLE_CLIENTS + 2 * headroom) as u64);
    let (soft, _) = nofile_limits(&proxy.child.pid().to_string());
    if soft < (IDLE_CLIENTS + headroom) as u64 {
        println!("skipped: the proxy's open-file limit is {soft}");
        return;
    }
    // Warm up: one client through the whole path, then gone.
    {
        let mut warm = RawClient::connect(port, Duration::from_secs(5));
        assert!(warm.call(&[b"GET", b"x"]).error().is_some());
    }
    wait_for_clients(&proxy, 0);
    let before = proxy.rss_kib();
    let started = Instant::now();
    // In batches the listen queue can hold, each accepted before the next, so a
    // loaded machine drops no connection attempt (a dropped SYN costs seconds).
    let mut clients: Vec<TcpStream> = Vec::with_capacity(IDLE_CLIENTS);
    while clients.len() < IDLE_CLIENTS {
        let batch = (IDLE_CLIENTS - clients.len()).min(256);
        for _ in 0..batch {
            clients.push(TcpStream::connect(("127.0.0.1", port)).expect("connect"));
        }
        wait_for_clients(&proxy, clients.len() as u64);
    }
    let connecting = started.elapsed();
    wait_for_clients(&proxy, IDLE_CLIENTS as u64);
    let connected = started.elapsed();
    let after = proxy.rss_kib();
    let per_client = (after.saturating_sub(before) * 1024) as f64 / IDLE_CLIENTS as f64;
    println!(
        "{IDLE_CLIENTS} idle clients connected in {connecting:.1?}, all accepted in {connected:.1?}: proxy RSS {before} → {after} KiB, {per_client:.0} bytes per idle connection"
    );
    // Still serving: a new client gets an answer at once.
    let mut fresh = RawClient::connect(port, Duration::from_secs(5));
    assert_eq!(fresh.call(&[b"PING"]), Reply::Simple("PONG".into()));
    assert!(
        per_client < 64.0 * 1024.0,
        "{per_client} bytes per idle client"
    );
    drop(clients);
    drop(fresh);
    wait_for_clients(&proxy, 0);
}
