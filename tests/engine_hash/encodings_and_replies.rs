//! Encodings at the thresholds, WATCH and no-op writes, and the exact RESP2
//! and RESP3 shapes of hash replies.

use super::*;

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
