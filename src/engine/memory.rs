//! How much memory the engine uses: the allocator's count for INFO and maxmemory,
//! the process's resident size, and per-value estimates for MEMORY USAGE and
//! eviction.
//!
//! `used_memory` is jemalloc's `stats.allocated`, as Redis reports it. jemalloc
//! refreshes its statistics only when its epoch is advanced, a call that costs
//! microseconds, so the epoch moves at most once per [`REFRESH_MS`] and readers in
//! between get the cached figure. The figure covers the whole process: several
//! engines in one process (tests, `shardcar up`) see each other's memory.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, Instant};
use tikv_jemalloc_ctl::{epoch, stats};

use super::types::hash::HashValue;
use super::types::set::SetValue;
use super::value::{Str, Value};

/// The allocator's statistics are refreshed at most this often.
pub const REFRESH_MS: u64 = 10;

/// Bytes a key costs besides its name and value: the index slot, the slab entry,
/// the `Bytes` handles (close to what Redis's dictEntry + robj + sds headers cost).
const KEY_OVERHEAD: usize = 56;
/// Per-element cost of a list element or set member beyond its bytes.
const ELEMENT_OVERHEAD: usize = 32;
/// Per-field cost of a hash field/value pair beyond their bytes.
const PAIR_OVERHEAD: usize = 48;

/// The last allocator figures, and when they were taken.
#[derive(Debug)]
struct Cache {
    taken: Option<Instant>,
    allocated: u64,
    resident: u64,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    taken: None,
    allocated: 0,
    resident: 0,
});

/// Bytes freed by eviction since the cache was taken, subtracted from the cached
/// figure so one eviction round is not followed by another on stale numbers.
static FREED_SINCE_REFRESH: AtomicU64 = AtomicU64::new(0);

/// The highest `used_memory` seen (INFO used_memory_peak).
static PEAK: AtomicU64 = AtomicU64::new(0);

/// The process's `used_memory` when the first engine started (used_memory_startup).
static STARTUP: LazyLock<u64> = LazyLock::new(used_memory);

fn refreshed() -> parking_lot::MutexGuard<'static, Cache> {
    let mut cache = CACHE.lock();
    let stale = cache
        .taken
        .is_none_or(|t| t.elapsed() >= Duration::from_millis(REFRESH_MS));
    if stale {
        // Errors leave the previous figures: statistics are best effort.
        if epoch::advance().is_ok() {
            cache.allocated = stats::allocated::read().map_or(cache.allocated, |n| n as u64);
            cache.resident = stats::resident::read().map_or(cache.resident, |n| n as u64);
        }
        cache.taken = Some(Instant::now());
        FREED_SINCE_REFRESH.store(0, Ordering::Relaxed);
    }
    cache
}

/// Bytes allocated by the process (INFO used_memory), at most [`REFRESH_MS`] old.
pub fn used_memory() -> u64 {
    let allocated = refreshed().allocated;
    let used = allocated.saturating_sub(FREED_SINCE_REFRESH.load(Ordering::Relaxed));
    PEAK.fetch_max(used, Ordering::Relaxed);
    used
}

/// The highest `used_memory` reported so far.
pub fn peak_memory() -> u64 {
    PEAK.load(Ordering::Relaxed).max(used_memory())
}

/// `used_memory` when the first engine of the process started.
pub fn startup_memory() -> u64 {
    *STARTUP
}

/// Records bytes just freed (an evicted key), until the next refresh sees them.
pub fn note_freed(bytes: u64) {
    FREED_SINCE_REFRESH.fetch_add(bytes, Ordering::Relaxed);
}

/// Bytes in physically resident pages mapped by the allocator.
pub fn allocator_resident() -> u64 {
    refreshed().resident
}

/// The process's resident set size (INFO used_memory_rss): from /proc where there
/// is one, else the allocator's resident figure.
pub fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| parse_vm_rss(&status))
        .unwrap_or_else(allocator_resident)
}

/// The `VmRSS:   1234 kB` line of /proc/self/status, in bytes.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Forces the next reading to ask the allocator (tests, MEMORY STATS).
pub fn refresh_now() {
    CACHE.lock().taken = None;
}

