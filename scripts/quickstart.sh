#!/usr/bin/env bash
# README command 1: builds everything (MicroPython firmware with _honch_core, the CPython
# extension) and runs the quick-start example on both runtimes.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$repo/scripts/install-build-deps.sh"

echo "== building MicroPython 1.25.0 (unix port) with _honch_core" >&2
micropython=$("$repo/scripts/micropython-unix.sh" | tail -n1)
echo "== building the CPython extension (pip install .)" >&2
install_cpython_build

echo "== MicroPython"
"$micropython" "$repo/examples/quickstart.py"
echo "== CPython"
"$venv/bin/python" "$repo/examples/quickstart.py"
