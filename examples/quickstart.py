"""Quick start: the same script runs on MicroPython (firmware with _honch_core) and CPython.

    HONCH_ENDPOINT=http://127.0.0.1:8000 HONCH_API_KEY=demo-key micropython examples/quickstart.py
    HONCH_ENDPOINT=http://127.0.0.1:8000 HONCH_API_KEY=demo-key python3 examples/quickstart.py

scripts/quickstart.sh starts a local collector and runs it on both runtimes.
"""

import os
import sys

import honch

client = honch.Honch(
    api_key=os.getenv("HONCH_API_KEY") or "demo-key",
    endpoint_url=os.getenv("HONCH_ENDPOINT") or "http://127.0.0.1:8000",
    device_id="dev-001-" + sys.implementation.name,
    device_model="ActionCam X1",
    firmware_version="1.2.3",
    event_buffer=bytearray(8192),
    # HTTPS against your own CA (for example the local collector's test CA): HONCH_CA=ca.pem
    ca_certs=open(os.getenv("HONCH_CA")).read() if os.getenv("HONCH_CA") else None,
)
client.identify("user-123", {"plan": "beta"})
client.session_start("recording")
client.track("recording_started", {"mode": "hdr", "fps": 60})
client.track("recording_stopped", {"seconds": 12.5})
client.session_end()

try:
    client.track("bad event", {"$device_id": "spoofed"})
except honch.InvalidArgumentError as e:
    print("refused as expected:", e)

print(sys.implementation.name, "honch", honch.__version__, "queued:", client.queue_stats()["depth"])
try:
    client.flush()
    print("flushed; queued now:", client.queue_stats()["depth"])
except honch.HonchError as e:
    print("flush failed:", type(e).__name__, e, client.last_error())
client.shutdown()
