//! The set family of the bundled engine, over the wire: SADD…SSCAN, the algebra
//! and its STORE forms, errors with Redis 7.0's exact texts, RESP3 reply types,
//! encodings at the thresholds, and SSCAN's guarantee under churn.

#[path = "engine_set/encodings_and_replies.rs"]
mod encodings_and_replies;
#[path = "engine_set/picks_and_scans.rs"]
mod picks_and_scans;
mod support;

use redis::aio::MultiplexedConnection;
use redis::{FromRedisValue, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use support::{cmd, Engine, Raw};

/// Runs a command that must succeed.
async fn q<T: FromRedisValue>(con: &mut MultiplexedConnection, args: &[&str]) -> T {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query_async(con)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// A reply of members as a sorted set, for order-free comparisons.
async fn members(con: &mut MultiplexedConnection, args: &[&str]) -> BTreeSet<String> {
    let got: Vec<String> = q(con, args).await;
    let set: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(set.len(), got.len(), "{args:?} replied a member twice");
    set
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Asserts the exact error reply of a command.
async fn err(raw: &mut Raw, args: &[&str], text: &str) {
    raw.roundtrip(&cmd(args), format!("-{text}\r\n").as_bytes())
        .await;
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// OBJECT ENCODING if the engine has it; otherwise what SSCAN shows of it: an
/// intset (≥ 2 members) comes whole in one call even with COUNT 1.
async fn encoding(con: &mut MultiplexedConnection, key: &str) -> String {
    let mut c = redis::cmd("OBJECT");
    c.arg("ENCODING").arg(key);
    match c.query_async::<String>(con).await {
        Ok(encoding) => encoding,
        Err(e) if e.to_string().contains("unknown command") => {
            let len: usize = q(con, &["SCARD", key]).await;
            assert!(len >= 2, "scan tells encodings apart from 2 members on");
            let (cursor, items): (String, Vec<String>) =
                q(con, &["SSCAN", key, "0", "COUNT", "1"]).await;
            let whole = cursor == "0" && items.len() == len;
            (if whole { "intset" } else { "hashtable" }).to_string()
        }
        Err(e) => panic!("OBJECT ENCODING: {e}"),
    }
}

#[tokio::test]
async fn add_remove_and_test_members() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(
        q::<i64>(&mut con, &["SADD", "s", "3", "1", "2", "3"]).await,
        3
    );
    assert_eq!(q::<i64>(&mut con, &["SADD", "s", "1", "-5"]).await, 1);
    // An intset replies in ascending order, as Redis's.
    assert_eq!(
        q::<Vec<String>>(&mut con, &["SMEMBERS", "s"]).await,
        ["-5", "1", "2", "3"]
    );
    assert_eq!(q::<i64>(&mut con, &["SCARD", "s"]).await, 4);
    assert_eq!(q::<i64>(&mut con, &["SCARD", "nokey"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", "s", "2"]).await, 1);
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", "s", "02"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", "nokey", "2"]).await, 0);
    let got: Vec<i64> = q(&mut con, &["SMISMEMBER", "s", "1", "9", "-5"]).await;
    assert_eq!(got, [1, 0, 1]);
    let got: Vec<i64> = q(&mut con, &["SMISMEMBER", "nokey", "1", "2"]).await;
    assert_eq!(got, [0, 0]);
    assert_eq!(q::<i64>(&mut con, &["SADD", "s", "a", ""]).await, 2);
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", "s", ""]).await, 1);
    assert_eq!(
        q::<i64>(&mut con, &["SREM", "s", "1", "zz", "a", "1"]).await,
        2
    );
    assert_eq!(q::<i64>(&mut con, &["SREM", "nokey", "1"]).await, 0);
    assert_eq!(
        members(&mut con, &["SMEMBERS", "s"]).await,
        set_of(&["-5", "2", "3", ""])
    );
    assert!(q::<Vec<String>>(&mut con, &["SMEMBERS", "nokey"])
        .await
        .is_empty());
}

#[tokio::test]
async fn removing_the_last_member_deletes_the_key() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    for (key, member) in [("ints", "1"), ("strs", "a")] {
        q::<i64>(&mut con, &["SADD", key, member]).await;
        assert_eq!(q::<i64>(&mut con, &["SREM", key, member]).await, 1);
        // The key is gone: it can be reused as a hash.
        assert_eq!(q::<i64>(&mut con, &["HSET", key, "f", "v"]).await, 1);
    }
}

#[tokio::test]
async fn wrongtype_for_every_command() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(&cmd(&["HSET", "h", "f", "v"]), b":1\r\n")
        .await;
    raw.roundtrip(&cmd(&["SADD", "s", "m"]), b":1\r\n").await;
    raw.roundtrip(&cmd(&["SET", "str", "v"]), b"+OK\r\n").await;
    let commands: &[&[&str]] = &[
        &["SADD", "h", "m"],
        &["SREM", "h", "m"],
        &["SMEMBERS", "h"],
        &["SISMEMBER", "h", "m"],
        &["SMISMEMBER", "h", "m"],
        &["SCARD", "h"],
        &["SPOP", "h"],
        &["SPOP", "h", "0"],
        &["SRANDMEMBER", "h"],
        &["SRANDMEMBER", "h", "0"],
        &["SSCAN", "h", "0"],
        &["SMOVE", "h", "s", "m"],
        &["SMOVE", "s", "h", "m"],
        &["SINTER", "s", "h"],
        &["SINTER", "nokey", "h"],
        &["SUNION", "nokey", "h"],
        &["SDIFF", "nokey", "h"],
        &["SDIFF", "s", "h"],
        &["SINTERCARD", "2", "nokey", "h"],
        &["SINTERSTORE", "d", "nokey", "h"],
        &["SUNIONSTORE", "d", "s", "h"],
        &["SDIFFSTORE", "d", "s", "h"],
    ];
    for key in ["h", "str"] {
        for args in commands {
            let args: Vec<&str> = args
                .iter()
                .map(|&a| if a == "h" { key } else { a })
                .collect();
            err(&mut raw, &args, WRONGTYPE).await;
        }
    }
    raw.roundtrip(&cmd(&["SMEMBERS", "s"]), b"*1\r\n$1\r\nm\r\n")
        .await;
    raw.roundtrip(&cmd(&["SCARD", "d"]), b":0\r\n").await;
}

#[tokio::test]
async fn smove() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut raw = Raw::connect(engine.addr).await;
    q::<i64>(&mut con, &["SADD", "src", "a", "b", "1"]).await;
    q::<i64>(&mut con, &["HSET", "h", "f", "v"]).await;
    assert_eq!(
        q::<i64>(&mut con, &["SMOVE", "src", "dst", "a"]).await,
        1,
        "dst created"
    );
    assert_eq!(
        q::<i64>(&mut con, &["SMOVE", "src", "dst", "a"]).await,
        0,
        "no longer in src"
    );
    assert_eq!(
        q::<i64>(&mut con, &["SMOVE", "src", "src", "b"]).await,
        1,
        "same set holding it"
    );
    assert_eq!(q::<i64>(&mut con, &["SMOVE", "src", "src", "zz"]).await, 0);
    q::<i64>(&mut con, &["SADD", "dst", "b"]).await;
    assert_eq!(
        q::<i64>(&mut con, &["SMOVE", "src", "dst", "b"]).await,
        1,
        "already in dst"
    );
    assert_eq!(
        members(&mut con, &["SMEMBERS", "src"]).await,
        set_of(&["1"])
    );
    assert_eq!(
        members(&mut con, &["SMEMBERS", "dst"]).await,
        set_of(&["a", "b"])
    );
    // A missing source answers 0 before the destination's type is checked.
    assert_eq!(q::<i64>(&mut con, &["SMOVE", "nokey", "h", "a"]).await, 0);
    err(&mut raw, &["SMOVE", "src", "h", "zz"], WRONGTYPE).await;
    assert_eq!(q::<i64>(&mut con, &["SMOVE", "src", "ints", "1"]).await, 1);
    q::<i64>(&mut con, &["SADD", "ints", "2"]).await;
    assert_eq!(
        encoding(&mut con, "ints").await,
        "intset",
        "SMOVE creates dst as SADD would"
    );
    // The source went with its last member.
    assert_eq!(q::<i64>(&mut con, &["HSET", "src", "f", "v"]).await, 1);
}

