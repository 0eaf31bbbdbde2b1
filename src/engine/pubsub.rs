//! Channel, pattern and shard-channel subscriptions: who receives what PUBLISH
//! and SPUBLISH send.
//!
//! Kept apart from the keyspace lock: publishing never waits for commands on keys.
//! Messages go to each subscriber's connection over an unbounded channel and are
//! written before that connection's next reply. Every message is built once as a
//! push frame; a RESP2 connection's encoder writes it as an array.
//!
//! Shard channels (SSUBSCRIBE) are a namespace of their own, as in Redis 7:
//! SPUBLISH reaches only shard subscribers, PUBLISH never does, and their counts
//! are kept apart.
//!
//! A subscriber that does not read would make its queue grow without end, so
//! each one's queued bytes are counted ([`ClientHandle::queue_push`]) and past
//! [`OUTPUT_LIMIT`] it is dropped from the registry and its connection closed,
//! as Redis's `client-output-buffer-limit pubsub` hard limit does.

use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::mpsc;

use super::client::{Client, ClientHandle};
use super::glob;
use crate::resp::Frame;

/// Bytes of messages a subscriber may have waiting before it is disconnected
/// (Redis's default hard limit for pub/sub clients).
pub const OUTPUT_LIMIT: u64 = 32 * 1024 * 1024;

/// The three kinds of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE: exact channel names.
    Channel,
    /// PSUBSCRIBE: glob patterns over channel names.
    Pattern,
    /// SSUBSCRIBE: shard channels.
    Shard,
}

impl Kind {
    /// The confirmation word of a subscription (`subscribe`, `psubscribe`, `ssubscribe`).
    pub fn subscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    /// The confirmation word of an unsubscription.
    pub fn unsubscribe_word(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }
}

/// Where a subscriber's messages go, and its handle (to count and to close).
#[derive(Debug, Clone)]
pub struct Subscriber {
    tx: mpsc::UnboundedSender<Frame>,
    handle: Arc<ClientHandle>,
}

impl Subscriber {
    /// The subscriber a client is.
    pub fn of(client: &Client) -> Subscriber {
        Subscriber {
            tx: client.push.clone(),
            handle: Arc::clone(&client.handle),
        }
    }
}

/// Bytes a queued frame counts for against [`OUTPUT_LIMIT`]: the payloads of a
/// push frame plus a little per element; 0 for other frames (MONITOR lines).
pub fn push_size(frame: &Frame) -> u64 {
    let Frame::Push(items) = frame else { return 0 };
    items
        .iter()
        .map(|item| match item {
            Frame::Bulk(bytes) => bytes.len() as u64 + 16,
            _ => 16,
        })
        .sum()
}

/// Subscribers of one name, by client id (so delivery order is stable).
type Subscribers = BTreeMap<u64, Subscriber>;

/// Subscriptions of every client.
#[derive(Debug, Default)]
pub struct PubSub {
    channels: HashMap<Bytes, Subscribers>,
    patterns: HashMap<Bytes, Subscribers>,
    shard: HashMap<Bytes, Subscribers>,
}

impl PubSub {
    fn map(&mut self, kind: Kind) -> &mut HashMap<Bytes, Subscribers> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    fn map_ref(&self, kind: Kind) -> &HashMap<Bytes, Subscribers> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    /// Subscribes a client to `name`; false if it already was.
    pub fn add(&mut self, kind: Kind, name: Bytes, subscriber: &Subscriber) -> bool {
        let id = subscriber.handle.id;
        let subs = self.map(kind).entry(name).or_default();
        if subs.contains_key(&id) {
            return false;
        }
        subs.insert(id, subscriber.clone());
        true
    }

    /// Unsubscribes client `id` from `name`; false if it was not subscribed.
    pub fn remove(&mut self, kind: Kind, id: u64, name: &Bytes) -> bool {
        let map = self.map(kind);
        let Some(subs) = map.get_mut(name) else {
            return false;
        };
        let removed = subs.remove(&id).is_some();
        if subs.is_empty() {
            map.remove(name);
        }
        removed
    }

