//! The journal's inbox: appends are framed into one buffer that the writer
//! thread takes in one go, and each append gets an [`Ack`] shared by all the
//! appends of that go (a group), resolved once they are written.

use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

use super::Record;
use crate::config::Fsync;

/// What a group's appends were told: written (and synced, if one asked).
pub(super) type Outcome = Result<(), String>;

/// The appends the writer takes in one go, and their one acknowledgement:
/// every [`Ack`] of the group watches it.
pub(super) type Group = watch::Sender<Option<Outcome>>;

/// The journal's word on one append: `Ok` once its record is written (and
/// synced, under `always`). Every append the writer takes in one go shares
/// one group, so acknowledging a thousand writes is one send, not a channel
/// per write.
#[derive(Debug)]
pub struct Ack(watch::Receiver<Option<Outcome>>);

impl Ack {
    fn failed(reason: &str) -> Ack {
        Ack(watch::channel(Some(Err(reason.to_string()))).1)
    }

    /// Waits for the group's outcome.
    ///
    /// # Errors
    /// The record could not be written or synced, or the journal stopped.
    pub async fn outcome(mut self) -> Outcome {
        match self.0.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or(Ok(())),
            Err(_) => Err("the journal stopped".to_string()),
        }
    }
}

/// What appenders leave for the writer thread, under one lock.
#[derive(Debug, Default)]
pub(super) struct Inbox {
    /// The framed records appended since the writer last took them.
    bytes: Vec<u8>,
    /// The last sequence of each rule among them (a handful of rules).
    last_per_rule: Vec<(Arc<str>, u64)>,
    /// One of them waits for an fsync (`always`).
    sync: bool,
    /// One of them is to be synced within a second (`everysec`).
    everysec: bool,
    /// Their acknowledgement.
    group: Group,
    /// Rules applied in SQL up to a sequence, since the writer last looked.
    applied: Vec<(String, u64)>,
    /// Asked to stop: answered once all is synced.
    stop: Vec<oneshot::Sender<()>>,
    /// The handle is gone, or the writer stopped: appends fail.
    closed: bool,
    /// The writer sleeps until told: the next append wakes it.
    waiting: bool,
}

impl Inbox {
    fn has_work(&self) -> bool {
        !self.bytes.is_empty() || !self.applied.is_empty() || !self.stop.is_empty() || self.closed
    }

    fn note(&mut self, rule: &Arc<str>, seq: u64, fsync: Fsync) {
        match self.last_per_rule.iter_mut().find(|(r, _)| **r == **rule) {
            Some(last) => last.1 = seq,
            None => self.last_per_rule.push((Arc::clone(rule), seq)),
        }
        self.sync |= fsync == Fsync::Always;
        self.everysec |= fsync == Fsync::Everysec;
    }
}

/// The inbox and the writer's wake-up.
#[derive(Debug, Default)]
pub(super) struct Shared {
    inbox: Mutex<Inbox>,
    work: Condvar,
}

/// What the writer took from the inbox in one go.
pub(super) struct Taken {
    pub(super) bytes: Vec<u8>,
    pub(super) last_per_rule: Vec<(Arc<str>, u64)>,
    pub(super) sync: bool,
    pub(super) everysec: bool,
    pub(super) group: Group,
    pub(super) applied: Vec<(String, u64)>,
    pub(super) stop: Vec<oneshot::Sender<()>>,
    pub(super) closed: bool,
}

impl Shared {
    /// Frames `record` into the inbox; its ack is the group's.
    pub(super) fn append(&self, record: &Record, fsync: Fsync) -> Ack {
        let mut inbox = self.inbox.lock();
        if inbox.closed {
            return Ack::failed("the journal is closed");
        }
        record.encode_into(&mut inbox.bytes);
        inbox.note(&record.rule, record.seq, fsync);
        if std::mem::take(&mut inbox.waiting) {
            self.work.notify_one();
        }
        Ack(inbox.group.subscribe())
    }

    pub(super) fn applied(&self, rule: &str, seq: u64) {
        self.inbox.lock().applied.push((rule.to_string(), seq));
    }

    /// Asks the writer to sync and stop, answering on `done`; false if it
    /// is closed already.
    pub(super) fn stop(&self, done: oneshot::Sender<()>) -> bool {
        let mut inbox = self.inbox.lock();
        if inbox.closed {
            return false;
        }
        inbox.stop.push(done);
        self.work.notify_one();
        true
    }

    /// The handle is gone: the writer syncs and stops.
    pub(super) fn close(&self) {
        self.inbox.lock().closed = true;
        self.work.notify_one();
    }

    /// Waits for work, at most `wait`, and takes it, leaving `spare` (an
    /// empty buffer) for the next appends.
    pub(super) fn take(&self, mut spare: Vec<u8>, wait: Duration) -> Taken {
        let mut inbox = self.inbox.lock();
        if !inbox.has_work() {
            inbox.waiting = true;
            let _ = self.work.wait_for(&mut inbox, wait);
            inbox.waiting = false;
        }
        std::mem::swap(&mut inbox.bytes, &mut spare);
        let closed = inbox.closed || !inbox.stop.is_empty();
        inbox.closed = closed;
        Taken {
            bytes: spare,
            last_per_rule: std::mem::take(&mut inbox.last_per_rule),
            sync: std::mem::take(&mut inbox.sync),
            everysec: std::mem::take(&mut inbox.everysec),
            group: std::mem::take(&mut inbox.group),
            applied: std::mem::take(&mut inbox.applied),
            stop: std::mem::take(&mut inbox.stop),
            closed,
        }
    }
}
