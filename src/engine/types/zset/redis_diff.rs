//! A differential test against a real redis-server: the same random commands on
//! a `ZSet` and on a Redis key, compared reply by reply, errors and OBJECT
//! ENCODING included. Ignored by default, as it needs a server:
//! `REDIS_URL=redis://127.0.0.1:6379/ cargo test --lib zset::redis_diff -- --ignored`.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use redis::{Commands, Connection, RedisResult};

use super::*;

const SCORES: &[&str] = &[
    "1", "2", "-3", "0", "-0", "1.5", "inf", "-inf", "+inf", "0x1p1", "1e-310", " 1", "1 ", "nan",
    "1e400", "", "abc",
];
const BOUNDS: &[&str] = &[
    "1", "(1", "-inf", "+inf", "(inf", "(-inf", "0", "-0", "(0", "", "(", " 2", "2 ", "nan", "x",
    "1e400", "(1.5",
];
const LEX_BOUNDS: &[&str] = &["-", "+", "[a", "(a", "[b", "(bb", "[", "(", "a", "-x", ""];

/// Mostly short members over a tiny alphabet (ties, prefixes, high bytes), some
/// from a larger pool (to pass 128 entries), a few of 65 bytes (to pass 64).
fn member(rng: &mut StdRng) -> Vec<u8> {
    if rng.gen_ratio(1, 3) {
        return format!("m{}", rng.gen_range(0..200)).into_bytes();
    }
    let len = if rng.gen_ratio(1, 60) {
        65
    } else {
        rng.gen_range(0..3)
    };
    (0..len).map(|_| *b"ab\xff".choose(rng).unwrap()).collect()
}

/// Our result or error, as text comparable with Redis's.
fn ours<T>(result: Result<T, ZsetError>) -> Result<T, String> {
    result.map_err(|e| e.to_string())
}

/// Redis's result or error text (its code and message, as we render them).
fn theirs<T>(result: RedisResult<T>) -> Result<T, String> {
    result.map_err(|e| format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")))
}

fn entries(range: Range<'_>) -> Vec<(Vec<u8>, f64)> {
    range.map(|(m, s)| (m.to_vec(), s)).collect()
}

/// Redis's WITHSCORES reply, with each score read back as a double.
fn scored(flat: Vec<Vec<u8>>) -> Vec<(Vec<u8>, f64)> {
    let read = |s: &[u8]| parse_score(s).expect("redis replies with valid scores");
    flat.chunks(2)
        .map(|pair| (pair[0].clone(), read(&pair[1])))
        .collect()
}

struct Pair<'a> {
    con: &'a mut Connection,
    key: String,
    zset: ZSet,
    limits: ListpackLimits,
    /// Whether a comparison saw the big encoding (so both were tested).
    saw_skiplist: bool,
}

impl Pair<'_> {
    fn zadd(&mut self, score: &str, member: &[u8]) {
        let want = theirs(self.con.zadd::<_, _, _, i64>(&self.key, member, score));
        let got = ours(parse_score(score.as_bytes()))
            .and_then(|s| ours(self.zset.insert(member, s, self.limits)))
            .map(|outcome| i64::from(outcome == InsertOutcome::Added));
        assert_eq!(got, want, "ZADD {score:?} {member:?}");
    }

    fn compare_all(&mut self) {
        let flat: Vec<Vec<u8>> = self.con.zrange_withscores(&self.key, 0, -1).unwrap();
        let (want, got) = (scored(flat), entries(self.zset.iter()));
        assert_eq!(got.len(), want.len());
        for ((m1, s1), (m2, s2)) in got.iter().zip(&want) {
            assert_eq!(
                (m1, s1.to_bits()),
                (m2, s2.to_bits()),
                "element and exact score"
            );
        }
        let encoding: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(&self.key)
            .query(self.con)
            .unwrap_or_default();
        if !self.zset.is_empty() {
            assert_eq!(self.zset.encoding(), encoding);
            self.saw_skiplist |= encoding == "skiplist";
        }
    }

    fn range_by_score(&mut self, min: &str, max: &str, rev: bool, offset: usize, count: usize) {
        let name = if rev {
            "ZREVRANGEBYSCORE"
        } else {
            "ZRANGEBYSCORE"
        };
        let (first, second) = if rev { (max, min) } else { (min, max) };
        let want: Result<Vec<Vec<u8>>, _> = theirs(
            redis::cmd(name)
                .arg(&self.key)
                .arg(first)
                .arg(second)
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(offset)
                .arg(count)
                .query(self.con),
        );
        let bounds = ours(
            ScoreBound::parse(min.as_bytes())
                .and_then(|a| Ok((a, ScoreBound::parse(max.as_bytes())?))),
        );
        let got = bounds
            .map(|(a, b)| entries(self.zset.range_by_score(&a, &b, rev, offset, Some(count))));
        assert_eq!(
            got,
            want.map(scored),
            "{name} {first:?} {second:?} LIMIT {offset} {count}"
        );
    }

    fn range_by_lex(&mut self, min: &str, max: &str, rev: bool) {
        let name = if rev { "ZREVRANGEBYLEX" } else { "ZRANGEBYLEX" };
        let (first, second) = if rev { (max, min) } else { (min, max) };
        let want: Result<Vec<Vec<u8>>, _> = theirs(
            redis::cmd(name)
                .arg(&self.key)
                .arg(first)
                .arg(second)
                .query(self.con),
        );
        let parse = |text: &str| LexBound::parse(&Bytes::copy_from_slice(text.as_bytes()));
        let bounds = ours(parse(min).and_then(|a| Ok((a, parse(max)?))));
        let got = bounds.map(|(a, b)| entries(self.zset.range_by_lex(&a, &b, rev, 0, None)));
        let got = got.map(|v| v.into_iter().map(|(m, _)| m).collect::<Vec<_>>());
        assert_eq!(got, want, "{name} {first:?} {second:?}");
    }
}

