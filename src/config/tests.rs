//! Whole-file tests: a full twemproxy config, and one bad file per kind of mistake
//! (`testdata/bad/*.yml`) with the exact messages it must produce.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

/// twemproxy's README example, with `redis: true` on every pool.
const TWEMPROXY_EXAMPLE: &str = "\
alpha:
  listen: 127.0.0.1:22121
  hash: fnv1a_64
  distribution: ketama
  auto_eject_hosts: true
  redis: true
  server_retry_timeout: 2000
  server_failure_limit: 1
  servers:
   - 127.0.0.1:6379:1

beta:
  listen: 127.0.0.1:22122
  hash: fnv1a_64
  hash_tag: \"{}\"
  distribution: ketama
  auto_eject_hosts: false
  timeout: 400
  redis: true
  servers:
   - 127.0.0.1:6380:1 server1
   - 127.0.0.1:6381:1 server2
   - 127.0.0.1:6382:1 server3
   - 127.0.0.1:6383:1 server4

gamma:
  listen: 127.0.0.1:22123
  hash: fnv1a_64
  distribution: ketama
  timeout: 400
  backlog: 1024
  preconnect: true
  auto_eject_hosts: true
  server_retry_timeout: 2000
  server_failure_limit: 3
  redis: true
  servers:
   - 127.0.0.1:11212:1
   - 127.0.0.1:11213:1

omega:
  listen: /tmp/gamma 0666
  hash: hsieh
  distribution: ketama
  auto_eject_hosts: false
  redis: true
  servers:
   - 127.0.0.1:11214:100000
   - 127.0.0.1:11215:1
";

#[test]
fn twemproxy_example_parses_with_its_defaults() {
    let config = Config::from_yaml(TWEMPROXY_EXAMPLE).unwrap();
    let names: Vec<&str> = config.pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta", "gamma", "omega"]);

    let alpha = config.pool("alpha").unwrap();
    assert_eq!(alpha.listen.to_string(), "127.0.0.1:22121");
    assert!(alpha.auto_eject_hosts);
    assert_eq!(alpha.server_retry_timeout, Duration::from_millis(2000));
    assert_eq!(alpha.server_failure_limit, 1);
    // Keys alpha leaves out take twemproxy's defaults.
    assert_eq!(alpha.timeout, None);
    assert_eq!(alpha.backlog, 512);
    assert_eq!(alpha.server_connections, NonZeroU32::MIN);
    assert_eq!((alpha.redis_db, alpha.hash_tag), (0, None));
    assert!(!alpha.preconnect && !alpha.tcpkeepalive && !alpha.reuseport);

    let beta = config.pool("beta").unwrap();
    assert_eq!(beta.hash_tag.map(|t| t.to_string()).as_deref(), Some("{}"));
    assert_eq!(beta.timeout, Some(Duration::from_millis(400)));
    assert_eq!(beta.server_retry_timeout, Duration::from_secs(30));
    assert_eq!(beta.server_failure_limit, 2);
    let names: Vec<_> = beta.servers.iter().map(|s| s.ketama_name()).collect();
    assert_eq!(names, ["server1", "server2", "server3", "server4"]);

    let gamma = config.pool("gamma").unwrap();
    assert_eq!((gamma.backlog, gamma.preconnect), (1024, true));

    let omega = config.pool("omega").unwrap();
    assert_eq!(omega.hash, Hash::Hsieh);
    assert_eq!(
        omega.listen,
        Listen::Unix {
            path: "/tmp/gamma".into(),
            mode: Some(0o666)
        }
    );
    assert_eq!(omega.servers[0].weight, 100000);
}

