//! Unit tests of every `ZSet` operation, run in both encodings.

use super::*;
use std::cmp::Ordering::Less;

/// Limits that keep a set compact for these tests' sizes.
const SMALL: ListpackLimits = ListpackLimits {
    max_entries: 128,
    max_value: 64,
};
/// Limits that send a set to the big encoding on its first insert.
const BIG: ListpackLimits = ListpackLimits {
    max_entries: 0,
    max_value: 0,
};
const INF: f64 = f64::INFINITY;

impl ZSet {
    /// Panics unless the encoding's invariants hold.
    pub(super) fn check_invariants(&self) {
        match &self.encoding {
            Encoding::Listpack(lp) => {
                for pair in lp.entries().windows(2) {
                    let ((m1, s1), (m2, s2)) = (&pair[0], &pair[1]);
                    assert_eq!(key_cmp(*s1, m1, *s2, m2), Less, "listpack order");
                }
                let signed_zero = lp
                    .entries()
                    .iter()
                    .any(|(_, s)| *s == 0.0 && s.is_sign_negative());
                assert!(!signed_zero, "listpack keeps -0 as 0");
            }
            Encoding::Skiplist(sl) => sl.check_invariants(),
        }
    }
}

/// A set with `entries` inserted under `limits`, checked.
fn build(limits: ListpackLimits, entries: &[(&str, f64)]) -> ZSet {
    let mut zset = ZSet::new();
    for &(member, score) in entries {
        zset.insert(member.as_bytes(), score, limits).unwrap();
    }
    zset.check_invariants();
    zset
}

/// The same set in each encoding.
fn both(entries: &[(&str, f64)]) -> [ZSet; 2] {
    let (small, big) = (build(SMALL, entries), build(BIG, entries));
    // A set is created compact; an empty one has had no insert to convert it.
    let big_name = if entries.is_empty() {
        "listpack"
    } else {
        "skiplist"
    };
    assert_eq!((small.encoding(), big.encoding()), ("listpack", big_name));
    [small, big]
}

fn members<'a>(range: impl Iterator<Item = (&'a Bytes, f64)>) -> Vec<String> {
    range
        .map(|(m, _)| String::from_utf8_lossy(m).into_owned())
        .collect()
}

fn owned(popped: Vec<(Bytes, f64)>) -> Vec<(String, f64)> {
    popped
        .into_iter()
        .map(|(m, s)| (String::from_utf8_lossy(&m).into_owned(), s))
        .collect()
}

