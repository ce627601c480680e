//! Compact event message encoder (wire.md §3-§4), writing into a caller buffer.
//!
//! The string table comes before the events, so encoding takes two passes over the events:
//! a measuring pass that interns strings in canonical order and sizes every section, then a
//! writing pass. Interning is append-only, so a string's index never changes once assigned;
//! that makes the size after each added event exact, and lets [`encode_longest_prefix`]
//! stop at the first event that would break a limit without trial encodings.
//!
//! No allocation: the interning table is a fixed array of borrowed strings on the stack.

use crate::packed::{Malformed, Pairs, Value};
use crate::varint::{put_uvarint, uvarint_len, zigzag};

/// `format_version` written in every message.
pub const FORMAT_VERSION: u64 = 2;
/// `message_kind` 1: an event batch.
pub const MESSAGE_KIND_EVENT_BATCH: u64 = 1;
/// `flags` bit 0: context promotes into event properties (SDKs always set it).
pub const FLAG_CONTEXT_PROMOTES_PROPERTIES: u64 = 1;

/// SDK-side limits (wire.md §6). Capture accepts at least these.
pub mod limits {
    /// Events in one message.
    pub const MAX_EVENTS: usize = 50;
    /// Bytes of one compact message.
    pub const MAX_MESSAGE_BYTES: usize = 4096;
    /// String-table entries.
    pub const MAX_STRINGS: usize = 128;
    /// Bytes of one string.
    pub const MAX_STRING_BYTES: usize = 512;
    /// Bytes of all strings together.
    pub const MAX_TOTAL_STRING_BYTES: usize = 2048;
    /// Top-level properties of one event.
    pub const MAX_PROPERTIES: usize = 64;
    /// Containers nested inside one property value (product.md §4.10: eight are accepted).
    pub const MAX_DEPTH: usize = 8;
}
use limits::*;

/// Value tags on the wire (wire.md §3.4). They match the packed format's tags.
pub mod tag {
    pub const NULL: u8 = 0x00;
    pub const FALSE: u8 = 0x01;
    pub const TRUE: u8 = 0x02;
    pub const UINT: u8 = 0x03;
    pub const INT: u8 = 0x04;
    pub const F32: u8 = 0x05;
    pub const F64: u8 = 0x06;
    pub const STRING_REF: u8 = 0x07;
    pub const BYTES: u8 = 0x08;
    pub const ARRAY: u8 = 0x09;
    pub const MAP: u8 = 0x0a;
}

/// Batch context key IDs (wire.md §3.1).
pub mod context_id {
    pub const DISTINCT_ID: u64 = 1;
    pub const DEVICE_ID: u64 = 2;
    pub const DEVICE_MODEL: u64 = 3;
    pub const FIRMWARE_VERSION: u64 = 4;
    pub const SDK_PLATFORM: u64 = 5;
    pub const SDK_VERSION: u64 = 6;
    pub const ENVIRONMENT: u64 = 7;
    pub const SESSION_ID: u64 = 8;
    pub const DEVICE_TIME_SOURCE: u64 = 9;
    pub const CAPABILITIES: u64 = 10;
    /// Extension IDs start here; 11-127 are reserved.
    pub const FIRST_EXTENSION: u64 = 128;
}

/// Context names promoted into event properties, by context ID 1..=8. A property or map
/// key may not spell any of them (the context already carries them).
pub const PROMOTED_CONTEXT_NAMES: [&str; 8] = [
    "distinct_id",
    "$device_id",
    "$device_model",
    "$firmware_version",
    "$sdk_platform",
    "$sdk_version",
    "$environment",
    "$session_id",
];

/// Reserved property names, by ID 1..=7 (wire.md §3.2). They are sent as `id << 1`.
pub const RESERVED_PROPERTY_NAMES: [&str; 7] = [
    "$battery_level",
    "$wifi_rssi",
    "reset_reason",
    "state",
    "previous_version",
    "new_version",
    "session_name",
];

/// Reserved property ID of `name`, if it is one.
pub fn reserved_property_id(name: &str) -> Option<u8> {
    RESERVED_PROPERTY_NAMES
        .iter()
        .position(|&n| n == name)
        .map(|i| i as u8 + 1)
}

