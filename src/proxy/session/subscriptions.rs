//! A client's subscriptions, as the proxy keeps them: which channels, shard
//! channels and patterns, on which server each is subscribed, and the client's
//! subscriber connection to each server (see `pubsub.rs` for the design).

use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use tokio::sync::mpsc;

use super::super::pool::Pool;
use super::super::subscriber::{Delivery, Echo, Event, Subscriber};
use super::Client;
use crate::command::{self, glob::glob_match};
use crate::resp::{Frame, Protocol};

/// The three kinds of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    /// The kind a (un)subscribe command is about, and whether it subscribes.
    pub(super) fn of(name: &str) -> (Kind, bool) {
        let (prefix, subscribes) = match name.strip_suffix("unsubscribe") {
            Some(prefix) => (prefix, false),
            None => (name.strip_suffix("subscribe").unwrap_or(name), true),
        };
        let kind = match prefix {
            "p" => Kind::Pattern,
            "s" => Kind::Shard,
            _ => Kind::Channel,
        };
        (kind, subscribes)
    }

    /// The command that subscribes to this kind.
    pub(super) fn subscribe(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    /// The command that unsubscribes from this kind.
    pub(super) fn unsubscribe(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }
}

/// True for PUBLISH and SPUBLISH.
pub(super) fn is_publish(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"publish") || name.eq_ignore_ascii_case(b"spublish")
}

/// Commands a subscribed RESP2 client may send.
const ALLOWED_WHEN_SUBSCRIBED: &[&str] = &[
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
    "ping",
    "quit",
    "reset",
];

/// A client's subscriptions and its subscriber connections.
#[derive(Debug)]
pub(super) struct Subscriptions {
    /// Channel → the server it is subscribed on.
    channels: HashMap<Bytes, usize>,
    /// Shard channel → the server it is subscribed on.
    shard: HashMap<Bytes, usize>,
    /// Patterns, each subscribed on every server.
    patterns: HashSet<Bytes>,
    /// Channels and shard channels per server.
    held: Vec<usize>,
    conns: HashMap<usize, Subscriber>,
    events: mpsc::Sender<Box<Event>>,
    epoch: u64,
}

impl Subscriptions {
    pub(super) fn new(servers: usize, events: mpsc::Sender<Box<Event>>) -> Subscriptions {
        Subscriptions {
            channels: HashMap::new(),
            shard: HashMap::new(),
            patterns: HashSet::new(),
            held: vec![0; servers],
            conns: HashMap::new(),
            events,
            epoch: 0,
        }
    }

    /// True when the client has no subscription and no subscriber connection.
    pub(super) fn is_idle(&self) -> bool {
        self.total() == 0 && self.conns.is_empty()
    }

    /// Sizes the per-server counts for a pool snapshot of `servers` servers
    /// (a reload); only while idle.
    pub(super) fn rebase(&mut self, servers: usize) {
        debug_assert!(self.is_idle());
        self.held = vec![0; servers];
    }

    pub(super) fn total(&self) -> usize {
        self.channels.len() + self.shard.len() + self.patterns.len()
    }

    /// The count a confirmation reports: shard channels count apart, as in Redis.
    pub(super) fn count(&self, kind: Kind) -> i64 {
        let n = match kind {
            Kind::Shard => self.shard.len(),
            _ => self.channels.len() + self.patterns.len(),
        };
        n as i64
    }

    /// True while the client has a subscriber connection to `server`.
    pub(super) fn is_connected(&self, server: usize) -> bool {
        !self.conns.is_empty() && self.conns.contains_key(&server)
    }

