//! Freeing large values off the command path (UNLINK, DEL with
//! `lazyfree-lazy-user-del yes`), as Redis's lazyfree background thread does.
//!
//! Dropping a set of a million members walks a million allocations; done under
//! the keyspace lock it would stall every client. UNLINK removes the key at once
//! and hands such a value to one dedicated thread through a channel.
//!
//! Why one dedicated thread rather than `tokio::task::spawn_blocking`: frees are
//! serialized on one thread, as in Redis, so a burst of UNLINKs costs the command
//! path one channel send each and never grows tokio's blocking pool (up to 512
//! threads) competing with the workers for the cores; and it works without a
//! runtime (unit tests, a value dropped from a plain thread). The thread is
//! started on first use and shared by every engine of the process; it owns no
//! resource but the memory it frees, and ends with the process. If it cannot be
//! started, values are freed in place.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::LazyLock;

use crate::engine::value::Value;

/// Values costing at most this many frees are dropped in place: sending them
/// away would cost more than freeing them (Redis's `LAZYFREE_THRESHOLD`).
const THRESHOLD: usize = 64;

/// Something the thread drops.
type Garbage = Box<dyn Any + Send>;

/// The channel to the lazy-free thread; None if it could not be started.
static THREAD: LazyLock<Option<Sender<Garbage>>> = LazyLock::new(start);

/// Objects handed over and not yet freed (INFO `lazyfree_pending_objects`).
static PENDING: AtomicU64 = AtomicU64::new(0);

/// Objects freed by the thread since the process started (INFO `lazyfreed_objects`).
static FREED: AtomicU64 = AtomicU64::new(0);

fn start() -> Option<Sender<Garbage>> {
    let (tx, rx) = mpsc::channel::<Garbage>();
    let spawned = std::thread::Builder::new()
        .name("shardcar-lazyfree".into())
        .spawn(move || {
            for garbage in rx {
                drop(garbage);
                PENDING.fetch_sub(1, Ordering::Relaxed);
                FREED.fetch_add(1, Ordering::Relaxed);
            }
        });
    match spawned {
        Ok(_) => Some(tx),
        Err(err) => {
            tracing::warn!(cause = %err, "cannot start the lazy-free thread; freeing in place");
            None
        }
    }
}

/// Frees `value`: in place if it is cheap, else on the lazy-free thread.
pub(crate) fn free(value: Value) {
    if is_costly(&value) {
        free_later(Box::new(value));
    }
}

/// Hands anything to the lazy-free thread (a whole database for FLUSHDB ASYNC, say).
pub(crate) fn free_later(garbage: Garbage) {
    let Some(tx) = THREAD.as_ref() else { return };
    PENDING.fetch_add(1, Ordering::Relaxed);
    if let Err(mpsc::SendError(garbage)) = tx.send(garbage) {
        // The thread is gone (it panicked): free here.
        PENDING.fetch_sub(1, Ordering::Relaxed);
        drop(garbage);
    }
}

/// Objects waiting for the lazy-free thread.
#[allow(dead_code)] // read by INFO's memory section once the server family lands
pub(crate) fn pending() -> u64 {
    PENDING.load(Ordering::Relaxed)
}

/// Objects the lazy-free thread has freed.
#[allow(dead_code)] // read by INFO's memory section once the server family lands
pub(crate) fn freed() -> u64 {
    FREED.load(Ordering::Relaxed)
}

/// True when freeing `value` walks more than [`THRESHOLD`] allocations. Lists
/// hold one allocation per element; the other aggregates are judged by their
/// encoding, which is compact only while small.
fn is_costly(value: &Value) -> bool {
    match value {
        Value::Str(_) => false,
        Value::List(list) => list.len() > THRESHOLD,
        Value::Hash(hash) => hash.encoding() != "listpack",
        Value::Set(set) => set.encoding() != "intset",
        Value::ZSet(zset) => zset.encoding() != "listpack",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::collections::VecDeque;
    use std::time::Duration;

    /// Reports the name of the thread it is dropped on.
    struct Probe(mpsc::Sender<Option<String>>);

    impl Drop for Probe {
        fn drop(&mut self) {
            let _ = self
                .0
                .send(std::thread::current().name().map(str::to_owned));
        }
    }

    #[test]
    fn garbage_is_dropped_on_the_lazyfree_thread() {
        let (tx, rx) = mpsc::channel();
        let before = freed();
        free_later(Box::new(Probe(tx)));
        let thread = rx.recv_timeout(Duration::from_secs(5)).expect("dropped");
        assert_eq!(thread.as_deref(), Some("shardcar-lazyfree"));
        // The counter moves right after the drop returns.
        for _ in 0..500 {
            if freed() > before {
                return;
            }
            std::thread::yield_now();
        }
        panic!("freed counter did not move");
    }

    #[test]
    fn only_large_values_are_sent_away() {
        let list = |n: usize| {
            Value::List(
                (0..n)
                    .map(|i| Bytes::from(i.to_string()))
                    .collect::<VecDeque<_>>(),
            )
        };
        assert!(!is_costly(&Value::from_bytes(Bytes::from(vec![
            b'x';
            1 << 20
        ]))));
        assert!(!is_costly(&list(THRESHOLD)));
        assert!(is_costly(&list(THRESHOLD + 1)));
    }
}
