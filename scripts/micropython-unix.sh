#!/usr/bin/env bash
# Builds MicroPython's unix port with the _honch_core user module and our frozen `honch`
# package, and prints the absolute path of the `micropython` binary as its last line.
#
#   scripts/micropython-unix.sh [--version 1.25.0|1.26.1|1.27.0|1.28.0] [--32bit] [--stock]
#
# Default: 1.25.0 (Debian's source package), x86-64, in build/unix. --32bit builds the
# 32-bit port (MICROPY_FORCE_32BIT=1, FFI off, Rust target i686-unknown-linux-gnu): 32-bit
# objects and 31-bit small ints. --stock builds the same port without our module and
# package (for size comparisons). 1.25.0 links Debian's libmbedtls (i386 for --32bit); the
# release trees build their bundled mbedTLS.
#
# Everything lives under $HONCH_BUILD_DIR (default: build/, git-ignored) and is rebuilt only
# when it changed. Exits 3 when the MicroPython version is not available here.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${HONCH_BUILD_DIR:-$repo/build}
version=1.25.0 bits=64 stock=0
while [ $# -gt 0 ]; do
  case $1 in
    --version) version=$2; shift 2 ;;
    --32bit) bits=32; shift ;;
    --stock) stock=1; shift ;;
    *) echo "usage: micropython-unix.sh [--version V] [--32bit] [--stock]" >&2; exit 2 ;;
  esac
done
log() { echo "micropython-unix: $*" >&2; }

src=$("$repo/scripts/micropython-source.sh" "$version")
name=unix
[ "$version" = 1.25.0 ] || name=$name-$version
[ $bits = 32 ] && name=$name-32
[ $stock = 1 ] && name=$name-stock
out=$build/$name

jobs=$(nproc 2>/dev/null || echo 2)
log "building mpy-cross ($version)"
make -s -C "$src/mpy-cross" -j"$jobs" >&2

args=(BUILD="$out" MICROPY_PY_BTREE=0 MICROPY_PY_SSL=1 MICROPY_SSL_MBEDTLS=1)
if [ $bits = 32 ]; then
  args+=(MICROPY_FORCE_32BIT=1 MICROPY_PY_FFI=0 HONCH_RUST_TARGET=i686-unknown-linux-gnu)
fi
if [ $stock = 1 ]; then
  args+=(FROZEN_MANIFEST=)
else
  # make ports take a folder of module folders: ours is the repository itself.
  mkdir -p "$build/usermods"
  ln -sfn "$repo" "$build/usermods/honch"
  args+=(USER_C_MODULES="$build/usermods" FROZEN_MANIFEST="$repo/manifest.py")
fi
log "building $name (MicroPython $version)"
make -s -C "$src/ports/unix" -j"$jobs" "${args[@]}" >&2
echo "$out/micropython"
