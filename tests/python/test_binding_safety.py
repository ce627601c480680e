"""What the bindings must survive (product.md Decisions 17 and 18): exceptions whose str()
raises inside run(), an event_buffer resized by Python code while a call runs, re-entrant
calls from callbacks, odd keywords. Each case crashed, corrupted memory or raised the wrong
class before. (CA data given as a mutable buffer: test_tls.py.)"""

import gc
import sys

import honch
from check import client, config, eq, raises, skip, true

MICROPYTHON = sys.implementation.name == "micropython"
# Nothing listens on port 9 of the loopback address: uploads fail at once, no traffic leaves.
NOWHERE = "http://127.0.0.1:9"


class Unprintable(Exception):
    def __str__(self):
        raise ValueError("no text for you")


class OutOfMemoryOnStr(Exception):
    def __str__(self):
        raise MemoryError()


def crash_record(buf):
    """The bytes of the queue, to look for the $crash record's type name."""
    return bytes(buf)


def test_run_reports_an_exception_whose_str_raises():
    for exc_type in (Unprintable, OutOfMemoryOnStr):
        buf = bytearray(4096)
        c = client(event_buffer=buf, endpoint_url=NOWHERE, transport_timeout_ms=200)
        before = c.queue_stats()["depth"]

        def boom():
            raise exc_type()

        e = raises(exc_type, c.run, boom)
        true(type(e) is exc_type, "the original exception is raised again")
        eq(c.queue_stats()["depth"], before + 1, "one $crash queued for " + exc_type.__name__)
        true(exc_type.__name__.encode() in crash_record(buf), "the $crash names the type")
        c.track("after")  # the client is not left busy


def test_run_survives_a_memory_error_crash():
    c = client(endpoint_url=NOWHERE, transport_timeout_ms=200)

    def boom():
        raise MemoryError("heap full")

    raises(MemoryError, c.run, boom)
    eq(c.queue_stats()["depth"], 2, "$device_boot and the $crash")


def test_a_buffer_resized_by_the_connectivity_callback_is_refused():
    buf = bytearray(2048)
    bystander = bytearray(b"\x55" * 2048)

    def grow():
        buf.extend(b"\x00" * 4096)  # MicroPython moves the bytearray; CPython refuses
        return True

    c = client(event_buffer=buf, endpoint_url=NOWHERE, connectivity_callback=grow)
    c.track("queued")
    exc = (BufferError,) if not MICROPYTHON else (honch.StorageError,)
    raises(exc, c.flush)
    raises(exc, c.tick)
    eq(bytes(bystander), b"\x55" * 2048, "nothing written outside the buffer")
    gc.collect()


def test_a_buffer_resized_inside_run_is_refused():
    if not MICROPYTHON:
        skip("CPython holds the buffer's export: it cannot be resized (BufferError)")
    buf = bytearray(2048)

    class Resizer(Exception):
        def __str__(self):
            buf.extend(b"\x00" * 4096)  # moves the bytearray's bytes elsewhere
            return "resized"

    c = client(event_buffer=buf, endpoint_url=NOWHERE)

    def boom():
        raise Resizer()

    raises(honch.StorageError, c.run, boom)
    raises(honch.StorageError, c.track, "after a resize")


def test_reentrant_calls_from_the_connectivity_callback_are_busy():
    seen = []
    holder = []

    def callback():
        c = holder[0]
        for call in (
            lambda: c.track("inner"),
            c.flush,
            c.tick,
            lambda: c.run(len, "abc"),
            c.install_error_hook,
            c.queue_stats,
            c.last_error,
        ):
            try:
                call()
            except honch.HonchError as e:
                seen.append(e.status)
            else:
                seen.append(None)
        return True

    c = client(endpoint_url=NOWHERE, transport_timeout_ms=200, connectivity_callback=callback)
    holder.append(c)
    c.track("outer")
    raises(honch.TransportError, c.flush)
    eq(seen, [13] * 7, "every re-entrant call raises HonchError with status 13")
    c.track("usable afterwards")
    eq(c.queue_stats()["depth"], 3)


