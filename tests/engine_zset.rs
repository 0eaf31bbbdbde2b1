//! The sorted-set family against the bundled engine, single-member commands:
//! ZADD and its options, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK,
//! ZREVRANK, plus ZRANDMEMBER, ZSCAN, WRONGTYPE everywhere and WATCH. Replies
//! are compared byte for byte with what redis-server 7.0 sends.
//!
//! Scores in these tests print the same in Redis 7.0 (`%.17g`) and in the
//! shortest form the engine uses (1.5, 2, inf…); see `engine_zset_range.rs`
//! for ranges, `engine_zset_pop.rs` for pops, `engine_zset_algebra.rs` for
//! unions and intersections.

mod support;
mod zset_common;

use support::Engine;
use zset_common::*;

/// Whether a key exists, with the string and list families only: LPUSHX
/// answers 0 for a missing key and WRONGTYPE for a sorted set.
fn gone(key: &str) -> (String, String) {
    (format!("LPUSHX {key} probe"), int(0))
}

fn still_zset(key: &str) -> (String, String) {
    (format!("LPUSHX {key} probe"), WRONGTYPE.to_string())
}

async fn steps(engine: &Engine, steps: Vec<(String, String)>) {
    let borrowed: Vec<(&str, String)> =
        steps.iter().map(|(l, e)| (l.as_str(), e.clone())).collect();
    script(engine, &borrowed).await;
}

#[tokio::test]
async fn zadd_adds_updates_and_counts() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("ZADD z 1 a 2 b 3 c", int(3)),
            ("ZADD z 1 a 5 b 4 d", int(1)),
            ("ZADD z CH 1 a 6 b 4 d 7 e", int(2)),
            ("ZCARD z", int(5)),
            ("ZSCORE z b", bulk("6")),
            // A repeated member: the last score wins, added once.
            ("ZADD y 1 m 2 m 3 m", int(1)),
            ("ZSCORE y m", bulk("3")),
            ("ZADD y -inf lo +inf hi 1.5 mid", int(3)),
            (
                "ZRANGE y 0 -1 WITHSCORES",
                flat(&[("lo", "-inf"), ("mid", "1.5"), ("m", "3"), ("hi", "inf")]),
            ),
            // -0 is 0: no change.
            ("ZADD y CH -0 zero 0 zero", int(1)),
            ("ZSCORE y zero", bulk("0")),
        ],
    )
    .await;
}

#[tokio::test]
async fn zadd_nx_xx_gt_lt() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("ZADD z 5 a 5 b", int(2)),
            ("ZADD z NX 1 a 1 c", int(1)),
            ("ZSCORE z a", bulk("5")),
            ("ZADD z XX CH 1 a 1 d", int(1)),
            ("ZSCORE z a", bulk("1")),
            ("ZSCORE z d", NIL.to_string()),
            ("ZADD z GT CH 0 a 9 b 2 e", int(2)),
            ("ZSCORE z a", bulk("1")),
            ("ZSCORE z b", bulk("9")),
            ("ZSCORE z e", bulk("2")),
            ("ZADD z LT CH 3 a 1 b", int(1)),
            ("ZSCORE z b", bulk("1")),
            ("ZADD z xx gt ch 10 a 10 zz", int(1)),
            ("ZSCORE z zz", NIL.to_string()),
            // XX on a missing key creates nothing.
            ("ZADD none XX 1 a", int(0)),
            ("LPUSHX none probe", int(0)),
        ],
    )
    .await;
}

#[tokio::test]
async fn zadd_incr_replies_the_score_or_null() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("ZADD z INCR 1.5 a", bulk("1.5")),
            ("ZADD z INCR 1 a", bulk("2.5")),
            ("ZADD z NX INCR 1 a", NIL.to_string()),
            ("ZADD z XX INCR 1 nope", NIL.to_string()),
            ("ZADD z GT INCR -1 a", NIL.to_string()),
            ("ZADD z LT INCR -1 a", bulk("1.5")),
            ("ZADD z INCR +inf a", bulk("inf")),
            (
                "ZADD z INCR -inf a",
                err("ERR resulting score is not a number (NaN)"),
            ),
            ("ZSCORE z a", bulk("inf")),
            ("ZADD none XX INCR 1 a", NIL.to_string()),
            ("LPUSHX none probe", int(0)),
        ],
    )
    .await;
}

