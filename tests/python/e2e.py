"""Helpers for the end-to-end tests: the local collectors started by
tests/e2e/with-collectors.sh, and a clock that works on both runtimes."""

import json
import os
import time

try:
    getenv = os.getenv
except AttributeError:  # a MicroPython port without os.getenv
    getenv = lambda name, default=None: default  # noqa: E731


def collectors():
    """{name: (endpoint_url, events_file)}; empty when the suite runs without collectors."""
    found = {}
    for entry in (getenv("HONCH_COLLECTORS") or "").split(";"):
        if entry:
            name, port, path = entry.split("=", 2)
            # HTTPS by host name: the test certificates name localhost (and 127.0.0.1, which
            # MicroPython builds on mbedTLS 2.x cannot match).
            url = ("https://localhost:" if name.startswith("tls_") else "http://127.0.0.1:") + port
            found[name] = (url, path)
    return found


API_KEY = getenv("HONCH_API_KEY") or "e2e-key"


def endpoint(name):
    setups = collectors()
    if name not in setups:
        raise AssertionError(
            "collector %r not running: run the suite through tests/e2e/with-collectors.sh" % name
        )
    return setups[name][0]


def delivered(name):
    """The events collector `name` accepted so far, in order (dicts)."""
    with open(collectors()[name][1]) as f:
        return [json.loads(line) for line in f.read().split("\n") if line.strip()]


def now_ms():
    if hasattr(time, "ticks_ms"):
        return time.ticks_ms()
    return int(time.monotonic() * 1000)


def elapsed_ms(start):
    if hasattr(time, "ticks_diff"):
        return time.ticks_diff(time.ticks_ms(), start)
    return now_ms() - start


def sleep_ms(ms):
    if hasattr(time, "sleep_ms"):
        time.sleep_ms(ms)
    else:
        time.sleep(ms / 1000)


def test_ca(der=False):
    """The test CA the tls_* collectors' certificates chain to (PEM text or DER bytes)."""
    path = getenv("HONCH_TEST_CA_DER" if der else "HONCH_TEST_CA")
    if not path:
        raise AssertionError("no test CA: run the suite through tests/e2e/with-collectors.sh")
    with open(path, "rb" if der else "r") as f:
        return f.read()


RUNTIME = "micropython" if __import__("sys").implementation.name == "micropython" else "cpython"
_serial = [0]


def unique_device(tag):
    """A device id unique to this run, so tests sharing a collector can tell their events apart."""
    _serial[0] += 1
    return "%s-%s-%d-%d" % (RUNTIME, tag, _serial[0], now_ms() % 1000000)


def events_of(collector, device):
    """The events `collector` accepted from `device`, in order."""
    return [e for e in delivered(collector) if e["properties"].get("$device_id") == device]
