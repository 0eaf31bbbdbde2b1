//! Sorted-set ranges against the bundled engine: ZRANGE with BYSCORE, BYLEX,
//! REV, LIMIT and WITHSCORES, its older forms, ZRANGESTORE, ZCOUNT, ZLEXCOUNT
//! and the ZREMRANGEBY* removals, with exclusive bounds, infinities, negative
//! ranks and LIMIT counts, in RESP2 and RESP3, in both encodings.

mod support;
mod zset_common;

use support::Engine;
use zset_common::*;

const FIVE: &str = "ZADD z 1 a 2 b 3 c 4 d 5 e";

#[tokio::test]
async fn ranges_by_rank() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            (FIVE, int(5)),
            ("ZRANGE z 0 -1", arr(&["a", "b", "c", "d", "e"])),
            ("ZRANGE z 1 2", arr(&["b", "c"])),
            ("ZRANGE z -2 -1", arr(&["d", "e"])),
            ("ZRANGE z -100 100", arr(&["a", "b", "c", "d", "e"])),
            ("ZRANGE z 3 1", EMPTY.to_string()),
            ("ZRANGE z 5 10", EMPTY.to_string()),
            ("ZRANGE z 0 0 WITHSCORES", flat(&[("a", "1")])),
            ("ZRANGE z 1 -1 REV", arr(&["d", "c", "b", "a"])),
            (
                "ZRANGE z 0 1 REV WITHSCORES",
                flat(&[("e", "5"), ("d", "4")]),
            ),
            ("ZREVRANGE z 0 1", arr(&["e", "d"])),
            ("ZREVRANGE z -1 -1 WITHSCORES", flat(&[("a", "1")])),
            ("ZRANGE none 0 -1", EMPTY.to_string()),
            // WITHSCORES may repeat.
            ("ZRANGE z 0 0 WITHSCORES withscores", flat(&[("a", "1")])),
        ],
    )
    .await;
}

#[tokio::test]
async fn ranges_by_score() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            (FIVE, int(5)),
            ("ZADD z -inf lo +inf hi", int(2)),
            ("ZRANGE z 2 4 BYSCORE", arr(&["b", "c", "d"])),
            ("ZRANGE z (2 (4 BYSCORE", arr(&["c"])),
            (
                "ZRANGE z (1 3 BYSCORE WITHSCORES",
                flat(&[("b", "2"), ("c", "3")]),
            ),
            ("ZRANGE z -inf (1 BYSCORE", arr(&["lo"])),
            (
                "ZRANGE z (5 +inf BYSCORE WITHSCORES",
                flat(&[("hi", "inf")]),
            ),
            (
                "ZRANGE z (-inf (+inf BYSCORE",
                arr(&["a", "b", "c", "d", "e"]),
            ),
            ("ZRANGE z 5 (1 BYSCORE REV", arr(&["e", "d", "c", "b"])),
            ("ZRANGE z 4 2 BYSCORE", EMPTY.to_string()),
            ("ZRANGE z (3 (3 BYSCORE", EMPTY.to_string()),
            (
                "ZRANGEBYSCORE z 2 3 WITHSCORES",
                flat(&[("b", "2"), ("c", "3")]),
            ),
            ("ZREVRANGEBYSCORE z +inf (4", arr(&["hi", "e"])),
            (
                "ZREVRANGEBYSCORE z 3 2 WITHSCORES",
                flat(&[("c", "3"), ("b", "2")]),
            ),
            ("ZRANGEBYSCORE none 0 1", EMPTY.to_string()),
        ],
    )
    .await;
}

