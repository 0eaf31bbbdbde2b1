//! The string family against a running engine: every command and option, Redis's
//! error texts, and exact reply bytes where the formatting matters. Expected values
//! were taken from redis-server 7.0.15.

mod support;

use redis::aio::MultiplexedConnection;
use redis::{FromRedisValue, Value};

/// Runs a command and converts its reply.
async fn q<T: FromRedisValue>(con: &mut MultiplexedConnection, args: &[&str]) -> T {
    query(con, args)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

async fn query<T: FromRedisValue>(
    con: &mut MultiplexedConnection,
    args: &[&str],
) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(con).await
}

/// Runs a command that must fail and returns the error as Redis prints it.
async fn err(con: &mut MultiplexedConnection, args: &[&str]) -> String {
    let e = query::<Value>(con, args).await.expect_err("an error reply");
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT: &str = "ERR value is not an integer or out of range";
const NOT_FLOAT: &str = "ERR value is not a valid float";
const SYNTAX: &str = "ERR syntax error";

#[tokio::test]
async fn get_set_and_their_variants() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(q::<Option<String>>(&mut con, &["GET", "k"]).await, None);
    assert_eq!(q::<String>(&mut con, &["SET", "k", "v"]).await, "OK");
    assert_eq!(q::<String>(&mut con, &["GET", "k"]).await, "v");
    assert_eq!(q::<i64>(&mut con, &["SETNX", "k", "w"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["SETNX", "k2", "w"]).await, 1);
    assert_eq!(q::<String>(&mut con, &["GETSET", "k", "v2"]).await, "v");
    assert_eq!(
        q::<Option<String>>(&mut con, &["GETSET", "new", "x"]).await,
        None
    );
    assert_eq!(q::<String>(&mut con, &["GETDEL", "k"]).await, "v2");
    assert_eq!(q::<Option<String>>(&mut con, &["GETDEL", "k"]).await, None);
    assert_eq!(q::<i64>(&mut con, &["STRLEN", "k2"]).await, 1);
    assert_eq!(q::<i64>(&mut con, &["STRLEN", "nothing"]).await, 0);
    q::<()>(&mut con, &["SET", "n", "-12345"]).await;
    assert_eq!(q::<i64>(&mut con, &["STRLEN", "n"]).await, 6);
    q::<()>(&mut con, &["SET", "empty", ""]).await;
    assert_eq!(q::<String>(&mut con, &["GET", "empty"]).await, "");
    // Only the canonical form of an integer may be stored as one.
    for text in [
        "+1",
        "+0",
        "007",
        "-0",
        " 1",
        "1e3",
        "99999999999999999999",
        "-9223372036854775808",
    ] {
        q::<()>(&mut con, &["SET", "t", text]).await;
        assert_eq!(q::<String>(&mut con, &["GET", "t"]).await, text);
    }
}

#[tokio::test]
async fn set_options_and_their_conflicts() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(
        q::<Option<String>>(&mut con, &["SET", "k", "v", "XX"]).await,
        None
    );
    assert_eq!(
        q::<Option<String>>(&mut con, &["SET", "k", "v", "NX"])
            .await
            .as_deref(),
        Some("OK")
    );
    assert_eq!(
        q::<Option<String>>(&mut con, &["SET", "k", "w", "NX"]).await,
        None
    );
    assert_eq!(
        q::<String>(&mut con, &["SET", "k", "w", "NX", "GET"]).await,
        "v"
    );
    assert_eq!(
        q::<String>(&mut con, &["GET", "k"]).await,
        "v",
        "NX GET did not write"
    );
    assert_eq!(
        q::<String>(&mut con, &["SET", "k", "x", "XX", "GET"]).await,
        "v"
    );
    assert_eq!(
        q::<Option<String>>(&mut con, &["SET", "nk", "x", "GET"]).await,
        None
    );
    assert_eq!(q::<String>(&mut con, &["GET", "nk"]).await, "x");
    q::<()>(&mut con, &["SET", "k", "v", "EX", "100"]).await;
    assert_eq!(q::<i64>(&mut con, &["TTL", "k"]).await, 100);
    q::<()>(&mut con, &["SET", "k", "w", "KEEPTTL"]).await;
    assert_eq!(q::<i64>(&mut con, &["TTL", "k"]).await, 100);
    q::<()>(&mut con, &["SET", "k", "w"]).await;
    assert_eq!(
        q::<i64>(&mut con, &["TTL", "k"]).await,
        -1,
        "a plain SET clears the TTL"
    );
    q::<()>(&mut con, &["SET", "k", "w", "PX", "100000"]).await;
    assert!(q::<i64>(&mut con, &["PTTL", "k"]).await > 99_000);
    q::<()>(&mut con, &["SET", "k", "w", "EXAT", "4000000000"]).await;
    assert!(q::<i64>(&mut con, &["TTL", "k"]).await > 1_000_000);
    q::<()>(&mut con, &["SET", "k", "w", "PXAT", "1"]).await;
    assert_eq!(
        q::<Option<String>>(&mut con, &["GET", "k"]).await,
        None,
        "expired at once"
    );
    for bad in [
        &["SET", "k", "v", "NX", "XX"][..],
        &["SET", "k", "v", "EX", "1", "PX", "1"],
        &["SET", "k", "v", "KEEPTTL", "EX", "1"],
        &["SET", "k", "v", "EX", "1", "KEEPTTL"],
        &["SET", "k", "v", "PERSIST"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "FOO"],
    ] {
        assert_eq!(err(&mut con, bad).await, SYNTAX, "{bad:?}");
    }
    for bad in ["0", "-1", "9223372036854775"] {
        assert_eq!(
            err(&mut con, &["SET", "k", "v", "EX", bad]).await,
            "ERR invalid expire time in 'set' command"
        );
    }
    assert_eq!(
        err(&mut con, &["SET", "k", "v", "PX", "9223372036854775807"]).await,
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(err(&mut con, &["SET", "k", "v", "EX", "x"]).await, NOT_INT);
}

#[tokio::test]
async fn setex_psetex_getex() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    q::<()>(&mut con, &["SETEX", "k", "100", "v"]).await;
    assert_eq!(q::<i64>(&mut con, &["TTL", "k"]).await, 100);
    q::<()>(&mut con, &["PSETEX", "p", "100000", "v"]).await;
    assert!(q::<i64>(&mut con, &["PTTL", "p"]).await > 99_000);
    assert_eq!(
        err(&mut con, &["SETEX", "k", "0", "v"]).await,
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(
        err(&mut con, &["PSETEX", "k", "-5", "v"]).await,
        "ERR invalid expire time in 'psetex' command"
    );
    assert_eq!(err(&mut con, &["SETEX", "k", "x", "v"]).await, NOT_INT);

    assert_eq!(q::<String>(&mut con, &["GETEX", "k", "PERSIST"]).await, "v");
    assert_eq!(q::<i64>(&mut con, &["TTL", "k"]).await, -1);
    assert_eq!(
        q::<String>(&mut con, &["GETEX", "k", "EX", "50"]).await,
        "v"
    );
    assert_eq!(q::<i64>(&mut con, &["TTL", "k"]).await, 50);
    assert_eq!(q::<String>(&mut con, &["GETEX", "k"]).await, "v");
    assert_eq!(
        q::<i64>(&mut con, &["TTL", "k"]).await,
        50,
        "GETEX alone keeps the TTL"
    );
    q::<String>(&mut con, &["GETEX", "k", "PX", "70000"]).await;
    assert!(q::<i64>(&mut con, &["PTTL", "k"]).await > 60_000);
    q::<String>(&mut con, &["GETEX", "k", "EXAT", "4000000000"]).await;
    assert!(q::<i64>(&mut con, &["TTL", "k"]).await > 1_000_000);
    assert_eq!(
        q::<String>(&mut con, &["GETEX", "k", "PXAT", "1"]).await,
        "v"
    );
    assert_eq!(
        q::<i64>(&mut con, &["EXISTS", "k"]).await,
        0,
        "a past expiry deletes"
    );
    assert_eq!(
        q::<Option<String>>(&mut con, &["GETEX", "missing", "EX", "10"]).await,
        None
    );
    assert_eq!(
        err(&mut con, &["GETEX", "k", "PERSIST", "EX", "1"]).await,
        SYNTAX
    );
    assert_eq!(err(&mut con, &["GETEX", "k", "NX"]).await, SYNTAX);
    assert_eq!(
        err(&mut con, &["GETEX", "k", "EX", "0"]).await,
        "ERR invalid expire time in 'getex' command"
    );
    assert_eq!(err(&mut con, &["GETEX", "k", "EX", "x"]).await, NOT_INT);
}

#[tokio::test]
async fn mget_mset_msetnx() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    q::<()>(&mut con, &["MSET", "a", "1", "b", "2", "a", "3"]).await;
    q::<()>(&mut con, &["RPUSH", "list", "x"]).await;
    let got: Vec<Option<String>> = q(&mut con, &["MGET", "a", "b", "list", "none"]).await;
    assert_eq!(got, vec![Some("3".into()), Some("2".into()), None, None]);
    assert_eq!(
        err(&mut con, &["MSET", "a", "1", "b"]).await,
        "ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(
        err(&mut con, &["MSETNX", "a", "1", "b"]).await,
        "ERR wrong number of arguments for 'msetnx' command"
    );
    assert_eq!(q::<i64>(&mut con, &["MSETNX", "a", "9", "c", "9"]).await, 0);
    assert_eq!(
        q::<i64>(&mut con, &["EXISTS", "c"]).await,
        0,
        "all or nothing"
    );
    assert_eq!(q::<i64>(&mut con, &["MSETNX", "c", "9", "d", "8"]).await, 1);
    let got: Vec<String> = q(&mut con, &["MGET", "c", "d"]).await;
    assert_eq!(got, vec!["9", "8"]);
}

