//! Placement parity with the real twemproxy.
//!
//! Each test starts three `redis-server`s and, per pool configuration, a
//! `nutcracker` in front of them, writes keys through it, asks every backend
//! which keys it holds, and checks that shardcar's [`Ring`] and hash put each
//! key on the same server. Set `SHARDCAR_TEST_NUTCRACKER` to the nutcracker
//! binary to run them; without it they print a note and pass.
//!
//! Set `SHARDCAR_PRINT_GOLDEN=1` as well to print the placements nutcracker
//! chose for the golden keys pinned in `src/proxy/ring.rs`'s unit tests.

mod children;
#[path = "proxy_placement/keys.rs"]
mod keys;
#[path = "proxy_placement/pool.rs"]
mod pool;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use shardcar::proxy::hash::{hash_tagged_key, HashKind};
use shardcar::proxy::ring::{Distribution, Ring};

use children::{connect, free_port, nutcracker_binary, ProxyProcess, Redis};
use keys::{golden_keys, show, test_keys};
use pool::{Backend, Pool};

/// A nutcracker serving the pool `yaml` writes for its listen port.
struct Nutcracker {
    port: u16,
    _process: ProxyProcess,
}

fn start_nutcracker(bin: &Path, dir: &Path, yaml: impl FnOnce(u16) -> String) -> Nutcracker {
    let port = free_port();
    let conf = dir.join("nutcracker.yml");
    std::fs::write(&conf, yaml(port)).expect("write nutcracker.yml");
    Nutcracker {
        port,
        _process: ProxyProcess::nutcracker(bin, &conf, &[port]),
    }
}

/// SETs per pipeline round trip.
const PIPELINE_BATCH: usize = 500;

/// Where each key ended up: the index of the pool server holding it.
fn observed_placement(redis: &[Redis], pool: &Pool) -> HashMap<Vec<u8>, usize> {
    let mut placed = HashMap::new();
    for (server, backend) in pool.servers.iter().enumerate() {
        let Some(r) = backend.redis else { continue };
        let mut con = connect(redis[r].port);
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut con).expect("KEYS");
        for key in keys {
            let previous = placed.insert(key.clone(), server);
            assert!(previous.is_none(), "key {} on two servers", show(&key));
        }
    }
    placed
}

fn flush_all(redis: &[Redis]) {
    for r in redis {
        let mut con = connect(r.port);
        redis::cmd("FLUSHALL")
            .query::<()>(&mut con)
            .expect("FLUSHALL");
    }
}

/// Writes `keys` through the proxy in pipelines; every SET must succeed.
fn write_pipelined(proxy: u16, keys: &[Vec<u8>]) {
    let mut con = connect(proxy);
    for batch in keys.chunks(PIPELINE_BATCH) {
        let mut pipe = redis::pipe();
        for key in batch {
            pipe.cmd("SET").arg(key).arg(1).ignore();
        }
        pipe.query::<()>(&mut con)
            .expect("pipelined SET through nutcracker");
    }
}

/// Writes `keys` one by one; returns the keys whose SET failed.
fn write_each(proxy: u16, keys: &[Vec<u8>]) -> HashSet<Vec<u8>> {
    let mut con = connect(proxy);
    keys.iter()
        .filter(|key| {
            redis::cmd("SET")
                .arg(key.as_slice())
                .arg(1)
                .query::<()>(&mut con)
                .is_err()
        })
        .cloned()
        .collect()
}

/// Asserts that every key sits where `ring` puts it (`None` = the SET was
/// expected to fail because the server is down).
fn assert_placement(pool: &Pool, ring: &Ring, keys: &[Vec<u8>], found: &HashMap<Vec<u8>, usize>) {
    let mut report = String::new();
    let mut wrong = 0;
    for key in keys {
        let expected = pool.expected(ring, key);
        let actual = found.get(key).copied();
        if expected != actual {
            wrong += 1;
            if wrong <= 10 {
                let hash = pool.hash.dispatch_hash(hash_tagged_key(key, pool.tag));
                writeln!(
                    report,
                    "  key {} hash {hash:#010x}: ours {expected:?}, nutcracker {actual:?}",
                    show(key)
                )
                .expect("write");
            }
        }
    }
    assert!(
        wrong == 0,
        "{wrong} of {} keys placed differently from nutcracker for pool {}:\n{report}",
        keys.len(),
        pool.label()
    );
}