#[tokio::test]
async fn limit_offsets_and_counts() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            (FIVE, int(5)),
            ("ZRANGE z -inf +inf BYSCORE LIMIT 1 2", arr(&["b", "c"])),
            (
                "ZRANGE z -inf +inf BYSCORE LIMIT 1 -1",
                arr(&["b", "c", "d", "e"]),
            ),
            ("ZRANGE z -inf +inf BYSCORE LIMIT 3 -5", arr(&["d", "e"])),
            ("ZRANGE z -inf +inf BYSCORE LIMIT -1 2", EMPTY.to_string()),
            ("ZRANGE z -inf +inf BYSCORE LIMIT 2 0", EMPTY.to_string()),
            ("ZRANGE z -inf +inf BYSCORE LIMIT 10 1", EMPTY.to_string()),
            (
                "ZRANGE z +inf -inf BYSCORE REV LIMIT 1 2 WITHSCORES",
                flat(&[("d", "4"), ("c", "3")]),
            ),
            ("ZRANGEBYSCORE z (1 5 LIMIT 0 2", arr(&["b", "c"])),
            (
                "ZRANGEBYSCORE z 1 5 WITHSCORES LIMIT 4 9",
                flat(&[("e", "5")]),
            ),
            ("ZREVRANGEBYSCORE z 10 0 LIMIT 1 2", arr(&["d", "c"])),
            ("ZRANGE z - + BYLEX LIMIT 1 2", arr(&["b", "c"])),
            (
                "ZRANGE z + - BYLEX REV LIMIT 1 -1",
                arr(&["d", "c", "b", "a"]),
            ),
            // The last LIMIT wins.
            ("ZRANGE z 0 10 BYSCORE LIMIT 0 1 LIMIT 2 1", arr(&["c"])),
            (
                "ZRANGE z 0 10 BYSCORE LIMIT 9223372036854775807 1",
                EMPTY.to_string(),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn ranges_by_lex() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("ZADD z 0 a 0 b 0 ba 0 c 0 d", int(5)),
            ("ZRANGE z - + BYLEX", arr(&["a", "b", "ba", "c", "d"])),
            ("ZRANGE z [b (c BYLEX", arr(&["b", "ba"])),
            ("ZRANGE z (b [c BYLEX", arr(&["ba", "c"])),
            ("ZRANGE z (ba + BYLEX", arr(&["c", "d"])),
            ("ZRANGE z [c - BYLEX REV", arr(&["c", "ba", "b", "a"])),
            ("ZRANGE z [a [a BYLEX", arr(&["a"])),
            ("ZRANGE z (a (a BYLEX", EMPTY.to_string()),
            ("ZRANGE z + - BYLEX", EMPTY.to_string()),
            ("ZRANGEBYLEX z [b [c", arr(&["b", "ba", "c"])),
            ("ZRANGEBYLEX z - + LIMIT 3 5", arr(&["c", "d"])),
            ("ZREVRANGEBYLEX z (c -", arr(&["ba", "b", "a"])),
            ("ZREVRANGEBYLEX z + (b LIMIT 0 2", arr(&["d", "c"])),
            ("ZRANGEBYLEX none - +", EMPTY.to_string()),
        ],
    )
    .await;
}