#[test]
fn every_key_is_read() {
    let config = Config::from_yaml(
        "p:
  listen: 0.0.0.0:6000
  hash: murmur
  hash_tag: $$
  distribution: modula
  timeout: \"250\"
  backlog: 128
  preconnect: \"true\"
  redis: true
  redis_auth: s3cret
  redis_db: 3
  server_connections: 4
  auto_eject_hosts: true
  server_retry_timeout: 0
  server_failure_limit: 5
  tcpkeepalive: true
  reuseport: true
  client_connections: 100
  allow_flush: true
  requirepass: hunter2
  servers:
   - redis-0.redis:6379:1
",
    )
    .unwrap();
    let p = &config.pools[0];
    assert_eq!(
        (p.hash, p.distribution),
        (Hash::Murmur, Distribution::Modula)
    );
    assert_eq!(
        p.hash_tag.map(|t| (t.open(), t.close())),
        Some((b'$', b'$'))
    );
    assert_eq!(p.timeout, Some(Duration::from_millis(250)));
    assert_eq!((p.backlog, p.redis_db, p.server_failure_limit), (128, 3, 5));
    assert_eq!(p.server_connections.get(), 4);
    assert_eq!(p.server_retry_timeout, Duration::ZERO);
    assert_eq!(p.client_connections.map(NonZeroU32::get), Some(100));
    assert!(p.preconnect && p.auto_eject_hosts && p.tcpkeepalive && p.reuseport && p.allow_flush);
    assert_eq!(p.redis_auth.as_deref(), Some("s3cret"));
    assert_eq!(p.requirepass.as_deref(), Some("hunter2"));
}

#[test]
fn zero_means_none_for_timeout_and_client_connections() {
    let config = Config::from_yaml(
        "p: {listen: 'h:1', redis: true, timeout: 0, client_connections: 0, servers: ['h:2:1']}",
    )
    .unwrap();
    assert_eq!(config.pools[0].timeout, None);
    assert_eq!(config.pools[0].client_connections, None);
}

#[test]
fn range_pools_resolve_their_targets() {
    let config = Config::from_yaml(
        "users:
  listen: 127.0.0.1:22121
  redis: true
  distribution: range
  servers:
   - 10.0.0.1:6379:1 a
   - 10.0.0.2:6379:1
  ranges:
   - \"user:*\": a
   - \"*\": 10.0.0.2:6379
",
    )
    .unwrap();
    let ranges = config.pools[0].ranges.as_ref().unwrap();
    assert_eq!(ranges.server_for(b"user:1", 0), Some(0));
    assert_eq!(ranges.server_for(b"order:1", 0), Some(1));
}

#[test]
fn shapes_that_are_not_pools() {
    let cases = [
        ("- a\n- b\n", "expected a mapping of pool names to pools, found a list"),
        ("alpha: 3\n", "pool 'alpha': expected a mapping of pool keys"),
        (
            "a:\n  listen: h:1\n  redis: true\n  servers: h:2:1\n",
            "line 4: pool 'a': key 'servers': expected a list ('- item' lines), found a string",
        ),
        (
            "a:\n  listen: [h, 1]\n  redis: true\n  servers: [h:2:1]\n",
            "line 2: pool 'a': key 'listen': expected a single value, found a list",
        ),
        (
            "a:\n  listen: h:1\n  redis: true\n  distribution: range\n  servers: [h:2:1 x]\n  ranges:\n   - 0-4294967295\n",
            "line 7: pool 'a': key 'ranges': expected one 'SPAN_OR_PREFIX: SERVER' entry, found a string",
        ),
    ];
    for (src, expected) in cases {
        let err = Config::from_yaml(src).unwrap_err().to_string();
        assert!(err.contains(expected), "{src:?}:\n{err}");
    }
}

#[test]
fn a_bad_redis_value_is_reported_once() {
    let err =
        Config::from_yaml("a:\n  listen: h:1\n  redis: yes\n  servers: [h:2:1]\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 3: pool 'a': key 'redis': invalid value 'yes': expected true or false"
    );
}

#[test]
fn unquoted_braces_hash_tag_says_to_quote() {
    let err =
        Config::from_yaml("a:\n  listen: h:1\n  redis: true\n  hash_tag: {}\n  servers: [h:2:1]\n")
            .unwrap_err()
            .to_string();
    assert!(
        err.starts_with("line 4: pool 'a': key 'hash_tag': invalid value '{}': YAML reads"),
        "{err}"
    );
    assert!(err.ends_with("write hash_tag: \"{}\""), "{err}");
}

#[test]
fn alias_bombs_and_deep_nesting_are_refused() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (prev, name) in ["a", "b", "c", "d", "e"]
        .iter()
        .zip(["b", "c", "d", "e", "f"])
    {
        let refs = vec![format!("*{prev}"); 10].join(", ");
        bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let err = Config::from_yaml(&bomb).unwrap_err().to_string();
    assert!(err.contains("repetition limit exceeded"), "{err}");

    let deep = format!("a: {}{}", "[".repeat(200), "]".repeat(200));
    let err = Config::from_yaml(&deep).unwrap_err().to_string();
    assert!(err.contains("recursion limit exceeded"), "{err}");
}

