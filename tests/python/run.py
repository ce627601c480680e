"""One test runner for both runtimes: CPython (the pip-installed build) and the MicroPython
unix port (the firmware build). MicroPython has no unittest, so tests are plain functions
named test_* in modules named test_*.py, using the helpers in check.py.

    python3 tests/python/run.py [name-filter]
    micropython tests/python/run.py [name-filter]

Prints one line per test and a last line "<runtime>: N passed, M failed"; exits 1 on any
failure (and when no test ran). Firmware without a filesystem runs the same modules frozen
into the image (tests/firmware/).
"""

import os
import sys

HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
if HERE not in sys.path:
    sys.path.insert(0, HERE)
try:
    # Another folder of test modules (tests/compat), sharing this folder's helpers.
    TESTS = os.getenv("HONCH_TEST_DIR") or HERE
except AttributeError:
    TESTS = HERE
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

RUNTIME = sys.implementation.name
if RUNTIME != "micropython":
    # Stand-ins for MicroPython-only modules (cpython-shim/), so the same files import here.
    sys.path.append(HERE + "/../../cpython-shim")


def modules():
    names = [n[:-3] for n in os.listdir(TESTS) if n.startswith("test_") and n.endswith(".py")]
    names.sort()
    return names


def main():
    from runner import run_modules

    pattern = sys.argv[1] if len(sys.argv) > 1 else ""
    passed, failed = run_modules(modules(), pattern)
    if failed or not passed:
        sys.exit(1)


main()
