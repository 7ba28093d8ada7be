#!/usr/bin/env bash
# Webhook benchmark (docs/BENCHMARKS.md, "Webhooks"): API creates/s with webhooks off vs on,
# and events/s delivered to a local receiver. Arguments: [CREATES] [CLIENTS] [ROUNDS].
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet -p opencalls-server --example webhook_bench -- "$@"
