//! Look-aside rules through the proxy: rows put straight into SQL are served,
//! refetched after their TTL, missing rows cached as absent, concurrent misses
//! coalesced into one query, writes go to SQL and invalidate, and a database
//! that went away still lets cached values be served. Each scenario runs on
//! SQLite, and on PostgreSQL when SHARDCAR_TEST_PG is set.

mod cache_util;

use cache_util::{cache_yaml, each_db, eventually, query, CacheProxy, Db};
use redis::{AsyncCommands, Value};
use std::time::Duration;

/// Rules over one `users` table: a hash of the row, and its name as a string.
fn rules(t: &str, ttl: &str, negative_ttl: &str) -> String {
    format!(
        "  - name: users\n    match: \"user:{{id}}\"\n    table: {t}\n    value: [name, email]\n    policy: look_aside\n    ttl: {ttl}\n    ttl_jitter: 0%\n    negative_ttl: {negative_ttl}\n    create: true\n\
         \x20 - name: names\n    match: \"name:{{id}}\"\n    table: {t}\n    key: {{id: id}}\n    value: name\n    policy: look_aside\n    ttl: {ttl}\n    ttl_jitter: 0%\n    negative_ttl: {negative_ttl}\n"
    )
}

async fn setup(
    db: &Db,
    dir: &tempfile::TempDir,
    t: &str,
    ttl: &str,
    negative_ttl: &str,
) -> CacheProxy {
    db.exec(&format!(
        "DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id TEXT PRIMARY KEY, name TEXT, email TEXT)"
    ))
    .await;
    CacheProxy::start(3, &cache_yaml(db, dir, &rules(t, ttl, negative_ttl))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_inserted_in_sql_are_served() {
    each_db("rows_inserted_in_sql_are_served", async |db, dir| {
        let t = db.table(&format!("users_{}", line!()));
        let proxy = setup(&db, &dir, &t, "60s", "30s").await;
        db.exec(&format!(
            "INSERT INTO {t} (id, name, email) VALUES ('1', 'ann', 'ann@example.com')"
        ))
        .await;
        let mut con = proxy.conn().await;
        let name: String = con.get("name:1").await.unwrap();
        assert_eq!(name, "ann");
        let all: Vec<(String, String)> = con.hgetall("user:1").await.unwrap();
        assert_eq!(
            all,
            vec![
                ("name".into(), "ann".into()),
                ("email".into(), "ann@example.com".into())
            ]
        );
        let email: String = con.hget("user:1", "email").await.unwrap();
        assert_eq!(email, "ann@example.com");
        let some: Vec<Option<String>> = redis::cmd("HMGET")
            .arg("user:1")
            .arg("email")
            .arg("nope")
            .arg("name")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(
            some,
            vec![Some("ann@example.com".into()), None, Some("ann".into())]
        );
        assert_eq!(proxy.stat(|m| &m.sql_reads), 2, "one query per key");
        // Now cached in a backend, with the rule's TTL.
        let ttl: i64 = redis::cmd("PTTL")
            .arg("name:1")
            .query_async(&mut con)
            .await
            .unwrap();
        assert!(ttl > 50_000 && ttl <= 60_000, "ttl {ttl}");
        // MGET mixes cached and plain keys, in order.
        let _: () = con.set("plain", "p").await.unwrap();
        let values: Vec<Option<String>> = con
            .mget(&["plain", "name:1", "name:2", "user:1"])
            .await
            .unwrap();
        assert_eq!(
            values,
            vec![Some("p".into()), Some("ann".into()), None, None]
        );
        // Wrong types answer as Redis does.
        let err = query(&mut con, &["GET", "user:1"]).await.unwrap_err();
        assert!(err.contains("WRONGTYPE"), "{err}");
        proxy.stop().await;
        db.drop_table(&t).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_are_refetched_after_their_ttl() {
    each_db("values_are_refetched_after_their_ttl", async |db, dir| {
        let t = db.table(&format!("users_{}", line!()));
        let proxy = setup(&db, &dir, &t, "300ms", "30s").await;
        db.exec(&format!("INSERT INTO {t} (id, name) VALUES ('7', 'old')"))
            .await;
        let mut con = proxy.conn().await;
        let name: String = con.get("name:7").await.unwrap();
        assert_eq!(name, "old");
        db.exec(&format!("UPDATE {t} SET name = 'new' WHERE id = '7'"))
            .await;
        let cached: String = con.get("name:7").await.unwrap();
        assert_eq!(cached, "old", "served from the cache within the TTL");
        assert_eq!(proxy.stat(|m| &m.hits), 1);
        let refetched = eventually(Duration::from_secs(5), || {
            let mut con = con.clone();
            async move { con.get::<_, String>("name:7").await.unwrap() == "new" }
        })
        .await;
        assert!(refetched, "the new row is read once the TTL has passed");
        assert!(proxy.stat(|m| &m.sql_reads) >= 2);
        proxy.stop().await;
        db.drop_table(&t).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_row_is_cached_as_absent() {
    each_db("a_missing_row_is_cached_as_absent", async |db, dir| {
        let t = db.table(&format!("users_{}", line!()));
        let proxy = setup(&db, &dir, &t, "60s", "400ms").await;
        let mut con = proxy.conn().await;
        let none: Option<String> = con.get("name:9").await.unwrap();
        assert_eq!(none, None);
        db.exec(&format!("INSERT INTO {t} (id, name) VALUES ('9', 'late')"))
            .await;
        let still: Option<String> = con.get("name:9").await.unwrap();
        assert_eq!(still, None, "absence is remembered for negative_ttl");
        assert_eq!(proxy.stat(|m| &m.sql_reads), 1);
        assert_eq!(proxy.stat(|m| &m.negative_hits), 1);
        let found = eventually(Duration::from_secs(5), || {
            let mut con = con.clone();
            async move {
                con.get::<_, Option<String>>("name:9")
                    .await
                    .unwrap()
                    .as_deref()
                    == Some("late")
            }
        })
        .await;
        assert!(found, "the row is seen once negative_ttl has passed");
        proxy.stop().await;
        db.drop_table(&t).await;
    })
    .await;
}

/// 1,000 clients miss at once: one query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_run_one_query() {
    each_db("concurrent_misses_run_one_query", async |db, dir| {
        let t = db.table(&format!("users_{}", line!()));
        let proxy = setup(&db, &dir, &t, "60s", "30s").await;
        db.exec(&format!("INSERT INTO {t} (id, name) VALUES ('5', 'five')"))
            .await;
        for (key, expected) in [("name:404", None), ("name:5", Some("five".to_string()))] {
            let before = proxy.stat(|m| &m.sql_reads);
            let mut conns = Vec::new();
            for _ in 0..20 {
                conns.push(proxy.conn().await);
            }
            let start = std::sync::Arc::new(tokio::sync::Barrier::new(1000));
            let tasks: Vec<_> = (0..1000)
                .map(|i| {
                    let mut con = conns[i % conns.len()].clone();
                    let start = start.clone();
                    tokio::spawn(async move {
                        start.wait().await;
                        con.get::<_, Option<String>>(key).await.unwrap()
                    })
                })
                .collect();
            for task in tasks {
                assert_eq!(task.await.unwrap(), expected, "{key}");
            }
            assert_eq!(
                proxy.stat(|m| &m.sql_reads) - before,
                1,
                "{key}: exactly one query"
            );
        }
        proxy.stop().await;
        db.drop_table(&t).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_go_to_sql_then_invalidate() {
    each_db("writes_go_to_sql_then_invalidate", async |db, dir| {
        let t = db.table(&format!("users_{}", line!()));
        let proxy = setup(&db, &dir, &t, "60s", "30s").await;
        db.exec(&format!(
            "INSERT INTO {t} (id, name, email) VALUES ('1', 'ann', 'a@x')"
        ))
        .await;
        let mut con = proxy.conn().await;
        let _: String = con.get("name:1").await.unwrap();
        let _: () = con.set("name:1", "bob").await.unwrap();
        assert_eq!(
            db.rows(&format!("SELECT name FROM {t} WHERE id = '1'"))
                .await,
            vec![vec![Some("bob".into())]]
        );
        let exists: i64 = redis::cmd("EXISTS")
            .arg("name:1")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(exists, 0, "the cached value was dropped");
        let name: String = con.get("name:1").await.unwrap();
        assert_eq!(name, "bob");
        // HSET writes columns; a new row is inserted.
        let n: i64 = redis::cmd("HSET")
            .arg("user:2")
            .arg("name")
            .arg("cy")
            .arg("email")
            .arg("c@x")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            db.rows(&format!("SELECT name, email FROM {t} WHERE id = '2'"))
                .await,
            vec![vec![Some("cy".into()), Some("c@x".into())]]
        );
        let email: String = con.hget("user:2", "email").await.unwrap();
        assert_eq!(email, "c@x");
        // DEL deletes the row.
        let deleted: i64 = con.del("user:2").await.unwrap();
        assert_eq!(deleted, 1);
        assert_eq!(
            db.count(&format!("SELECT count(*) FROM {t} WHERE id = '2'"))
                .await,
            0
        );
        let gone: Option<String> = con.hget("user:2", "email").await.unwrap();
        assert_eq!(gone, None);
        // What SQL could not follow is refused, naming the rule.
        for (args, expected) in [
            (
                vec!["INCR", "name:1"],
                "cache rule 'names' does not take INCR",
            ),
            (vec!["HSET", "user:1", "age", "3"], "has no field 'age'"),
            (
                vec!["SET", "name:1", "x", "EX", "10"],
                "takes SET key value only",
            ),
            (vec!["DEL", "name:1", "plain"], "one key at a time"),
            (vec!["SET", "user:1", "x"], "holds a hash"),
        ] {
            let err = query(&mut con, &args).await.unwrap_err();
            assert!(err.contains(expected), "{args:?}: {err}");
        }
        // Plain keys are untouched by all this.
        let _: () = con.set("plain", "1").await.unwrap();
        let n: i64 = con.incr("plain", 1).await.unwrap();
        assert_eq!(n, 2);
        proxy.stop().await;
        db.drop_table(&t).await;
    })
    .await;
}

/// SQLite write-locked by another process: writes report the database
/// unreachable, cached values are still served, and writes work again once the
/// lock is gone. (An SQLite reader in WAL mode cannot be locked out; misses
/// with the database down are tested on PostgreSQL below.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_serves_hits_and_fails_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::sqlite(&dir);
    let proxy = setup(&db, &dir, "users", "60s", "30s").await;
    db.exec("INSERT INTO users (id, name) VALUES ('1', 'ann')")
        .await;
    let mut con = proxy.conn().await;
    let _: String = con.get("name:1").await.unwrap();
    let Db::Sqlite(path) = &db else {
        unreachable!()
    };
    let locker = rusqlite::Connection::open(path).unwrap();
    locker
        .execute_batch("BEGIN IMMEDIATE; UPDATE users SET email = email;")
        .unwrap();
    let hit: String = con.get("name:1").await.unwrap();
    assert_eq!(hit, "ann");
    let err = query(&mut con, &["SET", "name:3", "x"]).await.unwrap_err();
    assert!(
        err.contains("database is unreachable") && err.contains("rule 'names'"),
        "{err}"
    );
    locker.execute_batch("COMMIT").unwrap();
    drop(locker);
    assert_eq!(
        query(&mut con, &["SET", "name:3", "x"]).await,
        Ok(Value::Okay)
    );
    assert_eq!(
        db.rows("SELECT name FROM users WHERE id = '3'").await,
        vec![vec![Some("x".into())]]
    );
    proxy.stop().await;
}

/// PostgreSQL behind a relay the test cuts: hits are served, misses and
/// writes get an error saying the database is unreachable, and all works
/// again once the relay is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_serves_hits_and_fails_misses() {
    let Some((relay, db)) =
        cache_util::Relay::postgres("postgres_down_serves_hits_and_fails_misses").await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let t = db.table("users_down");
    let proxy = setup(&db, &dir, &t, "60s", "30s").await;
    db.exec(&format!("INSERT INTO {t} (id, name) VALUES ('1', 'ann')"))
        .await;
    let mut con = proxy.conn().await;
    let _: String = con.get("name:1").await.unwrap();
    relay.cut();
    let hit: String = con.get("name:1").await.unwrap();
    assert_eq!(hit, "ann");
    let err = query(&mut con, &["GET", "name:2"]).await.unwrap_err();
    assert!(
        err.contains("database is unreachable") && err.contains("rule 'names'"),
        "{err}"
    );
    let err = query(&mut con, &["SET", "name:3", "x"]).await.unwrap_err();
    assert!(err.contains("database is unreachable"), "{err}");
    relay.restore();
    let back = eventually(Duration::from_secs(10), || {
        let mut con = con.clone();
        async move { query(&mut con, &["GET", "name:2"]).await == Ok(Value::Nil) }
    })
    .await;
    assert!(back, "misses are answered again once the database is back");
    proxy.stop().await;
    db.drop_table(&t).await;
}

/// Inside MULTI a cached key is refused: the transaction would run on a
/// backend, out of SQL's sight. Plain keys still queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_keys_are_refused_inside_multi() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let db = Db::sqlite(&dir);
    let proxy = setup(&db, &dir, "users", "60s", "30s").await;
    let stream = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write
        .write_all(b"MULTI\r\nSET name:1 x\r\nSET plain 1\r\nDISCARD\r\n")
        .await
        .unwrap();
    let mut replies = Vec::new();
    for _ in 0..4 {
        replies.push(lines.next_line().await.unwrap().unwrap());
    }
    assert_eq!(replies[0], "+OK");
    assert!(
        replies[1].starts_with("-ERR shardcar: cached keys cannot be used inside MULTI"),
        "{replies:?}"
    );
    assert_eq!(replies[2..], ["+QUEUED", "+OK"]);
    assert_eq!(db.count("SELECT count(*) FROM users").await, 0);
    proxy.stop().await;
}

/// Hits go to the backend as plain reads do and misses fill from SQL, yet a
/// pipeline's replies come back in request order, byte for byte: a miss holds
/// back the hits, plain reads and remembered absences sent after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelined_miss_is_not_overtaken() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    each_db("a_pipelined_miss_is_not_overtaken", async |db, dir| {
        let t = db.table(&format!("users_{}", line!()));
        let proxy = setup(&db, &dir, &t, "60s", "30s").await;
        db.exec(&format!(
            "INSERT INTO {t} (id, name, email) VALUES ('1', 'ann', 'a@x'), ('2', 'bo', NULL)"
        ))
        .await;
        let mut con = proxy.conn().await;
        let _: () = con.set("plain", "p").await.unwrap();
        let _: String = con.get("name:2").await.unwrap();
        let hits = proxy.stat(|m| &m.hits);
        let mut stream = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
        stream
            .write_all(
                b"GET name:1\r\nGET plain\r\nGET name:2\r\nGET name:404\r\nHGET user:2 email\r\n\
                  HGETALL user:1\r\nGET name:1\r\nGET name:404\r\n",
            )
            .await
            .unwrap();
        let expected: &[u8] = b"$3\r\nann\r\n$1\r\np\r\n$2\r\nbo\r\n$-1\r\n$-1\r\n\
            *4\r\n$4\r\nname\r\n$3\r\nann\r\n$5\r\nemail\r\n$3\r\na@x\r\n$3\r\nann\r\n$-1\r\n";
        let mut replies = vec![0; expected.len()];
        tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut replies))
            .await
            .expect("every reply within 10 s")
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&replies),
            String::from_utf8_lossy(expected)
        );
        // One query each for name:2 (before the pipeline), name:1, name:404,
        // user:2 and user:1; the second name:1 and name:404 ran none.
        assert_eq!(proxy.stat(|m| &m.sql_reads), 5);
        assert!(proxy.stat(|m| &m.hits) > hits, "name:2 was a hit");
        assert_eq!(proxy.stat(|m| &m.negative_hits), 1);
        proxy.stop().await;
        db.drop_table(&t).await;
    })
    .await;
}
