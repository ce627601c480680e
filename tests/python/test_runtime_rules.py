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
from check import client, config, eq, skip, true
import e2e
from e2e import API_KEY, endpoint, events_of, unique_device

CPYTHON = sys.implementation.name != "micropython"
# Tests that need the local collectors (tests/e2e/with-collectors.sh) or sockets.
NEEDS_NETWORK = (
    "test_calls_from_another_thread_during_a_network_wait_are_busy",
    "test_config_keywords_follow_one_rule",
    "test_ctrl_c_interrupts_a_connect_that_gets_no_answer",
    "test_ctrl_c_interrupts_a_flush_waiting_for_an_answer",
    "test_ctrl_c_interrupts_a_stalled_tls_handshake",
    "test_subclasses_arrive_as_their_base_type",
)
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
    """Calls fn: it must succeed when `error` is None, else raise that class: an instance of
    it whose class has its name (MicroPython raises some statuses as a same-named subclass),
    so that no other subclass passes."""
    result, exc = outcome(fn, *args, **(kwargs or {}))
    if error is None:
        if exc is not None:
            raise AssertionError("%s: expected success, got %s" % (label, describe(exc)))
        return result
    if not isinstance(exc, error) or type(exc).__name__ != error.__name__:
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
        skip("this runtime has no sys.excepthook")
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
        skip("CPython only: threads, signals or os.urandom monkeypatching")
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
        skip("CPython only: threads, signals or os.urandom monkeypatching")
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
        skip("CPython only: threads, signals or os.urandom monkeypatching")
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
        skip("CPython only: threads, signals or os.urandom monkeypatching")
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
        skip("CPython only: threads, signals or os.urandom monkeypatching")
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


# --- value types (Decision 17) -------------------------------------------------------------


class Text(str):
    pass


class Whole(int):
    pass


class Real(float):
    pass


class Map(dict):
    pass


class Seq(list):
    pass


class Row(tuple):
    pass


class Hostile:
    """Every hook a converter might be tempted to call; none may be."""

    def __str__(self):
        raise AssertionError("__str__ called")

    def __iter__(self):
        raise AssertionError("__iter__ called")

    def __index__(self):
        raise AssertionError("__index__ called")

    def __int__(self):
        raise AssertionError("__int__ called")

    def __float__(self):
        raise AssertionError("__float__ called")

    def __len__(self):
        raise AssertionError("__len__ called")


class HostileText(str):
    def __str__(self):
        raise AssertionError("__str__ called")


class HostileInt(int):
    def __index__(self):
        raise AssertionError("__index__ called")

    def __int__(self):
        raise AssertionError("__int__ called")


class HostileMap(dict):
    def __iter__(self):
        raise AssertionError("__iter__ called")

    def items(self):
        raise AssertionError("items called")

    def keys(self):
        raise AssertionError("keys called")

    def __getitem__(self, key):
        raise AssertionError("__getitem__ called")

    def __len__(self):
        raise AssertionError("__len__ called")


class HostileSeq(list):
    def __iter__(self):
        raise AssertionError("__iter__ called")

    def __getitem__(self, i):
        raise AssertionError("__getitem__ called")

    def __len__(self):
        raise AssertionError("__len__ called")


def _array(code, values):
    try:
        import array
    except ImportError:
        return None
    return array.array(code, values)


def test_text_arguments_are_str_or_a_str_subclass():
    bad = honch.InvalidArgumentError
    c = client()
    cases = (
        ("session_start(5)", c.session_start, (5,), bad),
        ("session_start(1.5)", c.session_start, (1.5,), bad),
        ("session_start(b'x')", c.session_start, (b"x",), bad),
        ("session_start(['a'])", c.session_start, (["a"],), bad),
        ("session_start(Hostile())", c.session_start, (Hostile(),), bad),
        ("session_start(Text)", c.session_start, (Text("s"),), None),
        ("session_start(None)", c.session_start, (None,), None),
        ("track(Text)", c.track, (Text("event"),), None),
        ("track(HostileText)", c.track, (HostileText("event"),), None),
        ("track(b'e')", c.track, (b"event",), bad),
        ("track(bytearray)", c.track, (bytearray(b"event"),), bad),
        ("identify(Text)", c.identify, (Text("user"),), None),
        ("identify(5)", c.identify, (5,), bad),
        ("set_property(Text)", c.set_property, (Text("k"), 1), None),
        ("set_property(5)", c.set_property, (5, 1), bad),
        ("set_property(b'k')", c.set_property, (b"k", 1), bad),
        ("report_log_error(Text)", c.report_log_error, (Text("m"),), None),
        ("report_log_error(b'm')", c.report_log_error, (b"m",), bad),
        ("track({Text: 1})", c.track, ("e", {Text("k"): 1}), None),
        ("track({HostileText: 1})", c.track, ("e", {HostileText("k"): 1}), None),
        ("track({1: 1})", c.track, ("e", {1: 1}), bad),
        ("track({b'k': 1})", c.track, ("e", {b"k": 1}), bad),
        ("track({(1,): 1})", c.track, ("e", {(1,): 1}), bad),
    )
    for label, fn, args, error in cases:
        expect(label, fn, args, error=error)
    expect("report_log_error(component=Text)", c.report_log_error, ("m",), {"component": Text("c")})
    expect("report_log_error(component=5)", c.report_log_error, ("m",), {"component": 5}, bad)
    expect("report_log_error(component=b'c')", c.report_log_error, ("m",), {"component": b"c"}, bad)
    expect("track(props=...) is no keyword", c.track, ("e",), {"props": {}}, TypeError)
    expect("session_start(title=...) is no keyword", c.session_start, (), {"title": "x"}, TypeError)


