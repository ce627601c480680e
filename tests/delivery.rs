//! Delivery through the client core against an in-process capture endpoint: batching,
//! multi-frame messages, the response policy, backoff, Retry-After and time normalisation.
//! A scripted fake transport stands in for the network; the capture side is the real one.

#[path = "common/fake_net.rs"]
mod fake_net;

use std::cell::Cell;

use fake_net::*;
use honch::client::{Client, NoProperties, Properties};
use honch::config::Field;
use honch::delivery::transport::NetFailure;
use honch::record::{PropsError, PropsWriter};
use honch::status::Status;
use serde_json::Value as Json;

#[test]
fn one_flush_sends_a_batch_per_identity_run_in_order() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut c = Client::new(
        config(&[(Field::BatchSize, 50)]),
        &mut buf,
        [3; 32],
        &clock,
        "test",
    )
    .unwrap();
    for i in 0..60 {
        c.track(&mut buf, &clock, "e", &n(i)).unwrap();
    }
    let mut net = FakeNet::new(&[]);
    c.flush(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(net.frames.len(), 2, "61 events of one identity: 50 + 11");
    assert_eq!(net.events.len(), 61);
    let order: Vec<u64> = net.events[1..]
        .iter()
        .map(|e| e["properties"]["i"].as_u64().unwrap())
        .collect();
    assert_eq!(order, (0..60).collect::<Vec<_>>());
    assert_eq!(c.queue_stats().depth, 0);
}

/// Queues events until the first message needs two frames, then returns the client.
fn two_frame_client(clock: &TestClock, buf: &mut [u8]) -> Client {
    // Strings are limited per message (2048 bytes), so numbers fill the bytes; the padding
    // string moves the message end until it needs a second 4096-byte frame.
    for pad in 0..120 {
        let mut c = Client::new(config(&[(Field::BatchSize, 50)]), buf, [5; 32], clock, "test").unwrap();
        for i in 0..40u64 {
            let mut many = Vec::new();
            for k in 0..60 {
                many.push((format!("k{k}"), Json::from(1.5 + (i * 100 + k) as f64)));
            }
            many.push(("pad".into(), Json::from("p".repeat(pad))));
            c.track(buf, clock, "e", &Props(many)).unwrap();
        }
        let mut probe = FakeNet::new(&[Reply::Status(503, None)]);
        let _ = c.flush(buf, clock, &mut probe, true);
        if probe.frames[0][0] == 0x42 {
            return c;
        }
    }
    panic!("no padding produced a two-frame message");
}

#[test]
fn a_multi_frame_message_is_sent_frame_by_frame_and_restarts_from_zero_after_a_failure() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut c = two_frame_client(&clock, &mut buf);
    // The probe above failed on the first frame; now: first frame stored, second fails,
    // then the whole message again.
    let mut net = FakeNet::new(&[Reply::Status(202, None), Reply::Status(503, None)]);
    let err = c.flush(&mut buf, &clock, &mut net, true).unwrap_err();
    assert_eq!(err.status, Status::Server);
    assert_eq!(net.frames.len(), 2);
    assert_eq!(net.frames[0][0], 0x42, "init frame");
    assert_eq!(net.frames[1][0], 0x22, "final frame");
    let depth = c.queue_stats().depth;
    net.frames.clear();
    c.flush(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(net.frames[0][0], 0x42, "restarted at offset 0");
    assert!(net.events.len() as u32 >= depth.min(2));
    assert_eq!(c.queue_stats().depth, 0);
}

#[test]
fn tick_sends_one_frame_per_call() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut c = two_frame_client(&clock, &mut buf);
    clock.advance(400_000); // past any backoff from the probe
    let mut net = FakeNet::new(&[]);
    c.tick(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(net.frames.len(), 1, "one frame");
    assert!(net.events.is_empty(), "message not complete yet");
    c.tick(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(net.frames.len(), 2);
    assert!(!net.events.is_empty(), "second tick completed the message");
}

#[test]
fn response_policy_drives_the_queue() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 4096];
    let mut c = Client::new(config(&[]), &mut buf, [1; 32], &clock, "test").unwrap();
    for (status, kind, kept) in [
        (400, Status::Rejected, false),
        (422, Status::Rejected, false),
        (409, Status::Transport, true),
        (429, Status::RateLimited, true),
        (500, Status::Server, true),
        (408, Status::Timeout, true),
        (302, Status::Transport, true),
    ] {
        c.track(&mut buf, &clock, "e", &NoProperties).unwrap();
        let depth = c.queue_stats().depth;
        let mut net = FakeNet::new(&[Reply::Status(status, None)]);
        let err = c.flush(&mut buf, &clock, &mut net, true).unwrap_err();
        assert_eq!(err.status, kind, "HTTP {status}");
        assert_eq!(c.last_error().http, status);
        assert_eq!(
            c.queue_stats().depth,
            if kept { depth } else { 0 },
            "HTTP {status}"
        );
        if kept {
            // Clear them for the next row.
            let mut ok = FakeNet::new(&[]);
            clock.advance(1000);
            c.flush(&mut buf, &clock, &mut ok, true).unwrap();
        }
    }
}

