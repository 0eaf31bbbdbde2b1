//! Commands the proxy answers itself: PING, ECHO, QUIT, SELECT 0, HELLO, AUTH,
//! COMMAND, CLIENT ID/SETNAME/GETNAME/NOECHO, INFO (the proxy's own sections),
//! CONFIG GET.

use bytes::Bytes;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::session::Client;
use crate::command::{self, CommandSpec};
use crate::resp::{Frame, Protocol};

/// What the session must do besides replying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Switch the client's protocol (HELLO).
    Protocol(Protocol),
    /// Close after the reply (QUIT).
    Close,
}

/// Commands accepted before AUTH when the pool has a password.
pub fn allowed_before_auth(name: &[u8]) -> bool {
    ["auth", "hello", "quit", "reset"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n.as_bytes()))
}

/// Answers a local command.
pub fn handle(
    client: &mut Client,
    spec: &'static CommandSpec,
    args: &[Bytes],
) -> (Frame, Option<Effect>) {
    let reply = match spec.name {
        "ping" => ping(client, args),
        "echo" => Frame::Bulk(args[1].clone()),
        "quit" => return (Frame::ok(), Some(Effect::Close)),
        "select" => select(client, args),
        "hello" => return hello(client, args),
        "auth" => auth(client, args),
        "command" => command::command_reply(args),
        "client" => client_command(client, args),
        "info" => info(client, args),
        "config" => config(args),
        "time" => time(),
        "reset" => {
            client.protocol = Protocol::Resp2;
            client.name = None;
            client.noecho = false;
            client.authenticated =
                client.pool.cfg.requirepass.is_none() && client.pool.cfg.redis_auth.is_none();
            return (
                Frame::simple("RESET"),
                Some(Effect::Protocol(Protocol::Resp2)),
            );
        }
        _ => Frame::error(format!(
            "ERR shardcar: {} is not supported by the proxy",
            spec.name.to_uppercase()
        )),
    };
    (reply, None)
}

/// PING: `+PONG`, or `[pong, message]` to a subscribed RESP2 client, as Redis.
fn ping(client: &Client, args: &[Bytes]) -> Frame {
    if client.subscriptions > 0 && client.protocol == Protocol::Resp2 && args.len() <= 2 {
        let message = args.get(1).cloned().unwrap_or_default();
        return Frame::Array(vec![Frame::bulk("pong"), Frame::Bulk(message)]);
    }
    match args.len() {
        1 => Frame::simple("PONG"),
        2 => Frame::Bulk(args[1].clone()),
        _ => Frame::error("ERR wrong number of arguments for 'ping' command"),
    }
}

fn select(client: &Client, args: &[Bytes]) -> Frame {
    if args[1].as_ref() == b"0" {
        return Frame::ok();
    }
    Frame::error(format!(
        "ERR shardcar: SELECT is not supported; pool '{}' presents one database, 0 (redis_db {} on the servers)",
        client.pool.cfg.name, client.pool.cfg.redis_db
    ))
}

fn hello(client: &mut Client, args: &[Bytes]) -> (Frame, Option<Effect>) {
    let mut protocol = client.protocol;
    let mut rest = args[1..].iter();
    if let Some(version) = rest.next() {
        protocol = match version.as_ref() {
            b"2" => Protocol::Resp2,
            b"3" => Protocol::Resp3,
            v if std::str::from_utf8(v).is_ok_and(|t| t.parse::<i64>().is_ok()) => {
                return (Frame::error("NOPROTO unsupported protocol version"), None);
            }
            _ => {
                return (
                    Frame::error("ERR Protocol version is not an integer or out of range"),
                    None,
                )
            }
        };
    }
    while let Some(option) = rest.next() {
        if option.eq_ignore_ascii_case(b"auth") {
            let (Some(user), Some(pass)) = (rest.next(), rest.next()) else {
                return (
                    Frame::error("ERR Syntax error in HELLO option 'auth'"),
                    None,
                );
            };
            let reply = check_auth(client, Some(user), pass);
            if reply.is_error() {
                return (reply, None);
            }
        } else if option.eq_ignore_ascii_case(b"setname") {
            let Some(name) = rest.next() else {
                return (
                    Frame::error("ERR Syntax error in HELLO option 'setname'"),
                    None,
                );
            };
            client.name = Some(name.clone());
        } else {
            let text = format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(option)
            );
            return (Frame::error(text), None);
        }
    }
    if !client.authenticated {
        return (Frame::error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"), None);
    }
    client.protocol = protocol;
    let proto = if protocol == Protocol::Resp3 { 3 } else { 2 };
    let fields = [
        ("server", Frame::bulk("redis")),
        ("version", Frame::bulk(crate::engine::cmd::REDIS_VERSION)),
        ("proto", Frame::Integer(proto)),
        ("id", Frame::Integer(client.id as i64)),
        ("mode", Frame::bulk("proxy")),
        ("role", Frame::bulk("master")),
        ("modules", Frame::Array(vec![])),
    ];
    let map = Frame::Map(
        fields
            .into_iter()
            .map(|(k, v)| (Frame::bulk(k), v))
            .collect(),
    );
    (map, Some(Effect::Protocol(protocol)))
}

fn auth(client: &mut Client, args: &[Bytes]) -> Frame {
    match args.len() {
        2 => check_auth(client, None, &args[1]),
        3 => check_auth(client, Some(&args[1]), &args[2]),
        _ => Frame::error("ERR syntax error"),
    }
}

