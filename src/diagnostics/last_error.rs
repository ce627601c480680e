//! `last_error` (core.md §11): the most recent captured failure, its one-line text, its log
//! level, and the memory that logs each distinct failure only once.

use crate::status::Status;

/// Why the last failure happened; the numbers are the reference's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Reason {
    #[default]
    None = 0,
    Unknown = 1,
    DnsFailed = 2,
    ConnectRefused = 3,
    ConnectTimeout = 4,
    TlsHandshake = 5,
    TlsCert = 6,
    WriteFailed = 7,
    ReadFailed = 8,
    HttpStatus = 9,
    AuthInvalidKey = 10,
    Offline = 11,
    QueueFull = 12,
    EncodeFailed = 13,
    OutOfMemory = 14,
    InvalidConfig = 15,
    NotInitialized = 16,
    /// The firmware has no network stack (no `socket` module): not one of the reference's
    /// reasons, which had no such case.
    NoNetwork = 17,
}

impl Reason {
    /// Every reason, in numeric order.
    pub const ALL: [Reason; 18] = [
        Reason::None,
        Reason::Unknown,
        Reason::DnsFailed,
        Reason::ConnectRefused,
        Reason::ConnectTimeout,
        Reason::TlsHandshake,
        Reason::TlsCert,
        Reason::WriteFailed,
        Reason::ReadFailed,
        Reason::HttpStatus,
        Reason::AuthInvalidKey,
        Reason::Offline,
        Reason::QueueFull,
        Reason::EncodeFailed,
        Reason::OutOfMemory,
        Reason::InvalidConfig,
        Reason::NotInitialized,
        Reason::NoNetwork,
    ];

    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The reason for a reference number; unknown numbers are [`Reason::Unknown`].
    pub fn from_code(code: u32) -> Reason {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
            .unwrap_or(Reason::Unknown)
    }

    /// The `reason` string of `last_error()`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::None => "none",
            Reason::Unknown => "unknown",
            Reason::DnsFailed => "dns_failed",
            Reason::ConnectRefused => "connect_refused",
            Reason::ConnectTimeout => "connect_timeout",
            Reason::TlsHandshake => "tls_handshake",
            Reason::TlsCert => "tls_cert",
            Reason::WriteFailed => "write_failed",
            Reason::ReadFailed => "read_failed",
            Reason::HttpStatus => "http_status",
            Reason::AuthInvalidKey => "auth_invalid_key",
            Reason::Offline => "offline",
            Reason::QueueFull => "queue_full",
            Reason::EncodeFailed => "encode_failed",
            Reason::OutOfMemory => "out_of_memory",
            Reason::InvalidConfig => "invalid_config",
            Reason::NotInitialized => "not_initialized",
            Reason::NoNetwork => "no_network",
        }
    }

    /// The fixed human message (`None` for `none` and `unknown`, which say nothing useful).
    pub const fn message(self) -> Option<&'static str> {
        Some(match self {
            Reason::None | Reason::Unknown => return None,
            Reason::DnsFailed => "DNS resolution failed - check the configured endpoint",
            Reason::ConnectRefused => "connection refused by the server",
            Reason::ConnectTimeout => "connection timed out",
            Reason::TlsHandshake => "TLS handshake failed",
            Reason::TlsCert => "TLS certificate validation failed (check device clock / CA bundle)",
            Reason::WriteFailed => "network write failed",
            Reason::ReadFailed => "network read failed",
            Reason::HttpStatus => "server returned an error status",
            Reason::AuthInvalidKey => "API key invalid or revoked",
            Reason::Offline => "device is offline",
            Reason::QueueFull => "event queue full, dropping oldest events",
            Reason::EncodeFailed => "event encoding failed",
            Reason::OutOfMemory => "out of memory",
            Reason::InvalidConfig => "invalid endpoint or configuration",
            Reason::NotInitialized => "client not initialized",
            Reason::NoNetwork => "this firmware has no network stack (no socket module)",
        })
    }
}

/// Level of the line logged for a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Warn,
    Error,
}

/// Longest formatted line: the reference formats into a 192-byte C buffer, NUL included.
pub const LAST_ERROR_LINE_MAX: usize = 191;
/// Size of the buffer [`LastError::format`] writes into.
pub const LAST_ERROR_LINE_BUF: usize = 192;

/// The most recent captured failure. `Default` is "ok / none", the state before any failure;
/// it is only ever overwritten by the next failure, never reset by a success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastError {
    pub status: Status,
    pub reason: Reason,
    /// HTTP status of the failed response, 0 when there was none.
    pub http: u16,
    /// The OS error number behind a network failure, 0 when none.
    pub os_error: i32,
    /// Where it was captured (`"http"`, `"queue"`, `"encode"`, ...).
    pub component: Option<&'static str>,
}

impl Default for LastError {
    fn default() -> Self {
        Self {
            status: Status::Ok,
            reason: Reason::None,
            http: 0,
            os_error: 0,
            component: None,
        }
    }
}