#[tokio::test]
async fn range_option_errors_in_redis_order() {
    let engine = Engine::start().await;
    let limit = err(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
    );
    let withscores = err("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    script(
        &engine,
        &[
            (FIVE, int(5)),
            ("SET s x", OK.to_string()),
            ("ZRANGE z 0 -1 LIMIT 0 1", limit.clone()),
            ("ZREVRANGE z 0 -1 LIMIT 0 1", limit.clone()),
            ("ZRANGE z - + BYLEX WITHSCORES", withscores.clone()),
            ("ZRANGEBYLEX z - + WITHSCORES", withscores.clone()),
            ("ZRANGE z 0 1 BYSCORE BYLEX", SYNTAX.to_string()),
            ("ZRANGE z 0 1 BYSCORE BYSCORE", SYNTAX.to_string()),
            ("ZRANGE z 0 1 REV REV", SYNTAX.to_string()),
            ("ZRANGE z 0 1 LIMIT 0", SYNTAX.to_string()),
            ("ZRANGE z 0 1 FOO", SYNTAX.to_string()),
            ("ZRANGEBYSCORE z 0 1 REV", SYNTAX.to_string()),
            ("ZRANGEBYSCORE z 0 1 BYSCORE", SYNTAX.to_string()),
            ("ZREVRANGE z 0 1 REV", SYNTAX.to_string()),
            ("ZREVRANGEBYLEX z + - BYLEX", SYNTAX.to_string()),
            ("ZRANGE z 0 1 BYSCORE LIMIT x 1", NOT_INT.to_string()),
            ("ZRANGE z 0 1 BYSCORE LIMIT 0 1.5", NOT_INT.to_string()),
            ("ZRANGE z x 1", NOT_INT.to_string()),
            ("ZRANGE z 0 1.0", NOT_INT.to_string()),
            ("ZRANGE z x 1 BYSCORE", SCORE_RANGE.to_string()),
            ("ZRANGE z 0 1x BYSCORE", SCORE_RANGE.to_string()),
            ("ZRANGE z ((1 2 BYSCORE", SCORE_RANGE.to_string()),
            ("ZRANGE z a b BYLEX", LEX_RANGE.to_string()),
            ("ZRANGE z [a +b BYLEX", LEX_RANGE.to_string()),
            ("ZRANGEBYSCORE z nan 1", SCORE_RANGE.to_string()),
            ("ZRANGEBYLEX z - c", LEX_RANGE.to_string()),
            // Options and bounds are checked before the key.
            ("ZRANGE s 0 1 FOO", SYNTAX.to_string()),
            ("ZRANGE s x 1 BYSCORE", SCORE_RANGE.to_string()),
            ("ZRANGE s 0 1", WRONGTYPE.to_string()),
            (
                "ZRANGE z",
                err("ERR wrong number of arguments for 'zrange' command"),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn resp3_withscores_pairs_are_nested_doubles() {
    let engine = Engine::start().await;
    let mut raw = resp3(&engine).await;
    run(
        &mut raw,
        &[
            ("ZADD z 1.5 a 2 b +inf c", int(3)),
            (
                "ZRANGE z 0 -1 WITHSCORES",
                nested(&[("a", "1.5"), ("b", "2"), ("c", "inf")]),
            ),
            (
                "ZRANGE z (1.5 +inf BYSCORE WITHSCORES",
                nested(&[("b", "2"), ("c", "inf")]),
            ),
            ("ZREVRANGE z 0 0 WITHSCORES", nested(&[("c", "inf")])),
            (
                "ZRANGEBYSCORE z -inf 2 WITHSCORES LIMIT 1 1",
                nested(&[("b", "2")]),
            ),
            (
                "ZREVRANGEBYSCORE z 2 -inf WITHSCORES",
                nested(&[("b", "2"), ("a", "1.5")]),
            ),
            ("ZRANGE z 0 -1", arr(&["a", "b", "c"])),
            ("ZRANGE z 5 6 WITHSCORES", EMPTY.to_string()),
        ],
    )
    .await;
}

#[tokio::test]
async fn zrangestore_stores_or_deletes_the_destination() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            (FIVE, int(5)),
            ("ZRANGESTORE d z 0 1", int(2)),
            ("ZRANGE d 0 -1 WITHSCORES", flat(&[("a", "1"), ("b", "2")])),
            ("ZRANGESTORE d z (5 2 BYSCORE REV", int(3)),
            ("ZRANGE d 0 -1 WITHSCORES", flat(&[("b", "2"), ("c", "3"), ("d", "4")])),
            ("ZRANGESTORE d z 2 (5 BYSCORE REV", int(0)),
            ("LPUSHX d probe", int(0)),
            ("ZRANGESTORE d z [c + BYLEX LIMIT 1 1", int(1)),
            ("ZRANGE d 0 -1", arr(&["d"])),
            ("ZRANGESTORE d none 0 -1", int(0)),
            ("LPUSHX d probe", int(0)),
            // Any type at the destination is replaced.
            ("SET s x", OK.to_string()),
            ("ZRANGESTORE s z -1 -1", int(1)),
            ("ZRANGE s 0 -1 WITHSCORES", flat(&[("e", "5")])),
            ("SET t x", OK.to_string()),
            ("ZRANGESTORE d t 0 -1", WRONGTYPE.to_string()),
            ("ZRANGESTORE d z 0 1 WITHSCORES", SYNTAX.to_string()),
            ("ZRANGESTORE d z 0 1 LIMIT 0 1", err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")),
            // The source may be the destination.
            ("ZRANGESTORE z z 1 2", int(2)),
            ("ZRANGE z 0 -1", arr(&["b", "c"])),
        ],
    )
    .await;
}

#[tokio::test]
async fn counts() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            (FIVE, int(5)),
            ("ZCOUNT z 2 4", int(3)),
            ("ZCOUNT z (2 (4", int(1)),
            ("ZCOUNT z -inf +inf", int(5)),
            ("ZCOUNT z (5 +inf", int(0)),
            ("ZCOUNT z 4 2", int(0)),
            ("ZCOUNT none 0 1", int(0)),
            ("ZCOUNT z x 1", SCORE_RANGE.to_string()),
            ("ZADD l 0 a 0 b 0 c", int(3)),
            ("ZLEXCOUNT l - +", int(3)),
            ("ZLEXCOUNT l (a [c", int(2)),
            ("ZLEXCOUNT l [b (b", int(0)),
            ("ZLEXCOUNT none - +", int(0)),
            ("ZLEXCOUNT l a +", LEX_RANGE.to_string()),
            ("SET s x", OK.to_string()),
            ("ZCOUNT s x 1", SCORE_RANGE.to_string()),
            ("ZLEXCOUNT s - +", WRONGTYPE.to_string()),
        ],
    )
    .await;
}

