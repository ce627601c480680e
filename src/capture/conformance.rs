//! The wire-v2 conformance runner (`honch-conformance`): checks the encoder, the packetizer,
//! the decoder and the capture answers against fixture files of the shared format
//! (`conformance/wire-v2/*.json`, described in `conformance/README.md`).
//!
//! For each fixture:
//! 1. the fixture's `decoded_compact_message` is turned into encoder input (context, events
//!    with properties packed through [`PackedWriter`]), encoded, cut at the fixture's own
//!    cut points and compared byte for byte with every `frames[].hex`;
//! 2. the frames, reassembled by the runner, are decoded and compared with
//!    `decoded_compact_message` when they hold the whole message;
//! 3. the frames are fed in order to [`Capture`], and the last answer is compared with
//!    `expected_capture_response_code` (and, for 204, the events with `expanded_event_json`).
//!
//! The JSON form does not say which wire type a number had, so the runner picks it the way
//! the SDK builds values (wire.md §4.5, product.md §4.5): non-negative integers are `uint`,
//! negative ones `int`, except the SDK's own numeric properties `$battery_level` and
//! `$wifi_rssi`, which are always `int`; a float is `float32` when float32 holds it exactly,
//! otherwise `float64`. `{"bytes_hex": ...}` is a bytes value.

// The crate is no_std; this module is std-only (feature `tools`).
#[allow(unused_imports)]
use std::prelude::rust_2021::*;
#[allow(unused_imports)]
use std::{eprintln, format, vec};

use std::path::Path;

use serde_json::{Map, Value as Json};

use super::decode::decode_message;
use super::frame::{parse_frame, Frame};
use super::{Capture, CaptureLimits, FrameOutcome};
use crate::packed::{read_value, Full, PackedWriter, Pairs};
use crate::wire::{encode_message, write_frame_range, BatchContext, DeviceTimeSource, EventView, Extension};

/// The project key and stream the runner sends every fixture frame under.
const PROJECT: &str = "conformance";
const STREAM: &str = "conformance";

/// One fixture's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureResult {
    pub name: String,
    /// `None` when it passed; otherwise the first difference found.
    pub failure: Option<String>,
}

impl FixtureResult {
    /// The line the runner prints.
    pub fn line(&self) -> String {
        match &self.failure {
            None => format!("PASS {}", self.name),
            Some(why) => format!("FAIL {}: {}", self.name, why),
        }
    }
}

/// Runs one fixture file.
pub fn run_file(path: &Path) -> FixtureResult {
    let fallback = path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            return FixtureResult {
                name: fallback,
                failure: Some(format!("cannot read {}: {e}", path.display())),
            }
        }
    };
    match serde_json::from_str::<Json>(&text) {
        Ok(fixture) => run_fixture(&fixture, &fallback),
        Err(e) => FixtureResult {
            name: fallback,
            failure: Some(format!("not JSON: {e}")),
        },
    }
}

/// Runs one parsed fixture.
pub fn run_fixture(fixture: &Json, fallback_name: &str) -> FixtureResult {
    let name = fixture
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or(fallback_name)
        .to_owned();
    FixtureResult {
        name,
        failure: check_fixture(fixture).err(),
    }
}

fn field<'j>(value: &'j Json, key: &str) -> Result<&'j Json, String> {
    value.get(key).ok_or_else(|| format!("fixture has no \"{key}\""))
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    if text.len() % 2 != 0 {
        return Err("odd-length hex".into());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("bad hex at character {i}"))
        })
        .collect()
}

struct FixtureFrame {
    kind: String,
    bytes: Vec<u8>,
}

