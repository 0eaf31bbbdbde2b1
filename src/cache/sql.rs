//! The statements of a rule, written once for both dialects: each [`Dialect`]
//! says how it spells a parameter and a selected column; everything else is
//! shared. Identifiers are quoted; they were checked to be plain names when
//! the config was read, so no text from a request ever becomes SQL.

use bytes::Bytes;
use std::collections::HashMap;

use super::store::{Change, RuleProblem, Write};
use crate::config::{Mode, Rule};

/// How a dialect spells parameters and casts.
pub(crate) trait Dialect {
    /// The `n`th parameter (1-based) as a value of `column` in `table`.
    fn param(&self, n: usize, table: &str, column: &str) -> String;
    /// A column read back as text.
    fn output(&self, column: &str) -> String;
    /// How a row change's INSERT begins.
    fn insert(&self) -> &'static str {
        "INSERT"
    }
}

/// Quotes an identifier (`schema.table` → `"schema"."table"`). Names were
/// checked to be plain when the config was read.
pub(crate) fn quote(name: &str) -> String {
    name.split('.')
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(".")
}

/// `"k1" = P1 AND "k2" = P2`, parameters from `first`.
fn key_match(d: &dyn Dialect, rule: &Rule, first: usize) -> String {
    rule.key_columns()
        .enumerate()
        .map(|(i, c)| format!("{} = {}", quote(c), d.param(first + i, &rule.table, c)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The SELECT of a rule's value columns by key.
pub(crate) fn select(d: &dyn Dialect, rule: &Rule) -> String {
    let outputs: Vec<String> = rule.value.columns().iter().map(|c| d.output(c)).collect();
    format!(
        "SELECT {} FROM {} WHERE {}",
        outputs.join(", "),
        quote(&rule.table),
        key_match(d, rule, 1)
    )
}

/// Which version guard a statement carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// None (write-through).
    None,
    /// The last parameter is the journal sequence (write-back).
    Versioned,
}

/// `DELETE` by key; versioned, it spares a row written by a later sequence.
/// Parameters: keys, then the sequence.
pub(crate) fn delete(d: &dyn Dialect, rule: &Rule, guard: Guard) -> String {
    let mut sql = format!(
        "DELETE FROM {} WHERE {}",
        quote(&rule.table),
        key_match(d, rule, 1)
    );
    if let (Guard::Versioned, Some(wb)) = (guard, &rule.write_back) {
        let v = quote(&wb.version_column);
        let n = rule.key.len() + 1;
        sql.push_str(&format!(
            " AND ({v} IS NULL OR {v} < {})",
            d.param(n, &rule.table, &wb.version_column)
        ));
    }
    sql
}

/// `(P1, P2…), (Pn+1…)…`: `rows` rows of parameters for `names`, numbered on.
fn value_rows(d: &dyn Dialect, table: &str, names: &[&str], rows: usize) -> String {
    let row = |r: usize| {
        let params: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, c)| d.param(r * names.len() + i + 1, table, c))
            .collect();
        format!("({})", params.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

/// The upsert of some value columns in `rows` rows (of distinct keys). Each
/// row's parameters: keys, the columns' values in `columns` order, then
/// (versioned) the sequence.
pub(crate) fn upsert(
    d: &dyn Dialect,
    rule: &Rule,
    columns: &[usize],
    guard: Guard,
    rows: usize,
) -> String {
    let values = rule.value.columns();
    let mut names: Vec<&str> = rule.key_columns().collect();
    names.extend(columns.iter().map(|&i| values[i].as_str()));
    let version = match (guard, &rule.write_back) {
        (Guard::Versioned, Some(wb)) => Some(wb.version_column.as_str()),
        _ => None,
    };
    names.extend(version);
    let keys: Vec<String> = rule.key_columns().map(quote).collect();
    let mut updates: Vec<String> = names[rule.key.len()..]
        .iter()
        .map(|c| format!("{0} = excluded.{0}", quote(c)))
        .collect();
    if updates.is_empty() {
        updates.push(format!("{0} = excluded.{0}", keys[0]));
    }
    let mut sql = format!(
        "{} INTO {} ({}) VALUES {} ON CONFLICT ({}) DO UPDATE SET {}",
        d.insert(),
        quote(&rule.table),
        names
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", "),
        value_rows(d, &rule.table, &names, rows),
        keys.join(", "),
        updates.join(", ")
    );
    if let Some(v) = version {
        let (t, v) = (quote(&rule.table), quote(v));
        sql.push_str(&format!(" WHERE {t}.{v} IS NULL OR {t}.{v} < excluded.{v}"));
    }
    sql
}

/// The INSERT of `rows` appended rows. Each row's parameters: keys, every
/// value column, then the sequence.
pub(crate) fn append(d: &dyn Dialect, rule: &Rule, rows: usize) -> String {
    let seq = rule
        .write_back
        .as_ref()
        .map_or("_seq", |wb| wb.seq_column.as_str());
    let mut names: Vec<&str> = rule.key_columns().collect();
    names.extend(rule.value.columns().iter().map(String::as_str));
    names.push(seq);
    format!(
        "{} INTO {} ({}) VALUES {} ON CONFLICT ({}) DO NOTHING",
        d.insert(),
        quote(&rule.table),
        names
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", "),
        value_rows(d, &rule.table, &names, rows),
        quote(seq)
    )
}

/// What a statement does, apart from how many rows it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Delete,
    /// Upsert of these value columns.
    Upsert(Vec<usize>),
    Append,
}

