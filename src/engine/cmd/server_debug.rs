//! DEBUG (the subcommands tests rely on) and MEMORY.
//!
//! DEBUG SLEEP pauses only the calling client, which gets its reply once it has
//! slept: the engine has no single thread to stall, so other clients go on (see
//! [`Action::Sleep`]).

use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::server_diag::help;
use super::{args, Action, CmdError, CmdResult, Ctx, Handler};
use crate::engine::memory;
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[("debug", debug), ("memory", memory_cmd)];

/// Elements MEMORY USAGE samples in an aggregate by default.
const DEFAULT_SAMPLES: usize = 5;

const DEBUG_HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "OBJECT <key>",
    "    Low-level facts about a key's value.",
    "SLEEP <seconds>",
    "    Pause this client for <seconds> (a decimal number), then reply.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Stop or restart the background deletion of expired keys.",
    "HELP",
    "    This text.",
];

const MEMORY_HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    A short report on memory use.",
    "MALLOC-STATS",
    "    The allocator's figures.",
    "PURGE",
    "    Ask the allocator to give back unused memory.",
    "STATS",
    "    Memory use by category.",
    "USAGE <key> [SAMPLES <count>]",
    "    Estimated bytes of a key and its value; aggregates are estimated from",
    "    <count> elements (5 by default, 0 for all).",
    "HELP",
    "    This text.",
];

/// # Format
/// `DEBUG SLEEP seconds` · `DEBUG OBJECT key` · `DEBUG SET-ACTIVE-EXPIRE 0|1` · `DEBUG HELP`
fn debug(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    match (sub.as_slice(), args.len()) {
        (b"sleep", 3) => {
            // As atof: a malformed number is 0, a negative one too.
            let secs = lenient_float(&args[2]).max(0.0);
            if !cx.nested {
                cx.action = Some(Action::Sleep(Duration::from_secs_f64(secs.min(1e9))));
            }
            Ok(Frame::ok())
        }
        (b"object", 3) => object(cx, &args[2]),
        (b"set-active-expire", 3) => {
            let on = args::int(&args[2])? != 0;
            cx.shared.active_expire.store(on, Ordering::Relaxed);
            Ok(Frame::ok())
        }
        (b"help", 2) => Ok(help(DEBUG_HELP)),
        _ => Err(CmdError::msg(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&args[1])
        ))),
    }
}

