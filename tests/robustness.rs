//! Randomized checks of two promises (product.md §4):
//!
//! - decision 13: every event the client accepts can be encoded alone, by the real encoder,
//!   and every event it refuses for a wire limit could not have been;
//! - decision 18: whatever the application writes into `event_buffer` between calls, the
//!   client never panics (overflow checks are on in test builds) and its counters stay
//!   consistent.
//!
//! The iteration counts are small here; `HONCH_ROBUSTNESS_ITERS=<n>` runs more.

#[path = "common/fake_net.rs"]
mod fake_net;

use fake_net::*;
use honch::client::{
    Client, Properties, MESSAGE_TOO_LARGE, SDK_VERSION, TOO_MANY_STRINGS, TOO_MANY_STRING_BYTES,
};
use honch::config::{Config, ConfigBuilder, Field};
use honch::packed::{PackedWriter, Pairs};
use honch::record::{RecordView, FLAG_BOOT_RELATIVE};
use honch::status::Status;
use honch::wire::{encode_message, BatchContext, DeviceTimeSource, EncodeError, EventView, Limit};

fn iterations(default: u64) -> u64 {
    std::env::var("HONCH_ROBUSTNESS_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The context the client's encoder gives a message led by a record with this identity.
fn context<'a>(config: &'a Config, distinct_id: &'a str, session: Option<&'a str>) -> BatchContext<'a> {
    BatchContext {
        distinct_id,
        device_id: &config.device_id,
        device_model: &config.device_model,
        firmware_version: &config.firmware_version,
        sdk_platform: "test",
        sdk_version: SDK_VERSION,
        environment: &config.environment,
        session_id: session,
        device_time_source: Some(DeviceTimeSource::RealtimeClock),
        capabilities: None,
        extensions: &[],
        base_time_ms: None,
    }
}

/// Encodes one stored record alone, as the flush path would lead a message with it. A
/// boot-relative stamp gets its real time only at upload, so it is taken at its widest.
fn encode_record_alone(config: &Config, payload: &[u8]) -> Result<usize, EncodeError> {
    let view = RecordView::parse(payload).expect("a record the client wrote");
    let session = view.session_id.map(honch::client::session_text);
    let session = session.as_ref().map(|s| std::str::from_utf8(s).unwrap());
    let ctx = context(config, view.distinct_id, session);
    let timestamp_ms = if view.flags & FLAG_BOOT_RELATIVE != 0 {
        u64::MAX
    } else {
        view.timestamp_ms
    };
    let event = [EventView {
        name: view.name,
        timestamp_ms,
        properties: view.properties,
    }];
    let mut out = vec![0u8; 4096];
    encode_message(&ctx, &event[..], &mut out).map_err(|f| f.error)
}

/// Packs `props` as the record would hold them (for an event the client refused).
fn pack(props: &RandProps) -> Vec<u8> {
    fn value(w: &mut PackedWriter<'_>, v: &Val) {
        let r = match v {
            Val::Null => w.null(),
            Val::Bool(b) => w.bool(*b),
            Val::Int(i) => w.int(*i),
            Val::UInt(u) => w.uint(*u),
            Val::F64(f) => w.f64(*f),
            Val::F32(f) => w.f32(*f),
            Val::Str(s) => w.str(s),
            Val::Bytes(b) => w.bytes(b),
            Val::List(items) => {
                w.begin_array(items.len()).unwrap();
                items.iter().for_each(|i| value(w, i));
                Ok(())
            }
            Val::Map(pairs) => {
                w.begin_map(pairs.len()).unwrap();
                for (k, v) in pairs {
                    w.key(k).unwrap();
                    value(w, v);
                }
                Ok(())
            }
        };
        r.unwrap();
    }
    let mut buf = vec![0u8; 64 * 1024];
    let mut w = PackedWriter::new(&mut buf);
    w.put_uvarint(props.0.len() as u64).unwrap();
    for (k, v) in &props.0 {
        w.key(k).unwrap();
        value(&mut w, v);
    }
    let n = w.len();
    buf.truncate(n);
    buf
}

