//! OBJECT ENCODING | REFCOUNT | IDLETIME | FREQ | HELP: what a key's value looks
//! like inside. None of them counts as an access to the key.

use bytes::Bytes;

use super::count_lookup;
use crate::command::{self, CommandSpec};
use crate::engine::cmd::{CmdError, CmdResult, Ctx};
use crate::engine::value::{Str, Value};
use crate::resp::Frame;

/// Integers in `0..SHARED_INTEGERS` are shared objects in Redis (refcount
/// `i32::MAX`) unless an LRU/LFU maxmemory policy needs per-key access data.
const SHARED_INTEGERS: i64 = 10_000;

/// What OBJECT HELP prints.
const HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

const LFU_SELECTED: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
const LFU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
/// With an LFU policy Redis keeps a logarithmic access counter per key; the
/// engine keeps only the access time, so it says so rather than invent a number.
const FREQ_UNTRACKED: &str =
    "ERR shardcar: access frequency is not tracked (LFU eviction is not implemented)";

/// # Format
/// `OBJECT ENCODING key` → the encoding name, or nil if there is no such key.
/// `OBJECT REFCOUNT key` → the value's reference count, or nil.
/// `OBJECT IDLETIME key` → seconds since the key was last read or written, or nil.
/// `OBJECT FREQ key` → an error unless an LFU maxmemory policy is set, or nil.
/// `OBJECT HELP` → the list of subcommands.
pub(in crate::engine::cmd) fn object(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let spec = subcommand(&args[1])?;
    if !spec.check_arity(args.len()) {
        return Err(CmdError::WrongArity(spec.name.to_string()));
    }
    if spec.short_name() == "help" {
        return Ok(Frame::Array(
            HELP.iter().map(|line| Frame::simple(line)).collect(),
        ));
    }
    let policy = Policy::of(cx);
    let reply = describe(cx, spec.short_name(), &args[2], policy);
    count_lookup(cx, reply.is_some());
    reply.unwrap_or(Ok(Frame::Null))
}

/// The answer of subcommand `name` about `key`; None if there is no such key
/// (Redis looks the key up before it checks the policy).
fn describe(cx: &mut Ctx<'_>, name: &str, key: &[u8], policy: Policy) -> Option<CmdResult> {
    let (db, now) = (cx.client.db, cx.now);
    let ks = &mut *cx.ks;
    if name == "idletime" {
        let idle = ks.dbs[db].idle_secs(key, now)?;
        return Some(if policy.lfu {
            Err(CmdError::msg(LFU_SELECTED))
        } else {
            Ok(Frame::Integer(i64::try_from(idle).unwrap_or(i64::MAX)))
        });
    }
    let entry = ks.dbs[db].entry(key, now)?;
    Some(match name {
        "encoding" => Ok(Frame::bulk(entry.value.encoding(&ks.limits))),
        "refcount" => {
            let shared = policy.shared_integers && is_small_int(&entry.value);
            Ok(Frame::Integer(if shared { i64::from(i32::MAX) } else { 1 }))
        }
        _ if policy.lfu => Err(CmdError::msg(FREQ_UNTRACKED)),
        _ => Err(CmdError::msg(LFU_NOT_SELECTED)),
    })
}

/// What the maxmemory settings mean for OBJECT.
#[derive(Debug, Clone, Copy)]
struct Policy {
    /// An LFU policy: access frequency instead of idle time.
    lfu: bool,
    /// Small integers are shared objects (Redis stops sharing them when maxmemory
    /// is set with an LRU or LFU policy, which need per-key access data).
    shared_integers: bool,
}

impl Policy {
    fn of(cx: &Ctx<'_>) -> Policy {
        let cfg = cx.shared.config.read();
        let lfu = cfg.maxmemory_policy.ends_with("-lfu");
        let lru = cfg.maxmemory_policy.ends_with("-lru");
        Policy {
            lfu,
            shared_integers: cfg.maxmemory == 0 || !(lru || lfu),
        }
    }
}

/// The OBJECT subcommand named `name`, or Redis's unknown-subcommand error.
fn subcommand(name: &[u8]) -> Result<&'static CommandSpec, CmdError> {
    let object = command::lookup(b"object");
    if let Some(spec) = object.and_then(|object| command::lookup_sub(object, name)) {
        return Ok(spec);
    }
    let text = match object.map(|object| command::unknown_subcommand_error(object, name)) {
        Some(Frame::Error(text)) => String::from_utf8_lossy(&text).into_owned(),
        _ => "ERR unknown subcommand".to_string(),
    };
    Err(CmdError::msg(text))
}

fn is_small_int(value: &Value) -> bool {
    matches!(value, Value::Str(Str::Int(n)) if (0..SHARED_INTEGERS).contains(n))
}
