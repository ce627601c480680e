//! Property tests with a small deterministic generator: whatever the encoder produces,
//! cut into frames of any size, capture accepts and expands back to the same events; and
//! mangled frames never make the capture side panic.

use honch::capture::{Capture, CaptureLimits, FrameOutcome};
use honch::packed::{PackedWriter, Pairs};
use honch::wire::{
    encode_longest_prefix, frame_count, write_frame, BatchContext, DeviceTimeSource, EventView, SourceType,
};
use serde_json::{json, Map, Value as Json};

/// xorshift64*: deterministic, so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Debug, Clone)]
enum Model {
    Null,
    Bool(bool),
    UInt(u64),
    Int(i64),
    Signed(i64),
    F32(f32),
    F64(f64),
    Str(String),
    Bytes(Vec<u8>),
    Array(Vec<Model>),
    Map(Vec<(String, Model)>),
}

const KEYS: [&str; 12] = [
    "a", "mode", "temp", "ключ", "🙂", "x1", "x2", "nested", "list", "state", "", "count",
];
const WORDS: [&str; 8] = [
    "",
    "on",
    "off",
    "héllo",
    "日本",
    "sensor-7",
    "a b c",
    "\u{10ffff}",
];

fn gen_string(rng: &mut Rng) -> String {
    if rng.chance(70) {
        rng.pick(&WORDS).to_string()
    } else {
        format!("v{}", rng.below(40))
    }
}

fn gen_value(rng: &mut Rng, depth: usize) -> Model {
    let containers = depth < 8;
    match rng.below(if containers { 11 } else { 9 }) {
        0 => Model::Null,
        1 => Model::Bool(rng.chance(50)),
        2 => Model::UInt(if rng.chance(50) {
            rng.below(300)
        } else {
            rng.next()
        }),
        3 => Model::Int(-(rng.below(1 << 40) as i64) - 1),
        4 => Model::Signed(rng.below(200) as i64 - 100),
        5 => Model::F32((rng.below(10_000) as f32 - 5000.0) / 8.0),
        6 => Model::F64(f64::from_bits(rng.next() >> 2) * if rng.chance(50) { -1.0 } else { 1.0 }),
        7 => Model::Str(gen_string(rng)),
        8 => Model::Bytes((0..rng.below(6)).map(|_| rng.next() as u8).collect()),
        9 => Model::Array((0..rng.below(4)).map(|_| gen_value(rng, depth + 1)).collect()),
        _ => Model::Map(gen_pairs(rng, depth + 1, 4)),
    }
}

fn gen_pairs(rng: &mut Rng, depth: usize, max: u64) -> Vec<(String, Model)> {
    let mut pairs: Vec<(String, Model)> = Vec::new();
    for _ in 0..rng.below(max + 1) {
        let key = rng.pick(&KEYS).to_string();
        // Keys must be unique and non-empty; "state" is reserved and needs a string on top.
        if key.is_empty() || pairs.iter().any(|(k, _)| *k == key) {
            continue;
        }
        let value = if key == "state" && depth == 0 {
            Model::Str(gen_string(rng))
        } else {
            gen_value(rng, depth)
        };
        pairs.push((key, value));
    }
    pairs
}

fn gen_properties(rng: &mut Rng) -> Vec<(String, Model)> {
    let mut pairs = gen_pairs(rng, 0, 5);
    if rng.chance(30) {
        pairs.push(("$battery_level".into(), Model::Signed(rng.below(101) as i64)));
    }
    if rng.chance(20) {
        pairs.push(("$wifi_rssi".into(), Model::Signed(-(rng.below(100) as i64))));
    }
    pairs
}

fn pack_value(w: &mut PackedWriter<'_>, v: &Model) {
    let r = match v {
        Model::Null => w.null(),
        Model::Bool(b) => w.bool(*b),
        Model::UInt(u) => w.uint(*u),
        Model::Int(i) => w.int(*i),
        Model::Signed(i) => w.signed(*i),
        Model::F32(f) => w.f32(*f),
        Model::F64(f) => w.f64(*f),
        Model::Str(s) => w.str(s),
        Model::Bytes(b) => w.bytes(b),
        Model::Array(items) => {
            w.begin_array(items.len()).expect("room");
            items.iter().for_each(|i| pack_value(w, i));
            Ok(())
        }
        Model::Map(pairs) => {
            w.begin_map(pairs.len()).expect("room");
            pack_pairs(w, pairs);
            Ok(())
        }
    };
    r.expect("room");
}

