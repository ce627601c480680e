"""Assertion helpers shared by the tests (the same on CPython and MicroPython)."""

import honch

REQUIRED = {
    "api_key": "test-key",
    "device_id": "dev-001",
    "device_model": "ActionCam X1",
    "firmware_version": "1.2.3",
}


def config(**overrides):
    """Keyword arguments for a valid Honch(), with overrides (None values are kept)."""
    kw = dict(REQUIRED)
    kw["event_buffer"] = bytearray(8192)
    kw.update(overrides)
    return kw


def client(**overrides):
    return honch.Honch(**config(**overrides))


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what or "value", expected, actual))


def true(cond, what="condition"):
    if not cond:
        raise AssertionError(what)


def raises(exc_type, fn, *args, **kwargs):
    """Calls fn and returns the exception it raised, which must be an exc_type."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    except Exception as e:
        raise AssertionError("expected %s, got %s: %s" % (exc_type.__name__, type(e).__name__, e))
    raise AssertionError("expected %s, nothing was raised" % exc_type.__name__)


def invalid(fn, *args, **kwargs):
    """fn must raise InvalidArgumentError (status 1) and queue nothing."""
    e = raises(honch.InvalidArgumentError, fn, *args, **kwargs)
    eq(e.status, 1, "status of " + str(e))
    return e


class Skip(Exception):
    """Raised by a test that cannot run on this runtime; the runner lists it as skipped,
    with the reason, and counts it apart."""


def skip(reason):
    raise Skip(reason)
