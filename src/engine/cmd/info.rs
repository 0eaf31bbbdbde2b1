//! INFO: the server's state as Redis 7.0 lays it out — `# Section` headers,
//! `field:value` lines, sections separated by an empty line, in Redis's order
//! whatever order they were asked in. RESP3 clients get it as verbatim text.
//!
//! Fields Redis has and the engine has no counterpart for (replication,
//! forks, defragmentation…) are present with the values of a server that does
//! not use them, so tools that parse INFO find what they expect.

use bytes::Bytes;
use std::fmt::{Display, Write as _};
use std::sync::atomic::Ordering;

use super::{CmdResult, Ctx, Handler};
use crate::engine::memory;
use crate::engine::pubsub::Kind;
use crate::resp::Frame;

mod host;
mod sections;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[("info", info)];

/// A section: its name as asked, and whether `INFO` alone includes it.
struct Section {
    name: &'static str,
    title: &'static str,
    default: bool,
    write: fn(&mut Ctx<'_>, &mut Lines),
}

/// Every section, in Redis's order.
const SECTIONS: &[Section] = &[
    Section {
        name: "server",
        title: "Server",
        default: true,
        write: sections::server,
    },
    Section {
        name: "clients",
        title: "Clients",
        default: true,
        write: sections::clients,
    },
    Section {
        name: "memory",
        title: "Memory",
        default: true,
        write: sections::memory,
    },
    Section {
        name: "persistence",
        title: "Persistence",
        default: true,
        write: sections::persistence,
    },
    Section {
        name: "stats",
        title: "Stats",
        default: true,
        write: stats,
    },
    Section {
        name: "replication",
        title: "Replication",
        default: true,
        write: sections::replication,
    },
    Section {
        name: "cpu",
        title: "CPU",
        default: true,
        write: sections::cpu,
    },
    Section {
        name: "modules",
        title: "Modules",
        default: true,
        write: |_, _| {},
    },
    Section {
        name: "commandstats",
        title: "Commandstats",
        default: false,
        write: commandstats,
    },
    Section {
        name: "errorstats",
        title: "Errorstats",
        default: true,
        write: errorstats,
    },
    Section {
        name: "latencystats",
        title: "Latencystats",
        default: false,
        write: |_, _| {},
    },
    Section {
        name: "cluster",
        title: "Cluster",
        default: true,
        write: |_, out| out.field("cluster_enabled", 0),
    },
    Section {
        name: "keyspace",
        title: "Keyspace",
        default: true,
        write: sections::keyspace,
    },
];

/// The lines of one section.
#[derive(Debug, Default)]
pub(super) struct Lines(String);

impl Lines {
    /// `name:value\r\n`
    pub(super) fn field(&mut self, name: &str, value: impl Display) {
        let _ = write!(self.0, "{name}:{value}\r\n");
    }

