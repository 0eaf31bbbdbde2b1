//! Expiry in the bundled engine against Redis 7.0's replies: EXPIRE, PEXPIRE,
//! EXPIREAT, PEXPIREAT with NX|XX|GT|LT, TTL, PTTL, EXPIRETIME, PEXPIRETIME,
//! PERSIST; lazy and active expiry; WATCH on a key that expires.
//!
//! TTLs run on the wall clock, so these tests wait for real, briefly, and poll
//! with a deadline rather than assume a schedule.

mod support;

use redis::aio::MultiplexedConnection;
use redis::FromRedisValue;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::{cmd, Engine, Raw};

async fn q<T: FromRedisValue>(con: &mut MultiplexedConnection, args: &[&str]) -> T {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    match command.query_async(con).await {
        Ok(reply) => reply,
        Err(err) => panic!("{args:?} failed: {err}"),
    }
}

async fn expect(raw: &mut Raw, args: &[&str], reply: &str) {
    raw.roundtrip(&cmd(args), reply.as_bytes()).await;
}

async fn setup() -> (Engine, MultiplexedConnection, Raw) {
    let engine = Engine::start().await;
    let con = engine.conn().await;
    let raw = Raw::connect(engine.addr).await;
    (engine, con, raw)
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Polls `probe` every 5 ms until it is true or `limit` passes; returns the wait.
async fn eventually<F, Fut>(limit: Duration, mut probe: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if probe().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

#[tokio::test]
async fn expire_and_read_back_in_every_unit() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["SET", "k", "v"]).await;
    expect(&mut raw, &["EXPIRE", "k", "100"], ":1\r\n").await;
    expect(&mut raw, &["TTL", "k"], ":100\r\n").await;
    let pttl: i64 = q(&mut con, &["PTTL", "k"]).await;
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    let at: i64 = q(&mut con, &["PEXPIRETIME", "k"]).await;
    let now = unix_ms();
    assert!(
        (now + 99_000..=now + 100_000).contains(&at),
        "{at} vs {now}"
    );
    let secs: i64 = q(&mut con, &["EXPIRETIME", "k"]).await;
    assert!((secs * 1000 - at).abs() <= 500, "{secs} vs {at}");

    expect(&mut raw, &["PEXPIREAT", "k", "4102444800123"], ":1\r\n").await;
    expect(&mut raw, &["PEXPIRETIME", "k"], ":4102444800123\r\n").await;
    expect(&mut raw, &["EXPIRETIME", "k"], ":4102444800\r\n").await;
    expect(&mut raw, &["EXPIREAT", "k", "4102444801"], ":1\r\n").await;
    expect(&mut raw, &["PEXPIRETIME", "k"], ":4102444801000\r\n").await;
    // EXPIRETIME rounds half up, as Redis does.
    expect(&mut raw, &["PEXPIREAT", "k", "4102444800499"], ":1\r\n").await;
    expect(&mut raw, &["EXPIRETIME", "k"], ":4102444800\r\n").await;
    expect(&mut raw, &["PEXPIREAT", "k", "4102444800500"], ":1\r\n").await;
    expect(&mut raw, &["EXPIRETIME", "k"], ":4102444801\r\n").await;
}

