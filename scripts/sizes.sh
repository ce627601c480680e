#!/usr/bin/env bash
# Prints the flash and static RAM that _honch_core and the frozen `honch` package add to each
# firmware we build, measured from the linked images with and without them (never from the
# library): flash = text + initialised data, static RAM = data + bss.
#
#   scripts/sizes.sh [TARGET...]   # x86-64 unix-32 MPS2_AN385 MICROBIT VIRT_RV32
#                                  # RPI_PICO_W RPI_PICO2_W (default: all)
#
# Builds what is missing (incrementally, under build/). The qemu and rp2 images are built
# from ../shared's 1.28.0 tree; without it those targets are reported as not measured and
# the script exits 3 after the others.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86-64 unix-32 MPS2_AN385 MICROBIT VIRT_RV32 RPI_PICO_W RPI_PICO2_W)
missing=0 failed=0

# text data bss of an ELF (Berkeley format, as the firmware builds print it).
sizes_of() { size "$1" | awk 'NR == 2 { print $1, $2, $3 }'; }

# with/without ELF paths for a target, built on demand: "WITH STOCK".
images() {
  local s="$repo/scripts" w t
  case $1 in
    x86-64) w=$("$s/micropython-unix.sh" | tail -n1) && t=$("$s/micropython-unix.sh" --stock | tail -n1) ;;
    unix-32) w=$("$s/micropython-unix.sh" --32bit | tail -n1) &&
      t=$("$s/micropython-unix.sh" --32bit --stock | tail -n1) ;;
    MPS2_AN385 | MICROBIT | VIRT_RV32) w=$("$s/firmware-qemu.sh" "$1" --size | tail -n1) &&
      t=$("$s/firmware-qemu.sh" "$1" --stock | tail -n1) ;;
    RPI_PICO_W | RPI_PICO2_W) w=$("$s/firmware-rp2.sh" "$1" | tail -n1) &&
      t=$("$s/firmware-rp2.sh" "$1" --stock | tail -n1) ;;
    *) echo "sizes: unknown target $1" >&2; return 1 ;;
  esac || return $?
  echo "$w $t"
}

printf '%-11s %12s %12s %12s %12s\n' target "flash added" "RAM added" "flash with" "flash without" >&2
for target in "${targets[@]}"; do
  pair=$(images "$target" 2>"${TMPDIR:-/tmp}/honch-sizes-$target.log")
  status=$?
  if [ $status -ne 0 ] || [ -z "$pair" ]; then
    if [ $status -eq 3 ]; then
      echo "size.$target not measured: the MicroPython 1.28.0 tree is not available here"
      missing=1
    else
      echo "size.$target FAILED to build (log: ${TMPDIR:-/tmp}/honch-sizes-$target.log)"
      tail -n 20 "${TMPDIR:-/tmp}/honch-sizes-$target.log" >&2
      failed=1
    fi
    continue
  fi
  read -r with stock <<<"$pair"
  read -r wt wd wb < <(sizes_of "$with")
  read -r st sd sb < <(sizes_of "$stock")
  flash=$(( (wt + wd) - (st + sd) ))
  ram=$(( (wd + wb) - (sd + sb) ))
  echo "size.$target.flash_added $flash bytes"
  echo "size.$target.static_ram_added $ram bytes"
  printf '%-11s %12d %12d %12d %12d\n' "$target" "$flash" "$ram" $(( wt + wd )) $(( st + sd )) >&2
done
[ $failed -eq 0 ] || exit 1
[ $missing -eq 0 ] || exit 3