#[test]
fn a_bad_key_does_not_hide_the_others() {
    let err = Config::from_yaml(
        "a:\n  listen: nowhere\n  hash: md6\n  redis: true\n  servers:\n   - h:1:0\n   - h:2:x\n",
    )
    .unwrap_err();
    let keys: Vec<_> = err.iter().map(|e| (e.key.as_deref(), e.line)).collect();
    assert_eq!(
        keys,
        [
            (Some("listen"), Some(2)),
            (Some("hash"), Some(3)),
            (Some("servers"), Some(6)),
            (Some("servers"), Some(7)),
        ]
    );
}

#[test]
fn validate_checks_pools_built_in_code() {
    let server = |line: &str| Server::parse(line).unwrap();
    let pool = |name: &str, servers| Pool {
        name: name.into(),
        servers,
        ..Pool::default()
    };
    let good = Config {
        pools: vec![pool("a", vec![server("h:1:1")])],
    };
    assert_eq!(good.clone().validate().unwrap(), good);

    let bad = Config {
        pools: vec![pool("a", vec![server("h:1:0")]), pool("b", vec![])],
    };
    let err = bad.validate().unwrap_err().to_string();
    assert_eq!(
        err,
        "pool 'a': key 'servers': server 'h:1:0' has a zero weight (weights start at 1)\n\
         pool 'b': key 'servers': the pool has no servers\n\
         pool 'b': key 'listen': listen address '127.0.0.1:22121' is already used by pool 'a'"
    );
}

#[test]
fn load_names_the_file() {
    let missing = Config::load("/nonexistent/nutcracker.yml").unwrap_err();
    assert!(missing
        .to_string()
        .starts_with("/nonexistent/nutcracker.yml: cannot read the file: "));
    let bad = Config::load(bad_file("unknown_hash"))
        .unwrap_err()
        .to_string();
    assert!(
        bad.contains("/testdata/bad/unknown_hash.yml:3: pool 'alpha'"),
        "{bad}"
    );
}

/// What Debian's nutcracker 0.5.0 says of a file with `-t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nutcracker {
    Accepts,
    Rejects,
}

/// One bad file, every message shardcar prints for it, and nutcracker's verdict.
struct Case {
    file: &'static str,
    errors: &'static [&'static str],
    nutcracker: Nutcracker,
}

use Nutcracker::{Accepts, Rejects};

const HASHES: &str = "one_at_a_time, md5, crc16, crc32, crc32a, fnv1_64, fnv1a_64, fnv1_32, \
                      fnv1a_32, hsieh, murmur, jenkins";
const SERVER_FORMAT: &str = "expected 'host:port:weight [name]' or '/unix/path:weight [name]'";
const NOT_MEMCACHED: &str =
    "shardcar proxies Redis only and does not support memcached pools: set 'redis: true'";