#[tokio::test]
async fn wrong_type_everywhere() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    q::<()>(&mut con, &["RPUSH", "l", "x"]).await;
    for args in [
        &["GET", "l"][..],
        &["GETDEL", "l"],
        &["GETEX", "l"],
        &["GETSET", "l", "v"],
        &["SET", "l", "v", "GET"],
        &["STRLEN", "l"],
        &["APPEND", "l", "x"],
        &["GETRANGE", "l", "0", "1"],
        &["SUBSTR", "l", "0", "1"],
        &["SETRANGE", "l", "0", "x"],
        &["SETRANGE", "l", "0", ""],
        &["INCR", "l"],
        &["DECR", "l"],
        &["INCRBY", "l", "1"],
        &["DECRBY", "l", "1"],
        &["INCRBYFLOAT", "l", "1"],
    ] {
        assert_eq!(err(&mut con, args).await, WRONGTYPE, "{args:?}");
    }
    assert_eq!(
        q::<Vec<String>>(&mut con, &["LRANGE", "l", "0", "-1"]).await,
        vec!["x"]
    );
    assert_eq!(
        err(&mut con, &["LCS", "l", "none"]).await,
        "ERR The specified keys must contain string values"
    );
}

#[tokio::test]
async fn integer_counters() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(q::<i64>(&mut con, &["INCR", "n"]).await, 1);
    assert_eq!(q::<i64>(&mut con, &["INCRBY", "n", "41"]).await, 42);
    assert_eq!(q::<i64>(&mut con, &["DECR", "n"]).await, 41);
    assert_eq!(q::<i64>(&mut con, &["DECRBY", "n", "50"]).await, -9);
    assert_eq!(q::<i64>(&mut con, &["DECR", "fresh"]).await, -1);
    q::<()>(&mut con, &["SET", "n", "10", "EX", "100"]).await;
    q::<i64>(&mut con, &["INCR", "n"]).await;
    assert_eq!(
        q::<i64>(&mut con, &["TTL", "n"]).await,
        100,
        "INCR keeps the TTL"
    );
    q::<()>(&mut con, &["SET", "max", &i64::MAX.to_string()]).await;
    assert_eq!(
        err(&mut con, &["INCR", "max"]).await,
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        err(&mut con, &["INCRBY", "max", "1"]).await,
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        q::<i64>(&mut con, &["INCRBY", "max", "-9223372036854775808"]).await,
        -1
    );
    q::<()>(&mut con, &["SET", "min", &i64::MIN.to_string()]).await;
    assert_eq!(
        err(&mut con, &["DECR", "min"]).await,
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        err(&mut con, &["DECRBY", "x", "-9223372036854775808"]).await,
        "ERR decrement would overflow"
    );
    for stored in [
        "abc",
        " 1",
        "1 ",
        "010",
        "+1",
        "-0",
        "1.5",
        "",
        "9223372036854775808",
    ] {
        q::<()>(&mut con, &["SET", "s", stored]).await;
        assert_eq!(err(&mut con, &["INCR", "s"]).await, NOT_INT, "{stored:?}");
    }
    assert_eq!(err(&mut con, &["INCRBY", "n", "x"]).await, NOT_INT);
    assert_eq!(err(&mut con, &["INCRBY", "n", "1.0"]).await, NOT_INT);
    // A string built byte by byte still counts once it reads as an integer.
    q::<()>(&mut con, &["SET", "b", "1"]).await;
    q::<i64>(&mut con, &["APPEND", "b", "2"]).await;
    assert_eq!(q::<i64>(&mut con, &["INCR", "b"]).await, 13);
}

