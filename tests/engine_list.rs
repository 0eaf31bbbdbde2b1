//! The list family against the bundled engine: every command, its options and
//! errors (exact reply bytes, as redis-server 7.0 prints them), and blocking pops
//! served across connections.

mod support;

use std::time::{Duration, Instant};

use redis::aio::ConnectionLike;
use support::{Engine, Raw};
use tokio::task::JoinHandle;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NIL: &str = "$-1\r\n";
const NIL_ARRAY: &str = "*-1\r\n";
const EMPTY: &str = "*0\r\n";
const OK: &str = "+OK\r\n";
// Deletion of an emptied list is checked with RPUSHX, which answers 0 only for a
// missing key: an empty list kept by mistake would take the element and answer 1.

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

fn arr(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    items.iter().for_each(|s| out.push_str(&bulk(s)));
    out
}

fn ints(items: &[i64]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    items.iter().for_each(|&n| out.push_str(&int(n)));
    out
}

/// `[key, [elements]]` as LMPOP replies.
fn mpop(key: &str, items: &[&str]) -> String {
    format!("*2\r\n{}{}", bulk(key), arr(items))
}

fn err(text: &str) -> String {
    format!("-{text}\r\n")
}

/// Sends each space-separated command on one connection and checks the exact reply.
async fn script(engine: &Engine, steps: &[(&str, String)]) {
    let mut raw = Raw::connect(engine.addr).await;
    for (line, expected) in steps {
        let args: Vec<&str> = line.split(' ').collect();
        raw.roundtrip(&support::cmd(&args), expected.as_bytes())
            .await;
    }
}

#[tokio::test]
async fn pushes_and_length() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("LPUSH l a b c", int(3)),
            ("RPUSH l d", int(4)),
            ("LRANGE l 0 -1", arr(&["c", "b", "a", "d"])),
            ("LLEN l", int(4)),
            ("LLEN missing", int(0)),
            ("LPUSHX missing a", int(0)),
            ("RPUSHX missing a b", int(0)),
            ("LLEN missing", int(0)),
            ("LPUSHX l x y", int(6)),
            ("RPUSHX l z", int(7)),
            ("LRANGE l 0 -1", arr(&["y", "x", "c", "b", "a", "d", "z"])),
            (
                "RPUSH l",
                err("ERR wrong number of arguments for 'rpush' command"),
            ),
            (
                "LPUSHX l",
                err("ERR wrong number of arguments for 'lpushx' command"),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn pops_with_and_without_count() {
    let engine = Engine::start().await;
    let range = "ERR value is out of range, must be positive";
    script(
        &engine,
        &[
            ("RPUSH l a b c d e", int(5)),
            ("LPOP l", bulk("a")),
            ("RPOP l", bulk("e")),
            ("LPOP l 2", arr(&["b", "c"])),
            ("LPOP l 0", EMPTY.into()),
            ("RPOP l 100", arr(&["d"])),
            ("RPUSHX l probe", int(0)),
            ("LPOP l", NIL.into()),
            ("RPOP l", NIL.into()),
            ("LPOP l 1", NIL_ARRAY.into()),
            ("RPOP l 0", NIL_ARRAY.into()),
            ("LPOP l -1", err(range)),
            ("RPOP l abc", err(range)),
            (
                "LPOP l 1 2",
                err("ERR wrong number of arguments for 'lpop' command"),
            ),
            ("RPUSH l a b", int(2)),
            ("RPOP l 9223372036854775807", arr(&["b", "a"])),
            ("RPOP l 9223372036854775808", err(range)),
        ],
    )
    .await;
}

#[tokio::test]
async fn ranges_and_indexes() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("RPUSH l a b c d e", int(5)),
            ("LRANGE l 1 2", arr(&["b", "c"])),
            ("LRANGE l -2 -1", arr(&["d", "e"])),
            ("LRANGE l -100 100", arr(&["a", "b", "c", "d", "e"])),
            (
                "LRANGE l -9223372036854775808 9223372036854775807",
                arr(&["a", "b", "c", "d", "e"]),
            ),
            ("LRANGE l 3 1", EMPTY.into()),
            ("LRANGE l 5 10", EMPTY.into()),
            ("LRANGE l 0 -6", EMPTY.into()),
            ("LRANGE missing 0 -1", EMPTY.into()),
            ("LRANGE l a 1", NOT_INT.into()),
            ("LRANGE missing 0 b", NOT_INT.into()),
            ("LINDEX l 0", bulk("a")),
            ("LINDEX l -1", bulk("e")),
            ("LINDEX l -5", bulk("a")),
            ("LINDEX l -6", NIL.into()),
            ("LINDEX l 5", NIL.into()),
            ("LINDEX missing 0", NIL.into()),
            // A missing key answers before the index is read, as in Redis.
            ("LINDEX missing x", NIL.into()),
            ("LINDEX l x", NOT_INT.into()),
        ],
    )
    .await;
}