/// Runs `pool` through nutcracker with all servers up and checks every key.
fn check_pool(bin: &Path, dir: &Path, redis: &[Redis], pool: &Pool, keys: &[Vec<u8>]) {
    flush_all(redis);
    let proxy = start_nutcracker(bin, dir, |port| pool.yaml(port));
    write_pipelined(proxy.port, keys);
    let found = observed_placement(redis, pool);
    assert_placement(pool, &pool.ring(|_| true), keys, &found);
    if std::env::var_os("SHARDCAR_PRINT_GOLDEN").is_some() {
        print_golden(pool, &found);
    }
}

fn print_golden(pool: &Pool, found: &HashMap<Vec<u8>, usize>) {
    let digits: String = golden_keys()
        .iter()
        .map(|key| found.get(key).map_or('?', |&s| char::from(b'0' + s as u8)))
        .collect();
    println!("golden {}: {digits}", pool.label());
}

struct Fixture {
    bin: PathBuf,
    dir: tempfile::TempDir,
    redis: Vec<Redis>,
}

fn fixture() -> Option<Fixture> {
    let bin = nutcracker_binary()?;
    let dir = tempfile::tempdir().expect("tempdir");
    let redis = (0..3).map(|_| Redis::start(dir.path())).collect();
    Some(Fixture { bin, dir, redis })
}

impl Fixture {
    fn check(&self, pool: &Pool, keys: &[Vec<u8>]) {
        check_pool(&self.bin, self.dir.path(), &self.redis, pool, keys);
    }

    /// Weights 1, 2, 3; the first unnamed (identity `127.0.0.1:port`), the
    /// others named; listed so that config order differs from twemproxy's
    /// sorted order (shorter identity first).
    fn mixed_servers(&self) -> Vec<Backend> {
        vec![
            Backend::live(&self.redis, 2, 3, Some("node-c-long-name")),
            Backend::live(&self.redis, 0, 1, None),
            Backend::live(&self.redis, 1, 2, Some("cache-b")),
        ]
    }

    /// Three unnamed servers of weight 1: modula is then exactly `hash % 3`.
    fn equal_servers(&self) -> Vec<Backend> {
        (0..3)
            .map(|i| Backend::live(&self.redis, i, 1, None))
            .collect()
    }
}

// -------------------------------------------------------------------- tests

#[test]
fn every_hash_with_ketama_and_modula_matches_nutcracker() {
    let Some(fx) = fixture() else { return };
    let keys = test_keys();
    for hash in HashKind::ALL {
        for dist in [Distribution::Ketama, Distribution::Modula] {
            fx.check(&Pool::new(hash, dist, fx.mixed_servers()), &keys);
        }
        fx.check(
            &Pool::new(hash, Distribution::Modula, fx.equal_servers()),
            &keys,
        );
    }
}

#[test]
fn golden_pool_matches_nutcracker() {
    let Some(fx) = fixture() else { return };
    let keys = test_keys();
    // The server list pinned in the ring unit tests: every server named, so
    // the identities do not depend on the ports the test picked.
    let servers = vec![
        Backend::live(&fx.redis, 0, 1, Some("127.0.0.1:7001")),
        Backend::live(&fx.redis, 1, 2, Some("cache-b")),
        Backend::live(&fx.redis, 2, 3, Some("node-c-long-name")),
    ];
    for hash in [HashKind::Fnv1a64, HashKind::Murmur] {
        for dist in [Distribution::Ketama, Distribution::Modula] {
            fx.check(&Pool::new(hash, dist, servers.clone()), &keys);
        }
    }
}

#[test]
fn float_rounding_of_ketama_shares_matches_nutcracker() {
    let Some(fx) = fixture() else { return };
    let keys = test_keys();
    // 29/60 · 40 · 3 is 58 exactly, but twemproxy's 32-bit floats give
    // 57.99999: 57 digests for each weight-29 server, not 58.
    let servers = vec![
        Backend::live(&fx.redis, 0, 2, None),
        Backend::live(&fx.redis, 1, 29, None),
        Backend::live(&fx.redis, 2, 29, None),
    ];
    fx.check(
        &Pool::new(HashKind::Md5, Distribution::Ketama, servers),
        &keys,
    );
}

#[test]
fn hash_tags_match_nutcracker() {
    let Some(fx) = fixture() else { return };
    let keys = test_keys();
    for (tag, dist) in [
        (*b"{}", Distribution::Ketama),
        (*b"$$", Distribution::Modula),
    ] {
        let mut pool = Pool::new(HashKind::Fnv1a64, dist, fx.mixed_servers());
        pool.tag = Some(tag);
        fx.check(&pool, &keys);
    }
}