#[tokio::test]
async fn zadd_errors_in_redis_order() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("SET s x", OK.to_string()),
            (
                "ZADD z 1",
                err("ERR wrong number of arguments for 'zadd' command"),
            ),
            ("ZADD z 1 a 2", SYNTAX.to_string()),
            ("ZADD z NX XX", SYNTAX.to_string()),
            ("ZADD z INCR 1 a 2", SYNTAX.to_string()),
            (
                "ZADD z NX XX 1 a",
                err("ERR XX and NX options at the same time are not compatible"),
            ),
            (
                "ZADD z GT LT 1 a",
                err("ERR GT, LT, and/or NX options at the same time are not compatible"),
            ),
            (
                "ZADD z NX GT 1 a",
                err("ERR GT, LT, and/or NX options at the same time are not compatible"),
            ),
            (
                "ZADD z LT NX 1 a",
                err("ERR GT, LT, and/or NX options at the same time are not compatible"),
            ),
            (
                "ZADD z INCR 1 a 2 b",
                err("ERR INCR option supports a single increment-element pair"),
            ),
            (
                "ZADD z INCR NX XX 1 a",
                err("ERR XX and NX options at the same time are not compatible"),
            ),
            ("ZADD z x a", NOT_FLOAT.to_string()),
            ("ZADD z 1 a nan b", NOT_FLOAT.to_string()),
            ("ZADD z 1e400 a", NOT_FLOAT.to_string()),
            // Every score is checked before anything is added.
            ("LPUSHX z probe", int(0)),
            ("ZADD s 1 a", WRONGTYPE.to_string()),
            ("ZADD s x a", NOT_FLOAT.to_string()),
        ],
    )
    .await;
}

#[tokio::test]
async fn zincrby() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("ZINCRBY z 2 a", bulk("2")),
            ("ZINCRBY z -0.5 a", bulk("1.5")),
            ("ZINCRBY z x a", NOT_FLOAT.to_string()),
            ("ZINCRBY z inf a", bulk("inf")),
            (
                "ZINCRBY z -inf a",
                err("ERR resulting score is not a number (NaN)"),
            ),
            ("ZINCRBY none -inf a", bulk("-inf")),
            ("SET s x", OK.to_string()),
            ("ZINCRBY s 1 a", WRONGTYPE.to_string()),
        ],
    )
    .await;
}

#[tokio::test]
async fn zrem_deletes_the_emptied_key() {
    let engine = Engine::start().await;
    let mut plan = vec![
        ("ZADD z 1 a 2 b 3 c".to_string(), int(3)),
        ("ZREM z a x a".to_string(), int(1)),
        ("ZREM z x y".to_string(), int(0)),
        ("ZREM none a".to_string(), int(0)),
    ];
    plan.push(still_zset("z"));
    plan.push(("ZREM z b c".to_string(), int(2)));
    plan.push(gone("z"));
    plan.push(("ZCARD z".to_string(), int(0)));
    steps(&engine, plan).await;
}

