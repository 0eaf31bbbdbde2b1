#!/usr/bin/env bash
# The SQL cache through `shardcar proxy`, measured with redis-benchmark over three
# redis-server backends (64-byte values, -c 50, random keys among 100,000):
#
# 1. look-aside hits against plain GETs on the same pool (every cached key warmed
#    first, so each GET is a hit), -P 1 and -P 16, alternating rounds: ops/s,
#    p99, the proxy's CPU time per request, and the median of the rounds'
#    ratios (steadier than the ratio of averages on a loaded machine);
# 2. write-back SETs, pipelined (-P 16), with `fsync: everysec` and `fsync: always`
#    into SQLite, and with everysec into PostgreSQL when a URL is given, then
#    INCRs with everysec into SQLite: ops/s,
#    the flush lag (shardcar_cache_flush_lag_seconds, the age of the oldest write
#    not yet in SQL) at its highest during the load, and how long SQL takes to
#    catch up once the load stops, and the proxy's CPU time per write (its
#    workers, journal and SQLite threads, until SQL has caught up), and the
#    writes per flush transaction; and plain
#    SETs (keys no rule matches) through the same proxy, the ceiling write-back
#    cannot pass, with write-back / plain.
#
# Figures, not pass/fail: compare ratios from one run, not absolute numbers
# across runs.
#
# Usage: benches/cache.sh [requests per test, default 200000] [rounds, default 2]
#        SHARDCAR_TEST_PG=postgres://USER@HOST/DB adds the PostgreSQL run;
#        BATCH=N sets the write-back rules' batch_size (default 500);
#        PARTS=look_aside or PARTS=write_back runs one part only (default both);
#        SHARDCAR=PATH measures that binary instead of building this tree's
#        (say, one built before a change).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${1:-200000}
ROUNDS=${2:-2}
PG=${SHARDCAR_TEST_PG:-}
KEYS=100000
# Writes per flush transaction (the rules' batch_size).
BATCH=${BATCH:-500}
VALUE=$(printf 'v%.0s' $(seq 64))

PARTS=${PARTS:-look_aside write_back}
if [ -z "${SHARDCAR:-}" ]; then
  cargo build --release --quiet
  SHARDCAR=target/release/shardcar
fi

. benches/common.sh
redis_servers 3

SQLITE="$WORK/cache.db"
PORT=$(free_port)
ADMIN=127.0.0.1:$(free_port)
PG_PORT=$(free_port)
# A pool over the three servers with a cache on DATABASE, journaled in WORK/NAME.
pool() { # name port database
  cat <<YML
$1:
  listen: 127.0.0.1:$2
  hash: fnv1a_64
  distribution: ketama
  redis: true
  servers:
$SERVERS
  cache:
    database: "$3"
    journal: "$WORK/journal-$1"
    rules:
YML
}
# One rule per measurement; the PostgreSQL pool (same backends, its own prefix)
# only when a URL is given.
{
  pool bench "$PORT" "sqlite://$SQLITE"
  cat <<YML
      - {name: la, match: "la:{id}", table: bench_la, value: v, policy: look_aside, ttl: 3600s, create: true}
      - {name: everysec, match: "wbe:{id}", table: bench_everysec, value: v, policy: write_back, fsync: everysec, batch_size: $BATCH, create: true}
      - {name: always, match: "wba:{id}", table: bench_always, value: v, policy: write_back, fsync: always, batch_size: $BATCH, create: true}
      - {name: incr, match: "wbi:{id}", table: bench_incr, value: v, policy: write_back, fsync: everysec, batch_size: $BATCH, create: true}
YML
  if [ -n "$PG" ]; then
    pool bench_pg "$PG_PORT" "$PG"
    echo "      - {name: pg_everysec, match: \"pgwbe:{id}\", table: bench_pg_everysec, value: v, policy: write_back, fsync: everysec, batch_size: $BATCH, create: true}"
  fi
} > "$WORK/shardcar.yml"
[ -n "$PG" ] && psql -q "$PG" -c "DROP TABLE IF EXISTS bench_pg_everysec" >/dev/null

"$SHARDCAR" proxy -c "$WORK/shardcar.yml" -s "$(free_port)" -v 3 --admin "$ADMIN" -o "$WORK/shardcar.log" &
SHARDCAR_PID=$!
PIDS+=($SHARDCAR_PID)
wait_ready "$PORT"
[ -n "$PG" ] && wait_ready "$PG_PORT"

