//! The journal's inbox: appends are framed into one buffer that the writer
//! thread takes in one go, and each append gets an [`Ack`] shared by all the
//! appends of that go (a group), resolved once they are written.

use parking_lot::{Condvar, Mutex};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::sync::oneshot;

use super::Record;
use crate::config::Fsync;

/// What a group's appends were told: written (and synced, if one asked).
pub(super) type Outcome = Result<(), String>;

/// The appends the writer takes in one go, and their one acknowledgement.
#[derive(Debug, Default)]
pub(super) struct Group {
    state: Mutex<GroupState>,
}

#[derive(Debug, Default)]
struct GroupState {
    outcome: Option<Outcome>,
    /// The tasks waiting for `outcome`.
    wakers: Vec<Waker>,
}

impl Group {
    pub(super) fn finish(&self, outcome: Outcome) {
        let wakers = {
            let mut state = self.state.lock();
            state.outcome = Some(outcome);
            std::mem::take(&mut state.wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// The journal's word on one append: `Ok` once its record is written (and
/// synced, under `always`). Every append the writer takes in one go shares
/// one group, so acknowledging a thousand writes is one wake-up per waiting
/// task, not a channel per write.
#[derive(Debug)]
pub struct Ack {
    pub(super) group: Arc<Group>,
    /// Where this ack's waker sits in the group's list, once registered.
    pub(super) slot: Option<usize>,
}

impl Ack {
    pub(super) fn failed(reason: &str) -> Ack {
        let group = Group::default();
        group.finish(Err(reason.to_string()));
        Ack {
            group: Arc::new(group),
            slot: None,
        }
    }
}

impl Future for Ack {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let group = Arc::clone(&self.group);
        let mut state = group.state.lock();
        if let Some(outcome) = &state.outcome {
            return Poll::Ready(outcome.clone());
        }
        match self.slot {
            Some(i) => state.wakers[i].clone_from(cx.waker()),
            None => {
                self.slot = Some(state.wakers.len());
                state.wakers.push(cx.waker().clone());
            }
        }
        Poll::Pending
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
    group: Arc<Group>,
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
    pub(super) group: Arc<Group>,
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
        Ack {
            group: Arc::clone(&inbox.group),
            slot: None,
        }
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
