//! The hash family of the bundled engine, over the wire: HSET…HSCAN, their
//! errors with Redis 7.0's exact texts, RESP3 reply types, encodings at the
//! thresholds, and HSCAN's guarantee under churn.

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
    for args in commands {
        err(&mut raw, args, WRONGTYPE).await;
    }
    raw.roundtrip(&cmd(&["SCARD", "s"]), b":1\r\n").await;
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

#[tokio::test]
async fn hrandfield() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut raw = Raw::connect(engine.addr).await;
    let want: HashMap<String, String> =
        (0..5).map(|i| (format!("f{i}"), format!("v{i}"))).collect();
    for i in 0..5 {
        q::<i64>(&mut con, &["HSET", "h", &format!("f{i}"), &format!("v{i}")]).await;
    }
    let one: String = q(&mut con, &["HRANDFIELD", "h"]).await;
    assert!(want.contains_key(&one));
    let three: Vec<String> = q(&mut con, &["HRANDFIELD", "h", "3"]).await;
    assert_eq!(three.iter().collect::<HashSet<_>>().len(), 3, "distinct");
    let all: Vec<String> = q(&mut con, &["HRANDFIELD", "h", "50"]).await;
    assert_eq!(
        all,
        ["f0", "f1", "f2", "f3", "f4"],
        "a count ≥ HLEN gives the whole hash"
    );
    let repeated: Vec<String> = q(&mut con, &["HRANDFIELD", "h", "-20"]).await;
    assert_eq!(repeated.len(), 20, "exactly |count|, repeats allowed");
    assert!(repeated.iter().all(|f| want.contains_key(f)));
    let pairs: Vec<String> = q(&mut con, &["HRANDFIELD", "h", "-7", "WITHVALUES"]).await;
    assert_eq!(pairs.len(), 14);
    for pair in pairs.chunks(2) {
        assert_eq!(want[&pair[0]], pair[1]);
    }
    let pairs: Vec<String> = q(&mut con, &["HRANDFIELD", "h", "2", "withvalues"]).await;
    assert_eq!(pairs.len(), 4);
    assert!(q::<Vec<String>>(&mut con, &["HRANDFIELD", "h", "0"])
        .await
        .is_empty());
    assert_eq!(
        q::<Option<String>>(&mut con, &["HRANDFIELD", "nokey"]).await,
        None
    );
    assert!(
        q::<Vec<String>>(&mut con, &["HRANDFIELD", "nokey", "-5", "WITHVALUES"])
            .await
            .is_empty()
    );
    // Errors, in Redis's order: count, then option, then the WITHVALUES bound.
    err(
        &mut raw,
        &["HRANDFIELD", "h", "x"],
        "ERR value is not an integer or out of range",
    )
    .await;
    err(
        &mut raw,
        &["HRANDFIELD", "h", "x", "foo"],
        "ERR value is not an integer or out of range",
    )
    .await;
    let min = "-9223372036854775808";
    let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    err(&mut raw, &["HRANDFIELD", "nokey", min], range).await;
    err(
        &mut raw,
        &["HRANDFIELD", "h", "1", "WITHVALUE"],
        "ERR syntax error",
    )
    .await;
    err(
        &mut raw,
        &["HRANDFIELD", "h", "1", "WITHVALUES", "x"],
        "ERR syntax error",
    )
    .await;
    err(
        &mut raw,
        &["HRANDFIELD", "nokey", "-4611686018427387904", "WITHVALUES"],
        "ERR value is out of range",
    )
    .await;
    err(
        &mut raw,
        &["HRANDFIELD", "nokey", "4611686018427387904", "WITHVALUES"],
        "ERR value is out of range",
    )
    .await;
    raw.roundtrip(
        &cmd(&["HRANDFIELD", "nokey", "-4611686018427387903", "WITHVALUES"]),
        b"*0\r\n",
    )
    .await;
    // A huge repeated count is refused rather than built in memory.
    err(
        &mut raw,
        &["HRANDFIELD", "h", "-9223372036854775807"],
        "ERR value is out of range, at most 1048576 repeated picks are served",
    )
    .await;
    raw.roundtrip(
        &cmd(&["HRANDFIELD", "nokey", "-9223372036854775807"]),
        b"*0\r\n",
    )
    .await;
}

