#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail): builds both runtimes, then prints `name value unit`
# lines for MicroPython (unix port) and CPython. See bench/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$repo/scripts/install-build-deps.sh"
micropython=$("$repo/scripts/micropython-unix.sh" | tail -n1)
install_cpython_build
"$micropython" "$repo/bench/track.py"
"$venv/bin/python" "$repo/bench/track.py"
