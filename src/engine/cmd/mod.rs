//! Command dispatch: from a request's arguments to a reply, under the keyspace lock.
//!
//! The metadata of every command (arity, flags, key positions) lives in the one
//! command table, [`crate::command`]; this module joins it with the engine's
//! handlers, one family per file (`string.rs`, `list.rs`…, as Redis's `t_*.c`).
//! Each handler is a plain function `fn(&mut Ctx, &[Bytes]) -> CmdResult` that
//! returns its reply, so it can be tested without a socket. Effects beyond the
//! reply (block the client, close the connection, sleep) are requested through
//! [`Ctx::action`] and carried out by the connection after it releases the lock.
//!
//! A handler gets `args` with the command name at `args[0]`, already checked
//! against the table's arity.

pub mod args;
mod bitmap;
mod client;
mod client_kill;
mod connection;
mod error;
mod hash;
mod hash_incr;
mod hash_scan;
mod hyperloglog;
mod info;
mod keys;
mod list;
mod list_blocking;
mod list_edit;
pub(crate) mod long_double;
mod members;
mod pubsub;
mod server;
mod server_config;
mod server_debug;
mod server_diag;
mod set;
mod set_algebra;
mod set_random;
mod string;
mod transaction;
mod zset;
mod zset_algebra;
mod zset_combine;
mod zset_pop;
mod zset_random;
mod zset_range;

pub use connection::REDIS_VERSION;
pub use error::{CmdError, CmdResult};

use bytes::Bytes;
use std::sync::LazyLock;
use std::time::Duration;

use super::client::Client;
use super::db::{Db, UnixMs};
use super::keyspace::Keyspace;
use super::server::Shared;
use crate::command::flags::Flags;
use crate::command::{self, CommandSpec};
use crate::resp::Frame;

/// A command implementation.
pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

/// Something the connection must do after the lock is released.
#[derive(Debug)]
pub enum Action {
    /// Wait for one of `keys` to be ready, up to `timeout` (None = forever); then
    /// run the command again. The reply on timeout is a null array.
    Block {
        /// Keys to wait on.
        keys: Vec<Bytes>,
        /// How long.
        timeout: Option<Duration>,
    },
    /// Reply, then close the connection (QUIT).
    Close,
    /// Close the connection without replying (SHUTDOWN: the server goes away).
    Disconnect,
    /// Wait, then reply and go on to the next command (DEBUG SLEEP). Other clients are
    /// not held up, unlike Redis where the whole server sleeps.
    Sleep(Duration),
}

/// Everything a handler may read or change.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The locked keyspace.
    pub ks: &'a mut Keyspace,
    /// The calling client.
    pub client: &'a mut Client,
    /// Engine-wide state outside the lock (config, clients, pub/sub).
    pub shared: &'a Shared,
    /// The command's notion of now (fixed for the whole command, as in Redis).
    pub now: UnixMs,
    /// True while running inside EXEC or a blocked client's retry: blocking
    /// commands must not block there.
    pub nested: bool,
    /// An effect for the connection to carry out.
    pub action: Option<Action>,
    /// Replies emitted before the returned one ((P)SUBSCRIBE answers once per channel).
    pub emitted: Vec<Frame>,
    /// Set by a write command that turned out to change nothing, so watchers
    /// and blocked clients are not disturbed.
    pub unchanged: bool,
}

impl<'a> Ctx<'a> {
    /// A context for one command.
    pub fn new(
        ks: &'a mut Keyspace,
        client: &'a mut Client,
        shared: &'a Shared,
        now: UnixMs,
    ) -> Ctx<'a> {
        Ctx {
            ks,
            client,
            shared,
            now,
            nested: false,
            action: None,
            emitted: Vec::new(),
            unchanged: false,
        }
    }

    /// The selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.ks.dbs[self.client.db]
    }

    /// The selected database and the current time, for the common case.
    pub fn db_now(&mut self) -> (&mut Db, UnixMs) {
        (&mut self.ks.dbs[self.client.db], self.now)
    }

    /// Tells the dispatcher that this write command changed nothing.
    pub fn no_change(&mut self) {
        self.unchanged = true;
    }

    /// Nothing to serve yet: asks the connection to wait on `keys` and replies
    /// `null` (ignored then); inside EXEC, where nothing may wait, `null` is the reply.
    pub fn block(&mut self, keys: &[Bytes], timeout: Option<Duration>, null: Frame) -> CmdResult {
        self.no_change();
        if !self.nested {
            // Copies: the waiter outlives the client's read buffer.
            let keys = keys.iter().map(|k| Bytes::copy_from_slice(k)).collect();
            self.action = Some(Action::Block { keys, timeout });
        }
        Ok(null)
    }

    /// Signals a modification of a key not among the command's declared keys.
    pub fn touch(&mut self, key: &Bytes) {
        let db = self.client.db;
        self.ks.touch(db, key);
    }
}