#[tokio::test]
async fn ttl_has_millisecond_precision() {
    let (_engine, mut con, _raw) = setup().await;
    let _: () = q(&mut con, &["SET", "k", "v"]).await;
    let set: i64 = q(&mut con, &["PEXPIRE", "k", "1500"]).await;
    assert_eq!(set, 1);
    let pttl: i64 = q(&mut con, &["PTTL", "k"]).await;
    assert!((1_400..=1_500).contains(&pttl), "{pttl}");
    // TTL rounds to the nearest second: 1.5 s shows as 2 until it drops below.
    let ttl: i64 = q(&mut con, &["TTL", "k"]).await;
    assert!((1..=2).contains(&ttl), "{ttl}");
    let _: i64 = q(&mut con, &["PEXPIRE", "k", "1200"]).await;
    let ttl: i64 = q(&mut con, &["TTL", "k"]).await;
    assert_eq!(ttl, 1);
    let _: i64 = q(&mut con, &["PEXPIRE", "k", "300"]).await;
    let ttl: i64 = q(&mut con, &["TTL", "k"]).await;
    assert_eq!(ttl, 0);
    // The key lives until its millisecond, not its second.
    let _: i64 = q(&mut con, &["PEXPIRE", "k", "120"]).await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    let alive: i64 = q(&mut con, &["EXISTS", "k"]).await;
    assert_eq!(alive, 1);
    tokio::time::sleep(Duration::from_millis(90)).await;
    let alive: i64 = q(&mut con, &["EXISTS", "k"]).await;
    assert_eq!(alive, 0);
}

#[tokio::test]
async fn missing_and_persistent_keys() {
    let (_engine, mut con, mut raw) = setup().await;
    for command in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
        expect(&mut raw, &[command, "missing", "100"], ":0\r\n").await;
        expect(&mut raw, &[command, "missing", "-100"], ":0\r\n").await;
        expect(&mut raw, &[command, "missing", "100", "NX"], ":0\r\n").await;
    }
    for command in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        expect(&mut raw, &[command, "missing"], ":-2\r\n").await;
    }
    expect(&mut raw, &["PERSIST", "missing"], ":0\r\n").await;
    expect(&mut raw, &["EXISTS", "missing"], ":0\r\n").await;

    let _: () = q(&mut con, &["SET", "p", "v"]).await;
    for command in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        expect(&mut raw, &[command, "p"], ":-1\r\n").await;
    }
    expect(&mut raw, &["PERSIST", "p"], ":0\r\n").await;
}

#[tokio::test]
async fn persist_removes_the_ttl() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["SET", "k", "v"]).await;
    let _: i64 = q(&mut con, &["PEXPIRE", "k", "100"]).await;
    expect(&mut raw, &["PERSIST", "k"], ":1\r\n").await;
    expect(&mut raw, &["TTL", "k"], ":-1\r\n").await;
    expect(&mut raw, &["PERSIST", "k"], ":0\r\n").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    expect(&mut raw, &["GET", "k"], "$1\r\nv\r\n").await;
}

#[tokio::test]
async fn negative_or_past_times_delete_the_key() {
    let (_engine, mut con, mut raw) = setup().await;
    let cases: [&[&str]; 6] = [
        &["EXPIRE", "k", "-1"],
        &["PEXPIRE", "k", "0"],
        &["EXPIREAT", "k", "0"],
        &["PEXPIREAT", "k", "1"],
        &["EXPIREAT", "k", "1000000000"],
        &["PEXPIRE", "k", "-9223372036854775808"],
    ];
    for case in cases {
        let _: () = q(&mut con, &["SET", "k", "v"]).await;
        expect(&mut raw, case, ":1\r\n").await;
        expect(&mut raw, &["EXISTS", "k"], ":0\r\n").await;
        expect(&mut raw, &["TTL", "k"], ":-2\r\n").await;
    }
    // Conditions apply before the deletion: GT never passes on a persistent key.
    let _: () = q(&mut con, &["SET", "k", "v"]).await;
    expect(&mut raw, &["EXPIRE", "k", "-1", "GT"], ":0\r\n").await;
    expect(&mut raw, &["EXISTS", "k"], ":1\r\n").await;
    expect(&mut raw, &["EXPIRE", "k", "-1", "LT"], ":1\r\n").await;
    expect(&mut raw, &["EXISTS", "k"], ":0\r\n").await;
}

