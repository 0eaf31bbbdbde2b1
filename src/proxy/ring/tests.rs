//! Ring construction and lookup, with placements pinned from nutcracker.
//!
//! The golden strings below are what nutcracker 0.5.0 chose for the golden
//! keys (printed by `SHARDCAR_PRINT_GOLDEN=1 cargo test --test
//! proxy_placement golden`, which also checks our ring against it).

use super::*;
use crate::proxy::hash::HashKind;

/// The golden server list, in config order (not twemproxy's sorted order).
fn golden_servers() -> [ServerSpec<'static>; 3] {
    [
        ServerSpec {
            name: "127.0.0.1:7001",
            weight: 1,
        },
        ServerSpec {
            name: "cache-b",
            weight: 2,
        },
        ServerSpec {
            name: "node-c-long-name",
            weight: 3,
        },
    ]
}

/// `key:<i>`, except every fifth key, which is non-ASCII.
fn golden_key(i: u8) -> Vec<u8> {
    match i % 5 {
        4 => vec![0xc3, 0xa9, 0x80 + i],
        _ => format!("key:{i}").into_bytes(),
    }
}

fn placements(ring: &Ring, hash: HashKind) -> String {
    (0..50)
        .map(|i| {
            let server = ring.server_for(hash.dispatch_hash(&golden_key(i)));
            server.map_or('-', |s| char::from(b'0' + s as u8))
        })
        .collect()
}

#[test]
fn golden_placements_from_nutcracker() {
    let servers = golden_servers();
    let cases = [
        (
            HashKind::Fnv1a64,
            Distribution::Ketama,
            "11110111102222022220222202222022220222202222022220",
        ),
        (
            HashKind::Fnv1a64,
            Distribution::Modula,
            "02022202002121212120121222121021212121201212221210",
        ),
        (
            HashKind::Murmur,
            Distribution::Ketama,
            "22201212021012210220221120002222010120221211220211",
        ),
        (
            HashKind::Murmur,
            Distribution::Modula,
            "12220212221022202222222012010221221100222212200212",
        ),
    ];
    for (hash, dist, expected) in cases {
        let ring = Ring::new(dist, &servers);
        assert_eq!(placements(&ring, hash), expected, "{hash} {dist}");
    }
}

fn specs<'a>(names: &[&'a str], weights: &[u32]) -> Vec<ServerSpec<'a>> {
    names
        .iter()
        .zip(weights)
        .map(|(&name, &weight)| ServerSpec { name, weight })
        .collect()
}

/// Continuum points per server index.
fn points_per_server(ring: &Ring, nservers: usize) -> Vec<usize> {
    let Table::Ketama { servers, .. } = &ring.table else {
        panic!("not a ketama ring");
    };
    let mut counts = vec![0; nservers];
    for &s in servers {
        counts[s as usize] += 1;
    }
    counts
}

#[test]
fn ketama_gives_160_points_per_server_at_equal_weights() {
    let servers = specs(&["a:1", "b:1", "c:1", "d:1"], &[5, 5, 5, 5]);
    let ring = Ring::new(Distribution::Ketama, &servers);
    assert_eq!(points_per_server(&ring, 4), [160; 4]);
    assert_eq!(ring.len(), 640);
}

#[test]
fn ketama_points_follow_weight() {
    let ring = Ring::new(Distribution::Ketama, &specs(&["a", "b"], &[1, 3]));
    assert_eq!(points_per_server(&ring, 2), [80, 240]);
}

#[test]
fn ketama_shares_are_computed_in_32_bit_floats() {
    // Exactly 58 digests each for the weight-29 servers, but 57.99999 in f32.
    let ring = Ring::new(Distribution::Ketama, &specs(&["x", "y", "z"], &[2, 29, 29]));
    assert_eq!(points_per_server(&ring, 3), [16, 228, 228]);
}

#[test]
fn ketama_points_are_md5_words_of_labels() {
    let ring = Ring::new(Distribution::Ketama, &specs(&["server1"], &[1]));
    let Table::Ketama { values, .. } = &ring.table else {
        panic!("not a ketama ring");
    };
    // twemproxy's own test: digest of "server1-8", words 0 and 3.
    assert!(values.binary_search(&3853726576).is_ok());
    assert!(values.binary_search(&2667054752).is_ok());
    assert!(
        values.windows(2).all(|w| w[0] <= w[1]),
        "continuum is sorted"
    );
}

#[test]
fn ketama_lookup_takes_first_point_at_or_above_and_wraps() {
    let ring = Ring::new(Distribution::Ketama, &specs(&["a", "b", "c"], &[1, 1, 1]));
    let Table::Ketama { values, servers } = &ring.table else {
        panic!("not a ketama ring");
    };
    let last = values.len() - 1;
    assert_eq!(ring.server_for(values[7]), Some(servers[7] as usize));
    assert_eq!(ring.server_for(values[6] + 1), Some(servers[7] as usize));
    assert_eq!(ring.server_for(0), Some(servers[0] as usize));
    if values[last] < u32::MAX {
        assert_eq!(ring.server_for(u32::MAX), Some(servers[0] as usize));
    }
}

#[test]
fn config_order_does_not_matter() {
    let forward = specs(&["alpha", "b", "127.0.0.1:6380"], &[1, 2, 3]);
    let reversed = specs(&["127.0.0.1:6380", "b", "alpha"], &[3, 2, 1]);
    for dist in [Distribution::Ketama, Distribution::Modula] {
        let (one, two) = (Ring::new(dist, &forward), Ring::new(dist, &reversed));
        for hash in (0..1000u32).map(|i| i.wrapping_mul(0x9e37_79b9)) {
            let a = one.server_for(hash).map(|i| forward[i].name);
            let b = two.server_for(hash).map(|i| reversed[i].name);
            assert_eq!(a, b, "{dist} hash {hash:#x}");
        }
    }
}

