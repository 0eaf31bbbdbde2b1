//! Watching commands run: SLOWLOG and MONITOR.

use redis::Value;

use super::{err, q};
use crate::support::{cmd, Engine, Raw};

fn bulk(value: &Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

/// `[id, time, usec, [args…], addr, name]` as (id, args, addr, name).
fn entry(value: &Value) -> (i64, Vec<String>, String, String) {
    let Value::Array(fields) = value else {
        panic!("not an entry: {value:?}")
    };
    assert_eq!(fields.len(), 6, "{fields:?}");
    let Value::Int(id) = fields[0] else {
        panic!("id")
    };
    assert!(matches!(fields[1], Value::Int(t) if t > 1_600_000_000));
    assert!(matches!(fields[2], Value::Int(usec) if usec >= 0));
    let Value::Array(args) = &fields[3] else {
        panic!("args")
    };
    (
        id,
        args.iter().map(bulk).collect(),
        bulk(&fields[4]),
        bulk(&fields[5]),
    )
}

#[tokio::test]
async fn slowlog_with_threshold_zero_logs_everything() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(
        q::<Vec<Value>>(&mut con, &["SLOWLOG", "GET"]).await,
        vec![],
        "nothing is that slow"
    );
    q::<()>(&mut con, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]).await;
    q::<()>(&mut con, &["SLOWLOG", "RESET"]).await;
    q::<()>(&mut con, &["CLIENT", "SETNAME", "slowpoke"]).await;
    q::<()>(&mut con, &["SET", "k", "v"]).await;
    let newest: Vec<Value> = q(&mut con, &["SLOWLOG", "GET", "1"]).await;
    assert_eq!(newest.len(), 1);
    let (set_id, args, addr, name) = entry(&newest[0]);
    assert_eq!(args, vec!["SET", "k", "v"]);
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_eq!(name, "slowpoke");
    // RESET, SETNAME, SET and the GET just made.
    assert_eq!(q::<i64>(&mut con, &["SLOWLOG", "LEN"]).await, 4);
    let all: Vec<Value> = q(&mut con, &["SLOWLOG", "GET", "-1"]).await;
    let ids: Vec<i64> = all.iter().map(|e| entry(e).0).collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1] + 1),
        "newest first: {ids:?}"
    );
    assert!(ids.contains(&set_id));

    // Long arguments are cut, many arguments summarised.
    q::<()>(&mut con, &["SET", "long", &"x".repeat(200)]).await;
    let (_, args, _, _) = entry(&q::<Vec<Value>>(&mut con, &["SLOWLOG", "GET", "1"]).await[0]);
    assert_eq!(args[2], format!("{}... (72 more bytes)", "x".repeat(128)));
    let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let mut rpush = vec!["RPUSH", "list"];
    rpush.extend(many.iter().map(String::as_str));
    q::<i64>(&mut con, &rpush).await;
    let (_, args, _, _) = entry(&q::<Vec<Value>>(&mut con, &["SLOWLOG", "GET", "1"]).await[0]);
    assert_eq!(args.len(), 32);
    assert_eq!(args[31], "... (11 more arguments)");

    // slowlog-max-len bounds the log; a negative threshold turns it off.
    q::<()>(&mut con, &["CONFIG", "SET", "slowlog-max-len", "2"]).await;
    assert_eq!(q::<i64>(&mut con, &["SLOWLOG", "LEN"]).await, 2);
    q::<()>(
        &mut con,
        &["CONFIG", "SET", "slowlog-log-slower-than", "-1"],
    )
    .await;
    q::<()>(&mut con, &["SLOWLOG", "RESET"]).await;
    q::<()>(&mut con, &["SET", "k", "v"]).await;
    assert_eq!(q::<i64>(&mut con, &["SLOWLOG", "LEN"]).await, 0);

    assert_eq!(
        err(&mut con, &["SLOWLOG", "GET", "-2"]).await,
        "ERR count should be greater than or equal to -1"
    );
    assert_eq!(
        err(&mut con, &["SLOWLOG", "GET", "x"]).await,
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut con, &["SLOWLOG", "FOO"]).await,
        "ERR unknown subcommand 'FOO'. Try SLOWLOG HELP."
    );
    assert_eq!(
        err(&mut con, &["SLOWLOG", "LEN", "x"]).await,
        "ERR wrong number of arguments for 'slowlog|len' command"
    );
}

#[tokio::test]
async fn slowlog_redacts_passwords() {
    let engine = Engine::start_with(&["--requirepass", "secret"]).await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(&cmd(&["AUTH", "secret"]), b"+OK\r\n").await;
    raw.roundtrip(
        &cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
        b"+OK\r\n",
    )
    .await;
    raw.roundtrip(&cmd(&["AUTH", "default", "secret"]), b"+OK\r\n")
        .await;
    raw.send(&cmd(&["SLOWLOG", "GET", "1"])).await;
    let reply = crate::resp_read::read_value(&mut raw).await;
    assert!(
        reply.contains("$4\r\nAUTH\r\n$10\r\n(redacted)\r\n$10\r\n(redacted)\r\n"),
        "{reply}"
    );
    assert!(!reply.contains("secret"));
}

#[tokio::test]
async fn monitor_sees_other_clients_commands() {
    let engine = Engine::start_with(&["--requirepass", "pw"]).await;
    let mut monitor = Raw::connect(engine.addr).await;
    monitor.roundtrip(&cmd(&["AUTH", "pw"]), b"+OK\r\n").await;
    monitor.roundtrip(&cmd(&["MONITOR"]), b"+OK\r\n").await;

    let mut client = Raw::connect(engine.addr).await;
    let addr = client.stream.local_addr().unwrap().to_string();
    let batch = [
        cmd(&["AUTH", "pw"]),
        cmd(&["SELECT", "2"]),
        cmd(&["SET", "a b", "x\"y\n"]),
        cmd(&["CONFIG", "GET", "hz"]),
        cmd(&["NOSUCH"]),
        cmd(&["ECHO", "\u{1}"]),
    ]
    .concat();
    client.send(&batch).await;
    for _ in 0..6 {
        crate::resp_read::read_value(&mut client).await;
    }
    let mut lines = Vec::new();
    for _ in 0..4 {
        lines.push(monitor.read_line().await);
    }
    let strip = |line: &str| {
        let (time, rest) = line
            .trim_start_matches('+')
            .split_once(' ')
            .expect("time then the rest");
        let (secs, micros) = time.split_once('.').expect("seconds.micros");
        assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{line}");
        rest.trim_end().to_string()
    };
    let lines: Vec<String> = lines.iter().map(|l| strip(l)).collect();
    assert_eq!(
        lines,
        vec![
            format!("[0 {addr}] \"AUTH\" \"(redacted)\""),
            format!("[2 {addr}] \"SELECT\" \"2\""),
            format!("[2 {addr}] \"SET\" \"a b\" \"x\\\"y\\n\""),
            // CONFIG (administrative) and the unknown command are not shown.
            format!("[2 {addr}] \"ECHO\" \"\\x01\""),
        ]
    );
    // Once the monitor leaves, nothing is sent to it any more.
    monitor.roundtrip(&cmd(&["RESET"]), b"+RESET\r\n").await;
    client.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    monitor.roundtrip(&cmd(&["AUTH", "pw"]), b"+OK\r\n").await;
    monitor.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
}
