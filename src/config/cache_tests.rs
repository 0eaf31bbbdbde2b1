//! The `cache:` section: a sound section reads as written, and every mistake in
//! it gets its own error naming the pool and the rule.

use std::time::Duration;

use crate::config::{Config, Database, Fsync, Mode, OnFull, Policy, ValueColumns};

fn pool(cache: &str) -> String {
    let mut yaml = String::from("p:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n  cache:\n");
    for line in cache.lines().filter(|l| !l.trim().is_empty()) {
        yaml.push_str("    ");
        yaml.push_str(line);
        yaml.push('\n');
    }
    yaml
}

const USERS: &str = "\
- name: users
  match: \"user:{id}\"
  table: users
  value: [name, email]
  policy: look_aside
";

#[test]
fn a_sound_section_reads_as_written() {
    let yaml = pool(&format!(
        "database: postgres://app:secret@db/app\njournal: /var/lib/shardcar\nsegment_size: 1MiB\nrules:\n{USERS}\
         - name: counters\n  match: \"counter:{{tenant}}:{{name}}\"\n  table: app.counters\n  key: {{tenant: tenant_id, name: counter}}\n  value: n\n  policy: write_back\n  mode: append\n  fsync: everysec\n  batch_size: 10\n  flush_interval: 250ms\n  max_pending: 99\n  on_full: reject\n  seq_column: lsn\n  ttl: 5m\n  ttl_jitter: 0%\n  negative_ttl: 0s\n  create: true\n"
    ));
    let config = Config::from_yaml(&yaml).unwrap();
    let cache = config.pools[0].cache.as_ref().unwrap();
    assert_eq!(
        cache.database,
        Database::Postgres("postgres://app:secret@db/app".into())
    );
    assert_eq!(
        cache.database.to_string(),
        "postgres://app:***@db/app",
        "no password in messages"
    );
    assert_eq!(cache.segment_size, 1 << 20);
    let users = &cache.rules[0];
    assert_eq!(users.policy, Policy::LookAside);
    assert_eq!(
        users.value,
        ValueColumns::Hash(vec!["name".into(), "email".into()])
    );
    assert_eq!(users.key, vec![("id".to_string(), "id".to_string())]);
    assert_eq!(
        (users.ttl, users.ttl_jitter, users.negative_ttl),
        (Duration::from_secs(300), 10, Duration::from_secs(30))
    );
    assert!(users.write_back.is_none());
    let counters = &cache.rules[1];
    assert_eq!(
        counters.key,
        vec![
            ("tenant".into(), "tenant_id".into()),
            ("name".into(), "counter".into())
        ]
    );
    assert_eq!(counters.table, "app.counters");
    let wb = counters.write_back.as_ref().unwrap();
    assert_eq!(
        (wb.mode, wb.fsync, wb.on_full),
        (Mode::Append, Fsync::Everysec, OnFull::Reject)
    );
    assert_eq!(
        (wb.batch_size, wb.max_pending, wb.flush_interval),
        (10, 99, Duration::from_millis(250))
    );
    assert_eq!(wb.seq_column, "lsn");
    assert_eq!(
        (counters.ttl, counters.ttl_jitter, counters.negative_ttl),
        (Duration::from_secs(300), 0, Duration::ZERO)
    );
    assert!(counters.create);
}

#[test]
fn defaults_are_the_embedded_database_and_safe_write_back() {
    let yaml = pool(
        "rules:\n- name: c\n  match: \"c:{id}\"\n  table: c\n  value: n\n  policy: write_back\n",
    );
    let config = Config::from_yaml(&yaml).unwrap();
    let cache = config.pools[0].cache.as_ref().unwrap();
    assert_eq!(cache.database.to_string(), "sqlite://./data/shardcar.db");
    assert_eq!(cache.journal.to_str(), Some("./data/journal"));
    let wb = cache.rules[0].write_back.as_ref().unwrap();
    assert_eq!(
        (wb.mode, wb.fsync, wb.on_full),
        (Mode::Upsert, Fsync::Always, OnFull::Block)
    );
    assert_eq!(wb.version_column, "_version");
}

