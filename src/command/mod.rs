//! The command table: one entry for every command the bundled engine and the proxy
//! know, with what both need to handle it before running it.
//!
//! The engine checks arity and flags here; the proxy finds the keys and how to route
//! the command (one server, split per key, every shard, answered locally, refused).
//! The data are Redis 7.0's, read off a real `redis-server` (`COMMAND INFO`,
//! `COMMAND DOCS`), so clients that inspect `COMMAND` see what Redis would tell them.
//!
//! # Layout
//! - `table.rs`: the data, one line per command (the one big file).
//! - [`flags`]: the flag, ACL-category and key-spec-flag bitsets.
//! - [`keys`]: key specs and the key-extraction functions of `MOVABLE_KEYS` commands.
//! - `info.rs`: the `COMMAND` command's replies ([`command_reply`]).
//! - [`glob`]: Redis's glob matching (`COMMAND LIST FILTERBY PATTERN`, and reusable).

pub mod flags;
pub mod glob;
mod info;
pub mod keys;
mod table;

#[cfg(test)]
mod live_tests;
#[cfg(test)]
mod tests;

use bytes::Bytes;

use crate::resp::Frame;

pub use flags::{AclCategories, Flags, KeySpecFlags};
pub use info::command_reply;
pub use keys::{BeginSearch, FindKeys, KeySpec, KeysFn};

/// The longest command or subcommand name we look up; longer names are unknown.
const MAX_NAME_LEN: usize = 32;

/// Longest command name or argument an error message quotes, as Redis does.
const MAX_QUOTED_LEN: usize = 128;

/// The documentation group of a command, as `COMMAND DOCS` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// Strings.
    String,
    /// Lists.
    List,
    /// Hashes.
    Hash,
    /// Sets.
    Set,
    /// Sorted sets.
    SortedSet,
    /// HyperLogLogs.
    HyperLogLog,
    /// Bitmaps.
    Bitmap,
    /// Geospatial indexes.
    Geo,
    /// Streams.
    Stream,
    /// Publish/subscribe.
    PubSub,
    /// MULTI/EXEC and WATCH.
    Transactions,
    /// Connection handling.
    Connection,
    /// Server administration.
    Server,
    /// Commands on keys of any type.
    Generic,
    /// Scripts and functions.
    Scripting,
}

impl Group {
    /// The name `COMMAND DOCS` reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::String => "string",
            Group::List => "list",
            Group::Hash => "hash",
            Group::Set => "set",
            Group::SortedSet => "sorted-set",
            Group::HyperLogLog => "hyperloglog",
            Group::Bitmap => "bitmap",
            Group::Geo => "geo",
            Group::Stream => "stream",
            Group::PubSub => "pubsub",
            Group::Transactions => "transactions",
            Group::Connection => "connection",
            Group::Server => "server",
            Group::Generic => "generic",
            Group::Scripting => "scripting",
        }
    }
}

/// How the proxy sends a command to its backends.
///
/// A container command (CONFIG, CLIENT, OBJECT…) is `Local`: the proxy looks up the
/// subcommand and follows the subcommand's route; only an unknown subcommand or a
/// wrong argument count stops at the container, and the proxy answers those itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// One key: to the server that owns it. PUBLISH is `Single` too although Redis
    /// counts no key in it: the proxy subscribes a channel on the server its name
    /// hashes to and a pattern on every server, so a message is published on one
    /// server only, the one its channel (`args[1]`) hashes to.
    Single,
    /// Split per key across servers and the replies merged: MGET, MSET (keys at
    /// step 2), DEL, UNLINK, EXISTS, TOUCH.
    PerKey,
    /// Sent to every shard and the replies combined: DBSIZE, FLUSHDB, SCAN,
    /// RANDOMKEY, PUBSUB …, SUBSCRIBE, PSUBSCRIBE, SCRIPT LOAD …
    AllShards,
    /// Answered by the proxy itself: PING, ECHO, QUIT, SELECT, HELLO, AUTH, COMMAND,
    /// CLIENT, INFO, CONFIG GET …; MULTI, EXEC, DISCARD, WATCH and UNWATCH, which
    /// the proxy's session runs on a connection of the client's own.
    Local,
    /// Several keys that must all live on one server (the proxy checks, hash tags
    /// make it so): RENAME, SMOVE, SINTERSTORE, BLPOP with many keys, LMOVE, EVAL …
    SameShard,
    /// Refused, with the reason, worded to follow "`KEYS` is " (see [`unsupported_error`]).
    Unsupported(&'static str),
}