#[tokio::test]
async fn intersection_union_difference() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    q::<i64>(&mut con, &["SADD", "a", "1", "2", "3", "4"]).await; // intset
    q::<i64>(&mut con, &["SADD", "b", "3", "4", "5", "x"]).await; // table
    q::<i64>(&mut con, &["SADD", "c", "4", "x", "y"]).await;
    let cases: &[(&[&str], &[&str])] = &[
        (&["SINTER", "a", "b"], &["3", "4"]),
        (&["SINTER", "a", "b", "c"], &["4"]),
        (&["SINTER", "b", "c"], &["4", "x"]),
        (&["SINTER", "a"], &["1", "2", "3", "4"]),
        (&["SINTER", "a", "nokey"], &[]),
        (&["SINTER", "a", "a"], &["1", "2", "3", "4"]),
        (&["SUNION", "a", "b"], &["1", "2", "3", "4", "5", "x"]),
        (
            &["SUNION", "a", "nokey", "c"],
            &["1", "2", "3", "4", "x", "y"],
        ),
        (&["SUNION", "nokey"], &[]),
        (&["SDIFF", "a", "b"], &["1", "2"]),
        (&["SDIFF", "b", "a"], &["5", "x"]),
        (&["SDIFF", "b", "a", "c"], &["5"]),
        (&["SDIFF", "a", "nokey"], &["1", "2", "3", "4"]),
        (&["SDIFF", "nokey", "a"], &[]),
        (&["SDIFF", "a", "a"], &[]),
    ];
    for (args, want) in cases {
        assert_eq!(members(&mut con, args).await, set_of(want), "{args:?}");
    }
}

