//! The server family against a running engine: INFO, DBSIZE/FLUSH*/SWAPDB,
//! CONFIG, CLIENT, MONITOR, DEBUG, MEMORY, SLOWLOG, LATENCY, maxmemory and
//! SHUTDOWN. Texts and reply shapes were taken from redis-server 7.0.15.
//! CONFIG, CLIENT, and SLOWLOG/MONITOR have files of their own in
//! `engine_server/`; maxmemory has its own test binary (`engine_maxmemory.rs`)
//! because memory is measured per process.

mod resp_read;
mod support;

#[path = "engine_server/client.rs"]
mod client;
#[path = "engine_server/config.rs"]
mod config;
#[path = "engine_server/watching.rs"]
mod watching;

use redis::aio::MultiplexedConnection;
use redis::{FromRedisValue, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use support::{cmd, Engine, Raw};

pub(crate) async fn query<T: FromRedisValue>(
    con: &mut MultiplexedConnection,
    args: &[&str],
) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(con).await
}

/// Runs a command and converts its reply.
pub(crate) async fn q<T: FromRedisValue>(con: &mut MultiplexedConnection, args: &[&str]) -> T {
    query(con, args)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Runs a command that must fail and returns the error as Redis prints it.
pub(crate) async fn err(con: &mut MultiplexedConnection, args: &[&str]) -> String {
    let e = query::<Value>(con, args).await.expect_err("an error reply");
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

/// INFO's `field:value` lines as a map (headers and blank lines left out).
pub(crate) async fn info(
    con: &mut MultiplexedConnection,
    section: &str,
) -> HashMap<String, String> {
    let text: String = q(con, &["INFO", section]).await;
    parse_info(&text)
}

fn parse_info(text: &str) -> HashMap<String, String> {
    text.split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("INFO line without ':': {l:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

pub(crate) fn num(map: &HashMap<String, String>, field: &str) -> i64 {
    map.get(field)
        .unwrap_or_else(|| panic!("INFO has no {field}"))
        .parse()
        .unwrap_or_else(|_| panic!("{field} is not an integer"))
}

#[tokio::test]
async fn info_sections_as_redis_lays_them_out() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let all: String = q(&mut con, &["INFO"]).await;
    let headers: Vec<&str> = all.split("\r\n").filter(|l| l.starts_with('#')).collect();
    let default = [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Modules",
        "Errorstats",
        "Cluster",
        "Keyspace",
    ];
    assert_eq!(headers, default.map(|s| format!("# {s}")));
    // Sections are separated by one empty line; the text ends with the last line.
    assert!(all.contains("\r\n\r\n# Clients\r\n"), "{all}");
    assert!(!all.ends_with("\r\n\r\n"));
    let everything: String = q(&mut con, &["INFO", "everything"]).await;
    assert!(everything.contains("# Commandstats\r\n") && everything.contains("# Latencystats\r\n"));
    let all_sections: String = q(&mut con, &["INFO", "all"]).await;
    assert!(all_sections.contains("# Commandstats\r\n"));
    // Asked out of order and in any case: Redis's order.
    let two: String = q(&mut con, &["INFO", "KEYSPACE", "server"]).await;
    assert!(
        two.starts_with("# Server\r\n") && two.ends_with("# Keyspace\r\n"),
        "{two}"
    );
    let nothing: String = q(&mut con, &["INFO", "nosuch"]).await;
    assert_eq!(nothing, "");

    let mut raw = Raw::connect(engine.addr).await;
    raw.roundtrip(&cmd(&["INFO", "keyspace"]), b"$12\r\n# Keyspace\r\n\r\n")
        .await;
    raw.roundtrip(&cmd(&["INFO", "nosuch"]), b"$0\r\n\r\n")
        .await;
    raw.send(&cmd(&["HELLO", "3"])).await;
    resp_read::read_value(&mut raw).await;
    raw.roundtrip(
        &cmd(&["INFO", "cluster"]),
        b"=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n",
    )
    .await;
}

#[tokio::test]
async fn info_fields() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let server = info(&mut con, "server").await;
    assert_eq!(server["redis_version"], "7.0.15");
    assert_eq!(server["redis_mode"], "standalone");
    assert_eq!(num(&server, "tcp_port"), i64::from(engine.addr.port()));
    assert_eq!(num(&server, "process_id"), i64::from(std::process::id()));
    assert_eq!(server["run_id"].len(), 40);
    assert!(num(&server, "uptime_in_seconds") >= 0);
    assert_eq!(num(&server, "hz"), 10);

    let clients = info(&mut con, "clients").await;
    assert_eq!(num(&clients, "connected_clients"), 1);
    assert_eq!(num(&clients, "maxclients"), 10000);
    assert_eq!(num(&clients, "blocked_clients"), 0);

    let memory = info(&mut con, "memory").await;
    assert!(num(&memory, "used_memory") > 0);
    assert!(num(&memory, "used_memory_rss") > 0);
    assert!(num(&memory, "used_memory_peak") >= num(&memory, "used_memory"));
    assert!(memory["used_memory_human"].ends_with(['K', 'M', 'G']));
    assert_eq!(num(&memory, "maxmemory"), 0);
    assert_eq!(memory["maxmemory_policy"], "noeviction");
    assert_eq!(memory["mem_allocator"], "jemalloc-5.3.0");

    let persistence = info(&mut con, "persistence").await;
    assert_eq!(num(&persistence, "loading"), 0);
    assert_eq!(persistence["rdb_last_bgsave_status"], "ok");
    assert_eq!(num(&persistence, "aof_enabled"), 0);

    assert_eq!(info(&mut con, "replication").await["role"], "master");
    assert!(info(&mut con, "cpu").await.contains_key("used_cpu_user"));
    assert_eq!(num(&info(&mut con, "cluster").await, "cluster_enabled"), 0);
}

#[tokio::test]
async fn info_stats_and_keyspace_count() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let before = info(&mut con, "stats").await;
    for field in [
        "total_connections_received",
        "total_commands_processed",
        "instantaneous_ops_per_sec",
        "total_net_input_bytes",
        "total_net_output_bytes",
        "rejected_connections",
        "expired_keys",
        "evicted_keys",
        "keyspace_hits",
        "keyspace_misses",
        "pubsub_channels",
        "pubsub_patterns",
        "total_error_replies",
    ] {
        num(&before, field);
    }
    assert_eq!(num(&before, "total_connections_received"), 1);
    q::<()>(&mut con, &["SET", "a", "1"]).await;
    q::<()>(&mut con, &["SET", "b", "2", "EX", "100"]).await;
    q::<Option<String>>(&mut con, &["GET", "a"]).await;
    q::<Option<String>>(&mut con, &["GET", "missing"]).await;
    q::<()>(&mut con, &["SELECT", "3"]).await;
    q::<()>(&mut con, &["SET", "c", "3"]).await;
    let after = info(&mut con, "stats").await;
    assert_eq!(
        num(&after, "total_commands_processed"),
        num(&before, "total_commands_processed") + 7
    );
    assert_eq!(num(&after, "keyspace_hits"), 1);
    assert_eq!(num(&after, "keyspace_misses"), 1);
    assert!(num(&after, "total_net_input_bytes") > num(&before, "total_net_input_bytes"));

    let keyspace = info(&mut con, "keyspace").await;
    let db0 = &keyspace["db0"];
    assert!(db0.starts_with("keys=2,expires=1,avg_ttl="), "{db0}");
    let avg_ttl: i64 = db0.rsplit('=').next().unwrap().parse().unwrap();
    assert!(avg_ttl > 90_000 && avg_ttl <= 100_000, "{avg_ttl}");
    assert_eq!(keyspace["db3"], "keys=1,expires=0,avg_ttl=0");
    assert_eq!(keyspace.len(), 2);

    let stats = info(&mut con, "commandstats").await;
    let set = &stats["cmdstat_set"];
    assert!(set.starts_with("calls=3,usec="), "{set}");
    assert!(
        set.contains(",usec_per_call=") && set.ends_with(",rejected_calls=0,failed_calls=0"),
        "{set}"
    );
    err(&mut con, &["GET"]).await;
    err(&mut con, &["INCR", "a", "b"]).await;
    q::<()>(&mut con, &["SET", "s", "x"]).await;
    err(&mut con, &["INCR", "s"]).await;
    let stats = info(&mut con, "commandstats").await;
    assert!(
        stats["cmdstat_get"].ends_with("rejected_calls=1,failed_calls=0"),
        "{}",
        stats["cmdstat_get"]
    );
    assert!(
        stats["cmdstat_incr"].starts_with("calls=1,"),
        "{}",
        stats["cmdstat_incr"]
    );
    assert!(stats["cmdstat_incr"].ends_with("rejected_calls=1,failed_calls=1"));
    err(&mut con, &["RPUSH", "s", "x"]).await;
    let errors = info(&mut con, "errorstats").await;
    assert_eq!(errors["errorstat_ERR"], "count=3");
    assert_eq!(errors["errorstat_WRONGTYPE"], "count=1");
    assert_eq!(
        num(&info(&mut con, "stats").await, "total_error_replies"),
        4
    );
    // Subcommands are counted under their full name.
    q::<Value>(&mut con, &["CONFIG", "GET", "hz"]).await;
    let stats = info(&mut con, "commandstats").await;
    assert!(stats["cmdstat_config|get"].starts_with("calls=1,"));
}

#[tokio::test]
async fn instantaneous_ops_are_sampled() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut pipe = redis::pipe();
    for _ in 0..200 {
        pipe.cmd("PING");
    }
    loop {
        // Keep commands flowing over a few sampling periods.
        let _: Vec<String> = pipe.query_async(&mut con).await.unwrap();
        let ops = num(&info(&mut con, "stats").await, "instantaneous_ops_per_sec");
        if ops > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "instantaneous_ops_per_sec stayed 0"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn dbsize_flush_and_swapdb() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    for i in 0..10 {
        q::<()>(&mut con, &["SET", &format!("k{i}"), "v"]).await;
    }
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]).await, 10);
    q::<()>(&mut con, &["SELECT", "1"]).await;
    q::<()>(&mut con, &["SET", "one", "1"]).await;
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]).await, 1);

    // SWAPDB exchanges the databases under the clients' feet.
    assert_eq!(q::<String>(&mut con, &["SWAPDB", "0", "1"]).await, "OK");
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]).await, 10);
    assert_eq!(q::<String>(&mut con, &["SWAPDB", "1", "0"]).await, "OK");
    assert_eq!(
        err(&mut con, &["SWAPDB", "0", "16"]).await,
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut con, &["SWAPDB", "-1", "0"]).await,
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut con, &["SWAPDB", "a", "0"]).await,
        "ERR invalid first DB index"
    );
    assert_eq!(
        err(&mut con, &["SWAPDB", "0", "b"]).await,
        "ERR invalid second DB index"
    );

    assert_eq!(
        err(&mut con, &["FLUSHDB", "LATER"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut con, &["FLUSHALL", "SYNC", "ASYNC"]).await,
        "ERR syntax error"
    );
    assert_eq!(q::<String>(&mut con, &["FLUSHDB", "sync"]).await, "OK");
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]).await, 0);
    q::<()>(&mut con, &["SELECT", "0"]).await;
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]).await, 10);
    assert_eq!(q::<String>(&mut con, &["FLUSHALL", "ASYNC"]).await, "OK");
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]).await, 0);
    assert_eq!(q::<Option<String>>(&mut con, &["GET", "k1"]).await, None);
}

