//! Where a request goes: from the command table's route and key positions to a
//! plan — answer locally, forward unchanged to one server, split per server and
//! merge, or fan out to every server and combine ([`merge`] combines).
//!
//! Commands whose meaning depends on the client's connection — the subscribe
//! family and the transaction group — become [`Plan::Stateful`], whatever their
//! table route: the session keeps their state and chooses their connections.

use bytes::{Bytes, BytesMut};

use super::backend::encode_command;
use super::pool::Pool;
use crate::command::{self, flags::Flags, CommandSpec, Group, Route};
use crate::resp::Frame;

/// What to do with one request.
#[derive(Debug)]
pub enum Plan {
    /// The proxy answers at once with this frame.
    Reply(Frame),
    /// The proxy's own commands (PING, HELLO, AUTH, CLIENT…): the session answers.
    Local(&'static CommandSpec),
    /// Forward the request's bytes to this server.
    Forward(usize),
    /// Run on a connection of the client's own to this server (blocking commands).
    Private(usize),
    /// Send parts to several servers and merge the replies.
    Split(Split),
    /// Pub/sub subscriptions and transactions: the session handles them.
    Stateful(&'static CommandSpec),
}

/// A request cut into per-server parts.
#[derive(Debug)]
pub struct Split {
    /// How the replies combine.
    pub merge: Merge,
    /// One part per server involved.
    pub parts: Vec<Part>,
}

/// The request one server gets, and which slots of the answer it fills.
#[derive(Debug)]
pub struct Part {
    /// The server's index in the pool.
    pub server: usize,
    /// The request bytes.
    pub request: Bytes,
    /// For MGET: the positions in the client's reply of this part's values.
    pub positions: Vec<usize>,
}

pub use super::merge::{merge, Merge, SCAN_SERVER_SHIFT};

/// Decides what to do with `args` (the request, `args[0]` its name).
pub fn plan(pool: &Pool, args: &[Bytes]) -> Plan {
    let Some(mut spec) = command::lookup(&args[0]) else {
        return Plan::Reply(command::unknown_command_error(args));
    };
    if !spec.check_arity(args.len()) {
        return Plan::Reply(command::wrong_arity_error(spec));
    }
    if !spec.subcommands.is_empty() && spec.route == Route::Local && args.len() > 1 {
        match command::lookup_sub(spec, &args[1]) {
            Some(sub) if sub.route != Route::Local => {
                if !sub.check_arity(args.len()) {
                    return Plan::Reply(command::wrong_arity_error(sub));
                }
                spec = sub;
            }
            _ => {}
        }
    }
    if is_stateful(spec) {
        return Plan::Stateful(spec);
    }
    match spec.route {
        Route::Local => Plan::Local(spec),
        Route::Unsupported(_) => Plan::Reply(unsupported(spec)),
        Route::Single => single(pool, spec, args),
        Route::SameShard => same_shard(pool, spec, args),
        Route::PerKey => per_key(pool, spec, args),
        Route::AllShards => all_shards(pool, spec, args),
    }
}

/// The subscribe family and MULTI/EXEC/DISCARD/WATCH/UNWATCH.
fn is_stateful(spec: &CommandSpec) -> bool {
    match spec.group {
        Group::Transactions => true,
        Group::PubSub => spec.name.ends_with("subscribe"),
        _ => false,
    }
}

fn unsupported(spec: &CommandSpec) -> Frame {
    command::unsupported_error(spec).unwrap_or_else(|| {
        Frame::error(format!(
            "ERR shardcar: {} is not supported by the proxy",
            spec.full_name().to_uppercase()
        ))
    })
}

/// The error when no server of the pool is live.
pub fn no_server(pool: &Pool) -> Frame {
    Frame::error(format!(
        "ERR shardcar: no live server in pool '{}' (Connection refused)",
        pool.cfg.name
    ))
}

/// The key a single-key command routes by (PUBLISH: its channel).
fn routing_key<'a>(spec: &CommandSpec, args: &'a [Bytes]) -> Option<&'a Bytes> {
    match spec.key_indexes(args).first() {
        Some(&i) => args.get(i),
        None => args.get(1),
    }
}

fn single(pool: &Pool, spec: &CommandSpec, args: &[Bytes]) -> Plan {
    let Some(key) = routing_key(spec, args) else {
        return Plan::Reply(unsupported(spec));
    };
    match pool.server_for(key) {
        Some(server) if spec.flags.contains(Flags::BLOCKING) => Plan::Private(server),
        Some(server) => Plan::Forward(server),
        None => Plan::Reply(no_server(pool)),
    }
}

