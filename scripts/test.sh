#!/usr/bin/env bash
# README command 2: runs every test job and exits non-zero if any failed.
#   - lint: cargo fmt --check, clippy (-D warnings) for every build of the crate
#   - Rust: cargo test (core unit tests, wire conformance, integration tests)
#   - Python: tests/python on CPython (the pip-installed extension) and on MicroPython
#     (the unix port with _honch_core), the same files on both, end-to-end tests included
#     (against local honch-collector instances on 127.0.0.1); the published 0.3.1 wrapper
#     over our module on both; stubtest; the randomized API fuzz harness (fixed seed, both
#     runtimes, a small MicroPython heap)
#   - boards: the whole suite on the 32-bit unix port; the suite on MicroPython 1.26.1,
#     1.27.0 and 1.28.0; the no-network tests on Cortex-M0, Cortex-M3 and RV32 firmware under
#     QEMU; the Pico W and Pico 2 W images built; the flash and RAM each firmware gains.
#
# The extra versions, the qemu boards and the Pico images need the MicroPython release trees
# of ../shared/micropython (HONCH_MICROPYTHON_RELEASES). Without them those jobs say
# "NOT TESTED" and the rest decides the result; under CI (CI=true) a job that cannot run
# fails. HONCH_TEST_JOBS=core runs only the jobs that need no release tree.
set -uo pipefail
source "$(dirname "$0")/env.sh"
set -e
boards=1
[ "${HONCH_TEST_JOBS:-all}" = core ] && boards=0
if [ $boards = 1 ]; then
  "$repo/scripts/install-build-deps.sh" --boards
else
  "$repo/scripts/install-build-deps.sh"
fi
micropython=$("$repo/scripts/micropython-unix.sh" | tail -n1)
install_cpython_build
cargo build --locked --release --quiet --bin honch-collector --manifest-path "$repo/Cargo.toml"
export HONCH_COLLECTOR_BIN=$repo/target/release/honch-collector
"$venv/bin/pip" install -q --disable-pip-version-check mypy >&2
set +e

failed=() passed=() untested=()
run() {
  local name=$1; shift
  echo "== $name"
  local start=$SECONDS status=0
  "$@" || status=$?
  echo "== $name: exit $status after $(( SECONDS - start )) s"
  if [ $status -eq 3 ]; then
    untested+=("$name")
  elif [ $status -ne 0 ]; then
    failed+=("$name")
  else
    passed+=("$name")
  fi
}
suite() { tests/e2e/with-collectors.sh "$1" tests/python/run.py; }
# The suite on a unix build made by scripts/micropython-unix.sh with the given options.
unix_suite() {
  local bin
  bin=$("$repo/scripts/micropython-unix.sh" "$@" | tail -n1) || return $?
  suite "$bin"
}

cd "$repo"
run "lint" "$repo/scripts/lint.sh" "$build"
run "cargo test" cargo test --locked
# Each runtime gets fresh local collectors (their fault scripts are consumed in order).
run "python suite on CPython" suite "$venv/bin/python"
run "python suite on MicroPython 1.25.0 (x86-64)" suite "$micropython"
# The published honch-micropython 0.3.1 wrapper (from PyPI) over our module, on both runtimes.
run "0.3.1 wrapper on CPython" tests/e2e/with-collectors.sh tests/compat/run-wrapper.sh "$venv/bin/python" "$venv/bin/pip"
run "0.3.1 wrapper on MicroPython" tests/e2e/with-collectors.sh tests/compat/run-wrapper.sh "$micropython" "$venv/bin/pip"
run "stubtest" env MYPYPATH="$repo/stubs" "$venv/bin/python" -m mypy.stubtest honch _honch_core \
  --mypy-config-file "$repo/stubs/mypy.ini"
# The randomized API harness, fixed seed, a few seconds per runtime (tests/fuzz/README.md says
# how to run it longer).
run "API fuzz on CPython" tests/fuzz/run.sh "$venv/bin/python" --seed 1
run "API fuzz on MicroPython" tests/fuzz/run.sh "$micropython" --seed 1
run "API fuzz on MicroPython with a 48 KB heap" tests/fuzz/run.sh "$micropython" --seed 1 --heap=48k

if [ $boards = 1 ]; then
  run "python suite on MicroPython 1.25.0 (32-bit unix)" unix_suite --32bit
  run "API fuzz on MicroPython (32-bit unix)" tests/fuzz/run.sh "$build/unix-32/micropython" --seed 1
  for version in 1.26.1 1.27.0 1.28.0; do
    run "python suite on MicroPython $version (x86-64)" unix_suite --version "$version"
  done
  for board in MPS2_AN385 MICROBIT VIRT_RV32; do
    run "firmware tests on $board under QEMU" "$repo/scripts/firmware-qemu.sh" "$board"
  done
  run "firmware sizes (x86-64, 32-bit unix, qemu boards, Pico W, Pico 2 W)" "$repo/scripts/sizes.sh"
fi

for job in "${untested[@]}"; do
  echo "NOT TESTED: $job (the MicroPython release trees of ../shared/micropython are not here)"
done
if [ ${#untested[@]} -ne 0 ] && [ "${CI:-}" = true ]; then
  failed+=("${untested[@]}")
fi
if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED: ${failed[*]}"
fi
echo "test jobs: ${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
