//! HyperLogLog commands (Redis's `hyperloglog.c`): PFADD, PFCOUNT, PFMERGE.
//!
//! A HyperLogLog is a string holding Redis's own encoding ([`Hll`]), so GET/SET
//! move it between servers. Each command parses the string, works on it and
//! stores the bytes back, keeping the key's TTL. A single-key PFCOUNT writes the
//! freshly computed cardinality into the value's header as Redis does, which
//! counts as a modification of the key (WATCH sees it).

use bytes::Bytes;

use super::string::read;
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::db::{Db, UnixMs};
use crate::engine::types::hll::{Hll, HllError};
use crate::engine::value::{Str, Value};
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] =
    &[("pfadd", pfadd), ("pfcount", pfcount), ("pfmerge", pfmerge)];

/// `hll-sparse-max-bytes`.
fn sparse_max_bytes(cx: &Ctx<'_>) -> usize {
    cx.shared.config.read().hll_sparse_max_bytes as usize
}

/// The HyperLogLog in a value: WRONGTYPE for another type or a string that is not one.
fn hll_of(value: &Value) -> Result<Hll, CmdError> {
    let parsed = match value.as_str()? {
        Str::Raw(bytes) => Hll::from_bytes(bytes),
        Str::Int(_) => Err(HllError::NotHll),
    };
    parsed.map_err(|err| CmdError::msg(err.to_string()))
}

/// Stores `hll` at `key`, keeping the key's TTL if it exists.
fn store(db: &mut Db, key: &Bytes, hll: Hll, now: UnixMs) {
    let value = Value::Str(Str::Raw(hll.into_bytes()));
    match db.get_mut(key, now) {
        Some(slot) => *slot = value,
        None => {
            db.insert(key.clone(), value, now);
        }
    }
}

/// # Format
/// `PFADD key [element [element ...]]`
///
/// Replies 1 if the key was created or a register changed, else 0.
fn pfadd(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sparse_max = sparse_max_bytes(cx);
    let key = &args[1];
    let (db, now) = cx.db_now();
    let (mut hll, created) = match db.get(key, now) {
        Some(value) => (hll_of(value)?, false),
        None => (Hll::new(), true),
    };
    let mut changed = created;
    for element in &args[2..] {
        changed |= hll.add(element, sparse_max);
    }
    if !changed {
        cx.no_change();
        return Ok(Frame::Integer(0));
    }
    store(db, key, hll, now);
    Ok(Frame::Integer(1))
}

/// # Format
/// `PFCOUNT key [key ...]`
///
/// One key: its estimate, cached in the value. Several: the estimate of their
/// union, computed without changing any of them. Missing keys count as empty.
fn pfcount(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        return count_one(cx, &args[1]);
    }
    let mut hlls = Vec::with_capacity(args.len() - 1);
    for key in &args[1..] {
        if let Some(value) = read(cx, key) {
            hlls.push(hll_of(value)?);
        }
    }
    let refs: Vec<&Hll> = hlls.iter().collect();
    Ok(Frame::Integer(Hll::count_union(&refs) as i64))
}

/// A single key's count, refreshing the cached cardinality if it is stale. Like
/// Redis's (a write lookup), this does not count a keyspace hit or miss.
fn count_one(cx: &mut Ctx<'_>, key: &Bytes) -> CmdResult {
    let (db, now) = cx.db_now();
    let Some(value) = db.get_mut(key, now) else {
        return Ok(Frame::Integer(0));
    };
    let mut hll = hll_of(value)?;
    if let Some(count) = hll.cached_count() {
        return Ok(Frame::Integer(count as i64));
    }
    // Redis replies the u64 estimate as a signed integer (2^63 wraps).
    let count = hll.count() as i64;
    *value = Value::Str(Str::Raw(hll.into_bytes()));
    cx.touch(key);
    Ok(Frame::Integer(count))
}

/// # Format
/// `PFMERGE destkey [sourcekey [sourcekey ...]]`
///
/// Folds the sources into `destkey` (created if missing, its own registers
/// included); dense if any input is dense.
fn pfmerge(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sparse_max = sparse_max_bytes(cx);
    let mut inputs = Vec::with_capacity(args.len() - 1);
    for key in &args[1..] {
        inputs.push(read(cx, key).map(hll_of).transpose()?);
    }
    let mut inputs = inputs.into_iter();
    let mut target = inputs.next().flatten().unwrap_or_default();
    let sources: Vec<Hll> = inputs.flatten().collect();
    let refs: Vec<&Hll> = sources.iter().collect();
    target.merge(&refs, sparse_max);
    let (db, now) = cx.db_now();
    store(db, &args[1], target, now);
    Ok(Frame::ok())
}