/// The conditions, on absolute times so that equal times are really equal.
#[tokio::test]
async fn nx_xx_gt_lt() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["SET", "k", "v"]).await;
    let steps: &[(&[&str], &str, i64)] = &[
        // (command, reply, EXPIRETIME after)
        (&["EXPIREAT", "k", "4000000100", "XX"], ":0", -1),
        (&["EXPIREAT", "k", "4000000100", "GT"], ":0", -1),
        (
            &["EXPIREAT", "k", "4000000100", "nx", "NX"],
            ":1",
            4_000_000_100,
        ),
        (&["EXPIREAT", "k", "4000000200", "NX"], ":0", 4_000_000_100),
        (&["EXPIREAT", "k", "4000000200", "gt"], ":1", 4_000_000_200),
        (&["EXPIREAT", "k", "4000000150", "GT"], ":0", 4_000_000_200),
        (&["EXPIREAT", "k", "4000000200", "GT"], ":0", 4_000_000_200),
        (&["EXPIREAT", "k", "4000000050", "lt"], ":1", 4_000_000_050),
        (&["EXPIREAT", "k", "4000000050", "LT"], ":0", 4_000_000_050),
        (
            &["EXPIREAT", "k", "4000000060", "XX", "LT"],
            ":0",
            4_000_000_050,
        ),
        (
            &["EXPIREAT", "k", "4000000060", "XX", "GT"],
            ":1",
            4_000_000_060,
        ),
        (&["EXPIREAT", "k", "4000000070", "XX"], ":1", 4_000_000_070),
        (&["PERSIST", "k"], ":1", -1),
        (&["EXPIREAT", "k", "4000000070", "LT"], ":1", 4_000_000_070),
        (&["PERSIST", "k"], ":1", -1),
        (&["PEXPIRE", "k", "80000", "XX"], ":0", -1),
        (
            &["PEXPIREAT", "k", "9223372036854775807"],
            ":1",
            9_223_372_036_854_776,
        ),
        (&["EXPIRE", "k", "10", "GT"], ":0", 9_223_372_036_854_776),
    ];
    for &(args, reply, after) in steps {
        expect(&mut raw, args, &format!("{reply}\r\n")).await;
        let at: i64 = q(&mut con, &["EXPIRETIME", "k"]).await;
        assert_eq!(at, after, "after {args:?}");
    }
    // Relative forms compare the same way.
    expect(&mut raw, &["EXPIRE", "k", "10", "LT"], ":1\r\n").await;
    expect(&mut raw, &["TTL", "k"], ":10\r\n").await;
    expect(&mut raw, &["PEXPIRE", "k", "5000", "GT"], ":0\r\n").await;
    expect(&mut raw, &["PEXPIRE", "k", "50000", "GT"], ":1\r\n").await;
    expect(&mut raw, &["EXPIRE", "k", "20", "LT"], ":1\r\n").await;
    expect(&mut raw, &["TTL", "k"], ":20\r\n").await;
}

#[tokio::test]
async fn option_errors() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["SET", "k", "v"]).await;
    let nx = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
    let gt_lt = "-ERR GT and LT options at the same time are not compatible\r\n";
    for command in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
        expect(&mut raw, &[command, "k", "10", "NX", "XX"], nx).await;
        expect(&mut raw, &[command, "k", "10", "gt", "nx"], nx).await;
        expect(&mut raw, &[command, "k", "10", "NX", "LT"], nx).await;
        expect(&mut raw, &[command, "k", "10", "GT", "LT"], gt_lt).await;
        expect(&mut raw, &[command, "k", "10", "LT", "GT", "XX"], gt_lt).await;
        expect(
            &mut raw,
            &[command, "k", "10", "Foo"],
            "-ERR Unsupported option Foo\r\n",
        )
        .await;
        expect(
            &mut raw,
            &[command, "k", "abc"],
            "-ERR value is not an integer or out of range\r\n",
        )
        .await;
        expect(
            &mut raw,
            &[command, "k", "1.5"],
            "-ERR value is not an integer or out of range\r\n",
        )
        .await;
        // Options are checked before the time, and before the key.
        expect(&mut raw, &[command, "k", "abc", "nx", "xx"], nx).await;
        expect(&mut raw, &[command, "missing", "10", "gt", "lt"], gt_lt).await;
        let name = command.to_lowercase();
        expect(
            &mut raw,
            &[command, "k"],
            &format!("-ERR wrong number of arguments for '{name}' command\r\n"),
        )
        .await;
    }
    // A failed command leaves the key as it was.
    expect(&mut raw, &["TTL", "k"], ":-1\r\n").await;
}