const ABCDE: &[(&str, f64)] = &[("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0)];

#[test]
fn insert_reports_added_updated_unchanged() {
    for limits in [SMALL, BIG] {
        let mut zset = build(limits, &[]);
        assert_eq!(zset.insert(b"m", 1.0, limits), Ok(InsertOutcome::Added));
        assert_eq!(zset.insert(b"m", 1.0, limits), Ok(InsertOutcome::Unchanged));
        assert_eq!(zset.insert(b"m", 2.5, limits), Ok(InsertOutcome::Updated));
        assert_eq!(
            zset.insert(b"m", f64::NAN, limits),
            Err(ZsetError::NanScore)
        );
        assert_eq!((zset.len(), zset.score(b"m")), (1, Some(2.5)));
        assert!(zset.contains(b"m") && !zset.contains(b"n") && zset.score(b"n").is_none());
        zset.check_invariants();
    }
}

#[test]
fn remove_and_rank_in_both_encodings() {
    for mut zset in both(ABCDE) {
        assert_eq!(zset.rank(b"a", false), Some(0));
        assert_eq!(zset.rank(b"e", false), Some(4));
        assert_eq!(zset.rank(b"a", true), Some(4));
        assert_eq!(zset.rank(b"zz", false), None);
        assert_eq!(zset.get_by_rank(2), Some((&Bytes::from_static(b"c"), 3.0)));
        assert_eq!(zset.get_by_rank(5), None);
        assert!(zset.remove(b"c") && !zset.remove(b"c"));
        assert_eq!(zset.rank(b"d", false), Some(2));
        assert_eq!(members(zset.iter()), ["a", "b", "d", "e"]);
        zset.check_invariants();
    }
}

#[test]
fn updates_move_elements() {
    for limits in [SMALL, BIG] {
        let mut zset = build(limits, ABCDE);
        zset.insert(b"a", 10.0, limits).unwrap(); // moves to the end
        zset.insert(b"c", 3.5, limits).unwrap(); // stays in place
        zset.insert(b"e", -1.0, limits).unwrap(); // moves to the front
        zset.check_invariants();
        assert_eq!(members(zset.iter()), ["e", "b", "c", "d", "a"]);
        assert_eq!(zset.score(b"c"), Some(3.5));
    }
}

#[test]
fn equal_scores_order_by_member_bytes() {
    let entries = [
        ("b", 1.0),
        ("a\0", 1.0),
        ("ab", 1.0),
        ("", 1.0),
        ("a", 1.0),
        ("\u{e9}", 1.0),
    ];
    for zset in both(&entries) {
        // Unsigned bytes, and a prefix before its extensions; "é" is 0xC3 0xA9.
        assert_eq!(members(zset.iter()), ["", "a", "a\0", "ab", "b", "\u{e9}"]);
        assert_eq!(zset.rank(b"ab", false), Some(3));
    }
}

#[test]
fn negative_zero_equals_zero() {
    let [small, big] = both(&[("b", -0.0), ("a", 0.0), ("c", -0.0)]);
    for zset in [&small, &big] {
        assert_eq!(members(zset.iter()), ["a", "b", "c"]);
        let above_zero = ScoreBound::Exclusive(0.0);
        assert_eq!(zset.count_in_score(&above_zero, &ScoreBound::MAX), 0);
        assert_eq!(
            zset.count_in_score(&ScoreBound::Inclusive(-0.0), &ScoreBound::Inclusive(0.0)),
            3
        );
    }
    // Redis keeps the sign in a skiplist, but a listpack stores -0 as the integer 0.
    assert!(small.score(b"b").unwrap().is_sign_positive());
    assert!(big.score(b"b").unwrap().is_sign_negative());
    for (mut zset, limits) in [(small, SMALL), (big, BIG)] {
        assert_eq!(
            zset.insert(b"a", -0.0, limits),
            Ok(InsertOutcome::Unchanged)
        );
        assert_eq!(zset.insert(b"b", 0.0, limits), Ok(InsertOutcome::Unchanged));
        assert!(zset.score(b"a").unwrap().is_sign_positive());
    }
}

#[test]
fn infinite_scores() {
    let entries = [("max", INF), ("min", -INF), ("zero", 0.0), ("max2", INF)];
    for zset in both(&entries) {
        assert_eq!(members(zset.iter()), ["min", "zero", "max", "max2"]);
        let count = |min, max| zset.count_in_score(&min, &max);
        assert_eq!(count(ScoreBound::MIN, ScoreBound::MAX), 4);
        assert_eq!(
            count(ScoreBound::Exclusive(-INF), ScoreBound::Exclusive(INF)),
            1
        );
        assert_eq!(
            count(ScoreBound::Inclusive(INF), ScoreBound::Inclusive(INF)),
            2
        );
        assert_eq!(count(ScoreBound::Exclusive(INF), ScoreBound::MAX), 0);
        assert_eq!(zset.rank(b"max2", true), Some(0));
    }
}

#[test]
fn range_by_rank_clamps_as_redis() {
    // (start, stop, rev, expected), checked against redis-server 7.0.
    let cases: &[(i64, i64, bool, &[&str])] = &[
        (0, -1, false, &["a", "b", "c", "d", "e"]),
        (1, 2, false, &["b", "c"]),
        (-2, -1, false, &["d", "e"]),
        (-100, 1, false, &["a", "b"]),
        (3, 100, false, &["d", "e"]),
        (5, 10, false, &[]),
        (3, 1, false, &[]),
        (-1, -2, false, &[]),
        (0, -6, false, &[]),
        (0, 1, true, &["e", "d"]),
        (-2, -1, true, &["b", "a"]),
        (1, 100, true, &["d", "c", "b", "a"]),
        (i64::MIN, i64::MAX, false, &["a", "b", "c", "d", "e"]),
        (i64::MAX, i64::MIN, true, &[]),
    ];
    for zset in both(ABCDE) {
        for &(start, stop, rev, want) in cases {
            let range = zset.range_by_rank(start, stop, rev);
            assert_eq!(range.len(), want.len(), "{start} {stop} {rev}");
            assert_eq!(members(range), want, "{start} {stop} {rev}");
        }
    }
    for zset in both(&[]) {
        assert_eq!(zset.range_by_rank(0, -1, false).len(), 0);
        assert_eq!(zset.range_by_rank(-1, 0, true).count(), 0);
    }
}

#[test]
fn range_by_score_with_limits() {
    use ScoreBound::{Exclusive as Ex, Inclusive as In};
    // (min, max, rev, offset, limit, expected)
    type Case = (
        ScoreBound,
        ScoreBound,
        bool,
        usize,
        Option<usize>,
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        (In(2.0), In(4.0), false, 0, None, &["b", "c", "d"]),
        (Ex(2.0), Ex(4.0), false, 0, None, &["c"]),
        (Ex(2.0), In(4.0), true, 0, None, &["d", "c"]),
        (
            ScoreBound::MIN,
            ScoreBound::MAX,
            false,
            1,
            Some(2),
            &["b", "c"],
        ),
        (
            ScoreBound::MIN,
            ScoreBound::MAX,
            true,
            1,
            Some(2),
            &["d", "c"],
        ),
        (ScoreBound::MIN, ScoreBound::MAX, false, 4, Some(9), &["e"]),
        (ScoreBound::MIN, ScoreBound::MAX, false, 5, None, &[]),
        (ScoreBound::MIN, ScoreBound::MAX, true, 0, Some(0), &[]),
        (In(4.0), In(2.0), false, 0, None, &[]),
        (Ex(3.0), In(3.0), false, 0, None, &[]),
        (In(3.0), In(3.0), false, 0, None, &["c"]),
        (In(5.5), ScoreBound::MAX, false, 0, None, &[]),
    ];
    for zset in both(ABCDE) {
        for (min, max, rev, offset, limit, want) in cases {
            let range = zset.range_by_score(min, max, *rev, *offset, *limit);
            assert_eq!(
                members(range),
                *want,
                "{min:?} {max:?} {rev} {offset} {limit:?}"
            );
        }
        assert_eq!(zset.count_in_score(&In(1.5), &Ex(5.0)), 3);
        assert_eq!(zset.count_in_score(&In(9.0), &In(1.0)), 0);
    }
}

#[test]
fn range_by_lex_and_counts() {
    let lex = |text: &'static str| LexBound::parse(&Bytes::from_static(text.as_bytes())).unwrap();
    let entries = [("a", 0.0), ("b", 0.0), ("c", 0.0), ("d", 0.0)];
    // (min, max, rev, offset, limit, expected), checked against redis-server 7.0.
    type Case = (
        &'static str,
        &'static str,
        bool,
        usize,
        Option<usize>,
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        ("-", "+", false, 0, None, &["a", "b", "c", "d"]),
        ("[b", "[c", false, 0, None, &["b", "c"]),
        ("(b", "[c", false, 0, None, &["c"]),
        ("(a", "(d", true, 0, None, &["c", "b"]),
        ("(c", "(b", false, 0, None, &[]),
        ("[b", "[b", false, 0, None, &["b"]),
        ("(b", "[b", false, 0, None, &[]),
        ("+", "-", false, 0, None, &[]),
        ("-", "-", false, 0, None, &[]),
        ("[", "+", true, 1, Some(2), &["c", "b"]),
        ("[bb", "+", false, 0, None, &["c", "d"]),
    ];
    for zset in both(&entries) {
        for &(min, max, rev, offset, limit, want) in cases {
            let range = zset.range_by_lex(&lex(min), &lex(max), rev, offset, limit);
            assert_eq!(members(range), want, "{min} {max} {rev}");
            let count = zset.count_in_lex(&lex(min), &lex(max));
            assert_eq!(
                count,
                zset.range_by_lex(&lex(min), &lex(max), false, 0, None)
                    .len()
            );
        }
    }
}

#[test]
fn pops_take_from_each_end() {
    for mut zset in both(ABCDE) {
        assert_eq!(owned(zset.pop_min(0)), []);
        assert_eq!(
            owned(zset.pop_min(2)),
            [("a".into(), 1.0), ("b".into(), 2.0)]
        );
        assert_eq!(owned(zset.pop_max(1)), [("e".into(), 5.0)]);
        zset.check_invariants();
        assert_eq!(
            owned(zset.pop_max(10)),
            [("d".into(), 4.0), ("c".into(), 3.0)]
        );
        assert!(zset.is_empty() && zset.pop_min(1).is_empty());
        zset.check_invariants();
    }
}

#[test]
fn range_removals_count_what_went() {
    use ScoreBound::{Exclusive as Ex, Inclusive as In};
    let lex = |text: &'static str| LexBound::parse(&Bytes::from_static(text.as_bytes())).unwrap();
    for mut zset in both(ABCDE) {
        assert_eq!(zset.remove_range_by_rank(-2, -1), 2);
        assert_eq!(zset.remove_range_by_rank(5, 9), 0);
        assert_eq!(members(zset.iter()), ["a", "b", "c"]);
        assert_eq!(zset.remove_range_by_score(&Ex(1.0), &In(2.0)), 1);
        assert_eq!(zset.remove_range_by_score(&In(3.0), &In(1.0)), 0);
        assert_eq!(zset.remove_range_by_lex(&lex("[c"), &lex("+")), 1);
        assert_eq!(members(zset.iter()), ["a"]);
        assert_eq!(zset.remove_range_by_rank(0, -1), 1);
        assert!(zset.is_empty());
        zset.check_invariants();
    }
}

#[test]
fn converts_past_the_entry_threshold_and_never_back() {
    let limits = ListpackLimits::default();
    let mut zset = ZSet::new();
    for i in 0..128 {
        zset.insert(format!("m{i}").as_bytes(), f64::from(i), limits)
            .unwrap();
    }
    assert_eq!((zset.len(), zset.encoding()), (128, "listpack"));
    // Updates and re-inserts do not grow the set, so they do not convert it.
    zset.insert(b"m5", -1.0, limits).unwrap();
    assert_eq!(zset.encoding(), "listpack");
    zset.insert(b"m128", 128.0, limits).unwrap();
    assert_eq!((zset.len(), zset.encoding()), (129, "skiplist"));
    zset.check_invariants();
    assert_eq!(zset.rank(b"m5", false), Some(0));
    assert_eq!(zset.rank(b"m128", true), Some(0));
    zset.pop_min(120);
    assert_eq!((zset.len(), zset.encoding()), (9, "skiplist"));
    zset.check_invariants();
}

#[test]
fn converts_past_the_value_threshold() {
    let limits = ListpackLimits::default();
    let mut zset = build(limits, &[("x", 1.0)]);
    zset.insert(&[b'v'; 64], 2.0, limits).unwrap();
    assert_eq!(zset.encoding(), "listpack");
    zset.insert(&[b'w'; 65], 3.0, limits).unwrap();
    assert_eq!((zset.encoding(), zset.len()), ("skiplist", 3));
    assert_eq!(zset.score(&[b'v'; 64]), Some(2.0));
    zset.check_invariants();
    // Custom thresholds, as CONFIG SET would give.
    let tight = ListpackLimits {
        max_entries: 2,
        max_value: 3,
    };
    let mut zset = build(tight, &[("a", 1.0), ("b", 2.0)]);
    assert_eq!(zset.encoding(), "listpack");
    zset.insert(b"c", 3.0, tight).unwrap();
    assert_eq!(zset.encoding(), "skiplist");
}

#[test]
fn add_flags_follow_zadd() {
    let flags = |f: &str| AddFlags {
        nx: f.contains("nx"),
        xx: f.contains("xx"),
        gt: f.contains("gt"),
        lt: f.contains("lt"),
        incr: f.contains("incr"),
    };
    let applied = |change, score| Ok(AddOutcome::Applied { change, score });
    for limits in [SMALL, BIG] {
        let mut zset = build(limits, &[("a", 1.0)]);
        let mut add = |member: &str, score, f| zset.add(member.as_bytes(), score, flags(f), limits);
        assert_eq!(add("a", 5.0, "nx"), Ok(AddOutcome::Skipped));
        assert_eq!(add("b", 5.0, "xx"), Ok(AddOutcome::Skipped));
        assert_eq!(add("a", 0.0, "gt"), Ok(AddOutcome::Skipped));
        assert_eq!(add("a", 1.0, "gt"), Ok(AddOutcome::Skipped));
        assert_eq!(add("a", 3.0, "lt"), Ok(AddOutcome::Skipped));
        assert_eq!(add("a", 0.5, "lt"), applied(InsertOutcome::Updated, 0.5));
        assert_eq!(add("b", 7.0, "gt"), applied(InsertOutcome::Added, 7.0));
        assert_eq!(add("a", 2.0, "incr"), applied(InsertOutcome::Updated, 2.5));
        assert_eq!(
            add("a", 0.0, "incr"),
            applied(InsertOutcome::Unchanged, 2.5)
        );
        assert_eq!(add("a", -1.0, "gt incr"), Ok(AddOutcome::Skipped));
        assert_eq!(add("c", 4.0, "incr"), applied(InsertOutcome::Added, 4.0));
        assert_eq!(add("c", 4.0, "xx"), applied(InsertOutcome::Unchanged, 4.0));
        assert_eq!(add("d", INF, ""), applied(InsertOutcome::Added, INF));
        assert_eq!(add("d", -INF, "incr"), Err(ZsetError::NanScore));
        assert_eq!(add("d", f64::NAN, "xx"), Err(ZsetError::NanScore));
        assert_eq!(zset.score(b"d"), Some(INF));
        assert_eq!(members(zset.iter()), ["a", "c", "b", "d"]);
        zset.check_invariants();
    }
}

#[test]
fn random_members_are_members() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for zset in both(ABCDE) {
        for _ in 0..50 {
            let (member, score) = zset.random_entry(&mut rng).unwrap();
            assert_eq!(zset.score(member), Some(score));
        }
        let picked = zset.random_distinct(3, &mut rng);
        let mut names = members(picked.into_iter());
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 3);
        assert_eq!(
            members(zset.random_distinct(9, &mut rng).into_iter()),
            ["a", "b", "c", "d", "e"]
        );
        assert!(zset.random_distinct(0, &mut rng).is_empty());
    }
    for zset in both(&[]) {
        assert!(zset.random_entry(&mut rng).is_none());
        assert!(zset.random_distinct(3, &mut rng).is_empty());
    }
}

