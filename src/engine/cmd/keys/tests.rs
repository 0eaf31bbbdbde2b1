//! Handler-level tests: what the wire cannot show (statistics, which keys are
//! signalled to watchers, access times, the expiry cycle's bookkeeping).

use bytes::Bytes;
use std::collections::VecDeque;

use crate::engine::client::Client;
use crate::engine::cmd::{self, Ctx};
use crate::engine::config::EngineConfig;
use crate::engine::keyspace::Keyspace;
use crate::engine::server::{now_ms, Shared};
use crate::engine::value::Value;
use crate::resp::Frame;

/// A keyspace, a client and the engine state, to run commands at a chosen time.
struct Harness {
    ks: Keyspace,
    client: Client,
    shared: Shared,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_config(EngineConfig::default())
    }

    fn with_config(cfg: EngineConfig) -> Harness {
        let client = Client::detached(7);
        Harness {
            ks: Keyspace::new(cfg.databases),
            client,
            shared: Shared::new(cfg),
        }
    }

    /// Runs a command as the dispatcher does, at time `now`.
    fn run_at(&mut self, now: i64, args: &[&str]) -> Frame {
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let command = cmd::lookup(&args[0]).expect("known command");
        assert!(command.spec.check_arity(args.len()), "arity of {args:?}");
        let mut cx = Ctx::new(&mut self.ks, &mut self.client, &self.shared, now);
        cmd::call(&mut cx, command, &args)
    }

    fn run(&mut self, args: &[&str]) -> Frame {
        self.run_at(now_ms(), args)
    }

    fn set(&mut self, db: usize, key: &str, value: &str) {
        let value = Value::from_bytes(Bytes::copy_from_slice(value.as_bytes()));
        self.ks.dbs[db].insert(Bytes::copy_from_slice(key.as_bytes()), value, now_ms());
    }

    fn watch(&mut self, db: usize, key: &str) {
        self.ks
            .watches
            .watch(self.client.id, db, Bytes::copy_from_slice(key.as_bytes()));
    }

    fn watch_fired(&self) -> bool {
        self.ks.watches.is_dirty(self.client.id)
    }

    fn hits_misses(&self) -> (u64, u64) {
        (self.ks.stats.keyspace_hits, self.ks.stats.keyspace_misses)
    }
}

#[test]
fn read_lookups_count_hits_and_misses_writes_do_not() {
    let mut h = Harness::new();
    h.set(0, "a", "1");
    h.run(&["exists", "a", "a", "nope"]);
    assert_eq!(h.hits_misses(), (2, 1));
    for read in [
        &["type", "a"][..],
        &["ttl", "a"],
        &["pttl", "nope"],
        &["touch", "a"],
        &["object", "encoding", "nope"],
    ] {
        h.run(read);
    }
    assert_eq!(h.hits_misses(), (5, 3));
    for write in [
        &["expire", "a", "100"][..],
        &["persist", "a"],
        &["rename", "a", "b"],
        &["del", "b", "nope"],
    ] {
        h.run(write);
    }
    assert_eq!(h.hits_misses(), (5, 3));
}

#[test]
fn writes_that_change_nothing_leave_watchers_alone() {
    let mut h = Harness::new();
    h.set(0, "a", "1");
    h.set(0, "b", "1");
    h.watch(0, "a");
    h.watch(0, "missing");
    for noop in [
        &["del", "missing"][..],
        &["unlink", "missing"],
        &["rename", "a", "a"],
        &["renamenx", "a", "a"],
        &["renamenx", "a", "b"],
        &["expire", "missing", "10"],
        &["expire", "a", "10", "xx"],
        &["persist", "a"],
        &["move", "missing", "1"],
        &["copy", "missing", "c"],
        &["copy", "a", "b"],
    ] {
        h.run(noop);
        assert!(!h.watch_fired(), "{noop:?} fired a watch");
    }
    h.run(&["expire", "a", "10"]);
    assert!(h.watch_fired());
}

#[test]
fn cross_database_copy_and_move_signal_the_other_database() {
    let mut h = Harness::new();
    h.set(0, "a", "1");
    h.watch(3, "copy");
    assert_eq!(h.run(&["copy", "a", "copy", "db", "3"]), Frame::Integer(1));
    assert!(h.watch_fired());

    let mut h = Harness::new();
    h.set(0, "a", "1");
    h.watch(5, "a");
    assert_eq!(h.run(&["move", "a", "5"]), Frame::Integer(1));
    assert!(h.watch_fired());
    assert!(h.ks.dbs[5].contains(b"a", now_ms()));
    assert!(!h.ks.dbs[0].contains(b"a", now_ms()));
}

