#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail): builds both runtimes and the local collector, then
# prints `name value unit` lines for MicroPython (unix port) and CPython: the engine
# (bench/track.py) and delivery to a local collector (bench/flush.py).
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$repo/scripts/install-build-deps.sh"
micropython=$("$repo/scripts/micropython-unix.sh" | tail -n1)
install_cpython_build
cargo build --locked --release --quiet --bin honch-collector --manifest-path "$repo/Cargo.toml"

"$micropython" "$repo/bench/track.py"
"$venv/bin/python" "$repo/bench/track.py"

out=$(mktemp -d)
"$repo/target/release/honch-collector" --port 0 --api-key bench-key > "$out/collector.log" 2> "$out/requests.log" &
collector=$!
trap 'kill $collector 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$out/collector.log" 2>/dev/null && break; sleep 0.05; done
export HONCH_ENDPOINT=$(sed -n 's/^honch-collector listening on //p' "$out/collector.log") HONCH_API_KEY=bench-key

requests() { grep -c "^POST" "$out/requests.log" || true; }
for runtime in "$micropython" "$venv/bin/python"; do
  name=$("$runtime" -c "import sys; print(sys.implementation.name)")
  before=$(requests)
  "$runtime" "$repo/bench/flush.py" once
  echo "$name.flush_50_events_requests $(( $(requests) - before )) requests"
  "$runtime" "$repo/bench/flush.py" repeat
done
