"""The test loop shared by run.py (a filesystem: modules found by name) and the firmware
runner (tests/firmware/run_frozen.py: modules frozen into the image). Tests are plain
functions named test_* in modules named test_*.py, using the helpers in check.py.

A test that cannot run on this runtime raises check.Skip (check.skip(reason)); a module
lists the tests that need the local collectors or sockets in NEEDS_NETWORK, and a firmware
without network (network=False) lists them as skipped instead of running them. Skips are
printed with their reason and counted apart, never as passes."""

import gc
import sys

RUNTIME = sys.implementation.name


def run_modules(names, pattern="", network=True):
    """Runs every test_* function of the modules `names`; prints one line per test and a
    last line "<runtime>: N passed, M failed, K skipped". Returns (passed, failed)."""
    from check import Skip

    passed = failed = skipped = 0
    for name in names:
        module = __import__(name)
        tests = [t for t in dir(module) if t.startswith("test_")]
        tests.sort()
        offline = () if network else getattr(module, "NEEDS_NETWORK", ())
        for test in tests:
            label = name + "." + test
            if pattern and pattern not in label:
                continue
            # Each test starts from a collected heap (boards have ~140 KB, easily fragmented).
            gc.collect()
            try:
                if test in offline:
                    raise Skip("needs the network (local collectors or sockets)")
                getattr(module, test)()
            except Skip as e:
                skipped += 1
                print("skip", label, "-", e)
            except Exception as e:  # report and go on: one failure must not hide others
                failed += 1
                print("FAIL", label, "-", type(e).__name__ + ":", e)
                if hasattr(sys, "print_exception"):
                    sys.print_exception(e)
                else:
                    import traceback

                    traceback.print_exc()
            else:
                passed += 1
                print("ok  ", label)
    print("%s: %d passed, %d failed, %d skipped" % (RUNTIME, passed, failed, skipped))
    return passed, failed
