"""HTTPS end to end: certificates made at test time (tests/tls/make-certs.sh), collectors
serving them (tests/e2e/with-collectors.sh), the SDK verifying chain, dates and host name."""

import socket

import honch
import check
from check import eq, true, raises
from e2e import API_KEY, endpoint, events_of, now_ms, elapsed_ms, test_ca, unique_device


def device(tag):
    return unique_device("tls-" + tag)


def client(collector, dev, **kw):
    config = dict(
        api_key=API_KEY,
        endpoint_url=endpoint(collector),
        device_id=dev,
        device_model="TLS Board",
        firmware_version="1",
        event_buffer=bytearray(4096),
        ca_certs=test_ca(),
        transport_timeout_ms=3000,
    )
    config.update(kw)
    return honch.Honch(**config)


def test_a_trusted_chain_delivers_events():
    dev = device("ok")
    c = client("tls_ok", dev)
    c.track("secure", {"n": 1})
    c.flush()
    eq([e["event"] for e in events_of("tls_ok", dev)], ["$device_boot", "secure"])
    eq(c.last_error()["status"], "ok")


def test_a_der_trust_anchor_works_too():
    dev = device("der")
    c = client("tls_ok", dev, ca_certs=test_ca(der=True))
    c.flush()
    eq(len(events_of("tls_ok", dev)), 1)


def test_bad_certificates_are_refused_and_nothing_is_sent():
    for name in ("tls_expired", "tls_wrong_host", "tls_self_signed"):
        dev = device(name)
        c = client(name, dev)
        c.track("never_sent")
        raises(honch.TransportError, c.flush)
        err = c.last_error()
        eq((err["reason"], err["component"]), ("tls_cert", "http"), name)
        eq(c.queue_stats()["depth"], 2, name + ": events stay queued")
        eq(events_of(name, dev), [], name + ": nothing reached the server")


def test_the_bundled_root_does_not_trust_a_local_ca():
    c = client("tls_ok", device("default"), ca_certs=None)
    raises(honch.TransportError, c.flush)
    eq(c.last_error()["reason"], "tls_cert")


def test_a_handshake_that_stalls_fails_within_the_deadline():
    c = client("tls_stall", device("stall"), transport_timeout_ms=1000)
    start = now_ms()
    raises(honch.TransportError, c.flush)
    took = elapsed_ms(start)
    true(took <= 1200, "flush returned after %d ms (timeout 1000)" % took)
    eq(c.last_error()["reason"], "tls_handshake")
    eq(c.queue_stats()["depth"], 1)


def test_verification_can_be_turned_off_explicitly():
    dev = device("noverify")
    c = client("tls_self_signed", dev, ca_certs=None, verify_tls=False)
    c.flush()
    eq(len(events_of("tls_self_signed", dev)), 1)


def test_trust_keywords_are_checked_at_construction():
    for bad in (b"garbage", "not a certificate", 5, ["x"]):
        e = raises(honch.InvalidArgumentError, client, "tls_ok", device("bad"), ca_certs=bad)
        true("ca_certs" in str(e), str(e))
    for bad in (0, "yes", 1.0):
        e = raises(honch.InvalidArgumentError, client, "tls_ok", device("bad"), verify_tls=bad)
        true("verify_tls" in str(e), str(e))


def test_ca_certs_as_a_mutable_buffer_is_copied_at_construction():
    # A listener that never accepts: the TLS handshake starts and times out.
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(socket.getaddrinfo("127.0.0.1", 0)[0][-1])
    server.listen(1)
    port = server.getsockname()[1] if hasattr(server, "getsockname") else None
    if port is None:
        server.close()
        return  # this port's socket has no getsockname(): nothing to connect to
    try:
        with open(__file__.rsplit("/", 1)[0] + "/../../certs/gts-root-r1.der", "rb") as f:
            der = bytearray(f.read())
        c = check.client(
            endpoint_url="https://localhost:%d" % port,
            transport_timeout_ms=300,
            ca_certs=memoryview(der),
        )
        der[:] = b"\x00" * len(der)  # the client kept its own copy
        c.track("e")
        raises(honch.TransportError, c.flush)
        reason = c.last_error()["reason"]
        true(reason in ("tls_handshake", "read_failed", "write_failed"), "reason " + reason)
    finally:
        server.close()
