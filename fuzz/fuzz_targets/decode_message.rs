//! The strict decoder on arbitrary message bytes (CRC bypassed, so every input reaches it).
//! A message it accepts must expand to events and re-render in the fixture form.
#![no_main]

use honch::capture::{decode_message, CaptureLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = CaptureLimits {
        allow_binary: true,
        max_events: 50,
        ..CaptureLimits::default()
    };
    match decode_message(data, &limits) {
        Ok((message, semantic)) => {
            assert!(!message.events.is_empty());
            let events = message.expand();
            assert_eq!(events.len(), message.events.len());
            let _ = message.fixture_json();
            if let Some(reject) = semantic {
                assert_eq!(reject.status, 422);
            }
        }
        Err(reject) => assert!(matches!(reject.status, 400 | 413)),
    }
});
