//! Watching commands run: the slow log (SLOWLOG), LATENCY, and what the
//! dispatcher reports after every command ([`observe`]): slow-log entries and
//! MONITOR lines.
//!
//! The engine keeps no latency-event history (Redis's latency monitor is off by
//! default too): LATENCY answers as Redis does with nothing recorded.

use bytes::Bytes;
use std::sync::atomic::Ordering;

use super::server::unix_secs;
use super::{args, CmdError, CmdResult, Ctx, Handler};
use crate::command::{CommandSpec, Flags};
use crate::engine::server::Shared;
use crate::engine::slowlog::{self, SlowEntry};
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[("slowlog", slowlog), ("latency", latency)];

/// Entries SLOWLOG GET returns by default.
const DEFAULT_GET_COUNT: usize = 10;

const SLOWLOG_HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    The newest <count> entries (10 by default, -1 for all): id, Unix time,",
    "    microseconds, arguments, client address, client name.",
    "LEN",
    "    How many entries are kept.",
    "RESET",
    "    Forgets every entry.",
    "HELP",
    "    This text.",
];

const LATENCY_HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LATEST",
    "    The latest latency spike of each event (none are recorded here).",
    "HISTORY <event>",
    "    The recorded spikes of one event.",
    "RESET [<event> ...]",
    "    Forgets the spikes of the events (all when none is named).",
    "GRAPH <event>",
    "    An ASCII graph of one event's spikes.",
    "DOCTOR",
    "    A report on latency.",
    "HISTOGRAM [<command> ...]",
    "    Call counts of the named commands (all when none is named).",
    "HELP",
    "    This text.",
];

/// After a command ran: log it if it was slow, and show it to MONITOR clients.
/// Administrative commands are not shown, as in Redis.
pub(super) fn observe(cx: &mut Ctx<'_>, spec: &CommandSpec, args: &[Bytes], usec: u64) {
    let threshold = cx.shared.slowlog_threshold.load(Ordering::Relaxed);
    if threshold >= 0 && usec >= threshold as u64 && !spec.flags.contains(Flags::SKIP_SLOWLOG) {
        record_slow(cx, args, usec);
    }
    if cx.shared.monitor_count.load(Ordering::Relaxed) > 0
        && !spec
            .flags
            .intersects(Flags::ADMIN.union(Flags::SKIP_MONITOR))
    {
        crate::engine::conn::feed_monitors(cx.shared, cx.client, args);
    }
}

fn record_slow(cx: &mut Ctx<'_>, args: &[Bytes], usec: u64) {
    let max_len = cx.shared.config.read().slowlog_max_len as usize;
    let handle = &cx.client.handle;
    let entry = SlowEntry {
        id: 0,
        time: unix_secs(),
        usec,
        args: slowlog::trimmed_args(args),
        addr: handle.addr.map(|a| a.to_string()).unwrap_or_default(),
        name: handle.info.lock().name.clone().unwrap_or_default(),
    };
    cx.shared.slowlog.lock().push(entry, max_len);
}

/// # Format
/// `SLOWLOG GET [count]` · `SLOWLOG LEN` · `SLOWLOG RESET` · `SLOWLOG HELP`
fn slowlog(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let log = &cx.shared.slowlog;
    match args[1].to_ascii_lowercase().as_slice() {
        b"get" => {
            let count = match args.get(2) {
                None => DEFAULT_GET_COUNT,
                Some(arg) => match args::int(arg)? {
                    -1 => usize::MAX,
                    n if n < -1 => {
                        return Err(CmdError::msg(
                            "ERR count should be greater than or equal to -1",
                        ))
                    }
                    n => n as usize,
                },
            };
            if args.len() > 3 {
                return Err(CmdError::Syntax);
            }
            Ok(Frame::Array(
                log.lock().latest(count).map(entry_frame).collect(),
            ))
        }
        b"len" => Ok(Frame::Integer(log.lock().len() as i64)),
        b"reset" => {
            log.lock().reset();
            Ok(Frame::ok())
        }
        _ => Ok(help(SLOWLOG_HELP)),
    }
}

fn entry_frame(entry: &SlowEntry) -> Frame {
    Frame::Array(vec![
        Frame::Integer(entry.id as i64),
        Frame::Integer(entry.time as i64),
        Frame::Integer(entry.usec as i64),
        Frame::bulks(entry.args.iter().cloned()),
        Frame::bulk(entry.addr.clone()),
        Frame::Bulk(entry.name.clone()),
    ])
}

/// # Format
/// `LATENCY LATEST` · `LATENCY HISTORY event` · `LATENCY RESET [event ...]` ·
/// `LATENCY GRAPH event` · `LATENCY DOCTOR` · `LATENCY HISTOGRAM [command ...]` ·
/// `LATENCY HELP`
fn latency(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args[1].to_ascii_lowercase().as_slice() {
        b"latest" | b"history" => Ok(Frame::Array(vec![])),
        b"reset" => Ok(Frame::Integer(0)),
        b"graph" => Err(CmdError::msg(format!(
            "ERR No samples available for event '{}'",
            String::from_utf8_lossy(&args[2])
        ))),
        b"doctor" => Ok(Frame::Verbatim {
            format: *b"txt",
            text: Bytes::from_static(
                b"Latency monitoring is not available in this engine: no latency events are recorded. \
SLOWLOG lists the commands slower than slowlog-log-slower-than microseconds.\n",
            ),
        }),
        b"histogram" => Ok(histogram(cx, &args[2..])),
        _ => Ok(help(LATENCY_HELP)),
    }
}

/// Per command: `{calls, histogram_usec: {}}` (no per-call latencies are kept).
fn histogram(cx: &mut Ctx<'_>, names: &[Bytes]) -> Frame {
    let mut wanted: Vec<&'static str> = if names.is_empty() {
        cx.ks.stats.commands.keys().copied().collect()
    } else {
        names
            .iter()
            .filter_map(|n| crate::command::lookup_full(n).map(|spec| spec.name))
            .collect()
    };
    wanted.sort_unstable();
    wanted.dedup();
    let entries = wanted.into_iter().filter_map(|name| {
        let calls = cx.ks.stats.commands.get(name).map_or(0, |s| s.calls);
        (calls > 0).then(|| {
            let detail = vec![
                (Frame::bulk("calls"), Frame::Integer(calls as i64)),
                (Frame::bulk("histogram_usec"), Frame::Map(vec![])),
            ];
            (Frame::bulk(name), Frame::Map(detail))
        })
    });
    Frame::Map(entries.collect())
}

/// Distinct error codes INFO errorstats tracks; past it, new codes are not
/// counted, so a client cannot grow the table without bound (Redis stops at 128 too).
const MAX_ERROR_CODES: usize = 128;

/// Counts an error reply under its code, the text's first word.
pub(super) fn count_error(shared: &Shared, frame: &Frame) {
    let Frame::Error(text) = frame else { return };
    let code = text.split(|&b| b == b' ').next().unwrap_or_default();
    let code = String::from_utf8_lossy(code);
    let mut errors = shared.errors.lock();
    if let Some(count) = errors.get_mut(code.as_ref()) {
        *count += 1;
    } else if errors.len() < MAX_ERROR_CODES {
        errors.insert(code.into_owned(), 1);
    }
}

/// A help text as simple strings.
pub(super) fn help(lines: &[&'static str]) -> Frame {
    Frame::Array(lines.iter().map(|line| Frame::simple(line)).collect())
}
