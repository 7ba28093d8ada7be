#!/usr/bin/env bash
# Client-protocol load run: starts a release server on a temporary data directory, runs the
# load generator (crates/client/examples/load.rs) against it, prints the numbers.
# Usage: scripts/bench-signal.sh [CLIENTS] [SECONDS] [PER_ROOM]   (defaults: 2000 30 50)
set -euo pipefail
CLIENTS="${1:-2000}"
SECONDS_RUN="${2:-30}"
PER_ROOM="${3:-50}"
PORT="${PORT:-18181}"
TOKEN="bench-master-token-0123456789abcdef"
cd "$(dirname "$0")/.."
source scripts/bench-server.sh
ulimit -n 20000 2>/dev/null || true
start_bench_server load
./target/release/examples/load --server "http://127.0.0.1:$PORT" --api-token "$TOKEN" \
  --clients "$CLIENTS" --seconds "$SECONDS_RUN" --per-room "$PER_ROOM" --server-pid "$SERVER"