/// Whether `name` is a promoted context name (or `distinct_id`).
pub fn is_promoted_context_name(name: &str) -> bool {
    PROMOTED_CONTEXT_NAMES.contains(&name)
}

/// Accepted range of `$battery_level` (percent).
pub const BATTERY_LEVEL_RANGE: core::ops::RangeInclusive<i64> = 0..=100;
/// Accepted range of `$wifi_rssi` (dBm). The spec gives none; radio stacks report RSSI as a
/// signed byte, so anything outside an i8 is a caller bug rather than a measurement.
pub const WIFI_RSSI_RANGE: core::ops::RangeInclusive<i64> = -128..=127;

/// How the events' timestamps were obtained (context key 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum DeviceTimeSource {
    /// At least one event still has an unknown time.
    Unknown = 0,
    /// Every event has a real-time clock timestamp.
    RealtimeClock = 1,
    /// At least one event was converted from boot-relative time.
    MonotonicPlusBootEpoch = 2,
    /// A gateway assigned the time.
    GatewayAssigned = 3,
}

impl DeviceTimeSource {
    /// The source for a wire value, if it is one of 0-3.
    pub const fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(Self::Unknown),
            1 => Some(Self::RealtimeClock),
            2 => Some(Self::MonotonicPlusBootEpoch),
            3 => Some(Self::GatewayAssigned),
            _ => None,
        }
    }
}

/// An extension context entry (ID 128 and up): ingest metadata, not promoted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extension<'a> {
    pub id: u64,
    pub value: Value<'a>,
}

/// The batch context: what every event of the message shares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchContext<'a> {
    pub distinct_id: &'a str,
    pub device_id: &'a str,
    pub device_model: &'a str,
    pub firmware_version: &'a str,
    pub sdk_platform: &'a str,
    pub sdk_version: &'a str,
    pub environment: &'a str,
    pub session_id: Option<&'a str>,
    /// Key 9. The SDK always sends it; `None` leaves it out (as most fixtures do).
    pub device_time_source: Option<DeviceTimeSource>,
    /// Key 10.
    pub capabilities: Option<u64>,
    /// Keys 128 and up, written in this order.
    pub extensions: &'a [Extension<'a>],
    /// `None`: the first event's timestamp, as the SDK does. Tools that must reproduce a
    /// given message (the conformance runner) set it explicitly.
    pub base_time_ms: Option<u64>,
}

/// One event as the encoder reads it, borrowed from the queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventView<'a> {
    pub name: &'a str,
    pub timestamp_ms: u64,
    /// The property list in the packed format (count, then key/value pairs).
    pub properties: Pairs<'a>,
}

/// Events to encode, read by index. Each is read twice (measure, then write), so reading
/// must be cheap and must return the same event both times.
pub trait EventSource<'a> {
    /// Number of candidate events.
    fn len(&self) -> usize;
    /// Whether there are no candidates.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Event `index` (< `len()`), or `Malformed` if its stored record cannot be read.
    fn event(&self, index: usize) -> Result<EventView<'a>, Malformed>;
}

impl<'a> EventSource<'a> for [EventView<'a>] {
    fn len(&self) -> usize {
        <[EventView<'a>]>::len(self)
    }
    fn event(&self, index: usize) -> Result<EventView<'a>, Malformed> {
        self.get(index).copied().ok_or(Malformed)
    }
}

/// A limit of wire.md §6 that an input would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// More than [`MAX_EVENTS`] events.
    Events,
    /// The message would exceed [`MAX_MESSAGE_BYTES`].
    MessageBytes,
    /// More than [`MAX_STRINGS`] distinct strings.
    Strings,
    /// One string longer than [`MAX_STRING_BYTES`].
    StringBytes,
    /// All strings together longer than [`MAX_TOTAL_STRING_BYTES`].
    TotalStringBytes,
    /// More than [`MAX_PROPERTIES`] properties on one event.
    Properties,
    /// More than [`MAX_DEPTH`] nested containers.
    Depth,
}

