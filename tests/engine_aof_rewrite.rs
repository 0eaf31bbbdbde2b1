//! BGREWRITEAOF and the automatic rewrite: the log is compacted into a new base
//! while writes go on, the manifest swapped, old files deleted; what a restart
//! loads is what was there. Both base formats, and redis-server 7.0's files.

#[path = "aof/mod.rs"]
mod aof;
#[path = "children/mod.rs"]
mod children;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aof::{aof_dir, dump, run, Node};

/// A field of INFO persistence.
fn info_field(con: &mut redis::Connection, name: &str) -> String {
    let text: String = redis::cmd("INFO").arg("persistence").query(con).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .trim()
        .to_string()
}

/// Polls until `aof_rewrites` reaches `n` and no rewrite runs.
fn wait_rewrites(con: &mut redis::Connection, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done: u64 = info_field(con, "aof_rewrites").parse().unwrap();
        if done >= n && info_field(con, "aof_rewrite_in_progress") == "0" {
            assert_eq!(info_field(con, "aof_last_bgrewrite_status"), "ok");
            return;
        }
        assert!(Instant::now() < deadline, "rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The manifest's lines.
fn manifest(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(aof_dir(dir).join("appendonly.aof.manifest"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn fill(con: &mut redis::Connection, keys: usize) {
    let mut pipe = redis::pipe();
    for i in 0..keys {
        pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
        pipe.cmd("RPUSH")
            .arg(format!("l{}", i % 50))
            .arg(i)
            .ignore();
        pipe.cmd("HSET")
            .arg(format!("h{}", i % 50))
            .arg(i)
            .arg(i)
            .ignore();
        pipe.cmd("SADD").arg(format!("s{}", i % 50)).arg(i).ignore();
        pipe.cmd("ZADD")
            .arg(format!("z{}", i % 50))
            .arg(i)
            .arg(i)
            .ignore();
    }
    pipe.cmd("SET")
        .arg("ttl")
        .arg("v")
        .arg("EX")
        .arg(1000)
        .ignore();
    pipe.query::<()>(con).unwrap();
}

/// A rewrite under a write load, then a restart: nothing lost, old files gone.
fn rewrite_under_load(preamble: &str) {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::engine(dir.path(), &["--aof-use-rdb-preamble", preamble]);
    let mut con = node.conn();
    fill(&mut con, 20_000);
    let old_incr = aof::last_incr(dir.path());
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, written, port) = (Arc::clone(&stop), Arc::clone(&written), node.port);
        std::thread::spawn(move || {
            let mut con = children::connect(port);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                run(&mut con, &["INCR", "counter"]);
                run(
                    &mut con,
                    &["SET", &format!("during{}", i % 1000), &i.to_string()],
                );
                i += 1;
                written.store(i, Ordering::Relaxed);
            }
        })
    };
    let reply: String = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
    assert_eq!(reply, "Background append only file rewriting started");
    wait_rewrites(&mut con, 1);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(written.load(Ordering::Relaxed) > 0);
    let before = dump(&mut con);
    node.stop();

    let lines = manifest(dir.path());
    let ext = if preamble == "yes" { "rdb" } else { "aof" };
    assert_eq!(
        lines,
        [
            format!("file appendonly.aof.1.base.{ext} seq 1 type b"),
            "file appendonly.aof.2.incr.aof seq 2 type i".to_string(),
        ]
    );
    assert!(!old_incr.exists(), "the old incr file is deleted");
    let node = Node::engine(dir.path(), &[]);
    assert_eq!(dump(&mut node.conn()), before);
    node.stop();
}

#[test]
fn bgrewriteaof_with_an_rdb_base_under_load() {
    rewrite_under_load("yes");
}

#[test]
fn bgrewriteaof_with_a_command_base_under_load() {
    rewrite_under_load("no");
}

#[test]
fn a_second_rewrite_while_one_runs_is_refused_then_both_compact() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::engine(dir.path(), &[]);
    let mut con = node.conn();
    fill(&mut con, 20_000);
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
    let second = redis::cmd("BGREWRITEAOF").query::<String>(&mut con);
    if let Err(err) = second {
        assert!(err.to_string().contains("already in progress"), "{err}");
    }
    wait_rewrites(&mut con, 1);
    run(&mut con, &["SET", "after", "1"]);
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
    wait_rewrites(&mut con, 2);
    let before = dump(&mut con);
    let size: u64 = info_field(&mut con, "aof_current_size").parse().unwrap();
    let base: u64 = info_field(&mut con, "aof_base_size").parse().unwrap();
    assert!(base > 0 && size >= base, "{size} {base}");
    node.stop();
    let node = Node::engine(dir.path(), &[]);
    assert_eq!(dump(&mut node.conn()), before);
}

#[test]
fn the_aof_rewrites_itself_when_it_grows() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::engine(
        dir.path(),
        &[
            "--auto-aof-rewrite-min-size",
            "64kb",
            "--auto-aof-rewrite-percentage",
            "100",
        ],
    );
    let mut con = node.conn();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Overwrite the same few keys: the log grows, the data does not. Stop once
    // a rewrite has started, so what it leaves behind is small however long it takes.
    let mut i = 0;
    while info_field(&mut con, "aof_rewrites") == "0"
        && info_field(&mut con, "aof_rewrite_in_progress") == "0"
    {
        assert!(Instant::now() < deadline, "no automatic rewrite");
        let mut pipe = redis::pipe();
        for _ in 0..100 {
            pipe.cmd("SET").arg(format!("k{}", i % 10)).arg(i).ignore();
            i += 1;
        }
        pipe.query::<()>(&mut con).unwrap();
    }
    wait_rewrites(&mut con, 1);
    let size: u64 = info_field(&mut con, "aof_current_size").parse().unwrap();
    assert!(size < 64 * 1024, "compacted: {size}");
    let before = dump(&mut con);
    node.stop();
    let node = Node::engine(dir.path(), &[]);
    assert_eq!(dump(&mut node.conn()), before);
}