fn text_config(rng: &mut Rng, tight: bool) -> Config {
    let mut lens = [
        1 + rng.below(40),
        1 + rng.below(40),
        1 + rng.below(20),
        1 + rng.below(20),
    ];
    if tight {
        // Leave a string budget of a few hundred bytes or less for the events.
        for l in &mut lens {
            *l = 350 + rng.below(163);
        }
    }
    let texts: Vec<String> = lens.iter().map(|&l| rng.text(l as usize)).collect();
    let mut b = ConfigBuilder::new();
    b.set_text(Field::ApiKey, Some("key")).unwrap();
    b.set_text(Field::EndpointUrl, Some("http://127.0.0.1:8000"))
        .unwrap();
    b.set_text(Field::DeviceId, Some(&texts[0])).unwrap();
    b.set_text(Field::DeviceModel, Some(&texts[1])).unwrap();
    b.set_text(Field::FirmwareVersion, Some(&texts[2])).unwrap();
    b.set_text(Field::Environment, Some(&texts[3])).unwrap();
    b.set_int(Field::BatchSize, Some(50)).unwrap();
    b.set_int(Field::MaxEventBytes, Some(64 * 1024)).unwrap();
    b.finish().unwrap()
}

/// Properties near the wire limits: many distinct strings, long strings, large bytes, or
/// strings shared with each other and with the context.
fn stress_props(rng: &mut Rng, config: &Config) -> RandProps {
    let mut pairs: Vec<(String, Val)> = Vec::new();
    match rng.below(6) {
        0 => {
            // Distinct strings around the 128-entry limit.
            let n = 40 + rng.below(25) as usize;
            for i in 0..n {
                let value = if rng.chance(80) {
                    Val::Str(format!("v{i}"))
                } else {
                    Val::Int(i as i64)
                };
                pairs.push((format!("k{i}"), value));
            }
        }
        1 => {
            // Long strings around the 2048-byte limit.
            let n = 2 + rng.below(5) as usize;
            let each = 1500 / n + rng.below(700 / n as u64) as usize;
            for i in 0..n {
                pairs.push((format!("s{i}"), Val::Str(rng.text(each.min(512)))));
            }
        }
        2 => {
            // A bytes value around the 4096-byte message limit.
            let len = 3700 + rng.below(500) as usize;
            pairs.push(("blob".into(), Val::Bytes(vec![0xab; len])));
            if rng.chance(50) {
                pairs.push(("note".into(), Val::Str(rng.text_between(0, 300))));
            }
        }
        3 => {
            // Many repeats: one table entry however many times they appear.
            let word = rng.text_between(1, 400);
            let n = 1 + rng.below(300) as usize;
            pairs.push(("same".into(), Val::List(vec![Val::Str(word.clone()); n])));
            pairs.push((word.clone(), Val::Str(word)));
        }
        4 => {
            // Strings equal to the context's.
            pairs.push(("a".into(), Val::Str(config.device_id.to_string())));
            pairs.push(("b".into(), Val::Str(config.device_model.to_string())));
            pairs.push(((*config.environment).to_owned(), Val::Str("test".into())));
            pairs.push(("c".into(), Val::Str(SDK_VERSION.into())));
            pairs.push(("d".into(), Val::Str(rng.text_between(0, 512))));
        }
        _ => {
            // Floats and numbers fill the bytes, strings the table.
            for i in 0..64 {
                let v = if rng.chance(30) {
                    Val::Str(rng.text_between(0, 60))
                } else {
                    Val::List(vec![Val::F64(i as f64 + 0.5); rng.below(12) as usize])
                };
                pairs.push((format!("f{i}"), v));
            }
        }
    }
    // Keys are unique, as in a dict.
    let mut unique: Vec<(String, Val)> = Vec::new();
    for (k, v) in pairs {
        if !unique.iter().any(|(u, _)| *u == k) {
            unique.push((k, v));
        }
    }
    RandProps(unique)
}