#[test]
fn a_401_stops_uploads_for_good() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 4096];
    let mut c = Client::new(config(&[]), &mut buf, [1; 32], &clock, "test").unwrap();
    let mut net = FakeNet::new(&[Reply::Status(401, None)]);
    let err = c.flush(&mut buf, &clock, &mut net, true).unwrap_err();
    assert_eq!(err.status, Status::Rejected);
    assert_eq!(c.last_error().reason.as_str(), "auth_invalid_key");
    c.track(&mut buf, &clock, "e", &NoProperties).unwrap();
    assert!(c.flush(&mut buf, &clock, &mut net, true).is_err());
    c.tick(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(net.opens, 1, "no request after the 401");
    assert_eq!(c.queue_stats().depth, 1);
}

#[test]
fn retry_after_holds_every_upload_then_lets_them_through() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 4096];
    let mut c = Client::new(config(&[]), &mut buf, [1; 32], &clock, "test").unwrap();
    let mut net = FakeNet::new(&[Reply::Status(429, Some(2))]);
    assert_eq!(
        c.flush(&mut buf, &clock, &mut net, true).unwrap_err().status,
        Status::RateLimited
    );
    clock.advance(1999);
    assert_eq!(
        c.flush(&mut buf, &clock, &mut net, true).unwrap_err().status,
        Status::RateLimited
    );
    c.tick(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(net.opens, 1, "nothing sent while Retry-After runs");
    clock.advance(1);
    c.flush(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(net.names(), ["$device_boot"]);
}

#[test]
fn tick_backs_off_with_jitter_after_a_failure() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 4096];
    let cfg = config(&[
        (Field::FlushEventThreshold, 1),
        (Field::FlushMinIntervalMs, 0xFFFF_FFFF),
    ]);
    let mut c = Client::new(cfg, &mut buf, [1; 32], &clock, "test").unwrap();
    let mut net = FakeNet::new(&[Reply::Net(NetFailure::ConnectRefused)]);
    c.tick(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(net.opens, 1);
    assert_eq!(c.last_error().reason.as_str(), "connect_refused");
    clock.advance(700);
    c.tick(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(net.opens, 1, "within the first backoff (1 s ± 25 %)");
    clock.advance(600);
    c.tick(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(net.opens, 2, "after it");
    assert_eq!(net.names(), ["$device_boot"]);
}

#[test]
fn offline_flush_raises_and_offline_tick_is_silent() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 4096];
    let mut c = Client::new(
        config(&[(Field::FlushEventThreshold, 1)]),
        &mut buf,
        [1; 32],
        &clock,
        "test",
    )
    .unwrap();
    let mut net = FakeNet::new(&[]);
    assert_eq!(
        c.flush(&mut buf, &clock, &mut net, false).unwrap_err().status,
        Status::Offline
    );
    c.tick(&mut buf, &clock, &mut net, false).unwrap();
    assert_eq!(net.opens, 0);
}

#[test]
fn boot_relative_stamps_are_normalised_when_the_clock_is_set() {
    let clock = TestClock {
        now: Cell::new(0),
        up: Cell::new(5_000),
    };
    let mut buf = vec![0u8; 4096];
    let mut c = Client::new(config(&[]), &mut buf, [1; 32], &clock, "test").unwrap();
    clock.up.set(6_000);
    clock.now.set(T0);
    let mut net = FakeNet::new(&[]);
    c.flush(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(net.events[0]["timestamp"].as_u64(), Some(T0 - 1_000));
}

#[test]
fn shutdown_queues_the_last_event_and_sends_it() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 4096];
    let mut c = Client::new(config(&[]), &mut buf, [1; 32], &clock, "test").unwrap();
    c.session_start(&mut buf, &clock, Some("s")).unwrap();
    let mut net = FakeNet::new(&[]);
    c.shutdown(&mut buf, &clock, &mut net).unwrap();
    assert_eq!(
        net.names(),
        ["$device_boot", "$session_start", "$device_shutdown"]
    );
    assert!(c.device_id().is_none());
    c.shutdown(&mut buf, &clock, &mut net).unwrap();
    assert_eq!(
        c.track(&mut buf, &clock, "x", &NoProperties).unwrap_err().status,
        Status::NotInitialized
    );
}

