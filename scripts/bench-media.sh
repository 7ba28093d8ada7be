#!/usr/bin/env bash
# Media load run through the whole server: starts a release server on a temporary data
# directory (HTTP and media on 127.0.0.1), runs the media load generator
# (crates/client/examples/media_load.rs) against it, prints the numbers, stops the server.
# It reports forwarded frames/packets per server CPU-second, frame loss, server CPU per
# receiving peer and latency sender → receiver (p50/p99, from the send stamp in every
# synthetic payload).
# Usage: scripts/bench-media.sh [GROUPS] [PER_GROUP] [VIEWERS] [SECONDS] [VIDEO_KBPS] [SIMULCAST]
#        (defaults: 2 3 20 15 1500 false; a live event of 1,000 viewers: 0 2 1000 20 1500;
#        SIMULCAST=true: publishers send three simulcast layers, as the browser SDK does)
# Each device is its own user (so per-user caps never apply); the open-file limit is raised
# for the sockets of ~1,000 peers (a UDP socket and a WebSocket each, on both sides) and the
# per-IP session-open rate is lifted (every device comes from 127.0.0.1).
set -euo pipefail
GROUPS_N="${1:-2}"
PER_GROUP="${2:-3}"
VIEWERS="${3:-20}"
SECONDS_RUN="${4:-15}"
VIDEO_KBPS="${5:-1500}"
SIMULCAST="${6:-false}"
case "$SIMULCAST" in
  true) LAYERS=(--simulcast) ;;
  false) LAYERS=() ;;
  *) echo "SIMULCAST must be true or false, got '$SIMULCAST'" >&2; exit 2 ;;
esac
PORT="${PORT:-18182}"
TOKEN="bench-master-token-0123456789abcdef"
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
source scripts/bench-server.sh
start_bench_server media_load OPENCALLS_MEDIA_ADDR="127.0.0.1:0" \
  OPENCALLS_SESSION_OPENS_PER_MIN_PER_IP=1000000
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
./target/release/examples/media_load --server "http://127.0.0.1:$PORT" --api-token "$TOKEN" \
  --server-pid "$SERVER" --groups "$GROUPS_N" --per-group "$PER_GROUP" --viewers "$VIEWERS" \
  --seconds "$SECONDS_RUN" --video-kbps "$VIDEO_KBPS" "${LAYERS[@]}"
