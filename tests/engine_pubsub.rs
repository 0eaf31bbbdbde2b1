//! Pub/sub against a running engine: channels, patterns and shard channels in
//! RESP2 (arrays) and RESP3 (pushes), exact bytes as redis-server 7.0.15 sends
//! them, PUBSUB introspection, the subscribed context, and delivery order.

mod resp_read;
mod support;

use std::time::Duration;

use support::{cmd, Engine, Raw};

/// `*3 $kind $name :count` (RESP2) or `>3 …` (RESP3).
fn confirm(push: char, kind: &str, name: Option<&str>, count: i64) -> String {
    let name = name.map_or("$-1\r\n".to_string(), |n| {
        format!("${}\r\n{n}\r\n", n.len())
    });
    let name = if push == '>' && name == "$-1\r\n" {
        "_\r\n".to_string()
    } else {
        name
    };
    format!("{push}3\r\n${}\r\n{kind}\r\n{name}:{count}\r\n", kind.len())
}

fn message(push: char, channel: &str, payload: &str) -> String {
    format!(
        "{push}3\r\n$7\r\nmessage\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
        channel.len(),
        payload.len()
    )
}

fn pmessage(push: char, pattern: &str, channel: &str, payload: &str) -> String {
    format!(
        "{push}4\r\n$8\r\npmessage\r\n${}\r\n{pattern}\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
        pattern.len(),
        channel.len(),
        payload.len()
    )
}

async fn expect(raw: &mut Raw, expected: &str) {
    let got = raw.read_exact_len(expected.len()).await;
    assert_eq!(String::from_utf8_lossy(&got), expected);
}

async fn hello3(engine: &Engine) -> Raw {
    let mut raw = Raw::connect(engine.addr).await;
    raw.send(&cmd(&["HELLO", "3"])).await;
    let hello = resp_read::read_value(&mut raw).await;
    assert!(hello.starts_with("%7\r\n"), "{hello}");
    raw
}

#[tokio::test]
async fn resp2_channels_and_patterns() {
    let engine = Engine::start().await;
    let mut sub = Raw::connect(engine.addr).await;
    let mut publisher = Raw::connect(engine.addr).await;
    sub.send(&cmd(&["SUBSCRIBE", "news", "sport"])).await;
    expect(
        &mut sub,
        &(confirm('*', "subscribe", Some("news"), 1)
            + &confirm('*', "subscribe", Some("sport"), 2)),
    )
    .await;
    sub.send(&cmd(&["PSUBSCRIBE", "n*"])).await;
    expect(&mut sub, &confirm('*', "psubscribe", Some("n*"), 3)).await;
    // Subscribing again to the same channel confirms with an unchanged count.
    sub.send(&cmd(&["SUBSCRIBE", "news"])).await;
    expect(&mut sub, &confirm('*', "subscribe", Some("news"), 3)).await;

    publisher
        .roundtrip(&cmd(&["PUBLISH", "news", "hello"]), b":2\r\n")
        .await;
    expect(
        &mut sub,
        &(message('*', "news", "hello") + &pmessage('*', "n*", "news", "hello")),
    )
    .await;
    publisher
        .roundtrip(&cmd(&["PUBLISH", "nothing", "x"]), b":1\r\n")
        .await;
    expect(&mut sub, &pmessage('*', "n*", "nothing", "x")).await;
    publisher
        .roundtrip(&cmd(&["PUBLISH", "weather", "x"]), b":0\r\n")
        .await;

    // Unsubscribing from a channel one is not subscribed to still confirms.
    sub.send(&cmd(&["UNSUBSCRIBE", "news", "never"])).await;
    expect(
        &mut sub,
        &(confirm('*', "unsubscribe", Some("news"), 2)
            + &confirm('*', "unsubscribe", Some("never"), 2)),
    )
    .await;
    publisher
        .roundtrip(&cmd(&["PUBLISH", "news", "again"]), b":1\r\n")
        .await;
    expect(&mut sub, &pmessage('*', "n*", "news", "again")).await;

    // With no argument: every channel, one reply each; then a nil reply when none is left.
    sub.send(&cmd(&["UNSUBSCRIBE"])).await;
    expect(&mut sub, &confirm('*', "unsubscribe", Some("sport"), 1)).await;
    sub.send(&cmd(&["UNSUBSCRIBE"])).await;
    expect(&mut sub, &confirm('*', "unsubscribe", None, 1)).await;
    sub.send(&cmd(&["PUNSUBSCRIBE"])).await;
    expect(&mut sub, &confirm('*', "punsubscribe", Some("n*"), 0)).await;
    sub.send(&cmd(&["PUNSUBSCRIBE"])).await;
    expect(&mut sub, &confirm('*', "punsubscribe", None, 0)).await;
    // Out of the subscribed context: any command again.
    sub.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    sub.roundtrip(&cmd(&["GET", "k"]), b"$-1\r\n").await;
}