#[tokio::test]
async fn lset_and_its_errors() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("LSET missing 0 x", err("ERR no such key")),
            ("LSET missing x x", err("ERR no such key")),
            ("RPUSH l a b c", int(3)),
            ("LSET l 0 A", OK.into()),
            ("LSET l -1 C", OK.into()),
            ("LRANGE l 0 -1", arr(&["A", "b", "C"])),
            ("LSET l 3 x", err("ERR index out of range")),
            ("LSET l -4 x", err("ERR index out of range")),
            ("LSET l x x", NOT_INT.into()),
        ],
    )
    .await;
}

#[tokio::test]
async fn linsert_lrem_ltrim() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("RPUSH l a b c", int(3)),
            ("LINSERT l BEFORE b x", int(4)),
            ("LINSERT l after c y", int(5)),
            ("LRANGE l 0 -1", arr(&["a", "x", "b", "c", "y"])),
            ("LINSERT l BEFORE zz w", int(-1)),
            ("LINSERT missing BEFORE a w", int(0)),
            ("LINSERT l MIDDLE a w", SYNTAX.into()),
            ("LINSERT missing MIDDLE a w", SYNTAX.into()),
            ("RPUSHX missing x", int(0)),
            ("RPUSH r a b a c a b a", int(7)),
            ("LREM r 2 a", int(2)),
            ("LRANGE r 0 -1", arr(&["b", "c", "a", "b", "a"])),
            ("LREM r -1 b", int(1)),
            ("LRANGE r 0 -1", arr(&["b", "c", "a", "a"])),
            ("LREM r -5 a", int(2)),
            ("LRANGE r 0 -1", arr(&["b", "c"])),
            ("LREM r 0 zz", int(0)),
            ("LREM missing 0 a", int(0)),
            ("LREM r x a", NOT_INT.into()),
            ("LREM r 0 b", int(1)),
            ("LREM r 0 c", int(1)),
            ("RPUSHX r probe", int(0)),
            ("RPUSH t a b c d e", int(5)),
            ("LTRIM t 1 -2", OK.into()),
            ("LRANGE t 0 -1", arr(&["b", "c", "d"])),
            ("LTRIM t -100 100", OK.into()),
            ("LLEN t", int(3)),
            ("LTRIM t -1 -1", OK.into()),
            ("LRANGE t 0 -1", arr(&["d"])),
            ("LTRIM t 5 10", OK.into()),
            ("RPUSHX t probe", int(0)),
            ("LTRIM missing 0 1", OK.into()),
            ("LTRIM t x 1", NOT_INT.into()),
        ],
    )
    .await;
}