def test_an_unknown_method_keyword_is_a_type_error():
    c = client()
    raises(TypeError, c.track, "e", props={})
    raises(TypeError, c.identify, "u", trait={})
    e = raises(honch.InvalidArgumentError, honch.Honch, **config(queue_size=10))
    true("queue_size" in str(e), "the message names the keyword: " + str(e))


def test_long_non_ascii_names_in_messages_stay_valid_text():
    name = "\u00e9" * 100
    kw = config()
    kw[name] = 1
    e = raises(honch.InvalidArgumentError, honch.Honch, **kw)
    true(str(e).startswith("unknown keyword argument: "), str(e))


def test_client_config_with_a_non_qstr_unknown_key_names_it():
    from _honch_core import Client

    kw = config()
    key = "".join(["not", "_", "a", "_", "known", "_", "key"])  # built at run time
    kw[key] = 1
    e = raises(honch.InvalidArgumentError, Client, kw)
    true(key in str(e), str(e))


def test_shutdown_ignores_the_connectivity_callback():
    def broken():
        raise RuntimeError("callback must not be called by shutdown")

    c = client(endpoint_url=NOWHERE, transport_timeout_ms=200, connectivity_callback=broken)
    c.shutdown()
    eq(c.get_device_id(), None, "the client is closed")


def test_a_refused_session_start_keeps_the_active_session():
    c = client(event_buffer=bytearray(1024), max_event_bytes=100)
    c.session_start("a")
    depth = c.queue_stats()["depth"]
    raises(honch.InvalidArgumentError, c.session_start, "n" * 60)
    eq(c.queue_stats()["depth"], depth, "no $session_end queued for a refused start")


def test_a_string_with_a_lone_surrogate_is_refused():
    try:
        text = "ok" + chr(0xD800)
    except ValueError:
        skip("this runtime cannot make a lone surrogate")
    c = client()
    depth = c.queue_stats()["depth"]
    raises(honch.InvalidArgumentError, c.track, "e", {"k": text})
    raises(honch.InvalidArgumentError, c.track, "e", {"k": chr(0xD800)})
    eq(c.queue_stats()["depth"], depth, "nothing queued (never as bytes)")


def test_keys_that_differ_only_as_str_subclass_are_refused():
    class Key(str):
        pass

    props = {"k": 1, Key("k"): None}
    c = client()
    if len(props) == 1:
        c.track("e", props)  # CPython: one key (a str subclass hashes and compares as str)
    else:
        raises(honch.InvalidArgumentError, c.track, "e", props)  # MicroPython keeps both


def test_ca_certs_must_have_a_certificates_shape():
    for bad in (
        b"\x30\x03\x02\x01\x00",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ):
        raises(honch.InvalidArgumentError, honch.Honch, **config(ca_certs=bad))


def test_run_asks_the_connectivity_callback_before_sending_the_crash():
    asked = []

    def online():
        asked.append(1)
        return False

    c = client(endpoint_url=NOWHERE, transport_timeout_ms=200, connectivity_callback=online)

    def boom():
        raise ValueError("x")

    raises(ValueError, c.run, boom)
    eq(len(asked), 1, "the callback was asked once")


def test_run_passes_a_function_keyword_on():
    c = client()
    eq(c.run(lambda **kw: kw, function=1), {"function": 1})


def test_a_client_in_a_reference_cycle_is_freed():
    try:
        import weakref
    except ImportError:
        skip("this runtime has no weakref (MicroPython's GC frees cycles without it)")

    class App:
        def __init__(self):
            self.buf = bytearray(1024)
            self.client = client(event_buffer=self.buf, connectivity_callback=self.online)

        def online(self):
            return True

    app = App()
    ref = weakref.ref(app)
    buf = app.buf
    del app
    gc.collect()
    true(ref() is None, "the app and its client were freed")
    buf.extend(b"x")  # the buffer export was released with the client
