# The firmware test image for the qemu boards (scripts/firmware-qemu.sh): the honch package
# and every Python test module that needs no network, frozen, since those boards have no
# filesystem. Paths are relative to this file (makemanifest runs it from this folder). The
# test modules are the ones run_frozen.py lists: one list, read from there.
import re

include("../../manifest.py")
module("runner.py", base_path="../python")
module("check.py", base_path="../python")
module("e2e.py", base_path="../python")
with open("run_frozen.py") as f:
    for name in re.findall(r'"(test_\w+)"', f.read()):
        module(name + ".py", base_path="../python")
module("run_frozen.py")
