//! Every example under `config/` must load: the files users copy stay valid.
//!
//! The directory is read at test time, so a new `*.yml` file is checked as soon
//! as it is added, with no change here.

use std::path::{Path, PathBuf};

use shardcar::config::Config;

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| {
            p.extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_loads() {
    let files = examples();
    assert!(!files.is_empty(), "no examples under config/");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|path| Config::load(path).err().map(|e| e.to_string()))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn nutcracker_example_has_several_pools_in_file_order() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/nutcracker.yml");
    let config = Config::load(path).unwrap();
    let names: Vec<&str> = config.pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["cache", "sessions", "counters", "local"]);
    assert!(config.pools.iter().all(|p| !p.servers.is_empty()));
}
