//! The strict decoder and the reassembler: each rule of wire.md §8 and its HTTP status.

use std::time::{Duration, Instant};

use honch::capture::{Capture, CaptureLimits, FrameOutcome};
use honch::wire::{crc16, write_frame_range, SourceType};

const BASE_STRINGS: [&str; 7] = [
    "user-1",
    "device-1",
    "model-x",
    "1.0.0",
    "posix",
    "0.3.1",
    "production",
];

fn uvarint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The seven required context entries, referring to table entries 0..7.
fn required_context() -> Vec<u8> {
    let mut c = vec![7];
    for id in 1..=7u8 {
        c.extend_from_slice(&[id, 0x07, id - 1]);
    }
    c
}

/// A message with the base strings plus `extra` strings, the given context section and
/// `events` (the raw event section, count included).
fn message(extra: &[&str], context: &[u8], events: &[u8]) -> Vec<u8> {
    let mut m = vec![0x02, 0x01, 0x01];
    uvarint(1_700_000_000_000, &mut m);
    let strings: Vec<&str> = BASE_STRINGS.iter().chain(extra).copied().collect();
    uvarint(strings.len() as u64, &mut m);
    for s in strings {
        uvarint(s.len() as u64, &mut m);
        m.extend_from_slice(s.as_bytes());
    }
    m.extend_from_slice(context);
    m.extend_from_slice(events);
    m
}

/// One event named table[7] ("e"), delta 0, with the given raw properties.
fn one_event(props: &[u8], count: u8) -> Vec<u8> {
    let mut e = vec![1, 7, 0, count];
    e.extend_from_slice(props);
    e
}

fn single_frame(message: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; message.len() + 16];
    let n =
        write_frame_range(message, 1, SourceType::CompactEvents, 0, message.len(), &mut out).expect("frame");
    out.truncate(n);
    out
}

fn status_with(limits: CaptureLimits, message: &[u8]) -> (u16, String) {
    let mut capture = Capture::new(limits);
    match capture.handle_frame("key", Some("s1"), &single_frame(message)) {
        Ok(outcome) => (outcome.status(), String::new()),
        Err(reject) => (reject.status, reject.reason),
    }
}

fn status(message: &[u8]) -> (u16, String) {
    status_with(CaptureLimits::default(), message)
}

fn valid() -> Vec<u8> {
    message(&["e"], &required_context(), &one_event(&[], 0))
}

#[test]
fn a_minimal_message_is_accepted_and_expanded() {
    let mut capture = Capture::new(CaptureLimits::default());
    let outcome = capture
        .handle_frame("key", None, &single_frame(&valid()))
        .expect("accepted");
    let FrameOutcome::Accepted { events, resend, .. } = outcome else {
        panic!("not accepted: {outcome:?}");
    };
    assert!(!resend);
    assert_eq!(
        events,
        vec![serde_json::json!({
            "event": "e", "distinct_id": "user-1", "timestamp": 1_700_000_000_000u64,
            "properties": {"$device_id": "device-1", "$device_model": "model-x",
                "$firmware_version": "1.0.0", "$sdk_platform": "posix",
                "$sdk_version": "0.3.1", "$environment": "production"}
        })]
    );
}

