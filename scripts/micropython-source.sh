#!/usr/bin/env bash
# Prints the path of a MicroPython source tree under build/, unpacking or fetching it once:
#
#   scripts/micropython-source.sh VERSION [--rp2]
#
# - 1.25.0: Debian's `micropython` source package (trixie, 1.25.0+ds-1), fetched with
#   apt-get source through a private apt configuration that reuses this machine's Debian
#   mirror (no submodules; Debian patches it to use the system mbedTLS).
# - 1.26.1, 1.27.0, 1.28.0: the release trees in ../shared/micropython/ (or
#   $HONCH_MICROPYTHON_RELEASES), checked against their SHA256SUMS; --rp2 adds the rp2
#   port's submodules and picotool (1.28.0 only).
#
# Exits 3, saying so, when a release tree is not available (a clone without ../shared).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${HONCH_BUILD_DIR:-$repo/build}
releases=${HONCH_MICROPYTHON_RELEASES:-$repo/../shared/micropython}
version=${1:?usage: micropython-source.sh VERSION [--rp2]}
rp2=${2:-}
src=$build/micropython-$version
log() { echo "micropython-source: $*" >&2; }
mkdir -p "$build"

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

fetch_debian_source() {
  local deb_version=1.25.0+ds-1 apt=$build/apt
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

# Unpacks one of the release tarballs after checking its checksum; `marker` says it is done.
unpack_release() {
  local file=$1 marker=$2
  [ -e "$marker" ] && return 0
  if [ ! -f "$releases/$file" ]; then
    log "NOT AVAILABLE: $releases/$file is missing (the release trees come with ../shared/;" \
      "set HONCH_MICROPYTHON_RELEASES to a folder that has them)"
    exit 3
  fi
  (cd "$releases" && grep " $file\$" SHA256SUMS | sha256sum -c --quiet -) >&2 ||
    { log "checksum mismatch for $file"; exit 1; }
  log "unpacking $file"
  tar -xJf "$releases/$file" -C "$build"
  touch "$marker"
}

case $version in
  1.25.0) [ -f "$src/py/mpconfig.h" ] || fetch_debian_source ;;
  *) unpack_release "micropython-$version.tar.xz" "$src/.honch-unpacked" ;;
esac

if [ "$rp2" = --rp2 ]; then
  [ "$version" = 1.28.0 ] || { log "--rp2: only 1.28.0 has the rp2 bundle"; exit 1; }
  unpack_release "micropython-$version-rp2.tar.xz" "$src/.honch-rp2-unpacked"
fi
echo "$src"