#[tokio::test]
async fn incrbyfloat_formats_as_redis() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    for (start, by, want) in [
        ("10.50", "0.1", "10.6"),
        ("0.1", "0.2", "0.3"),
        ("5.0e3", "2.0e2", "5200"),
        ("3", "1.5", "4.5"),
        ("1", "-1", "0"),
        ("0", "-1e-30", "0"),
        ("0", "0x10", "16"),
        ("0", "+.5", "0.5"),
        ("010", "1", "11"),
        ("9223372036854775807", "1", "9223372036854775808"),
        (
            "123456789.123456789",
            "0.000000001",
            "123456789.12345678999554366",
        ),
    ] {
        q::<()>(&mut con, &["SET", "f", start]).await;
        assert_eq!(
            q::<String>(&mut con, &["INCRBYFLOAT", "f", by]).await,
            want,
            "{start} + {by}"
        );
        assert_eq!(q::<String>(&mut con, &["GET", "f"]).await, want);
    }
    assert_eq!(
        q::<String>(&mut con, &["INCRBYFLOAT", "new", "1e20"]).await,
        "100000000000000000000"
    );
    for bad in ["x", " 1", "1e", "nan", "1e5000", ""] {
        assert_eq!(
            err(&mut con, &["INCRBYFLOAT", "f", bad]).await,
            NOT_FLOAT,
            "{bad:?}"
        );
    }
    for bad in ["inf", "-infinity"] {
        assert_eq!(
            err(&mut con, &["INCRBYFLOAT", "f", bad]).await,
            "ERR increment would produce NaN or Infinity"
        );
    }
    q::<()>(&mut con, &["SET", "f", "1e4932"]).await;
    assert_eq!(
        err(&mut con, &["INCRBYFLOAT", "f", "1e4932"]).await,
        "ERR increment would produce NaN or Infinity"
    );
    q::<()>(&mut con, &["SET", "f", "abc"]).await;
    assert_eq!(err(&mut con, &["INCRBYFLOAT", "f", "1"]).await, NOT_FLOAT);
    q::<()>(&mut con, &["SET", "f", "1", "EX", "100"]).await;
    q::<String>(&mut con, &["INCRBYFLOAT", "f", "0.5"]).await;
    assert_eq!(q::<i64>(&mut con, &["TTL", "f"]).await, 100);

    let mut raw = support::Raw::connect(engine.addr).await;
    raw.roundtrip(&support::cmd(&["SET", "r", "10"]), b"+OK\r\n")
        .await;
    raw.roundtrip(
        &support::cmd(&["INCRBYFLOAT", "r", "0.5"]),
        b"$4\r\n10.5\r\n",
    )
    .await;
}

