//! The `$crash` event for an uncaught Python exception (core.md §6, micropython.md §1.4).
//!
//! Only the `exception` kind exists in this SDK (the bindings report Python exceptions; there
//! is no panic/watchdog/coredump source on these boards), so the fields the reference fills
//! for other kinds (`summary_version`, `fault_pc`, `task_name`, ...) are never present.

use super::is_blank;
use crate::client::Properties;
use crate::record::{PropsError, PropsWriter};

pub const CRASH_RESET_REASON_MAX: usize = 64;
pub const CRASH_EXCEPTION_CAUSE_MAX: usize = 64;
pub const CRASH_MESSAGE_MAX: usize = 160;
/// Equal to the wrapper's `_CRASH_BACKTRACE_MAX_BYTES` and [`super::BACKTRACE_MAX_BYTES`].
pub const CRASH_BACKTRACE_MAX: usize = 192;

/// Number of properties a `$crash` of this SDK can carry.
const MAX_PAIRS: usize = 7;

/// An optional string: kept only when non-blank and within `max` bytes. Over-long values are
/// dropped whole, never cut, because a cut message or backtrace would read as a different,
/// misleading one (core.md §6).
fn bounded(value: Option<&str>, max: usize) -> Option<&str> {
    value.filter(|v| !is_blank(v) && v.len() <= max)
}

/// The validated fields of one `$crash`, built on the stack when the crash is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashReport<'a> {
    reset_reason: &'a str,
    message: Option<&'a str>,
    exception_cause: Option<&'a str>,
    backtrace: Option<&'a str>,
    /// 32 lowercase hex digits, absent when the caller had no random bytes.
    crash_id: Option<[u8; 32]>,
}

impl Default for CrashReport<'_> {
    fn default() -> Self {
        Self::exception()
    }
}

impl<'a> CrashReport<'a> {
    /// A report for an uncaught exception with every optional field absent.
    pub const fn exception() -> Self {
        Self {
            reset_reason: "unknown",
            message: None,
            exception_cause: None,
            backtrace: None,
            crash_id: None,
        }
    }

    /// `reset_reason`, as for `$device_boot`: `"unknown"` unless non-blank and ≤ 64 bytes.
    pub fn with_reset_reason(mut self, reason: Option<&'a str>) -> Self {
        self.reset_reason = bounded(reason, CRASH_RESET_REASON_MAX).unwrap_or("unknown");
        self
    }

    /// `message` (`str(exc)`, or `repr(exc)` when that is empty): dropped if blank or > 160 bytes.
    pub fn with_message(mut self, message: Option<&'a str>) -> Self {
        self.message = bounded(message, CRASH_MESSAGE_MAX);
        self
    }

    /// `exception_cause` (the exception type's name): dropped if blank or > 64 bytes.
    pub fn with_exception_cause(mut self, type_name: Option<&'a str>) -> Self {
        self.exception_cause = bounded(type_name, CRASH_EXCEPTION_CAUSE_MAX);
        self
    }

    /// `backtrace` (see [`super::format_backtrace`]): dropped if blank or > 192 bytes.
    pub fn with_backtrace(mut self, backtrace: Option<&'a str>) -> Self {
        self.backtrace = bounded(backtrace, CRASH_BACKTRACE_MAX);
        self
    }

    /// `crash_id` from 16 random bytes the caller draws from its RNG; without it (`None`,
    /// the RNG failed) the property is omitted, as in the reference.
    pub fn with_crash_id(mut self, random: Option<[u8; 16]>) -> Self {
        self.crash_id = random.map(|raw| {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut out = [0u8; 32];
            for (pair, b) in out.chunks_exact_mut(2).zip(raw) {
                for (d, nibble) in pair.iter_mut().zip([b >> 4, b & 15]) {
                    *d = HEX.get(usize::from(nibble)).copied().unwrap_or(b'0');
                }
            }
            out
        });
        self
    }

    /// The `crash_id` text, if any.
    pub fn crash_id(&self) -> Option<&str> {
        self.crash_id
            .as_ref()
            .and_then(|id| core::str::from_utf8(id).ok())
    }

    /// The properties in the reference's order: `source`, `severity`, `reset_reason`,
    /// `message`, `exception_cause`, `backtrace`, `crash_id`, the optional ones only when kept.
    pub fn pairs(&self) -> CrashPairs<'_> {
        let mut pairs = CrashPairs {
            items: [("", ""); MAX_PAIRS],
            len: 0,
        };
        pairs.push("source", "exception");
        pairs.push("severity", "fatal");
        pairs.push("reset_reason", self.reset_reason);
        let optional = [
            ("message", self.message),
            ("exception_cause", self.exception_cause),
            ("backtrace", self.backtrace),
            ("crash_id", self.crash_id()),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                pairs.push(key, v);
            }
        }
        pairs
    }
}

/// The ordered `(key, value)` string properties of a `$crash`, held inline.
#[derive(Clone, Copy, Debug)]
pub struct CrashPairs<'a> {
    items: [(&'static str, &'a str); MAX_PAIRS],
    len: usize,
}

impl<'a> CrashPairs<'a> {
    fn push(&mut self, key: &'static str, value: &'a str) {
        if let Some(item) = self.items.get_mut(self.len) {
            *item = (key, value);
            self.len += 1;
        }
    }

    pub fn as_slice(&self) -> &[(&'static str, &'a str)] {
        self.items.get(..self.len).unwrap_or(&[])
    }
}

/// Every key is a plain (non-reserved) property name, so the ordinary writer takes them:
/// `client.enqueue(buf, clock, "$crash", &report, &[])`.
impl Properties for CrashReport<'_> {
    fn count(&self) -> usize {
        self.pairs().as_slice().len()
    }

    fn write(&self, w: &mut PropsWriter<'_>) -> Result<(), PropsError> {
        for &(key, value) in self.pairs().as_slice() {
            w.key(key)?;
            w.str(value)?;
        }
        Ok(())
    }
}

/// "One `$crash` per client lifetime" (core.md §6): later reports are successful no-ops.
///
/// The client checks [`Self::is_reported`] before building a report and calls
/// [`Self::mark_reported`] only once the event is queued, so a report the queue refused (for
/// example one larger than `max_event_bytes`) does not use up the client's only crash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrashLatch {
    reported: bool,
}

impl CrashLatch {
    pub const fn new() -> Self {
        Self { reported: false }
    }

    pub const fn is_reported(&self) -> bool {
        self.reported
    }

    pub fn mark_reported(&mut self) {
        self.reported = true;
    }
}