/// Why a message (or one event of it) cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// A limit of wire.md §6.
    Limit(Limit),
    /// No events were given.
    NoEvents,
    /// The message fits the 4096-byte limit but not the caller's shorter buffer.
    OutputTooSmall,
    /// A float is NaN or infinite.
    NonFiniteFloat,
    /// Two properties of one event, or two keys of one map, are equal.
    DuplicateKey,
    /// A property or map key spells a promoted context name or `distinct_id`.
    PromotedKey,
    /// A property or map key is the empty string.
    EmptyKey,
    /// The event name is empty.
    EmptyEventName,
    /// A required context string (or the session id) is empty.
    EmptyContextValue,
    /// A reserved property (`$battery_level`, `reset_reason`, ...) has the wrong type or range.
    ReservedPropertyValue,
    /// `timestamp - base_time_ms` does not fit an i64.
    TimeDeltaOverflow,
    /// An extension ID below 128.
    ExtensionIdOutOfRange,
    /// Two extensions with the same ID.
    DuplicateExtensionId,
    /// The event's stored record (packed properties) is malformed.
    MalformedRecord,
    /// The event source returned different events on the second pass.
    InconsistentSource,
}

/// Where an [`EncodeError`] arose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeFailure {
    pub error: EncodeError,
    /// The event at fault; `None` when the context or the batch as a whole is at fault.
    pub event: Option<usize>,
}

impl EncodeFailure {
    fn batch(error: EncodeError) -> Self {
        Self { error, event: None }
    }
    fn at(event: usize, error: EncodeError) -> Self {
        Self {
            error,
            event: Some(event),
        }
    }
}

/// The result of [`encode_longest_prefix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoded {
    /// Bytes of the message at the start of `out`.
    pub len: usize,
    /// How many events (from index 0) it carries.
    pub events: usize,
}

impl From<Malformed> for EncodeError {
    fn from(_: Malformed) -> Self {
        EncodeError::MalformedRecord
    }
}

/// The first-use interning table: borrowed strings, indexed in insertion order.
struct StringTable<'a> {
    entries: [&'a str; MAX_STRINGS],
    len: usize,
    text_bytes: usize,
    /// The table as written: each string's length varint plus its bytes.
    encoded_bytes: usize,
}

/// A table state to roll back to when an event turns out not to fit.
#[derive(Clone, Copy)]
struct TableMark {
    len: usize,
    text_bytes: usize,
    encoded_bytes: usize,
}

impl<'a> StringTable<'a> {
    fn new() -> Self {
        Self {
            entries: [""; MAX_STRINGS],
            len: 0,
            text_bytes: 0,
            encoded_bytes: 0,
        }
    }

    fn mark(&self) -> TableMark {
        TableMark {
            len: self.len,
            text_bytes: self.text_bytes,
            encoded_bytes: self.encoded_bytes,
        }
    }

    fn reset(&mut self, mark: TableMark) {
        self.len = mark.len;
        self.text_bytes = mark.text_bytes;
        self.encoded_bytes = mark.encoded_bytes;
    }

    fn strings(&self) -> &[&'a str] {
        &self.entries[..self.len]
    }

    fn intern(&mut self, s: &'a str) -> Result<u64, EncodeError> {
        if let Some(i) = self.strings().iter().position(|e| *e == s) {
            return Ok(i as u64);
        }
        if s.len() > MAX_STRING_BYTES {
            return Err(EncodeError::Limit(Limit::StringBytes));
        }
        if self.len == MAX_STRINGS {
            return Err(EncodeError::Limit(Limit::Strings));
        }
        if self.text_bytes + s.len() > MAX_TOTAL_STRING_BYTES {
            return Err(EncodeError::Limit(Limit::TotalStringBytes));
        }
        self.entries[self.len] = s;
        self.len += 1;
        self.text_bytes += s.len();
        self.encoded_bytes += uvarint_len(s.len() as u64) + s.len();
        Ok(self.len as u64 - 1)
    }
}

/// Where encoded bytes go: counted in the measuring pass, stored in the writing pass. One
/// traversal serves both, so the two passes cannot disagree about the layout.
trait Sink {
    fn byte(&mut self, b: u8) -> Result<(), EncodeError>;
    fn bytes(&mut self, b: &[u8]) -> Result<(), EncodeError>;
    fn uvarint(&mut self, v: u64) -> Result<(), EncodeError>;
}

