//! Routing micro-benchmarks: each key hash on 16- and 64-byte keys, ring
//! lookups on 3- and 100-server pools, and the cost of a rebuild (what an
//! ejection pays).
//!
//! Run with `cargo bench --bench ring`. Keys are fixed pseudo-random bytes;
//! lookups cycle through 1,024 precomputed hashes so the branch predictor
//! cannot learn a single path.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use shardcar::proxy::hash::HashKind;
use shardcar::proxy::ring::{Distribution, Ring, ServerSpec};

fn key_of(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn hashes(c: &mut Criterion) {
    for len in [16, 64] {
        let mut group = c.benchmark_group(format!("hash/{len}B"));
        group.throughput(Throughput::Bytes(len as u64));
        let key = key_of(len, 42);
        for kind in HashKind::ALL {
            group.bench_with_input(BenchmarkId::from_parameter(kind), &key, |b, key| {
                b.iter(|| kind.hash(black_box(key)))
            });
        }
        group.finish();
    }
}

fn server_names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("10.0.{}.{}:6379", i / 250, i % 250))
        .collect()
}

fn specs(names: &[String]) -> Vec<ServerSpec<'_>> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| ServerSpec {
            name,
            weight: 1 + (i % 3) as u32,
        })
        .collect()
}

fn lookups(c: &mut Criterion) {
    let probes: Vec<u32> = (0..1024u64)
        .map(|i| HashKind::Fnv1a64.hash(&key_of(16, i + 1)))
        .collect();
    let mut group = c.benchmark_group("lookup");
    for dist in [Distribution::Ketama, Distribution::Modula] {
        for n in [3, 100] {
            let names = server_names(n);
            let ring = Ring::new(dist, &specs(&names));
            let id = BenchmarkId::new(dist.to_string(), format!("{n} servers"));
            group.bench_function(id, |b| {
                let mut i = 0usize;
                b.iter(|| {
                    i = (i + 1) & 1023;
                    ring.server_for(black_box(probes[i]))
                })
            });
        }
    }
    group.finish();
}

fn builds(c: &mut Criterion) {
    let mut group = c.benchmark_group("build/ketama");
    for n in [3, 100] {
        let names = server_names(n);
        let servers = specs(&names);
        group.bench_function(format!("{n} servers"), |b| {
            b.iter(|| Ring::new(Distribution::Ketama, black_box(&servers)))
        });
    }
    group.finish();
}

criterion_group!(benches, hashes, lookups, builds);
criterion_main!(benches);
