//! Pub/sub through the proxy, in front of real redis-server shards: channels
//! subscribed on their own server, patterns on every server and delivered once,
//! the proxy's own confirmations and counts, RESP2 arrays and RESP3 pushes, the
//! subscribed-context rule, CLIENT NOECHO, PUBSUB combined across servers, and
//! subscriber connections released when the client unsubscribes from everything.

mod support;

use std::time::Duration;
use support::{cmd, Proxy, Raw, Resp};

/// SUBSCRIBE to every one of `channels` at once; the confirmations, in order.
async fn subscribe_all(raw: &mut Raw, channels: &[String]) -> Vec<Resp> {
    let mut request = vec!["SUBSCRIBE"];
    request.extend(channels.iter().map(String::as_str));
    raw.send(&cmd(&request)).await;
    let mut confirmations = Vec::new();
    for _ in channels {
        confirmations.push(raw.read_value().await);
    }
    confirmations
}

/// A message push or array: its kind, channel and payload (pattern dropped).
fn message(value: &Resp) -> (String, String, String) {
    let items = value.items();
    let texts: Vec<String> = items.iter().map(Resp::text).collect();
    match texts[0].as_str() {
        "pmessage" => (texts[0].clone(), texts[2].clone(), texts[3].clone()),
        _ => (texts[0].clone(), texts[1].clone(), texts[2].clone()),
    }
}

