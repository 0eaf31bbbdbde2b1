//! Server commands on the whole dataset and the process: DBSIZE, FLUSHDB,
//! FLUSHALL, SWAPDB, TIME, LASTSAVE, SAVE, BGSAVE, BGREWRITEAOF, SHUTDOWN, ROLE,
//! COMMAND and MONITOR. INFO, CONFIG, CLIENT, DEBUG/MEMORY and SLOWLOG/LATENCY
//! have files of their own (`info.rs`, `server_config.rs`, `client.rs`,
//! `server_debug.rs`, `server_diag.rs`).

use bytes::Bytes;
use std::sync::atomic::Ordering;

use super::args;
use super::{Action, CmdError, CmdResult, Ctx, Handler};
use crate::engine::client::ReplyMode;
use crate::engine::db::Db;
use crate::engine::persist::saver::{self, SaveError};
use crate::engine::server::now_ms;
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("dbsize", dbsize),
    ("flushdb", flushdb),
    ("flushall", flushall),
    ("swapdb", swapdb),
    ("time", time),
    ("lastsave", lastsave),
    ("save", save),
    ("bgsave", bgsave),
    ("bgrewriteaof", bgrewriteaof),
    ("shutdown", shutdown),
    ("role", role),
    ("command", command),
    ("monitor", monitor),
];

/// A reply built as a frame (errors included) as a handler result, so errors
/// count as failed calls.
pub(super) fn frame_result(frame: Frame) -> CmdResult {
    match frame {
        Frame::Error(text) => Err(CmdError::msg(String::from_utf8_lossy(&text).into_owned())),
        frame => Ok(frame),
    }
}

/// # Format
/// `DBSIZE` → keys in the selected database.
fn dbsize(cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(cx.db().len() as i64))
}

/// Whether a flush frees the old data on another thread.
fn flush_mode(args: &[Bytes]) -> Result<bool, CmdError> {
    match args {
        [] => Ok(false),
        [mode] if args::is(mode, "sync") => Ok(false),
        [mode] if args::is(mode, "async") => Ok(true),
        _ => Err(CmdError::Syntax),
    }
}

/// Drops emptied databases: here, or off the command path for ASYNC (when a
/// runtime is there to take it).
fn free(old: Vec<Db>, lazily: bool) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) if lazily => {
            runtime.spawn_blocking(move || drop(old));
        }
        _ => drop(old),
    }
}

/// # Format
/// `FLUSHDB [ASYNC|SYNC]`
fn flushdb(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let lazily = flush_mode(&args[1..])?;
    let db = cx.client.db;
    let old = cx.ks.dbs[db].take();
    cx.ks.touch_all(db);
    free(vec![old], lazily);
    Ok(Frame::ok())
}

/// # Format
/// `FLUSHALL [ASYNC|SYNC]`
fn flushall(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let lazily = flush_mode(&args[1..])?;
    let mut old = Vec::with_capacity(cx.ks.dbs.len());
    for db in 0..cx.ks.dbs.len() {
        old.push(cx.ks.dbs[db].take());
        cx.ks.touch_all(db);
    }
    free(old, lazily);
    Ok(Frame::ok())
}

/// # Format
/// `SWAPDB index1 index2`
fn swapdb(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let first = args::parse_i64(&args[1]).ok_or(CmdError::msg("ERR invalid first DB index"))?;
    let second = args::parse_i64(&args[2]).ok_or(CmdError::msg("ERR invalid second DB index"))?;
    let count = cx.ks.dbs.len() as i64;
    if !(0..count).contains(&first) || !(0..count).contains(&second) {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    let (first, second) = (first as usize, second as usize);
    cx.ks.dbs.swap(first, second);
    cx.ks.touch_all(first);
    cx.ks.touch_all(second);
    Ok(Frame::ok())
}

/// # Format
/// `TIME` → [Unix seconds, microseconds], as bulk strings.
fn time(_cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Ok(Frame::bulks([
        now.as_secs().to_string(),
        now.subsec_micros().to_string(),
    ]))
}

/// # Format
/// `LASTSAVE` → Unix time of the last successful save (or of the start).
fn lastsave(cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        cx.shared.lastsave.load(Ordering::Relaxed) as i64
    ))
}

/// # Format
/// `SAVE` → OK once the snapshot is on disk; every client waits meanwhile.
fn save(cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    match saver::save(cx.ks, cx.shared) {
        Ok(()) => Ok(Frame::ok()),
        Err(SaveError::Busy(_)) => Err(CmdError::msg("ERR Background save already in progress")),
        Err(_) => Err(CmdError::msg("ERR")),
    }
}

