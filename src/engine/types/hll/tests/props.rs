//! Properties over random values: a plain array of 16384 registers is the model;
//! sparse values are encoded from it here, by hand and with random (valid but not
//! canonical) opcode choices, independently of the module's own encoder.

use super::super::{dense, Hll, HllError, DENSE, DENSE_LEN, HEADER_LEN, REGISTERS, SPARSE};
use proptest::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

/// A register array with `points` set; `cluster` packs them into the first 512
/// registers so runs of equal neighbours (and VAL merges) are frequent.
fn model(points: &[(usize, u8)], cluster: bool) -> Vec<u8> {
    let mut registers = vec![0u8; REGISTERS];
    for &(index, value) in points {
        let index = if cluster { index % 512 } else { index };
        registers[index] = registers[index].max(value);
    }
    registers
}

/// A sparse string for `registers` (values ≤ 32), runs cut at random.
fn encode_sparse(registers: &[u8], seed: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Hll::new().as_bytes()[..HEADER_LEN].to_vec();
    let mut index = 0;
    while index < REGISTERS {
        let value = registers[index];
        let mut run = registers[index..]
            .iter()
            .take_while(|&&v| v == value)
            .count();
        index += run;
        while run > 0 {
            let chunk = match value {
                0 if rng.gen_bool(0.5) => rng.gen_range(1..=run.min(64)),
                0 => rng.gen_range(1..=run),
                _ => rng.gen_range(1..=run.min(4)),
            };
            let code = chunk - 1;
            match value {
                0 if chunk <= 64 && rng.gen_bool(0.7) => out.push(code as u8),
                0 => out.extend_from_slice(&[0x40 | (code >> 8) as u8, code as u8]),
                _ => out.push(0x80 | ((value - 1) << 2) | code as u8),
            }
            run -= chunk;
        }
    }
    out
}

fn registers_of(hll: &Hll) -> Vec<u8> {
    let mut registers = vec![0u8; REGISTERS];
    hll.fold_max(&mut registers);
    registers
}

fn points() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((0..REGISTERS, 1u8..=32), 0..400)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn raising_registers_matches_the_model(
        points in points(),
        cluster: bool,
        seed: u64,
        raises in prop::collection::vec((0..REGISTERS, 1u8..=51), 1..80),
        sparse_max in 16usize..4000,
    ) {
        let mut expected = model(&points, cluster);
        let mut hll = Hll::from_vec(encode_sparse(&expected, seed)).unwrap();
        prop_assert_eq!(registers_of(&hll), expected.clone());
        let start_len = hll.as_bytes().len();
        for (index, value) in raises {
            let index = if cluster { index % 512 } else { index };
            let grows = value > expected[index];
            prop_assert_eq!(hll.raise(index, value, sparse_max), grows);
            expected[index] = expected[index].max(value);
            if hll.is_sparse() {
                prop_assert!(hll.as_bytes().len() <= start_len.max(sparse_max));
            }
        }
        prop_assert_eq!(Hll::check(hll.as_bytes()), Ok(()));
        prop_assert_eq!(registers_of(&hll), expected.clone());
        let mut dense = hll.clone();
        dense.promote();
        for (index, &value) in expected.iter().enumerate() {
            prop_assert_eq!(dense::get(&dense.as_bytes()[HEADER_LEN..], index), value);
        }
        prop_assert_eq!(hll.clone().count(), Hll::count_union(&[&hll]));
        prop_assert_eq!(dense.count(), Hll::count_union(&[&hll]));
    }

    #[test]
    fn cut_or_padded_sparse_bodies_are_corrupt(
        points in points(),
        seed: u64,
        cut in 1usize..8,
        extra: u8,
    ) {
        let bytes = encode_sparse(&model(&points, false), seed);
        prop_assert!(Hll::from_bytes(&bytes).is_ok());
        let short = &bytes[..bytes.len().saturating_sub(cut).max(HEADER_LEN)];
        prop_assert_eq!(Hll::from_bytes(short), Err(HllError::Corrupted));
        let mut long = bytes.clone();
        long.push(extra);
        prop_assert_eq!(Hll::from_vec(long), Err(HllError::Corrupted));
    }

    #[test]
    fn arbitrary_strings_never_panic(
        encoding in prop_oneof![Just(DENSE), Just(SPARSE), any::<u8>()],
        tail in prop::collection::vec(any::<u8>(), 0..600),
        dense_length: bool,
        elements in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..16), 0..20),
    ) {
        let mut bytes = b"HYLL".to_vec();
        bytes.push(encoding);
        bytes.extend_from_slice(&tail);
        if dense_length {
            // Long enough to pass as dense: the registers take arbitrary values.
            let fill = tail.first().copied().unwrap_or(0xff);
            bytes.resize(DENSE_LEN, fill);
        }
        if let Ok(mut hll) = Hll::from_bytes(&bytes) {
            let other = hll.clone();
            for element in &elements {
                hll.add(element, 64);
            }
            hll.merge(&[&other], 64);
            hll.count();
            prop_assert_eq!(Hll::check(hll.as_bytes()), Ok(()));
        }
    }
}
