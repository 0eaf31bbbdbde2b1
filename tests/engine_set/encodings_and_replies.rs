//! Encodings at the thresholds, WATCH and no-op writes, and the exact RESP2
//! and RESP3 shapes of set replies.

use super::*;

#[tokio::test]
async fn encodings_at_the_thresholds() {
    let engine = Engine::start_with(&["--set-max-intset-entries", "4"]).await;
    let mut con = engine.conn().await;
    q::<i64>(&mut con, &["SADD", "s", "1", "2", "3", "4"]).await;
    assert_eq!(encoding(&mut con, "s").await, "intset", "4 members ≤ 4");
    q::<i64>(&mut con, &["SADD", "s", "4", "-9223372036854775808"]).await;
    assert_eq!(encoding(&mut con, "s").await, "hashtable", "5 members");
    q::<i64>(&mut con, &["SREM", "s", "1", "2", "3"]).await;
    assert_eq!(
        encoding(&mut con, "s").await,
        "hashtable",
        "never converts back"
    );
    for member in ["a", "01", "+1", "-0", " 1", "1.0", "9223372036854775808"] {
        let key = format!("t{member}");
        q::<i64>(&mut con, &["SADD", &key, "5", member]).await;
        assert_eq!(
            encoding(&mut con, &key).await,
            "hashtable",
            "{member:?} is not an integer"
        );
        assert_eq!(q::<i64>(&mut con, &["SISMEMBER", &key, member]).await, 1);
    }
    // Results are built like SADD builds them.
    q::<i64>(&mut con, &["SADD", "u", "5", "6", "7"]).await;
    q::<i64>(&mut con, &["SUNIONSTORE", "r", "u", "t01"]).await;
    assert_eq!(encoding(&mut con, "r").await, "hashtable");
    q::<i64>(&mut con, &["SINTERSTORE", "r", "u", "t01"]).await;
    assert_eq!(q::<i64>(&mut con, &["SCARD", "r"]).await, 1);
    q::<i64>(&mut con, &["SADD", "r", "8"]).await;
    assert_eq!(
        encoding(&mut con, "r").await,
        "intset",
        "{{5}} from a table source"
    );
}

/// Writes that change nothing leave WATCH alone; writes that change something
/// abort the watcher's transaction.
#[tokio::test]
async fn no_op_writes_do_not_disturb_watchers() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    q::<i64>(&mut con, &["SADD", "s", "a"]).await;
    let noops: &[&[&str]] = &[
        &["SADD", "s", "a"],
        &["SREM", "s", "zz"],
        &["SPOP", "nokey"],
        &["SPOP", "s", "0"],
        &["SMOVE", "s", "t", "zz"],
        &["SMOVE", "s", "s", "a"],
        &["SINTERSTORE", "nokey", "nokey2"],
    ];
    for noop in noops {
        let mut watcher = engine.dedicated().await;
        redis::cmd("WATCH")
            .arg("s")
            .arg("t")
            .arg("nokey")
            .query_async::<()>(&mut watcher)
            .await
            .unwrap();
        q::<Value>(&mut con, noop).await;
        let reply: Value = redis::pipe()
            .atomic()
            .cmd("SCARD")
            .arg("s")
            .query_async(&mut watcher)
            .await
            .unwrap();
        assert_ne!(reply, Value::Nil, "{noop:?} aborted the transaction");
    }
    let changes: &[&[&str]] = &[
        &["SADD", "s", "b"],
        &["SMOVE", "s", "t", "b"],
        &["SUNIONSTORE", "nokey", "s"],
    ];
    for change in changes {
        let mut watcher = engine.dedicated().await;
        redis::cmd("WATCH")
            .arg(change[1])
            .query_async::<()>(&mut watcher)
            .await
            .unwrap();
        q::<Value>(&mut con, change).await;
        let reply: Value = redis::pipe()
            .atomic()
            .cmd("SCARD")
            .arg("s")
            .query_async(&mut watcher)
            .await
            .unwrap();
        assert_eq!(reply, Value::Nil, "{change:?} aborts it");
    }
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
    raw.roundtrip(&cmd(&["SADD", "s", "a"]), b":1\r\n").await;
    let one = b"~1\r\n$1\r\na\r\n";
    raw.roundtrip(&cmd(&["SMEMBERS", "s"]), one).await;
    raw.roundtrip(&cmd(&["SMEMBERS", "nokey"]), b"~0\r\n").await;
    raw.roundtrip(&cmd(&["SINTER", "s", "s"]), one).await;
    raw.roundtrip(&cmd(&["SINTER", "s", "nokey"]), b"~0\r\n")
        .await;
    raw.roundtrip(&cmd(&["SUNION", "s", "nokey"]), one).await;
    raw.roundtrip(&cmd(&["SDIFF", "s"]), one).await;
    raw.roundtrip(&cmd(&["SRANDMEMBER", "s", "5"]), b"*1\r\n$1\r\na\r\n")
        .await;
    raw.roundtrip(
        &cmd(&["SRANDMEMBER", "s", "-2"]),
        b"*2\r\n$1\r\na\r\n$1\r\na\r\n",
    )
    .await;
    raw.roundtrip(&cmd(&["SRANDMEMBER", "nokey"]), b"_\r\n")
        .await;
    raw.roundtrip(&cmd(&["SMISMEMBER", "s", "a", "b"]), b"*2\r\n:1\r\n:0\r\n")
        .await;
    raw.roundtrip(
        &cmd(&["SSCAN", "s", "0"]),
        b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n",
    )
    .await;
    raw.roundtrip(&cmd(&["SPOP", "nokey"]), b"_\r\n").await;
    raw.roundtrip(&cmd(&["SPOP", "nokey", "2"]), b"~0\r\n")
        .await;
    raw.roundtrip(&cmd(&["SPOP", "s", "0"]), b"~0\r\n").await;
    raw.roundtrip(&cmd(&["SPOP", "s", "1"]), one).await;
}

#[tokio::test]
async fn resp2_reply_shapes() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(&cmd(&["SADD", "s", "7"]), b":1\r\n").await;
    raw.roundtrip(&cmd(&["SMEMBERS", "s"]), b"*1\r\n$1\r\n7\r\n")
        .await;
    raw.roundtrip(&cmd(&["SPOP", "nokey", "2"]), b"*0\r\n")
        .await;
    raw.roundtrip(&cmd(&["SRANDMEMBER", "nokey"]), b"$-1\r\n")
        .await;
    raw.roundtrip(&cmd(&["SPOP", "s"]), b"$1\r\n7\r\n").await;
    raw.roundtrip(&cmd(&["SPOP", "s"]), b"$-1\r\n").await;
}