fn check_fixture(fixture: &Json) -> Result<(), String> {
    let frames_json = field(fixture, "frames")?
        .as_array()
        .ok_or("\"frames\" is not a list")?;
    let mut frames = Vec::new();
    for (i, f) in frames_json.iter().enumerate() {
        let hex = f
            .get("hex")
            .and_then(Json::as_str)
            .ok_or_else(|| format!("frame {i} has no hex"))?;
        let bytes = unhex(hex).map_err(|e| format!("frame {i}: {e}"))?;
        let kind = f.get("kind").and_then(Json::as_str).unwrap_or("").to_owned();
        frames.push(FixtureFrame { kind, bytes });
    }
    if frames.is_empty() {
        return Err("fixture has no frames".into());
    }
    let expected_code = field(fixture, "expected_capture_response_code")?
        .as_u64()
        .ok_or("expected_capture_response_code is not a number")?;
    let decoded = field(fixture, "decoded_compact_message")?;
    check_encoding(decoded, frames_json, &frames, expected_code)?;
    check_decoding(decoded, &frames)?;
    check_capture(fixture, &frames, expected_code)
}

// ---------------------------------------------------------------------------------------
// 1. Encoding and framing.

fn check_encoding(
    decoded: &Json,
    frames_json: &[Json],
    frames: &[FixtureFrame],
    expected_code: u64,
) -> Result<(), String> {
    let mut parsed: Vec<Frame<'_>> = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let frame =
            parse_frame(&f.bytes).map_err(|e| format!("frame {i}: fixture frame does not parse: {e}"))?;
        if let Some(stated) = frames_json[i].get("offset").and_then(Json::as_u64) {
            if stated != frame.offset() {
                return Err(format!(
                    "frame {i}: \"offset\" says {stated}, its header says {}",
                    frame.offset()
                ));
            }
        }
        parsed.push(frame);
    }
    let first = parsed[0];
    let mut cuts: Vec<u64> = parsed
        .iter()
        .filter(|f| f.more())
        .map(|f| f.offset() + f.payload.len() as u64)
        .collect();
    cuts.sort_unstable();
    cuts.dedup();

    let input = EncoderInput::from_fixture(decoded)?;
    let mut out = vec![0u8; 1 << 16];
    let message = match input.encode(&mut out) {
        Ok(len) => &out[..len],
        Err(why) if (400..500).contains(&expected_code) && expected_code != 409 => {
            // The encoder refuses what capture rejects: consistent, nothing to compare.
            let _ = why;
            return Ok(());
        }
        Err(why) => return Err(format!("encoder refused the message: {why}")),
    };
    let mut bounds: Vec<usize> = vec![0];
    for &cut in &cuts {
        let cut = usize::try_from(cut).map_err(|_| "cut point out of range".to_string())?;
        if cut == 0 || cut >= message.len() {
            return Err(format!(
                "fixture cut point {cut} is outside the {}-byte encoded message",
                message.len()
            ));
        }
        bounds.push(cut);
    }
    bounds.push(message.len());
    let id = u32::try_from(first.message_id)
        .map_err(|_| format!("message_id {} does not fit 32 bits", first.message_id))?;
    for (i, (fixture_frame, frame)) in frames.iter().zip(&parsed).enumerate() {
        let start = frame.offset() as usize;
        let Some(slot) = bounds.iter().position(|&b| b == start) else {
            return Err(format!("frame {i}: offset {start} is not a cut point"));
        };
        let end = bounds[slot + 1..].first().copied().unwrap_or(message.len());
        let mut ours = vec![0u8; message.len() + 32];
        let len = write_frame_range(message, id, frame.source, start, end, &mut ours)
            .map_err(|e| format!("frame {i}: packetizer refused {start}..{end}: {e:?}"))?;
        ours.truncate(len);
        if fixture_frame.kind == "corrupt-final" {
            // Fixture schema: a valid frame whose CRC was XORed with 0x0001 (low byte first).
            let crc_low = ours.len() - 2;
            ours[crc_low] ^= 0x01;
        }
        compare_bytes(i, start, &fixture_frame.bytes, &ours)?;
    }
    Ok(())
}

fn compare_bytes(frame: usize, offset: usize, fixture: &[u8], ours: &[u8]) -> Result<(), String> {
    if let Some(at) = fixture.iter().zip(ours).position(|(a, b)| a != b) {
        return Err(format!(
            "frame {frame} (offset {offset}) byte {at}: fixture has {:02x}, encoder wrote {:02x}",
            fixture[at], ours[at]
        ));
    }
    if fixture.len() != ours.len() {
        return Err(format!(
            "frame {frame} (offset {offset}): fixture frame is {} bytes, encoder wrote {}",
            fixture.len(),
            ours.len()
        ));
    }
    Ok(())
}

