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


# --- re-entrant calls (Decision 17) ------------------------------------------------------


def every_call(c, ran):
    """Each public method with valid arguments: (label, callable, args)."""

    def crashing():
        ran.append("run's function")
        raise ValueError("never reported")

    return (
        ("track", c.track, ("inner",)),
        ("track with properties", c.track, ("inner", {"k": 1})),
        ("identify", c.identify, ("user-1", {"plan": "x"})),
        ("set_property", c.set_property, ("k", 1)),
        ("session_start", c.session_start, ("s",)),
        ("session_start()", c.session_start, ()),
        ("session_end", c.session_end, ()),
        ("report_log_error", c.report_log_error, ("message",)),
        ("connectivity_changed", c.connectivity_changed, (True,)),
        ("connected", c.connected, ()),
        ("disconnected", c.disconnected, ()),
        ("tick", c.tick, ()),
        ("flush", c.flush, ()),
        ("reset", c.reset, ()),
        ("shutdown", c.shutdown, ()),
        ("last_error", c.last_error, ()),
        ("queue_stats", c.queue_stats, ()),
        ("get_device_id", c.get_device_id, ()),
        ("run", c.run, (crashing,)),
        ("install_error_hook", c.install_error_hook, ()),
        ("uninstall_error_hook", c.uninstall_error_hook, ()),
    )


def test_every_call_from_the_connectivity_callback_is_busy():
    for outer in ("tick", "flush"):
        holder = []
        seen = []
        ran = []

        def online():
            for label, fn, args in every_call(holder[0], ran):
                seen.append((label, outcome(fn, *args)[1]))
            return False  # offline: tick sends nothing, flush raises OfflineError

        c = client(connectivity_callback=online)
        holder.append(c)
        c.track("before")
        before = depth(c)
        _, exc = outcome(getattr(c, outer))
        if outer == "tick":
            eq(exc, None, "tick while offline")
        else:
            true(isinstance(exc, honch.OfflineError), "flush while offline: " + describe(exc))
        eq(len(seen), len(every_call(c, ran)), outer + ": every call was made")
        for label, exc in seen:
            check_busy(outer + " -> callback -> " + label, exc)
        eq(ran, [], "run() while busy does not call its function")
        # Nothing changed, and the client works normally afterwards.
        eq(depth(c), before, outer + ": nothing queued by the refused calls")
        eq(c.get_device_id(), "dev-001")
        c.track("after")
        eq(depth(c), before + 1)


def test_compat_client_calls_from_the_callback_are_busy():
    holder = []
    seen = []

    def online():
        c = holder[0]
        seen.append(("report_log_error", outcome(c.report_log_error, "comp", "message")[1]))
        report = {"message": "m", "type": "ValueError", "backtrace": "x.py:1 in f"}
        seen.append(("report_crash", outcome(c.report_crash, report)[1]))
        seen.append(("track", outcome(c.track, "inner")[1]))
        seen.append(("queue_stats", outcome(c.queue_stats)[1]))
        return True

    cfg = config(connectivity_callback=online, endpoint_url="http://127.0.0.1:9")
    c = _honch_core.Client(cfg)
    holder.append(c)
    before = depth(c)
    outcome(c.tick)
    eq(len(seen), 4)
    for label, exc in seen:
        check_busy("Client: callback -> " + label, exc)
    eq(depth(c), before)
    c.report_log_error("comp", "after")


def test_runs_function_may_use_the_client():
    c = client()
    before = depth(c)
    eq(c.run(lambda: c.track("inside") or "result"), "result")
    eq(c.run(lambda: c.run(lambda: c.track("nested")) or 7), 7)
    eq(depth(c), before + 2)

    # The crash is queued (the flush to a closed port fails quietly), then re-raised.
    c2 = client(endpoint_url="http://127.0.0.1:9", transport_timeout_ms=500)

    def crash():
        c2.track("before_crash")
        raise KeyError("boom")

    before = depth(c2)
    _, exc = outcome(c2.run, crash)
    true(isinstance(exc, KeyError), "run re-raises the function's exception: " + describe(exc))
    eq(depth(c2), before + 2, "the event and one $crash")


def test_the_error_hook_never_panics_when_the_client_is_busy():
    if not hasattr(sys, "excepthook"):
        return
    calls = []
    original = sys.excepthook

    def previous(exc_type, exc, tb):
        calls.append(exc_type.__name__)

    holder = []
    seen = []

    def online():
        try:
            raise ValueError("while busy")
        except ValueError as e:
            seen.append(outcome(sys.excepthook, type(e), e, e.__traceback__)[1])
        return False

    logged = []
    logger = None
    if CPYTHON:
        import logging

        class Capture(logging.Handler):
            def emit(self, record):
                logged.append(record.getMessage())

        logger = logging.getLogger("honch")
        capture = Capture()
        logger.addHandler(capture)
    sys.excepthook = previous
    try:
        c = client(connectivity_callback=online)
        holder.append(c)
        c.install_error_hook()
        before = depth(c)
        c.tick()
        eq(seen, [None], "the hook returns normally")
        eq(calls, ["ValueError"], "the previous hook still ran")
        eq(depth(c), before, "no $crash could be queued while busy")
        if logger is not None:
            true([m for m in logged if "busy" in m], "the lost crash is logged: %r" % logged)
        c.uninstall_error_hook()
    finally:
        sys.excepthook = original
        if logger is not None:
            logger.removeHandler(capture)


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


def test_calls_from_another_thread_during_a_network_wait_are_busy():
    if not CPYTHON:
        return
    import threading

    server = _Silent()
    try:
        c = client(endpoint_url=server.url, transport_timeout_ms=5000)
        c.track("queued")
        before = depth(c)
        result = []
        worker = threading.Thread(target=lambda: result.append(outcome(c.flush)[1]))
        worker.start()
        server.sock.settimeout(5)
        conn, _ = server.sock.accept()
        server.held.append(conn)
        # The worker is inside flush(), waiting for an answer with the GIL released.
        ran = []
        for label, fn, args in every_call(c, ran):
            check_busy("thread -> " + label, outcome(fn, *args)[1])
        eq(ran, [])
        conn.close()  # the flush now fails at once
        worker.join(10)
        true(not worker.is_alive(), "flush returned")
        true(isinstance(result[0], honch.TransportError), "flush: " + describe(result[0]))
        eq(depth(c), before, "events stay queued")
        c.track("after")
        eq(depth(c), before + 1)
    finally:
        server.close()


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
