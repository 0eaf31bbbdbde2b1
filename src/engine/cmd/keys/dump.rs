//! DUMP and RESTORE: a key's value as Redis's serialized payload (see
//! [`rdb::dump`](crate::engine::persist::rdb::dump)), so values move between
//! shardcar and redis-server with `redis-cli --pipe`, MIGRATE-style tools or
//! by hand.

use bytes::Bytes;

use super::count_lookup;
use crate::engine::cmd::args::{self, Args};
use crate::engine::cmd::{CmdError, CmdResult, Ctx};
use crate::engine::persist::rdb::dump;
use crate::resp::Frame;

/// # Format
/// `DUMP key` → the serialized value, or nil if there is no such key. The
/// expiry is not part of it (Redis's DUMP leaves it out too).
pub(in crate::engine::cmd) fn dump(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (db, now) = (cx.client.db, cx.now);
    let compress = cx.shared.config.read().rdbcompression;
    let ks = &mut *cx.ks;
    let payload = ks.dbs[db]
        .get(&args[1], now)
        .map(|value| dump::dump(value, compress, &ks.limits));
    count_lookup(cx, payload.is_some());
    Ok(payload.map_or(Frame::Null, |p| Frame::Bulk(Bytes::from(p))))
}

/// # Format
/// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]`
/// → OK. `ttl` is in milliseconds (0: none), a Unix time with ABSTTL; a time
/// already past restores nothing (and REPLACE still deletes the old key).
/// FREQ is checked and ignored: the engine keeps no LFU counter.
pub(in crate::engine::cmd) fn restore(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq) = (None, None);
    let mut options = Args::new(args, 4);
    while let Some(option) = options.next() {
        if args::is(option, "replace") {
            replace = true;
        } else if args::is(option, "absttl") {
            absttl = true;
        } else if args::is(option, "idletime") && !options.is_empty() && freq.is_none() {
            idle = Some(args::non_negative(
                options.value()?,
                "ERR Invalid IDLETIME value, must be >= 0",
            )?);
        } else if args::is(option, "freq") && !options.is_empty() && idle.is_none() {
            let f = options.int()?;
            if !(0..=255).contains(&f) {
                return Err(CmdError::msg(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(f);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (db, now) = (cx.client.db, cx.now);
    if !replace && cx.ks.dbs[db].contains(key, now) {
        return Err(CmdError::msg("BUSYKEY Target key name already exists."));
    }
    let ttl = args::non_negative(&args[2], "ERR Invalid TTL value, must be >= 0")?;
    let value = dump::restore(&args[3], cx.ks.limits.clone())
        .map_err(|e| CmdError::msg(format!("ERR {e}")))?;
    let expire_at = match ttl {
        0 => None,
        t if absttl => Some(t),
        t => Some(now.saturating_add(t)),
    };
    let deleted = replace && cx.ks.dbs[db].remove(key, now).is_some();
    if expire_at.is_some_and(|at| at <= now) {
        if !deleted {
            cx.no_change();
        }
        return Ok(Frame::ok());
    }
    let dbs = &mut cx.ks.dbs[db];
    dbs.insert_with_expiry(key.clone(), value, expire_at, now);
    if let (Some(idle), Some(entry)) = (idle, dbs.entry_mut(key, now)) {
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        entry.access = entry.access.saturating_sub(idle);
    }
    Ok(Frame::ok())
}