/// Encoder input built from a fixture's `decoded_compact_message`, owning its buffers.
pub struct EncoderInput {
    strings: [String; 7],
    session_id: Option<String>,
    device_time_source: Option<DeviceTimeSource>,
    capabilities: Option<u64>,
    extensions: Vec<(u64, Vec<u8>)>,
    base_time_ms: u64,
    events: Vec<(String, u64, Vec<u8>)>,
}

const CONTEXT_NAMES: [&str; 7] = [
    "distinct_id",
    "$device_id",
    "$device_model",
    "$firmware_version",
    "$sdk_platform",
    "$sdk_version",
    "$environment",
];

/// The SDK's own numeric properties, sent as `int` whatever their sign (wire.md §4.5).
const SIGNED_PROPERTIES: [&str; 2] = ["$battery_level", "$wifi_rssi"];

impl EncoderInput {
    /// Reads `decoded_compact_message`.
    pub fn from_fixture(decoded: &Json) -> Result<Self, String> {
        let expect = |key: &str, want: Json| -> Result<(), String> {
            match decoded.get(key) {
                Some(v) if *v == want => Ok(()),
                other => Err(format!("{key} is {other:?}; the encoder only writes {want}")),
            }
        };
        expect("format_version", Json::from(2))?;
        expect("message_kind", Json::from("event_batch"))?;
        expect("flags", serde_json::json!(["context_promotes_properties"]))?;
        let base_time_ms = field(decoded, "base_time_ms")?
            .as_u64()
            .ok_or("base_time_ms is not a u64")?;
        let context = field(decoded, "batch_context")?
            .as_object()
            .ok_or("batch_context is not an object")?;
        let text = |name: &str| -> Result<String, String> {
            context
                .get(name)
                .and_then(Json::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("batch_context.{name} is missing or not a string"))
        };
        let mut strings: [String; 7] = Default::default();
        for (slot, name) in strings.iter_mut().zip(CONTEXT_NAMES) {
            *slot = text(name)?;
        }
        let mut input = EncoderInput {
            strings,
            session_id: None,
            device_time_source: None,
            capabilities: None,
            extensions: Vec::new(),
            base_time_ms,
            events: Vec::new(),
        };
        for (name, value) in context {
            if CONTEXT_NAMES.contains(&name.as_str()) {
                continue;
            }
            match name.as_str() {
                "$session_id" => input.session_id = Some(text(name)?),
                "device_time_source" => {
                    let code = value.as_u64().and_then(DeviceTimeSource::from_code);
                    input.device_time_source = Some(code.ok_or("device_time_source is not 0-3")?);
                }
                "capabilities" => {
                    input.capabilities = Some(value.as_u64().ok_or("capabilities is not a u64")?)
                }
                other => {
                    let id = other
                        .strip_prefix("extension_")
                        .and_then(|id| id.parse::<u64>().ok())
                        .ok_or_else(|| format!("unknown batch_context key {other:?}"))?;
                    input
                        .extensions
                        .push((id, pack(|w| write_json(w, value, false))?));
                }
            }
        }
        let events = field(decoded, "events")?
            .as_array()
            .ok_or("events is not a list")?;
        for (i, event) in events.iter().enumerate() {
            let name = event
                .get("event")
                .and_then(Json::as_str)
                .ok_or_else(|| format!("event {i} has no name"))?;
            let delta = event
                .get("time_delta_ms")
                .and_then(Json::as_i64)
                .ok_or_else(|| format!("event {i} has no time_delta_ms"))?;
            let timestamp = base_time_ms
                .checked_add_signed(delta)
                .ok_or_else(|| format!("event {i}: timestamp overflows"))?;
            let props = event
                .get("properties")
                .and_then(Json::as_array)
                .ok_or_else(|| format!("event {i}: properties is not a list"))?;
            let mut pairs: Vec<(&String, &Json)> = Vec::new();
            for p in props {
                let obj = p
                    .as_object()
                    .filter(|o| o.len() == 1)
                    .ok_or_else(|| format!("event {i}: a property is not a one-key object"))?;
                pairs.extend(obj.iter());
            }
            let packed = pack(|w| {
                w.put_uvarint(pairs.len() as u64)?;
                for (key, value) in &pairs {
                    w.key(key)?;
                    write_json(w, value, SIGNED_PROPERTIES.contains(&key.as_str()))?;
                }
                Ok(())
            })?;
            input.events.push((name.to_owned(), timestamp, packed));
        }
        Ok(input)
    }

