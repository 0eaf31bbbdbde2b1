//! What happens to a request before and after its handler runs, as in Redis's
//! `processCommand`: lookup, arity, authentication, the pub/sub and MULTI
//! contexts; then, after the command, serving the clients blocked on keys it fed.

use bytes::Bytes;

use super::cmd::{self, Action, CmdError, Ctx};
use super::keyspace::DbKey;
use crate::command;
use crate::resp::{Frame, Protocol};

/// Commands allowed before AUTH when a password is set.
const NO_AUTH: &[&str] = &["auth", "hello", "quit", "reset"];

/// Commands a RESP2 client may send while subscribed.
const SUBSCRIBED: &[&str] = &[
    "subscribe",
    "unsubscribe",
    "psubscribe",
    "punsubscribe",
    "ssubscribe",
    "sunsubscribe",
    "ping",
    "quit",
    "reset",
];

/// Commands that run at once inside MULTI instead of being queued.
pub(super) const NOT_QUEUED: &[&str] = &["exec", "discard", "multi", "watch", "quit", "reset"];

/// Processes one top-level request and returns its reply.
pub fn process(cx: &mut Ctx<'_>, args: &[Bytes]) -> Frame {
    let reply = match admit(cx, args) {
        Ok(command) => {
            if cx.client.multi.is_some() && !NOT_QUEUED.contains(&command.spec.name) {
                if let Some(queue) = cx.client.multi.as_mut() {
                    queue.push(args.to_vec());
                }
                return Frame::simple("QUEUED");
            }
            cmd::call(cx, command, args)
        }
        Err((spec, err)) => {
            if cx.client.multi.is_some() {
                cx.client.multi_failed = true;
            }
            cmd::reject(cx.ks, cx.shared, spec, err)
        }
    };
    if !cx.ks.blocked.ready.is_empty() {
        serve_blocked(cx);
    }
    reply
}

type Rejection = (Option<&'static command::CommandSpec>, CmdError);

/// Finds the command and checks it may run now.
fn admit(cx: &mut Ctx<'_>, args: &[Bytes]) -> Result<cmd::Command, Rejection> {
    let name = &args[0];
    let Some(command) = cmd::lookup(name) else {
        return Err((None, unknown_command(args)));
    };
    let container = command.spec;
    if !container.check_arity(args.len()) {
        return Err((
            Some(container),
            CmdError::WrongArity(container.name.to_string()),
        ));
    }
    // A container (CONFIG, CLIENT…) is checked as its subcommand, as Redis does.
    let spec = cmd::effective_spec(container, args);
    if let Some(sub) = args.get(1).filter(|_| !container.subcommands.is_empty()) {
        if std::ptr::eq(spec, container) {
            return Err((Some(container), unknown_subcommand(container, sub)));
        }
        if !spec.check_arity(args.len()) {
            return Err((Some(spec), CmdError::WrongArity(spec.name.to_string())));
        }
    }
    if !cx.client.authenticated && !NO_AUTH.contains(&spec.name) {
        return Err((Some(spec), CmdError::msg("NOAUTH Authentication required.")));
    }
    super::eviction::admit(cx, spec).map_err(|err| (Some(spec), err))?;
    if refused_for_misconf(cx, spec) {
        return Err((Some(spec), CmdError::msg(crate::engine::persist::MISCONF)));
    }
    if spec.flags.contains(command::flags::Flags::WRITE) {
        if let Some(err) = cx.shared.aof.write_error() {
            let text = format!("MISCONF Errors writing to the AOF file: {err}");
            return Err((Some(spec), CmdError::msg(text)));
        }
    }
    if cx.client.protocol == Protocol::Resp2
        && cx.client.is_subscribed()
        && !SUBSCRIBED.contains(&spec.name)
    {
        let text = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.name
        );
        return Err((Some(spec), CmdError::msg(text)));
    }
    Ok(command)
}

/// After a failed background save, Redis refuses writes (and PING, so health
/// checks notice) until a save succeeds.
fn refused_for_misconf(cx: &Ctx<'_>, spec: &command::CommandSpec) -> bool {
    let persist = &cx.shared.persist;
    if persist
        .last_bgsave_ok
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return false;
    }
    let write = |s: &command::CommandSpec| s.flags.contains(command::Flags::WRITE);
    let writes = match &cx.client.multi {
        Some(queue) if spec.name == "exec" => queue.iter().any(|args| {
            cmd::lookup(&args[0]).is_some_and(|c| write(cmd::effective_spec(c.spec, args)))
        }),
        _ => write(spec) || spec.name == "ping",
    };
    writes && persist.refuses_writes(&cx.shared.config.read())
}

fn unknown_subcommand(container: &command::CommandSpec, sub: &[u8]) -> CmdError {
    match command::unknown_subcommand_error(container, sub) {
        Frame::Error(text) => CmdError::msg(String::from_utf8_lossy(&text).into_owned()),
        _ => CmdError::msg("ERR unknown subcommand"),
    }
}

fn unknown_command(args: &[Bytes]) -> CmdError {
    match command::unknown_command_error(args) {
        Frame::Error(text) => CmdError::msg(String::from_utf8_lossy(&text).into_owned()),
        _ => CmdError::msg("ERR unknown command"),
    }
}

/// Retries the commands of clients blocked on keys that became ready, oldest
/// waiter first, until no ready key is left (a served BLMOVE may feed another).
pub fn serve_blocked(cx: &mut Ctx<'_>) {
    let own_db = cx.client.db;
    let own_nested = cx.nested;
    while let Some(key) = cx.ks.blocked.ready.pop_front() {
        for id in cx.ks.blocked.waiters_on(&key) {
            let Some(waiter) = cx.ks.blocked.waiter(id) else {
                continue;
            };
            if waiter.reply.is_closed() {
                // Its client disconnected: serving it would lose the data.
                cx.ks.blocked.unblock(id);
                continue;
            }
            let (args, db) = (waiter.args.clone(), waiter.db);
            let Some(command) = cmd::lookup(&args[0]) else {
                continue;
            };
            if !holds_awaited_type(cx, &key, command.spec.group) {
                continue; // deleted, or now another type: it keeps waiting, as in Redis
            }
            cx.client.db = db;
            cx.nested = false;
            cx.action = None;
            let reply = cmd::call(cx, command, &args);
            if matches!(cx.action.take(), Some(Action::Block { .. })) {
                continue; // still nothing for it
            }
            if let Some(waiter) = cx.ks.blocked.unblock(id) {
                // The waiter may have gone (timed out) between our lookup and now:
                // then its connection is no longer listening, which is fine.
                let _ = waiter.reply.send(reply);
            }
        }
    }
    cx.client.db = own_db;
    cx.nested = own_nested;
}

/// True if `key` holds a value of the type a blocking command of `group` pops.
/// Redis serves a waiter only then: a key deleted, or overwritten by another
/// type, leaves its clients blocked rather than failing them with WRONGTYPE.
fn holds_awaited_type(cx: &mut Ctx<'_>, (db, key): &DbKey, group: command::Group) -> bool {
    let awaited = match group {
        command::Group::List => "list",
        command::Group::SortedSet => "zset",
        command::Group::Stream => "stream",
        _ => return true,
    };
    let now = cx.now;
    cx.ks.dbs[*db]
        .get(key, now)
        .is_some_and(|value| value.type_name() == awaited)
}