#[derive(Default)]
struct Measure {
    len: usize,
}

impl Sink for Measure {
    fn byte(&mut self, _: u8) -> Result<(), EncodeError> {
        self.len = self.len.saturating_add(1);
        Ok(())
    }
    fn bytes(&mut self, b: &[u8]) -> Result<(), EncodeError> {
        self.len = self.len.saturating_add(b.len());
        Ok(())
    }
    fn uvarint(&mut self, v: u64) -> Result<(), EncodeError> {
        self.len = self.len.saturating_add(uvarint_len(v));
        Ok(())
    }
}

struct Writer<'o> {
    out: &'o mut [u8],
    pos: usize,
}

impl Sink for Writer<'_> {
    fn byte(&mut self, b: u8) -> Result<(), EncodeError> {
        let slot = self
            .out
            .get_mut(self.pos)
            .ok_or(EncodeError::InconsistentSource)?;
        *slot = b;
        self.pos += 1;
        Ok(())
    }
    fn bytes(&mut self, b: &[u8]) -> Result<(), EncodeError> {
        let end = self
            .pos
            .checked_add(b.len())
            .ok_or(EncodeError::InconsistentSource)?;
        self.out
            .get_mut(self.pos..end)
            .ok_or(EncodeError::InconsistentSource)?
            .copy_from_slice(b);
        self.pos = end;
        Ok(())
    }
    fn uvarint(&mut self, v: u64) -> Result<(), EncodeError> {
        let rest = self
            .out
            .get_mut(self.pos..)
            .ok_or(EncodeError::InconsistentSource)?;
        self.pos += put_uvarint(rest, v).ok_or(EncodeError::InconsistentSource)?;
        Ok(())
    }
}

fn check_key<'a>(table: &mut StringTable<'a>, key: &'a str) -> Result<u64, EncodeError> {
    if let Some(id) = reserved_property_id(key) {
        return Ok(u64::from(id) << 1);
    }
    if key.is_empty() {
        return Err(EncodeError::EmptyKey);
    }
    if is_promoted_context_name(key) {
        return Err(EncodeError::PromotedKey);
    }
    Ok((table.intern(key)? << 1) | 1)
}

/// The SDK's own reserved properties have fixed meanings; refusing a wrong type here keeps
/// the encoder from producing a message capture would reject with 422.
fn check_reserved_value(id: u8, value: &Value<'_>) -> Result<(), EncodeError> {
    let integer = match *value {
        Value::UInt(v) => i64::try_from(v).ok(),
        Value::Int(v) => Some(v),
        _ => None,
    };
    let ok = match id {
        1 => integer.is_some_and(|v| BATTERY_LEVEL_RANGE.contains(&v)),
        2 => integer.is_some_and(|v| WIFI_RSSI_RANGE.contains(&v)),
        _ => matches!(value, Value::Str(_)),
    };
    if ok {
        Ok(())
    } else {
        Err(EncodeError::ReservedPropertyValue)
    }
}

/// Writes `pairs` (an event's properties or a map's body, without the count) in order.
/// `depth` is the depth of the pairs' values.
fn encode_pairs<'a, S: Sink>(
    table: &mut StringTable<'a>,
    sink: &mut S,
    pairs: Pairs<'a>,
    depth: usize,
) -> Result<(), EncodeError> {
    let all = pairs;
    for (index, pair) in pairs.enumerate() {
        let (key, value) = pair?;
        // Quadratic, but lists are short (64 properties at most) and this needs no memory.
        for earlier in all.take(index) {
            if earlier?.0 == key {
                return Err(EncodeError::DuplicateKey);
            }
        }
        let key_ref = check_key(table, key)?;
        if depth == 0 && key_ref & 1 == 0 {
            check_reserved_value((key_ref >> 1) as u8, &value)?;
        }
        sink.uvarint(key_ref)?;
        encode_value(table, sink, value, depth)?;
    }
    Ok(())
}

