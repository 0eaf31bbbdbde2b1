//! `shardcar up`, the embedded default, as a user runs it: the shipped
//! `config/shardcar.yml` (moved to a free port), three bundled engine shards
//! behind the proxy, a `redis` crate client in front, stats on `-s`.

#[path = "children/mod.rs"]
mod children;

use std::process::Command;

use children::{connect, free_port, read_stats, ProxyProcess, SHARDCAR};

/// Where the shipped config listens.
const SHIPPED_LISTEN: &str = "127.0.0.1:22121";

#[test]
fn up_serves_the_shipped_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/shardcar.yml");
    let text = std::fs::read_to_string(&shipped).expect("read config/shardcar.yml");
    assert!(text.contains(SHIPPED_LISTEN), "the shipped config moved");
    let port = free_port();
    let conf = dir.path().join("shardcar.yml");
    std::fs::write(
        &conf,
        text.replace(SHIPPED_LISTEN, &format!("127.0.0.1:{port}")),
    )
    .expect("write config");
    let stats_port = free_port();
    let mut command = Command::new(SHARDCAR);
    command
        .current_dir(dir.path())
        .arg("up")
        .arg("-c")
        .arg(&conf)
        .args(["-s", &stats_port.to_string()]);
    let _up = ProxyProcess::spawn(command, &[port], dir.path().join("up.log"));

    let mut con = connect(port);
    redis::cmd("MSET")
        .arg(&["a", "1", "b", "2", "c", "3"])
        .query::<()>(&mut con)
        .expect("MSET");
    let values: Vec<String> = redis::cmd("MGET")
        .arg(&["a", "b", "c"])
        .query(&mut con)
        .expect("MGET");
    assert_eq!(values, ["1", "2", "3"]);

    // Thirty more keys: the shards share them.
    let pairs: Vec<(String, usize)> = (0..30).map(|i| (format!("key:{i}"), i)).collect();
    redis::cmd("MSET")
        .arg(&pairs)
        .query::<()>(&mut con)
        .expect("MSET");

    let stats = read_stats(stats_port);
    assert!(stats.contains("\"service\":\"nutcracker\""), "{stats}");
    assert!(stats.contains("\"default\": {"), "{stats}");
    let busy = ["shard-a", "shard-b", "shard-c"]
        .iter()
        .filter(|name| requests(&stats, name) > 0)
        .count();
    assert!(busy >= 2, "requests reached {busy} shard(s): {stats}");
}

/// The `requests` counter of server `name` in the stats document.
fn requests(stats: &str, name: &str) -> u64 {
    let at = stats
        .find(&format!("\"{name}\": {{"))
        .unwrap_or_else(|| panic!("{name} in {stats}"));
    let rest = &stats[at..];
    let value = &rest[rest.find("\"requests\":").expect("requests") + 11..];
    let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a number")
}