#[tokio::test]
async fn overflowing_times_are_refused() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["SET", "k", "v"]).await;
    let invalid = |name: &str| format!("-ERR invalid expire time in '{name}' command\r\n");
    expect(
        &mut raw,
        &["EXPIRE", "k", "9223372036854775807"],
        &invalid("expire"),
    )
    .await;
    expect(
        &mut raw,
        &["EXPIRE", "k", "9223372036854775"],
        &invalid("expire"),
    )
    .await;
    expect(
        &mut raw,
        &["EXPIRE", "k", "-9223372036854775808"],
        &invalid("expire"),
    )
    .await;
    expect(
        &mut raw,
        &["PEXPIRE", "k", "9223372036854775807"],
        &invalid("pexpire"),
    )
    .await;
    expect(
        &mut raw,
        &["EXPIREAT", "k", "9223372036854775807"],
        &invalid("expireat"),
    )
    .await;
    expect(
        &mut raw,
        &["EXPIREAT", "k", "-9223372036854776"],
        &invalid("expireat"),
    )
    .await;
    expect(
        &mut raw,
        &["EXPIRE", "k", "99999999999999999999"],
        "-ERR value is not an integer or out of range\r\n",
    )
    .await;
    expect(&mut raw, &["TTL", "k"], ":-1\r\n").await;
    // The largest representable times are fine.
    expect(&mut raw, &["EXPIREAT", "k", "9223372036854775"], ":1\r\n").await;
    expect(&mut raw, &["PEXPIRETIME", "k"], ":9223372036854775000\r\n").await;
    expect(
        &mut raw,
        &["PEXPIREAT", "k", "9223372036854775807"],
        ":1\r\n",
    )
    .await;
    expect(&mut raw, &["EXPIRETIME", "k"], ":9223372036854776\r\n").await;
}

#[tokio::test]
async fn expired_keys_are_gone_when_read() {
    let (_engine, mut con, mut raw) = setup().await;
    let _: () = q(&mut con, &["SET", "k", "v"]).await;
    let _: i64 = q(&mut con, &["PEXPIRE", "k", "30"]).await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    expect(&mut raw, &["GET", "k"], "$-1\r\n").await;
    expect(&mut raw, &["TTL", "k"], ":-2\r\n").await;
    expect(&mut raw, &["EXPIRE", "k", "100"], ":0\r\n").await;
    expect(&mut raw, &["TYPE", "k"], "+none\r\n").await;
}

/// Keys with a 50 ms TTL disappear on their own, without being read: DBSIZE
/// counts keys not yet reclaimed, so it only drops when the cycle deletes them.
#[tokio::test]
async fn active_expiry_removes_unread_keys() {
    let engine = Engine::start_with(&["--hz", "100"]).await;
    let mut con = engine.conn().await;
    // The cycle is off while the keys are written, so the count below cannot
    // race it on a slow machine; nothing reads the keys afterwards.
    let _: () = q(&mut con, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]).await;
    let _: () = q(&mut con, &["SET", "persistent", "v"]).await;
    for i in 0..200 {
        let _: () = q(&mut con, &["SET", &format!("k{i}"), "v", "PX", "50"]).await;
    }
    let size: i64 = q(&mut con, &["DBSIZE"]).await;
    assert_eq!(size, 201);
    let _: () = q(&mut con, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]).await;
    let reclaimed = eventually(Duration::from_secs(10), || {
        let mut con = con.clone();
        async move { q::<i64>(&mut con, &["DBSIZE"]).await == 1 }
    })
    .await;
    reclaimed.expect("the expiry cycle reclaims every expired key");
}

