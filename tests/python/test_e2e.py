"""End to end: the SDK against honch-collector on 127.0.0.1 (tests/e2e/with-collectors.sh
starts one collector per fault script of tests/e2e/collectors.json)."""

from micropython import const

import honch
import _honch_core
from check import eq, true, raises
from e2e import API_KEY, RUNTIME, endpoint, events_of, now_ms, elapsed_ms, sleep_ms
from e2e import unique_device as device


def client(collector, dev, **kw):
    config = dict(
        api_key=API_KEY,
        endpoint_url=endpoint(collector),
        device_id=dev,
        device_model="E2E Board",
        firmware_version="e2e-fw-1",
        environment="e2e",
        event_buffer=bytearray(8192),
        transport_timeout_ms=3000,
    )
    config.update(kw)
    return honch.Honch(**config)


def names(events):
    return [e["event"] for e in events]


def test_quick_start_delivers_exactly_the_expected_events():
    dev = device("quick")
    c = client("ok", dev)
    c.identify("user-123", {"plan": "beta"})
    c.session_start("recording")
    c.track("recording_started", {"mode": "hdr", "quote": 'say "hi"', "nested": {"a": [1, 2.5, None]}})
    c.session_end()
    c.flush()
    eq(c.queue_stats()["depth"], 0, "queue after flush")
    c.shutdown()
    got = events_of("ok", dev)
    eq(names(got), ["$device_boot", "$identify", "$session_start", "recording_started", "$session_end", "$device_shutdown"])
    boot, ident, start, rec, end, down = got
    for e in got:
        p = e["properties"]
        eq(p["$device_model"], "E2E Board")
        eq(p["$firmware_version"], "e2e-fw-1")
        eq(p["$environment"], "e2e")
        eq(p["$sdk_platform"], RUNTIME)
        eq(p["$sdk_version"], honch.__version__)
        true(e["timestamp"] > 1577836800000, "real-time timestamp")
    eq(boot["distinct_id"], dev)
    eq(boot["properties"]["reset_reason"], "unknown")
    eq(ident["distinct_id"], "user-123")
    eq(ident["properties"]["plan"], "beta")
    eq(ident["properties"]["$anon_distinct_id"], dev)
    eq(start["properties"]["session_name"], "recording")
    sid = start["properties"]["$session_id"]
    true(sid.startswith("sess_") and len(sid) == 37, "session id " + sid)
    eq(rec["properties"]["$session_id"], sid)
    eq(rec["properties"]["mode"], "hdr")
    eq(rec["properties"]["quote"], 'say "hi"')
    eq(rec["properties"]["nested"], {"a": [1, 2.5, None]})
    eq(end["properties"]["$session_id"], sid)
    true("$session_id" not in down["properties"], "no session after session_end")
    eq(down["distinct_id"], "user-123")


def test_response_policy_rows():
    # The "policy" collector answers its first ten requests with these statuses, in order.
    rejected = (400, 404, 413, 415, 422)
    retried = ((409, honch.TransportError, 4), (429, honch.RateLimitedError, 5), (500, honch.ServerError, 6),
               (503, honch.ServerError, 6), (408, honch.TransportError, 11))
    for status in rejected:
        c = client("policy", device("reject"))
        e = raises(honch.RejectedError, c.flush)
        eq(e.status, 7)
        err = c.last_error()
        eq((err["http"], err["reason"], err["status"]), (status, "http_status", "rejected"), "last_error")
        s = c.queue_stats()
        eq((s["depth"], s["dead_lettered_events"]), (0, 1), "dead-lettered on %d" % status)
    for status, cls, code in retried:
        c = client("policy", device("retry"))
        c.track("kept")
        e = raises(cls, c.flush)
        eq(e.status, code, "status for HTTP %d" % status)
        eq(c.last_error()["http"], status)
        eq(c.queue_stats()["depth"], 2, "kept on %d" % status)


def test_401_dead_letters_and_stops_uploads():
    dev = device("auth")
    c = client("auth", dev)
    e = raises(honch.RejectedError, c.flush)
    err = c.last_error()
    eq((err["reason"], err["http"], err["message"]), ("auth_invalid_key", 401, "API key invalid or revoked"))
    eq(c.queue_stats()["dead_lettered_events"], 1)
    c.track("still_queued")
    eq(c.queue_stats()["depth"], 1, "events keep queueing")
    raises(honch.RejectedError, c.flush)
    c.tick()
    eq(c.queue_stats()["depth"], 1, "tick sends nothing after a 401")
    eq(events_of("auth", dev), [])


def test_wrong_api_key_is_a_401():
    c = client("ok", device("badkey"), api_key="not-the-key")
    raises(honch.RejectedError, c.flush)
    eq(c.last_error()["reason"], "auth_invalid_key")


def test_503_twice_then_success_delivers_every_event_exactly_once():
    dev = device("s503")
    c = client("s503x2", dev)
    for i in range(3):
        c.track("e", {"i": i})
    raises(honch.ServerError, c.flush)
    raises(honch.ServerError, c.flush)
    c.flush()
    got = events_of("s503x2", dev)
    eq(names(got), ["$device_boot", "e", "e", "e"])
    eq([e["properties"].get("i") for e in got[1:]], [0, 1, 2])


