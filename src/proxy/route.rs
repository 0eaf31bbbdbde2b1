//! Where a request goes: from the command table's route and key positions to a
//! plan — answer locally, forward unchanged to one server, split per server and
//! merge, or fan out to every server and combine.

use bytes::{Bytes, BytesMut};

use super::backend::encode_command;
use super::pool::Pool;
use crate::command::{self, flags::Flags, CommandSpec, Route};
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

/// How per-server replies become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// MGET: values placed back at their keys' positions; `len` keys in all.
    Values {
        /// Number of keys.
        len: usize,
    },
    /// DEL, UNLINK, EXISTS, TOUCH, DBSIZE: integers summed.
    Sum,
    /// MSET, FLUSHDB…: OK when every part said OK.
    AllOk,
    /// SCAN: one server's page, cursor rewritten to carry the server index.
    Scan {
        /// The server that was scanned.
        server: usize,
        /// Number of servers in the pool.
        servers: usize,
    },
}

/// Bits of a composite SCAN cursor given to the server index.
const SCAN_SERVER_SHIFT: u32 = 48;

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
    match spec.route {
        Route::Local => Plan::Local(spec),
        Route::Unsupported(_) => Plan::Reply(unsupported(spec)),
        Route::Single => single(pool, spec, args),
        Route::SameShard => same_shard(pool, spec, args),
        Route::PerKey => per_key(pool, spec, args),
        Route::AllShards => all_shards(pool, spec, args),
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

fn no_server(pool: &Pool) -> Frame {
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

/// Combines the per-part replies (in part order) into the client's reply.
pub fn merge(merge: Merge, parts: &[Part], replies: Vec<Frame>) -> Frame {
    match merge {
        Merge::Values { len } => {
            let mut out = vec![Frame::Null; len];
            for (part, reply) in parts.iter().zip(replies) {
                match reply {
                    Frame::Array(values) => {
                        for (&pos, value) in part.positions.iter().zip(values) {
                            out[pos] = value;
                        }
                    }
                    other => {
                        // A failed fragment answers its own keys' slots with the error.
                        for &pos in &part.positions {
                            out[pos] = other.clone();
                        }
                    }
                }
            }
            Frame::Array(out)
        }
        Merge::Sum => {
            let mut total = 0i64;
            for reply in replies {
                match reply {
                    Frame::Integer(n) => total += n,
                    other => return other,
                }
            }
            Frame::Integer(total)
        }
        Merge::AllOk => replies
            .into_iter()
            .find(Frame::is_error)
            .unwrap_or_else(Frame::ok),
        Merge::Scan { server, servers } => scan_reply(server, servers, replies),
    }
}

fn scan_reply(server: usize, servers: usize, replies: Vec<Frame>) -> Frame {
    let Some(Frame::Array(mut page)) = replies.into_iter().next() else {
        return Frame::error("ERR shardcar: unexpected SCAN reply");
    };
    if page.len() != 2 {
        return Frame::error("ERR shardcar: unexpected SCAN reply");
    }
    let inner = match &page[0] {
        Frame::Bulk(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|c| c.parse::<u64>().ok()),
        _ => None,
    };
    let Some(inner) = inner else {
        return Frame::error("ERR shardcar: unexpected SCAN cursor");
    };
    let next = match (inner, server + 1 < servers) {
        (0, true) => ((server as u64 + 1) << SCAN_SERVER_SHIFT).to_string(),
        (0, false) => "0".to_string(),
        (c, _) => ((server as u64) << SCAN_SERVER_SHIFT | c).to_string(),
    };
    page[0] = Frame::bulk(next);
    Frame::Array(page)
}
