//! Golden values for the twelve hash functions.
//!
//! The values were produced by this implementation and checked against the
//! real nutcracker 0.5.0: `tests/proxy_placement.rs` writes these very keys
//! (among 10,000) through nutcracker pools using each function and finds
//! every one on the server our hash and ring predict. The `"apple"` values
//! are the ones twemproxy's own test suite expects.

use super::*;

fn long_key() -> Vec<u8> {
    (0..100u8).map(|i| b'a' + i % 26).collect()
}

fn high_bytes() -> Vec<u8> {
    (0x80..=0xffu8).collect()
}

/// Per hash: the values of "", "a", "foo", "key:1234", a 100-byte key
/// (`abc…z` repeated) and the 128 bytes 0x80..=0xff.
const GOLDEN: [(HashKind, [u32; 6]); 12] = [
    (
        HashKind::OneAtATime,
        [
            0x00000000, 0xca2e9442, 0x238678dd, 0x6381ba05, 0xb7d122d7, 0x92924e84,
        ],
    ),
    (
        HashKind::Md5,
        [
            0xd98c1dd4, 0xb975c10c, 0xdb18bdac, 0xbcf266d5, 0x51e150c8, 0x1504f416,
        ],
    ),
    (
        HashKind::Crc16,
        [
            0x00000000, 0x00007c87, 0x0c3caf96, 0x3582011d, 0xfd39392b, 0xf01953e8,
        ],
    ),
    (
        HashKind::Crc32,
        [
            0x00000000, 0x000068b7, 0x00000c73, 0x00004c36, 0x00006d04, 0x00004649,
        ],
    ),
    (
        HashKind::Crc32a,
        [
            0x00000000, 0xe8b7be43, 0x8c736521, 0x4c36c357, 0x6d0404c4, 0x4649f09d,
        ],
    ),
    (
        HashKind::Fnv1_64,
        [
            0x84222325, 0x8601b7be, 0x6ba13533, 0x42f6c258, 0x88106f49, 0xa4f44625,
        ],
    ),
    (
        HashKind::Fnv1a64,
        [
            0x84222325, 0x8601ec8c, 0xfed9d577, 0x52f0f226, 0x63d4b4c1, 0xece9aea5,
        ],
    ),
    (
        HashKind::Fnv1_32,
        [
            0x811c9dc5, 0x050c5d7e, 0x408f5e13, 0xae7eb3b8, 0xa05c0fa9, 0x1d7c8bc5,
        ],
    ),
    (
        HashKind::Fnv1a32,
        [
            0x811c9dc5, 0xe40c292c, 0xa9f37ed7, 0x76850fa6, 0xda30caa1, 0x3f36c845,
        ],
    ),
    (
        HashKind::Hsieh,
        [
            0x00000000, 0x93642e87, 0x76d4d427, 0xd50380e6, 0xbe8e0492, 0xd08f131b,
        ],
    ),
    (
        HashKind::Murmur,
        [
            0x00000000, 0x4b41757c, 0xc4e0338f, 0x9a5d9c91, 0x1e34ba83, 0xfd257f20,
        ],
    ),
    (
        HashKind::Jenkins,
        [
            0xdeadbefc, 0xe0a38690, 0x99f84f99, 0x09d9aa42, 0x4d583b18, 0xeb409d86,
        ],
    ),
];

#[test]
fn golden_values() {
    let long = long_key();
    let high = high_bytes();
    let keys: [&[u8]; 6] = [b"", b"a", b"foo", b"key:1234", &long, &high];
    for (kind, expected) in GOLDEN {
        for (key, want) in keys.iter().zip(expected) {
            let got = kind.hash(key);
            assert_eq!(got, want, "{kind}({}) = {got:#010x}", key.escape_ascii());
        }
    }
}

#[test]
fn apple_matches_twemproxy_test_suite() {
    let expected = [
        (HashKind::OneAtATime, 2297466611),
        (HashKind::Md5, 3195025439),
        (HashKind::Crc16, 3662830516),
        (HashKind::Crc32, 10542),
        (HashKind::Crc32a, 2838417488),
        (HashKind::Fnv1_32, 67176023),
        (HashKind::Fnv1a32, 280767167),
        (HashKind::Fnv1_64, 473199127),
        (HashKind::Fnv1a64, 1488911807),
        (HashKind::Hsieh, 3738850110),
        (HashKind::Jenkins, 1442444624),
        (HashKind::Murmur, 4142305122),
    ];
    for (kind, want) in expected {
        assert_eq!(kind.hash(b"apple"), want, "{kind}");
    }
}