#[test]
fn structural_faults_are_400() {
    let ctx = required_context();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "non-canonical varint",
            {
                let mut m = valid();
                m.splice(0..1, [0x82, 0x00]);
                m
            },
            "non-canonical",
        ),
        (
            "varint over 10 bytes",
            {
                let mut m = vec![0x02, 0x01, 0x01];
                m.extend_from_slice(&[0xff; 10]);
                m.push(0x01);
                m
            },
            "over 10 bytes",
        ),
        (
            "format version",
            {
                let mut m = valid();
                m[0] = 3;
                m
            },
            "format_version",
        ),
        (
            "flags",
            {
                let mut m = valid();
                m[2] = 3;
                m
            },
            "flags",
        ),
        (
            "string ref out of range",
            message(&["e"], &ctx, &[1, 9, 0, 0]),
            "out of range",
        ),
        (
            "reserved tag",
            message(&["e", "k"], &ctx, &one_event(&[17, 0x0b], 1)),
            "reserved value tag",
        ),
        (
            "key_ref 0",
            message(&["e"], &ctx, &one_event(&[0, 0], 1)),
            "key_ref 0",
        ),
        (
            "reserved property id 8",
            message(&["e"], &ctx, &one_event(&[16, 0], 1)),
            "reserved property id 8",
        ),
        (
            "custom key aliasing a reserved name",
            message(&["e", "state"], &ctx, &one_event(&[17, 0x07, 7], 1)),
            "aliases",
        ),
        (
            "empty key",
            message(&["e", ""], &ctx, &one_event(&[17, 0], 1)),
            "empty key",
        ),
        (
            "empty event name",
            message(&[""], &ctx, &one_event(&[], 0)),
            "empty name",
        ),
        (
            "NaN",
            message(&["e", "k"], &ctx, &one_event(&[17, 0x05, 0, 0, 0xc0, 0x7f], 1)),
            "NaN",
        ),
        (
            "infinite f64",
            message(
                &["e", "k"],
                &ctx,
                &one_event(&[17, 0x06, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f], 1),
            ),
            "NaN or infinite",
        ),
        (
            "trailing byte",
            {
                let mut m = valid();
                m.push(0);
                m
            },
            "after the last event",
        ),
        ("no events", message(&["e"], &ctx, &[0]), "no events"),
        (
            "truncated",
            {
                let mut m = valid();
                m.pop();
                m
            },
            "truncated",
        ),
        (
            "duplicate string",
            message(&["e", "e"], &ctx, &one_event(&[], 0)),
            "repeats",
        ),
        (
            "invalid UTF-8",
            {
                let mut m = message(&["e", "ab"], &ctx, &one_event(&[], 0));
                let at = m.windows(2).position(|w| w == b"ab").expect("ab");
                m[at] = 0xc0;
                m
            },
            "UTF-8",
        ),
        (
            "timestamp overflow",
            message(
                &["e"],
                &ctx,
                &[
                    1, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0,
                ],
            ),
            "overflows",
        ),
    ];
    for (what, m, reason) in cases {
        let (code, why) = status(&m);
        assert_eq!(code, 400, "{what}: {why}");
        assert!(why.contains(reason), "{what}: reason {why:?} lacks {reason:?}");
    }
}

#[test]
fn context_rules() {
    let event = one_event(&[], 0);
    let mut missing = vec![6];
    for id in 1..=6u8 {
        missing.extend_from_slice(&[id, 0x07, id - 1]);
    }
    assert_eq!(status(&message(&["e"], &missing, &event)).0, 400);
    let mut twice = required_context();
    twice[0] = 8;
    twice.extend_from_slice(&[1, 0x07, 0]);
    assert!(status(&message(&["e"], &twice, &event)).1.contains("twice"));
    let mut reserved = required_context();
    reserved[0] = 8;
    reserved.extend_from_slice(&[11, 0x00]);
    assert!(status(&message(&["e"], &reserved, &event))
        .1
        .contains("reserved context key 11"));
    let mut bad_time = required_context();
    bad_time[0] = 8;
    bad_time.extend_from_slice(&[9, 0x03, 4]);
    assert!(status(&message(&["e"], &bad_time, &event))
        .1
        .contains("wrong value type"));
    let mut wrong_type = required_context();
    wrong_type[2] = 0x03; // distinct_id as uint
    assert_eq!(status(&message(&["e"], &wrong_type, &event)).0, 400);
    let mut extended = required_context();
    extended[0] = 10;
    extended.extend_from_slice(&[9, 0x03, 2, 10, 0x03, 5, 0x80, 0x01, 0x0a, 0x00]);
    assert_eq!(status(&message(&["e"], &extended, &event)).0, 204);
}