/// A command known to both the table and the engine.
#[derive(Debug, Clone, Copy)]
pub struct Command {
    /// Its table entry.
    pub spec: &'static CommandSpec,
    /// Its implementation.
    pub handler: Handler,
}

/// The engine's families, each a list of (name, handler).
fn families() -> Vec<&'static [(&'static str, Handler)]> {
    vec![
        connection::COMMANDS,
        transaction::COMMANDS,
        string::COMMANDS,
        bitmap::COMMANDS,
        hyperloglog::COMMANDS,
        list::COMMANDS,
        list_edit::COMMANDS,
        list_blocking::COMMANDS,
        hash::COMMANDS,
        hash_incr::COMMANDS,
        hash_scan::COMMANDS,
        set::COMMANDS,
        set_random::COMMANDS,
        set_algebra::COMMANDS,
        zset::COMMANDS,
        zset_range::COMMANDS,
        zset_pop::COMMANDS,
        zset_algebra::COMMANDS,
        zset_random::COMMANDS,
        keys::COMMANDS,
        server::COMMANDS,
        server_config::COMMANDS,
        server_debug::COMMANDS,
        server_diag::COMMANDS,
        client::COMMANDS,
        info::COMMANDS,
        pubsub::COMMANDS,
    ]
}

static COMMANDS: LazyLock<ahash::AHashMap<&'static str, Command>> = LazyLock::new(|| {
    let mut map = ahash::AHashMap::new();
    for family in families() {
        for &(name, handler) in family {
            let spec = command::lookup(name.as_bytes()).unwrap_or_else(|| {
                panic!("engine command '{name}' is missing from the command table")
            });
            map.insert(spec.name, Command { spec, handler });
        }
    }
    map
});

/// Looks a command up by its wire name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<Command> {
    let spec = command::lookup(name)?;
    COMMANDS.get(spec.name).copied()
}

/// Names of every command the engine implements.
pub fn implemented() -> impl Iterator<Item = &'static str> {
    COMMANDS.keys().copied()
}

/// The subcommand a container command runs (`config|get` for `CONFIG GET`), or
/// the command itself when it has no subcommands or the subcommand is unknown.
pub fn effective_spec(spec: &'static CommandSpec, args: &[Bytes]) -> &'static CommandSpec {
    if spec.subcommands.is_empty() {
        return spec;
    }
    args.get(1)
        .and_then(|sub| command::lookup_sub(spec, sub))
        .unwrap_or(spec)
}

/// Runs one command whose arity has been checked: the handler, then the
/// bookkeeping every write shares (watchers, blocked clients, statistics).
pub fn call(cx: &mut Ctx<'_>, cmd: Command, args: &[Bytes]) -> Frame {
    cx.unchanged = false;
    // Statistics, the slow log and MONITOR see `config|get`, not `config`.
    let spec = effective_spec(cmd.spec, args);
    let started = std::time::Instant::now();
    let dirty = cx.ks.dirty;
    let result = (cmd.handler)(cx, args);
    // Handlers that change other keys than their declared ones say `no_change`
    // and touch what they changed: either way, something was written.
    let changed = !cx.unchanged || cx.ks.dirty != dirty;
    let usec = started.elapsed().as_micros() as u64;
    let stat = cx.ks.stats.commands.entry(spec.name).or_default();
    stat.calls += 1;
    stat.usec += usec;
    cx.ks.stats.total_commands += 1;
    cx.ks.settle_expired();
    server_diag::observe(cx, spec, args, usec);
    match result {
        Ok(frame) => {
            if cmd.spec.flags.contains(Flags::WRITE) && changed && !frame.is_error() {
                if !cx.unchanged {
                    let db = cx.client.db;
                    for i in cmd.spec.written_key_indexes(args) {
                        cx.ks.touch(db, &args[i]);
                    }
                }
                super::persist::aof::feed::written(cx, cmd.spec.name, args, &frame);
            }
            frame
        }
        Err(err) => {
            cx.ks.stats.failed_calls += 1;
            if let Some(stat) = cx.ks.stats.commands.get_mut(spec.name) {
                stat.failed += 1;
            }
            let frame = err.to_frame();
            server_diag::count_error(cx.shared, &frame);
            frame
        }
    }
}

/// Records a command rejected before it ran (arity, auth, context).
pub fn reject(
    ks: &mut Keyspace,
    shared: &Shared,
    spec: Option<&'static CommandSpec>,
    err: CmdError,
) -> Frame {
    ks.stats.rejected_calls += 1;
    if let Some(spec) = spec {
        ks.stats.commands.entry(spec.name).or_default().rejected += 1;
    }
    let frame = err.to_frame();
    server_diag::count_error(shared, &frame);
    frame
}