fn text(d: &dyn Dialect, rule: &Rule, shape: &Shape, guard: Guard, rows: usize) -> String {
    match shape {
        Shape::Delete => delete(d, rule, guard),
        Shape::Upsert(columns) => upsert(d, rule, columns, guard, rows),
        Shape::Append => append(d, rule, rows),
    }
}

/// The parameters of one change, in statement order, with each statement's
/// shape: a replace is a delete and then an upsert.
fn shaped(rule: &Rule, write: &Write, guard: Guard) -> Vec<(Shape, Vec<Option<Bytes>>)> {
    let keys: Vec<Option<Bytes>> = write.key.iter().cloned().map(Some).collect();
    let seq = Some(Bytes::from(write.seq.to_string()));
    let versioned = guard == Guard::Versioned;
    let with_seq = |mut params: Vec<Option<Bytes>>| {
        if versioned {
            params.push(seq.clone());
        }
        params
    };
    if rule.is_append() {
        let (Change::Set(columns) | Change::Replace(columns)) = &write.change;
        let mut params = keys;
        params.extend((0..rule.value.columns().len()).map(|i| {
            columns
                .iter()
                .rev()
                .find(|(c, _)| *c == i)
                .map(|(_, v)| v.clone())
        }));
        params.push(seq);
        return vec![(Shape::Append, params)];
    }
    let mut out = Vec::new();
    let columns = match &write.change {
        Change::Set(columns) => columns,
        Change::Replace(columns) => {
            out.push((Shape::Delete, with_seq(keys.clone())));
            columns
        }
    };
    if !columns.is_empty() {
        let indexes: Vec<usize> = columns.iter().map(|(i, _)| *i).collect();
        let mut params = keys;
        params.extend(columns.iter().map(|(_, v)| Some(v.clone())));
        out.push((Shape::Upsert(indexes), with_seq(params)));
    }
    out
}

/// The statements of one change, in order, as (statement, params) pairs.
pub(crate) fn statements(
    d: &dyn Dialect,
    rule: &Rule,
    write: &Write,
    guard: Guard,
) -> Vec<(String, Vec<Option<Bytes>>)> {
    shaped(rule, write, guard)
        .into_iter()
        .map(|(shape, params)| (text(d, rule, &shape, guard, 1), params))
        .collect()
}

