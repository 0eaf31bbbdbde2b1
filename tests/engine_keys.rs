//! Generic key commands of the bundled engine against Redis 7.0's replies: DEL,
//! UNLINK, EXISTS, TYPE, TOUCH, RENAME(NX), COPY, MOVE, RANDOMKEY, KEYS, SCAN, OBJECT.

mod support;

use redis::aio::MultiplexedConnection;
use redis::FromRedisValue;
use std::collections::HashSet;
use std::time::Duration;
use support::{cmd, Engine, Raw};

/// Runs a command and returns its reply, panicking on errors.
async fn q<T: FromRedisValue>(con: &mut MultiplexedConnection, args: &[&str]) -> T {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    match command.query_async(con).await {
        Ok(reply) => reply,
        Err(err) => panic!("{args:?} failed: {err}"),
    }
}

/// Sends `args` on a raw connection and asserts the exact reply bytes.
async fn expect(raw: &mut Raw, args: &[&str], reply: &str) {
    raw.roundtrip(&cmd(args), reply.as_bytes()).await;
}

async fn setup() -> (Engine, MultiplexedConnection, Raw) {
    let engine = Engine::start().await;
    let con = engine.conn().await;
    let raw = Raw::connect(engine.addr).await;
    (engine, con, raw)
}

/// Fills a list, a set, a hash and a zset with `n` elements each under `prefix`.
async fn aggregates(con: &mut MultiplexedConnection, prefix: &str, n: usize) {
    for i in 0..n {
        let (member, score) = (format!("m{i}"), i.to_string());
        let _: () = redis::pipe()
            .cmd("RPUSH")
            .arg(format!("{prefix}list"))
            .arg(&member)
            .ignore()
            .cmd("SADD")
            .arg(format!("{prefix}set"))
            .arg(&member)
            .ignore()
            .cmd("HSET")
            .arg(format!("{prefix}hash"))
            .arg(&member)
            .arg(&score)
            .ignore()
            .cmd("ZADD")
            .arg(format!("{prefix}zset"))
            .arg(&score)
            .arg(&member)
            .ignore()
            .query_async(con)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn del_counts_each_deleted_key_once() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["MSET", "a", "1", "b", "2", "c", "3"]).await;
    expect(&mut raw, &["DEL", "a", "a", "b", "missing"], ":2\r\n").await;
    expect(&mut raw, &["DEL", "missing"], ":0\r\n").await;
    expect(&mut raw, &["EXISTS", "a", "b", "c"], ":1\r\n").await;
    expect(
        &mut raw,
        &["DEL"],
        "-ERR wrong number of arguments for 'del' command\r\n",
    )
    .await;
}

#[tokio::test]
async fn unlink_removes_small_and_large_values_at_once() {
    let (_engine, mut con, mut raw) = setup().await;
    aggregates(&mut con, "big:", 1000).await;
    aggregates(&mut con, "small:", 3).await;
    let _: () = q(&mut con, &["SET", "s", "v"]).await;
    expect(
        &mut raw,
        &[
            "UNLINK",
            "big:list",
            "big:set",
            "big:hash",
            "big:zset",
            "small:list",
            "small:set",
            "small:hash",
            "small:zset",
            "s",
            "s",
            "missing",
        ],
        ":9\r\n",
    )
    .await;
    let keys: Vec<String> = q(&mut con, &["KEYS", "*"]).await;
    assert!(keys.is_empty(), "{keys:?}");
    expect(&mut raw, &["UNLINK", "missing"], ":0\r\n").await;
    // The engine goes on serving while the lazy-free thread works.
    expect(&mut raw, &["PING"], "+PONG\r\n").await;
}

#[tokio::test]
async fn del_frees_lazily_when_configured() {
    let engine = Engine::start_with(&["--lazyfree-lazy-user-del", "yes"]).await;
    let mut con = engine.conn().await;
    aggregates(&mut con, "big:", 500).await;
    let deleted: i64 = q(
        &mut con,
        &["DEL", "big:list", "big:set", "big:hash", "big:zset"],
    )
    .await;
    assert_eq!(deleted, 4);
    let left: i64 = q(
        &mut con,
        &["EXISTS", "big:list", "big:set", "big:hash", "big:zset"],
    )
    .await;
    assert_eq!(left, 0);
}

