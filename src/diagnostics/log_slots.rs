//! `report_log_error` coalescing (core.md §6): up to four distinct (component, message) pairs
//! are remembered with a repeat count between drains; the client turns each into one `$error`.
//!
//! Storage: the four slots take 672 bytes, more than the rest of a client's state, and
//! most applications never call `report_log_error`. So they live in a `Vec` whose capacity is
//! reserved (fallibly) on the first report and then kept for the life of the client: a client
//! that never logs pays only the `Vec` header and a counter.
//!
//! Slots are only ever added between drains and a drain frees all of them, so "slot order" is
//! the order in which distinct messages first arrived.

use alloc::vec::Vec;

use super::{is_blank, truncate_utf8};
use crate::client::Properties;
use crate::record::{PropsError, PropsWriter};
use crate::status::{Error, Status};

/// Number of distinct (component, message) pairs held between drains.
pub const LOG_SLOTS: usize = 4;
/// Component bytes kept (longer ones are cut at a character boundary).
pub const LOG_COMPONENT_MAX: usize = 32;
/// Message bytes kept (longer ones are cut at a character boundary).
pub const LOG_MESSAGE_MAX: usize = 128;
/// The SDK's own component: reports from it are ignored so that the SDK logging its own
/// failures can never feed back into more `$error` events.
pub const SELF_COMPONENT: &str = "honch";

pub const BLANK_LOG_MESSAGE: Error = Error::invalid("report_log_error: message must not be blank");
const NO_MEMORY: Error = Error::new(Status::OutOfMemory, "report_log_error: out of memory");

/// One remembered (component, message) pair and how often it was reported.
#[derive(Clone, Copy)]
struct Slot {
    component: [u8; LOG_COMPONENT_MAX],
    message: [u8; LOG_MESSAGE_MAX],
    component_len: u8,
    message_len: u8,
    count: u32,
}

impl Slot {
    fn new(component: &str, message: &str) -> Self {
        let mut slot = Slot {
            component: [0; LOG_COMPONENT_MAX],
            message: [0; LOG_MESSAGE_MAX],
            component_len: 0,
            message_len: 0,
            count: 1,
        };
        // Both inputs are already cut to their bounds, so these copies never come up short;
        // `zip` keeps that from ever being a panic.
        for (d, s) in slot.component.iter_mut().zip(component.bytes()) {
            *d = s;
        }
        for (d, s) in slot.message.iter_mut().zip(message.bytes()) {
            *d = s;
        }
        slot.component_len = component.len().min(LOG_COMPONENT_MAX) as u8;
        slot.message_len = message.len().min(LOG_MESSAGE_MAX) as u8;
        slot
    }

    fn component(&self) -> &str {
        text(&self.component, self.component_len)
    }

    fn message(&self) -> &str {
        text(&self.message, self.message_len)
    }

    fn matches(&self, component: &str, message: &str) -> bool {
        self.component() == component && self.message() == message
    }
}

/// The stored bytes were copied from a `&str` cut on a boundary, so they are always valid.
fn text(bytes: &[u8], len: u8) -> &str {
    bytes
        .get(..usize::from(len))
        .and_then(|b| core::str::from_utf8(b).ok())
        .unwrap_or("")
}

/// The coalescing state a client holds.
#[derive(Default)]
pub struct LogSlots {
    /// Empty with no capacity until the first report; at most [`LOG_SLOTS`] long.
    slots: Vec<Slot>,
    /// Reports refused because every slot was busy, since the last drained entry.
    dropped: u32,
}

impl LogSlots {
    pub const fn new() -> Self {
        Self {
            slots: Vec::new(),
            dropped: 0,
        }
    }

    /// `report_log_error(component, message)`: counts a repeat, fills a free slot, or, when
    /// all are busy with other pairs, counts a drop.
    ///
    /// Errors: a blank message (invalid argument); no memory for the slots on first use.
    pub fn report(&mut self, component: Option<&str>, message: &str) -> Result<(), Error> {
        if is_blank(message) {
            return Err(BLANK_LOG_MESSAGE);
        }
        let component = component.unwrap_or("");
        if component == SELF_COMPONENT {
            return Ok(());
        }
        let component = truncate_utf8(component, LOG_COMPONENT_MAX);
        let message = truncate_utf8(message, LOG_MESSAGE_MAX);
        if let Some(slot) = self.slots.iter_mut().find(|s| s.matches(component, message)) {
            slot.count = slot.count.saturating_add(1);
            return Ok(());
        }
        if self.slots.len() >= LOG_SLOTS {
            self.dropped = self.dropped.saturating_add(1);
            return Ok(());
        }
        if self.slots.capacity() == 0 {
            self.slots.try_reserve_exact(LOG_SLOTS).map_err(|_| NO_MEMORY)?;
        }
        // Within the reserved capacity, so this push never reallocates.
        self.slots.push(Slot::new(component, message));
        Ok(())
    }

