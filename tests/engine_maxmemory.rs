//! maxmemory: eviction under allkeys-lru and volatile-ttl, and OOM under
//! noeviction.
//!
//! used_memory is the whole process's allocation, shared by every engine of a
//! test binary: these tests have a binary of their own, so other families'
//! tests do not move the figure under them, the ones that fill memory take
//! turns, and limits are set relative to what INFO reports.

mod support;

use redis::aio::MultiplexedConnection;
use redis::{FromRedisValue, Value};
use std::collections::HashMap;

use support::Engine;

async fn query<T: FromRedisValue>(
    con: &mut MultiplexedConnection,
    args: &[&str],
) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(con).await
}

async fn q<T: FromRedisValue>(con: &mut MultiplexedConnection, args: &[&str]) -> T {
    query(con, args)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

async fn err(con: &mut MultiplexedConnection, args: &[&str]) -> String {
    let e = query::<Value>(con, args).await.expect_err("an error reply");
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

async fn info(con: &mut MultiplexedConnection, section: &str) -> HashMap<String, i64> {
    let text: String = q(con, &["INFO", section]).await;
    text.split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

fn num(map: &HashMap<String, i64>, field: &str) -> i64 {
    *map.get(field)
        .unwrap_or_else(|| panic!("INFO has no {field}"))
}

/// The tests that fill memory take turns: each sets its limit from the
/// process's memory, which another one filling at the same time would move.
static MEMORY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

#[tokio::test]
async fn allkeys_lru_evicts_instead_of_failing() {
    let _turn = MEMORY.lock().await;
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let used = num(&info(&mut con, "memory").await, "used_memory");
    let limit = used + (16 << 20);
    q::<()>(
        &mut con,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
    )
    .await;
    q::<()>(
        &mut con,
        &["CONFIG", "SET", "maxmemory", &limit.to_string()],
    )
    .await;
    // 64 MiB of values against a 16 MiB allowance, in small pipelines so the
    // requests in flight stay small next to the allowance.
    let value = "v".repeat(4096);
    let (batches, per_batch) = (256, 64);
    for batch in 0..batches {
        let mut pipe = redis::pipe();
        for i in 0..per_batch {
            pipe.cmd("SET").arg(format!("key:{batch}:{i}")).arg(&value);
        }
        let replies: Vec<Value> = pipe
            .query_async(&mut con)
            .await
            .expect("every SET succeeds");
        assert!(replies.iter().all(|r| *r == Value::Okay));
    }
    // Every command may evict while memory is over the limit: lift the limit
    // before counting, so the counts below agree.
    let used = num(&info(&mut con, "memory").await, "used_memory");
    assert!(
        used < limit + (8 << 20),
        "used {used} against a limit of {limit}"
    );
    q::<()>(&mut con, &["CONFIG", "SET", "maxmemory", "0"]).await;
    let evicted = num(&info(&mut con, "stats").await, "evicted_keys");
    let size: i64 = q(&mut con, &["DBSIZE"]).await;
    let total = batches * per_batch;
    assert!(evicted > 0, "nothing evicted");
    assert_eq!(
        size + evicted,
        total,
        "every key is either there or evicted"
    );
    assert!(size < total / 2, "{size} keys kept");
    // The newest key survives: it was just written.
    let last: Option<String> = q(
        &mut con,
        &["GET", &format!("key:{}:{}", batches - 1, per_batch - 1)],
    )
    .await;
    assert!(last.is_some());
}

#[tokio::test]
async fn noeviction_refuses_commands_that_grow_memory() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    q::<()>(&mut con, &["SET", "kept", "v"]).await;
    q::<()>(&mut con, &["CONFIG", "SET", "maxmemory", "1"]).await;
    assert_eq!(err(&mut con, &["SET", "k", "v"]).await, OOM);
    assert_eq!(err(&mut con, &["RPUSH", "l", "a"]).await, OOM);
    // Reads and deletions still run.
    assert_eq!(
        q::<Option<String>>(&mut con, &["GET", "kept"])
            .await
            .as_deref(),
        Some("v")
    );
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]).await, 1);
    // Inside MULTI every command that would be queued is refused, and EXEC aborts.
    let mut tx = engine.dedicated().await;
    let _: () = redis::cmd("MULTI").query_async(&mut tx).await.unwrap();
    let queued: redis::RedisResult<Value> =
        redis::cmd("GET").arg("kept").query_async(&mut tx).await;
    assert_eq!(queued.unwrap_err().code(), Some("OOM"));
    let exec: redis::RedisResult<Value> = redis::cmd("EXEC").query_async(&mut tx).await;
    assert_eq!(exec.unwrap_err().code(), Some("EXECABORT"));
    // volatile-* with no volatile key: nothing to evict, still OOM.
    q::<()>(
        &mut con,
        &["CONFIG", "SET", "maxmemory-policy", "volatile-lru"],
    )
    .await;
    assert_eq!(err(&mut con, &["SET", "k", "v"]).await, OOM);
    assert_eq!(
        q::<Option<String>>(&mut con, &["GETDEL", "kept"])
            .await
            .as_deref(),
        Some("v")
    );
    let stats = info(&mut con, "stats").await;
    assert_eq!(num(&stats, "evicted_keys"), 0);
    let commandstats: String = q(&mut con, &["INFO", "commandstats"]).await;
    assert!(
        commandstats.contains("cmdstat_set:calls=1,"),
        "{commandstats}"
    );
    q::<()>(&mut con, &["CONFIG", "SET", "maxmemory", "0"]).await;
    assert_eq!(q::<String>(&mut con, &["SET", "k", "v"]).await, "OK");
}