#[tokio::test]
async fn exists_counts_repeated_keys() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["SET", "k", "v"]).await;
    expect(&mut raw, &["EXISTS", "k", "k", "missing", "k"], ":3\r\n").await;
    expect(&mut raw, &["EXISTS", "missing"], ":0\r\n").await;
}

#[tokio::test]
async fn type_names_every_kind() {
    let (_engine, mut con, mut raw) = setup().await;
    aggregates(&mut con, "", 2).await;
    let _: () = q(&mut con, &["SET", "string", "v"]).await;
    for (key, name) in [
        ("string", "string"),
        ("list", "list"),
        ("set", "set"),
        ("hash", "hash"),
        ("zset", "zset"),
        ("missing", "none"),
    ] {
        expect(&mut raw, &["TYPE", key], &format!("+{name}\r\n")).await;
    }
}

#[tokio::test]
async fn touch_counts_existing_keys() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["MSET", "a", "1", "b", "2"]).await;
    expect(&mut raw, &["TOUCH", "a", "a", "b", "missing"], ":3\r\n").await;
    expect(&mut raw, &["TOUCH", "missing"], ":0\r\n").await;
}

#[tokio::test]
async fn rename_moves_value_and_ttl() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["SET", "src", "v"]).await;
    let _: () = q(&mut con, &["PEXPIRE", "src", "100000"]).await;
    let _: () = q(&mut con, &["SET", "dst", "old"]).await;
    let _: () = q(&mut con, &["PEXPIRE", "dst", "5000"]).await;
    expect(&mut raw, &["RENAME", "src", "dst"], "+OK\r\n").await;
    expect(&mut raw, &["GET", "dst"], "$1\r\nv\r\n").await;
    expect(&mut raw, &["EXISTS", "src"], ":0\r\n").await;
    let ttl: i64 = q(&mut con, &["PTTL", "dst"]).await;
    assert!((90_000..=100_000).contains(&ttl), "{ttl}");
    // A persistent source leaves the destination persistent.
    let _: () = q(&mut con, &["SET", "p", "1"]).await;
    expect(&mut raw, &["RENAME", "p", "dst"], "+OK\r\n").await;
    expect(&mut raw, &["TTL", "dst"], ":-1\r\n").await;
    expect(
        &mut raw,
        &["RENAME", "missing", "x"],
        "-ERR no such key\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["RENAME", "missing", "missing"],
        "-ERR no such key\r\n",
    )
    .await;
}

#[tokio::test]
async fn rename_onto_itself_keeps_the_key() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["SET", "k", "v"]).await;
    let _: () = q(&mut con, &["EXPIRE", "k", "100"]).await;
    expect(&mut raw, &["RENAME", "k", "k"], "+OK\r\n").await;
    expect(&mut raw, &["GET", "k"], "$1\r\nv\r\n").await;
    expect(&mut raw, &["TTL", "k"], ":100\r\n").await;
    expect(&mut raw, &["RENAMENX", "k", "k"], ":0\r\n").await;
    expect(&mut raw, &["GET", "k"], "$1\r\nv\r\n").await;
}

#[tokio::test]
async fn renamenx_only_onto_a_free_name() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["MSET", "a", "1", "b", "2"]).await;
    expect(&mut raw, &["RENAMENX", "a", "b"], ":0\r\n").await;
    expect(&mut raw, &["GET", "a"], "$1\r\n1\r\n").await;
    expect(&mut raw, &["RENAMENX", "a", "c"], ":1\r\n").await;
    expect(&mut raw, &["MGET", "a", "c"], "*2\r\n$-1\r\n$1\r\n1\r\n").await;
    expect(
        &mut raw,
        &["RENAMENX", "missing", "z"],
        "-ERR no such key\r\n",
    )
    .await;
}

