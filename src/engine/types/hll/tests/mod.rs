//! Golden values from redis-server 7.0, error cases and accuracy; `live` compares
//! with the redis-server on 127.0.0.1:6379 when one is running, `props` checks
//! random values against a plain register array.
//!
//! Values too long to pin in hex are pinned by length and FNV-1a-64 of the bytes,
//! both computed from redis-server's `GET` reply.

use super::*;

mod live;
mod props;

/// FNV-1a, 64 bits: a short fingerprint for pinning long golden values.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// `PFADD` of `elements` into a missing key.
fn built<E: AsRef<[u8]>>(elements: impl IntoIterator<Item = E>) -> Hll {
    let mut hll = Hll::new();
    for element in elements {
        hll.add(element.as_ref(), DEFAULT_SPARSE_MAX_BYTES);
    }
    hll
}

/// `elem:{i}` for `i` in `range`.
fn elems(range: std::ops::Range<u32>) -> impl Iterator<Item = String> {
    range.map(|i| format!("elem:{i}"))
}

fn assert_fingerprint(hll: &Hll, len: usize, fnv: u64) {
    assert_eq!(
        (hll.as_bytes().len(), fnv1a(hll.as_bytes())),
        (len, fnv),
        "{hll:?}"
    );
}

/// redis-server: `PFADD k a b c`, then `GET k`.
const ABC: &str = "48594c4c01000000000000000000008060f38050b1844bfb80425a";

#[test]
fn pfadd_abc_matches_redis_bytes() {
    let mut hll = built(["a", "b", "c"]);
    assert_eq!(hex(hll.as_bytes()), ABC);
    assert_eq!(hll.cached_count(), None);
    // `PFCOUNT k` caches 3 in the header; GET shows it.
    assert_eq!(hll.count(), 3);
    assert_eq!(hex(&hll.as_bytes()[8..16]), "0300000000000000");
    assert_eq!(hll.cached_count(), Some(3));
    // A later PFADD that changes a register sets only the stale bit.
    assert!(hll.add(b"d", DEFAULT_SPARSE_MAX_BYTES));
    assert_eq!(
        hex(&hll.as_bytes()[..16]),
        "48594c4c010000000300000000000080"
    );
    assert!(!hll.add(b"d", DEFAULT_SPARSE_MAX_BYTES));
}

#[test]
fn empty_pfadd_matches_redis_bytes() {
    // redis-server: `PFADD k` on a missing key creates it.
    assert_eq!(
        hex(Hll::new().as_bytes()),
        "48594c4c0100000000000000000000807fff"
    );
    assert_eq!(Hll::new().count(), 0);
}

#[test]
fn sparse_is_promoted_to_dense_exactly_where_redis_promotes() {
    // redis-server: elem:0..=1659 is the last sparse value (2999 bytes); adding
    // elem:1660 would pass 3000 bytes and converts it to dense.
    let mut hll = built(elems(0..1660));
    assert!(hll.is_sparse());
    assert_fingerprint(&hll, 2999, 0xb06c_ffb0_0eb8_ffef);
    let mut counted = hll.clone();
    assert_eq!(counted.count(), 1666);
    assert_fingerprint(&counted, 2999, 0x18ba_6588_8de9_50cb);

    assert!(hll.add(b"elem:1660", DEFAULT_SPARSE_MAX_BYTES));
    assert!(!hll.is_sparse());
    assert_fingerprint(&hll, DENSE_LEN, 0x43ff_f5e0_d97a_d2b4);
    assert_eq!(hll.count(), 1667);
    assert_fingerprint(&hll, DENSE_LEN, 0xf7e5_f9d5_3d6d_a141);
}

#[test]
fn a_sparse_value_may_reach_the_limit_exactly() {
    // redis-server: edge1:0..=1648 makes a sparse value of exactly 3000 bytes (the
    // limit is inclusive); edge1:1649 needs more and converts it to dense.
    let elements = (0..1650).map(|i| format!("edge1:{i}"));
    let mut hll = built(elements.clone().take(1649));
    assert!(hll.is_sparse());
    assert_fingerprint(&hll, DEFAULT_SPARSE_MAX_BYTES, 0xd8c6_d61b_1e86_de25);
    assert!(hll.add(b"edge1:1649", DEFAULT_SPARSE_MAX_BYTES));
    assert!(!hll.is_sparse());
    // The same registers as a value never limited, converted afterwards.
    let mut roomy = Hll::new();
    for element in elements {
        roomy.add(element.as_bytes(), usize::MAX);
    }
    assert!(roomy.is_sparse());
    roomy.promote();
    assert_eq!(hll, roomy);
}

#[test]
fn promotion_follows_the_sparse_limit_and_keeps_registers() {
    let elements: Vec<String> = elems(0..300).collect();
    let sparse = built(&elements);
    let mut dense = Hll::new();
    for element in &elements {
        dense.add(element.as_bytes(), 100);
        assert!(dense.is_sparse() == (dense.as_bytes().len() <= 100));
    }
    assert!(sparse.is_sparse() && !dense.is_sparse());
    let (mut a, mut b) = (vec![0; REGISTERS], vec![0; REGISTERS]);
    sparse.fold_max(&mut a);
    dense.fold_max(&mut b);
    assert_eq!(a, b);
    assert_eq!(sparse.clone().count(), dense.clone().count());
}

