use super::*;
use crate::config::{ConfigBuilder, Field};
use crate::packed::Value;
use crate::record::RecordView;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;

struct TestClock {
    now: Cell<u64>,
    up: Cell<u64>,
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    fn uptime_ms(&self) -> u64 {
        self.up.get()
    }
}

/// 2026-05-28: after the release date, so the test clock reads as set.
const T0: u64 = 1_780_000_000_000;

fn clock() -> TestClock {
    TestClock {
        now: Cell::new(T0),
        up: Cell::new(5),
    }
}

fn config(max_queued: i64) -> Config {
    let mut b = ConfigBuilder::new();
    b.set_text(Field::ApiKey, Some("key")).unwrap();
    b.set_text(Field::DeviceId, Some("dev-001")).unwrap();
    b.set_text(Field::DeviceModel, Some("ActionCam X1")).unwrap();
    b.set_text(Field::FirmwareVersion, Some("1.2.3")).unwrap();
    b.set_int(Field::MaxQueuedEvents, Some(max_queued)).unwrap();
    b.finish().unwrap()
}

/// `{"n": i}` and optionally a string.
struct Props<'a>(i64, Option<&'a str>);

impl Properties for Props<'_> {
    fn count(&self) -> usize {
        1 + usize::from(self.1.is_some())
    }
    fn write(&self, w: &mut PropsWriter<'_>) -> core::result::Result<(), PropsError> {
        w.key("n")?;
        w.int(self.0)?;
        if let Some(s) = self.1 {
            w.key("s")?;
            w.str(s)?;
        }
        Ok(())
    }
}