#[tokio::test]
async fn lpos_options_and_errors() {
    let engine = Engine::start().await;
    let rank_zero = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
    script(
        &engine,
        &[
            ("RPUSH l a b c a b c a", int(7)),
            ("LPOS l a", int(0)),
            ("LPOS l c", int(2)),
            ("LPOS l zz", NIL.into()),
            ("LPOS l a RANK 2", int(3)),
            ("LPOS l a RANK -1", int(6)),
            ("LPOS l a RANK -2", int(3)),
            ("LPOS l a RANK 4", NIL.into()),
            ("LPOS l a RANK 9223372036854775807", NIL.into()),
            ("LPOS l a COUNT 0", ints(&[0, 3, 6])),
            ("LPOS l a COUNT 2", ints(&[0, 3])),
            ("LPOS l a RANK -1 COUNT 2", ints(&[6, 3])),
            ("LPOS l a RANK 2 COUNT 0", ints(&[3, 6])),
            ("LPOS l zz COUNT 0", EMPTY.into()),
            ("LPOS l a COUNT 0 MAXLEN 4", ints(&[0, 3])),
            ("LPOS l a RANK -1 COUNT 0 MAXLEN 1", ints(&[6])),
            ("LPOS l c MAXLEN 2", NIL.into()),
            ("LPOS l c MAXLEN 0", int(2)),
            ("lpos l b rank 1 count 1 maxlen 7", ints(&[1])),
            ("LPOS missing a", NIL.into()),
            ("LPOS missing a COUNT 1", EMPTY.into()),
            ("LPOS l a RANK 0", err(rank_zero)),
            ("LPOS missing a RANK 0", err(rank_zero)),
            ("LPOS l a RANK x", NOT_INT.into()),
            ("LPOS l a COUNT -1", err("ERR COUNT can't be negative")),
            ("LPOS l a COUNT x", err("ERR COUNT can't be negative")),
            ("LPOS l a MAXLEN -1", err("ERR MAXLEN can't be negative")),
            ("LPOS l a RANK", SYNTAX.into()),
            ("LPOS l a FOO 1", SYNTAX.into()),
        ],
    )
    .await;
}

#[tokio::test]
async fn lmove_and_rpoplpush() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("RPUSH src a b c", int(3)),
            ("LMOVE src dst LEFT RIGHT", bulk("a")),
            ("LMOVE src dst right left", bulk("c")),
            ("LRANGE dst 0 -1", arr(&["c", "a"])),
            ("RPOPLPUSH src dst", bulk("b")),
            ("RPUSHX src probe", int(0)),
            ("LRANGE dst 0 -1", arr(&["b", "c", "a"])),
            // Rotation within one list.
            ("LMOVE dst dst LEFT RIGHT", bulk("b")),
            ("LRANGE dst 0 -1", arr(&["c", "a", "b"])),
            ("RPOPLPUSH dst dst", bulk("b")),
            ("LRANGE dst 0 -1", arr(&["b", "c", "a"])),
            ("LMOVE missing dst LEFT LEFT", NIL.into()),
            ("RPOPLPUSH missing dst", NIL.into()),
            ("LMOVE dst other UP LEFT", SYNTAX.into()),
            ("LMOVE dst other LEFT DOWN", SYNTAX.into()),
            ("RPUSH one x", int(1)),
            ("LMOVE one one RIGHT LEFT", bulk("x")),
            ("LRANGE one 0 -1", arr(&["x"])),
        ],
    )
    .await;
}

#[tokio::test]
async fn lmpop_and_its_errors() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("RPUSH b 1 2 3", int(3)),
            ("LMPOP 2 a b LEFT", mpop("b", &["1"])),
            ("LMPOP 2 a b RIGHT COUNT 5", mpop("b", &["3", "2"])),
            ("LMPOP 2 a b LEFT", NIL_ARRAY.into()),
            ("RPUSH a x y", int(2)),
            ("RPUSH b z", int(1)),
            ("lmpop 2 a b left count 1", mpop("a", &["x"])),
            (
                "LMPOP 1 a LEFT COUNT 9223372036854775807",
                mpop("a", &["y"]),
            ),
            (
                "LMPOP 0 a LEFT",
                err("ERR numkeys should be greater than 0"),
            ),
            (
                "LMPOP -1 a LEFT",
                err("ERR numkeys should be greater than 0"),
            ),
            (
                "LMPOP x a LEFT",
                err("ERR numkeys should be greater than 0"),
            ),
            ("LMPOP 2 a LEFT", SYNTAX.into()),
            ("LMPOP 9223372036854775807 a LEFT", SYNTAX.into()),
            ("LMPOP 1 a MIDDLE", SYNTAX.into()),
            ("LMPOP 1 a LEFT COUNT", SYNTAX.into()),
            ("LMPOP 1 a LEFT COUNT 1 COUNT 2", SYNTAX.into()),
            ("LMPOP 1 a LEFT LIMIT 1", SYNTAX.into()),
            (
                "LMPOP 1 a LEFT COUNT 0",
                err("ERR count should be greater than 0"),
            ),
            (
                "LMPOP 1 a LEFT COUNT -1",
                err("ERR count should be greater than 0"),
            ),
            (
                "LMPOP 1 a LEFT COUNT x",
                err("ERR count should be greater than 0"),
            ),
            ("LLEN b", int(1)),
        ],
    )
    .await;
}

