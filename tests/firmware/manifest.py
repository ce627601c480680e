# The firmware test image for the qemu boards (scripts/micropython-qemu.sh): the honch
# package and every Python test module that needs no network, frozen, since those boards
# have no filesystem. Paths are relative to this file.
include("../../manifest.py")
module("runner.py", base_path="../python")
module("check.py", base_path="../python")
module("e2e.py", base_path="../python")
for name in (
    "test_binding_safety",
    "test_construct",
    "test_errors",
    "test_hooks",
    "test_identity",
    "test_records",
    "test_runtime_rules",
    "test_track",
):
    module(name + ".py", base_path="../python")
module("run_frozen.py")
