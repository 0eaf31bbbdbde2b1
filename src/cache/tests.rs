//! A refill never overwrites a newer write: a fetch held inside the store
//! while a write commits and invalidates must not store the row it read.

use bytes::Bytes;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::command::{Target, Write, WriteReply};
use super::store::{Batch, Change, Row, RuleProblem, Store, StoreFuture, Write as RowWrite};
use super::{keyspace, look_aside, open_store, Cache, Turn};
use crate::config::{Config, Rule};
use crate::engine::{self, EngineConfig};
use crate::proxy::pool::Pool;
use crate::resp::Frame;

/// A store whose fetches, once read, wait for `release` (after telling `read`).
#[derive(Debug)]
struct Held {
    inner: Arc<dyn Store>,
    read: Notify,
    release: Notify,
}

impl Store for Held {
    fn prepare<'a>(
        &'a self,
        rules: &'a [Rule],
        check_only: bool,
    ) -> StoreFuture<'a, Vec<RuleProblem>> {
        self.inner.prepare(rules, check_only)
    }
    fn fetch<'a>(&'a self, rule: &'a Rule, key: &'a [Bytes]) -> StoreFuture<'a, Option<Row>> {
        Box::pin(async move {
            let row = self.inner.fetch(rule, key).await;
            self.read.notify_one();
            self.release.notified().await;
            row
        })
    }
    fn write<'a>(
        &'a self,
        rule: &'a Rule,
        key: &'a [Bytes],
        change: &'a Change,
    ) -> StoreFuture<'a, u64> {
        self.inner.write(rule, key, change)
    }
    fn apply<'a>(&'a self, rule: &'a Rule, batch: &'a Batch) -> StoreFuture<'a, ()> {
        self.inner.apply(rule, batch)
    }
    fn dead_letter<'a>(
        &'a self,
        rule: &'a Rule,
        write: &'a RowWrite,
        error: &'a str,
        high_water: Option<u64>,
    ) -> StoreFuture<'a, ()> {
        self.inner.dead_letter(rule, write, error, high_water)
    }
    fn high_water<'a>(&'a self, rule: &'a str) -> StoreFuture<'a, u64> {
        self.inner.high_water(rule)
    }
    fn max_high_water(&self) -> StoreFuture<'_, u64> {
        self.inner.max_high_water()
    }
}

async fn engine() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(engine::run(
        listener,
        EngineConfig {
            save: String::new(),
            ..EngineConfig::default()
        },
        std::future::pending::<()>(),
    ));
    addr
}

fn target(key: &str) -> Target {
    Target {
        rule: 0,
        key: Bytes::from(key.to_string()),
    }
}

/// A look-aside pool over one engine whose store holds fetches ([`Held`]);
/// SQL has the row name:1 = "old".
async fn held_pool(dir: &tempfile::TempDir) -> (Arc<Cache>, Arc<Pool>, Arc<Held>) {
    let yaml = format!(
        "p:\n  listen: 127.0.0.1:1\n  redis: true\n  servers:\n    - {}:1 a\n  cache:\n    database: \"sqlite://{}\"\n    journal: \"{}\"\n    rules:\n      - name: names\n        match: \"name:{{id}}\"\n        table: names\n        value: name\n        policy: look_aside\n        create: true\n",
        engine().await,
        dir.path().join("db").display(),
        dir.path().join("journal").display()
    );
    let cfg = Config::from_yaml(&yaml).unwrap().pools.remove(0);
    let cache_cfg = cfg.cache.clone().unwrap();
    let inner = open_store(&cache_cfg.database).await.unwrap();
    let held = Arc::new(Held {
        inner: Arc::clone(&inner),
        read: Notify::new(),
        release: Notify::new(),
    });
    let cache = Arc::new(
        Cache::with_store("p", &cache_cfg, held.clone())
            .await
            .unwrap(),
    );
    let mut pool = Pool::new(cfg);
    pool.cache = Some(Arc::clone(&cache));
    let pool = Arc::new(pool);
    let rule = cache.rules[0].rule.clone();
    inner
        .write(
            &rule,
            &[Bytes::from("1")],
            &Change::Set(vec![(0, Bytes::from("old"))]),
        )
        .await
        .unwrap();
    (cache, pool, held)
}

