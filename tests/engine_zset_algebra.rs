//! Sorted-set algebra against the bundled engine: ZUNION, ZINTER, ZDIFF, their
//! `*STORE` forms and ZINTERCARD, with WEIGHTS, AGGREGATE, the `inf * 0 = 0`
//! rule, plain sets as inputs (scoring 1), errors in Redis's order, and the
//! RESP3 shape of WITHSCORES.

mod support;
mod zset_common;

use support::Engine;
use zset_common::*;

const SETUP: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c", ":3\r\n"),
    ("ZADD y 10 b inf c -inf d", ":3\r\n"),
    ("SADD s a b x", ":3\r\n"),
    ("SADD n 1 2 3", ":3\r\n"),
    ("SET str v", "+OK\r\n"),
];

async fn with_setup(engine: &Engine, steps: &[(&str, String)]) {
    let mut all: Vec<(&str, String)> = SETUP.iter().map(|&(l, r)| (l, r.to_string())).collect();
    all.extend(steps.iter().cloned());
    script(engine, &all).await;
}

#[tokio::test]
async fn union_with_weights_and_aggregates() {
    let engine = Engine::start().await;
    with_setup(
        &engine,
        &[
            ("ZUNION 2 z y", arr(&["d", "a", "b", "c"])),
            (
                "ZUNION 2 z y WITHSCORES",
                flat(&[("d", "-inf"), ("a", "1"), ("b", "12"), ("c", "inf")]),
            ),
            // inf * 0 is 0, and so is -inf * 0.
            (
                "ZUNION 2 z y WEIGHTS 1 0 WITHSCORES",
                flat(&[("d", "0"), ("a", "1"), ("b", "2"), ("c", "3")]),
            ),
            (
                "ZUNION 2 z y WEIGHTS 0 -1 AGGREGATE MIN WITHSCORES",
                flat(&[("c", "-inf"), ("b", "-10"), ("a", "0"), ("d", "inf")]),
            ),
            (
                "ZUNION 2 z y AGGREGATE max WITHSCORES",
                flat(&[("d", "-inf"), ("a", "1"), ("b", "10"), ("c", "inf")]),
            ),
            (
                "ZUNION 2 z y aggregate sum weights 2 1 withscores",
                flat(&[("d", "-inf"), ("a", "2"), ("b", "14"), ("c", "inf")]),
            ),
            (
                "ZUNION 2 z z WITHSCORES",
                flat(&[("a", "2"), ("b", "4"), ("c", "6")]),
            ),
            (
                "ZUNION 2 z none WITHSCORES",
                flat(&[("a", "1"), ("b", "2"), ("c", "3")]),
            ),
            ("ZUNION 1 none", EMPTY.to_string()),
            ("ZADD w 0 a", int(1)),
            // The temporary result keeps -0, as Redis's reply shows it.
            ("ZUNION 1 w WEIGHTS -1 WITHSCORES", flat(&[("a", "-0")])),
        ],
    )
    .await;
}

#[tokio::test]
async fn intersection_and_its_nan_rules() {
    let engine = Engine::start().await;
    with_setup(
        &engine,
        &[
            (
                "ZINTER 2 z y WITHSCORES",
                flat(&[("b", "12"), ("c", "inf")]),
            ),
            (
                "ZINTER 2 z y AGGREGATE MAX WITHSCORES",
                flat(&[("b", "10"), ("c", "inf")]),
            ),
            // c: 3 + inf * 0 is NaN, which a SUM turns into 0 ...
            (
                "ZINTER 2 z y WEIGHTS 1 0 WITHSCORES",
                flat(&[("c", "0"), ("b", "2")]),
            ),
            // ... and which never wins a MIN.
            (
                "ZINTER 2 z y WEIGHTS 1 0 AGGREGATE MIN WITHSCORES",
                flat(&[("b", "0"), ("c", "3")]),
            ),
            (
                "ZINTER 2 z z WITHSCORES",
                flat(&[("a", "2"), ("b", "4"), ("c", "6")]),
            ),
            ("ZINTER 2 z none", EMPTY.to_string()),
            ("ZINTER 1 z", arr(&["a", "b", "c"])),
            ("ZINTERCARD 2 z y", int(2)),
            ("ZINTERCARD 2 z y LIMIT 1", int(1)),
            ("ZINTERCARD 2 z y LIMIT 0", int(2)),
            ("ZINTERCARD 2 z y LIMIT 10", int(2)),
            ("ZINTERCARD 2 z none", int(0)),
        ],
    )
    .await;
}

