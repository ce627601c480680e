"""install_error_hook() / uninstall_error_hook() on both runtimes: where the runtime has
sys.excepthook (CPython), the wrapper reports the crash and always chains to the previous
hook; where it has none (the unix port's standard build), install returns False."""

import sys

from check import client, eq, skip, true


def test_hook_install_chain_and_uninstall():
    c = client()
    if not hasattr(sys, "excepthook"):
        eq(c.install_error_hook(), False)
        eq(c.uninstall_error_hook(), False)
        skip("this runtime has no sys.excepthook (install returned False, as documented)")
    calls = []
    original = sys.excepthook

    def previous(exc_type, exc, tb):
        calls.append(exc_type.__name__)

    sys.excepthook = previous
    try:
        eq(c.install_error_hook(), True)
        hook = sys.excepthook
        eq(c.install_error_hook(), True)
        true(sys.excepthook is hook, "installing twice keeps one layer")
        before = c.queue_stats()["depth"]
        try:
            raise ValueError("uncaught")
        except ValueError as e:
            sys.excepthook(type(e), e, e.__traceback__)
        eq(calls, ["ValueError"], "the previous hook ran")
        eq(c.queue_stats()["depth"], before + 1, "one $crash queued")
        try:
            raise KeyError("again")
        except KeyError as e:
            sys.excepthook(type(e), e, e.__traceback__)
        eq(c.queue_stats()["depth"], before + 1, "one $crash per client")
        eq(calls, ["ValueError", "KeyError"])
        eq(c.uninstall_error_hook(), True)
        true(sys.excepthook is previous, "the previous hook is back")
        eq(c.uninstall_error_hook(), False)
    finally:
        sys.excepthook = original
