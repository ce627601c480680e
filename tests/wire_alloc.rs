//! Encoding and framing a full 50-event batch allocates nothing: a counting global
//! allocator sees no allocation between the start and the end of the encode.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use honch::packed::{PackedWriter, Pairs};
use honch::wire::{
    encode_longest_prefix, encode_message, frame_count, write_frame, BatchContext, DeviceTimeSource,
    EventView, SourceType,
};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator; it only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::SeqCst) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::SeqCst) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_fifty_event_batch_encodes_without_allocating() {
    // Set-up may allocate: the property records and the names, as a queue would hold them.
    let mut records = Vec::new();
    for i in 0..50u32 {
        let mut buf = vec![0u8; 256];
        let mut w = PackedWriter::new(&mut buf);
        w.put_uvarint(4).unwrap();
        w.key("count").unwrap();
        w.uint(u64::from(i)).unwrap();
        w.key("temp_c").unwrap();
        w.f32(21.5).unwrap();
        w.key("mode").unwrap();
        w.str(if i % 2 == 0 { "eco" } else { "boost" }).unwrap();
        w.key("$battery_level").unwrap();
        w.signed(90).unwrap();
        let n = w.len();
        buf.truncate(n);
        records.push(buf);
    }
    let events: Vec<EventView<'_>> = records
        .iter()
        .enumerate()
        .map(|(i, r)| EventView {
            name: "sample",
            timestamp_ms: 1_700_000_000_000 + i as u64 * 250,
            properties: Pairs::parse(r).unwrap().0,
        })
        .collect();
    let ctx = BatchContext {
        distinct_id: "device-1",
        device_id: "device-1",
        device_model: "esp32-s3",
        firmware_version: "1.2.3",
        sdk_platform: "micropython",
        sdk_version: "0.4.0",
        environment: "production",
        session_id: Some("sess_01"),
        device_time_source: Some(DeviceTimeSource::RealtimeClock),
        capabilities: None,
        extensions: &[],
        base_time_ms: None,
    };
    let mut message = [0u8; 4096];
    let mut frame = [0u8; 244];

    ALLOCATIONS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let exact = encode_message(&ctx, &events[..], &mut message);
    let prefix = encode_longest_prefix(&ctx, &events[..], &mut message);
    let mut frames = 0;
    let mut framed_ok = true;
    if let Ok(len) = exact {
        if let Ok(count) = frame_count(len, 77, frame.len()) {
            for i in 0..count {
                framed_ok &= write_frame(
                    &message[..len],
                    77,
                    SourceType::CompactEvents,
                    i,
                    frame.len(),
                    &mut frame,
                )
                .is_ok();
                frames += 1;
            }
        }
    }
    COUNTING.store(false, Ordering::SeqCst);

    let len = exact.expect("50 events fit one message");
    assert_eq!(prefix.expect("prefix").events, 50);
    assert!(
        len > 1000 && frames > 4 && framed_ok,
        "{len} bytes, {frames} frames"
    );
    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), 0);

    // Control: the counter does see an allocation made the same way.
    COUNTING.store(true, Ordering::SeqCst);
    let boxed = std::hint::black_box(Box::new(len));
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(*boxed, len);
    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), 1);
}
