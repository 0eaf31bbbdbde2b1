//! HRANDFIELD and HSCAN: counts, repeats, uniformity, options, and the scan
//! guarantee under churn.

use super::*;

#[tokio::test]
async fn hrandfield() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut raw = Raw::connect(engine.addr).await;
    let want: HashMap<String, String> =
        (0..5).map(|i| (format!("f{i}"), format!("v{i}"))).collect();
    for i in 0..5 {
        q::<i64>(&mut con, &["HSET", "h", &format!("f{i}"), &format!("v{i}")]).await;
    }
    let one: String = q(&mut con, &["HRANDFIELD", "h"]).await;
    assert!(want.contains_key(&one));
    let three: Vec<String> = q(&mut con, &["HRANDFIELD", "h", "3"]).await;
    assert_eq!(three.iter().collect::<HashSet<_>>().len(), 3, "distinct");
    let all: Vec<String> = q(&mut con, &["HRANDFIELD", "h", "50"]).await;
    assert_eq!(
        all,
        ["f0", "f1", "f2", "f3", "f4"],
        "a count ≥ HLEN gives the whole hash"
    );
    let repeated: Vec<String> = q(&mut con, &["HRANDFIELD", "h", "-20"]).await;
    assert_eq!(repeated.len(), 20, "exactly |count|, repeats allowed");
    assert!(repeated.iter().all(|f| want.contains_key(f)));
    let pairs: Vec<String> = q(&mut con, &["HRANDFIELD", "h", "-7", "WITHVALUES"]).await;
    assert_eq!(pairs.len(), 14);
    for pair in pairs.chunks(2) {
        assert_eq!(want[&pair[0]], pair[1]);
    }
    let pairs: Vec<String> = q(&mut con, &["HRANDFIELD", "h", "2", "withvalues"]).await;
    assert_eq!(pairs.len(), 4);
    assert!(q::<Vec<String>>(&mut con, &["HRANDFIELD", "h", "0"])
        .await
        .is_empty());
    assert_eq!(
        q::<Option<String>>(&mut con, &["HRANDFIELD", "nokey"]).await,
        None
    );
    assert!(
        q::<Vec<String>>(&mut con, &["HRANDFIELD", "nokey", "-5", "WITHVALUES"])
            .await
            .is_empty()
    );
    // Errors, in Redis's order: count, then option, then the WITHVALUES bound.
    err(
        &mut raw,
        &["HRANDFIELD", "h", "x"],
        "ERR value is not an integer or out of range",
    )
    .await;
    err(
        &mut raw,
        &["HRANDFIELD", "h", "x", "foo"],
        "ERR value is not an integer or out of range",
    )
    .await;
    let min = "-9223372036854775808";
    let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    err(&mut raw, &["HRANDFIELD", "nokey", min], range).await;
    err(
        &mut raw,
        &["HRANDFIELD", "h", "1", "WITHVALUE"],
        "ERR syntax error",
    )
    .await;
    err(
        &mut raw,
        &["HRANDFIELD", "h", "1", "WITHVALUES", "x"],
        "ERR syntax error",
    )
    .await;
    err(
        &mut raw,
        &["HRANDFIELD", "nokey", "-4611686018427387904", "WITHVALUES"],
        "ERR value is out of range",
    )
    .await;
    err(
        &mut raw,
        &["HRANDFIELD", "nokey", "4611686018427387904", "WITHVALUES"],
        "ERR value is out of range",
    )
    .await;
    raw.roundtrip(
        &cmd(&["HRANDFIELD", "nokey", "-4611686018427387903", "WITHVALUES"]),
        b"*0\r\n",
    )
    .await;
    // A huge repeated count is refused rather than built in memory.
    err(
        &mut raw,
        &["HRANDFIELD", "h", "-9223372036854775807"],
        "ERR value is out of range, at most 1048576 repeated picks are served",
    )
    .await;
    raw.roundtrip(
        &cmd(&["HRANDFIELD", "nokey", "-9223372036854775807"]),
        b"*0\r\n",
    )
    .await;
}

