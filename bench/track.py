"""Engine benchmark: heap and time figures for import, construction and track(), printed as
`name value unit` lines. Runs unchanged on MicroPython and CPython (scripts/bench.sh)."""

import gc
import sys
import time

MICROPYTHON = sys.implementation.name == "micropython"
RUNTIME = sys.implementation.name


def heap_used():
    gc.collect()
    if MICROPYTHON:
        return gc.mem_alloc()
    import tracemalloc

    return tracemalloc.get_traced_memory()[0]


def now_us():
    if MICROPYTHON:
        return time.ticks_us()
    return int(time.perf_counter() * 1_000_000)


def elapsed_us(start):
    if MICROPYTHON:
        return time.ticks_diff(time.ticks_us(), start)
    return now_us() - start


def report(name, value, unit):
    print("%s.%s %s %s" % (RUNTIME, name, value, unit))


if not MICROPYTHON:
    import tracemalloc

    tracemalloc.start()

before = heap_used()
import honch  # noqa: E402

report("import_heap", heap_used() - before, "bytes")

buffer = bytearray(8192)
before = heap_used()
client = honch.Honch(
    api_key="bench-key",
    device_id="dev-001",
    device_model="ActionCam X1",
    firmware_version="1.2.3",
    event_buffer=buffer,
)
report("construct_heap", heap_used() - before, "bytes")

props = {"mode": "hdr", "n": 0}
for i in range(2000):  # warm-up: fills the buffer, so the drop-oldest path is exercised
    props["n"] = i
    client.track("recording_started", props)
before = heap_used()
for i in range(1000):
    props["n"] = i
    client.track("recording_started", props)
report("track_heap_growth_per_1000", heap_used() - before, "bytes")

if not MICROPYTHON:
    tracemalloc.stop()
N = 10000
start = now_us()
for i in range(N):
    client.track("recording_started", {"mode": "hdr", "n": i})
total = elapsed_us(start)
report("track_mean", "%.2f" % (total / N), "us")

# The same loop without the SDK call, to show what the loop and the dict literal cost.
start = now_us()
for i in range(N):
    d = {"mode": "hdr", "n": i}
report("loop_overhead_mean", "%.2f" % (elapsed_us(start) / N), "us")
stats = client.queue_stats()
report("queue_depth_after", stats["depth"], "events")
