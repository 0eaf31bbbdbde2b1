//! Decoding the `rules:` list of a `cache:` section, one rule at a time, with
//! every problem reported under the rule's name.
//!
//! A rule's keys: `name`, `match`, `table`, `key`, `value`, `policy`, `create`,
//! `ttl`, `ttl_jitter`, `negative_ttl`; and for `policy: write_back` only:
//! `mode`, `fsync`, `batch_size`, `flush_interval`, `max_pending`, `on_full`,
//! `version_column`, `seq_column`.

use std::time::Duration;

use serde_yaml_ng::{Mapping, Value};

use super::cache::{duration, Fsync, Mode, OnFull, Policy, Rule, ValueColumns, WriteBack};
use super::error::{ConfigError, Problem};
use super::pattern::Pattern;
use super::scalar::{flag, kind, parse_count, text};

/// Keys every rule may have.
const RULE_KEYS: &[&str] = &[
    "name",
    "match",
    "table",
    "key",
    "value",
    "policy",
    "create",
    "ttl",
    "ttl_jitter",
    "negative_ttl",
];
/// Keys only a write-back rule may have.
const WRITE_BACK_KEYS: &[&str] = &[
    "mode",
    "fsync",
    "batch_size",
    "flush_interval",
    "max_pending",
    "on_full",
    "version_column",
    "seq_column",
];

/// Decodes every rule, then checks them against each other (names, overlaps).
pub(crate) fn decode_rules(
    pool: &str,
    items: &[Value],
    errors: &mut Vec<ConfigError>,
) -> Vec<Rule> {
    let mut rules = Vec::new();
    let mut push = |i: usize, rule: String, reason: String| {
        let problem = Problem::Rule { rule, reason };
        errors.push(ConfigError::item(pool, "cache", i, problem));
    };
    if items.is_empty() {
        push(0, "-".into(), "the rules list is empty".into());
    }
    for (i, item) in items.iter().enumerate() {
        let label = rule_label(item, i);
        match decode_rule(item) {
            Ok(rule) => rules.push((i, rule)),
            Err(reasons) => reasons.into_iter().for_each(|r| push(i, label.clone(), r)),
        }
    }
    for (k, (i, rule)) in rules.iter().enumerate() {
        for (_, earlier) in &rules[..k] {
            if earlier.name == rule.name {
                push(
                    *i,
                    rule.name.clone(),
                    "another rule has the same name".into(),
                );
            } else if earlier.pattern.overlaps(&rule.pattern) {
                let reason = format!(
                    "pattern '{}' overlaps pattern '{}' of rule '{}': some key would match both",
                    rule.pattern, earlier.pattern, earlier.name
                );
                push(*i, rule.name.clone(), reason);
            }
        }
    }
    rules.into_iter().map(|(_, rule)| rule).collect()
}

/// How errors name a rule: its `name`, or its place in the list.
fn rule_label(item: &Value, i: usize) -> String {
    item.get("name")
        .and_then(|n| text(n).ok())
        .unwrap_or_else(|| format!("#{}", i + 1))
}

/// A rule, or every reason it is wrong.
fn decode_rule(item: &Value) -> Result<Rule, Vec<String>> {
    let Value::Mapping(map) = item else {
        return Err(vec![format!(
            "expected a mapping of rule keys, found {}",
            kind(item)
        )]);
    };
    let mut reasons = Vec::new();
    let name = required(map, "name", &mut reasons);
    let pattern = required(map, "match", &mut reasons)
        .and_then(|t| Pattern::parse(&t).map_err(|e| reasons.push(e)).ok());
    let table = required(map, "table", &mut reasons).and_then(|t| ident(&t, "table", &mut reasons));
    let policy = required(map, "policy", &mut reasons).and_then(|p| match p.as_str() {
        "look_aside" => Some(Policy::LookAside),
        "write_back" => Some(Policy::WriteBack),
        other => {
            reasons.push(format!(
                "unknown policy '{other}' (expected look_aside or write_back)"
            ));
            None
        }
    });
    let value = match map.get("value") {
        Some(v) => value_columns(v, &mut reasons),
        None => {
            reasons.push("'value' is missing: a column, or a list of columns for a hash".into());
            None
        }
    };
    check_keys(map, policy, &mut reasons);
    let key = pattern
        .as_ref()
        .and_then(|p| key_columns(p, map.get("key"), &mut reasons));
    // Options are read once the required keys are right.
    let (Some(name), Some(pattern), Some(table), Some(policy), Some(value), Some(key)) =
        (name, pattern, table, policy, value, key)
    else {
        return Err(reasons);
    };
    let mut rule = Rule {
        name,
        pattern,
        table,
        key,
        value,
        policy,
        create: false,
        ttl: Duration::from_secs(300),
        ttl_jitter: 10,
        negative_ttl: Duration::from_secs(30),
        write_back: (policy == Policy::WriteBack).then(WriteBack::default),
    };
    read_options(map, &mut rule, &mut reasons);
    if let Some(wb) = rule.write_back.as_mut() {
        write_back_options(map, wb, &mut reasons);
    }
    if reasons.is_empty() {
        Ok(rule)
    } else {
        Err(reasons)
    }
}

