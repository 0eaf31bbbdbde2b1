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

use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use tokio::sync::mpsc;

use super::glob;
use crate::resp::Frame;

type Sender = mpsc::UnboundedSender<Frame>;

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

/// Subscribers of one name, by client id (so delivery order is stable).
type Subscribers = BTreeMap<u64, Sender>;

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

    /// Subscribes client `id` to `name`; false if it already was.
    pub fn add(&mut self, kind: Kind, id: u64, name: Bytes, tx: &Sender) -> bool {
        self.map(kind)
            .entry(name)
            .or_default()
            .insert(id, tx.clone())
            .is_none()
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

    /// Subscribes client `id` to `channel`; false if it already was.
    pub fn subscribe(&mut self, id: u64, channel: Bytes, tx: &Sender) -> bool {
        self.add(Kind::Channel, id, channel, tx)
    }

    /// Subscribes client `id` to `pattern`; false if it already was.
    pub fn psubscribe(&mut self, id: u64, pattern: Bytes, tx: &Sender) -> bool {
        self.add(Kind::Pattern, id, pattern, tx)
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
    pub fn publish(&self, channel: &Bytes, message: &Bytes) -> usize {
        let mut receivers = 0;
        if let Some(subs) = self.channels.get(channel) {
            let frame = push(&["message"], &[channel, message]);
            receivers += send_all(subs, &frame);
        }
        for (pattern, subs) in &self.patterns {
            if glob::matches(pattern, channel, false) {
                receivers += send_all(subs, &push(&["pmessage"], &[pattern, channel, message]));
            }
        }
        receivers
    }

    /// Delivers `message` to subscribers of shard channel `channel` (SPUBLISH).
    pub fn spublish(&self, channel: &Bytes, message: &Bytes) -> usize {
        self.shard.get(channel).map_or(0, |subs| {
            send_all(subs, &push(&["smessage"], &[channel, message]))
        })
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

    /// Active channels, optionally matching a pattern (PUBSUB CHANNELS).
    pub fn channels(&self, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.names(Kind::Channel, pattern)
    }

    /// Subscribers of one name (PUBSUB NUMSUB, SHARDNUMSUB).
    pub fn count(&self, kind: Kind, name: &Bytes) -> usize {
        self.map_ref(kind).get(name).map_or(0, BTreeMap::len)
    }

    /// Subscribers of one channel (PUBSUB NUMSUB).
    pub fn numsub(&self, channel: &Bytes) -> usize {
        self.count(Kind::Channel, channel)
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

fn push(words: &[&'static str], parts: &[&Bytes]) -> Frame {
    let words = words
        .iter()
        .map(|w| Frame::Bulk(Bytes::from_static(w.as_bytes())));
    Frame::Push(
        words
            .chain(parts.iter().map(|p| Frame::Bulk((*p).clone())))
            .collect(),
    )
}

/// Sends to every subscriber still listening; returns how many were reached.
fn send_all(subs: &Subscribers, frame: &Frame) -> usize {
    subs.values()
        .filter(|tx| tx.send(frame.clone()).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn channels_patterns_and_shards_are_apart() {
        let mut ps = PubSub::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        assert!(ps.subscribe(1, b("news"), &tx));
        assert!(!ps.subscribe(1, b("news"), &tx));
        assert!(ps.psubscribe(1, b("n*"), &tx));
        assert!(ps.add(Kind::Shard, 1, b("news"), &tx));
        assert_eq!(ps.publish(&b("news"), &b("hi")), 2);
        assert_eq!(ps.spublish(&b("news"), &b("s")), 1);
        assert_eq!(ps.spublish(&b("other"), &b("s")), 0);
        let kinds: Vec<Bytes> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|f| match f {
                Frame::Push(items) => match &items[0] {
                    Frame::Bulk(word) => word.clone(),
                    _ => Bytes::new(),
                },
                _ => Bytes::new(),
            })
            .collect();
        assert_eq!(kinds, vec![b("message"), b("pmessage"), b("smessage")]);
        assert_eq!(ps.names(Kind::Shard, None), vec![b("news")]);
        assert_eq!(ps.numpat(), 1);
        ps.remove_client(1);
        assert_eq!(
            ps.len(Kind::Channel) + ps.len(Kind::Pattern) + ps.len(Kind::Shard),
            0
        );
    }

    #[test]
    fn gone_receivers_are_not_counted() {
        let mut ps = PubSub::default();
        let (tx, rx) = mpsc::unbounded_channel();
        ps.subscribe(1, b("c"), &tx);
        drop(rx);
        assert_eq!(ps.publish(&b("c"), &b("m")), 0);
        assert!(ps.remove(Kind::Channel, 1, &b("c")));
        assert!(!ps.remove(Kind::Channel, 1, &b("c")));
        assert!(ps.channels(None).is_empty());
    }
}