/// Estimated bytes a key and its value occupy (MEMORY USAGE). Aggregates are
/// estimated from up to `samples` elements (0 = all of them), as Redis does.
pub fn key_usage(key: &[u8], value: &Value, samples: usize) -> usize {
    KEY_OVERHEAD + key.len() + value_usage(value, samples)
}

/// Estimated bytes of a value.
pub fn value_usage(value: &Value, samples: usize) -> usize {
    match value {
        Value::Str(Str::Int(_)) => 8,
        Value::Str(Str::Raw(bytes)) => 16 + bytes.len(),
        Value::List(list) => {
            48 + sampled(
                list.len(),
                samples,
                list.iter().map(|e| e.len() + ELEMENT_OVERHEAD),
            )
        }
        Value::Hash(hash) => 64 + hash_usage(hash, samples),
        Value::Set(set) => 64 + set_usage(set, samples),
        Value::ZSet(zset) => zset.mem_usage(),
    }
}

fn hash_usage(hash: &HashValue, samples: usize) -> usize {
    let pairs = hash.iter().map(|(f, v)| f.len() + v.len() + PAIR_OVERHEAD);
    sampled(hash.len(), samples, pairs)
}

fn set_usage(set: &SetValue, samples: usize) -> usize {
    if set.encoding() == "intset" {
        return set.len() * 8;
    }
    let members = set
        .iter()
        .map(|m| m.with_bytes(<[u8]>::len) + ELEMENT_OVERHEAD);
    sampled(set.len(), samples, members)
}

/// The total of `sizes` over `len` elements, extrapolated from the first `samples`.
fn sampled(len: usize, samples: usize, sizes: impl Iterator<Item = usize>) -> usize {
    if len == 0 {
        return 0;
    }
    let take = if samples == 0 { len } else { samples.min(len) };
    let seen: usize = sizes.take(take).sum();
    seen / take.max(1) * len
}

/// `1048576` as `1.00M`, the way INFO's `*_human` fields print sizes.
pub fn human(bytes: u64) -> String {
    const UNITS: [(&str, f64); 5] = [
        ("P", 1024f64 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("T", 1024f64 * 1024.0 * 1024.0 * 1024.0),
        ("G", 1024f64 * 1024.0 * 1024.0),
        ("M", 1024f64 * 1024.0),
        ("K", 1024f64),
    ];
    let n = bytes as f64;
    for (unit, size) in UNITS {
        if n >= size {
            return format!("{:.2}{unit}", n / size);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::collections::VecDeque;

    #[test]
    fn human_sizes_as_info_prints_them() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(1023), "1023B");
        assert_eq!(human(1024), "1.00K");
        assert_eq!(human(4_740_992), "4.52M");
        assert_eq!(human(25_276_502_016), "23.54G");
    }

    #[test]
    fn rss_line() {
        let status = "Name:\tx\nVmRSS:\t   8624 kB\nThreads:\t1\n";
        assert_eq!(parse_vm_rss(status), Some(8624 * 1024));
        assert_eq!(parse_vm_rss("nothing"), None);
        assert!(rss() > 0);
    }

    #[test]
    fn allocator_figures_move_with_allocations() {
        refresh_now();
        let before = used_memory();
        assert!(before > 0);
        let big = vec![1u8; 64 << 20];
        refresh_now();
        let during = used_memory();
        assert!(during >= before + (32 << 20), "{before} → {during}");
        drop(big);
        assert!(peak_memory() >= during);
    }

    #[test]
    fn estimates_grow_with_content() {
        let small = Value::from_bytes(Bytes::from("v"));
        let large = Value::from_bytes(Bytes::from(vec![b'x'; 1000]));
        assert!(key_usage(b"k", &large, 5) > key_usage(b"k", &small, 5) + 900);
        let list: VecDeque<Bytes> = (0..100)
            .map(|i| Bytes::from(format!("element-{i:04}")))
            .collect();
        let all = value_usage(&Value::List(list.clone()), 0);
        let some = value_usage(&Value::List(list), 5);
        assert_eq!(all, some, "uniform elements extrapolate exactly");
        assert!(all >= 100 * 12);
    }
}
