//! RDB snapshots end to end: restarts with every type and expiries crossing
//! them, point-in-time BGSAVE under writes, corrupt files, unwritable
//! directories (MISCONF), and interoperation with redis-server and
//! redis-check-rdb (when SHARDCAR_TEST_REDIS_SERVER names redis-server).

mod support;

use redis::aio::MultiplexedConnection;
use std::path::Path;
use std::time::Duration;
use support::Engine;

/// Every type, in compact and big encodings, some keys with a TTL.
async fn populate(con: &mut MultiplexedConnection) {
    let mut p = redis::pipe();
    p.set("str", "hello")
        .set("int", 12345)
        .set("big", "x".repeat(5000));
    p.cmd("SET").arg("vol").arg("v").arg("EX").arg(10_000);
    p.cmd("SET").arg("short").arg("v").arg("PX").arg(100);
    p.rpush("list", &["a", "1", "-1"]);
    p.rpush(
        "biglist",
        (0..3000).map(|i| format!("e{i}")).collect::<Vec<_>>(),
    );
    p.hset_multiple("hash", &[("f", "v"), ("n", "1")]);
    p.hset_multiple(
        "bighash",
        &(0..300).map(|i| (format!("f{i}"), i)).collect::<Vec<_>>(),
    );
    p.sadd("ints", &[1, -5, 70000]);
    p.sadd(
        "strs",
        (0..700).map(|i| format!("m{i}")).collect::<Vec<_>>(),
    );
    p.zadd_multiple("zset", &[(1.5, "a"), (-2.0, "b"), (f64::INFINITY, "c")]);
    p.zadd_multiple(
        "bigzset",
        &(0..300)
            .map(|i| (f64::from(i) / 3.0, format!("m{i}")))
            .collect::<Vec<_>>(),
    );
    p.cmd("PEXPIRE").arg("hash").arg(5_000_000);
    p.cmd("SELECT")
        .arg(7)
        .set("in7", "seven")
        .cmd("SELECT")
        .arg(0);
    p.query_async::<()>(con).await.unwrap();
}

/// Each key's type and contents, in a form two servers can be compared by.
async fn contents(con: &mut MultiplexedConnection) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(con).await.unwrap();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(con).await.unwrap();
        let mut items: Vec<String> = match kind.as_str() {
            "string" => vec![redis::cmd("GET").arg(&key).query_async(con).await.unwrap()],
            "list" => redis::cmd("LRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query_async(con)
                .await
                .unwrap(),
            "hash" => redis::cmd("HGETALL")
                .arg(&key)
                .query_async(con)
                .await
                .unwrap(),
            "set" => redis::cmd("SMEMBERS")
                .arg(&key)
                .query_async(con)
                .await
                .unwrap(),
            _ => redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query_async(con)
                .await
                .unwrap(),
        };
        if kind == "set" || kind == "hash" {
            items.sort();
        }
        if kind == "zset" {
            // Redis 7.0 prints scores with 17 digits: compare the doubles.
            for score in items.iter_mut().skip(1).step_by(2) {
                *score = format!("{:?}", score.parse::<f64>().unwrap());
            }
        }
        let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(con).await.unwrap();
        out.push(format!("{key} {kind} ttl>0:{} {items:?}", ttl > 0));
    }
    out
}

