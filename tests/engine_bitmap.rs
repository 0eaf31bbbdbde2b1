//! The bitmap family against a running engine: SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD and BITFIELD_RO, with Redis's error texts and limits. Expected
//! values were taken from redis-server 7.0.15.

mod support;

use redis::aio::MultiplexedConnection;
use redis::{FromRedisValue, Value};

async fn query<T: FromRedisValue>(
    con: &mut MultiplexedConnection,
    args: &[&[u8]],
) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("ascii name"));
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(con).await
}

/// Runs a command (arguments as text) and converts its reply.
async fn q<T: FromRedisValue>(con: &mut MultiplexedConnection, args: &[&str]) -> T {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    query(con, &args)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Runs a command that must fail and returns the error as Redis prints it.
async fn err(con: &mut MultiplexedConnection, args: &[&str]) -> String {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let e = query::<Value>(con, &args)
        .await
        .expect_err("an error reply");
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

/// Stores raw bytes.
async fn set_bytes(con: &mut MultiplexedConnection, key: &str, value: &[u8]) {
    query::<()>(con, &[b"SET", key.as_bytes(), value])
        .await
        .expect("SET");
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const NOT_INT: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";
const BAD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

#[tokio::test]
async fn setbit_and_getbit() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(q::<i64>(&mut con, &["SETBIT", "b", "7", "1"]).await, 0);
    assert_eq!(q::<i64>(&mut con, &["SETBIT", "b", "7", "1"]).await, 1);
    assert_eq!(q::<i64>(&mut con, &["SETBIT", "b", "0", "1"]).await, 0);
    assert_eq!(q::<Vec<u8>>(&mut con, &["GET", "b"]).await, vec![0x81]);
    assert_eq!(q::<i64>(&mut con, &["SETBIT", "b", "7", "0"]).await, 1);
    assert_eq!(q::<i64>(&mut con, &["SETBIT", "b", "23", "1"]).await, 0);
    assert_eq!(
        q::<Vec<u8>>(&mut con, &["GET", "b"]).await,
        vec![0x80, 0, 1],
        "zero-padded"
    );
    assert_eq!(q::<i64>(&mut con, &["GETBIT", "b", "0"]).await, 1);
    assert_eq!(q::<i64>(&mut con, &["GETBIT", "b", "1"]).await, 0);
    assert_eq!(
        q::<i64>(&mut con, &["GETBIT", "b", "4294967295"]).await,
        0,
        "past the end"
    );
    assert_eq!(q::<i64>(&mut con, &["GETBIT", "missing", "3"]).await, 0);
    q::<()>(&mut con, &["SET", "i", "1"]).await;
    assert_eq!(
        q::<i64>(&mut con, &["GETBIT", "i", "2"]).await,
        1,
        "'1' is 0x31"
    );
    assert_eq!(q::<i64>(&mut con, &["SETBIT", "i", "6", "1"]).await, 0);
    assert_eq!(q::<String>(&mut con, &["GET", "i"]).await, "3");
    q::<()>(&mut con, &["SET", "t", "x", "EX", "100"]).await;
    q::<i64>(&mut con, &["SETBIT", "t", "100", "1"]).await;
    assert_eq!(
        q::<i64>(&mut con, &["TTL", "t"]).await,
        100,
        "SETBIT keeps the TTL"
    );
    for bad in ["4294967296", "-1", "x", "1.5"] {
        assert_eq!(
            err(&mut con, &["SETBIT", "b", bad, "1"]).await,
            BAD_OFFSET,
            "{bad}"
        );
        assert_eq!(
            err(&mut con, &["GETBIT", "b", bad]).await,
            BAD_OFFSET,
            "{bad}"
        );
    }
    for bad in ["2", "-1", "x"] {
        assert_eq!(
            err(&mut con, &["SETBIT", "b", "1", bad]).await,
            "ERR bit is not an integer or out of range"
        );
    }
    q::<()>(&mut con, &["RPUSH", "l", "x"]).await;
    assert_eq!(err(&mut con, &["SETBIT", "l", "1", "1"]).await, WRONGTYPE);
    assert_eq!(err(&mut con, &["GETBIT", "l", "1"]).await, WRONGTYPE);
}

/// Offsets that would need more than 512 MB are refused before any allocation.
#[tokio::test]
async fn bit_offset_limits() {
    let engine = support::Engine::start_with(&["--proto-max-bulk-len", "1mb"]).await;
    let mut con = engine.conn().await;
    assert_eq!(
        err(&mut con, &["SETBIT", "b", "8388608", "1"]).await,
        BAD_OFFSET
    );
    assert_eq!(
        q::<i64>(&mut con, &["SETBIT", "b", "8388607", "1"]).await,
        0
    );
    assert_eq!(q::<i64>(&mut con, &["STRLEN", "b"]).await, 1 << 20);
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(
        err(&mut con, &["SETBIT", "b", "4294967296", "1"]).await,
        BAD_OFFSET
    );
    assert_eq!(
        err(&mut con, &["BITFIELD", "b", "SET", "u8", "#536870912", "1"]).await,
        BAD_OFFSET
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "b"]).await, 0);
}

