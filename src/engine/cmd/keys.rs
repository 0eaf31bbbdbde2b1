//! Generic key commands, whatever the type of the value: DEL, UNLINK, EXISTS,
//! TYPE, TOUCH, RENAME, RENAMENX, COPY, MOVE, RANDOMKEY here; expiry in
//! [`expire`], KEYS and SCAN in [`scan`], OBJECT in [`object`], DUMP and
//! RESTORE in [`dump`]; freeing large values off the command path in
//! [`lazyfree`]. As Redis's `db.c`/`expire.c`/`cluster.c`.
//!
//! Watchers: after a successful write the dispatcher signals every declared key.
//! Commands that changed nothing say so (`no_change`); a cross-database COPY or
//! MOVE signals its key in the other database itself.

mod dump;
mod expire;
pub(crate) mod lazyfree;
mod object;
mod scan;

use bytes::Bytes;

use super::args::{self, Args};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("del", del),
    ("unlink", unlink),
    ("exists", exists),
    ("type", type_),
    ("touch", touch),
    ("rename", rename),
    ("renamenx", renamenx),
    ("copy", copy),
    ("move", move_),
    ("randomkey", randomkey),
    ("expire", expire::expire),
    ("pexpire", expire::pexpire),
    ("expireat", expire::expireat),
    ("pexpireat", expire::pexpireat),
    ("ttl", expire::ttl),
    ("pttl", expire::pttl),
    ("expiretime", expire::expiretime),
    ("pexpiretime", expire::pexpiretime),
    ("persist", expire::persist),
    ("keys", scan::keys),
    ("scan", scan::scan),
    ("object", object::object),
    ("dump", dump::dump),
    ("restore", dump::restore),
];

/// Counts a read lookup in INFO's `keyspace_hits` / `keyspace_misses`, as Redis's
/// read lookups do (write lookups are not counted).
fn count_lookup(cx: &mut Ctx<'_>, found: bool) {
    if found {
        cx.ks.stats.keyspace_hits += 1;
    } else {
        cx.ks.stats.keyspace_misses += 1;
    }
}

/// # Format
/// `DEL key [key ...]` → the number of keys deleted.
///
/// With `lazyfree-lazy-user-del yes`, frees large values as UNLINK does.
fn del(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let lazy = cx.shared.config.read().lazyfree_lazy_user_del;
    delete(cx, &args[1..], lazy)
}

/// # Format
/// `UNLINK key [key ...]` → the number of keys deleted.
///
/// The keys leave the keyspace at once; values with many elements are freed by
/// the lazy-free thread, so the lock is not held while their memory is walked.
fn unlink(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    delete(cx, &args[1..], true)
}

fn delete(cx: &mut Ctx<'_>, keys: &[Bytes], lazy: bool) -> CmdResult {
    let (db, now) = cx.db_now();
    let mut deleted = 0;
    for key in keys {
        // A repeated key is deleted once and counted once, as in Redis.
        if let Some(value) = db.remove(key, now) {
            deleted += 1;
            if lazy {
                lazyfree::free(value);
            }
        }
    }
    if deleted == 0 {
        cx.no_change();
    }
    Ok(Frame::Integer(deleted))
}

/// # Format
/// `EXISTS key [key ...]` → how many of the keys exist; a key named twice counts twice.
fn exists(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut count = 0;
    for key in &args[1..] {
        let (db, now) = cx.db_now();
        let found = db.contains(key, now);
        count_lookup(cx, found);
        count += i64::from(found);
    }
    Ok(Frame::Integer(count))
}

/// # Format
/// `TYPE key` → `string`, `list`, `set`, `zset`, `hash`, or `none`.
fn type_(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (db, now) = cx.db_now();
    let name = db.entry(&args[1], now).map(|e| e.value.type_name());
    count_lookup(cx, name.is_some());
    Ok(Frame::simple(name.unwrap_or("none")))
}

/// # Format
/// `TOUCH key [key ...]` → how many of the keys exist; refreshes their access time.
fn touch(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut count = 0;
    for key in &args[1..] {
        let (db, now) = cx.db_now();
        let found = db.mark_accessed(key, now);
        count_lookup(cx, found);
        count += i64::from(found);
    }
    Ok(Frame::Integer(count))
}

