//! Feeds a sequence of frames to the reassembler (and through it the frame parser and the
//! strict decoder). Input layout: one flags byte, then repeated
//! [len: u8][stream selector: u8][frame bytes]. Whatever the bytes, capture must answer
//! with one of its statuses and never panic.
#![no_main]

use honch::capture::{Capture, CaptureLimits, FrameOutcome};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = CaptureLimits {
        allow_binary: data.first().is_some_and(|b| b & 1 == 1),
        ..CaptureLimits::default()
    };
    let mut capture = Capture::new(limits);
    let mut rest = data.get(1..).unwrap_or_default();
    while let [len, selector, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (frame, after) = tail.split_at(len);
        let stream = match selector % 3 {
            0 => None,
            1 => Some("a"),
            _ => Some("b"),
        };
        match capture.handle_frame("key", stream, frame) {
            Ok(FrameOutcome::Accepted { events, .. }) => {
                for event in events {
                    let text = event.to_string();
                    let back: serde_json::Value =
                        serde_json::from_str(&text).expect("expanded events are valid JSON");
                    assert_eq!(back["event"], event["event"]);
                }
            }
            Ok(_) => {}
            Err(reject) => assert!(matches!(reject.status, 400 | 409 | 413 | 422)),
        }
        rest = after;
    }
});
