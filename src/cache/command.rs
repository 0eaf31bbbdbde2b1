//! Which requests the cache takes, and the replies it gives.
//!
//! Reads: GET, HGET, HGETALL, HMGET, MGET (a cached key anywhere in it).
//! Writes: SET key value, HSET/HMSET key field value…, DEL/UNLINK of one key;
//! on write-back upsert rules also INCR, INCRBY, DECR, DECRBY, INCRBYFLOAT,
//! HINCRBY and HINCRBYFLOAT (see `counter`), and RPUSH (one row per value)
//! and XADD (one row per entry, its fields the columns) on append rules. Any other write to a cached key is refused with an error
//! that names the rule and the writes it takes: the cache could not mirror it
//! in SQL. Reads of other kinds (EXISTS,
//! TTL…) go to the backend as usual, and so do reads of append rules (a log
//! has no one row to read back).

use bytes::Bytes;
use std::sync::Arc;

use super::counter::Addend;
use super::keyspace::{self, Cached};
use super::look_aside::{self, Outcome};
use super::write_back::{self, Prepared};
use super::{Cache, Turn};
use crate::command::{self, flags::Flags, CommandSpec};
use crate::config::{Policy, Rule, ValueColumns};
use crate::proxy::pool::Pool;
use crate::resp::Frame;

/// A request the cache handles.
#[derive(Debug)]
pub(crate) enum Op {
    /// Answer this at once.
    Refuse(Frame),
    /// A read of one cached key, shaped as `read` says.
    Read { target: Target, read: Read },
    /// MGET: cached keys through the cache, others from the backend.
    Mget(Vec<(Bytes, Option<Target>)>),
    /// A write of one cached key.
    Write { target: Target, write: Write },
}

/// A cached key and its rule.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) rule: usize,
    pub(crate) key: Bytes,
}

impl Target {
    /// The key column values: the pattern's captures, as slices of the key.
    /// Only SQL needs them, so a hit never computes them.
    pub(crate) fn captures(&self, rule: &Rule) -> Vec<Bytes> {
        let values = rule.pattern.matches(&self.key).unwrap_or_default();
        values.into_iter().map(|v| self.key.slice_ref(v)).collect()
    }
}

#[derive(Debug)]
pub(crate) enum Read {
    Get,
    HGet(Bytes),
    HGetAll,
    HMGet(Vec<Bytes>),
}

/// A write, as column changes.
#[derive(Debug)]
pub(crate) enum Write {
    /// SET, HSET, HMSET: (column index, value); `hmset` answers +OK.
    Set {
        columns: Vec<(usize, Bytes)>,
        reply: WriteReply,
    },
    /// DEL, UNLINK.
    Delete,
    /// INCRBY and its kin: `by` added to a column's latest value (write-back
    /// upsert rules only).
    Add { column: usize, by: Addend },
    /// RPUSH to an append rule: one row per value, in order.
    Push(Vec<Bytes>),
    /// XADD to an append rule: one row of the entry's fields, journaled once
    /// the backend added the entry (`args`, as the client sent them).
    Stream {
        args: Vec<Bytes>,
        columns: Vec<(usize, Bytes)>,
    },
}

/// How the client's reply to a write is made.
#[derive(Debug, Clone)]
pub(crate) enum WriteReply {
    /// +OK.
    Ok,
    /// The number of fields written (HSET).
    Count,
    /// The backend's reply (DEL, RPUSH).
    Backend,
    /// A reply known when the write was queued (INCR's new value).
    Value(Frame),
}

fn wrong_type() -> Frame {
    Frame::error("WRONGTYPE Operation against a key holding the wrong kind of value")
}

