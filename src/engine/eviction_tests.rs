//! Unit tests of the eviction policies.

use super::*;
use crate::engine::value::Value;

/// "Now" in these tests: well after the databases were created, so access
/// times (whole seconds since then) can be set in the past.
fn now() -> UnixMs {
    crate::engine::server::now_ms() + 1_000_000
}

/// Keys in database 0 as (name, seconds idle, TTL from now in ms).
fn keyspace_with(keys: &[(&str, u32, Option<UnixMs>)]) -> Keyspace {
    let mut ks = Keyspace::new(2);
    let now = now();
    for &(key, idle, ttl) in keys {
        let db = &mut ks.dbs[0];
        let value = Value::from_bytes(Bytes::from("v"));
        db.insert_with_expiry(
            Bytes::from(key.to_string()),
            value,
            ttl.map(|t| now + t),
            now,
        );
        let clock = db.entry_mut(key.as_bytes(), now).map(|e| e.access).unwrap();
        if let Some(entry) = db.entry_mut(key.as_bytes(), now) {
            entry.access = clock - idle;
        }
    }
    ks
}

fn picks(ks: &mut Keyspace, policy: Policy) -> Bytes {
    let mut pool = Vec::new();
    pick(ks, policy, 64, now(), &mut pool)
        .map(|(_, k)| k)
        .unwrap()
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
        ("new", 1, None),
        ("old", 100, None),
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
            pick(&mut ks, policy, 5, now(), &mut Vec::new()).is_none(),
            "{policy:?}"
        );
    }
    assert!(pick(&mut ks, Policy::AllKeysRandom, 5, now(), &mut Vec::new()).is_some());
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
        perform(&mut ks, 1, Policy::VolatileLru, 5, now()),
        Outcome::Fail
    );
    assert_eq!(ks.dbs[0].len(), 1);
    assert_eq!(ks.stats.evicted_keys, 1);
    assert_eq!(
        perform(&mut ks, 1, Policy::AllKeysLru, 5, now()),
        Outcome::Fail
    );
    assert!(ks.dbs[0].is_empty());
    assert_eq!(
        perform(&mut ks, 1, Policy::NoEviction, 5, now()),
        Outcome::Fail
    );
    assert_eq!(
        perform(&mut ks, u64::MAX, Policy::NoEviction, 5, now()),
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