def test_config_keywords_follow_one_rule():
    bad = honch.InvalidArgumentError
    for key in ("api_key", "device_id", "device_model", "firmware_version", "environment", "endpoint_url"):
        value = "http://127.0.0.1:9" if key == "endpoint_url" else "value"
        expect(key + "=Text", honch.Honch, kwargs=config(**{key: Text(value)}))
        for wrong in (5, 1.5, b"value", ["value"], Hostile()):
            expect("%s=%s" % (key, type(wrong).__name__), honch.Honch, kwargs=config(**{key: wrong}), error=bad)
    for key in ("batch_size", "max_queued_events", "transport_timeout_ms", "flush_event_threshold"):
        expect(key + "=Whole", honch.Honch, kwargs=config(**{key: Whole(10)}))
        expect(key + "=HostileInt", honch.Honch, kwargs=config(**{key: HostileInt(10)}))
        for wrong in (True, False, 10.0, "10", b"10", Hostile()):
            expect("%s=%r" % (key, type(wrong).__name__), honch.Honch, kwargs=config(**{key: wrong}), error=bad)
    expect("verify_tls=True", honch.Honch, kwargs=config(verify_tls=True))
    for wrong in (1, 0, "yes", b"1"):
        expect("verify_tls=%r" % (wrong,), honch.Honch, kwargs=config(verify_tls=wrong), error=bad)
    der = e2e.test_ca(der=True)
    for label, value in (("str", e2e.test_ca()), ("bytes", der), ("bytearray", bytearray(der)),
                         ("memoryview", memoryview(der))):
        expect("ca_certs=" + label, honch.Honch, kwargs=config(ca_certs=value))
    for wrong in (5, ["x"], (der,), Hostile()):
        expect("ca_certs=%s" % type(wrong).__name__, honch.Honch, kwargs=config(ca_certs=wrong), error=bad)
    e = expect("unknown keyword", honch.Honch, kwargs=config(queue_size=10), error=bad)
    eq(str(e), "unknown keyword argument: queue_size")
    e = expect("unknown keyword (Client)", _honch_core.Client, (config(queue_size=10),), error=bad)
    eq(str(e), "unknown keyword argument: queue_size")
    expect("Client: non-str key", _honch_core.Client, ({1: 2},), error=bad)