#[tokio::test]
async fn resp2_subscribed_context() {
    let engine = Engine::start().await;
    let mut sub = Raw::connect(engine.addr).await;
    sub.send(&cmd(&["SUBSCRIBE", "a"])).await;
    expect(&mut sub, &confirm('*', "subscribe", Some("a"), 1)).await;
    let refused = |name: &str| {
        format!(
            "-ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
        )
    };
    sub.roundtrip(&cmd(&["GET", "x"]), refused("get").as_bytes())
        .await;
    sub.roundtrip(
        &cmd(&["PUBSUB", "NUMSUB", "a"]),
        refused("pubsub|numsub").as_bytes(),
    )
    .await;
    sub.roundtrip(&cmd(&["PUBLISH", "a", "m"]), refused("publish").as_bytes())
        .await;
    sub.roundtrip(&cmd(&["PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        .await;
    sub.roundtrip(&cmd(&["PING", "hi"]), b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n")
        .await;
    // RESET leaves the context and every subscription.
    sub.roundtrip(&cmd(&["RESET"]), b"+RESET\r\n").await;
    sub.roundtrip(&cmd(&["GET", "x"]), b"$-1\r\n").await;
    let mut other = engine.conn().await;
    let numsub: (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("a")
        .query_async(&mut other)
        .await
        .unwrap();
    assert_eq!(numsub, ("a".to_string(), 0));
    sub.send(&cmd(&["SUBSCRIBE", "a"])).await;
    expect(&mut sub, &confirm('*', "subscribe", Some("a"), 1)).await;
    sub.roundtrip(&cmd(&["QUIT"]), b"+OK\r\n").await;
}

#[tokio::test]
async fn resp3_pushes() {
    let engine = Engine::start().await;
    let mut sub = hello3(&engine).await;
    sub.send(&cmd(&["SUBSCRIBE", "a"])).await;
    expect(&mut sub, &confirm('>', "subscribe", Some("a"), 1)).await;
    sub.send(&cmd(&["PSUBSCRIBE", "*"])).await;
    expect(&mut sub, &confirm('>', "psubscribe", Some("*"), 2)).await;
    // RESP3 clients may run any command while subscribed.
    sub.roundtrip(&cmd(&["GET", "x"]), b"_\r\n").await;
    sub.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    let mut publisher = engine.conn().await;
    let n: i64 = redis::cmd("PUBLISH")
        .arg("a")
        .arg("m1")
        .query_async(&mut publisher)
        .await
        .unwrap();
    assert_eq!(n, 2);
    expect(
        &mut sub,
        &(message('>', "a", "m1") + &pmessage('>', "*", "a", "m1")),
    )
    .await;
    // Publishing to oneself: the messages come before the reply, as in Redis.
    sub.send(&cmd(&["PUBLISH", "a", "me"])).await;
    expect(
        &mut sub,
        &(message('>', "a", "me") + &pmessage('>', "*", "a", "me") + ":2\r\n"),
    )
    .await;
    sub.send(&cmd(&["UNSUBSCRIBE"])).await;
    expect(&mut sub, &confirm('>', "unsubscribe", Some("a"), 1)).await;
    sub.send(&cmd(&["PUNSUBSCRIBE", "*", "x"])).await;
    expect(
        &mut sub,
        &(confirm('>', "punsubscribe", Some("*"), 0) + &confirm('>', "punsubscribe", Some("x"), 0)),
    )
    .await;
    sub.send(&cmd(&["UNSUBSCRIBE"])).await;
    expect(&mut sub, &confirm('>', "unsubscribe", None, 0)).await;
}

#[tokio::test]
async fn shard_channels_are_a_namespace_of_their_own() {
    let engine = Engine::start().await;
    let mut sub = Raw::connect(engine.addr).await;
    sub.send(&cmd(&["SUBSCRIBE", "ch"])).await;
    expect(&mut sub, &confirm('*', "subscribe", Some("ch"), 1)).await;
    sub.send(&cmd(&["SSUBSCRIBE", "ch", "other"])).await;
    // Shard subscriptions are counted apart.
    expect(
        &mut sub,
        &(confirm('*', "ssubscribe", Some("ch"), 1)
            + &confirm('*', "ssubscribe", Some("other"), 2)),
    )
    .await;
    let mut publisher = Raw::connect(engine.addr).await;
    publisher
        .roundtrip(&cmd(&["SPUBLISH", "ch", "s"]), b":1\r\n")
        .await;
    expect(&mut sub, "*3\r\n$8\r\nsmessage\r\n$2\r\nch\r\n$1\r\ns\r\n").await;
    publisher
        .roundtrip(&cmd(&["PUBLISH", "ch", "p"]), b":1\r\n")
        .await;
    expect(&mut sub, &message('*', "ch", "p")).await;
    publisher
        .roundtrip(&cmd(&["SPUBLISH", "nobody", "s"]), b":0\r\n")
        .await;
    publisher
        .roundtrip(
            &cmd(&["PUBSUB", "SHARDNUMSUB", "ch", "zz"]),
            b"*4\r\n$2\r\nch\r\n:1\r\n$2\r\nzz\r\n:0\r\n",
        )
        .await;
    publisher
        .roundtrip(
            &cmd(&["PUBSUB", "SHARDCHANNELS", "o*"]),
            b"*1\r\n$5\r\nother\r\n",
        )
        .await;
    sub.send(&cmd(&["SUNSUBSCRIBE", "ch"])).await;
    expect(&mut sub, &confirm('*', "sunsubscribe", Some("ch"), 1)).await;
    sub.send(&cmd(&["SUNSUBSCRIBE"])).await;
    expect(&mut sub, &confirm('*', "sunsubscribe", Some("other"), 0)).await;
    sub.send(&cmd(&["SUNSUBSCRIBE"])).await;
    expect(&mut sub, &confirm('*', "sunsubscribe", None, 0)).await;
    // Still subscribed to a plain channel: still in the subscribed context.
    sub.roundtrip(&cmd(&["PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        .await;
}

#[tokio::test]
async fn pubsub_introspection() {
    let engine = Engine::start().await;
    let mut a = Raw::connect(engine.addr).await;
    let mut b = Raw::connect(engine.addr).await;
    a.send(&cmd(&["SUBSCRIBE", "news", "sport"])).await;
    a.read_exact_len(
        (confirm('*', "subscribe", Some("news"), 1) + &confirm('*', "subscribe", Some("sport"), 2))
            .len(),
    )
    .await;
    b.send(&cmd(&["SUBSCRIBE", "news"])).await;
    expect(&mut b, &confirm('*', "subscribe", Some("news"), 1)).await;
    b.send(&cmd(&["PSUBSCRIBE", "n*", "s*"])).await;
    b.read_exact_len(
        (confirm('*', "psubscribe", Some("n*"), 2) + &confirm('*', "psubscribe", Some("s*"), 3))
            .len(),
    )
    .await;

    let mut con = engine.conn().await;
    let mut channels: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .query_async(&mut con)
        .await
        .unwrap();
    channels.sort();
    assert_eq!(channels, vec!["news", "sport"]);
    let matching: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .arg("s*")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(matching, vec!["sport"]);
    let numsub: Vec<(String, i64)> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("news")
        .arg("sport")
        .arg("none")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(
        numsub,
        vec![("news".into(), 2), ("sport".into(), 1), ("none".into(), 0)]
    );
    let numpat: i64 = redis::cmd("PUBSUB")
        .arg("NUMPAT")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(numpat, 2);
    let n: i64 = redis::cmd("PUBLISH")
        .arg("news")
        .arg("x")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(n, 3, "two channel subscribers and one pattern");

    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(&cmd(&["PUBSUB", "NUMSUB"]), b"*0\r\n").await;
    raw.roundtrip(
        &cmd(&["PUBSUB", "CHANNELS", "a", "b"]),
        b"-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n",
    )
    .await;
    raw.roundtrip(
        &cmd(&["PUBSUB", "NOSUCH"]),
        b"-ERR unknown subcommand 'NOSUCH'. Try PUBSUB HELP.\r\n",
    )
    .await;
    raw.roundtrip(
        &cmd(&["PUBSUB"]),
        b"-ERR wrong number of arguments for 'pubsub' command\r\n",
    )
    .await;
    raw.roundtrip(
        &cmd(&["PUBLISH", "a"]),
        b"-ERR wrong number of arguments for 'publish' command\r\n",
    )
    .await;
    raw.roundtrip(
        &cmd(&["SUBSCRIBE"]),
        b"-ERR wrong number of arguments for 'subscribe' command\r\n",
    )
    .await;

    // A subscriber that leaves is forgotten.
    drop(a);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let numsub: (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("sport")
            .query_async(&mut con)
            .await
            .unwrap();
        if numsub.1 == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "sport still has a subscriber"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut con)
        .await
        .unwrap();
    assert!(
        stats.contains("\r\npubsub_channels:1\r\npubsub_patterns:2\r\n"),
        "{stats}"
    );
}

#[tokio::test]
async fn messages_arrive_in_publish_order_to_every_subscriber() {
    let engine = Engine::start().await;
    let mut subscribers = Vec::new();
    for _ in 0..3 {
        let mut sub = Raw::connect(engine.addr).await;
        sub.send(&[cmd(&["SUBSCRIBE", "seq"]), cmd(&["PSUBSCRIBE", "s*"])].concat())
            .await;
        expect(
            &mut sub,
            &(confirm('*', "subscribe", Some("seq"), 1)
                + &confirm('*', "psubscribe", Some("s*"), 2)),
        )
        .await;
        subscribers.push(sub);
    }
    // Two publishers interleaving: each one's messages keep their order.
    let total = 300;
    let mut publishers = Vec::new();
    for name in ["x", "y"] {
        let mut con = engine.conn().await;
        publishers.push(tokio::spawn(async move {
            let mut pipe = redis::pipe();
            for i in 0..total {
                pipe.cmd("PUBLISH").arg("seq").arg(format!("{name}{i}"));
            }
            let counts: Vec<i64> = pipe.query_async(&mut con).await.unwrap();
            assert!(
                counts.iter().all(|&n| n == 6),
                "3 subscribers × channel and pattern"
            );
        }));
    }
    for publisher in publishers {
        publisher.await.unwrap();
    }
    let mut first_order: Option<Vec<String>> = None;
    for sub in &mut subscribers {
        let mut direct = Vec::new();
        for _ in 0..4 * total {
            let frame = resp_read::read_value(sub).await;
            let payload = frame.rsplit("\r\n").nth(1).unwrap().to_string();
            if frame.starts_with("*3\r\n$7\r\nmessage") {
                direct.push(payload);
            } else {
                assert!(frame.starts_with("*4\r\n$8\r\npmessage"), "{frame}");
            }
        }
        for name in ["x", "y"] {
            let own: Vec<&String> = direct.iter().filter(|p| p.starts_with(name)).collect();
            let expected: Vec<String> = (0..total).map(|i| format!("{name}{i}")).collect();
            assert_eq!(own, expected.iter().collect::<Vec<_>>());
        }
        // Every subscriber sees the same global order.
        match &first_order {
            None => first_order = Some(direct),
            Some(order) => assert_eq!(*order, direct),
        }
    }
}

#[tokio::test]
async fn client_list_shows_subscriptions() {
    let engine = Engine::start().await;
    let mut sub = Raw::connect(engine.addr).await;
    sub.send(
        &[
            cmd(&["SUBSCRIBE", "a", "b"]),
            cmd(&["PSUBSCRIBE", "p*"]),
            cmd(&["SSUBSCRIBE", "s"]),
        ]
        .concat(),
    )
    .await;
    sub.read_exact_len(
        (confirm('*', "subscribe", Some("a"), 1)
            + &confirm('*', "subscribe", Some("b"), 2)
            + &confirm('*', "psubscribe", Some("p*"), 3)
            + &confirm('*', "ssubscribe", Some("s"), 1))
            .len(),
    )
    .await;
    let mut con = engine.conn().await;
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut con)
        .await
        .unwrap();
    assert!(
        list.contains(" flags=P db=0 sub=2 psub=1 ssub=1 "),
        "{list}"
    );
    assert!(list.contains(" cmd=ssubscribe "), "{list}");
}

#[tokio::test]
async fn a_subscriber_that_never_reads_is_dropped() {
    let engine = Engine::start().await;
    let mut sleeper = Raw::connect(engine.addr).await;
    sleeper.send(&cmd(&["SUBSCRIBE", "firehose"])).await;
    expect(
        &mut sleeper,
        &confirm('*', "subscribe", Some("firehose"), 1),
    )
    .await;
    // It never reads again. Past 32 MiB queued, the server lets it go.
    let mut con = engine.conn().await;
    let message = "x".repeat(1 << 20);
    let mut receivers = Vec::new();
    for _ in 0..48 {
        let n: i64 = redis::cmd("PUBLISH")
            .arg("firehose")
            .arg(&message)
            .query_async(&mut con)
            .await
            .unwrap();
        receivers.push(n);
    }
    assert_eq!(receivers.first(), Some(&1));
    assert_eq!(receivers.last(), Some(&0), "{receivers:?}");
    let numsub: (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("firehose")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(numsub.1, 0);
}
