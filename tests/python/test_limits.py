"""Decision 13: every event the client accepts can be delivered on its own. An event that
would break a wire limit (2048 bytes or 128 entries of strings per message, 4096 bytes per
message) is refused when it is queued, with InvalidArgumentError naming the limit; so are
constructor values the wire could never carry."""

import _honch_core
import honch
from check import client, config, eq, true, invalid

CONTEXT_FIELDS = ("device_id", "device_model", "firmware_version", "environment")


def depth(c):
    return c.queue_stats()["depth"]


def refused(fn, *args, **kwargs):
    """fn must raise InvalidArgumentError naming a wire limit, and queue nothing."""
    e = invalid(fn, *args, **kwargs)
    true("wire limit" in str(e), str(e))
    return e


def test_too_many_bytes_of_strings_is_refused_at_track():
    c = client()
    before = c.queue_stats()
    # Five distinct strings of 450 bytes: 2250 bytes in one message's string table.
    props = {}
    for i in range(5):
        props["k%d" % i] = chr(97 + i) * 450
    e = refused(c.track, "big", props)
    true("2048 bytes of strings" in str(e), str(e))
    eq(c.queue_stats()["bytes_used"], before["bytes_used"])
    eq(depth(c), before["depth"])


def test_too_many_distinct_strings_is_refused_at_track():
    c = client()
    props = {}
    for i in range(64):
        props["k%d" % i] = "v%d" % i
    e = refused(c.track, "many", props)
    true("128 distinct strings" in str(e), str(e))
    eq(depth(c), 1)


def test_a_bytes_value_larger_than_a_message_is_refused_at_track():
    c = client()
    e = refused(c.track, "blob", {"blob": b"\x07" * 5000})
    true("4096 bytes" in str(e), str(e))
    e = refused(c.track, "blob", {"nested": [{"x": bytearray(4090)}]})
    true("4096 bytes" in str(e), str(e))
    eq(depth(c), 1)


def test_shared_strings_count_once():
    c = client(event_buffer=bytearray(32768))
    props = {}
    for i in range(10):
        props["k%d" % i] = "x" * 500
    c.track("shared", props)
    c.track("list", {"l": ["same"] * 1000})
    c.track("blob", {"blob": b"\x07" * 3900})
    eq(depth(c), 4)


def tight_config(**overrides):
    """Context strings that leave 19 bytes of a message's strings for an event's own."""
    kw = config(
        device_model="m" * 512,
        firmware_version="f" * 512,
        environment="e" * 512,
        event_buffer=bytearray(16384),
    )
    used = 3 * 512 + len(_honch_core.SDK_PLATFORM) + len(_honch_core.SDK_VERSION)
    # $device_boot and its reset_reason "unknown" take the last 19 bytes.
    kw["device_id"] = "d" * (2048 - used - len("$device_boot") - len("unknown"))
    kw.update(overrides)
    return kw


def test_every_call_that_queues_applies_the_limits():
    c = honch.Honch(**tight_config())
    eq(depth(c), 1)
    c.track("x" * 19)
    refused(c.track, "x" * 20)
    refused(c.identify, "user-1")
    refused(c.set_property, "a_longer_key", 1)
    c.set_property("k", 1)
    refused(c.session_start)
    refused(c.connected)
    eq(depth(c), 3)


def test_constructor_refuses_a_context_string_longer_than_512_bytes():
    for field in CONTEXT_FIELDS:
        kw = config()
        kw[field] = "x" * 513
        e = invalid(honch.Honch, **kw)
        true(field in str(e), str(e))
        kw[field] = "x" * 512
        honch.Honch(**kw)


def test_constructor_refuses_context_strings_too_long_together():
    kw = config(event_buffer=bytearray(16384))
    for i, field in enumerate(CONTEXT_FIELDS):
        kw[field] = chr(97 + i) * 512
    e = invalid(honch.Honch, **kw)
    for field in CONTEXT_FIELDS:
        true(field in str(e), str(e))


def test_constructor_names_event_buffer_when_device_boot_does_not_fit():
    e = invalid(honch.Honch, **config(device_id="i" * 200, event_buffer=bytearray(128)))
    true(str(e).startswith("event_buffer"), str(e))
    true("$device_boot" in str(e), str(e))
    e = invalid(honch.Honch, **config(max_event_bytes=20))
    true(str(e).startswith("max_event_bytes"), str(e))