#[tokio::test]
async fn copy_within_and_across_databases() {
    let (engine, mut con, mut raw) = setup().await;
    aggregates(&mut con, "", 3).await;
    let _: () = q(&mut con, &["PEXPIRE", "list", "100000"]).await;
    expect(&mut raw, &["COPY", "list", "copy"], ":1\r\n").await;
    let ttl: i64 = q(&mut con, &["PTTL", "copy"]).await;
    assert!((90_000..=100_000).contains(&ttl), "{ttl}");
    // The copy is independent of its source.
    let _: () = q(&mut con, &["RPUSH", "list", "more"]).await;
    expect(&mut raw, &["LLEN", "copy"], ":3\r\n").await;
    expect(&mut raw, &["COPY", "list", "copy"], ":0\r\n").await;
    expect(&mut raw, &["COPY", "list", "copy", "REPLACE"], ":1\r\n").await;
    expect(&mut raw, &["LLEN", "copy"], ":4\r\n").await;
    expect(&mut raw, &["COPY", "missing", "copy", "replace"], ":0\r\n").await;
    expect(&mut raw, &["COPY", "hash", "hash", "db", "2"], ":1\r\n").await;
    expect(
        &mut raw,
        &["COPY", "zset", "z", "db", "0", "replace", "replace"],
        ":1\r\n",
    )
    .await;

    let mut other = Raw::connect(engine.addr).await;
    expect(&mut other, &["SELECT", "2"], "+OK\r\n").await;
    expect(&mut other, &["HGET", "hash", "m1"], "$1\r\n1\r\n").await;
    expect(&mut other, &["TYPE", "list"], "+none\r\n").await;
}

#[tokio::test]
async fn copy_errors() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["SET", "a", "1"]).await;
    let same = "-ERR source and destination objects are the same\r\n";
    expect(&mut raw, &["COPY", "a", "a"], same).await;
    expect(&mut raw, &["COPY", "a", "a", "DB", "0"], same).await;
    expect(
        &mut raw,
        &["COPY", "a", "b", "db", "16"],
        "-ERR DB index is out of range\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["COPY", "a", "b", "db", "-1"],
        "-ERR DB index is out of range\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["COPY", "a", "b", "db", "x"],
        "-ERR value is not an integer or out of range\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["COPY", "a", "b", "db", "4294967296"],
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
    )
    .await;
    expect(&mut raw, &["COPY", "a", "b", "db"], "-ERR syntax error\r\n").await;
    expect(
        &mut raw,
        &["COPY", "a", "b", "foo"],
        "-ERR syntax error\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["COPY", "a"],
        "-ERR wrong number of arguments for 'copy' command\r\n",
    )
    .await;
    expect(&mut raw, &["EXISTS", "b"], ":0\r\n").await;
}

#[tokio::test]
async fn move_between_databases() {
    let (engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["SET", "k", "v"]).await;
    let _: () = q(&mut con, &["EXPIRE", "k", "100"]).await;
    expect(&mut raw, &["MOVE", "k", "1"], ":1\r\n").await;
    expect(&mut raw, &["EXISTS", "k"], ":0\r\n").await;
    expect(&mut raw, &["MOVE", "k", "1"], ":0\r\n").await;

    let mut db1 = Raw::connect(engine.addr).await;
    expect(&mut db1, &["SELECT", "1"], "+OK\r\n").await;
    expect(&mut db1, &["GET", "k"], "$1\r\nv\r\n").await;
    expect(&mut db1, &["TTL", "k"], ":100\r\n").await;
    // A key already present in the target stays, and so does the source.
    let _: () = q(&mut con, &["SET", "k", "other"]).await;
    expect(&mut raw, &["MOVE", "k", "1"], ":0\r\n").await;
    expect(&mut raw, &["GET", "k"], "$5\r\nother\r\n").await;
    expect(&mut db1, &["MOVE", "k", "0"], ":0\r\n").await;
}

#[tokio::test]
async fn move_errors() {
    let (_engine, _con, mut raw) = setup().await;
    expect(
        &mut raw,
        &["MOVE", "k", "0"],
        "-ERR source and destination objects are the same\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["MOVE", "k", "16"],
        "-ERR DB index is out of range\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["MOVE", "k", "-1"],
        "-ERR DB index is out of range\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["MOVE", "k", "x"],
        "-ERR value is not an integer or out of range\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["MOVE", "k", "-2147483649"],
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["MOVE", "k"],
        "-ERR wrong number of arguments for 'move' command\r\n",
    )
    .await;
}