#[tokio::test]
async fn bitcount_ranges_and_units() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    q::<()>(&mut con, &["SET", "s", "foobar"]).await;
    for (args, want) in [
        (&["BITCOUNT", "s"][..], 26),
        (&["BITCOUNT", "s", "1", "1"], 6),
        (&["BITCOUNT", "s", "0", "-1"], 26),
        (&["BITCOUNT", "s", "-1", "-2"], 0),
        (&["BITCOUNT", "s", "-100", "-200"], 0),
        (&["BITCOUNT", "s", "5", "30", "BIT"], 17),
        (&["BITCOUNT", "s", "5", "30", "byte"], 4),
        (&["BITCOUNT", "s", "-100", "100", "bit"], 26),
        (&["BITCOUNT", "s", "47", "47", "BIT"], 0),
        (&["BITCOUNT", "missing"], 0),
        (&["BITCOUNT", "missing", "x", "y"], 0),
        (&["BITCOUNT", "missing", "0", "1", "FOO"], 0),
    ] {
        assert_eq!(q::<i64>(&mut con, args).await, want, "{args:?}");
    }
    q::<()>(&mut con, &["SET", "e", ""]).await;
    assert_eq!(q::<i64>(&mut con, &["BITCOUNT", "e", "0", "-1"]).await, 0);
    assert_eq!(err(&mut con, &["BITCOUNT", "s", "x", "y"]).await, NOT_INT);
    assert_eq!(err(&mut con, &["BITCOUNT", "s", "0"]).await, SYNTAX);
    assert_eq!(
        err(&mut con, &["BITCOUNT", "s", "0", "1", "2"]).await,
        SYNTAX
    );
    assert_eq!(
        err(&mut con, &["BITCOUNT", "s", "0", "1", "BIT", "x"]).await,
        SYNTAX
    );
    q::<()>(&mut con, &["RPUSH", "l", "x"]).await;
    assert_eq!(err(&mut con, &["BITCOUNT", "l"]).await, WRONGTYPE);
}

#[tokio::test]
async fn bitpos_searches() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    q::<()>(&mut con, &["SET", "s", "foobar"]).await;
    set_bytes(&mut con, "ones", b"\xff\xff").await;
    set_bytes(&mut con, "zeros", b"\x00\x00\x01").await;
    for (args, want) in [
        (&["BITPOS", "s", "1"][..], 1),
        (&["BITPOS", "s", "0"], 0),
        (&["BITPOS", "s", "1", "2", "-1", "BYTE"], 17),
        (&["BITPOS", "s", "1", "7", "15", "BIT"], 9),
        (&["BITPOS", "s", "1", "-100", "-200"], 1),
        (&["BITPOS", "s", "1", "-100", "-200", "BIT"], -1),
        (&["BITPOS", "s", "0", "1", "0"], -1),
        (&["BITPOS", "ones", "0"], 16),
        (&["BITPOS", "ones", "0", "1"], 16),
        (&["BITPOS", "ones", "0", "9", "-1", "BIT"], -1),
        (&["BITPOS", "ones", "0", "0", "-1"], -1),
        (&["BITPOS", "ones", "0", "5", "3", "BIT"], -1),
        (&["BITPOS", "ones", "1", "9", "-1", "BIT"], 9),
        (&["BITPOS", "zeros", "1"], 23),
        (&["BITPOS", "zeros", "1", "0", "1"], -1),
        (&["BITPOS", "missing", "0"], 0),
        (&["BITPOS", "missing", "1"], -1),
        (&["BITPOS", "missing", "1", "x"], -1),
    ] {
        assert_eq!(q::<i64>(&mut con, args).await, want, "{args:?}");
    }
    let wrong_bit = "ERR The bit argument must be 1 or 0.";
    assert_eq!(err(&mut con, &["BITPOS", "s", "2"]).await, wrong_bit);
    assert_eq!(err(&mut con, &["BITPOS", "missing", "2"]).await, wrong_bit);
    assert_eq!(err(&mut con, &["BITPOS", "s", "x"]).await, NOT_INT);
    assert_eq!(err(&mut con, &["BITPOS", "s", "1", "x"]).await, NOT_INT);
    assert_eq!(
        err(&mut con, &["BITPOS", "s", "1", "0", "x", "FOO"]).await,
        SYNTAX
    );
    assert_eq!(
        err(&mut con, &["BITPOS", "s", "1", "0", "1", "BIT", "x"]).await,
        SYNTAX
    );
}