#[test]
fn modula_is_hash_mod_total_weight_in_sorted_order() {
    // Sorted by (length, bytes): "b" (weight 2), "cc" (1), "aaa" (3).
    let servers = specs(&["aaa", "b", "cc"], &[3, 2, 1]);
    let ring = Ring::new(Distribution::Modula, &servers);
    let slots: Vec<Option<usize>> = (0..12).map(|h| ring.server_for(h)).collect();
    let b = Some(1);
    let cc = Some(2);
    let aaa = Some(0);
    assert_eq!(slots, [b, b, cc, aaa, aaa, aaa, b, b, cc, aaa, aaa, aaa]);
    assert_eq!(ring.server_for(u32::MAX), slots[(u32::MAX % 6) as usize]);
    assert_eq!(ring.len(), 6);
}

#[test]
fn ejection_rebuilds_over_live_servers_with_full_indices() {
    let servers = specs(&["a", "b", "c", "d"], &[1, 1, 1, 1]);
    let without_c = specs(&["a", "b", "d"], &[1, 1, 1]);
    for dist in [Distribution::Ketama, Distribution::Modula] {
        let ejected = Ring::with_live(dist, &servers, |i| i != 2);
        let rebuilt = Ring::new(dist, &without_c);
        for hash in (0..2000u32).map(|i| i.wrapping_mul(0x2545_f491)) {
            let got = ejected.server_for(hash).map(|i| servers[i].name);
            let want = rebuilt.server_for(hash).map(|i| without_c[i].name);
            assert_eq!(got, want, "{dist} hash {hash:#x}");
        }
    }
}

#[test]
fn ketama_ejection_moves_only_the_ejected_servers_keys() {
    let servers = specs(&["a", "b", "c", "d"], &[1, 1, 1, 1]);
    let full = Ring::new(Distribution::Ketama, &servers);
    let ejected = Ring::with_live(Distribution::Ketama, &servers, |i| i != 1);
    for hash in (0..5000u32).map(|i| i.wrapping_mul(0x9e37_79b9)) {
        let before = full.server_for(hash);
        if before != Some(1) {
            assert_eq!(ejected.server_for(hash), before);
        }
    }
}

#[test]
fn no_live_servers_maps_nothing() {
    let servers = specs(&["a", "b"], &[1, 1]);
    for dist in [
        Distribution::Ketama,
        Distribution::Modula,
        Distribution::Random,
    ] {
        assert_eq!(Ring::new(dist, &[]).server_for(7), None, "{dist}");
        let dead = Ring::with_live(dist, &servers, |_| false);
        assert!(dead.is_empty());
        assert_eq!(dead.server_for(7), None, "{dist}");
    }
}

#[test]
fn zero_weights_get_no_share() {
    let servers = specs(&["a", "b"], &[0, 4]);
    for dist in [Distribution::Ketama, Distribution::Modula] {
        let ring = Ring::new(dist, &servers);
        assert!(
            (0..100).all(|h| ring.server_for(h * 40_000_000) == Some(1)),
            "{dist}"
        );
    }
    let nothing = specs(&["a", "b"], &[0, 0]);
    for dist in [Distribution::Ketama, Distribution::Modula] {
        assert_eq!(Ring::new(dist, &nothing).server_for(1), None, "{dist}");
    }
}

#[test]
fn huge_weights_do_not_allocate_per_weight() {
    let servers = specs(&["a", "b"], &[u32::MAX, u32::MAX]);
    let ring = Ring::new(Distribution::Modula, &servers);
    assert_eq!(ring.server_for(5), Some(0));
    assert_eq!(ring.len(), 2 * u32::MAX as usize);
    let ketama = Ring::new(Distribution::Ketama, &servers);
    assert!(ketama.server_for(5).is_some());
}

#[test]
fn long_names_are_cut_to_twemproxys_buffer() {
    let mut label = Vec::new();
    write_label(&mut label, &"n".repeat(300), 0);
    assert_eq!(label.len(), MAX_LABEL_BUFFER - 1);
    write_label(&mut label, "srv", 12);
    assert_eq!(label, b"srv-12");
}

#[test]
fn random_is_uniform_over_live_servers_ignoring_weight() {
    use rand::SeedableRng;
    let servers = specs(&["a", "b", "c"], &[1, 10, 100]);
    let ring = Ring::with_live(Distribution::Random, &servers, |i| i != 0);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut counts = [0usize; 3];
    for _ in 0..10_000 {
        counts[ring.server_for_with(0, &mut rng).expect("live")] += 1;
    }
    assert_eq!(counts[0], 0, "ejected server never drawn");
    assert!(counts[1] > 4_500 && counts[2] > 4_500, "{counts:?}");
}

#[test]
fn distribution_names_round_trip() {
    for dist in [
        Distribution::Ketama,
        Distribution::Modula,
        Distribution::Random,
    ] {
        assert_eq!(dist.to_string().parse(), Ok(dist));
    }
    assert_eq!(Distribution::default(), Distribution::Ketama);
    for bad in ["", "Ketama", "modulo", "consistent"] {
        let err = bad.parse::<Distribution>().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("'{bad}' is not a valid distribution")
        );
    }
}
