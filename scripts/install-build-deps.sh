#!/usr/bin/env bash
# Installs what the firmware builds and the tests need, when any of it is missing: Debian
# packages (with the i386 architecture for the 32-bit unix port's mbedTLS) and the Rust
# targets of the boards. Everything else comes from crates.io and PyPI through cargo and pip.
#
#   scripts/install-build-deps.sh          # the unix port and CPython (the quick start)
#   scripts/install-build-deps.sh --boards # also cross compilers, QEMU, cmake, i386, targets
set -euo pipefail
pkgs=(dpkg-dev libmbedtls-dev libffi-dev pkg-config libclang-dev clang openssl curl)
targets=()
if [ "${1:-}" = --boards ]; then
  pkgs+=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib
    gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-arm qemu-system-misc
    gcc-multilib cmake libmbedtls-dev:i386)
  targets=(i686-unknown-linux-gnu thumbv6m-none-eabi thumbv7m-none-eabi thumbv8m.main-none-eabi
    riscv32imac-unknown-none-elf)
fi
sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -ne 0 ]; then
  echo "install-build-deps: installing ${missing[*]}" >&2
  if printf '%s\n' "${missing[@]}" | grep -q ':i386$' && ! dpkg --print-foreign-architectures | grep -qx i386; then
    $sudo dpkg --add-architecture i386
  fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ ${#targets[@]} -ne 0 ]; then
  installed=$(rustup target list --installed)
  need=()
  for t in "${targets[@]}"; do grep -qx "$t" <<<"$installed" || need+=("$t"); done
  if [ ${#need[@]} -ne 0 ]; then
    echo "install-build-deps: rustup target add ${need[*]}" >&2
    rustup target add "${need[@]}" >&2
  fi
fi
