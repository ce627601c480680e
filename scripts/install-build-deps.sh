#!/usr/bin/env bash
# Installs the Debian packages the firmware build and the tests need, when any is missing.
# Everything else comes from crates.io and PyPI through cargo and pip.
set -euo pipefail
pkgs=(dpkg-dev libmbedtls-dev libffi-dev pkg-config libclang-dev clang openssl curl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
echo "install-build-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
