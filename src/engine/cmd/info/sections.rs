//! The INFO sections about the server, its clients, memory, persistence,
//! replication, CPU and keys.

use std::sync::atomic::Ordering;

use super::super::Ctx;
use super::{host, Lines};
use crate::engine::cmd::REDIS_VERSION;
use crate::engine::memory;
use crate::engine::server::now_ms;

/// Keys sampled per database to estimate `avg_ttl`.
const TTL_SAMPLES: usize = 32;

pub(super) fn server(cx: &mut Ctx<'_>, out: &mut Lines) {
    let uptime = cx.shared.started.elapsed().as_secs();
    let hz = cx.shared.config.read().hz;
    out.field("redis_version", REDIS_VERSION);
    out.field("redis_git_sha1", "00000000");
    out.field("redis_git_dirty", 0);
    out.field("redis_build_id", "0");
    out.field("redis_mode", "standalone");
    out.field("os", host::os());
    out.field("arch_bits", usize::BITS);
    out.field("monotonic_clock", "POSIX clock_gettime");
    out.field("multiplexing_api", "epoll");
    out.field("atomicvar_api", "c11-builtin");
    out.field("gcc_version", "0.0.0");
    out.field("process_id", std::process::id());
    out.field("process_supervised", "no");
    out.field("run_id", &cx.shared.run_id);
    out.field("tcp_port", cx.shared.port.load(Ordering::Relaxed));
    out.field("server_time_usec", now_ms() * 1000);
    out.field("uptime_in_seconds", uptime);
    out.field("uptime_in_days", uptime / 86_400);
    out.field("hz", hz);
    out.field("configured_hz", hz);
    out.field("lru_clock", (now_ms() / 1000) & ((1 << 24) - 1));
    out.field("executable", host::executable());
    out.field("config_file", "");
    out.field("io_threads_active", 0);
    out.field("shardcar_version", env!("CARGO_PKG_VERSION"));
}

pub(super) fn clients(cx: &mut Ctx<'_>, out: &mut Lines) {
    out.field("connected_clients", cx.shared.clients.len());
    out.field("cluster_connections", 0);
    out.field("maxclients", cx.shared.config.read().maxclients);
    out.field("client_recent_max_input_buffer", 0);
    out.field("client_recent_max_output_buffer", 0);
    out.field("blocked_clients", cx.ks.blocked.len());
    out.field("tracking_clients", 0);
    out.field("clients_in_timeout_table", 0);
}

pub(super) fn memory(cx: &mut Ctx<'_>, out: &mut Lines) {
    let used = memory::used_memory();
    let peak = memory::peak_memory();
    let startup = memory::startup_memory().min(used);
    let rss = memory::rss();
    let resident = memory::allocator_resident();
    let total = host::total_memory();
    let (max, policy) = {
        let cfg = cx.shared.config.read();
        (cfg.maxmemory, cfg.maxmemory_policy.clone())
    };
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    out.size("used_memory", used);
    out.size("used_memory_rss", rss);
    out.size("used_memory_peak", peak);
    out.field(
        "used_memory_peak_perc",
        format!("{:.2}%", ratio(used, peak) * 100.0),
    );
    out.field("used_memory_overhead", startup);
    out.field("used_memory_startup", startup);
    out.field("used_memory_dataset", used - startup);
    out.field(
        "used_memory_dataset_perc",
        format!("{:.2}%", ratio(used - startup, used) * 100.0),
    );
    out.field("allocator_allocated", used);
    out.field("allocator_resident", resident);
    out.size("total_system_memory", total);
    out.size("maxmemory", max);
    out.field("maxmemory_policy", policy);
    out.field(
        "allocator_rss_ratio",
        format!("{:.2}", ratio(resident, used)),
    );
    out.field(
        "mem_fragmentation_ratio",
        format!("{:.2}", ratio(rss, used)),
    );
    out.field("mem_fragmentation_bytes", rss as i64 - used as i64);
    out.field("mem_not_counted_for_evict", 0);
    out.field("mem_replication_backlog", 0);
    out.field("mem_clients_slaves", 0);
    out.field("mem_clients_normal", 0);
    out.field("mem_aof_buffer", 0);
    out.field("mem_allocator", "jemalloc-5.3.0");
    out.field("active_defrag_running", 0);
    out.field("lazyfree_pending_objects", 0);
    out.field("lazyfreed_objects", 0);
}