#[tokio::test]
async fn volatile_policies_evict_only_keys_with_a_ttl() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    for i in 0..50 {
        q::<()>(&mut con, &["SET", &format!("persistent:{i}"), "v"]).await;
        q::<()>(
            &mut con,
            &["SET", &format!("volatile:{i}"), "v", "EX", "1000"],
        )
        .await;
    }
    q::<()>(
        &mut con,
        &[
            "CONFIG",
            "SET",
            "maxmemory-policy",
            "volatile-ttl",
            "maxmemory",
            "1",
        ],
    )
    .await;
    // Over the limit whatever happens: every volatile key goes, then OOM (a pass
    // that runs out of time lets its command through, as in Redis).
    let mut refused = false;
    for _ in 0..100 {
        if query::<Value>(&mut con, &["SET", "more", "v"])
            .await
            .is_err()
        {
            refused = true;
            break;
        }
    }
    assert!(refused, "never refused");
    assert_eq!(err(&mut con, &["SET", "more", "v"]).await, OOM);
    q::<Option<String>>(&mut con, &["GETDEL", "more"]).await;
    q::<()>(&mut con, &["CONFIG", "SET", "maxmemory", "0"]).await;
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]).await, 50);
    assert_eq!(num(&info(&mut con, "stats").await, "evicted_keys"), 50);
    for i in 0..50 {
        assert_eq!(
            q::<Option<String>>(&mut con, &["GET", &format!("volatile:{i}")]).await,
            None
        );
        assert!(
            q::<Option<String>>(&mut con, &["GET", &format!("persistent:{i}")])
                .await
                .is_some()
        );
    }
}

#[tokio::test]
async fn allkeys_lru_spares_recently_read_keys() {
    let _turn = MEMORY.lock().await;
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let value = "v".repeat(4096);
    let write = |prefix: &'static str, n: usize| {
        let mut pipe = redis::pipe();
        for i in 0..n {
            pipe.cmd("SET")
                .arg(format!("{prefix}:{i}"))
                .arg(&value)
                .ignore();
        }
        pipe
    };
    let _: () = write("cold", 1500).query_async(&mut con).await.unwrap();
    let _: () = write("hot", 20).query_async(&mut con).await.unwrap();
    let used = num(&info(&mut con, "memory").await, "used_memory");
    q::<()>(
        &mut con,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
    )
    .await;
    q::<()>(
        &mut con,
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            &(used + (2 << 20)).to_string(),
        ],
    )
    .await;
    // Access times count whole seconds: let the cold keys age, then read the hot ones.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    for i in 0..20 {
        q::<Option<String>>(&mut con, &["GET", &format!("hot:{i}")]).await;
    }
    // Write until about 300 keys were evicted: cold keys then stay plentiful in
    // every eviction sample. (With many more evicted, samples run short of cold
    // keys, and a hot key read a second before the last writes is older than
    // they are: a slow machine then evicts one.) How many writes that takes
    // depends on the allocator's accounting, so count evictions, not writes.
    let mut evicted = 0;
    for chunk in 0..40 {
        let mut pipe = redis::pipe();
        for i in 0..50 {
            pipe.cmd("SET")
                .arg(format!("new:{chunk}:{i}"))
                .arg(&value)
                .ignore();
        }
        let _: () = pipe.query_async(&mut con).await.unwrap();
        evicted = num(&info(&mut con, "stats").await, "evicted_keys");
        if evicted >= 300 {
            break;
        }
    }
    q::<()>(&mut con, &["CONFIG", "SET", "maxmemory", "0"]).await;
    assert!(evicted >= 300, "{evicted} evicted");
    let mut hot = 0;
    for i in 0..20 {
        hot += i64::from(
            q::<Option<String>>(&mut con, &["GET", &format!("hot:{i}")])
                .await
                .is_some(),
        );
    }
    assert_eq!(hot, 20, "recently read keys were evicted before idle ones");
}
