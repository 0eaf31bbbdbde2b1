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

use super::super::backend::encode_command;
use super::subscriptions::Kind;
use super::writer::Pending;
use super::{End, Lane, Session};
use crate::command::CommandSpec;
use crate::resp::{Frame, Request};

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
            sent: pool.metrics.start(&request.args[0], false),
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