fn limit_of(e: &honch::status::Error) -> Option<Limit> {
    if *e == TOO_MANY_STRINGS {
        Some(Limit::Strings)
    } else if *e == TOO_MANY_STRING_BYTES {
        Some(Limit::TotalStringBytes)
    } else if *e == MESSAGE_TOO_LARGE {
        Some(Limit::MessageBytes)
    } else {
        None
    }
}

#[test]
fn events_the_client_accepts_encode_alone_and_those_it_refuses_for_a_wire_limit_do_not() {
    let mut accepted = 0;
    let mut refused = 0;
    for seed in 0..iterations(30) {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (seed + 1));
        let tight = rng.chance(30);
        let config = text_config(&mut rng, tight);
        let clock = TestClock::new();
        if rng.chance(20) {
            clock.now.set(0); // the real-time clock is not set: boot-relative stamps
        }
        let size = if rng.chance(25) { 6 * 1024 } else { 256 * 1024 };
        let mut buf = vec![0u8; size];
        let mut c = match Client::new(config.clone(), &mut buf, [seed as u8; 32], &clock, "test") {
            Ok(c) => c,
            Err(e) => {
                assert_eq!(e, honch::client::CONTEXT_TOO_LARGE, "seed {seed}");
                continue;
            }
        };
        let mut net = FakeNet::new(&[]);
        for step in 0..60 {
            let what = rng.below(10);
            let props = if rng.chance(50) {
                stress_props(&mut rng, &config)
            } else {
                RandProps::random(&mut rng, 600)
            };
            let distinct = c.distinct_id().to_owned();
            let session = c.session_id();
            let result = match what {
                0 => {
                    let id = rng.text_between(1, 256);
                    c.identify(&mut buf, &clock, &id, &props)
                }
                1 => c.session_start(&mut buf, &clock, Some("s")),
                2 => c.session_end(&mut buf, &clock),
                3 => {
                    let single = RandProps(props.0.into_iter().take(1).collect());
                    if single.count() == 1 {
                        c.set_property(&mut buf, &clock, &single)
                    } else {
                        Ok(())
                    }
                }
                _ => {
                    let name = rng.text_between(1, 128);
                    let r = c.track(&mut buf, &clock, &name, &props);
                    if let Err(e) = r {
                        if let Some(limit) = limit_of(&e) {
                            // Exactness: the encoder refuses it alone too, for that limit.
                            refused += 1;
                            let packed = pack(&props);
                            let (pairs, _) = Pairs::parse(&packed).unwrap();
                            let session = session.as_ref().map(|s| std::str::from_utf8(s).unwrap());
                            let ctx = context(&config, &distinct, session);
                            let timestamp_ms = if clock.now.get() == 0 {
                                u64::MAX
                            } else {
                                clock.now.get()
                            };
                            let event = [EventView {
                                name: &name,
                                timestamp_ms,
                                properties: pairs,
                            }];
                            let mut out = vec![0u8; 4096];
                            let got = encode_message(&ctx, &event[..], &mut out).map_err(|f| f.error);
                            let got = got.map_err(|e| match e {
                                EncodeError::OutputTooSmall => EncodeError::Limit(Limit::MessageBytes),
                                e => e,
                            });
                            assert_eq!(
                                got,
                                Err(EncodeError::Limit(limit)),
                                "seed {seed} step {step}: {e:?}"
                            );
                        }
                    }
                    r
                }
            };
            match result {
                Ok(()) => {
                    // The newest record (when one was queued) encodes alone.
                    if let Some(Some(last)) = c.queue().iter(&buf).last() {
                        accepted += 1;
                        if let Err(e) = encode_record_alone(&config, last) {
                            panic!("seed {seed} step {step}: accepted event does not encode alone: {e:?}");
                        }
                    }
                }
                Err(e) => assert!(
                    matches!(e.status, Status::InvalidArgument | Status::QueueFull),
                    "seed {seed} step {step}: {e:?}"
                ),
            }
            if rng.chance(10) {
                clock.now.set(T0 + step);
                clock.advance(20_000);
                let _ = c.flush(&mut buf, &clock, &mut net, true);
                assert_eq!(
                    c.queue_stats().dead_lettered_events,
                    0,
                    "seed {seed}: nothing is dead-lettered"
                );
                assert_ne!(c.last_error().reason.as_str(), "encode_failed", "seed {seed}");
            }
        }
        clock.now.set(T0 + 99);
        let _ = c.flush(&mut buf, &clock, &mut net, true);
        let stats = c.queue_stats();
        assert_eq!((stats.depth, stats.dead_lettered_events), (0, 0), "seed {seed}");
    }
    eprintln!("{accepted} events accepted and encoded alone, {refused} refused for a wire limit");
    assert!(
        accepted > 100 && refused > 10,
        "accepted {accepted}, refused {refused}"
    );
}

