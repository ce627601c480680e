"""One rule on both runtimes (product.md §4, Decisions 17 and 18): the same call with the same
values succeeds on both or raises the same class on both; a call into a client that is already
running a method (from a callback, another thread, a signal handler) raises HonchError with
status 13 (busy); Ctrl-C during a network wait interrupts it at once; nothing a user does from
Python makes a Rust panic (PanicException) reach Python.

Every case is written once, with the expectation both runtimes must meet. Tests that need
threads or signals run on CPython only (they return early on MicroPython)."""

import sys

import honch
import _honch_core
from check import client, config, eq, true
import e2e
from e2e import API_KEY, endpoint, events_of, unique_device

CPYTHON = sys.implementation.name != "micropython"
BUSY = 13


def outcome(fn, *args, **kwargs):
    """(result, None) or (None, exception). BaseException is caught too, so that a Rust panic
    (PanicException, which `except Exception` misses) fails the test instead of the runner."""
    try:
        return fn(*args, **kwargs), None
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: B036 - a PanicException is what this must catch
        return None, e


def describe(exc):
    return "nothing raised" if exc is None else "%s: %s" % (type(exc).__name__, exc)


def expect(label, fn, args=(), kwargs=None, error=None):
    """Calls fn: it must succeed when `error` is None, else raise exactly that class (a
    subclass of it is not enough for InvalidArgumentError's siblings to be told apart)."""
    result, exc = outcome(fn, *args, **(kwargs or {}))
    if error is None:
        if exc is not None:
            raise AssertionError("%s: expected success, got %s" % (label, describe(exc)))
        return result
    if exc is None or type(exc) is not error:
        raise AssertionError("%s: expected %s, got %s" % (label, error.__name__, describe(exc)))
    return exc


def check_busy(label, exc):
    if not isinstance(exc, honch.HonchError):
        raise AssertionError("%s: expected HonchError (busy), got %s" % (label, describe(exc)))
    eq(exc.status, BUSY, label + ": status")
    eq(exc.status, _honch_core.ERROR_BUSY, label + ": status is ERROR_BUSY")
    true("busy" in str(exc), label + ": message says busy: " + str(exc))


def depth(c):
    return c.queue_stats()["depth"]


class _Silent:
    """A server on 127.0.0.1 that accepts (or not) and never answers."""

    def __init__(self, backlog=1):
        import socket

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.held = []

    def close(self):
        for s in self.held:
            s.close()
        self.sock.close()


# --- Ctrl-C during a network wait ----------------------------------------------------------


def _interrupted(c, method, raise_after, expected):
    """Calls c.<method>() while something interrupts it after `raise_after` seconds: the
    `expected` exception must arrive, within a second."""
    import time

    start = time.monotonic()
    exc = None
    try:
        getattr(c, method)()
    except BaseException as e:  # noqa: B036 - KeyboardInterrupt is what is expected here
        exc = e
    took = time.monotonic() - start
    true(type(exc) is expected, "%s(): expected %s, got %s" % (method, expected.__name__, describe(exc)))
    true(took < 1.0, "%s() raised after %.2f s (interrupt after %.1f s)" % (method, took, raise_after))


def _with_sigint(action):
    """Runs action() with Python's default SIGINT handler (a test runner started in the
    background may have inherited SIGINT ignored)."""
    import signal

    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return action()
    finally:
        signal.signal(signal.SIGINT, old)


def _ctrl_c_after(seconds, how):
    import os
    import signal
    import threading
    import _thread

    if how == "interrupt_main":
        fire = _thread.interrupt_main
    else:
        fire = lambda: os.kill(os.getpid(), signal.SIGINT)  # noqa: E731
    timer = threading.Timer(seconds, fire)
    timer.start()
    return timer


def test_ctrl_c_interrupts_a_flush_waiting_for_an_answer():
    if not CPYTHON:
        return
    for how in ("interrupt_main", "kill"):
        for method in ("flush", "tick", "shutdown"):
            server = _Silent()
            try:
                c = client(endpoint_url=server.url, transport_timeout_ms=5000, flush_min_interval_ms=0,
                           flush_interval_seconds=1, flush_event_threshold=1)
                c.track("kept")
                before = depth(c)

                def go():
                    t = _ctrl_c_after(0.2, how)
                    try:
                        return _interrupted(c, method, 0.2, KeyboardInterrupt)
                    finally:
                        t.cancel()

                _with_sigint(go)
                label = "%s/%s" % (how, method)
                if method == "shutdown":
                    continue
                eq(c.last_error()["reason"], "read_failed", label + ": the wait for the answer")
                eq(depth(c), before, label + ": events stay queued")
                c.track("after")
                eq(depth(c), before + 1, label + ": the client works afterwards")
                eq(c.get_device_id(), "dev-001")
            finally:
                server.close()


def test_ctrl_c_interrupts_a_connect_that_gets_no_answer():
    if not CPYTHON:
        return
    import socket

    # A listener whose accept queue is full drops further SYNs: connect() hangs.
    server = _Silent(backlog=0)
    try:
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(server.sock.getsockname())
            except OSError:
                pass
            server.held.append(s)
        c = client(endpoint_url=server.url, transport_timeout_ms=5000)
        before = depth(c)

        def go():
            t = _ctrl_c_after(0.2, "interrupt_main")
            try:
                return _interrupted(c, "flush", 0.2, KeyboardInterrupt)
            finally:
                t.cancel()

        _with_sigint(go)
        eq(c.last_error()["reason"], "connect_timeout", "the wait for the connection")
        eq(depth(c), before)
    finally:
        server.close()


def test_ctrl_c_interrupts_a_stalled_tls_handshake():
    if not CPYTHON:
        return
    # The TCP connection is made (the kernel accepts it); no ServerHello ever comes.
    server = _Silent()
    try:
        c = client(endpoint_url=server.url.replace("http:", "https:"), transport_timeout_ms=5000)
        before = depth(c)

        def go():
            t = _ctrl_c_after(0.2, "kill")
            try:
                return _interrupted(c, "flush", 0.2, KeyboardInterrupt)
            finally:
                t.cancel()

        _with_sigint(go)
        eq(c.last_error()["reason"], "tls_handshake", "the wait for the handshake")
        eq(depth(c), before)
        c.track("after")
        eq(depth(c), before + 1)
    finally:
        server.close()


class Stop(Exception):
    pass


def test_a_signal_handlers_exception_is_raised_unchanged():
    if not CPYTHON:
        return
    import signal

    def handler(signum, frame):
        raise Stop("from the handler")

    server = _Silent()
    old = signal.signal(signal.SIGALRM, handler)
    try:
        c = client(endpoint_url=server.url, transport_timeout_ms=5000)
        before = depth(c)
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        _interrupted(c, "flush", 0.2, Stop)
        eq(depth(c), before)
        c.track("after")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        server.close()
