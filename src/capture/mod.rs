//! Capture side of wire v2: frame parser, reassembler, strict decoder, expansion to JSON,
//! the local collector's HTTP(S) server and the conformance runner.
//!
//! std-only (feature `tools`). The device never runs this code; it exists so that the
//! SDK's output is checked by an independent, strict reader.

// The crate is no_std; this module is std-only (feature `tools`).
#[allow(unused_imports)]
use std::prelude::rust_2021::*;
#[allow(unused_imports)]
use std::{eprintln, format, vec};

pub mod conformance;
pub mod decode;
pub mod frame;
pub mod http;
pub mod reassembly;
pub mod tls;

use std::fmt;
use std::time::Duration;

pub use decode::{decode_message, decode_strict, DecodedMessage};
pub use frame::{parse_frame, Frame, Shape};
pub use reassembly::{Capture, FrameOutcome};

/// Capture-side limits (wire.md §6 "capture hard limit"). A deployment may raise them, never
/// lower them below the SDK's own limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureLimits {
    pub max_events: usize,
    pub max_message_bytes: usize,
    pub max_frame_bytes: usize,
    pub max_strings: usize,
    pub max_string_bytes: usize,
    pub max_total_string_bytes: usize,
    /// Nested containers accepted inside one value.
    pub max_depth: usize,
    /// Whether bytes values are accepted (otherwise 422).
    pub allow_binary: bool,
    /// Partial messages held at once; the oldest is dropped to make room.
    pub max_partials: usize,
    /// Bytes held in partial messages at once (413 beyond).
    pub max_partial_bytes: usize,
    /// How long a partial message waits for its next frame.
    pub partial_ttl: Duration,
    /// Completed messages remembered to recognise a resend (and a reused id).
    pub remembered_messages: usize,
}

impl Default for CaptureLimits {
    fn default() -> Self {
        Self {
            max_events: 500,
            max_message_bytes: 1 << 20,
            max_frame_bytes: 64 * 1024,
            max_strings: 4096,
            max_string_bytes: 4096,
            max_total_string_bytes: 256 * 1024,
            max_depth: 8,
            allow_binary: false,
            max_partials: 256,
            max_partial_bytes: 64 << 20,
            partial_ttl: Duration::from_secs(24 * 3600),
            remembered_messages: 4096,
        }
    }
}

/// A refused frame or request: the HTTP status and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub status: u16,
    pub reason: String,
}

impl Reject {
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }
    /// 400: malformed frame or message.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(400, reason)
    }
    /// 409: does not fit the partial message held (or reuses an id with other bytes).
    pub fn conflict(reason: impl Into<String>) -> Self {
        Self::new(409, reason)
    }
    /// 413: over a configured limit.
    pub fn too_large(reason: impl Into<String>) -> Self {
        Self::new(413, reason)
    }
    /// 422: well-formed but semantically invalid.
    pub fn unprocessable(reason: impl Into<String>) -> Self {
        Self::new(422, reason)
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.reason)
    }
}

impl std::error::Error for Reject {}
