//! maxmemory: before a command runs, if the process uses more than `maxmemory`,
//! evict keys by `maxmemory-policy` until enough is freed; a command that may grow
//! memory (flagged `denyoom`) is refused with OOM when that is impossible.
//!
//! As in Redis the policies are approximations: each round samples
//! `maxmemory-samples` keys of every database and adds them to a small pool of
//! the best candidates seen, then evicts the best of the pool:
//! - `*-lru`: the key idle longest ([`Db::idle_secs`]);
//! - `*-lfu`: entries carry no access counter, so the least recently used stands
//!   in for the least frequently used;
//! - `volatile-ttl`: the key that expires soonest;
//! - `*-random`: any key, from the databases in turn.
//!
//! `volatile-*` policies consider only keys with a TTL. The memory to free is
//! `used_memory - maxmemory`; each eviction counts the estimated size of the key
//! it removed ([`memory::key_usage`]) because the allocator's figure is refreshed
//! only every few milliseconds. One call spends at most [`TIME_BUDGET`]; the next
//! command carries on if memory is still over the limit.
//!
//! [`Db::idle_secs`]: super::db::Db::idle_secs

use bytes::Bytes;
use rand::Rng;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::cmd::{self, CmdError, Ctx};
use super::db::{Db, UnixMs};
use super::keyspace::Keyspace;
use super::memory;
use super::session::NOT_QUEUED;
use crate::command::{CommandSpec, Flags};

/// Redis's reply to a `denyoom` command that does not fit.
pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Most time one eviction pass may hold the keyspace lock.
pub const TIME_BUDGET: Duration = Duration::from_millis(2);

/// Candidates kept between sampling rounds.
const POOL_SIZE: usize = 16;

/// Random draws spent looking for a key with a TTL before walking the database.
const VOLATILE_DRAWS: usize = 64;

/// `maxmemory-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Refuse `denyoom` commands; never evict.
    NoEviction,
    /// Least recently used, among all keys.
    AllKeysLru,
    /// Least recently used, among keys with a TTL.
    VolatileLru,
    /// Least frequently used (approximated by LRU), among all keys.
    AllKeysLfu,
    /// Least frequently used (approximated by LRU), among keys with a TTL.
    VolatileLfu,
    /// Any key.
    AllKeysRandom,
    /// Any key with a TTL.
    VolatileRandom,
    /// The key with a TTL that expires soonest.
    VolatileTtl,
}

impl Policy {
    /// The policy named as in redis.conf; `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<Policy> {
        Some(match name.to_ascii_lowercase().as_str() {
            "noeviction" => Policy::NoEviction,
            "allkeys-lru" => Policy::AllKeysLru,
            "volatile-lru" => Policy::VolatileLru,
            "allkeys-lfu" => Policy::AllKeysLfu,
            "volatile-lfu" => Policy::VolatileLfu,
            "allkeys-random" => Policy::AllKeysRandom,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => return None,
        })
    }

    /// True for the policies that only evict keys with a TTL.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    /// Eviction priority of a key: higher goes first. Idle time is asked of the
    /// database, whose access clock is its own.
    fn score(self, db: &mut Db, key: &[u8], now: UnixMs) -> Option<u64> {
        match self {
            Policy::VolatileTtl => {
                let at = db.peek(key)?.expire_at()?;
                Some(u64::MAX - at.max(0) as u64)
            }
            _ => db.idle_secs(key, now),
        }
    }
}

/// What an eviction pass achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Memory is under the limit (or no limit is set).
    Fits,
    /// Keys were evicted but the time budget ran out first: carry on next time.
    Running,
    /// Nothing (more) can be evicted and memory is still over the limit.
    Fail,
}

/// The check Redis makes before running a command: evict if over `maxmemory`,
/// and refuse the command with OOM if it may grow memory and memory still does
/// not fit.
///
/// # Errors
/// [`OOM_ERROR`] for a `denyoom` command (or one queued in MULTI, or an EXEC of
/// such commands) while memory cannot be brought under the limit.
pub fn admit(cx: &mut Ctx<'_>, spec: &CommandSpec) -> Result<(), CmdError> {
    let max = cx.shared.maxmemory.load(Ordering::Relaxed);
    // The common cases, without the config lock: no limit, or under it.
    if max == 0 || memory::used_memory() <= max {
        return Ok(());
    }
    let (policy, samples) = {
        let cfg = cx.shared.config.read();
        let policy = Policy::from_name(&cfg.maxmemory_policy).unwrap_or(Policy::NoEviction);
        (policy, cfg.maxmemory_samples.max(1) as usize)
    };
    let outcome = perform(cx.ks, max, policy, samples, cx.now);
    if outcome == Outcome::Fail && rejected_on_oom(cx, spec) {
        return Err(CmdError::msg(OOM_ERROR));
    }
    Ok(())
}

