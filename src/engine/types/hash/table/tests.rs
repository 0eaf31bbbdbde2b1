//! Unit tests of [`Table`]: map behaviour against a model, order across
//! compactions, the scan guarantee under churn, bounded scan work, uniform picks.

use super::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::HashMap;

fn key(i: usize) -> Bytes {
    Bytes::from(format!("k{i}"))
}

#[test]
fn insert_get_replace_remove() {
    let mut t = Table::default();
    assert_eq!(t.insert(key(1), 10), None);
    assert_eq!(t.insert(key(2), 20), None);
    assert_eq!(t.insert(key(1), 11), Some(10));
    assert_eq!(t.len(), 2);
    assert_eq!(t.get(b"k1"), Some(&11));
    assert!(t.contains(b"k2"));
    assert!(!t.contains(b"k3"));
    assert_eq!(t.remove(b"k1"), Some((key(1), 11)));
    assert_eq!(t.remove(b"k1"), None);
    assert_eq!(t.len(), 1);
    *t.get_mut(b"k2").unwrap() += 1;
    assert_eq!(t.get(b"k2"), Some(&21));
}

#[test]
fn order_is_insertion_order_across_compactions() {
    let mut t = Table::default();
    for i in 0..1000 {
        t.insert(key(i), i);
    }
    for i in (0..1000).filter(|i| i % 3 != 0) {
        t.remove(key(i).as_ref());
    }
    assert!(t.slots.len() <= 2 * t.len(), "compacted");
    let got: Vec<usize> = t.iter().map(|(_, &v)| v).collect();
    let want: Vec<usize> = (0..1000).filter(|i| i % 3 == 0).collect();
    assert_eq!(got, want);
    for i in (0..1000).step_by(3) {
        assert_eq!(t.get(key(i).as_ref()), Some(&i), "index remapped");
    }
}

#[test]
fn emptying_and_refilling() {
    let mut t = Table::default();
    for round in 0..3 {
        for i in 0..100 {
            t.insert(key(i), round);
        }
        for i in 0..100 {
            assert_eq!(t.remove(key(i).as_ref()).map(|(_, v)| v), Some(round));
        }
        assert!(t.is_empty());
        assert!(t.random(&mut rand::thread_rng()).is_none());
    }
}

/// Model check: random operations against a `HashMap`.
#[test]
fn behaves_like_a_map() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut t = Table::default();
    let mut model = HashMap::new();
    for step in 0..20_000 {
        let k = key(rng.gen_range(0..300));
        if rng.gen_bool(0.55) {
            assert_eq!(t.insert(k.clone(), step), model.insert(k, step));
        } else {
            assert_eq!(t.remove(&k).map(|(_, v)| v), model.remove(&k));
        }
        assert_eq!(t.len(), model.len());
        assert!(t.slots.len() - t.len() <= t.len());
    }
    for (k, v) in &model {
        assert_eq!(t.get(k), Some(v));
    }
}

#[test]
fn scan_returns_each_stable_entry_exactly_once_despite_churn() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut t = Table::default();
    for i in 0..2000 {
        t.insert(Bytes::from(format!("stable{i}")), ());
    }
    let mut seen: HashMap<Bytes, usize> = HashMap::new();
    let mut cursor = 0;
    let mut round = 0;
    loop {
        cursor = t.scan(cursor, 7, |k, _| *seen.entry(k.clone()).or_default() += 1);
        // Churn: add a burst, remove most of it and some earlier churn, so the
        // table compacts and grows between calls.
        for j in 0..40 {
            t.insert(Bytes::from(format!("churn{round}-{j}")), ());
        }
        for j in 0..38 {
            t.remove(format!("churn{round}-{j}").as_bytes());
        }
        if round > 0 && rng.gen_bool(0.5) {
            t.remove(format!("churn{}-39", round - 1).as_bytes());
        }
        round += 1;
        if cursor == 0 {
            break;
        }
    }
    for i in 0..2000 {
        assert_eq!(
            seen.get(format!("stable{i}").as_bytes()),
            Some(&1),
            "stable{i}"
        );
    }
}

#[test]
fn scan_survives_mass_removal_mid_scan() {
    let mut t = Table::default();
    for i in 0..1000 {
        t.insert(key(i), ());
    }
    let mut seen = HashSet::new();
    let mut cursor = t.scan(0, 100, |k, _| {
        seen.insert(k.clone());
    });
    // Remove everything except every tenth entry: the table compacts hard.
    for i in (0..1000).filter(|i| i % 10 != 0) {
        t.remove(key(i).as_ref());
    }
    while cursor != 0 {
        cursor = t.scan(cursor, 5, |k, _| {
            seen.insert(k.clone());
        });
    }
    for i in (0..1000).step_by(10) {
        assert!(seen.contains(&key(i)), "k{i}");
    }
}

#[test]
fn scan_work_per_call_is_bounded_by_holes() {
    let mut t = Table::default();
    for i in 0..100 {
        t.insert(key(i), ());
    }
    for i in 1..51 {
        t.remove(key(i).as_ref()); // 50 holes, 50 live: no compaction yet
    }
    let mut n = 0;
    let cursor = t.scan(0, 2, |_, _| n += 1);
    assert_eq!(n, 1, "k0, then 20 holes stop the call");
    assert_ne!(cursor, 0);
}

#[test]
fn random_picks_are_uniform() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut t = Table::default();
    for i in 0..20 {
        t.insert(key(i), i);
    }
    for i in 0..10 {
        t.remove(key(i * 2).as_ref()); // holes interleaved with entries
    }
    let mut counts = [0usize; 20];
    for _ in 0..20_000 {
        let (_, &v) = t.random(&mut rng).unwrap();
        counts[v] += 1;
    }
    for (v, &c) in counts.iter().enumerate() {
        if v % 2 == 0 {
            assert_eq!(c, 0);
        } else {
            assert!((1600..2400).contains(&c), "value {v} drawn {c} times");
        }
    }
}

#[test]
fn samples_are_distinct() {
    let mut rng = StdRng::seed_from_u64(5);
    let t: Table<usize> = (0..100).map(|i| (key(i), i)).collect();
    for count in [0, 1, 10, 33, 34, 99, 100, 1000] {
        let picks = t.sample(count, &mut rng);
        assert_eq!(picks.len(), count.min(100));
        let distinct: HashSet<_> = picks.iter().map(|(k, _)| *k).collect();
        assert_eq!(distinct.len(), picks.len());
    }
}

#[test]
fn pop_random_and_drain() {
    let mut rng = StdRng::seed_from_u64(9);
    let mut t: Table<usize> = (0..50).map(|i| (key(i), i)).collect();
    let mut popped = HashSet::new();
    for _ in 0..30 {
        let (k, _) = t.pop_random(&mut rng).unwrap();
        assert!(!t.contains(&k));
        assert!(popped.insert(k));
    }
    assert_eq!(t.len(), 20);
    let rest: Vec<_> = t.drain().collect();
    assert_eq!(rest.len(), 20);
    assert!(t.is_empty() && t.pop_random(&mut rng).is_none());
}