# The look-aside part's data (skipped when it does not run).
if [[ " $PARTS " == *" look_aside "* ]]; then
# Every key redis-benchmark's __rand_int__ can make (12 digits): a row for the
# look-aside rule, a plain value; then each cached key read once (a miss).
python3 - "$SQLITE" "$KEYS" "$VALUE" <<'PY'
import sqlite3, sys
db, keys, value = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conn = sqlite3.connect(db, timeout=30)
conn.executemany("INSERT OR REPLACE INTO bench_la (id, v) VALUES (?, ?)",
                 ((f"{i:012d}", value) for i in range(keys)))
conn.commit()
PY
for prefix in "SET plain" "GET la"; do
  python3 -c "
import sys
for i in range($KEYS):
    sys.stdout.write('$prefix:%012d' % i + ('' if '$prefix'.startswith('GET') else ' $VALUE') + '\n')
" | redis-cli -p "$PORT" >/dev/null
done
fi

# ops/s and p99 ms of one redis-benchmark run of COMMAND….
bench() { # port depth command…
  local port=$1 depth=$2; shift 2
  redis-benchmark -p "$port" -c 50 -n "$REQUESTS" -P "$depth" -r "$KEYS" --csv "$@" 2>/dev/null |
    awk -F, 'NR>1 {gsub(/"/, ""); print $2, $7}'
}

metric() { # name rule
  curl -s "http://$ADMIN/metrics" | awk -v n="$1" -v r="rule=\"$2\"" '$1 ~ "^"n"[{]" && index($1, r) {print $2}'
}

# The proxy's CPU time so far (user + system), in microseconds.
cpu_us() { awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15) * 1e6 / t}' "/proc/$SHARDCAR_PID/stat"; }

# One redis-benchmark run: ops/s, p99 ms, and the proxy's CPU µs per request.
measured() { # port depth command…
  local before result
  before=$(cpu_us)
  result=$(bench "$@")
  echo "$result $(awk -v a="$before" -v b="$(cpu_us)" -v n="$REQUESTS" 'BEGIN {print (b - a) / n}')"
}

look_aside() {
  echo "== look-aside hit vs plain GET (same pool, -c 50, ${REQUESTS} requests, ${ROUNDS} rounds)"
  echo "   (averages over the rounds; median: of each round's cached/plain ratio)"
  printf '%6s %10s %7s %7s %10s %7s %7s %6s %7s\n' depth plain_GET p99_ms cpu_us cached_GET p99_ms cpu_us ratio median
  for depth in 1 16; do
    : > "$WORK/rounds"
    for _ in $(seq "$ROUNDS"); do
      echo "$(measured "$PORT" "$depth" GET "plain:__rand_int__") $(measured "$PORT" "$depth" GET "la:__rand_int__")" >> "$WORK/rounds"
    done
    median=$(awk '{print $4 / $1}' "$WORK/rounds" | sort -g |
      awk '{r[NR] = $1} END {print (NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2)}')
    awk -v d="$depth" -v m="$median" '{for (i = 1; i <= 6; i++) s[i] += $i; n++}
      END {printf "%6s %10.0f %7.3f %7.2f %10.0f %7.3f %7.2f %5.2fx %6.2fx\n",
        d, s[1]/n, s[2]/n, s[3]/n, s[4]/n, s[5]/n, s[6]/n, s[4]/s[1], m}' "$WORK/rounds"
  done
  misses=$(metric shardcar_cache_misses_total la)
  echo "(look-aside misses during the runs: ${misses:-?} of which the warm-up made $KEYS)"
}

