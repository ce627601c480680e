#!/usr/bin/env bash
# README command 1: builds everything (MicroPython firmware with _honch_core, the CPython
# extension, the local collector), starts honch-collector on a free local port, runs the
# quick-start example on MicroPython and on CPython against it, and shows what it received.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$repo/scripts/install-build-deps.sh"

echo "== building MicroPython 1.25.0 (unix port) with _honch_core" >&2
micropython=$("$repo/scripts/micropython-unix.sh" | tail -n1)
echo "== building the CPython extension (pip install .)" >&2
install_cpython_build
echo "== building the local collector" >&2
cargo build --locked --release --quiet --bin honch-collector --manifest-path "$repo/Cargo.toml"

out=$(mktemp -d)
"$repo/target/release/honch-collector" --port 0 --api-key demo-key --out "$out/events.jsonl" \
  > "$out/collector.log" 2> "$out/requests.log" &
collector=$!
trap 'kill $collector 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$out/collector.log" 2>/dev/null && break; sleep 0.05; done
endpoint=$(sed -n 's/^honch-collector listening on //p' "$out/collector.log")
echo "== collector on $endpoint"
export HONCH_ENDPOINT=$endpoint HONCH_API_KEY=demo-key

echo "== MicroPython"
"$micropython" "$repo/examples/quickstart.py"
echo "== CPython"
"$venv/bin/python" "$repo/examples/quickstart.py"

echo "== requests the collector answered"
cat "$out/requests.log"
echo "== events the collector received (one JSON line each)"
cat "$out/events.jsonl"
