//! Golden values from redis-server 7.0, error cases, accuracy, and a live
//! comparison against the redis-server on 127.0.0.1:6379 when one is running.
//!
//! Values too long to pin in hex are pinned by length and FNV-1a-64 of the bytes,
//! both computed from redis-server's `GET` reply.

use super::*;

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

mod live {
    //! Against the redis-server on 127.0.0.1:6379; each test skips with a note if
    //! none answers. Keys are unique per run and deleted afterwards.

    use super::*;
    use rand::{Rng, RngCore};
    use std::time::Duration;

    /// A connection to the local redis-server, or `None` (with a note) if absent.
    fn connect() -> Option<redis::Connection> {
        let client = redis::Client::open("redis://127.0.0.1:6379/").ok()?;
        match client.get_connection_with_timeout(Duration::from_millis(500)) {
            Ok(conn) => Some(conn),
            Err(err) => {
                println!("skipped: no redis-server on 127.0.0.1:6379 ({err})");
                None
            }
        }
    }

    /// Deletes its keys when dropped, even when an assertion fails.
    struct Keys<'c> {
        conn: &'c mut redis::Connection,
        names: Vec<String>,
    }

    impl Keys<'_> {
        fn new(conn: &mut redis::Connection, count: usize) -> Keys<'_> {
            let run: u64 = rand::thread_rng().gen();
            let names = (0..count)
                .map(|i| format!("shardcar:hll-test:{}:{run:x}:{i}", std::process::id()))
                .collect();
            Keys { conn, names }
        }

        fn pfadd(&mut self, key: usize, elements: &[Vec<u8>]) {
            for chunk in elements.chunks(1000) {
                let _: i64 = redis::cmd("PFADD")
                    .arg(&self.names[key])
                    .arg(chunk)
                    .query(self.conn)
                    .unwrap();
            }
        }

        fn get(&mut self, key: usize) -> Vec<u8> {
            redis::cmd("GET")
                .arg(&self.names[key])
                .query(self.conn)
                .unwrap()
        }

        fn query<T: redis::FromRedisValue>(&mut self, name: &str, keys: &[usize]) -> T {
            let mut cmd = redis::cmd(name);
            for &key in keys {
                cmd.arg(&self.names[key]);
            }
            cmd.query(self.conn).unwrap()
        }
    }

    impl Drop for Keys<'_> {
        fn drop(&mut self) {
            let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(&self.names).query(self.conn);
        }
    }

    /// `n` random binary elements of 0 to 24 bytes.
    fn random_elements(n: usize) -> Vec<Vec<u8>> {
        let mut rng = rand::thread_rng();
        (0..n)
            .map(|_| {
                let mut element = vec![0; rng.gen_range(0..=24)];
                rng.fill_bytes(&mut element);
                element
            })
            .collect()
    }

    #[test]
    fn fifty_thousand_random_elements_match_redis() {
        let Some(mut conn) = connect() else { return };
        let mut keys = Keys::new(&mut conn, 1);
        let elements = random_elements(50_000);
        keys.pfadd(0, &elements);
        let mut hll = built(&elements);
        assert_eq!(hex(&keys.get(0)), hex(hll.as_bytes()), "bytes after PFADD");
        let theirs: i64 = keys.query("PFCOUNT", &[0]);
        assert_eq!(theirs, hll.count() as i64);
        assert_eq!(
            hex(&keys.get(0)),
            hex(hll.as_bytes()),
            "bytes after PFCOUNT"
        );
    }

    #[test]
    fn sparse_values_and_merges_match_redis() {
        let Some(mut conn) = connect() else { return };
        let mut keys = Keys::new(&mut conn, 3);
        for n in [1, 7, 150, 900, 1500, 2500] {
            let (a, b) = (random_elements(n), random_elements(n / 3 + 1));
            keys.pfadd(0, &a);
            keys.pfadd(1, &b);
            let (mut ha, hb) = (built(&a), built(&b));
            let mut merged = Hll::new();
            merged.merge(&[&ha, &hb], DEFAULT_SPARSE_MAX_BYTES);
            let _: () = keys.query("PFMERGE", &[2, 0, 1]);
            assert_eq!(hex(&keys.get(0)), hex(ha.as_bytes()), "{n} elements");
            assert_eq!(hex(&keys.get(2)), hex(merged.as_bytes()), "merge of {n}");
            let union: i64 = keys.query("PFCOUNT", &[0, 1]);
            assert_eq!(union as u64, Hll::count_union(&[&ha, &hb]));
            let single: i64 = keys.query("PFCOUNT", &[0]);
            assert_eq!(single as u64, ha.count());
            let _: i64 = keys.query("DEL", &[0, 1, 2]);
        }
    }
}
