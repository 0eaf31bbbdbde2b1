//! Unit tests of [`SetValue`]: intset order and canonical integers, conversions
//! at the thresholds, members across encodings, pops and samples.

use super::*;
use std::collections::HashSet;

fn limits(max_ints: usize) -> EncodingLimits {
    EncodingLimits {
        set_max_intset_entries: max_ints,
        ..EncodingLimits::default()
    }
}

fn members(s: &SetValue) -> Vec<String> {
    s.iter()
        .map(|m| String::from_utf8_lossy(&m.to_bytes()).into_owned())
        .collect()
}

#[test]
fn intset_is_sorted_and_distinct() {
    let l = limits(512);
    let mut s = SetValue::new();
    for m in ["5", "-3", "10", "5", "0"] {
        s.insert(m.as_bytes(), &l);
    }
    assert_eq!(members(&s), ["-3", "0", "5", "10"]);
    assert_eq!(s.encoding(), "intset");
    assert!(s.contains(b"10") && !s.contains(b"010") && !s.contains(b"x"));
    assert!(s.remove(b"0") && !s.remove(b"0") && !s.remove(b"zz"));
    assert_eq!(s.len(), 3);
}

#[test]
fn non_canonical_integers_convert() {
    for member in [
        "01",
        "+1",
        " 1",
        "-0",
        "1.0",
        "9223372036854775808",
        "abc",
        "",
    ] {
        let mut s = SetValue::new();
        s.insert(b"1", &limits(512));
        s.insert(member.as_bytes(), &limits(512));
        assert_eq!(s.encoding(), "hashtable", "{member:?}");
        assert!(s.contains(member.as_bytes()) && s.contains(b"1"));
        assert_eq!(s.len(), 2);
    }
    let mut s = SetValue::new();
    s.insert(b"-9223372036854775808", &limits(512));
    assert_eq!(s.encoding(), "intset", "i64::MIN is an integer");
}

#[test]
fn converts_past_the_entry_count() {
    let l = limits(3);
    let mut s = SetValue::new();
    for i in 0..3 {
        s.insert(i.to_string().as_bytes(), &l);
    }
    s.insert(b"2", &l);
    assert_eq!(s.encoding(), "intset", "3 members ≤ 3");
    s.insert(b"3", &l);
    assert_eq!(s.encoding(), "hashtable");
    assert_eq!(members(&s), ["0", "1", "2", "3"]);
    for i in 0..4 {
        s.remove(i.to_string().as_bytes());
    }
    s.insert(b"7", &l);
    assert_eq!(s.encoding(), "hashtable", "never converts back");
    assert!(s.contains_member(Member::Int(7)));
}

#[test]
fn members_cross_encodings() {
    let l = limits(512);
    let mut ints = SetValue::new();
    ints.insert(b"42", &l);
    let mut strs = SetValue::new();
    strs.insert(b"x", &l);
    strs.insert(b"42", &l);
    let from_strs: Vec<Member<'_>> = strs.iter().collect();
    assert!(!ints.contains_member(from_strs[0]));
    assert!(ints.contains_member(from_strs[1]));
    assert!(strs.contains_member(Member::Int(42)));
    let mut dst = SetValue::new();
    assert!(dst.insert_member(from_strs[1], &l));
    assert_eq!(
        dst.encoding(),
        "intset",
        "a textual integer still fits an intset"
    );
    assert!(!dst.insert_member(Member::Int(42), &l));
    assert!(dst.insert_member(from_strs[0], &l));
    assert_eq!(dst.encoding(), "hashtable");
}

#[test]
fn normalized_members_compare_across_encodings() {
    let five = Bytes::from("5");
    let text = Bytes::from("05");
    assert_eq!(Member::Str(&five).normalized(), Member::Int(5));
    assert_eq!(Member::Str(&text).normalized(), Member::Str(&text));
    assert_eq!(Member::Int(5).normalized(), Member::Int(5));
}

#[test]
fn pop_takes_distinct_members_and_empties() {
    let mut rng = rand::thread_rng();
    for l in [limits(512), limits(0)] {
        let mut s = SetValue::new();
        for i in 0..20 {
            s.insert(i.to_string().as_bytes(), &l);
        }
        let popped = s.pop(5, &mut rng);
        assert_eq!(popped.len(), 5);
        assert_eq!(s.len(), 15);
        for m in &popped {
            assert!(!s.contains(m));
        }
        let distinct: HashSet<_> = popped.iter().collect();
        assert_eq!(distinct.len(), 5);
        let rest = s.pop(100, &mut rng);
        assert_eq!(rest.len(), 15);
        assert!(s.is_empty());
        assert!(s.pop(1, &mut rng).is_empty());
        assert!(s.random(&mut rng).is_none());
    }
}

#[test]
fn sample_is_distinct_or_whole() {
    let mut rng = rand::thread_rng();
    let mut s = SetValue::new();
    for i in 0..10 {
        s.insert(i.to_string().as_bytes(), &limits(512));
    }
    let picks = s.sample(4, &mut rng);
    assert_eq!(picks.iter().collect::<HashSet<_>>().len(), 4);
    assert_eq!(s.sample(10, &mut rng), s.iter().collect::<Vec<_>>());
}

#[test]
fn intset_scan_is_one_call() {
    let mut s = SetValue::new();
    for i in 0..100 {
        s.insert(i.to_string().as_bytes(), &limits(512));
    }
    let mut n = 0;
    assert_eq!(s.scan(0, 1, |_| n += 1), 0);
    assert_eq!(n, 100);
}
