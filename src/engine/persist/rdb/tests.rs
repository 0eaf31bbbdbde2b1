//! Round trips through the encoder and decoder, and what a bad file yields.

use bytes::Bytes;
use proptest::prelude::*;
use std::collections::VecDeque;

use super::*;
use crate::engine::types::hash::HashValue;
use crate::engine::types::set::SetValue;
use crate::engine::types::zset::{ListpackLimits, ZSet};
use crate::engine::value::{EncodingLimits, Value};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// A whole file holding `entries` in database `db`.
fn file(entries: &[(Bytes, Value, Option<i64>)], compress: bool) -> Vec<u8> {
    let mut enc = Encoder::new(compress, EncodingLimits::default());
    enc.header(&[("redis-ver", "7.0.15"), ("redis-bits", "64")]);
    enc.select_db(3, entries.len(), 0);
    for (key, value, expire) in entries {
        enc.entry(key, value, *expire);
    }
    let mut w = RdbWriter::new(Vec::new());
    w.write(&enc.take()).unwrap();
    w.finish(true).unwrap()
}

fn read_all(bytes: &[u8]) -> Result<Vec<Record>, RdbError> {
    let mut d = Decoder::new(bytes, bytes.len() as u64, EncodingLimits::default())?;
    let mut out = Vec::new();
    while let Some(r) = d.next_record()? {
        out.push(r);
    }
    Ok(out)
}

/// The value's contents in a comparable, encoding-free form.
fn canon(v: &Value) -> (String, Vec<Vec<u8>>) {
    let mut items: Vec<Vec<u8>> = match v {
        Value::Str(s) => vec![s.to_bytes().to_vec()],
        Value::List(l) => return ("list".into(), l.iter().map(|e| e.to_vec()).collect()),
        Value::Hash(h) => h
            .iter()
            .map(|(f, v)| [&f[..], b"=", &v[..]].concat())
            .collect(),
        Value::Set(s) => s.iter().map(|m| m.to_bytes().to_vec()).collect(),
        Value::ZSet(z) => {
            return (
                "zset".into(),
                z.iter()
                    .map(|(m, s)| format!("{s}:{m:?}").into_bytes())
                    .collect(),
            )
        }
    };
    items.sort();
    (format!("{}/{}", v.type_name(), encoding(v)), items)
}

fn encoding(v: &Value) -> &'static str {
    v.encoding(&EncodingLimits::default())
}

fn keys(records: Vec<Record>) -> Vec<(usize, Bytes, Value, Option<i64>)> {
    records
        .into_iter()
        .filter_map(|r| match r {
            Record::Key {
                db,
                key,
                value,
                expire_at,
            } => Some((db, key, value, expire_at)),
            _ => None,
        })
        .collect()
}

fn sample_values() -> Vec<Value> {
    let limits = EncodingLimits::default();
    let zl = ListpackLimits::default();
    let mut small_hash = HashValue::new();
    small_hash.insert(b"f", b"v", &limits);
    small_hash.insert(b"n", b"12", &limits);
    let mut big_hash = HashValue::new();
    for i in 0..200 {
        big_hash.insert(
            format!("field{i}").as_bytes(),
            "x".repeat(i).as_bytes(),
            &limits,
        );
    }
    let mut ints = SetValue::new();
    for n in [-5, 0, 70000, i64::MAX] {
        ints.insert(n.to_string().as_bytes(), &limits);
    }
    let mut strs = SetValue::new();
    for i in 0..600 {
        strs.insert(format!("m{i}").as_bytes(), &limits);
    }
    let mut small_z = ZSet::new();
    for (m, s) in [
        ("a", 1.0),
        ("b", -2.5),
        ("c", f64::INFINITY),
        ("d", 1e300),
        ("e", 0.1),
    ] {
        small_z.insert(m.as_bytes(), s, zl).unwrap();
    }
    let mut big_z = ZSet::new();
    for i in 0..300 {
        big_z
            .insert(format!("member{i}").as_bytes(), f64::from(i) / 7.0, zl)
            .unwrap();
    }
    let long_list: VecDeque<Bytes> = (0..5000).map(|i| b(&format!("element-{i}"))).collect();
    vec![
        Value::from_bytes(b("hello")),
        Value::from_int(-123),
        Value::from_int(1 << 40),
        Value::from_bytes(b(&"compressible ".repeat(100))),
        Value::from_bytes(Bytes::from(vec![0u8, 255, 10, 13])),
        Value::List([b("a"), b("1"), b("-1"), b(&"y".repeat(100))].into()),
        Value::List(long_list),
        Value::Hash(small_hash),
        Value::Hash(big_hash),
        Value::Set(ints),
        Value::Set(strs),
        Value::ZSet(Box::new(small_z)),
        Value::ZSet(Box::new(big_z)),
    ]
}