fn plain_config(
    extra_text: &[(Field, &str)],
    extra_int: &[(Field, i64)],
) -> Result<Config, honch::status::Error> {
    let mut b = ConfigBuilder::new();
    b.set_text(Field::ApiKey, Some("key")).unwrap();
    b.set_text(Field::EndpointUrl, Some("http://127.0.0.1:8000"))
        .unwrap();
    b.set_text(Field::DeviceId, Some("dev-1")).unwrap();
    b.set_text(Field::DeviceModel, Some("Board")).unwrap();
    b.set_text(Field::FirmwareVersion, Some("1.0")).unwrap();
    for &(f, v) in extra_text {
        b.set_text(f, Some(v)).unwrap();
    }
    for &(f, v) in extra_int {
        b.set_int(f, Some(v)).unwrap();
    }
    b.finish()
}

fn strings(n: usize, len: usize) -> RandProps {
    RandProps(
        (0..n)
            .map(|i| (format!("k{i}"), Val::Str(format!("{i:0len$}"))))
            .collect(),
    )
}

#[test]
fn track_refuses_an_event_over_a_wire_limit_and_names_the_limit() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut c = Client::new(plain_config(&[], &[]).unwrap(), &mut buf, [1; 32], &clock, "test").unwrap();
    let cases = [
        // 5 distinct strings of 450 bytes: 2250 bytes of strings.
        (strings(5, 450), TOO_MANY_STRING_BYTES, "2048 bytes of strings"),
        // 64 keys and 64 distinct values, with the context and the name: over 128 entries.
        (strings(64, 3), TOO_MANY_STRINGS, "128 distinct strings"),
        // A bytes value over the 4096-byte message.
        (
            RandProps(vec![("blob".into(), Val::Bytes(vec![7; 5000]))]),
            MESSAGE_TOO_LARGE,
            "4096 bytes",
        ),
        (
            RandProps(vec![(
                "nested".into(),
                Val::List(vec![Val::Map(vec![("x".into(), Val::Bytes(vec![1; 4090]))])]),
            )]),
            MESSAGE_TOO_LARGE,
            "4096 bytes",
        ),
    ];
    for (props, error, words) in cases {
        let err = c.track(&mut buf, &clock, "big", &props).unwrap_err();
        assert_eq!(err, error);
        assert_eq!(err.status, Status::InvalidArgument);
        assert!(
            err.message.contains(words) && err.message.contains("wire limit"),
            "{}",
            err.message
        );
    }
    assert_eq!(c.queue_stats().depth, 1, "only $device_boot is queued");

    // The same volume shared is one string: accepted, and delivered.
    let shared = RandProps(
        (0..10)
            .map(|i| (format!("k{i}"), Val::Str("x".repeat(500))))
            .collect(),
    );
    c.track(&mut buf, &clock, "shared", &shared).unwrap();
    let list = RandProps(vec![("l".into(), Val::List(vec![Val::Str("same".into()); 1200]))]);
    c.track(&mut buf, &clock, "list", &list).unwrap();
    // A value equal to a context string adds nothing to the table either.
    let mut near = strings(3, 500);
    near.0.push(("d".into(), Val::Str("dev-1".into())));
    c.track(&mut buf, &clock, "near", &near).unwrap();
    let mut net = FakeNet::new(&[]);
    c.flush(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(net.names(), ["$device_boot", "shared", "list", "near"]);
    assert_eq!(c.queue_stats().dead_lettered_events, 0);
}