def _values():
    """(label, value, accepted)."""
    rows = [
        ("None", None, True),
        ("True", True, True),
        ("int", 5, True),
        ("int subclass", Whole(5), True),
        ("hostile int subclass", HostileInt(5), True),
        ("-2**63", -(2**63), True),
        ("2**64-1", 2**64 - 1, True),
        ("-2**63-1", -(2**63) - 1, False),
        ("2**64", 2**64, False),
        ("int subclass 2**64", Whole(2**64), False),
        ("float", 1.5, True),
        ("float subclass", Real(1.5), True),
        ("nan", float("nan"), False),
        ("inf", float("inf"), False),
        ("float subclass inf", Real("inf"), False),
        ("str", "s", True),
        ("str subclass", Text("s"), True),
        ("hostile str subclass", HostileText("s"), True),
        ("bytes", b"\x00\x01", True),
        ("bytearray", bytearray(b"ab"), True),
        ("memoryview", memoryview(b"ab"), True),
        ("dict", {"a": 1}, True),
        ("dict subclass", Map(a=1), True),
        ("hostile dict subclass", HostileMap(a=1), True),
        ("list", [1, 2], True),
        ("list subclass", Seq([1, 2]), True),
        ("hostile list subclass", HostileSeq([1, 2]), True),
        ("tuple", (1, 2), True),
        ("tuple subclass", Row((1, 2)), True),
        ("object", object(), False),
        ("hostile object", Hostile(), False),
        ("type", int, False),
        ("function", len, False),
        ("set", set([1]), False),
        ("range", range(3), False),
        ("iterator", iter([1]), False),
        ("exception", ValueError("x"), False),
    ]
    try:
        rows.append(("frozenset", frozenset([1]), False))
    except NameError:  # a MicroPython build without frozenset
        pass
    for code in ("i", "h", "d", "B"):
        arr = _array(code, [1, 2])
        if arr is not None:
            rows.append(("array(%r)" % code, arr, True))
    try:
        from collections import OrderedDict, namedtuple
    except ImportError:
        pass
    else:
        rows.append(("OrderedDict", OrderedDict([("b", 1), ("a", 2)]), True))
        rows.append(("namedtuple", namedtuple("Point", ("x", "y"))(1, 2), True))
    try:
        import enum
    except ImportError:
        pass
    else:
        rows.append(("IntEnum", enum.IntEnum("Color", "RED GREEN").GREEN, True))
    return rows


def test_property_values_follow_one_rule():
    bad = honch.InvalidArgumentError
    c = client()
    for label, value, accepted in _values():
        error = None if accepted else bad
        before = depth(c)
        for where, fn, args in (
            ("track", c.track, ("e", {"v": value})),
            ("track nested", c.track, ("e", {"v": [value]})),
            ("identify traits", c.identify, ("user", {"v": value})),
            ("set_property", c.set_property, ("v", value)),
        ):
            expect("%s: %s" % (where, label), fn, args, error=error)
        eq(depth(c), before + (4 if accepted else 0), label + ": queued")


def test_properties_argument_may_be_a_dict_subclass():
    c = client()
    expect("track(Map)", c.track, ("e", Map(a=1)))
    expect("track(HostileMap)", c.track, ("e", HostileMap(a=1)))
    expect("identify(Map)", c.identify, ("u", Map(a=1)))
    expect("track(list)", c.track, ("e", [("a", 1)]), error=honch.InvalidArgumentError)
    expect("track(Hostile)", c.track, ("e", Hostile()), error=honch.InvalidArgumentError)


def test_subclasses_arrive_as_their_base_type():
    # The local collector refuses bytes values (422), so a str subclass sent as bytes would
    # fail this flush too.
    dev = unique_device("rules-types")
    c = honch.Honch(
        api_key=API_KEY,
        endpoint_url=endpoint("ok"),
        device_id=dev,
        device_model="Rules Board",
        firmware_version="1",
        event_buffer=bytearray(8192),
        transport_timeout_ms=3000,
    )
    c.track(
        "types",
        {
            "text": Text("plain"),
            "hostile_text": HostileText("h"),
            "whole": Whole(7),
            "hostile_int": HostileInt(-3),
            "real": Real(2.5),
            "map": Map(k=Text("v")),
            "hostile_map": HostileMap(k=1),
            "seq": Seq([Whole(1), Text("x")]),
            "hostile_seq": HostileSeq([2]),
            "row": Row((True, None)),
        },
    )
    c.flush()
    got = [e for e in events_of("ok", dev) if e["event"] == "types"]
    eq(len(got), 1, "delivered")
    p = got[0]["properties"]
    eq(p["text"], "plain", "a str subclass is a string, never bytes")
    eq(p["hostile_text"], "h")
    eq(p["whole"], 7)
    eq(p["hostile_int"], -3)
    eq(p["real"], 2.5)
    eq(p["map"], {"k": "v"})
    eq(p["hostile_map"], {"k": 1})
    eq(p["seq"], [1, "x"])
    eq(p["hostile_seq"], [2])
    eq(p["row"], [True, None])


def _record_size(c, value):
    before = c.queue_stats()["bytes_used"]
    c.track("sized", {"v": value})
    return c.queue_stats()["bytes_used"] - before


def test_any_buffer_is_queued_as_its_bytes():
    c = client()
    arr = _array("i", [1, -2, 3])
    if arr is None:
        skip("this runtime has no array module")
    raw = bytes(arr)
    as_bytes = _record_size(c, raw)
    eq(_record_size(c, arr), as_bytes, "array('i') is queued as the bytes of its buffer")
    eq(_record_size(c, memoryview(raw)), as_bytes, "memoryview")
    eq(_record_size(c, bytearray(raw)), as_bytes, "bytearray")