#[tokio::test]
async fn append_getrange_setrange() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(q::<i64>(&mut con, &["APPEND", "s", "Hello"]).await, 5);
    assert_eq!(q::<i64>(&mut con, &["APPEND", "s", " World"]).await, 11);
    assert_eq!(q::<i64>(&mut con, &["APPEND", "s", ""]).await, 11);
    for (start, end, want) in [
        ("0", "4", "Hello"),
        ("-5", "-1", "World"),
        ("0", "-100", "H"),
        ("-100", "-100", "H"),
        ("-1", "-100", ""),
        ("5", "3", ""),
        ("0", "100", "Hello World"),
        ("20", "30", ""),
    ] {
        assert_eq!(
            q::<String>(&mut con, &["GETRANGE", "s", start, end]).await,
            want,
            "{start} {end}"
        );
    }
    assert_eq!(
        q::<String>(&mut con, &["SUBSTR", "s", "6", "-1"]).await,
        "World"
    );
    assert_eq!(
        q::<String>(&mut con, &["GETRANGE", "missing", "0", "-1"]).await,
        ""
    );
    assert_eq!(err(&mut con, &["GETRANGE", "s", "x", "1"]).await, NOT_INT);
    q::<()>(&mut con, &["SET", "i", "12345"]).await;
    assert_eq!(
        q::<String>(&mut con, &["GETRANGE", "i", "1", "-2"]).await,
        "234"
    );

    assert_eq!(
        q::<i64>(&mut con, &["SETRANGE", "s", "6", "Redis"]).await,
        11
    );
    assert_eq!(q::<String>(&mut con, &["GET", "s"]).await, "Hello Redis");
    assert_eq!(q::<i64>(&mut con, &["SETRANGE", "pad", "3", "x"]).await, 4);
    assert_eq!(q::<Vec<u8>>(&mut con, &["GET", "pad"]).await, b"\0\0\0x");
    assert_eq!(
        q::<i64>(&mut con, &["SETRANGE", "nothing", "5", ""]).await,
        0
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "nothing"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["SETRANGE", "s", "100", ""]).await, 11);
    assert_eq!(q::<i64>(&mut con, &["SETRANGE", "i", "0", "9"]).await, 5);
    assert_eq!(q::<i64>(&mut con, &["INCR", "i"]).await, 92346);
    assert_eq!(
        err(&mut con, &["SETRANGE", "s", "-1", "x"]).await,
        "ERR offset is out of range"
    );
    assert_eq!(err(&mut con, &["SETRANGE", "s", "x", "x"]).await, NOT_INT);

    let mut raw = support::Raw::connect(engine.addr).await;
    raw.roundtrip(
        &support::cmd(&["GETRANGE", "s", "-5", "-1"]),
        b"$5\r\nRedis\r\n",
    )
    .await;
    raw.roundtrip(&support::cmd(&["GETRANGE", "s", "-1", "-5"]), b"$0\r\n\r\n")
        .await;
}