fn encode_value<'a, S: Sink>(
    table: &mut StringTable<'a>,
    sink: &mut S,
    value: Value<'a>,
    depth: usize,
) -> Result<(), EncodeError> {
    match value {
        Value::Null => sink.byte(tag::NULL),
        Value::Bool(false) => sink.byte(tag::FALSE),
        Value::Bool(true) => sink.byte(tag::TRUE),
        Value::UInt(v) => {
            sink.byte(tag::UINT)?;
            sink.uvarint(v)
        }
        Value::Int(v) => {
            sink.byte(tag::INT)?;
            sink.uvarint(zigzag(v))
        }
        Value::F32(v) => {
            if !v.is_finite() {
                return Err(EncodeError::NonFiniteFloat);
            }
            sink.byte(tag::F32)?;
            sink.bytes(&v.to_le_bytes())
        }
        Value::F64(v) => {
            if !v.is_finite() {
                return Err(EncodeError::NonFiniteFloat);
            }
            sink.byte(tag::F64)?;
            sink.bytes(&v.to_le_bytes())
        }
        Value::Str(s) => {
            let index = table.intern(s)?;
            sink.byte(tag::STRING_REF)?;
            sink.uvarint(index)
        }
        Value::Bytes(b) => {
            sink.byte(tag::BYTES)?;
            sink.uvarint(b.len() as u64)?;
            sink.bytes(b)
        }
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(EncodeError::Limit(Limit::Depth));
            }
            sink.byte(tag::ARRAY)?;
            sink.uvarint(items.remaining())?;
            for item in items {
                encode_value(table, sink, item?, depth + 1)?;
            }
            Ok(())
        }
        Value::Map(pairs) => {
            if depth >= MAX_DEPTH {
                return Err(EncodeError::Limit(Limit::Depth));
            }
            sink.byte(tag::MAP)?;
            sink.uvarint(pairs.remaining())?;
            encode_pairs(table, sink, pairs, depth + 1)
        }
    }
}

fn encode_event<'a, S: Sink>(
    table: &mut StringTable<'a>,
    sink: &mut S,
    event: &EventView<'a>,
    base_time_ms: u64,
) -> Result<(), EncodeError> {
    if event.name.is_empty() {
        return Err(EncodeError::EmptyEventName);
    }
    let delta = i128::from(event.timestamp_ms) - i128::from(base_time_ms);
    let delta = i64::try_from(delta).map_err(|_| EncodeError::TimeDeltaOverflow)?;
    let count = event.properties.remaining();
    if count > MAX_PROPERTIES as u64 {
        return Err(EncodeError::Limit(Limit::Properties));
    }
    let name = table.intern(event.name)?;
    sink.uvarint(name)?;
    sink.uvarint(zigzag(delta))?;
    sink.uvarint(count)?;
    encode_pairs(table, sink, event.properties, 0)
}

fn required_context<'a>(ctx: &BatchContext<'a>) -> [&'a str; 7] {
    [
        ctx.distinct_id,
        ctx.device_id,
        ctx.device_model,
        ctx.firmware_version,
        ctx.sdk_platform,
        ctx.sdk_version,
        ctx.environment,
    ]
}

/// Writes the context section. On the measuring pass it also interns the context strings,
/// then the extension values, which wire.md §4.1 puts before any event string.
fn encode_context<'a, S: Sink>(
    table: &mut StringTable<'a>,
    sink: &mut S,
    ctx: &BatchContext<'a>,
) -> Result<(), EncodeError> {
    let required = required_context(ctx);
    let mut count = required.len() as u64 + ctx.extensions.len() as u64;
    count += u64::from(ctx.session_id.is_some());
    count += u64::from(ctx.device_time_source.is_some());
    count += u64::from(ctx.capabilities.is_some());
    sink.uvarint(count)?;
    let strings = required.iter().copied().chain(ctx.session_id);
    for (id, s) in (context_id::DISTINCT_ID..).zip(strings) {
        if s.is_empty() {
            return Err(EncodeError::EmptyContextValue);
        }
        let index = table.intern(s)?;
        sink.uvarint(id)?;
        sink.byte(tag::STRING_REF)?;
        sink.uvarint(index)?;
    }
    if let Some(source) = ctx.device_time_source {
        sink.uvarint(context_id::DEVICE_TIME_SOURCE)?;
        sink.byte(tag::UINT)?;
        sink.uvarint(source as u64)?;
    }
    if let Some(capabilities) = ctx.capabilities {
        sink.uvarint(context_id::CAPABILITIES)?;
        sink.byte(tag::UINT)?;
        sink.uvarint(capabilities)?;
    }
    for (index, extension) in ctx.extensions.iter().enumerate() {
        if extension.id < context_id::FIRST_EXTENSION {
            return Err(EncodeError::ExtensionIdOutOfRange);
        }
        if ctx.extensions[..index].iter().any(|e| e.id == extension.id) {
            return Err(EncodeError::DuplicateExtensionId);
        }
        sink.uvarint(extension.id)?;
        encode_value(table, sink, extension.value, 0)?;
    }
    Ok(())
}

