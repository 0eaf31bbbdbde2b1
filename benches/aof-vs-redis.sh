#!/usr/bin/env bash
# redis-benchmark SET against Debian's redis-server and `shardcar engine`, both
# with `appendonly yes` and the same appendfsync, their AOF directories side by
# side on the same disk, for appendfsync always, everysec and no; prints ops/s
# and the ratio. Figures, not pass/fail: compare ratios from one run, never
# absolute numbers across runs. Under `always` both fsync before replying; the
# engine shares one fsync among every write that arrived meanwhile (group
# commit), so the more clients, the larger its lead.
#
# Usage: benches/aof-vs-redis.sh [requests per test, default 100000] [clients, default 50]
# The files go under $AOF_BENCH_DIR (default target/aof-bench): keep it on a
# real disk, not tmpfs, or fsync costs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${1:-100000}
CLIENTS=${2:-50}
DIR=${AOF_BENCH_DIR:-target/aof-bench}

cargo build --release --quiet
SHARDCAR=target/release/shardcar

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$DIR"' EXIT

# ops/s of SET from redis-benchmark's CSV output.
bench() {
  redis-benchmark -p "$1" -c "$CLIENTS" -n "$REQUESTS" -r 100000 -t set --csv -q 2>/dev/null |
    awk -F, 'NR>1 {gsub(/"/, "", $2); print $2}'
}

printf '%-10s %14s %14s %8s\n' appendfsync redis-server shardcar ratio
for fsync in always everysec no; do
  rm -rf "$DIR" && mkdir -p "$DIR/redis" "$DIR/shardcar"
  redis_port=$(free_port)
  redis-server --port "$redis_port" --save '' --appendonly yes --appendfsync "$fsync" \
    --dir "$DIR/redis" --daemonize no --logfile /dev/null &
  PIDS+=($!)
  engine_port=$(free_port)
  "$SHARDCAR" engine --port "$engine_port" --admin off --loglevel warning --appendonly yes \
    --appendfsync "$fsync" --dir "$DIR/shardcar" &
  PIDS+=($!)
  wait_ready "$redis_port"
  wait_ready "$engine_port"
  redis=$(bench "$redis_port")
  engine=$(bench "$engine_port")
  awk -v f="$fsync" -v r="$redis" -v e="$engine" 'BEGIN {printf "%-10s %14.0f %14.0f %7.2fx\n", f, r, e, e/r}'
  kill "${PIDS[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  PIDS=()
done