#[test]
fn the_largest_event_track_accepts_is_delivered_alone_and_one_byte_more_is_refused() {
    for session in [false, true] {
        let clock = TestClock::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut c = Client::new(plain_config(&[], &[]).unwrap(), &mut buf, [1; 32], &clock, "test").unwrap();
        if session {
            c.session_start(&mut buf, &clock, None).unwrap();
        }
        let blob = |n: usize| RandProps(vec![("blob".into(), Val::Bytes(vec![0x5a; n]))]);
        let (mut lo, mut hi) = (0usize, 8192usize);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            let mut probe =
                Client::new(plain_config(&[], &[]).unwrap(), &mut buf, [1; 32], &clock, "test").unwrap();
            if session {
                probe.session_start(&mut buf, &clock, None).unwrap();
            }
            match probe.track(&mut buf, &clock, "blob", &blob(mid)) {
                Ok(()) => lo = mid,
                Err(e) => {
                    assert_eq!(e, MESSAGE_TOO_LARGE);
                    hi = mid;
                }
            }
        }
        assert!(lo > 3900, "{lo}");
        let mut c2 = Client::new(plain_config(&[], &[]).unwrap(), &mut buf, [1; 32], &clock, "test").unwrap();
        if session {
            c2.session_start(&mut buf, &clock, None).unwrap();
        }
        c2.track(&mut buf, &clock, "blob", &blob(lo)).unwrap();
        assert_eq!(
            c2.track(&mut buf, &clock, "blob", &blob(lo + 1)),
            Err(MESSAGE_TOO_LARGE)
        );
        let mut net = FakeNet::new(&[]);
        c2.flush(&mut buf, &clock, &mut net, true).unwrap();
        let blobs: Vec<_> = net.events.iter().filter(|e| e["event"] == "blob").collect();
        assert_eq!(blobs.len(), 1);
        assert_eq!(
            blobs[0]["properties"]["blob"]["bytes_hex"]
                .as_str()
                .unwrap()
                .len(),
            2 * lo
        );
        assert_eq!(c2.queue_stats().dead_lettered_events, 0);
        let _ = &mut c;
    }
}

#[test]
fn every_path_that_queues_applies_the_wire_limits() {
    // Context strings of 484 + 3 × 512 bytes, plus "test" and the SDK version: 19 bytes of
    // the 2048 remain for an event's own strings ($device_boot and "unknown" just fit).
    let long = |c: char| c.to_string().repeat(512);
    let (m, f, e) = (long('m'), long('f'), long('e'));
    let d = "d"
        .repeat(2048 - 3 * 512 - "test".len() - SDK_VERSION.len() - "$device_boot".len() - "unknown".len());
    let texts = [
        (Field::DeviceId, d.as_str()),
        (Field::DeviceModel, m.as_str()),
        (Field::FirmwareVersion, f.as_str()),
        (Field::Environment, e.as_str()),
    ];
    let clock = TestClock::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut c = Client::new(
        plain_config(&texts, &[]).unwrap(),
        &mut buf,
        [1; 32],
        &clock,
        "test",
    )
    .unwrap();
    let refused = |r: Result<(), honch::status::Error>| assert_eq!(r, Err(TOO_MANY_STRING_BYTES));
    refused(c.identify(&mut buf, &clock, "u", &RandProps(vec![])));
    assert_eq!(c.distinct_id(), d, "the id did not change");
    refused(c.session_start(&mut buf, &clock, None));
    assert!(c.session_id().is_none());
    refused(c.set_property(
        &mut buf,
        &clock,
        &RandProps(vec![("a_longer_key".into(), Val::Null)]),
    ));
    refused(c.connectivity_changed(&mut buf, &clock, true).map(|_| ()));
    refused(
        c.report_crash(&mut buf, &clock, Some("ValueError"), Some("bad"), None)
            .map(|_| ()),
    );
    refused(c.track(&mut buf, &clock, "twenty_bytes_name_xx", &RandProps(vec![])));
    // Up to the limit exactly: accepted.
    c.track(&mut buf, &clock, "nineteen_bytes_name", &RandProps(vec![]))
        .unwrap();
    c.set_property(&mut buf, &clock, &RandProps(vec![("k".into(), Val::Null)]))
        .unwrap();
    // A `$error` that does not fit is dropped when the log slots are drained.
    c.report_log_error(&buf, Some("sensor"), "failed").unwrap();
    let mut net = FakeNet::new(&[]);
    c.flush(&mut buf, &clock, &mut net, true).unwrap();
    assert_eq!(
        net.names(),
        ["$device_boot", "nineteen_bytes_name", "$set_property"]
    );
    c.shutdown(&mut buf, &clock, &mut net).unwrap();
    assert_eq!(net.names().last().map(String::as_str), Some("$device_shutdown"));
    assert_eq!(c.queue_stats().dead_lettered_events, 0);
}