#[tokio::test]
async fn bitop_operations() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    set_bytes(&mut con, "a", b"\xff\x0f\xaa").await;
    set_bytes(&mut con, "b", b"\xf0").await;
    for (op, sources, want) in [
        ("AND", &["a", "b"][..], &b"\xf0\x00\x00"[..]),
        ("AND", &["a", "b", "missing"], b"\x00\x00\x00"),
        ("or", &["a", "b", "missing"], b"\xff\x0f\xaa"),
        ("XOR", &["a", "b", "missing"], b"\x0f\x0f\xaa"),
        ("XOR", &["a", "a"], b"\x00\x00\x00"),
    ] {
        let args: Vec<&str> = ["BITOP", op, "d"].iter().chain(sources).copied().collect();
        assert_eq!(q::<i64>(&mut con, &args).await, 3);
        assert_eq!(
            q::<Vec<u8>>(&mut con, &["GET", "d"]).await,
            want,
            "{op} {sources:?}"
        );
    }
    assert_eq!(q::<i64>(&mut con, &["BITOP", "NOT", "d", "a"]).await, 3);
    assert_eq!(q::<Vec<u8>>(&mut con, &["GET", "d"]).await, b"\x00\xf0\x55");
    q::<()>(&mut con, &["SET", "d", "x", "EX", "100"]).await;
    q::<i64>(&mut con, &["BITOP", "AND", "d", "a"]).await;
    assert_eq!(
        q::<i64>(&mut con, &["TTL", "d"]).await,
        -1,
        "the result replaces the key"
    );
    assert_eq!(
        q::<i64>(&mut con, &["BITOP", "OR", "d", "none", "none2"]).await,
        0
    );
    assert_eq!(
        q::<i64>(&mut con, &["EXISTS", "d"]).await,
        0,
        "an empty result deletes"
    );
    assert_eq!(err(&mut con, &["BITOP", "FOO", "d", "a"]).await, SYNTAX);
    assert_eq!(
        err(&mut con, &["BITOP", "NOT", "d", "a", "b"]).await,
        "ERR BITOP NOT must be called with a single source key."
    );
    q::<()>(&mut con, &["RPUSH", "l", "x"]).await;
    assert_eq!(
        err(&mut con, &["BITOP", "AND", "d", "a", "l"]).await,
        WRONGTYPE
    );
}

#[tokio::test]
async fn bitfield_get_set_incrby() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    let got: Vec<i64> = q(&mut con, &["BITFIELD", "f", "GET", "u8", "0"]).await;
    assert_eq!(got, vec![0]);
    assert_eq!(
        q::<i64>(&mut con, &["EXISTS", "f"]).await,
        0,
        "GET alone creates nothing"
    );
    let got: Vec<i64> = q(
        &mut con,
        &[
            "BITFIELD", "f", "SET", "i8", "0", "-100", "GET", "u8", "0", "INCRBY", "i8", "0",
            "-100", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-100", "OVERFLOW", "WRAP", "INCRBY",
            "u8", "0", "300", "SET", "u4", "#1", "999",
        ],
    )
    .await;
    assert_eq!(got, vec![0, 156, 56, -44, 0, 0]);
    let got: Vec<i64> = q(
        &mut con,
        &[
            "BITFIELD",
            "f",
            "SET",
            "i64",
            "0",
            "-1",
            "GET",
            "i64",
            "0",
            "INCRBY",
            "i64",
            "0",
            "-9223372036854775807",
            "OVERFLOW",
            "sat",
            "INCRBY",
            "i64",
            "0",
            "-9223372036854775807",
            "GET",
            "u63",
            "0",
        ],
    )
    .await;
    assert_eq!(
        got,
        vec![
            504403158265495552,
            -1,
            i64::MIN,
            i64::MIN,
            4611686018427387904
        ]
    );
    let got: Vec<i64> = q(
        &mut con,
        &[
            "BITFIELD",
            "f",
            "SET",
            "u63",
            "0",
            "9223372036854775807",
            "GET",
            "u63",
            "0",
            "INCRBY",
            "u63",
            "0",
            "1",
        ],
    )
    .await;
    assert_eq!(got, vec![4611686018427387904, i64::MAX, 0]);
    let got: Vec<i64> = q(
        &mut con,
        &[
            "BITFIELD", "f", "SET", "u8", "0", "256", "GET", "u8", "0", "SET", "u8", "0", "-1",
            "GET", "u8", "0",
        ],
    )
    .await;
    assert_eq!(got, vec![0, 0, 0, 255]);
    let got: Vec<Option<i64>> = q(
        &mut con,
        &[
            "BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u8", "0", "256", "SET", "i8", "0", "128",
            "INCRBY", "u8", "0", "1",
        ],
    )
    .await;
    assert_eq!(got, vec![None, None, None]);
    let got: Vec<i64> = q(
        &mut con,
        &["BITFIELD_RO", "f", "GET", "u8", "0", "GET", "i4", "#1"],
    )
    .await;
    assert_eq!(got, vec![255, -1]);
    let got: Vec<i64> = q(
        &mut con,
        &["BITFIELD_RO", "f", "OVERFLOW", "SAT", "GET", "u8", "0"],
    )
    .await;
    assert_eq!(got, vec![255]);
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["BITFIELD", "f"]).await,
        Vec::<i64>::new()
    );
    // A FAILed write on a missing key still creates it, sized for the field.
    let got: Vec<Option<i64>> = q(
        &mut con,
        &[
            "BITFIELD", "g", "OVERFLOW", "FAIL", "INCRBY", "u2", "100", "5",
        ],
    )
    .await;
    assert_eq!(got, vec![None]);
    assert_eq!(q::<i64>(&mut con, &["STRLEN", "g"]).await, 13);

    let mut raw = support::Raw::connect(engine.addr).await;
    raw.roundtrip(
        &support::cmd(&[
            "BITFIELD", "h", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "5", "INCRBY", "i5", "13",
            "100",
        ]),
        b"*2\r\n$-1\r\n$-1\r\n",
    )
    .await;
    raw.roundtrip(
        &support::cmd(&["BITFIELD", "h", "INCRBY", "i5", "13", "-7"]),
        b"*1\r\n:-7\r\n",
    )
    .await;
}

