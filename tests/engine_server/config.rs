//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP.

use redis::Value;
use std::collections::HashMap;

use super::{err, info, num, q, resp_read};
use crate::support::{cmd, Engine, Raw};

#[tokio::test]
async fn config_get_patterns_and_names() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let found: HashMap<String, String> = q(&mut con, &["CONFIG", "GET", "maxmemory*"]).await;
    let expected: HashMap<String, String> = [
        ("maxmemory", "0"),
        ("maxmemory-policy", "noeviction"),
        ("maxmemory-samples", "5"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into();
    assert_eq!(found, expected);
    let two: HashMap<String, String> = q(&mut con, &["CONFIG", "GET", "hz", "timeout", "hz"]).await;
    assert_eq!(two.len(), 2);
    assert_eq!(two["hz"], "10");
    assert_eq!(two["timeout"], "0");
    // An exact name is echoed as asked, once whatever its case.
    let pairs: Vec<String> = q(&mut con, &["CONFIG", "GET", "HZ", "Hz"]).await;
    assert_eq!(pairs, vec!["HZ", "10"]);
    let alias: Vec<String> = q(&mut con, &["CONFIG", "GET", "hash-max-ziplist-entries"]).await;
    assert_eq!(alias, vec!["hash-max-ziplist-entries", "128"]);
    let none: Vec<String> = q(&mut con, &["CONFIG", "GET", "nosuch*", "nosuch"]).await;
    assert!(none.is_empty());
    let every: HashMap<String, String> = q(&mut con, &["CONFIG", "GET", "*"]).await;
    assert!(every.len() > 20 && every.contains_key("port") && every["databases"] == "16");
    assert_eq!(
        err(&mut con, &["CONFIG", "GET"]).await,
        "ERR wrong number of arguments for 'config|get' command"
    );
    assert_eq!(
        err(&mut con, &["CONFIG"]).await,
        "ERR wrong number of arguments for 'config' command"
    );
    assert_eq!(
        err(&mut con, &["CONFIG", "FOO"]).await,
        "ERR unknown subcommand 'FOO'. Try CONFIG HELP."
    );

    // RESP2 flattens the map; RESP3 sends it as a map.
    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(
        &cmd(&["CONFIG", "GET", "hz"]),
        b"*2\r\n$2\r\nhz\r\n$2\r\n10\r\n",
    )
    .await;
    raw.send(&cmd(&["HELLO", "3"])).await;
    resp_read::read_value(&mut raw).await;
    raw.roundtrip(
        &cmd(&["CONFIG", "GET", "hz"]),
        b"%1\r\n$2\r\nhz\r\n$2\r\n10\r\n",
    )
    .await;
}

#[tokio::test]
async fn config_set_round_trips_atomically() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(
        q::<String>(
            &mut con,
            &["CONFIG", "SET", "hz", "20", "maxmemory-samples", "7"]
        )
        .await,
        "OK"
    );
    let got: HashMap<String, String> =
        q(&mut con, &["CONFIG", "GET", "hz", "maxmemory-samples"]).await;
    assert_eq!(
        (got["hz"].as_str(), got["maxmemory-samples"].as_str()),
        ("20", "7")
    );
    assert_eq!(num(&info(&mut con, "server").await, "hz"), 20);
    q::<()>(&mut con, &["CONFIG", "SET", "maxmemory", "10mb"]).await;
    assert_eq!(
        q::<Vec<String>>(&mut con, &["CONFIG", "GET", "maxmemory"]).await[1],
        "10485760"
    );
    assert_eq!(num(&info(&mut con, "memory").await, "maxmemory"), 10 << 20);
    q::<()>(
        &mut con,
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            "0",
            "MAXMEMORY-POLICY",
            "allkeys-lru",
        ],
    )
    .await;
    assert_eq!(
        info(&mut con, "memory").await["maxmemory_policy"],
        "allkeys-lru"
    );

    let failed = |name: &str, why: &str| {
        format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
    };
    for name in ["port", "databases", "bind"] {
        assert_eq!(
            err(&mut con, &["CONFIG", "SET", name, "1"]).await,
            failed(name, "can't set immutable config")
        );
    }
    assert_eq!(
        err(&mut con, &["CONFIG", "SET", "nosuch", "1"]).await,
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    );
    assert_eq!(
        err(&mut con, &["CONFIG", "SET", "hz", "10", "HZ", "11"]).await,
        failed("HZ", "duplicate parameter")
    );
    assert_eq!(
        err(&mut con, &["CONFIG", "SET", "hz", "10", "timeout"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut con, &["CONFIG", "SET", "hz"]).await,
        "ERR wrong number of arguments for 'config|set' command"
    );
    // A bad value anywhere: nothing changes.
    let bad = err(
        &mut con,
        &["CONFIG", "SET", "hz", "33", "maxmemory-policy", "bogus"],
    )
    .await;
    assert!(bad.starts_with(&failed("maxmemory-policy", "")), "{bad}");
    let bad = err(&mut con, &["CONFIG", "SET", "maxmemory", "lots"]).await;
    assert!(bad.starts_with(&failed("maxmemory", "")), "{bad}");
    assert_eq!(
        q::<Vec<String>>(&mut con, &["CONFIG", "GET", "hz"]).await[1],
        "20"
    );
}

#[tokio::test]
async fn config_set_applies_encoding_limits() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    q::<i64>(&mut con, &["RPUSH", "l", "a", "b", "c"]).await;
    let encoding = |text: String| {
        text.split(' ')
            .find_map(|f| f.strip_prefix("encoding:").map(str::to_string))
    };
    let before: String = q(&mut con, &["DEBUG", "OBJECT", "l"]).await;
    assert_eq!(encoding(before).as_deref(), Some("listpack"));
    q::<()>(&mut con, &["CONFIG", "SET", "list-max-ziplist-size", "2"]).await;
    let after: String = q(&mut con, &["DEBUG", "OBJECT", "l"]).await;
    assert_eq!(encoding(after).as_deref(), Some("quicklist"));
}

#[tokio::test]
async fn config_resetstat_rewrite_and_help() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    for _ in 0..5 {
        q::<String>(&mut con, &["PING"]).await;
    }
    assert!(num(&info(&mut con, "stats").await, "total_commands_processed") >= 5);
    assert_eq!(q::<String>(&mut con, &["CONFIG", "RESETSTAT"]).await, "OK");
    let stats = info(&mut con, "stats").await;
    assert_eq!(
        num(&stats, "total_commands_processed"),
        1,
        "only RESETSTAT itself"
    );
    assert_eq!(num(&stats, "total_connections_received"), 0);
    let commandstats: String = q(&mut con, &["INFO", "commandstats"]).await;
    assert!(!commandstats.contains("cmdstat_ping"), "{commandstats}");
    assert_eq!(
        err(&mut con, &["CONFIG", "REWRITE"]).await,
        "ERR The server is running without a config file"
    );
    let help: Vec<Value> = q(&mut con, &["CONFIG", "HELP"]).await;
    assert!(help.len() >= 9);
}