#[tokio::test]
async fn range_removals_delete_the_emptied_key() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            (FIVE, int(5)),
            ("ZREMRANGEBYRANK z x 1", NOT_INT.to_string()),
            ("ZREMRANGEBYRANK z 10 20", int(0)),
            ("ZREMRANGEBYRANK z -2 -1", int(2)),
            ("ZRANGE z 0 -1", arr(&["a", "b", "c"])),
            ("ZREMRANGEBYSCORE z x 1", SCORE_RANGE.to_string()),
            ("ZREMRANGEBYSCORE z (1 2", int(1)),
            ("ZRANGE z 0 -1", arr(&["a", "c"])),
            ("ZREMRANGEBYLEX z x y", LEX_RANGE.to_string()),
            ("ZREMRANGEBYLEX z (a +", int(1)),
            ("ZREMRANGEBYLEX z - +", int(1)),
            ("LPUSHX z probe", int(0)),
            ("ZREMRANGEBYRANK none 0 -1", int(0)),
            ("ZREMRANGEBYSCORE none -inf +inf", int(0)),
            ("ZREMRANGEBYLEX none - +", int(0)),
            (FIVE, int(5)),
            ("ZREMRANGEBYSCORE z -inf +inf", int(5)),
            ("LPUSHX z probe", int(0)),
            (FIVE, int(5)),
            ("ZREMRANGEBYRANK z 0 -1", int(5)),
            ("LPUSHX z probe", int(0)),
        ],
    )
    .await;
}

/// The same queries against a 300-element sorted set (the big encoding) and
/// against the answer computed here.
#[tokio::test]
async fn big_sets_answer_like_small_ones() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut zadd = redis::cmd("ZADD");
    zadd.arg("z");
    let members: Vec<(String, i64)> = (0..300).map(|i| (format!("m{i:03}"), i / 2)).collect();
    for (member, score) in &members {
        zadd.arg(*score).arg(member);
    }
    let _: i64 = zadd.query_async(&mut con).await.unwrap();
    let query = |args: &[&str]| {
        let mut cmd = redis::cmd(args[0]);
        cmd.arg(&args[1..]);
        cmd
    };
    let names = |range: std::ops::Range<usize>| -> Vec<String> {
        members[range].iter().map(|(m, _)| m.clone()).collect()
    };
    let got: Vec<String> = query(&["ZRANGE", "z", "10", "19"])
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(got, names(10..20));
    let got: Vec<String> = query(&["ZRANGE", "z", "(10", "12", "BYSCORE"])
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(got, names(22..26));
    let got: Vec<String> = query(&[
        "ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "5", "3",
    ])
    .query_async(&mut con)
    .await
    .unwrap();
    let mut want = names(292..295);
    want.reverse();
    assert_eq!(got, want);
    let got: Vec<String> = query(&["ZRANGE", "z", "-3", "-1", "REV"])
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(got, vec!["m002", "m001", "m000"]);
    let count: i64 = query(&["ZCOUNT", "z", "(100", "+inf"])
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(count, 98);
    let rank: i64 = query(&["ZREVRANK", "z", "m000"])
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(rank, 299);
    let removed: i64 = query(&["ZREMRANGEBYSCORE", "z", "-inf", "(50"])
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(removed, 100);
    let removed: i64 = query(&["ZREMRANGEBYRANK", "z", "0", "9"])
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(removed, 10);
    let first: Vec<String> = query(&["ZRANGE", "z", "0", "0"])
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(first, names(110..111));
    let card: i64 = query(&["ZCARD", "z"]).query_async(&mut con).await.unwrap();
    assert_eq!(card, 190);
}
