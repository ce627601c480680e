#!/usr/bin/env bash
# Builds MicroPython 1.28.0's qemu port for one board with _honch_core and the firmware test
# image (tests/firmware/manifest.py: the honch package and the no-network test modules,
# frozen), runs the tests on it under QEMU through the board's serial console, and prints
# "<board>: N passed, M failed" as its last line.
#
#   scripts/firmware-qemu.sh BOARD            # MPS2_AN385 (Cortex-M3), MICROBIT (Cortex-M0),
#                                             # VIRT_RV32 (RV32IMAC)
#   scripts/firmware-qemu.sh BOARD --size     # module and package only, no tests (sizes);
#                                             # prints the ELF's path
#   scripts/firmware-qemu.sh BOARD --stock    # neither (sizes); prints the ELF's path
#
# The qemu port has no real-time clock: a test-only user module (tests/firmware/qemu_hal)
# supplies mp_hal_time_ns; a real port has its own. Needs gcc-arm-none-eabi,
# libnewlib-arm-none-eabi, gcc-riscv64-unknown-elf, picolibc-riscv64-unknown-elf,
# qemu-system-arm, qemu-system-misc and the board's Rust target (scripts/install-build-deps.sh
# and rustup). Exits 3 when the 1.28.0 tree is not available here.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${HONCH_BUILD_DIR:-$repo/build}
board=${1:?usage: firmware-qemu.sh BOARD [--size|--stock]}
mode=${2:-}
log() { echo "firmware-qemu: $*" >&2; }
extra=()

case $board in
  MPS2_AN385) target=thumbv7m-none-eabi qemu=(qemu-system-arm -machine mps2-an385) ;;
  MICROBIT) target=thumbv6m-none-eabi
    qemu=(qemu-system-arm -machine microbit -global nrf51-soc.flash-size=1048576
      -global nrf51-soc.sram-size=262144) ;;
  # Debian's GCC 12 has an rv32imac multilib but none for rv32imac_zicsr (the port's choice
  # for GCC > 10), so it would link 64-bit libraries; with ISA spec 2.2, rv32imac includes
  # the CSR instructions. RV32_ARCH reaches the compiler, the assembler and the linker.
  VIRT_RV32) target=riscv32imac-unknown-none-elf extra=("RV32_ARCH=rv32imac -misa-spec=2.2")
    qemu=(qemu-system-riscv32 -bios none -machine virt) ;;
  *) log "unknown board $board"; exit 2 ;;
esac
qemu+=(-nographic -monitor null -semihosting)

src=$("$repo/scripts/micropython-source.sh" 1.28.0)
jobs=$(nproc 2>/dev/null || echo 2)
make -s -C "$src/mpy-cross" -j"$jobs" >&2

# A folder of module folders, as make ports take them: the test-only clock always, our
# module unless --stock.
mods=$build/usermods-qemu${mode:+-${mode#--}}
mkdir -p "$mods"
ln -sfn "$repo/tests/firmware/qemu_hal" "$mods/qemu_hal"
args=(BOARD="$board" "${extra[@]}" USER_C_MODULES="$mods")
case $mode in
  --stock) out=$build/qemu-$board-stock; args+=(FROZEN_MANIFEST=) ;;
  --size) out=$build/qemu-$board-size; ln -sfn "$repo" "$mods/honch"
    args+=(FROZEN_MANIFEST="$repo/manifest.py" HONCH_RUST_TARGET="$target") ;;
  "") out=$build/qemu-$board; ln -sfn "$repo" "$mods/honch"
    args+=(FROZEN_MANIFEST="$repo/tests/firmware/manifest.py" HONCH_RUST_TARGET="$target") ;;
  *) log "unknown option $mode"; exit 2 ;;
esac
log "building $board ($(basename "$out"))"
make -s -C "$src/ports/qemu" -j"$jobs" BUILD="$out" "${args[@]}" >&2
if [ "$mode" != --stock ]; then
  # Our library serves only our code: the firmware keeps its own memcpy, division helpers...
  python3 "$repo/tests/firmware/check_link_map.py" "$out/firmware.map" >&2
fi
if [ -n "$mode" ]; then
  echo "$out/firmware.elf"
  exit 0
fi

log "running the tests on $board under QEMU"
status=0
python3 "$repo/tests/firmware/run-qemu.py" --timeout 900 "${qemu[@]}" -kernel "$out/firmware.elf" \
  -- "import run_frozen" | tee "$out/test.log" >&2 || status=$?
line=$(grep -E '^micropython: [0-9]+ passed, [0-9]+ failed' "$out/test.log" | tail -n1 || true)
if [ -z "$line" ]; then
  echo "$board: 0 passed, 1 failed"
  log "no result from the board (run-qemu exit $status)"
  exit 1
fi
echo "$board: ${line#micropython: }"
exit $status