#[test]
fn events_stamped_at_a_default_rtc_date_are_normalised_once_the_clock_is_set() {
    // rp2's RTC reads 2021-01-01 until the application sets it: that is not the real time.
    let clock = TestClock {
        now: Cell::new(1_609_459_200_000),
        up: Cell::new(5_000),
    };
    let mut buf = vec![0u8; 4096];
    let mut c = Client::new(config(&[]), &mut buf, [1; 32], &clock, "test").unwrap();
    clock.up.set(7_000);
    clock.now.set(T0);
    let mut net = FakeNet::new(&[]);
    c.flush(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(net.events[0]["timestamp"].as_u64(), Some(T0 - 2_000));
}

#[test]
fn flush_min_interval_zero_means_tick_uploads_are_not_spaced() {
    for (spacing, second_tick_sends) in [(0, true), (0xFFFF_FFFF, true), (15_000, false)] {
        let clock = TestClock::new();
        let mut buf = vec![0u8; 4096];
        let cfg = config(&[
            (Field::FlushEventThreshold, 1),
            (Field::FlushMinIntervalMs, spacing),
        ]);
        let mut c = Client::new(cfg, &mut buf, [1; 32], &clock, "test").unwrap();
        let mut net = FakeNet::new(&[]);
        c.tick(&mut buf, &clock, &mut net, true).unwrap();
        assert_eq!(net.opens, 1, "spacing {spacing}");
        c.track(&mut buf, &clock, "e", &NoProperties).unwrap();
        clock.advance(1);
        c.tick(&mut buf, &clock, &mut net, true).unwrap();
        assert_eq!(net.opens, 1 + usize::from(second_tick_sends), "spacing {spacing}");
    }
}

/// `{"t32": float32, "t64": float64}` of the same literal.
struct Floats(f32, f64);

impl Properties for Floats {
    fn count(&self) -> usize {
        2
    }
    fn write(&self, w: &mut PropsWriter<'_>) -> Result<(), PropsError> {
        w.key("t32")?;
        w.float32(self.0)?;
        w.key("t64")?;
        w.float(self.1)
    }
}

#[test]
fn a_float32_property_goes_on_the_wire_as_float32_and_prints_as_the_device_held_it() {
    use honch::capture::decode::WireValue;
    let clock = TestClock::new();
    let mut buf = vec![0u8; 4096];
    let mut c = Client::new(config(&[]), &mut buf, [1; 32], &clock, "test").unwrap();
    c.reset(&mut buf).unwrap();
    for (f, d) in [
        (36.6f32, 36.6f64),
        (0.1, 0.1),
        (-1.5e-7, -1.5e-7),
        (3.4028235e38, 3.4028235e38),
    ] {
        c.track(&mut buf, &clock, "reading", &Floats(f, d)).unwrap();
    }
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let err = c
            .track(&mut buf, &clock, "reading", &Floats(bad, 1.0))
            .unwrap_err();
        assert_eq!(err.status, Status::InvalidArgument);
        assert!(err.message.contains("finite"), "{}", err.message);
    }
    let mut net = FakeNet::new(&[]);
    c.flush(&mut buf, &clock, &mut net, true).unwrap();
    // On the wire: tag 0x05 with the same bits.
    let frame = honch::capture::parse_frame(&net.frames[0]).unwrap();
    let decoded = honch::capture::decode_strict(frame.payload, &Default::default()).unwrap();
    let sent: Vec<f32> = decoded
        .events
        .iter()
        .map(|e| match e.properties[0].1 {
            WireValue::F32(v) => v,
            ref other => panic!("not a float32: {other:?}"),
        })
        .collect();
    assert_eq!(sent, [36.6f32, 0.1, -1.5e-7, 3.4028235e38]);
    // Expanded: the shortest text that reads back as that float32, like the float64's.
    let printed: Vec<String> = net
        .events
        .iter()
        .map(|e| serde_json::to_string(&e["properties"]["t32"]).unwrap())
        .collect();
    let printed64: Vec<String> = net
        .events
        .iter()
        .map(|e| serde_json::to_string(&e["properties"]["t64"]).unwrap())
        .collect();
    assert_eq!(printed, printed64);
    assert_eq!(printed[0], "36.6");
    for (text, f) in printed.iter().zip(sent) {
        assert_eq!(
            text.parse::<f32>().unwrap(),
            f,
            "{text} reads back as the same float32"
        );
    }
}

/// `{"i": i}`, and a bytes value when `blob`.
struct MaybeBytes(u64, bool);

impl Properties for MaybeBytes {
    fn count(&self) -> usize {
        1 + usize::from(self.1)
    }
    fn write(&self, w: &mut PropsWriter<'_>) -> Result<(), PropsError> {
        w.key("i")?;
        w.uint(self.0)?;
        if self.1 {
            w.key("blob")?;
            w.bytes(b"\x00\x01")?;
        }
        Ok(())
    }
}

