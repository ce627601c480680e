import honch
from check import client, eq, true, invalid


def depth(c):
    return c.queue_stats()["depth"]


def test_identify_queues_one_event():
    c = client()
    c.identify("user-123", {"plan": "beta"})
    c.identify("user-456")
    c.identify(distinct_id="user-789", traits=None)
    eq(depth(c), 4)


def test_identify_validation():
    c = client()
    for bad in ("", "  ", "x" * 257, None, 12):
        invalid(c.identify, bad)
    c.identify("x" * 256)
    invalid(c.identify, "u", {"$anon_distinct_id": "spoof"})
    invalid(c.identify, "u", [1])
    traits = {}
    for i in range(63):
        traits["t%d" % i] = i
    c.identify("u", traits)
    traits["t63"] = 63
    invalid(c.identify, "u", traits)


def test_sessions():
    c = client()
    c.session_start("recording")
    c.track("inside")
    c.session_start()  # ends the first session, starts another
    c.session_end()
    c.session_end()  # no session: nothing queued
    eq(depth(c), 1 + 1 + 1 + 2 + 1)


def test_reset_clears_the_queue_and_keeps_the_device_id():
    c = client()
    c.identify("user-1")
    c.session_start("s")
    c.reset()
    eq(depth(c), 0)
    eq(c.get_device_id(), "dev-001")
    c.track("after_reset", {})
    eq(depth(c), 1)


def test_set_property():
    c = client()
    c.set_property("favorite_mode", "night")
    c.set_property("flag")
    c.set_property(key="nested", value={"a": [1, 2]})
    eq(depth(c), 4)
    for bad in ("", " ", None, 5):
        invalid(c.set_property, bad, 1)
    invalid(c.set_property, "$device_id", "x")
    invalid(c.set_property, "state", 1)
    invalid(c.set_property, "k", float("nan"))
    eq(depth(c), 4)


def test_connectivity_changes_queue_once_per_change():
    c = client()
    c.connectivity_changed(False)
    c.connectivity_changed(False)
    c.connected()
    c.connected()
    c.disconnected()
    eq(depth(c), 1 + 3)
    for bad in (1, 0, None, "yes"):
        e = invalid(c.connectivity_changed, bad)
        eq(str(e), "connected must be a boolean")
    c.reset()
    c.disconnected()
    eq(depth(c), 1)
