//! CLIENT: the connection's identity (ID, SETNAME, GETNAME), the registry of
//! connections (LIST, INFO, KILL), and per-connection switches (REPLY,
//! NO-EVICT, PAUSE). Client-side caching (TRACKING) is not implemented.
//!
//! Other connections are known through their [`ClientHandle`]s: what they last
//! reported after a batch of commands, and a `kill` notifier their task waits on.

use bytes::Bytes;
use std::net::SocketAddr;
use std::time::SystemTime;

use super::server_diag::help;
use super::{args, CmdError, CmdResult, Ctx, Handler};
use crate::engine::client::{ClientHandle, ClientInfo, ReplyMode};
use crate::resp::{Frame, Protocol};

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[("client", client)];

const HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ID",
    "    This connection's id.",
    "GETNAME",
    "    This connection's name, or null.",
    "SETNAME <name>",
    "    Names this connection (no spaces or special characters; empty clears it).",
    "INFO",
    "    This connection, as one CLIENT LIST line.",
    "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [<id> ...]]",
    "    Every connection, one line each.",
    "KILL <ip:port>",
    "    Closes the connection from <ip:port>.",
    "KILL <filter> <value> [<filter> <value> ...]",
    "    Closes the connections matching every filter: ID <id>, TYPE <type>,",
    "    ADDR <ip:port>, LADDR <ip:port>, USER <name>, SKIPME (YES|NO).",
    "REPLY (ON|OFF|SKIP)",
    "    Turns replies off, on, or off for the next command only.",
    "NO-EVICT (ON|OFF)",
    "    Protects this connection from client eviction.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Accepted; commands are not paused by this engine.",
    "UNPAUSE",
    "    Accepted.",
    "HELP",
    "    This text.",
];

/// # Format
/// `CLIENT ID | GETNAME | SETNAME name | INFO | LIST [TYPE type] [ID id ...] |
/// KILL … | REPLY ON|OFF|SKIP | NO-EVICT ON|OFF | PAUSE timeout [WRITE|ALL] |
/// UNPAUSE | HELP`
fn client(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args[1].to_ascii_lowercase().as_slice() {
        b"id" => Ok(Frame::Integer(cx.client.id as i64)),
        b"getname" => Ok(cx.client.handle.info.lock().name.clone().map_or(Frame::Null, Frame::Bulk)),
        b"setname" => setname(cx, &args[2]),
        b"info" => Ok(text(own_line(cx, "client|info"))),
        b"list" => list(cx, &args[2..]),
        b"kill" => super::client_kill::kill(cx, &args[2..]),
        b"reply" => reply(cx, &args[2]),
        b"no-evict" => {
            let on = on_off(&args[2])?;
            cx.client.handle.info.lock().no_evict = on;
            Ok(Frame::ok())
        }
        b"pause" => pause(&args[2..]),
        b"unpause" => Ok(Frame::ok()),
        b"getredir" => Ok(Frame::Integer(-1)),
        b"trackinginfo" => Ok(tracking_info()),
        b"caching" => Err(CmdError::msg(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        )),
        b"tracking" => Err(CmdError::msg("ERR CLIENT TRACKING is not supported by this server")),
        b"unblock" => unblock(&args[2..]),
        _ => Ok(help(HELP)),
    }
}

/// Text replies: bulk in RESP2, verbatim in RESP3, as Redis sends CLIENT LIST.
fn text(body: String) -> Frame {
    Frame::Verbatim {
        format: *b"txt",
        text: Bytes::from(body),
    }
}

fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    match arg.to_ascii_lowercase().as_slice() {
        b"on" => Ok(true),
        b"off" => Ok(false),
        _ => Err(CmdError::Syntax),
    }
}

fn setname(cx: &mut Ctx<'_>, name: &Bytes) -> CmdResult {
    if name.iter().any(|b| !(b'!'..=b'~').contains(b)) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    let name = (!name.is_empty()).then(|| Bytes::copy_from_slice(name));
    cx.client.handle.info.lock().name = name;
    Ok(Frame::ok())
}

fn reply(cx: &mut Ctx<'_>, mode: &[u8]) -> CmdResult {
    match mode.to_ascii_lowercase().as_slice() {
        b"on" => cx.client.reply_mode = ReplyMode::On,
        b"off" => cx.client.reply_mode = ReplyMode::Off,
        b"skip" if cx.client.reply_mode != ReplyMode::Off => {
            cx.client.reply_mode = ReplyMode::SkipNext
        }
        b"skip" => {}
        _ => return Err(CmdError::Syntax),
    }
    // OFF and SKIP are not answered: the connection drops this reply.
    Ok(Frame::ok())
}

