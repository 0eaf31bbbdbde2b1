//! Micro benches of the RESP codec: decoding pipelined requests, decoding a
//! reply, and encoding typical replies in both protocols.
//!
//! Run with `cargo bench --bench resp`. Decoding benches copy the input into a
//! fresh buffer per batch (`iter_batched`), so they time only the decoder.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use shardcar::resp::{encode, Decoder, Frame, Protocol};

const PIPELINE: usize = 1000;

/// `n` requests as a client pipelines them, built with the encoder.
fn pipeline(n: usize, args: impl Fn(usize) -> Vec<String>) -> Bytes {
    let mut out = BytesMut::new();
    for i in 0..n {
        encode(&Frame::bulks(args(i)), Protocol::Resp2, &mut out);
    }
    out.freeze()
}

/// Decodes every request in `input`, fed as one read.
fn bench_requests(c: &mut Criterion, name: &str, input: &Bytes) {
    let mut group = c.benchmark_group("decode_request");
    group.throughput(Throughput::Elements(PIPELINE as u64));
    group.bench_function(name, |b| {
        b.iter_batched(
            || BytesMut::from(&input[..]),
            |mut buf| {
                let mut decoder = Decoder::default();
                while let Some(request) = decoder.decode_request(&mut buf).unwrap() {
                    black_box(request);
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn decode_requests(c: &mut Criterion) {
    let sets = pipeline(PIPELINE, |i| {
        vec!["SET".into(), format!("key:{i}"), "value".into()]
    });
    bench_requests(c, "set_x1000", &sets);
    let gets = pipeline(PIPELINE, |i| vec!["GET".into(), format!("key:{i}")]);
    bench_requests(c, "get_x1000", &gets);
    let inline: String = (0..PIPELINE).map(|i| format!("GET key:{i}\r\n")).collect();
    bench_requests(c, "inline_get_x1000", &Bytes::from(inline));
}

fn typical_replies() -> Vec<(&'static str, Frame)> {
    let bulk64 = Bytes::from(vec![b'v'; 64]);
    vec![
        ("ok", Frame::ok()),
        ("bulk_64b", Frame::Bulk(bulk64.clone())),
        ("integer", Frame::Integer(1_234_567)),
        (
            "array_100_bulks",
            Frame::Array(vec![Frame::Bulk(bulk64); 100]),
        ),
        ("double", Frame::Double(2.718_5)),
        (
            "map_10",
            Frame::Map(
                (0..10)
                    .map(|i| (Frame::bulk(format!("f{i}")), Frame::Integer(i)))
                    .collect(),
            ),
        ),
    ]
}

fn encode_replies(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    let mut out = BytesMut::with_capacity(16 * 1024);
    for (name, frame) in typical_replies() {
        for (proto, label) in [(Protocol::Resp2, "resp2"), (Protocol::Resp3, "resp3")] {
            group.bench_function(format!("{name}/{label}"), |b| {
                b.iter(|| {
                    out.clear();
                    encode(black_box(&frame), proto, &mut out);
                    black_box(&out);
                })
            });
        }
    }
    group.finish();
}

fn decode_replies(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (name, frame) in typical_replies() {
        let mut wire = BytesMut::new();
        encode(&frame, Protocol::Resp3, &mut wire);
        let wire = wire.freeze();
        group.bench_function(name, |b| {
            b.iter_batched(
                || BytesMut::from(&wire[..]),
                |mut buf| black_box(Decoder::default().decode(&mut buf).unwrap()),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, decode_requests, encode_replies, decode_replies);
criterion_main!(benches);
