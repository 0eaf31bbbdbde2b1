//! CLIENT: identity, LIST/INFO fields, KILL in both forms, REPLY, and the
//! switches that are accepted without effect.

use redis::Value;
use std::collections::HashMap;

use super::{err, q};
use crate::support::{cmd, Engine, Raw};

/// The fields of CLIENT LIST lines, in Redis 7.0's order.
const FIELDS: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
];

/// CLIENT LIST output as one map per line, checking each line's field order.
fn parse_list(text: &str) -> Vec<HashMap<String, String>> {
    assert!(text.ends_with('\n'), "{text:?}");
    text.lines()
        .map(|line| {
            let pairs: Vec<(String, String)> = line
                .split(' ')
                .map(|f| {
                    let (k, v) = f
                        .split_once('=')
                        .unwrap_or_else(|| panic!("{f:?} in {line:?}"));
                    (k.to_string(), v.to_string())
                })
                .collect();
            let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(names, FIELDS, "{line}");
            pairs.into_iter().collect()
        })
        .collect()
}

#[tokio::test]
async fn client_identity() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let id: i64 = q(&mut con, &["CLIENT", "ID"]).await;
    assert!(id > 0);
    assert_eq!(
        q::<Option<String>>(&mut con, &["CLIENT", "GETNAME"]).await,
        None
    );
    assert_eq!(
        q::<String>(&mut con, &["CLIENT", "SETNAME", "worker-1"]).await,
        "OK"
    );
    assert_eq!(
        q::<Option<String>>(&mut con, &["CLIENT", "GETNAME"])
            .await
            .as_deref(),
        Some("worker-1")
    );
    for bad in ["a b", "new\nline", "tab\t"] {
        assert_eq!(
            err(&mut con, &["CLIENT", "SETNAME", bad]).await,
            "ERR Client names cannot contain spaces, newlines or special characters."
        );
    }
    assert_eq!(
        err(&mut con, &["CLIENT", "SETNAME", "a", "b"]).await,
        "ERR wrong number of arguments for 'client|setname' command"
    );
    assert_eq!(
        q::<String>(&mut con, &["CLIENT", "SETNAME", ""]).await,
        "OK"
    );
    assert_eq!(
        q::<Option<String>>(&mut con, &["CLIENT", "GETNAME"]).await,
        None
    );
    assert_eq!(
        err(&mut con, &["CLIENT", "FOO"]).await,
        "ERR unknown subcommand 'FOO'. Try CLIENT HELP."
    );
    assert!(q::<Vec<String>>(&mut con, &["CLIENT", "HELP"]).await.len() > 10);
}

