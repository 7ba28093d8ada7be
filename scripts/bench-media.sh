#!/usr/bin/env bash
# Media load run through the whole server: starts a release server on a temporary data
# directory (HTTP and media on 127.0.0.1), runs the media load generator
# (crates/client/examples/media_load.rs) against it, prints the numbers, stops the server.
# Usage: scripts/bench-media.sh [GROUPS] [PER_GROUP] [VIEWERS] [SECONDS] [VIDEO_KBPS]
#        (defaults: 2 3 20 15 1500)
set -euo pipefail
GROUPS_N="${1:-2}"
PER_GROUP="${2:-3}"
VIEWERS="${3:-20}"
SECONDS_RUN="${4:-15}"
VIDEO_KBPS="${5:-1500}"
PORT="${PORT:-18182}"
TOKEN="bench-token"
cd "$(dirname "$0")/.."
cargo build --release -q -p opencalls --bin opencalls
cargo build --release -q -p opencalls-client --example media_load
DATA="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT
OPENCALLS_API_TOKEN="$TOKEN" OPENCALLS_DATA_DIR="$DATA" OPENCALLS_HTTP_ADDR="127.0.0.1:$PORT" \
  OPENCALLS_MEDIA_ADDR="127.0.0.1:0" OPENCALLS_LOG=warn ./target/release/opencalls serve &
SERVER=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.1
done
./target/release/examples/media_load --server "http://127.0.0.1:$PORT" --api-token "$TOKEN" \
  --server-pid "$SERVER" --groups "$GROUPS_N" --per-group "$PER_GROUP" --viewers "$VIEWERS" \
  --seconds "$SECONDS_RUN" --video-kbps "$VIDEO_KBPS"