#[test]
fn runs_above_32_force_dense() {
    let mut hll = Hll::new();
    assert!(hll.raise(5, 33, DEFAULT_SPARSE_MAX_BYTES));
    assert!(!hll.is_sparse());
    assert_eq!(dense::get(&hll.as_bytes()[HEADER_LEN..], 5), 33);
}

#[test]
fn merge_of_sparse_and_dense_matches_redis() {
    // redis-server: `PFMERGE m x d`, x = {a,b,c} (sparse), d = elem:0..=1660 (dense).
    let (x, d) = (built(["a", "b", "c"]), built(elems(0..1661)));
    let mut merged = Hll::new();
    merged.merge(&[&x, &d], DEFAULT_SPARSE_MAX_BYTES);
    assert!(!merged.is_sparse());
    assert_fingerprint(&merged, DENSE_LEN, 0x4ec7_daf2_20df_0398);
    assert_eq!(merged.count(), 1670);
}

#[test]
fn merge_of_sparse_values_stays_sparse_as_in_redis() {
    // redis-server: y = elem:2000..2099; `PFMERGE m x y` and `PFMERGE y x` give the
    // same 290-byte sparse value.
    let (x, y) = (built(["a", "b", "c"]), built(elems(2000..2100)));
    assert_fingerprint(&y, 284, 0x0a74_a736_cfca_6867);
    let mut into_new = Hll::new();
    into_new.merge(&[&x, &y], DEFAULT_SPARSE_MAX_BYTES);
    let mut into_y = y.clone();
    into_y.merge(&[&x], DEFAULT_SPARSE_MAX_BYTES);
    for mut merged in [into_new, into_y] {
        assert!(merged.is_sparse());
        assert_fingerprint(&merged, 290, 0x7b6d_6fc4_0e4d_c847);
        assert_eq!(merged.count(), 103);
    }
}

#[test]
fn merge_with_any_dense_input_is_dense_as_in_redis() {
    // redis-server: d = the dense form of {a,b,c} (SET, then PFCOUNT caches 3);
    // `PFMERGE m y d` and `PFMERGE y d` turn dense though few registers are set;
    // `PFMERGE d y` keeps d's cached 3 behind the stale bit.
    let mut d = built(["a", "b", "c"]);
    d.promote();
    assert_eq!(d.count(), 3);
    let y = built(elems(2000..2100));
    let mut into_new = Hll::new();
    into_new.merge(&[&y, &d], DEFAULT_SPARSE_MAX_BYTES);
    let mut into_y = y.clone();
    into_y.merge(&[&d], DEFAULT_SPARSE_MAX_BYTES);
    for mut merged in [into_new, into_y] {
        assert!(!merged.is_sparse());
        assert_fingerprint(&merged, DENSE_LEN, 0xb2c6_8ed0_e926_070d);
        assert_eq!(merged.count(), 103);
    }
    let mut into_d = d.clone();
    into_d.merge(&[&y], DEFAULT_SPARSE_MAX_BYTES);
    assert_fingerprint(&into_d, DENSE_LEN, 0xc7cd_2191_7918_351e);
    assert_eq!(hex(&into_d.as_bytes()[8..16]), "0300000000000080");
}

#[test]
fn merge_marks_the_cache_stale_even_without_changes() {
    let mut hll = built(["a"]);
    hll.count();
    hll.merge(&[], DEFAULT_SPARSE_MAX_BYTES);
    assert_eq!(hll.cached_count(), None);
    assert_eq!(hll.count(), 1);
}

#[test]
fn union_count_matches_redis_and_leaves_inputs_alone() {
    let (x, y, d) = (
        built(["a", "b", "c"]),
        built(elems(2000..2100)),
        built(elems(0..1661)),
    );
    let before = (x.clone(), y.clone(), d.clone());
    // redis-server: PFCOUNT x y d → 1771, PFCOUNT x y → 103.
    assert_eq!(Hll::count_union(&[&x, &y, &d]), 1771);
    assert_eq!(Hll::count_union(&[&x, &y]), 103);
    assert_eq!(Hll::count_union(&[&x]), 3);
    assert_eq!(Hll::count_union(&[]), 0);
    assert_eq!((x, y, d), before);
}

