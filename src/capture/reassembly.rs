//! Reassembly of chunk frames into messages, and what capture answers for each frame
//! (wire.md §8, product.md §6).
//!
//! Messages are keyed by (project key, stream id, source type, message id). Memory is
//! bounded by [`CaptureLimits`]: a partial message's buffer grows only with bytes received,
//! never with what its init frame claims.

// The crate is no_std; this module is std-only (feature `tools`).
#[allow(unused_imports)]
use std::prelude::rust_2021::*;
#[allow(unused_imports)]
use std::{eprintln, format, vec};

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::Instant;

use serde_json::Value as Json;

use super::decode::decode_strict;
use super::frame::{parse_frame, Shape};
use super::{CaptureLimits, Reject};
use crate::wire::{crc16, SourceType};

/// Which message a frame belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageKey {
    pub project: String,
    pub stream: Option<String>,
    pub source: SourceType,
    pub message_id: u64,
}

/// What capture did with a frame that it did not reject.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameOutcome {
    /// A non-final frame was stored (202).
    Stored,
    /// A byte-identical resend of a frame already held (202); nothing was appended.
    Duplicate,
    /// The message is complete, its CRC matches and it decoded (204).
    Accepted {
        source: SourceType,
        /// The expanded events (none for a coredump or a resend).
        events: Vec<Json>,
        /// The same message was already accepted; its events were not emitted again.
        resend: bool,
        message_len: usize,
    },
}

impl FrameOutcome {
    /// The HTTP status for this outcome.
    pub fn status(&self) -> u16 {
        match self {
            FrameOutcome::Stored | FrameOutcome::Duplicate => 202,
            FrameOutcome::Accepted { .. } => 204,
        }
    }
}

struct Partial {
    total_len: usize,
    data: Vec<u8>,
    last_seen: Instant,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: usize,
    crc: u16,
    hash: u64,
}

fn fingerprint(message: &[u8], crc: u16) -> Fingerprint {
    let mut hasher = DefaultHasher::new();
    message.hash(&mut hasher);
    Fingerprint {
        len: message.len(),
        crc,
        hash: hasher.finish(),
    }
}

/// The capture state: partial messages and recently completed ones.
pub struct Capture {
    limits: CaptureLimits,
    partials: HashMap<MessageKey, Partial>,
    partial_bytes: usize,
    completed: HashMap<MessageKey, Fingerprint>,
    completed_order: VecDeque<MessageKey>,
}

impl Capture {
    pub fn new(limits: CaptureLimits) -> Self {
        Self {
            limits,
            partials: HashMap::new(),
            partial_bytes: 0,
            completed: HashMap::new(),
            completed_order: VecDeque::new(),
        }
    }

    pub fn limits(&self) -> &CaptureLimits {
        &self.limits
    }

    /// Partial messages currently held.
    pub fn partial_count(&self) -> usize {
        self.partials.len()
    }

    /// Handles one frame (one request body) now.
    pub fn handle_frame(
        &mut self,
        project: &str,
        stream: Option<&str>,
        body: &[u8],
    ) -> Result<FrameOutcome, Reject> {
        self.handle_frame_at(Instant::now(), project, stream, body)
    }

    /// Handles one frame at a given time (tests move the clock to expire partials).
    pub fn handle_frame_at(
        &mut self,
        now: Instant,
        project: &str,
        stream: Option<&str>,
        body: &[u8],
    ) -> Result<FrameOutcome, Reject> {
        if body.len() > self.limits.max_frame_bytes {
            return Err(Reject::too_large(format!(
                "frame is {} bytes (limit {})",
                body.len(),
                self.limits.max_frame_bytes
            )));
        }
        let frame = parse_frame(body)?;
        self.expire(now);
        let key = MessageKey {
            project: project.to_owned(),
            stream: stream.map(str::to_owned),
            source: frame.source,
            message_id: frame.message_id,
        };
        if frame.shape != Shape::Single && stream.is_none() {
            return Err(Reject::bad_request(
                "multi-frame messages need an X-Honch-Stream-Id header",
            ));
        }
        match frame.shape {
            Shape::Single => {
                if let Some(partial) = self.partials.get(&key) {
                    let same =
                        partial.total_len == frame.payload.len() && frame.payload.starts_with(&partial.data);
                    if !same {
                        return Err(Reject::conflict(
                            "message id of a partial message reused with different bytes",
                        ));
                    }
                    self.remove_partial(&key);
                }
                let crc = frame.crc.unwrap_or_default();
                self.complete(key, frame.payload, crc)
            }
            Shape::Init { total_len } => self.start(now, key, total_len, frame.payload),
            Shape::Middle { offset } | Shape::Final { offset } => {
                self.continue_message(now, key, offset, frame.payload, frame.crc)
            }
        }
    }

