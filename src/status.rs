//! Status codes (core.md §1), the SDK's error value, and which Python class each maps to.

/// The reference status codes; the numbers are part of the public API (`ERROR_*`, `.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    Ok = 0,
    InvalidArgument = 1,
    OutOfMemory = 2,
    Io = 3,
    Transport = 4,
    RateLimited = 5,
    Server = 6,
    Rejected = 7,
    NotInitialized = 8,
    AlreadyInitialized = 9,
    QueueFull = 10,
    Timeout = 11,
    Internal = 12,
    Busy = 13,
    NotSupported = 14,
    Offline = 15,
}

impl Status {
    /// The integer exported as `ERROR_*` and carried in `.status`.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The reference status text (`str(exc)` when nothing more specific is known).
    pub const fn text(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::InvalidArgument => "invalid argument",
            Status::OutOfMemory => "out of memory",
            Status::Io => "io error",
            Status::Transport => "transport error",
            Status::RateLimited => "rate limited",
            Status::Server => "server error",
            Status::Rejected => "rejected",
            Status::NotInitialized => "not initialized",
            Status::AlreadyInitialized => "already initialized",
            Status::QueueFull => "queue full",
            Status::Timeout => "timeout",
            Status::Internal => "internal error",
            Status::Busy => "busy",
            Status::NotSupported => "not supported",
            Status::Offline => "offline",
        }
    }

    /// The Python exception class that carries this status.
    pub const fn error_class(self) -> ErrorClass {
        match self {
            Status::InvalidArgument => ErrorClass::InvalidArgument,
            Status::Io | Status::QueueFull => ErrorClass::Storage,
            Status::Transport | Status::Timeout => ErrorClass::Transport,
            Status::Offline => ErrorClass::Offline,
            Status::RateLimited => ErrorClass::RateLimited,
            Status::Server => ErrorClass::Server,
            Status::Rejected => ErrorClass::Rejected,
            Status::NotInitialized => ErrorClass::NotInitialized,
            _ => ErrorClass::Honch,
        }
    }

    /// Every status with an exported `ERROR_*` constant, with the constant's name.
    pub const EXPORTED: [(&'static str, Status); 12] = [
        ("ERROR_INVALID_ARGUMENT", Status::InvalidArgument),
        ("ERROR_IO", Status::Io),
        ("ERROR_TRANSPORT", Status::Transport),
        ("ERROR_RATE_LIMITED", Status::RateLimited),
        ("ERROR_SERVER", Status::Server),
        ("ERROR_REJECTED", Status::Rejected),
        ("ERROR_NOT_INITIALIZED", Status::NotInitialized),
        ("ERROR_QUEUE_FULL", Status::QueueFull),
        ("ERROR_TIMEOUT", Status::Timeout),
        ("ERROR_BUSY", Status::Busy),
        ("ERROR_NOT_SUPPORTED", Status::NotSupported),
        ("ERROR_OFFLINE", Status::Offline),
    ];
}

/// The `HonchError` hierarchy of product.md §2, as the bindings create it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    Honch,
    InvalidArgument,
    Storage,
    Transport,
    Offline,
    RateLimited,
    Server,
    Rejected,
    CompressionUnavailable,
    NotInitialized,
}

impl ErrorClass {
    /// All classes, parents before children.
    pub const ALL: [ErrorClass; 10] = [
        ErrorClass::Honch,
        ErrorClass::InvalidArgument,
        ErrorClass::Storage,
        ErrorClass::Transport,
        ErrorClass::Offline,
        ErrorClass::RateLimited,
        ErrorClass::Server,
        ErrorClass::Rejected,
        ErrorClass::CompressionUnavailable,
        ErrorClass::NotInitialized,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            ErrorClass::Honch => "HonchError",
            ErrorClass::InvalidArgument => "InvalidArgumentError",
            ErrorClass::Storage => "StorageError",
            ErrorClass::Transport => "TransportError",
            ErrorClass::Offline => "OfflineError",
            ErrorClass::RateLimited => "RateLimitedError",
            ErrorClass::Server => "ServerError",
            ErrorClass::Rejected => "RejectedError",
            ErrorClass::CompressionUnavailable => "CompressionUnavailableError",
            ErrorClass::NotInitialized => "NotInitializedError",
        }
    }

    /// The class this one derives from (`None` for `HonchError`, which derives `Exception`).
    pub const fn parent(self) -> Option<ErrorClass> {
        match self {
            ErrorClass::Honch => None,
            ErrorClass::Offline | ErrorClass::RateLimited | ErrorClass::Server => Some(ErrorClass::Transport),
            _ => Some(ErrorClass::Honch),
        }
    }

    /// The `.status` an instance gets when Python code constructs the class itself.
    pub const fn default_status(self) -> Status {
        match self {
            ErrorClass::Honch => Status::Internal,
            ErrorClass::InvalidArgument => Status::InvalidArgument,
            ErrorClass::Storage => Status::Io,
            ErrorClass::Transport => Status::Transport,
            ErrorClass::Offline => Status::Offline,
            ErrorClass::RateLimited => Status::RateLimited,
            ErrorClass::Server => Status::Server,
            ErrorClass::Rejected => Status::Rejected,
            ErrorClass::CompressionUnavailable => Status::NotSupported,
            ErrorClass::NotInitialized => Status::NotInitialized,
        }
    }
}

/// An SDK failure: a status and the sentence shown to the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    pub message: &'static str,
}

impl Error {
    pub const fn new(status: Status, message: &'static str) -> Self {
        Self { status, message }
    }

    /// The status with its reference text as the message.
    pub const fn status(status: Status) -> Self {
        Self {
            status,
            message: status.text(),
        }
    }

    pub const fn invalid(message: &'static str) -> Self {
        Self::new(Status::InvalidArgument, message)
    }
}

pub type Result<T> = core::result::Result<T, Error>;

/// `out of memory`, for a failed allocation (never a panic: on a board the heap can be full
/// or locked, and the SDK must not take the firmware down with it).
pub const OUT_OF_MEMORY: Error = Error::status(Status::OutOfMemory);

/// A heap copy of `s` that reports a failed allocation instead of aborting.
pub fn try_box_str(s: &str) -> Result<alloc::boxed::Box<str>> {
    let mut bytes = alloc::vec::Vec::new();
    bytes.try_reserve_exact(s.len()).map_err(|_| OUT_OF_MEMORY)?;
    bytes.extend_from_slice(s.as_bytes());
    // The bytes are a copy of a `str`, so they are UTF-8; the fallback is unreachable.
    alloc::string::String::from_utf8(bytes)
        .map(alloc::string::String::into_boxed_str)
        .map_err(|_| OUT_OF_MEMORY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_constants_match_reference_values() {
        let codes: [u8; 12] = Status::EXPORTED.map(|(_, s)| s.code());
        assert_eq!(codes, [1, 3, 4, 5, 6, 7, 8, 10, 11, 13, 14, 15]);
        assert_eq!(Status::Offline.text(), "offline");
    }

    #[test]
    fn classes_follow_the_wrapper_mapping() {
        assert_eq!(Status::Timeout.error_class(), ErrorClass::Transport);
        assert_eq!(Status::QueueFull.error_class(), ErrorClass::Storage);
        assert_eq!(Status::Busy.error_class(), ErrorClass::Honch);
        assert_eq!(ErrorClass::Offline.parent(), Some(ErrorClass::Transport));
        for class in ErrorClass::ALL {
            if let Some(parent) = class.parent() {
                let pos = |c| ErrorClass::ALL.iter().position(|x| *x == c);
                assert!(pos(parent) < pos(class));
            }
        }
    }
}