    /// Encodes the message into `out`; returns its length or why the encoder refused.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, String> {
        let mut extensions = Vec::new();
        for (id, packed) in &self.extensions {
            let (value, _) = read_value(packed).map_err(|_| "extension does not re-read")?;
            extensions.push(Extension { id: *id, value });
        }
        let mut views = Vec::new();
        for (name, timestamp_ms, packed) in &self.events {
            let (properties, _) = Pairs::parse(packed).map_err(|_| "properties do not re-read")?;
            views.push(EventView {
                name,
                timestamp_ms: *timestamp_ms,
                properties,
            });
        }
        let [distinct_id, device_id, device_model, firmware_version, sdk_platform, sdk_version, environment] =
            &self.strings;
        let ctx = BatchContext {
            distinct_id,
            device_id,
            device_model,
            firmware_version,
            sdk_platform,
            sdk_version,
            environment,
            session_id: self.session_id.as_deref(),
            device_time_source: self.device_time_source,
            capabilities: self.capabilities,
            extensions: &extensions,
            base_time_ms: Some(self.base_time_ms),
        };
        encode_message(&ctx, &views[..], out).map_err(|f| match f.event {
            Some(i) => format!("{:?} in event {i}", f.error),
            None => format!("{:?}", f.error),
        })
    }
}

