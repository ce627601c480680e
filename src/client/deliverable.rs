//! "Every event `track()` accepts can be delivered on its own" (product.md §4 decision 13).
//!
//! An event must fit a wire message by itself: the message's string table (128 entries,
//! 2048 bytes, counting the context strings the encoder adds: distinct id, device id, model,
//! firmware, SDK platform and version, environment, session id) and its 4096 bytes. An event
//! that could not is refused when it is queued, with an [`Error`] that names the limit,
//! instead of being dead-lettered by our own encoder at upload.
//!
//! The decision is the encoder's: an event near a limit is measured by the encoder's own
//! measuring pass over its record ([`crate::wire::measure_message`]), so the check and the
//! encoder cannot disagree. That pass walks a string table, so most events skip it: the
//! record writer counts the strings the properties add, as if none were shared
//! ([`StringNeeds`], two additions per string); with the context's share (measured by the
//! encoder once per client, [`crate::wire::context_needs`], plus the distinct id and session
//! id as if new), that bounds the message from above in a few additions. An event under
//! every limit by that bound is queued at once; one whose message is over 4096 bytes even if
//! every string were shared is refused at once; only the others are measured. No allocation,
//! except when such an event also needs older events evicted to fit: it is then measured
//! from a temporary copy of its record, so that a refused event never costs a queued one.
//!
//! The one estimate: an event stamped with boot-relative time gets its real timestamp at
//! upload, unknown now, so its `base_time_ms` is counted at its widest (10 bytes, 4 more than
//! a real date takes); such an event within 4 bytes of the 4096-byte message limit is refused.

use super::{session_text, Client, SDK_VERSION};
use crate::record::{RecordHead, RecordView, StringNeeds, FLAG_BOOT_RELATIVE};
use crate::status::{Error, Status};
use crate::varint::{uvarint_len, MAX_VARINT_LEN};
use crate::wire::encode::limits::{MAX_MESSAGE_BYTES, MAX_STRINGS, MAX_TOTAL_STRING_BYTES};
use crate::wire::{
    context_needs, measure_message, BatchContext, ContextNeeds, DeviceTimeSource, EncodeError, EventView,
    Limit,
};

/// Bytes of a session id's text, `sess_` and 32 hex digits.
const SESSION_TEXT_BYTES: usize = 37;

pub const TOO_MANY_STRINGS: Error =
    Error::invalid("event needs more than 128 distinct strings in one message (wire limit)");
pub const TOO_MANY_STRING_BYTES: Error =
    Error::invalid("event needs more than 2048 bytes of strings in one message (wire limit)");
pub const MESSAGE_TOO_LARGE: Error =
    Error::invalid("event needs more than 4096 bytes in one message (wire limit)");
pub const STRING_TOO_LONG_FOR_WIRE: Error =
    Error::invalid("event has a string longer than 512 bytes (wire limit)");
pub const DUPLICATE_KEY: Error = Error::invalid("duplicate property key");

/// Whether `e` is one of the refusals above (a wire limit the event would break).
pub fn is_wire_limit(e: &Error) -> bool {
    [
        TOO_MANY_STRINGS,
        TOO_MANY_STRING_BYTES,
        MESSAGE_TOO_LARGE,
        STRING_TOO_LONG_FOR_WIRE,
    ]
    .contains(e)
}

/// The error `track()` raises for an event the encoder refuses alone.
fn refusal(error: EncodeError) -> Error {
    use crate::record;
    match error {
        EncodeError::Limit(Limit::Strings) => TOO_MANY_STRINGS,
        EncodeError::Limit(Limit::TotalStringBytes) => TOO_MANY_STRING_BYTES,
        EncodeError::Limit(Limit::StringBytes) => STRING_TOO_LONG_FOR_WIRE,
        EncodeError::Limit(Limit::MessageBytes) | EncodeError::OutputTooSmall => MESSAGE_TOO_LARGE,
        EncodeError::Limit(Limit::Properties) => record::TOO_MANY_PROPERTIES,
        EncodeError::Limit(Limit::Depth) => record::TOO_DEEP,
        EncodeError::NonFiniteFloat => record::NOT_FINITE,
        EncodeError::DuplicateKey => DUPLICATE_KEY,
        EncodeError::PromotedKey => record::RESERVED_PROPERTY_KEY,
        EncodeError::EmptyKey => record::INVALID_PROPERTY_KEY,
        EncodeError::EmptyEventName => record::INVALID_EVENT_NAME,
        EncodeError::EmptyContextValue => record::INVALID_DISTINCT_ID,
        EncodeError::ReservedPropertyValue => record::RESERVED_NEEDS_STRING,
        EncodeError::Limit(Limit::Events)
        | EncodeError::NoEvents
        | EncodeError::TimeDeltaOverflow
        | EncodeError::ExtensionIdOutOfRange
        | EncodeError::DuplicateExtensionId
        | EncodeError::MalformedRecord
        | EncodeError::InconsistentSource => Error::status(Status::Internal),
    }
}

/// The most that top-level reserved property names (sent as one-byte IDs, wire.md §3.2) can
/// save against their packed form: 7 names of at most 16 bytes, each with its length byte.
const RESERVED_NAMES_SAVINGS: usize = 7 * 17;

