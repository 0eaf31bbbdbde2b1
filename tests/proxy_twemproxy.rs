//! shardcar as a drop-in twemproxy: the `shardcar proxy` binary and Debian's
//! `nutcracker`, run on the same `nutcracker.yml` in front of the same three
//! `redis-server`s, must put every key on the same server, serve a stats
//! document of the same shape, and give the same `-t` verdicts.
//!
//! Set `SHARDCAR_TEST_NUTCRACKER` to the nutcracker binary to run the
//! comparisons; without it they print "skipped: …" and pass (the `-t` test
//! still checks shardcar's own verdicts).

#[path = "children/mod.rs"]
mod children;
#[path = "proxy_placement/keys.rs"]
mod keys;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use shardcar::proxy::hash::HashKind;

use children::{connect, free_port, nutcracker_binary, ProxyProcess, Redis, SHARDCAR};
use keys::{show, test_keys};

/// SETs per pipeline round trip.
const PIPELINE_BATCH: usize = 1_000;

/// Three redis-servers, shared by every pool of a test.
struct Backends {
    dir: tempfile::TempDir,
    redis: Vec<Redis>,
}

impl Backends {
    fn start() -> Backends {
        let dir = tempfile::tempdir().expect("tempdir");
        let redis = (0..3).map(|_| Redis::start(dir.path())).collect();
        Backends { dir, redis }
    }

    /// Weights 1, 2, 3; the first unnamed (identity `127.0.0.1:port`), the
    /// others named; listed so that config order differs from twemproxy's
    /// sorted order.
    fn mixed_servers(&self) -> String {
        format!(
            "   - 127.0.0.1:{}:3 node-c-long-name\n   - 127.0.0.1:{}:1\n   - 127.0.0.1:{}:2 cache-b\n",
            self.redis[2].port, self.redis[0].port, self.redis[1].port
        )
    }

    fn flush(&self) {
        self.redis.iter().for_each(Redis::flush);
    }

    /// The keys each backend holds, in backend order.
    fn key_sets(&self) -> Vec<HashSet<Vec<u8>>> {
        self.redis.iter().map(Redis::keys).collect()
    }
}

/// One pool of the config: its name and the settings that vary.
struct PoolSpec {
    name: String,
    settings: String,
}

/// Every hash with ketama and with modula, then a hash-tagged pool.
fn pool_specs() -> Vec<PoolSpec> {
    let mut specs = Vec::new();
    for hash in HashKind::ALL {
        for dist in ["ketama", "modula"] {
            specs.push(PoolSpec {
                name: format!("{hash}_{dist}"),
                settings: format!("  hash: {hash}\n  distribution: {dist}\n"),
            });
        }
    }
    specs.push(PoolSpec {
        name: "tagged".into(),
        settings: "  hash: murmur\n  distribution: ketama\n  hash_tag: \"{}\"\n".into(),
    });
    specs
}

/// The config text: pool `i` listens on `ports[i]`.
fn config_text(specs: &[PoolSpec], ports: &[u16], servers: &str) -> String {
    let mut yaml = String::new();
    for (spec, port) in specs.iter().zip(ports) {
        write!(
            yaml,
            "{}:\n  listen: 127.0.0.1:{port}\n  redis: true\n  timeout: 5000\n{}  servers:\n{servers}",
            spec.name, spec.settings
        )
        .expect("write");
    }
    yaml
}

/// The same pools for nutcracker and for shardcar, on ports of their own.
struct Pair {
    nutcracker: ProxyProcess,
    shardcar: ProxyProcess,
    nut_ports: Vec<u16>,
    shard_ports: Vec<u16>,
}

fn start_pair(bin: &Path, backends: &Backends, specs: &[PoolSpec]) -> Pair {
    let servers = backends.mixed_servers();
    let nut_ports: Vec<u16> = specs.iter().map(|_| free_port()).collect();
    let shard_ports: Vec<u16> = specs.iter().map(|_| free_port()).collect();
    let dir = backends.dir.path();
    let nut_conf = dir.join("nutcracker.yml");
    let shard_conf = dir.join("shardcar.yml");
    std::fs::write(&nut_conf, config_text(specs, &nut_ports, &servers)).expect("write conf");
    std::fs::write(&shard_conf, config_text(specs, &shard_ports, &servers)).expect("write conf");
    Pair {
        nutcracker: ProxyProcess::nutcracker(bin, &nut_conf, &nut_ports),
        shardcar: ProxyProcess::shardcar(&shard_conf, &shard_ports),
        nut_ports,
        shard_ports,
    }
}