#[tokio::test]
async fn flushall_async_frees_a_large_dataset_and_aborts_watchers() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let mut pipe = redis::pipe();
    for i in 0..20_000 {
        pipe.cmd("SET")
            .arg(format!("key:{i}"))
            .arg("x".repeat(100))
            .ignore();
    }
    let _: () = pipe.query_async(&mut con).await.unwrap();
    let mut watcher = engine.dedicated().await;
    let _: () = redis::cmd("WATCH")
        .arg("key:1")
        .query_async(&mut watcher)
        .await
        .unwrap();
    assert_eq!(q::<String>(&mut con, &["FLUSHALL", "ASYNC"]).await, "OK");
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]).await, 0);
    let _: () = redis::cmd("MULTI").query_async(&mut watcher).await.unwrap();
    let _: () = redis::cmd("SET")
        .arg("key:1")
        .arg("y")
        .query_async(&mut watcher)
        .await
        .unwrap();
    let exec: Value = redis::cmd("EXEC").query_async(&mut watcher).await.unwrap();
    assert_eq!(exec, Value::Nil, "FLUSHALL touched the watched key");
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]).await, 0);
}

#[tokio::test]
async fn time_lastsave_role_and_persistence() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    let (secs, usecs): (String, String) = q(&mut con, &["TIME"]).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((secs.parse::<i64>().unwrap() - now).abs() <= 1);
    assert!(usecs.parse::<u32>().unwrap() < 1_000_000);
    let lastsave: i64 = q(&mut con, &["LASTSAVE"]).await;
    assert!((now - lastsave).abs() <= 5);
    let role: (String, i64, Vec<Value>) = q(&mut con, &["ROLE"]).await;
    assert_eq!(role, ("master".to_string(), 0, vec![]));
    // The engine's `dir` is a temporary one (tests/support); see
    // tests/engine_persistence.rs for what these write.
    assert_eq!(q::<String>(&mut con, &["SAVE"]).await, "OK");
    assert_eq!(
        q::<String>(&mut con, &["BGSAVE"]).await,
        "Background saving started"
    );
    assert_eq!(
        err(&mut con, &["BGREWRITEAOF"]).await,
        "ERR shardcar: BGREWRITEAOF needs appendonly yes"
    );
    assert_eq!(err(&mut con, &["BGSAVE", "NOW"]).await, "ERR syntax error");
    assert!(q::<i64>(&mut con, &["COMMAND", "COUNT"]).await > 200);
    let infos: Vec<Value> = q(&mut con, &["COMMAND", "INFO", "get", "nosuch"]).await;
    assert_eq!(infos.len(), 2);
    assert_eq!(infos[1], Value::Nil);
    assert_eq!(
        err(&mut con, &["COMMAND", "NOSUCH"]).await,
        "ERR unknown subcommand 'NOSUCH'. Try COMMAND HELP."
    );
}

