//! Strict decoder of compact event messages (wire.md §3 and §8) and expansion to the
//! canonical JSON event (§11).
//!
//! Structural faults are 400s and stop decoding at once. Semantic faults (422: duplicate
//! keys, refused bytes, bad reserved values, overrides of promoted names) are remembered
//! and decoding goes on, so that a message with both kinds of fault gets the 400, and the
//! conformance runner can still compare the decoded form of a 422 message.
//!
//! Allocation is bounded by the input: no count read from the wire is used to reserve
//! memory, and every element consumes at least one input byte.

// The crate is no_std; this module is std-only (feature `tools`).
#[allow(unused_imports)]
use std::prelude::rust_2021::*;
#[allow(unused_imports)]
use std::{eprintln, format, vec};

use std::collections::HashSet;

use serde_json::{json, Map, Number, Value as Json};

use super::frame::varint_reject;
use super::{CaptureLimits, Reject};
use crate::varint::{get_uvarint, unzigzag};
use crate::wire::encode::{
    context_id, tag, BATTERY_LEVEL_RANGE, FLAG_CONTEXT_PROMOTES_PROPERTIES, FORMAT_VERSION,
    MESSAGE_KIND_EVENT_BATCH, PROMOTED_CONTEXT_NAMES, RESERVED_PROPERTY_NAMES, WIFI_RSSI_RANGE,
};

/// A property or map key as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// A reserved property ID (1..=7).
    Reserved(u8),
    /// A string-table index.
    Custom(usize),
}

/// A decoded value, with string refs kept as table indices.
#[derive(Debug, Clone, PartialEq)]
pub enum WireValue {
    Null,
    Bool(bool),
    UInt(u64),
    Int(i64),
    F32(f32),
    F64(f64),
    Str(usize),
    Bytes(Vec<u8>),
    Array(Vec<WireValue>),
    Map(Vec<(Key, WireValue)>),
}

/// One decoded event.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEvent {
    /// String-table index of the name.
    pub name: usize,
    pub time_delta_ms: i64,
    /// `base_time_ms + time_delta_ms`, checked.
    pub timestamp_ms: u64,
    pub properties: Vec<(Key, WireValue)>,
}

/// A decoded compact message.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedMessage {
    pub base_time_ms: u64,
    pub strings: Vec<String>,
    /// Context entries in wire order: (key id, value).
    pub context: Vec<(u64, WireValue)>,
    pub events: Vec<DecodedEvent>,
}

struct Decoder<'a, 'l> {
    input: &'a [u8],
    pos: usize,
    limits: &'l CaptureLimits,
    strings: Vec<String>,
    /// The first semantic (422) fault met, reported only if nothing structural follows.
    semantic: Option<Reject>,
}

fn bad(reason: impl Into<String>) -> Reject {
    Reject::bad_request(reason)
}

