#!/usr/bin/env bash
# What one forwarded audio copy costs the SFU, in CPU instructions: runs the sans-IO test
# `every_viewer_of_an_audio_host_gets_each_frame_once` (an audio-only live host, 24
# viewers, virtual clock; crates/sfu/src/engine/tests/live_audio.rs) under valgrind's
# callgrind and reports, per copy, the instructions spent in `SfuCore::build_copy` (write
# the frame into the subscriber's `Rtc`, give it a timeout, drain it until the frame's
# packet is out, SRTP: what delays the next subscriber's copy) and in
# `SfuCore::finish_drains` (the rest of those drains, once the fan-out is sent).
# Instruction counts do not depend on what else the machine runs, so a change of a few
# per cent shows, where the wall-clock load generators (loadgen, bench-media.sh) vary by
# more than that from run to run on a shared machine. The socket send is not included
# (the test has no sockets): see BENCHMARKS.md for its share.
# Usage: scripts/bench-copy-cost.sh [BASE_REV]
#        With BASE_REV (a commit), that revision is measured too, in a temporary git
#        worktree given this tree's workload file (the same workload for both; it needs the
#        test network's API of that revision to match), and the ratio of the two printed.
# Needs valgrind (Debian's package `valgrind`) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
TEST="engine::tests::live_audio::every_viewer_of_an_audio_host_gets_each_frame_once"
WORKLOAD=crates/sfu/src/engine/tests/live_audio.rs
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }

# Builds the sfu crate's release unit-test binary of the tree at $1; prints its path.
build_tests() {
  cargo test --release --locked --manifest-path "$1/Cargo.toml" -p opencalls-sfu --lib \
    --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "opencalls_sfu":
        print(m["executable"])'
}

# Runs the test under callgrind; prints "<build per copy> <after the fan-out per copy> <copies>".
per_copy() {
  local out
  out="$(mktemp)"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$1" "$TEST" --exact \
    --test-threads 1 >/dev/null 2>&1
  python3 - "$out" <<'PY'
import re, sys
WATCHED = {'build': 'SfuCore>::build_copy', 'after': 'SfuCore::finish_drains'}
names, callee, counting = {}, None, None
calls = {k: 0 for k in WATCHED}
cost = {k: 0 for k in WATCHED}
for line in open(sys.argv[1]):
    m = re.match(r'^(c?fn)=\((\d+)\)(?: (.*))?$', line.rstrip('\n'))
    if m:
        kind, key, name = m.groups()
        if name:
            names[key] = name
        if kind == 'cfn':
            callee = names.get(key)
        continue
    m = re.match(r'^calls=(\d+)', line)
    if m and callee:
        counting = next((k for k, f in WATCHED.items() if callee.endswith(f)), None)
        if counting:
            calls[counting] += int(m.group(1))
        continue
    if counting:
        cost[counting] += int(line.split()[1])
        counting = None
if calls['build'] == 0:
    sys.exit("no call of SfuCore::build_copy found (renamed or inlined?)")
print(cost['build'] // calls['build'], cost['after'] // calls['build'], calls['build'])
PY
  rm -f "$out"
}

# Prints one line of results for "<label>" "<build> <after> <copies>".
report() {
  read -r build after copies <<<"$2"
  echo "$1: per audio copy $build instructions until its packet is out," \
    "$after more after the fan-out, $((build + after)) in all ($copies copies)"
}

NEW_BIN="$(build_tests "$PWD")" || true
[ -n "$NEW_BIN" ] || { echo "this tree's sfu tests do not build (cargo test -p opencalls-sfu --lib)" >&2; exit 1; }
NEW="$(per_copy "$NEW_BIN")"
report "this tree ($(git rev-parse --short HEAD)$(git diff --quiet || echo ', modified'))" "$NEW"
if [ -n "${1:-}" ]; then
  BASE_DIR="$(mktemp -d)"
  trap 'git worktree remove --force "$BASE_DIR" >/dev/null 2>&1 || true' EXIT
  git worktree add --detach "$BASE_DIR" "$1" >/dev/null 2>&1
  cp "$WORKLOAD" "$BASE_DIR/$WORKLOAD"
  grep -q '^mod live_audio;' "$BASE_DIR/crates/sfu/src/engine/tests/mod.rs" ||
    echo 'mod live_audio;' >>"$BASE_DIR/crates/sfu/src/engine/tests/mod.rs"
  BASE_BIN="$(CARGO_TARGET_DIR="$PWD/target/bench-copy-base" build_tests "$BASE_DIR")" || true
  [ -n "$BASE_BIN" ] || { echo "$1 does not build with this tree's $WORKLOAD" >&2; exit 1; }
  BASE="$(per_copy "$BASE_BIN")"
  report "base $1" "$BASE"
  python3 - "$NEW" "$BASE" <<'PY'
import sys
new, base = ([int(x) for x in arg.split()] for arg in sys.argv[1:])
print(f"this tree / base: {new[0] / base[0]:.3f} until the packet is out, "
      f"{(new[0] + new[1]) / (base[0] + base[1]):.3f} in all")
PY
fi