#[test]
fn redis_server_loads_our_rewritten_directory_and_we_load_its() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::engine(dir.path(), &[]);
    let mut con = node.conn();
    fill(&mut con, 2_000);
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
    wait_rewrites(&mut con, 1);
    run(&mut con, &["SET", "after", "rewrite"]);
    let ours = dump(&mut con);
    node.stop();
    let Some(redis) = Node::redis(dir.path(), &[]) else {
        return;
    };
    let mut con = redis.conn();
    assert_eq!(dump(&mut con), ours);
    // redis-server rewrites it its own way (RDB base), and we load that.
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut con, "aof_rewrite_in_progress") != "0"
        || info_field(&mut con, "aof_rewrites") == "0"
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    run(&mut con, &["SET", "from", "redis"]);
    let theirs = dump(&mut con);
    redis.stop();
    let node = Node::engine(dir.path(), &[]);
    assert_eq!(dump(&mut node.conn()), theirs);
}

#[test]
fn a_rewrite_started_mid_batch_or_mid_transaction_counts_each_write_once() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::engine(dir.path(), &["--appendfsync", "always"]);
    let mut con = node.conn();
    // One batch: the INCR before BGREWRITEAOF is in the snapshot and must not
    // also be in the new incremental file.
    let _: () = redis::pipe()
        .cmd("INCR")
        .arg("x")
        .ignore()
        .cmd("BGREWRITEAOF")
        .ignore()
        .cmd("INCR")
        .arg("x")
        .ignore()
        .query(&mut con)
        .unwrap();
    wait_rewrites(&mut con, 1);
    // Inside a transaction the rewrite waits until EXEC is logged.
    let (reply,): (String,) = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("x")
        .ignore()
        .cmd("BGREWRITEAOF")
        .cmd("INCR")
        .arg("x")
        .ignore()
        .query(&mut con)
        .unwrap();
    assert_eq!(reply, "Background append only file rewriting scheduled");
    wait_rewrites(&mut con, 2);
    node.stop();
    let node = Node::engine(dir.path(), &[]);
    let x: i64 = redis::cmd("GET").arg("x").query(&mut node.conn()).unwrap();
    assert_eq!(x, 4);
}
