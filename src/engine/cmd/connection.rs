//! Connection commands: PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET.

use bytes::Bytes;

use super::args::{self, Args};
use super::{Action, CmdError, CmdResult, Ctx, Handler};
use crate::resp::{Frame, Protocol};

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("ping", ping),
    ("echo", echo),
    ("quit", quit),
    ("select", select),
    ("hello", hello),
    ("auth", auth),
    ("reset", reset),
];

/// The version we report: the Redis release whose behaviour we follow.
pub const REDIS_VERSION: &str = "7.0.15";

/// # Format
/// `PING [message]`
fn ping(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        return Err(CmdError::WrongArity("ping".into()));
    }
    if cx.client.is_subscribed() && cx.client.protocol == Protocol::Resp2 {
        let message = args.get(1).cloned().unwrap_or_default();
        return Ok(Frame::Array(vec![
            Frame::bulk("pong"),
            Frame::Bulk(message),
        ]));
    }
    Ok(match args.get(1) {
        Some(message) => Frame::Bulk(message.clone()),
        None => Frame::simple("PONG"),
    })
}

/// # Format
/// `ECHO message`
fn echo(_cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Bulk(args[1].clone()))
}

/// # Format
/// `QUIT`
fn quit(cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    cx.action = Some(Action::Close);
    Ok(Frame::ok())
}

/// # Format
/// `SELECT index`
fn select(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let index = args::int(&args[1])?;
    if index < 0 || index as usize >= cx.ks.dbs.len() {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    cx.client.db = index as usize;
    Ok(Frame::ok())
}

/// # Format
/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
fn hello(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut rest = Args::new(args, 1);
    let mut protocol = cx.client.protocol;
    if let Some(version) = rest.next() {
        protocol = match args::parse_i64(version) {
            Some(2) => Protocol::Resp2,
            Some(3) => Protocol::Resp3,
            Some(_) => return Err(CmdError::msg("NOPROTO unsupported protocol version")),
            None => {
                return Err(CmdError::msg(
                    "ERR Protocol version is not an integer or out of range",
                ))
            }
        };
    }
    let mut name = None;
    while let Some(option) = rest.next() {
        if args::is(option, "auth") {
            let (user, pass) = (rest.value()?, rest.value()?);
            check_password(cx, Some(user), pass)?;
        } else if args::is(option, "setname") {
            name = Some(rest.value()?.clone());
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(option)
            )));
        }
    }
    if !cx.client.authenticated {
        return Err(CmdError::msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(name) = name {
        cx.client.handle.info.lock().name = Some(name);
    }
    cx.client.protocol = protocol;
    let proto = if protocol == Protocol::Resp3 { 3 } else { 2 };
    let pairs = vec![
        ("server", Frame::bulk("redis")),
        ("version", Frame::bulk(REDIS_VERSION)),
        ("proto", Frame::Integer(proto)),
        ("id", Frame::Integer(cx.client.id as i64)),
        ("mode", Frame::bulk("standalone")),
        ("role", Frame::bulk("master")),
        ("modules", Frame::Array(vec![])),
    ];
    Ok(Frame::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Frame::bulk(k), v))
            .collect(),
    ))
}

/// # Format
/// `AUTH [username] password`
fn auth(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args.len() {
        2 => check_password(cx, None, &args[1])?,
        3 => check_password(cx, Some(&args[1]), &args[2])?,
        _ => return Err(CmdError::Syntax),
    }
    Ok(Frame::ok())
}

/// Checks credentials for the only user, "default", as Redis does without ACLs.
fn check_password(cx: &mut Ctx<'_>, user: Option<&Bytes>, password: &[u8]) -> Result<(), CmdError> {
    let required = cx.shared.config.read().requirepass.clone();
    if required.is_empty() && user.is_none() {
        return Err(CmdError::msg(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    let user_ok = user.is_none_or(|u| u.as_ref() == b"default");
    let pass_ok = required.is_empty() || password == required.as_bytes();
    if user_ok && pass_ok {
        cx.client.authenticated = true;
        Ok(())
    } else {
        Err(CmdError::msg(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ))
    }
}

/// # Format
/// `RESET`
fn reset(cx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    super::transaction::discard_state(cx);
    let id = cx.client.id;
    let mut pubsub = cx.shared.pubsub.lock();
    pubsub.remove_client(id);
    drop(pubsub);
    cx.client.channels.clear();
    cx.client.patterns.clear();
    cx.client.shard_channels.clear();
    cx.client.reply_mode = crate::engine::client::ReplyMode::On;
    super::server::leave_monitor(cx);
    cx.client.db = 0;
    cx.client.protocol = Protocol::Resp2;
    cx.client.authenticated = cx.shared.config.read().requirepass.is_empty();
    cx.client.handle.info.lock().name = None;
    Ok(Frame::simple("RESET"))
}
