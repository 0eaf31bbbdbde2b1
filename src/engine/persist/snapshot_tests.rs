//! The snapshot's promise: whatever runs between its steps, it writes the
//! keyspace exactly as it was at the start, each key once.

use bytes::Bytes;
use proptest::prelude::*;
use std::collections::BTreeMap;

use super::snapshot::{Sink, Snapshot, SnapshotBusy};
use crate::engine::db::UnixMs;
use crate::engine::keyspace::Keyspace;
use crate::engine::value::{Str, Value};

const NOW: UnixMs = 1_000_000;
const DBS: usize = 3;

type View = BTreeMap<(usize, Bytes), (String, Option<UnixMs>)>;

fn show(value: &Value) -> String {
    match value {
        Value::Str(s) => String::from_utf8_lossy(&s.to_bytes()).into_owned(),
        Value::List(l) => format!("{l:?}"),
        other => other.type_name().to_string(),
    }
}

/// Records what a snapshot writes, failing on a key written twice.
#[derive(Default)]
struct Collect {
    db: usize,
    seen: View,
    duplicate: Option<Bytes>,
}

impl Sink for Collect {
    fn select_db(&mut self, db: usize, _keys: usize, _expires: usize) {
        self.db = db;
    }
    fn entry(&mut self, key: &[u8], value: &Value, expire_at: Option<UnixMs>) {
        let k = (self.db, Bytes::copy_from_slice(key));
        if self.seen.insert(k, (show(value), expire_at)).is_some() {
            self.duplicate = Some(Bytes::copy_from_slice(key));
        }
    }
    fn pending_bytes(&self) -> usize {
        0
    }
}

fn view(ks: &Keyspace, now: UnixMs) -> View {
    let mut out = View::new();
    for (i, db) in ks.dbs.iter().enumerate() {
        for (key, entry) in db.iter(now) {
            out.insert((i, key.clone()), (show(&entry.value), entry.expire_at()));
        }
    }
    out
}

#[derive(Debug, Clone)]
enum Op {
    Set(usize, u8, i64),
    Incr(usize, u8),
    Push(usize, u8),
    Del(usize, u8),
    Expire(usize, u8, UnixMs),
    Persist(usize, u8),
    Flush(usize),
    Swap(usize, usize),
    Step(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let db = 0..DBS;
    let key = 0u8..40;
    prop_oneof![
        4 => (db.clone(), key.clone(), any::<i64>()).prop_map(|(d, k, n)| Op::Set(d, k, n)),
        3 => (db.clone(), key.clone()).prop_map(|(d, k)| Op::Incr(d, k)),
        2 => (db.clone(), key.clone()).prop_map(|(d, k)| Op::Push(d, k)),
        2 => (db.clone(), key.clone()).prop_map(|(d, k)| Op::Del(d, k)),
        1 => (db.clone(), key.clone(), (NOW - 10)..(NOW + 10)).prop_map(|(d, k, at)| Op::Expire(d, k, at)),
        1 => (db.clone(), key.clone()).prop_map(|(d, k)| Op::Persist(d, k)),
        1 => db.clone().prop_map(Op::Flush),
        1 => (db.clone(), db).prop_map(|(a, b)| Op::Swap(a, b)),
        4 => (1usize..8).prop_map(Op::Step),
    ]
}

fn key(k: u8) -> Bytes {
    Bytes::from(format!("k{k}"))
}

fn apply(ks: &mut Keyspace, op: &Op, now: UnixMs) {
    match *op {
        Op::Set(d, k, n) => drop(ks.dbs[d].insert(key(k), Value::from_int(n), now)),
        Op::Incr(d, k) => {
            if let Some(Value::Str(Str::Int(n))) = ks.dbs[d].get_mut(&key(k), now) {
                *n = n.wrapping_add(1);
            }
        }
        Op::Push(d, k) => match ks.dbs[d].get_mut(&key(k), now) {
            Some(Value::List(l)) => l.push_back(Bytes::from("x")),
            Some(_) => {}
            None => drop(ks.dbs[d].insert(key(k), Value::List(["a".into()].into()), now)),
        },
        Op::Del(d, k) => drop(ks.dbs[d].remove(&key(k), now)),
        Op::Expire(d, k, at) => drop(ks.dbs[d].set_expiry(&key(k), Some(at), now)),
        Op::Persist(d, k) => drop(ks.dbs[d].set_expiry(&key(k), None, now)),
        Op::Flush(d) => drop(ks.dbs[d].take()),
        Op::Swap(a, b) => ks.dbs.swap(a, b),
        Op::Step(_) => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn writes_the_keyspace_as_it_was_at_the_start(
        before in proptest::collection::vec(op(), 0..120),
        during in proptest::collection::vec(op(), 0..200),
    ) {
        let mut ks = Keyspace::new(DBS);
        for op in &before {
            apply(&mut ks, op, NOW - 100);
        }
        let expected = view(&ks, NOW);
        let mut snap = Snapshot::start(&mut ks, NOW).unwrap();
        let mut sink = Collect::default();
        let mut done = false;
        for op in &during {
            match op {
                Op::Step(n) if !done => done = snap.step_bounded(&mut ks, &mut sink, *n),
                // Later ops run at a later time: lazy expiry happens meanwhile.
                op => apply(&mut ks, op, NOW + 5),
            }
        }
        while !done {
            done = snap.step_bounded(&mut ks, &mut sink, 3);
        }
        snap.finish(&mut ks);
        prop_assert_eq!(sink.duplicate, None);
        prop_assert_eq!(sink.seen, expected);
        prop_assert!(ks.dbs.iter().all(|db| db.frozen().is_none()));
    }
}

#[test]
fn one_snapshot_at_a_time() {
    let mut ks = Keyspace::new(2);
    let snap = Snapshot::start(&mut ks, NOW).unwrap();
    assert!(matches!(Snapshot::start(&mut ks, NOW), Err(SnapshotBusy)));
    snap.finish(&mut ks);
    Snapshot::start(&mut ks, NOW).unwrap().finish(&mut ks);
}
