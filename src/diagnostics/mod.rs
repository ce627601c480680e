//! Diagnostics: log-error coalescing, crash reports, last_error and its log-once rule, backtraces.
//!
//! Pure logic, no I/O and no Python: the client owns one [`LogSlots`], one [`CrashLatch`], one
//! [`LastError`] and one [`LogOnce`], and the bindings call the backtrace helpers.
//!
//! | piece | spec | state per client |
//! |---|---|---|
//! | [`LogSlots`] | core.md §6 `report_log_error` | 16 bytes (32-bit; 32 on 64-bit): a `Vec` header + a counter; the 4 slots (672 bytes) are allocated on first use |
//! | [`CrashReport`], [`CrashLatch`] | core.md §6 `$crash`, micropython.md §1.4 | 1 byte (the latch); the report is built on the stack |
//! | [`format_backtrace`], [`printed_frames`] | micropython.md §2.6 | none |
//! | [`LastError`], [`LogOnce`] | core.md §11 | 16 bytes (32-bit; 24 on 64-bit) + 20 bytes |

mod backtrace;
mod crash;
mod last_error;
mod log_slots;

pub use backtrace::{
    format_backtrace, format_printed_exception, printed_frames, Frame, PrintedFrames, BACKTRACE_MAX_BYTES,
    BACKTRACE_MAX_FRAMES,
};
pub use crash::{
    CrashLatch, CrashPairs, CrashReport, CRASH_BACKTRACE_MAX, CRASH_EXCEPTION_CAUSE_MAX, CRASH_MESSAGE_MAX,
    CRASH_RESET_REASON_MAX,
};
pub use last_error::{LastError, LogLevel, LogOnce, Reason, LAST_ERROR_LINE_BUF, LAST_ERROR_LINE_MAX};
pub use log_slots::{
    LogEntry, LogSlots, BLANK_LOG_MESSAGE, LOG_COMPONENT_MAX, LOG_MESSAGE_MAX, LOG_SLOTS, SELF_COMPONENT,
};

/// Blank as the rest of the SDK counts it (`record.rs`): empty or only ASCII space, tab, CR, LF.
/// Kept identical so that a value this module accepts is never one the event writer would
/// have called blank, and vice versa.
pub(crate) fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a character boundary.
/// The reference cut byte-wise and so could split a character, which made the record invalid
/// and silently lost the event; cutting on a boundary keeps every record valid.
pub(crate) fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    // A UTF-8 character is at most 4 bytes, so a boundary is found within 3 steps back.
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests;