#[test]
fn idle_time_counts_from_the_last_read_or_write() {
    let mut h = Harness::new();
    let t0 = now_ms();
    h.ks.dbs[0].insert(Bytes::from("k"), Value::from_int(5), t0);
    assert_eq!(
        h.run_at(t0 + 4_000, &["object", "idletime", "k"]),
        Frame::Integer(4)
    );
    // Introspection is not an access.
    for look in [
        &["type", "k"][..],
        &["exists", "k"],
        &["ttl", "k"],
        &["object", "encoding", "k"],
    ] {
        h.run_at(t0 + 5_000, look);
    }
    assert_eq!(
        h.run_at(t0 + 6_000, &["object", "idletime", "k"]),
        Frame::Integer(6)
    );
    h.run_at(t0 + 7_000, &["touch", "k"]);
    assert_eq!(
        h.run_at(t0 + 9_000, &["object", "idletime", "k"]),
        Frame::Integer(2)
    );
    h.run_at(t0 + 10_000, &["expire", "k", "100"]);
    assert_eq!(
        h.run_at(t0 + 10_500, &["object", "idletime", "k"]),
        Frame::Integer(0)
    );
    // A copy is a new object.
    h.run_at(t0 + 20_000, &["copy", "k", "c"]);
    assert_eq!(
        h.run_at(t0 + 23_000, &["object", "idletime", "c"]),
        Frame::Integer(3)
    );
}

#[test]
fn lfu_policy_swaps_which_of_idletime_and_freq_errs() {
    let cfg = EngineConfig {
        maxmemory_policy: "allkeys-lfu".into(),
        ..EngineConfig::default()
    };
    let mut h = Harness::with_config(cfg);
    h.set(0, "k", "v");
    let Frame::Error(text) = h.run(&["object", "idletime", "k"]) else {
        panic!("an error")
    };
    assert!(text.starts_with(b"ERR An LFU maxmemory policy is selected, idle time not tracked."));
    assert!(h.run(&["object", "freq", "k"]).is_error());
    assert_eq!(h.run(&["object", "idletime", "nope"]), Frame::Null);
}

#[test]
fn refcount_of_shared_integers_follows_the_policy() {
    let mut h = Harness::new();
    h.set(0, "small", "9999");
    h.set(0, "big", "10000");
    h.set(0, "neg", "-1");
    assert_eq!(
        h.run(&["object", "refcount", "small"]),
        Frame::Integer(2_147_483_647)
    );
    assert_eq!(h.run(&["object", "refcount", "big"]), Frame::Integer(1));
    assert_eq!(h.run(&["object", "refcount", "neg"]), Frame::Integer(1));
    let cfg = EngineConfig {
        maxmemory: 1 << 30,
        maxmemory_policy: "allkeys-lru".into(),
        ..EngineConfig::default()
    };
    let mut h = Harness::with_config(cfg);
    h.set(0, "small", "1");
    assert_eq!(h.run(&["object", "refcount", "small"]), Frame::Integer(1));
}

#[test]
fn unlink_of_a_large_list_empties_the_key_at_once() {
    let mut h = Harness::new();
    let list: VecDeque<Bytes> = (0..10_000).map(|i| Bytes::from(format!("e{i}"))).collect();
    h.ks.dbs[0].insert(Bytes::from("big"), Value::List(list), now_ms());
    assert_eq!(h.run(&["unlink", "big", "big"]), Frame::Integer(1));
    assert_eq!(h.run(&["exists", "big"]), Frame::Integer(0));
    assert!(h.ks.dbs[0].is_empty());
}

#[test]
fn expiry_cycle_removes_unread_keys_and_tells_watchers() {
    // The server's active cycle is `expire_sample` + `settle_expired` under the
    // lock; this drives those steps as the cycle does, at chosen times.
    let mut h = Harness::new();
    let t0 = now_ms();
    for i in 0..100 {
        h.set(0, &format!("v{i}"), "x");
        h.run_at(t0, &["pexpire", &format!("v{i}"), "50"]);
    }
    h.set(0, "stays", "x");
    h.watch(0, "v7");
    assert_eq!(h.ks.dbs[0].len(), 101);
    assert_eq!(h.ks.dbs[0].expire_sample(20, t0 + 49).1, 0);
    while h.ks.dbs[0].expire_sample(20, t0 + 100).1 > 0 {}
    assert_eq!(h.ks.settle_expired(), 100);
    assert_eq!(h.ks.dbs[0].len(), 1);
    assert_eq!(h.ks.stats.expired_keys, 100);
    assert!(h.watch_fired());
}