fn encode_header<S: Sink>(table: &StringTable<'_>, sink: &mut S, base: u64) -> Result<(), EncodeError> {
    sink.uvarint(FORMAT_VERSION)?;
    sink.uvarint(MESSAGE_KIND_EVENT_BATCH)?;
    sink.uvarint(FLAG_CONTEXT_PROMOTES_PROPERTIES)?;
    sink.uvarint(base)?;
    sink.uvarint(table.len as u64)?;
    for s in table.strings() {
        sink.uvarint(s.len() as u64)?;
        sink.bytes(s.as_bytes())?;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every candidate must fit.
    Exact,
    /// Stop before the first candidate that does not fit.
    LongestPrefix,
}

/// Encodes into `out`, or only measures when `out` is `None` (as if it held
/// [`MAX_MESSAGE_BYTES`]): the same traversal decides both, so a measured message is exactly
/// the one that would be written.
fn encode<'a, E: EventSource<'a> + ?Sized>(
    ctx: &BatchContext<'a>,
    events: &E,
    out: Option<&mut [u8]>,
    mode: Mode,
) -> Result<Encoded, EncodeFailure> {
    let candidates = events.len();
    if candidates == 0 {
        return Err(EncodeFailure::batch(EncodeError::NoEvents));
    }
    if mode == Mode::Exact && candidates > MAX_EVENTS {
        return Err(EncodeFailure::batch(EncodeError::Limit(Limit::Events)));
    }
    let candidates = candidates.min(MAX_EVENTS);
    let first = events.event(0).map_err(|e| EncodeFailure::at(0, e.into()))?;
    let base = ctx.base_time_ms.unwrap_or(first.timestamp_ms);
    let budget = out
        .as_ref()
        .map_or(MAX_MESSAGE_BYTES, |o| o.len().min(MAX_MESSAGE_BYTES));

    let mut table = StringTable::new();
    let mut context = Measure::default();
    encode_context(&mut table, &mut context, ctx).map_err(EncodeFailure::batch)?;
    let fixed = (3 + uvarint_len(base)).saturating_add(context.len);

    let mut events_len = 0usize;
    let mut accepted = 0usize;
    for index in 0..candidates {
        let mark = table.mark();
        let mut measure = Measure::default();
        let outcome = events
            .event(index)
            .map_err(EncodeError::from)
            .and_then(|event| encode_event(&mut table, &mut measure, &event, base));
        let outcome = outcome.and_then(|()| {
            // Saturating: the sizes come from stored records, which need not be sane.
            let total = fixed
                .saturating_add(uvarint_len(table.len as u64))
                .saturating_add(table.encoded_bytes)
                .saturating_add(uvarint_len(index as u64 + 1))
                .saturating_add(events_len)
                .saturating_add(measure.len);
            if total <= budget {
                Ok(())
            } else if total > MAX_MESSAGE_BYTES {
                Err(EncodeError::Limit(Limit::MessageBytes))
            } else {
                Err(EncodeError::OutputTooSmall)
            }
        });
        if let Err(error) = outcome {
            table.reset(mark);
            if index == 0 || mode == Mode::Exact {
                return Err(EncodeFailure::at(index, error));
            }
            break;
        }
        events_len = events_len.saturating_add(measure.len);
        accepted = index + 1;
    }

    let Some(out) = out else {
        let len = fixed
            .saturating_add(uvarint_len(table.len as u64))
            .saturating_add(table.encoded_bytes)
            .saturating_add(uvarint_len(accepted as u64))
            .saturating_add(events_len);
        return Ok(Encoded {
            len,
            events: accepted,
        });
    };
    let mut writer = Writer { out, pos: 0 };
    let write = |writer: &mut Writer<'_>, table: &mut StringTable<'a>| {
        encode_header(table, writer, base)?;
        encode_context(table, writer, ctx)?;
        writer.uvarint(accepted as u64)?;
        let interned = table.len;
        for index in 0..accepted {
            let event = events.event(index)?;
            encode_event(table, writer, &event, base)?;
        }
        if table.len != interned {
            return Err(EncodeError::InconsistentSource);
        }
        Ok(())
    };
    write(&mut writer, &mut table).map_err(|e| match e {
        EncodeError::MalformedRecord => EncodeFailure::batch(EncodeError::InconsistentSource),
        other => EncodeFailure::batch(other),
    })?;
    Ok(Encoded {
        len: writer.pos,
        events: accepted,
    })
}

/// Encodes every event of `events` (at most [`MAX_EVENTS`]) as one message at the start of
/// `out`; returns its length. Any event that breaks a rule or a limit fails the whole call,
/// naming that event. The message is never longer than [`MAX_MESSAGE_BYTES`] nor `out`.
pub fn encode_message<'a, E: EventSource<'a> + ?Sized>(
    ctx: &BatchContext<'a>,
    events: &E,
    out: &mut [u8],
) -> Result<usize, EncodeFailure> {
    encode(ctx, events, Some(out), Mode::Exact).map(|e| e.len)
}

/// Encodes the longest prefix of `events` (up to [`MAX_EVENTS`] of them) that fits every
/// limit and `out`, and says how many events it took. Encoding stops at the first event
/// that cannot join (too big, a new string over the table limits, a bad value ...); that
/// event then leads the next message.
///
/// Errors: with `event: Some(0)`, the first event cannot be encoded even alone (dead-letter
/// it; `error` says why); with `event: None`, the context is at fault or there are no events.
pub fn encode_longest_prefix<'a, E: EventSource<'a> + ?Sized>(
    ctx: &BatchContext<'a>,
    events: &E,
    out: &mut [u8],
) -> Result<Encoded, EncodeFailure> {
    encode(ctx, events, Some(out), Mode::LongestPrefix)
}

/// The length [`encode_message`] would give `events` with an output buffer of
/// [`MAX_MESSAGE_BYTES`], and the same errors, without writing anything: whether (and in how
/// many bytes) the events can be sent as one message. It is the encoder's own measuring pass.
pub fn measure_message<'a, E: EventSource<'a> + ?Sized>(
    ctx: &BatchContext<'a>,
    events: &E,
) -> Result<usize, EncodeFailure> {
    encode(ctx, events, None, Mode::Exact).map(|e| e.len)
}

/// What a message's batch context takes, whatever its events: the context's distinct
/// strings (they open the string table) and its section's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextNeeds {
    /// Distinct context strings (string-table entries).
    pub strings: usize,
    /// Their UTF-8 bytes.
    pub string_bytes: usize,
    /// Their bytes in the string table (each with its length varint).
    pub table_bytes: usize,
    /// Bytes of the context section (its count and entries).
    pub section_bytes: usize,
}

/// The [`ContextNeeds`] of `ctx`, measured by the encoder's own context pass; errors as
/// [`encode_message`] gives them for the context.
pub fn context_needs(ctx: &BatchContext<'_>) -> Result<ContextNeeds, EncodeError> {
    let mut table = StringTable::new();
    let mut section = Measure::default();
    encode_context(&mut table, &mut section, ctx)?;
    Ok(ContextNeeds {
        strings: table.len,
        string_bytes: table.text_bytes,
        table_bytes: table.encoded_bytes,
        section_bytes: section.len,
    })
}
