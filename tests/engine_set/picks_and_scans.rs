//! SPOP, SRANDMEMBER and SSCAN: counts, repeats, uniformity, options, and the
//! scan guarantee under churn.

use super::*;

#[tokio::test]
async fn spop() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut raw = Raw::connect(engine.addr).await;
    for (key, items) in [
        ("ints", ["1", "2", "3", "4", "5"]),
        ("strs", ["a", "b", "c", "d", "e"]),
    ] {
        let mut args = vec!["SADD", key];
        args.extend(items);
        q::<i64>(&mut con, &args).await;
        let all = set_of(&items);
        let one: String = q(&mut con, &["SPOP", key]).await;
        assert!(all.contains(&one));
        let two = members(&mut con, &["SPOP", key, "2"]).await;
        assert_eq!(two.len(), 2);
        assert!(!two.contains(&one));
        assert!(q::<Vec<String>>(&mut con, &["SPOP", key, "0"])
            .await
            .is_empty());
        let rest = members(&mut con, &["SMEMBERS", key]).await;
        assert_eq!(rest.len(), 2);
        let last = members(&mut con, &["SPOP", key, "10"]).await;
        assert_eq!(last, rest, "a count ≥ SCARD takes everything");
        assert_eq!(
            q::<i64>(&mut con, &["HSET", key, "f", "v"]).await,
            1,
            "the key is gone"
        );
    }
    q::<i64>(&mut con, &["SADD", "one", "x"]).await;
    assert_eq!(q::<String>(&mut con, &["SPOP", "one"]).await, "x");
    assert_eq!(q::<i64>(&mut con, &["SCARD", "one"]).await, 0);
    assert_eq!(
        q::<Option<String>>(&mut con, &["SPOP", "nokey"]).await,
        None
    );
    assert!(q::<Vec<String>>(&mut con, &["SPOP", "nokey", "3"])
        .await
        .is_empty());
    let positive = "ERR value is out of range, must be positive";
    for count in ["-1", "x", "1.5", "9223372036854775808"] {
        err(&mut raw, &["SPOP", "nokey", count], positive).await;
    }
    err(&mut raw, &["SPOP", "s", "1", "2"], "ERR syntax error").await;
}

#[tokio::test]
async fn srandmember() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut raw = Raw::connect(engine.addr).await;
    for (key, items) in [
        ("ints", ["1", "2", "3", "4", "5"]),
        ("strs", ["a", "b", "c", "d", "e"]),
    ] {
        let mut args = vec!["SADD", key];
        args.extend(items);
        q::<i64>(&mut con, &args).await;
        let all = set_of(&items);
        assert!(all.contains(&q::<String>(&mut con, &["SRANDMEMBER", key]).await));
        assert_eq!(members(&mut con, &["SRANDMEMBER", key, "3"]).await.len(), 3);
        assert_eq!(members(&mut con, &["SRANDMEMBER", key, "9"]).await, all);
        let repeated: Vec<String> = q(&mut con, &["SRANDMEMBER", key, "-12"]).await;
        assert_eq!(repeated.len(), 12, "exactly |count|, repeats allowed");
        assert!(repeated.iter().all(|m| all.contains(m)));
        assert!(q::<Vec<String>>(&mut con, &["SRANDMEMBER", key, "0"])
            .await
            .is_empty());
        assert_eq!(
            q::<i64>(&mut con, &["SCARD", key]).await,
            5,
            "nothing removed"
        );
    }
    assert_eq!(
        q::<Option<String>>(&mut con, &["SRANDMEMBER", "nokey"]).await,
        None
    );
    assert!(q::<Vec<String>>(&mut con, &["SRANDMEMBER", "nokey", "-3"])
        .await
        .is_empty());
    let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    err(
        &mut raw,
        &["SRANDMEMBER", "nokey", "-9223372036854775808"],
        range,
    )
    .await;
    err(
        &mut raw,
        &["SRANDMEMBER", "ints", "x"],
        "ERR value is not an integer or out of range",
    )
    .await;
    err(
        &mut raw,
        &["SRANDMEMBER", "ints", "1", "2"],
        "ERR syntax error",
    )
    .await;
    err(
        &mut raw,
        &["SRANDMEMBER", "ints", "-9223372036854775807"],
        "ERR value is out of range, at most 1048576 repeated picks are served",
    )
    .await;
}