/// SETs every key through the proxy on `port`, pipelined; each must succeed.
fn write_keys(port: u16, keys: &[Vec<u8>]) {
    let mut con = connect(port);
    for batch in keys.chunks(PIPELINE_BATCH) {
        let mut pipe = redis::pipe();
        for key in batch {
            pipe.cmd("SET").arg(key.as_slice()).arg(1).ignore();
        }
        pipe.query::<()>(&mut con)
            .unwrap_or_else(|e| panic!("pipelined SET through port {port}: {e}"));
    }
}

/// Which backend holds `key` in `sets`.
fn holder(sets: &[HashSet<Vec<u8>>], key: &[u8]) -> Option<usize> {
    sets.iter().position(|s| s.contains(key))
}

fn assert_same_placement(
    pool: &str,
    keys: &[Vec<u8>],
    nut: &[HashSet<Vec<u8>>],
    ours: &[HashSet<Vec<u8>>],
) {
    let total: usize = nut.iter().map(HashSet::len).sum();
    assert_eq!(
        total,
        keys.len(),
        "pool {pool}: nutcracker stored every key once"
    );
    if nut == ours {
        return;
    }
    let mut report = String::new();
    let wrong: Vec<&Vec<u8>> = keys
        .iter()
        .filter(|k| holder(nut, k) != holder(ours, k))
        .collect();
    for key in wrong.iter().take(10) {
        writeln!(
            report,
            "  key {}: nutcracker → backend {:?}, shardcar → backend {:?}",
            show(key),
            holder(nut, key),
            holder(ours, key)
        )
        .expect("write");
    }
    panic!(
        "pool {pool}: {} of {} keys placed differently:\n{report}",
        wrong.len(),
        keys.len()
    );
}

#[test]
fn every_hash_and_distribution_places_keys_like_nutcracker() {
    let Some(bin) = nutcracker_binary() else {
        return;
    };
    let started = Instant::now();
    let backends = Backends::start();
    let specs = pool_specs();
    let pair = start_pair(&bin, &backends, &specs);
    let keys = test_keys();
    assert_eq!(keys.len(), 10_000);
    assert!(keys.iter().any(|k| std::str::from_utf8(k).is_err()));
    for (i, spec) in specs.iter().enumerate() {
        backends.flush();
        write_keys(pair.nut_ports[i], &keys);
        let nut = backends.key_sets();
        backends.flush();
        write_keys(pair.shard_ports[i], &keys);
        let ours = backends.key_sets();
        assert_same_placement(&spec.name, &keys, &nut, &ours);
    }
    println!(
        "{} pools × {} keys placed identically in {:.1?}",
        specs.len(),
        keys.len(),
        started.elapsed()
    );
}

// ------------------------------------------------------------ stats document

/// Just enough JSON for the stats document: objects keep their key order.
#[derive(Debug, PartialEq)]
enum Json {
    Object(Vec<(String, Json)>),
    String(String),
    Number(i64),
}

struct JsonParser<'a> {
    text: &'a [u8],
    at: usize,
}

impl JsonParser<'_> {
    fn parse(text: &str) -> Result<Json, String> {
        let mut parser = JsonParser {
            text: text.as_bytes(),
            at: 0,
        };
        let value = parser.value()?;
        parser.skip_space();
        match parser.at == parser.text.len() {
            true => Ok(value),
            false => Err(format!("trailing bytes at {}", parser.at)),
        }
    }

    fn skip_space(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        self.skip_space();
        match self.text.get(self.at) {
            Some(&b) if b == byte => {
                self.at += 1;
                Ok(())
            }
            other => Err(format!(
                "expected '{}' at {}, found {:?}",
                byte as char,
                self.at,
                other.map(|&b| b as char)
            )),
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.skip_space();
        match self.text.get(self.at) {
            Some(b'{') => self.object(),
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            other => Err(format!("unexpected {:?} at {}", other, self.at)),
        }
    }

    fn object(&mut self) -> Result<Json, String> {
        self.expect(b'{')?;
        let mut members = Vec::new();
        self.skip_space();
        if self.text.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_space();
            let key = self.string()?;
            self.expect(b':')?;
            members.push((key, self.value()?));
            self.skip_space();
            match self.text.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Json::Object(members));
                }
                other => return Err(format!("unexpected {:?} at {}", other, self.at)),
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.text.get(self.at) {
                None => return Err("unterminated string".into()),
                Some(b'"') => break,
                Some(b'\\') => {
                    out.push(*self.text.get(self.at + 1).ok_or("bad escape")?);
                    self.at += 2;
                }
                Some(&b) => {
                    out.push(b);
                    self.at += 1;
                }
            }
        }
        self.at += 1;
        String::from_utf8(out).map_err(|e| e.to_string())
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.at;
        self.at += 1;
        while self.text.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let digits = std::str::from_utf8(&self.text[start..self.at]).map_err(|e| e.to_string())?;
        digits.parse().map(Json::Number).map_err(|e| e.to_string())
    }
}