/// The proxy's own password check (`requirepass`, else twemproxy's `redis_auth`),
/// independent of how the proxy authenticates to its servers.
fn check_auth(client: &mut Client, user: Option<&Bytes>, password: &[u8]) -> Frame {
    let cfg = &client.pool.cfg;
    let Some(required) = cfg.requirepass.as_ref().or(cfg.redis_auth.as_ref()) else {
        return Frame::error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
    };
    let user_ok = user.is_none_or(|u| u.as_ref() == b"default");
    if user_ok && password == required.as_bytes() {
        client.authenticated = true;
        Frame::ok()
    } else {
        Frame::error("WRONGPASS invalid username-password pair or user is disabled.")
    }
}

fn client_command(client: &mut Client, args: &[Bytes]) -> Frame {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match (sub.as_str(), args.len()) {
        ("id", 2) => Frame::Integer(client.id as i64),
        ("setname", 3) => {
            if args[2].iter().any(|&b| b <= b' ' || b > b'~') {
                return Frame::error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            client.name = (!args[2].is_empty()).then(|| args[2].clone());
            Frame::ok()
        }
        ("getname", 2) => client.name.clone().map_or(Frame::Null, Frame::Bulk),
        ("noecho", 3) => match switch(&args[2]) {
            Some(on) => {
                client.noecho = on;
                Frame::ok()
            }
            None => Frame::error("ERR syntax error"),
        },
        ("noecho", _) => Frame::error("ERR wrong number of arguments for 'client|noecho' command"),
        ("setinfo", 4) | ("no-evict", 3) | ("no-touch", 3) => Frame::ok(),
        _ => Frame::error(format!(
            "ERR shardcar: CLIENT {} is not supported by the proxy",
            sub.to_uppercase()
        )),
    }
}

/// `ON` or `OFF`, in any case.
fn switch(value: &[u8]) -> Option<bool> {
    if value.eq_ignore_ascii_case(b"on") {
        Some(true)
    } else if value.eq_ignore_ascii_case(b"off") {
        Some(false)
    } else {
        None
    }
}

/// CONFIG GET answers an empty result so tools (redis-benchmark) don't warn; the
/// servers' settings are each server's own business.
fn config(args: &[Bytes]) -> Frame {
    if args[1].eq_ignore_ascii_case(b"get") {
        return Frame::Map(Vec::new());
    }
    Frame::error(format!(
        "ERR shardcar: CONFIG {} is not supported by the proxy; configure each server directly",
        String::from_utf8_lossy(&args[1]).to_uppercase()
    ))
}

fn time() -> Frame {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Frame::Array(vec![
        Frame::bulk(now.as_secs().to_string()),
        Frame::bulk(now.subsec_micros().to_string()),
    ])
}

/// INFO: the proxy's own view — server, clients, the pool and its servers.
fn info(client: &Client, args: &[Bytes]) -> Frame {
    let wanted: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let show = |section: &str| {
        wanted.is_empty()
            || wanted
                .iter()
                .any(|w| w == section || w == "all" || w == "everything" || w == "default")
    };
    let pool = &client.pool;
    let process = &client.process;
    let mut out = String::new();
    if show("server") {
        let _ = write!(
            out,
            "# Server\r\nredis_version:{}\r\nshardcar_version:{}\r\nredis_mode:proxy\r\nprocess_id:{}\r\nuptime_in_seconds:{}\r\n\r\n",
            crate::engine::cmd::REDIS_VERSION,
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            process.started.elapsed().as_secs()
        );
    }
    if show("clients") {
        let _ = write!(
            out,
            "# Clients\r\nconnected_clients:{}\r\ntotal_connections_received:{}\r\n\r\n",
            process.curr_connections.load(Ordering::Relaxed),
            process.total_connections.load(Ordering::Relaxed)
        );
    }
    if show("pools") {
        let _ = write!(
            out,
            "# Pools\r\npool:name={},listen={},hash={},distribution={},servers={},client_connections={},server_ejects={},forward_error={},fragments={}\r\n\r\n",
            pool.cfg.name,
            pool.cfg.listen,
            pool.cfg.hash,
            pool.cfg.distribution,
            pool.servers.len(),
            pool.stats.client_connections.load(Ordering::Relaxed),
            pool.stats.server_ejects.load(Ordering::Relaxed),
            pool.stats.forward_error.load(Ordering::Relaxed),
            pool.stats.fragments.load(Ordering::Relaxed),
        );
    }
    if show("servers") {
        out.push_str("# Servers\r\n");
        for (i, server) in pool.servers.iter().enumerate() {
            let _ = write!(
                out,
                "server{i}:name={},addr={},weight={},status={},requests={},responses={},server_err={},server_timedout={}\r\n",
                server.name,
                server.addr,
                server.weight,
                if server.is_ejected() { "ejected" } else { "up" },
                server.stats.requests.load(Ordering::Relaxed),
                server.stats.responses.load(Ordering::Relaxed),
                server.stats.server_err.load(Ordering::Relaxed),
                server.stats.server_timedout.load(Ordering::Relaxed),
            );
        }
        out.push_str("\r\n");
    }
    Frame::Verbatim {
        format: *b"txt",
        text: Bytes::from(out),
    }
}