#[tokio::test]
async fn client_list_and_info_fields() {
    let engine = Engine::start().await;
    let mut me = engine.conn().await;
    let mut other = Raw::connect(engine.addr).await;
    other.roundtrip(&cmd(&["SELECT", "2"]), b"+OK\r\n").await;
    other
        .roundtrip(&cmd(&["CLIENT", "SETNAME", "other"]), b"+OK\r\n")
        .await;
    let my_id: i64 = q(&mut me, &["CLIENT", "ID"]).await;

    let list = parse_list(&q::<String>(&mut me, &["CLIENT", "LIST"]).await);
    assert_eq!(list.len(), 2);
    let mine = list
        .iter()
        .find(|c| c["id"] == my_id.to_string())
        .expect("own line");
    let theirs = list
        .iter()
        .find(|c| c["name"] == "other")
        .expect("other's line");
    assert_eq!(mine["cmd"], "client|list");
    assert_eq!(mine["flags"], "N");
    assert_eq!(mine["laddr"], engine.addr.to_string());
    assert_eq!(theirs["db"], "2");
    assert_eq!(theirs["cmd"], "client|setname");
    assert_eq!(
        theirs["addr"],
        other.stream.local_addr().unwrap().to_string()
    );
    assert_eq!(
        (
            theirs["user"].as_str(),
            theirs["resp"].as_str(),
            theirs["multi"].as_str()
        ),
        ("default", "2", "-1")
    );

    let info = parse_list(&q::<String>(&mut me, &["CLIENT", "INFO"]).await);
    assert_eq!(info.len(), 1);
    assert_eq!(info[0]["cmd"], "client|info");
    assert_eq!(info[0]["id"], my_id.to_string());

    // Filters.
    let by_id = parse_list(
        &q::<String>(
            &mut me,
            &["CLIENT", "LIST", "ID", &my_id.to_string(), "999"],
        )
        .await,
    );
    assert_eq!(by_id.len(), 1);
    other
        .roundtrip(
            &cmd(&["SUBSCRIBE", "ch"]),
            b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
        )
        .await;
    let pubsub = parse_list(&q::<String>(&mut me, &["CLIENT", "LIST", "TYPE", "pubsub"]).await);
    assert_eq!(pubsub.len(), 1);
    assert_eq!(
        (pubsub[0]["flags"].as_str(), pubsub[0]["sub"].as_str()),
        ("P", "1")
    );
    let normal = parse_list(&q::<String>(&mut me, &["CLIENT", "LIST", "TYPE", "NORMAL"]).await);
    assert_eq!(normal.len(), 1);
    assert_eq!(
        q::<String>(&mut me, &["CLIENT", "LIST", "TYPE", "replica"]).await,
        ""
    );
    assert_eq!(
        err(&mut me, &["CLIENT", "LIST", "TYPE", "bogus"]).await,
        "ERR Unknown client type 'bogus'"
    );
    assert_eq!(
        err(&mut me, &["CLIENT", "LIST", "ID", "1", "abc"]).await,
        "ERR Invalid client ID"
    );
    assert_eq!(
        err(&mut me, &["CLIENT", "LIST", "TYPE"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut me, &["CLIENT", "LIST", "FOO", "bar"]).await,
        "ERR syntax error"
    );
}

#[tokio::test]
async fn client_kill_closes_the_target_only() {
    let engine = Engine::start().await;
    let mut admin = engine.conn().await;
    let mut victim = Raw::connect(engine.addr).await;
    let mut bystander = Raw::connect(engine.addr).await;
    victim.send(&cmd(&["CLIENT", "ID"])).await;
    let victim_id = victim
        .read_line()
        .await
        .trim_start_matches(':')
        .trim()
        .to_string();
    bystander.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;

    assert_eq!(
        q::<i64>(&mut admin, &["CLIENT", "KILL", "ID", &victim_id]).await,
        1
    );
    assert_eq!(victim.read_to_close().await, b"");
    bystander.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    assert_eq!(
        q::<i64>(&mut admin, &["CLIENT", "KILL", "ID", &victim_id]).await,
        0
    );

    // The old form: by address, +OK or an error.
    let addr = bystander.stream.local_addr().unwrap().to_string();
    assert_eq!(
        q::<String>(&mut admin, &["CLIENT", "KILL", &addr]).await,
        "OK"
    );
    assert_eq!(bystander.read_to_close().await, b"");
    assert_eq!(
        err(&mut admin, &["CLIENT", "KILL", &addr]).await,
        "ERR No such client"
    );

    // Filters combine; SKIPME (default yes) spares the caller.
    let mut a = Raw::connect(engine.addr).await;
    a.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    assert_eq!(
        q::<i64>(
            &mut admin,
            &["CLIENT", "KILL", "TYPE", "normal", "USER", "default"]
        )
        .await,
        1
    );
    assert_eq!(a.read_to_close().await, b"");
    assert_eq!(q::<String>(&mut admin, &["PING"]).await, "PONG");
    assert_eq!(
        q::<i64>(&mut admin, &["CLIENT", "KILL", "LADDR", "1.2.3.4:5"]).await,
        0
    );
    for (args, text) in [
        (&["ID", "abc"][..], "ERR client-id should be greater than 0"),
        (&["TYPE", "bogus"], "ERR Unknown client type 'bogus'"),
        (&["USER", "nobody"], "ERR No such user 'nobody'"),
        (&["SKIPME", "maybe"], "ERR syntax error"),
        (&["ID", "1", "SKIPME"], "ERR syntax error"),
        (&["MAXAGE", "1"], "ERR syntax error"),
    ] {
        let mut full = vec!["CLIENT", "KILL"];
        full.extend_from_slice(args);
        assert_eq!(err(&mut admin, &full).await, text, "{args:?}");
    }

    // Killing oneself with SKIPME no: the reply comes, then the connection closes.
    let mut me = Raw::connect(engine.addr).await;
    me.send(&cmd(&["CLIENT", "ID"])).await;
    let my_id = me
        .read_line()
        .await
        .trim_start_matches(':')
        .trim()
        .to_string();
    me.send(&cmd(&["CLIENT", "KILL", "ID", &my_id, "SKIPME", "no"]))
        .await;
    assert_eq!(me.read_to_close().await, b":1\r\n");
}

#[tokio::test]
async fn client_reply_off_on_skip() {
    let engine = Engine::start().await;
    let mut raw = Raw::connect(engine.addr).await;
    let batch = [
        cmd(&["CLIENT", "REPLY", "OFF"]),
        cmd(&["PING", "silent"]),
        cmd(&["CLIENT", "REPLY", "SKIP"]),
        cmd(&["CLIENT", "REPLY", "ON"]),
        cmd(&["PING", "heard"]),
        cmd(&["CLIENT", "REPLY", "SKIP"]),
        cmd(&["PING", "skipped"]),
        cmd(&["PING", "heard2"]),
    ]
    .concat();
    raw.send(&batch).await;
    let expected = b"+OK\r\n$5\r\nheard\r\n$6\r\nheard2\r\n";
    assert_eq!(
        String::from_utf8_lossy(&raw.read_exact_len(expected.len()).await),
        String::from_utf8_lossy(expected)
    );
    raw.roundtrip(
        &cmd(&["CLIENT", "REPLY", "MAYBE"]),
        b"-ERR syntax error\r\n",
    )
    .await;
}

#[tokio::test]
async fn client_switches() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(
        q::<String>(&mut con, &["CLIENT", "NO-EVICT", "on"]).await,
        "OK"
    );
    assert_eq!(
        q::<String>(&mut con, &["CLIENT", "NO-EVICT", "OFF"]).await,
        "OK"
    );
    assert_eq!(
        err(&mut con, &["CLIENT", "NO-EVICT", "maybe"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        q::<String>(&mut con, &["CLIENT", "PAUSE", "10"]).await,
        "OK"
    );
    assert_eq!(
        q::<String>(&mut con, &["CLIENT", "PAUSE", "10", "WRITE"]).await,
        "OK"
    );
    assert_eq!(q::<String>(&mut con, &["CLIENT", "UNPAUSE"]).await, "OK");
    assert_eq!(
        err(&mut con, &["CLIENT", "PAUSE", "-1"]).await,
        "ERR timeout is negative"
    );
    assert_eq!(
        err(&mut con, &["CLIENT", "PAUSE", "abc"]).await,
        "ERR timeout is not an integer or out of range"
    );
    assert_eq!(
        err(&mut con, &["CLIENT", "PAUSE", "1", "FOO"]).await,
        "ERR CLIENT PAUSE mode must be WRITE or ALL"
    );
    assert!(err(&mut con, &["CLIENT", "TRACKING", "on"])
        .await
        .contains("not supported"));
    assert_eq!(q::<i64>(&mut con, &["CLIENT", "GETREDIR"]).await, -1);
    let tracking: HashMap<String, Value> = q(&mut con, &["CLIENT", "TRACKINGINFO"]).await;
    assert_eq!(tracking["redirect"], Value::Int(-1));
    assert_eq!(
        err(&mut con, &["CLIENT", "CACHING", "yes"]).await,
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"
    );
    assert_eq!(
        err(&mut con, &["CLIENT", "UNBLOCK", "1", "FOO"]).await,
        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
    );
}