/// Rows per multi-row statement, largest first: a batch is cut into these
/// sizes, so each shape has at most four statement texts to prepare.
const ROWS_PER_STATEMENT: [usize; 4] = [256, 32, 4, 1];

/// A flush batch's statements (versioned): the deletes first, then the rows of
/// each shape in multi-row INSERTs — one statement for up to 256 rows rather
/// than one per row. An upsert batch holds one write per key (see `flush`),
/// so moving a key's delete ahead of other keys' rows changes nothing.
pub(crate) fn batch(
    d: &dyn Dialect,
    rule: &Rule,
    writes: &[Write],
) -> Vec<(String, Vec<Option<Bytes>>)> {
    let guard = Guard::Versioned;
    // Each (shape, rows) text is written once: a batch repeats a few of them.
    let mut texts: Vec<(Shape, usize, String)> = Vec::new();
    let mut text_of = |shape: &Shape, rows: usize| match texts
        .iter()
        .find(|(s, n, _)| s == shape && *n == rows)
    {
        Some((_, _, sql)) => sql.clone(),
        None => {
            let sql = text(d, rule, shape, guard, rows);
            texts.push((shape.clone(), rows, sql.clone()));
            sql
        }
    };
    let mut out = Vec::new();
    let mut shapes: Vec<(Shape, Vec<Vec<Option<Bytes>>>)> = Vec::new();
    for (shape, params) in writes.iter().flat_map(|w| shaped(rule, w, guard)) {
        if shape == Shape::Delete {
            out.push((text_of(&shape, 1), params));
        } else if let Some((_, rows)) = shapes.iter_mut().find(|(s, _)| *s == shape) {
            rows.push(params);
        } else {
            shapes.push((shape, vec![params]));
        }
    }
    for (shape, rows) in shapes {
        let mut rest = &rows[..];
        while !rest.is_empty() {
            let n = ROWS_PER_STATEMENT
                .into_iter()
                .find(|&n| n <= rest.len())
                .unwrap_or(1);
            let (chunk, tail) = rest.split_at(n);
            out.push((text_of(&shape, n), chunk.concat()));
            rest = tail;
        }
    }
    out
}

/// The statement advancing a rule's high-water mark. Parameters: rule, sequence.
pub(crate) fn advance_high_water(d: &dyn Dialect) -> String {
    format!(
        "INSERT INTO shardcar_flush_state (rule, applied_seq) VALUES ({}, {}) \
         ON CONFLICT (rule) DO UPDATE SET applied_seq = excluded.applied_seq",
        d.param(1, "shardcar_flush_state", "rule"),
        d.param(2, "shardcar_flush_state", "applied_seq")
    )
}

/// The statement recording a dead letter. Parameters: rule, seq, key, payload, error.
pub(crate) fn insert_dead_letter(d: &dyn Dialect) -> String {
    let t = "shardcar_dead_letter";
    format!(
        "INSERT INTO {t} (rule, seq, redis_key, payload, error) VALUES ({}, {}, {}, {}, {})",
        d.param(1, t, "rule"),
        d.param(2, t, "seq"),
        d.param(3, t, "redis_key"),
        d.param(4, t, "payload"),
        d.param(5, t, "error")
    )
}

/// The dead-letter parameters of a write: what a person needs to replay it.
pub(crate) fn dead_letter_params(rule: &Rule, write: &Write, error: &str) -> Vec<Option<Bytes>> {
    let (Change::Set(columns) | Change::Replace(columns)) = &write.change;
    let names = rule.value.columns();
    let payload: Vec<String> = columns
        .iter()
        .map(|(i, v)| format!("{}={}", names[*i], String::from_utf8_lossy(v)))
        .collect();
    let payload = match &write.change {
        Change::Replace(_) => format!("(delete first) {}", payload.join(" ")),
        Change::Set(_) => payload.join(" "),
    };
    [
        rule.name.as_bytes().to_vec(),
        write.seq.to_string().into_bytes(),
        String::from_utf8_lossy(&write.redis_key)
            .into_owned()
            .into_bytes(),
        payload.into_bytes(),
        error.as_bytes().to_vec(),
    ]
    .into_iter()
    .map(|v| Some(Bytes::from(v)))
    .collect()
}