#[test]
fn ketama_digest_words_match_twemproxy_test_suite() {
    assert_eq!(md5_le_word(b"server1-8", 0), 3853726576);
    assert_eq!(md5_le_word(b"server1-8", 3), 2667054752);
}

#[test]
fn bytes_above_0x7f_are_sign_extended_where_twemproxy_does() {
    // One byte 0x80: FNV-1a xors in 0xffffff80 rather than 0x80.
    let signed = (0x8422_2325u32 ^ 0xffff_ff80).wrapping_mul(0x1b3);
    assert_eq!(HashKind::Fnv1a64.hash(&[0x80]), signed);
    // CRC-32 reads unsigned bytes: the standard check value.
    assert_eq!(HashKind::Crc32a.hash(b"123456789"), 0xcbf4_3926);
}

#[test]
fn crc16_keeps_bits_above_16() {
    assert!(HashKind::Crc16.hash(b"apple") > 0xffff);
    // The low 16 bits are plain CRC-16/XMODEM (check value 0x31c3).
    assert_eq!(HashKind::Crc16.hash(b"123456789") & 0xffff, 0x31c3);
}

#[test]
fn dispatch_hash_of_empty_key_is_zero() {
    for kind in HashKind::ALL {
        assert_eq!(kind.dispatch_hash(b""), 0, "{kind}");
        assert_eq!(kind.dispatch_hash(b"foo"), kind.hash(b"foo"), "{kind}");
    }
}

#[test]
fn hash_tail_lengths_differ() {
    // Every tail length of the block-wise hashes gives a distinct value.
    let key = long_key();
    for kind in [HashKind::Hsieh, HashKind::Murmur, HashKind::Jenkins] {
        let values: std::collections::HashSet<u32> =
            (0..=key.len()).map(|n| kind.hash(&key[..n])).collect();
        assert_eq!(values.len(), key.len() + 1, "{kind}");
    }
}

#[test]
fn names_round_trip() {
    for kind in HashKind::ALL {
        assert_eq!(kind.to_string().parse::<HashKind>(), Ok(kind));
    }
    assert_eq!("fnv1a_64".parse(), Ok(HashKind::Fnv1a64));
    assert_eq!("one_at_a_time".parse(), Ok(HashKind::OneAtATime));
}

#[test]
fn unknown_names_are_rejected() {
    for bad in ["", "FNV1A_64", "fnv1a64", "crc64", "md5 ", "ketama"] {
        let err = bad.parse::<HashKind>().unwrap_err();
        assert_eq!(err, UnknownHash(bad.to_owned()));
        assert_eq!(err.to_string(), format!("'{bad}' is not a valid hash"));
    }
}

#[test]
fn hash_tag_takes_the_first_closed_tag() {
    let tag = Some(*b"{}");
    let cases: [(&[u8], &[u8]); 9] = [
        (b"{user1000}.following", b"user1000"),
        (b"foo{bar}{zap}", b"bar"),
        (b"foo{{bar}}zap", b"{bar"),
        (b"{}", b"{}"),
        (b"foo{}{bar}", b"foo{}{bar}"),
        (b"{unclosed", b"{unclosed"),
        (b"closed}only", b"closed}only"),
        (b"no tag", b"no tag"),
        (b"", b""),
    ];
    for (key, hashed) in cases {
        assert_eq!(hash_tagged_key(key, tag), hashed, "{}", key.escape_ascii());
    }
}

#[test]
fn hash_tag_with_same_open_and_close() {
    let tag = Some(*b"$$");
    assert_eq!(hash_tagged_key(b"a$b$c$d", tag), b"b");
    assert_eq!(hash_tagged_key(b"a$$b", tag), b"a$$b");
    assert_eq!(hash_tagged_key(b"$only", tag), b"$only");
}

#[test]
fn no_hash_tag_hashes_the_whole_key() {
    assert_eq!(hash_tagged_key(b"{user}.x", None), b"{user}.x");
}