#[tokio::test]
async fn difference_against_many_sources() {
    // Many sources make the engine remove their members from a copy of the first.
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    q::<i64>(&mut con, &["SADD", "first", "a", "b", "c", "7"]).await;
    let mut args = vec!["SDIFF".to_string(), "first".into()];
    for i in 0..50 {
        let key = format!("src{i}");
        q::<i64>(&mut con, &["SADD", &key, &format!("other{i}"), "7"]).await;
        args.push(key);
    }
    q::<i64>(&mut con, &["SADD", "src0", "b"]).await;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(members(&mut con, &args).await, set_of(&["a", "c"]));
}

#[tokio::test]
async fn store_forms() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    q::<i64>(&mut con, &["SADD", "a", "1", "2", "3"]).await;
    q::<i64>(&mut con, &["SADD", "b", "2", "3", "x"]).await;
    assert_eq!(q::<i64>(&mut con, &["SINTERSTORE", "d", "a", "b"]).await, 2);
    assert_eq!(
        members(&mut con, &["SMEMBERS", "d"]).await,
        set_of(&["2", "3"])
    );
    assert_eq!(
        encoding(&mut con, "d").await,
        "intset",
        "an all-integer result, from a table source"
    );
    assert_eq!(q::<i64>(&mut con, &["SUNIONSTORE", "d", "a", "b"]).await, 4);
    assert_eq!(
        members(&mut con, &["SMEMBERS", "d"]).await,
        set_of(&["1", "2", "3", "x"])
    );
    assert_eq!(q::<i64>(&mut con, &["SDIFFSTORE", "d", "a", "b"]).await, 1);
    assert_eq!(members(&mut con, &["SMEMBERS", "d"]).await, set_of(&["1"]));
    // The destination may be a source.
    assert_eq!(q::<i64>(&mut con, &["SUNIONSTORE", "a", "a", "b"]).await, 4);
    assert_eq!(
        members(&mut con, &["SMEMBERS", "a"]).await,
        set_of(&["1", "2", "3", "x"])
    );
    // An empty result deletes the destination.
    assert_eq!(
        q::<i64>(&mut con, &["SINTERSTORE", "d", "a", "nokey"]).await,
        0
    );
    assert_eq!(
        q::<i64>(&mut con, &["HSET", "d", "f", "v"]).await,
        1,
        "d was deleted"
    );
    // A destination of another type is overwritten, as Redis does.
    assert_eq!(q::<i64>(&mut con, &["SDIFFSTORE", "d", "a", "b"]).await, 1);
    assert_eq!(members(&mut con, &["SMEMBERS", "d"]).await, set_of(&["1"]));
    assert_eq!(q::<String>(&mut con, &["SET", "str", "v"]).await, "OK");
    assert_eq!(
        q::<i64>(&mut con, &["SINTERSTORE", "str", "a", "b"]).await,
        3
    );
    assert_eq!(
        members(&mut con, &["SMEMBERS", "str"]).await,
        set_of(&["2", "3", "x"])
    );
    assert_eq!(q::<i64>(&mut con, &["SUNIONSTORE", "e", "nokey"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["SCARD", "e"]).await, 0);
}

