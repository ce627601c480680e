#!/usr/bin/env bash
# Builds the MicroPython unix port (1.25.0, from Debian's source package) with the
# _honch_core user module and our frozen `honch` package, and prints the absolute path of
# the resulting `micropython` binary as its last line.
#
# Everything it fetches or builds lives under $HONCH_BUILD_DIR (default: build/ in the repo,
# git-ignored). Re-running rebuilds only what changed: the source is fetched once, and make
# (and cargo, called from micropython.mk) work incrementally.
#
# Needs (Debian): dpkg-dev, libmbedtls-dev, libffi-dev, pkg-config, libclang-dev, python3.
# `scripts/install-build-deps.sh` installs them.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${HONCH_BUILD_DIR:-$repo/build}
mp_version=1.25.0
deb_version=1.25.0+ds-1
src=$build/micropython-$mp_version
log() { echo "micropython-unix: $*" >&2; }

# The mirror this machine already uses for Debian packages; we never name a host ourselves.
debian_mirror() {
  local uri
  # deb822 sources (*.sources): the first URIs: line of a stanza whose Suites are not -security.
  uri=$(awk '
    /^[[:space:]]*$/ { if (u != "" && s !~ /security/) { print u; exit } u=""; s=""; next }
    /^URIs:/ { u=$2 } /^Suites:/ { s=$0 }
    END { if (u != "" && s !~ /security/) print u }' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  if [ -z "$uri" ]; then
    # one-line sources: deb [opts] URI suite components
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1=="deb" { for (i=2;i<=NF;i++) if ($i !~ /^\[/ && $i !~ /\]$/) { if ($(i+1) !~ /security/) { print $i; exit } else break } }' | head -n1)
  fi
  [ -n "$uri" ] || { log "no Debian mirror found in /etc/apt sources"; exit 1; }
  echo "${uri%/}"
}

fetch_source() {
  local apt=$build/apt
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$build/src"
  local mirror; mirror=$(debian_mirror)
  log "fetching micropython $deb_version source from $mirror (trixie)"
  printf 'deb-src %s trixie main\n' "$mirror" > "$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
              -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1")
  apt-get "${opts[@]}" -qq update >&2
  (cd "$build/src" && apt-get "${opts[@]}" -qq source --download-only "micropython=$deb_version" >&2)
  rm -rf "$src.tmp"
  dpkg-source --no-check -x "$build/src/micropython_$deb_version.dsc" "$src.tmp" >&2
  mv "$src.tmp" "$src"
}

[ -f "$src/py/mpconfig.h" ] || fetch_source

jobs=$(nproc 2>/dev/null || echo 2)
log "building mpy-cross"
make -s -C "$src/mpy-cross" -j"$jobs" >&2

# make ports take a folder of module folders: ours is the repository itself.
mkdir -p "$build/usermods"
ln -sfn "$repo" "$build/usermods/honch"

log "building the unix port with _honch_core"
make -s -C "$src/ports/unix" -j"$jobs" \
  BUILD="$build/unix" \
  MICROPY_PY_BTREE=0 MICROPY_PY_SSL=1 MICROPY_SSL_MBEDTLS=1 \
  USER_C_MODULES="$build/usermods" \
  FROZEN_MANIFEST="$repo/manifest.py" >&2

echo "$build/unix/micropython"