/// The 512 MB limit is checked before allocating: these would need half a
/// gigabyte each, and the test stays small and fast.
#[tokio::test]
async fn size_limits_are_rejected_without_allocating() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    let too_big = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    assert_eq!(
        err(&mut con, &["SETRANGE", "k", "536870912", "x"]).await,
        too_big
    );
    assert_eq!(
        err(&mut con, &["SETRANGE", "k", "536870911", "xx"]).await,
        too_big
    );
    assert_eq!(
        err(&mut con, &["SETRANGE", "k", "9223372036854775807", "x"]).await,
        too_big
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "k"]).await, 0);
    q::<()>(&mut con, &["SET", "k", "abc"]).await;
    assert_eq!(
        err(&mut con, &["SETRANGE", "k", "536870912", "x"]).await,
        too_big
    );
    // A smaller limit makes APPEND's check observable at a small size.
    let small = support::Engine::start_with(&["--proto-max-bulk-len", "1mb"]).await;
    let mut con = small.conn().await;
    let chunk = "x".repeat(600_000);
    assert_eq!(q::<i64>(&mut con, &["APPEND", "a", &chunk]).await, 600_000);
    assert_eq!(err(&mut con, &["APPEND", "a", &chunk]).await, too_big);
    assert_eq!(q::<i64>(&mut con, &["STRLEN", "a"]).await, 600_000);
    assert_eq!(
        err(&mut con, &["SETRANGE", "a", "1048576", "x"]).await,
        too_big
    );
    assert_eq!(
        q::<i64>(&mut con, &["SETRANGE", "a", "1048575", "x"]).await,
        1_048_576
    );
}

