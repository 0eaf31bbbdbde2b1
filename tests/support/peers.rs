//! The real peers tests compare with, found through environment variables
//! that `.ci/run` sets. Without one, the test that needs it prints that it is
//! skipped, so `cargo test` passes on any machine. Shared by `support` and
//! `children`.

/// The redis-server named by SHARDCAR_TEST_REDIS_SERVER; None, with a note
/// that the test is skipped, when it is not set.
pub fn redis_server() -> Option<String> {
    let bin = std::env::var("SHARDCAR_TEST_REDIS_SERVER")
        .ok()
        .filter(|b| !b.is_empty());
    if bin.is_none() {
        println!("skipped: set SHARDCAR_TEST_REDIS_SERVER to the redis-server binary");
    }
    bin
}