struct BadKey(&'static str);

impl Properties for BadKey {
    fn count(&self) -> usize {
        1
    }
    fn write(&self, w: &mut PropsWriter<'_>) -> core::result::Result<(), PropsError> {
        w.key(self.0)?;
        w.null()
    }
}

/// A queued event as (name, distinct id, properties rendered as text).
type Event = (String, String, Vec<(String, String)>);

fn events(c: &Client, buf: &[u8]) -> Vec<Event> {
    c.queue()
        .iter(buf)
        .map(|p| {
            let r = RecordView::parse(p.unwrap()).unwrap();
            let props = r
                .properties
                .map(|kv| {
                    let (k, v) = kv.unwrap();
                    let v = match v {
                        Value::Str(s) => String::from(s),
                        Value::UInt(n) => alloc::format!("{n}"),
                        other => alloc::format!("{other:?}"),
                    };
                    (String::from(k), v)
                })
                .collect();
            (String::from(r.name), String::from(r.distinct_id), props)
        })
        .collect()
}

#[test]
fn boot_event_then_tracks_in_order() {
    let mut buf = [0u8; 1024];
    let clk = clock();
    let mut c = Client::new(config(1000), &mut buf, [1; 32], &clk, "test").unwrap();
    c.track(&mut buf, &clk, "recording_started", &Props(7, Some("hdr")))
        .unwrap();
    let ev = events(&c, &buf);
    assert_eq!(ev[0].0, "$device_boot");
    assert_eq!(ev[0].2, [("reset_reason".into(), "unknown".into())]);
    assert_eq!(ev[1].0, "recording_started");
    assert_eq!(ev[1].1, "dev-001");
    assert_eq!(ev[1].2, [("n".into(), "7".into()), ("s".into(), "hdr".into())]);
    assert_eq!(c.queue_stats().depth, 2);
    assert_eq!(c.stream_id().len(), 8);
}

#[test]
fn invalid_input_queues_nothing() {
    let mut buf = [0u8; 512];
    let clk = clock();
    let mut c = Client::new(config(1000), &mut buf, [1; 32], &clk, "test").unwrap();
    let before = c.queue_stats();
    for name in ["", "   ", &"x".repeat(129)] {
        assert_eq!(
            c.track(&mut buf, &clk, name, &NoProperties),
            Err(crate::record::INVALID_EVENT_NAME)
        );
    }
    assert!(c.track(&mut buf, &clk, &"x".repeat(128), &NoProperties).is_ok());
    for key in ["$device_id", "distinct_id", "$session_id", "", " "] {
        assert!(c.track(&mut buf, &clk, "e", &BadKey(key)).is_err(), "{key}");
    }
    assert!(c.track(&mut buf, &clk, "e", &BadKey("$custom")).is_ok());
    assert_eq!(c.queue_stats().depth, before.depth + 2);
}

#[test]
fn full_buffer_drops_oldest_and_keeps_newest() {
    let mut buf = [0u8; 300];
    let clk = clock();
    let mut c = Client::new(config(1000), &mut buf, [1; 32], &clk, "test").unwrap();
    for i in 0..100 {
        c.track(&mut buf, &clk, "tick", &Props(i, None)).unwrap();
    }
    let ev = events(&c, &buf);
    let last: Vec<_> = ev.iter().map(|e| e.2[0].1.clone()).collect();
    assert_eq!(last.last().unwrap(), "99");
    let n = last.len();
    let expect: Vec<String> = (100 - n as i64..100).map(|i| alloc::format!("{i}")).collect();
    assert_eq!(last, expect);
    assert!(c.queue_stats().capacity_dropped_events > 0);
}

#[test]
fn max_queued_events_bound() {
    let mut buf = [0u8; 4096];
    let clk = clock();
    let mut c = Client::new(config(3), &mut buf, [1; 32], &clk, "test").unwrap();
    for i in 0..10 {
        c.track(&mut buf, &clk, "e", &Props(i, None)).unwrap();
    }
    assert_eq!(c.queue_stats().depth, 3);
    assert_eq!(c.queue_stats().capacity_dropped_events, 8);
}

#[test]
fn a_refused_session_start_leaves_the_active_session_alone() {
    let mut buf = [0u8; 1024];
    let clk = clock();
    let mut b = ConfigBuilder::new();
    for (field, value) in [
        (Field::ApiKey, "key"),
        (Field::DeviceId, "d"),
        (Field::DeviceModel, "m"),
        (Field::FirmwareVersion, "1"),
    ] {
        b.set_text(field, Some(value)).unwrap();
    }
    b.set_int(Field::MaxEventBytes, Some(100)).unwrap();
    let mut c = Client::new(b.finish().unwrap(), &mut buf, [1; 32], &clk, "test").unwrap();
    c.session_start(&mut buf, &clk, Some("a")).unwrap();
    let session = c.session_id();
    let depth = c.queue_stats().depth;
    let err = c
        .session_start(&mut buf, &clk, Some(&"n".repeat(60)))
        .unwrap_err();
    assert_eq!(err, EVENT_TOO_LARGE);
    assert_eq!(c.queue_stats().depth, depth, "no $session_end was queued");
    assert_eq!(c.session_id(), session, "the session goes on");
}

#[test]
fn oversized_and_max_event_bytes() {
    let mut buf = [0u8; 128];
    let clk = clock();
    let mut c = Client::new(config(1000), &mut buf, [1; 32], &clk, "test").unwrap();
    let big = "y".repeat(200);
    let err = c.track(&mut buf, &clk, "e", &Props(1, Some(&big))).unwrap_err();
    assert_eq!(err.status, Status::QueueFull);
    assert_eq!(c.queue_stats().oversized_rejected_events, 1);
    assert_eq!(c.queue_stats().depth, 1, "the boot event survives");
}

#[test]
fn identity_sessions_and_reset() {
    let mut buf = [0u8; 2048];
    let clk = clock();
    let mut c = Client::new(config(1000), &mut buf, [9; 32], &clk, "test").unwrap();
    c.identify(&mut buf, &clk, "user-123", &NoProperties).unwrap();
    assert_eq!(c.distinct_id(), "user-123");
    c.session_start(&mut buf, &clk, Some("recording")).unwrap();
    let sid = c.session_id().unwrap();
    assert!(sid.starts_with(b"sess_"));
    c.session_start(&mut buf, &clk, None).unwrap();
    assert_ne!(c.session_id().unwrap(), sid);
    c.session_end(&mut buf, &clk).unwrap();
    c.session_end(&mut buf, &clk).unwrap();
    let names: Vec<_> = events(&c, &buf).into_iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        [
            "$device_boot",
            "$identify",
            "$session_start",
            "$session_end",
            "$session_start",
            "$session_end"
        ]
    );
    let ev = events(&c, &buf);
    assert_eq!(ev[1].1, "user-123");
    assert_eq!(ev[1].2, [("$anon_distinct_id".into(), "dev-001".into())]);
    assert_eq!(ev[2].2, [("session_name".into(), "recording".into())]);
    c.reset(&mut buf).unwrap();
    assert_eq!(c.distinct_id(), "dev-001");
    assert!(c.session_id().is_none());
    assert_eq!(c.queue_stats().depth, 0);
}