#[tokio::test]
async fn bitfield_errors() {
    let engine = support::Engine::start().await;
    let mut con = engine.conn().await;
    for bad in ["u64", "i65", "x8", "i0", "u0", "U8", "u08", "u8x"] {
        assert_eq!(
            err(&mut con, &["BITFIELD", "f", "GET", bad, "0"]).await,
            BAD_TYPE,
            "{bad}"
        );
    }
    for bad in ["-1", "4294967296", "#536870912", "#-1", "#x", "01", "1x"] {
        assert_eq!(
            err(&mut con, &["BITFIELD", "f", "GET", "u8", bad]).await,
            BAD_OFFSET,
            "{bad}"
        );
    }
    for args in [
        &["BITFIELD", "f", "GET", "u8"][..],
        &["BITFIELD", "f", "FOO"],
        &["BITFIELD", "f", "OVERFLOW"],
        &["BITFIELD", "f", "GET", "u8", "0", "FOO"],
        &["BITFIELD", "f", "GET", "u8", "0", "GET"],
        &["BITFIELD", "f", "SET", "u8", "0"],
    ] {
        assert_eq!(err(&mut con, args).await, SYNTAX, "{args:?}");
    }
    assert_eq!(
        err(&mut con, &["BITFIELD", "f", "OVERFLOW", "FOO"]).await,
        "ERR Invalid OVERFLOW type specified"
    );
    assert_eq!(
        err(&mut con, &["BITFIELD", "f", "SET", "u8", "0", "x"]).await,
        NOT_INT
    );
    assert_eq!(
        err(&mut con, &["BITFIELD", "f", "INCRBY", "u8", "0", "x"]).await,
        NOT_INT
    );
    // A bad subcommand anywhere means nothing runs.
    assert_eq!(
        err(
            &mut con,
            &["BITFIELD", "f", "SET", "u8", "0", "1", "GET", "u99", "0"]
        )
        .await,
        BAD_TYPE
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "f"]).await, 0);
    let ro_only = "ERR BITFIELD_RO only supports the GET subcommand";
    assert_eq!(
        err(
            &mut con,
            &["BITFIELD_RO", "f", "GET", "u8", "0", "SET", "u8", "0", "1"]
        )
        .await,
        ro_only
    );
    assert_eq!(
        err(&mut con, &["BITFIELD_RO", "f", "INCRBY", "u8", "0", "1"]).await,
        ro_only
    );
    q::<()>(&mut con, &["RPUSH", "l", "x"]).await;
    assert_eq!(
        err(&mut con, &["BITFIELD", "l", "GET", "u8", "0"]).await,
        WRONGTYPE
    );
    assert_eq!(
        err(&mut con, &["BITFIELD", "l", "SET", "u8", "0", "1"]).await,
        WRONGTYPE
    );
    assert_eq!(
        err(&mut con, &["BITFIELD_RO", "l", "GET", "u8", "0"]).await,
        WRONGTYPE
    );
}