fn same_shard(pool: &Pool, spec: &CommandSpec, args: &[Bytes]) -> Plan {
    let keys = spec.key_indexes(args);
    if keys.is_empty() {
        return Plan::Reply(Frame::error(format!(
            "ERR shardcar: {} needs at least one key to be routed",
            spec.full_name().to_uppercase()
        )));
    }
    let mut servers: Vec<usize> = Vec::new();
    for &i in &keys {
        match pool.server_for(&args[i]) {
            Some(s) if !servers.contains(&s) => servers.push(s),
            Some(_) => {}
            None => return Plan::Reply(no_server(pool)),
        }
    }
    if servers.len() > 1 {
        let names: Vec<&str> = servers
            .iter()
            .map(|&s| pool.servers[s].name.as_str())
            .collect();
        return Plan::Reply(Frame::error(format!(
            "CROSSSLOT shardcar: the keys of {} live on different servers ({}); use a hash tag to keep them together",
            spec.full_name().to_uppercase(),
            names.join(", ")
        )));
    }
    if spec.flags.contains(Flags::BLOCKING) {
        Plan::Private(servers[0])
    } else {
        Plan::Forward(servers[0])
    }
}

fn per_key(pool: &Pool, spec: &CommandSpec, args: &[Bytes]) -> Plan {
    let step = spec.step.max(1) as usize;
    let keys = spec.key_indexes(args);
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for (position, &i) in keys.iter().enumerate() {
        let Some(server) = pool.server_for(&args[i]) else {
            return Plan::Reply(no_server(pool));
        };
        match groups.iter_mut().find(|(s, _)| *s == server) {
            Some((_, positions)) => positions.push(position),
            None => groups.push((server, vec![position])),
        }
    }
    if groups.len() == 1 {
        return Plan::Forward(groups[0].0);
    }
    let merge = match spec.name {
        "mget" => Merge::Values { len: keys.len() },
        "mset" => Merge::AllOk,
        _ => Merge::Sum,
    };
    let parts = groups
        .into_iter()
        .map(|(server, positions)| {
            let mut part_args: Vec<&[u8]> = vec![&args[0]];
            for &p in &positions {
                let first = keys[p];
                part_args.extend(args[first..first + step].iter().map(|a| a.as_ref()));
            }
            let mut request = BytesMut::new();
            encode_command(&part_args, &mut request);
            Part {
                server,
                request: request.freeze(),
                positions,
            }
        })
        .collect();
    Plan::Split(Split { merge, parts })
}

fn all_shards(pool: &Pool, spec: &CommandSpec, args: &[Bytes]) -> Plan {
    match spec.name {
        "dbsize" => fan_out(pool, args, Merge::Sum),
        "flushdb" | "flushall" if pool.cfg.allow_flush => fan_out(pool, args, Merge::AllOk),
        "flushdb" | "flushall" => Plan::Reply(Frame::error(format!(
            "ERR shardcar: {} is disabled for pool '{}'; set allow_flush: true to allow it",
            spec.name.to_uppercase(),
            pool.cfg.name
        ))),
        "scan" => scan(pool, args),
        "pubsub|channels" | "pubsub|shardchannels" => fan_out(pool, args, Merge::Union),
        "pubsub|numsub" | "pubsub|shardnumsub" => fan_out(pool, args, Merge::PairsSum),
        "pubsub|numpat" => fan_out(pool, args, Merge::Max),
        "script|load" => fan_out(pool, args, Merge::Same),
        "script|exists" => fan_out(pool, args, Merge::And),
        "script|flush" => fan_out(pool, args, Merge::AllOk),
        "script|kill" => fan_out(pool, args, Merge::AnyOk),
        "randomkey" => match pool.any_server() {
            Some(server) => Plan::Forward(server),
            None => Plan::Reply(no_server(pool)),
        },
        _ => Plan::Reply(Frame::error(format!(
            "ERR shardcar: {} across all servers is not supported yet",
            spec.full_name().to_uppercase()
        ))),
    }
}

fn fan_out(pool: &Pool, args: &[Bytes], merge: Merge) -> Plan {
    let arg_refs: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
    let mut request = BytesMut::new();
    encode_command(&arg_refs, &mut request);
    let request = request.freeze();
    let parts = (0..pool.servers.len())
        .map(|server| Part {
            server,
            request: request.clone(),
            positions: Vec::new(),
        })
        .collect();
    Plan::Split(Split { merge, parts })
}

/// SCAN over every server in turn: the cursor's high bits name the server, its
/// low bits are that server's own cursor.
fn scan(pool: &Pool, args: &[Bytes]) -> Plan {
    let Some(cursor) = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|c| c.parse::<u64>().ok())
    else {
        return Plan::Reply(Frame::error("ERR invalid cursor"));
    };
    let server = (cursor >> SCAN_SERVER_SHIFT) as usize;
    let inner = cursor & ((1 << SCAN_SERVER_SHIFT) - 1);
    if server >= pool.servers.len() {
        return Plan::Reply(Frame::error("ERR invalid cursor"));
    }
    let inner = inner.to_string();
    let mut part_args: Vec<&[u8]> = vec![b"SCAN", inner.as_bytes()];
    part_args.extend(args[2..].iter().map(|a| a.as_ref()));
    let mut request = BytesMut::new();
    encode_command(&part_args, &mut request);
    Plan::Split(Split {
        merge: Merge::Scan {
            server,
            servers: pool.servers.len(),
        },
        parts: vec![Part {
            server,
            request: request.freeze(),
            positions: Vec::new(),
        }],
    })
}
