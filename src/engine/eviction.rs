//! maxmemory: before a command runs, if the process uses more than `maxmemory`,
//! evict keys by `maxmemory-policy` until enough is freed; a command that may grow
//! memory (flagged `denyoom`) is refused with OOM when that is impossible.
//!
//! As in Redis the policies are approximations: each round samples
//! `maxmemory-samples` keys of every database and adds them to a small pool of
//! the best candidates seen, then evicts the best of the pool:
//! - `*-lru`: the key idle longest ([`Entry::access`]);
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
//! [`Entry::access`]: super::db::Entry::access

use bytes::Bytes;
use rand::Rng;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::cmd::{self, CmdError, Ctx};
use super::db::{Db, Entry, UnixMs};
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

    /// Eviction priority of a key: higher goes first.
    fn score(self, entry: &Entry) -> u64 {
        match self {
            Policy::VolatileTtl => entry
                .expire_at()
                .map_or(0, |at| u64::MAX - at.max(0) as u64),
            _ => u64::from(u32::MAX - entry.access),
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
    if max == 0 {
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
            let Some(entry) = db.peek(&key) else { continue };
            offer(
                pool,
                Candidate {
                    score: policy.score(entry),
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
mod tests {
    use super::*;
    use crate::engine::value::Value;

    fn keyspace_with(keys: &[(&str, u32, Option<UnixMs>)]) -> Keyspace {
        let mut ks = Keyspace::new(2);
        for &(key, access, ttl) in keys {
            let db = &mut ks.dbs[0];
            db.insert_with_expiry(
                Bytes::from(key.to_string()),
                Value::from_bytes(Bytes::from("v")),
                ttl,
                0,
            );
            if let Some(entry) = db.entry_mut(key.as_bytes(), 0) {
                entry.access = access;
            }
        }
        ks
    }

    fn picks(ks: &mut Keyspace, policy: Policy) -> Bytes {
        let mut pool = Vec::new();
        pick(ks, policy, 64, 0, &mut pool).map(|(_, k)| k).unwrap()
    }

    #[test]
    fn policy_names() {
        for name in crate::engine::config::EVICTION_POLICIES {
            assert!(Policy::from_name(name).is_some(), "{name}");
        }
        assert_eq!(Policy::from_name("ALLKEYS-LRU"), Some(Policy::AllKeysLru));
        assert_eq!(Policy::from_name("lru"), None);
        assert!(Policy::VolatileTtl.volatile_only());
        assert!(!Policy::AllKeysRandom.volatile_only());
    }

    #[test]
    fn lru_prefers_the_oldest_access() {
        let mut ks = keyspace_with(&[
            ("new", 100, None),
            ("old", 1, None),
            ("mid", 50, Some(10_000)),
        ]);
        assert_eq!(picks(&mut ks, Policy::AllKeysLru), "old");
        assert_eq!(picks(&mut ks, Policy::VolatileLru), "mid");
        assert_eq!(picks(&mut ks, Policy::AllKeysLfu), "old");
    }

    #[test]
    fn ttl_prefers_the_nearest_expiry() {
        let mut ks = keyspace_with(&[
            ("later", 0, Some(9_000)),
            ("soon", 0, Some(5_000)),
            ("never", 0, None),
        ]);
        assert_eq!(picks(&mut ks, Policy::VolatileTtl), "soon");
    }

    #[test]
    fn volatile_policies_leave_persistent_keys() {
        let mut ks = keyspace_with(&[("a", 0, None), ("b", 0, None)]);
        for policy in [
            Policy::VolatileLru,
            Policy::VolatileRandom,
            Policy::VolatileTtl,
        ] {
            assert!(
                pick(&mut ks, policy, 5, 0, &mut Vec::new()).is_none(),
                "{policy:?}"
            );
        }
        assert!(pick(&mut ks, Policy::AllKeysRandom, 5, 0, &mut Vec::new()).is_some());
    }

    #[test]
    fn sparse_volatile_keys_are_found() {
        let mut keys: Vec<(String, u32, Option<UnixMs>)> =
            (0..2000).map(|i| (format!("p{i}"), 0, None)).collect();
        keys.push(("ttl".into(), 0, Some(1_000)));
        let refs: Vec<(&str, u32, Option<UnixMs>)> =
            keys.iter().map(|(k, a, t)| (k.as_str(), *a, *t)).collect();
        let mut ks = keyspace_with(&refs);
        assert_eq!(picks(&mut ks, Policy::VolatileRandom), "ttl");
    }

    #[test]
    fn eviction_frees_until_nothing_is_left() {
        let mut ks = keyspace_with(&[("a", 0, None), ("b", 0, Some(1_000))]);
        // A limit of one byte cannot be met: everything evictable goes, then Fail.
        assert_eq!(
            perform(&mut ks, 1, Policy::VolatileLru, 5, 0),
            Outcome::Fail
        );
        assert_eq!(ks.dbs[0].len(), 1);
        assert_eq!(ks.stats.evicted_keys, 1);
        assert_eq!(perform(&mut ks, 1, Policy::AllKeysLru, 5, 0), Outcome::Fail);
        assert!(ks.dbs[0].is_empty());
        assert_eq!(perform(&mut ks, 1, Policy::NoEviction, 5, 0), Outcome::Fail);
        assert_eq!(
            perform(&mut ks, u64::MAX, Policy::NoEviction, 5, 0),
            Outcome::Fits
        );
    }

    #[test]
    fn pool_keeps_the_best_candidates() {
        let mut pool = Vec::new();
        for score in 0..40u64 {
            offer(
                &mut pool,
                Candidate {
                    score,
                    db: 0,
                    key: Bytes::from(score.to_string()),
                },
            );
        }
        offer(
            &mut pool,
            Candidate {
                score: 39,
                db: 0,
                key: Bytes::from("39"),
            },
        );
        assert_eq!(pool.len(), POOL_SIZE);
        assert_eq!(pool.last().map(|c| c.score), Some(39));
        assert_eq!(pool.first().map(|c| c.score), Some(40 - POOL_SIZE as u64));
    }
}
