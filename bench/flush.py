"""Delivery benchmark: one flush() of 50 queued events to the local collector, printed as
`name value unit` lines (scripts/bench.sh starts the collector and counts the requests).

    HONCH_ENDPOINT=http://127.0.0.1:PORT HONCH_API_KEY=bench-key <runtime> bench/flush.py once|repeat
"""

import gc
import os
import sys
import time

import honch

MICROPYTHON = sys.implementation.name == "micropython"
RUNTIME = sys.implementation.name
MODE = sys.argv[1] if len(sys.argv) > 1 else "once"
# "https" when HONCH_CA names the CA of a TLS collector.
CA_FILE = os.getenv("HONCH_CA")
SCHEME = "https" if CA_FILE else "http"


def report(name, value, unit):
    print("%s.%s_%s %s %s" % (RUNTIME, SCHEME, name, value, unit))


def now_us():
    return time.ticks_us() if MICROPYTHON else int(time.perf_counter() * 1_000_000)


def elapsed_us(start):
    return time.ticks_diff(time.ticks_us(), start) if MICROPYTHON else now_us() - start


def heap():
    gc.collect()
    if MICROPYTHON:
        return gc.mem_alloc()
    import tracemalloc

    return tracemalloc.get_traced_memory()[0]


client = honch.Honch(
    api_key=os.getenv("HONCH_API_KEY"),
    endpoint_url=os.getenv("HONCH_ENDPOINT"),
    device_id="bench-" + RUNTIME,
    device_model="Bench Board",
    firmware_version="1.0.0",
    event_buffer=bytearray(16384),
    batch_size=50,
    ca_certs=open(CA_FILE).read() if CA_FILE else None,
)


def queue_49():
    for i in range(49):  # plus $device_boot (first round) or the previous shutdown-free state
        client.track("recording_started", {"mode": "hdr", "n": i})


if not MICROPYTHON:
    import tracemalloc

    tracemalloc.start()

if MODE == "once":
    queue_49()  # 49 + $device_boot = 50 events
    before = heap()
    if MICROPYTHON:
        gc.disable()
        start_alloc = gc.mem_alloc()
    else:
        tracemalloc.reset_peak()
    start = now_us()
    client.flush()
    took = elapsed_us(start)
    if MICROPYTHON:
        report("flush_heap_peak", gc.mem_alloc() - start_alloc, "bytes")
        gc.enable()
    else:
        report("flush_heap_peak", tracemalloc.get_traced_memory()[1] - before, "bytes")
    report("flush_50_events", "%.2f" % (took / 1000), "ms")
    report("flush_heap_after", heap() - before, "bytes")
    report("queue_depth_after", client.queue_stats()["depth"], "events")
else:
    client.track("warm")
    client.flush()
    before = heap()
    for _ in range(100):
        for i in range(50):
            client.track("recording_started", {"mode": "hdr", "n": i})
        client.flush()
    report("heap_growth_over_100_flushes", heap() - before, "bytes")
