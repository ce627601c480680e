//! One queued event: its payload layout, the validating writer the bindings fill, and the
//! in-place reader the flush path uses.
//!
//! Payload (after the queue's 4-byte length header):
//!
//! ```text
//! flags        u8        bit 0: session id present; bit 1: timestamp is boot-relative
//! timestamp_ms uvarint
//! session_id   16 bytes  only with flag bit 0 (the 32 hex digits of `sess_<hex>`, as bytes)
//! distinct_id  uvarint length + UTF-8
//! name         uvarint length + UTF-8
//! properties   a packed property list (see [`crate::packed`])
//! ```
//!
//! The batch context (device id, model, firmware, ...) is not stored per record: it is the
//! client's, and the wire encoder adds it once per message.

use crate::packed::{Full, PackedWriter, Pairs};
use crate::status::Error;

pub const FLAG_SESSION: u8 = 1;
pub const FLAG_BOOT_RELATIVE: u8 = 2;

/// Byte limits (core.md §2-§3, counted in UTF-8 bytes).
pub const MAX_EVENT_NAME_BYTES: usize = 128;
pub const MAX_DISTINCT_ID_BYTES: usize = 256;
pub const MAX_PROPERTIES: usize = 64;
/// Containers nested inside one property value (a ninth is refused).
pub const MAX_DEPTH: u8 = 8;
/// Longest string the wire format carries (keys and values alike).
pub const MAX_STRING_BYTES: usize = 512;

/// Keys a caller may not set at the top level (core.md §3; exact matches only).
pub const RESERVED_KEYS: [&str; 11] = [
    "$anon_distinct_id",
    "$battery_level",
    "distinct_id",
    "$device_id",
    "$device_model",
    "$environment",
    "$firmware_version",
    "$sdk_platform",
    "$sdk_version",
    "$session_id",
    "$wifi_rssi",
];

pub const RESERVED_NEEDS_STRING: Error =
    Error::invalid("reset_reason, state, previous_version, new_version and session_name must be strings");
pub const INVALID_EVENT_NAME: Error = Error::invalid("invalid event name");
pub const INVALID_DISTINCT_ID: Error = Error::invalid("invalid distinct_id");
pub const INVALID_PROPERTY_KEY: Error = Error::invalid("invalid property key");
pub const RESERVED_PROPERTY_KEY: Error =
    Error::invalid("property key is reserved for the SDK (see the README's reserved keys)");
pub const TOO_MANY_PROPERTIES: Error = Error::invalid("too many properties (at most 64)");
pub const TOO_DEEP: Error = Error::invalid("property value nested deeper than 8 levels");
pub const NOT_FINITE: Error = Error::invalid("property float must be finite (no NaN or infinity)");
pub const INT_OUT_OF_RANGE: Error =
    Error::invalid("property int out of range (must be within -2**63 .. 2**64-1)");
pub const UNSUPPORTED_VALUE: Error = Error::invalid("unsupported property value");
pub const PROPERTIES_NOT_DICT: Error = Error::invalid("properties must be a dict");
pub const KEYS_NOT_STR: Error = Error::invalid("property keys must be strings");
pub const STRING_TOO_LONG: Error = Error::invalid("property string too long (at most 512 UTF-8 bytes)");
pub const EVENT_TOO_LARGE: Error = Error::invalid("event is larger than max_event_bytes");

fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// Checks an event name: non-blank, at most 128 UTF-8 bytes.
pub fn check_event_name(name: &str) -> Result<(), Error> {
    if is_blank(name) || name.len() > MAX_EVENT_NAME_BYTES {
        return Err(INVALID_EVENT_NAME);
    }
    Ok(())
}

/// Checks a distinct id: non-blank, at most 256 UTF-8 bytes.
pub fn check_distinct_id(id: &str) -> Result<(), Error> {
    if is_blank(id) || id.len() > MAX_DISTINCT_ID_BYTES {
        return Err(INVALID_DISTINCT_ID);
    }
    Ok(())
}

/// Why writing properties stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropsError {
    /// The caller's value breaks a rule: nothing is queued.
    Invalid(Error),
    /// The output region is full: the engine retries with more room.
    Full,
}

impl From<Error> for PropsError {
    fn from(e: Error) -> Self {
        PropsError::Invalid(e)
    }
}

