//! CONFIG GET, SET, RESETSTAT, REWRITE and HELP over the engine's option table
//! ([`crate::engine::config::PARAMS`]).
//!
//! CONFIG SET is atomic as in Redis 7: every pair is checked and applied to a
//! copy, and the copy replaces the settings only if all succeeded. Settings read
//! on hot paths are then pushed to where those paths read them (encoding limits
//! into the keyspace, maxmemory and the slow-log threshold into atomics).

use bytes::Bytes;
use std::sync::atomic::Ordering;

use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::config::{self, EngineConfig};
use crate::engine::glob;
use crate::engine::keyspace::Stats;
use crate::engine::meter::Meter;
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[("config", config)];

/// Our CONFIG HELP text.
const HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern> [<pattern> ...]",
    "    Options whose names match a glob-style pattern, with their values.",
    "SET <option> <value> [<option> <value> ...]",
    "    Changes options, all of them or none.",
    "RESETSTAT",
    "    Zeroes the statistics INFO reports.",
    "REWRITE",
    "    Writes the options back to the config file (there is none here).",
    "HELP",
    "    This text.",
];

/// # Format
/// `CONFIG GET pattern [pattern ...]` · `CONFIG SET option value [option value ...]` ·
/// `CONFIG RESETSTAT` · `CONFIG REWRITE` · `CONFIG HELP`
fn config(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // The subcommand and its arity were checked by the dispatcher.
    match args[1].to_ascii_lowercase().as_slice() {
        b"get" => Ok(get(cx, &args[2..])),
        b"set" => set(cx, &args[2..]),
        b"resetstat" => Ok(reset_stats(cx)),
        b"rewrite" => Err(CmdError::msg(
            "ERR The server is running without a config file",
        )),
        _ => Ok(Frame::Array(
            HELP.iter().map(|line| Frame::simple(line)).collect(),
        )),
    }
}

/// Options matching any of the patterns, each once; an exact name is echoed as
/// it was asked (aliases too), a pattern gives the table's names.
fn get(cx: &mut Ctx<'_>, patterns: &[Bytes]) -> Frame {
    let cfg = cx.shared.config.read();
    let mut found: Vec<(String, String)> = Vec::new();
    let mut add = |name: String, value: String| {
        if !found.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            found.push((name, value));
        }
    };
    for pattern in patterns {
        let text = String::from_utf8_lossy(pattern);
        if !pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
            if let Some(p) = config::param(&text) {
                add(text.into_owned(), cfg.get(p));
            }
            continue;
        }
        for p in config::PARAMS
            .iter()
            .filter(|p| glob::matches(pattern, p.name.as_bytes(), true))
        {
            add(p.name.to_string(), cfg.get(p));
        }
    }
    Frame::Map(
        found
            .into_iter()
            .map(|(n, v)| (Frame::bulk(n), Frame::bulk(v)))
            .collect(),
    )
}

fn set(cx: &mut Ctx<'_>, pairs: &[Bytes]) -> CmdResult {
    if pairs.len() % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    let pairs: Vec<(String, String)> = pairs
        .chunks(2)
        .map(|p| {
            (
                String::from_utf8_lossy(&p[0]).into_owned(),
                String::from_utf8_lossy(&p[1]).into_owned(),
            )
        })
        .collect();
    check_names(&pairs)?;
    let mut updated = cx.shared.config.read().clone();
    for (name, value) in &pairs {
        updated.set(name, value).map_err(|err| match err {
            config::ConfigError::Invalid { why, .. } => failed(name, &why),
            other => failed(name, &other.to_string()),
        })?;
    }
    apply(cx, &updated);
    *cx.shared.config.write() = updated;
    Ok(Frame::ok())
}

/// Unknown, immutable and repeated options are refused before anything changes.
fn check_names(pairs: &[(String, String)]) -> Result<(), CmdError> {
    let mut seen = Vec::with_capacity(pairs.len());
    for (name, _) in pairs {
        let Some(param) = config::param(name) else {
            return Err(CmdError::msg(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            )));
        };
        if !param.mutable {
            return Err(failed(name, "can't set immutable config"));
        }
        if seen.contains(&param.name) {
            return Err(failed(name, "duplicate parameter"));
        }
        seen.push(param.name);
    }
    Ok(())
}

fn failed(name: &str, why: &str) -> CmdError {
    CmdError::msg(format!(
        "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
    ))
}

/// Pushes new settings to where hot paths read them.
fn apply(cx: &mut Ctx<'_>, cfg: &EngineConfig) {
    cx.ks.limits = cfg.encoding_limits();
    cx.shared.maxmemory.store(cfg.maxmemory, Ordering::Relaxed);
    cx.shared.aof.configure(cfg);
    cx.shared
        .slowlog_threshold
        .store(cfg.slowlog_log_slower_than, Ordering::Relaxed);
    cx.shared
        .slowlog
        .lock()
        .truncate(cfg.slowlog_max_len as usize);
}

/// CONFIG RESETSTAT: the counters of INFO stats and commandstats start again.
fn reset_stats(cx: &mut Ctx<'_>) -> Frame {
    cx.ks.stats = Stats::default();
    for counter in [
        &cx.shared.total_connections,
        &cx.shared.rejected_connections,
        &cx.shared.net_input_bytes,
        &cx.shared.net_output_bytes,
    ] {
        counter.store(0, Ordering::Relaxed);
    }
    *cx.shared.meter.lock() = Meter::default();
    cx.shared.errors.lock().clear();
    Frame::ok()
}