/// # Format
/// `BGSAVE [SCHEDULE]` → "Background saving started"; with SCHEDULE, waits
/// for a running snapshot (an AOF rewrite) instead of failing.
fn bgsave(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let schedule = match &args[1..] {
        [] => false,
        [option] if args::is(option, "schedule") => true,
        _ => return Err(CmdError::Syntax),
    };
    let persist = &cx.shared.persist;
    if persist.bgsave_in_progress.load(Ordering::Relaxed) {
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    match saver::start_bgsave(cx.ks, cx.shared) {
        Ok(()) => Ok(Frame::simple("Background saving started")),
        Err(SaveError::Busy(_)) if schedule => {
            persist.bgsave_scheduled.store(true, Ordering::Relaxed);
            Ok(Frame::simple("Background saving scheduled"))
        }
        Err(SaveError::Busy(_)) => Err(CmdError::msg("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")),
        Err(err) => Err(CmdError::msg(format!("ERR {err}"))),
    }
}

/// # Format
/// `BGREWRITEAOF` → started at once, or scheduled behind a running BGSAVE.
fn bgrewriteaof(cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    match crate::engine::persist::aof::rewrite::start(cx.shared, cx.ks) {
        Ok(true) => Ok(Frame::simple(
            "Background append only file rewriting started",
        )),
        Ok(false) => Ok(Frame::simple(
            "Background append only file rewriting scheduled",
        )),
        Err(err) => Err(CmdError::msg(err.to_string())),
    }
}

/// # Format
/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`
///
/// Stops accepting connections, closes every client, and ends `engine::run`.
/// The caller gets no reply: its connection closes, as when Redis exits.
fn shutdown(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mut nosave, mut save, mut abort, mut others) = (false, false, false, false);
    for option in &args[1..] {
        match option.to_ascii_lowercase().as_slice() {
            b"nosave" => nosave = true,
            b"save" => save = true,
            b"abort" => abort = true,
            b"now" | b"force" => others = true,
            _ => return Err(CmdError::Syntax),
        }
    }
    if (nosave && save) || (abort && (nosave || save || others)) {
        return Err(CmdError::Syntax);
    }
    if abort {
        return Err(CmdError::msg("ERR No shutdown in progress."));
    }
    if save || (!nosave && saver::has_save_points(cx.shared)) {
        saver::save_for_shutdown(cx.ks, cx.shared)
            .map_err(|_| CmdError::msg("ERR Errors trying to SHUTDOWN. Check logs."))?;
    }
    tracing::warn!(client = cx.client.id, "SHUTDOWN requested");
    cx.shared.shutdown.notify_one();
    for handle in cx.shared.clients.list() {
        if handle.id != cx.client.id {
            handle.kill.notify_one();
        }
    }
    cx.action = Some(Action::Disconnect);
    Ok(Frame::ok())
}

/// # Format
/// `ROLE` → `["master", 0, []]`: the engine has no replicas.
fn role(_cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Ok(Frame::Array(vec![
        Frame::bulk("master"),
        Frame::Integer(0),
        Frame::Array(vec![]),
    ]))
}

/// # Format
/// `COMMAND [COUNT | INFO [name ...] | DOCS [name ...] | LIST [FILTERBY …] | GETKEYS … | GETKEYSANDFLAGS … | HELP]`
fn command(_cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    frame_result(crate::command::command_reply(args))
}

/// # Format
/// `MONITOR` → `+OK`, then every command other clients run, as a simple string.
fn monitor(cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if cx.nested {
        return Err(CmdError::msg(
            "ERR MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    let mut info = cx.client.handle.info.lock();
    if info.flags.contains('O') {
        // Already monitoring: Redis says nothing at all.
        if cx.client.reply_mode == ReplyMode::On {
            cx.client.reply_mode = ReplyMode::Skip;
        }
        return Ok(Frame::ok());
    }
    info.flags = "O".into();
    drop(info);
    let mut monitors = cx.shared.monitors.lock();
    monitors.push(cx.client.push.clone());
    cx.shared
        .monitor_count
        .store(monitors.len(), Ordering::Relaxed);
    Ok(Frame::ok())
}

/// Stops sending commands to this client (RESET).
pub(super) fn leave_monitor(cx: &mut Ctx<'_>) {
    let mut info = cx.client.handle.info.lock();
    if !info.flags.contains('O') {
        return;
    }
    info.flags = "N".into();
    drop(info);
    let mut monitors = cx.shared.monitors.lock();
    monitors.retain(|m| !m.same_channel(&cx.client.push));
    cx.shared
        .monitor_count
        .store(monitors.len(), Ordering::Relaxed);
}

/// Unix seconds now.
pub(super) fn unix_secs() -> u64 {
    now_ms() as u64 / 1000
}