pub(super) fn persistence(cx: &mut Ctx<'_>, out: &mut Lines) {
    out.field("loading", 0);
    out.field("async_loading", 0);
    rdb_fields(cx, out);
    for (name, value) in cx.shared.aof.info() {
        out.field(name, value);
    }
    out.field("module_fork_in_progress", 0);
}

/// The `rdb_*` fields of INFO persistence.
fn rdb_fields(cx: &mut Ctx<'_>, out: &mut Lines) {
    let p = &cx.shared.persist;
    let running = p.bgsave_in_progress.load(Ordering::Relaxed);
    let now = (crate::engine::server::now_ms() / 1000) as u64;
    let current = match running {
        true => now.saturating_sub(p.bgsave_started.load(Ordering::Relaxed)) as i64,
        false => -1,
    };
    let ok = p.last_bgsave_ok.load(Ordering::Relaxed);
    let loaded = *p.loaded.lock();
    out.field("rdb_changes_since_last_save", cx.ks.dirty);
    out.field("rdb_bgsave_in_progress", u8::from(running));
    out.field(
        "rdb_last_save_time",
        cx.shared.lastsave.load(Ordering::Relaxed),
    );
    out.field("rdb_last_bgsave_status", if ok { "ok" } else { "err" });
    out.field(
        "rdb_last_bgsave_time_sec",
        p.last_bgsave_secs.load(Ordering::Relaxed),
    );
    out.field("rdb_current_bgsave_time_sec", current);
    out.field("rdb_saves", p.saves.load(Ordering::Relaxed));
    out.field("rdb_last_cow_size", 0);
    out.field("rdb_last_load_keys_expired", loaded.expired);
    out.field("rdb_last_load_keys_loaded", loaded.keys);
}

pub(super) fn replication(cx: &mut Ctx<'_>, out: &mut Lines) {
    out.field("role", "master");
    out.field("connected_slaves", 0);
    out.field("master_failover_state", "no-failover");
    out.field("master_replid", &cx.shared.run_id);
    out.field("master_replid2", "0".repeat(40));
    out.field("master_repl_offset", 0);
    out.field("second_repl_offset", -1);
    out.field("repl_backlog_active", 0);
    out.field("repl_backlog_size", 1_048_576);
    out.field("repl_backlog_first_byte_offset", 0);
    out.field("repl_backlog_histlen", 0);
}

pub(super) fn cpu(_cx: &mut Ctx<'_>, out: &mut Lines) {
    let [sys, user, sys_children, user_children] = host::cpu_seconds();
    out.field("used_cpu_sys", format!("{sys:.6}"));
    out.field("used_cpu_user", format!("{user:.6}"));
    out.field("used_cpu_sys_children", format!("{sys_children:.6}"));
    out.field("used_cpu_user_children", format!("{user_children:.6}"));
}

/// `db0:keys=…,expires=…,avg_ttl=…` for every non-empty database.
pub(super) fn keyspace(cx: &mut Ctx<'_>, out: &mut Lines) {
    let now = cx.now;
    for (index, db) in cx.ks.dbs.iter_mut().enumerate() {
        if db.is_empty() {
            continue;
        }
        // Redis estimates avg_ttl from its expiry sampling; we sample here.
        let mut ttls = Vec::with_capacity(TTL_SAMPLES);
        if db.volatile_len() > 0 {
            for _ in 0..TTL_SAMPLES {
                let Some(key) = db.random_key(now) else { break };
                if let Some(at) = db.peek(&key).and_then(|e| e.expire_at()) {
                    ttls.push((at - now).max(0));
                }
            }
        }
        let avg_ttl = if ttls.is_empty() {
            0
        } else {
            ttls.iter().sum::<i64>() / ttls.len() as i64
        };
        out.field(
            &format!("db{index}"),
            format_args!(
                "keys={},expires={},avg_ttl={avg_ttl}",
                db.len(),
                db.volatile_len()
            ),
        );
    }
}
