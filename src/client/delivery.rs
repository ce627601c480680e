//! `tick()`, `flush()` and `shutdown()`: turning queued records into confirmed uploads
//! (core.md §9-§10, product.md §4). The pure parts live in `crate::delivery`; this is the
//! orchestration over the client's state.

use alloc::vec::Vec;

use super::{Client, Clock, NoProperties, Pending};
use crate::delivery::batch::{BatchError, Candidates, TimeBase};
use crate::delivery::exchange::{exchange, Response};
use crate::delivery::policy::{classify, Action};
use crate::delivery::transport::{NetError, NetFailure, Transport};
use crate::diagnostics::{LastError, Reason};
use crate::http::{user_agent, write_request_head, Endpoint};
use crate::status::{Error, Result, Status};
use crate::wire::{self, encode_longest_prefix, encode_message, BatchContext, EventSource, SourceType};

const MESSAGE_BYTES: usize = wire::HTTP_MAX_FRAME_BYTES;
/// Room for the request head in front of the frame (checked at construction, see
/// [`check_request_head`]).
pub(crate) const HEAD_BYTES: usize = 1024;
/// A frame is at most the HTTP frame size.
const REQUEST_BYTES: usize = HEAD_BYTES + wire::HTTP_MAX_FRAME_BYTES;

/// Working memory of one upload: the encoded message and the request being sent. Allocated
/// for the call that uploads and freed afterwards, so an idle client holds none of it.
struct Scratch {
    bytes: Vec<u8>,
}

pub const NO_UPLOAD_BUFFER: Error = Error::new(Status::OutOfMemory, "out of memory for the upload buffer");

impl Scratch {
    fn new() -> Result<Self> {
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(MESSAGE_BYTES + REQUEST_BYTES)
            .map_err(|_| NO_UPLOAD_BUFFER)?;
        bytes.resize(MESSAGE_BYTES + REQUEST_BYTES, 0);
        Ok(Self { bytes })
    }

    fn split(&mut self) -> (&mut [u8], &mut [u8]) {
        self.bytes.split_at_mut(MESSAGE_BYTES)
    }
}

/// How sending one frame went.
enum Sent {
    /// A frame of a multi-frame message was stored; more follow.
    FrameStored,
    /// The message was confirmed; this many events left the queue.
    Delivered(u32),
    /// The oldest record could not be encoded or read and was dead-lettered.
    DroppedUnsendable,
    /// The message context itself cannot be encoded (nothing was sent or dropped).
    Unencodable,
    /// The server refused a message of several events with 413 or 422: it will be sent
    /// again in halves (decision 14). Nothing left the queue.
    Split,
    /// The server refused this many events on their own (413 or 422); they were
    /// dead-lettered and the error is in `last_error()`.
    Refused(u32, Error),
}

pub const UPLOADS_STOPPED: Error = Error::new(
    Status::Rejected,
    "uploads stopped: the API key was refused (HTTP 401)",
);
pub const ENCODE_FAILED: Error = Error::new(Status::Internal, "event encoding failed");
pub const OFFLINE: Error = Error::new(Status::Offline, "device is offline");
pub const SERVER_HOLD: Error = Error::new(
    Status::RateLimited,
    "rate limited: the server's Retry-After has not elapsed",
);

fn net_reason(failure: NetFailure) -> Reason {
    match failure {
        NetFailure::Dns => Reason::DnsFailed,
        NetFailure::ConnectRefused => Reason::ConnectRefused,
        NetFailure::ConnectTimeout => Reason::ConnectTimeout,
        NetFailure::TlsHandshake => Reason::TlsHandshake,
        NetFailure::TlsCert => Reason::TlsCert,
        NetFailure::Write => Reason::WriteFailed,
        NetFailure::Read => Reason::ReadFailed,
        NetFailure::NoNetwork => Reason::NoNetwork,
    }
}

/// The error `flush()` raises for a retryable HTTP status.
fn retry_status(http: u16) -> Status {
    match http {
        429 => Status::RateLimited,
        408 => Status::Timeout,
        500..=599 => Status::Server,
        _ => Status::Transport,
    }
}

