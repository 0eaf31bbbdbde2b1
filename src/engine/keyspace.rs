//! Everything guarded by the engine's one lock: the databases, who watches which
//! key (WATCH), who is blocked on which key (BLPOP…), and command statistics.
//!
//! Commands touch keys; `touch` is the single hook through which a modification
//! reaches watchers (their transaction will abort) and blocked clients (the key is
//! queued as ready and they are served after the command, in the order they blocked).

use bytes::Bytes;
use std::collections::{HashMap, HashSet, VecDeque};
use tokio::sync::oneshot;

use super::db::Db;
use super::persist::aof::Feed;
use super::value::EncodingLimits;
use crate::resp::Frame;

/// A (database index, key) pair.
pub type DbKey = (usize, Bytes);

/// The engine's locked state.
#[derive(Debug)]
pub struct Keyspace {
    /// The numbered databases (SELECT).
    pub dbs: Vec<Db>,
    /// Thresholds for compact encodings (CONFIG SET changes them).
    pub limits: EncodingLimits,
    /// WATCHed keys.
    pub watches: Watches,
    /// Clients blocked on keys.
    pub blocked: Blocked,
    /// Counters for INFO.
    pub stats: Stats,
    /// Modifications since the last save (INFO rdb_changes_since_last_save).
    pub dirty: u64,
    /// Writes to append to the AOF, in execution order.
    pub aof: Feed,
}

impl Keyspace {
    /// `databases` empty databases.
    pub fn new(databases: usize) -> Keyspace {
        Keyspace {
            dbs: (0..databases).map(|_| Db::new()).collect(),
            limits: EncodingLimits::default(),
            watches: Watches::default(),
            blocked: Blocked::default(),
            stats: Stats::default(),
            dirty: 0,
            aof: Feed::default(),
        }
    }

    /// Signals that `key` in database `db` was modified.
    pub fn touch(&mut self, db: usize, key: &Bytes) {
        self.dirty += 1;
        if !self.watches.by_key.is_empty() {
            self.watches.touch(db, key);
        }
        if !self.blocked.by_key.is_empty() && self.blocked.by_key.contains_key(&(db, key.clone())) {
            self.blocked.ready.push_back((db, key.clone()));
        }
    }

    /// Tells watchers and blocked clients about keys deleted by expiry, and
    /// counts them; returns how many.
    pub fn settle_expired(&mut self) -> u64 {
        let mut count = 0;
        for db in 0..self.dbs.len() {
            if !self.dbs[db].has_expired() {
                continue;
            }
            for key in self.dbs[db].take_expired() {
                self.aof.delete(db, &key);
                self.touch(db, &key);
                count += 1;
            }
        }
        self.stats.expired_keys += count;
        count
    }

    /// Signals that every key of database `db` may have changed (FLUSHDB, SWAPDB).
    pub fn touch_all(&mut self, db: usize) {
        self.dirty += 1;
        self.watches.touch_db(db);
        let keys: Vec<DbKey> = self
            .blocked
            .by_key
            .keys()
            .filter(|(d, _)| *d == db)
            .cloned()
            .collect();
        self.blocked.ready.extend(keys);
    }
}

/// Keys watched by clients, and the clients whose transaction must abort.
#[derive(Debug, Default)]
pub struct Watches {
    by_key: HashMap<DbKey, Vec<u64>>,
    dirty: HashSet<u64>,
}