#[test]
fn the_constructor_refuses_context_strings_the_wire_cannot_carry() {
    let clock = TestClock::new();
    let mut buf = vec![0u8; 8192];
    let long = "x".repeat(513);
    for field in [
        Field::DeviceId,
        Field::DeviceModel,
        Field::FirmwareVersion,
        Field::Environment,
    ] {
        let err = plain_config(&[(field, &long)], &[]).unwrap_err();
        assert_eq!(err.status, Status::InvalidArgument);
        assert!(err.message.starts_with(field.name()), "{}", err.message);
        assert!(err.message.contains("512"), "{}", err.message);
        // 512 bytes is within the limit.
        plain_config(&[(field, &long[..512])], &[]).unwrap();
    }
    let full = "y".repeat(512);
    let texts: Vec<(Field, &str)> = [
        Field::DeviceId,
        Field::DeviceModel,
        Field::FirmwareVersion,
        Field::Environment,
    ]
    .into_iter()
    .map(|f| (f, full.as_str()))
    .collect();
    // Four distinct strings of 512 bytes leave no room: equal ones share one entry.
    let distinct: Vec<String> = "abcd".chars().map(|c| c.to_string().repeat(512)).collect();
    let distinct_texts: Vec<(Field, &str)> = texts
        .iter()
        .zip(&distinct)
        .map(|(&(f, _), s)| (f, s.as_str()))
        .collect();
    let err = Client::new(
        plain_config(&distinct_texts, &[]).unwrap(),
        &mut buf,
        [1; 32],
        &clock,
        "test",
    )
    .err()
    .unwrap();
    assert_eq!(err, honch::client::CONTEXT_TOO_LARGE);
    for name in ["device_id", "device_model", "firmware_version", "environment"] {
        assert!(err.message.contains(name), "{}", err.message);
    }
    Client::new(
        plain_config(&texts, &[]).unwrap(),
        &mut buf,
        [1; 32],
        &clock,
        "test",
    )
    .unwrap();

    // A buffer (or max_event_bytes) too small for $device_boot is that argument's fault.
    let id = "i".repeat(200);
    let mut small = vec![0u8; 128];
    let err = Client::new(
        plain_config(&[(Field::DeviceId, &id)], &[]).unwrap(),
        &mut small,
        [1; 32],
        &clock,
        "test",
    )
    .err()
    .unwrap();
    assert_eq!(err.status, Status::InvalidArgument);
    assert!(
        err.message.starts_with("event_buffer") && err.message.contains("$device_boot"),
        "{}",
        err.message
    );
    let err = Client::new(
        plain_config(&[], &[(Field::MaxEventBytes, 20)]).unwrap(),
        &mut buf,
        [1; 32],
        &clock,
        "test",
    )
    .err()
    .unwrap();
    assert_eq!(err.status, Status::InvalidArgument);
    assert!(err.message.starts_with("max_event_bytes"), "{}", err.message);
}

/// Checks the invariants `queue_stats()` must keep whatever happened to the buffer.
fn assert_consistent(c: &Client, context: &str) {
    let s = c.queue_stats();
    assert!(s.bytes_used <= s.bytes_capacity, "{context}: {s:?}");
    assert_eq!(s.depth == 0, s.bytes_used == 0, "{context}: {s:?}");
    assert!(s.high_watermark_depth >= s.depth, "{context}: {s:?}");
}