/// 20 events, the one at `bad` with a bytes value, on a capture that refuses bytes (422).
fn twenty_with_one_bytes_value(clock: &TestClock, buf: &mut [u8], bad: u64) -> (Client, FakeNet) {
    let cfg = config(&[
        (Field::BatchSize, 20),
        (Field::FlushMinIntervalMs, 0),
        (Field::FlushEventThreshold, 1),
    ]);
    let mut c = Client::new(cfg, buf, [1; 32], clock, "test").unwrap();
    c.reset(buf).unwrap();
    for i in 0..20 {
        c.track(buf, clock, "e", &MaybeBytes(i, i == bad)).unwrap();
    }
    let limits = honch::capture::CaptureLimits {
        allow_binary: false,
        ..Default::default()
    };
    (c, FakeNet::with_limits(limits, &[]))
}

fn delivered_indices(net: &FakeNet) -> Vec<u64> {
    net.events
        .iter()
        .map(|e| e["properties"]["i"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_422_batch_is_split_until_only_the_refused_event_is_dead_lettered() {
    for bad in [0, 7, 19] {
        let clock = TestClock::new();
        let mut buf = vec![0u8; 8192];
        let (mut c, mut net) = twenty_with_one_bytes_value(&clock, &mut buf, bad);
        let err = c.flush(&mut buf, &clock, &mut net, true).unwrap_err();
        assert_eq!(err.status, Status::Rejected, "an event was refused");
        assert_eq!(c.last_error().http, 422);
        let expected: Vec<u64> = (0..20).filter(|&i| i != bad).collect();
        assert_eq!(delivered_indices(&net), expected, "bad {bad}: in order");
        let stats = c.queue_stats();
        assert_eq!((stats.depth, stats.dead_lettered_events), (0, 1), "bad {bad}");
        // One refused message of 20 is isolated in a handful of requests, not 20.
        assert!(net.frames.len() <= 11, "bad {bad}: {} requests", net.frames.len());
    }
    // The worked case: 20✗ 10✗ 5✓ 3✗ 2✓ 1✗ 2✓ 10✓.
    let clock = TestClock::new();
    let mut buf = vec![0u8; 8192];
    let (mut c, mut net) = twenty_with_one_bytes_value(&clock, &mut buf, 7);
    let _ = c.flush(&mut buf, &clock, &mut net, true);
    assert_eq!(net.frames.len(), 8);
}

#[test]
fn tick_and_shutdown_split_a_413_or_422_batch_too() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 8192];
    let (mut c, mut net) = twenty_with_one_bytes_value(&clock, &mut buf, 12);
    for _ in 0..40 {
        c.tick(&mut buf, &clock, &mut net, true).unwrap();
        clock.advance(1);
    }
    assert_eq!(delivered_indices(&net).len(), 19);
    assert_eq!(c.queue_stats().dead_lettered_events, 1);
    assert_eq!(c.last_error().http, 422);

    // shutdown(): 413 to the whole batch (scripted), then capture itself answers.
    let clock = TestClock::new();
    let mut buf = vec![0u8; 8192];
    let (mut c, _) = twenty_with_one_bytes_value(&clock, &mut buf, 3);
    let mut net = FakeNet::with_limits(
        honch::capture::CaptureLimits {
            allow_binary: false,
            ..Default::default()
        },
        &[Reply::Status(413, None)],
    );
    c.shutdown(&mut buf, &clock, &mut net).unwrap();
    assert_eq!(net.names().len(), 20, "19 events and $device_shutdown");
    assert_eq!(c.queue_stats().dead_lettered_events, 1);
}

#[test]
fn a_400_still_dead_letters_the_whole_batch() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 8192];
    let (mut c, _) = twenty_with_one_bytes_value(&clock, &mut buf, 5);
    let mut net = FakeNet::new(&[Reply::Status(400, None)]);
    let err = c.flush(&mut buf, &clock, &mut net, true).unwrap_err();
    assert_eq!(err.status, Status::Rejected);
    assert_eq!(net.frames.len(), 1);
    assert_eq!(c.queue_stats().dead_lettered_events, 20);
    // And a 422 to a single event dead-letters just it.
    c.track(&mut buf, &clock, "e", &NoProperties).unwrap();
    let mut net = FakeNet::new(&[Reply::Status(422, None)]);
    assert_eq!(
        c.flush(&mut buf, &clock, &mut net, true).unwrap_err().status,
        Status::Rejected
    );
    assert_eq!(c.queue_stats().dead_lettered_events, 21);
}