#[test]
fn members_are_copied_in() {
    let buffer = Bytes::from(vec![b'x'; 4096]);
    for limits in [SMALL, BIG] {
        let mut zset = ZSet::new();
        zset.insert(&buffer.slice(0..3), 1.0, limits).unwrap();
        let (member, _) = zset.get_by_rank(0).unwrap();
        assert_eq!(&member[..], b"xxx");
        assert_ne!(
            member.as_ptr(),
            buffer.as_ptr(),
            "a member must not pin its source buffer"
        );
    }
}

#[test]
fn memory_estimate_tracks_contents() {
    let [small, big] = both(ABCDE);
    assert!(small.mem_usage() < big.mem_usage());
    let mut zset = build(BIG, &[]);
    let empty = zset.mem_usage();
    for i in 0..1000 {
        zset.insert(format!("{i:0>100}").as_bytes(), f64::from(i), BIG)
            .unwrap();
    }
    let full = zset.mem_usage();
    assert!(full - empty > 1000 * 100, "members count: {full} - {empty}");
    assert!(
        full - empty < 1000 * 400,
        "per-element overhead stays bounded: {full}"
    );
    zset.pop_min(990);
    assert!(
        zset.mem_usage() < full / 10,
        "the arena is compacted as the set shrinks"
    );
}

