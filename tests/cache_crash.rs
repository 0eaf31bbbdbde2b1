//! Write-back survives `kill -9`: the `shardcar` binary acknowledges N writes
//! (`fsync: always`), is killed at once, and after a restart every one of them
//! is in SQL exactly once (INCRs included, as the values they made). And when the backend dies too (its cached values
//! with it), reads return the newest value — from the pending writes, then
//! from SQL — never an older row. With `fsync: everysec`, `kill -9` under load
//! loses no acknowledged write either. SQLite always; PostgreSQL when
//! SHARDCAR_TEST_PG is set.

mod cache_util;

use cache_util::{each_db, eventually, query, Db};
use redis::AsyncCommands;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Writes to the append rule, and to each of the upsert rule's keys.
const EVENTS: usize = 400;
const COUNTERS: usize = 8;
const COUNTER_WRITES: usize = 25;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(
    db: &Db,
    dir: &Path,
    port: u16,
    tables: (&str, &str),
    tag: &str,
    interval: &str,
) -> String {
    let (events, counters) = tables;
    format!(
        "crash:\n  listen: 127.0.0.1:{port}\n  redis: true\n  servers:\n    - embedded:1 a\n    - embedded:1 b\n  cache:\n    database: \"{}\"\n    journal: \"{}\"\n    rules:\n\
         \x20     - name: ev{tag}\n        match: \"event:{{stream}}\"\n        table: {events}\n        value: payload\n        policy: write_back\n        mode: append\n        fsync: always\n        batch_size: 7\n        flush_interval: {interval}\n        create: true\n\
         \x20     - name: ct{tag}\n        match: \"counter:{{name}}\"\n        table: {counters}\n        value: n\n        policy: write_back\n        fsync: always\n        batch_size: 7\n        flush_interval: {interval}\n        create: true\n",
        db.url(),
        dir.join("journal").display()
    )
}

/// A child process, killed (SIGKILL) when dropped, so a failing test leaves
/// none behind.
struct Process(Child);