impl From<Full> for PropsError {
    fn from(_: Full) -> Self {
        PropsError::Full
    }
}

/// Writes an event's properties, enforcing every value rule as it goes. The bindings walk
/// their Python objects and call it; the rules live only here.
///
/// Duplicate keys need no check on this path: Python dict keys are unique, and the keys the
/// SDK adds itself are all on the reserved list, which callers cannot use.
pub struct PropsWriter<'b> {
    out: PackedWriter<'b>,
    /// Open containers around the current value (0 = a top-level property value).
    depth: u8,
    /// Properties the engine appends after the caller's (counted in the list's length).
    extra: usize,
    /// The key just written is a reserved wire name that takes a string value.
    string_only: bool,
    /// What the properties put in a wire message's string table, counted as if no string
    /// were shared (an upper bound; see [`StringNeeds`]).
    needs: StringNeeds,
}

/// The strings a record's properties put in a wire message's string table (custom keys and
/// string values), counted as if none were shared with another: upper bounds of what the
/// encoder's table gets from them. The writer counts them as it goes, at the cost of two
/// additions, so `track()` can tell almost every event deliverable without a trial encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StringNeeds {
    /// Strings (string-table entries at most).
    pub count: usize,
    /// Their UTF-8 bytes.
    pub bytes: usize,
}

impl StringNeeds {
    fn add(&mut self, s: &str) {
        self.count += 1;
        self.bytes += s.len();
    }
}

impl<'b> PropsWriter<'b> {
    pub(crate) fn new(out: PackedWriter<'b>, extra: usize) -> Self {
        Self {
            out,
            depth: 0,
            extra,
            string_only: false,
            needs: StringNeeds::default(),
        }
    }

    pub(crate) fn into_inner(self) -> (PackedWriter<'b>, StringNeeds) {
        (self.out, self.needs)
    }

    /// Starts the property list with the caller's `count` properties.
    pub fn begin_properties(&mut self, count: usize) -> Result<(), PropsError> {
        let total = count + self.extra;
        if total > MAX_PROPERTIES {
            return Err(TOO_MANY_PROPERTIES.into());
        }
        Ok(self.out.put_uvarint(total as u64)?)
    }

    /// A key: of a top-level property (depth 0) or of a nested map.
    pub fn key(&mut self, key: &str) -> Result<(), PropsError> {
        if is_blank(key) || key.len() > MAX_STRING_BYTES || key.as_bytes().contains(&0) {
            return Err(INVALID_PROPERTY_KEY.into());
        }
        if self.depth == 0 {
            if RESERVED_KEYS.contains(&key) {
                return Err(RESERVED_PROPERTY_KEY.into());
            }
            let id = crate::wire::encode::reserved_property_id(key);
            // The wire sends a reserved name by its ID, so it adds no string; inside a map it
            // is counted as one (still an upper bound).
            self.string_only = matches!(id, Some(id) if id >= 3);
            if id.is_none() {
                self.needs.add(key);
            }
        } else if crate::wire::encode::is_promoted_context_name(key) {
            return Err(RESERVED_PROPERTY_KEY.into());
        } else {
            self.needs.add(key);
        }
        self.out.key(key)?;
        Ok(())
    }

    /// A key the SDK itself adds (exempt from the reserved list).
    pub(crate) fn trusted_key(&mut self, key: &str) -> Result<(), PropsError> {
        if crate::wire::encode::reserved_property_id(key).is_none() {
            self.needs.add(key);
        }
        self.out.key(key)?;
        Ok(())
    }

    /// Refuses a non-string value after a reserved wire name that takes a string.
    fn not_string(&mut self) -> Result<(), PropsError> {
        if self.string_only {
            return Err(RESERVED_NEEDS_STRING.into());
        }
        Ok(())
    }

    pub fn null(&mut self) -> Result<(), PropsError> {
        self.not_string()?;
        Ok(self.out.null()?)
    }

    pub fn bool(&mut self, v: bool) -> Result<(), PropsError> {
        self.not_string()?;
        Ok(self.out.bool(v)?)
    }

    pub fn int(&mut self, v: i64) -> Result<(), PropsError> {
        self.not_string()?;
        Ok(self.out.int(v)?)
    }

    pub fn uint(&mut self, v: u64) -> Result<(), PropsError> {
        self.not_string()?;
        Ok(self.out.uint(v)?)
    }