fn message_for(reason: Reason, status: Status) -> &'static str {
    reason.message().unwrap_or(status.text())
}

/// Refuses, at construction, an endpoint and key whose request head could not be sent.
pub(crate) fn check_request_head(endpoint_url: &str, api_key: &str, platform: &str) -> Result<()> {
    let endpoint = Endpoint::parse(endpoint_url).map_err(|e| Error::invalid(e.message()))?;
    crate::http::validate_api_key(api_key).map_err(|e| Error::invalid(e.message()))?;
    let mut agent = [0u8; 64];
    let agent =
        user_agent(&mut agent, super::SDK_VERSION, platform).map_err(|e| Error::invalid(e.message()))?;
    let len = crate::http::request_head_len(&endpoint, api_key, "00000000", agent, MESSAGE_BYTES);
    if len > HEAD_BYTES {
        return Err(Error::invalid(
            "endpoint_url and api_key are too long for a request head (1 KiB)",
        ));
    }
    Ok(())
}

impl Client {
    /// Monotonic milliseconds (the clock's uptime, extended past 32-bit wrap).
    pub(crate) fn monotonic(&mut self, clock: &dyn Clock) -> u64 {
        let raw = clock.uptime_ms() & 0xFFFF_FFFF;
        let last = self.mono_last & 0xFFFF_FFFF;
        if raw < last {
            self.mono_last += 1 << 32;
        }
        self.mono_last = (self.mono_last & !0xFFFF_FFFF) | raw;
        self.mono_last
    }

    fn time_base(&mut self, clock: &dyn Clock) -> TimeBase {
        let uptime_now = self.monotonic(clock);
        let now = clock.now_ms();
        let boot_epoch = (now >= super::RELEASE_DATE_UNIX_MS && uptime_now > 0 && now > uptime_now)
            .then(|| now - uptime_now);
        TimeBase {
            boot_epoch,
            uptime_now,
        }
    }

    /// Records a failure as `last_error()` and remembers whether it deserves a log line.
    pub(crate) fn capture(&mut self, error: LastError) {
        self.last_error = error;
        if self.log_once.should_log(&error) {
            self.log_pending = true;
        }
    }

    fn capture_net(&mut self, e: NetError) -> Error {
        let reason = net_reason(e.failure);
        self.capture(LastError {
            status: Status::Transport,
            reason,
            http: 0,
            os_error: e.os_error,
            component: Some("http"),
        });
        Error::new(Status::Transport, message_for(reason, Status::Transport))
    }

    fn capture_http(&mut self, status: Status, reason: Reason, http: u16) -> Error {
        self.capture(LastError {
            status,
            reason,
            http,
            os_error: 0,
            component: Some("http"),
        });
        Error::new(status, message_for(reason, status))
    }

