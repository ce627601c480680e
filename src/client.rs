//! The client state machine: identity, sessions, lifecycle events and the queue.
//!
//! Every public operation takes the caller's `event_buffer` again (`buf`), because the
//! bindings re-acquire it on each call; the queue's records live there and nowhere else.

use alloc::boxed::Box;
use alloc::vec::Vec;

use deliverable::{Bound, RecordSize};

use crate::random::Random;

use crate::config::Config;
use crate::delivery::batch::TimeBase;
use crate::delivery::schedule::Schedule;
use crate::diagnostics::{CrashLatch, CrashReport, LastError, LogOnce, LogSlots, LAST_ERROR_LINE_BUF};
use crate::packed::{Full, PackedWriter};
use crate::queue::{Queue, QueueStats, RECORD_HEADER};
use crate::record::{
    check_distinct_id, check_event_name, PropsError, PropsWriter, RecordHead, EVENT_TOO_LARGE,
    FLAG_BOOT_RELATIVE, FLAG_SESSION,
};
use crate::status::{try_box_str, Error, Result, Status, OUT_OF_MEMORY};

/// `$sdk_version`, `honch.__version__` and `_honch_core.__version__`.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
/// 2026-01-01T00:00:00Z, the release date of this version, fixed in the source when it was
/// built. A wall-clock reading before it cannot be the real time: the clock has not been set
/// (rp2's RTC starts at 2021-01-01, other ports at 2000-01-01), so events are stamped with
/// boot-relative time until it is, and converted at flush once it is (product.md §4 decision
/// 16; the reference used 2020-01-01, which such default dates pass). A clock that reads the
/// real time (CPython, the unix port, a board after NTP) is past it.
pub const RELEASE_DATE_UNIX_MS: u64 = 1_767_225_600_000;

/// Time as the platform sees it.
pub trait Clock {
    /// Wall-clock Unix time in ms (any value below [`RELEASE_DATE_UNIX_MS`] means "not set").
    fn now_ms(&self) -> u64;
    /// Milliseconds since boot (monotonic).
    fn uptime_ms(&self) -> u64;
}

/// A property the SDK adds itself (exempt from the reserved-key rule).
#[derive(Clone, Copy, Debug)]
pub enum Trusted<'a> {
    Str(&'a str, &'a str),
}