# One write-back load of COMMAND…: ops/s, the highest flush lag seen during
# it, and the seconds SQL took to catch up after it.
write_back() { # port rule command…
  local port=$1 rule=$2; shift 2
  ( max=0; while :; do
      lag=$(metric shardcar_cache_flush_lag_seconds "$rule"); lag=${lag:-0}
      max=$(awk -v a="$max" -v b="$lag" 'BEGIN {print (b > a ? b : a)}')
      echo "$max" > "$WORK/lag-$rule"; sleep 0.25
    done ) &
  local sampler=$!
  local before; before=$(cpu_us)
  local result; result=$(bench "$port" 16 "$@")
  local stopped; stopped=$(date +%s.%N)
  while [ "$(metric shardcar_cache_flushed_writes_total "$rule")" != "$(metric shardcar_cache_journaled_writes_total "$rule")" ]; do
    sleep 0.1
  done
  local drained; drained=$(date +%s.%N)
  local cpu; cpu=$(awk -v a="$before" -v b="$(cpu_us)" -v n="$REQUESTS" 'BEGIN {print (b - a) / n}')
  local per_batch; per_batch=$(awk -v w="$(metric shardcar_cache_flushed_writes_total "$rule")" \
    -v b="$(metric shardcar_cache_flush_batches_total "$rule")" 'BEGIN {print (b > 0 ? w / b : 0)}')
  sleep 1.2; kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  echo "$result $(cat "$WORK/lag-$rule") $(awk -v a="$stopped" -v b="$drained" 'BEGIN {print b - a}') $cpu $per_batch"
}

write_backs() {
  echo
  echo "== write-back SET, -P 16 -c 50, ${REQUESTS} requests, upserts over $KEYS keys"
  local row='%-22s %12.0f %10.3f %10s %10s %7s %8s\n'
  printf '%-22s %12s %10s %10s %10s %7s %8s\n' rule ops_per_sec p99_ms max_lag_s catch_up_s cpu_us per_txn
  read -r s_ops s_p99 s_cpu <<< "$(measured "$PORT" 16 SET "plain:__rand_int__" "$VALUE")"
  printf "$row" "plain SET (no rule)" "$s_ops" "$s_p99" - - "$(printf %.2f "$s_cpu")" -
  read -r e_ops e_p99 e_lag e_drain e_cpu e_txn <<< "$(write_back "$PORT" everysec SET "wbe:__rand_int__" "$VALUE")"
  printf "$row" "SQLite, everysec" "$e_ops" "$e_p99" "$(printf %.2f "$e_lag")" "$(printf %.2f "$e_drain")" "$(printf %.2f "$e_cpu")" "$(printf %.0f "$e_txn")"
  read -r a_ops a_p99 a_lag a_drain a_cpu a_txn <<< "$(write_back "$PORT" always SET "wba:__rand_int__" "$VALUE")"
  printf "$row" "SQLite, always" "$a_ops" "$a_p99" "$(printf %.2f "$a_lag")" "$(printf %.2f "$a_drain")" "$(printf %.2f "$a_cpu")" "$(printf %.0f "$a_txn")"
  if [ -n "$PG" ]; then
    read -r p_ops p_p99 p_lag p_drain p_cpu p_txn <<< "$(write_back "$PG_PORT" pg_everysec SET "pgwbe:__rand_int__" "$VALUE")"
    printf "$row" "PostgreSQL, everysec" "$p_ops" "$p_p99" "$(printf %.2f "$p_lag")" "$(printf %.2f "$p_drain")" "$(printf %.2f "$p_cpu")" "$(printf %.0f "$p_txn")"
    psql -q "$PG" -c "DROP TABLE IF EXISTS bench_pg_everysec" >/dev/null
  fi
  # INCR adds to each key's latest value: over keys not pending, a read first.
  read -r i_ops i_p99 i_lag i_drain i_cpu i_txn <<< "$(write_back "$PORT" incr INCR "wbi:__rand_int__")"
  printf "$row" "SQLite, everysec, INCR" "$i_ops" "$i_p99" "$(printf %.2f "$i_lag")" "$(printf %.2f "$i_drain")" "$(printf %.2f "$i_cpu")" "$(printf %.0f "$i_txn")"
  awk -v a="$a_ops" -v e="$e_ops" -v s="$s_ops" -v p="${p_ops:-0}" -v i="$i_ops" 'BEGIN {
    printf "always / everysec: %.2fx; everysec / plain SET: %.2fx; INCR / SET, everysec: %.2fx", a / e, e / s, i / e
    if (p > 0) printf "; PostgreSQL everysec / plain SET: %.2fx", p / s
    print ""}'
}

for part in $PARTS; do
  case $part in
    look_aside) look_aside ;;
    write_back) write_backs ;;
    *) echo "unknown part '$part' (look_aside, write_back)" >&2; exit 64 ;;
  esac
done
