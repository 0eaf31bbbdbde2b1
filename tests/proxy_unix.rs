//! Unix sockets on both sides of the proxy, as twemproxy allows: a pool that
//! listens on a socket path with permissions (served to `redis-cli -s` and the
//! `redis` crate), and a pool whose servers are `redis-server --unixsocket`
//! paths, with keys placed where nutcracker places them on the same servers.
//! Gated on SHARDCAR_TEST_REDIS_SERVER (and SHARDCAR_TEST_NUTCRACKER for the
//! comparison), each the binary's path.

mod support;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

use shardcar::config::Config;
use support::Engine;

const PATIENCE: Duration = Duration::from_secs(15);

/// The pool settings shardcar and nutcracker share in the placement test, up to
/// its `servers:` lines.
const MD5_POOL: &str = "  hash: md5\n  redis: true\n  servers:\n";

/// Runs the one pool of `yaml` in this process on the listener its config
/// names; the proxy stops when the returned sender is dropped.
async fn serve(yaml: &str) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let pool = Config::from_yaml(yaml).expect("valid").pools.remove(0);
    let listener = shardcar::proxy::bind(&pool).await.expect("bind");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = shardcar::proxy::run(vec![(listener, pool)], None, stopped).await;
    });
    (stop, task)
}

fn unix_url(path: &Path) -> String {
    format!("redis+unix://{}", path.display())
}

#[tokio::test]
async fn a_pool_listens_on_a_unix_socket_with_its_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("proxy.sock");
    let engines = [Engine::start().await, Engine::start().await];
    let yaml = format!(
        "unix:\n  listen: {} 0660\n  redis: true\n  servers:\n    - {}:1 a\n    - {}:1 b\n",
        sock.display(),
        engines[0].addr,
        engines[1].addr
    );
    let (stop, task) = serve(&yaml).await;
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660);

    let client = redis::Client::open(unix_url(&sock)).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    for i in 0..50 {
        let () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query_async(&mut con)
            .await
            .unwrap();
    }
    let values: Vec<i64> = redis::cmd("MGET")
        .arg((0..50).map(|i| format!("k{i}")).collect::<Vec<_>>())
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(values, (0..50).collect::<Vec<i64>>());

    let mut cli = Command::new("redis-cli");
    cli.arg("-s").arg(&sock).args(["GET", "k7"]);
    let cli = tokio::task::spawn_blocking(move || cli.output())
        .await
        .unwrap();
    match cli {
        Ok(out) => assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "7"),
        Err(_) => println!("redis-cli part skipped: redis-cli is not installed"),
    }

    drop((con, client));
    drop(stop);
    task.await.unwrap();
    assert!(!sock.exists(), "the socket file outlived the proxy");
}

/// A `redis-server` on a unix socket only, killed on drop.
struct UnixRedis {
    path: PathBuf,
    child: Child,
}

impl UnixRedis {
    fn start(bin: &str, dir: &Path, n: usize) -> UnixRedis {
        let path = dir.join(format!("redis-{n}.sock"));
        let child = Command::new(bin)
            .args(["--port", "0", "--unixsocket"])
            .arg(&path)
            .args([
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let server = UnixRedis { path, child };
        let started = Instant::now();
        while server.conn().is_none() {
            assert!(started.elapsed() < PATIENCE, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        server
    }

    fn conn(&self) -> Option<redis::Connection> {
        let client = redis::Client::open(unix_url(&self.path)).ok()?;
        let mut con = client.get_connection().ok()?;
        redis::cmd("PING").query::<String>(&mut con).ok()?;
        Some(con)
    }

    fn keys(&self) -> Vec<String> {
        let mut con = self.conn().expect("connect");
        redis::cmd("KEYS").arg("*").query(&mut con).expect("KEYS")
    }

    fn flush(&self) {
        let mut con = self.conn().expect("connect");
        let () = redis::cmd("FLUSHALL").query(&mut con).expect("FLUSHALL");
    }
}

impl Drop for UnixRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which server (by index) each key is on.
fn placement(servers: &[UnixRedis]) -> HashMap<String, usize> {
    let mut found = HashMap::new();
    for (i, server) in servers.iter().enumerate() {
        for key in server.keys() {
            found.insert(key, i);
        }
        server.flush();
    }
    found
}

/// Writes `keys` through the proxy at `url`.
fn write_keys(url: &str, keys: &[String]) {
    let mut con = redis::Client::open(url)
        .unwrap()
        .get_connection_with_timeout(PATIENCE)
        .unwrap();
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.cmd("SET").arg(key).arg(1).ignore();
    }
    let () = pipe.query(&mut con).expect("pipelined SETs");
}

/// A nutcracker on a free port with the pool of `servers`, killed on drop.
struct Nutcracker(Child);

impl Drop for Nutcracker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_nutcracker(bin: &str, dir: &Path, servers: &str) -> (Nutcracker, u16) {
    let port = support::ports::free_port();
    let conf = dir.join("nutcracker.yml");
    std::fs::write(
        &conf,
        format!("p:\n  listen: 127.0.0.1:{port}\n{MD5_POOL}{servers}"),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .args(["-s", &support::ports::free_port().to_string()])
        .arg("-o")
        .arg(dir.join("nutcracker.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nutcracker");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < PATIENCE, "nutcracker did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    (Nutcracker(child), port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_on_unix_sockets_get_the_keys_nutcracker_gives_them() {
    let Ok(bin) = std::env::var("SHARDCAR_TEST_REDIS_SERVER") else {
        println!("skipped: set SHARDCAR_TEST_REDIS_SERVER to redis-server's path");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let servers: Vec<UnixRedis> = (0..3)
        .map(|n| UnixRedis::start(&bin, dir.path(), n))
        .collect();
    // Unnamed (the ring hashes twemproxy's name for a socket) and weighted. The
    // socket paths are random, so the hash is md5: the default fnv1a_64 puts
    // `user:N` keys in runs of ten, and on some paths a server gets none.
    let lines: String = servers
        .iter()
        .enumerate()
        .map(|(i, s)| format!("    - {}:{}\n", s.path.display(), i + 1))
        .collect();
    let port = support::ports::free_port();
    let yaml = format!("p:\n  listen: 127.0.0.1:{port}\n{MD5_POOL}{lines}");
    let (stop, task) = serve(&yaml).await;
    let keys: Vec<String> = (0..600).map(|i| format!("user:{i}")).collect();
    let url = format!("redis://127.0.0.1:{port}/");
    let write = {
        let keys = keys.clone();
        move || write_keys(&url, &keys)
    };
    tokio::task::spawn_blocking(write).await.unwrap();
    let ours = placement(&servers);
    assert_eq!(ours.len(), keys.len(), "every key is on one server");
    let used = ours.values().collect::<std::collections::HashSet<_>>();
    assert_eq!(used.len(), 3, "the keys spread over every server");
    drop(stop);
    task.await.unwrap();

    let Ok(nutcracker) = std::env::var("SHARDCAR_TEST_NUTCRACKER") else {
        println!("nutcracker comparison skipped: set SHARDCAR_TEST_NUTCRACKER");
        return;
    };
    let (_nc, nc_port) = start_nutcracker(&nutcracker, dir.path(), &lines);
    let url = format!("redis://127.0.0.1:{nc_port}/");
    tokio::task::spawn_blocking(move || write_keys(&url, &keys))
        .await
        .unwrap();
    let theirs = placement(&servers);
    assert_eq!(ours, theirs, "placement differs from nutcracker's");
}