#[tokio::test]
async fn difference() {
    let engine = Engine::start().await;
    with_setup(
        &engine,
        &[
            ("ZDIFF 2 z y WITHSCORES", flat(&[("a", "1")])),
            ("ZDIFF 2 y z WITHSCORES", flat(&[("d", "-inf")])),
            ("ZDIFF 1 y", arr(&["d", "b", "c"])),
            ("ZDIFF 2 z none", arr(&["a", "b", "c"])),
            ("ZDIFF 2 none z", EMPTY.to_string()),
            ("ZDIFF 3 z y z", EMPTY.to_string()),
        ],
    )
    .await;
}

#[tokio::test]
async fn plain_sets_are_inputs_scoring_one() {
    let engine = Engine::start().await;
    with_setup(
        &engine,
        &[
            (
                "ZUNION 2 z s WITHSCORES",
                flat(&[("x", "1"), ("a", "2"), ("b", "3"), ("c", "3")]),
            ),
            (
                "ZINTER 2 z s WEIGHTS 2 3 WITHSCORES",
                flat(&[("a", "5"), ("b", "7")]),
            ),
            ("ZDIFF 2 z s WITHSCORES", flat(&[("c", "3")])),
            ("ZDIFF 2 s z WITHSCORES", flat(&[("x", "1")])),
            // An intset's members are the integers' text.
            ("ZADD nums 5 1 7 3 1 01", int(3)),
            (
                "ZUNION 2 nums n WITHSCORES",
                flat(&[("01", "1"), ("2", "1"), ("1", "6"), ("3", "8")]),
            ),
            ("ZINTERCARD 3 nums n s", int(0)),
            ("ZINTERCARD 2 nums n", int(2)),
            ("ZUNIONSTORE d 2 s n", int(6)),
            (
                "ZRANGE d 0 -1 WITHSCORES",
                flat(&[
                    ("1", "1"),
                    ("2", "1"),
                    ("3", "1"),
                    ("a", "1"),
                    ("b", "1"),
                    ("x", "1"),
                ]),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn stores_replace_or_delete_the_destination() {
    let engine = Engine::start().await;
    with_setup(
        &engine,
        &[
            ("ZUNIONSTORE d 2 z y WEIGHTS 1 2 AGGREGATE MAX", int(4)),
            (
                "ZRANGE d 0 -1 WITHSCORES",
                flat(&[("d", "-inf"), ("a", "1"), ("b", "20"), ("c", "inf")]),
            ),
            // inf * 0 and -inf * 0 are stored as 0.
            ("ZUNIONSTORE d 2 z y WEIGHTS 1 0", int(4)),
            (
                "ZRANGE d 0 -1 WITHSCORES",
                flat(&[("d", "0"), ("a", "1"), ("b", "2"), ("c", "3")]),
            ),
            ("ZINTERSTORE d 2 z y WEIGHTS 1 0", int(2)),
            ("ZRANGE d 0 -1 WITHSCORES", flat(&[("c", "0"), ("b", "2")])),
            ("ZINTERSTORE d 2 z y", int(2)),
            (
                "ZRANGE d 0 -1 WITHSCORES",
                flat(&[("b", "12"), ("c", "inf")]),
            ),
            ("ZDIFFSTORE d 2 z y", int(1)),
            ("ZRANGE d 0 -1 WITHSCORES", flat(&[("a", "1")])),
            ("ZINTERSTORE d 2 z none", int(0)),
            ("LPUSHX d probe", int(0)),
            ("ZDIFFSTORE d 1 none", int(0)),
            // Any type at the destination is replaced.
            ("ZUNIONSTORE str 1 z", int(3)),
            ("ZCARD str", int(3)),
            // The destination may be an input.
            ("ZUNIONSTORE z 2 z z", int(3)),
            (
                "ZRANGE z 0 -1 WITHSCORES",
                flat(&[("a", "2"), ("b", "4"), ("c", "6")]),
            ),
            // A stored -0 reads back as 0, as from Redis's listpack.
            ("ZADD w 0 a", int(1)),
            ("ZUNIONSTORE d 1 w WEIGHTS -1", int(1)),
            ("ZSCORE d a", bulk("0")),
        ],
    )
    .await;
}

#[tokio::test]
async fn errors_in_redis_order() {
    let engine = Engine::start().await;
    let at_least = |name: &str| {
        err(&format!(
            "ERR at least 1 input key is needed for '{name}' command"
        ))
    };
    with_setup(
        &engine,
        &[
            ("ZUNION 0 z", at_least("zunion")),
            ("ZINTER -1 z", at_least("zinter")),
            ("ZDIFF 0 z", at_least("zdiff")),
            ("ZINTERCARD 0 z", at_least("zintercard")),
            ("ZUNIONSTORE d 0 z", at_least("zunionstore")),
            ("zinterstore d 0 z", at_least("zinterstore")),
            ("ZDIFFSTORE d 0 z", at_least("zdiffstore")),
            ("ZUNION x z", NOT_INT.to_string()),
            ("ZUNION 3 z y", SYNTAX.to_string()),
            ("ZUNIONSTORE d 2 z", SYNTAX.to_string()),
            // The inputs' types are checked before the options.
            ("ZUNION 1 str WEIGHTS x", WRONGTYPE.to_string()),
            ("ZUNION 2 z str FOO", WRONGTYPE.to_string()),
            ("ZUNION 2 z y WEIGHTS 1", SYNTAX.to_string()),
            (
                "ZUNION 2 z y WEIGHTS 1 x",
                err("ERR weight value is not a float"),
            ),
            (
                "ZUNION 1 z WEIGHTS nan",
                err("ERR weight value is not a float"),
            ),
            (
                "ZUNION 1 z WEIGHTS 1e400",
                err("ERR weight value is not a float"),
            ),
            ("ZUNION 2 z y AGGREGATE AVG", SYNTAX.to_string()),
            ("ZUNION 2 z y AGGREGATE", SYNTAX.to_string()),
            ("ZUNION 1 z LIMIT 1", SYNTAX.to_string()),
            ("ZUNIONSTORE d 2 z y WITHSCORES", SYNTAX.to_string()),
            ("ZDIFF 2 z y WEIGHTS 1 1", SYNTAX.to_string()),
            ("ZDIFF 2 z y AGGREGATE SUM", SYNTAX.to_string()),
            ("ZINTERCARD 2 z y WITHSCORES", SYNTAX.to_string()),
            ("ZINTERCARD 2 z y WEIGHTS 1 1", SYNTAX.to_string()),
            ("ZINTERCARD 2 z y LIMIT", SYNTAX.to_string()),
            (
                "ZINTERCARD 2 z y LIMIT -1",
                err("ERR LIMIT can't be negative"),
            ),
            (
                "ZINTERCARD 2 z y LIMIT x",
                err("ERR LIMIT can't be negative"),
            ),
            ("GET d", NIL.to_string()),
        ],
    )
    .await;
}

#[tokio::test]
async fn resp3_withscores_are_nested_doubles() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            (SETUP[0].0, int(3)),
            (SETUP[1].0, int(3)),
            (SETUP[2].0, int(3)),
        ],
    )
    .await;
    let mut raw = resp3(&engine).await;
    run(
        &mut raw,
        &[
            (
                "ZUNION 2 z y WITHSCORES",
                nested(&[("d", "-inf"), ("a", "1"), ("b", "12"), ("c", "inf")]),
            ),
            ("ZINTER 2 z s WITHSCORES", nested(&[("a", "2"), ("b", "3")])),
            ("ZDIFF 2 z y WITHSCORES", nested(&[("a", "1")])),
            ("ZDIFF 2 z y", arr(&["a"])),
            ("ZUNIONSTORE d 2 z y", int(4)),
        ],
    )
    .await;
}

/// A union of two big sets (the big encoding) is stored in the big encoding
/// and holds exactly the expected elements.
#[tokio::test]
async fn big_unions_and_intersections() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    for (key, start) in [("a", 0), ("b", 150)] {
        let mut zadd = redis::cmd("ZADD");
        zadd.arg(key);
        for i in start..start + 300 {
            zadd.arg(i).arg(format!("m{i:04}"));
        }
        let _: i64 = zadd.query_async(&mut con).await.unwrap();
    }
    let stored: i64 = redis::cmd("ZUNIONSTORE")
        .arg("u")
        .arg(2)
        .arg("a")
        .arg("b")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(stored, 450);
    let inter: Vec<(String, f64)> = redis::cmd("ZINTER")
        .arg(2)
        .arg("a")
        .arg("b")
        .arg("WITHSCORES")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(inter.len(), 150);
    assert!(inter
        .iter()
        .enumerate()
        .all(|(i, (m, s))| *m == format!("m{:04}", 150 + i) && *s == 2.0 * (150 + i) as f64));
    let card: i64 = redis::cmd("ZINTERCARD")
        .arg(2)
        .arg("a")
        .arg("b")
        .arg("LIMIT")
        .arg(100)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(card, 100);
    let diff: i64 = redis::cmd("ZDIFFSTORE")
        .arg("d")
        .arg(2)
        .arg("b")
        .arg("a")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(diff, 150);
    let top: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg("u")
        .arg(-1)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async(&mut con)
        .await
        .unwrap();
    // Members in both sum their scores: the top one is m0299 (299 + 299).
    assert_eq!(top, vec![("m0299".to_string(), 598.0)]);
}
