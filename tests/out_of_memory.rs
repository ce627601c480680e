//! The upload's working buffer (about 9 KiB, allocated for each upload) cannot be had: a
//! failing global allocator refuses every allocation that large while `FAIL` is set.
//! `tick()` records it and returns (a main loop must not die of it), `flush()` raises it,
//! `shutdown()` still queues `$device_shutdown` and closes the client.

#[path = "common/fake_net.rs"]
mod fake_net;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

use fake_net::*;
use honch::client::{Client, NoProperties};
use honch::config::Field;
use honch::status::Status;

struct Failing;

static FAIL: AtomicBool = AtomicBool::new(false);
/// Smaller than the upload buffer, larger than anything else these tests allocate meanwhile.
const LARGE: usize = 8 * 1024;

// SAFETY: forwards to the system allocator, except that it returns null (allocation failure,
// which the contract allows) for large blocks while FAIL is set.
unsafe impl GlobalAlloc for Failing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if FAIL.load(Ordering::SeqCst) && layout.size() >= LARGE {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if FAIL.load(Ordering::SeqCst) && new_size >= LARGE {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Failing = Failing;

#[test]
fn no_memory_for_an_upload_is_recorded_by_tick_raised_by_flush_and_ignored_by_shutdown() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 4096];
    let cfg = config(&[(Field::FlushEventThreshold, 1), (Field::FlushMinIntervalMs, 0)]);
    let mut c = Client::new(cfg, &mut buf, [1; 32], &clock, "test").unwrap();
    c.track(&mut buf, &clock, "e", &NoProperties).unwrap();
    let mut net = FakeNet::new(&[]);

    FAIL.store(true, Ordering::SeqCst);
    let tick = c.tick(&mut buf, &clock, &mut net, true);
    let flush = c.flush(&mut buf, &clock, &mut net, true);
    let error = c.last_error();
    let shutdown = c.shutdown(&mut buf, &clock, &mut net);
    FAIL.store(false, Ordering::SeqCst);

    assert_eq!(tick, Ok(()), "tick() does not raise");
    assert_eq!(flush.unwrap_err().status, Status::OutOfMemory, "flush() does");
    assert_eq!(error.status, Status::OutOfMemory);
    assert_eq!(error.reason.as_str(), "out_of_memory");
    assert_eq!(
        shutdown,
        Ok(()),
        "shutdown() does not raise for a delivery problem"
    );
    assert!(c.device_id().is_none(), "the client is closed");
    assert_eq!(c.last_error().reason.as_str(), "out_of_memory");
    assert_eq!(net.opens, 0, "nothing was sent");
    // Nothing was lost: $device_boot, e and $device_shutdown are still queued.
    assert_eq!(c.queue_stats().depth, 3);
}