/// Decides whether the cache takes `args`.
pub(crate) fn classify(cache: &Cache, args: &[Bytes]) -> Option<Op> {
    // The command table's lookup ignores case without allocating: this runs
    // for every request of a pool with a cache.
    let spec = command::lookup(args.first()?)?;
    let target = |i: usize| {
        let key = args.get(i)?;
        let rule = cache.rule_for(key)?;
        Some(Target {
            rule,
            key: key.clone(),
        })
    };
    let hash = |t: &Target| cache.rules[t.rule].is_hash();
    let append = |t: &Target| cache.rules[t.rule].rule.is_append();
    let read = |t: Target, read: Read, wants_hash: bool| {
        if append(&t) {
            None
        } else if hash(&t) != wants_hash {
            Some(Op::Refuse(wrong_type()))
        } else {
            Some(Op::Read { target: t, read })
        }
    };
    match (spec.name, args.len()) {
        ("get", 2) => read(target(1)?, Read::Get, false),
        ("hget", 3) => read(target(1)?, Read::HGet(args[2].clone()), true),
        ("hgetall", 2) => read(target(1)?, Read::HGetAll, true),
        ("hmget", n) if n >= 3 => read(target(1)?, Read::HMGet(args[2..].to_vec()), true),
        ("mget", n) if n >= 2 => mget(cache, args),
        ("set", _) => set(cache, target(1)?, args),
        ("hset" | "hmset", _) => hset(cache, target(1)?, args, spec.name == "hmset"),
        ("del" | "unlink", n) if n >= 2 => delete(cache, args),
        ("incr" | "decr", 2) => {
            let by = Ok(Addend::step(if spec.name == "incr" { 1 } else { -1 }));
            add(cache, target(1)?, spec.name, None, by)
        }
        ("incrby" | "decrby", 3) => {
            let by = Addend::int(&args[2], spec.name == "decrby", false);
            add(cache, target(1)?, spec.name, None, by)
        }
        ("incrbyfloat", 3) => {
            let by = Addend::float(&args[2], false);
            add(cache, target(1)?, spec.name, None, by)
        }
        ("hincrby", 4) => {
            let by = Addend::int(&args[3], false, true);
            add(cache, target(1)?, spec.name, Some(&args[2]), by)
        }
        ("hincrbyfloat", 4) => {
            let by = Addend::float(&args[3], true);
            add(cache, target(1)?, spec.name, Some(&args[2]), by)
        }
        ("rpush", n) if n >= 3 => push(cache, target(1)?, args),
        ("xadd", n) if n >= 5 => xadd(cache, target(1)?, args),
        _ if spec.flags.contains(Flags::WRITE) => refuse_other_writes(cache, spec, args),
        _ => None,
    }
}

fn mget(cache: &Cache, args: &[Bytes]) -> Option<Op> {
    let keys: Vec<(Bytes, Option<Target>)> = args[1..]
        .iter()
        .map(|key| {
            let target = cache
                .rule_for(key)
                .filter(|&rule| !cache.rules[rule].rule.is_append())
                .map(|rule| Target {
                    rule,
                    key: key.clone(),
                });
            (key.clone(), target)
        })
        .collect();
    keys.iter()
        .any(|(_, t)| t.is_some())
        .then_some(Op::Mget(keys))
}

fn set(cache: &Cache, target: Target, args: &[Bytes]) -> Option<Op> {
    let rule = &cache.rules[target.rule].rule;
    if matches!(rule.value, ValueColumns::Hash(_)) {
        return Some(refuse(
            &rule.name,
            &target.key,
            "holds a hash: write it with HSET",
        ));
    }
    if args.len() != 3 {
        return Some(refuse(
            &rule.name,
            &target.key,
            "takes SET key value only (no options)",
        ));
    }
    let columns = vec![(0, args[2].clone())];
    Some(Op::Write {
        target,
        write: Write::Set {
            columns,
            reply: WriteReply::Ok,
        },
    })
}

fn hset(cache: &Cache, target: Target, args: &[Bytes], hmset: bool) -> Option<Op> {
    let rule = &cache.rules[target.rule].rule;
    let ValueColumns::Hash(names) = &rule.value else {
        return Some(Op::Refuse(wrong_type()));
    };
    if args.len() < 4 || args.len() % 2 != 0 {
        let name = if hmset { "hmset" } else { "hset" };
        return Some(Op::Refuse(Frame::error(format!(
            "ERR wrong number of arguments for '{name}' command"
        ))));
    }
    let mut columns = Vec::new();
    for pair in args[2..].chunks(2) {
        let Some(i) = names.iter().position(|n| n.as_bytes() == pair[0].as_ref()) else {
            return Some(no_such_field(rule, &target.key, &pair[0], names));
        };
        columns.push((i, pair[1].clone()));
    }
    let reply = if hmset {
        WriteReply::Ok
    } else {
        WriteReply::Count
    };
    Some(Op::Write {
        target,
        write: Write::Set { columns, reply },
    })
}

/// INCR and its kin: on a write-back upsert rule's column, `field` naming it
/// for the hash commands.
fn add(
    cache: &Cache,
    target: Target,
    name: &str,
    field: Option<&Bytes>,
    by: Result<Addend, Frame>,
) -> Option<Op> {
    let rule = &cache.rules[target.rule].rule;
    if rule.policy != Policy::WriteBack || rule.is_append() {
        return Some(refuse_command(rule, &target.key, name));
    }
    let by = match by {
        Ok(by) => by,
        Err(frame) => return Some(Op::Refuse(frame)),
    };
    let column = match (field, &rule.value) {
        (None, ValueColumns::String(_)) => 0,
        (Some(field), ValueColumns::Hash(names)) => {
            match names.iter().position(|n| n.as_bytes() == field.as_ref()) {
                Some(i) => i,
                None => return Some(no_such_field(rule, &target.key, field, names)),
            }
        }
        _ => return Some(Op::Refuse(wrong_type())),
    };
    Some(Op::Write {
        target,
        write: Write::Add { column, by },
    })
}