/// The outcome of the cheap bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bound {
    /// The event fits alone whatever strings it shares.
    Fits,
    /// The event cannot fit alone, whatever strings it shares: refuse it with this error.
    Refused(Error),
    /// Only the encoder can tell (the event is near a string-table limit).
    Measure,
}

/// A written (or measured) record, as `write_record` reports it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordSize {
    /// Payload bytes (without the queue's 4-byte header).
    pub len: usize,
    /// Bytes of the packed property list (its count and pairs).
    pub props_len: usize,
    /// Strings the properties add to a message, at most.
    pub strings: StringNeeds,
}

impl Client {
    /// The context the encoder will give a message whose first event has this identity.
    fn context_for<'s>(&'s self, distinct_id: &'s str, session: Option<&'s str>) -> BatchContext<'s> {
        BatchContext {
            distinct_id,
            device_id: &self.config.device_id,
            device_model: &self.config.device_model,
            firmware_version: &self.config.firmware_version,
            sdk_platform: self.platform,
            sdk_version: SDK_VERSION,
            environment: &self.config.environment,
            session_id: session,
            // Any of its values takes one byte.
            device_time_source: Some(DeviceTimeSource::RealtimeClock),
            capabilities: None,
            extensions: &[],
            base_time_ms: None,
        }
    }

    /// What every message's context takes when its distinct id is the device id and there
    /// is no session: measured once, by the encoder, when the client is made.
    pub(crate) fn base_context_needs(&self) -> Result<ContextNeeds, Error> {
        context_needs(&self.context_for(&self.config.device_id, None)).map_err(refusal)
    }

    /// Bounds the single-event message of a record with `head` and `size` from above (the
    /// distinct id, the session id and each property string counted as a new table entry)
    /// and, for the message bytes, from below (each property string counted as shared).
    pub(crate) fn bound_alone(&self, head: &RecordHead<'_>, size: &RecordSize) -> Bound {
        // The context: the base one (see `base_context_needs`), plus the distinct id as a
        // string of its own, plus the session id's string and its entry (`08 07 <index>`:
        // an index below 128 takes one byte, and the entry count stays below 128 too).
        let base = self.context_base;
        let distinct = head.distinct_id.len();
        let session = if head.session_id.is_some() {
            SESSION_TEXT_BYTES
        } else {
            0
        };
        let with_session = usize::from(head.session_id.is_some());
        let ctx = ContextNeeds {
            strings: base.strings + 1 + with_session,
            string_bytes: base.string_bytes + distinct + session,
            table_bytes: base.table_bytes
                + uvarint_len(distinct as u64)
                + distinct
                + with_session * (1 + SESSION_TEXT_BYTES),
            section_bytes: base.section_bytes + 3 * with_session,
        };
        let name = head.name.len();
        let props = size.strings;
        // String-table entries and bytes if nothing were shared.
        let strings = ctx.strings + 1 + props.count;
        let string_bytes = ctx.string_bytes + name + props.bytes;
        let name_entry = uvarint_len(name as u64) + name;
        // Each property string's entry takes its bytes and a length varint of at most 2
        // bytes (strings are at most 512 bytes).
        let props_entries = props.bytes + 2 * props.count;
        let base_time = if head.flags & FLAG_BOOT_RELATIVE != 0 {
            MAX_VARINT_LEN
        } else {
            uvarint_len(head.timestamp_ms)
        };
        // Header (format, kind, flags), base time, table count, context, event count (1),
        // then the event: name ref and time delta (0) take a byte each while the table has
        // at most 128 entries, and the properties take no more on the wire than packed (a
        // key ref or string ref is never longer than the packed string it replaces).
        let fixed = 3 + base_time + ctx.section_bytes + 1 + 2;
        let upper = fixed
            + uvarint_len(strings as u64)
            + ctx.table_bytes
            + name_entry
            + props_entries
            + size.props_len;
        let strings_fit = strings <= MAX_STRINGS && string_bytes <= MAX_TOTAL_STRING_BYTES;
        if strings_fit && upper <= MAX_MESSAGE_BYTES {
            return Bound::Fits;
        }
        // With every property string shared, the table adds nothing for them and each packed
        // string shrinks to a one-byte ref at best (saving at most its bytes and one more);
        // a top-level reserved name (not counted among the strings) saves at most 17 bytes,
        // and an event has at most 7 of them.
        // The context's strings other than the base ones may be shared too.
        let savings = props_entries + RESERVED_NAMES_SAVINGS;
        let lower = (fixed + 1 + self.context_base.table_bytes + size.props_len).saturating_sub(savings);
        if strings_fit && lower > MAX_MESSAGE_BYTES {
            return Bound::Refused(MESSAGE_TOO_LARGE);
        }
        Bound::Measure
    }

    /// Measures the single-event message of the record `payload` with the encoder itself.
    pub(crate) fn measure_alone(&self, payload: &[u8]) -> Result<(), Error> {
        let view = RecordView::parse(payload).ok_or(Error::status(Status::Internal))?;
        let session = view.session_id.map(session_text);
        let session = session.as_ref().and_then(|s| core::str::from_utf8(s).ok());
        let ctx = self.context_for(view.distinct_id, session);
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
        measure_message(&ctx, &event[..])
            .map(|_| ())
            .map_err(|f| refusal(f.error))
    }
}