/// The DDL of a table a rule creates (`create: true`). Column types: `text`
/// for keys and values, `int` for the version or sequence.
pub(crate) fn create_table(rule: &Rule, int: &str) -> String {
    let mut columns: Vec<String> = rule
        .key_columns()
        .map(|c| format!("{} TEXT NOT NULL", quote(c)))
        .collect();
    columns.extend(
        rule.value
            .columns()
            .iter()
            .map(|c| format!("{} TEXT", quote(c))),
    );
    match &rule.write_back {
        Some(wb) if wb.mode == Mode::Append => {
            columns.push(format!("{} {int} NOT NULL UNIQUE", quote(&wb.seq_column)));
        }
        Some(wb) => columns.push(format!("{} {int}", quote(&wb.version_column))),
        None => {}
    }
    if !rule.is_append() {
        let keys: Vec<String> = rule.key_columns().map(quote).collect();
        columns.push(format!("PRIMARY KEY ({})", keys.join(", ")));
    }
    format!(
        "CREATE TABLE IF NOT EXISTS {} ({})",
        quote(&rule.table),
        columns.join(", ")
    )
}

/// Checks a rule against its table's columns (lowercase names → type).
pub(crate) fn check_columns(
    rule: &Rule,
    columns: &HashMap<String, String>,
    db: &str,
) -> Vec<RuleProblem> {
    let mut needed: Vec<(&str, &str)> = rule.key_columns().map(|c| (c, "key column")).collect();
    needed.extend(
        rule.value
            .columns()
            .iter()
            .map(|c| (c.as_str(), "value column")),
    );
    match &rule.write_back {
        Some(wb) if wb.mode == Mode::Append => {
            needed.push((&wb.seq_column, "sequence column (BIGINT, UNIQUE)"))
        }
        Some(wb) => needed.push((&wb.version_column, "version column (BIGINT)")),
        None => {}
    }
    needed
        .into_iter()
        .filter(|(c, _)| !columns.contains_key(&c.to_ascii_lowercase()))
        .map(|(c, what)| RuleProblem {
            rule: rule.name.clone(),
            reason: format!(
                "table '{}' in {db} has no column '{c}' (the rule's {what})",
                rule.table
            ),
        })
        .collect()
}

/// The problem of a rule whose table does not exist.
pub(crate) fn missing_table(rule: &Rule, db: &str) -> RuleProblem {
    RuleProblem {
        rule: rule.name.clone(),
        reason: format!(
            "table '{}' does not exist in {db} (create it, or set 'create: true' on the rule)",
            rule.table
        ),
    }
}

/// Checks that a write-back rule's table has the unique index its writes rely
/// on: the key columns (upserts conflict on them) or the sequence column
/// (appends insert each write once). `unique` lists each unique index's
/// columns, lowercase, primary key included.
pub(crate) fn check_unique(rule: &Rule, unique: &[Vec<String>], db: &str) -> Option<RuleProblem> {
    let wb = rule.write_back.as_ref()?;
    let (mut needed, what): (Vec<String>, &str) = if wb.mode == Mode::Append {
        (
            vec![wb.seq_column.to_ascii_lowercase()],
            "appends insert each write once",
        )
    } else {
        let keys = rule.key_columns().map(str::to_ascii_lowercase).collect();
        (keys, "upserts replace the row of a key")
    };
    needed.sort();
    let found = unique.iter().any(|index| {
        let mut index = index.clone();
        index.sort();
        index == needed
    });
    (!found).then(|| RuleProblem {
        rule: rule.name.clone(),
        reason: format!(
            "table '{}' in {db} has no primary key or unique index on ({}): {what}",
            rule.table,
            needed.join(", ")
        ),
    })
}