/// RPUSH: values appended as rows of an append rule with one value column.
fn push(cache: &Cache, target: Target, args: &[Bytes]) -> Option<Op> {
    let rule = &cache.rules[target.rule].rule;
    if !rule.is_append() || matches!(rule.value, ValueColumns::Hash(_)) {
        return Some(refuse_command(rule, &target.key, "rpush"));
    }
    Some(Op::Write {
        target,
        write: Write::Push(args[2..].to_vec()),
    })
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] id
/// field value…: the entry's fields are the row's columns.
fn xadd(cache: &Cache, target: Target, args: &[Bytes]) -> Option<Op> {
    let rule = &cache.rules[target.rule].rule;
    if !rule.is_append() {
        return Some(refuse_command(rule, &target.key, "xadd"));
    }
    let is = |i: usize, word: &str| {
        args.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
    };
    let mut i = 2;
    if is(i, "nomkstream") {
        i += 1;
    }
    if is(i, "maxlen") || is(i, "minid") {
        i += 1;
        if is(i, "=") || is(i, "~") {
            i += 1;
        }
        i += 1; // the threshold
        if is(i, "limit") {
            i += 2;
        }
    }
    let fields = args.get(i + 1..).unwrap_or_default();
    if fields.is_empty() || fields.len() % 2 != 0 {
        return Some(Op::Refuse(Frame::error(
            "ERR wrong number of arguments for 'xadd' command",
        )));
    }
    let names = rule.value.columns();
    let mut columns = Vec::with_capacity(fields.len() / 2);
    for pair in fields.chunks(2) {
        let Some(c) = names.iter().position(|n| n.as_bytes() == pair[0].as_ref()) else {
            return Some(no_such_field(rule, &target.key, &pair[0], names));
        };
        columns.retain(|(old, _)| *old != c);
        columns.push((c, pair[1].clone()));
    }
    Some(Op::Write {
        target,
        write: Write::Stream {
            args: args.to_vec(),
            columns,
        },
    })
}

fn delete(cache: &Cache, args: &[Bytes]) -> Option<Op> {
    let cached: Vec<usize> = (1..args.len())
        .filter(|&i| cache.rule_for(&args[i]).is_some())
        .collect();
    let first = *cached.first()?;
    if args.len() > 2 {
        let rule = cache
            .rule_for(&args[first])
            .map(|r| cache.rules[r].rule.name.clone())
            .unwrap_or_default();
        return Some(refuse(
            &rule,
            &args[first],
            "is deleted one key at a time: DEL it alone",
        ));
    }
    let rule = cache.rule_for(&args[1])?;
    if cache.rules[rule].rule.is_append() {
        return Some(refuse(
            &cache.rules[rule].rule.name,
            &args[1],
            "is an append-only log: DEL is not mirrored in SQL",
        ));
    }
    Some(Op::Write {
        target: Target {
            rule,
            key: args[1].clone(),
        },
        write: Write::Delete,
    })
}

/// Any other write touching a cached key is refused.
fn refuse_other_writes(cache: &Cache, spec: &CommandSpec, args: &[Bytes]) -> Option<Op> {
    if !spec.check_arity(args.len()) {
        return None;
    }
    let key = spec
        .key_indexes(args)
        .into_iter()
        .filter_map(|i| args.get(i))
        .find(|k| cache.rule_for(k).is_some())?;
    let rule = cache.rule_for(key)?;
    Some(refuse_command(&cache.rules[rule].rule, key, spec.name))
}

/// The refusal of command `name` on `key`, saying which writes its rule takes.
fn refuse_command(rule: &Rule, key: &[u8], name: &str) -> Op {
    let hash = matches!(rule.value, ValueColumns::Hash(_));
    let takes = match (rule.policy, rule.is_append(), hash) {
        (Policy::LookAside, _, false) => "SET and DEL",
        (Policy::LookAside, _, true) => "HSET, HMSET and DEL",
        (Policy::WriteBack, false, false) => "SET, INCR, INCRBY, DECR, DECRBY, INCRBYFLOAT and DEL",
        (Policy::WriteBack, false, true) => "HSET, HMSET, HINCRBY, HINCRBYFLOAT and DEL",
        (Policy::WriteBack, true, false) => "SET, RPUSH and XADD",
        (Policy::WriteBack, true, true) => "HSET, HMSET and XADD",
    };
    let reason = format!(
        "does not take {}: SQL could not follow it (it takes {takes})",
        name.to_uppercase()
    );
    refuse(&rule.name, key, &reason)
}

