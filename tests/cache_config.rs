//! Rules checked against the database: at start and by `shardcar proxy -t`, a
//! missing table or column is an error naming the rule. And a journal holding
//! writes of a rule the config lost stops the start rather than dropping them.

mod cache_util;

use cache_util::{cache_yaml, CacheProxy, Db};
use redis::AsyncCommands;
use std::process::Command;

fn rule(name: &str, table: &str, value: &str, extra: &str) -> String {
    format!("  - name: {name}\n    match: \"{name}:{{id}}\"\n    table: {table}\n    value: {value}\n{extra}")
}

async fn start_error(db: &Db, dir: &tempfile::TempDir, rules: &str) -> String {
    match CacheProxy::try_start(1, &cache_yaml(db, dir, rules)).await {
        Ok(_) => panic!("started with {rules}"),
        Err(e) => e,
    }
}

async fn mismatches(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let t = db.table("cfg_users");
    db.exec(&format!(
        "DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id TEXT PRIMARY KEY, name TEXT)"
    ))
    .await;
    let nopk = format!("{t}_nopk");
    db.exec(&format!("DROP TABLE IF EXISTS {nopk}; CREATE TABLE {nopk} (id TEXT, n TEXT, _version BIGINT, _seq BIGINT)")).await;
    let la = "    policy: look_aside\n";
    let wb = "    policy: write_back\n";
    let cases = [
        (
            rule("u", &format!("{t}_nope"), "name", la),
            format!("rule 'u': table '{t}_nope' does not exist in"),
        ),
        (
            rule("u", &t, "[name, email]", la),
            format!("rule 'u': table '{t}' in"),
        ),
        (
            rule("u", &t, "[name, email]", la),
            "has no column 'email' (the rule's value column)".to_string(),
        ),
        (
            rule(
                "u",
                &t,
                "name",
                "    key: {id: uid}\n    policy: look_aside\n",
            ),
            "has no column 'uid' (the rule's key column)".into(),
        ),
        (
            rule("u", &t, "name", wb),
            "has no column '_version' (the rule's version column (BIGINT))".into(),
        ),
        (
            rule("u", &t, "name", &format!("{wb}    mode: append\n")),
            "has no column '_seq' (the rule's sequence column (BIGINT, UNIQUE))".into(),
        ),
        (
            rule("u", &nopk, "n", wb),
            "has no primary key or unique index on (id): upserts replace the row of a key".into(),
        ),
        (
            rule("u", &nopk, "n", &format!("{wb}    mode: append\n")),
            "has no primary key or unique index on (_seq): appends insert each write once".into(),
        ),
    ];
    for (rules, expected) in cases {
        let err = start_error(&db, &dir, &rules).await;
        assert!(err.contains(&expected), "{rules}\n{err}");
        assert!(err.contains("pool 'test'"), "{err}");
    }
    // Several problems are reported together.
    let two = format!(
        "{}{}",
        rule("a", &t, "email", la),
        rule("b", &format!("{t}_x"), "name", la)
    );
    let err = start_error(&db, &dir, &two).await;
    assert!(
        err.contains("rule 'a'") && err.contains("rule 'b'"),
        "{err}"
    );
    // With the indexes, the same write-back rules start.
    db.exec(&format!(
        "CREATE UNIQUE INDEX {nopk}_id ON {nopk} (id); CREATE UNIQUE INDEX {nopk}_seq ON {nopk} (_seq)"
    ))
    .await;
    for extra in ["", "    mode: append\n"] {
        let rules = rule("u", &nopk, "n", &format!("{wb}{extra}"));
        CacheProxy::start(1, &cache_yaml(&db, &dir, &rules))
            .await
            .stop()
            .await;
    }
    db.drop_table(&t).await;
    db.drop_table(&nopk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_that_do_not_fit_the_database_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    mismatches(Db::sqlite(&dir)).await;
    if let Some(db) = Db::postgres("rules_that_do_not_fit_the_database_stop_the_start") {
        mismatches(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Postgres("postgres://nobody@127.0.0.1:1/none".into());
    let err = start_error(
        &db,
        &dir,
        &rule("u", "users", "name", "    policy: look_aside\n"),
    )
    .await;
    assert!(
        err.contains("cache database postgres://nobody@127.0.0.1:1/none")
            && err.contains("unreachable"),
        "{err}"
    );
}

fn test_config(
    path: &std::path::Path,
    db: &Db,
    dir: &tempfile::TempDir,
    rules: &str,
) -> std::process::Output {
    let yaml = cache_util::pool_yaml(&["127.0.0.1:6379:1".into()], &cache_yaml(db, dir, rules));
    std::fs::write(path, yaml).unwrap();
    Command::new(env!("CARGO_BIN_EXE_shardcar"))
        .args(["proxy", "-t", "-c", path.to_str().unwrap()])
        .output()
        .expect("run shardcar")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_dash_t_checks_rules_against_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::sqlite(&dir);
    db.exec("CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)")
        .await;
    let conf = dir.path().join("nutcracker.yml");
    let la = "    policy: look_aside\n";

    let ok = test_config(&conf, &db, &dir, &rule("u", "users", "name", la));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stderr).contains("syntax is ok"));

    let bad = test_config(&conf, &db, &dir, &rule("u", "users", "[name, email]", la));
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("rule 'u': table 'users'") && stderr.contains("has no column 'email'"),
        "{stderr}"
    );

    // create: true passes the check, and the check creates nothing.
    let create = test_config(
        &conf,
        &db,
        &dir,
        &rule("n", "notyet", "v", &format!("{la}    create: true\n")),
    );
    assert!(
        create.status.success(),
        "{}",
        String::from_utf8_lossy(&create.stderr)
    );
    assert_eq!(
        db.count("SELECT count(*) FROM sqlite_master WHERE name = 'notyet'")
            .await,
        0
    );

    let syntax = test_config(
        &conf,
        &db,
        &dir,
        &rule("u", "users", "name", "    policy: sideways\n"),
    );
    assert_eq!(syntax.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&syntax.stderr).contains("rule 'u': unknown policy 'sideways'"));
}