    /// The error for a command a subscribed RESP2 client may not send.
    pub(super) fn refuses(&self, client: &Client, args: &[Bytes]) -> Option<Frame> {
        if client.protocol != Protocol::Resp2 || self.total() == 0 {
            return None;
        }
        // Unknown commands and wrong arities get their own errors first.
        let spec = command::lookup(&args[0]).filter(|s| s.check_arity(args.len()))?;
        if ALLOWED_WHEN_SUBSCRIBED.contains(&spec.name) {
            return None;
        }
        Some(Frame::error(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.name
        )))
    }

    /// Records a subscription; false if it existed.
    pub(super) fn add(&mut self, kind: Kind, name: &Bytes, server: usize) -> bool {
        let fresh = match kind {
            Kind::Channel => self.channels.insert(name.clone(), server).is_none(),
            Kind::Shard => self.shard.insert(name.clone(), server).is_none(),
            Kind::Pattern => return self.patterns.insert(name.clone()),
        };
        if fresh {
            self.held[server] += 1;
        }
        fresh
    }

    /// Forgets a subscription; the servers it was on, empty if there was none.
    pub(super) fn remove(&mut self, kind: Kind, name: &Bytes) -> Vec<usize> {
        let server = match kind {
            Kind::Channel => self.channels.remove(name),
            Kind::Shard => self.shard.remove(name),
            Kind::Pattern if self.patterns.remove(name) => return (0..self.held.len()).collect(),
            Kind::Pattern => None,
        };
        if let Some(server) = server {
            self.held[server] -= 1;
        }
        server.into_iter().collect()
    }

    pub(super) fn names(&self, kind: Kind) -> Vec<Bytes> {
        match kind {
            Kind::Channel => self.channels.keys().cloned().collect(),
            Kind::Shard => self.shard.keys().cloned().collect(),
            Kind::Pattern => self.patterns.iter().cloned().collect(),
        }
    }

    /// The subscriber connection to `server`, opened if needed.
    pub(super) fn conn(&mut self, pool: &Pool, server: usize) -> &Subscriber {
        let (epoch, events) = (self.epoch, &self.events);
        self.conns.entry(server).or_insert_with(|| {
            let target = &pool.servers[server];
            let id = (server, target.name.clone());
            Subscriber::open(target.endpoint(), id, epoch, events.clone())
        })
    }

    /// Releases the connections of servers the client has nothing left on.
    pub(super) fn release_idle(&mut self) {
        if !self.patterns.is_empty() {
            return;
        }
        let idle: Vec<usize> = self
            .conns
            .keys()
            .copied()
            .filter(|&s| self.held[s] == 0)
            .collect();
        for server in idle {
            if let Some(conn) = self.conns.remove(&server) {
                conn.release();
            }
        }
    }

    /// The copies of a message published by this client its own subscriptions get.
    pub(super) fn echo(&self, args: &[Bytes], server: usize) -> Option<Echo> {
        let (channel, payload) = (args.get(1)?, args.get(2)?);
        let mut expected = Vec::new();
        if args[0].eq_ignore_ascii_case(b"spublish") {
            if self.shard.get(channel) == Some(&server) {
                expected.push(Delivery {
                    kind: "smessage",
                    pattern: None,
                });
            }
        } else {
            if self.channels.get(channel) == Some(&server) {
                expected.push(Delivery {
                    kind: "message",
                    pattern: None,
                });
            }
            expected.extend(
                self.patterns
                    .iter()
                    .filter(|p| glob_match(p, channel, false))
                    .map(|p| Delivery {
                        kind: "pmessage",
                        pattern: Some(p.clone()),
                    }),
            );
        }
        (!expected.is_empty()).then(|| Echo {
            channel: channel.clone(),
            payload: payload.clone(),
            expected,
        })
    }

    /// Forgets everything (RESET) and starts a new epoch; returns it.
    pub(super) fn reset(&mut self) -> u64 {
        self.release_all();
        self.channels.clear();
        self.shard.clear();
        self.patterns.clear();
        self.held.iter_mut().for_each(|n| *n = 0);
        self.epoch += 1;
        self.epoch
    }

    /// Closes every connection after what it owes.
    pub(super) fn release_all(&mut self) {
        for (_, conn) in self.conns.drain() {
            conn.release();
        }
    }

    /// Closes every connection at once.
    pub(super) fn abort_all(&mut self) {
        self.conns.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_the_six_commands() {
        assert_eq!(Kind::of("subscribe"), (Kind::Channel, true));
        assert_eq!(Kind::of("unsubscribe"), (Kind::Channel, false));
        assert_eq!(Kind::of("psubscribe"), (Kind::Pattern, true));
        assert_eq!(Kind::of("punsubscribe"), (Kind::Pattern, false));
        assert_eq!(Kind::of("ssubscribe"), (Kind::Shard, true));
        assert_eq!(Kind::of("sunsubscribe"), (Kind::Shard, false));
    }

    #[test]
    fn echo_expects_one_copy_per_own_subscription_on_that_server() {
        let (events, _rx) = mpsc::channel(1);
        let mut subs = Subscriptions::new(2, events);
        subs.add(Kind::Channel, &Bytes::from_static(b"news"), 1);
        subs.add(Kind::Pattern, &Bytes::from_static(b"n*"), 0);
        subs.add(Kind::Pattern, &Bytes::from_static(b"x*"), 0);
        let args = [
            Bytes::from_static(b"PUBLISH"),
            Bytes::from_static(b"news"),
            Bytes::from_static(b"hi"),
        ];
        let echo = subs.echo(&args, 1).expect("an echo");
        assert_eq!(echo.expected.len(), 2);
        // Published elsewhere than the channel's server: only the pattern's copy.
        assert_eq!(subs.echo(&args, 0).expect("an echo").expected.len(), 1);
        let other = [args[0].clone(), Bytes::from_static(b"zzz"), args[2].clone()];
        assert!(subs.echo(&other, 1).is_none());
    }

    #[test]
    fn release_idle_keeps_servers_with_subscriptions() {
        let (events, _rx) = mpsc::channel(1);
        let mut subs = Subscriptions::new(2, events);
        let name = Bytes::from_static(b"c");
        subs.add(Kind::Channel, &name, 1);
        assert_eq!(subs.remove(Kind::Channel, &name), vec![1]);
        assert!(subs.remove(Kind::Channel, &name).is_empty());
        assert_eq!(subs.held, vec![0, 0]);
    }
}
