import honch
from check import config, client, eq, true, raises, invalid


def test_valid_construction_queues_boot_event():
    c = client()
    s = c.queue_stats()
    eq(s["depth"], 1, "depth after construction ($device_boot)")
    eq(s["bytes_capacity"], 8192)
    eq(c.get_device_id(), "dev-001")


def test_queue_stats_has_the_seven_keys():
    s = client().queue_stats()
    for key in (
        "depth",
        "bytes_used",
        "bytes_capacity",
        "capacity_dropped_events",
        "oversized_rejected_events",
        "dead_lettered_events",
        "high_watermark_depth",
    ):
        true(key in s, "queue_stats lacks " + key)
        true(isinstance(s[key], int), key + " is an int")


def test_missing_or_blank_required_fields_name_the_field():
    for field in ("api_key", "device_id", "device_model", "firmware_version"):
        for bad in (None, "", "   ", "\t\n"):
            e = invalid(honch.Honch, **config(**{field: bad}))
            true(field in str(e), "message names %s: %s" % (field, e))
        kw = config()
        del kw[field]
        e = invalid(honch.Honch, **kw)
        true(field in str(e), "message names %s: %s" % (field, e))


def test_event_buffer_must_be_writable():
    for bad in (b"x", b"", "text", 42, None):
        e = invalid(honch.Honch, **config(event_buffer=bad))
        true("event_buffer" in str(e), str(e))
    kw = config()
    del kw["event_buffer"]
    invalid(honch.Honch, **kw)


def test_event_buffer_too_small():
    e = invalid(honch.Honch, **config(event_buffer=bytearray(8)))
    true("event_buffer" in str(e), str(e))


def test_other_writable_buffers_work():
    c = client(event_buffer=memoryview(bytearray(1024)))
    eq(c.queue_stats()["bytes_capacity"], 1024)


def test_non_positive_sizes_and_timeout():
    for field in ("max_queued_events", "max_event_bytes", "transport_timeout_ms"):
        for bad in (0, -1):
            e = invalid(honch.Honch, **config(**{field: bad}))
            true(field in str(e), str(e))


def test_wrong_types_name_the_field():
    for field, bad in (
        ("api_key", 123),
        ("device_id", 7),
        ("batch_size", "20"),
        ("batch_size", True),
        ("max_queued_events", 1.5),
        ("connectivity_callback", 5),
    ):
        e = invalid(honch.Honch, **config(**{field: bad}))
        true(field in str(e), "%s: %s" % (field, e))


def test_unknown_keyword_is_refused():
    e = invalid(honch.Honch, **config(queue_size=5))
    true("queue_size" in str(e), str(e))


def test_python_hooks_are_refused():
    for hook in ("platform", "transport", "battery_callback", "auto_properties_callback"):
        invalid(honch.Honch, **config(**{hook: object()}))
        client(**{hook: None})


def test_positional_arguments_are_refused():
    invalid(honch.Honch, "key")


def test_optional_values_are_accepted():
    c = client(
        endpoint_url="http://127.0.0.1:9",
        environment="test",
        batch_size=500,
        max_queued_events=8,
        max_event_bytes=4096,
        transport_timeout_ms=60000,
        flush_interval_seconds=60,
        flush_min_interval_ms=0xFFFFFFFF,
        flush_event_threshold=5,
        flush_retry_initial_ms=500,
        flush_retry_max_ms=100,
        battery_low_threshold=20,
        connectivity_callback=lambda: True,
    )
    eq(c.queue_stats()["max_queued_events"], 8)


def test_values_beyond_64_bits_are_refused_not_overflowed():
    e = invalid(honch.Honch, **config(flush_min_interval_ms=2**70))
    true("flush_min_interval_ms" in str(e), str(e))


def test_clients_are_independent():
    a = client(device_id="a")
    b = client(device_id="b")
    a.track("only_a")
    eq(a.queue_stats()["depth"], 2)
    eq(b.queue_stats()["depth"], 1)
    eq(b.get_device_id(), "b")