fn confirmation(kind: &str, name: Option<&str>, count: i64) -> Resp {
    Resp::Array(vec![
        Resp::bulk(kind),
        name.map_or(Resp::Null, Resp::bulk),
        Resp::Int(count),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_live_on_their_own_server_and_messages_arrive_once() {
    let Some(proxy) = Proxy::over_redis(3, "").await else {
        return;
    };
    let mut sub = Raw::connect(proxy.addr).await;
    let channels: Vec<String> = (0..24).map(|i| format!("chan:{i}")).collect();
    let confirmations = subscribe_all(&mut sub, &channels).await;
    for (i, (channel, got)) in channels.iter().zip(confirmations).enumerate() {
        assert_eq!(got, confirmation("subscribe", Some(channel), i as i64 + 1));
    }
    // Each channel is subscribed on exactly one server, and more than one is used.
    let mut seen = Vec::new();
    let mut used = 0;
    for server in &proxy.redis {
        let names = server.pubsub_channels().await;
        used += usize::from(!names.is_empty());
        seen.extend(names);
    }
    seen.sort();
    let mut want = channels.clone();
    want.sort();
    assert_eq!(seen, want);
    assert!(used >= 2, "all channels landed on one server");

    let mut publisher = Raw::connect(proxy.addr).await;
    for channel in &channels {
        let payload = format!("to {channel}");
        let receivers = publisher.call(&["PUBLISH", channel, &payload]).await;
        assert_eq!(receivers, Resp::Int(1), "{channel} has one subscriber");
    }
    let mut got = Vec::new();
    for _ in &channels {
        got.push(message(&sub.read_value().await));
    }
    got.sort();
    let mut want: Vec<_> = channels
        .iter()
        .map(|c| ("message".to_string(), c.clone(), format!("to {c}")))
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert!(sub.is_silent_for(Duration::from_millis(100)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_gets_each_message_once_from_whichever_server_has_it() {
    let Some(proxy) = Proxy::over_redis(3, "").await else {
        return;
    };
    let mut sub = Raw::connect(proxy.addr).await;
    assert_eq!(
        sub.call(&["PSUBSCRIBE", "news.*"]).await,
        confirmation("psubscribe", Some("news.*"), 1)
    );
    let mut publisher = Raw::connect(proxy.addr).await;
    for i in 0..30 {
        let (channel, payload) = (format!("news.{i}"), i.to_string());
        let receivers = publisher.call(&["PUBLISH", &channel, &payload]).await;
        assert_eq!(receivers, Resp::Int(1), "published on one server only");
    }
    // A marker published on each server directly proves the pattern is on every
    // server and, arriving after that server's messages, that all of them are in.
    for server in &proxy.redis {
        let mut direct = Raw::connect(server.addr).await;
        direct.call(&["PUBLISH", "news.marker", "-"]).await;
    }
    let mut payloads = Vec::new();
    let mut markers = 0;
    while markers < proxy.redis.len() {
        let (kind, channel, payload) = message(&sub.read_value().await);
        assert_eq!(kind, "pmessage");
        if channel == "news.marker" {
            markers += 1;
        } else {
            payloads.push(payload.parse::<i32>().unwrap());
        }
    }
    payloads.sort();
    assert_eq!(
        payloads,
        (0..30).collect::<Vec<_>>(),
        "each message exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_tags_keep_channels_together() {
    let Some(proxy) = Proxy::over_redis(3, "hash_tag: \"{}\"").await else {
        return;
    };
    let mut sub = Raw::connect(proxy.addr).await;
    let channels: Vec<String> = (0..10).map(|i| format!("{{room}}:{i}")).collect();
    subscribe_all(&mut sub, &channels).await;
    let mut holders = 0;
    for server in &proxy.redis {
        let names = server.pubsub_channels().await;
        if !names.is_empty() {
            holders += 1;
            assert_eq!(names.len(), channels.len());
        }
    }
    assert_eq!(holders, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp2_and_resp3_subscribers_get_their_own_encoding() {
    let Some(proxy) = Proxy::over_redis(2, "").await else {
        return;
    };
    let mut two = Raw::connect(proxy.addr).await;
    let mut three = Raw::connect(proxy.addr).await;
    two.roundtrip(
        &cmd(&["SUBSCRIBE", "a"]),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
    )
    .await;
    three.call(&["HELLO", "3"]).await;
    three
        .roundtrip(
            &cmd(&["SUBSCRIBE", "a"]),
            b">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
        )
        .await;
    let mut publisher = Raw::connect(proxy.addr).await;
    publisher
        .roundtrip(&cmd(&["PUBLISH", "a", "hello"]), b":2\r\n")
        .await;
    let body = b"3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nhello\r\n";
    assert_eq!(
        two.read_exact_len(body.len() + 1).await,
        [b"*", &body[..]].concat()
    );
    assert_eq!(
        three.read_exact_len(body.len() + 1).await,
        [b">", &body[..]].concat()
    );
    // A RESP3 subscriber may run any command; its reply is an ordinary one.
    three.roundtrip(&cmd(&["SET", "k", "v"]), b"+OK\r\n").await;
    three.roundtrip(&cmd(&["GET", "k"]), b"$1\r\nv\r\n").await;
    three
        .roundtrip(
            &cmd(&["UNSUBSCRIBE"]),
            b">3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n",
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribed_resp2_client_may_only_subscribe_ping_quit_reset() {
    let Some(proxy) = Proxy::over_redis(2, "").await else {
        return;
    };
    let mut raw = Raw::connect(proxy.addr).await;
    raw.call(&["SUBSCRIBE", "a"]).await;
    raw.roundtrip(
        &cmd(&["GET", "x"]),
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    )
    .await;
    // Unknown commands and wrong arities keep their own errors.
    let reply = raw.call(&["NOSUCH"]).await;
    assert!(reply.text().starts_with("ERR unknown command 'NOSUCH'"));
    raw.roundtrip(&cmd(&["PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        .await;
    raw.roundtrip(&cmd(&["PING", "hi"]), b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n")
        .await;
    raw.roundtrip(&cmd(&["RESET"]), b"+RESET\r\n").await;
    raw.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    raw.roundtrip(&cmd(&["GET", "x"]), b"$-1\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribing_from_everything_releases_the_subscriber_connections() {
    let Some(proxy) = Proxy::over_redis(3, "").await else {
        return;
    };
    let mut baseline = Vec::new();
    for server in &proxy.redis {
        baseline.push(server.clients().await);
    }
    let mut raw = Raw::connect(proxy.addr).await;
    let channels: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
    subscribe_all(&mut raw, &channels).await;
    assert_eq!(
        raw.call(&["PSUBSCRIBE", "p*"]).await,
        confirmation("psubscribe", Some("p*"), 13)
    );
    // One connection per server, however many subscriptions it carries.
    for (server, before) in proxy.redis.iter().zip(&baseline) {
        assert_eq!(server.wait_for_clients(before + 1).await, before + 1);
    }
    raw.send(&cmd(&["UNSUBSCRIBE"])).await;
    let mut counts = Vec::new();
    for _ in &channels {
        let reply = raw.read_value().await;
        assert_eq!(reply.items()[0], Resp::bulk("unsubscribe"));
        counts.push(reply.items()[2].clone());
    }
    let want: Vec<Resp> = (1..=12).rev().map(Resp::Int).collect();
    assert_eq!(counts, want);
    // The pattern still needs every server.
    for (server, before) in proxy.redis.iter().zip(&baseline) {
        assert_eq!(server.clients().await, before + 1);
    }
    assert_eq!(
        raw.call(&["PUNSUBSCRIBE"]).await,
        confirmation("punsubscribe", Some("p*"), 0)
    );
    for (server, before) in proxy.redis.iter().zip(&baseline) {
        assert_eq!(server.wait_for_clients(*before).await, *before);
    }
    // Nothing left: one confirmation with a null name, as Redis sends.
    assert_eq!(
        raw.call(&["UNSUBSCRIBE"]).await,
        confirmation("unsubscribe", None, 0)
    );
    raw.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noecho_keeps_a_publishers_own_messages_from_itself() {
    let Some(proxy) = Proxy::over_redis(3, "").await else {
        return;
    };
    let mut me = Raw::connect(proxy.addr).await;
    me.call(&["HELLO", "3"]).await;
    assert_eq!(
        me.call(&["CLIENT", "NOECHO", "ON"]).await,
        Resp::Simple("OK".into())
    );
    me.call(&["SUBSCRIBE", "news"]).await;
    me.call(&["PSUBSCRIBE", "n*"]).await;
    // Two receivers (the channel and the pattern), both this client: no copy comes.
    assert_eq!(me.call(&["PUBLISH", "news", "mine"]).await, Resp::Int(2));
    let mut other = Raw::connect(proxy.addr).await;
    assert_eq!(
        other.call(&["PUBLISH", "news", "theirs"]).await,
        Resp::Int(2)
    );
    // The next messages are the other client's: "mine" was dropped, both copies.
    let mut got = vec![
        message(&me.read_value().await),
        message(&me.read_value().await),
    ];
    got.sort();
    assert_eq!(
        got,
        vec![
            ("message".into(), "news".into(), "theirs".into()),
            ("pmessage".into(), "news".into(), "theirs".into()),
        ]
    );
    // The same payload published by someone else still arrives.
    assert_eq!(other.call(&["PUBLISH", "news", "mine"]).await, Resp::Int(2));
    for _ in 0..2 {
        assert_eq!(message(&me.read_value().await).2, "mine");
    }
    assert_eq!(
        me.call(&["CLIENT", "NOECHO", "OFF"]).await,
        Resp::Simple("OK".into())
    );
    me.send(&cmd(&["PUBLISH", "news", "echo"])).await;
    let mut replies = 0;
    let mut echoes = 0;
    while replies + echoes < 3 {
        match me.read_value().await {
            Resp::Int(2) => replies += 1,
            value => {
                assert_eq!(message(&value).2, "echo");
                echoes += 1;
            }
        }
    }
    assert_eq!((replies, echoes), (1, 2));
    let bad = me.call(&["CLIENT", "NOECHO", "MAYBE"]).await;
    assert_eq!(bad, Resp::Error("ERR syntax error".into()));
    let short = me.call(&["CLIENT", "NOECHO"]).await;
    let want = "ERR wrong number of arguments for 'client|noecho' command";
    assert_eq!(short, Resp::Error(want.into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_introspection_combines_every_server() {
    let Some(proxy) = Proxy::over_redis(3, "").await else {
        return;
    };
    let mut one = Raw::connect(proxy.addr).await;
    let mut two = Raw::connect(proxy.addr).await;
    let channels: Vec<String> = (0..9).map(|i| format!("t{i}")).collect();
    subscribe_all(&mut one, &channels).await;
    two.call(&["SUBSCRIBE", "t0"]).await;
    one.call(&["PSUBSCRIBE", "x*"]).await;
    two.call(&["PSUBSCRIBE", "x*"]).await;
    two.call(&["PSUBSCRIBE", "y*"]).await;
    let mut con = proxy.conn().await;
    let mut listed: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .query_async(&mut con)
        .await
        .unwrap();
    listed.sort();
    assert_eq!(listed, channels);
    let numsub: Vec<(String, i64)> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("t0")
        .arg("t1")
        .arg("none")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(
        numsub,
        vec![("t0".into(), 2), ("t1".into(), 1), ("none".into(), 0)]
    );
    // Two distinct patterns, although each is subscribed on all three servers.
    let numpat: i64 = redis::cmd("PUBSUB")
        .arg("NUMPAT")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(numpat, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_channels_count_apart_and_deliver_smessage() {
    let Some(proxy) = Proxy::over_redis(2, "").await else {
        return;
    };
    let mut sub = Raw::connect(proxy.addr).await;
    sub.call(&["SUBSCRIBE", "plain"]).await;
    assert_eq!(
        sub.call(&["SSUBSCRIBE", "sharded"]).await,
        confirmation("ssubscribe", Some("sharded"), 1)
    );
    let mut other = Raw::connect(proxy.addr).await;
    assert_eq!(
        other.call(&["SPUBLISH", "sharded", "hi"]).await,
        Resp::Int(1)
    );
    assert_eq!(
        message(&sub.read_value().await),
        ("smessage".into(), "sharded".into(), "hi".into())
    );
    assert_eq!(
        sub.call(&["SUNSUBSCRIBE"]).await,
        confirmation("sunsubscribe", Some("sharded"), 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_a_subscriber_connection_closes_the_client_with_an_error() {
    let Some(mut proxy) = Proxy::over_redis(2, "").await else {
        return;
    };
    let mut sub = Raw::connect(proxy.addr).await;
    sub.call(&["PSUBSCRIBE", "*"]).await;
    drop(proxy.redis.pop());
    let reply = sub.read_value().await;
    let text = reply.text();
    assert!(
        text.starts_with("ERR shardcar: lost the subscription connection to server shard-1"),
        "{text}"
    );
    assert!(sub.read_to_close().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_crate_pubsub_client_works_through_the_proxy() {
    let Some(proxy) = Proxy::over_redis(3, "").await else {
        return;
    };
    let client = proxy.client();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let listener = tokio::task::spawn_blocking(move || {
        let mut con = client.get_connection().unwrap();
        con.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut pubsub = con.as_pubsub();
        pubsub.subscribe("orders").unwrap();
        pubsub.psubscribe("audit.*").unwrap();
        ready_tx.send(()).unwrap();
        let mut got = Vec::new();
        for _ in 0..2 {
            let msg = pubsub.get_message().unwrap();
            got.push((
                msg.get_channel_name().to_string(),
                msg.get_payload::<String>().unwrap(),
            ));
        }
        got
    });
    ready_rx.await.unwrap();
    let mut con = proxy.conn().await;
    for (channel, payload) in [("orders", "o1"), ("audit.x", "a1")] {
        let receivers: i64 = redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(receivers, 1);
    }
    let mut got = listener.await.unwrap();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("audit.x".into(), "a1".into()),
            ("orders".into(), "o1".into())
        ]
    );
}