#[test]
fn crafted_sparse_updates_match_redis() {
    // redis-server: SET k <header + body>, PFADD k <element>, GET k. Each body is
    // built so the update hits one corner of the in-place edit: (element's register,
    // run) in the comment.
    let cases = [
        // (1770, 5) splits a VAL(3,4) inside; the 5-opcode merge window reaches
        // two equal VALs after the edit and merges them.
        ("probe:7", "46e7808b84847910", "46e780889089857910"),
        // The same edit with the equal pair one opcode further: out of the window,
        // left unmerged.
        ("probe:7", "46e7808b848c8c790f", "46e780889089848c8c790f"),
        // (11011, 3) splits a VAL(2,4); its tail merges with the next VAL(2,1).
        ("probe:10", "6b00878454f9", "6b0085888554f9"),
        // (14406, 4) replaces a one-register XZERO: the value shrinks by a byte.
        ("probe:34", "7845400047b8", "78458c47b8"),
        // (5826, 6) splits an XZERO(130) into ZERO(64), VAL, XZERO(65).
        ("probe:62", "5681408168fb", "56813f94404068fb"),
        // (14103, 1) fills a ZERO(1) between two VAL(1,1): all three merge.
        ("probe:1", "771580008048e6", "77158248e6"),
    ];
    for (element, before, after) in cases {
        let mut hll = Hll::from_vec(with_header(SPARSE, &unhex(before))).unwrap();
        assert!(hll.add(element.as_bytes(), DEFAULT_SPARSE_MAX_BYTES));
        assert_eq!(hex(&hll.as_bytes()[HEADER_LEN..]), after, "{element}");
    }
}

/// A header with `encoding` and a stale cache, followed by `body`.
fn with_header(encoding: u8, body: &[u8]) -> Vec<u8> {
    let mut bytes = Hll::new().as_bytes()[..HEADER_LEN].to_vec();
    bytes[ENCODING_AT] = encoding;
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn strings_that_are_not_hyperloglogs_are_wrongtype() {
    let mut dense = with_header(DENSE, &vec![0; dense::DENSE_BYTES]);
    assert!(Hll::from_bytes(&dense).is_ok());
    let mut bad_magic = dense.clone();
    bad_magic[0] = b'h';
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"foo".to_vec(),
        unhex(&ABC[..30]), // 15 bytes: short of a header
        bad_magic,
        with_header(2, &sparse::EMPTY_BODY), // unknown encoding
        with_header(0xff, &sparse::EMPTY_BODY), // Redis's in-memory-only "raw"
        with_header(DENSE, &[0; 100]),       // dense, too short
        {
            dense.push(0);
            dense // dense, one byte too long
        },
    ];
    for bytes in cases {
        assert_eq!(
            Hll::from_bytes(&bytes),
            Err(HllError::NotHll),
            "{}",
            hex(&bytes)
        );
        assert_eq!(Hll::from_vec(bytes), Err(HllError::NotHll));
    }
    assert_eq!(
        HllError::NotHll.to_string(),
        "WRONGTYPE Key is not a valid HyperLogLog string value."
    );
}

#[test]
fn corrupted_sparse_registers_are_detected() {
    let cases: [&[u8]; 5] = [
        &[],                 // header only (redis-server: INVALIDOBJ on PFCOUNT)
        &[0x7f, 0xfe],       // 16383 registers (likewise)
        &[0x7f, 0xff, 0x80], // one register too many
        &[0x7f, 0xfe, 0x40], // an XZERO cut short
        &[0x7f, 0xfc, 0x8f], // a VAL running past the last register
    ];
    for body in cases {
        let bytes = with_header(SPARSE, body);
        assert_eq!(
            Hll::from_bytes(&bytes),
            Err(HllError::Corrupted),
            "{}",
            hex(&bytes)
        );
    }
    assert_eq!(
        HllError::Corrupted.to_string(),
        "INVALIDOBJ Corrupted HLL object detected"
    );
}

#[test]
fn values_from_redis_keep_working() {
    // Continue a redis-server value here: same bytes as building it all here.
    let mut hll = Hll::from_vec(unhex(ABC)).unwrap();
    for element in elems(0..2000) {
        hll.add(element.as_bytes(), DEFAULT_SPARSE_MAX_BYTES);
    }
    assert_eq!(
        hll,
        built(
            ["a", "b", "c"]
                .into_iter()
                .map(String::from)
                .chain(elems(0..2000))
        )
    );
}

#[test]
fn saturated_dense_counts_like_redis() {
    // redis-server replies -9223372036854775808 and leaves card = 00…0080 (stale).
    let mut hll = Hll::from_vec(with_header(DENSE, &vec![0xff; dense::DENSE_BYTES])).unwrap();
    assert_eq!(hll.count() as i64, i64::MIN);
    assert_eq!(hex(&hll.as_bytes()[8..16]), "0000000000000080");
    assert_eq!(hll.cached_count(), None);
}

#[test]
fn standard_error_is_within_three_sigma() {
    const SIGMA: f64 = 1.04 / 128.0; // 1.04 / sqrt(16384) ≈ 0.81%
    let mut hll = Hll::new();
    let mut added = 0u64;
    for target in [100_000u64, 250_000, 1_000_000] {
        while added < target {
            hll.add(&added.to_le_bytes(), DEFAULT_SPARSE_MAX_BYTES);
            added += 1;
        }
        let estimate = hll.count();
        let error = (estimate as f64 - target as f64) / target as f64;
        println!(
            "{target} distinct: estimate {estimate}, relative error {:+.3}%",
            error * 100.0
        );
        assert!(error.abs() <= 3.0 * SIGMA, "{target}: {estimate}");
    }
}
