"""Quick start: the same script runs on MicroPython (firmware with _honch_core) and CPython.

    micropython examples/quickstart.py
    python3 examples/quickstart.py
"""

import sys

import honch

client = honch.Honch(
    api_key="demo-key",
    endpoint_url="http://127.0.0.1:9",
    device_id="dev-001",
    device_model="ActionCam X1",
    firmware_version="1.2.3",
    event_buffer=bytearray(8192),
)
client.identify("user-123", {"plan": "beta"})
client.session_start("recording")
client.track("recording_started", {"mode": "hdr", "fps": 60, "hdr": True})
client.track("recording_stopped", {"seconds": 12.5})
client.session_end()

try:
    client.track("bad event", {"$device_id": "spoofed"})
except honch.InvalidArgumentError as e:
    print("refused as expected:", e)

print(sys.implementation.name, "honch", honch.__version__, "device", client.get_device_id())
stats = client.queue_stats()
for key in sorted(stats):
    print("  %s = %s" % (key, stats[key]))
