"""Values round-trip exactly through the queue: the records are read back out of
event_buffer with a decoder of the record layout (README, "The queue and memory") written
here, independently of the SDK. On single-precision ports (rp2, esp32, the qemu boards) a
float is stored as float32, the value the device holds (product.md Decision 15)."""

import struct

from check import client, eq, true

# Packed value tags (the SDK's own record format, not the wire format).
NULL, FALSE, TRUE, UINT, NEG, F32, F64, STR, BYTES, ARRAY, MAP = range(11)
SESSION_FLAG = 1
SINGLE_PRECISION = 1.0 + 2.0**-30 == 1.0


def uvarint(b, i):
    shift = value = 0
    while True:
        byte = b[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def text(b, i):
    n, i = uvarint(b, i)
    return bytes(b[i : i + n]).decode(), i + n


def value(b, i):
    """One packed value at b[i]: (tag, python value, next index)."""
    t = b[i]
    i += 1
    if t == NULL:
        return t, None, i
    if t in (FALSE, TRUE):
        return t, t == TRUE, i
    if t == UINT:
        v, i = uvarint(b, i)
        return t, v, i
    if t == NEG:
        z, i = uvarint(b, i)
        return t, -(z >> 1) - 1 if z & 1 else z >> 1, i
    if t == F32:
        return t, struct.unpack("<f", bytes(b[i : i + 4]))[0], i + 4
    if t == F64:
        return t, struct.unpack("<d", bytes(b[i : i + 8]))[0], i + 8
    if t in (STR, BYTES):
        n, i = uvarint(b, i)
        raw = bytes(b[i : i + n])
        return t, raw.decode() if t == STR else raw, i + n
    if t == ARRAY:
        n, i = uvarint(b, i)
        items = []
        for _ in range(n):
            _, v, i = value(b, i)
            items.append(v)
        return t, items, i
    if t == MAP:
        v, i = pairs(b, i)
        return t, dict((k, x) for k, (_, x) in v.items()), i
    raise AssertionError("unknown tag %d at %d" % (t, i - 1))


def pairs(b, i):
    """A map body: {key: (tag, value)}."""
    n, i = uvarint(b, i)
    out = {}
    for _ in range(n):
        k, i = text(b, i)
        t, v, i = value(b, i)
        out[k] = (t, v)
    return out, i


def records(buf):
    """(name, properties) of every record, in buffer order (no wrap: a large buffer)."""
    out = []
    i = 0
    while i + 4 <= len(buf):
        length = struct.unpack("<I", bytes(buf[i : i + 4]))[0]
        if length == 0:
            break
        p = i + 4
        flags = buf[p]
        _, p = uvarint(buf, p + 1)  # timestamp
        if flags & SESSION_FLAG:
            p += 16
        _, p = text(buf, p)  # distinct id
        name, p = text(buf, p)
        props, p = pairs(buf, p)
        eq(p, i + length, "record %s ends where its length says" % name)
        out.append((name, props))
        i += length
    return out


INTS = {
    "zero": 0,
    "small_max": 2**30 - 1,
    "p30": 2**30,
    "n30": -(2**30),
    "n30m1": -(2**30) - 1,
    "p31": 2**31,
    "p32": 2**32,
    "p40": 2**40,
    "n40": -(2**40),
    "p63m1": 2**63 - 1,
    "p63": 2**63,
    "n63": -(2**63),
    "p64m1": 2**64 - 1,
}


def test_integers_round_trip_exactly():
    buf = bytearray(4096)
    c = client(event_buffer=buf)
    c.track("ints", INTS)
    name, props = records(buf)[-1]
    eq(name, "ints")
    for key in INTS:
        tag, v = props[key]
        eq(v, INTS[key], key)
        eq(tag, UINT if INTS[key] >= 0 else NEG, "tag of " + key)


def test_floats_round_trip_as_the_device_holds_them():
    floats = {"temp": 36.6, "tiny": 1e-30, "neg": -2.5, "third": 1 / 3, "big": 3.0e38}
    buf = bytearray(4096)
    c = client(event_buffer=buf)
    c.track("floats", floats)
    _, props = records(buf)[-1]
    for key in floats:
        tag, v = props[key]
        eq(tag, F32 if SINGLE_PRECISION else F64, "tag of " + key)
        eq(v, floats[key], key)


def test_nested_containers_round_trip():
    nested = {
        "list": [1, -1, "two", None, True, False, [b"\x00\xff", {"k": 2**40}]],
        "tuple": (1, (2, (3,))),
        "map": {"a": {"b": {"c": {"d": "deep"}}}},
        "text": "caf\u00e9 \u2603",
        "blob": bytearray(b"\x01\x02"),
    }
    buf = bytearray(4096)
    c = client(event_buffer=buf)
    c.track("nested", nested)
    _, props = records(buf)[-1]
    eq(props["list"][1], [1, -1, "two", None, True, False, [b"\x00\xff", {"k": 2**40}]])
    eq(props["tuple"][1], [1, [2, [3]]])
    eq(props["map"][1], nested["map"])
    eq(props["text"], (STR, nested["text"]))
    eq(props["blob"], (BYTES, b"\x01\x02"))


def test_the_boot_event_is_the_first_record():
    buf = bytearray(1024)
    client(event_buffer=buf)
    found = records(buf)
    eq(len(found), 1)
    eq(found[0][0], "$device_boot")
    true(found[0][1]["reset_reason"] == (STR, "unknown"), repr(found[0][1]))
