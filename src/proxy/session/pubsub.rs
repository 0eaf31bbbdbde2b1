//! Pub/sub through the proxy: the client's subscriptions, on which servers they
//! are made, and PUBLISH next to them.
//!
//! # Where subscriptions go
//! - A channel (SUBSCRIBE) and a shard channel (SSUBSCRIBE) are subscribed on the
//!   server the channel's name hashes to, hash tags included, exactly as a key.
//! - A pattern (PSUBSCRIBE) is subscribed on every server of the pool.
//! - PUBLISH (and SPUBLISH) goes to the channel's server only.
//!
//! So a message is published on exactly one server, where the channel's
//! subscribers are and where every pattern is: each subscription receives each
//! message once, with no deduplication to do (a client subscribed to both a
//! channel and a matching pattern gets a `message` and a `pmessage`, as from
//! Redis). The other way round — publishing everywhere and subscribing patterns
//! once — would cost every PUBLISH a write per server. Two limits follow: a
//! pattern needs every server reachable (a subscriber connection that fails closes
//! the client's connection, so its library resubscribes), and when an ejected
//! server moves a channel to another server, messages published meanwhile reach
//! the pattern subscribers but not the channel's, until they resubscribe.
//!
//! # Confirmations
//! Each server confirms per channel with its own count; the client wants counts
//! over all its subscriptions, as one server would give. The proxy therefore
//! writes its own confirmations (same order, same counts as Redis) and holds them
//! until the servers confirmed, so that a PUBLISH sent after `subscribe` came back
//! is seen. A subscribed RESP2 client may only (un)subscribe, PING, QUIT and
//! RESET, as on Redis; a RESP3 client may send anything.

use bytes::{Bytes, BytesMut};
use std::collections::{HashMap, HashSet};
use tokio::sync::mpsc;

use super::super::backend::encode_command;
use super::super::subscriber::{Delivery, Echo, Event, Subscriber};
use super::writer::Pending;
use super::{Client, End, Lane, Session};
use crate::command::{self, glob::glob_match, CommandSpec};
use crate::resp::{Frame, Protocol, Request};