fn pause(args: &[Bytes]) -> CmdResult {
    let timeout = args::int(&args[0])
        .map_err(|_| CmdError::msg("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    match &args[1..] {
        [] => Ok(Frame::ok()),
        [mode] if args::is(mode, "write") || args::is(mode, "all") => Ok(Frame::ok()),
        [_] => Err(CmdError::msg("ERR CLIENT PAUSE mode must be WRITE or ALL")),
        _ => Err(CmdError::Syntax),
    }
}

fn unblock(args: &[Bytes]) -> CmdResult {
    args::int(&args[0])?;
    match &args[1..] {
        [] => {}
        [reason] if args::is(reason, "timeout") || args::is(reason, "error") => {}
        [_] => {
            return Err(CmdError::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
        _ => return Err(CmdError::Syntax),
    }
    Err(CmdError::msg(
        "ERR CLIENT UNBLOCK is not supported by this server",
    ))
}

/// What Redis reports for a connection without tracking.
fn tracking_info() -> Frame {
    Frame::Map(vec![
        (Frame::bulk("flags"), Frame::Set(vec![Frame::simple("off")])),
        (Frame::bulk("redirect"), Frame::Integer(-1)),
        (Frame::bulk("prefixes"), Frame::Array(vec![])),
    ])
}

/// `CLIENT LIST [TYPE type] [ID id ...]`
fn list(cx: &mut Ctx<'_>, filters: &[Bytes]) -> CmdResult {
    let mut kind = None;
    let mut ids: Option<Vec<u64>> = None;
    match filters {
        [] => {}
        [option, value] if args::is(option, "type") => kind = Some(ClientType::parse(value)?),
        [option, list @ ..] if args::is(option, "id") && !list.is_empty() => {
            let parsed: Option<Vec<u64>> = list
                .iter()
                .map(|id| args::parse_i64(id).filter(|&n| n > 0).map(|n| n as u64))
                .collect();
            ids = Some(parsed.ok_or_else(|| CmdError::msg("ERR Invalid client ID"))?);
        }
        _ => return Err(CmdError::Syntax),
    }
    let mut out = String::new();
    for handle in cx.shared.clients.list() {
        if ids.as_ref().is_some_and(|ids| !ids.contains(&handle.id)) {
            continue;
        }
        let line = if handle.id == cx.client.id {
            own_line(cx, "client|list")
        } else {
            line(&handle, &snapshot(&handle), None)
        };
        if kind.is_none_or(|k| k.matches(&line)) {
            out.push_str(&line);
        }
    }
    Ok(text(out))
}

/// The kinds CLIENT LIST and CLIENT KILL filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClientType {
    Normal,
    Replica,
    Master,
    PubSub,
}

impl ClientType {
    /// `normal`, `master`, `replica` (or `slave`), `pubsub`.
    pub(super) fn parse(arg: &[u8]) -> Result<ClientType, CmdError> {
        match arg.to_ascii_lowercase().as_slice() {
            b"normal" => Ok(ClientType::Normal),
            b"replica" | b"slave" => Ok(ClientType::Replica),
            b"master" => Ok(ClientType::Master),
            b"pubsub" => Ok(ClientType::PubSub),
            _ => Err(CmdError::msg(format!(
                "ERR Unknown client type '{}'",
                String::from_utf8_lossy(arg)
            ))),
        }
    }

    /// Whether a client with the given flags is of this type (the engine has
    /// no replicas or masters; a MONITOR client counts as normal, as in Redis).
    pub(super) fn matches_flags(self, flags: &str) -> bool {
        match self {
            ClientType::Normal => !flags.contains('P'),
            ClientType::PubSub => flags.contains('P'),
            ClientType::Replica | ClientType::Master => false,
        }
    }

    fn matches(self, line: &str) -> bool {
        let flags = line
            .split(' ')
            .find_map(|f| f.strip_prefix("flags="))
            .unwrap_or("N");
        self.matches_flags(flags)
    }
}

/// The calling client's line: its live state, and the command running now.
fn own_line(cx: &Ctx<'_>, current: &str) -> String {
    let mut info = snapshot(&cx.client.handle);
    let client = &*cx.client;
    info.db = client.db;
    info.sub = client.channels.len();
    info.psub = client.patterns.len();
    info.ssub = client.shard_channels.len();
    info.multi = client.multi.as_ref().map_or(-1, |q| q.len() as i64);
    info.resp = if client.protocol == Protocol::Resp3 {
        3
    } else {
        2
    };
    info.last_active = SystemTime::now();
    line(&client.handle, &info, Some(current))
}

/// A copy of what a client last reported.
pub(super) fn snapshot(handle: &ClientHandle) -> ClientInfo {
    handle.info.lock().clone()
}

/// The flags field: `O` monitor, `P` subscribed, `x` in MULTI, else `N`.
pub(super) fn flags(info: &ClientInfo) -> String {
    let mut flags = String::new();
    if info.flags.contains('O') {
        flags.push('O');
    }
    if info.sub + info.psub + info.ssub > 0 {
        flags.push('P');
    }
    if info.multi >= 0 {
        flags.push('x');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    flags
}

/// One CLIENT LIST line, `\n` included. Buffer sizes are not tracked and show 0.
fn line(handle: &ClientHandle, info: &ClientInfo, current: Option<&str>) -> String {
    let now = SystemTime::now();
    let secs = |since: SystemTime| now.duration_since(since).map_or(0, |d| d.as_secs());
    let addr = |a: Option<SocketAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    let name = info
        .name
        .as_ref()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    format!(
        "id={} addr={} laddr={} fd={} name={name} age={} idle={} flags={} db={} sub={} psub={} ssub={} \
multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 \
events=r cmd={} user=default redir=-1 resp={}\n",
        handle.id,
        addr(handle.addr),
        addr(handle.local),
        handle.fd,
        secs(handle.created),
        secs(info.last_active),
        flags(info),
        info.db,
        info.sub,
        info.psub,
        info.ssub,
        info.multi,
        current.unwrap_or(&info.last_cmd),
        info.resp,
    )
}