/// One round of random commands; whether the big encoding was reached.
fn run(con: &mut Connection, rng: &mut StdRng, key: String, same_score: bool) -> bool {
    let mut pair = Pair {
        con,
        key,
        zset: ZSet::new(),
        limits: ListpackLimits::default(),
        saw_skiplist: false,
    };
    let _: () = pair.con.del(&pair.key).unwrap();
    for _ in 0..1500 {
        let m = member(rng);
        match rng.gen_range(0..10) {
            0..=4 => pair.zadd(
                if same_score {
                    "0"
                } else {
                    SCORES.choose(rng).unwrap()
                },
                &m,
            ),
            5 => {
                let want: i64 = pair.con.zrem(&pair.key, &m).unwrap();
                assert_eq!(pair.zset.remove(&m), want == 1);
            }
            6 => {
                let want: Option<usize> = pair.con.zrank(&pair.key, &m).unwrap();
                assert_eq!(pair.zset.rank(&m, false), want);
                let want: Option<usize> = pair.con.zrevrank(&pair.key, &m).unwrap();
                assert_eq!(pair.zset.rank(&m, true), want);
            }
            7 if same_score => {
                let (a, b) = (
                    LEX_BOUNDS.choose(rng).unwrap(),
                    LEX_BOUNDS.choose(rng).unwrap(),
                );
                pair.range_by_lex(a, b, rng.gen());
            }
            7 => {
                let (a, b) = (BOUNDS.choose(rng).unwrap(), BOUNDS.choose(rng).unwrap());
                pair.range_by_score(a, b, rng.gen(), rng.gen_range(0..4), rng.gen_range(0..6));
            }
            8 => {
                let (start, stop) = (rng.gen_range(-8..8), rng.gen_range(-8..8));
                let want: usize = pair.con.zremrangebyrank(&pair.key, start, stop).unwrap();
                assert_eq!(
                    pair.zset.remove_range_by_rank(start as i64, stop as i64),
                    want
                );
            }
            _ => pair.compare_all(),
        }
        if pair.zset.is_empty() {
            // Redis deletes an emptied key, and the next ZADD creates a new set.
            pair.zset = ZSet::new();
        }
    }
    pair.compare_all();
    let _: () = pair.con.del(&pair.key).unwrap();
    pair.saw_skiplist
}

#[test]
#[ignore = "needs a redis-server; set REDIS_URL"]
fn matches_a_real_redis() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
    let limits: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("zset-max-listpack-*")
        .query(&mut con)
        .unwrap();
    assert!(
        limits.contains(&"128".into()) && limits.contains(&"64".into()),
        "default limits expected"
    );
    let mut rng = StdRng::seed_from_u64(0x5a5e7);
    let key = format!("shardcar:zset-diff:{}", std::process::id());
    for round in 0..4 {
        let same_score = round % 2 == 1;
        let reached_skiplist = run(&mut con, &mut rng, format!("{key}:{round}"), same_score);
        assert!(reached_skiplist, "round {round} never left the listpack");
    }
}