/// Documentation status, as `COMMAND DOCS` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocStatus {
    /// An ordinary command.
    Normal,
    /// Deprecated since the given version.
    Deprecated(&'static str),
    /// A system command, not meant for clients (replication, debugging).
    SysCmd,
}

/// Everything the engine and the proxy know about one command or subcommand.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lowercase name; a subcommand's is the full `container|sub` (`config|get`).
    pub name: &'static str,
    /// Argument count including the name (and subcommand): positive means exactly,
    /// negative means at least.
    pub arity: i32,
    /// Command flags.
    pub flags: Flags,
    /// First key position (0: no key), as `COMMAND INFO` reports it.
    pub first_key: i32,
    /// Last key position; negative counts from the end (-1: the last argument).
    pub last_key: i32,
    /// Distance between keys (2 for MSET's key/value pairs).
    pub step: i32,
    /// ACL categories.
    pub acl: AclCategories,
    /// Documentation group.
    pub group: Group,
    /// The Redis version that introduced it.
    pub since: &'static str,
    /// Deprecated or system command.
    pub doc: DocStatus,
    /// Redis's hints for cluster clients (`request_policy:all_shards`, …).
    pub tips: &'static [&'static str],
    /// Redis 7 key specifications.
    pub key_specs: &'static [KeySpec],
    /// How the proxy routes it.
    pub route: Route,
    /// Subcommands, sorted by name (empty for plain commands).
    pub subcommands: &'static [CommandSpec],
    /// Finds the keys of a `MOVABLE_KEYS` command (None for all others).
    pub keys_fn: Option<KeysFn>,
}

impl CommandSpec {
    /// True when `argc` arguments (the name included) suit the arity.
    pub fn check_arity(&self, argc: usize) -> bool {
        let argc = i64::try_from(argc).unwrap_or(i64::MAX);
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// Positions of the keys in `args` (`args[0]` is the command name). Positions
    /// past the end are left out, so a short `args` gives fewer keys, never a panic.
    pub fn key_indexes(&self, args: &[Bytes]) -> Vec<usize> {
        if let Some(keys_fn) = self.keys_fn {
            return keys_fn(args);
        }
        let (Ok(first), Ok(step)) = (usize::try_from(self.first_key), usize::try_from(self.step))
        else {
            return Vec::new();
        };
        if first == 0 || step == 0 {
            return Vec::new();
        }
        let last = if self.last_key >= 0 {
            self.last_key as usize
        } else {
            match args
                .len()
                .checked_sub(self.last_key.unsigned_abs() as usize)
            {
                Some(last) => last,
                None => return Vec::new(),
            }
        };
        (first..=last.min(args.len().saturating_sub(1)))
            .step_by(step)
            .collect()
    }

    /// Positions of the keys a command may modify: its keys, less those its key
    /// specs mark read-only (SUNIONSTORE's sources, COPY's source…). A one-key
    /// command's key is returned without consulting the specs (the hot path).
    pub fn written_key_indexes(&self, args: &[Bytes]) -> Vec<usize> {
        let keys = self.key_indexes(args);
        if keys.len() <= 1 {
            return keys;
        }
        keys.into_iter()
            .filter(|&at| !info::key_flags(self, args, at).contains(KeySpecFlags::RO))
            .collect()
    }

    /// True when the command takes keys (a first key or a key-finding function).
    pub fn has_keys(&self) -> bool {
        self.first_key > 0 || self.keys_fn.is_some()
    }

    /// The name used in replies and errors: `get`, or `config|get` for a subcommand.
    pub fn full_name(&self) -> String {
        self.name.to_owned()
    }

    /// The last part of the name: `get` for both `get` and `config|get`.
    pub fn short_name(&self) -> &'static str {
        self.name.rsplit('|').next().unwrap_or(self.name)
    }
}

/// Every top-level command, sorted by name.
pub fn commands() -> &'static [CommandSpec] {
    table::COMMANDS
}

/// Where a top-level command sits in [`commands`], for arrays kept per command.
/// Found from the entry's address, without comparing names.
pub fn position(spec: &'static CommandSpec) -> Option<usize> {
    let table = table::COMMANDS;
    let offset = (std::ptr::from_ref(spec) as usize).checked_sub(table.as_ptr() as usize)?;
    let index = offset / std::mem::size_of::<CommandSpec>();
    table
        .get(index)
        .is_some_and(|entry| std::ptr::eq(entry, spec))
        .then_some(index)
}