#[tokio::test]
async fn randomkey_picks_an_existing_key() {
    let (_engine, mut con, mut raw) = setup().await;
    expect(&mut raw, &["RANDOMKEY"], "$-1\r\n").await;
    let _: () = q(&mut con, &["SET", "only", "v"]).await;
    expect(&mut raw, &["RANDOMKEY"], "$4\r\nonly\r\n").await;
    let _: () = q(&mut con, &["MSET", "a", "1", "b", "2"]).await;
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let key: String = q(&mut con, &["RANDOMKEY"]).await;
        seen.insert(key);
    }
    let all: HashSet<String> = ["only", "a", "b"].map(String::from).into();
    assert_eq!(seen, all);
    expect(
        &mut raw,
        &["RANDOMKEY", "x"],
        "-ERR wrong number of arguments for 'randomkey' command\r\n",
    )
    .await;
}

#[tokio::test]
async fn keys_matches_globs() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(
        &mut con,
        &[
            "MSET",
            "user:1:name",
            "a",
            "user:2:name",
            "b",
            "user:2:age",
            "3",
            "hello",
            "x",
            "hallo",
            "y",
            "h*llo",
            "z",
        ],
    )
    .await;
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let all: Vec<String> = q(&mut con, &["KEYS", "*"]).await;
    assert_eq!(all.len(), 6);
    let names: Vec<String> = q(&mut con, &["KEYS", "user:*:name"]).await;
    assert_eq!(sorted(names), ["user:1:name", "user:2:name"]);
    let class: Vec<String> = q(&mut con, &["KEYS", "h[ae]llo"]).await;
    assert_eq!(sorted(class), ["hallo", "hello"]);
    let escaped: Vec<String> = q(&mut con, &["KEYS", "h\\*llo"]).await;
    assert_eq!(escaped, ["h*llo"]);
    expect(&mut raw, &["KEYS", "nothing*"], "*0\r\n").await;
    expect(
        &mut raw,
        &["KEYS"],
        "-ERR wrong number of arguments for 'keys' command\r\n",
    )
    .await;
}

#[tokio::test]
async fn keys_skips_expired_keys() {
    let (_engine, mut con, _raw) = setup().await;
    let _: () = q(&mut con, &["MSET", "live", "1", "dying", "2"]).await;
    let _: () = q(&mut con, &["PEXPIRE", "dying", "20"]).await;
    tokio::time::sleep(Duration::from_millis(40)).await;
    let keys: Vec<String> = q(&mut con, &["KEYS", "*"]).await;
    assert_eq!(keys, ["live"]);
}

/// KEYS over 200k keys holds the lock for its duration: another client is only
/// delayed, and both get complete, correct replies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_on_200k_keys_delays_but_does_not_break_others() {
    const N: usize = 200_000;
    let (engine, mut con, _raw) = setup().await;
    for chunk in 0..N / 10_000 {
        let mut pipe = redis::pipe();
        for i in chunk * 10_000..(chunk + 1) * 10_000 {
            pipe.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
        }
        let _: () = pipe.query_async(&mut con).await.unwrap();
    }
    let mut other = engine.conn().await;
    let keys = tokio::spawn(async move {
        let all: Vec<Vec<u8>> = q(&mut con, &["KEYS", "*"]).await;
        let some: Vec<Vec<u8>> = q(&mut con, &["KEYS", "key:1999*"]).await;
        (all, some)
    });
    for i in 0..50 {
        let _: () = q(&mut other, &["SET", &format!("side:{i}"), "v"]).await;
        let got: String = q(&mut other, &["GET", &format!("side:{i}")]).await;
        assert_eq!(got, "v");
    }
    let (all, some) = keys.await.unwrap();
    let distinct: HashSet<&[u8]> = all.iter().map(Vec::as_slice).collect();
    assert!(all.len() >= N && all.len() <= N + 50, "{}", all.len());
    assert_eq!(distinct.len(), all.len());
    // key:1999, key:19990..19999, key:199900..199999
    assert_eq!(some.len(), 1 + 10 + 100);
}

/// Runs a SCAN to completion with the given options, returning every key seen.
async fn scan_all(con: &mut MultiplexedConnection, options: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(options);
        let (next, batch): (String, Vec<String>) = q(con, &args).await;
        keys.extend(batch);
        if next == "0" {
            return keys;
        }
        cursor = next;
    }
}