/// # Format
/// `RENAME key newkey` → `OK`; `ERR no such key` if `key` does not exist.
fn rename(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    rename_key(cx, &args[1], &args[2], false).map(|_| Frame::ok())
}

/// # Format
/// `RENAMENX key newkey` → 1 if renamed, 0 if `newkey` exists; `ERR no such key`.
fn renamenx(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    rename_key(cx, &args[1], &args[2], true).map(|renamed| Frame::Integer(i64::from(renamed)))
}

/// Moves `from`'s value and TTL to `to`, replacing `to` unless `nx`. True if renamed.
fn rename_key(cx: &mut Ctx<'_>, from: &Bytes, to: &Bytes, nx: bool) -> Result<bool, CmdError> {
    let (db, now) = cx.db_now();
    let Some(expire_at) = db.expiry(from, now) else {
        return Err(CmdError::NoSuchKey);
    };
    if from == to || (nx && db.contains(to, now)) {
        // Renaming a key onto itself changes nothing (RENAMENX answers 0 then).
        cx.no_change();
        return Ok(!nx);
    }
    if let Some(value) = db.remove(from, now) {
        db.insert_with_expiry(to.clone(), value, expire_at, now);
    }
    Ok(true)
}

/// # Format
/// `COPY source destination [DB destination-db] [REPLACE]` → 1 if copied, 0 if
/// `source` is missing or `destination` exists (without REPLACE).
fn copy(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    let mut target = cx.client.db;
    let mut replace = false;
    let mut options = Args::new(args, 3);
    while let Some(option) = options.next() {
        if args::is(option, "replace") {
            replace = true;
        } else if args::is(option, "db") && !options.is_empty() {
            target = db_index(cx, options.value()?)?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let current = cx.client.db;
    if target == current && src == dst {
        return Err(same_object());
    }
    let now = cx.now;
    let source = cx.ks.dbs[current].get(src, now).cloned();
    count_lookup(cx, source.is_some());
    let Some(value) = source else {
        cx.no_change();
        return Ok(Frame::Integer(0));
    };
    let expire_at = cx.ks.dbs[current].expiry(src, now).flatten();
    let dest = &mut cx.ks.dbs[target];
    if !replace && dest.contains(dst, now) {
        cx.no_change();
        return Ok(Frame::Integer(0));
    }
    dest.insert_with_expiry(dst.clone(), value, expire_at, now);
    if target != current {
        cx.ks.touch(target, dst);
    }
    Ok(Frame::Integer(1))
}

/// # Format
/// `MOVE key db` → 1 if moved, 0 if `key` is missing or exists in `db`.
fn move_(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let target = db_index(cx, &args[2])?;
    let current = cx.client.db;
    if target == current {
        return Err(same_object());
    }
    let now = cx.now;
    let Some(expire_at) = cx.ks.dbs[current].expiry(key, now) else {
        cx.no_change();
        return Ok(Frame::Integer(0));
    };
    if cx.ks.dbs[target].contains(key, now) {
        cx.no_change();
        return Ok(Frame::Integer(0));
    }
    if let Some(value) = cx.ks.dbs[current].remove(key, now) {
        cx.ks.dbs[target].insert_with_expiry(key.clone(), value, expire_at, now);
        cx.ks.touch(target, key);
    }
    Ok(Frame::Integer(1))
}

/// # Format
/// `RANDOMKEY` → a random key, or nil when the database is empty.
fn randomkey(cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let (db, now) = cx.db_now();
    Ok(db.random_key(now).map_or(Frame::Null, Frame::Bulk))
}

/// A database number argument (COPY … DB n, MOVE): an int, then a valid index.
fn db_index(cx: &Ctx<'_>, arg: &[u8]) -> Result<usize, CmdError> {
    let n = args::int(arg)?;
    let n = i32::try_from(n).map_err(|_| {
        CmdError::msg("ERR value is out of range, value must between -2147483648 and 2147483647")
    })?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n < cx.ks.dbs.len())
        .ok_or_else(|| CmdError::msg("ERR DB index is out of range"))
}

fn same_object() -> CmdError {
    CmdError::msg("ERR source and destination objects are the same")
}

#[cfg(test)]
mod tests;
