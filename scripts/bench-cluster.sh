#!/usr/bin/env bash
# Cluster signaling run (issue 11): the client-protocol load generator
# (crates/client/examples/load.rs: devices entering and exiting rooms over real WebSockets)
# against ONE node, then against NODES nodes (devices spread round-robin, so most of a room's
# events cross nodes), all on one fresh PostgreSQL database, one after the other in one run.
# Prints enters/s and enter latency p50/p99 for both, and for the cluster the cross-node event
# delay p50/p99 (bucket bounds of the nodes' opencalls_cluster_event_delay_seconds).
# Usage: scripts/bench-cluster.sh [NODES] [CLIENTS] [SECONDS] [PER_ROOM] [CYCLE_MS]
#        (defaults: 3 2000 20 5 0). CYCLE_MS > 0 paces each device to one enter/exit cycle per
#        CYCLE_MS (an offered rate of CLIENTS / CYCLE_MS, below capacity: the delays of a
#        cluster that is not saturated); 0 runs a closed loop (capacity, saturated).
# Needs PostgreSQL at $PG (default postgres://postgres@127.0.0.1:5432, trust auth); creates and
# drops the database opencalls_bench_cluster_<pid>. Everything listens on 127.0.0.1.
set -euo pipefail
NODES="${1:-3}"
CLIENTS="${2:-2000}"
SECONDS_RUN="${3:-20}"
PER_ROOM="${4:-5}"
CYCLE_MS="${5:-0}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
BASE_PORT="${BASE_PORT:-18300}"
TOKEN="bench-master-token-0123456789abcdef"
DB="opencalls_bench_cluster_$$"
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
cargo build --release -q -p opencalls --bin opencalls
cargo build --release -q -p opencalls-client --example load
psql -q "$PG/postgres" -c "CREATE DATABASE $DB"
PIDS=()
stop_nodes() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap 'stop_nodes; psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT

# start_nodes N: N nodes on ports BASE_PORT.., each answering /healthz before this returns.
start_nodes() {
  for i in $(seq 0 $(($1 - 1))); do
    OPENCALLS_DATABASE_URL="$PG/$DB" OPENCALLS_NODE_ID="bench-$i" \
      OPENCALLS_API_TOKEN="$TOKEN" OPENCALLS_DATA_DIR="$(mktemp -d)" \
      OPENCALLS_HTTP_ADDR="127.0.0.1:$((BASE_PORT + i))" OPENCALLS_MEDIA_ADDR="127.0.0.1:0" \
      OPENCALLS_SESSION_OPENS_PER_MIN_PER_IP=1000000 OPENCALLS_LOG=warn \
      ./target/release/opencalls serve &
    PIDS+=($!)
  done
  for i in $(seq 0 $(($1 - 1))); do
    for _ in $(seq 1 200); do
      curl -sf "http://127.0.0.1:$((BASE_PORT + i))/healthz" >/dev/null && break
      sleep 0.1
    done
  done
}

# run_load N: the generator against the first N nodes.
run_load() {
  local extra=()
  for i in $(seq 1 $(($1 - 1))); do extra+=(--also-server "http://127.0.0.1:$((BASE_PORT + i))"); done
  echo "== $1 node(s), $CLIENTS clients, rooms of $PER_ROOM, cycle ${CYCLE_MS} ms (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  ./target/release/examples/load --server "http://127.0.0.1:$BASE_PORT" --api-token "$TOKEN" \
    --clients "$CLIENTS" --seconds "$SECONDS_RUN" --per-room "$PER_ROOM" \
    --cycle-ms "$CYCLE_MS" "${extra[@]}"
}

start_nodes 1
run_load 1
stop_nodes
start_nodes "$NODES"
run_load "$NODES"