    /// Encodes the message at the head of the queue into `out` (the same bytes every time
    /// for a pending message), starting a new message when none is pending.
    fn encode_head(
        &mut self,
        buf: &[u8],
        time: TimeBase,
        out: &mut [u8],
    ) -> core::result::Result<usize, Sent> {
        let head_sequence = self.queue.head_sequence();
        let pending = self.pending.filter(|p| p.first_sequence == head_sequence);
        let time = pending.map_or(time, |p| p.time);
        let limit = match pending {
            Some(p) => usize::from(p.events),
            None => self
                .split
                .next_limit(head_sequence)
                .unwrap_or(self.config.batch_size as usize),
        };
        let mut candidates = match Candidates::collect(&self.queue, buf, limit, time) {
            Ok(c) => c,
            Err(BatchError::Empty) => return Err(Sent::Delivered(0)),
            Err(BatchError::CorruptHead) => return Err(self.drop_unsendable(buf)),
        };
        if pending.is_some() && candidates.len() != limit {
            // The queue changed under the pending message (events dropped): start afresh.
            self.pending = None;
            return self.encode_head(buf, time, out);
        }
        let session = candidates.first().session_id.map(super::session_text);
        let first = *candidates.first();
        let mut ctx = BatchContext {
            distinct_id: first.distinct_id,
            device_id: &self.config.device_id,
            device_model: &self.config.device_model,
            firmware_version: &self.config.firmware_version,
            sdk_platform: self.platform,
            sdk_version: super::SDK_VERSION,
            environment: &self.config.environment,
            session_id: session.as_ref().and_then(|s| core::str::from_utf8(s).ok()),
            device_time_source: Some(candidates.time_source(candidates.len())),
            capabilities: None,
            extensions: &[],
            base_time_ms: None,
        };
        let encoded = match encode_longest_prefix(&ctx, &candidates, out) {
            Ok(e) => e,
            Err(failure) if failure.event == Some(0) => return Err(self.drop_unsendable(buf)),
            Err(_) => {
                self.capture(LastError {
                    status: Status::Internal,
                    reason: Reason::EncodeFailed,
                    component: Some("encode"),
                    ..LastError::default()
                });
                return Err(Sent::Unencodable);
            }
        };
        let mut len = encoded.len;
        if encoded.events < candidates.len() {
            // The time source is a property of the events actually sent.
            candidates.truncate(encoded.events);
            let source = candidates.time_source(encoded.events);
            if Some(source) != ctx.device_time_source {
                ctx.device_time_source = Some(source);
                len = encode_message(&ctx, &candidates, out).map_err(|_| self.drop_unsendable(buf))?;
            }
        }
        if pending.is_none() {
            self.pending = Some(Pending {
                first_sequence: head_sequence,
                events: candidates.len() as u16,
                time,
                next_frame: 0,
            });
        }
        Ok(len)
    }

    /// Dead-letters the oldest record, which can never be sent (it breaks a wire limit or
    /// the buffer was overwritten).
    fn drop_unsendable(&mut self, buf: &[u8]) -> Sent {
        self.pending = None;
        let head = self.queue.head_sequence();
        self.queue.dead_letter(buf, 1);
        self.split.removed(head, 1, true);
        self.capture(LastError {
            status: Status::Rejected,
            reason: Reason::EncodeFailed,
            component: Some("encode"),
            ..LastError::default()
        });
        Sent::DroppedUnsendable
    }

    /// Sends the next frame of the message at the head of the queue.
    fn send_frame(
        &mut self,
        buf: &mut [u8],
        clock: &dyn Clock,
        net: &mut dyn Transport,
        scratch: &mut Scratch,
    ) -> Result<Sent> {
        let time = self.time_base(clock);
        let (message, request) = scratch.split();
        let len = match self.encode_head(buf, time, message) {
            Ok(len) => len,
            Err(sent) => return Ok(sent),
        };
        let Some(pending) = self.pending else {
            return Ok(Sent::Delivered(0));
        };
        let message = &message[..len];
        let message_id = wire::message_id(self.stream_seed, pending.first_sequence);
        let endpoint = Endpoint::parse(&self.config.endpoint_url).map_err(|e| Error::invalid(e.message()))?;

        let (head_area, frame_area) = request.split_at_mut(HEAD_BYTES);
        let frame = wire::write_frame(
            message,
            message_id,
            SourceType::CompactEvents,
            usize::from(pending.next_frame),
            wire::HTTP_MAX_FRAME_BYTES,
            frame_area,
        )
        .map_err(|_| Error::status(Status::Internal))?;
        let mut agent = [0u8; 64];
        let agent = user_agent(&mut agent, super::SDK_VERSION, self.platform)
            .map_err(|_| Error::status(Status::Internal))?;
        let head_len = write_request_head(
            head_area,
            &endpoint,
            &self.config.api_key,
            self.stream_id(),
            agent,
            frame.len,
        )
        .map_err(|_| Error::invalid("api_key or endpoint_url contains characters HTTP cannot carry"))?;
        // Head and frame go out in one write: move the head next to the frame.
        head_area.copy_within(0..head_len, HEAD_BYTES - head_len);
        let request = &request[HEAD_BYTES - head_len..HEAD_BYTES + frame.len];

        let response = exchange(net, &endpoint, request, self.config.transport_timeout_ms);
        let now = self.monotonic(clock);
        let Response {
            status: http,
            retry_after_ms,
        } = match response {
            Ok(r) => r,
            Err(e) => {
                self.restart_pending();
                let wait_random = self.rng.next_u32();
                self.schedule.failed(now, None, wait_random);
                return Err(self.capture_net(e));
            }
        };
        match classify(http, frame.is_final) {
            Action::NextFrame => {
                if let Some(p) = self.pending.as_mut() {
                    p.next_frame = p.next_frame.saturating_add(1);
                }
                Ok(Sent::FrameStored)
            }
            Action::Consume => {
                self.pending = None;
                let delivered = self.queue.consume(buf, u32::from(pending.events));
                self.split.removed(pending.first_sequence, delivered, false);
                Ok(Sent::Delivered(delivered))
            }
            Action::AuthFailed => {
                self.pending = None;
                self.dead_letter_pending(buf, pending);
                self.uploads_stopped = true;
                Err(self.capture_http(Status::Rejected, Reason::AuthInvalidKey, http))
            }
            // Too large or unprocessable: maybe only some of the events are (decision 14).
            Action::Reject if matches!(http, 413 | 422) => {
                self.pending = None;
                if self.split.refused(pending.first_sequence, pending.events) {
                    return Ok(Sent::Split);
                }
                let refused = self.dead_letter_pending(buf, pending);
                Ok(Sent::Refused(
                    refused,
                    self.capture_http(Status::Rejected, Reason::HttpStatus, http),
                ))
            }
            Action::Reject => {
                self.pending = None;
                self.dead_letter_pending(buf, pending);
                Err(self.capture_http(Status::Rejected, Reason::HttpStatus, http))
            }
            Action::Retry => {
                self.restart_pending();
                let wait_random = self.rng.next_u32();
                self.schedule.failed(now, retry_after_ms, wait_random);
                let reason = if http == 0 {
                    Reason::ReadFailed
                } else {
                    Reason::HttpStatus
                };
                Err(self.capture_http(retry_status(http), reason, http))
            }
        }
    }

