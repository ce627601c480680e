#!/usr/bin/env bash
# cargo fmt --check and clippy -D warnings over every build of the crate: the default (core
# and tools), the CPython binding, and the MicroPython binding (which needs the MicroPython
# build tree of scripts/micropython-unix.sh, passed as $1, for its bindgen step).
set -euo pipefail
source "$(dirname "$0")/env.sh"
mp_build=${1:-$build}
cd "$repo"
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo clippy --locked --lib --no-default-features --features cpython -- -D warnings
port=$mp_build/micropython-1.25.0/ports/unix
if [ -d "$port" ] && [ -f "$mp_build/unix/genhdr/qstrdefs.generated.h" ]; then
  # The same flags the firmware build gives bindgen (micropython.mk), read from make.
  # $(info) prints them verbatim (no shell), as micropython.mk exports them.
  flags=$(make -s -C "$port" BUILD="$mp_build/unix" MICROPY_PY_BTREE=0 MICROPY_PY_SSL=1 \
    MICROPY_SSL_MBEDTLS=1 USER_C_MODULES="$mp_build/usermods" FROZEN_MANIFEST="$repo/manifest.py" \
    --eval='honch-print-cflags: ; $(info HONCH_CFLAGS=$(CFLAGS))@:' honch-print-cflags 2>/dev/null |
    sed -n 's/^HONCH_CFLAGS=//p' | tail -n1)
  HONCH_MPY_CFLAGS="$flags" HONCH_MPY_PORT_DIR="$port" CARGO_TARGET_DIR="$mp_build/lint-target" \
    cargo clippy --locked --lib --profile firmware --no-default-features --features micropython -- -D warnings
else
  echo "lint: no MicroPython build tree at $mp_build; run scripts/micropython-unix.sh first" >&2
  exit 1
fi
