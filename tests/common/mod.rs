//! Helpers shared by the collector tests (plain and TLS): a one-event message and the
//! status code of a raw HTTP response.
#![allow(dead_code)]

use honch::packed::Pairs;
use honch::wire::{encode_message, BatchContext, DeviceTimeSource, EventView};

/// A one-event compact message for event `name` with packed properties `props`.
pub fn message(name: &str, props: &[u8]) -> Vec<u8> {
    let (properties, _) = Pairs::parse(props).expect("props");
    let ctx = BatchContext {
        distinct_id: "user-1",
        device_id: "device-1",
        device_model: "model-x",
        firmware_version: "1.0.0",
        sdk_platform: "posix",
        sdk_version: "0.4.0",
        environment: "test",
        session_id: None,
        device_time_source: Some(DeviceTimeSource::RealtimeClock),
        capabilities: None,
        extensions: &[],
        base_time_ms: None,
    };
    let events = [EventView {
        name,
        timestamp_ms: 1_700_000_000_123,
        properties,
    }];
    let mut out = [0u8; 4096];
    let n = encode_message(&ctx, &events[..], &mut out).expect("encodes");
    out[..n].to_vec()
}

/// The status code of an `HTTP/1.1` response.
pub fn status_of(response: &str) -> u16 {
    response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}