def test_retry_after_delays_the_next_attempt():
    dev = device("retry_after")
    c = client("retry_after", dev)
    start = now_ms()
    e = raises(honch.RateLimitedError, c.flush)
    eq(c.last_error()["http"], 429)
    raises(honch.RateLimitedError, c.flush)  # refused at once, without a request
    c.tick()
    eq(events_of("retry_after", dev), [])
    while True:
        try:
            c.flush()
            break
        except honch.RateLimitedError:
            sleep_ms(100)
    true(elapsed_ms(start) >= 2000, "next attempt after %d ms" % elapsed_ms(start))
    eq(names(events_of("retry_after", dev)), ["$device_boot"])


HANG_TIMEOUT_MS = const(1000)


def test_a_server_that_never_answers_costs_at_most_the_timeout():
    c = client("hang", device("hang"), transport_timeout_ms=HANG_TIMEOUT_MS)
    start = now_ms()
    raises(honch.TransportError, c.flush)
    took = elapsed_ms(start)
    limit = HANG_TIMEOUT_MS * 12 // 10
    true(took <= limit, "flush returned after %d ms (timeout %d)" % (took, HANG_TIMEOUT_MS))
    eq(c.queue_stats()["depth"], 1, "events stay queued")
    eq(c.last_error()["reason"], "read_failed")


def test_a_dropped_connection_is_retried():
    dev = device("close")
    c = client("close", dev)
    raises(honch.TransportError, c.flush)
    c.flush()
    eq(names(events_of("close", dev)), ["$device_boot"])


def test_offline_callback():
    dev = device("offline")
    online = [False]
    c = client("ok", dev, connectivity_callback=lambda: online[0])
    c.tick()
    e = raises(honch.OfflineError, c.flush)
    eq(e.status, 15)
    true(isinstance(e, honch.TransportError), "OfflineError is a TransportError")
    eq(events_of("ok", dev), [])
    online[0] = True
    c.flush()
    eq(names(events_of("ok", dev)), ["$device_boot"])


def test_callback_exceptions_propagate():
    def broken():
        raise KeyError("callback failed")

    c = client("ok", device("broken"), connectivity_callback=broken)
    raises(KeyError, c.flush)


def test_connectivity_change_events_are_delivered():
    dev = device("conn")
    c = client("ok", dev)
    c.disconnected()
    c.connected()
    c.connected()
    c.flush()
    got = events_of("ok", dev)
    eq(names(got), ["$device_boot", "$connectivity_change", "$connectivity_change"])
    eq([e["properties"]["state"] for e in got[1:]], ["disconnected", "connected"])


def test_queue_overflow_drops_the_oldest_and_delivers_the_newest_in_order():
    dev = device("overflow")
    c = client("ok", dev, max_queued_events=5)
    for i in range(20):
        c.track("n", {"i": i})
    eq(c.queue_stats()["capacity_dropped_events"], 16)
    c.flush()
    eq([e["properties"]["i"] for e in events_of("ok", dev)], [15, 16, 17, 18, 19])


def test_one_flush_sends_a_full_batch_in_one_request():
    dev = device("batch")
    c = client("ok", dev, batch_size=50)
    for i in range(49):
        c.track("n", {"i": i})
    c.flush()
    eq(len(events_of("ok", dev)), 50)
    eq(c.queue_stats()["depth"], 0)


def test_tick_uploads_once_the_threshold_is_reached():
    dev = device("tick")
    c = client("ok", dev, flush_event_threshold=3)
    c.tick()  # one event queued: not due yet (the interval is 120 s)
    eq(events_of("ok", dev), [])
    c.track("a")
    c.track("b")
    c.tick()
    eq(names(events_of("ok", dev)), ["$device_boot", "a", "b"])


def test_refused_connection_and_shutdown_never_raises():
    c = honch.Honch(
        api_key=API_KEY,
        endpoint_url="http://127.0.0.1:9",
        device_id=device("refused"),
        device_model="m",
        firmware_version="1",
        event_buffer=bytearray(2048),
    )
    raises(honch.TransportError, c.flush)
    err = c.last_error()
    eq((err["reason"], err["component"]), ("connect_refused", "http"))
    c.shutdown()
    c.shutdown()
    raises(honch.NotInitializedError, c.track, "after")
    eq(c.get_device_id(), None)


def test_log_errors_and_crash_reports_are_delivered():
    dev = device("diag")
    c = client("ok", dev)
    c.report_log_error("bus timeout", component="sensor")
    c.report_log_error("bus timeout", component="sensor")
    c.report_log_error("ignored", component="honch")

    def main(x):
        raise ValueError("bad value %d" % x)

    e = raises(ValueError, c.run, main, 7)
    eq(str(e), "bad value 7")
    eq(c.run(lambda a, b=0: a + b, 1, b=2), 3)
    got = events_of("ok", dev)
    eq(names(got), ["$device_boot", "$crash", "$error"])
    crash = got[1]["properties"]
    eq((crash["source"], crash["severity"], crash["exception_cause"]), ("exception", "fatal", "ValueError"))
    eq(crash["message"], "bad value 7")
    true(len(crash["crash_id"]) == 32, "crash_id")
    # Crash site first: "<file>:<line> in main" (MicroPython keeps the path as printed).
    site = crash["backtrace"].split(" <- ")[0]
    true(site.split(":")[0].endswith("test_e2e.py") and site.endswith(" in main"), crash["backtrace"])
    err = got[2]["properties"]
    eq((err["level"], err["component"], err["message"], err["count"]), ("error", "sensor", "bus timeout", 2))


def test_invalid_endpoints_are_refused_at_construction():
    for url in ("ftp://x", "http://", "http://host:99999", "http://user@host", "http://h/p?q=1", "i.honch.io"):
        e = raises(honch.InvalidArgumentError, client, "ok", device("url"), endpoint_url=url)
        true("endpoint_url" in str(e), str(e))