#[test]
fn boot_relative_time_without_rtc() {
    let mut buf = [0u8; 256];
    let clk = TestClock {
        now: Cell::new(0),
        up: Cell::new(1234),
    };
    let c = Client::new(config(1000), &mut buf, [1; 32], &clk, "test").unwrap();
    let r = c.queue().iter(&buf).next().unwrap().unwrap();
    let r = RecordView::parse(r).unwrap();
    assert_eq!(
        (r.timestamp_ms, r.flags & FLAG_BOOT_RELATIVE),
        (1234, FLAG_BOOT_RELATIVE)
    );
}

#[test]
fn resized_buffer_is_refused() {
    let mut buf = [0u8; 256];
    let clk = clock();
    let mut c = Client::new(config(1000), &mut buf, [1; 32], &clk, "test").unwrap();
    let mut other = [0u8; 300];
    assert_eq!(
        c.track(&mut other, &clk, "e", &NoProperties),
        Err(crate::queue::BUFFER_CHANGED)
    );
}

#[test]
fn connectivity_changes_are_queued_once_per_change() {
    let mut buf = [0u8; 2048];
    let clk = clock();
    let mut c = Client::new(config(1000), &mut buf, [1; 32], &clk, "test").unwrap();
    assert!(c.connectivity_changed(&mut buf, &clk, false).unwrap());
    assert!(!c.connectivity_changed(&mut buf, &clk, false).unwrap());
    assert!(c.connectivity_changed(&mut buf, &clk, true).unwrap());
    assert!(!c.connectivity_changed(&mut buf, &clk, true).unwrap());
    let ev = events(&c, &buf);
    assert_eq!(ev.len(), 3);
    assert_eq!(ev[1].2, [("state".into(), "disconnected".into())]);
    assert_eq!(ev[2].2, [("state".into(), "connected".into())]);
    c.reset(&mut buf).unwrap();
    assert!(
        c.connectivity_changed(&mut buf, &clk, true).unwrap(),
        "reset forgets the state"
    );
}

#[test]
fn set_property_is_one_pair() {
    let mut buf = [0u8; 2048];
    let clk = clock();
    let mut c = Client::new(config(1000), &mut buf, [1; 32], &clk, "test").unwrap();
    c.set_property(&mut buf, &clk, &Props(5, None)).unwrap();
    assert!(c.set_property(&mut buf, &clk, &BadKey("$device_id")).is_err());
    let ev = events(&c, &buf);
    assert_eq!(ev[1].0, "$set_property");
    assert_eq!(ev[1].2, [("n".into(), "5".into())]);
}

#[test]
fn client_state_stays_small() {
    // The whole client lives outside the caller's buffer: keep it well under 1 KiB.
    let size = core::mem::size_of::<Client>();
    std::println!("size_of::<Client>() = {size}");
    assert!(size <= 640, "Client is {size} bytes");
}

#[test]
fn a_default_rtc_date_is_not_a_set_clock() {
    // rp2's RTC starts at 2021-01-01, which the reference's 2020 threshold took for real time.
    let rp2_default = 1_609_459_200_000;
    for (now, boot_relative) in [
        (rp2_default, true),
        (RELEASE_DATE_UNIX_MS - 1, true),
        (RELEASE_DATE_UNIX_MS, false),
        (T0, false),
    ] {
        let mut buf = [0u8; 256];
        let clk = TestClock {
            now: Cell::new(now),
            up: Cell::new(4321),
        };
        let c = Client::new(config(1000), &mut buf, [1; 32], &clk, "test").unwrap();
        let r = RecordView::parse(c.queue().iter(&buf).next().unwrap().unwrap()).unwrap();
        let expected = if boot_relative {
            (4321, FLAG_BOOT_RELATIVE)
        } else {
            (now, 0)
        };
        assert_eq!((r.timestamp_ms, r.flags & FLAG_BOOT_RELATIVE), expected, "{now}");
    }
    assert_eq!(RELEASE_DATE_UNIX_MS, 1_767_225_600_000, "2026-01-01T00:00:00Z");
}