#[test]
fn semantic_faults_are_422() {
    let ctx = required_context();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "duplicate property",
            message(&["e", "k"], &ctx, &one_event(&[17, 0, 17, 1], 2)),
        ),
        (
            "duplicate reserved property",
            message(&["e"], &ctx, &one_event(&[2, 0x04, 88, 2, 0x04, 90], 2)),
        ),
        (
            "duplicate map key",
            message(
                &["e", "k", "m"],
                &ctx,
                &one_event(&[19, 0x0a, 2, 17, 0, 17, 0], 1),
            ),
        ),
        (
            "promoted name as key",
            message(&["e", "$device_id"], &ctx, &one_event(&[17, 0x07, 0], 1)),
        ),
        (
            "promoted name nested",
            message(
                &["e", "m", "distinct_id"],
                &ctx,
                &one_event(&[17, 0x0a, 1, 19, 0], 1),
            ),
        ),
        (
            "battery over 100",
            message(&["e"], &ctx, &one_event(&[2, 0x03, 101], 1)),
        ),
        (
            "battery as string",
            message(&["e"], &ctx, &one_event(&[2, 0x07, 0], 1)),
        ),
        (
            "reset_reason as uint",
            message(&["e"], &ctx, &one_event(&[6, 0x03, 1], 1)),
        ),
        (
            "bytes",
            message(&["e", "k"], &ctx, &one_event(&[17, 0x08, 2, 0xab, 0xcd], 1)),
        ),
    ];
    for (what, m) in cases {
        let (code, why) = status(&m);
        assert_eq!(code, 422, "{what}: {why}");
    }
    // A structural fault after a semantic one still makes it a 400.
    let both = message(&["e", "k"], &ctx, &one_event(&[17, 0, 17, 0, 17, 0x0c], 3));
    assert_eq!(status(&both).0, 400);
}

#[test]
fn bytes_are_expanded_when_allowed() {
    let m = message(
        &["e", "k"],
        &required_context(),
        &one_event(&[17, 0x08, 2, 0xab, 0xcd], 1),
    );
    let limits = CaptureLimits {
        allow_binary: true,
        ..CaptureLimits::default()
    };
    let mut capture = Capture::new(limits);
    let Ok(FrameOutcome::Accepted { events, .. }) = capture.handle_frame("key", None, &single_frame(&m))
    else {
        panic!("bytes refused although allowed");
    };
    assert_eq!(
        events[0]["properties"]["k"],
        serde_json::json!({"bytes_hex": "abcd"})
    );
}

fn nested_arrays(levels: usize) -> Vec<u8> {
    let mut props = vec![17];
    for _ in 0..levels {
        props.extend_from_slice(&[0x09, 1]);
    }
    props.push(0);
    message(&["e", "k"], &required_context(), &one_event(&props, 1))
}

#[test]
fn depth_eight_passes_and_nine_is_400() {
    assert_eq!(status(&nested_arrays(8)).0, 204);
    assert_eq!(status(&nested_arrays(9)).0, 400);
}

#[test]
fn limits_are_413() {
    let small = CaptureLimits {
        max_events: 1,
        ..CaptureLimits::default()
    };
    let two = message(&["e"], &required_context(), &[2, 7, 0, 0, 7, 0, 0]);
    assert_eq!(status_with(small, &two).0, 413);
    let strings = CaptureLimits {
        max_strings: 7,
        ..CaptureLimits::default()
    };
    assert_eq!(status_with(strings, &valid()).0, 413);
    let mut capture = Capture::new(CaptureLimits::default());
    let huge = vec![0u8; 64 * 1024 + 1];
    assert_eq!(capture.handle_frame("key", None, &huge).unwrap_err().status, 413);
    // A total_len claim over the message limit is refused before anything is allocated.
    let mut claim = vec![0x42, 0x01];
    uvarint(u64::MAX, &mut claim);
    claim.push(0x02);
    assert_eq!(
        capture.handle_frame("key", Some("s"), &claim).unwrap_err().status,
        413
    );
}

fn frames(message: &[u8], id: u32, cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(message.len());
    bounds
        .windows(2)
        .map(|w| {
            let mut out = vec![0u8; message.len() + 32];
            let n = write_frame_range(message, id, SourceType::CompactEvents, w[0], w[1], &mut out)
                .expect("frame");
            out.truncate(n);
            out
        })
        .collect()
}

fn code(capture: &mut Capture, stream: Option<&str>, frame: &[u8]) -> u16 {
    match capture.handle_frame("key", stream, frame) {
        Ok(o) => o.status(),
        Err(r) => r.status,
    }
}