#[tokio::test]
async fn scores_ranks_and_cardinality() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("ZADD z 1 a 2 b 2 c 3.5 d", int(4)),
            ("ZCARD z", int(4)),
            ("ZCARD none", int(0)),
            ("ZSCORE z d", bulk("3.5")),
            ("ZSCORE z x", NIL.to_string()),
            ("ZSCORE none x", NIL.to_string()),
            (
                "ZMSCORE z a x d",
                "*3\r\n$1\r\n1\r\n$-1\r\n$3\r\n3.5\r\n".to_string(),
            ),
            ("ZMSCORE none a b", "*2\r\n$-1\r\n$-1\r\n".to_string()),
            ("ZRANK z a", int(0)),
            ("ZRANK z c", int(2)),
            ("ZREVRANK z a", int(3)),
            ("ZREVRANK z d", int(0)),
            ("ZRANK z x", NIL.to_string()),
            ("ZREVRANK none x", NIL.to_string()),
            (
                "ZRANK z",
                err("ERR wrong number of arguments for 'zrank' command"),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn resp3_scores_are_doubles_and_nulls_are_underscores() {
    let engine = Engine::start().await;
    let mut raw = resp3(&engine).await;
    run(
        &mut raw,
        &[
            ("ZADD z 1.5 a 2 b -inf c", int(3)),
            ("ZSCORE z a", double("1.5")),
            ("ZSCORE z c", double("-inf")),
            ("ZSCORE z x", "_\r\n".to_string()),
            ("ZMSCORE z b x", format!("*2\r\n{}_\r\n", double("2"))),
            ("ZINCRBY z 1 b", double("3")),
            ("ZADD z INCR 1 b", double("4")),
            ("ZADD z NX INCR 1 b", "_\r\n".to_string()),
            ("ZRANK z x", "_\r\n".to_string()),
            ("ZRANDMEMBER none", "_\r\n".to_string()),
        ],
    )
    .await;
}

#[tokio::test]
async fn every_command_refuses_another_type() {
    let engine = Engine::start().await;
    let commands = [
        "ZADD s 1 a",
        "ZINCRBY s 1 a",
        "ZREM s a",
        "ZCARD s",
        "ZSCORE s a",
        "ZMSCORE s a",
        "ZRANK s a",
        "ZREVRANK s a",
        "ZRANGE s 0 -1",
        "ZRANGESTORE d s 0 -1",
        "ZRANGEBYSCORE s 0 1",
        "ZREVRANGE s 0 -1",
        "ZREVRANGEBYSCORE s 1 0",
        "ZRANGEBYLEX s - +",
        "ZREVRANGEBYLEX s + -",
        "ZCOUNT s 0 1",
        "ZLEXCOUNT s - +",
        "ZPOPMIN s",
        "ZPOPMAX s 2",
        "BZPOPMIN s 0",
        "BZPOPMAX s 0",
        "ZMPOP 1 s MIN",
        "BZMPOP 0 1 s MAX",
        "ZREMRANGEBYRANK s 0 1",
        "ZREMRANGEBYSCORE s 0 1",
        "ZREMRANGEBYLEX s - +",
        "ZUNIONSTORE d 1 s",
        "ZINTERSTORE d 1 s",
        "ZDIFFSTORE d 1 s",
        "ZUNION 1 s",
        "ZINTER 1 s",
        "ZDIFF 1 s",
        "ZINTERCARD 1 s",
        "ZRANDMEMBER s",
        "ZRANDMEMBER s 1",
        "ZSCAN s 0",
    ];
    let mut plan = vec![("SET s x".to_string(), OK.to_string())];
    plan.extend(
        commands
            .iter()
            .map(|c| (c.to_string(), WRONGTYPE.to_string())),
    );
    plan.push(("GET s".to_string(), bulk("x")));
    plan.push(("GET d".to_string(), NIL.to_string()));
    steps(&engine, plan).await;
}

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
        let distinct: std::collections::HashSet<&String> = got.iter().collect();
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
    let distinct: std::collections::HashSet<&String> = got.iter().collect();
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
    let members: std::collections::HashSet<&String> = items.iter().step_by(2).collect();
    assert_eq!(members.len(), 1000);
}

#[tokio::test]
async fn writes_that_change_nothing_leave_watchers_alone() {
    let engine = Engine::start().await;
    let mut raw = support::Raw::connect(engine.addr).await;
    let mut other = support::Raw::connect(engine.addr).await;
    run(
        &mut other,
        &[("ZADD z 1 a 2 b", int(2)), ("ZADD src 1 x", int(1))],
    )
    .await;
    let no_ops = [
        ("ZADD z 1 a", int(0)),
        ("ZADD z NX 5 a", int(0)),
        ("ZADD z XX 1 nope", int(0)),
        ("ZADD z GT 0 a", int(0)),
        ("ZREM z nope", int(0)),
        ("ZREMRANGEBYSCORE z 10 20", int(0)),
        ("ZREMRANGEBYRANK z 5 9", int(0)),
        ("ZREMRANGEBYLEX z [x [y", int(0)),
        ("ZPOPMIN z 0", EMPTY.to_string()),
        ("ZPOPMIN nokey", EMPTY.to_string()),
        // Writing d reads src: a watcher of src is not disturbed.
        ("ZUNIONSTORE d 1 src", int(1)),
        ("ZRANGESTORE d2 src 0 -1", int(1)),
    ];
    for (command, reply) in no_ops {
        let watched = if command.contains("src") { "src" } else { "z" };
        run(
            &mut raw,
            &[
                (&format!("WATCH {watched}"), OK.to_string()),
                ("MULTI", OK.to_string()),
            ],
        )
        .await;
        run(&mut other, &[(command, reply)]).await;
        run(&mut raw, &[("PING", "+QUEUED\r\n".to_string())]).await;
        run(&mut raw, &[("EXEC", "*1\r\n+PONG\r\n".to_string())]).await;
    }
    // A real change aborts EXEC.
    run(
        &mut raw,
        &[("WATCH z", OK.to_string()), ("MULTI", OK.to_string())],
    )
    .await;
    run(&mut other, &[("ZADD z 3 a", int(0))]).await;
    run(
        &mut raw,
        &[
            ("PING", "+QUEUED\r\n".to_string()),
            ("EXEC", NIL_ARRAY.to_string()),
        ],
    )
    .await;
}