    /// A size and its `_human` twin.
    pub(super) fn size(&mut self, name: &str, bytes: u64) {
        self.field(name, bytes);
        self.field(&format!("{name}_human"), memory::human(bytes));
    }
}

/// # Format
/// `INFO [section [section ...]]` where a section is a name above, `default`,
/// `all` or `everything`; unknown names are ignored.
fn info(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let wanted = selection(&args[1..]);
    let mut text = String::new();
    for section in SECTIONS.iter().filter(|s| wanted(s)) {
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        let mut lines = Lines::default();
        (section.write)(cx, &mut lines);
        let _ = write!(text, "# {}\r\n{}", section.title, lines.0);
    }
    Ok(Frame::Verbatim {
        format: *b"txt",
        text: Bytes::from(text),
    })
}

/// Which sections the arguments ask for.
fn selection(args: &[Bytes]) -> impl Fn(&Section) -> bool {
    let names: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let has = |n: &str| names.iter().any(|a| a == n);
    let all = has("all") || has("everything");
    let default = names.is_empty() || has("default");
    move |s: &Section| all || (default && s.default) || names.iter().any(|a| a == s.name)
}

fn stats(cx: &mut Ctx<'_>, out: &mut Lines) {
    let shared = cx.shared;
    let meter = shared.meter.lock();
    let (ops, input_kbps, output_kbps) = (
        meter.commands.per_second(),
        meter.net_input.per_second() as f64 / 1024.0,
        meter.net_output.per_second() as f64 / 1024.0,
    );
    drop(meter);
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    let stats = &cx.ks.stats;
    out.field(
        "total_connections_received",
        load(&shared.total_connections),
    );
    out.field("total_commands_processed", stats.total_commands);
    out.field("instantaneous_ops_per_sec", ops);
    out.field("total_net_input_bytes", load(&shared.net_input_bytes));
    out.field("total_net_output_bytes", load(&shared.net_output_bytes));
    out.field("total_net_repl_input_bytes", 0);
    out.field("total_net_repl_output_bytes", 0);
    out.field("instantaneous_input_kbps", format!("{input_kbps:.2}"));
    out.field("instantaneous_output_kbps", format!("{output_kbps:.2}"));
    out.field("instantaneous_input_repl_kbps", "0.00");
    out.field("instantaneous_output_repl_kbps", "0.00");
    out.field("rejected_connections", load(&shared.rejected_connections));
    for name in ["sync_full", "sync_partial_ok", "sync_partial_err"] {
        out.field(name, 0);
    }
    out.field("expired_keys", stats.expired_keys);
    out.field("expired_stale_perc", "0.00");
    out.field("expired_time_cap_reached_count", 0);
    out.field("evicted_keys", stats.evicted_keys);
    out.field("evicted_clients", 0);
    out.field("keyspace_hits", stats.keyspace_hits);
    out.field("keyspace_misses", stats.keyspace_misses);
    let pubsub = shared.pubsub.lock();
    out.field("pubsub_channels", pubsub.len(Kind::Channel));
    out.field("pubsub_patterns", pubsub.len(Kind::Pattern));
    out.field("pubsubshard_channels", pubsub.len(Kind::Shard));
    drop(pubsub);
    for name in [
        "latest_fork_usec",
        "total_forks",
        "migrate_cached_sockets",
        "tracking_total_keys",
    ] {
        out.field(name, 0);
    }
    out.field("unexpected_error_replies", 0);
    out.field(
        "total_error_replies",
        stats.failed_calls + stats.rejected_calls,
    );
    out.field("io_threaded_reads_processed", 0);
    out.field("io_threaded_writes_processed", 0);
}

/// `errorstat_ERR:count=…`, by error code.
fn errorstats(cx: &mut Ctx<'_>, out: &mut Lines) {
    for (code, count) in cx.shared.errors.lock().iter() {
        out.field(&format!("errorstat_{code}"), format_args!("count={count}"));
    }
}

/// `cmdstat_get:calls=…,usec=…,usec_per_call=…,rejected_calls=…,failed_calls=…`,
/// by command name.
fn commandstats(cx: &mut Ctx<'_>, out: &mut Lines) {
    let mut names: Vec<&&str> = cx.ks.stats.commands.keys().collect();
    names.sort();
    for name in names {
        let stat = &cx.ks.stats.commands[*name];
        let per_call = if stat.calls == 0 {
            0.0
        } else {
            stat.usec as f64 / stat.calls as f64
        };
        out.field(
            &format!("cmdstat_{name}"),
            format_args!(
                "calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}",
                stat.calls, stat.usec, stat.rejected, stat.failed
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(args: &[&str]) -> Vec<&'static str> {
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let wanted = selection(&args);
        SECTIONS
            .iter()
            .filter(|s| wanted(s))
            .map(|s| s.name)
            .collect()
    }

    #[test]
    fn sections_come_in_redis_order() {
        assert_eq!(names(&["keyspace", "SERVER"]), vec!["server", "keyspace"]);
        assert_eq!(names(&["nosuch"]), Vec::<&str>::new());
        assert_eq!(names(&[]).len(), 11);
        assert_eq!(names(&["default"]), names(&[]));
        assert_eq!(names(&["all"]).len(), SECTIONS.len());
        assert_eq!(names(&["everything"]).len(), SECTIONS.len());
        assert_eq!(names(&["default", "commandstats"]).len(), 12);
    }
}
