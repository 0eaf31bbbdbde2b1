//! The HyperLogLog family against a running engine: PFADD, PFCOUNT (one key,
//! cached; several keys, a union), PFMERGE, their errors, and the estimate's
//! accuracy. Expected values were taken from redis-server 7.0.15.

mod support;

use redis::aio::MultiplexedConnection;
use redis::{FromRedisValue, Value};

async fn query<T: FromRedisValue>(
    con: &mut MultiplexedConnection,
    args: &[&[u8]],
) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("ascii name"));
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(con).await
}

/// Runs a command (arguments as text) and converts its reply.
async fn q<T: FromRedisValue>(con: &mut MultiplexedConnection, args: &[&str]) -> T {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    query(con, &args)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Runs a command that must fail and returns the error as Redis prints it.
async fn err(con: &mut MultiplexedConnection, args: &[&str]) -> String {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let e = query::<Value>(con, &args)
        .await
        .expect_err("an error reply");
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";

#[tokio::test]
async fn pfadd_and_pfcount() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(q::<i64>(&mut con, &["PFADD", "h"]).await, 1, "created");
    assert_eq!(q::<i64>(&mut con, &["PFADD", "h"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["PFADD", "h", "a", "b", "c"]).await, 1);
    assert_eq!(q::<i64>(&mut con, &["PFADD", "h", "a", "b"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["PFCOUNT", "h"]).await, 3);
    assert_eq!(q::<i64>(&mut con, &["PFCOUNT", "missing"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["PFCOUNT", "h", "missing"]).await, 3);
    assert_eq!(
        q::<i64>(&mut con, &["PFCOUNT", "missing", "missing2"]).await,
        0
    );
    let value: Vec<u8> = q(&mut con, &["GET", "h"]).await;
    assert_eq!(
        &value[..5],
        b"HYLL\x01",
        "a sparse HyperLogLog, as Redis stores it"
    );
    q::<()>(&mut con, &["EXPIRE", "h", "100"]).await;
    q::<i64>(&mut con, &["PFADD", "h", "d"]).await;
    assert_eq!(
        q::<i64>(&mut con, &["TTL", "h"]).await,
        100,
        "PFADD keeps the TTL"
    );
}

/// A single-key PFCOUNT stores the computed cardinality in the value's header
/// (bytes 8..16, top bit clear), exactly as redis-server does.
#[tokio::test]
async fn single_key_pfcount_caches_the_cardinality() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    q::<i64>(&mut con, &["PFADD", "h", "a", "b", "c"]).await;
    let before: Vec<u8> = q(&mut con, &["GET", "h"]).await;
    assert_eq!(before[15] & 0x80, 0x80, "stale after PFADD");
    assert_eq!(q::<i64>(&mut con, &["PFCOUNT", "h"]).await, 3);
    let after: Vec<u8> = q(&mut con, &["GET", "h"]).await;
    assert_eq!(&after[8..16], &3u64.to_le_bytes(), "cached");
    assert_eq!(&after[16..], &before[16..], "registers untouched");
    // A union count leaves every value as it was.
    q::<i64>(&mut con, &["PFADD", "g", "x"]).await;
    let g_before: Vec<u8> = q(&mut con, &["GET", "g"]).await;
    assert_eq!(q::<i64>(&mut con, &["PFCOUNT", "g", "h"]).await, 4);
    assert_eq!(q::<Vec<u8>>(&mut con, &["GET", "g"]).await, g_before);
    // Refreshing the cache is a modification: a WATCHing transaction aborts.
    let mut watcher = engine.dedicated().await;
    q::<i64>(&mut con, &["PFADD", "h", "d"]).await;
    redis::cmd("WATCH")
        .arg("h")
        .query_async::<()>(&mut watcher)
        .await
        .unwrap();
    assert_eq!(q::<i64>(&mut con, &["PFCOUNT", "h"]).await, 4);
    redis::cmd("MULTI")
        .query_async::<()>(&mut watcher)
        .await
        .unwrap();
    redis::cmd("PING")
        .query_async::<()>(&mut watcher)
        .await
        .unwrap();
    let exec: Value = redis::cmd("EXEC").query_async(&mut watcher).await.unwrap();
    assert_eq!(exec, Value::Nil);
}

#[tokio::test]
async fn pfmerge_unions() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    q::<i64>(&mut con, &["PFADD", "a", "1", "2", "3"]).await;
    q::<i64>(&mut con, &["PFADD", "b", "3", "4", "5", "6"]).await;
    assert_eq!(
        q::<String>(&mut con, &["PFMERGE", "m", "a", "b", "missing"]).await,
        "OK"
    );
    assert_eq!(q::<i64>(&mut con, &["PFCOUNT", "m"]).await, 6);
    assert_eq!(q::<i64>(&mut con, &["PFCOUNT", "a", "b"]).await, 6);
    q::<i64>(&mut con, &["PFADD", "c", "7"]).await;
    q::<()>(&mut con, &["PFMERGE", "m", "c"]).await;
    assert_eq!(
        q::<i64>(&mut con, &["PFCOUNT", "m"]).await,
        7,
        "the destination's own registers count"
    );
    assert_eq!(q::<String>(&mut con, &["PFMERGE", "empty"]).await, "OK");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "empty"]).await, 1);
    assert_eq!(q::<i64>(&mut con, &["PFCOUNT", "empty"]).await, 0);
    // Merging with a dense source makes the result dense.
    let elements: Vec<String> = (0..5000).map(|i| format!("e{i}")).collect();
    let mut args = vec!["PFADD", "dense"];
    args.extend(elements.iter().map(String::as_str));
    q::<i64>(&mut con, &args).await;
    q::<()>(&mut con, &["PFMERGE", "a", "dense"]).await;
    let merged: Vec<u8> = q(&mut con, &["GET", "a"]).await;
    assert_eq!((merged[4], merged.len()), (0, 16 + 12288));
}