fn pack_pairs(w: &mut PackedWriter<'_>, pairs: &[(String, Model)]) {
    for (k, v) in pairs {
        w.key(k).expect("room");
        pack_value(w, v);
    }
}

fn to_json(v: &Model) -> Json {
    match v {
        Model::Null => Json::Null,
        Model::Bool(b) => json!(b),
        Model::UInt(u) => json!(u),
        Model::Int(i) | Model::Signed(i) => json!(i),
        Model::F32(f) => json!(f64::from(*f)),
        Model::F64(f) => json!(f),
        Model::Str(s) => json!(s),
        Model::Bytes(b) => {
            json!({ "bytes_hex": b.iter().map(|x| format!("{x:02x}")).collect::<String>() })
        }
        Model::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Model::Map(pairs) => Json::Object(pairs.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

struct Case {
    names: Vec<String>,
    timestamps: Vec<u64>,
    props: Vec<Vec<(String, Model)>>,
    records: Vec<Vec<u8>>,
}

fn gen_case(rng: &mut Rng) -> Case {
    let count = 1 + rng.below(60) as usize;
    let base = 1_600_000_000_000 + rng.below(1 << 40);
    let mut case = Case {
        names: Vec::new(),
        timestamps: Vec::new(),
        props: Vec::new(),
        records: Vec::new(),
    };
    for _ in 0..count {
        case.names.push(if rng.chance(60) {
            "tick".into()
        } else {
            format!("event-{}", rng.below(30))
        });
        case.timestamps
            .push(base.wrapping_add(rng.below(1 << 20)).wrapping_sub(1 << 19));
        let props = gen_properties(rng);
        let mut buf = vec![0u8; 64 * 1024];
        let mut w = PackedWriter::new(&mut buf);
        w.put_uvarint(props.len() as u64).expect("room");
        pack_pairs(&mut w, &props);
        let n = w.len();
        buf.truncate(n);
        case.records.push(buf);
        case.props.push(props);
    }
    case
}

#[test]
fn encoded_messages_decode_to_the_same_events() {
    let mut total_events = 0;
    let mut multi_frame = 0;
    for seed in 1..=400u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let case = gen_case(&mut rng);
        let session = rng.chance(50).then_some("sess_42");
        let ctx = BatchContext {
            distinct_id: if rng.chance(50) { "device-9" } else { "user-9" },
            device_id: "device-9",
            device_model: "rp2040",
            firmware_version: "2.0.0",
            sdk_platform: "micropython",
            sdk_version: "0.4.0",
            environment: "production",
            session_id: session,
            device_time_source: Some(DeviceTimeSource::MonotonicPlusBootEpoch),
            capabilities: rng.chance(30).then_some(5),
            extensions: &[],
            base_time_ms: None,
        };
        let events: Vec<EventView<'_>> = (0..case.names.len())
            .map(|i| EventView {
                name: &case.names[i],
                timestamp_ms: case.timestamps[i],
                properties: Pairs::parse(&case.records[i]).expect("record").0,
            })
            .collect();
        let mut message = [0u8; 4096];
        let encoded = match encode_longest_prefix(&ctx, &events[..], &mut message) {
            Ok(e) => e,
            // A first event that is too big on its own is a legitimate refusal.
            Err(f) if f.event == Some(0) => continue,
            Err(f) => panic!("seed {seed}: {f:?}"),
        };
        let message = &message[..encoded.len];
        // Mostly BLE-sized frames, sometimes up to the HTTP size.
        let span = if rng.chance(70) { 300 } else { 4076 };
        let max_frame = 20 + rng.below(span) as usize;
        let id = rng.next() as u32;
        let count = frame_count(message.len(), id, max_frame).expect("frames");
        multi_frame += usize::from(count > 1);
        let mut capture = Capture::new(CaptureLimits {
            allow_binary: true,
            ..CaptureLimits::default()
        });
        let mut last = None;
        for i in 0..count {
            let mut frame = vec![0u8; max_frame];
            let info =
                write_frame(message, id, SourceType::CompactEvents, i, max_frame, &mut frame).expect("frame");
            assert!(info.len <= max_frame);
            last = Some(capture.handle_frame("k", Some("st"), &frame[..info.len]));
        }
        let Some(Ok(FrameOutcome::Accepted { events: got, .. })) = last else {
            panic!("seed {seed}: not accepted: {last:?}");
        };
        let mut promoted = Map::new();
        promoted.insert("$device_id".into(), json!("device-9"));
        promoted.insert("$device_model".into(), json!("rp2040"));
        promoted.insert("$firmware_version".into(), json!("2.0.0"));
        promoted.insert("$sdk_platform".into(), json!("micropython"));
        promoted.insert("$sdk_version".into(), json!("0.4.0"));
        promoted.insert("$environment".into(), json!("production"));
        if let Some(s) = session {
            promoted.insert("$session_id".into(), json!(s));
        }
        let expected: Vec<Json> = (0..encoded.events)
            .map(|i| {
                let mut properties = promoted.clone();
                for (k, v) in &case.props[i] {
                    properties.insert(k.clone(), to_json(v));
                }
                json!({
                    "event": case.names[i],
                    "distinct_id": ctx.distinct_id,
                    "timestamp": case.timestamps[i],
                    "properties": properties,
                })
            })
            .collect();
        assert_eq!(got, expected, "seed {seed}");
        total_events += encoded.events;
    }
    // The generator must actually exercise large batches and multi-frame messages.
    assert!(total_events > 2000, "{total_events}");
    assert!(multi_frame > 100, "{multi_frame}");
}

#[test]
fn mangled_frames_never_panic_capture() {
    let mut rng = Rng(0xfeed_beef);
    let mut accepted_after_mangling = 0;
    for _ in 0..3000 {
        let case = gen_case(&mut rng);
        let events: Vec<EventView<'_>> = (0..case.names.len().min(5))
            .map(|i| EventView {
                name: &case.names[i],
                timestamp_ms: case.timestamps[i],
                properties: Pairs::parse(&case.records[i]).expect("record").0,
            })
            .collect();
        let ctx = BatchContext {
            distinct_id: "u",
            device_id: "d",
            device_model: "m",
            firmware_version: "f",
            sdk_platform: "p",
            sdk_version: "v",
            environment: "e",
            session_id: None,
            device_time_source: None,
            capabilities: None,
            extensions: &[],
            base_time_ms: None,
        };
        let mut message = [0u8; 4096];
        let Ok(encoded) = encode_longest_prefix(&ctx, &events[..], &mut message) else {
            continue;
        };
        let mut frame = vec![0u8; 4096];
        let n = write_frame(
            &message[..encoded.len],
            1,
            SourceType::CompactEvents,
            0,
            4096,
            &mut frame,
        )
        .expect("frame")
        .len;
        frame.truncate(n);
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(frame.len() as u64) as usize;
            match rng.below(3) {
                0 => frame[at] ^= 1 << rng.below(8),
                1 => {
                    frame.remove(at);
                }
                _ => frame.insert(at, rng.next() as u8),
            }
        }
        // Re-seal the CRC half the time so mangling reaches the decoder.
        if rng.chance(50) && frame.len() > 4 {
            let body_end = frame.len() - 2;
            let crc = honch::wire::crc16(&frame[2..body_end]);
            frame[body_end..].copy_from_slice(&crc.to_le_bytes());
        }
        let mut capture = Capture::new(CaptureLimits::default());
        if let Ok(FrameOutcome::Accepted { .. }) = capture.handle_frame("k", Some("s"), &frame) {
            accepted_after_mangling += 1;
        }
    }
    // Most mangled frames must be refused; a few (a flipped bit inside a string) are fine.
    assert!(accepted_after_mangling < 1000, "{accepted_after_mangling}");
}