#[tokio::test]
async fn every_command_refuses_another_type() {
    let engine = Engine::start().await;
    let mut steps = vec![("SET s v", OK.to_string())];
    for line in [
        "LPUSH s a",
        "RPUSH s a",
        "LPUSHX s a",
        "RPUSHX s a",
        "LPOP s",
        "RPOP s 0",
        "LLEN s",
        "LRANGE s 0 -1",
        "LINDEX s 0",
        "LINDEX s x",
        "LSET s 0 x",
        "LSET s x x",
        "LINSERT s BEFORE a b",
        "LREM s 0 a",
        "LTRIM s 0 1",
        "LPOS s a",
        "LMOVE s dst LEFT LEFT",
        "RPOPLPUSH s dst",
        "LMPOP 2 missing s LEFT",
        "BLPOP s 0",
        "BRPOP missing s 0",
        "BLMOVE s dst LEFT LEFT 0",
        "BRPOPLPUSH s dst 0",
        "BLMPOP 0 1 s LEFT",
    ] {
        steps.push((line, WRONGTYPE.to_string()));
    }
    steps.extend([
        ("RPUSH l a", int(1)),
        // A wrong-type destination fails the move and leaves the source alone...
        ("LMOVE l s LEFT LEFT", WRONGTYPE.into()),
        ("RPOPLPUSH l s", WRONGTYPE.into()),
        ("LRANGE l 0 -1", arr(&["a"])),
        // ...but a missing source answers null before the destination is looked at.
        ("LMOVE missing s LEFT LEFT", NIL.into()),
    ]);
    script(&engine, &steps).await;
}

#[tokio::test]
async fn blocking_commands_check_arguments_in_redis_order() {
    let engine = Engine::start().await;
    let not_float = "ERR timeout is not a float or out of range";
    let negative = "ERR timeout is negative";
    script(
        &engine,
        &[
            ("SET s v", OK.into()),
            ("BLPOP l -1", err(negative)),
            ("BLPOP l -0.5", err(negative)),
            ("BLPOP l inf", err(negative)),
            ("BLPOP l abc", err(not_float)),
            ("BLPOP l nan", err(not_float)),
            ("BLPOP s abc", err(not_float)),
            ("BRPOP l 1s", err(not_float)),
            ("BLMOVE l d UP LEFT abc", SYNTAX.into()),
            ("BLMOVE s d LEFT LEFT abc", err(not_float)),
            ("BRPOPLPUSH l d -1", err(negative)),
            (
                "BLMPOP -1 0 l LEFT",
                err("ERR numkeys should be greater than 0"),
            ),
            ("BLMPOP -1 1 l MIDDLE", SYNTAX.into()),
            (
                "BLMPOP x 1 l LEFT COUNT 0",
                err("ERR count should be greater than 0"),
            ),
            ("BLMPOP -1 1 l LEFT", err(negative)),
            ("BLMPOP x 1 s LEFT", err(not_float)),
            (
                "BLPOP l",
                err("ERR wrong number of arguments for 'blpop' command"),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn blocking_commands_serve_available_data_at_once() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("RPUSH b 1 2 3", int(3)),
            ("BLPOP a b 0", arr(&["b", "1"])),
            ("BRPOP a b 0", arr(&["b", "3"])),
            ("BRPOPLPUSH b a 0", bulk("2")),
            ("BLMOVE a b LEFT RIGHT 0", bulk("2")),
            ("RPUSH b 4 5", int(3)),
            ("BLMPOP 0 2 a b LEFT COUNT 2", mpop("b", &["2", "4"])),
            ("BLMPOP 0.5 1 b RIGHT", mpop("b", &["5"])),
            ("RPUSHX a probe", int(0)),
            ("RPUSHX b probe", int(0)),
        ],
    )
    .await;
}

#[tokio::test]
async fn timeouts_reply_null_arrays() {
    let engine = Engine::start().await;
    for line in [
        "BLPOP l 0.1",
        "BRPOP l other 0.1",
        "BLMOVE l d LEFT LEFT 0.1",
        "BRPOPLPUSH l d 0.1",
        "BLMPOP 0.1 1 l LEFT",
    ] {
        let mut raw = Raw::connect(engine.addr).await;
        let started = Instant::now();
        raw.roundtrip(
            &support::cmd(&line.split(' ').collect::<Vec<_>>()),
            NIL_ARRAY.as_bytes(),
        )
        .await;
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(100),
            "{line} returned after {waited:?}"
        );
        assert!(
            waited < Duration::from_secs(3),
            "{line} returned after {waited:?}"
        );
    }
    let mut con = engine.dedicated().await;
    let reply: Option<(String, String)> = redis::cmd("BLPOP")
        .arg("l")
        .arg(0.1)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(reply, None);
}