/// The three kinds of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    /// The kind a (un)subscribe command is about, and whether it subscribes.
    fn of(name: &str) -> (Kind, bool) {
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

    fn subscribe(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    fn unsubscribe(self) -> &'static str {
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
    events: mpsc::Sender<Event>,
    epoch: u64,
}

impl Subscriptions {
    pub(super) fn new(servers: usize, events: mpsc::Sender<Event>) -> Subscriptions {
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

    fn total(&self) -> usize {
        self.channels.len() + self.shard.len() + self.patterns.len()
    }

    /// The count a confirmation reports: shard channels count apart, as in Redis.
    fn count(&self, kind: Kind) -> i64 {
        let n = match kind {
            Kind::Shard => self.shard.len(),
            _ => self.channels.len() + self.patterns.len(),
        };
        n as i64
    }

    /// True while the client has a subscriber connection to `server`.
    pub(super) fn is_connected(&self, server: usize) -> bool {
        self.conns.contains_key(&server)
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
    fn add(&mut self, kind: Kind, name: &Bytes, server: usize) -> bool {
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
    fn remove(&mut self, kind: Kind, name: &Bytes) -> Vec<usize> {
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

    fn names(&self, kind: Kind) -> Vec<Bytes> {
        match kind {
            Kind::Channel => self.channels.keys().cloned().collect(),
            Kind::Shard => self.shard.keys().cloned().collect(),
            Kind::Pattern => self.patterns.iter().cloned().collect(),
        }
    }

    /// The subscriber connection to `server`, opened if needed.
    fn conn(&mut self, pool: &super::Pool, server: usize) -> &Subscriber {
        let (epoch, events) = (self.epoch, &self.events);
        self.conns.entry(server).or_insert_with(|| {
            let target = &pool.servers[server];
            let id = (server, target.name.clone());
            Subscriber::open(target.endpoint(), id, epoch, events.clone())
        })
    }

    /// Releases the connections of servers the client has nothing left on.
    fn release_idle(&mut self) {
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
    fn echo(&self, args: &[Bytes], server: usize) -> Option<Echo> {
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

/// A confirmation as Redis writes it: kind, name (or null), count.
fn confirmation(kind: &'static str, name: Option<&Bytes>, count: i64) -> Frame {
    Frame::Push(vec![
        Frame::bulk(kind),
        name.map_or(Frame::Null, |n| Frame::Bulk(n.clone())),
        Frame::Integer(count),
    ])
}

impl Session {
    /// SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UN- counterparts.
    pub(super) async fn subscription(
        &mut self,
        spec: &CommandSpec,
        args: &[Bytes],
    ) -> Result<(), End> {
        let (kind, subscribes) = Kind::of(spec.name);
        if subscribes {
            self.subscribe(kind, &args[1..]).await
        } else {
            self.unsubscribe(kind, &args[1..]).await
        }
    }

    /// The servers a subscription to `name` goes to; None when none is live.
    fn servers_for(&self, kind: Kind, name: &[u8]) -> Option<Vec<usize>> {
        let pool = &self.client.pool;
        match kind {
            Kind::Pattern => Some((0..pool.servers.len()).collect()),
            _ => pool.server_for(name).map(|s| vec![s]),
        }
    }

    async fn subscribe(&mut self, kind: Kind, names: &[Bytes]) -> Result<(), End> {
        let mut routed = Vec::with_capacity(names.len());
        for name in names {
            match self.servers_for(kind, name) {
                Some(servers) => routed.push((name, servers)),
                None => return self.reply(super::route::no_server(&self.client.pool)).await,
            }
        }
        let mut frames = Vec::with_capacity(names.len());
        let mut sends: Vec<(usize, Vec<Bytes>)> = Vec::new();
        for (name, servers) in routed {
            if self.subs.add(kind, name, servers[0]) {
                add_to(&mut sends, &servers, name);
            }
            frames.push(confirmation(
                kind.subscribe(),
                Some(name),
                self.subs.count(kind),
            ));
        }
        let acks = self.send_subscriptions(kind.subscribe(), sends).await?;
        self.client.subscriptions = self.subs.total();
        self.push(Pending::Subscribed { frames, acks }).await
    }

    async fn unsubscribe(&mut self, kind: Kind, names: &[Bytes]) -> Result<(), End> {
        let names = if names.is_empty() {
            self.subs.names(kind)
        } else {
            names.to_vec()
        };
        let mut frames = Vec::with_capacity(names.len().max(1));
        let mut sends: Vec<(usize, Vec<Bytes>)> = Vec::new();
        for name in &names {
            let servers = self.subs.remove(kind, name);
            add_to(&mut sends, &servers, name);
            frames.push(confirmation(
                kind.unsubscribe(),
                Some(name),
                self.subs.count(kind),
            ));
        }
        if names.is_empty() {
            frames.push(confirmation(
                kind.unsubscribe(),
                None,
                self.subs.count(kind),
            ));
        }
        let acks = self.send_subscriptions(kind.unsubscribe(), sends).await?;
        self.subs.release_idle();
        self.client.subscriptions = self.subs.total();
        self.push(Pending::Subscribed { frames, acks }).await
    }

    /// Sends one (un)subscribe per server for its names; the confirmations owed.
    async fn send_subscriptions(
        &mut self,
        command: &str,
        sends: Vec<(usize, Vec<Bytes>)>,
    ) -> Result<Vec<(usize, usize)>, End> {
        let pool = std::sync::Arc::clone(&self.client.pool);
        let mut acks = Vec::with_capacity(sends.len());
        for (server, names) in sends {
            self.enter(server, Lane::Subscriber).await?;
            let mut args: Vec<&[u8]> = vec![command.as_bytes()];
            args.extend(names.iter().map(|n| n.as_ref()));
            let mut request = BytesMut::new();
            encode_command(&args, &mut request);
            self.subs
                .conn(&pool, server)
                .subscription(request.freeze(), names.len());
            acks.push((server, names.len()));
        }
        Ok(acks)
    }

    /// PUBLISH on the client's subscriber connection to `server`, in order with
    /// its subscriptions there; with NOECHO, its own copies are dropped.
    pub(super) async fn publish(&mut self, server: usize, request: &Request) -> Result<(), End> {
        let echo = if self.client.noecho {
            self.subs.echo(&request.args, server)
        } else {
            None
        };
        self.enter(server, Lane::Subscriber).await?;
        let pool = std::sync::Arc::clone(&self.client.pool);
        super::count_request(&pool.servers[server], request.raw.len());
        let reply = self.subs.conn(&pool, server).call(request.to_resp(), echo);
        self.push(Pending::Backend {
            server,
            reply,
            sent: tokio::time::Instant::now(),
            timed: false,
        })
        .await
    }
}

/// Adds `name` to the list of each of `servers` in `sends`.
fn add_to(sends: &mut Vec<(usize, Vec<Bytes>)>, servers: &[usize], name: &Bytes) {
    for &server in servers {
        match sends.iter_mut().find(|(s, _)| *s == server) {
            Some((_, names)) => names.push(name.clone()),
            None => sends.push((server, vec![name.clone()])),
        }
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
