# Shared by the scripts: where things are built, and a venv for the CPython build.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HONCH_BUILD_DIR:-$repo/build}
venv=$build/venv

# Creates the venv (once) and installs the CPython extension from this checkout into it.
install_cpython_build() {
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "$repo" >&2
}
