//! Write-back survives `kill -9`: the `shardcar` binary acknowledges N writes
//! (`fsync: always`), is killed at once, and after a restart every one of them
//! is in SQL exactly once. SQLite always; PostgreSQL when SHARDCAR_TEST_PG is set.

mod cache_util;

use cache_util::{eventually, Db};
use redis::AsyncCommands;
use std::path::Path;
use std::process::{Child, Command, Stdio};
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

/// The proxy process, killed (SIGKILL) when dropped, so a failing test
/// leaves none behind.
struct Proxy(Child);

impl Proxy {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn(conf: &Path) -> Proxy {
    let child = Command::new(env!("CARGO_BIN_EXE_shardcar"))
        .args([
            "proxy",
            "-c",
            conf.to_str().unwrap(),
            "-s",
            &free_port().to_string(),
            "-v",
            "3",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start shardcar");
    Proxy(child)
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
                if i < COUNTER_WRITES {
                    let _: () = con.set(format!("counter:c{w}"), i).await.unwrap();
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
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
    assert_eq!(
        db.count(&format!("SELECT count(*) FROM {events}")).await,
        EVENTS as i64,
        "every event, once"
    );
    assert_eq!(
        db.count(&format!("SELECT count(DISTINCT _seq) FROM {events}"))
            .await,
        EVENTS as i64
    );
    let payloads = db
        .rows(&format!("SELECT DISTINCT payload FROM {events}"))
        .await;
    assert_eq!(payloads.len(), EVENTS, "no event lost, none twice");
    for w in 0..COUNTERS {
        let row = db
            .rows(&format!("SELECT n FROM {counters} WHERE name = 'c{w}'"))
            .await;
        assert_eq!(
            row,
            vec![vec![Some((COUNTER_WRITES - 1).to_string())]],
            "counter c{w}"
        );
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
        let dir = tempfile::tempdir().unwrap();
        crash_and_recover(Db::Sqlite(dir.path().join("crash.db")), interval).await;
        if let Some(db) = Db::postgres("kill_9_after_acknowledged_writes_loses_none") {
            crash_and_recover(db, interval).await;
        }
    }
}
