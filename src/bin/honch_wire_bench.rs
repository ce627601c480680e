//! `honch-wire-bench`: encode throughput of the wire-v2 encoder on typical events.
//! Prints one `name value unit` line per figure. Host numbers only: a microcontroller is
//! one to two orders of magnitude slower, but the ratios between lines carry over.

use std::hint::black_box;
use std::time::{Duration, Instant};

use honch::capture::{decode_strict, CaptureLimits};
use honch::client::{Client, Clock, Properties};
use honch::config::{ConfigBuilder, Field};
use honch::packed::{PackedWriter, Pairs};
use honch::record::{PropsError, PropsWriter};
use honch::wire::{
    encode_longest_prefix, frame_count, write_frame, BatchContext, DeviceTimeSource, EventView, SourceType,
};

const RUN_FOR: Duration = Duration::from_millis(700);

/// A typical telemetry event: a counter, a float reading, a short status string and the
/// battery level the SDK adds.
fn typical_record(i: u32) -> Vec<u8> {
    let mut buf = vec![0u8; 256];
    let mut w = PackedWriter::new(&mut buf);
    let fits = w.put_uvarint(4).is_ok()
        && w.key("count").is_ok()
        && w.uint(u64::from(i)).is_ok()
        && w.key("temperature").is_ok()
        && w.f64(21.5 + f64::from(i % 10) / 10.0).is_ok()
        && w.key("mode").is_ok()
        && w.str(["idle", "sampling", "uploading"][i as usize % 3]).is_ok()
        && w.key("$battery_level").is_ok()
        && w.signed(i64::from(90 - i % 20)).is_ok();
    assert!(fits, "a typical record fits 256 bytes");
    let n = w.len();
    buf.truncate(n);
    buf
}

/// Repeats `work` for about [`RUN_FOR`]; returns runs per second.
fn rate(mut work: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < RUN_FOR {
        for _ in 0..64 {
            work();
        }
        runs += 64;
    }
    runs as f64 / start.elapsed().as_secs_f64()
}

/// A fixed clock with a real-time reading (events are stamped, not boot-relative).
struct BenchClock;

impl Clock for BenchClock {
    fn now_ms(&self) -> u64 {
        1_780_000_000_000
    }
    fn uptime_ms(&self) -> u64 {
        5_000
    }
}

/// `{"mode": "hdr", "n": n}`, the README's example event.
struct TypicalProps(i64);

impl Properties for TypicalProps {
    fn count(&self) -> usize {
        2
    }
    fn write(&self, w: &mut PropsWriter<'_>) -> Result<(), PropsError> {
        w.key("mode")?;
        w.str("hdr")?;
        w.key("n")?;
        w.int(self.0)
    }
}

/// `Client::track` cost on a full ring buffer (so most calls also evict the oldest record),
/// and on a buffer large enough that nothing is evicted.
fn track_bench() {
    for (label, size) in [("ring8k", 8 * 1024), ("big", 64 * 1024 * 1024)] {
        let mut b = ConfigBuilder::new();
        let fields = [
            (Field::ApiKey, "key"),
            (Field::DeviceId, "dev-001"),
            (Field::DeviceModel, "ActionCam X1"),
            (Field::FirmwareVersion, "1.2.3"),
        ];
        for (f, v) in fields {
            if b.set_text(f, Some(v)).is_err() {
                return;
            }
        }
        let _ = b.set_int(Field::MaxQueuedEvents, Some(i64::from(u32::MAX >> 1)));
        let Ok(config) = b.finish() else { return };
        let mut buf = vec![0u8; size];
        let Ok(mut client) = Client::new(config, &mut buf, [7; 32], &BenchClock, "micropython") else {
            return;
        };
        let mut i = 0i64;
        let per_second = rate(|| {
            i += 1;
            let _ = black_box(client.track(&mut buf, &BenchClock, "recording_started", &TypicalProps(i)));
        });
        println!("track_{label}_ns_per_event {:.1} ns", 1e9 / per_second);
    }
}

fn main() {
    track_bench();
    let records: Vec<Vec<u8>> = (0..50).map(typical_record).collect();
    let names = ["sample", "button_press", "sample", "wifi_status"];
    let events: Vec<EventView<'_>> = records
        .iter()
        .enumerate()
        .map(|(i, r)| EventView {
            name: names[i % names.len()],
            timestamp_ms: 1_700_000_000_000 + i as u64 * 1000,
            properties: Pairs::parse(r).map(|(p, _)| p).unwrap_or(Pairs::empty()),
        })
        .collect();
    let ctx = BatchContext {
        distinct_id: "device-a1b2c3",
        device_id: "device-a1b2c3",
        device_model: "esp32-s3",
        firmware_version: "1.4.2",
        sdk_platform: "micropython",
        sdk_version: env!("CARGO_PKG_VERSION"),
        environment: "production",
        session_id: Some("sess_0123456789abcdef"),
        device_time_source: Some(DeviceTimeSource::RealtimeClock),
        capabilities: None,
        extensions: &[],
        base_time_ms: None,
    };
    let mut out = [0u8; 4096];
    for batch in [1usize, 4, 20, 50] {
        let slice = &events[..batch];
        let encoded = match encode_longest_prefix(&ctx, slice, &mut out) {
            Ok(e) => e,
            Err(f) => {
                eprintln!("encode failed: {f:?}");
                std::process::exit(1);
            }
        };
        let per_second = rate(|| {
            let _ = black_box(encode_longest_prefix(&ctx, black_box(slice), &mut out));
        });
        println!(
            "encode_batch{batch}_events_per_s {:.0} events/s",
            per_second * encoded.events as f64
        );
        println!(
            "encode_batch{batch}_bytes_per_event {:.1} bytes/event",
            encoded.len as f64 / encoded.events as f64
        );
    }

    let full = encode_longest_prefix(&ctx, &events[..], &mut out).map_or(0, |e| e.len);
    let message = out[..full].to_vec();
    let mut frame = [0u8; 244];
    let frames = frame_count(message.len(), 12345, frame.len()).unwrap_or(0);
    let per_second = rate(|| {
        for i in 0..frames {
            let _ = black_box(write_frame(
                &message,
                12345,
                SourceType::CompactEvents,
                i,
                frame.len(),
                &mut frame,
            ));
        }
    });
    println!(
        "frame_ble244_bytes_per_s {:.0} bytes/s",
        per_second * message.len() as f64
    );
    let limits = CaptureLimits::default();
    let per_second = rate(|| {
        let _ = black_box(decode_strict(black_box(&message), &limits).map(|m| m.expand()));
    });
    println!(
        "capture_decode_expand_events_per_s {:.0} events/s",
        per_second * 50.0
    );
}