impl Process {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `shardcar ARGS…`, its log on stderr.
fn shardcar(args: &[&str]) -> Process {
    let child = Command::new(env!("CARGO_BIN_EXE_shardcar"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start shardcar");
    Process(child)
}

fn spawn(conf: &Path) -> Process {
    let stats = free_port().to_string();
    shardcar(&[
        "proxy",
        "-c",
        conf.to_str().unwrap(),
        "-s",
        &stats,
        "-v",
        "3",
    ])
}

async fn connect(port: u16) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let ready = eventually(Duration::from_secs(20), || {
        let client = client.clone();
        async move { client.get_multiplexed_async_connection().await.is_ok() }
    })
    .await;
    assert!(ready, "shardcar listens on {port}");
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Every acknowledged write, from several connections at once; the last value
/// of each counter is known because each counter has one writer.
async fn write_all(con: &redis::aio::MultiplexedConnection) {
    let mut tasks = Vec::new();
    for w in 0..COUNTERS {
        let mut con = con.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..EVENTS / COUNTERS {
                let event = format!("w{w}-{i:04}");
                let _: () = con.set(format!("event:s{}", w % 3), event).await.unwrap();
                // Even counters are SET to i; odd ones are SET to 0, then
                // counted up by INCR: both hold i after step i.
                let counter = format!("counter:c{w}");
                if i < COUNTER_WRITES && (i == 0 || w % 2 == 0) {
                    let _: () = con.set(counter, i).await.unwrap();
                } else if i < COUNTER_WRITES {
                    let n: usize = con.incr(counter, 1).await.unwrap();
                    assert_eq!(n, i);
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// SQL after a restart: `tables.0` holds each of `events` events once, and
/// each counter `c0`… of `tables.1` its last value: `counters` = (how many, last).
async fn in_sql_once(db: &Db, tables: (&str, &str), events: usize, counters: (usize, usize)) {
    let (table, counter_table) = tables;
    let once =
        format!("SELECT count(*), count(DISTINCT _seq), count(DISTINCT payload) FROM {table}");
    let once = db.rows(&once).await;
    let expected = vec![vec![Some(events.to_string()); 3]];
    assert_eq!(once, expected, "every event in SQL, none lost, none twice");
    let (n, last) = counters;
    for w in 0..n {
        let sql = format!("SELECT n FROM {counter_table} WHERE name = 'c{w}'");
        let row = db.rows(&sql).await;
        assert_eq!(
            row,
            vec![vec![Some(last.to_string())]],
            "counter c{w} in SQL"
        );
    }
}

/// `interval`: 20ms flushes as writes come (the kill lands mid-flush); 1h
/// leaves every write to the replay.
async fn crash_and_recover(db: Db, interval: &str) {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("{}{}", std::process::id(), u8::from(db.is_postgres()));
    let (events, counters) = (db.table("crash_events"), db.table("crash_counters"));
    for t in [&events, &counters] {
        db.exec(&format!("DROP TABLE IF EXISTS {t}")).await;
    }
    let port = free_port();
    let conf = dir.path().join("shardcar.yml");
    std::fs::write(
        &conf,
        config(&db, dir.path(), port, (&events, &counters), &tag, interval),
    )
    .unwrap();

    let mut first = spawn(&conf);
    let con = connect(port).await;
    write_all(&con).await;
    first.kill(); // SIGKILL, right after the last acknowledgement
    drop(con);

    let mut second = spawn(&conf);
    let mut con = connect(port).await;
    // The listener is bound before the journal is replayed; the first answer
    // comes once it is, and flushed.
    let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
    assert_eq!(pong, "PONG");
    in_sql_once(
        &db,
        (&events, &counters),
        EVENTS,
        (COUNTERS, COUNTER_WRITES - 1),
    )
    .await;
    for w in 0..COUNTERS {
        // The engines died with the first process: read back through SQL.
        let n: i64 = con.get(format!("counter:c{w}")).await.unwrap();
        assert_eq!(n, (COUNTER_WRITES - 1) as i64);
    }
    let journal = dir.path().join("journal");
    let one = eventually(Duration::from_secs(5), || async {
        std::fs::read_dir(&journal).unwrap().count() == 1
    })
    .await;
    assert!(one, "the replayed segment is deleted once applied");
    second.kill();
    for t in [&events, &counters] {
        db.drop_table(t).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_acknowledged_writes_loses_none() {
    for interval in ["20ms", "1h"] {
        let test = "kill_9_after_acknowledged_writes_loses_none";
        each_db(test, async |db, _| crash_and_recover(db, interval).await).await;
    }
}

/// A bundled engine in a process of its own, so that it can die alone.
fn spawn_engine(port: u16, dir: &Path) -> Process {
    let port_arg = port.to_string();
    let engine = shardcar(&[
        "engine",
        "--port",
        &port_arg,
        "--admin",
        "off",
        "--dir",
        dir.to_str().unwrap(),
        "--save",
        "",
        "--appendonly",
        "no",
    ]);
    let listening = (0..500).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(listening, "the engine listens on {port}");
    engine
}

const WRITERS: usize = 4;
const WRITES: usize = 40;

/// Nothing is flushed before the crash: every write is pending, over older
/// rows already in SQL.
fn backend_config(db: &Db, dir: &Path, ports: (u16, u16), tables: [&str; 3], tag: &str) -> String {
    let (port, engine) = ports;
    let [events, counters, profiles] = tables;
    let rule = |name: &str, pattern: &str, table: &str, value: &str, extra: &str| {
        format!(
            "      - {{name: {name}{tag}, match: \"{pattern}\", table: {table}, value: {value}, policy: write_back, flush_interval: 1h, batch_size: 100000, create: true{extra}}}\n"
        )
    };
    format!(
        "crash:\n  listen: 127.0.0.1:{port}\n  redis: true\n  timeout: 2000\n  servers:\n    - 127.0.0.1:{engine}:1 e\n  cache:\n    database: \"{}\"\n    journal: \"{}\"\n    rules:\n{}{}{}",
        db.url(),
        dir.join("journal").display(),
        rule("bev", "event:{stream}", events, "payload", ", mode: append"),
        rule("bct", "counter:{name}", counters, "n", ""),
        rule("bpr", "profile:{id}", profiles, "[name, email]", ""),
    )
}

/// Reads the newest value of every key through the proxy: a counter's last
/// SET, and a profile's SQL name under its last pending (or flushed) email.
async fn newest_values_are_read(con: &mut redis::aio::MultiplexedConnection) {
    for w in 0..WRITERS {
        let n: i64 = con.get(format!("counter:c{w}")).await.unwrap();
        assert_eq!(n, (WRITES - 1) as i64, "counter:c{w}");
        let profile: Vec<(String, String)> = con.hgetall(format!("profile:p{w}")).await.unwrap();
        let email = format!("w{w}-{}@new", WRITES - 1);
        assert_eq!(
            profile,
            vec![("name".into(), "ann".into()), ("email".into(), email)],
            "profile:p{w}"
        );
    }
}

async fn backend_dies_too(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("{}{}", std::process::id(), u8::from(db.is_postgres()));
    let tables = ["bd_events", "bd_counters", "bd_profiles"].map(|t| db.table(t));
    for t in &tables {
        db.exec(&format!("DROP TABLE IF EXISTS {t}")).await;
    }
    let (port, engine_port) = (free_port(), free_port());
    let conf = dir.path().join("shardcar.yml");
    let names = [&*tables[0], &*tables[1], &*tables[2]];
    let yaml = backend_config(&db, dir.path(), (port, engine_port), names, &tag);
    std::fs::write(&conf, yaml).unwrap();
    let [events, counters, profiles] = &tables;

    let mut engine = spawn_engine(engine_port, dir.path());
    let mut first = spawn(&conf);
    let mut con = connect(port).await;
    let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
    assert_eq!(pong, "PONG", "the tables are created");
    // Rows flushed long ago (version 0), older than every write below.
    for w in 0..WRITERS {
        db.exec(&format!(
            "INSERT INTO {counters} (name, n, _version) VALUES ('c{w}', '-1', 0); \
             INSERT INTO {profiles} (id, name, email, _version) VALUES ('p{w}', 'ann', 'ann@old', 0)"
        ))
        .await;
    }
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let mut con = con.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..WRITES {
                let _: () = con
                    .set(format!("event:s{w}"), format!("w{w}-{i}"))
                    .await
                    .unwrap();
                let _: () = con.set(format!("counter:c{w}"), i).await.unwrap();
                let email = format!("w{w}-{i}@new");
                let _: () = con
                    .hset(format!("profile:p{w}"), "email", email)
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    // The backend dies and comes back empty; shardcar lives on, nothing flushed.
    engine.kill();
    engine = spawn_engine(engine_port, dir.path());
    let back = eventually(Duration::from_secs(10), || {
        let mut con = con.clone();
        async move { query(&mut con, &["GET", "counter:c0"]).await.is_ok() }
    })
    .await;
    assert!(back, "the proxy reconnects to the restarted engine");
    newest_values_are_read(&mut con).await;
    let old = db
        .rows(&format!("SELECT n FROM {counters} WHERE name = 'c0'"))
        .await;
    assert_eq!(
        old,
        vec![vec![Some("-1".to_string())]],
        "SQL still holds the older row"
    );

    // Now shardcar dies too, and both come back empty but for the journal.
    first.kill();
    engine.kill();
    let _engine = spawn_engine(engine_port, dir.path());
    let _second = spawn(&conf);
    let mut con = connect(port).await;
    let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
    assert_eq!(
        pong, "PONG",
        "answered once the journal is replayed and flushed"
    );
    let total = WRITERS * WRITES;
    in_sql_once(&db, (events, counters), total, (WRITERS, WRITES - 1)).await;
    newest_values_are_read(&mut con).await;
    for t in &tables {
        db.drop_table(t).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_the_backend_reads_the_newest_value() {
    each_db(
        "kill_9_with_the_backend_reads_the_newest_value",
        async |db, _| backend_dies_too(db).await,
    )
    .await;
}

/// The `fsync: everysec` loss window, measured: writers pipeline appends as
/// fast as they can, `kill -9` lands mid-load, and after the restart every
/// write that was acknowledged is in SQL once. A killed process loses none:
/// a write is acknowledged once the journal has handed it to the OS, and only
/// its fsync waits (up to a second); that second is what a crash of the
/// machine could lose.
async fn kill_9_under_load(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("l{}{}", std::process::id(), u8::from(db.is_postgres()));
    let (events, counters) = (db.table("load_events"), db.table("load_counters"));
    for t in [&events, &counters] {
        db.exec(&format!("DROP TABLE IF EXISTS {t}")).await;
    }
    let port = free_port();
    let conf = dir.path().join("shardcar.yml");
    let yaml = config(&db, dir.path(), port, (&events, &counters), &tag, "50ms")
        .replace("fsync: always", "fsync: everysec")
        .replace("batch_size: 7", "batch_size: 500");
    std::fs::write(&conf, yaml).unwrap();

    let mut first = spawn(&conf);
    let con = connect(port).await;
    let acked: Vec<_> = (0..COUNTERS)
        .map(|_| Arc::new(AtomicUsize::new(0)))
        .collect();
    let mut writers = Vec::new();
    for (w, acked) in acked.iter().enumerate() {
        let (mut con, acked) = (con.clone(), Arc::clone(acked));
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let set: redis::RedisResult<()> =
                    con.set(format!("event:s{w}"), format!("w{w}-{i:07}")).await;
                if set.is_err() {
                    return;
                }
                acked.store(i + 1, Ordering::SeqCst);
            }
        }));
    }
    let loaded = eventually(Duration::from_secs(20), || async {
        acked
            .iter()
            .map(|a| a.load(Ordering::SeqCst))
            .sum::<usize>()
            >= 2000
    })
    .await;
    assert!(loaded, "the writers got going");
    first.kill();
    let acknowledged: Vec<usize> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    for writer in writers {
        writer.await.unwrap();
    }
    drop(con);

    let _second = spawn(&conf);
    let mut con = connect(port).await;
    let _: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
    let rows = db.rows(&format!("SELECT payload FROM {events}")).await;
    let stored: std::collections::HashSet<String> =
        rows.iter().filter_map(|r| r[0].clone()).collect();
    assert_eq!(stored.len(), rows.len(), "no write twice");
    let missing = acknowledged
        .iter()
        .enumerate()
        .flat_map(|(w, n)| (0..*n).map(move |i| format!("w{w}-{i:07}")))
        .filter(|p| !stored.contains(p))
        .count();
    let total: usize = acknowledged.iter().sum();
    println!(
        "everysec, kill -9 under load ({}): {total} writes acknowledged, {missing} missing after the restart, {} unacknowledged in flight also stored",
        db.url(),
        rows.len() - (total - missing)
    );
    assert_eq!(missing, 0, "an acknowledged write is lost");
    for t in [&events, &counters] {
        db.drop_table(t).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_an_everysec_load_loses_no_acknowledged_write() {
    each_db(
        "kill_9_under_an_everysec_load_loses_no_acknowledged_write",
        async |db, _| kill_9_under_load(db).await,
    )
    .await;
}
