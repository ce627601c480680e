import honch
from check import client, eq, true, raises, invalid, skip


def depth(c):
    return c.queue_stats()["depth"]


def test_track_queues_one_event_per_call():
    c = client()
    c.track("recording_started", {"mode": "hdr"})
    c.track("no_props")
    c.track("none_props", None)
    c.track("keyword", properties={"n": 1})
    eq(depth(c), 5)


def test_every_value_type_is_accepted():
    c = client()
    c.track(
        "values",
        {
            "none": None,
            "t": True,
            "f": False,
            "zero": 0,
            "small": -5,
            "big": 2**64 - 1,
            "most_negative": -(2**63),
            "float": 36.5,
            "str": "hé ✓",
            "empty": "",
            "bytes": b"\x00\x01",
            "bytearray": bytearray(b"ab"),
            "list": [1, "two", 3.0, None],
            "tuple": (1, 2),
            "dict": {"nested": {"deeper": [True]}},
        },
    )
    eq(depth(c), 2)


def test_nothing_is_queued_when_refused():
    c = client()
    before = c.queue_stats()
    invalid(c.track, "", {})
    invalid(c.track, "x", {"$device_id": 1})
    after = c.queue_stats()
    eq(after["depth"], before["depth"])
    eq(after["bytes_used"], before["bytes_used"])


def test_event_names():
    c = client()
    for bad in ("", " ", "\t", "x" * 129, "é" * 65, None, 5, b"name"):
        invalid(c.track, bad)
    c.track("x" * 128)
    c.track("é" * 64)  # 128 UTF-8 bytes
    c.track("$custom_event")
    eq(depth(c), 4)


def test_properties_must_be_a_dict():
    c = client()
    for bad in ([], [("a", 1)], "a=1", 5, (1,)):
        e = invalid(c.track, "x", bad)
        eq(str(e), "properties must be a dict")


def test_keys_must_be_non_blank_strings():
    c = client()
    e = invalid(c.track, "x", {1: "a"})
    eq(str(e), "property keys must be strings")
    invalid(c.track, "x", {b"k": 1})
    invalid(c.track, "x", {"": 1})
    invalid(c.track, "x", {" ": 1})
    invalid(c.track, "x", {"nested": {3: 1}})


RESERVED = (
    "$anon_distinct_id",
    "$battery_level",
    "distinct_id",
    "$device_id",
    "$device_model",
    "$environment",
    "$firmware_version",
    "$sdk_platform",
    "$sdk_version",
    "$session_id",
    "$wifi_rssi",
)

PROMOTED = (
    "$device_id",
    "$device_model",
    "$firmware_version",
    "$sdk_platform",
    "$sdk_version",
    "$environment",
    "$session_id",
)


def test_reserved_keys_are_refused():
    c = client()
    for key in RESERVED:
        invalid(c.track, "x", {key: 1})
    c.track("x", {"$custom": 1, "$device": 2, "device_id": 3})
    eq(depth(c), 2)


def test_promoted_keys_are_refused_when_nested():
    c = client()
    for key in PROMOTED:
        invalid(c.track, "x", {"outer": {key: 1}})
        invalid(c.track, "x", {"outer": [{"a": {key: 1}}]})
    invalid(c.track, "x", {"outer": {"distinct_id": 1}})
    c.track("x", {"outer": {"$battery_level": 2, "device_id": 3}})


def test_reserved_wire_names_take_strings_only():
    c = client()
    for key in ("reset_reason", "state", "previous_version", "new_version", "session_name"):
        c.track("x", {key: "text"})
        for bad in (1, None, True, 1.5, b"x", ["a"], {"a": "b"}):
            invalid(c.track, "x", {key: bad})
        c.track("x", {"outer": {key: 1}})


def test_at_most_64_properties():
    c = client(max_event_bytes=8192)
    props = {}
    for i in range(64):
        props["k%d" % i] = i
    c.track("x", props)
    props["k64"] = 64
    e = invalid(c.track, "x", props)
    true("64" in str(e), str(e))


def nest(levels):
    value = 1
    for _ in range(levels):
        value = [value]
    return value


def test_eight_nested_containers_are_accepted_not_nine():
    c = client()
    c.track("x", {"v": nest(8)})
    c.track("x", {"v": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}})
    e = invalid(c.track, "x", {"v": nest(9)})
    true("8" in str(e), str(e))


def test_integers_must_fit_64_bits():
    c = client()
    c.track("x", {"a": 2**64 - 1, "b": -(2**63), "c": 2**63})
    for bad in (2**64, -(2**63) - 1, 2**100, -(2**100)):
        e = invalid(c.track, "x", {"a": bad})
        true("range" in str(e), str(e))


def test_floats_must_be_finite():
    c = client()
    for bad in (float("nan"), float("inf"), float("-inf")):
        invalid(c.track, "x", {"a": bad})
        invalid(c.track, "x", {"a": [bad]})


def test_unsupported_values():
    c = client()
    for bad in (object(), {1, 2}, len, client):
        e = invalid(c.track, "x", {"a": bad})
        eq(str(e), "unsupported property value")


def test_max_event_bytes():
    c = client(max_event_bytes=200)
    c.track("x", {"s": "a" * 100})
    e = invalid(c.track, "x", {"s": "a" * 300})
    true("max_event_bytes" in str(e), str(e))


def test_strings_longer_than_the_wire_allows_are_refused():
    c = client()
    c.track("x", {"s": "a" * 512})
    invalid(c.track, "x", {"s": "a" * 513})


def test_event_larger_than_the_buffer_is_a_storage_error():
    c = client(event_buffer=bytearray(256))
    e = raises(honch.StorageError, c.track, "x", {"s": "a" * 400})
    eq(e.status, 10)
    s = c.queue_stats()
    eq(s["oversized_rejected_events"], 1)
    eq(s["depth"], 1)


def test_full_buffer_drops_the_oldest():
    c = client(event_buffer=bytearray(512))
    for i in range(100):
        c.track("tick", {"i": i})
    s = c.queue_stats()
    true(s["capacity_dropped_events"] > 0, "some events were dropped")
    eq(s["depth"] + s["capacity_dropped_events"], 101)
    true(s["bytes_used"] <= 512, "bytes within the buffer")


def test_max_queued_events_bounds_the_queue():
    c = client(max_queued_events=5)
    for i in range(20):
        c.track("tick", {"i": i})
    s = c.queue_stats()
    eq(s["depth"], 5)
    eq(s["capacity_dropped_events"], 16)
    eq(s["high_watermark_depth"], 5)


def test_the_event_buffer_cannot_be_a_property_value():
    buf = bytearray(1024)
    c = client(event_buffer=buf)
    invalid(c.track, "x", {"b": buf})
    invalid(c.track, "x", {"b": memoryview(buf)[10:20]})


def test_resized_buffer_is_detected():
    buf = bytearray(1024)
    c = client(event_buffer=buf)
    try:
        buf.extend(b"0" * 100)
    except BufferError:
        skip("CPython: the SDK holds the buffer's export, so it cannot be resized at all")
    e = raises(honch.StorageError, c.track, "x")
    true("event_buffer" in str(e), str(e))
