//! Sorted-set pops against the bundled engine: ZPOPMIN, ZPOPMAX, ZMPOP and the
//! blocking BZPOPMIN, BZPOPMAX and BZMPOP on one connection: served at once,
//! timing out, inside MULTI, argument errors, RESP2 and RESP3 shapes. Waking
//! across connections is `engine_zset_blocking.rs`.

mod support;
mod zset_common;

use std::time::{Duration, Instant};

use support::Engine;
use zset_common::*;

/// `[key, [[member, score], …]]` as ZMPOP replies in RESP2.
fn mpop(key: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = format!("*2\r\n{}*{}\r\n", bulk(key), pairs.len());
    for (member, score) in pairs {
        out.push_str(&arr(&[member, score]));
    }
    out
}

#[tokio::test]
async fn zpopmin_and_zpopmax() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("ZADD z 1 a 2 b 3 c 4 d", int(4)),
            ("ZPOPMIN z", arr(&["a", "1"])),
            ("ZPOPMAX z", arr(&["d", "4"])),
            ("ZPOPMIN z 0", EMPTY.to_string()),
            ("ZPOPMIN z 1", arr(&["b", "2"])),
            ("ZPOPMAX z 10", arr(&["c", "3"])),
            ("LPUSHX z probe", int(0)),
            ("ZPOPMIN z", EMPTY.to_string()),
            ("ZPOPMAX z 3", EMPTY.to_string()),
            ("ZADD z 1 a 2 b 3 c", int(3)),
            ("ZPOPMAX z 2", arr(&["c", "3", "b", "2"])),
            (
                "ZPOPMIN z -1",
                err("ERR value is out of range, must be positive"),
            ),
            ("ZPOPMIN z x", NOT_INT.to_string()),
            ("ZPOPMIN z 1 2", SYNTAX.to_string()),
            ("SET s x", OK.to_string()),
            ("ZPOPMIN s", WRONGTYPE.to_string()),
            // A count of 0 still checks the key's type, as in Redis.
            ("ZPOPMIN s 0", WRONGTYPE.to_string()),
            ("ZPOPMAX none 0", EMPTY.to_string()),
        ],
    )
    .await;
}

#[tokio::test]
async fn zmpop_pops_from_the_first_non_empty_key() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("ZADD b 1 x 2 y 3 z", int(3)),
            ("ZMPOP 2 a b MIN", mpop("b", &[("x", "1")])),
            (
                "ZMPOP 2 a b max COUNT 5",
                mpop("b", &[("z", "3"), ("y", "2")]),
            ),
            ("LPUSHX b probe", int(0)),
            ("ZMPOP 2 a b MIN", NIL_ARRAY.to_string()),
            ("ZMPOP 0 a MIN", err("ERR numkeys should be greater than 0")),
            (
                "ZMPOP -1 a MIN",
                err("ERR numkeys should be greater than 0"),
            ),
            ("ZMPOP x a MIN", err("ERR numkeys should be greater than 0")),
            ("ZMPOP 2 a MIN", SYNTAX.to_string()),
            ("ZMPOP 1 a MIDDLE", SYNTAX.to_string()),
            ("ZMPOP 1 a MIN COUNT", SYNTAX.to_string()),
            ("ZMPOP 1 a MIN COUNT 1 COUNT 2", SYNTAX.to_string()),
            ("ZMPOP 1 a MIN LIMIT 1", SYNTAX.to_string()),
            (
                "ZMPOP 1 a MIN COUNT 0",
                err("ERR count should be greater than 0"),
            ),
            (
                "ZMPOP 1 a MIN COUNT -1",
                err("ERR count should be greater than 0"),
            ),
            (
                "ZMPOP 1 a MIN COUNT x",
                err("ERR count should be greater than 0"),
            ),
            ("SET s x", OK.to_string()),
            ("ZADD c 1 x", int(1)),
            ("ZMPOP 2 s c MIN", WRONGTYPE.to_string()),
            // A non-empty key before a wrong-type one is popped.
            ("ZMPOP 2 c s MIN", mpop("c", &[("x", "1")])),
        ],
    )
    .await;
}

