//! Connection-level behaviour of the engine: PING/ECHO/SELECT/HELLO/AUTH/QUIT,
//! MULTI/EXEC/WATCH, pipelining, and the errors Redis gives for bad commands.

mod support;

use support::{cmd, Engine, Raw};

#[tokio::test]
async fn ping_echo_and_unknown_commands() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    raw.roundtrip(&cmd(&["ping", "hi"]), b"$2\r\nhi\r\n").await;
    raw.roundtrip(&cmd(&["ECHO", "x y"]), b"$3\r\nx y\r\n")
        .await;
    raw.roundtrip(
        &cmd(&["NOSUCH", "a", "b"]),
        b"-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n",
    )
    .await;
    raw.roundtrip(
        &cmd(&["ECHO"]),
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    )
    .await;
    // Inline commands, as telnet sends them.
    raw.roundtrip(b"PING\r\n", b"+PONG\r\n").await;
    raw.roundtrip(b"echo \"a b\"\r\n", b"$3\r\na b\r\n").await;
}

#[tokio::test]
async fn select_and_database_isolation() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(
        &cmd(&["SELECT", "16"]),
        b"-ERR DB index is out of range\r\n",
    )
    .await;
    raw.roundtrip(
        &cmd(&["SELECT", "x"]),
        b"-ERR value is not an integer or out of range\r\n",
    )
    .await;
    raw.roundtrip(&cmd(&["SELECT", "15"]), b"+OK\r\n").await;
}

#[tokio::test]
async fn hello_switches_protocol() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(
        &cmd(&["HELLO", "4"]),
        b"-NOPROTO unsupported protocol version\r\n",
    )
    .await;
    raw.send(&cmd(&["HELLO", "3"])).await;
    let reply = raw.read_exact_len(3).await;
    assert_eq!(&reply, b"%7\r");
    let mut raw2 = Raw::connect(engine.addr).await;
    raw2.send(&cmd(&["HELLO", "2"])).await;
    assert_eq!(&raw2.read_exact_len(5).await, b"*14\r\n");
}

#[tokio::test]
async fn requirepass_and_auth() {
    let engine = Engine::start_with(&["--requirepass", "s3cret"]).await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(&cmd(&["PING"]), b"-NOAUTH Authentication required.\r\n")
        .await;
    raw.roundtrip(
        &cmd(&["AUTH", "wrong"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    )
    .await;
    raw.roundtrip(&cmd(&["AUTH", "default", "s3cret"]), b"+OK\r\n")
        .await;
    raw.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;

    let open = Engine::start().await;
    let mut raw = Raw::connect(open.addr).await;
    raw.roundtrip(
        &cmd(&["AUTH", "x"]),
        b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
    )
    .await;
}

#[tokio::test]
async fn quit_replies_then_closes() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.send(&cmd(&["QUIT"])).await;
    assert_eq!(raw.read_to_close().await, b"+OK\r\n");
}

#[tokio::test]
async fn multi_exec_discard_and_errors() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(&cmd(&["EXEC"]), b"-ERR EXEC without MULTI\r\n")
        .await;
    raw.roundtrip(&cmd(&["DISCARD"]), b"-ERR DISCARD without MULTI\r\n")
        .await;
    raw.roundtrip(&cmd(&["MULTI"]), b"+OK\r\n").await;
    raw.roundtrip(&cmd(&["MULTI"]), b"-ERR MULTI calls can not be nested\r\n")
        .await;
    raw.roundtrip(&cmd(&["PING"]), b"+QUEUED\r\n").await;
    raw.roundtrip(&cmd(&["ECHO", "x"]), b"+QUEUED\r\n").await;
    raw.roundtrip(&cmd(&["EXEC"]), b"*2\r\n+PONG\r\n$1\r\nx\r\n")
        .await;
    // An error while queuing dooms the transaction.
    raw.roundtrip(&cmd(&["MULTI"]), b"+OK\r\n").await;
    raw.roundtrip(
        &cmd(&["NOSUCH"]),
        b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
    )
    .await;
    raw.roundtrip(
        &cmd(&["ECHO"]),
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    )
    .await;
    raw.roundtrip(
        &cmd(&["EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n",
    )
    .await;
    raw.roundtrip(&cmd(&["MULTI"]), b"+OK\r\n").await;
    raw.roundtrip(
        &cmd(&["WATCH", "k"]),
        b"-ERR WATCH inside MULTI is not allowed\r\n",
    )
    .await;
    raw.roundtrip(&cmd(&["DISCARD"]), b"+OK\r\n").await;
}

#[tokio::test]
async fn pipelined_requests_answer_in_order() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for i in 0..5000 {
        let msg = format!("m{i}");
        request.extend(cmd(&["ECHO", &msg]));
        expected.extend(format!("${}\r\n{}\r\n", msg.len(), msg).into_bytes());
    }
    raw.send(&request).await;
    assert_eq!(raw.read_exact_len(expected.len()).await, expected);
}

#[tokio::test]
async fn protocol_error_replies_and_closes_without_harming_others() {
    let engine = Engine::start().await;
    let mut other = Raw::connect(engine.addr).await;
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*abc\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$x\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n+PING\r\n",
            b"-ERR Protocol error: expected '$', got '+'\r\n",
        ),
        (
            b"*1\r\n$-5\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"echo \"unbalanced\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ];
    for &(input, reply) in cases {
        let mut raw = Raw::connect(engine.addr).await;
        raw.send(input).await;
        assert_eq!(
            raw.read_to_close().await,
            reply,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
    // A client that declares a huge bulk and sends little costs what it sent.
    let mut raw = Raw::connect(engine.addr).await;
    raw.send(b"*1\r\n$536870912\r\nabcdefghij").await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.send(b"*1048576\r\n").await;
    other.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
}

/// Only keys a command writes disturb watchers: SUNIONSTORE reads its sources.
#[tokio::test]
async fn watch_is_broken_only_by_written_keys() {
    let engine = Engine::start().await;
    let mut other = Raw::connect(engine.addr).await;
    other
        .roundtrip(&cmd(&["SADD", "src", "a"]), b":1\r\n")
        .await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(&cmd(&["WATCH", "src"]), b"+OK\r\n").await;
    other
        .roundtrip(&cmd(&["SUNIONSTORE", "dst", "src"]), b":1\r\n")
        .await;
    raw.roundtrip(&cmd(&["MULTI"]), b"+OK\r\n").await;
    raw.roundtrip(&cmd(&["PING"]), b"+QUEUED\r\n").await;
    raw.roundtrip(&cmd(&["EXEC"]), b"*1\r\n+PONG\r\n").await;
    // Writing the watched key does abort.
    raw.roundtrip(&cmd(&["WATCH", "dst"]), b"+OK\r\n").await;
    other
        .roundtrip(&cmd(&["SUNIONSTORE", "dst", "src"]), b":1\r\n")
        .await;
    raw.roundtrip(&cmd(&["MULTI"]), b"+OK\r\n").await;
    raw.roundtrip(&cmd(&["PING"]), b"+QUEUED\r\n").await;
    raw.roundtrip(&cmd(&["EXEC"]), b"*-1\r\n").await;
}
