//! One test per rewrite: the command run, and what the AOF gets for it.

use bytes::Bytes;

use crate::engine::client::Client;
use crate::engine::cmd::Ctx;
use crate::engine::config::EngineConfig;
use crate::engine::keyspace::Keyspace;
use crate::engine::server::{now_ms, Shared};
use crate::engine::session;

struct Harness {
    ks: Keyspace,
    client: Client,
    shared: Shared,
}

impl Harness {
    fn new() -> Harness {
        let mut ks = Keyspace::new(16);
        ks.aof.set_on(true);
        Harness {
            ks,
            client: Client::detached(1),
            shared: Shared::new(EngineConfig::default()),
        }
    }

    /// Runs a command at `now` and returns what was logged, one command per
    /// string, arguments joined by spaces.
    fn run_at(&mut self, now: i64, line: &str) -> Vec<String> {
        let args: Vec<Bytes> = line
            .split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let mut cx = Ctx::new(&mut self.ks, &mut self.client, &self.shared, now);
        session::process(&mut cx, &args);
        decode(&self.ks.aof.take())
    }

    fn run(&mut self, line: &str) -> Vec<String> {
        self.run_at(NOW, line)
    }
}

const NOW: i64 = 1_700_000_000_000;

/// Splits logged RESP back into commands (the test's own tiny reader).
fn decode(mut bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let line = |b: &mut &[u8]| {
        let end = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let text = String::from_utf8(b[1..end].to_vec()).unwrap();
        *b = &b[end + 2..];
        text.parse::<usize>().unwrap()
    };
    while !bytes.is_empty() {
        let n = line(&mut bytes);
        let mut args = Vec::new();
        for _ in 0..n {
            let len = line(&mut bytes);
            args.push(String::from_utf8_lossy(&bytes[..len]).into_owned());
            bytes = &bytes[len + 2..];
        }
        out.push(args.join(" "));
    }
    out
}

#[test]
fn writes_are_logged_as_received_after_a_select() {
    let mut h = Harness::new();
    assert_eq!(h.run("set k v"), ["SELECT 0", "set k v"]);
    assert_eq!(h.run("rpush l a b"), ["rpush l a b"]);
    assert_eq!(h.run("get k"), Vec::<String>::new());
    assert_eq!(
        h.run("del nothing"),
        Vec::<String>::new(),
        "no change, no log"
    );
    assert_eq!(h.run("select 3"), Vec::<String>::new());
    assert_eq!(h.run("set k v"), ["SELECT 3", "set k v"]);
}

#[test]
fn failed_writes_are_not_logged() {
    let mut h = Harness::new();
    h.run("set k v");
    assert!(h.run("lpush k x").is_empty(), "WRONGTYPE");
    assert!(h.run("incr k").is_empty(), "not an integer");
}

#[test]
fn relative_expiries_become_absolute() {
    let mut h = Harness::new();
    h.run("set k v");
    let at = NOW + 10_000;
    assert_eq!(h.run("expire k 10"), [format!("PEXPIREAT k {at}")]);
    assert_eq!(h.run("pexpire k 10000"), [format!("PEXPIREAT k {at}")]);
    assert_eq!(h.run("set k v ex 10"), [format!("SET k v PXAT {at}")]);
    assert_eq!(h.run("setex k 10 v"), [format!("SET k v PXAT {at}")]);
    assert_eq!(h.run("psetex k 10000 v"), [format!("SET k v PXAT {at}")]);
    assert_eq!(h.run("getex k ex 10"), [format!("PEXPIREAT k {at}")]);
    assert_eq!(h.run("getex k persist"), ["PERSIST k"]);
    assert_eq!(h.run("set k v keepttl"), ["set k v keepttl"]);
}

#[test]
fn an_expiry_in_the_past_is_a_delete() {
    let mut h = Harness::new();
    h.run("set k v");
    assert_eq!(h.run("expire k -1"), ["DEL k"]);
}

#[test]
fn keys_found_expired_are_deleted_before_the_command() {
    let mut h = Harness::new();
    h.run("set k v px 100");
    let later = NOW + 1_000;
    assert_eq!(h.run_at(later, "get k"), ["DEL k"]);
    h.run("set k v px 100");
    assert_eq!(h.run_at(later, "set k w"), ["DEL k", "set k w"]);
}

#[test]
fn float_increments_become_their_result() {
    let mut h = Harness::new();
    assert_eq!(
        h.run("incrbyfloat f 0.1"),
        ["SELECT 0", "SET f 0.1 KEEPTTL"]
    );
    assert_eq!(h.run("incrbyfloat f 0.2"), ["SET f 0.3 KEEPTTL"]);
    assert_eq!(h.run("hincrbyfloat h x 1.5"), ["HSET h x 1.5"]);
}

#[test]
fn spop_becomes_the_srem_of_what_it_popped() {
    let mut h = Harness::new();
    h.run("sadd s a");
    assert_eq!(h.run("spop s"), ["SREM s a"]);
    h.run("sadd s a b c");
    let logged = h.run("spop s 2");
    assert_eq!(logged.len(), 1);
    assert!(logged[0].starts_with("SREM s "), "{logged:?}");
    assert_eq!(logged[0].split(' ').count(), 4);
}

#[test]
fn blocking_commands_are_logged_in_their_non_blocking_form() {
    let mut h = Harness::new();
    h.run("rpush a 1 2 3 4 5");
    h.run("zadd z 1 m 2 n 3 o 4 p");
    assert_eq!(h.run("blpop none a 0"), ["LPOP a"]);
    assert_eq!(h.run("brpop a 0"), ["RPOP a"]);
    assert_eq!(h.run("bzpopmin z 0"), ["ZPOPMIN z"]);
    assert_eq!(h.run("bzpopmax z 0"), ["ZPOPMAX z"]);
    assert_eq!(h.run("blmove a b left right 0"), ["LMOVE a b left right"]);
    assert_eq!(h.run("brpoplpush a b 0"), ["RPOPLPUSH a b"]);
    assert_eq!(h.run("blmpop 0 1 b left"), ["LMPOP 1 b left"]);
    assert_eq!(h.run("bzmpop 0 1 z min"), ["ZMPOP 1 z min"]);
    assert!(h.run("blpop empty 0").is_empty(), "blocked: nothing yet");
}

#[test]
fn transactions_are_wrapped_in_multi_exec() {
    let mut h = Harness::new();
    h.run("set x 1");
    h.run("multi");
    h.run("incr x");
    h.run("get x");
    h.run("select 2");
    h.run("set y 2");
    assert_eq!(
        h.run("exec"),
        ["MULTI", "incr x", "SELECT 2", "set y 2", "EXEC"]
    );
    h.run("multi");
    h.run("get x");
    assert!(
        h.run("exec").is_empty(),
        "a read-only transaction logs nothing"
    );
}

#[test]
fn nothing_is_logged_when_off() {
    let mut h = Harness::new();
    h.ks.aof.set_on(false);
    assert!(h.run("set k v").is_empty());
    let _ = now_ms();
}