#[tokio::test]
async fn resp3_pop_shapes() {
    let engine = Engine::start().await;
    let mut raw = resp3(&engine).await;
    let pair = |m: &str, s: &str| format!("*2\r\n{}{}", bulk(m), double(s));
    run(
        &mut raw,
        &[
            ("ZADD z 1.5 a 2 b 3 c 4 d 5 e", int(5)),
            // Without a count, one flat pair; with one, nested pairs.
            ("ZPOPMIN z", pair("a", "1.5")),
            ("ZPOPMIN z 1", nested(&[("b", "2")])),
            ("ZPOPMAX z 2", nested(&[("e", "5"), ("d", "4")])),
            (
                "ZMPOP 1 z MIN",
                format!("*2\r\n{}{}", bulk("z"), nested(&[("c", "3")])),
            ),
            ("ZMPOP 1 z MIN", "_\r\n".to_string()),
            ("ZPOPMIN z", EMPTY.to_string()),
            ("ZADD z inf x", int(1)),
            (
                "BZPOPMAX z 0",
                format!("*3\r\n{}{}{}", bulk("z"), bulk("x"), double("inf")),
            ),
            ("ZADD z -inf y", int(1)),
            (
                "BZMPOP 0 1 z MAX COUNT 3",
                format!("*2\r\n{}{}", bulk("z"), nested(&[("y", "-inf")])),
            ),
            ("BZPOPMIN z 0.01", "_\r\n".to_string()),
            ("BZMPOP 0.01 1 z MIN", "_\r\n".to_string()),
        ],
    )
    .await;
}

#[tokio::test]
async fn blocking_pops_serve_available_data_at_once() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("ZADD b 1 x 2 y", int(2)),
            ("BZPOPMIN a b 0", arr(&["b", "x", "1"])),
            ("BZPOPMAX a b 0", arr(&["b", "y", "2"])),
            ("LPUSHX b probe", int(0)),
            ("ZADD c 1 x 2 y 3 z", int(3)),
            (
                "BZMPOP 0 2 a c MAX COUNT 2",
                mpop("c", &[("z", "3"), ("y", "2")]),
            ),
            ("BZMPOP 1.5 1 c MIN COUNT 9", mpop("c", &[("x", "1")])),
        ],
    )
    .await;
}

#[tokio::test]
async fn blocking_pops_check_arguments_in_redis_order() {
    let engine = Engine::start().await;
    let negative = err("ERR timeout is negative");
    let not_float = err("ERR timeout is not a float or out of range");
    script(
        &engine,
        &[
            ("SET s x", OK.to_string()),
            ("BZPOPMIN k -1", negative.clone()),
            ("BZPOPMIN k inf", negative.clone()),
            ("BZPOPMIN k 1e30", negative.clone()),
            ("BZPOPMAX k abc", not_float.clone()),
            ("BZPOPMIN s x", not_float.clone()),
            ("BZPOPMIN s 0", WRONGTYPE.to_string()),
            (
                "BZPOPMIN k",
                err("ERR wrong number of arguments for 'bzpopmin' command"),
            ),
            ("BZMPOP -1 1 k MIN", negative.clone()),
            ("BZMPOP x 1 k MIN", not_float.clone()),
            // numkeys, MIN|MAX and COUNT come before the timeout, as in Redis.
            (
                "BZMPOP -1 0 k MIN",
                err("ERR numkeys should be greater than 0"),
            ),
            ("BZMPOP -1 1 k UP", SYNTAX.to_string()),
            (
                "BZMPOP -1 1 k MIN COUNT 0",
                err("ERR count should be greater than 0"),
            ),
            ("BZMPOP 0 1 s MIN", WRONGTYPE.to_string()),
        ],
    )
    .await;
}

#[tokio::test]
async fn timeouts_reply_null_arrays() {
    let engine = Engine::start().await;
    let started = Instant::now();
    script(
        &engine,
        &[
            ("BZPOPMIN k 0.05", NIL_ARRAY.to_string()),
            ("BZPOPMAX j k 0.05", NIL_ARRAY.to_string()),
            ("BZMPOP 0.05 2 j k MIN COUNT 2", NIL_ARRAY.to_string()),
        ],
    )
    .await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(150),
        "each call waited its timeout: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(3),
        "and not much longer: {waited:?}"
    );
}

#[tokio::test]
async fn blocking_inside_multi_returns_null_at_once() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("MULTI", OK.to_string()),
            ("BZPOPMIN k 0", "+QUEUED\r\n".to_string()),
            ("BZMPOP 0 1 k MAX", "+QUEUED\r\n".to_string()),
            ("ZADD k 1 a", "+QUEUED\r\n".to_string()),
            ("BZPOPMAX k 0", "+QUEUED\r\n".to_string()),
            (
                "EXEC",
                format!(
                    "*4\r\n{NIL_ARRAY}{NIL_ARRAY}{}{}",
                    int(1),
                    arr(&["k", "a", "1"])
                ),
            ),
        ],
    )
    .await;
}