def test_the_event_buffer_is_any_writable_contiguous_buffer():
    bad = honch.InvalidArgumentError
    arr = _array("i", [0] * 1024)
    if arr is not None:
        c = expect("event_buffer=array('i')", honch.Honch, kwargs=config(event_buffer=arr))
        c.track("e")
        eq(depth(c), 2)
    expect("event_buffer=bytes", honch.Honch, kwargs=config(event_buffer=bytes(256)), error=bad)
    expect("event_buffer=str", honch.Honch, kwargs=config(event_buffer="x" * 256), error=bad)
    expect("event_buffer=list", honch.Honch, kwargs=config(event_buffer=[0] * 256), error=bad)


# --- nothing panics (Decision 18) -----------------------------------------------------------


def test_hostile_inputs_never_panic():
    c = client()
    deep = []
    cur = deep
    for _ in range(200):
        nxt = []
        cur.append(nxt)
        cur = nxt
    loop = []
    loop.append(loop)
    looped = {}
    looped["self"] = looped
    for label, args in (
        ("deep list", ("e", {"v": deep})),
        ("self-containing list", ("e", {"v": loop})),
        ("self-containing dict", ("e", looped)),
        ("huge int", ("e", {"v": 10**100})),
        ("huge negative int", ("e", {"v": -(10**100)})),
    ):
        _, exc = outcome(c.track, *args)
        true(isinstance(exc, honch.InvalidArgumentError), label + ": " + describe(exc))
    if CPYTHON:
        # A str that cannot be UTF-8 encoded exists on CPython only (lone surrogates).
        lone = chr(0xD800)
        for label, args in (
            ("lone surrogate", ("e", {"v": lone})),
            ("surrogate key", ("e", {lone: 1})),
            ("surrogate name", (lone, {})),
        ):
            _, exc = outcome(c.track, *args)
            true(isinstance(exc, honch.InvalidArgumentError), label + ": " + describe(exc))
    for label, fn, args in (
        ("Client(str)", _honch_core.Client, ("config",)),
        ("Client(None)", _honch_core.Client, (None,)),
        ("Client({})", _honch_core.Client, ({},)),
    ):
        _, exc = outcome(fn, *args)
        true(isinstance(exc, honch.HonchError), label + ": " + describe(exc))
    compat = _honch_core.Client(config())
    for report in ([1], {"message": 5}, {"type": b"x"}, None):
        _, exc = outcome(compat.report_crash, report)
        true(isinstance(exc, honch.InvalidArgumentError), "report_crash(%r): %s" % (report, describe(exc)))


def test_a_monkeypatched_urandom_never_panics():
    if not CPYTHON:
        skip("CPython only: threads, signals or os.urandom monkeypatching")
    import os

    original = os.urandom
    try:
        for fake in (lambda n: b"short", lambda n: "x" * n, lambda n: None, lambda n: bytearray(n)):
            os.urandom = fake
            _, exc = outcome(honch.Honch, **config())
            true(exc is None or isinstance(exc, honch.HonchError), describe(exc))

        def failing(n):
            raise NotImplementedError("no entropy")

        os.urandom = failing
        _, exc = outcome(honch.Honch, **config())
        true(isinstance(exc, NotImplementedError), "its own exception, unchanged: " + describe(exc))
    finally:
        os.urandom = original
    client().track("fine")


def test_the_error_hook_survives_a_fake_traceback():
    if not hasattr(sys, "excepthook"):
        skip("this runtime has no sys.excepthook")

    class Endless:
        """A traceback-like object whose chain never ends."""

        tb_lineno = 1

        @property
        def tb_frame(self):
            raise AttributeError("no frame")

        @property
        def tb_next(self):
            return self

    calls = []
    original = sys.excepthook
    sys.excepthook = lambda *a: calls.append(a[0])
    try:
        c = client()
        c.install_error_hook()
        before = depth(c)
        for args in ((ValueError, ValueError("x"), Endless()), (1, 2, 3), (ValueError, "not an exception", None)):
            _, exc = outcome(sys.excepthook, *args)
            eq(exc, None, "hook(%r): %s" % (args[0], describe(exc)))
        eq(len(calls), 3, "the previous hook ran each time")
        eq(depth(c), before + 1, "one $crash")
        c.uninstall_error_hook()
    finally:
        sys.excepthook = original
