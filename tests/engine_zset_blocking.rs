//! Blocking sorted-set pops across connections: BZPOPMIN, BZPOPMAX and BZMPOP
//! woken by ZADD and by a store from another client, served oldest waiter
//! first, timing out, and kept waiting through a write of another type.

mod support;
mod zset_common;

use std::time::Duration;

use redis::Value;
use support::{Engine, Raw};
use zset_common::*;

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
