//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Queuing happens in `session::process`; EXEC runs the queue inside the lock the
//! connection already holds, so no other client's command can interleave.

use bytes::Bytes;

use super::{CmdError, CmdResult, Ctx, Handler};
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("multi", multi),
    ("exec", exec),
    ("discard", discard),
    ("watch", watch),
    ("unwatch", unwatch),
];

/// # Format
/// `MULTI`
fn multi(cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if cx.client.multi.is_some() {
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    cx.client.multi = Some(Vec::new());
    cx.client.multi_failed = false;
    Ok(Frame::ok())
}

/// # Format
/// `EXEC`
fn exec(cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let Some(queue) = cx.client.multi.take() else {
        return Err(CmdError::msg("ERR EXEC without MULTI"));
    };
    if std::mem::take(&mut cx.client.multi_failed) {
        discard_state(cx);
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if watched_key_changed(cx) {
        discard_state(cx);
        return Ok(Frame::NullArray);
    }
    discard_state(cx);
    let outer_nested = cx.nested;
    cx.nested = true;
    let mut replies = Vec::with_capacity(queue.len());
    cx.ks.aof.begin_exec();
    for args in &queue {
        let reply = match super::lookup(&args[0]) {
            Some(command) => super::call(cx, command, args),
            None => crate::command::unknown_command_error(args),
        };
        cx.action = None;
        replies.push(reply);
    }
    cx.ks.aof.end_exec();
    cx.nested = outer_nested;
    Ok(Frame::Array(replies))
}

/// True if a watched key was modified, or has expired, since WATCH.
fn watched_key_changed(cx: &mut Ctx<'_>) -> bool {
    if cx.ks.watches.is_dirty(cx.client.id) {
        return true;
    }
    let now = cx.now;
    cx.client.watched.iter().any(|(db, key)| {
        cx.ks.dbs[*db]
            .peek(key)
            .and_then(|entry| entry.expire_at())
            .is_some_and(|at| at <= now)
    })
}

/// Leaves MULTI and forgets watched keys (EXEC, DISCARD, RESET).
pub(super) fn discard_state(cx: &mut Ctx<'_>) {
    cx.client.multi = None;
    cx.client.multi_failed = false;
    let watched = std::mem::take(&mut cx.client.watched);
    cx.ks.watches.unwatch(cx.client.id, &watched);
}

/// # Format
/// `DISCARD`
fn discard(cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if cx.client.multi.is_none() {
        return Err(CmdError::msg("ERR DISCARD without MULTI"));
    }
    discard_state(cx);
    Ok(Frame::ok())
}

/// # Format
/// `WATCH key [key ...]`
fn watch(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if cx.client.multi.is_some() {
        return Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"));
    }
    let db = cx.client.db;
    for key in &args[1..] {
        let db_key = (db, key.clone());
        if !cx.client.watched.contains(&db_key) {
            cx.ks.watches.watch(cx.client.id, db, key.clone());
            cx.client.watched.push(db_key);
        }
    }
    Ok(Frame::ok())
}

/// # Format
/// `UNWATCH`
fn unwatch(cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let watched = std::mem::take(&mut cx.client.watched);
    cx.ks.watches.unwatch(cx.client.id, &watched);
    Ok(Frame::ok())
}
