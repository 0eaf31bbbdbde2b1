//! Debian's `redis-benchmark` runs its default tests against the engine with zero
//! errors. Gated on SHARDCAR_TEST_REDIS_BENCHMARK (the binary's path), which
//! `.ci/run` sets; without it the test says it was skipped.

mod support;

use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_benchmark_default_tests_run_without_errors() {
    let Ok(benchmark) = std::env::var("SHARDCAR_TEST_REDIS_BENCHMARK") else {
        println!("skipped: set SHARDCAR_TEST_REDIS_BENCHMARK to redis-benchmark's path");
        return;
    };
    let engine = support::Engine::start().await;
    let port = engine.addr.port().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(benchmark)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-n",
                "2000",
                "-c",
                "20",
                "--csv",
            ])
            .output()
            .expect("redis-benchmark runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        output.status
    );
    for text in [&stdout, &stderr] {
        for bad in ["ERR", "Error", "WARNING", "WRONGTYPE"] {
            assert!(
                !text.contains(bad),
                "redis-benchmark reported '{bad}':\n{stdout}\n{stderr}"
            );
        }
    }
    // Every default test ran and reported a rate.
    let tests: Vec<&str> = stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    for expected in [
        "PING_INLINE",
        "SET",
        "GET",
        "INCR",
        "LPUSH",
        "RPOP",
        "SADD",
        "HSET",
        "SPOP",
        "ZADD",
        "ZPOPMIN",
        "LRANGE_600 (first 600 elements)",
        "MSET (10 keys)",
    ] {
        assert!(
            tests.iter().any(|t| t.trim_matches('"') == expected),
            "test {expected} missing from:\n{stdout}"
        );
    }
}
