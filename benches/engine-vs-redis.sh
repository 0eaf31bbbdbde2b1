#!/usr/bin/env bash
# Runs the same redis-benchmark tests against Debian's redis-server and against
# `shardcar engine`, alternating, on free ports, and prints ops/s and the ratio per
# test at pipeline depths 1 and 16; then loads the same 500k keys into both and
# compares their RSS. Figures, not pass/fail: run it on a quiet machine and compare
# ratios from one run, never absolute numbers across runs.
#
# Usage: benches/engine-vs-redis.sh [requests per test, default 200000]
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${1:-200000}
TESTS=set,get,incr,lpush,rpop,sadd,hset,zadd,lrange_100,mset
CLIENTS=50

cargo build --release --quiet
SHARDCAR=target/release/shardcar

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --save '' --appendonly no --daemonize no --logfile /dev/null &
REDIS_PID=$!
ENGINE_PORT=$(free_port)
"$SHARDCAR" engine --port "$ENGINE_PORT" --save '' --loglevel warning --admin 127.0.0.1:0 &
ENGINE_PID=$!
trap 'kill $REDIS_PID $ENGINE_PID 2>/dev/null || true' EXIT
wait_ready "$REDIS_PORT"
wait_ready "$ENGINE_PORT"

# ops/s per test from redis-benchmark's CSV output.
bench() {
  redis-benchmark -p "$1" -c "$CLIENTS" -n "$REQUESTS" -P "$2" -r 100000 -t "$TESTS" --csv -q 2>/dev/null |
    awk -F, 'NR>1 {for (i = 1; i <= NF; i++) gsub(/"/, "", $i); gsub(/ /, "_", $1); print $1, $2}'
}

printf '%-22s %6s %14s %14s %8s\n' test depth redis-server shardcar ratio
for depth in 1 16; do
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  redis-cli -p "$ENGINE_PORT" flushall >/dev/null
  bench "$REDIS_PORT" "$depth" > /tmp/bench-redis.$$
  bench "$ENGINE_PORT" "$depth" > /tmp/bench-engine.$$
  join <(sort /tmp/bench-redis.$$) <(sort /tmp/bench-engine.$$) |
    awk -v d="$depth" '{printf "%-22s %6s %14.0f %14.0f %7.2fx\n", $1, d, $2, $3, $3/$2}'
done
rm -f /tmp/bench-redis.$$ /tmp/bench-engine.$$

# Memory: the same 500k keys (16-byte keys, 3-byte values, as redis-benchmark's
# default SET) in both, then compare resident memory.
for port in "$REDIS_PORT" "$ENGINE_PORT"; do
  redis-cli -p "$port" flushall >/dev/null
  redis-benchmark -p "$port" -c 50 -n 2000000 -r 500000 -P 64 -t set -q >/dev/null 2>&1
done
keys_redis=$(redis-cli -p "$REDIS_PORT" dbsize)
keys_engine=$(redis-cli -p "$ENGINE_PORT" dbsize)
rss_redis=$(rss_kb $REDIS_PID)
rss_engine=$(rss_kb $ENGINE_PID)
printf '\n%-14s %10s %12s\n' server keys rss_kib
printf '%-14s %10s %12s\n' redis-server "$keys_redis" "$rss_redis" shardcar "$keys_engine" "$rss_engine"
awk -v a="$rss_engine" -v b="$rss_redis" 'BEGIN {printf "RSS ratio (shardcar / redis-server): %.2fx\n", a/b}'