#[test]
fn reassembly_rules() {
    let m = valid();
    let f = frames(&m, 9, &[20, 40]);
    let s = Some("s1");
    let mut c = Capture::new(CaptureLimits::default());
    // A continuation for a message capture does not hold: 409, so the sender restarts.
    assert_eq!(code(&mut c, s, &f[1]), 409);
    // Multi-frame needs a stream id.
    assert_eq!(code(&mut c, None, &f[0]), 400);
    assert_eq!(code(&mut c, s, &f[0]), 202);
    assert_eq!(code(&mut c, s, &f[0]), 202, "exact duplicate init");
    assert_eq!(code(&mut c, s, &f[2]), 409, "gap");
    assert_eq!(code(&mut c, s, &f[1]), 202);
    assert_eq!(code(&mut c, s, &f[1]), 202, "exact duplicate continuation");
    let mut altered = f[1].clone();
    let last = altered.len() - 1;
    altered[last] ^= 0xff;
    assert_eq!(code(&mut c, s, &altered), 409, "same offset, other bytes");
    // Another stream keeps its own messages.
    assert_eq!(code(&mut c, Some("s2"), &f[1]), 409);
    assert_eq!(code(&mut c, s, &f[2]), 204);
    assert_eq!(c.partial_count(), 0);
    // A resend of the whole accepted message: 204 again, its events not emitted twice.
    assert_eq!(code(&mut c, s, &f[0]), 202);
    assert_eq!(code(&mut c, s, &f[1]), 202);
    match c.handle_frame("key", s, &f[2]) {
        Ok(FrameOutcome::Accepted { resend, events, .. }) => assert!(resend && events.is_empty()),
        other => panic!("resend not recognised: {other:?}"),
    }
    // The same id with another message: 409.
    let other = message(&["x"], &required_context(), &one_event(&[], 0));
    assert_eq!(code(&mut c, s, &frames(&other, 9, &[])[0]), 409);
}

#[test]
fn crc_is_checked_before_decoding_and_partials_expire() {
    let m = valid();
    let mut f = frames(&m, 3, &[30]);
    let last = f[1].len() - 1;
    f[1][last] ^= 0x01;
    let mut c = Capture::new(CaptureLimits::default());
    assert_eq!(code(&mut c, Some("s"), &f[0]), 202);
    let reject = c.handle_frame("key", Some("s"), &f[1]).unwrap_err();
    assert_eq!(reject.status, 400);
    assert!(reject.reason.contains("CRC"));
    // A CRC over garbage is refused as a CRC error, not as a decode error.
    let mut garbage = vec![0x02, 0x05, 0xff, 0xff];
    garbage.extend_from_slice(&(crc16(&[0xff, 0xff]) ^ 1).to_le_bytes());
    assert!(c
        .handle_frame("key", None, &garbage)
        .unwrap_err()
        .reason
        .contains("CRC"));

    let limits = CaptureLimits {
        partial_ttl: Duration::from_secs(60),
        ..CaptureLimits::default()
    };
    let mut c = Capture::new(limits);
    let f = frames(&m, 4, &[30]);
    let t0 = Instant::now();
    assert_eq!(
        c.handle_frame_at(t0, "key", Some("s"), &f[0]).unwrap().status(),
        202
    );
    let late = t0 + Duration::from_secs(61);
    assert_eq!(
        c.handle_frame_at(late, "key", Some("s"), &f[1])
            .unwrap_err()
            .status,
        409
    );
}

#[test]
fn frame_header_faults_are_400() {
    let mut c = Capture::new(CaptureLimits::default());
    let good = single_frame(&valid());
    for (what, edit) in [
        ("version 1", 0x01u8),
        ("version 3", 0x03),
        ("reserved bit", 0x82),
        ("source 2", 0x0a),
    ] {
        let mut f = good.clone();
        f[0] = edit;
        assert_eq!(code(&mut c, None, &f), 400, "{what}");
    }
    assert_eq!(code(&mut c, None, &[]), 400);
    assert_eq!(
        code(&mut c, Some("s"), &[0x62, 0x01, 0x00, 0x01]),
        400,
        "offset 0"
    );
}

#[test]
fn coredump_blobs_reassemble() {
    let blob: Vec<u8> = (0..1300u32).map(|i| i as u8).collect();
    let mut c = Capture::new(CaptureLimits::default());
    let mut statuses = Vec::new();
    for w in [0usize, 512, 1024, 1300].windows(2) {
        let mut out = vec![0u8; 600];
        let n = write_frame_range(&blob, 0x1001, SourceType::Coredump, w[0], w[1], &mut out).unwrap();
        statuses.push(code(&mut c, Some("crash-7f3a9c2e"), &out[..n]));
    }
    assert_eq!(statuses, [202, 202, 204]);
}
