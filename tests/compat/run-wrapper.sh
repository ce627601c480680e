#!/usr/bin/env bash
# Runs tests/compat with the published honch-micropython 0.3.1 wrapper (downloaded from PyPI
# now, with pip) in place of our `honch` package, on top of our _honch_core.
#   tests/compat/run-wrapper.sh PYTHON_OR_MICROPYTHON [PIP]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runtime=$1
pip=${2:-pip}
cache=${HONCH_BUILD_DIR:-$repo/build}/wrapper-0.3.1
if [ ! -f "$cache/honch/client.py" ]; then
  rm -rf "$cache.tmp" && mkdir -p "$cache.tmp"
  "$pip" download --quiet --no-deps --no-binary :all: honch-micropython==0.3.1 -d "$cache.tmp" >&2
  tar -xzf "$cache.tmp"/honch_micropython-0.3.1.tar.gz -C "$cache.tmp"
  rm -rf "$cache" && mkdir -p "$cache"
  cp -r "$cache.tmp"/honch_micropython-0.3.1/honch "$cache/honch"
  rm -rf "$cache.tmp"
fi
# The wrapper comes first on the path; our own `honch` (installed or frozen) is not on it.
export PYTHONPATH="$cache" MICROPYPATH="$cache:$repo/tests/python"
export HONCH_TEST_DIR="$here"
exec "$runtime" "$repo/tests/python/run.py"