impl Json {
    /// The document's shape: every key, in order, with the kind of its value.
    fn shape(&self) -> String {
        match self {
            Json::Number(_) => "n".into(),
            Json::String(_) => "s".into(),
            Json::Object(members) => {
                let inner: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("{k:?}:{}", v.shape()))
                    .collect();
                format!("{{{}}}", inner.join(","))
            }
        }
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        match self {
            Json::Object(members) => members.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    fn number(&self) -> i64 {
        match self {
            Json::Number(n) => *n,
            other => panic!("not a number: {other:?}"),
        }
    }
}

#[test]
fn json_parser_keeps_order_and_refuses_garbage() {
    let doc = JsonParser::parse(r#"{"b":1, "a": {"x\"y":"s", "w":-2}}"#).unwrap();
    assert_eq!(doc.keys(), ["b", "a"]);
    assert_eq!(doc.shape(), r#"{"b":n,"a":{"x\"y":s,"w":n}}"#);
    for bad in [r#"{"a":1"#, r#"{"a":1}}"#, r#"{"a" 1}"#, r#"{a:1}"#, ""] {
        assert!(JsonParser::parse(bad).is_err(), "{bad}");
    }
}

/// Per-server `requests` of one pool, by server name.
fn server_requests(doc: &Json, pool: &str) -> Vec<(String, i64)> {
    let pool = doc.get(pool).expect("pool in stats");
    let Json::Object(members) = pool else {
        panic!("pool is not an object")
    };
    members
        .iter()
        .filter_map(|(name, v)| v.get("requests").map(|r| (name.clone(), r.number())))
        .collect()
}

#[test]
fn stats_document_has_nutcrackers_shape_and_counts() {
    let Some(bin) = nutcracker_binary() else {
        return;
    };
    let backends = Backends::start();
    let specs: Vec<PoolSpec> = pool_specs().into_iter().take(2).collect();
    let pair = start_pair(&bin, &backends, &specs);
    let nut_raw = pair.nutcracker.stats();
    let nut = JsonParser::parse(&nut_raw).expect("nutcracker's JSON");
    let raw = pair.shardcar.stats();
    let ours = JsonParser::parse(&raw).unwrap_or_else(|e| panic!("shardcar's JSON: {e}\n{raw}"));
    assert_eq!(nut.keys(), ours.keys(), "top-level keys");
    assert_eq!(nut.shape(), ours.shape(), "whole shape\n{raw}");
    assert_eq!(
        ours.get("service"),
        Some(&Json::String("nutcracker".into()))
    );
    // Byte for byte the same text once the counters are set aside.
    assert_eq!(zero_numbers(&nut_raw), zero_numbers(&raw));

    // After the same writes, every pool and server counter is the same:
    // requests, bytes both ways, responses, open server connections, EOFs.
    let keys = &test_keys()[..2_000];
    for i in 0..specs.len() {
        write_keys(pair.nut_ports[i], keys);
        write_keys(pair.shard_ports[i], keys);
    }
    let (nut, ours) = settled_stats(&pair, &specs);
    for spec in &specs {
        assert_eq!(
            nut.get(&spec.name),
            ours.get(&spec.name),
            "pool {}",
            spec.name
        );
        let requests: i64 = server_requests(&ours, &spec.name)
            .iter()
            .map(|(_, n)| n)
            .sum();
        assert_eq!(requests, keys.len() as i64);
    }
}

/// The document with every number value replaced by 0.
fn zero_numbers(doc: &str) -> String {
    let mut out = String::with_capacity(doc.len());
    let mut rest = doc;
    while let Some(at) = rest.find("\":") {
        out.push_str(&rest[..at + 2]);
        rest = &rest[at + 2..];
        let digits = rest.len()
            - rest
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == '-')
                .len();
        if digits > 0 {
            out.push('0');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn zero_numbers_leaves_names_alone() {
    assert_eq!(
        zero_numbers(r#"{"up":12, "127.0.0.1:7001": {"n":-3}, "s":"v:1"}"#),
        r#"{"up":0, "127.0.0.1:7001": {"n":0}, "s":"v:1"}"#
    );
}

/// Both documents once they agree on every pool, or as they are after 10 s:
/// nutcracker aggregates every 100 ms, and either proxy may count a client's
/// EOF a moment after the client left.
fn settled_stats(pair: &Pair, specs: &[PoolSpec]) -> (Json, Json) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let nut = JsonParser::parse(&pair.nutcracker.stats()).expect("nutcracker's JSON");
        let ours = JsonParser::parse(&pair.shardcar.stats()).expect("shardcar's JSON");
        let agree = specs.iter().all(|s| nut.get(&s.name) == ours.get(&s.name));
        if agree || Instant::now() > deadline {
            return (nut, ours);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ------------------------------------------------------------------- -t

/// A config file for `-t`, and whether it is valid.
struct ConfCase {
    name: &'static str,
    text: String,
    valid: bool,
    /// What shardcar's error must mention.
    mentions: &'static str,
}

fn conf_cases() -> Vec<ConfCase> {
    let pool = |extra: &str, servers: &str| {
        format!("p:\n  listen: 127.0.0.1:22121\n  redis: true\n{extra}  servers:\n{servers}")
    };
    let one = "   - 127.0.0.1:6379:1\n";
    let case = |name, text, valid, mentions| ConfCase {
        name,
        text,
        valid,
        mentions,
    };
    vec![
        case("valid", pool("", one), true, ""),
        case(
            "valid_full",
            pool(
                "  hash: murmur\n  hash_tag: \"{}\"\n  distribution: modula\n  timeout: 400\n  auto_eject_hosts: true\n",
                "   - 127.0.0.1:6379:1 a\n   - 127.0.0.1:6380:2 b\n",
            ),
            true,
            "",
        ),
        case("unknown_hash", pool("  hash: md6\n", one), false, "key 'hash'"),
        case(
            "unknown_distribution",
            pool("  distribution: ring\n", one),
            false,
            "key 'distribution'",
        ),
        case("unknown_key", pool("  colour: blue\n", one), false, "'colour'"),
        case(
            "server_without_weight",
            pool("", "   - 127.0.0.1:6379\n"),
            false,
            "127.0.0.1:6379",
        ),
        case("zero_weight", pool("", "   - 127.0.0.1:6379:0\n"), false, "zero weight"),
        case(
            "duplicate_server",
            pool("", "   - 127.0.0.1:6379:1\n   - 127.0.0.1:6379:1\n"),
            false,
            "same address",
        ),
        case("no_servers", "p:\n  listen: 127.0.0.1:22121\n  redis: true\n".into(), false, "no servers"),
        case(
            "no_listen",
            format!("p:\n  redis: true\n  servers:\n{one}"),
            false,
            "key 'listen'",
        ),
        case("bad_timeout", pool("  timeout: soon\n", one), false, "key 'timeout'"),
        case("long_hash_tag", pool("  hash_tag: \"{}}\"\n", one), false, "hash_tag"),
        case("bad_port", pool("", one).replace("22121", "99999"), false, "port"),
        case("yaml_syntax", "p:\n  listen: [\n".into(), false, "YAML"),
        case("empty", String::new(), false, "no pools"),
    ]
}

/// Runs `program -t -c file`: exit code and stderr.
fn test_conf(program: &Command, file: &Path) -> (Option<i32>, String) {
    let mut command = Command::new(program.get_program());
    command
        .args(program.get_args())
        .arg("-t")
        .arg("-c")
        .arg(file);
    let output = command.output().expect("run -t");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn test_flag_gives_nutcrackers_verdicts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut shardcar = Command::new(SHARDCAR);
    shardcar.arg("proxy");
    let nutcracker = nutcracker_binary().map(Command::new);
    let mut cases = conf_cases();
    cases.push(ConfCase {
        name: "missing_file",
        text: String::new(),
        valid: false,
        mentions: "missing_file",
    });
    for case in &cases {
        let file = dir.path().join(format!("{}.yml", case.name));
        if case.name != "missing_file" {
            std::fs::write(&file, &case.text).expect("write conf");
        }
        let (code, stderr) = test_conf(&shardcar, &file);
        let expected = if case.valid { 0 } else { 1 };
        assert_eq!(code, Some(expected), "{}: shardcar -t\n{stderr}", case.name);
        assert!(
            stderr.contains(case.mentions),
            "{}: stderr: {stderr}",
            case.name
        );
        if !case.valid {
            assert!(stderr.contains("is invalid"), "{}: {stderr}", case.name);
        }
        if let Some(nutcracker) = &nutcracker {
            let (theirs, _) = test_conf(nutcracker, &file);
            assert_eq!(
                theirs, code,
                "{}: nutcracker and shardcar disagree",
                case.name
            );
        }
    }
}

#[test]
fn test_flag_where_shardcar_is_stricter_than_nutcracker() {
    // A pool without `redis: true` is a memcached pool to twemproxy, valid
    // for it; shardcar proxies Redis only and says so.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("memcached.yml");
    std::fs::write(
        &file,
        "p:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\n",
    )
    .expect("write conf");
    let mut shardcar = Command::new(SHARDCAR);
    shardcar.arg("proxy");
    let (code, stderr) = test_conf(&shardcar, &file);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("key 'redis'") && stderr.contains("memcached"),
        "{stderr}"
    );
    if let Some(bin) = nutcracker_binary() {
        assert_eq!(test_conf(&Command::new(bin), &file).0, Some(0));
    }
}