#[tokio::test]
async fn blocking_inside_multi_returns_null_at_once() {
    let engine = Engine::start().await;
    script(
        &engine,
        &[
            ("RPUSH full x", int(1)),
            ("MULTI", OK.into()),
            ("BLPOP l 0", "+QUEUED\r\n".into()),
            ("BRPOP l 0", "+QUEUED\r\n".into()),
            ("BLMOVE l d LEFT LEFT 0", "+QUEUED\r\n".into()),
            ("BRPOPLPUSH l d 0", "+QUEUED\r\n".into()),
            ("BLMPOP 0 1 l LEFT", "+QUEUED\r\n".into()),
            ("BLPOP full 0", "+QUEUED\r\n".into()),
            (
                "EXEC",
                format!(
                    "*6\r\n{NIL_ARRAY}{NIL_ARRAY}{NIL}{NIL}{NIL_ARRAY}{}",
                    arr(&["full", "x"])
                ),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn resp3_nulls() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.send(&support::cmd(&["HELLO", "3"])).await;
    // Skip HELLO's map: read until its last field, "modules" => empty array.
    let mut seen = Vec::new();
    while !seen.ends_with(b"modules\r\n*0\r\n") {
        seen.extend(raw.read_exact_len(1).await);
    }
    for (line, expected) in [
        ("LPOP l", "_\r\n"),
        ("LPOP l 1", "_\r\n"),
        ("LINDEX l 0", "_\r\n"),
        ("LPOS l a", "_\r\n"),
        ("LMPOP 1 l LEFT", "_\r\n"),
        ("BLPOP l 0.05", "_\r\n"),
        ("BLMOVE l d LEFT LEFT 0.05", "_\r\n"),
    ] {
        raw.roundtrip(
            &support::cmd(&line.split(' ').collect::<Vec<_>>()),
            expected.as_bytes(),
        )
        .await;
    }
}

// ---- Blocking across connections ----

/// A client that blocks with `command`, after pushing its `name` onto `ready` in
/// the same request batch. Both run under one lock acquisition, so once `ready`
/// holds the name the client is registered as a waiter: no sleeping on guesses.
fn block_on(engine: &Engine, name: &str, command: redis::Cmd) -> JoinHandle<redis::Value> {
    block_in(engine.client(), name, command)
}

/// As [`block_on`], through `client` (whose URL may select another database).
fn block_in(client: redis::Client, name: &str, command: redis::Cmd) -> JoinHandle<redis::Value> {
    let name = name.to_string();
    tokio::spawn(async move {
        #[allow(deprecated)]
        let mut con = client.get_async_connection().await.expect("connect");
        let mut pipe = redis::pipe();
        pipe.cmd("RPUSH")
            .arg("ready")
            .arg(&name)
            .ignore()
            .add_command(command);
        let (reply,): (redis::Value,) = pipe.query_async(&mut con).await.expect("blocked command");
        reply
    })
}

/// Waits until `n` clients have announced themselves on `ready`.
async fn wait_ready(con: &mut impl ConnectionLike, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let len: usize = redis::cmd("LLEN")
            .arg("ready")
            .query_async(con)
            .await
            .unwrap();
        if len >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{n} clients did not block in time"
        );
        tokio::task::yield_now().await;
    }
}

fn blpop(keys: &[&str], timeout: f64) -> redis::Cmd {
    let mut cmd = redis::cmd("BLPOP");
    cmd.arg(keys).arg(timeout);
    cmd
}

async fn outcome(handle: JoinHandle<redis::Value>) -> redis::Value {
    tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .expect("served within 5 s")
        .expect("task")
}

fn pair(key: &str, value: &str) -> redis::Value {
    let bulk = |s: &str| redis::Value::BulkString(s.as_bytes().to_vec());
    redis::Value::Array(vec![bulk(key), bulk(value)])
}

#[tokio::test(flavor = "multi_thread")]
async fn blpop_is_woken_by_a_push_from_another_connection() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let waiter = block_on(&engine, "a", blpop(&["other", "k"], 0.0));
    wait_ready(&mut con, 1).await;
    let len: i64 = redis::cmd("RPUSH")
        .arg("k")
        .arg("v")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(
        len, 1,
        "the push replies the length before the waiter takes it"
    );
    assert_eq!(outcome(waiter).await, pair("k", "v"));
    let kept: i64 = redis::cmd("RPUSHX")
        .arg("k")
        .arg("probe")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(kept, 0, "the emptied list is deleted");
}

