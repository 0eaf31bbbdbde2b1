#!/usr/bin/env bash
# Runs the same redis-benchmark (SET and GET, 64-byte values, -c 50, random keys,
# -P 1 and -P 16) through Debian's nutcracker and through `shardcar proxy`, with the
# same pool config over the same three redis-server backends, alternating, and
# prints ops/s, p99 latency and the ratio per test, the CPU time each proxy
# spent per request (from /proc: less sensitive to a busy machine than ops/s),
# and the CPU time the three redis-servers spent per request behind each proxy
# (fewer, larger backend batches cost them less). SHARDCAR_ARGS adds arguments
# to `shardcar proxy` (e.g. `--threads 1`).
# Figures, not pass/fail: compare ratios from one run, never absolute numbers
# across runs.
#
# Usage: benches/proxy-vs-nutcracker.sh [requests per test, default 200000] [rounds, default 2]
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${1:-200000}
ROUNDS=${2:-2}
NUTCRACKER=$(command -v nutcracker || echo /usr/sbin/nutcracker)

cargo build --release --quiet
SHARDCAR=target/release/shardcar

. benches/common.sh
redis_servers 3
REDIS_PIDS=("${PIDS[@]}")

write_config() { # listen-port
  cat > "$WORK/pool-$1.yml" <<YML
bench:
  listen: 127.0.0.1:$1
  hash: fnv1a_64
  distribution: ketama
  redis: true
  server_connections: 1
  servers:
$SERVERS
YML
}

NC_PORT=$(free_port); write_config "$NC_PORT"
"$NUTCRACKER" -c "$WORK/pool-$NC_PORT.yml" -s "$(free_port)" -o "$WORK/nutcracker.log" &
NC_PID=$!; PIDS+=($NC_PID)
SC_PORT=$(free_port); write_config "$SC_PORT"
# shellcheck disable=SC2086 # SHARDCAR_ARGS is split into arguments on purpose
"$SHARDCAR" proxy -c "$WORK/pool-$SC_PORT.yml" -s "$(free_port)" -v 3 ${SHARDCAR_ARGS:-} &
SC_PID=$!; PIDS+=($SC_PID)
# CPU time (user + system, in clock ticks) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
backend_ticks() { local t=0 p; for p in "${REDIS_PIDS[@]}"; do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
wait_ready "$NC_PORT"
wait_ready "$SC_PORT"

# "test ops_per_sec p99_ms" per line, from redis-benchmark's CSV.
bench() {
  redis-benchmark -p "$1" -c 50 -n "$REQUESTS" -P "$2" -r 1000000 -d 64 -t set,get --csv 2>/dev/null |
    awk -F, 'NR>1 {for (i = 1; i <= NF; i++) gsub(/"/, "", $i); gsub(/ /, "_", $1); print $1, $2, $7}'
}

printf '%-5s %6s %14s %10s %14s %10s %8s\n' test depth nutcracker p99_ms shardcar p99_ms ratio
for depth in 1 16; do
  : > "$WORK/nc"; : > "$WORK/sc"
  nc_ticks=0; sc_ticks=0; nc_backend=0; sc_backend=0
  for _ in $(seq "$ROUNDS"); do
    before=$(cpu_ticks "$NC_PID"); backend=$(backend_ticks); bench "$NC_PORT" "$depth" >> "$WORK/nc"
    nc_ticks=$((nc_ticks + $(cpu_ticks "$NC_PID") - before))
    nc_backend=$((nc_backend + $(backend_ticks) - backend))
    before=$(cpu_ticks "$SC_PID"); backend=$(backend_ticks); bench "$SC_PORT" "$depth" >> "$WORK/sc"
    sc_ticks=$((sc_ticks + $(cpu_ticks "$SC_PID") - before))
    sc_backend=$((sc_backend + $(backend_ticks) - backend))
  done
  # Average the rounds per test.
  avg() { awk '{n[$1]++; ops[$1]+=$2; p99[$1]+=$3} END {for (t in n) print t, ops[t]/n[t], p99[t]/n[t]}' "$1" | sort; }
  join <(avg "$WORK/nc") <(avg "$WORK/sc") |
    awk -v d="$depth" '{printf "%-5s %6s %14.0f %10.3f %14.0f %10.3f %7.2fx\n", $1, d, $2, $3, $4, $5, $4/$2}'
  per_request() { # label nutcracker-ticks shardcar-ticks
    awk -v l="$1" -v d="$depth" -v nc="$2" -v sc="$3" -v us="$TICK_US" -v n=$((2 * REQUESTS * ROUNDS)) \
      'BEGIN {printf "%-5s %6s %11.2f us/req %21.2f us/req %7.2fx\n", l, d, nc * us / n, sc * us / n, (sc > 0 ? nc / sc : 0)}'
  }
  per_request cpu "$nc_ticks" "$sc_ticks"
  per_request redis "$nc_backend" "$sc_backend"
done