#[tokio::test]
async fn scan_visits_every_key_with_filters() {
    let (_engine, mut con, mut raw) = setup().await;
    for i in 0..300 {
        let _: () = q(&mut con, &["SET", &format!("s:{i}"), "v"]).await;
    }
    aggregates(&mut con, "agg:", 2).await;
    let mut all = scan_all(&mut con, &[]).await;
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 304);
    let matched = scan_all(&mut con, &["MATCH", "s:1?"]).await;
    assert_eq!(matched.len(), 10);
    let lists = scan_all(&mut con, &["TYPE", "LIST", "COUNT", "7"]).await;
    assert_eq!(lists, ["agg:list"]);
    let zsets = scan_all(&mut con, &["match", "agg:*", "type", "zset"]).await;
    assert_eq!(zsets, ["agg:zset"]);
    assert!(scan_all(&mut con, &["TYPE", "nosuchtype"]).await.is_empty());
    // One call with a large COUNT finishes the iteration.
    let (next, batch): (String, Vec<String>) = q(&mut con, &["SCAN", "0", "COUNT", "100000"]).await;
    assert_eq!((next.as_str(), batch.len()), ("0", 304));
    // A small COUNT returns a partial batch and a cursor to continue from.
    let (next, batch): (String, Vec<String>) = q(&mut con, &["SCAN", "0", "COUNT", "5"]).await;
    assert_ne!(next, "0");
    assert!(!batch.is_empty() && batch.len() <= 10, "{}", batch.len());
    // A cursor past the end ends the scan.
    expect(
        &mut raw,
        &["SCAN", "18446744073709551615"],
        "*2\r\n$1\r\n0\r\n*0\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["SCAN", "-1", "MATCH", "none"],
        "*2\r\n$1\r\n0\r\n*0\r\n",
    )
    .await;
}

#[tokio::test]
async fn scan_errors() {
    let (_engine, _con, mut raw) = setup().await;
    for bad in ["x", "1.5", " 1", "18446744073709551616", "-"] {
        expect(&mut raw, &["SCAN", bad], "-ERR invalid cursor\r\n").await;
    }
    expect(
        &mut raw,
        &["SCAN", "0", "COUNT", "0"],
        "-ERR syntax error\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["SCAN", "0", "COUNT", "-5"],
        "-ERR syntax error\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["SCAN", "0", "COUNT", "many"],
        "-ERR value is not an integer or out of range\r\n",
    )
    .await;
    expect(&mut raw, &["SCAN", "0", "MATCH"], "-ERR syntax error\r\n").await;
    expect(
        &mut raw,
        &["SCAN", "0", "FOO", "bar"],
        "-ERR syntax error\r\n",
    )
    .await;
    expect(&mut raw, &["SCAN", "x", "FOO"], "-ERR invalid cursor\r\n").await;
    expect(
        &mut raw,
        &["SCAN"],
        "-ERR wrong number of arguments for 'scan' command\r\n",
    )
    .await;
}

/// Keys present for the whole scan are all returned, while another client adds
/// and deletes other keys between the calls.
#[tokio::test]
async fn scan_under_churn_returns_every_stable_key() {
    let (engine, mut con, _raw) = setup().await;
    for i in 0..2_000 {
        let _: () = q(&mut con, &["SET", &format!("stable:{i}"), "v"]).await;
    }
    let mut churn = engine.conn().await;
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        let (next, batch): (String, Vec<String>) =
            q(&mut con, &["SCAN", &cursor, "COUNT", "25"]).await;
        seen.extend(batch);
        for j in 0..30 {
            let _: () = q(&mut churn, &["SET", &format!("churn:{round}:{j}"), "v"]).await;
        }
        if round > 0 {
            for j in 0..30 {
                let _: () = q(&mut churn, &["DEL", &format!("churn:{}:{j}", round - 1)]).await;
            }
        }
        round += 1;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    for i in 0..2_000 {
        assert!(seen.contains(&format!("stable:{i}")), "stable:{i} missed");
    }
}

