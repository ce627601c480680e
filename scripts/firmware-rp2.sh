#!/usr/bin/env bash
# Builds MicroPython 1.28.0's rp2 port (the CMake path, micropython.cmake) for a Pico board
# with _honch_core and the frozen `honch` package, and prints the firmware ELF's path as its
# last line. Nothing runs it: QEMU has no model of the Pico W's Wi-Fi chip.
#
#   scripts/firmware-rp2.sh RPI_PICO_W            # RP2040, thumbv6m-none-eabi
#   scripts/firmware-rp2.sh RPI_PICO2_W           # RP2350, thumbv8m.main-none-eabi
#   scripts/firmware-rp2.sh BOARD --stock         # the same image without our module
#
# Uses the rp2 bundle of ../shared/micropython (pico-sdk, tinyusb, cyw43-driver, lwip,
# btstack at the commits 1.28.0 pins, and picotool, built here first so the SDK does not try
# to download it). Needs cmake, gcc-arm-none-eabi, libnewlib-arm-none-eabi,
# libstdc++-arm-none-eabi-newlib (scripts/install-build-deps.sh). Exits 3 when the tree is
# not available here.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${HONCH_BUILD_DIR:-$repo/build}
board=${1:?usage: firmware-rp2.sh BOARD [--stock]}
stock=${2:-}
log() { echo "firmware-rp2: $*" >&2; }

src=$("$repo/scripts/micropython-source.sh" 1.28.0 --rp2)
jobs=$(nproc 2>/dev/null || echo 2)
picotool=$build/picotool
if [ ! -f "$picotool/picotool/picotoolConfig.cmake" ]; then
  log "building picotool"
  cmake -S "$build/picotool-2.2.0" -B "$build/picotool-build" -DPICO_SDK_PATH="$src/lib/pico-sdk" \
    -DPICOTOOL_NO_LIBUSB=1 -DPICOTOOL_FLAT_INSTALL=1 -DCMAKE_INSTALL_PREFIX="$picotool" >&2
  cmake --build "$build/picotool-build" -j"$jobs" >&2
  cmake --install "$build/picotool-build" >&2
fi
make -s -C "$src/mpy-cross" -j"$jobs" >&2

manifest=$build/rp2-manifest.py
# The board's own manifest, plus our package.
printf 'include("$(PORT_DIR)/boards/manifest.py")\ninclude("%s/manifest.py")\n' "$repo" > "$manifest"
args=(BOARD="$board")
if [ "$stock" = --stock ]; then
  out=$build/rp2-$board-stock
else
  out=$build/rp2-$board
  args+=(USER_C_MODULES="$repo/micropython.cmake" FROZEN_MANIFEST="$manifest")
fi
log "building $board ($(basename "$out"))"
CMAKE_ARGS="-Dpicotool_DIR=$picotool/picotool" \
  make -s -C "$src/ports/rp2" -j"$jobs" BUILD="$out" "${args[@]}" >&2
if [ "$stock" != --stock ]; then
  # Our library serves only our code: the firmware keeps its own memcpy, division helpers...
  python3 "$repo/tests/firmware/check_link_map.py" "$out/firmware.elf.map" >&2
fi
echo "$out/firmware.elf"
