//! Key-hash → server mapping, bit-exact with twemproxy 0.5 (nutcracker).
//!
//! A [`Ring`] is pure data built once from a pool's servers and rebuilt
//! whenever the set of live servers changes (twemproxy rebuilds its
//! "continuum" on every ejection and every return). Lookups take the 32-bit
//! hash from [`super::hash`] and give back an index into the server list the
//! ring was built from.
//!
//! What twemproxy does, and so what we do:
//!
//! - **Server order.** Servers are first sorted by their identity string
//!   (the name, else `host:port`): shorter first, then bytewise. This order,
//!   not the config order, decides modula slots and ketama ties.
//! - **Ketama.** Each live server gets `floor(weight / total · 40 · live)`
//!   MD5 digests computed in 32-bit floats (so 160 points at equal weights),
//!   of the labels `"<identity>-0"`, `"<identity>-1"`, …; each digest gives
//!   four points (its little-endian words). A hash maps to the first point
//!   `>= hash`, wrapping to the first point past the end.
//! - **Modula.** `hash % total live weight` picks a slot; the slots are laid
//!   out as `weight` consecutive slots per live server in server order.
//! - **Random.** A uniformly random live server; weights are ignored.
//! - **Ejection.** An ejected server is left out of the build: the total
//!   weight, the live count and so every ketama share change.

use std::fmt;
use std::str::FromStr;

use rand::Rng;

use super::hash::{digest_word, md5_digest};

#[cfg(test)]
mod tests;

/// Ketama points per server at equal weights (40 digests × 4 words).
const POINTS_PER_SERVER: f32 = 160.0;

/// Points taken from one MD5 digest.
const POINTS_PER_DIGEST: usize = 4;

/// twemproxy formats point labels into a buffer of this many bytes
/// (`KETAMA_MAX_HOSTLEN`), so a label keeps at most one byte less.
const MAX_LABEL_BUFFER: usize = 273;

/// How a pool spreads keys over its servers (the pool's `distribution:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Distribution {
    /// Consistent hashing on an MD5 continuum (twemproxy's default).
    #[default]
    Ketama,
    /// `hash % total weight` over weight-sized slots.
    Modula,
    /// A random live server for every request.
    Random,
}

/// A `distribution:` value that twemproxy does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a valid distribution")]
pub struct UnknownDistribution(pub String);

impl Distribution {
    /// The name used in `nutcracker.yml`.
    pub const fn name(self) -> &'static str {
        match self {
            Distribution::Ketama => "ketama",
            Distribution::Modula => "modula",
            Distribution::Random => "random",
        }
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Distribution {
    type Err = UnknownDistribution;

    /// Parses a `distribution:` value; case-sensitive, as in twemproxy.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Distribution::Ketama,
            Distribution::Modula,
            Distribution::Random,
        ]
        .into_iter()
        .find(|dist| dist.name() == s)
        .ok_or_else(|| UnknownDistribution(s.to_owned()))
    }
}

/// One server of a pool, as the ring sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSpec<'a> {
    /// The server's identity: its name when the `servers:` line has one,
    /// else `host:port`, or just `host` when the port is 11211
    /// (libmemcached's convention, kept by twemproxy). The weight is never
    /// part of it.
    pub name: &'a str,
    /// The server's weight. twemproxy's config rejects 0; here a zero-weight
    /// server simply gets no share.
    pub weight: u32,
}

/// An immutable key-hash → server map for one pool.
///
/// # Example
///
/// ```
/// use shardcar::proxy::hash::HashKind;
/// use shardcar::proxy::ring::{Distribution, Ring, ServerSpec};
///
/// let servers = [
///     ServerSpec { name: "127.0.0.1:7001", weight: 1 },
///     ServerSpec { name: "cache-b", weight: 2 },
///     ServerSpec { name: "node-c-long-name", weight: 3 },
/// ];
/// let ring = Ring::new(Distribution::Ketama, &servers);
/// let hash = HashKind::Fnv1a64.dispatch_hash(b"key:0");
/// // Where nutcracker 0.5.0 puts "key:0" in the same pool: "cache-b".
/// assert_eq!(ring.server_for(hash), Some(1));
/// ```
#[derive(Debug, Clone)]
pub struct Ring {
    table: Table,
}

#[derive(Debug, Clone)]
enum Table {
    /// The sorted continuum: `values[i]` is a point owned by `servers[i]`.
    Ketama { values: Vec<u32>, servers: Vec<u32> },
    /// `ends[i]` is the slot count up to and including `servers[i]`.
    Modula { ends: Vec<u64>, servers: Vec<u32> },
    /// The live servers, any of which may be picked.
    Random { servers: Vec<u32> },
}

