#!/usr/bin/env bash
# Snapshots side by side: Debian's redis-server and `shardcar engine`, same run,
# same data, free ports, temporary directories.
#
# 1. Load time: redis-server fills KEYS keys (DEBUG POPULATE) and saves; both
#    servers then start from that same dump.rdb and log their load time.
# 2. BGSAVE under writes: while redis-benchmark SETs random existing keys, each
#    server runs one BGSAVE; memory is sampled every 20 ms as the PSS of the
#    server plus its fork child if any (PSS counts pages shared after fork once),
#    peak during the save vs before it; and the benchmark's p99 with and without
#    the save.
# Figures, not pass/fail: compare ratios from one run on a quiet machine.
#
# Usage: benches/persistence.sh [keys, default 1000000]
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${1:-1000000}
cargo build --release --quiet
SHARDCAR=$PWD/target/release/shardcar
WORK=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 600); do [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }
# PSS in KiB of a process and its children (a fork child during BGSAVE).
pss_kb() {
  local total=0 pid
  for pid in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
start_redis() { # dir port
  redis-server --port "$2" --dir "$1" --save '' --appendonly no --enable-debug-command yes --logfile "$1/log" &
  PIDS+=($!); echo $! > "$1/pid"; wait_ready "$2"
}
start_engine() { # dir port
  RUST_LOG=info NO_COLOR=1 "$SHARDCAR" engine --port "$2" --dir "$1" --save '' --admin 127.0.0.1:0 > "$1/log" 2>&1 &
  PIDS+=($!); echo $! > "$1/pid"; wait_ready "$2"
}

# The data: KEYS strings, made and saved by redis-server.
mkdir -p "$WORK/seed" "$WORK/redis" "$WORK/engine"
SEED_PORT=$(free_port)
start_redis "$WORK/seed" "$SEED_PORT"
redis-cli -p "$SEED_PORT" debug populate "$KEYS" key 32 > /dev/null
redis-cli -p "$SEED_PORT" save > /dev/null
redis-cli -p "$SEED_PORT" shutdown nosave > /dev/null 2>&1 || true
cp "$WORK/seed/dump.rdb" "$WORK/redis/"; cp "$WORK/seed/dump.rdb" "$WORK/engine/"
echo "dump.rdb: $KEYS keys, $(du -h "$WORK/seed/dump.rdb" | cut -f1)"

REDIS_PORT=$(free_port); ENGINE_PORT=$(free_port)
start_redis "$WORK/redis" "$REDIS_PORT"
start_engine "$WORK/engine" "$ENGINE_PORT"
redis_load=$(grep -o 'DB loaded from disk: [0-9.]* seconds' "$WORK/redis/log" | grep -o '[0-9.]*' | head -1)
engine_load=$(grep -o 'DB loaded from disk: [0-9.]* seconds' "$WORK/engine/log" | grep -o '[0-9.]*' | head -1)
printf '\n%-34s %14s %14s %8s\n' measure redis-server shardcar ratio
row() { printf '%-34s %14s %14s %8s\n' "$1" "$2" "$3" "$(python3 -c "print(f'{$3/$2:.2f}' if $2 else '-')")"; }
row "load time (s)" "$redis_load" "$engine_load"

p99() { # port: p99 ms of SETs on random existing keys
  redis-benchmark -p "$1" -c 50 -n 300000 -r "$KEYS" -d 32 -t set --csv 2>/dev/null |
    awk -F, 'NR>1 {gsub(/"/, "", $7); print $7}'
}
under_bgsave() { # port pid → "before peak p99"
  local port=$1 pid=$2 before peak p99file
  before=$(pss_kb "$pid"); peak=$before
  p99file=$(mktemp)
  (p99 "$port" > "$p99file") & local bench=$!
  sleep 0.5
  redis-cli -p "$port" bgsave > /dev/null
  sleep 0.1
  while [ "$(redis-cli -p "$port" info persistence | tr -d '\r' | awk -F: '/rdb_bgsave_in_progress/ {print $2}')" = 1 ]; do
    local now; now=$(pss_kb "$pid"); [ "$now" -gt "$peak" ] && peak=$now; sleep 0.02
  done
  wait "$bench"
  echo "$before $peak $(cat "$p99file")"; rm -f "$p99file"
}
read -r r_base_p99 <<< "$(p99 "$REDIS_PORT")"
read -r e_base_p99 <<< "$(p99 "$ENGINE_PORT")"
read -r r_before r_peak r_p99 <<< "$(under_bgsave "$REDIS_PORT" "$(cat "$WORK/redis/pid")")"
read -r e_before e_peak e_p99 <<< "$(under_bgsave "$ENGINE_PORT" "$(cat "$WORK/engine/pid")")"
row "memory before BGSAVE (MiB, PSS)" "$((r_before / 1024))" "$((e_before / 1024))"
row "peak during BGSAVE (MiB, PSS)" "$((r_peak / 1024))" "$((e_peak / 1024))"
row "peak / before" "$(python3 -c "print(f'{$r_peak/$r_before:.2f}')")" "$(python3 -c "print(f'{$e_peak/$e_before:.2f}')")"
row "SET p99 without BGSAVE (ms)" "$r_base_p99" "$e_base_p99"
row "SET p99 during BGSAVE (ms)" "$r_p99" "$e_p99"