#[tokio::test]
async fn hrandfield_is_roughly_uniform_in_both_encodings() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    for (key, n) in [("small", 10), ("large", 300)] {
        for i in 0..n {
            q::<i64>(&mut con, &["HSET", key, &format!("f{i}"), "v"]).await;
        }
        let draws = n * 200;
        let picks: Vec<String> = q(&mut con, &["HRANDFIELD", key, &format!("-{draws}")]).await;
        let mut counts: HashMap<String, usize> = HashMap::new();
        for p in picks {
            *counts.entry(p).or_default() += 1;
        }
        assert_eq!(counts.len(), n, "{key}: every field drawn");
        let (lo, hi) = (
            counts.values().min().unwrap(),
            counts.values().max().unwrap(),
        );
        assert!(
            *lo > 120 && *hi < 300,
            "{key}: counts within [{lo}, {hi}] for 200 expected"
        );
    }
    assert_eq!(encoding(&mut con, "small").await, "listpack");
    assert_eq!(encoding(&mut con, "large").await, "hashtable");
}

#[tokio::test]
async fn hscan_options_and_errors() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut raw = Raw::connect(engine.addr).await;
    q::<i64>(
        &mut con,
        &["HSET", "h", "apple", "1", "avocado", "2", "banana", "3"],
    )
    .await;
    let (cursor, items): (String, Vec<String>) =
        q(&mut con, &["HSCAN", "h", "0", "COUNT", "1"]).await;
    assert_eq!(
        (cursor.as_str(), items.len()),
        ("0", 6),
        "a listpack comes whole"
    );
    let (_, items): (String, Vec<String>) = q(&mut con, &["HSCAN", "h", "0", "MATCH", "a*"]).await;
    assert_eq!(items, ["apple", "1", "avocado", "2"]);
    let (_, items): (String, Vec<String>) = q(
        &mut con,
        &["HSCAN", "h", "0", "match", "x", "count", "5", "MATCH", "b*"],
    )
    .await;
    assert_eq!(items, ["banana", "3"], "the last MATCH wins");
    // strtoul cursors: "", "+0", "-1" are all valid.
    for cursor in ["", "+0", "-1", "18446744073709551615"] {
        let (next, _): (String, Vec<String>) = q(&mut con, &["HSCAN", "h", cursor]).await;
        assert_eq!(next, "0");
    }
    for cursor in ["x", " 0", "0 ", "18446744073709551616", "1.0"] {
        err(&mut raw, &["HSCAN", "h", cursor], "ERR invalid cursor").await;
        err(&mut raw, &["HSCAN", "nokey", cursor], "ERR invalid cursor").await;
    }
    for options in [
        &["COUNT", "0"][..],
        &["COUNT", "-1"],
        &["COUNT"],
        &["MATCH"],
        &["FOO", "1"],
        &["NOVALUES"],
    ] {
        let mut args = vec!["HSCAN", "h", "0"];
        args.extend_from_slice(options);
        err(&mut raw, &args, "ERR syntax error").await;
        // A missing key answers an empty scan before options are read, as Redis.
        args[1] = "nokey";
        raw.roundtrip(&cmd(&args), b"*2\r\n$1\r\n0\r\n*0\r\n").await;
    }
    err(
        &mut raw,
        &["HSCAN", "h", "0", "COUNT", "x"],
        "ERR value is not an integer or out of range",
    )
    .await;
}