    pub fn float(&mut self, v: f64) -> Result<(), PropsError> {
        self.not_string()?;
        if !v.is_finite() {
            return Err(NOT_FINITE.into());
        }
        Ok(self.out.f64(v)?)
    }

    /// A single-precision float, stored and sent as wire `float32` (tag 0x05) so that the
    /// value arrives exactly as the device held it (product.md §4 decision 15). For ports
    /// whose floats are single precision; [`Self::float`] sends `float64`.
    pub fn float32(&mut self, v: f32) -> Result<(), PropsError> {
        self.not_string()?;
        if !v.is_finite() {
            return Err(NOT_FINITE.into());
        }
        Ok(self.out.f32(v)?)
    }

    pub fn str(&mut self, v: &str) -> Result<(), PropsError> {
        self.string_only = false;
        if v.len() > MAX_STRING_BYTES {
            return Err(STRING_TOO_LONG.into());
        }
        self.needs.add(v);
        Ok(self.out.str(v)?)
    }

    pub fn bytes(&mut self, v: &[u8]) -> Result<(), PropsError> {
        self.not_string()?;
        Ok(self.out.bytes(v)?)
    }

    fn enter(&mut self) -> Result<(), PropsError> {
        self.not_string()?;
        if self.depth >= MAX_DEPTH {
            return Err(TOO_DEEP.into());
        }
        self.depth += 1;
        Ok(())
    }

    /// Opens a list of `count` values; close it with [`Self::end`].
    pub fn begin_list(&mut self, count: usize) -> Result<(), PropsError> {
        self.enter()?;
        Ok(self.out.begin_array(count)?)
    }

    /// Opens a map of `count` pairs; close it with [`Self::end`].
    pub fn begin_map(&mut self, count: usize) -> Result<(), PropsError> {
        self.enter()?;
        Ok(self.out.begin_map(count)?)
    }

    pub fn end(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

/// A queued record read in place.
#[derive(Clone, Copy, Debug)]
pub struct RecordView<'a> {
    pub flags: u8,
    pub timestamp_ms: u64,
    pub session_id: Option<&'a [u8; 16]>,
    pub distinct_id: &'a str,
    pub name: &'a str,
    pub properties: Pairs<'a>,
}

impl<'a> RecordView<'a> {
    /// Reads a record payload; `None` when it is malformed (the application overwrote the
    /// buffer), in which case the flush path dead-letters it.
    pub fn parse(payload: &'a [u8]) -> Option<Self> {
        let (&flags, rest) = payload.split_first()?;
        let (timestamp_ms, n) = crate::varint::get_uvarint(rest).ok()?;
        let mut rest = &rest[n..];
        let session_id = if flags & FLAG_SESSION != 0 {
            let (id, after) = rest.split_first_chunk::<16>()?;
            rest = after;
            Some(id)
        } else {
            None
        };
        let (distinct_id, rest) = read_text(rest)?;
        let (name, rest) = read_text(rest)?;
        let (properties, rest) = Pairs::parse(rest).ok()?;
        if !rest.is_empty() {
            return None;
        }
        Some(Self {
            flags,
            timestamp_ms,
            session_id,
            distinct_id,
            name,
            properties,
        })
    }
}

fn read_text(input: &[u8]) -> Option<(&str, &[u8])> {
    let (len, n) = crate::varint::get_uvarint(input).ok()?;
    let rest = &input[n..];
    let len = usize::try_from(len).ok()?;
    if len > rest.len() {
        return None;
    }
    let (text, rest) = rest.split_at(len);
    Some((core::str::from_utf8(text).ok()?, rest))
}

/// Writes a record's fixed part (everything before the properties).
pub(crate) struct RecordHead<'a> {
    pub flags: u8,
    pub timestamp_ms: u64,
    pub session_id: Option<&'a [u8; 16]>,
    pub distinct_id: &'a str,
    pub name: &'a str,
}

impl RecordHead<'_> {
    pub(crate) fn write(&self, out: &mut PackedWriter<'_>) -> Result<(), Full> {
        out.put_u8(self.flags)?;
        out.put_uvarint(self.timestamp_ms)?;
        if let Some(id) = self.session_id {
            out.put_bytes(id)?;
        }
        out.put_lenbytes(self.distinct_id.as_bytes())?;
        out.put_lenbytes(self.name.as_bytes())
    }
}