#[tokio::test]
async fn lcs_and_its_options() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    q::<()>(&mut con, &["MSET", "a", "ohmytext", "b", "mynewtext"]).await;
    assert_eq!(q::<String>(&mut con, &["LCS", "a", "b"]).await, "mytext");
    assert_eq!(q::<i64>(&mut con, &["LCS", "a", "b", "LEN"]).await, 6);
    assert_eq!(q::<String>(&mut con, &["LCS", "a", "missing"]).await, "");
    let mut raw = support::Raw::connect(engine.addr).await;
    raw.roundtrip(
        &support::cmd(&["LCS", "a", "b", "IDX"]),
        b"*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n",
    )
    .await;
    raw.roundtrip(
        &support::cmd(&["LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
        b"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n",
    )
    .await;
    raw.roundtrip(
        &support::cmd(&["LCS", "none", "none2", "IDX"]),
        b"*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n",
    )
    .await;
    raw.roundtrip(&support::cmd(&["HELLO", "3"]), b"%7\r\n")
        .await;
    let mut rest = vec![0u8; 512];
    let _ = tokio::time::timeout(std::time::Duration::from_millis(200), async {
        use tokio::io::AsyncReadExt;
        raw.stream.read(&mut rest).await
    })
    .await;
    raw.roundtrip(
        &support::cmd(&["LCS", "a", "b", "IDX", "MINMATCHLEN", "3"]),
        b"%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n",
    )
    .await;
    assert_eq!(
        err(&mut con, &["LCS", "a", "b", "LEN", "IDX"]).await,
        "ERR If you want both the length and indexes, please just use IDX."
    );
    assert_eq!(
        err(&mut con, &["LCS", "a", "b", "MINMATCHLEN", "x"]).await,
        NOT_INT
    );
    assert_eq!(
        err(&mut con, &["LCS", "a", "b", "MINMATCHLEN"]).await,
        SYNTAX
    );
    assert_eq!(err(&mut con, &["LCS", "a", "b", "FOO"]).await, SYNTAX);
}

#[tokio::test]
async fn encodings_as_object_encoding_reports_them() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    let long = "x".repeat(45);
    for (setup, want) in [
        (&["SET", "k", "123"][..], "int"),
        (&["SET", "k", "-9223372036854775808"], "int"),
        (&["SET", "k", "0123"], "embstr"),
        (&["SET", "k", "abc"], "embstr"),
        (&["SET", "k", &long], "raw"),
        (&["APPEND", "k", "x"], "raw"),
        (&["INCR", "n"], "int"),
        (&["APPEND", "fresh", "12"], "int"),
    ] {
        q::<Value>(&mut con, setup).await;
        let key = setup[1];
        assert_eq!(
            q::<String>(&mut con, &["OBJECT", "ENCODING", key]).await,
            want,
            "{setup:?}"
        );
    }
}

/// Writes that change nothing leave WATCHed keys alone; real changes abort EXEC.
#[tokio::test]
async fn writes_that_change_nothing_do_not_abort_watchers() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    q::<()>(&mut con, &["SET", "k", "v", "EX", "100"]).await;
    let no_ops: [&[&str]; 7] = [
        &["SETNX", "k", "w"],
        &["SET", "k", "w", "NX"],
        &["GETEX", "k"],
        &["SETRANGE", "k", "0", ""],
        &["MSETNX", "k", "w", "other", "w"],
        &["GETDEL", "missing"],
        &["SET", "missing", "w", "XX"],
    ];
    for no_op in no_ops {
        assert!(
            watched_exec_survives(&engine, &mut con, no_op).await,
            "{no_op:?} aborted EXEC"
        );
    }
    for change in [
        &["INCR", "n"][..],
        &["GETEX", "k", "PERSIST"],
        &["APPEND", "k", "x"],
        &["GETDEL", "k"],
    ] {
        let key = change[1];
        let mut watcher = engine.dedicated().await;
        redis::cmd("WATCH")
            .arg(key)
            .query_async::<()>(&mut watcher)
            .await
            .unwrap();
        q::<Value>(&mut con, change).await;
        redis::cmd("MULTI")
            .query_async::<()>(&mut watcher)
            .await
            .unwrap();
        redis::cmd("PING")
            .query_async::<()>(&mut watcher)
            .await
            .unwrap();
        let exec: Value = redis::cmd("EXEC").query_async(&mut watcher).await.unwrap();
        assert_eq!(exec, Value::Nil, "{change:?} should abort EXEC");
    }
}

/// WATCHes `command`'s key, runs `command` from another connection, and tells
/// whether the watcher's transaction still executes.
async fn watched_exec_survives(
    engine: &support::Engine,
    con: &mut MultiplexedConnection,
    command: &[&str],
) -> bool {
    let mut watcher = engine.dedicated().await;
    redis::cmd("WATCH")
        .arg(command[1])
        .query_async::<()>(&mut watcher)
        .await
        .unwrap();
    q::<Value>(con, command).await;
    redis::cmd("MULTI")
        .query_async::<()>(&mut watcher)
        .await
        .unwrap();
    redis::cmd("PING")
        .query_async::<()>(&mut watcher)
        .await
        .unwrap();
    let exec: Value = redis::cmd("EXEC").query_async(&mut watcher).await.unwrap();
    exec != Value::Nil
}