impl<'a> Decoder<'a, '_> {
    fn varint(&mut self, what: &str) -> Result<u64, Reject> {
        let (value, used) = get_uvarint(&self.input[self.pos..]).map_err(|e| varint_reject(e, what))?;
        self.pos += used;
        Ok(value)
    }

    fn take(&mut self, len: u64, what: &str) -> Result<&'a [u8], Reject> {
        let rest = &self.input[self.pos..];
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= rest.len())
            .ok_or_else(|| bad(format!("{what}: length runs past the end of the message")))?;
        self.pos += len;
        Ok(&rest[..len])
    }

    fn byte(&mut self, what: &str) -> Result<u8, Reject> {
        Ok(self.take(1, what)?[0])
    }

    fn semantic(&mut self, reason: String) {
        if self.semantic.is_none() {
            self.semantic = Some(Reject::unprocessable(reason));
        }
    }

    fn string_ref(&self, index: u64, what: &str) -> Result<usize, Reject> {
        usize::try_from(index)
            .ok()
            .filter(|&i| i < self.strings.len())
            .ok_or_else(|| {
                bad(format!(
                    "{what}: string ref {index} out of range (table has {})",
                    self.strings.len()
                ))
            })
    }

    fn string_table(&mut self) -> Result<(), Reject> {
        let count = self.varint("string_count")?;
        if count > self.limits.max_strings as u64 {
            return Err(Reject::too_large(format!(
                "{count} strings (limit {})",
                self.limits.max_strings
            )));
        }
        let mut total = 0usize;
        let mut seen = HashSet::new();
        for index in 0..count {
            let len = self.varint("string length")?;
            if len > self.limits.max_string_bytes as u64 {
                return Err(Reject::too_large(format!(
                    "string {index} is {len} bytes (limit {})",
                    self.limits.max_string_bytes
                )));
            }
            let bytes = self.take(len, "string")?;
            total += bytes.len();
            if total > self.limits.max_total_string_bytes {
                return Err(Reject::too_large(format!(
                    "string table over {} bytes",
                    self.limits.max_total_string_bytes
                )));
            }
            let text =
                std::str::from_utf8(bytes).map_err(|_| bad(format!("string {index} is not valid UTF-8")))?;
            if !seen.insert(text) {
                return Err(bad(format!("string {index} repeats an earlier entry")));
            }
            self.strings.push(text.to_owned());
        }
        Ok(())
    }

    fn key(&mut self, depth_name: &str) -> Result<Key, Reject> {
        let key_ref = self.varint("key_ref")?;
        if key_ref == 0 {
            return Err(bad(format!("{depth_name}: key_ref 0")));
        }
        if key_ref & 1 == 0 {
            let id = key_ref >> 1;
            return match u8::try_from(id) {
                Ok(id @ 1..=7) => Ok(Key::Reserved(id)),
                _ => Err(bad(format!("{depth_name}: reserved property id {id}"))),
            };
        }
        let index = self.string_ref(key_ref >> 1, depth_name)?;
        let name = &self.strings[index];
        if name.is_empty() {
            return Err(bad(format!("{depth_name}: empty key")));
        }
        if RESERVED_PROPERTY_NAMES.contains(&name.as_str()) {
            return Err(bad(format!(
                "{depth_name}: custom key \"{name}\" aliases a reserved property"
            )));
        }
        if PROMOTED_CONTEXT_NAMES.contains(&name.as_str()) {
            let reason = format!("{depth_name}: key \"{name}\" overrides a promoted context key");
            self.semantic(reason);
        }
        Ok(Key::Custom(index))
    }

    /// Reads `count` (key, value) pairs whose values are at `depth`.
    fn pairs(&mut self, count: u64, depth: usize, what: &str) -> Result<Vec<(Key, WireValue)>, Reject> {
        let mut pairs: Vec<(Key, WireValue)> = Vec::new();
        for _ in 0..count {
            let key = self.key(what)?;
            let value = self.value(depth)?;
            if pairs.iter().any(|(k, _)| *k == key) {
                let name = self.key_name(key).to_owned();
                self.semantic(format!("{what}: duplicate key \"{name}\""));
            }
            pairs.push((key, value));
        }
        Ok(pairs)
    }

    fn key_name(&self, key: Key) -> &str {
        match key {
            Key::Reserved(id) => RESERVED_PROPERTY_NAMES[usize::from(id) - 1],
            Key::Custom(index) => &self.strings[index],
        }
    }

    fn value(&mut self, depth: usize) -> Result<WireValue, Reject> {
        let t = self.byte("value tag")?;
        Ok(match t {
            tag::NULL => WireValue::Null,
            tag::FALSE => WireValue::Bool(false),
            tag::TRUE => WireValue::Bool(true),
            tag::UINT => WireValue::UInt(self.varint("uint")?),
            tag::INT => WireValue::Int(unzigzag(self.varint("int")?)),
            tag::F32 => {
                let b = self.take(4, "float32")?;
                let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                if !v.is_finite() {
                    return Err(bad("float32 is NaN or infinite"));
                }
                WireValue::F32(v)
            }
            tag::F64 => {
                let b = self.take(8, "float64")?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                let v = f64::from_le_bytes(a);
                if !v.is_finite() {
                    return Err(bad("float64 is NaN or infinite"));
                }
                WireValue::F64(v)
            }
            tag::STRING_REF => {
                let index = self.varint("string ref")?;
                WireValue::Str(self.string_ref(index, "string value")?)
            }
            tag::BYTES => {
                let len = self.varint("bytes length")?;
                let bytes = self.take(len, "bytes")?.to_vec();
                if !self.limits.allow_binary {
                    self.semantic("bytes value, but binary properties are not enabled".into());
                }
                WireValue::Bytes(bytes)
            }
            tag::ARRAY | tag::MAP => {
                if depth >= self.limits.max_depth {
                    return Err(bad(format!(
                        "more than {} nested containers",
                        self.limits.max_depth
                    )));
                }
                let count = self.varint("container count")?;
                if t == tag::ARRAY {
                    let mut items = Vec::new();
                    for _ in 0..count {
                        items.push(self.value(depth + 1)?);
                    }
                    WireValue::Array(items)
                } else {
                    WireValue::Map(self.pairs(count, depth + 1, "map")?)
                }
            }
            other => return Err(bad(format!("reserved value tag 0x{other:02x}"))),
        })
    }

    fn context(&mut self) -> Result<Vec<(u64, WireValue)>, Reject> {
        let count = self.varint("context_count")?;
        let mut entries: Vec<(u64, WireValue)> = Vec::new();
        for _ in 0..count {
            let id = self.varint("context key")?;
            if (11..context_id::FIRST_EXTENSION).contains(&id) || id == 0 {
                return Err(bad(format!("reserved context key {id}")));
            }
            if entries.iter().any(|(seen, _)| *seen == id) {
                return Err(bad(format!("context key {id} appears twice")));
            }
            let value = self.value(0)?;
            match (id, &value) {
                (1..=8, WireValue::Str(index)) => {
                    if self.strings[*index].is_empty() {
                        return Err(bad(format!("context key {id} is an empty string")));
                    }
                }
                (context_id::DEVICE_TIME_SOURCE, WireValue::UInt(0..=3)) => {}
                (context_id::CAPABILITIES, WireValue::UInt(_)) => {}
                (id, _) if id >= context_id::FIRST_EXTENSION => {}
                (id, _) => return Err(bad(format!("context key {id} has the wrong value type"))),
            }
            entries.push((id, value));
        }
        for id in context_id::DISTINCT_ID..=context_id::ENVIRONMENT {
            if !entries.iter().any(|(seen, _)| *seen == id) {
                return Err(bad(format!("required context key {id} is missing")));
            }
        }
        Ok(entries)
    }

    fn check_reserved_values(&mut self, properties: &[(Key, WireValue)]) {
        for (key, value) in properties {
            let Key::Reserved(id) = *key else { continue };
            let integer = match *value {
                WireValue::UInt(v) => i64::try_from(v).ok(),
                WireValue::Int(v) => Some(v),
                _ => None,
            };
            let ok = match id {
                1 => integer.is_some_and(|v| BATTERY_LEVEL_RANGE.contains(&v)),
                2 => integer.is_some_and(|v| WIFI_RSSI_RANGE.contains(&v)),
                _ => matches!(value, WireValue::Str(_)),
            };
            if !ok {
                let name = RESERVED_PROPERTY_NAMES[usize::from(id) - 1];
                self.semantic(format!("invalid value for reserved property {name}"));
            }
        }
    }

    fn message(&mut self) -> Result<DecodedMessage, Reject> {
        let version = self.varint("format_version")?;
        if version != FORMAT_VERSION {
            return Err(bad(format!("format_version {version}")));
        }
        let kind = self.varint("message_kind")?;
        if kind != MESSAGE_KIND_EVENT_BATCH {
            return Err(bad(format!("message_kind {kind}")));
        }
        let flags = self.varint("flags")?;
        if flags != FLAG_CONTEXT_PROMOTES_PROPERTIES {
            return Err(bad(format!("flags {flags:#x} (only bit 0 is defined)")));
        }
        let base_time_ms = self.varint("base_time_ms")?;
        self.string_table()?;
        let context = self.context()?;
        let event_count = self.varint("event_count")?;
        if event_count == 0 {
            return Err(bad("message has no events"));
        }
        if event_count > self.limits.max_events as u64 {
            return Err(Reject::too_large(format!(
                "{event_count} events (limit {})",
                self.limits.max_events
            )));
        }
        let mut events = Vec::new();
        for index in 0..event_count {
            let name_ref = self.varint("event_name_ref")?;
            let name = self.string_ref(name_ref, "event name")?;
            if self.strings[name].is_empty() {
                return Err(bad(format!("event {index} has an empty name")));
            }
            let time_delta_ms = unzigzag(self.varint("time_delta_ms")?);
            let timestamp_ms = base_time_ms
                .checked_add_signed(time_delta_ms)
                .ok_or_else(|| bad(format!("event {index}: base_time_ms + delta overflows")))?;
            let count = self.varint("property_count")?;
            let properties = self.pairs(count, 0, "event property")?;
            self.check_reserved_values(&properties);
            events.push(DecodedEvent {
                name,
                time_delta_ms,
                timestamp_ms,
                properties,
            });
        }
        if self.pos != self.input.len() {
            return Err(bad(format!(
                "{} bytes after the last event",
                self.input.len() - self.pos
            )));
        }
        Ok(DecodedMessage {
            base_time_ms,
            strings: std::mem::take(&mut self.strings),
            context,
            events,
        })
    }
}