/// The longest numeric prefix of `arg`, as C's atof reads it; 0 if none.
fn lenient_float(arg: &[u8]) -> f64 {
    // Only the characters a number can hold, and few of them: the tries below
    // are quadratic in the length.
    let text: String = arg
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        .take(64)
        .map(|&b| char::from(b))
        .collect();
    (1..=text.len())
        .rev()
        .find_map(|end| text[..end].parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

/// `Value at:0x… refcount:1 encoding:… serializedlength:… lru:… lru_seconds_idle:…`
fn object(cx: &mut Ctx<'_>, key: &Bytes) -> CmdResult {
    let (now, index) = (cx.now, cx.client.db);
    let ks = &mut *cx.ks;
    let db = &mut ks.dbs[index];
    let Some(idle) = db.idle_secs(key, now) else {
        return Err(CmdError::msg("ERR no such key"));
    };
    let Some(entry) = db.peek(key) else {
        return Err(CmdError::msg("ERR no such key"));
    };
    let value = &entry.value;
    let address = std::ptr::from_ref(value) as usize;
    let encoding = value.encoding(&ks.limits);
    let length = memory::value_usage(value, 0);
    let text = format!(
        "Value at:{address:#x} refcount:1 encoding:{encoding} serializedlength:{length} lru:{} lru_seconds_idle:{idle}",
        entry.access
    );
    Ok(Frame::Simple(Bytes::from(text)))
}

/// # Format
/// `MEMORY USAGE key [SAMPLES count]` · `MEMORY STATS` · `MEMORY DOCTOR` ·
/// `MEMORY MALLOC-STATS` · `MEMORY PURGE` · `MEMORY HELP`
fn memory_cmd(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args[1].to_ascii_lowercase().as_slice() {
        b"usage" => usage(cx, &args[2], &args[3..]),
        b"stats" => Ok(stats(cx)),
        b"doctor" => Ok(doctor(cx)),
        b"malloc-stats" => Ok(Frame::bulk(malloc_stats())),
        b"purge" => Ok(Frame::ok()),
        _ => Ok(help(MEMORY_HELP)),
    }
}

fn usage(cx: &mut Ctx<'_>, key: &Bytes, options: &[Bytes]) -> CmdResult {
    let samples = match options {
        [] => DEFAULT_SAMPLES,
        [option, count] if args::is(option, "samples") => match args::int(count)? {
            n if n < 0 => return Err(CmdError::Syntax),
            n => n as usize,
        },
        _ => return Err(CmdError::Syntax),
    };
    let (db, now) = cx.db_now();
    if !db.contains(key, now) {
        return Ok(Frame::Null);
    }
    let bytes = db
        .peek(key)
        .map_or(0, |e| memory::key_usage(key, &e.value, samples));
    Ok(Frame::Integer(bytes as i64))
}

/// MEMORY STATS: a map of figures, as Redis names them.
fn stats(cx: &mut Ctx<'_>) -> Frame {
    memory::refresh_now();
    let used = memory::used_memory();
    let startup = memory::startup_memory().min(used);
    let peak = memory::peak_memory();
    let rss = memory::rss();
    let keys: usize = cx.ks.dbs.iter().map(|db| db.len()).sum();
    let dataset = used - startup;
    let mut pairs = vec![
        ("peak.allocated", Frame::Integer(peak as i64)),
        ("total.allocated", Frame::Integer(used as i64)),
        ("startup.allocated", Frame::Integer(startup as i64)),
        ("replication.backlog", Frame::Integer(0)),
        ("clients.slaves", Frame::Integer(0)),
        ("clients.normal", Frame::Integer(0)),
        ("aof.buffer", Frame::Integer(0)),
    ];
    let per_db: Vec<(String, Frame)> = cx
        .ks
        .dbs
        .iter()
        .enumerate()
        .filter(|(_, db)| !db.is_empty())
        .map(|(i, db)| {
            let detail = vec![
                (
                    Frame::bulk("overhead.hashtable.main"),
                    Frame::Integer((db.len() * 8) as i64),
                ),
                (
                    Frame::bulk("overhead.hashtable.expires"),
                    Frame::Integer((db.volatile_len() * 4) as i64),
                ),
            ];
            (format!("db.{i}"), Frame::Map(detail))
        })
        .collect();
    let percent = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            a as f64 * 100.0 / b as f64
        }
    };
    let tail = [
        ("overhead.total", Frame::Integer(startup as i64)),
        ("keys.count", Frame::Integer(keys as i64)),
        (
            "keys.bytes-per-key",
            Frame::Integer(if keys == 0 {
                0
            } else {
                (dataset / keys as u64) as i64
            }),
        ),
        ("dataset.bytes", Frame::Integer(dataset as i64)),
        ("dataset.percentage", Frame::Double(percent(dataset, used))),
        ("peak.percentage", Frame::Double(percent(used, peak))),
        ("allocator.allocated", Frame::Integer(used as i64)),
        (
            "allocator.resident",
            Frame::Integer(memory::allocator_resident() as i64),
        ),
        (
            "fragmentation",
            Frame::Double(if used == 0 {
                0.0
            } else {
                rss as f64 / used as f64
            }),
        ),
        (
            "fragmentation.bytes",
            Frame::Integer(rss as i64 - used as i64),
        ),
    ];
    let mut out: Vec<(Frame, Frame)> = pairs.drain(..).map(|(k, v)| (Frame::bulk(k), v)).collect();
    out.extend(per_db.into_iter().map(|(k, v)| (Frame::bulk(k), v)));
    out.extend(tail.into_iter().map(|(k, v)| (Frame::bulk(k), v)));
    Frame::Map(out)
}

/// MEMORY DOCTOR: our own short diagnosis.
fn doctor(cx: &mut Ctx<'_>) -> Frame {
    let used = memory::used_memory();
    let rss = memory::rss();
    let keys: usize = cx.ks.dbs.iter().map(|db| db.len()).sum();
    let max = cx.shared.maxmemory.load(Ordering::Relaxed);
    let mut text = String::new();
    if keys == 0 {
        text.push_str("The dataset is empty: nothing to diagnose.\n");
    } else {
        text.push_str(&format!(
            "{keys} keys; {} allocated, {} resident.\n",
            memory::human(used),
            memory::human(rss)
        ));
        if used > 0 && rss > used.saturating_mul(3) / 2 && rss - used > 16 << 20 {
            text.push_str("Resident memory is well above what is allocated: fragmentation, or memory freed but not yet returned.\n");
        }
        if max > 0 && used > max / 10 * 9 {
            text.push_str("Memory use is within 10% of maxmemory: keys may soon be evicted or writes refused.\n");
        }
    }
    Frame::Verbatim {
        format: *b"txt",
        text: Bytes::from(text),
    }
}

/// The allocator's main figures, one per line.
fn malloc_stats() -> String {
    memory::refresh_now();
    format!(
        "jemalloc statistics\nallocated: {}\nresident: {}\nprocess rss: {}\n",
        memory::used_memory(),
        memory::allocator_resident(),
        memory::rss()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_read_as_atof_reads_them() {
        assert_eq!(lenient_float(b"0.1"), 0.1);
        assert_eq!(lenient_float(b"2abc"), 2.0);
        assert_eq!(lenient_float(b"abc"), 0.0);
        assert_eq!(lenient_float(b" 1.5"), 1.5);
        assert_eq!(lenient_float(b"-3"), -3.0);
        assert_eq!(lenient_float(b"inf"), 0.0);
        assert_eq!(lenient_float(b"1e3x"), 1000.0);
        // Only the first 64 digits are read: huge input costs nothing.
        assert_eq!(lenient_float(&vec![b'9'; 100_000]), 1e64);
    }
}