#[tokio::test]
async fn errors() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    q::<()>(&mut con, &["RPUSH", "l", "x"]).await;
    q::<()>(&mut con, &["SET", "s", "hello"]).await;
    q::<()>(&mut con, &["SET", "n", "12"]).await;
    q::<()>(&mut con, &["SET", "short", "HYLL"]).await;
    q::<i64>(&mut con, &["PFADD", "h", "a"]).await;
    for args in [
        &["PFADD", "l", "a"][..],
        &["PFCOUNT", "l"],
        &["PFCOUNT", "h", "l"],
        &["PFMERGE", "l", "h"],
        &["PFMERGE", "h", "l"],
    ] {
        assert_eq!(err(&mut con, args).await, WRONGTYPE, "{args:?}");
    }
    for args in [
        &["PFADD", "s", "a"][..],
        &["PFCOUNT", "s"],
        &["PFCOUNT", "n"],
        &["PFCOUNT", "short"],
        &["PFCOUNT", "h", "s"],
        &["PFMERGE", "s", "h"],
        &["PFMERGE", "h", "s"],
    ] {
        assert_eq!(err(&mut con, args).await, NOT_HLL, "{args:?}");
    }
    assert_eq!(q::<String>(&mut con, &["GET", "s"]).await, "hello");
}

/// The standard error of Redis's HyperLogLog is 0.81%; over 100 000 distinct
/// elements the estimate stays within three of them.
#[tokio::test]
async fn estimate_is_within_three_standard_errors() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    let total = 100_000;
    for batch in 0..(total / 1000) {
        let elements: Vec<String> = (0..1000)
            .map(|i| format!("element:{}", batch * 1000 + i))
            .collect();
        let mut args = vec!["PFADD", "big"];
        args.extend(elements.iter().map(String::as_str));
        q::<i64>(&mut con, &args).await;
    }
    let estimate: i64 = q(&mut con, &["PFCOUNT", "big"]).await;
    let error = (estimate - total).abs() as f64 / total as f64;
    assert!(
        error < 0.0081 * 3.0,
        "estimate {estimate} of {total}: {:.3}% off",
        error * 100.0
    );
    // Adding the same elements again changes nothing.
    assert_eq!(
        q::<i64>(&mut con, &["PFADD", "big", "element:0", "element:99999"]).await,
        0
    );
    assert_eq!(q::<i64>(&mut con, &["PFCOUNT", "big"]).await, estimate);
}
