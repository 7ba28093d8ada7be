#!/usr/bin/env bash
# Client-protocol load run: starts a release server on a temporary data directory, runs the
# load generator (crates/client/examples/load.rs) against it, prints the numbers.
# Usage: scripts/bench-signal.sh [CLIENTS] [SECONDS] [PER_ROOM]   (defaults: 2000 30 50)
set -euo pipefail
CLIENTS="${1:-2000}"
SECONDS_RUN="${2:-30}"
PER_ROOM="${3:-50}"
PORT="${PORT:-18181}"
TOKEN="bench-token"
cd "$(dirname "$0")/.."
cargo build --release -q -p opencalls --bin opencalls
cargo build --release -q -p opencalls-client --example load
DATA="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT
ulimit -n 20000 2>/dev/null || true
OPENCALLS_API_TOKEN="$TOKEN" OPENCALLS_DATA_DIR="$DATA" OPENCALLS_HTTP_ADDR="127.0.0.1:$PORT" \
  OPENCALLS_LOG=warn ./target/release/opencalls serve &
SERVER=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.1
done
./target/release/examples/load --server "http://127.0.0.1:$PORT" --api-token "$TOKEN" \
  --clients "$CLIENTS" --seconds "$SECONDS_RUN" --per-room "$PER_ROOM" --server-pid "$SERVER"