/// Asserts equal contents, showing only the first difference (they are long).
fn same(actual: &[String], expected: &[String], what: &str) {
    let cut = |s: &String| s.chars().take(300).collect::<String>();
    for (a, e) in actual.iter().zip(expected) {
        assert!(
            a == e,
            "{what}:\n  got      {}\n  expected {}",
            cut(a),
            cut(e)
        );
    }
    let names = |v: &[String]| {
        v.iter()
            .map(|l| l.split(' ').next().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(actual), names(expected), "{what}: keys differ");
}

async fn info_field(con: &mut MultiplexedConnection, field: &str) -> String {
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query_async(con)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

async fn wait_bgsave(con: &mut MultiplexedConnection) {
    for _ in 0..500 {
        if info_field(con, "rdb_bgsave_in_progress").await == "0" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("BGSAVE did not end");
}

fn engine_args(dir: &Path) -> Vec<String> {
    let dir = dir.display().to_string();
    vec!["--dir".into(), dir, "--save".into(), "3600 1".into()]
}

async fn start(dir: &Path) -> Engine {
    let args = engine_args(dir);
    Engine::start_with(&args.iter().map(String::as_str).collect::<Vec<_>>()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_every_type_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path()).await;
    let mut con = engine.conn().await;
    populate(&mut con).await;
    let mut before = contents(&mut con).await;
    let changes: u64 = info_field(&mut con, "rdb_changes_since_last_save")
        .await
        .parse()
        .unwrap();
    assert!(changes > 0);
    engine.stop().await; // save points are set: it saves on the way out
    tokio::time::sleep(Duration::from_millis(150)).await; // "short" expires meanwhile
    let engine = start(dir.path()).await;
    let mut con = engine.conn().await;
    before.retain(|line| !line.starts_with("short "));
    same(&contents(&mut con).await, &before, "after a restart");
    let seven: String = redis::cmd("SELECT")
        .arg(7)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(seven, "OK");
    let v: String = redis::cmd("GET")
        .arg("in7")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(v, "seven");
    assert_eq!(
        info_field(&mut con, "rdb_changes_since_last_save").await,
        "0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bgsave_is_a_point_in_time_view_under_writes() {
    const KEYS: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path()).await;
    let mut con = engine.conn().await;
    let mut p = redis::pipe();
    for i in 0..KEYS {
        p.set(format!("c{i}"), 0).ignore();
    }
    p.query_async::<()>(&mut con).await.unwrap();
    // A writer increments c0..cN in order, round after round, and creates n0, n1…
    let mut writer = engine.conn().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let task = tokio::spawn(async move {
        let mut created = 0;
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            for chunk in (0..KEYS).collect::<Vec<_>>().chunks(500) {
                let mut p = redis::pipe();
                for i in chunk {
                    p.incr(format!("c{i}"), 1).ignore();
                }
                p.set(format!("n{created}"), 1).ignore();
                created += 1;
                p.query_async::<()>(&mut writer).await.unwrap();
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let reply: String = redis::cmd("BGSAVE").query_async(&mut con).await.unwrap();
    assert_eq!(reply, "Background saving started");
    wait_bgsave(&mut con).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    task.await.unwrap();
    assert_eq!(info_field(&mut con, "rdb_last_bgsave_status").await, "ok");
    drop(engine);
    // Load the dump alone (no final save: --save "").
    let dump = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("dump.rdb"), dump.path().join("dump.rdb")).unwrap();
    let dump_dir = dump.path().display().to_string();
    let engine = Engine::start_with(&["--dir", &dump_dir, "--save", ""]).await;
    let mut con = engine.conn().await;
    let mut p = redis::pipe();
    for i in 0..KEYS {
        p.get(format!("c{i}"));
    }
    let counters: Vec<i64> = p.query_async(&mut con).await.unwrap();
    // At one instant the writer was inside a round: a prefix one ahead.
    let first = counters[0];
    let split = counters.iter().position(|&c| c != first).unwrap_or(KEYS);
    assert!(
        counters[split..].iter().all(|&c| c == first - 1),
        "torn: {first} then {:?}",
        &counters[split..split + 3]
    );
    let mut n = 0;
    while redis::cmd("EXISTS")
        .arg(format!("n{n}"))
        .query_async::<i64>(&mut con)
        .await
        .unwrap()
        == 1
    {
        n += 1;
    }
    let keys: i64 = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
    assert_eq!(
        keys as usize,
        KEYS + n,
        "the new keys form a prefix n0..n{n}"
    );
}

#[tokio::test]
async fn a_corrupt_snapshot_stops_the_start_with_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dump.rdb");
    let good = {
        let engine = start(dir.path()).await;
        let mut con = engine.conn().await;
        populate(&mut con).await;
        engine.stop().await;
        std::fs::read(&path).unwrap()
    };
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x40;
    for bad in [
        b"not an rdb file".to_vec(),
        good[..good.len() / 2].to_vec(),
        flipped,
    ] {
        std::fs::write(&path, &bad).unwrap();
        let args = engine_args(dir.path());
        let cfg = shardcar::engine::EngineConfig::from_args(&args).unwrap();
        let err = shardcar::engine::server::open(cfg).unwrap_err().to_string();
        assert!(
            err.contains(&path.display().to_string()) && err.contains("offset"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_failed_bgsave_refuses_writes_until_a_save_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path()).await;
    let mut con = engine.conn().await;
    set(&mut con, "k", "v").await;
    // A directory under a regular file cannot exist, even for root.
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let bad = file.join("sub").display().to_string();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("dir")
        .arg(&bad)
        .query_async(&mut con)
        .await
        .unwrap();
    let _: String = redis::cmd("BGSAVE").query_async(&mut con).await.unwrap();
    wait_bgsave(&mut con).await;
    assert_eq!(info_field(&mut con, "rdb_last_bgsave_status").await, "err");
    let err = redis::cmd("SET")
        .arg("k")
        .arg("w")
        .query_async::<()>(&mut con)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("MISCONF"), "{err}");
    let v: String = redis::cmd("GET")
        .arg("k")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(v, "v", "reads still work");
    let err = redis::cmd("SAVE")
        .query_async::<()>(&mut con)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ERR"));
    let good = dir.path().display().to_string();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("dir")
        .arg(&good)
        .query_async(&mut con)
        .await
        .unwrap();
    let _: () = redis::cmd("SAVE").query_async(&mut con).await.unwrap();
    set(&mut con, "k", "w").await;
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("temp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// redis-server and redis-check-rdb from SHARDCAR_TEST_REDIS_SERVER, if set.
fn redis_tools() -> Option<(String, String)> {
    let server = support::peers::redis_server()?;
    let check = Path::new(&server).with_file_name("redis-check-rdb");
    Some((server, check.display().to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_move_both_ways_between_redis_and_shardcar() {
    let Some((server, check)) = redis_tools() else {
        return;
    };
    // shardcar → redis-check-rdb and redis-server.
    let ours = tempfile::tempdir().unwrap();
    let engine = start(ours.path()).await;
    let mut con = engine.conn().await;
    populate(&mut con).await;
    let _: () = redis::cmd("PERSIST")
        .arg("short")
        .query_async(&mut con)
        .await
        .unwrap();
    let _: () = redis::cmd("SAVE").query_async(&mut con).await.unwrap();
    let expected = contents(&mut con).await;
    let dump = ours.path().join("dump.rdb");
    let checked = std::process::Command::new(&check)
        .arg(&dump)
        .output()
        .expect("redis-check-rdb runs");
    let report = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success() && report.contains("RDB looks OK"),
        "{report}"
    );
    let theirs = tempfile::tempdir().unwrap();
    std::fs::copy(&dump, theirs.path().join("dump.rdb")).unwrap();
    let redis = support::RedisServer::start_with(&server, Some(theirs.path())).await;
    let mut redis_con = redis.conn().await;
    same(
        &contents(&mut redis_con).await,
        &expected,
        "redis-server loads our dump",
    );
    // redis-server → shardcar.
    set(&mut redis_con, "from-redis", "yes").await;
    let _: () = redis::cmd("SAVE")
        .query_async(&mut redis_con)
        .await
        .unwrap();
    let expected = contents(&mut redis_con).await;
    drop(engine);
    let back = tempfile::tempdir().unwrap();
    std::fs::copy(theirs.path().join("dump.rdb"), back.path().join("dump.rdb")).unwrap();
    let dir = back.path().display().to_string();
    let engine = Engine::start_with(&["--dir", &dir, "--save", ""]).await;
    let mut con = engine.conn().await;
    same(
        &contents(&mut con).await,
        &expected,
        "we load redis-server's dump",
    );
}

/// SET `key` `value`.
async fn set(con: &mut MultiplexedConnection, key: &str, value: impl redis::ToRedisArgs) {
    let () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query_async(con)
        .await
        .unwrap();
}

/// The keys of db 0, sorted.
async fn keys(con: &mut MultiplexedConnection) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(con).await.unwrap();
    keys.sort();
    keys
}

/// Recovery order, as Redis's: with appendonly on, an AOF that exists is the
/// whole data set and the snapshot is not read; with no AOF yet, the snapshot
/// is loaded and becomes the new AOF's base; with appendonly off, the snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aof_is_loaded_before_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let plain = ["--dir", d.as_str(), "--save", ""];
    let with_aof = ["--dir", d.as_str(), "--save", "", "--appendonly", "yes"];

    let engine = Engine::start_with(&plain).await;
    let mut con = engine.conn().await;
    set(&mut con, "from-rdb", 1).await;
    let _: () = redis::cmd("SAVE").query_async(&mut con).await.unwrap();
    engine.stop().await;

    let engine = Engine::start_with(&with_aof).await;
    let mut con = engine.conn().await;
    assert_eq!(
        keys(&mut con).await,
        ["from-rdb"],
        "no AOF yet: the snapshot seeds it"
    );
    set(&mut con, "from-aof", 1).await;
    engine.stop().await;

    // A different snapshot now sits beside the AOF.
    let other = tempfile::tempdir().unwrap();
    let o = other.path().display().to_string();
    let engine = Engine::start_with(&["--dir", &o, "--save", ""]).await;
    let mut con = engine.conn().await;
    set(&mut con, "only-in-rdb", 1).await;
    let _: () = redis::cmd("SAVE").query_async(&mut con).await.unwrap();
    engine.stop().await;
    std::fs::copy(other.path().join("dump.rdb"), dir.path().join("dump.rdb")).unwrap();

    let engine = Engine::start_with(&with_aof).await;
    let mut con = engine.conn().await;
    assert_eq!(
        keys(&mut con).await,
        ["from-aof", "from-rdb"],
        "the AOF wins"
    );
    engine.stop().await;

    let engine = Engine::start_with(&plain).await;
    let mut con = engine.conn().await;
    assert_eq!(
        keys(&mut con).await,
        ["only-in-rdb"],
        "appendonly off: the snapshot"
    );
    engine.stop().await;
}

/// Copies every key of db 0 from `from` to `to` with DUMP, PTTL and RESTORE.
async fn migrate(from: &mut MultiplexedConnection, to: &mut MultiplexedConnection) {
    for key in keys(from).await {
        let payload: Vec<u8> = redis::cmd("DUMP")
            .arg(&key)
            .query_async(from)
            .await
            .unwrap();
        let pttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(from)
            .await
            .unwrap();
        let () = redis::cmd("RESTORE")
            .arg(&key)
            .arg(pttl.max(0))
            .arg(payload)
            .query_async(to)
            .await
            .unwrap_or_else(|e| panic!("RESTORE {key}: {e}"));
    }
}

/// DUMP payloads are redis-server's: every type, both ways, with expiries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_move_both_ways_between_redis_and_shardcar_by_dump_and_restore() {
    let Some(server) = support::peers::redis_server() else {
        return;
    };
    let engine = Engine::start().await;
    let mut ours = engine.conn().await;
    populate(&mut ours).await;
    let _: () = redis::cmd("PERSIST")
        .arg("short")
        .query_async(&mut ours)
        .await
        .unwrap();
    let expected = contents(&mut ours).await;

    let redis = support::RedisServer::start_with(&server, None).await;
    let mut theirs = redis.conn().await;
    migrate(&mut ours, &mut theirs).await;
    same(
        &contents(&mut theirs).await,
        &expected,
        "redis-server restores our DUMPs",
    );

    let back = Engine::start().await;
    let mut fresh = back.conn().await;
    migrate(&mut theirs, &mut fresh).await;
    same(
        &contents(&mut fresh).await,
        &expected,
        "we restore redis-server's DUMPs",
    );
    // Same value, same bytes: the payloads are interchangeable.
    for key in ["str", "int", "list", "hash", "ints", "zset", "bigzset"] {
        let a: Vec<u8> = redis::cmd("DUMP")
            .arg(key)
            .query_async(&mut fresh)
            .await
            .unwrap();
        let b: Vec<u8> = redis::cmd("DUMP")
            .arg(key)
            .query_async(&mut theirs)
            .await
            .unwrap();
        assert_eq!(a, b, "DUMP {key}");
    }
}