impl Watches {
    /// Client `id` watches `key`.
    pub fn watch(&mut self, id: u64, db: usize, key: Bytes) {
        let ids = self.by_key.entry((db, key)).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    fn touch(&mut self, db: usize, key: &Bytes) {
        if let Some(ids) = self.by_key.get(&(db, key.clone())) {
            self.dirty.extend(ids.iter().copied());
        }
    }

    fn touch_db(&mut self, db: usize) {
        for ((d, _), ids) in &self.by_key {
            if *d == db {
                self.dirty.extend(ids.iter().copied());
            }
        }
    }

    /// True if a key client `id` watches was modified since WATCH.
    pub fn is_dirty(&self, id: u64) -> bool {
        self.dirty.contains(&id)
    }

    /// Marks client `id`'s transaction as doomed (a watched key expired, say).
    pub fn mark_dirty(&mut self, id: u64) {
        self.dirty.insert(id);
    }

    /// Forgets everything client `id` watched (EXEC, DISCARD, UNWATCH, disconnect).
    pub fn unwatch(&mut self, id: u64, keys: &[DbKey]) {
        for key in keys {
            if let Some(ids) = self.by_key.get_mut(key) {
                ids.retain(|&w| w != id);
                if ids.is_empty() {
                    self.by_key.remove(key);
                }
            }
        }
        self.dirty.remove(&id);
    }
}

/// A client waiting on keys (BLPOP, BZPOPMIN, BLMOVE…).
#[derive(Debug)]
pub struct Waiter {
    /// The blocked command, retried when one of its keys is ready.
    pub args: Vec<Bytes>,
    /// The database it runs in.
    pub db: usize,
    /// The keys it waits on.
    pub keys: Vec<Bytes>,
    /// Where its reply goes.
    pub reply: oneshot::Sender<Frame>,
}

/// Blocked clients, per key in the order they blocked.
#[derive(Debug, Default)]
pub struct Blocked {
    by_key: HashMap<DbKey, VecDeque<u64>>,
    waiters: HashMap<u64, Waiter>,
    /// Keys modified since the last serve, with waiters on them.
    pub ready: VecDeque<DbKey>,
    next_id: u64,
}

impl Blocked {
    /// Registers a waiter and returns its id.
    pub fn block(&mut self, waiter: Waiter) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        for key in &waiter.keys {
            self.by_key
                .entry((waiter.db, key.clone()))
                .or_default()
                .push_back(id);
        }
        self.waiters.insert(id, waiter);
        id
    }

    /// Removes a waiter (served, timed out or disconnected).
    pub fn unblock(&mut self, id: u64) -> Option<Waiter> {
        let waiter = self.waiters.remove(&id)?;
        for key in &waiter.keys {
            let db_key = (waiter.db, key.clone());
            if let Some(queue) = self.by_key.get_mut(&db_key) {
                queue.retain(|&w| w != id);
                if queue.is_empty() {
                    self.by_key.remove(&db_key);
                }
            }
        }
        Some(waiter)
    }

    /// The waiters on a key, oldest first.
    pub fn waiters_on(&self, key: &DbKey) -> Vec<u64> {
        self.by_key
            .get(key)
            .map(|q| q.iter().copied().collect())
            .unwrap_or_default()
    }

    /// A waiter's command and database.
    pub fn waiter(&self, id: u64) -> Option<&Waiter> {
        self.waiters.get(&id)
    }

    /// Number of blocked clients.
    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    /// True when no client is blocked.
    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }
}

/// Per-command counters (INFO commandstats) and global ones (INFO stats).
#[derive(Debug, Default)]
pub struct Stats {
    /// Calls, microseconds and failures per command name.
    pub commands: ahash::AHashMap<&'static str, CommandStat>,
    /// Commands executed.
    pub total_commands: u64,
    /// Commands rejected before running (unknown, arity, auth…).
    pub rejected_calls: u64,
    /// Commands that ran and replied with an error.
    pub failed_calls: u64,
    /// Keys removed by expiry.
    pub expired_keys: u64,
    /// Keys removed by maxmemory eviction.
    pub evicted_keys: u64,
    /// Reads that found their key.
    pub keyspace_hits: u64,
    /// Reads that did not.
    pub keyspace_misses: u64,
}

/// Counters of one command.
#[derive(Debug, Default, Clone)]
pub struct CommandStat {
    /// Times called.
    pub calls: u64,
    /// Total time spent, in microseconds.
    pub usec: u64,
    /// Calls rejected before running.
    pub rejected: u64,
    /// Calls that replied with an error.
    pub failed: u64,
}
