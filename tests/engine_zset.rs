//! The sorted-set family against the bundled engine, single-member commands:
//! ZADD and its options, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK,
//! ZREVRANK, plus WRONGTYPE for the whole family and WATCH. Replies are
//! compared byte for byte with what redis-server 7.0 sends.
//!
//! Scores in these tests print the same in Redis 7.0 (`%.17g`) and in the
//! shortest form the engine uses (1.5, 2, inf…); see `engine_zset_range.rs`
//! for ranges, `engine_zset_pop.rs` for pops, `engine_zset_algebra.rs` for
//! unions and intersections, `engine_zset_random.rs` for ZRANDMEMBER and ZSCAN.

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