/// The command called `name`, ignoring ASCII case. Does not allocate: the name is
/// lowercased into a stack buffer and looked up in a hash map built once (every
/// request goes through here, so it is a hash lookup, not a search).
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    static BY_NAME: std::sync::LazyLock<ahash::AHashMap<&'static [u8], &'static CommandSpec>> =
        std::sync::LazyLock::new(|| {
            table::COMMANDS
                .iter()
                .map(|c| (c.name.as_bytes(), c))
                .collect()
        });
    let mut buf = [0u8; MAX_NAME_LEN];
    let lower = buf.get_mut(..name.len())?;
    for (dst, src) in lower.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    BY_NAME.get(&*lower).copied()
}

/// The subcommand `sub` of `spec` (`lookup_sub(config, b"GET")` is `config|get`),
/// ignoring ASCII case. Does not allocate.
pub fn lookup_sub(spec: &CommandSpec, sub: &[u8]) -> Option<&'static CommandSpec> {
    find_in(spec.subcommands, spec.name.len() + 1, sub)
}

/// A command or, with a `|`, a subcommand: `get`, `CONFIG|GET`. This is how
/// `COMMAND INFO` and `COMMAND DOCS` name them.
pub fn lookup_full(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut parts = name.splitn(2, |&b| b == b'|');
    let spec = lookup(parts.next()?)?;
    match parts.next() {
        Some(sub) => lookup_sub(spec, sub),
        None => Some(spec),
    }
}

/// Binary search of a table sorted by name, comparing names from byte `skip` on
/// (past a subcommand's `container|`) with `name` lowercased into a stack buffer.
fn find_in(
    table: &'static [CommandSpec],
    skip: usize,
    name: &[u8],
) -> Option<&'static CommandSpec> {
    let mut buf = [0u8; MAX_NAME_LEN];
    let lower = buf.get_mut(..name.len())?;
    for (dst, src) in lower.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    let lower = &*lower;
    table
        .binary_search_by(|spec| {
            spec.name
                .as_bytes()
                .get(skip..)
                .unwrap_or_default()
                .cmp(lower)
        })
        .ok()
        .map(|i| &table[i])
}

/// `ERR unknown command 'x', with args beginning with: 'a' 'b' `, exactly as Redis 7
/// words, truncates and quotes it.
pub fn unknown_command_error(args: &[Bytes]) -> Frame {
    let mut text = b"ERR unknown command '".to_vec();
    text.extend_from_slice(quotable(args.first().map_or(&[], |a| a), MAX_QUOTED_LEN));
    text.extend_from_slice(b"', with args beginning with: ");
    let mut quoted = Vec::new();
    for arg in args.iter().skip(1) {
        if quoted.len() >= MAX_QUOTED_LEN {
            break;
        }
        let room = MAX_QUOTED_LEN - quoted.len();
        quoted.push(b'\'');
        quoted.extend_from_slice(quotable(arg, room));
        quoted.extend_from_slice(b"' ");
    }
    text.extend_from_slice(&quoted);
    error_frame(text)
}

/// `ERR unknown subcommand 'x'. Try CONFIG HELP.`
pub fn unknown_subcommand_error(spec: &CommandSpec, sub: &[u8]) -> Frame {
    let mut text = b"ERR unknown subcommand '".to_vec();
    text.extend_from_slice(quotable(sub, MAX_QUOTED_LEN));
    text.extend_from_slice(b"'. Try ");
    text.extend(spec.name.bytes().map(|b| b.to_ascii_uppercase()));
    text.extend_from_slice(b" HELP.");
    error_frame(text)
}

/// `ERR wrong number of arguments for 'get' command` (`'config|get'` for a subcommand).
pub fn wrong_arity_error(spec: &CommandSpec) -> Frame {
    Frame::error(format!(
        "ERR wrong number of arguments for '{}' command",
        spec.name
    ))
}

/// The proxy's refusal of an `Unsupported` command:
/// `ERR shardcar: KEYS is not supported across shards; use SCAN on each server`.
/// `None` for a command the proxy supports.
pub fn unsupported_error(spec: &CommandSpec) -> Option<Frame> {
    match spec.route {
        Route::Unsupported(why) => Some(Frame::error(format!(
            "ERR shardcar: {} is {why}",
            spec.name.to_ascii_uppercase().replace('|', " ")
        ))),
        _ => None,
    }
}

/// What Redis prints of a name or argument: up to its first NUL byte (it formats
/// them as C strings) and at most `max` bytes.
fn quotable(arg: &[u8], max: usize) -> &[u8] {
    let end = memchr::memchr(0, arg).unwrap_or(arg.len()).min(max);
    &arg[..end]
}

/// An error frame with CR and LF turned into spaces, as Redis does, so the reply
/// stays one line.
fn error_frame(mut text: Vec<u8>) -> Frame {
    for b in &mut text {
        if *b == b'\r' || *b == b'\n' {
            *b = b' ';
        }
    }
    Frame::Error(Bytes::from(text))
}