/// Messages are compared whole; the ones built with `format!` are in
/// `expected_errors`. Where nutcracker's verdict differs, the comment says why.
const CASES: &[Case] = &[
    Case { file: "unknown_hash", errors: &["line 3: pool 'alpha': key 'hash': unknown value 'md6' (expected one of {HASHES})"], nutcracker: Rejects },
    Case { file: "unknown_distribution", errors: &["line 4: pool 'alpha': key 'distribution': unknown value 'modulo' (expected one of ketama, modula, random, range)"], nutcracker: Rejects },
    Case { file: "listen_without_port", errors: &["line 2: pool 'alpha': key 'listen': invalid value '127.0.0.1': expected 'host:port' or an absolute unix socket path"], nutcracker: Rejects },
    Case { file: "listen_port_zero", errors: &["line 2: pool 'alpha': key 'listen': invalid value '127.0.0.1:0': the port must be a number from 1 to 65535"], nutcracker: Rejects },
    // nutcracker reads the mode with strtol, which stops at the 9 and yields 0.
    Case { file: "listen_bad_permissions", errors: &["line 2: pool 'alpha': key 'listen': invalid value '/tmp/shardcar-alpha.sock 0999': the socket permissions must be octal, 0 to 0777"], nutcracker: Accepts },
    Case { file: "missing_listen", errors: &["line 1: pool 'alpha': key 'listen': missing (required)"], nutcracker: Rejects },
    Case { file: "server_without_weight", errors: &["line 6: pool 'alpha': key 'servers': invalid value '127.0.0.1:6380': the port or the weight is missing; {SERVER_FORMAT}"], nutcracker: Rejects },
    Case { file: "server_bad_port", errors: &["line 5: pool 'alpha': key 'servers': invalid value '127.0.0.1:70000:1': the port must be a number from 1 to 65535; {SERVER_FORMAT}"], nutcracker: Rejects },
    Case { file: "zero_weight", errors: &["line 6: pool 'alpha': key 'servers': server '127.0.0.1:6380:0' has a zero weight (weights start at 1)"], nutcracker: Rejects },
    Case { file: "duplicate_server_name", errors: &["line 6: pool 'alpha': key 'servers': server '127.0.0.1:6380:1 shard1' has the same name as server '127.0.0.1:6379:1 shard1'"], nutcracker: Rejects },
    // nutcracker only compares names; one backend twice in a ring is a mistake.
    Case { file: "duplicate_server_address", errors: &["line 6: pool 'alpha': key 'servers': server '127.0.0.1:6379:1 shard2' has the same address as server '127.0.0.1:6379:1 shard1'"], nutcracker: Accepts },
    Case { file: "duplicate_server_unnamed", errors: &["line 6: pool 'alpha': key 'servers': server '127.0.0.1:6379:2' has the same address as server '127.0.0.1:6379:1'"], nutcracker: Rejects },
    Case { file: "no_servers", errors: &["line 4: pool 'alpha': key 'servers': the pool has no servers"], nutcracker: Rejects },
    Case { file: "hash_tag_one_char", errors: &["line 4: pool 'alpha': key 'hash_tag': invalid value '{': a hash tag must be exactly two ASCII characters, such as \"{}\""], nutcracker: Rejects },
    Case { file: "hash_tag_three_chars", errors: &["line 4: pool 'alpha': key 'hash_tag': invalid value '{}}': a hash tag must be exactly two ASCII characters, such as \"{}\""], nutcracker: Rejects },
    // nutcracker counts bytes, and 'é' is two bytes in UTF-8.
    Case { file: "hash_tag_non_ascii", errors: &["line 4: pool 'alpha': key 'hash_tag': invalid value 'é': a hash tag must be exactly two ASCII characters, such as \"{}\""], nutcracker: Accepts },
    Case { file: "unknown_key", errors: &["line 4: pool 'alpha': key 'hash_tags': unknown key (did you mean 'hash_tag'?)"], nutcracker: Rejects },
    Case { file: "timeout_negative", errors: &["line 4: pool 'alpha': key 'timeout': invalid value '-1': must be a whole number of milliseconds from 0 to 2147483647"], nutcracker: Rejects },
    Case { file: "timeout_not_a_number", errors: &["line 4: pool 'alpha': key 'timeout': invalid value '400ms': must be a whole number of milliseconds from 0 to 2147483647"], nutcracker: Rejects },
    // nutcracker's atoi overflows a C int without noticing.
    Case { file: "timeout_too_big", errors: &["line 4: pool 'alpha': key 'timeout': invalid value '99999999999': must be a whole number of milliseconds from 0 to 2147483647"], nutcracker: Accepts },
    Case { file: "server_connections_zero", errors: &["line 4: pool 'alpha': key 'server_connections': invalid value '0': a pool needs at least 1 connection per server"], nutcracker: Rejects },
    Case { file: "not_a_boolean", errors: &["line 4: pool 'alpha': key 'preconnect': invalid value 'yes': expected true or false"], nutcracker: Rejects },
    Case { file: "empty_redis_auth", errors: &["line 4: pool 'alpha': key 'redis_auth': invalid value '': a password cannot be empty (leave the key out for none)"], nutcracker: Rejects },
    // nutcracker proxies memcached; shardcar does not.
    Case { file: "memcache_pool", errors: &["line 3: pool 'alpha': key 'redis': 'redis: false' makes this a memcached pool; {NOT_MEMCACHED}"], nutcracker: Accepts },
    Case { file: "memcache_by_default", errors: &["line 1: pool 'alpha': key 'redis': not set, which twemproxy reads as a memcached pool; {NOT_MEMCACHED}"], nutcracker: Accepts },
    Case { file: "same_listen", errors: &["line 8: pool 'beta': key 'listen': listen address '127.0.0.1:22121' is already used by pool 'alpha'"], nutcracker: Rejects },
    Case { file: "yaml_syntax", errors: &["line 4: YAML syntax error: mapping values are not allowed in this context at line 4 column 8"], nutcracker: Rejects },
    Case { file: "duplicate_key", errors: &["line 5: pool 'alpha': key 'hash': written twice (first on line 4)"], nutcracker: Rejects },
    Case { file: "duplicate_pool", errors: &["line 7: pool 'alpha': written twice (first on line 1)"], nutcracker: Rejects },
    Case { file: "empty_file", errors: &["no pools defined (the file must be a mapping of pool names to pools)"], nutcracker: Rejects },
    // nutcracker rejects every ranges file for its unknown `ranges` key.
    Case { file: "range_gap", errors: &["line 8: pool 'alpha': key 'ranges': hashes 1001-1999 are not assigned to any server"], nutcracker: Rejects },
    Case { file: "range_overlap", errors: &["line 8: pool 'alpha': key 'ranges': spans 0-2147483647 and 2000000000-4294967295 overlap"], nutcracker: Rejects },
    Case { file: "range_unknown_server", errors: &["line 10: pool 'alpha': key 'ranges': '2147483648-4294967295: shard3': no server named 'shard3' in this pool"], nutcracker: Rejects },
    Case { file: "range_without_ranges", errors: &["line 1: pool 'alpha': key 'ranges': missing: 'distribution: range' needs a 'ranges' list"], nutcracker: Rejects },
    Case {
        file: "several_problems",
        errors: &[
            "line 3: pool 'alpha': key 'hash': unknown value 'md6' (expected one of {HASHES})",
            "line 5: pool 'alpha': key 'timeout': invalid value 'soon': must be a whole number of milliseconds from 0 to 2147483647",
            "line 8: pool 'alpha': key 'servers': server '127.0.0.1:6380:0' has a zero weight (weights start at 1)",
            "line 10: pool 'beta': key 'redis': not set, which twemproxy reads as a memcached pool; {NOT_MEMCACHED}",
            "line 11: pool 'beta': key 'listen': listen address '127.0.0.1:22121' is already used by pool 'alpha'",
            "line 14: pool 'beta': key 'servers': invalid value '127.0.0.1:6381': the port or the weight is missing; {SERVER_FORMAT}",
        ],
        nutcracker: Rejects,
    },
];

fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/testdata/bad")
}

fn bad_file(name: &str) -> PathBuf {
    bad_dir().join(format!("{name}.yml"))
}

fn expected_errors(case: &Case) -> String {
    case.errors
        .join("\n")
        .replace("{HASHES}", HASHES)
        .replace("{SERVER_FORMAT}", SERVER_FORMAT)
        .replace("{NOT_MEMCACHED}", NOT_MEMCACHED)
}

#[test]
fn each_bad_file_gets_its_messages() {
    for case in CASES {
        let src = std::fs::read_to_string(bad_file(case.file)).unwrap();
        let err = Config::from_yaml(&src).expect_err(case.file);
        assert_eq!(err.to_string(), expected_errors(case), "{}", case.file);
        assert_eq!(err.len(), case.errors.len(), "{}", case.file);
    }
}

#[test]
fn every_bad_file_is_in_the_table() {
    for entry in std::fs::read_dir(bad_dir()).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap();
        assert!(
            CASES.iter().any(|c| c.file == stem),
            "{stem}.yml has no case"
        );
    }
}

/// Runs Debian's `nutcracker -t` on each bad file and checks the verdict recorded
/// in `CASES`. Needs the `nutcracker` package: `cargo test -- --ignored`.
#[test]
#[ignore = "needs Debian's nutcracker binary"]
fn nutcracker_verdicts_are_as_recorded() {
    for case in CASES {
        let out = std::process::Command::new("nutcracker")
            .arg("-t")
            .arg("-c")
            .arg(bad_file(case.file))
            .output()
            .expect("run nutcracker");
        let text = String::from_utf8_lossy(&out.stderr);
        let verdict = if text.contains("syntax is ok") {
            Accepts
        } else {
            Rejects
        };
        assert_eq!(verdict, case.nutcracker, "{}: {text}", case.file);
    }
}