#[tokio::test(flavor = "multi_thread")]
async fn three_blocked_clients_are_served_in_the_order_they_blocked() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut waiters = Vec::new();
    for (i, name) in ["first", "second", "third"].into_iter().enumerate() {
        waiters.push(block_on(&engine, name, blpop(&["k"], 0.0)));
        wait_ready(&mut con, i + 1).await;
    }
    // One push of three elements serves all three, in order.
    let len: i64 = redis::cmd("RPUSH")
        .arg("k")
        .arg(&["a", "b", "c"])
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(len, 3);
    let mut got = Vec::new();
    for waiter in waiters {
        got.push(outcome(waiter).await);
    }
    assert_eq!(got, vec![pair("k", "a"), pair("k", "b"), pair("k", "c")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_element_serves_one_client_the_rest_keep_waiting() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let first = block_on(&engine, "first", blpop(&["k"], 0.0));
    wait_ready(&mut con, 1).await;
    let second = block_on(&engine, "second", blpop(&["k"], 0.0));
    wait_ready(&mut con, 2).await;
    let _: i64 = redis::cmd("LPUSH")
        .arg("k")
        .arg("a")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(outcome(first).await, pair("k", "a"));
    assert!(!second.is_finished());
    let _: i64 = redis::cmd("LPUSH")
        .arg("k")
        .arg("b")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(outcome(second).await, pair("k", "b"));
}

#[tokio::test(flavor = "multi_thread")]
async fn blmove_chain_wakes_the_client_blocked_on_its_destination() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut mover = redis::cmd("BLMOVE");
    mover.arg("src").arg("mid").arg("LEFT").arg("RIGHT").arg(0);
    let mover = block_on(&engine, "mover", mover);
    wait_ready(&mut con, 1).await;
    let mut rotator = redis::cmd("BRPOPLPUSH");
    rotator.arg("mid").arg("dst").arg(0);
    let rotator = block_on(&engine, "rotator", rotator);
    wait_ready(&mut con, 2).await;
    let popper = block_on(
        &engine,
        "popper",
        redis::cmd("BLPOP").arg("dst").arg(0).clone(),
    );
    wait_ready(&mut con, 3).await;

    let _: i64 = redis::cmd("RPUSH")
        .arg("src")
        .arg("x")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(
        outcome(mover).await,
        redis::Value::BulkString(b"x".to_vec())
    );
    assert_eq!(
        outcome(rotator).await,
        redis::Value::BulkString(b"x".to_vec())
    );
    assert_eq!(outcome(popper).await, pair("dst", "x"));
    for key in ["src", "mid", "dst"] {
        let kept: i64 = redis::cmd("RPUSHX")
            .arg(key)
            .arg("probe")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(kept, 0, "{key} was emptied, so deleted");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn blmpop_and_brpop_are_woken_too() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut mpop = redis::cmd("BLMPOP");
    mpop.arg(0)
        .arg(2)
        .arg("a")
        .arg("b")
        .arg("RIGHT")
        .arg("COUNT")
        .arg(2);
    let mpop = block_on(&engine, "mpop", mpop);
    wait_ready(&mut con, 1).await;
    let brpop = block_on(
        &engine,
        "brpop",
        redis::cmd("BRPOP").arg("b").arg(0).clone(),
    );
    wait_ready(&mut con, 2).await;
    let _: i64 = redis::cmd("RPUSH")
        .arg("b")
        .arg(&["1", "2", "3"])
        .query_async(&mut con)
        .await
        .unwrap();
    let bulk = |s: &str| redis::Value::BulkString(s.as_bytes().to_vec());
    let expected = redis::Value::Array(vec![
        bulk("b"),
        redis::Value::Array(vec![bulk("3"), bulk("2")]),
    ]);
    assert_eq!(outcome(mpop).await, expected);
    assert_eq!(outcome(brpop).await, pair("b", "1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_inside_multi_wakes_waiters_only_at_exec() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let waiter = block_on(&engine, "a", blpop(&["k"], 0.0));
    wait_ready(&mut con, 1).await;

    let mut tx = engine.dedicated().await;
    let _: () = redis::cmd("MULTI").query_async(&mut tx).await.unwrap();
    let queued: String = redis::cmd("LPUSH")
        .arg("k")
        .arg(&["a", "b"])
        .query_async(&mut tx)
        .await
        .unwrap();
    assert_eq!(queued, "QUEUED");
    // Had the push run when queued, the waiter would have taken one and left one.
    let len: i64 = redis::cmd("LLEN")
        .arg("k")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(len, 0);
    assert!(!waiter.is_finished());

    let replies: Vec<i64> = redis::cmd("EXEC").query_async(&mut tx).await.unwrap();
    assert_eq!(replies, vec![2]);
    assert_eq!(outcome(waiter).await, pair("k", "b"));
    let rest: Vec<String> = redis::cmd("LRANGE")
        .arg("k")
        .arg(0)
        .arg(-1)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(rest, vec!["a"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_and_pop_inside_one_exec_leave_waiters_blocked() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let waiter = block_on(&engine, "a", blpop(&["k"], 0.0));
    wait_ready(&mut con, 1).await;
    let mut tx = engine.dedicated().await;
    let replies: (i64, String) = redis::pipe()
        .atomic()
        .cmd("LPUSH")
        .arg("k")
        .arg("x")
        .cmd("LPOP")
        .arg("k")
        .query_async(&mut tx)
        .await
        .unwrap();
    assert_eq!(replies, (1, "x".to_string()));
    let _: i64 = redis::cmd("LPUSH")
        .arg("k")
        .arg("y")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(outcome(waiter).await, pair("k", "y"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blocked_client_that_disconnects_does_not_take_an_element() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut gone = Raw::connect(engine.addr).await;
    let mut batch = support::cmd(&["RPUSH", "ready", "gone"]);
    batch.extend(support::cmd(&["BLPOP", "k", "0"]));
    gone.send(&batch).await;
    wait_ready(&mut con, 1).await;
    // Half-close: the server sees EOF, forgets the waiter, then closes its side.
    tokio::io::AsyncWriteExt::shutdown(&mut gone.stream)
        .await
        .unwrap();
    assert_eq!(gone.read_to_close().await, b":1\r\n");

    let _: i64 = redis::cmd("RPUSH")
        .arg("k")
        .arg("v")
        .query_async(&mut con)
        .await
        .unwrap();
    let kept: Vec<String> = redis::cmd("LRANGE")
        .arg("k")
        .arg(0)
        .arg(-1)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(kept, vec!["v"]);
    let waiter = block_on(&engine, "next", blpop(&["k"], 0.0));
    assert_eq!(outcome(waiter).await, pair("k", "v"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timed_out_client_leaves_the_queue() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let short = block_on(&engine, "short", blpop(&["k"], 0.1));
    wait_ready(&mut con, 1).await;
    let long = block_on(&engine, "long", blpop(&["k"], 0.0));
    wait_ready(&mut con, 2).await;
    assert_eq!(outcome(short).await, redis::Value::Nil);
    let _: i64 = redis::cmd("RPUSH")
        .arg("k")
        .arg("v")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(outcome(long).await, pair("k", "v"));
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_pipelined_behind_a_blocked_one_run_once_it_is_served() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut raw = Raw::connect(engine.addr).await;
    let mut batch = support::cmd(&["RPUSH", "ready", "raw"]);
    batch.extend(support::cmd(&["BLPOP", "k", "0"]));
    raw.send(&batch).await;
    wait_ready(&mut con, 1).await;
    // Sent while blocked: it waits its turn, and must not wait for more input.
    raw.send(&support::cmd(&["LLEN", "ready"])).await;
    let _: i64 = redis::cmd("RPUSH")
        .arg("k")
        .arg("v")
        .query_async(&mut con)
        .await
        .unwrap();
    let expected = format!("{}{}{}", int(1), arr(&["k", "v"]), int(1));
    assert_eq!(
        raw.read_exact_len(expected.len()).await,
        expected.as_bytes()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_types_and_deleted_keys_keep_clients_blocked() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let _: () = redis::cmd("SET")
        .arg("s")
        .arg("v")
        .query_async(&mut con)
        .await
        .unwrap();
    let mut other = engine.dedicated().await;
    let err = redis::cmd("BLPOP")
        .arg("s")
        .arg(0)
        .query_async::<redis::Value>(&mut other)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("WRONGTYPE"));

    let waiter = block_on(&engine, "a", blpop(&["k"], 0.0));
    wait_ready(&mut con, 1).await;
    // Another type, then a deletion: Redis keeps the client waiting through both.
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("str")
        .query_async(&mut con)
        .await
        .unwrap();
    let _: i64 = redis::cmd("DEL")
        .arg("k")
        .query_async(&mut con)
        .await
        .unwrap();
    let _: i64 = redis::cmd("RPUSH")
        .arg("k")
        .arg("v")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(outcome(waiter).await, pair("k", "v"));
}

#[tokio::test(flavor = "multi_thread")]
async fn waiters_are_woken_only_by_their_own_database() {
    let engine = Engine::start().await;
    let db1 = redis::Client::open(format!("redis://{}/1", engine.addr)).unwrap();
    let mut con0 = engine.conn().await;
    let mut con1 = db1.get_multiplexed_async_connection().await.unwrap();
    let waiter = block_in(db1, "a", blpop(&["k"], 0.0));
    wait_ready(&mut con1, 1).await;
    let _: i64 = redis::cmd("RPUSH")
        .arg("k")
        .arg("db0")
        .query_async(&mut con0)
        .await
        .unwrap();
    let len: i64 = redis::cmd("LLEN")
        .arg("k")
        .query_async(&mut con0)
        .await
        .unwrap();
    assert_eq!(
        len, 1,
        "a push in database 0 is not for a client waiting in 1"
    );
    let _: i64 = redis::cmd("RPUSH")
        .arg("k")
        .arg("db1")
        .query_async(&mut con1)
        .await
        .unwrap();
    assert_eq!(outcome(waiter).await, pair("k", "db1"));
}
