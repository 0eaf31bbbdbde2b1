//! Sorted-set encodings through the commands: the switch from listpack to
//! skiplist at 129 members or a 65-byte member (Redis's defaults) or at the
//! configured thresholds, never back, and the encoding of stored results.

mod support;

use support::Engine;

/// The encoding of the sorted set at `key`: OBJECT ENCODING once the engine has
/// it, else told from the wire. A skiplist keeps a score of -0 as it is and a
/// listpack stores it as 0, in Redis as here; so `member`'s score is set to -0
/// and read back (an update never converts), then restored.
async fn encoding(con: &mut redis::aio::MultiplexedConnection, key: &str, member: &str) -> String {
    let object: redis::RedisResult<String> = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query_async(con)
        .await;
    match object {
        Ok(encoding) => return encoding,
        Err(e) if e.to_string().contains("unknown command") => {}
        Err(e) => panic!("OBJECT ENCODING: {e}"),
    }
    let old: String = redis::cmd("ZSCORE")
        .arg(key)
        .arg(member)
        .query_async(con)
        .await
        .unwrap();
    let _: i64 = redis::cmd("ZADD")
        .arg(key)
        .arg("XX")
        .arg("-0")
        .arg(member)
        .query_async(con)
        .await
        .unwrap();
    let zero: String = redis::cmd("ZSCORE")
        .arg(key)
        .arg(member)
        .query_async(con)
        .await
        .unwrap();
    let _: i64 = redis::cmd("ZADD")
        .arg(key)
        .arg("XX")
        .arg(&old)
        .arg(member)
        .query_async(con)
        .await
        .unwrap();
    match zero.as_str() {
        "-0" => "skiplist".to_string(),
        "0" => "listpack".to_string(),
        other => panic!("score -0 read back as {other}"),
    }
}

async fn zadd(
    con: &mut redis::aio::MultiplexedConnection,
    key: &str,
    members: impl IntoIterator<Item = String>,
) -> i64 {
    let mut cmd = redis::cmd("ZADD");
    cmd.arg(key);
    for (i, member) in members.into_iter().enumerate() {
        cmd.arg(i + 1).arg(member);
    }
    cmd.query_async(con).await.unwrap()
}

#[tokio::test]
async fn the_encoding_switches_at_129_members_and_65_bytes() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let names = |range: std::ops::Range<usize>| range.map(|i| format!("m{i}"));
    assert_eq!(zadd(&mut con, "z", names(0..128)).await, 128);
    assert_eq!(
        encoding(&mut con, "z", "m0").await,
        "listpack",
        "128 members"
    );
    let _: i64 = redis::cmd("ZADD")
        .arg("z")
        .arg(1)
        .arg("m128")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(
        encoding(&mut con, "z", "m0").await,
        "skiplist",
        "129 members"
    );
    let _: i64 = redis::cmd("ZREMRANGEBYRANK")
        .arg("z")
        .arg(1)
        .arg(-1)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(
        encoding(&mut con, "z", "m0").await,
        "skiplist",
        "never converts back"
    );
    let _: i64 = redis::cmd("ZREM")
        .arg("z")
        .arg("m0")
        .query_async(&mut con)
        .await
        .unwrap();
    let _: i64 = redis::cmd("ZADD")
        .arg("z")
        .arg(1)
        .arg("m0")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(
        encoding(&mut con, "z", "m0").await,
        "listpack",
        "a new key starts small"
    );
    assert_eq!(zadd(&mut con, "v", ["x".repeat(64)]).await, 1);
    assert_eq!(
        encoding(&mut con, "v", &"x".repeat(64)).await,
        "listpack",
        "64 bytes"
    );
    assert_eq!(zadd(&mut con, "v", ["y".repeat(65)]).await, 1);
    assert_eq!(
        encoding(&mut con, "v", &"x".repeat(64)).await,
        "skiplist",
        "65 bytes"
    );
    // Stored results take the encoding their size calls for.
    assert_eq!(zadd(&mut con, "big", names(0..200)).await, 200);
    let stored: i64 = redis::cmd("ZRANGESTORE")
        .arg("d")
        .arg("big")
        .arg(0)
        .arg(127)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(stored, 128);
    assert_eq!(encoding(&mut con, "d", "m0").await, "listpack");
    let stored: i64 = redis::cmd("ZUNIONSTORE")
        .arg("d")
        .arg(1)
        .arg("big")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(stored, 200);
    assert_eq!(encoding(&mut con, "d", "m0").await, "skiplist");
}

#[tokio::test]
async fn the_thresholds_come_from_the_configuration() {
    let engine = Engine::start_with(&[
        "--zset-max-listpack-entries",
        "4",
        "--zset-max-listpack-value",
        "8",
    ])
    .await;
    let mut con = engine.conn().await;
    let names = |range: std::ops::Range<usize>| range.map(|i| format!("m{i}"));
    assert_eq!(zadd(&mut con, "z", names(0..4)).await, 4);
    assert_eq!(encoding(&mut con, "z", "m0").await, "listpack");
    assert_eq!(zadd(&mut con, "z", names(4..5)).await, 1);
    assert_eq!(encoding(&mut con, "z", "m0").await, "skiplist");
    assert_eq!(zadd(&mut con, "v", ["12345678".to_string()]).await, 1);
    assert_eq!(encoding(&mut con, "v", "12345678").await, "listpack");
    let _: f64 = redis::cmd("ZINCRBY")
        .arg("v")
        .arg(1)
        .arg("123456789")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(encoding(&mut con, "v", "12345678").await, "skiplist");
}
