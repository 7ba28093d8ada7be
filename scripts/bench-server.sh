# Sourced by scripts/bench-signal.sh and scripts/bench-media.sh (not run on its own).
# start_bench_server EXAMPLE [VAR=VALUE ...]: builds the release server and the client
# example EXAMPLE, starts `opencalls serve` on a temporary data directory at
# 127.0.0.1:$PORT with master token $TOKEN (plus the given environment) and waits until it
# answers /healthz. Sets SERVER to its pid; on exit the server is stopped and its data removed.
start_bench_server() {
  local example="$1"
  shift
  cargo build --release -q -p opencalls --bin opencalls
  cargo build --release -q -p opencalls-client --example "$example"
  DATA="$(mktemp -d)"
  trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT
  env "$@" OPENCALLS_API_TOKEN="$TOKEN" OPENCALLS_DATA_DIR="$DATA" \
    OPENCALLS_HTTP_ADDR="127.0.0.1:$PORT" OPENCALLS_LOG=warn ./target/release/opencalls serve &
  SERVER=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
    sleep 0.1
  done
}