/// Each mistake, alone in an otherwise sound rule, and the words of its error.
#[test]
fn every_rule_mistake_has_its_own_error() {
    let rule = |extra: &str, drop: &str| {
        let mut lines: Vec<String> = USERS
            .lines()
            .filter(|l| !drop.is_empty() && !l.contains(drop) || drop.is_empty())
            .map(String::from)
            .collect();
        if let Some(first) = lines.first_mut().filter(|l| !l.starts_with("- ")) {
            first.replace_range(..2, "- ");
        }
        lines.extend(extra.lines().map(|l| format!("  {l}")));
        lines.join("\n")
    };
    let cases: &[(&str, &str, &str)] = &[
        ("", "name:", "rule '#1': 'name' is missing"),
        ("", "match:", "rule 'users': 'match' is missing"),
        ("", "table:", "rule 'users': 'table' is missing"),
        ("", "policy:", "rule 'users': 'policy' is missing"),
        ("", "value:", "rule 'users': 'value' is missing"),
        (
            "policy: write_behind",
            "policy:",
            "unknown policy 'write_behind' (expected look_aside or write_back)",
        ),
        (
            "match: \"user:{id\"",
            "match:",
            "unclosed '{' in pattern 'user:{id'",
        ),
        ("match: \"user:1\"", "match:", "has no capture"),
        ("match: \"u:{a}{b}\"", "match:", "touch"),
        (
            "match: \"u:{id}:{x}\"\nkey: {id: id}",
            "match:",
            "capture '{x}' of pattern 'u:{id}:{x}' covers no key column",
        ),
        (
            "key: {uid: id}",
            "",
            "key column 'id' takes capture '{uid}', which pattern 'user:{id}' does not have",
        ),
        ("key: {id: id, x: y}", "", "takes capture '{x}'"),
        (
            "match: \"u:{a}:{b}\"\nkey: id",
            "match:",
            "'key' names one column but pattern 'u:{a}:{b}' has 2 captures",
        ),
        (
            "table: \"users; drop table x\"",
            "table:",
            "is not a plain SQL name",
        ),
        (
            "value: [name, name]",
            "value:",
            "value column 'name' is listed twice",
        ),
        ("value: []", "value:", "'value' is an empty list"),
        (
            "fsync: always",
            "",
            "'fsync' is only for 'policy: write_back'",
        ),
        (
            "batch_size: 10",
            "",
            "'batch_size' is only for 'policy: write_back'",
        ),
        ("ttl: 300", "", "expected a duration with its unit"),
        ("ttl: 0s", "", "'ttl': must be more than 0s"),
        (
            "ttl_jitter: 150%",
            "",
            "expected a percentage from 0% to 100%",
        ),
        (
            "negative_ttl: soon",
            "",
            "'negative_ttl': invalid value 'soon'",
        ),
        (
            "create: maybe",
            "",
            "'create': invalid value 'maybe': expected true or false",
        ),
        ("colour: red", "", "unknown key 'colour'"),
    ];
    for (extra, drop, expected) in cases {
        let yaml = pool(&format!("rules:\n{}", rule(extra, drop)));
        let err = Config::from_yaml(&yaml).unwrap_err().to_string();
        assert!(err.contains(expected), "{extra:?} without {drop:?}:\n{err}");
        assert!(err.contains("pool 'p': key 'cache'"), "{err}");
    }
}

#[test]
fn every_write_back_mistake_has_its_own_error() {
    let base = "- name: c\n  match: \"c:{id}\"\n  table: c\n  value: n\n  policy: write_back\n";
    let cases: &[(&str, &str)] = &[
        (
            "mode: overwrite",
            "'mode': unknown value 'overwrite' (expected one of upsert, append)",
        ),
        (
            "fsync: sometimes",
            "'fsync': unknown value 'sometimes' (expected one of always, everysec, no)",
        ),
        (
            "on_full: drop",
            "'on_full': unknown value 'drop' (expected one of block, reject)",
        ),
        (
            "batch_size: 0",
            "'batch_size': invalid value '0': expected a whole number of at least 1",
        ),
        ("max_pending: -1", "'max_pending': invalid value '-1'"),
        (
            "flush_interval: 0ms",
            "'flush_interval': must be more than 0s",
        ),
        (
            "version_column: \"a-b\"",
            "'version_column': column 'a-b' is not a plain SQL name",
        ),
        ("seq_column: lsn", "'seq_column' is only for 'mode: append'"),
        (
            "mode: append\nversion_column: v",
            "'version_column' is only for 'mode: upsert'",
        ),
    ];
    for (extra, expected) in cases {
        let extra: String = extra.lines().map(|l| format!("  {l}\n")).collect();
        let yaml = pool(&format!("rules:\n{base}{extra}"));
        let err = Config::from_yaml(&yaml).unwrap_err().to_string();
        assert!(
            err.contains(&format!("rule 'c': {expected}")),
            "{extra}:\n{err}"
        );
    }
}

#[test]
fn rules_are_checked_against_each_other() {
    let yaml = pool(&format!(
        "rules:\n{USERS}{}{}",
        USERS.replace("user:{id}", "users:{id}"),
        "- name: profiles\n  match: \"user:{id}:profile\"\n  table: p\n  value: x\n  policy: look_aside\n"
    ));
    let err = Config::from_yaml(&yaml).unwrap_err().to_string();
    assert!(
        err.contains("rule 'users': another rule has the same name"),
        "{err}"
    );
    assert!(
        err.contains("rule 'profiles': pattern 'user:{id}:profile' overlaps pattern 'user:{id}' of rule 'users'"),
        "{err}"
    );
}

#[test]
fn section_mistakes_are_reported_too() {
    let cases: &[(&str, &str)] = &[
        (
            "database: mysql://x\nrules:\n- {}",
            "expected sqlite://PATH or postgres://USER@HOST/DB",
        ),
        (
            "database: \"sqlite://\"\nrules: []",
            "sqlite:// needs a file path",
        ),
        ("journal: ./j", "'rules' is missing"),
        ("rules: []", "the rules list is empty"),
        ("rules: {}", "expected a list"),
        ("segment_size: 12\nrules: []", "at least 4096 bytes"),
        (
            "colour: red\nrules: []",
            "unknown key 'colour' (expected one of database, journal, segment_size, rules)",
        ),
    ];
    for (cache, expected) in cases {
        let err = Config::from_yaml(&pool(cache)).unwrap_err().to_string();
        assert!(err.contains(expected), "{cache}:\n{err}");
    }
    let not_a_mapping = "p:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n  cache: yes\n";
    let err = Config::from_yaml(not_a_mapping).unwrap_err().to_string();
    assert!(err.contains("key 'cache': expected a mapping"), "{err}");
}