/// A fourth server on port 11211 that nobody serves: its identity is the
/// bare host, and exactly the keys our ring gives it must fail.
fn with_dead_11211(fx: &Fixture, hash: HashKind, dist: Distribution) -> Pool {
    let mut servers = fx.equal_servers();
    servers.push(Backend::dead("127.0.0.2:11211", 1));
    Pool::new(hash, dist, servers)
}

#[test]
fn port_11211_identity_matches_nutcracker() {
    let Some(fx) = fixture() else { return };
    let keys = &test_keys()[..2_000];
    for dist in [Distribution::Ketama, Distribution::Modula] {
        let pool = with_dead_11211(&fx, HashKind::Md5, dist);
        flush_all(&fx.redis);
        let proxy = start_nutcracker(&fx.bin, fx.dir.path(), |port| pool.yaml(port));
        let failed = write_each(proxy.port, keys);
        let found = observed_placement(&fx.redis, &pool);
        let ring = pool.ring(|_| true);
        for key in keys {
            let dead = pool.expected(&ring, key) == Some(3);
            assert_eq!(
                failed.contains(key),
                dead,
                "key {} in {}",
                show(key),
                pool.label()
            );
        }
        let live: Vec<Vec<u8>> = keys
            .iter()
            .filter(|k| !failed.contains(*k))
            .cloned()
            .collect();
        assert_placement(&pool, &ring, &live, &found);
        assert!(
            !failed.is_empty(),
            "some keys should map to the dead server"
        );
    }
}

#[test]
fn ejection_rebuilds_over_live_servers_like_nutcracker() {
    let Some(fx) = fixture() else { return };
    let keys = test_keys();
    for dist in [Distribution::Ketama, Distribution::Modula] {
        let mut pool = with_dead_11211(&fx, HashKind::Fnv1a64, dist);
        pool.auto_eject = true;
        let proxy = start_nutcracker(&fx.bin, fx.dir.path(), |port| pool.yaml(port));
        eject_dead_server(&pool, proxy.port, &keys);
        flush_all(&fx.redis);
        write_pipelined(proxy.port, &keys);
        let found = observed_placement(&fx.redis, &pool);
        assert_placement(&pool, &pool.ring(|i| i != 3), &keys, &found);
    }
}

/// Sends keys that map to the dead server until one succeeds: the first
/// failure ejects it (`server_failure_limit: 1`) and the ring is rebuilt.
fn eject_dead_server(pool: &Pool, proxy: u16, keys: &[Vec<u8>]) {
    let ring = pool.ring(|_| true);
    let probes: Vec<Vec<u8>> = keys
        .iter()
        .filter(|key| pool.expected(&ring, key) == Some(3))
        .take(20)
        .cloned()
        .collect();
    let failed = write_each(proxy, &probes);
    assert!(!failed.is_empty(), "the dead server was never tried");
    assert!(
        failed.len() < probes.len(),
        "the dead server was never ejected"
    );
}

#[test]
fn random_spreads_every_key_over_all_servers() {
    let Some(fx) = fixture() else { return };
    let keys = test_keys();
    let pool = Pool::new(HashKind::Fnv1a64, Distribution::Random, fx.mixed_servers());
    flush_all(&fx.redis);
    let proxy = start_nutcracker(&fx.bin, fx.dir.path(), |port| pool.yaml(port));
    write_pipelined(proxy.port, &keys);
    let found = observed_placement(&fx.redis, &pool);
    assert_eq!(found.len(), keys.len(), "every key lands somewhere");
    let ring = pool.ring(|_| true);
    let mut ours = [0usize; 3];
    let mut theirs = [0usize; 3];
    for key in &keys {
        ours[pool.expected(&ring, key).expect("a live server")] += 1;
        theirs[found[key]] += 1;
    }
    // Uniform over 3 servers, weights ignored: about 3,333 keys each.
    for counts in [ours, theirs] {
        assert!(counts.iter().all(|&n| n > 2_800 && n < 3_900), "{counts:?}");
    }
}

#[test]
fn long_names_are_cut_like_nutcracker() {
    let Some(fx) = fixture() else { return };
    let keys = &test_keys()[..2_000];
    // twemproxy formats "<name>-<n>" into a 273-byte buffer: at 270 bytes the
    // labels of n >= 10 lose their last digit; past 272 every label is the
    // same truncated name.
    for len in [120, 270, 275] {
        let name = "n".repeat(len);
        let servers = vec![
            Backend::live(&fx.redis, 0, 1, Some(&name)),
            Backend::live(&fx.redis, 1, 1, Some("short")),
            Backend::live(&fx.redis, 2, 1, None),
        ];
        fx.check(
            &Pool::new(HashKind::Fnv1a64, Distribution::Ketama, servers),
            keys,
        );
    }
}
