//! Sorted-set pops against the bundled engine: ZPOPMIN, ZPOPMAX, ZMPOP and the
//! blocking BZPOPMIN, BZPOPMAX and BZMPOP, served at once, woken by a ZADD
//! from another connection, timing out, inside MULTI, in RESP2 and RESP3.

mod support;
mod zset_common;

use std::time::{Duration, Instant};

use redis::Value;
use support::{Engine, Raw};
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

fn bzpop(name: &str, keys: &[&str], timeout: f64) -> redis::Cmd {
    let mut cmd = redis::cmd(name);
    cmd.arg(keys).arg(timeout);
    cmd
}

fn triple(key: &str, member: &str, score: &str) -> Value {
    bulks(&[key, member, score])
}

#[tokio::test(flavor = "multi_thread")]
async fn bzpopmin_is_woken_by_zadd_from_another_connection() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let waiter = block_on(&engine, "a", bzpop("BZPOPMIN", &["other", "z"], 0.0));
    wait_ready(&mut con, 1).await;
    let added: i64 = redis::cmd("ZADD")
        .arg("z")
        .arg(2)
        .arg("b")
        .arg(1)
        .arg("a")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(added, 2, "ZADD replies before the waiter pops");
    assert_eq!(outcome(waiter).await, triple("z", "a", "1"));
    let left: Vec<String> = redis::cmd("ZRANGE")
        .arg("z")
        .arg(0)
        .arg(-1)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(left, ["b"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn waiters_are_served_in_the_order_they_blocked_and_emptied_keys_go() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let first = block_on(&engine, "first", bzpop("BZPOPMAX", &["z"], 0.0));
    wait_ready(&mut con, 1).await;
    let second = block_on(&engine, "second", bzpop("BZPOPMAX", &["z"], 0.0));
    wait_ready(&mut con, 2).await;
    let third = block_on(&engine, "third", bzpop("BZPOPMAX", &["z"], 0.0));
    wait_ready(&mut con, 3).await;
    let _: i64 = redis::cmd("ZADD")
        .arg("z")
        .arg(1)
        .arg("a")
        .arg(2)
        .arg("b")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(outcome(first).await, triple("z", "b", "2"));
    assert_eq!(outcome(second).await, triple("z", "a", "1"));
    let gone: i64 = redis::cmd("LPUSHX")
        .arg("z")
        .arg("probe")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(gone, 0, "the emptied sorted set is deleted");
    let _: i64 = redis::cmd("ZADD")
        .arg("z")
        .arg(3)
        .arg("c")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(outcome(third).await, triple("z", "c", "3"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bzmpop_is_woken_by_a_store_into_its_key() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut cmd = redis::cmd("BZMPOP");
    cmd.arg(0)
        .arg(2)
        .arg("x")
        .arg("dest")
        .arg("MIN")
        .arg("COUNT")
        .arg(2);
    let waiter = block_on(&engine, "a", cmd);
    wait_ready(&mut con, 1).await;
    let _: i64 = redis::cmd("ZADD")
        .arg("src")
        .arg(1)
        .arg("a")
        .arg(2)
        .arg("b")
        .arg(3)
        .arg("c")
        .query_async(&mut con)
        .await
        .unwrap();
    let stored: i64 = redis::cmd("ZUNIONSTORE")
        .arg("dest")
        .arg(1)
        .arg("src")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(stored, 3);
    let pair = |m: &str, s: &str| bulks(&[m, s]);
    let want = Value::Array(vec![
        Value::BulkString(b"dest".to_vec()),
        Value::Array(vec![pair("a", "1"), pair("b", "2")]),
    ]);
    assert_eq!(outcome(waiter).await, want);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resp3_waiter_gets_doubles_when_woken_by_a_resp2_client() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut waiter = resp3(&engine).await;
    // One batch: announced on `ready` under the lock it blocks under.
    let mut batch = support::cmd(&["RPUSH", "ready", "w"]);
    batch.extend(support::cmd(&["BZPOPMIN", "z", "0"]));
    waiter.send(&batch).await;
    assert_eq!(waiter.read_exact_len(4).await, int(1).as_bytes());
    wait_ready(&mut con, 1).await;
    let mut feeder = Raw::connect(engine.addr).await;
    run(&mut feeder, &[("ZADD z 2.5 m", int(1))]).await;
    let want = format!("*3\r\n{}{}{}", bulk("z"), bulk("m"), double("2.5"));
    assert_eq!(waiter.read_exact_len(want.len()).await, want.as_bytes());
    let card: i64 = redis::cmd("ZCARD")
        .arg("z")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(card, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timed_out_waiter_leaves_the_element_to_others() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let waiter = block_on(&engine, "a", bzpop("BZPOPMIN", &["z"], 0.05));
    assert_eq!(outcome(waiter).await, Value::Nil);
    let _: i64 = redis::cmd("ZADD")
        .arg("z")
        .arg(1)
        .arg("a")
        .query_async(&mut con)
        .await
        .unwrap();
    let card: i64 = redis::cmd("ZCARD")
        .arg("z")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(card, 1, "nobody took it");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_type_write_keeps_the_waiter_blocked() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let waiter = block_on(&engine, "a", bzpop("BZPOPMIN", &["z"], 0.0));
    wait_ready(&mut con, 1).await;
    // A list at z: Redis leaves the waiter blocked rather than failing it.
    let _: i64 = redis::cmd("RPUSH")
        .arg("z")
        .arg("x")
        .query_async(&mut con)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiter.is_finished(), "still blocked");
    let _: String = redis::cmd("LPOP")
        .arg("z")
        .query_async(&mut con)
        .await
        .unwrap();
    let _: i64 = redis::cmd("ZADD")
        .arg("z")
        .arg(1)
        .arg("a")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(outcome(waiter).await, triple("z", "a", "1"));
}