/// Reads name:1 through the cache in a task of its own.
fn read_in_task(
    cache: &Arc<Cache>,
    pool: &Arc<Pool>,
) -> tokio::task::JoinHandle<look_aside::Outcome> {
    let (cache, pool) = (Arc::clone(cache), Arc::clone(pool));
    tokio::spawn(async move {
        look_aside::value(&cache, &pool, &target("name:1"), &mut Turn::default()).await
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_overtaken_by_a_write_does_not_store_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, pool, held) = held_pool(&dir).await;
    let reader = read_in_task(&cache, &pool);
    held.read.notified().await; // the fetch has read "old" and is held
    let write = Write::Set {
        columns: vec![(0, Bytes::from("new"))],
        reply: WriteReply::Ok,
    };
    let reply = look_aside::write_through(
        &cache,
        &pool,
        &target("name:1"),
        write,
        &mut Turn::default(),
    )
    .await;
    assert_eq!(reply, Frame::ok());
    held.release.notify_one();
    let read = reader.await.unwrap().unwrap();
    assert_eq!(
        read,
        Some(keyspace::Cached::String(Bytes::from("old"))),
        "the overtaken reader gets what it read"
    );

    assert_eq!(
        keyspace::call(&pool, b"name:1", &[b"GET", b"name:1"]).await,
        Frame::Null,
        "but it is not cached"
    );
    assert_eq!(cache.count(|m| &m.refills_discarded), 1);
    let fresh = read_in_task(&cache, &pool);
    held.read.notified().await;
    held.release.notify_one();
    assert_eq!(
        fresh.await.unwrap().unwrap(),
        Some(keyspace::Cached::String(Bytes::from("new")))
    );
    assert_eq!(
        keyspace::call(&pool, b"name:1", &[b"GET", b"name:1"]).await,
        Frame::Bulk(Bytes::from("new"))
    );
}

/// A reader that goes away mid-fetch (its client disconnected) must not leave
/// the key's fetch behind unfinished: the next readers would wait on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_gone_mid_fetch_leaves_the_fetch_to_finish() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, pool, held) = held_pool(&dir).await;
    let gone = read_in_task(&cache, &pool);
    held.read.notified().await; // the fetch is held in the store
    gone.abort();
    let _ = gone.await;
    held.release.notify_one();
    let next = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        read_in_task(&cache, &pool),
    )
    .await
    .expect("the next read is answered")
    .unwrap();
    assert_eq!(next, Ok(Some(keyspace::Cached::String(Bytes::from("old")))));
}

#[test]
fn ttls_are_spread_by_the_rule_s_jitter() {
    let yaml = "p:\n  listen: 127.0.0.1:1\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n  cache:\n    rules:\n      - name: r\n        match: \"r:{id}\"\n        table: t\n        value: v\n        policy: look_aside\n        ttl: 100s\n        ttl_jitter: 10%\n";
    let mut rule = Config::from_yaml(yaml)
        .unwrap()
        .pools
        .remove(0)
        .cache
        .unwrap()
        .rules
        .remove(0);
    let ttls: Vec<std::time::Duration> = (0..200).map(|_| look_aside::jittered(&rule)).collect();
    let (min, max) = (ttls.iter().min().unwrap(), ttls.iter().max().unwrap());
    assert!(
        min.as_secs() >= 100 && max.as_millis() <= 110_000,
        "{min:?}..{max:?}"
    );
    assert!(max > min, "200 TTLs are not all the same");
    rule.ttl_jitter = 0;
    assert_eq!(
        look_aside::jittered(&rule),
        std::time::Duration::from_secs(100)
    );
}
