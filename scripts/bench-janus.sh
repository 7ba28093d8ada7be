#!/usr/bin/env bash
# OpenCalls beside Janus's VideoRoom in one run, same load generator, same room shapes:
#   rooms: 4 rooms x 4 publishers (each receives the other 3);  live: 1 host -> VIEWERS viewers.
# Builds the release server and the two generators (crates/client/examples/media_load.rs
# through OpenCalls, janus_load.rs through Janus's HTTP JSON API), starts OpenCalls on a
# temporary data directory and Janus (`janus -F` on a minimal generated config: HTTP on
# 127.0.0.1 only, VideoRoom only, no STUN/TURN/NAT, ICE on a local veth address made for
# the run, since libnice skips loopback; scripts/janus-config.sh; needs root),
# runs each shape on each server in turn, and prints forwarded packets per server CPU-second
# (server process utime+stime from /proc/PID/stat) and latency sender -> receiver, with the
# ratios OpenCalls / Janus. Installs Debian's `janus` package if it is missing.
# Usage: scripts/bench-janus.sh [SECONDS] [VIDEO_KBPS] [VIEWERS]   (defaults: 20 1500 300)
set -euo pipefail
SECONDS_RUN="${1:-20}"
VIDEO_KBPS="${2:-1500}"
VIEWERS="${3:-300}"
PORT="${PORT:-18182}"
JANUS_PORT="${JANUS_PORT:-18088}"
TOKEN="bench-master-token-0123456789abcdef"
cd "$(dirname "$0")/.."
command -v janus >/dev/null || apt-get install -y janus
ulimit -n "$(ulimit -Hn)"
source scripts/bench-server.sh
source scripts/janus-config.sh
cargo build --release -q -p opencalls-client --example janus_load
start_bench_server media_load OPENCALLS_MEDIA_ADDR="127.0.0.1:0" \
  OPENCALLS_SESSION_OPENS_PER_MIN_PER_IP=1000000
JDIR="$(mktemp -d)"
OUT="$JDIR/results"
JANUS=""
trap 'kill "$SERVER" $JANUS 2>/dev/null || true; janus_iface_down; rm -rf "$DATA" "$JDIR"' EXIT
janus_iface_up
janus_config "$JDIR" "$JANUS_PORT"
(cd "$JDIR" && exec janus -F "$JDIR" >"$JDIR/janus.log" 2>&1) &
JANUS=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$JANUS_PORT/janus/info" >/dev/null && break
  sleep 0.1
done
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

# run_shape NAME GROUPS PER_GROUP VIEWERS: the shape on OpenCalls, then on Janus.
run_shape() {
  local name="$1" groups="$2" per="$3" viewers="$4"
  local common=(--groups "$groups" --per-group "$per" --viewers "$viewers"
    --seconds "$SECONDS_RUN" --video-kbps "$VIDEO_KBPS")
  echo "== $name on OpenCalls (load $(cut -d' ' -f1 /proc/loadavg))"
  ./target/release/examples/media_load --server "http://127.0.0.1:$PORT" --api-token "$TOKEN" \
    --server-pid "$SERVER" "${common[@]}" | tee -a "$OUT.$name"
  echo "== $name on Janus (load $(cut -d' ' -f1 /proc/loadavg))"
  ./target/release/examples/janus_load --janus "http://127.0.0.1:$JANUS_PORT/janus" \
    --ip "$JANUS_IP" --server-pid "$JANUS" "${common[@]}" | tee -a "$OUT.$name"
}

# ratio NAME KEY: OpenCalls's value of KEY over Janus's in shape NAME.
ratio() {
  awk -v key="$2" '/^RESULT/ {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      val[v["server"]] = v[key] }
    END { if (val["janus"] + 0 == 0) print "n/a"; else printf "%.2f", val["opencalls"] / val["janus"] }' "$OUT.$1"
}

run_shape rooms 4 4 0
run_shape live 0 2 "$VIEWERS"
echo "== OpenCalls / Janus (packets per CPU-second: higher is better; latency: lower is better)"
for name in rooms live; do
  echo "$name: packets/CPU-s x$(ratio "$name" packets_per_cpu)," \
    "audio latency p50 x$(ratio "$name" audio_p50_ms) p99 x$(ratio "$name" audio_p99_ms)," \
    "video latency p50 x$(ratio "$name" video_p50_ms) p99 x$(ratio "$name" video_p99_ms)"
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