/// Lists are left out: Redis 7.0 reports every list as "quicklist", which is the
/// list family's to match.
#[tokio::test]
async fn object_encoding_follows_the_value() {
    let (_engine, mut con, mut raw) = setup().await;
    let long = "x".repeat(45);
    let _: () = q(
        &mut con,
        &["MSET", "int", "12345", "emb", "hello", "raw", &long],
    )
    .await;
    aggregates(&mut con, "small:", 3).await;
    aggregates(&mut con, "big:", 600).await;
    let _: () = q(&mut con, &["SADD", "ints", "1", "2", "3"]).await;
    for (key, encoding) in [
        ("int", "int"),
        ("emb", "embstr"),
        ("raw", "raw"),
        ("ints", "intset"),
        ("small:set", "hashtable"),
        ("small:hash", "listpack"),
        ("big:hash", "hashtable"),
        ("small:zset", "listpack"),
        ("big:zset", "skiplist"),
    ] {
        expect(
            &mut raw,
            &["OBJECT", "ENCODING", key],
            &format!("${}\r\n{encoding}\r\n", encoding.len()),
        )
        .await;
    }
    expect(&mut raw, &["OBJECT", "encoding", "missing"], "$-1\r\n").await;
}

#[tokio::test]
async fn object_refcount_idletime_freq() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(
        &mut con,
        &["MSET", "shared", "42", "big", "123456", "s", "text"],
    )
    .await;
    expect(
        &mut raw,
        &["OBJECT", "REFCOUNT", "shared"],
        ":2147483647\r\n",
    )
    .await;
    expect(&mut raw, &["OBJECT", "REFCOUNT", "big"], ":1\r\n").await;
    expect(&mut raw, &["OBJECT", "REFCOUNT", "s"], ":1\r\n").await;
    expect(&mut raw, &["OBJECT", "REFCOUNT", "missing"], "$-1\r\n").await;
    expect(&mut raw, &["OBJECT", "IDLETIME", "s"], ":0\r\n").await;
    expect(&mut raw, &["OBJECT", "IDLETIME", "missing"], "$-1\r\n").await;
    expect(
        &mut raw,
        &["OBJECT", "FREQ", "s"],
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n",
    )
    .await;
    expect(&mut raw, &["OBJECT", "FREQ", "missing"], "$-1\r\n").await;
}

#[tokio::test]
async fn object_idletime_grows_until_the_key_is_read() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["SET", "k", "v"]).await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    // Introspection does not reset it.
    let _: String = q(&mut con, &["TYPE", "k"]).await;
    let _: i64 = q(&mut con, &["TTL", "k"]).await;
    let idle: i64 = q(&mut con, &["OBJECT", "IDLETIME", "k"]).await;
    assert!((2..=3).contains(&idle), "{idle}");
    let _: String = q(&mut con, &["GET", "k"]).await;
    expect(&mut raw, &["OBJECT", "IDLETIME", "k"], ":0\r\n").await;
}

