"""The test loop shared by run.py (a filesystem: modules found by name) and the firmware
runner (tests/firmware/run_frozen.py: modules frozen into the image). Tests are plain
functions named test_* in modules named test_*.py, using the helpers in check.py."""

import sys

RUNTIME = sys.implementation.name


def run_modules(names, pattern=""):
    """Runs every test_* function of the modules `names`; prints one line per test and a
    last line "<runtime>: N passed, M failed". Returns (passed, failed)."""
    passed = failed = 0
    for name in names:
        module = __import__(name)
        tests = [t for t in dir(module) if t.startswith("test_")]
        tests.sort()
        for test in tests:
            label = name + "." + test
            if pattern and pattern not in label:
                continue
            try:
                getattr(module, test)()
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
    print("%s: %d passed, %d failed" % (RUNTIME, passed, failed))
    return passed, failed
