//! The append-only file, end to end with real processes: restarts of every
//! type, expiries across restarts, truncated and damaged files, a disk that
//! refuses writes, and files that redis-server 7.0 and redis-check-aof read.

#[path = "aof/mod.rs"]
mod aof;
#[path = "children/mod.rs"]
mod children;

use std::io::Write as _;
use std::time::Duration;

use aof::{aof_dir, dump, engine_fails, last_incr, run, Node};

/// Writes of every type, in several databases, with the rewrites by effect.
fn write_every_type(con: &mut redis::Connection) {
    for args in [
        &["SET", "s", "hello"][..],
        &["SET", "n", "42"],
        &["APPEND", "s", " world"],
        &["INCRBYFLOAT", "f", "1.25"],
        &["SETBIT", "bits", "7", "1"],
        &["PFADD", "hll", "a", "b", "c"],
        &["RPUSH", "l", "a", "b", "c", "d"],
        &["LPOP", "l"],
        &["HSET", "h", "f1", "v1", "f2", "v2"],
        &["HINCRBYFLOAT", "h", "x", "0.5"],
        &["SADD", "ints", "1", "2", "3"],
        &["SADD", "strs", "a", "b", "c", "d"],
        &["SPOP", "strs"],
        &["ZADD", "z", "1", "one", "2.5", "two", "3", "three"],
        &["ZINCRBY", "z", "10", "one"],
        &["SET", "ttl", "v", "EX", "1000"],
        &["SET", "gone", "v"],
        &["DEL", "gone"],
        &["SELECT", "2"],
        &["SET", "in2", "x"],
        &["RPUSH", "l2", "x"],
        &["SELECT", "0"],
        &["MULTI"],
        &["INCR", "n"],
        &["SADD", "ints", "4"],
        &["EXEC"],
    ] {
        run(con, args);
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Writes every type on `first`, ends it with `end` (a stop or a kill), then
/// starts `second` on the same directory: it must hold the same data. None
/// from `second`: its peer is not configured, and the check is skipped.
fn carried_over(first: Node, end: fn(Node), second: impl FnOnce() -> Option<Node>) {
    let mut con = first.conn();
    write_every_type(&mut con);
    let before = dump(&mut con);
    end(first);
    if let Some(second) = second() {
        assert_eq!(dump(&mut second.conn()), before);
        second.stop();
    }
}

#[test]
fn every_type_survives_a_restart() {
    let dir = tempdir();
    let first = Node::engine(dir.path(), &[]);
    carried_over(first, Node::stop, || Some(Node::engine(dir.path(), &[])));
}

#[test]
fn every_type_survives_sigkill_with_fsync_always() {
    let dir = tempdir();
    let first = Node::engine(dir.path(), &["--appendfsync", "always"]);
    carried_over(first, Node::kill, || Some(Node::engine(dir.path(), &[])));
}

#[test]
fn expiries_cross_the_restart_as_absolute_times() {
    let dir = tempdir();
    let node = Node::engine(dir.path(), &[]);
    let mut con = node.conn();
    run(&mut con, &["SET", "short", "v", "PX", "300"]);
    run(&mut con, &["SET", "long", "v", "EX", "100"]);
    run(&mut con, &["SET", "later", "v"]);
    run(&mut con, &["EXPIRE", "later", "100"]);
    node.stop();
    // The short TTL runs out while the engine is down: its absolute time is
    // in the log, so it is gone after the restart.
    std::thread::sleep(Duration::from_millis(400));
    let node = Node::engine(dir.path(), &[]);
    let mut con = node.conn();
    let short: Option<String> = redis::cmd("GET").arg("short").query(&mut con).unwrap();
    assert_eq!(short, None);
    for key in ["long", "later"] {
        let ttl: i64 = redis::cmd("TTL").arg(key).query(&mut con).unwrap();
        assert!((1..=100).contains(&ttl), "{key}: {ttl}");
    }
}

#[test]
fn restore_is_logged_with_an_absolute_ttl() {
    let dir = tempdir();
    let node = Node::engine(dir.path(), &[]);
    let mut con = node.conn();
    run(&mut con, &["RPUSH", "src", "a", "b"]);
    let payload: Vec<u8> = redis::cmd("DUMP").arg("src").query(&mut con).unwrap();
    for (key, ttl) in [("short", 300), ("long", 100_000), ("forever", 0)] {
        let () = redis::cmd("RESTORE")
            .arg(key)
            .arg(ttl)
            .arg(&payload)
            .query(&mut con)
            .unwrap();
    }
    node.stop();
    std::thread::sleep(Duration::from_millis(400));
    let node = Node::engine(dir.path(), &[]);
    let mut con = node.conn();
    let pttl = |con: &mut redis::Connection, key: &str| -> i64 {
        redis::cmd("PTTL").arg(key).query(con).unwrap()
    };
    assert_eq!(pttl(&mut con, "short"), -2, "its time ran out while down");
    assert!((1..=100_000).contains(&pttl(&mut con, "long")));
    assert_eq!(pttl(&mut con, "forever"), -1);
    let items: Vec<String> = redis::cmd("LRANGE")
        .arg("long")
        .arg(0)
        .arg(-1)
        .query(&mut con)
        .unwrap();
    assert_eq!(items, ["a", "b"]);
}

#[test]
fn a_truncated_tail_is_cut_off_with_a_warning() {
    let dir = tempdir();
    let node = Node::engine(dir.path(), &[]);
    let mut con = node.conn();
    run(&mut con, &["SET", "a", "1"]);
    run(&mut con, &["SET", "b", "2"]);
    node.stop();
    let incr = last_incr(dir.path());
    let good = std::fs::metadata(&incr).unwrap().len();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&incr)
        .unwrap();
    file.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$5\r\nhal")
        .unwrap();
    drop(file);

    let out = engine_fails(dir.path(), &["--aof-load-truncated", "no"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&incr.display().to_string()) && stderr.contains(&format!("offset {good}")),
        "{stderr}"
    );

    let node = Node::engine(dir.path(), &[]);
    let mut con = node.conn();
    let values: Vec<Option<String>> = redis::cmd("MGET")
        .arg(&["a", "b", "c"])
        .query(&mut con)
        .unwrap();
    assert_eq!(values, [Some("1".into()), Some("2".into()), None]);
    assert_eq!(
        std::fs::metadata(&incr).unwrap().len(),
        good,
        "tail cut off"
    );
    run(&mut con, &["SET", "d", "4"]);
    node.stop();
    let log = std::fs::read_to_string(dir.path().join("engine.log")).unwrap_or_default();
    let _ = log; // the child's output goes to /dev/null; the load itself is the check
    let node = Node::engine(dir.path(), &[]);
    let d: Option<String> = redis::cmd("GET").arg("d").query(&mut node.conn()).unwrap();
    assert_eq!(d.as_deref(), Some("4"), "appends after the cut load too");
}

#[test]
fn a_transaction_cut_in_the_middle_is_dropped_whole() {
    let dir = tempdir();
    let node = Node::engine(dir.path(), &[]);
    run(&mut node.conn(), &["SET", "a", "1"]);
    node.stop();
    let incr = last_incr(dir.path());
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&incr)
        .unwrap();
    file.write_all(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n")
        .unwrap();
    drop(file);
    let node = Node::engine(dir.path(), &[]);
    let b: Option<String> = redis::cmd("GET").arg("b").query(&mut node.conn()).unwrap();
    assert_eq!(b, None);
}

#[test]
fn damage_in_the_middle_is_an_error_naming_file_and_offset() {
    let dir = tempdir();
    let node = Node::engine(dir.path(), &[]);
    run(&mut node.conn(), &["SET", "a", "1"]);
    node.stop();
    let incr = last_incr(dir.path());
    let good = std::fs::metadata(&incr).unwrap().len();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&incr)
        .unwrap();
    file.write_all(b"garbage\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n")
        .unwrap();
    drop(file);
    let out = engine_fails(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Bad file format")
            && stderr.contains(&incr.display().to_string())
            && stderr.contains(&format!("offset {good}")),
        "{stderr}"
    );

    std::fs::write(&incr, b"*2\r\n$7\r\nNOSUCHC\r\n$1\r\nx\r\n").unwrap();
    let stderr = String::from_utf8_lossy(&engine_fails(dir.path(), &[]).stderr).into_owned();
    assert!(stderr.contains("Unknown command 'NOSUCHC'"), "{stderr}");

    std::fs::write(
        aof_dir(dir.path()).join("appendonly.aof.manifest"),
        "nonsense\n",
    )
    .unwrap();
    let stderr = String::from_utf8_lossy(&engine_fails(dir.path(), &[]).stderr).into_owned();
    assert!(
        stderr.contains("manifest") && stderr.contains("line 1"),
        "{stderr}"
    );
}

