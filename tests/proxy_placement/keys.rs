//! The keys written through nutcracker.

use std::collections::HashSet;

/// Keys written through every pool.
const KEY_COUNT: usize = 10_000;

// --------------------------------------------------------------------- keys

/// Deterministic xorshift, so a failing key can be reproduced.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The golden keys pinned in the ring unit tests.
pub(crate) fn golden_keys() -> Vec<Vec<u8>> {
    (0..50u8)
        .map(|i| match i % 5 {
            4 => vec![0xc3, 0xa9, 0x80 + i],
            _ => format!("key:{i}").into_bytes(),
        })
        .collect()
}

/// [`KEY_COUNT`] distinct keys: the special cases of the hash unit tests,
/// the golden keys, hash-tagged keys, ASCII keys and random binary keys of
/// 1..=100 bytes (crossing every block size the hash functions use).
pub(crate) fn test_keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"a".to_vec(),
        b"foo".to_vec(),
        b"key:1234".to_vec(),
        b"apple".to_vec(),
        (0..100u8).map(|i| b'a' + i % 26).collect(),
        (0x80..=0xffu8).collect(),
        b"{}".to_vec(),
        b"{user1000}.following".to_vec(),
        b"{user1000}.followers".to_vec(),
        b"foo{}{bar}".to_vec(),
        b"foo{{bar}}zap".to_vec(),
        b"{unclosed".to_vec(),
        b"$tag$rest".to_vec(),
    ];
    keys.extend(golden_keys());
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut i = 0usize;
    while keys.len() < KEY_COUNT {
        keys.push(generated_key(&mut rng, i));
        i += 1;
    }
    let distinct: HashSet<&Vec<u8>> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len(), "test keys must be distinct");
    keys
}

fn generated_key(rng: &mut XorShift, i: usize) -> Vec<u8> {
    match i % 4 {
        0 => format!("user:{i}:profile").into_bytes(),
        1 => format!("{{tag{}}}:item:{i}", i % 97).into_bytes(),
        _ => {
            let len = 1 + (rng.next() % 100) as usize;
            let mut key: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // A suffix keeps random keys apart from each other and from the rest.
            key.extend_from_slice(format!("#{i}").as_bytes());
            key
        }
    }
}

/// A key as printable ASCII.
pub(crate) fn show(key: &[u8]) -> String {
    key.escape_ascii().to_string()
}