#[tokio::test]
async fn srandmember_is_roughly_uniform_in_both_encodings() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    for (key, prefix) in [("ints", ""), ("strs", "m")] {
        for i in 0..20 {
            q::<i64>(&mut con, &["SADD", key, &format!("{prefix}{i}")]).await;
        }
        // Holes in the table: removed members must never come back.
        for i in (0..20).step_by(2) {
            q::<i64>(&mut con, &["SREM", key, &format!("{prefix}{i}")]).await;
        }
        let picks: Vec<String> = q(&mut con, &["SRANDMEMBER", key, "-4000"]).await;
        let mut counts: HashMap<String, usize> = HashMap::new();
        for p in picks {
            *counts.entry(p).or_default() += 1;
        }
        assert_eq!(
            counts.len(),
            10,
            "{key}: only the 10 members left, each drawn"
        );
        assert!(
            counts.values().all(|&c| (280..520).contains(&c)),
            "{key}: {counts:?}"
        );
    }
    assert_eq!(encoding(&mut con, "ints").await, "intset");
    assert_eq!(encoding(&mut con, "strs").await, "hashtable");
}

#[tokio::test]
async fn sscan_options_and_errors() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut raw = Raw::connect(engine.addr).await;
    q::<i64>(&mut con, &["SADD", "ints", "1", "10", "2", "12"]).await;
    let (cursor, items): (String, Vec<String>) =
        q(&mut con, &["SSCAN", "ints", "0", "COUNT", "1"]).await;
    assert_eq!(
        (cursor.as_str(), items),
        ("0", vec!["1".into(), "2".into(), "10".into(), "12".into()])
    );
    let (_, items): (String, Vec<String>) =
        q(&mut con, &["SSCAN", "ints", "0", "MATCH", "1*"]).await;
    assert_eq!(items, ["1", "10", "12"]);
    let (_, items): (String, Vec<String>) =
        q(&mut con, &["SSCAN", "ints", "0", "MATCH", "?"]).await;
    assert_eq!(items, ["1", "2"]);
    err(&mut raw, &["SSCAN", "ints", "x"], "ERR invalid cursor").await;
    err(
        &mut raw,
        &["SSCAN", "ints", "0", "COUNT", "0"],
        "ERR syntax error",
    )
    .await;
    err(
        &mut raw,
        &["SSCAN", "ints", "0", "MATCH"],
        "ERR syntax error",
    )
    .await;
    err(
        &mut raw,
        &["SSCAN", "ints", "0", "COUNT", "y"],
        "ERR value is not an integer or out of range",
    )
    .await;
    raw.roundtrip(
        &cmd(&["SSCAN", "nokey", "0", "COUNT", "0"]),
        b"*2\r\n$1\r\n0\r\n*0\r\n",
    )
    .await;
}

/// Every member present from the first call to the last is returned, while other
/// members come and go between calls.
#[tokio::test]
async fn sscan_returns_every_stable_member_under_churn() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let stable: Vec<String> = (0..1000).map(|i| format!("stable{i}")).collect();
    for chunk in stable.chunks(100) {
        let mut args = vec!["SADD", "s"];
        args.extend(chunk.iter().map(String::as_str));
        q::<i64>(&mut con, &args).await;
    }
    assert_eq!(encoding(&mut con, "s").await, "hashtable");
    let mut seen: HashSet<String> = HashSet::new();
    let mut cursor = "0".to_string();
    for round in 0.. {
        assert!(round < 10_000, "the scan ends");
        let (next, items): (String, Vec<String>) = q(
            &mut con,
            &["SSCAN", "s", &cursor, "COUNT", "9", "MATCH", "stable*"],
        )
        .await;
        seen.extend(items);
        let burst: Vec<String> = (0..40).map(|j| format!("churn{round}-{j}")).collect();
        let mut add = vec!["SADD", "s"];
        add.extend(burst.iter().map(String::as_str));
        q::<i64>(&mut con, &add).await;
        let mut rem = vec!["SREM", "s"];
        rem.extend(burst[..39].iter().map(String::as_str));
        let old = format!("churn{}-39", round.max(1) - 1);
        rem.push(&old);
        q::<i64>(&mut con, &rem).await;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    let missing: Vec<&String> = stable.iter().filter(|m| !seen.contains(*m)).collect();
    assert!(missing.is_empty(), "never returned: {missing:?}");
    assert_eq!(seen.len(), 1000, "MATCH kept the churn out");
}
