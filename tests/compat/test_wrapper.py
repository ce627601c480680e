"""The published honch-micropython 0.3.1 wrapper (downloaded from PyPI at test time by
tests/compat/run-wrapper.sh) running unchanged on top of our _honch_core.Client."""

import honch
import _honch_core
from check import eq, true, raises
from e2e import API_KEY, endpoint, delivered, now_ms

DEVICE = "wrapper-%d" % (now_ms() % 1000000)


def make(**kw):
    config = dict(
        api_key=API_KEY,
        endpoint_url=endpoint("ok"),
        device_id=DEVICE,
        device_model="Wrapper Board",
        firmware_version="w-1",
        environment="compat",
        event_buffer=bytearray(8192),
    )
    config.update(kw)
    return honch.Honch(**config)


def test_the_wrapper_in_use_is_0_3_1_over_our_module():
    eq(honch.__version__, "0.3.1")
    true(honch.HonchError is not _honch_core.HonchError, "the wrapper's own error classes")
    true(hasattr(_honch_core, "Client"), "our module provides Client")


def test_scenario_delivers_through_the_wrapper():
    c = make()
    eq(c.get_device_id(), DEVICE)
    c.identify("wrapper-user", {"plan": "beta", "cohort": "local"})
    c.session_start("recording")
    c.track("wrapper_edge", {"source": "wrapper", "quote": 'say "hi"', "n": [1, 2]})
    c.set_property("favorite_mode", "night")
    c.session_end()
    c.report_log_error("bus timeout", component="sensor")
    c.connected()
    c.flush()
    eq(c.queue_stats()["depth"], 0)
    eq(c.last_error()["status"], "ok")
    c.shutdown()
    got = [e for e in delivered("ok") if e["properties"].get("$device_id") == DEVICE]
    names = [e["event"] for e in got]
    eq(names[:5], ["$device_boot", "$identify", "$session_start", "wrapper_edge", "$set_property"])
    true("$error" in names and "$connectivity_change" in names and "$device_shutdown" in names, str(names))
    edge = got[3]["properties"]
    eq((edge["source"], edge["quote"], edge["n"]), ("wrapper", 'say "hi"', [1, 2]))
    eq(got[4]["properties"]["favorite_mode"], "night")
    eq(got[1]["distinct_id"], "wrapper-user")


def test_errors_map_to_the_wrappers_classes():
    c = make(device_id=DEVICE + "-err")
    raises(honch.InvalidArgumentError, c.track, "x", {"$device_id": "spoof"})
    raises(honch.InvalidArgumentError, c.track, "")
    bad = make(device_id=DEVICE + "-refused", endpoint_url="http://127.0.0.1:9")
    raises(honch.TransportError, bad.flush)
    eq(bad.last_error()["reason"], "connect_refused")
    bad.shutdown()


def test_run_reports_a_crash_through_the_wrapper():
    c = make(device_id=DEVICE + "-crash")

    def main():
        raise ValueError("wrapped crash")

    raises(ValueError, c.run, main)
    got = [e for e in delivered("ok") if e["properties"].get("$device_id") == DEVICE + "-crash"]
    crash = [e for e in got if e["event"] == "$crash"]
    eq(len(crash), 1)
    eq(crash[0]["properties"]["exception_cause"], "ValueError")
    eq(crash[0]["properties"]["message"], "wrapped crash")
