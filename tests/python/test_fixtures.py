"""The SDK-behaviour vectors of ../shared/conformance/events/, driven through the public API
and checked on what the local collector received."""

import json
import os

import honch
from check import eq, true, raises
from e2e import API_KEY, endpoint, delivered

HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
FIXTURES = HERE + "/../../../shared/conformance/events"
_serial = [0]


def fixtures():
    names = sorted(n for n in os.listdir(FIXTURES) if n.endswith(".json"))
    true(len(names) >= 7, "the events fixtures are there (%s)" % FIXTURES)
    for name in names:
        with open(FIXTURES + "/" + name) as f:
            yield name, json.load(f)


def make_client(config, fallback_device):
    _serial[0] += 1
    kw = {
        "api_key": API_KEY,
        "device_id": config.get("device_id") or fallback_device,
        "device_model": config.get("device_model") or "FixtureBoard",
        "firmware_version": config.get("firmware_version") or "1.2.3",
        "environment": config.get("environment"),
        "endpoint_url": endpoint("ok"),
        "event_buffer": bytearray(8192),
    }
    # Collector output is shared: keep this run's events apart by device id.
    kw["device_id"] = "%s~%d" % (kw["device_id"], _serial[0])
    return honch.Honch(**kw), kw["device_id"]


def matches(expected, actual, what):
    if expected == "*":
        true(actual is not None, what + " is present")
    elif isinstance(expected, str) and expected.endswith("*"):
        true(isinstance(actual, str) and actual.startswith(expected[:-1]), "%s: %r" % (what, actual))
    else:
        eq(actual, expected, what)


def check_event(expected, got, device, fixture_device):
    eq(got["event"], expected["event"], "event")
    want_distinct = expected.get("distinct_id")
    if want_distinct is not None:
        # The fixture's device id was made unique per run; other distinct ids are as given.
        eq(got["distinct_id"], device if want_distinct == fixture_device else want_distinct, "distinct_id")
    for key in expected.get("properties", {}):
        want = expected["properties"][key]
        if key == "$device_id" and want == fixture_device:
            want = device
        matches(want, got["properties"].get(key), key)


def events_of(device):
    return [e for e in delivered("ok") if e["properties"].get("$device_id") == device]


def run_fixture(name, fx):
    config = fx.get("config") or fx.get("input", {}).get("config", {})
    expected = fx.get("expect") or fx.get("expected") or {}
    fixture_device = config.get("device_id") or expected.get("distinct_id") or "dev_fixture"
    persistent = fx.get("applies_when", {}).get("state_storage") == "persistent"
    c, device = make_client(config, fixture_device)

    if "input" in fx:
        op = fx["input"]
        if expected.get("error") == "invalid_argument":
            raises(honch.InvalidArgumentError, c.track, op["event"], op.get("properties"))
            eq(c.queue_stats()["depth"], 1, name + ": nothing queued")
            return
        c.track(op["event"], op.get("properties"))
    for op in fx.get("operations", []):
        kind = op["op"]
        if kind == "track":
            c.track(op["event"], op.get("properties"))
        elif kind == "identify":
            c.identify(op["distinct_id"], op.get("traits"))
        elif kind == "reset":
            c.reset()
        elif kind == "session_start":
            c.session_start(op.get("session_name"))
        elif kind == "session_end":
            c.session_end()
        elif kind == "reboot":
            # This SDK keeps identity in RAM only: a reboot is a new client on the same device.
            c.shutdown()
            c = honch.Honch(api_key=API_KEY, device_id=device, device_model="FixtureBoard",
                            firmware_version="1.2.3", endpoint_url=endpoint("ok"),
                            event_buffer=bytearray(8192))
            c.reset()  # drop the new $device_boot so only the fixture's events remain queued
        else:
            raise AssertionError("%s: unknown op %s" % (name, kind))

    queued_key = [k for k in expected if k.startswith("queued_events_after")]
    if queued_key:
        eq(c.queue_stats()["depth"], len(expected[queued_key[0]]), name + ": queued events")
    c.flush()
    got = events_of(device)
    true(got, name + ": events were delivered")

    if "event" in expected:
        check_event(expected, got[-1], device, fixture_device)
    if queued_key:
        tail = got[-len(expected[queued_key[0]]):]
        eq([e["event"] for e in tail], expected[queued_key[0]], name)
    if "final_distinct_id" in expected:
        eq(got[-1]["distinct_id"], device, name + ": back to the device id")
    if "pre_identify_distinct_id_after_reboot" in expected:
        true(persistent, name + " applies to persistent state storage only")
        # Volatile by design (micropython.md §3): identity does not survive a reboot.
        eq(got[-1]["distinct_id"], device, name + ": volatile identity after reboot")
    if "events" in expected:
        names = [e["event"] for e in got if e["event"] != "$device_boot"]
        eq(names, expected["events"], name)
        prefix = expected.get("session_id_prefix")
        for e in got:
            if e["event"] in expected.get("session_id_present_on", []):
                true(e["properties"].get("$session_id", "").startswith(prefix), name + ": session id on " + e["event"])


def test_event_fixtures():
    count = 0
    for name, fx in fixtures():
        run_fixture(name, fx)
        count += 1
    true(count >= 7, "ran %d fixtures" % count)