fn required(map: &Mapping, key: &str, reasons: &mut Vec<String>) -> Option<String> {
    match map.get(key).map(text) {
        Some(Ok(t)) if !t.is_empty() => Some(t),
        Some(Ok(_)) | None => {
            reasons.push(format!("'{key}' is missing"));
            None
        }
        Some(Err(p)) => {
            reasons.push(format!("'{key}': {p}"));
            None
        }
    }
}

/// Unknown keys, and write-back keys on a look-aside rule.
fn check_keys(map: &Mapping, policy: Option<Policy>, reasons: &mut Vec<String>) {
    for key in map.keys() {
        let key = key.as_str().unwrap_or_default();
        if WRITE_BACK_KEYS.contains(&key) {
            if policy == Some(Policy::LookAside) {
                reasons.push(format!("'{key}' is only for 'policy: write_back'"));
            }
        } else if !RULE_KEYS.contains(&key) {
            reasons.push(format!(
                "unknown key '{key}' (expected one of {}, {})",
                RULE_KEYS.join(", "),
                WRITE_BACK_KEYS.join(", ")
            ));
        }
    }
}

/// A SQL identifier, `name` or `schema.name`: letters, digits and `_`.
fn ident(text: &str, what: &str, reasons: &mut Vec<String>) -> Option<String> {
    let part_ok = |p: &str| {
        p.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = text.split('.').collect();
    let max_parts = if what == "table" { 2 } else { 1 };
    if parts.len() <= max_parts && parts.iter().all(|p| part_ok(p)) {
        Some(text.to_string())
    } else {
        reasons.push(format!(
            "{what} '{text}' is not a plain SQL name (letters, digits and _{})",
            if what == "table" {
                ", optionally schema.table"
            } else {
                ""
            }
        ));
        None
    }
}

fn value_columns(v: &Value, reasons: &mut Vec<String>) -> Option<ValueColumns> {
    match v {
        Value::Sequence(items) if !items.is_empty() => {
            let mut columns = Vec::new();
            for item in items {
                let column = text(item).ok().and_then(|t| ident(&t, "column", reasons))?;
                if columns.contains(&column) {
                    reasons.push(format!("value column '{column}' is listed twice"));
                    return None;
                }
                columns.push(column);
            }
            Some(ValueColumns::Hash(columns))
        }
        Value::Sequence(_) => {
            reasons.push("'value' is an empty list".into());
            None
        }
        other => match text(other) {
            Ok(t) => ident(&t, "column", reasons).map(ValueColumns::String),
            Err(p) => {
                reasons.push(format!("'value': {p}"));
                None
            }
        },
    }
}

/// `key:` as capture → column pairs, in capture order; every capture must
/// name a column and every named capture must exist.
fn key_columns(
    pattern: &Pattern,
    v: Option<&Value>,
    reasons: &mut Vec<String>,
) -> Option<Vec<(String, String)>> {
    let captures: Vec<&str> = pattern.captures().collect();
    let given: Vec<(String, String)> = match v {
        None => captures
            .iter()
            .map(|c| (c.to_string(), c.to_string()))
            .collect(),
        Some(Value::Mapping(m)) => m
            .iter()
            .map(|(c, col)| (text(c).unwrap_or_default(), text(col).unwrap_or_default()))
            .collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|c| text(c).unwrap_or_default())
            .map(|c| (c.clone(), c))
            .collect(),
        Some(other) => match (text(other), captures.as_slice()) {
            (Ok(column), [only]) => vec![(only.to_string(), column)],
            (Ok(_), _) => {
                reasons.push(format!(
                    "'key' names one column but pattern '{pattern}' has {} captures: map each, as in key: {{capture: column}}",
                    captures.len()
                ));
                return None;
            }
            (Err(p), _) => {
                reasons.push(format!("'key': {p}"));
                return None;
            }
        },
    };
    let before = reasons.len();
    for (capture, column) in &given {
        if !captures.contains(&capture.as_str()) {
            reasons.push(format!("key column '{column}' takes capture '{{{capture}}}', which pattern '{pattern}' does not have"));
        }
        ident(column, "column", reasons);
    }
    for capture in &captures {
        if !given.iter().any(|(c, _)| c == capture) {
            reasons.push(format!(
                "capture '{{{capture}}}' of pattern '{pattern}' covers no key column"
            ));
        }
    }
    if reasons.len() > before {
        return None;
    }
    let ordered = captures
        .iter()
        .filter_map(|c| given.iter().find(|(g, _)| g == c).cloned())
        .collect();
    Some(ordered)
}

