//! Stateful commands through the proxy: blocking commands on the client's own
//! connection (woken through the proxy, never cut by the pool timeout, dropped
//! with the client), MULTI/EXEC/WATCH pinned to one server (atomic, aborted by
//! WATCH, refused across servers), and scripts routed by their keys.

mod support;

use std::time::Duration;
use support::{cmd, Proxy, Raw, Resp};
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blpop_is_woken_by_another_clients_rpush_through_the_proxy() {
    let proxy = Proxy::over_engines(3, "hash_tag: \"{}\"").await;
    let mut waiter = Raw::connect(proxy.addr).await;
    waiter.send(&cmd(&["BLPOP", "{q}jobs", "0"])).await;
    assert!(
        waiter.is_silent_for(Duration::from_millis(150)).await,
        "BLPOP blocks"
    );
    let mut producer = Raw::connect(proxy.addr).await;
    assert_eq!(
        producer.call(&["RPUSH", "{q}jobs", "j1"]).await,
        Resp::Int(1)
    );
    assert_eq!(
        waiter.read_value().await,
        Resp::Array(vec![Resp::bulk("{q}jobs"), Resp::bulk("j1")])
    );
    // The waiter's private connection serves it again, and BLMOVE as well.
    let blmove = ["BLMOVE", "{q}jobs", "{q}done", "LEFT", "RIGHT", "0"];
    waiter.send(&cmd(&blmove)).await;
    assert!(waiter.is_silent_for(Duration::from_millis(100)).await);
    producer.call(&["RPUSH", "{q}jobs", "j2"]).await;
    assert_eq!(waiter.read_value().await, Resp::bulk("j2"));
    assert_eq!(producer.call(&["LLEN", "{q}done"]).await, Resp::Int(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_timeout_does_not_cut_a_blocking_command() {
    let proxy = Proxy::over_engines(2, "timeout: 100").await;
    let mut raw = Raw::connect(proxy.addr).await;
    let started = Instant::now();
    raw.roundtrip(&cmd(&["BRPOP", "empty", "1"]), b"*-1\r\n")
        .await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    raw.roundtrip(&cmd(&["SET", "k", "v"]), b"+OK\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_while_blocked_is_unblocked_on_its_server() {
    let Some(proxy) = Proxy::over_redis(2, "").await else {
        return;
    };
    let queue = "work-queue";
    let server = &proxy.redis[proxy.owner(queue).await];
    let before = server.clients().await;
    let mut waiter = Raw::connect(proxy.addr).await;
    waiter.send(&cmd(&["BLPOP", queue, "0"])).await;
    server.wait_for_blocked(1).await;
    assert_eq!(server.clients().await, before + 1, "one private connection");
    drop(waiter);
    server.wait_for_blocked(0).await;
    assert_eq!(server.wait_for_clients(before).await, before);
    // Nobody pops what comes next: the element stays.
    let mut producer = Raw::connect(proxy.addr).await;
    producer.call(&["RPUSH", queue, "late"]).await;
    assert_eq!(producer.call(&["LLEN", queue]).await, Resp::Int(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_exec_runs_on_the_keys_server_with_exact_replies() {
    let proxy = Proxy::over_engines(3, "hash_tag: \"{}\"").await;
    let mut raw = Raw::connect(proxy.addr).await;
    raw.roundtrip(&cmd(&["MULTI"]), b"+OK\r\n").await;
    // Keyless commands before the first key are kept and answered QUEUED.
    raw.exchange(&[
        (&["PING"], "+QUEUED\r\n"),
        (&["INCR", "{acct}:a"], "+QUEUED\r\n"),
        (&["INCRBY", "{acct}:b", "5"], "+QUEUED\r\n"),
        (&["ECHO", "hi"], "+QUEUED\r\n"),
        (&["EXEC"], "*4\r\n+PONG\r\n:1\r\n:5\r\n$2\r\nhi\r\n"),
    ])
    .await;
    // Only keyless commands: any server runs them; an empty one answers at once.
    raw.exchange(&[
        (&["MULTI"], "+OK\r\n"),
        (&["PING", "x"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n$1\r\nx\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["EXEC"], "*0\r\n"),
    ])
    .await;
    // DISCARD drops what was queued.
    raw.exchange(&[
        (&["MULTI"], "+OK\r\n"),
        (&["SET", "{acct}:a", "100"], "+QUEUED\r\n"),
        (&["DISCARD"], "+OK\r\n"),
        (&["GET", "{acct}:a"], "$1\r\n1\r\n"),
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_around_a_transaction_keeps_its_order() {
    let proxy = Proxy::over_engines(3, "").await;
    let mut raw = Raw::connect(proxy.addr).await;
    let mut request = Vec::new();
    for args in [
        &["SET", "ordered", "1"][..],
        &["MULTI"],
        &["INCR", "ordered"],
        &["EXEC"],
        &["GET", "ordered"],
        &["INCR", "ordered"],
    ] {
        request.extend(cmd(args));
    }
    raw.send(&request).await;
    let want = b"+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n:2\r\n$1\r\n2\r\n:3\r\n";
    assert_eq!(
        String::from_utf8_lossy(&raw.read_exact_len(want.len()).await),
        String::from_utf8_lossy(want)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_atomic_through_the_proxy() {
    let proxy = Proxy::over_engines(3, "hash_tag: \"{}\"").await;
    let mut writers = Vec::new();
    for _ in 0..3 {
        let mut con = proxy.dedicated().await;
        writers.push(tokio::spawn(async move {
            for _ in 0..100 {
                let _: () = redis::pipe()
                    .atomic()
                    .incr("{pair}:a", 1)
                    .ignore()
                    .incr("{pair}:b", 1)
                    .ignore()
                    .query_async(&mut con)
                    .await
                    .unwrap();
            }
        }));
    }
    let mut reader = proxy.dedicated().await;
    for _ in 0..100 {
        let (a, b): (Option<i64>, Option<i64>) = redis::pipe()
            .atomic()
            .get("{pair}:a")
            .get("{pair}:b")
            .query_async(&mut reader)
            .await
            .unwrap();
        assert_eq!(a, b, "a transaction was seen half done");
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let mut raw = Raw::connect(proxy.addr).await;
    assert_eq!(raw.call(&["GET", "{pair}:b"]).await, Resp::bulk("300"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_aborts_exec_when_another_client_writes_the_key() {
    let proxy = Proxy::over_engines(3, "").await;
    let mut mine = Raw::connect(proxy.addr).await;
    let mut theirs = Raw::connect(proxy.addr).await;
    mine.exchange(&[
        (&["SET", "balance", "10"], "+OK\r\n"),
        (&["WATCH", "balance"], "+OK\r\n"),
        (&["GET", "balance"], "$2\r\n10\r\n"),
    ])
    .await;
    theirs
        .roundtrip(&cmd(&["SET", "balance", "99"]), b"+OK\r\n")
        .await;
    mine.exchange(&[
        (&["MULTI"], "+OK\r\n"),
        (&["SET", "balance", "11"], "+QUEUED\r\n"),
        (&["EXEC"], "*-1\r\n"),
        (&["GET", "balance"], "$2\r\n99\r\n"),
    ])
    .await;
    // Unchanged, the watched transaction runs; UNWATCH forgets the watch.
    mine.exchange(&[
        (&["WATCH", "balance"], "+OK\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["INCR", "balance"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n:100\r\n"),
        (&["WATCH", "balance"], "+OK\r\n"),
        (&["UNWATCH"], "+OK\r\n"),
    ])
    .await;
    theirs
        .roundtrip(&cmd(&["SET", "balance", "1"]), b"+OK\r\n")
        .await;
    mine.exchange(&[
        (&["MULTI"], "+OK\r\n"),
        (&["INCR", "balance"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n:2\r\n"),
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_on_another_server_fail_the_transaction_with_crossslot() {
    let proxy = Proxy::over_engines(3, "").await;
    let [(home, home_server), (away, away_server)] = proxy.keys_apart().await;
    let mut raw = Raw::connect(proxy.addr).await;
    raw.exchange(&[
        (&["MULTI"], "+OK\r\n"),
        (&["SET", &home, "1"], "+QUEUED\r\n"),
    ])
    .await;
    let refusal = raw.call(&["SET", &away, "2"]).await;
    let want = format!(
        "CROSSSLOT shardcar: SET goes to {away_server} but the transaction runs on {home_server}; a transaction runs on one server, use a hash tag to keep its keys together"
    );
    assert_eq!(refusal, Resp::Error(want));
    raw.exchange(&[
        (
            &["EXEC"],
            "-EXECABORT Transaction discarded because of previous errors.\r\n",
        ),
        (&["GET", &home], "$-1\r\n"),
    ])
    .await;
    // A split command inside MULTI names every server it would need.
    raw.roundtrip(&cmd(&["MULTI"]), b"+OK\r\n").await;
    let refusal = raw.call(&["MGET", &home, &away]).await.text();
    assert!(
        refusal.starts_with("CROSSSLOT shardcar: MGET goes to "),
        "{refusal}"
    );
    assert!(
        refusal.contains(&home_server) && refusal.contains(&away_server),
        "{refusal}"
    );
    raw.call(&["EXEC"]).await;
    // WATCH needs its keys together too (and is no transaction to fail).
    let refusal = raw.call(&["WATCH", &home, &away]).await.text();
    assert!(
        refusal.starts_with("CROSSSLOT shardcar: WATCH goes to "),
        "{refusal}"
    );
    raw.roundtrip(&cmd(&["WATCH", &home]), b"+OK\r\n").await;
    let refusal = raw.call(&["WATCH", &away]).await.text();
    assert!(
        refusal.ends_with("use a hash tag to keep its keys together"),
        "{refusal}"
    );
    raw.roundtrip(&cmd(&["UNWATCH"]), b"+OK\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_errors_read_as_redis_writes_them() {
    let proxy = Proxy::over_engines(2, "").await;
    let mut raw = Raw::connect(proxy.addr).await;
    raw.exchange(&[
        (&["EXEC"], "-ERR EXEC without MULTI\r\n"),
        (&["DISCARD"], "-ERR DISCARD without MULTI\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["MULTI"], "-ERR MULTI calls can not be nested\r\n"),
        (
            &["WATCH", "x"],
            "-ERR WATCH inside MULTI is not allowed\r\n",
        ),
        (&["SET", "x", "1"], "+QUEUED\r\n"),
    ])
    .await;
    let unknown = raw.call(&["NOSUCH"]).await.text();
    assert!(
        unknown.starts_with("ERR unknown command 'NOSUCH'"),
        "{unknown}"
    );
    raw.exchange(&[
        (
            &["EXEC"],
            "-EXECABORT Transaction discarded because of previous errors.\r\n",
        ),
        (&["GET", "x"], "$-1\r\n"),
    ])
    .await;
    // Connection state cannot change inside a transaction through the proxy.
    raw.roundtrip(&cmd(&["MULTI"]), b"+OK\r\n").await;
    let refusal = raw.call(&["SUBSCRIBE", "c"]).await;
    let want = "ERR shardcar: SUBSCRIBE inside MULTI is not supported by the proxy";
    assert_eq!(refusal, Resp::Error(want.into()));
    raw.exchange(&[(&["DISCARD"], "+OK\r\n"), (&["PING"], "+PONG\r\n")])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_and_discard_release_the_private_connection() {
    let Some(proxy) = Proxy::over_redis(2, "").await else {
        return;
    };
    let server = &proxy.redis[proxy.owner("held").await];
    let mut raw = Raw::connect(proxy.addr).await;
    raw.roundtrip(&cmd(&["GET", "held"]), b"$-1\r\n").await;
    let before = server.clients().await;
    raw.roundtrip(&cmd(&["WATCH", "held"]), b"+OK\r\n").await;
    assert_eq!(server.clients().await, before + 1);
    raw.exchange(&[
        (&["MULTI"], "+OK\r\n"),
        (&["SET", "held", "v"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+OK\r\n"),
    ])
    .await;
    assert_eq!(server.wait_for_clients(before).await, before);
    raw.exchange(&[
        (&["MULTI"], "+OK\r\n"),
        (&["SET", "held", "w"], "+QUEUED\r\n"),
    ])
    .await;
    assert_eq!(server.clients().await, before + 1);
    raw.roundtrip(&cmd(&["DISCARD"]), b"+OK\r\n").await;
    assert_eq!(server.wait_for_clients(before).await, before);
    raw.roundtrip(&cmd(&["GET", "held"]), b"$1\r\nv\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_run_on_their_first_keys_server_and_script_commands_fan_out() {
    let Some(proxy) = Proxy::over_redis(3, "hash_tag: \"{}\"").await else {
        return;
    };
    let mut raw = Raw::connect(proxy.addr).await;
    let script = "return redis.call('SET', KEYS[1], ARGV[1])";
    for i in 0..10 {
        let key = format!("script:{i}");
        raw.roundtrip(&cmd(&["EVAL", script, "1", &key, "v"]), b"+OK\r\n")
            .await;
        let server = &proxy.redis[proxy.owner(&key).await];
        raw.roundtrip(&cmd(&["EVAL", script, "1", &key, "w"]), b"+OK\r\n")
            .await;
        let mut direct = Raw::connect(server.addr).await;
        assert_eq!(direct.call(&["GET", &key]).await, Resp::bulk("w"));
    }
    raw.roundtrip(
        &cmd(&["EVAL", "return 1", "0"]),
        b"-ERR shardcar: EVAL needs at least one key to be routed\r\n",
    )
    .await;
    let [(home, _), (away, _)] = proxy.keys_apart().await;
    let refusal = raw
        .call(&["EVAL", "return 1", "2", &home, &away])
        .await
        .text();
    assert!(refusal.starts_with("CROSSSLOT"), "{refusal}");
    // SCRIPT LOAD: one SHA1, the one a server computes, loaded on every server.
    let Resp::Bulk(sha) = raw.call(&["SCRIPT", "LOAD", "return KEYS[1]"]).await else {
        panic!("SCRIPT LOAD answers a bulk");
    };
    let sha = String::from_utf8(sha).unwrap();
    for server in &proxy.redis {
        let mut direct = Raw::connect(server.addr).await;
        let exists = direct.call(&["SCRIPT", "EXISTS", &sha]).await;
        assert_eq!(exists, Resp::Array(vec![Resp::Int(1)]));
    }
    for key in [&home, &away] {
        assert_eq!(
            raw.call(&["EVALSHA", &sha, "1", key]).await,
            Resp::bulk(key)
        );
    }
    // A script on one server only is not "there" for the proxy.
    let mut direct = Raw::connect(proxy.redis[0].addr).await;
    let Resp::Bulk(partial) = direct.call(&["SCRIPT", "LOAD", "return 2"]).await else {
        panic!("SCRIPT LOAD answers a bulk");
    };
    let partial = String::from_utf8(partial).unwrap();
    let exists = raw
        .call(&["SCRIPT", "EXISTS", &sha, &partial, "0000"])
        .await;
    assert_eq!(
        exists,
        Resp::Array(vec![Resp::Int(1), Resp::Int(0), Resp::Int(0)])
    );
    raw.roundtrip(&cmd(&["SCRIPT", "FLUSH"]), b"+OK\r\n").await;
    let exists = raw.call(&["SCRIPT", "EXISTS", &sha]).await;
    assert_eq!(exists, Resp::Array(vec![Resp::Int(0)]));
    let missing = raw.call(&["EVALSHA", &sha, "1", &home]).await.text();
    assert!(missing.starts_with("NOSCRIPT"), "{missing}");
}