#[test]
fn an_unusable_directory_stops_the_start() {
    let dir = tempdir();
    // appenddirname taken by a plain file: the AOF directory cannot be made.
    std::fs::write(dir.path().join("appendonlydir"), b"").unwrap();
    let stderr = String::from_utf8_lossy(&engine_fails(dir.path(), &[]).stderr).into_owned();
    assert!(stderr.contains("appendonlydir"), "{stderr}");
}

#[test]
fn a_full_disk_refuses_writes_with_misconf() {
    let dir = tempdir();
    // The incremental file is /dev/full: every write fails with ENOSPC.
    let aof = aof_dir(dir.path());
    std::fs::create_dir_all(&aof).unwrap();
    std::fs::write(
        aof.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/full", aof.join("appendonly.aof.1.incr.aof")).unwrap();
    let node = Node::engine(dir.path(), &[]);
    let mut con = node.conn();
    // everysec: the first write is answered, the writer then fails.
    run(&mut con, &["SET", "a", "1"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let err = loop {
        match redis::cmd("SET").arg("b").arg("2").query::<()>(&mut con) {
            Err(err) => break err.to_string(),
            Ok(()) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Ok(()) => panic!("writes still accepted"),
        }
    };
    assert!(
        err.contains("MISCONF") && err.contains("Errors writing to the AOF file"),
        "{err}"
    );
    let a: Option<String> = redis::cmd("GET").arg("a").query(&mut con).unwrap();
    assert_eq!(a.as_deref(), Some("1"), "reads still work");

    // Under always, a write whose fsync fails is never answered.
    run(&mut con, &["CONFIG", "SET", "appendfsync", "always"]);
    let status: String = redis::cmd("INFO")
        .arg("persistence")
        .query(&mut con)
        .unwrap();
    assert!(status.contains("aof_last_write_status:err"), "{status}");
}

#[test]
fn redis_check_aof_accepts_our_files() {
    let Some(check) = std::env::var("SHARDCAR_TEST_REDIS_CHECK_AOF")
        .ok()
        .or_else(|| aof::redis_server().map(|s| s.replace("redis-server", "redis-check-aof")))
    else {
        return;
    };
    let dir = tempdir();
    let node = Node::engine(dir.path(), &[]);
    write_every_type(&mut node.conn());
    node.stop();
    let out = std::process::Command::new(check)
        .arg(aof_dir(dir.path()).join("appendonly.aof.manifest"))
        .output()
        .expect("run redis-check-aof");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("are valid"), "{text}");
}

#[test]
fn redis_server_loads_our_directory() {
    let dir = tempdir();
    let first = Node::engine(dir.path(), &[]);
    carried_over(first, Node::stop, || Node::redis(dir.path(), &[]));
}

#[test]
fn we_load_the_directory_of_redis_server() {
    let dir = tempdir();
    let Some(first) = Node::redis(dir.path(), &["--aof-use-rdb-preamble", "no"]) else {
        return;
    };
    carried_over(first, Node::stop, || Some(Node::engine(dir.path(), &[])));
}