impl Ring {
    /// Builds the ring over `servers`, all live.
    ///
    /// Lookups return indices into `servers`.
    pub fn new(dist: Distribution, servers: &[ServerSpec<'_>]) -> Ring {
        Ring::with_live(dist, servers, |_| true)
    }

    /// Builds the ring over the servers for which `is_live(index)` holds,
    /// as twemproxy does after ejecting the others.
    ///
    /// Lookups still return indices into the full `servers` slice. With no
    /// live server every lookup gives `None` (twemproxy then fails the
    /// request with "Connection refused").
    pub fn with_live(
        dist: Distribution,
        servers: &[ServerSpec<'_>],
        is_live: impl Fn(usize) -> bool,
    ) -> Ring {
        let live: Vec<u32> = twemproxy_order(servers)
            .into_iter()
            .filter(|&i| is_live(i as usize))
            .collect();
        let table = match dist {
            Distribution::Ketama => ketama_table(servers, &live),
            Distribution::Modula => modula_table(servers, live),
            Distribution::Random => Table::Random { servers: live },
        };
        Ring { table }
    }

    /// The server (an index into the slice the ring was built from) for a
    /// key whose hash is `hash`; `None` when no live server has a share.
    ///
    /// With [`Distribution::Random`] the hash is ignored and a live server
    /// is drawn at random.
    pub fn server_for(&self, hash: u32) -> Option<usize> {
        match &self.table {
            Table::Random { servers } => pick_random(servers, &mut rand::thread_rng()),
            table => table.lookup(hash),
        }
    }

    /// [`Ring::server_for`] drawing from `rng` for [`Distribution::Random`].
    pub fn server_for_with<R: Rng + ?Sized>(&self, hash: u32, rng: &mut R) -> Option<usize> {
        match &self.table {
            Table::Random { servers } => pick_random(servers, rng),
            table => table.lookup(hash),
        }
    }

    /// Number of points on the ketama continuum, slots of the modula table,
    /// or live servers of a random ring.
    pub fn len(&self) -> usize {
        match &self.table {
            Table::Ketama { values, .. } => values.len(),
            Table::Modula { ends, .. } => ends.last().map_or(0, |&end| end as usize),
            Table::Random { servers } => servers.len(),
        }
    }

    /// True when the ring maps nothing ([`Ring::server_for`] gives `None`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Table {
    /// The server for `hash` on a ketama or modula table.
    fn lookup(&self, hash: u32) -> Option<usize> {
        let server = match self {
            Table::Ketama { values, servers } => {
                let at = values.partition_point(|&point| point < hash);
                // Past the last point the ring wraps around to the first.
                let at = if at == values.len() { 0 } else { at };
                *servers.get(at)?
            }
            Table::Modula { ends, servers } => {
                let total = *ends.last()?;
                let slot = u64::from(hash) % total;
                servers[ends.partition_point(|&end| end <= slot)]
            }
            // Random rings never hash; `server_for` draws instead.
            Table::Random { .. } => return None,
        };
        Some(server as usize)
    }
}

/// A uniformly drawn server; `None` when there is none.
fn pick_random<R: Rng + ?Sized>(servers: &[u32], rng: &mut R) -> Option<usize> {
    if servers.is_empty() {
        return None;
    }
    Some(servers[rng.gen_range(0..servers.len())] as usize)
}

/// Server indices in twemproxy's order: by identity length, then bytes. It is
/// also the order in which twemproxy lists a pool's servers in its stats.
pub fn twemproxy_order(servers: &[ServerSpec<'_>]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..servers.len() as u32).collect();
    order.sort_by_key(|&i| {
        let name = servers[i as usize].name.as_bytes();
        (name.len(), name)
    });
    order
}

fn ketama_table(servers: &[ServerSpec<'_>], live: &[u32]) -> Table {
    let total_weight: u32 = live
        .iter()
        .fold(0, |sum, &i| sum.wrapping_add(servers[i as usize].weight));
    let mut points: Vec<(u32, u32)> = Vec::new();
    for &index in live {
        let server = servers[index as usize];
        let digests = ketama_digests(server.weight, total_weight, live.len());
        points.reserve(digests * POINTS_PER_DIGEST);
        let mut label = Vec::with_capacity(server.name.len() + 8);
        for n in 0..digests {
            write_label(&mut label, server.name, n);
            let digest = md5_digest(&label);
            points.extend((0..POINTS_PER_DIGEST).map(|w| (digest_word(&digest, w), index)));
        }
    }
    // twemproxy's qsort leaves equal points in no defined order; MD5 words
    // of distinct labels practically never collide. We break ties by server
    // order so the ring is at least deterministic.
    let rank = rank_of(servers.len(), live);
    points.sort_unstable_by_key(|&(value, index)| (value, rank[index as usize]));
    let (values, servers) = points.into_iter().unzip();
    Table::Ketama { values, servers }
}

/// How many MD5 digests (each four points) a server of `weight` gets.
///
/// twemproxy computes this in C `float`s:
/// `floorf((float)(pct * 160 / 4 * (float)live + 1e-10)) `, where
/// `pct = (float)weight / (float)total`; the `1e-10` is added in `double`.
fn ketama_digests(weight: u32, total_weight: u32, live: usize) -> usize {
    let pct = weight as f32 / total_weight as f32;
    let share = pct * POINTS_PER_SERVER / POINTS_PER_DIGEST as f32 * live as f32;
    let share = (f64::from(share) + 0.000_000_000_1) as f32;
    // A NaN share (every weight 0) casts to 0 digests.
    share.floor() as usize
}

/// Writes into `label` the bytes hashed for a server's `n`-th digest:
/// `"<identity>-<n>"`, cut to the size of twemproxy's buffer.
fn write_label(label: &mut Vec<u8>, name: &str, n: usize) {
    label.clear();
    label.extend_from_slice(name.as_bytes());
    label.push(b'-');
    label.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    label.truncate(MAX_LABEL_BUFFER - 1);
}

/// For each server index, its position in `live` (ties in the continuum
/// go to the earlier one).
fn rank_of(nservers: usize, live: &[u32]) -> Vec<u32> {
    let mut rank = vec![u32::MAX; nservers];
    for (position, &index) in live.iter().enumerate() {
        rank[index as usize] = position as u32;
    }
    rank
}

fn modula_table(servers: &[ServerSpec<'_>], live: Vec<u32>) -> Table {
    let mut ends = Vec::with_capacity(live.len());
    let mut owners = Vec::with_capacity(live.len());
    let mut total = 0u64;
    for index in live {
        let weight = servers[index as usize].weight;
        if weight == 0 {
            continue;
        }
        total += u64::from(weight);
        ends.push(total);
        owners.push(index);
    }
    Table::Modula {
        ends,
        servers: owners,
    }
}
