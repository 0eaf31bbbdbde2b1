//! Hash values: a flat field/value list while small ("listpack"), an index-stable
//! hash table past the thresholds ("hashtable"), as Redis 7.0 encodes them.
//!
//! A hash stays a listpack while it has at most `hash-max-listpack-entries` fields
//! and every field and value is at most `hash-max-listpack-value` bytes; the first
//! write that breaks either rule converts it, and it never converts back (Redis
//! does not either). The listpack keeps insertion order, so small hashes reply in
//! the same order as Redis; lookups there are linear, as in Redis's listpack.

pub mod table;

use bytes::Bytes;
use rand::Rng;

use self::table::Table;
use crate::engine::value::EncodingLimits;

/// A hash value.
#[derive(Debug, Clone)]
pub enum HashValue {
    /// "listpack": fields in insertion order.
    Pack(Vec<(Bytes, Bytes)>),
    /// "hashtable".
    Table(Table<Bytes>),
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::Pack(Vec::new())
    }
}

impl HashValue {
    /// An empty hash, in the compact encoding.
    pub fn new() -> HashValue {
        HashValue::default()
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            HashValue::Pack(_) => "listpack",
            HashValue::Table(_) => "hashtable",
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            HashValue::Pack(pairs) => pairs.len(),
            HashValue::Table(table) => table.len(),
        }
    }

    /// True when the hash has no field (Redis deletes such a key at once).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&Bytes> {
        match self {
            HashValue::Pack(pairs) => pairs.iter().find(|(f, _)| f[..] == *field).map(|(_, v)| v),
            HashValue::Table(table) => table.get(field),
        }
    }

    /// True if `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value` (both copied), converting to a table when `limits`
    /// say the listpack has grown too big. True if the field is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8], limits: &EncodingLimits) -> bool {
        let max_len = limits.hash_max_listpack_value;
        if field.len() > max_len || value.len() > max_len {
            self.convert();
        }
        let value = Bytes::copy_from_slice(value);
        let new = match self {
            HashValue::Pack(pairs) => match pairs.iter_mut().find(|(f, _)| f[..] == *field) {
                Some((_, old)) => {
                    *old = value;
                    false
                }
                None => {
                    pairs.push((Bytes::copy_from_slice(field), value));
                    true
                }
            },
            HashValue::Table(table) => match table.get_mut(field) {
                Some(old) => {
                    *old = value;
                    false
                }
                None => table.insert(Bytes::copy_from_slice(field), value).is_none(),
            },
        };
        if self.len() > limits.hash_max_listpack_entries {
            self.convert();
        }
        new
    }

    /// Converts a listpack to the table encoding (a no-op on a table).
    fn convert(&mut self) {
        if let HashValue::Pack(pairs) = self {
            let table = std::mem::take(pairs).into_iter().collect();
            *self = HashValue::Table(table);
        }
    }

    /// Removes `field`; true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            HashValue::Pack(pairs) => match pairs.iter().position(|(f, _)| f[..] == *field) {
                Some(i) => {
                    pairs.remove(i);
                    true
                }
                None => false,
            },
            HashValue::Table(table) => table.remove(field).is_some(),
        }
    }

    /// Every (field, value), in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> + '_ {
        let (pack, table) = match self {
            HashValue::Pack(pairs) => (Some(pairs.iter().map(|(f, v)| (f, v))), None),
            HashValue::Table(table) => (None, Some(table.iter())),
        };
        pack.into_iter()
            .flatten()
            .chain(table.into_iter().flatten())
    }

    /// A uniformly random (field, value).
    pub fn random(&self, rng: &mut impl Rng) -> Option<(&Bytes, &Bytes)> {
        match self {
            HashValue::Pack(pairs) if pairs.is_empty() => None,
            HashValue::Pack(pairs) => {
                let (f, v) = &pairs[rng.gen_range(0..pairs.len())];
                Some((f, v))
            }
            HashValue::Table(table) => table.random(rng),
        }
    }

    /// `count` distinct random fields with their values; every field, in order,
    /// when `count` reaches the length.
    pub fn sample(&self, count: usize, rng: &mut impl Rng) -> Vec<(&Bytes, &Bytes)> {
        match self {
            HashValue::Pack(pairs) if count >= pairs.len() => self.iter().collect(),
            HashValue::Pack(pairs) => rand::seq::index::sample(rng, pairs.len(), count)
                .into_iter()
                .map(|i| (&pairs[i].0, &pairs[i].1))
                .collect(),
            HashValue::Table(table) => table.sample(count, rng),
        }
    }

    /// One HSCAN step from `cursor`, visiting about `count` fields; returns the next
    /// cursor (0 = done). A listpack is visited whole in one call, as Redis does.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&Bytes, &Bytes)) -> u64 {
        match self {
            HashValue::Pack(pairs) => {
                pairs.iter().for_each(|(f, v)| visit(f, v));
                0
            }
            HashValue::Table(table) => table.scan(cursor, count, visit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(entries: usize, value: usize) -> EncodingLimits {
        EncodingLimits {
            hash_max_listpack_entries: entries,
            hash_max_listpack_value: value,
            ..EncodingLimits::default()
        }
    }

    fn fields(h: &HashValue) -> Vec<String> {
        h.iter()
            .map(|(f, v)| {
                format!(
                    "{}={}",
                    String::from_utf8_lossy(f),
                    String::from_utf8_lossy(v)
                )
            })
            .collect()
    }

    #[test]
    fn listpack_keeps_insertion_order_and_updates_in_place() {
        let l = EncodingLimits::default();
        let mut h = HashValue::new();
        assert!(h.insert(b"b", b"1", &l));
        assert!(h.insert(b"a", b"2", &l));
        assert!(!h.insert(b"b", b"3", &l));
        assert_eq!(fields(&h), ["b=3", "a=2"]);
        assert_eq!(h.get(b"a").map(|v| &v[..]), Some(&b"2"[..]));
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(fields(&h), ["a=2"]);
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn converts_past_the_entry_count() {
        let l = limits(4, 64);
        let mut h = HashValue::new();
        for i in 0..4 {
            h.insert(format!("f{i}").as_bytes(), b"v", &l);
        }
        assert_eq!(h.encoding(), "listpack", "4 fields ≤ 4");
        h.insert(b"f0", b"again", &l);
        assert_eq!(h.encoding(), "listpack", "updating does not grow it");
        h.insert(b"f4", b"v", &l);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(
            fields(&h)[..2],
            ["f0=again", "f1=v"],
            "order survives the conversion"
        );
        for i in 0..5 {
            h.remove(format!("f{i}").as_bytes());
        }
        h.insert(b"x", b"y", &l);
        assert_eq!(h.encoding(), "hashtable", "never converts back");
    }

    #[test]
    fn converts_on_a_long_field_or_value() {
        let l = limits(128, 8);
        let mut h = HashValue::new();
        h.insert(&[b'f'; 8], &[b'v'; 8], &l);
        assert_eq!(h.encoding(), "listpack", "8 bytes ≤ 8");
        h.insert(b"f", &[b'v'; 9], &l);
        assert_eq!(h.encoding(), "hashtable", "a 9-byte value");
        let mut h = HashValue::new();
        h.insert(&[b'f'; 9], b"v", &l);
        assert_eq!(h.encoding(), "hashtable", "a 9-byte field");
        assert_eq!(h.get(&[b'f'; 9]).map(|v| &v[..]), Some(&b"v"[..]));
    }

    #[test]
    fn zero_limits_mean_always_a_table() {
        let mut h = HashValue::new();
        h.insert(b"", b"", &limits(0, 64));
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn random_and_sample_in_both_encodings() {
        let mut rng = rand::thread_rng();
        for entries in [128, 2] {
            let l = limits(entries, 64);
            let mut h = HashValue::new();
            assert!(h.random(&mut rng).is_none());
            for i in 0..10 {
                h.insert(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), &l);
            }
            let (f, v) = h.random(&mut rng).unwrap();
            assert_eq!(&f[1..], &v[1..]);
            let picks = h.sample(4, &mut rng);
            assert_eq!(picks.len(), 4);
            let distinct: std::collections::HashSet<_> = picks.iter().map(|(f, _)| *f).collect();
            assert_eq!(distinct.len(), 4);
            let all: Vec<_> = h
                .sample(50, &mut rng)
                .into_iter()
                .map(|(f, _)| f.clone())
                .collect();
            let ordered: Vec<_> = h.iter().map(|(f, _)| f.clone()).collect();
            assert_eq!(
                all, ordered,
                "a count ≥ the length returns the whole hash in order"
            );
        }
    }

    #[test]
    fn listpack_scan_is_one_call() {
        let l = EncodingLimits::default();
        let mut h = HashValue::new();
        for i in 0..50 {
            h.insert(format!("f{i}").as_bytes(), b"v", &l);
        }
        let mut n = 0;
        assert_eq!(h.scan(0, 1, |_, _| n += 1), 0);
        assert_eq!(n, 50);
    }

    #[test]
    fn values_are_owned_copies() {
        let buffer = Bytes::from(vec![b'x'; 4096]);
        let mut h = HashValue::new();
        h.insert(&buffer[..3], &buffer[3..6], &EncodingLimits::default());
        let (f, v) = h.iter().next().unwrap();
        assert_ne!(f.as_ptr(), buffer.as_ptr());
        assert_ne!(v.as_ptr(), buffer[3..].as_ptr());
    }
}
