//! Encoder unit tests. Byte-exact checks against the shared fixtures live in
//! `tests/wire_conformance.rs`; these pin the rules one at a time.

use super::encode::*;
use super::*;
use crate::packed::{read_value, PackedWriter, Pairs, Value};
use alloc::vec::Vec;

fn ctx() -> BatchContext<'static> {
    BatchContext {
        distinct_id: "user-1",
        device_id: "device-1",
        device_model: "model-x",
        firmware_version: "1.0.0",
        sdk_platform: "posix",
        sdk_version: "0.3.1",
        environment: "production",
        session_id: None,
        device_time_source: None,
        capabilities: None,
        extensions: &[],
        base_time_ms: None,
    }
}

fn event<'a>(name: &'a str, ts: u64, props: &'a [u8]) -> EventView<'a> {
    let (properties, rest) = Pairs::parse(props).expect("test properties are well formed");
    assert!(rest.is_empty());
    EventView {
        name,
        timestamp_ms: ts,
        properties,
    }
}

/// Packs a property list with the closure's writes after a count.
fn props(count: u64, f: impl FnOnce(&mut PackedWriter<'_>)) -> Vec<u8> {
    let mut buf = alloc::vec![0u8; 16 * 1024];
    let mut w = PackedWriter::new(&mut buf);
    w.put_uvarint(count).unwrap();
    f(&mut w);
    let n = w.len();
    buf.truncate(n);
    buf
}

fn encode_all(ctx: &BatchContext<'_>, events: &[EventView<'_>]) -> Result<Vec<u8>, EncodeFailure> {
    let mut out = [0u8; 4096];
    let n = encode_message(ctx, events, &mut out)?;
    Ok(out[..n].to_vec())
}

fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    s.chunks(2)
        .map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

#[test]
fn worked_example_of_wire_md_4_7() {
    let none = props(0, |_| {});
    let events = [event("boot", 1_700_000_000_000, &none)];
    let message = encode_all(&ctx(), &events).unwrap();
    let expected = hex(
        "020101 80d095ffbc31 08 06757365722d31 086465766963652d31 076d6f64656c2d78
         05312e302e30 05706f736978 05302e332e31 0a70726f64756374696f6e 04626f6f74
         07 010700 020701 030702 040703 050704 060705 070706 01 070000",
    );
    assert_eq!(message, expected);
    assert_eq!(crc16(&message), 0x4cfc);
    let mut frame = [0u8; 128];
    let n = write_frame_range(
        &message,
        1,
        SourceType::CompactEvents,
        0,
        message.len(),
        &mut frame,
    )
    .unwrap();
    assert_eq!(&frame[..2], &[0x02, 0x01]);
    assert_eq!(&frame[n - 2..n], &[0xfc, 0x4c]);
}

