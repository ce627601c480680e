# Freezes the `honch` Python package into firmware. Paths are relative to this file.
#   unix (scripts/micropython-unix.sh): FROZEN_MANIFEST=<this file>
#   boards: in the board's manifest, include("$(BOARD_DIR)/manifest.py") stays, plus
#           include("<path to honch>/manifest.py")
package("honch", base_path=".")