#[tokio::test]
async fn hrandfield_is_roughly_uniform_in_both_encodings() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    for (key, n) in [("small", 10), ("large", 300)] {
        for i in 0..n {
            q::<i64>(&mut con, &["HSET", key, &format!("f{i}"), "v"]).await;
        }
        let draws = n * 200;
        let picks: Vec<String> = q(&mut con, &["HRANDFIELD", key, &format!("-{draws}")]).await;
        let mut counts: HashMap<String, usize> = HashMap::new();
        for p in picks {
            *counts.entry(p).or_default() += 1;
        }
        assert_eq!(counts.len(), n, "{key}: every field drawn");
        let (lo, hi) = (
            counts.values().min().unwrap(),
            counts.values().max().unwrap(),
        );
        assert!(
            *lo > 120 && *hi < 300,
            "{key}: counts within [{lo}, {hi}] for 200 expected"
        );
    }
    assert_eq!(encoding(&mut con, "small").await, "listpack");
    assert_eq!(encoding(&mut con, "large").await, "hashtable");
}

#[tokio::test]
async fn hscan_options_and_errors() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut raw = Raw::connect(engine.addr).await;
    q::<i64>(
        &mut con,
        &["HSET", "h", "apple", "1", "avocado", "2", "banana", "3"],
    )
    .await;
    let (cursor, items): (String, Vec<String>) =
        q(&mut con, &["HSCAN", "h", "0", "COUNT", "1"]).await;
    assert_eq!(
        (cursor.as_str(), items.len()),
        ("0", 6),
        "a listpack comes whole"
    );
    let (_, items): (String, Vec<String>) = q(&mut con, &["HSCAN", "h", "0", "MATCH", "a*"]).await;
    assert_eq!(items, ["apple", "1", "avocado", "2"]);
    let (_, items): (String, Vec<String>) = q(
        &mut con,
        &["HSCAN", "h", "0", "match", "x", "count", "5", "MATCH", "b*"],
    )
    .await;
    assert_eq!(items, ["banana", "3"], "the last MATCH wins");
    // strtoul cursors: "", "+0", "-1" are all valid.
    for cursor in ["", "+0", "-1", "18446744073709551615"] {
        let (next, _): (String, Vec<String>) = q(&mut con, &["HSCAN", "h", cursor]).await;
        assert_eq!(next, "0");
    }
    for cursor in ["x", " 0", "0 ", "18446744073709551616", "1.0"] {
        err(&mut raw, &["HSCAN", "h", cursor], "ERR invalid cursor").await;
        err(&mut raw, &["HSCAN", "nokey", cursor], "ERR invalid cursor").await;
    }
    for options in [
        &["COUNT", "0"][..],
        &["COUNT", "-1"],
        &["COUNT"],
        &["MATCH"],
        &["FOO", "1"],
        &["NOVALUES"],
    ] {
        let mut args = vec!["HSCAN", "h", "0"];
        args.extend_from_slice(options);
        err(&mut raw, &args, "ERR syntax error").await;
        // A missing key answers an empty scan before options are read, as Redis.
        args[1] = "nokey";
        raw.roundtrip(&cmd(&args), b"*2\r\n$1\r\n0\r\n*0\r\n").await;
    }
    err(
        &mut raw,
        &["HSCAN", "h", "0", "COUNT", "x"],
        "ERR value is not an integer or out of range",
    )
    .await;
}

/// Every field present from the first call to the last is returned, while other
/// fields come and go between calls.
#[tokio::test]
async fn hscan_returns_every_stable_field_under_churn() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    for chunk in (0..1000).collect::<Vec<_>>().chunks(100) {
        let mut args = vec!["HSET".to_string(), "h".into()];
        for i in chunk {
            args.extend([format!("stable{i}"), format!("v{i}")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        q::<i64>(&mut con, &args).await;
    }
    assert_eq!(encoding(&mut con, "h").await, "hashtable");
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut cursor = "0".to_string();
    for round in 0.. {
        assert!(round < 10_000, "the scan ends");
        let (next, items): (String, Vec<String>) =
            q(&mut con, &["HSCAN", "h", &cursor, "COUNT", "7"]).await;
        for pair in items.chunks(2) {
            seen.insert(pair[0].clone(), pair[1].clone());
        }
        // Churn: add a burst of fields, delete most of it and older churn, so the
        // table grows and compacts between calls.
        let burst: Vec<String> = (0..30).map(|j| format!("churn{round}-{j}")).collect();
        let mut args = vec!["HSET", "h"];
        for f in &burst {
            args.extend([f.as_str(), "x"]);
        }
        q::<i64>(&mut con, &args).await;
        let mut del = vec!["HDEL", "h"];
        del.extend(burst[..29].iter().map(String::as_str));
        let old = format!("churn{}-29", round.max(1) - 1);
        del.push(&old);
        q::<i64>(&mut con, &del).await;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    for i in 0..1000 {
        assert_eq!(
            seen.get(&format!("stable{i}")),
            Some(&format!("v{i}")),
            "stable{i}"
        );
    }
}