/// Runs `write` over a growing buffer until it fits; returns the packed bytes.
fn pack(write: impl Fn(&mut PackedWriter<'_>) -> Result<(), Full>) -> Result<Vec<u8>, String> {
    let mut size = 256usize;
    while size <= 1 << 26 {
        let mut buf = vec![0u8; size];
        let mut w = PackedWriter::new(&mut buf);
        if write(&mut w).is_ok() {
            let len = w.len();
            buf.truncate(len);
            return Ok(buf);
        }
        size *= 2;
    }
    Err("value too large to pack".into())
}

fn write_json(w: &mut PackedWriter<'_>, value: &Json, signed: bool) -> Result<(), Full> {
    match value {
        Json::Null => w.null(),
        Json::Bool(b) => w.bool(*b),
        Json::Number(n) => {
            if let Some(u) = n.as_u64() {
                match i64::try_from(u) {
                    Ok(i) if signed => w.signed(i),
                    _ => w.uint(u),
                }
            } else if let Some(i) = n.as_i64() {
                w.signed(i)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                let narrow = f as f32;
                if f64::from(narrow) == f {
                    w.f32(narrow)
                } else {
                    w.f64(f)
                }
            }
        }
        Json::String(s) => w.str(s),
        Json::Array(items) => {
            w.begin_array(items.len())?;
            items.iter().try_for_each(|item| write_json(w, item, false))
        }
        Json::Object(map) => match bytes_hex(map) {
            Some(bytes) => w.bytes(&bytes),
            None => {
                w.begin_map(map.len())?;
                for (key, item) in map {
                    w.key(key)?;
                    write_json(w, item, false)?;
                }
                Ok(())
            }
        },
    }
}

fn bytes_hex(map: &Map<String, Json>) -> Option<Vec<u8>> {
    if map.len() != 1 {
        return None;
    }
    map.get("bytes_hex")?.as_str().and_then(|h| unhex(h).ok())
}

// ---------------------------------------------------------------------------------------
// 2. Decoding the fixture's own bytes.

/// Puts the frames' payloads where their offsets say; `None` unless they cover the message.
fn reassemble(frames: &[FixtureFrame]) -> Option<Vec<u8>> {
    let mut message: Vec<u8> = Vec::new();
    let mut total = None;
    let mut complete = false;
    for f in frames {
        let frame = parse_frame(&f.bytes).ok()?;
        if let super::Shape::Init { total_len } = frame.shape {
            total = usize::try_from(total_len).ok();
        }
        let start = usize::try_from(frame.offset()).ok()?;
        if start > message.len() {
            return None;
        }
        let end = start + frame.payload.len();
        if end > message.len() {
            message.resize(end, 0);
        }
        message[start..end].copy_from_slice(frame.payload);
        complete |= !frame.more();
    }
    let whole = complete && total.map_or(true, |t| t == message.len());
    whole.then_some(message)
}

fn check_decoding(decoded: &Json, frames: &[FixtureFrame]) -> Result<(), String> {
    let Some(message) = reassemble(frames) else {
        return Ok(());
    };
    let limits = CaptureLimits {
        allow_binary: true,
        ..CaptureLimits::default()
    };
    let (ours, _semantic) = decode_message(&message, &limits)
        .map_err(|e| format!("decoder rejected the fixture message: {e}"))?;
    json_diff("decoded_compact_message", decoded, &ours.fixture_json())
}

/// The first place where two JSON values differ (objects compare by key, not order).
fn json_diff(path: &str, expected: &Json, actual: &Json) -> Result<(), String> {
    match (expected, actual) {
        (Json::Object(e), Json::Object(a)) => {
            for (k, ev) in e {
                let av = a
                    .get(k)
                    .ok_or_else(|| format!("{path}.{k}: missing from decoder output"))?;
                json_diff(&format!("{path}.{k}"), ev, av)?;
            }
            if let Some(extra) = a.keys().find(|k| !e.contains_key(*k)) {
                return Err(format!(
                    "{path}.{extra}: decoder produced a key the fixture lacks"
                ));
            }
            Ok(())
        }
        (Json::Array(e), Json::Array(a)) => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                json_diff(&format!("{path}[{i}]"), ev, av)?;
            }
            if e.len() != a.len() {
                return Err(format!(
                    "{path}: fixture has {} items, decoder {}",
                    e.len(),
                    a.len()
                ));
            }
            Ok(())
        }
        (Json::Number(e), Json::Number(a)) if e.as_f64() == a.as_f64() && e.is_f64() == a.is_f64() => Ok(()),
        _ if expected == actual => Ok(()),
        _ => Err(format!("{path}: fixture has {expected}, decoder has {actual}")),
    }
}

// ---------------------------------------------------------------------------------------
// 3. What capture answers.

fn check_capture(fixture: &Json, frames: &[FixtureFrame], expected_code: u64) -> Result<(), String> {
    let mut capture = Capture::new(CaptureLimits::default());
    let mut last = None;
    for (i, f) in frames.iter().enumerate() {
        let outcome = capture.handle_frame(PROJECT, Some(STREAM), &f.bytes);
        let status = match &outcome {
            Ok(o) => o.status(),
            Err(r) => r.status,
        };
        let is_last = i + 1 == frames.len();
        if !is_last && status >= 300 {
            return Err(format!(
                "capture answered {status} to frame {i} of {} ({})",
                frames.len(),
                outcome.err().map_or_else(String::new, |r| r.reason)
            ));
        }
        last = Some((status, outcome));
    }
    let Some((status, outcome)) = last else {
        return Err("no frames".into());
    };
    if u64::from(status) != expected_code {
        let why = match &outcome {
            Err(r) => format!(" ({})", r.reason),
            Ok(_) => String::new(),
        };
        return Err(format!(
            "capture answered {status}{why}, fixture expects {expected_code}"
        ));
    }
    if let Ok(FrameOutcome::Accepted { events, .. }) = outcome {
        let expected = field(fixture, "expanded_event_json")?;
        json_diff("expanded_event_json", expected, &Json::Array(events))?;
    }
    Ok(())
}
