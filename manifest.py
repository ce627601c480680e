# Frozen into MicroPython firmware by scripts/micropython-unix.sh (FROZEN_MANIFEST).
# Board builds: include("$(PORT_DIR)/boards/manifest.py") first, then this file.
package("honch", base_path="$(MPY_DIR)/../honch-src")