#[test]
fn every_type_and_encoding_round_trips() {
    for compress in [true, false] {
        let entries: Vec<_> = sample_values()
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    b(&format!("key{i}")),
                    v,
                    (i % 2 == 0).then_some(1_700_000_000_000 + i as i64),
                )
            })
            .collect();
        let back = keys(read_all(&file(&entries, compress)).unwrap());
        assert_eq!(back.len(), entries.len());
        for ((db, key, value, expire), (k0, v0, e0)) in back.iter().zip(&entries) {
            assert_eq!((*db, key, *expire), (3, k0, *e0));
            assert_eq!(canon(value), canon(v0), "{key:?}");
        }
    }
}

#[test]
fn aux_fields_come_back() {
    let records = read_all(&file(&[], true)).unwrap();
    assert!(matches!(&records[0], Record::Aux(k, v) if k == "redis-ver" && v == "7.0.15"));
}

#[test]
fn a_flipped_byte_fails_the_checksum_with_an_offset() {
    let mut bytes = file(&[(b("k"), Value::from_bytes(b("value")), None)], true);
    let at = bytes.len() - 12;
    bytes[at] ^= 0x01;
    let err = read_all(&bytes).unwrap_err();
    assert!(
        matches!(
            err.kind,
            RdbErrorKind::Checksum { .. } | RdbErrorKind::Corrupt(_)
        ),
        "{err}"
    );
    assert!(err.to_string().contains("at offset"), "{err}");
}

#[test]
fn zero_checksum_is_not_checked() {
    let mut bytes = file(&[(b("k"), Value::from_bytes(b("value")), None)], true);
    let n = bytes.len();
    bytes[n - 8..].fill(0);
    assert_eq!(keys(read_all(&bytes).unwrap()).len(), 1);
}

#[test]
fn bad_headers_and_truncation_are_named() {
    let err = read_all(b"HELLO0010").unwrap_err();
    assert!(matches!(err.kind, RdbErrorKind::BadMagic));
    let err = read_all(b"REDIS0099").unwrap_err();
    assert!(matches!(err.kind, RdbErrorKind::Version(99)));
    let bytes = file(&[(b("k"), Value::from_bytes(b("value")), None)], true);
    for cut in 9..bytes.len() - 1 {
        let err = read_all(&bytes[..cut]).unwrap_err();
        assert!(matches!(err.kind, RdbErrorKind::Truncated), "{cut}: {err}");
    }
}

#[test]
fn huge_declared_lengths_do_not_allocate() {
    // A string claiming 4 GiB, a list claiming 2^60 elements.
    for body in [
        &[0u8, 1, b'k', 0x80, 0xFF, 0xFF, 0xFF, 0xFF][..],
        &[1, 1, b'k', 0x81, 16, 0, 0, 0, 0, 0, 0, 0],
    ] {
        let mut bytes = b"REDIS0010".to_vec();
        bytes.extend_from_slice(body);
        assert!(read_all(&bytes).is_err());
    }
}

proptest! {
    #[test]
    fn decoder_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = b"REDIS0010".to_vec();
        bytes.extend_from_slice(&tail);
        let _ = read_all(&bytes);
    }

    #[test]
    fn strings_round_trip(s in proptest::collection::vec(any::<u8>(), 0..300), compress: bool) {
        let v = Value::from_bytes(Bytes::from(s));
        let back = keys(read_all(&file(&[(b("k"), v.clone(), None)], compress)).unwrap());
        prop_assert_eq!(canon(&back[0].2), canon(&v));
    }
}
