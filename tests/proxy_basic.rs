//! The proxy in front of bundled engine shards: routing, multi-key split and
//! merge, pipelining, local commands, and errors for what cannot be routed.

mod support;

use redis::AsyncCommands;
use support::{cmd, Proxy, Raw};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_spread_over_shards_and_read_back() {
    let proxy = Proxy::over_engines(3, "").await;
    let mut con = proxy.conn().await;
    for i in 0..300 {
        let _: () = con.set(format!("key:{i}"), i).await.unwrap();
    }
    for i in 0..300 {
        let v: i64 = con.get(format!("key:{i}")).await.unwrap();
        assert_eq!(v, i);
    }
    // Every shard got a share, and the shares add up.
    let mut total = 0;
    for engine in &proxy.engines {
        let mut direct = engine.conn().await;
        let n: i64 = redis::cmd("DBSIZE").query_async(&mut direct).await.unwrap();
        assert!(n > 50, "a shard holds only {n} of 300 keys");
        total += n;
    }
    assert_eq!(total, 300);
    let dbsize: i64 = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
    assert_eq!(dbsize, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_key_commands_split_and_merge_in_order() {
    let proxy = Proxy::over_engines(3, "").await;
    let mut con = proxy.conn().await;
    let keys: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
    let pairs: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), format!("v-{k}"))).collect();
    let _: () = con.mset(&pairs).await.unwrap();
    let mut asked = keys.clone();
    asked.insert(10, "missing".into());
    let values: Vec<Option<String>> = con.mget(&asked).await.unwrap();
    for (key, value) in asked.iter().zip(&values) {
        match key.as_str() {
            "missing" => assert_eq!(value, &None),
            k => assert_eq!(value.as_deref(), Some(format!("v-{k}").as_str())),
        }
    }
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&keys)
        .arg("missing")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(exists, 50);
    let deleted: i64 = con.del(&keys[..20]).await.unwrap();
    assert_eq!(deleted, 20);
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&keys)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(exists, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_of_thousands_answers_in_order() {
    let proxy = Proxy::over_engines(3, "").await;
    let mut raw = Raw::connect(proxy.addr).await;
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for i in 0..5000 {
        let key = format!("p{i}");
        request.extend(cmd(&["SET", &key, &i.to_string()]));
        request.extend(cmd(&["GET", &key]));
        expected.extend(b"+OK\r\n");
        expected.extend(format!("${}\r\n{i}\r\n", i.to_string().len()).into_bytes());
    }
    raw.send(&request).await;
    assert_eq!(raw.read_exact_len(expected.len()).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unroutable_commands_answer_an_error_and_keep_the_connection() {
    let proxy = Proxy::over_engines(2, "").await;
    let mut raw = Raw::connect(proxy.addr).await;
    raw.roundtrip(
        &cmd(&["KEYS", "*"]),
        b"-ERR shardcar: KEYS is not supported across shards; use SCAN\r\n",
    )
    .await;
    raw.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    raw.send(&cmd(&["FLUSHALL"])).await;
    let reply = raw.read_line().await;
    assert!(
        reply.starts_with("-ERR shardcar: FLUSHALL is disabled"),
        "{reply}"
    );
    raw.roundtrip(&cmd(&["ECHO", "still here"]), b"$10\r\nstill here\r\n")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_shard_commands_need_their_keys_together() {
    let proxy = Proxy::over_engines(3, "hash_tag: \"{}\"").await;
    let mut con = proxy.conn().await;
    let _: () = con.set("{user1}:a", "x").await.unwrap();
    let _: () = redis::cmd("RENAME")
        .arg("{user1}:a")
        .arg("{user1}:b")
        .query_async(&mut con)
        .await
        .unwrap();
    let v: String = con.get("{user1}:b").await.unwrap();
    assert_eq!(v, "x");
    // Keys on different servers: a CROSSSLOT error naming them, connection kept.
    let mut found = None;
    for i in 0..50 {
        let _: () = con.set(format!("plain{i}"), 1).await.unwrap();
        let r: redis::RedisResult<()> = redis::cmd("RENAME")
            .arg("plain0")
            .arg(format!("plain{i}"))
            .query_async(&mut con)
            .await;
        if let Err(e) = r {
            found = Some(e.to_string());
            break;
        }
        let _: () = con.set("plain0", 1).await.unwrap();
    }
    let err = found.expect("some pair of keys lives on two servers");
    assert!(
        err.to_lowercase().contains("crossslot") && err.contains("shard-"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_walks_every_shard() {
    let proxy = Proxy::over_engines(3, "").await;
    let mut con = proxy.conn().await;
    for i in 0..500 {
        let _: () = con.set(format!("s{i}"), i).await.unwrap();
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(50)
            .query_async(&mut con)
            .await
            .unwrap();
        seen.extend(keys);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
    let err: redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
        .arg("notanumber")
        .query_async(&mut con)
        .await;
    assert!(err.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_commands() {
    let proxy = Proxy::over_engines(2, "").await;
    let mut raw = Raw::connect(proxy.addr).await;
    raw.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    raw.roundtrip(&cmd(&["SELECT", "0"]), b"+OK\r\n").await;
    raw.roundtrip(&cmd(&["CLIENT", "SETNAME", "app"]), b"+OK\r\n")
        .await;
    raw.roundtrip(&cmd(&["CLIENT", "GETNAME"]), b"$3\r\napp\r\n")
        .await;
    raw.roundtrip(&cmd(&["CONFIG", "GET", "maxmemory"]), b"*0\r\n")
        .await;
    raw.send(&cmd(&["SELECT", "1"])).await;
    assert!(raw.read_line().await.starts_with("-ERR shardcar: SELECT"));
    raw.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_auth_is_the_proxys_own() {
    let proxy = Proxy::over_engines(2, "requirepass: hunter2").await;
    let mut raw = Raw::connect(proxy.addr).await;
    raw.roundtrip(&cmd(&["GET", "x"]), b"-NOAUTH Authentication required.\r\n")
        .await;
    raw.roundtrip(
        &cmd(&["AUTH", "nope"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    )
    .await;
    raw.roundtrip(&cmd(&["AUTH", "hunter2"]), b"+OK\r\n").await;
    raw.roundtrip(&cmd(&["GET", "x"]), b"$-1\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_distribution_routes_by_prefix() {
    let mut engines = Vec::new();
    for _ in 0..2 {
        engines.push(support::Engine::start().await);
    }
    let servers = [
        format!("{}:1 users", engines[0].addr),
        format!("{}:1 rest", engines[1].addr),
    ];
    let extra = "distribution: range\nranges:\n  - \"user:*\": users\n  - \"*\": rest";
    let yaml = support::pool_yaml(&servers, extra);
    let proxy = Proxy::start(&yaml).await;
    let mut con = proxy.conn().await;
    for i in 0..20 {
        let _: () = con.set(format!("user:{i}"), i).await.unwrap();
        let _: () = con.set(format!("order:{i}"), i).await.unwrap();
    }
    let mut users = engines[0].conn().await;
    let mut rest = engines[1].conn().await;
    let on_users: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut users)
        .await
        .unwrap();
    let on_rest: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut rest)
        .await
        .unwrap();
    assert_eq!(on_users.len(), 20);
    assert!(
        on_users.iter().all(|k| k.starts_with("user:")),
        "{on_users:?}"
    );
    assert_eq!(on_rest.len(), 20);
    assert!(
        on_rest.iter().all(|k| k.starts_with("order:")),
        "{on_rest:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_fans_out_when_the_pool_allows_it() {
    let proxy = Proxy::over_engines(3, "allow_flush: true").await;
    let mut con = proxy.conn().await;
    for i in 0..30 {
        let _: () = con.set(format!("f{i}"), i).await.unwrap();
    }
    let _: () = redis::cmd("FLUSHALL").query_async(&mut con).await.unwrap();
    let dbsize: i64 = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
    assert_eq!(dbsize, 0);
}
