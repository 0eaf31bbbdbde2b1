# Sourced by the side-by-side scripts: free ports, waiting for a server to
# answer, a scratch directory ($WORK) and the processes to stop on exit ($PIDS).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 200); do redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.05; done; echo "nothing answers on $1" >&2; exit 1; }

WORK=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Starts N redis-servers without persistence; $SERVERS holds their pool lines.
redis_servers() {
  SERVERS=""
  local i port
  for i in $(seq 0 $(($1 - 1))); do
    port=$(free_port)
    redis-server --port "$port" --save '' --appendonly no --logfile /dev/null &
    PIDS+=($!)
    wait_ready "$port"
    SERVERS="$SERVERS    - 127.0.0.1:$port:1 server$i"$'\n'
  done
}
