"""Runs the test modules frozen into a firmware image (tests/firmware/manifest.py): the
firmware test driver (tests/firmware/run-qemu.py) imports this over the raw REPL."""

from runner import run_modules

MODULES = (
    "test_binding_safety",
    "test_construct",
    "test_errors",
    "test_hooks",
    "test_identity",
    "test_records",
    "test_runtime_rules",
    "test_track",
)

# No sockets here: the tests a module lists in NEEDS_NETWORK are reported as skipped.
passed, failed = run_modules(MODULES, network=False)
if failed or not passed:
    # An exception is what the raw REPL reports as failure to the driver.
    raise AssertionError("%d failed, %d passed" % (failed, passed))