/// Decodes a complete message (CRC already checked). `Err` is a structural fault (400) or
/// a limit (413); `Ok((message, Some(reject)))` decoded but is semantically invalid (422).
pub fn decode_message(
    message: &[u8],
    limits: &CaptureLimits,
) -> Result<(DecodedMessage, Option<Reject>), Reject> {
    if message.len() > limits.max_message_bytes {
        return Err(Reject::too_large(format!(
            "message is {} bytes (limit {})",
            message.len(),
            limits.max_message_bytes
        )));
    }
    let mut decoder = Decoder {
        input: message,
        pos: 0,
        limits,
        strings: Vec::new(),
        semantic: None,
    };
    let decoded = decoder.message()?;
    Ok((decoded, decoder.semantic))
}

/// [`decode_message`], with a semantic fault turned into the error.
pub fn decode_strict(message: &[u8], limits: &CaptureLimits) -> Result<DecodedMessage, Reject> {
    match decode_message(message, limits)? {
        (decoded, None) => Ok(decoded),
        (_, Some(reject)) => Err(reject),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn float_json(v: f64) -> Json {
    // Decoding already refused non-finite floats, for which from_f64 gives None.
    Number::from_f64(v).map_or(Json::Null, Json::Number)
}

/// A float32 as JSON: the shortest decimal that reads back as the same float32 (`36.6`), not
/// the digits of its exact binary value (`36.599998474121094`), which the device never held
/// (product.md §4 decision 15). The number still reads back as the same float32.
pub fn float32_json(v: f32) -> Json {
    let shortest = format!("{v}").parse::<f64>().unwrap_or(f64::from(v));
    float_json(shortest)
}

impl DecodedMessage {
    fn key_name(&self, key: Key) -> &str {
        match key {
            Key::Reserved(id) => RESERVED_PROPERTY_NAMES[usize::from(id) - 1],
            Key::Custom(index) => &self.strings[index],
        }
    }

    /// A value as JSON; bytes become `{"bytes_hex": ...}` as in the fixtures.
    pub fn value_json(&self, value: &WireValue) -> Json {
        match value {
            WireValue::Null => Json::Null,
            WireValue::Bool(b) => Json::Bool(*b),
            WireValue::UInt(v) => json!(v),
            WireValue::Int(v) => json!(v),
            WireValue::F32(v) => float32_json(*v),
            WireValue::F64(v) => float_json(*v),
            WireValue::Str(index) => Json::String(self.strings[*index].clone()),
            WireValue::Bytes(b) => json!({ "bytes_hex": hex(b) }),
            WireValue::Array(items) => Json::Array(items.iter().map(|v| self.value_json(v)).collect()),
            WireValue::Map(pairs) => Json::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (self.key_name(*k).to_owned(), self.value_json(v)))
                    .collect(),
            ),
        }
    }

    fn context_value(&self, id: u64) -> Option<&WireValue> {
        self.context.iter().find(|(k, _)| *k == id).map(|(_, v)| v)
    }

    /// The canonical events (wire.md §11): promoted context `$device_id`..`$session_id`
    /// first, then the event's own properties in wire order.
    pub fn expand(&self) -> Vec<Json> {
        let distinct_id = self
            .context_value(context_id::DISTINCT_ID)
            .map_or(Json::Null, |v| self.value_json(v));
        let mut promoted = Map::new();
        for id in context_id::DEVICE_ID..=context_id::SESSION_ID {
            if let Some(v) = self.context_value(id) {
                let name = PROMOTED_CONTEXT_NAMES[(id - 1) as usize];
                promoted.insert(name.to_owned(), self.value_json(v));
            }
        }
        self.events
            .iter()
            .map(|event| {
                let mut properties = promoted.clone();
                for (k, v) in &event.properties {
                    properties.insert(self.key_name(*k).to_owned(), self.value_json(v));
                }
                let mut out = Map::new();
                out.insert("event".into(), Json::String(self.strings[event.name].clone()));
                out.insert("distinct_id".into(), distinct_id.clone());
                out.insert("timestamp".into(), json!(event.timestamp_ms));
                out.insert("properties".into(), Json::Object(properties));
                Json::Object(out)
            })
            .collect()
    }

    /// The message in the fixtures' `decoded_compact_message` form.
    pub fn fixture_json(&self) -> Json {
        let mut context = Map::new();
        for (id, value) in &self.context {
            let name = match *id {
                1..=8 => PROMOTED_CONTEXT_NAMES[(*id - 1) as usize].to_owned(),
                context_id::DEVICE_TIME_SOURCE => "device_time_source".to_owned(),
                context_id::CAPABILITIES => "capabilities".to_owned(),
                other => format!("extension_{other}"),
            };
            context.insert(name, self.value_json(value));
        }
        let events: Vec<Json> = self
            .events
            .iter()
            .map(|event| {
                let properties: Vec<Json> = event
                    .properties
                    .iter()
                    .map(|(k, v)| json!({ self.key_name(*k): self.value_json(v) }))
                    .collect();
                json!({
                    "event": self.strings[event.name],
                    "properties": properties,
                    "time_delta_ms": event.time_delta_ms,
                })
            })
            .collect();
        json!({
            "base_time_ms": self.base_time_ms,
            "batch_context": context,
            "events": events,
            "flags": ["context_promotes_properties"],
            "format_version": FORMAT_VERSION,
            "message_kind": "event_batch",
            "string_table": self.strings,
        })
    }
}
