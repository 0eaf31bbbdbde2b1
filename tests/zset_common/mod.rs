//! What the sorted-set test files share: exact RESP2/RESP3 reply text, a
//! scripted raw connection, and blocked clients announced without sleeping.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use redis::aio::ConnectionLike;
use tokio::task::JoinHandle;

use crate::support::{self, Engine, Raw};

pub const WRONGTYPE: &str =
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
pub const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
pub const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";
pub const SCORE_RANGE: &str = "-ERR min or max is not a float\r\n";
pub const LEX_RANGE: &str = "-ERR min or max not valid string range item\r\n";
pub const SYNTAX: &str = "-ERR syntax error\r\n";
pub const NIL: &str = "$-1\r\n";
pub const NIL_ARRAY: &str = "*-1\r\n";
pub const EMPTY: &str = "*0\r\n";
pub const OK: &str = "+OK\r\n";

pub fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

pub fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// An array of bulk strings.
pub fn arr(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    items.iter().for_each(|s| out.push_str(&bulk(s)));
    out
}

pub fn err(text: &str) -> String {
    format!("-{text}\r\n")
}

/// WITHSCORES pairs as RESP2 sends them: one flat array, scores as bulk strings.
pub fn flat(pairs: &[(&str, &str)]) -> String {
    let items: Vec<&str> = pairs.iter().flat_map(|&(m, s)| [m, s]).collect();
    arr(&items)
}

/// A RESP3 double.
pub fn double(text: &str) -> String {
    format!(",{text}\r\n")
}

/// WITHSCORES pairs as RESP3 sends them: `[member, double]` arrays.
pub fn nested(pairs: &[(&str, &str)]) -> String {
    let mut out = format!("*{}\r\n", pairs.len());
    for (member, score) in pairs {
        out.push_str(&format!("*2\r\n{}{}", bulk(member), double(score)));
    }
    out
}

/// Sends each command on `raw` (words split on spaces) and checks the exact reply.
pub async fn run(raw: &mut Raw, steps: &[(&str, String)]) {
    for (line, expected) in steps {
        let args: Vec<&str> = line.split(' ').collect();
        raw.roundtrip(&support::cmd(&args), expected.as_bytes())
            .await;
    }
}

/// As [`run`], on a new RESP2 connection.
pub async fn script(engine: &Engine, steps: &[(&str, String)]) {
    let mut raw = Raw::connect(engine.addr).await;
    run(&mut raw, steps).await;
}

/// A raw connection switched to RESP3 (HELLO's reply read and dropped).
pub async fn resp3(engine: &Engine) -> Raw {
    let mut raw = Raw::connect(engine.addr).await;
    raw.send(&support::cmd(&["HELLO", "3"])).await;
    // HELLO's map ends with its last field, "modules" => an empty array.
    let mut seen = Vec::new();
    while !seen.ends_with(b"modules\r\n*0\r\n") {
        seen.extend(raw.read_exact_len(1).await);
    }
    raw
}

/// A client that blocks with `command` after pushing `name` onto the list
/// `ready` in the same request batch. Both run under one lock acquisition, so
/// once `ready` holds the name the client is registered as a waiter.
pub fn block_on(engine: &Engine, name: &str, command: redis::Cmd) -> JoinHandle<redis::Value> {
    let client = engine.client();
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
pub async fn wait_ready(con: &mut impl ConnectionLike, n: usize) {
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

/// The reply of a blocked client, which must come within 5 s.
pub async fn outcome(handle: JoinHandle<redis::Value>) -> redis::Value {
    tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .expect("served within 5 s")
        .expect("task")
}

/// A `redis` crate array of bulk strings.
pub fn bulks(items: &[&str]) -> redis::Value {
    redis::Value::Array(
        items
            .iter()
            .map(|s| redis::Value::BulkString(s.as_bytes().to_vec()))
            .collect(),
    )
}