/// The stored result replaces the destination's TTL too (Redis's `setKey`).
/// The engine's clock is the wall clock, so this waits for a 50 ms TTL to pass.
#[tokio::test]
async fn store_drops_the_destination_ttl() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    q::<i64>(&mut con, &["SADD", "a", "1", "x"]).await;
    q::<String>(&mut con, &["SET", "control", "v", "PX", "50"]).await;
    q::<String>(&mut con, &["SET", "d", "v", "PX", "50"]).await;
    assert_eq!(q::<i64>(&mut con, &["SUNIONSTORE", "d", "a"]).await, 2);
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(
        q::<Option<String>>(&mut con, &["GET", "control"]).await,
        None,
        "50 ms passed"
    );
    assert_eq!(q::<i64>(&mut con, &["SCARD", "d"]).await, 2);
}

#[tokio::test]
async fn sintercard() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut raw = Raw::connect(engine.addr).await;
    q::<i64>(&mut con, &["SADD", "a", "1", "2", "3", "x"]).await;
    q::<i64>(&mut con, &["SADD", "b", "2", "3", "x", "y"]).await;
    assert_eq!(q::<i64>(&mut con, &["SINTERCARD", "2", "a", "b"]).await, 3);
    assert_eq!(q::<i64>(&mut con, &["SINTERCARD", "1", "a"]).await, 4);
    assert_eq!(
        q::<i64>(&mut con, &["SINTERCARD", "2", "a", "b", "LIMIT", "2"]).await,
        2
    );
    assert_eq!(
        q::<i64>(&mut con, &["SINTERCARD", "2", "a", "b", "limit", "0"]).await,
        3
    );
    assert_eq!(
        q::<i64>(&mut con, &["SINTERCARD", "2", "a", "b", "LIMIT", "9"]).await,
        3
    );
    assert_eq!(
        q::<i64>(
            &mut con,
            &["SINTERCARD", "1", "a", "LIMIT", "3", "LIMIT", "1"]
        )
        .await,
        1
    );
    assert_eq!(
        q::<i64>(&mut con, &["SINTERCARD", "2", "a", "nokey"]).await,
        0
    );
    for numkeys in ["0", "-1", "x"] {
        err(
            &mut raw,
            &["SINTERCARD", numkeys, "a"],
            "ERR numkeys should be greater than 0",
        )
        .await;
    }
    let too_many = "ERR Number of keys can't be greater than number of args";
    err(&mut raw, &["SINTERCARD", "2", "a"], too_many).await;
    err(
        &mut raw,
        &["SINTERCARD", "9223372036854775807", "a"],
        too_many,
    )
    .await;
    for limit in ["-1", "x"] {
        err(
            &mut raw,
            &["SINTERCARD", "1", "a", "LIMIT", limit],
            "ERR LIMIT can't be negative",
        )
        .await;
    }
    err(
        &mut raw,
        &["SINTERCARD", "1", "a", "LIMIT"],
        "ERR syntax error",
    )
    .await;
    err(&mut raw, &["SINTERCARD", "1", "a", "b"], "ERR syntax error").await;
}