#[test]
fn shared_strings_are_interned_once_and_deltas_are_signed() {
    let mut c = ctx();
    c.distinct_id = "device-1"; // the anonymous-device case: distinct_id == $device_id
    c.session_id = Some("sess_1");
    c.device_time_source = Some(DeviceTimeSource::RealtimeClock);
    let p = props(2, |w| {
        w.key("mode").unwrap();
        w.str("device-1").unwrap();
        w.key("$battery_level").unwrap();
        w.signed(44).unwrap();
    });
    let events = [event("tick", 1000, &p), event("tick", 990, &p)];
    let m = encode_all(&c, &events).unwrap();
    // 8 strings: device-1, model-x, 1.0.0, posix, 0.3.1, production, sess_1, tick, mode
    let strings_at = 3 + 2; // header + base 1000 (2 bytes)
    assert_eq!(m[strings_at], 9);
    let tail = hex("09 010700 020700 030701 040702 050703 060704 070705 080706 090301
                    02 07 00 02 11 0700 02 0458 07 13 02 11 0700 02 0458");
    assert!(m.ends_with(&tail), "{m:02x?}");
}

#[test]
fn extensions_intern_before_events_and_ids_are_checked() {
    let ext_value = {
        let mut buf = [0u8; 64];
        let mut w = PackedWriter::new(&mut buf);
        w.begin_map(1).unwrap();
        w.key("gateway_batch").unwrap();
        w.str("boot").unwrap();
        let n = w.len();
        let mut v = [0u8; 64];
        v[..n].copy_from_slice(&buf[..n]);
        (v, n)
    };
    let (value, _) = read_value(&ext_value.0[..ext_value.1]).unwrap();
    let extensions = [Extension { id: 128, value }];
    let mut c = ctx();
    c.extensions = &extensions;
    let none = props(0, |_| {});
    let m = encode_all(&c, &[event("boot", 5, &none)]).unwrap();
    // Table: 7 context strings, then gateway_batch (7), boot (8); the event reuses boot.
    let tail = hex(
        "08 010700 020701 030702 040703 050704 060705 070706 8001 0a01 0f 0708
                    01 080000",
    );
    assert!(m.ends_with(&tail), "{m:02x?}");

    let bad = [Extension {
        id: 127,
        value: Value::Null,
    }];
    c.extensions = &bad;
    let err = encode_all(&c, &[event("boot", 5, &none)]).unwrap_err();
    assert_eq!(
        err,
        EncodeFailure {
            error: EncodeError::ExtensionIdOutOfRange,
            event: None
        }
    );
    let twice = [
        Extension {
            id: 200,
            value: Value::Null,
        },
        Extension {
            id: 200,
            value: Value::Null,
        },
    ];
    c.extensions = &twice;
    let err = encode_all(&c, &[event("boot", 5, &none)]).unwrap_err();
    assert_eq!(err.error, EncodeError::DuplicateExtensionId);
}

fn single_error(p: &[u8]) -> EncodeError {
    match encode_all(&ctx(), &[event("e", 1, p)]) {
        Ok(m) => panic!("encoded {} bytes instead of failing", m.len()),
        Err(f) => f.error,
    }
}

#[test]
fn refuses_bad_values_and_keys() {
    let nan = props(1, |w| {
        w.key("x").unwrap();
        w.f64(f64::NAN).unwrap();
    });
    assert_eq!(single_error(&nan), EncodeError::NonFiniteFloat);
    let inf = props(1, |w| {
        w.key("x").unwrap();
        w.begin_array(1).unwrap();
        w.f32(f32::INFINITY).unwrap();
    });
    assert_eq!(single_error(&inf), EncodeError::NonFiniteFloat);
    let dup = props(2, |w| {
        w.key("x").unwrap();
        w.null().unwrap();
        w.key("x").unwrap();
        w.null().unwrap();
    });
    assert_eq!(single_error(&dup), EncodeError::DuplicateKey);
    let nested_dup = props(1, |w| {
        w.key("m").unwrap();
        w.begin_map(2).unwrap();
        w.key("state").unwrap();
        w.str("a").unwrap();
        w.key("state").unwrap();
        w.str("b").unwrap();
    });
    assert_eq!(single_error(&nested_dup), EncodeError::DuplicateKey);
    let promoted = props(1, |w| {
        w.key("$device_id").unwrap();
        w.str("x").unwrap();
    });
    assert_eq!(single_error(&promoted), EncodeError::PromotedKey);
    let nested_promoted = props(1, |w| {
        w.key("m").unwrap();
        w.begin_array(1).unwrap();
        w.begin_map(1).unwrap();
        w.key("distinct_id").unwrap();
        w.str("x").unwrap();
    });
    assert_eq!(single_error(&nested_promoted), EncodeError::PromotedKey);
    let empty_key = props(1, |w| {
        w.key("").unwrap();
        w.null().unwrap();
    });
    assert_eq!(single_error(&empty_key), EncodeError::EmptyKey);
    let battery = props(1, |w| {
        w.key("$battery_level").unwrap();
        w.uint(101).unwrap();
    });
    assert_eq!(single_error(&battery), EncodeError::ReservedPropertyValue);
    let reason = props(1, |w| {
        w.key("reset_reason").unwrap();
        w.uint(1).unwrap();
    });
    assert_eq!(single_error(&reason), EncodeError::ReservedPropertyValue);
    let none = props(0, |_| {});
    let err = encode_all(&ctx(), &[event("", 1, &none)]).unwrap_err();
    assert_eq!(
        err,
        EncodeFailure {
            error: EncodeError::EmptyEventName,
            event: Some(0)
        }
    );
    let mut c = ctx();
    c.environment = "";
    assert_eq!(
        encode_all(&c, &[event("e", 1, &none)]).unwrap_err(),
        EncodeFailure {
            error: EncodeError::EmptyContextValue,
            event: None
        }
    );
    let far = [event("e", u64::MAX, &none), event("e", 0, &none)];
    assert_eq!(
        encode_all(&ctx(), &far).unwrap_err(),
        EncodeFailure {
            error: EncodeError::TimeDeltaOverflow,
            event: Some(1)
        }
    );
    assert_eq!(encode_all(&ctx(), &[]).unwrap_err().error, EncodeError::NoEvents);
}

fn nested(levels: usize) -> Vec<u8> {
    props(1, |w| {
        w.key("deep").unwrap();
        for _ in 0..levels {
            w.begin_array(1).unwrap();
        }
        w.null().unwrap();
    })
}

#[test]
fn eight_nested_containers_pass_and_nine_do_not() {
    let none = props(0, |_| {});
    let eight = nested(8);
    assert!(encode_all(&ctx(), &[event("e", 1, &eight)]).is_ok());
    let nine = nested(9);
    assert_eq!(single_error(&nine), EncodeError::Limit(Limit::Depth));
    assert!(encode_all(&ctx(), &[event("e", 1, &none)]).is_ok());
}

#[test]
fn limits_are_reported_by_name() {
    let many = props(65, |w| {
        for i in 0..65u32 {
            let key = alloc::format!("k{i}");
            w.key(&key).unwrap();
            w.null().unwrap();
        }
    });
    assert_eq!(single_error(&many), EncodeError::Limit(Limit::Properties));
    let long = "x".repeat(513);
    let long_value = props(1, |w| {
        w.key("k").unwrap();
        w.str(&long).unwrap();
    });
    assert_eq!(single_error(&long_value), EncodeError::Limit(Limit::StringBytes));
    let wide = props(5, |w| {
        for i in 0..5u8 {
            w.key(&alloc::format!("k{i}")).unwrap();
            w.str(&"y".repeat(400 + usize::from(i))).unwrap();
        }
    });
    assert_eq!(single_error(&wide), EncodeError::Limit(Limit::TotalStringBytes));
    let strings = props(64, |w| {
        for i in 0..64u32 {
            w.key(&alloc::format!("k{i}")).unwrap();
            w.str(&alloc::format!("v{i}")).unwrap();
        }
    });
    assert_eq!(single_error(&strings), EncodeError::Limit(Limit::Strings));
    let blob = alloc::vec![7u8; 4096];
    let big = props(1, |w| {
        w.key("b").unwrap();
        w.bytes(&blob).unwrap();
    });
    assert_eq!(single_error(&big), EncodeError::Limit(Limit::MessageBytes));
    let mut small_out = [0u8; 100];
    let none = props(0, |_| {});
    let one = [event("e", 1, &none)];
    assert_eq!(
        encode_message(&ctx(), &one[..], &mut small_out[..60])
            .unwrap_err()
            .error,
        EncodeError::OutputTooSmall
    );
    let fifty_one: Vec<_> = (0..51).map(|i| event("e", i, &none)).collect();
    assert_eq!(
        encode_all(&ctx(), &fifty_one).unwrap_err(),
        EncodeFailure {
            error: EncodeError::Limit(Limit::Events),
            event: None
        }
    );
}

#[test]
fn longest_prefix_stops_before_the_event_that_does_not_fit() {
    let blob = alloc::vec![1u8; 1500];
    let heavy = props(1, |w| {
        w.key("b").unwrap();
        w.bytes(&blob).unwrap();
    });
    let mut events: Vec<_> = (0..4).map(|i| event("chunk", i, &heavy)).collect();
    let mut out = [0u8; 4096];
    let got = encode_longest_prefix(&ctx(), &events[..], &mut out).unwrap();
    assert_eq!(got.events, 2);
    let exact = encode_all(&ctx(), &events[..2]).unwrap();
    assert_eq!(&out[..got.len], &exact[..]);

    // A rule violation also ends the prefix, and leads (and fails) the next message.
    let nan = props(1, |w| {
        w.key("x").unwrap();
        w.f32(f32::NAN).unwrap();
    });
    events[1] = event("bad", 1, &nan);
    let got = encode_longest_prefix(&ctx(), &events[..], &mut out).unwrap();
    assert_eq!(got.events, 1);
    let failure = encode_longest_prefix(&ctx(), &events[1..], &mut out).unwrap_err();
    assert_eq!(
        failure,
        EncodeFailure {
            error: EncodeError::NonFiniteFloat,
            event: Some(0)
        }
    );

    // The cap of 50 applies to candidates, and strings of rejected events are rolled back.
    let none = props(0, |_| {});
    let names: Vec<_> = (0..60).map(|i| alloc::format!("name-{i}")).collect();
    let many: Vec<_> = names.iter().map(|n| event(n, 0, &none)).collect();
    let got = encode_longest_prefix(&ctx(), &many[..], &mut out).unwrap();
    assert_eq!(got.events, 50);
    assert_eq!(&out[..got.len], &encode_all(&ctx(), &many[..50]).unwrap()[..]);
}

#[test]
fn stream_identity_and_message_ids() {
    let (text, seed) = stream_identity([0x9f, 0x00, 0x3a, 0xc1]);
    assert_eq!(&text, b"9f003ac1");
    assert_eq!(seed, 0x9f00_3ac1);
    assert_eq!(message_id(u32::MAX, 2), 1);
    assert_eq!(message_id(10, (1u64 << 32) + 5), 15);
}