    /// Whether there is anything to drain.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Busy slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Reports dropped since the last drain (they ride on the next drained entry).
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Frees the first busy slot and returns it (by value, so that the client can enqueue it
    /// while holding `&mut self`). The first entry of a drain carries the dropped count, which
    /// is then reset. Call until `None`, whether or not each enqueue succeeds: a failed
    /// `$error` is lost, never retried (core.md §6).
    pub fn pop(&mut self) -> Option<LogEntry> {
        if self.slots.is_empty() {
            return None;
        }
        let slot = self.slots.remove(0);
        let dropped = core::mem::take(&mut self.dropped);
        Some(LogEntry { slot, dropped })
    }
}

/// One drained slot: the payload of one `$error` event.
#[derive(Clone, Copy)]
pub struct LogEntry {
    slot: Slot,
    dropped: u32,
}

impl LogEntry {
    /// The component, `None` when it was absent or empty.
    pub fn component(&self) -> Option<&str> {
        Some(self.slot.component()).filter(|c| !c.is_empty())
    }

    pub fn message(&self) -> &str {
        self.slot.message()
    }

    /// Reports of this pair since the last drain (at least 1): the `count` property. Not named
    /// `count` so that it cannot be confused with [`Properties::count`].
    pub fn report_count(&self) -> u32 {
        self.slot.count
    }

    /// Reports dropped for lack of a slot, `Some` only on the first entry of a drain and
    /// only when non-zero.
    pub fn dropped(&self) -> Option<u32> {
        Some(self.dropped).filter(|&d| d > 0)
    }
}

impl core::fmt::Debug for LogEntry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LogEntry")
            .field("component", &self.component())
            .field("message", &self.message())
            .field("count", &self.report_count())
            .field("dropped", &self.dropped())
            .finish()
    }
}

/// The `$error` properties in the reference's order: `level`, `component` (if non-empty),
/// `message`, `count`, `dropped` (if any). None of these keys is reserved, so the ordinary
/// property writer accepts them: `client.enqueue(buf, clock, "$error", &entry, &[])`.
impl Properties for LogEntry {
    fn count(&self) -> usize {
        3 + usize::from(self.component().is_some()) + usize::from(self.dropped().is_some())
    }

    fn write(&self, w: &mut PropsWriter<'_>) -> Result<(), PropsError> {
        w.key("level")?;
        w.str("error")?;
        if let Some(c) = self.component() {
            w.key("component")?;
            w.str(c)?;
        }
        w.key("message")?;
        w.str(self.message())?;
        w.key("count")?;
        w.uint(u64::from(self.report_count()))?;
        if let Some(d) = self.dropped() {
            w.key("dropped")?;
            w.uint(u64::from(d))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_is_allocated_on_first_report_only() {
        let mut slots = LogSlots::new();
        assert_eq!(slots.slots.capacity(), 0);
        let _ = slots.report(Some("honch"), "ignored");
        let _ = slots.report(None, " ");
        assert_eq!(slots.slots.capacity(), 0);
        slots.report(None, "first").unwrap();
        assert_eq!(slots.slots.capacity(), LOG_SLOTS);
        while slots.pop().is_some() {}
        // Kept for the next drain cycle: no allocation churn on every tick.
        assert_eq!(slots.slots.capacity(), LOG_SLOTS);
    }

    #[test]
    fn count_and_dropped_saturate() {
        let mut slots = LogSlots::new();
        for m in ["a", "b", "c", "d"] {
            slots.report(None, m).unwrap();
        }
        if let Some(s) = slots.slots.first_mut() {
            s.count = u32::MAX - 1;
        }
        slots.dropped = u32::MAX - 1;
        for _ in 0..3 {
            slots.report(None, "a").unwrap();
            slots.report(None, "z").unwrap();
        }
        let e = slots.pop().unwrap();
        assert_eq!((e.report_count(), e.dropped()), (u32::MAX, Some(u32::MAX)));
    }
}