/// Whether a command is refused while memory is over the limit.
fn rejected_on_oom(cx: &Ctx<'_>, spec: &CommandSpec) -> bool {
    let denyoom = |s: &CommandSpec| s.flags.contains(Flags::DENYOOM);
    match &cx.client.multi {
        Some(queue) if spec.name == "exec" => queue.iter().any(|args| {
            cmd::lookup(&args[0]).is_some_and(|c| denyoom(cmd::effective_spec(c.spec, args)))
        }),
        // Inside MULTI every command that would be queued is refused, as in Redis.
        Some(_) => denyoom(spec) || !NOT_QUEUED.contains(&spec.name),
        None => denyoom(spec),
    }
}

/// Evicts keys until `used_memory` is estimated under `max`, nothing is left to
/// evict, or [`TIME_BUDGET`] is spent.
pub fn perform(
    ks: &mut Keyspace,
    max: u64,
    policy: Policy,
    samples: usize,
    now: UnixMs,
) -> Outcome {
    let used = memory::used_memory();
    if used <= max {
        return Outcome::Fits;
    }
    if policy == Policy::NoEviction {
        return Outcome::Fail;
    }
    let to_free = used - max;
    let started = Instant::now();
    let mut freed = 0u64;
    let mut pool = Vec::with_capacity(POOL_SIZE);
    while freed < to_free {
        if started.elapsed() > TIME_BUDGET {
            return Outcome::Running;
        }
        let Some((db, key)) = pick(ks, policy, samples, now, &mut pool) else {
            return Outcome::Fail;
        };
        if let Some(bytes) = evict(ks, db, &key, now) {
            freed += bytes;
        }
    }
    Outcome::Fits
}

/// Removes one key, telling watchers and blocked clients as any deletion does;
/// returns its estimated size.
fn evict(ks: &mut Keyspace, db: usize, key: &Bytes, now: UnixMs) -> Option<u64> {
    let value = ks.dbs[db].remove(key, now)?;
    let bytes = memory::key_usage(key, &value, 5) as u64;
    drop(value);
    memory::note_freed(bytes);
    ks.aof.delete(db, key);
    ks.touch(db, key);
    ks.stats.evicted_keys += 1;
    Some(bytes)
}

/// A key waiting in the pool, with its priority when sampled.
#[derive(Debug)]
struct Candidate {
    score: u64,
    db: usize,
    key: Bytes,
}

/// The next key to evict, or None when no database holds an evictable key.
fn pick(
    ks: &mut Keyspace,
    policy: Policy,
    samples: usize,
    now: UnixMs,
    pool: &mut Vec<Candidate>,
) -> Option<(usize, Bytes)> {
    if matches!(policy, Policy::AllKeysRandom | Policy::VolatileRandom) {
        return pick_random(ks, policy.volatile_only(), now);
    }
    let mut rng = rand::thread_rng();
    for (index, db) in ks.dbs.iter_mut().enumerate() {
        for _ in 0..samples {
            let Some(key) = sample_key(db, policy.volatile_only(), now, &mut rng) else {
                break;
            };
            let Some(score) = policy.score(db, &key, now) else {
                continue;
            };
            offer(
                pool,
                Candidate {
                    score,
                    db: index,
                    key,
                },
            );
        }
    }
    // The best candidate first; one that went away since it was sampled is skipped.
    while let Some(best) = pool.pop() {
        if ks.dbs[best.db].peek(&best.key).is_some() {
            return Some((best.db, best.key));
        }
    }
    None
}

/// Adds a candidate to the pool, kept sorted by score (best last) and bounded.
fn offer(pool: &mut Vec<Candidate>, candidate: Candidate) {
    if pool
        .iter()
        .any(|c| c.db == candidate.db && c.key == candidate.key)
    {
        return;
    }
    let at = pool.partition_point(|c| c.score <= candidate.score);
    pool.insert(at, candidate);
    if pool.len() > POOL_SIZE {
        pool.remove(0);
    }
}

/// A random key of the databases in turn, as Redis's random policies pick.
fn pick_random(ks: &mut Keyspace, volatile: bool, now: UnixMs) -> Option<(usize, Bytes)> {
    static NEXT_DB: AtomicUsize = AtomicUsize::new(0);
    let databases = ks.dbs.len();
    let mut rng = rand::thread_rng();
    for _ in 0..databases {
        let index = NEXT_DB.fetch_add(1, Ordering::Relaxed) % databases;
        if let Some(key) = sample_key(&mut ks.dbs[index], volatile, now, &mut rng) {
            return Some((index, key));
        }
    }
    None
}

/// A random live key of `db`; with `volatile`, one with a TTL.
fn sample_key(db: &mut Db, volatile: bool, now: UnixMs, rng: &mut impl Rng) -> Option<Bytes> {
    if !volatile {
        return db.random_key(now);
    }
    if db.volatile_len() == 0 {
        return None;
    }
    for _ in 0..VOLATILE_DRAWS {
        let key = db.random_key(now)?;
        if db.peek(&key).is_some_and(|e| e.expire_at().is_some()) {
            return Some(key);
        }
    }
    // Few keys have a TTL: walk to a random one of them.
    let nth = rng.gen_range(0..db.volatile_len());
    db.iter(now)
        .filter(|(_, e)| e.expire_at().is_some())
        .nth(nth)
        .map(|(k, _)| k.clone())
}

#[cfg(test)]
#[path = "eviction_tests.rs"]
mod tests;
