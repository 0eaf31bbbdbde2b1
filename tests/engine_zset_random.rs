//! ZRANDMEMBER and ZSCAN against the bundled engine: counts, repeats, WITHSCORES
//! in RESP2 and RESP3, errors, and ZSCAN's one-reply walk of both encodings.

mod support;
mod zset_common;

use std::collections::HashSet;

use support::Engine;
use zset_common::*;

#[tokio::test]
async fn zrandmember_counts_and_errors() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("ZADD z 1 a", int(1)),
            ("ZRANDMEMBER z", bulk("a")),
            ("ZRANDMEMBER z 0", EMPTY.to_string()),
            ("ZRANDMEMBER z 5", arr(&["a"])),
            ("ZRANDMEMBER z -3", arr(&["a", "a", "a"])),
            ("ZRANDMEMBER z -2 WITHSCORES", flat(&[("a", "1"), ("a", "1")])),
            ("ZRANDMEMBER none", NIL.to_string()),
            ("ZRANDMEMBER none 3", EMPTY.to_string()),
            ("ZRANDMEMBER none -3 WITHSCORES", EMPTY.to_string()),
            ("ZRANDMEMBER z x", NOT_INT.to_string()),
            ("ZRANDMEMBER z 1 foo", SYNTAX.to_string()),
            ("ZRANDMEMBER z 1 WITHSCORES x", SYNTAX.to_string()),
            (
                "ZRANDMEMBER z -9223372036854775808",
                err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
            ),
            ("ZRANDMEMBER z 4611686018427387904 WITHSCORES", err("ERR value is out of range")),
            ("ZRANDMEMBER z -4611686018427387904 withscores", err("ERR value is out of range")),
            // A positive count that large is fine: it is capped by the set's size.
            ("ZRANDMEMBER z 9223372036854775807", arr(&["a"])),
            // A negative one would be a reply of that many elements: refused.
            (
                "ZRANDMEMBER z -9223372036854775807",
                err("ERR value is out of range, at most 1048576 repeated picks are served"),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn zrandmember_picks_distinct_members_or_repeats() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let members: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    for (i, m) in members.iter().enumerate() {
        let _: i64 = redis::cmd("ZADD")
            .arg("z")
            .arg(i)
            .arg(m)
            .query_async(&mut con)
            .await
            .unwrap();
    }
    for count in [1_usize, 10, 199, 200, 500] {
        let got: Vec<String> = redis::cmd("ZRANDMEMBER")
            .arg("z")
            .arg(count)
            .query_async(&mut con)
            .await
            .unwrap();
        let distinct: HashSet<&String> = got.iter().collect();
        assert_eq!(got.len(), count.min(200), "count {count}");
        assert_eq!(distinct.len(), got.len(), "count {count}: no repeats");
        assert!(got.iter().all(|m| members.contains(m)));
    }
    let got: Vec<String> = redis::cmd("ZRANDMEMBER")
        .arg("z")
        .arg(-1000)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(got.len(), 1000);
    let distinct: HashSet<&String> = got.iter().collect();
    assert!(
        distinct.len() > 100,
        "1000 uniform picks among 200 members repeat some and cover many"
    );
    let pairs: Vec<(String, f64)> = redis::cmd("ZRANDMEMBER")
        .arg("z")
        .arg(5)
        .arg("WITHSCORES")
        .query_async(&mut con)
        .await
        .unwrap();
    for (member, score) in pairs {
        assert_eq!(format!("m{score}"), member, "each score is its member's");
    }
}

#[tokio::test]
async fn zrandmember_resp3_pairs_are_nested() {
    let engine = Engine::start().await;
    let mut raw = resp3(&engine).await;
    run(
        &mut raw,
        &[
            ("ZADD z 1.5 a", int(1)),
            (
                "ZRANDMEMBER z -2 WITHSCORES",
                nested(&[("a", "1.5"), ("a", "1.5")]),
            ),
            ("ZRANDMEMBER z 3 WITHSCORES", nested(&[("a", "1.5")])),
            ("ZRANDMEMBER z -2", arr(&["a", "a"])),
        ],
    )
    .await;
}

#[tokio::test]
async fn zscan_returns_everything_with_cursor_zero() {
    let engine = Engine::start().await;
    let reply = |pairs: &[(&str, &str)]| format!("*2\r\n{}{}", bulk("0"), flat(pairs));
    script(
        &engine,
        &[
            ("ZADD z 1 a 2.5 ab -inf b", int(3)),
            (
                "ZSCAN z 0",
                reply(&[("b", "-inf"), ("a", "1"), ("ab", "2.5")]),
            ),
            (
                "ZSCAN z 17 COUNT 1",
                reply(&[("b", "-inf"), ("a", "1"), ("ab", "2.5")]),
            ),
            ("ZSCAN z 0 MATCH a*", reply(&[("a", "1"), ("ab", "2.5")])),
            ("ZSCAN z 0 MATCH x* COUNT 100", reply(&[])),
            ("ZSCAN none 0", reply(&[])),
            ("ZSCAN z x", err("ERR invalid cursor")),
            ("ZSCAN z 0 COUNT 0", SYNTAX.to_string()),
            ("ZSCAN z 0 COUNT x", NOT_INT.to_string()),
            ("ZSCAN z 0 MATCH", SYNTAX.to_string()),
            ("ZSCAN z 0 NOVALUES", SYNTAX.to_string()),
            // The key is looked up before the options, as in Redis.
            ("ZSCAN none 0 COUNT 0", reply(&[])),
        ],
    )
    .await;
    // Scores stay bulk strings in RESP3, as Redis sends them.
    let mut raw = resp3(&engine).await;
    run(&mut raw, &[("ZSCAN z 0 MATCH b", reply(&[("b", "-inf")]))]).await;
}

#[tokio::test]
async fn zscan_of_a_big_set_returns_each_member_once() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut zadd = redis::cmd("ZADD");
    zadd.arg("z");
    for i in 0..1000 {
        zadd.arg(i).arg(format!("m{i}"));
    }
    let _: i64 = zadd.query_async(&mut con).await.unwrap();
    let (cursor, items): (String, Vec<String>) = redis::cmd("ZSCAN")
        .arg("z")
        .arg(0)
        .arg("COUNT")
        .arg(10)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(cursor, "0");
    assert_eq!(items.len(), 2000);
    let members: HashSet<&String> = items.iter().step_by(2).collect();
    assert_eq!(members.len(), 1000);
}