/// The caller's properties, written through a [`PropsWriter`]. Called again (with a fresh
/// writer) when the first attempt ran out of room, so it must write the same thing each time.
/// Keys must be distinct, as a dict's are: the writer does not check it (the wire encoder
/// refuses duplicates).
pub trait Properties {
    /// Number of top-level properties it will write.
    fn count(&self) -> usize;
    fn write(&self, w: &mut PropsWriter<'_>) -> core::result::Result<(), PropsError>;
}

/// No properties.
pub struct NoProperties;

impl Properties for NoProperties {
    fn count(&self) -> usize {
        0
    }
    fn write(&self, _: &mut PropsWriter<'_>) -> core::result::Result<(), PropsError> {
        Ok(())
    }
}

pub const SHUT_DOWN: Error = Error::new(Status::NotInitialized, "client is shut down");
/// Construction: the context strings leave no room in a message for even `$device_boot`.
pub const CONTEXT_TOO_LARGE: Error = Error::invalid(
    "device_id, device_model, firmware_version and environment are too long together: a message \
     would have no room for an event (2048 bytes of strings, wire limit)",
);
/// Construction: `event_buffer` cannot hold the first event.
pub const BOOT_BUFFER_TOO_SMALL: Error = Error::invalid(
    "event_buffer is too small for the $device_boot event (make it larger or device_id shorter)",
);
/// Construction: `max_event_bytes` is below the first event's size.
pub const BOOT_OVER_MAX_EVENT_BYTES: Error =
    Error::invalid("max_event_bytes is too small for the $device_boot event");

pub struct Client {
    config: Config,
    queue: Queue,
    distinct_id: Box<str>,
    session: Option<[u8; 16]>,
    rng: Random,
    stream_id: [u8; 8],
    closed: bool,
    /// Last connectivity the application reported (`None` until it reports one).
    connectivity: Option<bool>,
    /// `$sdk_platform`: "micropython" or "cpython".
    platform: &'static str,
    /// Seeds message ids (`message_id(seed, first_sequence)`), from the stream id's bytes.
    stream_seed: u32,
    /// Last monotonic reading, to extend a 32-bit tick counter past its wrap.
    mono_last: u64,
    schedule: Schedule,
    /// The message being uploaded, when it spans frames or failed and will be resent.
    pending: Option<Pending>,
    /// A 401 stopped uploads for the life of this client (product.md §4 decision 4).
    uploads_stopped: bool,
    last_error: LastError,
    log_once: LogOnce,
    /// `last_error` changed in a way that deserves one log line (see `take_log_line`).
    log_pending: bool,
    log_slots: LogSlots,
    crash: CrashLatch,
    /// The context's share of every message, for the deliverability bound (`deliverable`).
    context_base: crate::wire::ContextNeeds,
    /// A batch refused with 413/422 being split down to the events refused alone.
    split: crate::delivery::split::Split,
}

/// The message at the head of the queue that is being uploaded. Its bytes are re-encoded
/// from the queue for every frame; what fixes them is kept here.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pending {
    pub(crate) first_sequence: u64,
    pub(crate) events: u16,
    pub(crate) time: TimeBase,
    pub(crate) next_frame: u16,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes` into `out` (twice as long).
pub fn hex_into(bytes: &[u8], out: &mut [u8]) {
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 15)];
    }
}

impl Client {
    /// Creates the client over `buf` and queues `$device_boot`. `seed` feeds the random ids
    /// (session ids, stream id, crash ids); the bindings take it from the OS.
    pub fn new(
        config: Config,
        buf: &mut [u8],
        seed: [u8; 32],
        clock: &dyn Clock,
        platform: &'static str,
    ) -> Result<Self> {
        delivery::check_request_head(&config.endpoint_url, &config.api_key, platform)?;
        let queue = Queue::new(buf.len(), config.max_queued_events)?;
        let mut rng = Random::from_seed(seed);
        let mut raw = [0u8; 4];
        rng.fill(&mut raw);
        let (stream_id, stream_seed) = crate::wire::stream_identity(raw);
        // The monotonic clock's first reading (see `monotonic`: it only extends later ones).
        let now = clock.uptime_ms() & 0xFFFF_FFFF;
        let schedule = Schedule::new(&config, now);
        let distinct_id = try_box_str(&config.device_id)?;
        let mut client = Self {
            config,
            queue,
            distinct_id,
            session: None,
            rng,
            stream_id,
            closed: false,
            connectivity: None,
            platform,
            stream_seed,
            mono_last: now,
            schedule,
            pending: None,
            uploads_stopped: false,
            last_error: LastError::default(),
            log_once: LogOnce::new(),
            log_pending: false,
            log_slots: LogSlots::new(),
            crash: CrashLatch::new(),
            context_base: crate::wire::ContextNeeds {
                strings: 0,
                string_bytes: 0,
                table_bytes: 0,
                section_bytes: 0,
            },
            split: crate::delivery::split::Split::default(),
        };
        client.context_base = client.base_context_needs().map_err(|e| {
            if deliverable::is_wire_limit(&e) {
                CONTEXT_TOO_LARGE
            } else {
                e
            }
        })?;
        client
            .enqueue(
                buf,
                clock,
                "$device_boot",
                &NoProperties,
                &[Trusted::Str("reset_reason", "unknown")],
            )
            .map_err(|e| match e {
                // The first event cannot be queued: that is the constructor's arguments' fault.
                e if deliverable::is_wire_limit(&e) => CONTEXT_TOO_LARGE,
                crate::queue::EVENT_TOO_LARGE_FOR_BUFFER => BOOT_BUFFER_TOO_SMALL,
                EVENT_TOO_LARGE => BOOT_OVER_MAX_EVENT_BYTES,
                other => other,
            })?;
        Ok(client)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn device_id(&self) -> Option<&str> {
        (!self.closed).then_some(&*self.config.device_id)
    }

    pub fn distinct_id(&self) -> &str {
        &self.distinct_id
    }

    /// The `X-Honch-Stream-Id` value: 8 lowercase hex characters, fixed for this client.
    pub fn stream_id(&self) -> &str {
        core::str::from_utf8(&self.stream_id).unwrap_or("00000000")
    }

    pub fn queue_stats(&self) -> QueueStats {
        self.queue.stats()
    }

    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    fn gate(&self, buf: &[u8]) -> Result<()> {
        if self.closed {
            return Err(SHUT_DOWN);
        }
        self.queue.check(buf)
    }

    /// `track(name, properties)`.
    pub fn track(
        &mut self,
        buf: &mut [u8],
        clock: &dyn Clock,
        name: &str,
        props: &dyn Properties,
    ) -> Result<()> {
        self.gate(buf)?;
        check_event_name(name)?;
        self.enqueue(buf, clock, name, props, &[])
    }

    /// Stamps and stores one event: validate fully, then make room, then commit, so a
    /// refused event never costs a queued one.
    fn enqueue(
        &mut self,
        buf: &mut [u8],
        clock: &dyn Clock,
        name: &str,
        props: &dyn Properties,
        trusted: &[Trusted<'_>],
    ) -> Result<()> {
        self.queue.check(buf)?;
        let (timestamp_ms, mut flags) = self.stamp(clock);
        if self.session.is_some() {
            flags |= FLAG_SESSION;
        }
        let head = RecordHead {
            flags,
            timestamp_ms,
            session_id: self.session.as_ref(),
            distinct_id: &self.distinct_id,
            name,
        };
        let max = self.config.max_event_bytes as usize;

        // First try: straight into the free region, no eviction needed.
        let slot = self.queue.free_slot();
        let start = slot.offset as usize;
        let region = buf
            .get_mut(start + RECORD_HEADER.min(slot.len as usize)..start + slot.len as usize)
            .unwrap_or(&mut []);
        let written = write_record(PackedWriter::new(region), &head, props, trusted);
        let (offset, len) = match written {
            Ok(size) if slot.len as usize >= RECORD_HEADER => {
                let len = RECORD_HEADER + size.len;
                if len > max {
                    return Err(EVENT_TOO_LARGE);
                }
                match self.bound_alone(&head, &size) {
                    Bound::Fits => {}
                    Bound::Refused(e) => return Err(e),
                    Bound::Measure => {
                        let payload = buf.get(start + RECORD_HEADER..start + len).unwrap_or(&[]);
                        self.measure_alone(payload)?;
                    }
                }
                self.queue.make_room_for_one_more(buf)?;
                (slot.offset, len)
            }
            Err(PropsError::Invalid(e)) => return Err(e),
            _ => {
                // Measure, check, make room (dropping the oldest), then write for real.
                let size =
                    write_record(PackedWriter::counting(), &head, props, trusted).map_err(|e| match e {
                        PropsError::Invalid(e) => e,
                        PropsError::Full => Error::status(Status::Internal),
                    })?;
                let len = RECORD_HEADER + size.len;
                if len > max {
                    return Err(EVENT_TOO_LARGE);
                }
                // An event near a wire limit is measured from its record before anything is
                // evicted for it, so it is written to a temporary copy first (only then).
                let mut copy = Vec::new();
                match self.bound_alone(&head, &size) {
                    Bound::Fits => {}
                    Bound::Refused(e) => return Err(e),
                    Bound::Measure => {
                        copy.try_reserve_exact(size.len).map_err(|_| OUT_OF_MEMORY)?;
                        copy.resize(size.len, 0);
                        write_record(PackedWriter::new(&mut copy), &head, props, trusted)
                            .map_err(|_| Error::status(Status::Internal))?;
                        self.measure_alone(&copy)?;
                    }
                }
                let len32 = u32::try_from(len).map_err(|_| EVENT_TOO_LARGE)?;
                let offset = self.queue.reserve(buf, len32)?;
                let at = offset as usize;
                let region = buf
                    .get_mut(at + RECORD_HEADER..at + len)
                    .ok_or(Error::status(Status::Internal))?;
                if copy.len() == region.len() {
                    region.copy_from_slice(&copy);
                } else {
                    write_record(PackedWriter::new(region), &head, props, trusted)
                        .map_err(|_| Error::status(Status::Internal))?;
                }
                (offset, len)
            }
        };
        self.queue.commit(buf, offset, len as u32)?;
        self.schedule.note_depth(self.queue.len());
        Ok(())
    }

    /// The timestamp for an event now, and whether it is boot-relative (core.md §7).
    /// Refuses `name` as `enqueue` would (its rules, `max_event_bytes`, the buffer, the wire
    /// limits), without queueing anything: for a call that queues two events and must queue
    /// both or neither. `in_session`: the event is stamped with a session id.
    fn check_accepts(
        &mut self,
        clock: &dyn Clock,
        name: &str,
        trusted: &[Trusted<'_>],
        in_session: bool,
    ) -> Result<()> {
        let (timestamp_ms, mut flags) = self.stamp(clock);
        // The id's value does not change the record's size or validity, only its presence.
        let placeholder = [0u8; 16];
        if in_session {
            flags |= FLAG_SESSION;
        }
        let head = RecordHead {
            flags,
            timestamp_ms,
            session_id: in_session.then_some(&placeholder),
            distinct_id: &self.distinct_id,
            name,
        };
        let size =
            write_record(PackedWriter::counting(), &head, &NoProperties, trusted).map_err(|e| match e {
                PropsError::Invalid(e) => e,
                PropsError::Full => Error::status(Status::Internal),
            })?;
        let len = RECORD_HEADER + size.len;
        if len > self.config.max_event_bytes as usize {
            return Err(EVENT_TOO_LARGE);
        }
        if len > self.queue.stats().bytes_capacity as usize {
            return Err(crate::queue::EVENT_TOO_LARGE_FOR_BUFFER);
        }
        match self.bound_alone(&head, &size) {
            Bound::Fits => Ok(()),
            Bound::Refused(e) => Err(e),
            Bound::Measure => {
                let mut copy = Vec::new();
                copy.try_reserve_exact(size.len).map_err(|_| OUT_OF_MEMORY)?;
                copy.resize(size.len, 0);
                write_record(PackedWriter::new(&mut copy), &head, &NoProperties, trusted)
                    .map_err(|_| Error::status(Status::Internal))?;
                self.measure_alone(&copy)
            }
        }
    }

    fn stamp(&mut self, clock: &dyn Clock) -> (u64, u8) {
        let now = clock.now_ms();
        if now >= RELEASE_DATE_UNIX_MS {
            return (now, 0);
        }
        match self.monotonic(clock) {
            0 => (now.max(1), FLAG_BOOT_RELATIVE),
            up => (up, FLAG_BOOT_RELATIVE),
        }
    }

    /// A fresh `sess_` id body (16 random bytes).
    fn new_session_id(&mut self) -> [u8; 16] {
        let mut id = [0u8; 16];
        self.rng.fill(&mut id);
        id
    }

    /// The current session id as `sess_<32 hex>`, if a session is active.
    pub fn session_id(&self) -> Option<[u8; 37]> {
        self.session.map(|raw| session_text(&raw))
    }

    /// `identify(distinct_id, traits)`: queues `$identify` (stamped with the new id) with
    /// `$anon_distinct_id` = the previous id. The id changes only if the event was queued.
    pub fn identify(
        &mut self,
        buf: &mut [u8],
        clock: &dyn Clock,
        distinct_id: &str,
        traits: &dyn Properties,
    ) -> Result<()> {
        self.gate(buf)?;
        check_distinct_id(distinct_id)?;
        let previous = core::mem::replace(&mut self.distinct_id, try_box_str(distinct_id)?);
        let result = self.enqueue(
            buf,
            clock,
            "$identify",
            traits,
            &[Trusted::Str("$anon_distinct_id", &previous)],
        );
        if result.is_err() {
            self.distinct_id = previous;
        }
        result
    }

    /// `set_property(key, value)`: queues `$set_property` with `{key: value}`; `props`
    /// writes that single pair.
    pub fn set_property(&mut self, buf: &mut [u8], clock: &dyn Clock, props: &dyn Properties) -> Result<()> {
        self.gate(buf)?;
        self.enqueue(buf, clock, "$set_property", props, &[])
    }

    /// `session_start(name)`: ends an active session first (`$session_end` with its id),
    /// then queues `$session_start` (with `session_name` when a name is given).
    pub fn session_start(&mut self, buf: &mut [u8], clock: &dyn Clock, name: Option<&str>) -> Result<()> {
        self.gate(buf)?;
        let name = name.filter(|n| !n.trim().is_empty());
        if let Some(n) = name {
            if n.len() > crate::record::MAX_STRING_BYTES {
                return Err(crate::record::STRING_TOO_LONG);
            }
        }
        let old = self.session;
        let trusted_name = [Trusted::Str("session_name", name.unwrap_or(""))];
        let trusted: &[Trusted<'_>] = if name.is_some() { &trusted_name } else { &[] };
        if old.is_some() {
            // All or nothing: the new $session_start must be acceptable before the active
            // session is ended.
            self.check_accepts(clock, "$session_start", trusted, true)?;
            self.enqueue(buf, clock, "$session_end", &NoProperties, &[])?;
        }
        self.session = Some(self.new_session_id());
        let result = self.enqueue(buf, clock, "$session_start", &NoProperties, trusted);
        if result.is_err() {
            self.session = old;
        }
        result
    }

    /// `session_end()`: queues `$session_end` when a session is active; otherwise nothing.
    pub fn session_end(&mut self, buf: &mut [u8], clock: &dyn Clock) -> Result<()> {
        self.gate(buf)?;
        if self.session.is_none() {
            return Ok(());
        }
        self.enqueue(buf, clock, "$session_end", &NoProperties, &[])?;
        self.session = None;
        Ok(())
    }

    /// `connectivity_changed(connected)`: queues `$connectivity_change` when the state really
    /// changes (the first report always counts). Returns whether it queued the event.
    pub fn connectivity_changed(
        &mut self,
        buf: &mut [u8],
        clock: &dyn Clock,
        connected: bool,
    ) -> Result<bool> {
        self.gate(buf)?;
        if self.connectivity == Some(connected) {
            return Ok(false);
        }
        let state = if connected { "connected" } else { "disconnected" };
        self.enqueue(
            buf,
            clock,
            "$connectivity_change",
            &NoProperties,
            &[Trusted::Str("state", state)],
        )?;
        self.connectivity = Some(connected);
        Ok(true)
    }

    /// `reset()`: back to the device id, no session, empty queue (no event is queued).
    pub fn reset(&mut self, buf: &mut [u8]) -> Result<()> {
        self.gate(buf)?;
        self.distinct_id = try_box_str(&self.config.device_id)?;
        self.session = None;
        self.connectivity = None;
        self.pending = None;
        self.split.clear();
        self.queue.clear();
        Ok(())
    }
}

impl Client {
    /// `report_log_error(message, component=None)`: coalesces into the 4 log slots; they
    /// become `$error` events at the next `tick()`, `flush()` or `shutdown()`.
    pub fn report_log_error(&mut self, buf: &[u8], component: Option<&str>, message: &str) -> Result<()> {
        self.gate(buf)?;
        self.log_slots.report(component, message)
    }

    /// Queues one `$error` per coalesced log slot (enqueue failures free the slot anyway).
    pub(crate) fn drain_log_errors(&mut self, buf: &mut [u8], clock: &dyn Clock) {
        while let Some(entry) = self.log_slots.pop() {
            let _ = self.enqueue(buf, clock, "$error", &entry, &[]);
        }
    }

    /// Queues the client's one `$crash` for an uncaught exception (later calls do nothing).
    /// Returns whether it queued one.
    pub fn report_crash(
        &mut self,
        buf: &mut [u8],
        clock: &dyn Clock,
        type_name: Option<&str>,
        message: Option<&str>,
        backtrace: Option<&str>,
    ) -> Result<bool> {
        self.gate(buf)?;
        if self.crash.is_reported() {
            return Ok(false);
        }
        let mut id = [0u8; 16];
        self.rng.fill(&mut id);
        let report = CrashReport::exception()
            .with_exception_cause(type_name)
            .with_message(message)
            .with_backtrace(backtrace)
            .with_crash_id(Some(id));
        self.enqueue(buf, clock, "$crash", &report, &[])?;
        self.crash.mark_reported();
        Ok(true)
    }

    /// `last_error()`: the most recent captured failure (`status` "ok" before any).
    pub fn last_error(&self) -> LastError {
        self.last_error
    }

    /// The log line for the latest failure, once per distinct failure (core.md §11), or
    /// `None`. The bindings print it through the runtime after each call.
    pub fn take_log_line<'b>(
        &mut self,
        out: &'b mut [u8; LAST_ERROR_LINE_BUF],
    ) -> Option<(crate::diagnostics::LogLevel, &'b str)> {
        if !core::mem::take(&mut self.log_pending) {
            return None;
        }
        let level = self.last_error.level();
        Some((level, self.last_error.format(out)))
    }
}

/// `sess_` + 32 lowercase hex characters.
pub fn session_text(raw: &[u8; 16]) -> [u8; 37] {
    let mut out = [0u8; 37];
    out[..5].copy_from_slice(b"sess_");
    hex_into(raw, &mut out[5..]);
    out
}

fn write_record(
    mut out: PackedWriter<'_>,
    head: &RecordHead<'_>,
    props: &dyn Properties,
    trusted: &[Trusted<'_>],
) -> core::result::Result<RecordSize, PropsError> {
    head.write(&mut out).map_err(|Full| PropsError::Full)?;
    let head_len = out.len();
    let mut w = PropsWriter::new(out, trusted.len());
    w.begin_properties(props.count())?;
    props.write(&mut w)?;
    for t in trusted {
        match *t {
            Trusted::Str(k, v) => {
                w.trusted_key(k)?;
                w.str(v)?;
            }
        }
    }
    let (out, strings) = w.into_inner();
    Ok(RecordSize {
        len: out.len(),
        props_len: out.len().saturating_sub(head_len),
        strings,
    })
}

mod deliverable;
mod delivery;

pub use deliverable::{
    DUPLICATE_KEY, MESSAGE_TOO_LARGE, STRING_TOO_LONG_FOR_WIRE, TOO_MANY_STRINGS, TOO_MANY_STRING_BYTES,
};

#[cfg(test)]
mod tests;