/// Every field present from the first call to the last is returned, while other
/// fields come and go between calls.
#[tokio::test]
async fn hscan_returns_every_stable_field_under_churn() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    for chunk in (0..1000).collect::<Vec<_>>().chunks(100) {
        let mut args = vec!["HSET".to_string(), "h".into()];
        for i in chunk {
            args.extend([format!("stable{i}"), format!("v{i}")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        q::<i64>(&mut con, &args).await;
    }
    assert_eq!(encoding(&mut con, "h").await, "hashtable");
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut cursor = "0".to_string();
    for round in 0.. {
        assert!(round < 10_000, "the scan ends");
        let (next, items): (String, Vec<String>) =
            q(&mut con, &["HSCAN", "h", &cursor, "COUNT", "7"]).await;
        for pair in items.chunks(2) {
            seen.insert(pair[0].clone(), pair[1].clone());
        }
        // Churn: add a burst of fields, delete most of it and older churn, so the
        // table grows and compacts between calls.
        let burst: Vec<String> = (0..30).map(|j| format!("churn{round}-{j}")).collect();
        let mut args = vec!["HSET", "h"];
        for f in &burst {
            args.extend([f.as_str(), "x"]);
        }
        q::<i64>(&mut con, &args).await;
        let mut del = vec!["HDEL", "h"];
        del.extend(burst[..29].iter().map(String::as_str));
        let old = format!("churn{}-29", round.max(1) - 1);
        del.push(&old);
        q::<i64>(&mut con, &del).await;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    for i in 0..1000 {
        assert_eq!(
            seen.get(&format!("stable{i}")),
            Some(&format!("v{i}")),
            "stable{i}"
        );
    }
}

#[tokio::test]
async fn encodings_at_the_thresholds() {
    let engine = Engine::start_with(&[
        "--hash-max-listpack-entries",
        "4",
        "--hash-max-listpack-value",
        "8",
    ])
    .await;
    let mut con = engine.conn().await;
    q::<i64>(
        &mut con,
        &["HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"],
    )
    .await;
    assert_eq!(encoding(&mut con, "h").await, "listpack", "4 fields ≤ 4");
    q::<i64>(&mut con, &["HSET", "h", "a", "12345678"]).await;
    assert_eq!(encoding(&mut con, "h").await, "listpack", "8 bytes ≤ 8");
    q::<i64>(&mut con, &["HSET", "h", "e", "5"]).await;
    assert_eq!(encoding(&mut con, "h").await, "hashtable", "5 fields");
    q::<i64>(&mut con, &["HDEL", "h", "a", "b", "c"]).await;
    assert_eq!(
        encoding(&mut con, "h").await,
        "hashtable",
        "never converts back"
    );

    q::<i64>(&mut con, &["HSET", "v", "a", "1", "b", "123456789"]).await;
    assert_eq!(encoding(&mut con, "v").await, "hashtable", "a 9-byte value");
    q::<i64>(&mut con, &["HSET", "f", "a", "1", "123456789", "1"]).await;
    assert_eq!(encoding(&mut con, "f").await, "hashtable", "a 9-byte field");
    q::<i64>(&mut con, &["HSET", "n", "a", "1", "b", "1"]).await;
    q::<i64>(&mut con, &["HSETNX", "n", "a", "123456789"]).await;
    assert_eq!(
        encoding(&mut con, "n").await,
        "listpack",
        "HSETNX on an existing field stores nothing"
    );
    q::<String>(&mut con, &["HINCRBYFLOAT", "n", "a", "0.125"]).await;
    assert_eq!(encoding(&mut con, "n").await, "listpack", "\"1.125\" fits");
    q::<String>(&mut con, &["HINCRBYFLOAT", "n", "a", "1000000000"]).await;
    assert_eq!(
        encoding(&mut con, "n").await,
        "hashtable",
        "\"1000000001.125\" does not"
    );
    q::<i64>(&mut con, &["HSET", "i", "a", "1", "b", "1"]).await;
    q::<i64>(&mut con, &["HINCRBY", "i", "a", "1000000000"]).await;
    assert_eq!(
        encoding(&mut con, "i").await,
        "hashtable",
        "HINCRBY's 10-digit result"
    );
}

/// Writes that change nothing leave WATCH alone; writes that change something
/// abort the watcher's transaction.
#[tokio::test]
async fn no_op_writes_do_not_disturb_watchers() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    q::<i64>(&mut con, &["HSET", "h", "a", "1"]).await;
    let noops: &[&[&str]] = &[
        &["HSETNX", "h", "a", "2"],
        &["HDEL", "h", "zz"],
        &["HDEL", "nokey", "a"],
    ];
    for noop in noops {
        let mut watcher = engine.dedicated().await;
        redis::cmd("WATCH")
            .arg("h")
            .arg("nokey")
            .query_async::<()>(&mut watcher)
            .await
            .unwrap();
        q::<i64>(&mut con, noop).await;
        let reply: Value = redis::pipe()
            .atomic()
            .cmd("HLEN")
            .arg("h")
            .query_async(&mut watcher)
            .await
            .unwrap();
        assert_ne!(reply, Value::Nil, "{noop:?} aborted the transaction");
    }
    let mut watcher = engine.dedicated().await;
    redis::cmd("WATCH")
        .arg("h")
        .query_async::<()>(&mut watcher)
        .await
        .unwrap();
    q::<i64>(&mut con, &["HSETNX", "h", "b", "2"]).await;
    let reply: Value = redis::pipe()
        .atomic()
        .cmd("HLEN")
        .arg("h")
        .query_async(&mut watcher)
        .await
        .unwrap();
    assert_eq!(reply, Value::Nil, "a real change aborts it");
}

/// Reads and discards bytes until the reply to PING arrives, after HELLO 3.
async fn resp3(engine: &Engine) -> Raw {
    use tokio::io::AsyncReadExt;
    let mut raw = Raw::connect(engine.addr).await;
    raw.send(&[cmd(&["HELLO", "3"]), cmd(&["PING"])].concat())
        .await;
    let mut got = Vec::new();
    while !got.ends_with(b"+PONG\r\n") {
        let mut buf = [0u8; 1024];
        let n = raw.stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "connection closed");
        got.extend_from_slice(&buf[..n]);
    }
    raw
}

#[tokio::test]
async fn resp3_reply_types() {
    let engine = Engine::start().await;
    let mut raw = resp3(&engine).await;
    raw.roundtrip(&cmd(&["HSET", "h", "a", "1"]), b":1\r\n")
        .await;
    raw.roundtrip(&cmd(&["HGETALL", "h"]), b"%1\r\n$1\r\na\r\n$1\r\n1\r\n")
        .await;
    raw.roundtrip(&cmd(&["HGETALL", "nokey"]), b"%0\r\n").await;
    raw.roundtrip(&cmd(&["HGET", "h", "zz"]), b"_\r\n").await;
    raw.roundtrip(&cmd(&["HMGET", "h", "a", "zz"]), b"*2\r\n$1\r\n1\r\n_\r\n")
        .await;
    let pair = b"*2\r\n$1\r\na\r\n$1\r\n1\r\n";
    raw.roundtrip(
        &cmd(&["HRANDFIELD", "h", "1", "WITHVALUES"]),
        &[&b"*1\r\n"[..], pair].concat(),
    )
    .await;
    raw.roundtrip(
        &cmd(&["HRANDFIELD", "h", "-2", "WITHVALUES"]),
        &[&b"*2\r\n"[..], pair, pair].concat(),
    )
    .await;
    raw.roundtrip(&cmd(&["HRANDFIELD", "nokey"]), b"_\r\n")
        .await;
    raw.roundtrip(&cmd(&["HRANDFIELD", "nokey", "2"]), b"*0\r\n")
        .await;
    raw.roundtrip(&cmd(&["HINCRBYFLOAT", "h", "a", "1.5"]), b"$3\r\n2.5\r\n")
        .await;
    raw.roundtrip(
        &cmd(&["HSCAN", "h", "0"]),
        b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$3\r\n2.5\r\n",
    )
    .await;
}

#[tokio::test]
async fn resp2_reply_shapes() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(&cmd(&["HSET", "h", "a", "1"]), b":1\r\n")
        .await;
    raw.roundtrip(&cmd(&["HGETALL", "h"]), b"*2\r\n$1\r\na\r\n$1\r\n1\r\n")
        .await;
    raw.roundtrip(&cmd(&["HGET", "h", "zz"]), b"$-1\r\n").await;
    raw.roundtrip(
        &cmd(&["HRANDFIELD", "h", "-2", "WITHVALUES"]),
        b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n",
    )
    .await;
    raw.roundtrip(&cmd(&["HRANDFIELD", "nokey"]), b"$-1\r\n")
        .await;
}