/// Shutdown with SQL unreachable keeps the writes journaled; a config without
/// their rule refuses to start; with it back, they are replayed into SQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journaled_writes_of_a_missing_rule_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::sqlite(&dir);
    let wb = rule(
        "kept",
        "kept",
        "n",
        "    policy: write_back\n    flush_interval: 1h\n    create: true\n",
    );
    let other = rule(
        "other",
        "other",
        "n",
        "    policy: look_aside\n    create: true\n",
    );
    let proxy = CacheProxy::start(1, &cache_yaml(&db, &dir, &format!("{wb}{other}"))).await;
    let mut con = proxy.conn().await;
    for i in 0..5 {
        let _: () = con.set(format!("kept:{i}"), i).await.unwrap();
    }
    let Db::Sqlite(path) = &db else {
        unreachable!()
    };
    let locker = rusqlite::Connection::open(path).unwrap();
    locker
        .execute_batch("BEGIN IMMEDIATE; DELETE FROM other;")
        .unwrap();
    proxy.stop().await; // the last flush fails: the writes stay journaled
    locker.execute_batch("COMMIT").unwrap();
    drop(locker);
    assert_eq!(db.count("SELECT count(*) FROM kept").await, 0);

    let err = start_error(&db, &dir, &other).await;
    assert!(
        err.contains("the journal holds 5 unflushed writes of rule 'kept'"),
        "{err}"
    );

    let proxy = CacheProxy::start(1, &cache_yaml(&db, &dir, &format!("{wb}{other}"))).await;
    assert_eq!(
        db.count("SELECT count(*) FROM kept").await,
        5,
        "replayed before serving"
    );
    proxy.stop().await;
}