#[tokio::test]
async fn object_help_and_errors() {
    let (_engine, mut con, mut raw) = setup().await;
    let help: Vec<String> = q(&mut con, &["OBJECT", "HELP"]).await;
    assert_eq!(help.len(), 15);
    assert_eq!(
        help[0],
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(help[14], "    Prints this help.");
    raw.send(&cmd(&["OBJECT", "help"])).await;
    let reply = raw.read_exact_len(6).await;
    assert_eq!(&reply, b"*15\r\n+");
    // Drain the rest of the help before the next exchange.
    let rest: usize = help.iter().map(|l| l.len() + 3).sum::<usize>() - 1;
    raw.read_exact_len(rest).await;
    expect(
        &mut raw,
        &["OBJECT", "foo"],
        "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["OBJECT", "encoding"],
        "-ERR wrong number of arguments for 'object|encoding' command\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["OBJECT", "help", "x"],
        "-ERR wrong number of arguments for 'object|help' command\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["OBJECT", "refcount", "a", "b"],
        "-ERR wrong number of arguments for 'object|refcount' command\r\n",
    )
    .await;
    expect(
        &mut raw,
        &["OBJECT"],
        "-ERR wrong number of arguments for 'object' command\r\n",
    )
    .await;
}

#[tokio::test]
async fn object_nil_is_resp3_null() {
    let (_engine, _con, mut raw) = setup().await;
    raw.send(&cmd(&["HELLO", "3"])).await;
    // Skip HELLO's map: read until the engine answers the next request.
    raw.send(&cmd(&["OBJECT", "ENCODING", "missing"])).await;
    raw.send(&cmd(&["PING", "end"])).await;
    let mut got = Vec::new();
    while !got.ends_with(b"$3\r\nend\r\n") {
        got.extend(raw.read_exact_len(1).await);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.ends_with("_\r\n$3\r\nend\r\n"), "{text}");
}

#[tokio::test]
async fn wrong_arity_of_generic_commands() {
    let (_engine, _con, mut raw) = setup().await;
    for (args, name) in [
        (&["UNLINK"][..], "unlink"),
        (&["EXISTS"], "exists"),
        (&["TYPE"], "type"),
        (&["TYPE", "a", "b"], "type"),
        (&["TOUCH"], "touch"),
        (&["RENAME", "a"], "rename"),
        (&["RENAMENX", "a", "b", "c"], "renamenx"),
    ] {
        expect(
            &mut raw,
            args,
            &format!("-ERR wrong number of arguments for '{name}' command\r\n"),
        )
        .await;
    }
}

#[tokio::test]
async fn dump_and_restore_round_trip_and_refuse_bad_input() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["RPUSH", "l", "a", "b", "c"]).await;
    let payload: Vec<u8> = redis::cmd("DUMP")
        .arg("l")
        .query_async(&mut con)
        .await
        .unwrap();
    expect(&mut raw, &["DUMP", "missing"], "$-1\r\n").await;

    let restore = |key: &str, ttl: &str, payload: &[u8], opts: &[&str]| {
        let mut c = redis::cmd("RESTORE");
        c.arg(key).arg(ttl).arg(payload).arg(opts);
        c
    };
    let err = |result: redis::RedisResult<()>| result.unwrap_err().to_string();
    let busy = restore("l", "0", &payload, &[])
        .query_async::<()>(&mut con)
        .await;
    assert!(
        err(busy).contains("BUSYKEY"),
        "an existing key needs REPLACE"
    );
    let () = restore("l", "0", &payload, &["REPLACE"])
        .query_async(&mut con)
        .await
        .unwrap();
    let () = restore("copy", "5000", &payload, &[])
        .query_async(&mut con)
        .await
        .unwrap();
    let items: Vec<String> = q(&mut con, &["LRANGE", "copy", "0", "-1"]).await;
    assert_eq!(items, ["a", "b", "c"]);
    let pttl: i64 = q(&mut con, &["PTTL", "copy"]).await;
    assert!((1..=5000).contains(&pttl), "{pttl}");

    // An absolute time already past restores nothing, and REPLACE still deletes.
    let () = restore("copy", "1", &payload, &["REPLACE", "ABSTTL"])
        .query_async(&mut con)
        .await
        .unwrap();
    let exists: i64 = q(&mut con, &["EXISTS", "copy"]).await;
    assert_eq!(exists, 0);
    let () = restore("idle", "0", &payload, &["IDLETIME", "1000"])
        .query_async(&mut con)
        .await
        .unwrap();
    let idle: i64 = q(&mut con, &["OBJECT", "IDLETIME", "idle"]).await;
    assert!(idle >= 1000, "IDLETIME sets the access time: {idle}");

    let mut damaged = payload.clone();
    damaged[3] ^= 0x20;
    let cases: [(&str, &[u8], &[&str], &str); 8] = [
        ("-1", &payload, &[], "Invalid TTL value, must be >= 0"),
        ("x", &payload, &[], "not an integer"),
        (
            "0",
            &damaged,
            &[],
            "DUMP payload version or checksum are wrong",
        ),
        (
            "0",
            b"short",
            &[],
            "DUMP payload version or checksum are wrong",
        ),
        ("0", &payload, &["FREQ", "256"], "Invalid FREQ value"),
        ("0", &payload, &["IDLETIME", "-1"], "Invalid IDLETIME value"),
        (
            "0",
            &payload,
            &["IDLETIME", "1", "FREQ", "1"],
            "syntax error",
        ),
        ("0", &payload, &["NOPE"], "syntax error"),
    ];
    for (ttl, bytes, opts, text) in cases {
        let got = err(restore("new", ttl, bytes, opts).query_async(&mut con).await);
        assert!(got.contains(text), "RESTORE new {ttl} {opts:?}: {got}");
    }
    let exists: i64 = q(&mut con, &["EXISTS", "new"]).await;
    assert_eq!(exists, 0, "a refused RESTORE writes nothing");
}
