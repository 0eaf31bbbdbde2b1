//! The hash family of the bundled engine, over the wire: HSET…HSCAN, their
//! errors with Redis 7.0's exact texts, RESP3 reply types, encodings at the
//! thresholds, and HSCAN's guarantee under churn.

#[path = "engine_hash/encodings_and_replies.rs"]
mod encodings_and_replies;
#[path = "engine_hash/picks_and_scans.rs"]
mod picks_and_scans;
mod support;

use redis::aio::MultiplexedConnection;
use redis::{FromRedisValue, Value};
use std::collections::{HashMap, HashSet};
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

/// Asserts the exact error reply of a command.
async fn err(raw: &mut Raw, args: &[&str], text: &str) {
    raw.roundtrip(&cmd(args), format!("-{text}\r\n").as_bytes())
        .await;
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// OBJECT ENCODING if the engine has it; otherwise what HSCAN shows of it: a
/// listpack (≥ 2 fields) comes whole in one call even with COUNT 1.
async fn encoding(con: &mut MultiplexedConnection, key: &str) -> String {
    let mut c = redis::cmd("OBJECT");
    c.arg("ENCODING").arg(key);
    match c.query_async::<String>(con).await {
        Ok(encoding) => encoding,
        Err(e) if e.to_string().contains("unknown command") => {
            let len: usize = q(con, &["HLEN", key]).await;
            assert!(len >= 2, "scan tells encodings apart from 2 fields on");
            let (cursor, items): (String, Vec<String>) =
                q(con, &["HSCAN", key, "0", "COUNT", "1"]).await;
            let whole = cursor == "0" && items.len() == 2 * len;
            (if whole { "listpack" } else { "hashtable" }).to_string()
        }
        Err(e) => panic!("OBJECT ENCODING: {e}"),
    }
}

#[tokio::test]
async fn set_get_and_count_fields() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(
        q::<i64>(&mut con, &["HSET", "h", "b", "1", "a", "2"]).await,
        2
    );
    assert_eq!(
        q::<i64>(&mut con, &["HSET", "h", "b", "3", "c", "4"]).await,
        1,
        "b only updated"
    );
    assert_eq!(q::<String>(&mut con, &["HMSET", "h", "d", "5"]).await, "OK");
    assert_eq!(q::<i64>(&mut con, &["HSETNX", "h", "d", "6"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["HSETNX", "h", "e", ""]).await, 1);
    assert_eq!(
        q::<Option<String>>(&mut con, &["HGET", "h", "b"])
            .await
            .as_deref(),
        Some("3")
    );
    assert_eq!(
        q::<Option<String>>(&mut con, &["HGET", "h", "d"])
            .await
            .as_deref(),
        Some("5")
    );
    assert_eq!(
        q::<Option<String>>(&mut con, &["HGET", "h", "zz"]).await,
        None
    );
    assert_eq!(
        q::<Option<String>>(&mut con, &["HGET", "nokey", "b"]).await,
        None
    );
    let got: Vec<Option<String>> = q(&mut con, &["HMGET", "h", "a", "zz", "e"]).await;
    assert_eq!(got, [Some("2".into()), None, Some("".into())]);
    let got: Vec<Option<String>> = q(&mut con, &["HMGET", "nokey", "a", "b"]).await;
    assert_eq!(got, [None, None]);
    assert_eq!(q::<i64>(&mut con, &["HLEN", "h"]).await, 5);
    assert_eq!(q::<i64>(&mut con, &["HLEN", "nokey"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["HEXISTS", "h", "a"]).await, 1);
    assert_eq!(q::<i64>(&mut con, &["HEXISTS", "h", "zz"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["HEXISTS", "nokey", "a"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["HSTRLEN", "h", "c"]).await, 1);
    assert_eq!(q::<i64>(&mut con, &["HSTRLEN", "h", "e"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["HSTRLEN", "h", "zz"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["HSTRLEN", "nokey", "zz"]).await, 0);
    // A listpack replies in insertion order, as Redis's.
    assert_eq!(
        q::<Vec<String>>(&mut con, &["HKEYS", "h"]).await,
        ["b", "a", "c", "d", "e"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut con, &["HVALS", "h"]).await,
        ["3", "2", "4", "5", ""]
    );
    let all: Vec<String> = q(&mut con, &["HGETALL", "h"]).await;
    assert_eq!(all, ["b", "3", "a", "2", "c", "4", "d", "5", "e", ""]);
    assert!(q::<Vec<String>>(&mut con, &["HKEYS", "nokey"])
        .await
        .is_empty());
    assert!(q::<Vec<String>>(&mut con, &["HVALS", "nokey"])
        .await
        .is_empty());
    assert!(q::<Vec<String>>(&mut con, &["HGETALL", "nokey"])
        .await
        .is_empty());
}

#[tokio::test]
async fn binary_fields_and_values() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let field = b"f\x00\r\n\xff".to_vec();
    let value = vec![0u8, 1, 2, 255, b'\n'];
    let added: i64 = redis::cmd("HSET")
        .arg("h")
        .arg(&field)
        .arg(&value)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(added, 1);
    let got: Vec<u8> = redis::cmd("HGET")
        .arg("h")
        .arg(&field)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(got, value);
}

#[tokio::test]
async fn argument_errors() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    err(
        &mut raw,
        &["HSET", "h", "f", "v", "g"],
        "ERR wrong number of arguments for 'hset' command",
    )
    .await;
    err(
        &mut raw,
        &["hmset", "h", "f", "v", "g"],
        "ERR wrong number of arguments for 'hmset' command",
    )
    .await;
    err(
        &mut raw,
        &["HSET", "h", "f"],
        "ERR wrong number of arguments for 'hset' command",
    )
    .await;
    err(
        &mut raw,
        &["HGET", "h"],
        "ERR wrong number of arguments for 'hget' command",
    )
    .await;
    err(
        &mut raw,
        &["HDEL", "h"],
        "ERR wrong number of arguments for 'hdel' command",
    )
    .await;
    // Nothing was created by the failed commands.
    raw.roundtrip(&cmd(&["HLEN", "h"]), b":0\r\n").await;
}

#[tokio::test]
async fn wrongtype_for_every_command() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(&cmd(&["SADD", "s", "m"]), b":1\r\n").await;
    raw.roundtrip(&cmd(&["SET", "str", "v"]), b"+OK\r\n").await;
    let commands: &[&[&str]] = &[
        &["HSET", "s", "f", "v"],
        &["HMSET", "s", "f", "v"],
        &["HSETNX", "s", "f", "v"],
        &["HGET", "s", "f"],
        &["HMGET", "s", "f"],
        &["HGETALL", "s"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HLEN", "s"],
        &["HEXISTS", "s", "f"],
        &["HSTRLEN", "s", "f"],
        &["HDEL", "s", "f"],
        &["HINCRBY", "s", "f", "1"],
        &["HINCRBYFLOAT", "s", "f", "1"],
        &["HSCAN", "s", "0"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "0"],
        &["HRANDFIELD", "s", "-3", "WITHVALUES"],
    ];
    for key in ["s", "str"] {
        for args in commands {
            let args: Vec<&str> = args
                .iter()
                .map(|&a| if a == "s" { key } else { a })
                .collect();
            err(&mut raw, &args, WRONGTYPE).await;
        }
    }
    raw.roundtrip(&cmd(&["SCARD", "s"]), b":1\r\n").await;
    raw.roundtrip(&cmd(&["GET", "str"]), b"$1\r\nv\r\n").await;
}

#[tokio::test]
async fn deleting_the_last_field_deletes_the_key() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    q::<i64>(&mut con, &["HSET", "h", "a", "1", "b", "2"]).await;
    assert_eq!(q::<i64>(&mut con, &["HDEL", "h", "a", "zz", "a"]).await, 1);
    assert_eq!(q::<i64>(&mut con, &["HDEL", "nokey", "a"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["HDEL", "h", "b"]).await, 1);
    // The key is gone: it can be reused as a set.
    assert_eq!(q::<i64>(&mut con, &["SADD", "h", "m"]).await, 1);
    // Also for a hash in the table encoding.
    let mut args = vec!["HSET", "big"];
    let fields: Vec<String> = (0..200).map(|i| format!("f{i}")).collect();
    for f in &fields {
        args.extend([f.as_str(), "v"]);
    }
    assert_eq!(q::<i64>(&mut con, &args).await, 200);
    let mut del = vec!["HDEL", "big"];
    del.extend(fields.iter().map(String::as_str));
    assert_eq!(q::<i64>(&mut con, &del).await, 200);
    assert_eq!(q::<i64>(&mut con, &["SADD", "big", "m"]).await, 1);
}

#[tokio::test]
async fn hincrby() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut raw = Raw::connect(engine.addr).await;
    assert_eq!(
        q::<i64>(&mut con, &["HINCRBY", "h", "n", "5"]).await,
        5,
        "created from 0"
    );
    assert_eq!(q::<i64>(&mut con, &["HINCRBY", "h", "n", "-7"]).await, -2);
    assert_eq!(q::<String>(&mut con, &["HGET", "h", "n"]).await, "-2");
    q::<i64>(
        &mut con,
        &[
            "HSET",
            "h",
            "max",
            "9223372036854775807",
            "t",
            "x",
            "z",
            "01",
            "s",
            " 1",
        ],
    )
    .await;
    assert_eq!(
        q::<i64>(&mut con, &["HINCRBY", "h", "max", "0"]).await,
        i64::MAX
    );
    err(
        &mut raw,
        &["HINCRBY", "h", "max", "1"],
        "ERR increment or decrement would overflow",
    )
    .await;
    q::<i64>(&mut con, &["HINCRBY", "h", "min", "-9223372036854775808"]).await;
    err(
        &mut raw,
        &["HINCRBY", "h", "min", "-1"],
        "ERR increment or decrement would overflow",
    )
    .await;
    for field in ["t", "z", "s"] {
        err(
            &mut raw,
            &["HINCRBY", "h", field, "1"],
            "ERR hash value is not an integer",
        )
        .await;
    }
    for by in ["x", " 1", "1.5", "9223372036854775808", ""] {
        err(
            &mut raw,
            &["HINCRBY", "h", "n", by],
            "ERR value is not an integer or out of range",
        )
        .await;
    }
    err(
        &mut raw,
        &["HINCRBY", "new", "n", "x"],
        "ERR value is not an integer or out of range",
    )
    .await;
    raw.roundtrip(&cmd(&["HLEN", "new"]), b":0\r\n").await;
}

#[tokio::test]
async fn hincrbyfloat() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut raw = Raw::connect(engine.addr).await;
    q::<i64>(
        &mut con,
        &[
            "HSET", "h", "a", "10.5", "b", "5.0e3", "c", "1", "s", " 1", "i", "inf",
        ],
    )
    .await;
    // Replies checked against redis-server 7.0.
    raw.roundtrip(&cmd(&["HINCRBYFLOAT", "h", "a", "0.1"]), b"$4\r\n10.6\r\n")
        .await;
    raw.roundtrip(&cmd(&["HINCRBYFLOAT", "h", "b", "200"]), b"$4\r\n5200\r\n")
        .await;
    raw.roundtrip(&cmd(&["HINCRBYFLOAT", "h", "c", "1.5"]), b"$3\r\n2.5\r\n")
        .await;
    raw.roundtrip(
        &cmd(&["HINCRBYFLOAT", "h", "new", "-1.25"]),
        b"$5\r\n-1.25\r\n",
    )
    .await;
    raw.roundtrip(&cmd(&["HINCRBYFLOAT", "h", "new", "1.25"]), b"$1\r\n0\r\n")
        .await;
    assert_eq!(
        q::<String>(&mut con, &["HGET", "h", "a"]).await,
        "10.6",
        "stored as replied"
    );
    err(
        &mut raw,
        &["HINCRBYFLOAT", "h", "s", "1"],
        "ERR hash value is not a float",
    )
    .await;
    err(
        &mut raw,
        &["HINCRBYFLOAT", "h", "i", "1"],
        "ERR increment would produce NaN or Infinity",
    )
    .await;
    for by in ["x", "nan", " 1", ""] {
        err(
            &mut raw,
            &["HINCRBYFLOAT", "h", "a", by],
            "ERR value is not a valid float",
        )
        .await;
    }
    for by in ["inf", "-inf"] {
        err(
            &mut raw,
            &["HINCRBYFLOAT", "h", "a", by],
            "ERR value is NaN or Infinity",
        )
        .await;
    }
    err(
        &mut raw,
        &["HINCRBYFLOAT", "new", "f", "x"],
        "ERR value is not a valid float",
    )
    .await;
    raw.roundtrip(&cmd(&["HLEN", "new"]), b":0\r\n").await;
}

/// HINCRBYFLOAT adds in long double as Redis does: 0.1 + 0.2 is "0.3", not f64's
/// "0.30000000000000004".
#[tokio::test]
async fn hincrbyfloat_adds_like_redis() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    let _: i64 = redis::cmd("HSET")
        .arg("h")
        .arg("f")
        .arg("0.1")
        .query_async(&mut con)
        .await
        .unwrap();
    let sum: String = redis::cmd("HINCRBYFLOAT")
        .arg("h")
        .arg("f")
        .arg("0.2")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(sum, "0.3");
}