    fn expire(&mut self, now: Instant) {
        let ttl = self.limits.partial_ttl;
        let expired: Vec<MessageKey> = self
            .partials
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.last_seen) > ttl)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            self.remove_partial(&key);
        }
    }

    fn remove_partial(&mut self, key: &MessageKey) -> Option<Partial> {
        let partial = self.partials.remove(key)?;
        self.partial_bytes -= partial.data.len();
        Some(partial)
    }

    fn reserve_partial_bytes(&self, more: usize) -> Result<(), Reject> {
        if self.partial_bytes + more > self.limits.max_partial_bytes {
            return Err(Reject::too_large("capture holds too many partial-message bytes"));
        }
        Ok(())
    }

    fn start(
        &mut self,
        now: Instant,
        key: MessageKey,
        total_len: u64,
        payload: &[u8],
    ) -> Result<FrameOutcome, Reject> {
        let limit = self.limits.max_message_bytes;
        let total_len = usize::try_from(total_len)
            .ok()
            .filter(|&n| n <= limit)
            .ok_or_else(|| Reject::too_large(format!("total_len {total_len} over the {limit}-byte limit")))?;
        if let Some(partial) = self.partials.get_mut(&key) {
            let held = partial.data.get(..payload.len());
            if partial.total_len == total_len && held == Some(payload) {
                partial.last_seen = now;
                return Ok(FrameOutcome::Duplicate);
            }
            return Err(Reject::conflict(
                "init frame differs from the partial message held under this id",
            ));
        }
        self.reserve_partial_bytes(payload.len())?;
        if self.partials.len() >= self.limits.max_partials {
            let oldest = self
                .partials
                .iter()
                .min_by_key(|(_, p)| p.last_seen)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.remove_partial(&oldest);
            }
        }
        self.partial_bytes += payload.len();
        self.partials.insert(
            key,
            Partial {
                total_len,
                data: payload.to_vec(),
                last_seen: now,
            },
        );
        Ok(FrameOutcome::Stored)
    }

    fn continue_message(
        &mut self,
        now: Instant,
        key: MessageKey,
        offset: u64,
        payload: &[u8],
        crc: Option<u16>,
    ) -> Result<FrameOutcome, Reject> {
        let is_final = crc.is_some();
        let Some(partial) = self.partials.get(&key) else {
            return Err(Reject::conflict(
                "continuation of a message capture does not hold (restart from offset 0)",
            ));
        };
        let total_len = partial.total_len;
        let held = partial.data.len();
        let end = usize::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(payload.len()))
            .filter(|&end| end <= total_len)
            .ok_or_else(|| Reject::bad_request("frame runs past the message's total_len"))?;
        let start = end - payload.len();
        if is_final && end != total_len {
            return Err(Reject::bad_request("final frame ends before total_len"));
        }
        if !is_final && end == total_len {
            return Err(Reject::bad_request(
                "frame marked 'more' already reaches total_len",
            ));
        }
        if start < held {
            if end <= held && partial.data[start..end] == *payload {
                if let Some(p) = self.partials.get_mut(&key) {
                    p.last_seen = now;
                }
                return Ok(FrameOutcome::Duplicate);
            }
            return Err(Reject::conflict(format!(
                "frame at offset {start} overlaps held bytes with different content"
            )));
        }
        if start > held {
            return Err(Reject::conflict(format!(
                "frame at offset {start}, but {held} bytes are held"
            )));
        }
        self.reserve_partial_bytes(payload.len())?;
        self.partial_bytes += payload.len();
        let Some(partial) = self.partials.get_mut(&key) else {
            return Err(Reject::conflict("partial message vanished"));
        };
        partial.data.extend_from_slice(payload);
        partial.last_seen = now;
        if !is_final {
            return Ok(FrameOutcome::Stored);
        }
        let Some(done) = self.remove_partial(&key) else {
            return Err(Reject::conflict("partial message vanished"));
        };
        self.complete(key, &done.data, crc.unwrap_or_default())
    }

    fn complete(&mut self, key: MessageKey, message: &[u8], crc: u16) -> Result<FrameOutcome, Reject> {
        let actual = crc16(message);
        if actual != crc {
            return Err(Reject::bad_request(format!(
                "CRC mismatch: frame says {crc:#06x}, message has {actual:#06x}"
            )));
        }
        if message.len() > self.limits.max_message_bytes {
            return Err(Reject::too_large(format!(
                "message is {} bytes (limit {})",
                message.len(),
                self.limits.max_message_bytes
            )));
        }
        let print = fingerprint(message, crc);
        let source = key.source;
        if let Some(previous) = self.completed.get(&key) {
            if *previous == print {
                return Ok(FrameOutcome::Accepted {
                    source,
                    events: Vec::new(),
                    resend: true,
                    message_len: message.len(),
                });
            }
            return Err(Reject::conflict(
                "message id already used for a different message",
            ));
        }
        let events = match source {
            SourceType::CompactEvents => decode_strict(message, &self.limits)?.expand(),
            SourceType::Coredump => Vec::new(),
        };
        self.remember(key, print);
        Ok(FrameOutcome::Accepted {
            source,
            events,
            resend: false,
            message_len: message.len(),
        })
    }

    fn remember(&mut self, key: MessageKey, print: Fingerprint) {
        if self.limits.remembered_messages == 0 {
            return;
        }
        while self.completed_order.len() >= self.limits.remembered_messages {
            if let Some(old) = self.completed_order.pop_front() {
                self.completed.remove(&old);
            }
        }
        self.completed_order.push_back(key.clone());
        self.completed.insert(key, print);
    }
}