#[tokio::test]
async fn shutdown_closes_everyone() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(
        err(&mut con, &["SHUTDOWN", "ABORT"]).await,
        "ERR No shutdown in progress."
    );
    assert_eq!(
        err(&mut con, &["SHUTDOWN", "NOSAVE", "SAVE"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut con, &["SHUTDOWN", "NOW", "ABORT"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut con, &["SHUTDOWN", "LATER"]).await,
        "ERR syntax error"
    );

    let mut bystander = Raw::connect(engine.addr).await;
    bystander.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    let mut raw = Raw::connect(engine.addr).await;
    raw.send(&cmd(&["SHUTDOWN", "NOSAVE"])).await;
    assert_eq!(
        raw.read_to_close().await,
        b"",
        "no reply, the connection just closes"
    );
    assert_eq!(bystander.read_to_close().await, b"");
    // The listener is gone: new connections are refused.
    let refused = async {
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(engine.addr).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    };
    assert!(refused.await, "still accepting after SHUTDOWN");
}

#[tokio::test]
async fn debug_sleep_pauses_only_its_client() {
    let engine = Engine::start().await;
    let mut sleeper = Raw::connect(engine.addr).await;
    let mut other = engine.conn().await;
    let started = Instant::now();
    sleeper.send(&cmd(&["DEBUG", "SLEEP", "0.3"])).await;
    // Meanwhile another client is served at once.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let pong: String = q(&mut other, &["PING"]).await;
    assert_eq!(pong, "PONG");
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    // The sleeper's reply comes once it has slept, as Redis answers.
    assert_eq!(sleeper.read_exact_len(5).await, b"+OK\r\n");
    assert!(started.elapsed() >= Duration::from_millis(300));
    sleeper.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    // atof rules: garbage sleeps 0.
    let started = Instant::now();
    sleeper
        .roundtrip(&cmd(&["DEBUG", "SLEEP", "abc"]), b"+OK\r\n")
        .await;
    assert!(started.elapsed() < Duration::from_millis(250));
}

#[tokio::test]
async fn debug_object_and_active_expire() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    q::<()>(&mut con, &["SET", "n", "12345"]).await;
    q::<()>(&mut con, &["SET", "s", "hello"]).await;
    let text: String = q(&mut con, &["DEBUG", "OBJECT", "n"]).await;
    assert!(
        text.starts_with("Value at:0x") && text.contains(" refcount:1 encoding:int "),
        "{text}"
    );
    assert!(text.ends_with(" lru_seconds_idle:0"), "{text}");
    let text: String = q(&mut con, &["DEBUG", "OBJECT", "s"]).await;
    assert!(text.contains("encoding:embstr"), "{text}");
    assert_eq!(
        err(&mut con, &["DEBUG", "OBJECT", "missing"]).await,
        "ERR no such key"
    );
    assert_eq!(
        err(&mut con, &["DEBUG", "FOO"]).await,
        "ERR unknown subcommand or wrong number of arguments for 'FOO'. Try DEBUG HELP."
    );
    assert_eq!(
        err(&mut con, &["DEBUG", "SET-ACTIVE-EXPIRE"]).await,
        "ERR unknown subcommand or wrong number of arguments for 'SET-ACTIVE-EXPIRE'. Try DEBUG HELP."
    );
    // Without active expiry an expired key is only reclaimed when touched.
    q::<()>(&mut con, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]).await;
    q::<()>(&mut con, &["SET", "ttl", "x", "PX", "1"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]).await, 3);
    q::<()>(&mut con, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    while q::<i64>(&mut con, &["DBSIZE"]).await != 2 {
        assert!(Instant::now() < deadline, "active expiry did not resume");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let help: Vec<String> = q(&mut con, &["DEBUG", "HELP"]).await;
    assert!(help.len() > 3);
}

#[tokio::test]
async fn memory_usage_stats_and_doctor() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    q::<()>(&mut con, &["SET", "small", "v"]).await;
    q::<()>(&mut con, &["SET", "big", &"x".repeat(10_000)]).await;
    let small: i64 = q(&mut con, &["MEMORY", "USAGE", "small"]).await;
    let big: i64 = q(&mut con, &["MEMORY", "USAGE", "big"]).await;
    assert!(small > 0 && big > small + 9_000, "{small} {big}");
    let list: Vec<String> = (0..100).map(|i| format!("element-{i}")).collect();
    let mut push = vec!["RPUSH", "list"];
    push.extend(list.iter().map(String::as_str));
    q::<i64>(&mut con, &push).await;
    let all: i64 = q(&mut con, &["MEMORY", "USAGE", "list", "SAMPLES", "0"]).await;
    assert!(all > 100 * 10, "{all}");
    assert_eq!(
        q::<Option<i64>>(&mut con, &["MEMORY", "USAGE", "missing"]).await,
        None
    );
    assert_eq!(
        err(&mut con, &["MEMORY", "USAGE", "big", "SAMPLES", "-1"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut con, &["MEMORY", "USAGE", "big", "SAMPLES", "x"]).await,
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut con, &["MEMORY", "USAGE", "big", "FOO"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut con, &["MEMORY", "NOSUCH"]).await,
        "ERR unknown subcommand 'NOSUCH'. Try MEMORY HELP."
    );
    let stats: HashMap<String, Value> = q(&mut con, &["MEMORY", "STATS"]).await;
    assert_eq!(stats["keys.count"], Value::Int(3));
    assert!(matches!(stats["total.allocated"], Value::Int(n) if n > 0));
    assert!(stats.contains_key("db.0") && stats.contains_key("dataset.percentage"));
    let doctor: String = q(&mut con, &["MEMORY", "DOCTOR"]).await;
    assert!(doctor.contains("3 keys"), "{doctor}");
    let malloc: String = q(&mut con, &["MEMORY", "MALLOC-STATS"]).await;
    assert!(malloc.contains("allocated"));
    assert_eq!(q::<String>(&mut con, &["MEMORY", "PURGE"]).await, "OK");
}

#[tokio::test]
async fn latency_answers_with_nothing_recorded() {
    let engine = Engine::start().await;
    let mut con = engine.conn().await;
    assert_eq!(
        q::<Vec<Value>>(&mut con, &["LATENCY", "LATEST"]).await,
        vec![]
    );
    assert_eq!(
        q::<Vec<Value>>(&mut con, &["LATENCY", "HISTORY", "command"]).await,
        vec![]
    );
    assert_eq!(q::<i64>(&mut con, &["LATENCY", "RESET"]).await, 0);
    assert_eq!(
        q::<i64>(&mut con, &["LATENCY", "RESET", "command", "fork"]).await,
        0
    );
    assert!(q::<String>(&mut con, &["LATENCY", "DOCTOR"])
        .await
        .contains("SLOWLOG"));
    assert_eq!(
        err(&mut con, &["LATENCY", "GRAPH", "command"]).await,
        "ERR No samples available for event 'command'"
    );
    q::<()>(&mut con, &["SET", "k", "v"]).await;
    let histogram: HashMap<String, HashMap<String, Value>> =
        q(&mut con, &["LATENCY", "HISTOGRAM", "set", "nosuch"]).await;
    assert_eq!(histogram.len(), 1);
    assert_eq!(histogram["set"]["calls"], Value::Int(1));
    assert_eq!(
        err(&mut con, &["LATENCY", "HISTORY"]).await,
        "ERR wrong number of arguments for 'latency|history' command"
    );
}