impl LastError {
    /// The `message` of `last_error()`: the reason's fixed text.
    pub const fn message(&self) -> Option<&'static str> {
        self.reason.message()
    }

    /// ERROR for failures a retry will not cure (the server refused the data or the key, or
    /// the device's setup is wrong), WARN for the rest. The reference also keyed on the
    /// transport result AUTH_ERROR; that always comes with `auth_invalid_key`, covered here.
    pub const fn level(&self) -> LogLevel {
        match (self.status, self.reason) {
            (Status::Rejected, _)
            | (
                _,
                Reason::AuthInvalidKey
                | Reason::TlsCert
                | Reason::EncodeFailed
                | Reason::OutOfMemory
                | Reason::InvalidConfig
                | Reason::NoNetwork,
            ) => LogLevel::Error,
            _ => LogLevel::Warn,
        }
    }

    /// The log line, at most [`LAST_ERROR_LINE_MAX`] bytes:
    /// `<status>: HTTP <code> - <message> (reason=<r>)`, `<status>: HTTP <code> (reason=<r>)`,
    /// `<status>: <message> (reason=<r>)` or `<status> (reason=<r>)`, then ` os_error=<n>`
    /// when non-zero and it fits.
    pub fn format<'b>(&self, out: &'b mut [u8; LAST_ERROR_LINE_BUF]) -> &'b str {
        let (line, _) = out.split_at_mut(LAST_ERROR_LINE_MAX);
        self.format_into(line)
    }

    /// [`Self::format`] into any buffer, its whole length being the limit. The base line is
    /// cut (it is ASCII, so any cut is valid) if the buffer is too small; the os_error suffix
    /// is all or nothing, as in the reference.
    pub fn format_into<'b>(&self, out: &'b mut [u8]) -> &'b str {
        let mut w = LineWriter { out, len: 0 };
        w.put(self.status.text());
        let mut number = [0u8; 11];
        match (self.http, self.message()) {
            (0, Some(m)) => {
                w.put(": ");
                w.put(m);
            }
            (0, None) => {}
            (code, m) => {
                w.put(": HTTP ");
                w.put(signed_decimal(i64::from(code), &mut number));
                if let Some(m) = m {
                    w.put(" - ");
                    w.put(m);
                }
            }
        }
        w.put(" (reason=");
        w.put(self.reason.as_str());
        w.put(")");
        if self.os_error != 0 {
            let n = signed_decimal(i64::from(self.os_error), &mut number);
            if w.fits(" os_error=".len() + n.len()) {
                w.put(" os_error=");
                w.put(n);
            }
        }
        w.finish()
    }
}

/// Decimal text of `n` (an i32 or u16 widened), right-aligned in `buf`.
fn signed_decimal(n: i64, buf: &mut [u8; 11]) -> &str {
    let mut magnitude = n.unsigned_abs();
    let mut start = buf.len();
    loop {
        start -= 1;
        if let Some(d) = buf.get_mut(start) {
            *d = b'0' + (magnitude % 10) as u8;
        }
        magnitude /= 10;
        if magnitude == 0 || start == 0 {
            break;
        }
    }
    if n < 0 && start > 0 {
        start -= 1;
        if let Some(d) = buf.get_mut(start) {
            *d = b'-';
        }
    }
    buf.get(start..)
        .and_then(|d| core::str::from_utf8(d).ok())
        .unwrap_or("0")
}

/// Appends ASCII text, cutting at the buffer's end.
struct LineWriter<'b> {
    out: &'b mut [u8],
    len: usize,
}

impl<'b> LineWriter<'b> {
    fn fits(&self, n: usize) -> bool {
        self.len + n <= self.out.len()
    }

    fn put(&mut self, s: &str) {
        for &b in s.as_bytes() {
            let Some(d) = self.out.get_mut(self.len) else {
                return;
            };
            *d = b;
            self.len += 1;
        }
    }

    fn finish(self) -> &'b str {
        let out: &'b [u8] = self.out;
        // Only ASCII went in, so any prefix is valid.
        out.get(..self.len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

/// Remembers the last few distinct failures so that each is logged once, not on every retry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogOnce {
    /// Keys of recently logged failures; 0 marks an empty slot (a key is never 0).
    keys: [u32; LogOnce::SLOTS],
    /// Slot the next new key goes to: the oldest one once all are full.
    next: u8,
}

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

impl LogOnce {
    pub const SLOTS: usize = 4;

    pub const fn new() -> Self {
        Self {
            keys: [0; Self::SLOTS],
            next: 0,
        }
    }

    /// FNV-1a-32 over the reason and the HTTP status, each folded in as one 32-bit word (as the
    /// reference does, not byte by byte); 0 is reserved for "empty" and becomes 1.
    pub fn key(error: &LastError) -> u32 {
        let mut h = FNV_OFFSET;
        for word in [u32::from(error.reason.code()), u32::from(error.http)] {
            h ^= word;
            h = h.wrapping_mul(FNV_PRIME);
        }
        if h == 0 {
            1
        } else {
            h
        }
    }

    /// Whether `error` should be logged now: true the first time a (reason, HTTP status) is
    /// seen since the last [`Self::clear`], and it is then remembered (evicting the oldest).
    pub fn should_log(&mut self, error: &LastError) -> bool {
        let key = Self::key(error);
        if self.keys.contains(&key) {
            return false;
        }
        let next = usize::from(self.next) % Self::SLOTS;
        if let Some(slot) = self.keys.get_mut(next) {
            *slot = key;
        }
        self.next = ((next + 1) % Self::SLOTS) as u8;
        true
    }

    /// Forgets everything; called on every successful flush, so a failure that comes back
    /// after a success is logged again.
    pub fn clear(&mut self) {
        *self = Self::new();
    }
}