fn read_options(map: &Mapping, rule: &mut Rule, reasons: &mut Vec<String>) {
    let mut report = |key: &str, p: Problem| reasons.push(format!("'{key}': {p}"));
    if let Some(v) = map.get("create") {
        flag(v)
            .map(|b| rule.create = b)
            .unwrap_or_else(|p| report("create", p));
    }
    if let Some(v) = map.get("ttl") {
        match duration(v) {
            Ok(d) if d.is_zero() => report("ttl", Problem::Cache("must be more than 0s".into())),
            Ok(d) => rule.ttl = d,
            Err(p) => report("ttl", p),
        }
    }
    if let Some(v) = map.get("negative_ttl") {
        duration(v)
            .map(|d| rule.negative_ttl = d)
            .unwrap_or_else(|p| report("negative_ttl", p));
    }
    if let Some(v) = map.get("ttl_jitter") {
        let t = text(v).unwrap_or_default();
        match parse_count(t.trim_end_matches('%')) {
            Ok(n) if n <= 100 => rule.ttl_jitter = n,
            _ => report(
                "ttl_jitter",
                Problem::Invalid {
                    value: t,
                    reason: "expected a percentage from 0% to 100%".into(),
                },
            ),
        }
    }
}

fn write_back_options(map: &Mapping, wb: &mut WriteBack, reasons: &mut Vec<String>) {
    for (key, v) in map {
        let key = key.as_str().unwrap_or_default();
        let t = text(v).unwrap_or_default();
        let result: Result<(), String> = match key {
            "mode" => choose(&t, &[("upsert", Mode::Upsert), ("append", Mode::Append)])
                .map(|m| wb.mode = m),
            "fsync" => choose(
                &t,
                &[
                    ("always", Fsync::Always),
                    ("everysec", Fsync::Everysec),
                    ("no", Fsync::No),
                ],
            )
            .map(|f| wb.fsync = f),
            "on_full" => choose(&t, &[("block", OnFull::Block), ("reject", OnFull::Reject)])
                .map(|o| wb.on_full = o),
            "batch_size" => positive(&t).map(|n| wb.batch_size = n),
            "max_pending" => positive(&t).map(|n| wb.max_pending = n),
            "flush_interval" => match duration(v) {
                Ok(d) if !d.is_zero() => {
                    wb.flush_interval = d;
                    Ok(())
                }
                Ok(_) => Err("must be more than 0s".into()),
                Err(p) => Err(p.to_string()),
            },
            "version_column" | "seq_column" => {
                let mut inner = Vec::new();
                let slot = if key == "version_column" {
                    &mut wb.version_column
                } else {
                    &mut wb.seq_column
                };
                match ident(&t, "column", &mut inner) {
                    Some(c) => {
                        *slot = c;
                        Ok(())
                    }
                    None => Err(inner.join("; ")),
                }
            }
            _ => Ok(()),
        };
        if let Err(reason) = result {
            reasons.push(format!("'{key}': {reason}"));
        }
    }
    if wb.mode == Mode::Upsert && map.contains_key("seq_column") {
        reasons.push("'seq_column' is only for 'mode: append'".into());
    }
    if wb.mode == Mode::Append && map.contains_key("version_column") {
        reasons.push("'version_column' is only for 'mode: upsert'".into());
    }
}

fn choose<T: Copy>(value: &str, names: &[(&str, T)]) -> Result<T, String> {
    names
        .iter()
        .find(|(n, _)| *n == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let expected: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
            format!(
                "unknown value '{value}' (expected one of {})",
                expected.join(", ")
            )
        })
}

fn positive(value: &str) -> Result<usize, String> {
    match parse_count(value) {
        Ok(n) if n > 0 => Ok(n as usize),
        _ => Err(format!(
            "invalid value '{value}': expected a whole number of at least 1"
        )),
    }
}
