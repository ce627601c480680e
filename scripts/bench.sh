#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail): builds both runtimes and the local collector, then
# prints `name value unit` lines: the flash and RAM the module adds to every firmware we build
# (scripts/sizes.sh), and for MicroPython (unix port) and CPython the engine (bench/track.py)
# and delivery to a local collector (bench/flush.py).
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$repo/scripts/install-build-deps.sh"
micropython=$("$repo/scripts/micropython-unix.sh" | tail -n1)
install_cpython_build
cargo build --locked --release --quiet --bin honch-collector --manifest-path "$repo/Cargo.toml"

# Flash and static RAM the module adds to each firmware we build (linked images with and
# without it; the boards need ../shared's MicroPython 1.28.0 tree, else they say so).
"$repo/scripts/install-build-deps.sh" --boards
"$repo/scripts/sizes.sh" || echo "sizes: some targets were not measured (see above)"

"$micropython" "$repo/bench/track.py"
"$venv/bin/python" "$repo/bench/track.py"

out=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$out"' EXIT
"$repo/tests/tls/make-certs.sh" "$out/certs"
export HONCH_API_KEY=bench-key

# One plain and one HTTPS collector; each runtime flushes to both.
for scheme in http https; do
  tls=()
  [ $scheme = https ] && tls=(--tls-cert "$out/certs/leaf.pem" --tls-key "$out/certs/leaf.key")
  "$repo/target/release/honch-collector" --port 0 --api-key bench-key "${tls[@]}" \
    > "$out/$scheme.log" 2> "$out/$scheme.requests" &
  pids+=($!)
  for _ in $(seq 100); do grep -q "listening on" "$out/$scheme.log" 2>/dev/null && break; sleep 0.05; done
done

requests() { grep -c "^POST" "$out/$1.requests" || true; }
for runtime in "$micropython" "$venv/bin/python"; do
  name=$("$runtime" -c "import sys; print(sys.implementation.name)")
  for scheme in http https; do
    port=$(sed -n 's/^honch-collector listening on https*:\/\/127.0.0.1://p' "$out/$scheme.log")
    if [ $scheme = https ]; then
      export HONCH_ENDPOINT=https://localhost:$port HONCH_CA=$out/certs/ca.pem
    else
      export HONCH_ENDPOINT=http://127.0.0.1:$port; unset HONCH_CA
    fi
    before=$(requests $scheme)
    "$runtime" "$repo/bench/flush.py" once
    echo "$name.${scheme}_flush_50_events_requests $(( $(requests $scheme) - before )) requests"
    "$runtime" "$repo/bench/flush.py" repeat
  done
done