    /// Dead-letters the events of the message the server refused; returns how many.
    fn dead_letter_pending(&mut self, buf: &[u8], pending: Pending) -> u32 {
        let events = u32::from(pending.events);
        self.queue.dead_letter(buf, events);
        self.split.removed(pending.first_sequence, events, true);
        events
    }

    /// After any failure a multi-frame message starts again from its first frame.
    fn restart_pending(&mut self) {
        if let Some(p) = self.pending.as_mut() {
            p.next_frame = 0;
        }
    }

    /// The upload's working buffer, or `last_error()` says there was no memory for it.
    fn scratch(&mut self) -> Result<Scratch> {
        Scratch::new().inspect_err(|_| {
            self.capture(LastError {
                status: Status::OutOfMemory,
                reason: Reason::OutOfMemory,
                component: Some("http"),
                ..LastError::default()
            })
        })
    }

    /// Sends whole messages until `count` events have left the queue or it is empty.
    /// Returns how many were delivered and, when the server refused some on their own (413
    /// or 422 to a single event, after splitting), the error for that; sending goes on
    /// after such a refusal. Any other failure stops it and is the error.
    fn send_messages(
        &mut self,
        buf: &mut [u8],
        clock: &dyn Clock,
        net: &mut dyn Transport,
        mut count: u32,
    ) -> Result<(u32, Option<Error>)> {
        let mut scratch = self.scratch()?;
        let mut delivered = 0u32;
        let mut refused = None;
        while count > 0 && !self.queue.is_empty() {
            match self.send_frame(buf, clock, net, &mut scratch)? {
                Sent::FrameStored | Sent::Split => {}
                Sent::Delivered(0) => break,
                Sent::Unencodable => return Err(ENCODE_FAILED),
                Sent::Delivered(n) => {
                    delivered = delivered.saturating_add(n);
                    count = count.saturating_sub(n);
                }
                Sent::DroppedUnsendable => count = count.saturating_sub(1),
                Sent::Refused(n, e) => {
                    count = count.saturating_sub(n);
                    refused = Some(e);
                }
            }
        }
        Ok((delivered, refused))
    }