fn no_such_field(rule: &Rule, key: &[u8], field: &[u8], names: &[String]) -> Op {
    let reason = format!(
        "has no field '{}': its fields are the columns {}",
        String::from_utf8_lossy(field),
        names.join(", ")
    );
    refuse(&rule.name, key, &reason)
}

fn refuse(rule: &str, key: &[u8], reason: &str) -> Op {
    Op::Refuse(Frame::error(format!(
        "ERR shardcar: key '{}' of cache rule '{rule}' {reason}",
        String::from_utf8_lossy(key)
    )))
}

impl Op {
    /// Whether it reads only: reads of one session may overlap.
    pub(crate) fn reads(&self) -> bool {
        matches!(self, Op::Read { .. } | Op::Mget(_))
    }
}

/// What a taken request may learn before its turn (see [`write_back::prepare`]).
pub(crate) async fn prepare(cache: &Arc<Cache>, pool: &Arc<Pool>, op: &Op) -> Prepared {
    match op {
        Op::Write { target, write }
            if cache.rules[target.rule].rule.policy == Policy::WriteBack =>
        {
            write_back::prepare(cache, pool, target, write).await
        }
        _ => Prepared::default(),
    }
}

/// Runs a taken request, with what [`prepare`] learned; `turn` is passed
/// once the session's next request may start.
pub(crate) async fn run(
    cache: &Arc<Cache>,
    pool: &Arc<Pool>,
    op: Op,
    prepared: Prepared,
    turn: &mut Turn,
) -> Frame {
    match op {
        Op::Refuse(frame) => frame,
        Op::Read { target, read } => {
            let outcome = look_aside::value(cache, pool, &target, turn).await;
            answer(read, outcome, &cache.rules[target.rule].rule.value)
        }
        Op::Mget(keys) => mget_values(cache, pool, keys).await,
        Op::Write { target, write } => match cache.rules[target.rule].rule.policy {
            Policy::LookAside => look_aside::write_through(cache, pool, &target, write, turn).await,
            Policy::WriteBack => {
                write_back::write(cache, pool, &target, write, prepared, turn).await
            }
        },
    }
}

/// The values of MGET's keys, read together in this task: cached keys through
/// the cache, the others from the backend. A cache error answers for all.
async fn mget_values(
    cache: &Arc<Cache>,
    pool: &Arc<Pool>,
    keys: Vec<(Bytes, Option<Target>)>,
) -> Frame {
    let reads = keys.into_iter().map(|(key, target)| async move {
        match target {
            Some(t) if cache.rules[t.rule].is_hash() => Ok(Frame::Null),
            Some(t) => look_aside::value(cache, pool, &t, &mut Turn::default())
                .await
                .map(|v| shape(Read::Get, v, &cache.rules[t.rule].rule.value)),
            None => match keyspace::call(pool, &key, &[b"GET", &key]).await {
                Frame::Error(_) => Ok(Frame::Null),
                frame => Ok(frame),
            },
        }
    });
    match futures_util::future::try_join_all(reads).await {
        Ok(values) => Frame::Array(values),
        Err(error) => error,
    }
}

/// The client's reply to `read`, given the key's value or the error.
pub(crate) fn answer(read: Read, outcome: Outcome, columns: &ValueColumns) -> Frame {
    match outcome {
        Ok(value) => shape(read, value, columns),
        Err(frame) => frame,
    }
}

/// The reply to `read` given the key's value (`None`: no such key).
fn shape(read: Read, value: Option<Cached>, columns: &ValueColumns) -> Frame {
    let fields = match value {
        None => Vec::new(),
        Some(Cached::String(v)) => return Frame::Bulk(v),
        Some(Cached::Hash(fields)) => fields,
    };
    let field = |name: &[u8]| {
        fields
            .iter()
            .find(|(f, _)| f.as_ref() == name)
            .map_or(Frame::Null, |(_, v)| Frame::Bulk(v.clone()))
    };
    match read {
        Read::Get => Frame::Null,
        Read::HGet(name) => field(&name),
        Read::HMGet(names) => Frame::Array(names.iter().map(|n| field(n)).collect()),
        Read::HGetAll => {
            // In the rule's column order, as a row reads.
            let order = columns.columns();
            let mut sorted = fields.clone();
            sorted.sort_by_key(|(f, _)| order.iter().position(|c| c.as_bytes() == f.as_ref()));
            Frame::Map(
                sorted
                    .into_iter()
                    .map(|(f, v)| (Frame::Bulk(f), Frame::Bulk(v)))
                    .collect(),
            )
        }
    }
}
