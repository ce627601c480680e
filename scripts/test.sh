#!/usr/bin/env bash
# README command 2: runs every test suite and exits non-zero if any failed.
#   - lint: cargo fmt --check, clippy (-D warnings) for every build of the crate
#   - Rust: cargo test (core unit tests, wire conformance, integration tests)
#   - Python: tests/python on CPython (the pip-installed extension) and on MicroPython
#     (the unix port with _honch_core), the same files on both, end-to-end tests included
#     (against local honch-collector instances on 127.0.0.1)
#   - stubs: mypy.stubtest of stubs/ against the CPython build
set -uo pipefail
source "$(dirname "$0")/env.sh"
set -e
"$repo/scripts/install-build-deps.sh"
micropython=$("$repo/scripts/micropython-unix.sh" | tail -n1)
install_cpython_build
cargo build --locked --release --quiet --bin honch-collector --manifest-path "$repo/Cargo.toml"
export HONCH_COLLECTOR_BIN=$repo/target/release/honch-collector
"$venv/bin/pip" install -q --disable-pip-version-check mypy >&2
set +e

failed=()
run() {
  local name=$1; shift
  echo "== $name"
  if ! "$@"; then failed+=("$name"); fi
}

cd "$repo"
run "lint" "$repo/scripts/lint.sh" "$build"
run "cargo test" cargo test --locked
# Each runtime gets fresh local collectors (their fault scripts are consumed in order).
run "python suite on CPython" tests/e2e/with-collectors.sh "$venv/bin/python" tests/python/run.py
run "python suite on MicroPython" tests/e2e/with-collectors.sh "$micropython" tests/python/run.py
# The published honch-micropython 0.3.1 wrapper (from PyPI) over our module, on both runtimes.
run "0.3.1 wrapper on CPython" tests/e2e/with-collectors.sh tests/compat/run-wrapper.sh "$venv/bin/python" "$venv/bin/pip"
run "0.3.1 wrapper on MicroPython" tests/e2e/with-collectors.sh tests/compat/run-wrapper.sh "$micropython" "$venv/bin/pip"
run "stubtest" env MYPYPATH="$repo/stubs" "$venv/bin/python" -m mypy.stubtest honch _honch_core \
  --mypy-config-file "$repo/stubs/mypy.ini"

if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all suites passed"
