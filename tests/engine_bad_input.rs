//! The bad-input catalogue: each malformed or oversized request gets Redis's
//! error (or, for an incomplete one, costs only what was sent), the server stays
//! up, and other clients are unaffected.

mod support;

use std::time::Duration;
use support::{cmd, Engine, Raw};

/// Inputs that are wrong as soon as they arrive: the exact reply, then close.
const REJECTED: &[(&str, &[u8], &[u8])] = &[
    (
        "non-numeric multibulk length",
        b"*abc\r\n",
        b"-ERR Protocol error: invalid multibulk length\r\n",
    ),
    (
        "multibulk length over the limit",
        b"*2147483648\r\n",
        b"-ERR Protocol error: invalid multibulk length\r\n",
    ),
    (
        "non-numeric bulk length",
        b"*1\r\n$abc\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    ),
    (
        "negative bulk length",
        b"*1\r\n$-5\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    ),
    (
        "bulk over proto-max-bulk-len",
        b"*1\r\n$536870913\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    ),
    (
        "a simple string where a bulk belongs",
        b"*1\r\n+PING\r\n",
        b"-ERR Protocol error: expected '$', got '+'\r\n",
    ),
    (
        "unbalanced quotes inline",
        b"set k \"v\r\n",
        b"-ERR Protocol error: unbalanced quotes in request\r\n",
    ),
    (
        "binary garbage after a valid command",
        b"*1\r\n$4\r\nPING\r\n*\xff\r\n",
        b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_redis_errors_and_close() {
    let engine = Engine::start().await;
    let mut bystander = Raw::connect(engine.addr).await;
    for &(what, input, reply) in REJECTED {
        let mut raw = Raw::connect(engine.addr).await;
        raw.send(input).await;
        let got = raw.read_to_close().await;
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(reply),
            "{what}"
        );
        bystander.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unterminated_inline_line_of_a_megabyte_is_refused() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.send(&vec![b'a'; 1024 * 1024]).await;
    let got = raw.read_to_close().await;
    assert_eq!(got, b"-ERR Protocol error: too big inline request\r\n");
}

/// Declared sizes that never arrive allocate nothing and do not stop the others;
/// the incomplete request is simply waited for, as Redis does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_but_unsent_sizes_cost_nothing() {
    let engine = Engine::start().await;
    let mut waiting = Vec::new();
    for input in [
        &b"*1048576\r\n"[..],
        b"*1\r\n$536870912\r\nabcdefghij",
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n",
        b"*2\r\n$4\r\nEC",
    ] {
        let mut raw = Raw::connect(engine.addr).await;
        raw.send(input).await;
        waiting.push(raw);
    }
    let mut bystander = Raw::connect(engine.addr).await;
    bystander
        .roundtrip(&cmd(&["SET", "x", "1"]), b"+OK\r\n")
        .await;
    bystander
        .roundtrip(&cmd(&["GET", "x"]), b"$1\r\n1\r\n")
        .await;
    // A truncated request completes when the rest arrives.
    let truncated = &mut waiting[3];
    truncated.send(b"HO\r\n$2\r\nhi\r\n").await;
    assert_eq!(truncated.read_exact_len(8).await, b"$2\r\nhi\r\n");
    // The others are still pending, not answered.
    let pending = &mut waiting[0];
    let read = tokio::time::timeout(Duration::from_millis(100), pending.read_exact_len(1)).await;
    assert!(read.is_err(), "an incomplete request got a reply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_split_at_every_byte_are_served() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    let mut request = cmd(&["SET", "split", "value"]);
    request.extend(cmd(&["GET", "split"]));
    request.extend(b"PING\r\n");
    for byte in &request {
        raw.send(std::slice::from_ref(byte)).await;
    }
    let expected = b"+OK\r\n$5\r\nvalue\r\n+PONG\r\n";
    assert_eq!(raw.read_exact_len(expected.len()).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_arity_and_unknown_commands_keep_the_connection() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(
        &cmd(&["GET"]),
        b"-ERR wrong number of arguments for 'get' command\r\n",
    )
    .await;
    raw.roundtrip(
        &cmd(&["SET", "k"]),
        b"-ERR wrong number of arguments for 'set' command\r\n",
    )
    .await;
    raw.roundtrip(
        &cmd(&["FOO", "bar"]),
        b"-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n",
    )
    .await;
    raw.roundtrip(&cmd(&["INCR", "nonnum"]), b":1\r\n").await;
    raw.roundtrip(&cmd(&["SET", "s", "abc"]), b"+OK\r\n").await;
    raw.roundtrip(
        &cmd(&["INCR", "s"]),
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    raw.roundtrip(
        &cmd(&["LPUSH", "s", "x"]),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
    raw.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
}
