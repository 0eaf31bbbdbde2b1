//! Write-back rules through the proxy: batches reach SQL (upserts coalesced,
//! appends one row per write), reads of values lost from the backend come from
//! pending writes, a row SQL refuses goes to the dead-letter table, an
//! unreachable database fills the queue up to `max_pending` and then blocks or
//! rejects, and shutdown flushes. SQLite always; PostgreSQL when
//! SHARDCAR_TEST_PG is set.

mod cache_util;

use cache_util::{cache_yaml, each_db, eventually, query, CacheProxy, Db, RedisServer};
use redis::AsyncCommands;
use std::time::Duration;

fn upsert_rule(name: &str, table: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    match: \"{name}:{{id}}\"\n    table: {table}\n    value: n\n    policy: write_back\n    create: true\n{extra}"
    )
}

/// Forgets a PostgreSQL rule's high-water mark left by an earlier run.
async fn fresh(db: &Db, tables: &[&str], rules: &[&str]) {
    for t in tables {
        db.exec(&format!("DROP TABLE IF EXISTS {t}")).await;
    }
    if db.is_postgres() {
        db.exec("CREATE TABLE IF NOT EXISTS shardcar_flush_state (rule TEXT PRIMARY KEY, applied_seq BIGINT NOT NULL)").await;
        for r in rules {
            db.exec(&format!(
                "DELETE FROM shardcar_flush_state WHERE rule = '{r}'"
            ))
            .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upserts_coalesce_and_appends_keep_every_write() {
    each_db("upserts_coalesce_and_appends_keep_every_write", async |db, dir| {
        let (counters, events) = (db.table("wb_counters"), db.table("wb_events"));
        let (c, e) = (format!("c{}", std::process::id()), format!("e{}", std::process::id()));
        fresh(&db, &[&counters, &events], &[&c, &e]).await;
        let rules = format!(
            "{}  - name: {e}\n    match: \"{e}:{{stream}}\"\n    table: {events}\n    value: payload\n    policy: write_back\n    mode: append\n    batch_size: 16\n    flush_interval: 30ms\n    create: true\n",
            upsert_rule(&c, &counters, "    flush_interval: 1h\n")
        );
        let cache = format!("{}\nsegment_size: 4096", cache_yaml(&db, &dir, &rules));
        let proxy = CacheProxy::start(2, &cache).await;
        let mut con = proxy.conn().await;
        for i in 1..=50 {
            let _: () = con.set(format!("{c}:a"), i).await.unwrap();
            let _: () = con.set(format!("{c}:b"), i * 10).await.unwrap();
        }
        for i in 0..200 {
            let _: () = con.set(format!("{e}:s1"), format!("event-{i:04}-{}", "x".repeat(60))).await.unwrap();
        }
        let a: i64 = con.get(format!("{c}:a")).await.unwrap();
        assert_eq!(a, 50, "read back from the cache");
        let all_in = eventually(Duration::from_secs(10), || async {
            db.count(&format!("SELECT count(*) FROM {events}")).await == 200
        })
        .await;
        assert!(all_in, "every append reached SQL");
        assert!(proxy.stat(|m| &m.flush_batches) < 200, "appends went in batches");
        assert_eq!(db.count(&format!("SELECT count(*) FROM {counters}")).await, 0, "upserts wait for their interval");
        let journal = dir.path().join("journal");
        let proxy = {
            let pool = proxy.pool.clone();
            proxy.stop().await; // the last flush: 100 writes, 2 rows
            let stopped = pool.cache.as_deref().unwrap();
            assert_eq!(stopped.count(|m| &m.journaled), 300);
            assert_eq!(stopped.count(|m| &m.flushed), 300, "every write was flushed");
            assert_eq!(stopped.count(|m| &m.rows_flushed), 202, "200 appended rows, 100 upserts coalesced into 2");
            assert_eq!(db.rows(&format!("SELECT n FROM {counters} WHERE id = 'a'")).await, vec![vec![Some("50".to_string())]]);
            CacheProxy::start(2, &cache).await
        };
        assert_eq!(proxy.stat(|m| &m.rows_flushed), 0, "nothing left to replay");
        assert_eq!(db.rows(&format!("SELECT n FROM {counters} WHERE id = 'b'")).await, vec![vec![Some("500".to_string())]]);
        assert_eq!(db.count(&format!("SELECT count(DISTINCT _seq) FROM {events}")).await, 200);
        let in_order = db.rows(&format!("SELECT payload FROM {events} ORDER BY _seq")).await;
        assert!(in_order.windows(2).all(|w| w[0] < w[1]), "appends keep their order");
        assert_eq!(proxy.cache().pending(), 0);
        // Applied journal segments are deleted: 20 KiB were written in 4 KiB segments.
        let segments = eventually(Duration::from_secs(5), || async {
            std::fs::read_dir(&journal).unwrap().count() <= 1
        })
        .await;
        assert!(segments, "applied segments are deleted: {:?}", std::fs::read_dir(&journal).unwrap().collect::<Vec<_>>());
        proxy.stop().await;
        fresh(&db, &[&counters, &events], &[&c, &e]).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_lost_values_come_from_pending_writes() {
    each_db("reads_of_lost_values_come_from_pending_writes", async |db, dir| {
        let (counters, profiles) = (db.table("wb_lost_counters"), db.table("wb_profiles"));
        let (c, p) = (format!("lc{}", std::process::id()), format!("lp{}", std::process::id()));
        fresh(&db, &[&counters, &profiles], &[&c, &p]).await;
        db.exec(&format!("CREATE TABLE {profiles} (id TEXT PRIMARY KEY, name TEXT, email TEXT, _version BIGINT)")).await;
        db.exec(&format!("INSERT INTO {profiles} (id, name, email) VALUES ('1', 'ann', 'ann@old')")).await;
        let rules = format!(
            "{}  - name: {p}\n    match: \"{p}:{{id}}\"\n    table: {profiles}\n    value: [name, email]\n    policy: write_back\n    flush_interval: 1h\n",
            upsert_rule(&c, &counters, "    flush_interval: 1h\n")
        );
        let proxy = CacheProxy::start(1, &cache_yaml(&db, &dir, &rules)).await;
        let mut con = proxy.conn().await;
        let _: () = con.set(format!("{c}:x"), "5").await.unwrap();
        let n: i64 = con.hset(format!("{p}:1"), "email", "ann@new").await.unwrap();
        assert_eq!(n, 1, "HSET counts the fields it wrote");
        let _: () = con.set(format!("{c}:gone"), "1").await.unwrap();
        let _: i64 = con.del(format!("{c}:gone")).await.unwrap();
        // The backend loses everything.
        let mut engine = proxy.engines[0].conn().await;
        let _: i64 = engine.del(&[format!("{c}:x"), format!("{p}:1"), format!("{c}:gone")]).await.unwrap();
        let x: String = con.get(format!("{c}:x")).await.unwrap();
        assert_eq!(x, "5");
        let gone: Option<String> = con.get(format!("{c}:gone")).await.unwrap();
        assert_eq!(gone, None);
        assert_eq!(proxy.stat(|m| &m.sql_reads), 0, "pending writes said it all");
        let profile: Vec<(String, String)> = con.hgetall(format!("{p}:1")).await.unwrap();
        assert_eq!(profile, vec![("name".into(), "ann".into()), ("email".into(), "ann@new".into())], "SQL row with the pending write over it");
        assert_eq!(db.rows(&format!("SELECT email FROM {profiles}")).await, vec![vec![Some("ann@old".into())]], "not flushed yet");
        proxy.stop().await; // the last flush
        assert_eq!(db.rows(&format!("SELECT email FROM {profiles}")).await, vec![vec![Some("ann@new".into())]]);
        assert_eq!(db.rows(&format!("SELECT n FROM {counters}")).await, vec![vec![Some("5".into())]], "the deleted key has no row");
        fresh(&db, &[&counters, &profiles], &[&c, &p]).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_sql_refuses_goes_to_the_dead_letter_table() {
    each_db(
        "a_row_sql_refuses_goes_to_the_dead_letter_table",
        async |db, dir| {
            let t = db.table("wb_poison");
            let r = format!("poison{}", std::process::id());
            fresh(&db, &[&t], &[&r]).await;
            db.exec(&format!(
                "CREATE TABLE {t} (id TEXT PRIMARY KEY, n INTEGER CHECK (n >= 0), _version BIGINT)"
            ))
            .await;
            let rule = upsert_rule(&r, &t, "    flush_interval: 1h\n    batch_size: 100\n")
                .replace("    create: true\n", "");
            let proxy = CacheProxy::start(1, &cache_yaml(&db, &dir, &rule)).await;
            let mut con = proxy.conn().await;
            for (id, n) in [("a", "1"), ("b", "-5"), ("c", "3")] {
                let _: () = con.set(format!("{r}:{id}"), n).await.unwrap();
            }
            let pool = proxy.pool.clone();
            proxy.stop().await;
            let stopped = pool.cache.as_deref().unwrap();
            assert_eq!(stopped.count(|m| &m.dead_letters), 1);
            assert_eq!(
                stopped.count(|m| &m.sql_errors),
                2,
                "the batch, then the row alone"
            );
            assert_eq!(
                stopped.count(|m| &m.flushed),
                3,
                "a dead letter is flushed too"
            );
            assert_eq!(
                db.rows(&format!("SELECT id, n FROM {t} ORDER BY id")).await,
                vec![
                    vec![Some("a".into()), Some("1".into())],
                    vec![Some("c".into()), Some("3".into())]
                ]
            );
            let dead = db
                .rows(&format!(
                    "SELECT redis_key, payload, error FROM shardcar_dead_letter WHERE rule = '{r}'"
                ))
                .await;
            assert_eq!(dead.len(), 1, "{dead:?}");
            assert_eq!(dead[0][0].as_deref(), Some(format!("{r}:b").as_str()));
            assert_eq!(dead[0][1].as_deref(), Some("n=-5"));
            assert!(
                dead[0][2]
                    .as_deref()
                    .unwrap_or_default()
                    .to_lowercase()
                    .contains("check"),
                "{dead:?}"
            );
            db.exec(&format!(
                "DELETE FROM shardcar_dead_letter WHERE rule = '{r}'"
            ))
            .await;
            fresh(&db, &[&t], &[&r]).await;
        },
    )
    .await;
}

/// A batch that grew past `batch_size` (the flusher fell behind a pipeline)
/// with one row SQL refuses: that row goes to the dead-letter table, every
/// other row to the table, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_row_in_a_grown_batch_goes_to_the_dead_letter_table() {
    each_db(
        "a_refused_row_in_a_grown_batch_goes_to_the_dead_letter_table",
        async |db, dir| {
            let t = db.table("wb_poison_grown");
            let r = format!("grown{}", std::process::id());
            fresh(&db, &[&t], &[&r]).await;
            db.exec(&format!(
                "CREATE TABLE {t} (id TEXT PRIMARY KEY, n INTEGER CHECK (n >= 0), _version BIGINT)"
            ))
            .await;
            let rule = upsert_rule(&r, &t, "    flush_interval: 1h\n    batch_size: 2\n")
                .replace("    create: true\n", "");
            let proxy = CacheProxy::start(1, &cache_yaml(&db, &dir, &rule)).await;
            let mut con = proxy.conn().await;
            let mut pipe = redis::pipe();
            for i in 0..40 {
                let n = if i == 23 { -5 } else { i };
                pipe.set(format!("{r}:{i:02}"), n).ignore();
            }
            let _: () = pipe.query_async(&mut con).await.unwrap();
            let pool = proxy.pool.clone();
            proxy.stop().await;
            let stopped = pool.cache.as_deref().unwrap();
            assert_eq!(stopped.count(|m| &m.dead_letters), 1);
            assert_eq!(stopped.count(|m| &m.flushed), 40);
            // 3 when the refused batch had grown: it, its part, the row alone.
            let errors = stopped.count(|m| &m.sql_errors);
            let kind = if db.is_postgres() {
                "PostgreSQL"
            } else {
                "SQLite"
            };
            eprintln!("{kind}: {errors} refused transactions");
            let rows = db.rows(&format!("SELECT id, n FROM {t} ORDER BY id")).await;
            let expected: Vec<_> = (0..40)
                .filter(|&i| i != 23)
                .map(|i| vec![Some(format!("{i:02}")), Some(i.to_string())])
                .collect();
            assert_eq!(rows, expected);
            let dead = db
                .rows(&format!(
                    "SELECT redis_key FROM shardcar_dead_letter WHERE rule = '{r}'"
                ))
                .await;
            assert_eq!(dead, vec![vec![Some(format!("{r}:23"))]]);
            db.exec(&format!(
                "DELETE FROM shardcar_dead_letter WHERE rule = '{r}'"
            ))
            .await;
            fresh(&db, &[&t], &[&r]).await;
        },
    )
    .await;
}

/// With the database write-locked, writes are still acknowledged up to
/// `max_pending`; then `reject` answers -BUSY and `block` waits; once the lock
/// is gone everything is flushed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_blocks_or_rejects_until_sql_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::sqlite(&dir);
    let rules = format!(
        "{}{}",
        upsert_rule(
            "rj",
            "rj",
            "    flush_interval: 20ms\n    max_pending: 3\n    on_full: reject\n"
        ),
        upsert_rule(
            "bl",
            "bl",
            "    flush_interval: 20ms\n    max_pending: 3\n    on_full: block\n"
        )
    );
    let proxy = CacheProxy::start(1, &cache_yaml(&db, &dir, &rules)).await;
    let Db::Sqlite(path) = &db else {
        unreachable!()
    };
    let locker = rusqlite::Connection::open(path).unwrap();
    locker
        .execute_batch("BEGIN IMMEDIATE; DELETE FROM rj;")
        .unwrap();
    let mut con = proxy.conn().await;
    for i in 0..3 {
        let _: () = con.set(format!("rj:{i}"), i).await.unwrap();
        let _: () = con.set(format!("bl:{i}"), i).await.unwrap();
    }
    let err = query(&mut con, &["SET", "rj:3", "3"]).await.unwrap_err();
    assert!(
        err.starts_with("BUSY") && err.contains("rule 'rj'"),
        "{err}"
    );
    let mut other = proxy.conn().await;
    let blocked = tokio::spawn(async move { query(&mut other, &["SET", "bl:3", "3"]).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!blocked.is_finished(), "the write waits for room");
    assert_eq!(proxy.cache().pending(), 6);
    locker.execute_batch("COMMIT").unwrap();
    drop(locker);
    assert_eq!(blocked.await.unwrap(), Ok(redis::Value::Okay));
    let flushed = eventually(Duration::from_secs(10), || async {
        db.count("SELECT count(*) FROM rj").await == 3
            && db.count("SELECT count(*) FROM bl").await == 4
    })
    .await;
    assert!(
        flushed,
        "every acknowledged write reached SQL, none was dropped"
    );
    assert_eq!(proxy.stat(|m| &m.full_rejected), 1);
    assert_eq!(proxy.stat(|m| &m.full_blocked), 1);
    let _: () = con.set("rj:3", 3).await.unwrap();
    proxy.stop().await;
}

/// A rule renamed over its old table, the journal moved aside: sequences go on
/// above every mark in SQL, so the version guard takes the new writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequences_continue_above_every_mark() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::sqlite(&dir);
    let before = upsert_rule("old", "kept", "    flush_interval: 1h\n");
    let proxy = CacheProxy::start(1, &cache_yaml(&db, &dir, &before)).await;
    let mut con = proxy.conn().await;
    for i in 1..=5 {
        let _: () = con.set("old:x", i).await.unwrap();
    }
    proxy.stop().await;
    assert_eq!(
        db.rows("SELECT n, _version FROM kept").await,
        vec![vec![Some("5".into()), Some("5".into())]]
    );
    std::fs::remove_dir_all(dir.path().join("journal")).unwrap();

    let after = upsert_rule("new", "kept", "    flush_interval: 1h\n")
        .replace("\"new:{id}\"", "\"old:{id}\"");
    let proxy = CacheProxy::start(1, &cache_yaml(&db, &dir, &after)).await;
    let mut con = proxy.conn().await;
    let _: () = con.set("old:x", 6).await.unwrap();
    proxy.stop().await;
    assert_eq!(
        db.rows("SELECT n, _version FROM kept").await,
        vec![vec![Some("6".into()), Some("6".into())]]
    );
}

/// One client's pipeline runs in order: reads may overlap, but each sees the
/// writes sent before it and none sent after it, for write-back and
/// look-aside keys alike, whatever the backends or SQL answer first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_reads_its_own_writes_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::sqlite(&dir);
    let rules = format!(
        "{}  - name: la\n    match: \"la:{{id}}\"\n    table: la\n    value: v\n    policy: look_aside\n    create: true\n",
        upsert_rule("wb", "wb", "    flush_interval: 10ms\n")
    );
    let proxy = CacheProxy::start(3, &cache_yaml(&db, &dir, &rules)).await;
    db.exec("INSERT INTO la (id, v) VALUES ('0', 'sql')").await;
    let mut con = proxy.conn().await;
    let mut pipe = redis::pipe();
    let mut expected = Vec::new();
    for round in 0..20 {
        for key in ["wb:0", "la:0", "wb:1", "la:1"] {
            let sql = (key == "la:0" && round == 0).then(|| "sql".to_string());
            let (first, second) = (format!("{round}a"), format!("{round}b"));
            pipe.get(key).set(key, &first).get(key).get(key);
            pipe.set(key, &second).get(key).del(key).get(key);
            expected.extend([sql, None, Some(first.clone()), Some(first), None]);
            expected.extend([Some(second), None, None]);
        }
    }
    let replies: Vec<Option<String>> = pipe.query_async(&mut con).await.unwrap();
    // SET answers OK and DEL 1: compare the reads only.
    let reads = |v: Vec<Option<String>>| -> Vec<Option<String>> {
        v.into_iter()
            .enumerate()
            .filter(|(i, _)| [0, 2, 3, 5, 7].contains(&(i % 8)))
            .map(|(_, r)| r)
            .collect()
    };
    assert_eq!(reads(replies), reads(expected));
    proxy.stop().await;
}

/// The text of an error reply.
async fn error_of(con: &mut redis::aio::MultiplexedConnection, args: &[&str]) -> String {
    match query(con, args).await {
        Err(text) => text,
        Ok(v) => panic!("{args:?} answered {v:?}, not an error"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incr_bursts_become_one_upsert() {
    each_db("incr_bursts_become_one_upsert", async |db, dir| {
        let (counters, profiles) = (db.table("wb_incr"), db.table("wb_incr_profiles"));
        let (c, p) = (format!("ic{}", std::process::id()), format!("ip{}", std::process::id()));
        fresh(&db, &[&counters, &profiles], &[&c, &p]).await;
        db.exec(&format!("CREATE TABLE {counters} (id TEXT PRIMARY KEY, n TEXT, _version BIGINT)")).await;
        db.exec(&format!("INSERT INTO {counters} (id, n) VALUES ('seed', '100')")).await;
        db.exec(&format!("CREATE TABLE {profiles} (id TEXT PRIMARY KEY, name TEXT, visits TEXT, _version BIGINT)")).await;
        db.exec(&format!("INSERT INTO {profiles} (id, name, visits) VALUES ('1', 'ann', '10')")).await;
        let rules = format!(
            "{}  - name: {p}\n    match: \"{p}:{{id}}\"\n    table: {profiles}\n    value: [name, visits]\n    policy: write_back\n    flush_interval: 1h\n",
            upsert_rule(&c, &counters, "    flush_interval: 1h\n").replace("    create: true\n", "")
        );
        let cache = cache_yaml(&db, &dir, &rules);
        let proxy = CacheProxy::start(2, &cache).await;
        let mut con = proxy.conn().await;
        let key = |id: &str| format!("{c}:{id}");

        // A burst on a key SQL holds counts on from SQL's value.
        let mut pipe = redis::pipe();
        for _ in 0..1000 {
            pipe.incr(key("seed"), 1);
        }
        let replies: Vec<i64> = pipe.query_async(&mut con).await.unwrap();
        assert_eq!(replies, (101..=1100).collect::<Vec<i64>>());

        // In one pipeline on cold keys, each INCR adds to what the writes
        // before it left, though the INCRs read their keys together.
        db.exec(&format!("INSERT INTO {counters} (id, n) VALUES ('seven', '7')")).await;
        let (seven, mixed) = (key("seven"), key("mixed"));
        let replies: Vec<redis::Value> = redis::pipe()
            .incr(&seven, 1).incr(&mixed, 1).set(&mixed, 10).incr(&seven, 1)
            .incr(&mixed, 1).del(&mixed).incr(&mixed, 5).incr(&seven, 1)
            .query_async(&mut con).await.unwrap();
        let int = redis::Value::Int;
        assert_eq!(replies, vec![int(8), int(1), redis::Value::Okay, int(9), int(11), int(1), int(5), int(10)]);

        // Clients counting at once lose no increment.
        let mut clients = Vec::new();
        for _ in 0..4 {
            let mut con = proxy.conn().await;
            let shared = key("shared");
            clients.push(tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..250 {
                    let n: i64 = con.incr(&shared, 1).await.unwrap();
                    seen.push(n);
                }
                seen
            }));
        }
        let mut seen = Vec::new();
        for client in clients {
            seen.extend(client.await.unwrap());
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=1000).collect::<Vec<i64>>(), "every INCR saw its own value");

        // The rest of the family, as Redis answers it.
        assert_eq!(query(&mut con, &["INCRBY", &key("new"), "5"]).await, Ok(redis::Value::Int(5)));
        assert_eq!(query(&mut con, &["DECR", &key("new")]).await, Ok(redis::Value::Int(4)));
        assert_eq!(query(&mut con, &["DECRBY", &key("new"), "10"]).await, Ok(redis::Value::Int(-6)));
        let f: String = redis::cmd("INCRBYFLOAT").arg(key("f")).arg("1.5").query_async(&mut con).await.unwrap();
        assert_eq!(f, "1.5");
        let f: String = redis::cmd("INCRBYFLOAT").arg(key("f")).arg("0.1").query_async(&mut con).await.unwrap();
        assert_eq!(f, "1.6");
        let _: () = con.set(key("text"), "hello").await.unwrap();
        let _: () = con.set(key("big"), i64::MAX).await.unwrap();
        for (args, error) in [
            (vec!["INCR", &key("text")], "ERR value is not an integer or out of range"),
            (vec!["INCRBY", &key("new"), "x"], "ERR value is not an integer or out of range"),
            (vec!["INCRBYFLOAT", &key("text"), "1"], "ERR value is not a valid float"),
            (vec!["INCR", &key("big")], "ERR increment or decrement would overflow"),
            (vec!["DECRBY", &key("new"), "-9223372036854775808"], "ERR decrement would overflow"),
            (vec!["HINCRBY", &key("new"), "n", "1"], "Operation against a key holding the wrong kind of value"),
        ] {
            let got = error_of(&mut con, &args).await;
            assert!(got.contains(error.trim_start_matches("ERR ")), "{args:?}: {got}");
        }
        let big: i64 = con.get(key("big")).await.unwrap();
        assert_eq!(big, i64::MAX, "a refused INCR changes nothing");

        // Hash columns count too; the other column keeps SQL's value.
        assert_eq!(query(&mut con, &["HINCRBY", &format!("{p}:1"), "visits", "2"]).await, Ok(redis::Value::Int(12)));
        let visits: String = redis::cmd("HINCRBYFLOAT").arg(format!("{p}:1")).arg("visits").arg("0.5").query_async(&mut con).await.unwrap();
        assert_eq!(visits, "12.5");
        assert!(error_of(&mut con, &["HINCRBY", &format!("{p}:1"), "name", "1"]).await.contains("hash value is not an integer"));
        assert!(error_of(&mut con, &["HINCRBY", &format!("{p}:1"), "age", "1"]).await.contains("has no field 'age'"));
        assert!(error_of(&mut con, &["INCR", &format!("{p}:1")]).await.contains("WRONGTYPE"));
        let profile: Vec<(String, String)> = con.hgetall(format!("{p}:1")).await.unwrap();
        assert_eq!(profile, vec![("name".into(), "ann".into()), ("visits".into(), "12.5".into())]);

        // A value the backend lost counts on from the pending writes.
        for _ in 0..3 {
            let _: i64 = con.incr(key("lost"), 1).await.unwrap();
        }
        let mut engine = proxy.engines[0].conn().await;
        let mut engine2 = proxy.engines[1].conn().await;
        let _: i64 = engine.del(key("lost")).await.unwrap();
        let _: i64 = engine2.del(key("lost")).await.unwrap();
        assert_eq!(query(&mut con, &["INCR", &key("lost")]).await, Ok(redis::Value::Int(4)));

        proxy.stop().await; // the last flush
        let stopped = proxy_rows(&db, &counters).await;
        assert_eq!(stopped, vec![
            ("big".into(), i64::MAX.to_string()), ("f".into(), "1.6".into()), ("lost".into(), "4".into()),
            ("mixed".into(), "5".into()), ("new".into(), "-6".into()), ("seed".into(), "1100".into()),
            ("seven".into(), "10".into()), ("shared".into(), "1000".into()), ("text".into(), "hello".into()),
        ]);
        assert_eq!(db.rows(&format!("SELECT name, visits FROM {profiles}")).await, vec![vec![Some("ann".into()), Some("12.5".into())]]);

        // Over fresh backends, the count goes on from SQL.
        let proxy = CacheProxy::start(2, &cache).await;
        let mut con = proxy.conn().await;
        assert_eq!(query(&mut con, &["INCR", &key("lost")]).await, Ok(redis::Value::Int(5)));
        assert_eq!(query(&mut con, &["INCR", &key("seed")]).await, Ok(redis::Value::Int(1101)));
        let flushed_before = proxy.stat(|m| &m.rows_flushed);
        let pool = proxy.pool.clone();
        proxy.stop().await;
        let rows = pool.cache.as_deref().unwrap().count(|m| &m.rows_flushed) - flushed_before;
        assert_eq!(rows, 2, "two keys, one row each");
        fresh(&db, &[&counters, &profiles], &[&c, &p]).await;
    })
    .await;
}

/// Every (id, n) row of a counters table, by id.
async fn proxy_rows(db: &Db, table: &str) -> Vec<(String, String)> {
    let rows = db
        .rows(&format!("SELECT id, n FROM {table} ORDER BY id"))
        .await;
    rows.into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpush_appends_a_row_per_value_in_order() {
    each_db("rpush_appends_a_row_per_value_in_order", async |db, dir| {
        let (events, rows) = (db.table("wb_push"), db.table("wb_push_rows"));
        let (e, r) = (format!("pe{}", std::process::id()), format!("pr{}", std::process::id()));
        fresh(&db, &[&events, &rows], &[&e, &r]).await;
        let rules = format!(
            "  - name: {e}\n    match: \"{e}:{{stream}}\"\n    table: {events}\n    value: payload\n    policy: write_back\n    mode: append\n    flush_interval: 1h\n    create: true\n\
             \x20 - name: {r}\n    match: \"{r}:{{stream}}\"\n    table: {rows}\n    value: [a, b]\n    policy: write_back\n    mode: append\n    flush_interval: 1h\n    create: true\n{}",
            upsert_rule("pu", &db.table("wb_push_upsert"), "")
        );
        let proxy = CacheProxy::start(2, &cache_yaml(&db, &dir, &rules)).await;
        let mut con = proxy.conn().await;
        let s1 = format!("{e}:s1");
        assert_eq!(query(&mut con, &["RPUSH", &s1, "a", "b", "c"]).await, Ok(redis::Value::Int(3)));
        let _: () = con.set(format!("{e}:s2"), "other").await.unwrap();
        assert_eq!(query(&mut con, &["RPUSH", &s1, "d"]).await, Ok(redis::Value::Int(4)));
        let listed: Vec<String> = con.lrange(&s1, 0, -1).await.unwrap();
        assert_eq!(listed, ["a", "b", "c", "d"], "the backend holds the list");
        let ttl: i64 = con.ttl(&s1).await.unwrap();
        assert!(ttl > 0, "the rule's TTL is set: {ttl}");
        for (args, says) in [
            (vec!["LPUSH", s1.as_str(), "x"], "(it takes SET, RPUSH and XADD)"),
            (vec!["RPUSH", &format!("{r}:s"), "x"], "(it takes HSET, HMSET and XADD)"),
            (vec!["RPUSH", "pu:1", "x"], "(it takes SET, INCR, INCRBY, DECR, DECRBY, INCRBYFLOAT and DEL)"),
            (vec!["INCR", &s1], "does not take INCR"),
        ] {
            let error = error_of(&mut con, &args).await;
            assert!(error.contains(says), "{args:?}: {error}");
        }
        proxy.stop().await;
        let payloads = db.rows(&format!("SELECT stream, payload FROM {events} ORDER BY _seq")).await;
        let expected: Vec<Vec<Option<String>>> = [("s1", "a"), ("s1", "b"), ("s1", "c"), ("s2", "other"), ("s1", "d")]
            .iter()
            .map(|(s, p)| vec![Some(s.to_string()), Some(p.to_string())])
            .collect();
        assert_eq!(payloads, expected, "one row per value, in order");
        fresh(&db, &[&events, &rows, &db.table("wb_push_upsert")], &[&e, &r, "pu"]).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xadd_appends_a_row_per_entry_once_the_backend_added_it() {
    each_db("xadd_appends_a_row_per_entry_once_the_backend_added_it", async |db, dir| {
        let (events, rows) = (db.table("wb_xadd"), db.table("wb_xadd_rows"));
        let (e, r) = (format!("xe{}", std::process::id()), format!("xr{}", std::process::id()));
        fresh(&db, &[&events, &rows], &[&e, &r]).await;
        let rules = format!(
            "  - name: {e}\n    match: \"{e}:{{stream}}\"\n    table: {events}\n    value: message\n    policy: write_back\n    mode: append\n    flush_interval: 1h\n    create: true\n\
             \x20 - name: {r}\n    match: \"{r}:{{stream}}\"\n    table: {rows}\n    value: [level, text]\n    policy: write_back\n    mode: append\n    flush_interval: 1h\n    create: true\n"
        );
        let cache = cache_yaml(&db, &dir, &rules);
        // The bundled engine has no streams: the backend's error, and no row.
        let proxy = CacheProxy::start(1, &cache).await;
        let mut con = proxy.conn().await;
        let error = error_of(&mut con, &["XADD", &format!("{e}:s"), "*", "message", "hi"]).await;
        assert!(error.contains("unknown command"), "{error}");
        let s = format!("{e}:s");
        let refused = [
            (vec!["XADD", &s, "*", "msg", "hi"], "has no field 'msg'"),
            (vec!["XADD", &s, "*", "message"], "wrong number of arguments"),
            (vec!["XADD", &s, "MAXLEN", "~", "10", "*"], "wrong number of arguments"),
        ];
        for (args, says) in &refused {
            let error = error_of(&mut con, args).await;
            assert!(error.contains(says), "{args:?}: {error}");
        }
        proxy.stop().await;
        assert_eq!(db.count(&format!("SELECT count(*) FROM {events}")).await, 0, "nothing the backend refused");

        let Some(redis) = RedisServer::start().await else {
            fresh(&db, &[&events, &rows], &[&e, &r]).await;
            return;
        };
        let proxy = CacheProxy::try_over(&[redis.addr], &cache).await.unwrap();
        let mut con = proxy.conn().await;
        let first: String = redis::cmd("XADD").arg(&s).arg("*").arg("message").arg("one").query_async(&mut con).await.unwrap();
        let _: String = redis::cmd("XADD").arg(&s).arg("MAXLEN").arg("~").arg("100").arg("*").arg("message").arg("two").query_async(&mut con).await.unwrap();
        let nil: Option<String> = redis::cmd("XADD").arg(format!("{e}:none")).arg("NOMKSTREAM").arg("*").arg("message").arg("x").query_async(&mut con).await.unwrap();
        assert_eq!(nil, None, "NOMKSTREAM on no stream adds nothing");
        let stale = error_of(&mut con, &["XADD", &s, "1-1", "message", "old"]).await;
        assert!(stale.contains("equal or smaller"), "{stale}");
        let _: String = redis::cmd("XADD").arg(format!("{r}:app")).arg("*").arg("text").arg("boot").arg("level").arg("info").query_async(&mut con).await.unwrap();
        let len: i64 = redis::cmd("XLEN").arg(&s).query_async(&mut con).await.unwrap();
        assert_eq!(len, 2);
        assert!(first.contains('-'), "the backend's entry ID: {first}");
        proxy.stop().await;
        let messages = db.rows(&format!("SELECT stream, message FROM {events} ORDER BY _seq")).await;
        let one = |s: &str, m: &str| vec![Some(s.to_string()), Some(m.to_string())];
        assert_eq!(messages, vec![one("s", "one"), one("s", "two")], "the entries the backend added, in order");
        let row = db.rows(&format!("SELECT stream, level, text FROM {rows}")).await;
        assert_eq!(row, vec![vec![Some("app".into()), Some("info".into()), Some("boot".into())]]);
        fresh(&db, &[&events, &rows], &[&e, &r]).await;
    })
    .await;
}

/// With PostgreSQL unreachable, an INCR whose value only SQL could tell is
/// refused with the reason (never counted from 0), while a key with pending
/// writes goes on counting; once SQL is back, so does the cold key, from its
/// row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incr_of_a_cold_key_needs_sql() {
    let Some((relay, db)) = cache_util::Relay::postgres("incr_of_a_cold_key_needs_sql").await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (table, rule) = (
        db.table("wb_incr_down"),
        format!("id{}", std::process::id()),
    );
    fresh(&db, &[&table], &[&rule]).await;
    let rules = upsert_rule(&rule, &table, "    flush_interval: 1h\n");
    let proxy = CacheProxy::start(1, &cache_yaml(&db, &dir, &rules)).await;
    db.exec(&format!(
        "INSERT INTO {table} (id, n) VALUES ('cold', '41')"
    ))
    .await;
    let mut con = proxy.conn().await;
    let (hot, cold) = (format!("{rule}:hot"), format!("{rule}:cold"));
    let _: i64 = con.incr(&hot, 1).await.unwrap();
    relay.cut();
    let err = query(&mut con, &["INCR", &cold]).await.unwrap_err();
    assert!(err.contains("database is unreachable"), "{err}");
    assert_eq!(
        query(&mut con, &["INCR", &hot]).await,
        Ok(redis::Value::Int(2))
    );
    relay.restore();
    let back = eventually(Duration::from_secs(10), || {
        let mut con = con.clone();
        let cold = cold.clone();
        async move { query(&mut con, &["INCR", &cold]).await == Ok(redis::Value::Int(42)) }
    })
    .await;
    assert!(back, "the cold key counts on from its row once SQL is back");
    proxy.stop().await;
    assert_eq!(
        proxy_rows(&db, &table).await,
        vec![("cold".into(), "42".into()), ("hot".into(), "2".into())]
    );
    fresh(&db, &[&table], &[&rule]).await;
}

/// INCRs from several clients while the flusher empties the queue every few
/// milliseconds and the backend loses the keys now and then: every increment
/// counts once, in the replies and in SQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incr_counts_every_increment_across_flushes() {
    each_db(
        "incr_counts_every_increment_across_flushes",
        async |db, dir| {
            let (table, rule) = (
                db.table("wb_incr_flushes"),
                format!("if{}", std::process::id()),
            );
            fresh(&db, &[&table], &[&rule]).await;
            let rules = upsert_rule(
                &rule,
                &table,
                "    flush_interval: 5ms\n    batch_size: 4\n",
            );
            let proxy = CacheProxy::start(2, &cache_yaml(&db, &dir, &rules)).await;
            const CLIENTS: usize = 4;
            const ROUNDS: usize = 150;
            let keys: Vec<String> = (0..3).map(|k| format!("{rule}:k{k}")).collect();
            let mut clients = Vec::new();
            for c in 0..CLIENTS {
                let mut con = proxy.conn().await;
                let keys = keys.clone();
                clients.push(tokio::spawn(async move {
                    let mut seen = vec![Vec::new(); keys.len()];
                    for i in 0..ROUNDS {
                        let k = (i + c) % keys.len();
                        // Pipelined pairs too: the second reads what the first left.
                        let (a, b): (i64, i64) = redis::pipe()
                            .incr(&keys[k], 1)
                            .incr(&keys[k], 1)
                            .query_async(&mut con)
                            .await
                            .unwrap();
                        seen[k].extend([a, b]);
                    }
                    seen
                }));
            }
            let mut engines = Vec::new();
            for e in &proxy.engines {
                engines.push(e.conn().await);
            }
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_millis(15)).await;
                for engine in &mut engines {
                    let _: i64 = engine.del(&keys).await.unwrap();
                }
            }
            let mut seen = vec![Vec::new(); keys.len()];
            for client in clients {
                for (k, values) in client.await.unwrap().into_iter().enumerate() {
                    seen[k].extend(values);
                }
            }
            let mut total = 0;
            for values in &mut seen {
                values.sort_unstable();
                let n = values.len() as i64;
                let twice: Vec<i64> = values
                    .windows(2)
                    .filter(|w| w[0] == w[1])
                    .map(|w| w[0])
                    .collect();
                assert!(
                    twice.is_empty(),
                    "values answered twice, increments lost: {twice:?}"
                );
                assert_eq!(
                    *values,
                    (1..=n).collect::<Vec<i64>>(),
                    "each value seen once"
                );
                total += n;
            }
            assert_eq!(total as usize, CLIENTS * ROUNDS * 2);
            proxy.stop().await;
            let rows = proxy_rows(&db, &table).await;
            let expected: Vec<(String, String)> = seen
                .iter()
                .enumerate()
                .map(|(k, v)| (format!("k{k}"), v.len().to_string()))
                .collect();
            assert_eq!(rows, expected);
            fresh(&db, &[&table], &[&rule]).await;
        },
    )
    .await;
}