#[test]
fn a_scribbled_buffer_never_panics_and_every_event_is_accounted_for() {
    for seed in 0..iterations(40) {
        let mut rng = Rng(0x51_7cc1_b727_220a ^ (seed + 1));
        let size = 256 + rng.below(6000) as usize;
        let extra = [
            (Field::BatchSize, 1 + rng.below(50) as i64),
            (Field::MaxQueuedEvents, 1 + rng.below(100) as i64),
            (Field::FlushEventThreshold, 1 + rng.below(5) as i64),
            (Field::FlushMinIntervalMs, 0),
        ];
        let clock = TestClock::new();
        let mut buf = vec![0u8; size];
        let mut c = Client::new(
            plain_config(&[], &extra).unwrap(),
            &mut buf,
            [seed as u8; 32],
            &clock,
            "test",
        )
        .unwrap();
        let mut net = FakeNet::new(&[]);
        // Every event queued is still queued, delivered, dropped for room, dead-lettered or
        // cleared by reset().
        let mut queued = 1u64;
        let mut cleared = 0u64;
        for step in 0..200 {
            let context = format!("seed {seed} step {step}");
            let before = c.queue_stats();
            match rng.below(14) {
                0..=4 => {
                    let props = RandProps::random(&mut rng, 120);
                    let name = rng.text_between(1, 20);
                    if c.track(&mut buf, &clock, &name, &props).is_ok() {
                        queued += 1;
                    }
                }
                5 => {
                    let id = rng.text_between(1, 30);
                    if c.identify(&mut buf, &clock, &id, &RandProps(vec![])).is_ok() {
                        queued += 1;
                    }
                }
                6 => {
                    let active = c.session_id().is_some();
                    let r = if active {
                        c.session_end(&mut buf, &clock)
                    } else {
                        c.session_start(&mut buf, &clock, Some("s"))
                    };
                    if r.is_ok() {
                        queued += 1;
                    }
                }
                7 | 8 => {
                    for _ in 0..rng.below(3) {
                        // (No scripted 2xx: delivered events are counted at the capture.)
                        let reply = match rng.below(5) {
                            0 => Reply::Status(503, None),
                            1 => Reply::Status(422, None),
                            2 => Reply::Status(400, None),
                            3 => Reply::Status(413, None),
                            _ => Reply::Net(honch::delivery::transport::NetFailure::Read),
                        };
                        net.script.push_back(reply);
                    }
                    clock.advance(rng.below(400_000));
                    if rng.chance(50) {
                        let _ = c.flush(&mut buf, &clock, &mut net, true);
                    } else {
                        c.tick(&mut buf, &clock, &mut net, true).unwrap();
                    }
                }
                9 => {
                    c.reset(&mut buf).unwrap();
                    cleared += u64::from(before.depth);
                }
                _ => {
                    // The application writes into its buffer: a few random bytes, or a
                    // plausible record length, anywhere.
                    let at = rng.below(size as u64) as usize;
                    if rng.chance(50) {
                        let len = (rng.below(size as u64 + 8) as u32).to_le_bytes();
                        for (b, v) in buf.iter_mut().skip(at).zip(len) {
                            *b = v;
                        }
                    } else {
                        for b in buf.iter_mut().skip(at).take(1 + rng.below(16) as usize) {
                            *b = rng.next() as u8;
                        }
                    }
                }
            }
            assert_consistent(&c, &context);
            let s = c.queue_stats();
            let gone = net.events.len() as u64
                + u64::from(s.capacity_dropped_events)
                + u64::from(s.dead_lettered_events)
                + cleared;
            assert_eq!(queued, u64::from(s.depth) + gone, "{context}: {s:?}");
        }
        // The client still works: a new event is delivered.
        net.script.clear();
        c.reset(&mut buf).unwrap();
        c.track(&mut buf, &clock, "after", &RandProps(vec![])).unwrap();
        let _ = c.flush(&mut buf, &clock, &mut net, true);
        assert_consistent(&c, "after");
    }
}