/// DEBUG SET-ACTIVE-EXPIRE 0 stops the cycle: expired keys stay counted until
/// read or until the cycle is switched back on.
#[tokio::test]
async fn active_expiry_can_be_switched_off() {
    let engine = Engine::start_with(&["--hz", "100"]).await;
    let mut con = engine.conn().await;
    let _: () = q(&mut con, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]).await;
    for i in 0..20 {
        let _: () = q(&mut con, &["SET", &format!("k{i}"), "v", "PX", "20"]).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let size: i64 = q(&mut con, &["DBSIZE"]).await;
    assert_eq!(size, 20);
    let _: Option<String> = q(&mut con, &["GET", "k0"]).await;
    let size: i64 = q(&mut con, &["DBSIZE"]).await;
    assert_eq!(size, 19);
    let _: () = q(&mut con, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]).await;
    let waited = eventually(Duration::from_secs(2), || {
        let mut con = con.clone();
        async move { q::<i64>(&mut con, &["DBSIZE"]).await == 0 }
    })
    .await;
    assert!(waited.is_some(), "the cycle resumed");
}

/// A watched key that expires before EXEC aborts the transaction, as in Redis,
/// whether the expiry was noticed by a read, by the cycle, or not yet at all.
#[tokio::test]
async fn watch_on_a_key_that_expires_aborts_exec() {
    let (engine, mut con, _raw) = setup().await;
    for how in ["unnoticed", "read", "cycle"] {
        let _: () = q(&mut con, &["SET", "w", "v", "PX", "50"]).await;
        let mut tx = Raw::connect(engine.addr).await;
        expect(&mut tx, &["WATCH", "w"], "+OK\r\n").await;
        tokio::time::sleep(Duration::from_millis(80)).await;
        match how {
            "read" => {
                let gone: i64 = q(&mut con, &["EXISTS", "w"]).await;
                assert_eq!(gone, 0);
            }
            "cycle" => tokio::time::sleep(Duration::from_millis(300)).await,
            _ => {}
        }
        expect(&mut tx, &["MULTI"], "+OK\r\n").await;
        expect(&mut tx, &["SET", "other", "x"], "+QUEUED\r\n").await;
        expect(&mut tx, &["EXEC"], "*-1\r\n").await;
    }
    // A watched key that still lives when EXEC runs lets it through.
    let _: () = q(&mut con, &["SET", "w", "v", "PX", "10000"]).await;
    let mut tx = Raw::connect(engine.addr).await;
    expect(&mut tx, &["WATCH", "w"], "+OK\r\n").await;
    expect(&mut tx, &["MULTI"], "+OK\r\n").await;
    expect(&mut tx, &["TTL", "w"], "+QUEUED\r\n").await;
    expect(&mut tx, &["EXEC"], "*1\r\n:10\r\n").await;
}

#[tokio::test]
async fn expiry_inside_multi_uses_each_commands_time() {
    let (engine, _con, _raw) = setup().await;
    let mut tx = Raw::connect(engine.addr).await;
    expect(&mut tx, &["SET", "k", "v"], "+OK\r\n").await;
    expect(&mut tx, &["MULTI"], "+OK\r\n").await;
    expect(&mut tx, &["EXPIRE", "k", "100"], "+QUEUED\r\n").await;
    expect(&mut tx, &["TTL", "k"], "+QUEUED\r\n").await;
    expect(&mut tx, &["PERSIST", "k"], "+QUEUED\r\n").await;
    expect(&mut tx, &["TTL", "k"], "+QUEUED\r\n").await;
    expect(&mut tx, &["EXEC"], "*4\r\n:1\r\n:100\r\n:1\r\n:-1\r\n").await;
}
