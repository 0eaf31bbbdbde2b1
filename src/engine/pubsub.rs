//! Channel and pattern subscriptions: who receives what PUBLISH sends.
//!
//! Kept apart from the keyspace lock: publishing never waits for commands on keys.
//! Messages go to each subscriber's connection over an unbounded channel and are
//! written after that connection's current batch of replies.

use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use tokio::sync::mpsc;

use super::glob;
use crate::resp::Frame;

type Sender = mpsc::UnboundedSender<Frame>;

/// Subscriptions of every client.
#[derive(Debug, Default)]
pub struct PubSub {
    channels: HashMap<Bytes, BTreeMap<u64, Sender>>,
    patterns: HashMap<Bytes, BTreeMap<u64, Sender>>,
}

impl PubSub {
    /// Subscribes client `id` to `channel`; false if it already was.
    pub fn subscribe(&mut self, id: u64, channel: Bytes, tx: &Sender) -> bool {
        self.channels
            .entry(channel)
            .or_default()
            .insert(id, tx.clone())
            .is_none()
    }

    /// Unsubscribes client `id` from `channel`; false if it was not subscribed.
    pub fn unsubscribe(&mut self, id: u64, channel: &Bytes) -> bool {
        remove(&mut self.channels, id, channel)
    }

    /// Subscribes client `id` to `pattern`; false if it already was.
    pub fn psubscribe(&mut self, id: u64, pattern: Bytes, tx: &Sender) -> bool {
        self.patterns
            .entry(pattern)
            .or_default()
            .insert(id, tx.clone())
            .is_none()
    }

    /// Unsubscribes client `id` from `pattern`; false if it was not subscribed.
    pub fn punsubscribe(&mut self, id: u64, pattern: &Bytes) -> bool {
        remove(&mut self.patterns, id, pattern)
    }

    /// Drops every subscription of a client that left.
    pub fn remove_client(&mut self, id: u64) {
        for map in [&mut self.channels, &mut self.patterns] {
            map.retain(|_, subs| {
                subs.remove(&id);
                !subs.is_empty()
            });
        }
    }

    /// Delivers `message` to subscribers of `channel` and of matching patterns,
    /// returning how many received it. `resp3` chooses push frames per receiver
    /// at encoding time, so the frame is built once as a push.
    pub fn publish(&self, channel: &Bytes, message: &Bytes) -> usize {
        let mut receivers = 0;
        if let Some(subs) = self.channels.get(channel) {
            let frame = Frame::Push(vec![
                Frame::bulk(Bytes::from_static(b"message")),
                Frame::Bulk(channel.clone()),
                Frame::Bulk(message.clone()),
            ]);
            receivers += subs
                .values()
                .filter(|tx| tx.send(frame.clone()).is_ok())
                .count();
        }
        for (pattern, subs) in &self.patterns {
            if !glob::matches(pattern, channel, false) {
                continue;
            }
            let frame = Frame::Push(vec![
                Frame::bulk(Bytes::from_static(b"pmessage")),
                Frame::Bulk(pattern.clone()),
                Frame::Bulk(channel.clone()),
                Frame::Bulk(message.clone()),
            ]);
            receivers += subs
                .values()
                .filter(|tx| tx.send(frame.clone()).is_ok())
                .count();
        }
        receivers
    }

    /// Active channels (with at least one subscriber), optionally matching a pattern.
    pub fn channels(&self, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.channels
            .keys()
            .filter(|c| pattern.is_none_or(|p| glob::matches(p, c, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of one channel (PUBSUB NUMSUB).
    pub fn numsub(&self, channel: &Bytes) -> usize {
        self.channels.get(channel).map_or(0, BTreeMap::len)
    }

    /// Distinct patterns subscribed to (PUBSUB NUMPAT).
    pub fn numpat(&self) -> usize {
        self.patterns.len()
    }
}

fn remove(map: &mut HashMap<Bytes, BTreeMap<u64, Sender>>, id: u64, name: &Bytes) -> bool {
    let Some(subs) = map.get_mut(name) else {
        return false;
    };
    let removed = subs.remove(&id).is_some();
    if subs.is_empty() {
        map.remove(name);
    }
    removed
}