#[test]
fn big_set_stays_consistent_and_compacts() {
    let mut zset = ZSet::new();
    for i in 0..5000u32 {
        let score = f64::from(i % 97);
        zset.insert(format!("m{i}").as_bytes(), score, SMALL)
            .unwrap();
    }
    zset.check_invariants();
    for i in (0..5000u32).step_by(3) {
        assert!(zset.remove(format!("m{i}").as_bytes()));
    }
    zset.check_invariants();
    assert_eq!(zset.remove_range_by_rank(100, 2999), 2900);
    zset.check_invariants();
    let Encoding::Skiplist(sl) = &zset.encoding else {
        panic!("big set not in a skiplist")
    };
    assert!(
        sl.arena_len() <= 2 * zset.len() + 66,
        "arena {} for {}",
        sl.arena_len(),
        zset.len()
    );
    let ranks: Vec<usize> = zset
        .iter()
        .map(|(m, _)| zset.rank(m, false).unwrap())
        .collect();
    assert_eq!(ranks, (0..zset.len()).collect::<Vec<_>>());
}

/// Resident memory of this process, in bytes (Linux), for the report below.
fn resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A rough report on the big encoding, timings and bytes per element:
/// `cargo test --release --lib zset::tests::report -- --ignored --nocapture`.
#[test]
#[ignore = "a report to read, not a check"]
fn report_on_the_big_encoding() {
    use tokio::time::Instant as WallClock;
    const N: u32 = 1_000_000;
    let limits = ListpackLimits::default();
    let members: Vec<String> = (0..N).map(|i| format!("member:{i:012}")).collect();
    let before = resident_bytes().unwrap_or(0);
    let mut zset = ZSet::new();
    let started = WallClock::now();
    for (i, member) in (0..N).zip(&members) {
        let score = f64::from(i.wrapping_mul(2_654_435_761) % N);
        zset.insert(member.as_bytes(), score, limits).unwrap();
    }
    let insert_time = started.elapsed() / N;
    let resident = resident_bytes().unwrap_or(0).saturating_sub(before) / N as usize;
    let started = WallClock::now();
    let ranks: usize = members
        .iter()
        .step_by(10)
        .filter_map(|m| zset.rank(m.as_bytes(), false))
        .sum();
    let rank_time = started.elapsed() / (N / 10);
    let started = WallClock::now();
    let listed: usize = (0..1000i64)
        .map(|i| zset.range_by_rank(i * 997, i * 997 + 9, false).count())
        .sum();
    let range_time = started.elapsed() / 1000;
    println!(
        "{N} elements, 19-byte members: insert {insert_time:?}/op, rank {rank_time:?}, \
         10-element range {range_time:?}; mem_usage {} B/element, resident {resident} B/element \
         (checksums {ranks} {listed})",
        zset.mem_usage() / N as usize,
    );
}
