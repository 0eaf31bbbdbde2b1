//! Against the redis-server on 127.0.0.1:6379; each test skips with a note if
//! none answers. Keys are unique per run and deleted afterwards.

use super::{built, hex};
use crate::engine::types::hll::{Hll, DEFAULT_SPARSE_MAX_BYTES};
use rand::{Rng, RngCore};
use std::time::Duration;

/// A connection to the local redis-server, or `None` (with a note) if absent.
fn connect() -> Option<redis::Connection> {
    let client = redis::Client::open("redis://127.0.0.1:6379/").ok()?;
    match client.get_connection_with_timeout(Duration::from_millis(500)) {
        Ok(conn) => Some(conn),
        Err(err) => {
            println!("skipped: no redis-server on 127.0.0.1:6379 ({err})");
            None
        }
    }
}

/// Deletes its keys when dropped, even when an assertion fails.
struct Keys<'c> {
    conn: &'c mut redis::Connection,
    names: Vec<String>,
}

impl Keys<'_> {
    fn new(conn: &mut redis::Connection, count: usize) -> Keys<'_> {
        let run: u64 = rand::thread_rng().gen();
        let names = (0..count)
            .map(|i| format!("shardcar:hll-test:{}:{run:x}:{i}", std::process::id()))
            .collect();
        Keys { conn, names }
    }

    fn pfadd(&mut self, key: usize, elements: &[Vec<u8>]) {
        for chunk in elements.chunks(1000) {
            let _: i64 = redis::cmd("PFADD")
                .arg(&self.names[key])
                .arg(chunk)
                .query(self.conn)
                .unwrap();
        }
    }

    fn set(&mut self, key: usize, value: &[u8]) {
        let _: () = redis::cmd("SET")
            .arg(&self.names[key])
            .arg(value)
            .query(self.conn)
            .unwrap();
    }

    fn get(&mut self, key: usize) -> Vec<u8> {
        redis::cmd("GET")
            .arg(&self.names[key])
            .query(self.conn)
            .unwrap()
    }

    fn query<T: redis::FromRedisValue>(&mut self, name: &str, keys: &[usize]) -> T {
        let mut cmd = redis::cmd(name);
        for &key in keys {
            cmd.arg(&self.names[key]);
        }
        cmd.query(self.conn).unwrap()
    }
}

impl Drop for Keys<'_> {
    fn drop(&mut self) {
        let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(&self.names).query(self.conn);
    }
}

/// `n` random binary elements of 0 to 24 bytes.
fn random_elements(n: usize) -> Vec<Vec<u8>> {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| {
            let mut element = vec![0; rng.gen_range(0..=24)];
            rng.fill_bytes(&mut element);
            element
        })
        .collect()
}

#[test]
fn fifty_thousand_random_elements_match_redis() {
    let Some(mut conn) = connect() else { return };
    let mut keys = Keys::new(&mut conn, 1);
    let elements = random_elements(50_000);
    keys.pfadd(0, &elements);
    let mut hll = built(&elements);
    assert_eq!(hex(&keys.get(0)), hex(hll.as_bytes()), "bytes after PFADD");
    let theirs: i64 = keys.query("PFCOUNT", &[0]);
    assert_eq!(theirs, hll.count() as i64);
    assert_eq!(
        hex(&keys.get(0)),
        hex(hll.as_bytes()),
        "bytes after PFCOUNT"
    );
}

#[test]
fn sparse_values_and_merges_match_redis() {
    let Some(mut conn) = connect() else { return };
    let mut keys = Keys::new(&mut conn, 3);
    for n in [1, 7, 150, 900, 1500, 2500] {
        let (a, b) = (random_elements(n), random_elements(n / 3 + 1));
        keys.pfadd(0, &a);
        keys.pfadd(1, &b);
        let (mut ha, hb) = (built(&a), built(&b));
        let mut merged = Hll::new();
        merged.merge(&[&ha, &hb], DEFAULT_SPARSE_MAX_BYTES);
        let _: () = keys.query("PFMERGE", &[2, 0, 1]);
        assert_eq!(hex(&keys.get(0)), hex(ha.as_bytes()), "{n} elements");
        assert_eq!(hex(&keys.get(2)), hex(merged.as_bytes()), "merge of {n}");
        let union: i64 = keys.query("PFCOUNT", &[0, 1]);
        assert_eq!(union as u64, Hll::count_union(&[&ha, &hb]));
        let single: i64 = keys.query("PFCOUNT", &[0]);
        assert_eq!(single as u64, ha.count());
        let _: i64 = keys.query("DEL", &[0, 1, 2]);
    }
}

#[test]
fn values_travel_both_ways_through_get_and_set() {
    let Some(mut conn) = connect() else { return };
    let mut keys = Keys::new(&mut conn, 1);
    // Ours → SET → PFADD there (crossing into dense) → GET → ours again.
    let (first, second) = (random_elements(1000), random_elements(1000));
    let mut hll = built(&first);
    keys.set(0, hll.as_bytes());
    keys.pfadd(0, &second);
    for element in &second {
        hll.add(element, DEFAULT_SPARSE_MAX_BYTES);
    }
    let mut back = Hll::from_vec(keys.get(0)).unwrap();
    assert_eq!(hex(back.as_bytes()), hex(hll.as_bytes()));
    let theirs: i64 = keys.query("PFCOUNT", &[0]);
    assert_eq!(theirs as u64, back.count());
}