    /// Drops every subscription of a client that left (or was RESET).
    pub fn remove_client(&mut self, id: u64) {
        for map in [&mut self.channels, &mut self.patterns, &mut self.shard] {
            map.retain(|_, subs| {
                subs.remove(&id);
                !subs.is_empty()
            });
        }
    }

    /// Delivers `message` to subscribers of `channel` and of matching patterns,
    /// returning how many received it (a client matching twice counts twice).
    pub fn publish(&mut self, channel: &Bytes, message: &Bytes) -> usize {
        let mut delivery = Delivery::default();
        if let Some(subs) = self.channels.get(channel) {
            delivery.send_all(subs, &push("message", &[channel, message]));
        }
        for (pattern, subs) in &self.patterns {
            if glob::matches(pattern, channel, false) {
                delivery.send_all(subs, &push("pmessage", &[pattern, channel, message]));
            }
        }
        self.drop_overflowed(delivery)
    }

    /// Delivers `message` to subscribers of shard channel `channel` (SPUBLISH).
    pub fn spublish(&mut self, channel: &Bytes, message: &Bytes) -> usize {
        let mut delivery = Delivery::default();
        if let Some(subs) = self.shard.get(channel) {
            delivery.send_all(subs, &push("smessage", &[channel, message]));
        }
        self.drop_overflowed(delivery)
    }

    /// Forgets and disconnects the subscribers past [`OUTPUT_LIMIT`]; returns
    /// how many received the message.
    fn drop_overflowed(&mut self, delivery: Delivery) -> usize {
        for handle in delivery.overflowed {
            tracing::warn!(
                client = handle.id,
                "pub/sub output limit reached: closing the connection"
            );
            self.remove_client(handle.id);
            handle.kill.notify_one();
        }
        delivery.receivers
    }

    /// Active names of a kind (with at least one subscriber), optionally those
    /// matching a glob pattern.
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.map_ref(kind)
            .keys()
            .filter(|c| pattern.is_none_or(|p| glob::matches(p, c, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of one name (PUBSUB NUMSUB, SHARDNUMSUB).
    pub fn count(&self, kind: Kind, name: &Bytes) -> usize {
        self.map_ref(kind).get(name).map_or(0, BTreeMap::len)
    }

    /// Distinct names of a kind subscribed to.
    pub fn len(&self, kind: Kind) -> usize {
        self.map_ref(kind).len()
    }

    /// Distinct patterns subscribed to (PUBSUB NUMPAT).
    pub fn numpat(&self) -> usize {
        self.patterns.len()
    }
}

/// `[word, parts…]` as a push frame.
fn push(word: &'static str, parts: &[&Bytes]) -> Frame {
    let word = Frame::Bulk(Bytes::from_static(word.as_bytes()));
    let parts = parts.iter().map(|p| Frame::Bulk((*p).clone()));
    Frame::Push(std::iter::once(word).chain(parts).collect())
}

/// The outcome of one publication.
#[derive(Debug, Default)]
struct Delivery {
    receivers: usize,
    overflowed: Vec<Arc<ClientHandle>>,
}

impl Delivery {
    /// Sends to every subscriber still listening, counting what each has queued.
    fn send_all(&mut self, subs: &Subscribers, frame: &Frame) {
        let size = push_size(frame);
        for sub in subs.values() {
            if sub.tx.send(frame.clone()).is_err() {
                continue;
            }
            self.receivers += 1;
            let over = sub.handle.queue_push(size) > OUTPUT_LIMIT;
            if over && !self.overflowed.iter().any(|h| h.id == sub.handle.id) {
                self.overflowed.push(Arc::clone(&sub.handle));
            }
        }
    }
}

#[cfg(test)]
#[path = "pubsub_tests.rs"]
mod tests;