    /// `flush()`: sends every event queued when it was called, in as few messages as the
    /// limits allow; stops at the first failure and returns its error (the unsent events
    /// stay queued). `online` is the connectivity callback's answer.
    pub fn flush(
        &mut self,
        buf: &mut [u8],
        clock: &dyn Clock,
        net: &mut dyn Transport,
        online: bool,
    ) -> Result<()> {
        self.gate(buf)?;
        self.drain_log_errors(buf, clock);
        if self.uploads_stopped {
            return Err(UPLOADS_STOPPED);
        }
        let now = self.monotonic(clock);
        if self.queue.is_empty() {
            self.schedule.idle(now);
            return Ok(());
        }
        if !online {
            self.capture(LastError {
                status: Status::Offline,
                reason: Reason::Offline,
                component: Some("connectivity"),
                ..LastError::default()
            });
            return Err(OFFLINE);
        }
        if self.schedule.server_hold(now) {
            return Err(SERVER_HOLD);
        }
        let count = self.queue.len();
        let (delivered, refused) = self.send_messages(buf, clock, net, count)?;
        let now = self.monotonic(clock);
        self.schedule.succeeded(now, delivered > 0);
        match refused {
            None => {
                self.log_once.clear();
                Ok(())
            }
            // Everything else was sent; the events the server refused are dead-lettered.
            Some(e) => Err(e),
        }
    }

    /// `tick()`: when an upload is due, sends at most one frame. Never raises for network or
    /// server failures (they are in `last_error()` and logged once); `online` is the
    /// connectivity callback's answer.
    pub fn tick(
        &mut self,
        buf: &mut [u8],
        clock: &dyn Clock,
        net: &mut dyn Transport,
        online: bool,
    ) -> Result<()> {
        self.gate(buf)?;
        self.drain_log_errors(buf, clock);
        if self.uploads_stopped || !online {
            return Ok(());
        }
        let now = self.monotonic(clock);
        if !self.schedule.tick_due(now) {
            return Ok(());
        }
        if self.queue.is_empty() {
            self.schedule.idle(now);
            return Ok(());
        }
        self.schedule.begin();
        let Ok(mut scratch) = self.scratch() else {
            // Recorded in last_error(); a main loop calling tick() must not die of it. The
            // upload is tried again after a backoff, as after a network failure.
            let wait_random = self.rng.next_u32();
            self.schedule.failed(now, None, wait_random);
            return Ok(());
        };
        let sent = self.send_frame(buf, clock, net, &mut scratch);
        let now = self.monotonic(clock);
        match sent {
            Ok(Sent::FrameStored) | Ok(Sent::DroppedUnsendable) | Ok(Sent::Split) | Ok(Sent::Refused(..)) => {
                self.schedule.request()
            }
            Ok(Sent::Unencodable) => {}
            Ok(Sent::Delivered(n)) => {
                self.schedule.succeeded(now, n > 0);
                self.log_once.clear();
                self.schedule.note_depth(self.queue.len());
            }
            // Only misuse of the API is raised from tick(); delivery failures are recorded.
            Err(e) if e.status == Status::InvalidArgument => return Err(e),
            // A dead-lettered batch may leave enough events to be due again.
            Err(_) => self.schedule.note_depth(self.queue.len()),
        }
        Ok(())
    }

    /// `shutdown()`: queues `$device_shutdown`, makes a final upload (ignoring spacing,
    /// backoff and connectivity, but not a server's Retry-After or a refused key), and closes
    /// the client. Delivery failures are recorded, not raised; a second call does nothing.
    pub fn shutdown(&mut self, buf: &mut [u8], clock: &dyn Clock, net: &mut dyn Transport) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.queue.check(buf)?;
        self.drain_log_errors(buf, clock);
        let queued = self.enqueue(buf, clock, "$device_shutdown", &NoProperties, &[]);
        let now = self.monotonic(clock);
        if !self.uploads_stopped && !self.schedule.server_hold(now) {
            let count = self.queue.len();
            // Delivery problems (out of memory included) are in last_error(), not raised.
            if let Ok((delivered, _)) = self.send_messages(buf, clock, net, count) {
                let now = self.monotonic(clock);
                self.schedule.succeeded(now, delivered > 0);
            }
        }
        self.closed = true;
        queued
    }
}
