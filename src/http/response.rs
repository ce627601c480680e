//! An incremental, strictly bounded HTTP/1.x response parser.
//!
//! It is fed bytes as a non-blocking socket yields them and never holds more than one line of
//! the head ([`MAX_LINE_BYTES`]): the few headers the SDK acts on are extracted as each line
//! ends. Its state is a fixed-size struct, so the parser can live on a small stack or inside
//! the client without allocation, and no input can make it grow, loop or panic.
//!
//! After the final head it keeps going through the body (Content-Length, chunked, or until
//! the peer closes), discarding it, so that a caller can know where the response ends and
//! reuse a keep-alive connection. A caller that sends `Connection: close` may instead stop as
//! soon as [`Progress::head_complete`] is set.

use core::fmt;

use super::request::is_tchar;

/// Longest status or header line that is buffered (without its CR LF). A longer header line
/// is accepted only when its name is one we ignore and it fits in the buffer up to the colon:
/// such a line is checked for control bytes and dropped as it streams past. A longer status
/// line keeps its first bytes (version and code) and its reason phrase is dropped.
pub const MAX_LINE_BYTES: usize = 256;

/// Most bytes of response head, counting every byte of every line: interim (1xx) heads and
/// the final head together, so a server cannot keep the parser busy with endless `100
/// Continue`s. The trailer section of a chunked body has the same limit of its own.
pub const MAX_HEAD_BYTES: usize = 8192;

/// Longest chunk-size line, extensions included, without its CR LF.
pub const MAX_CHUNK_LINE_BYTES: usize = 256;

/// Why a response could not be parsed. Once `feed` has returned an error, the parser keeps
/// returning it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseError {
    /// A status line that is not `HTTP/1.0` or `HTTP/1.1`, a space, a code 100-599 and an
    /// optional reason; a header line without a valid name and colon, folded (obs-fold), or
    /// containing a control byte; a bare CR; an unrequested `101 Switching Protocols`.
    Malformed,
    /// A status line shorter than its fixed part, or a header we act on
    /// (`Retry-After`, `Content-Length`, `Transfer-Encoding`, `Connection`) or a header name
    /// longer than [`MAX_LINE_BYTES`].
    LineTooLong,
    /// More than [`MAX_HEAD_BYTES`] of head or of trailers.
    HeadTooLarge,
    /// A `Content-Length` that is not a decimal number, or two that differ.
    InvalidContentLength,
    /// Bad chunked framing: size line, extension, the CR LF after data, or an over-long line.
    InvalidChunk,
    /// A `Content-Length` or chunk size beyond `u64`.
    SizeOverflow,
    /// The connection closed before the response was complete.
    Truncated,
    /// The connection closed before any byte of a response arrived.
    NoResponse,
}

impl ResponseError {
    /// A short sentence for error details and logs.
    pub const fn message(self) -> &'static str {
        match self {
            ResponseError::Malformed => "malformed HTTP response",
            ResponseError::LineTooLong => "HTTP response line too long",
            ResponseError::HeadTooLarge => "HTTP response headers too large",
            ResponseError::InvalidContentLength => "invalid Content-Length in HTTP response",
            ResponseError::InvalidChunk => "invalid chunked encoding in HTTP response",
            ResponseError::SizeOverflow => "HTTP response body size too large",
            ResponseError::Truncated => "connection closed before the HTTP response was complete",
            ResponseError::NoResponse => "connection closed without an HTTP response",
        }
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// How the body of the final response is delimited (RFC 9112 §6.3, for a POST request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// 204 and 304 have no body, whatever the headers say.
    None,
    /// `Content-Length` bytes (and no `Transfer-Encoding`).
    Length(u64),
    /// `Transfer-Encoding` whose last coding is `chunked`.
    Chunked,
    /// Neither, or a `Transfer-Encoding` not ending in `chunked`: the body ends when the
    /// server closes, so the connection cannot be reused.
    UntilClose,
}

/// The result of one [`ResponseParser::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the input that belonged to this response. Less than the input only once
    /// `complete` is set: what is left belongs to whatever the server sent next.
    pub consumed: usize,
    /// The final (non-1xx) status line and headers have been read: `status()` and
    /// `retry_after_ms()` are available.
    pub head_complete: bool,
    /// The whole response, body included, has been read.
    pub complete: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SizeTail {
    /// Hex digits of the chunk size.
    Digits,
    /// Whitespace after the size.
    Space,
    /// A `;` extension, skipped up to the line end.
    Extension,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    StatusLine,
    Headers,
    Length {
        remaining: u64,
    },
    ChunkSize {
        value: u64,
        digits: bool,
        tail: SizeTail,
        line_bytes: usize,
    },
    ChunkData {
        remaining: u64,
    },
    ChunkDataEnd,
    Trailers,
    UntilClose,
    Complete,
    Failed(ResponseError),
}

const CHUNK_SIZE_START: State = State::ChunkSize {
    value: 0,
    digits: false,
    tail: SizeTail::Digits,
    line_bytes: 0,
};

/// What the head of the current response said; reset when a 1xx head ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    minor_version: u8,
    status: u16,
    retry_after_ms: Option<u32>,
    content_length: Option<u64>,
    transfer_encoding: bool,
    chunked: bool,
    close: bool,
    keep_alive: bool,
}

const EMPTY_HEAD: Head = Head {
    minor_version: 1,
    status: 0,
    retry_after_ms: None,
    content_length: None,
    transfer_encoding: false,
    chunked: false,
    close: false,
    keep_alive: false,
};

/// See the module documentation. About 350 bytes; create one per response.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    state: State,
    head: Head,
    body: Option<BodyKind>,
    line: [u8; MAX_LINE_BYTES],
    line_len: usize,
    /// The current line outgrew `line` and is being checked and dropped, not stored.
    skipping: bool,
    /// A CR was the last byte of a line-oriented part; only LF may follow.
    pending_cr: bool,
    /// Bytes of head (or, later, of trailers) so far.
    section_bytes: usize,
    received: bool,
}

impl Default for ResponseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseParser {
    /// A parser expecting the first byte of a response.
    pub const fn new() -> ResponseParser {
        ResponseParser {
            state: State::StatusLine,
            head: EMPTY_HEAD,
            body: None,
            line: [0; MAX_LINE_BYTES],
            line_len: 0,
            skipping: false,
            pending_cr: false,
            section_bytes: 0,
            received: false,
        }
    }

    /// Parses the next bytes from the connection. Stops at the end of the response; bytes
    /// after it are not consumed (see [`Progress::consumed`]).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Progress, ResponseError> {
        if let State::Failed(error) = self.state {
            return Err(error);
        }
        let mut at = 0;
        while let Some(rest) = bytes.get(at..).filter(|rest| !rest.is_empty()) {
            match self.state {
                State::Complete => break,
                State::Length { remaining } => {
                    let (taken, left) = skip(remaining, rest.len());
                    at += taken;
                    self.state = if left == 0 {
                        State::Complete
                    } else {
                        State::Length { remaining: left }
                    };
                }
                State::ChunkData { remaining } => {
                    let (taken, left) = skip(remaining, rest.len());
                    at += taken;
                    self.state = if left == 0 {
                        State::ChunkDataEnd
                    } else {
                        State::ChunkData { remaining: left }
                    };
                }
                State::UntilClose => at = bytes.len(),
                _ => {
                    at += 1;
                    let step = match rest.first() {
                        Some(&b) => self.byte(b),
                        None => Ok(()),
                    };
                    if let Err(error) = step {
                        self.state = State::Failed(error);
                        return Err(error);
                    }
                }
            }
        }
        self.received |= at > 0;
        Ok(Progress {
            consumed: at,
            head_complete: self.body.is_some(),
            complete: self.is_complete(),
        })
    }

    /// Tells the parser the connection was closed by the peer. That completes a body that runs
    /// until close; anywhere else it is an error.
    pub fn finish(&mut self) -> Result<(), ResponseError> {
        let outcome = match self.state {
            State::UntilClose => {
                self.state = State::Complete;
                Ok(())
            }
            State::Complete => Ok(()),
            State::Failed(error) => Err(error),
            State::StatusLine if !self.received => Err(ResponseError::NoResponse),
            _ => Err(ResponseError::Truncated),
        };
        if let Err(error) = outcome {
            self.state = State::Failed(error);
        }
        outcome
    }

    /// The final head has been read.
    pub fn is_head_complete(&self) -> bool {
        self.body.is_some()
    }

    /// The whole response has been read.
    pub fn is_complete(&self) -> bool {
        self.state == State::Complete
    }

    /// The final status code (100-599, never 1xx), once the head is complete.
    pub fn status(&self) -> Option<u16> {
        self.body.map(|_| self.head.status)
    }

    /// `Retry-After` of the final response in milliseconds, if it was given as delay-seconds
    /// (an HTTP-date, a negative or non-numeric value gives `None`). Saturates at `u32::MAX`
    /// (about 49.7 days). When the header is repeated the longest delay wins.
    pub fn retry_after_ms(&self) -> Option<u32> {
        self.body.and(self.head.retry_after_ms)
    }

    /// The `Content-Length` the final response declared (see [`Self::body_kind`] for what
    /// actually delimits the body).
    pub fn content_length(&self) -> Option<u64> {
        self.body.and(self.head.content_length)
    }

    /// How the body is delimited, once the head is complete.
    pub fn body_kind(&self) -> Option<BodyKind> {
        self.body
    }

    /// The server said `Connection: close`.
    pub fn connection_close(&self) -> bool {
        self.body.is_some() && self.head.close
    }

    /// Whether the connection may carry another request once this response is complete:
    /// a self-delimited body, no `Connection: close`, and HTTP/1.1 or an HTTP/1.0
    /// `Connection: keep-alive`. Both `Transfer-Encoding` and `Content-Length` means a
    /// confused or hostile intermediary, so that connection is not reused either.
    pub fn keep_alive(&self) -> bool {
        let delimited = matches!(
            self.body,
            Some(BodyKind::None | BodyKind::Length(_) | BodyKind::Chunked)
        );
        let persistent = self.head.minor_version == 1 || self.head.keep_alive;
        let smuggling = self.head.transfer_encoding && self.head.content_length.is_some();
        delimited && persistent && !self.head.close && !smuggling
    }

    fn byte(&mut self, b: u8) -> Result<(), ResponseError> {
        match self.state {
            State::StatusLine | State::Headers | State::Trailers => self.line_byte(b),
            State::ChunkSize {
                value,
                digits,
                tail,
                line_bytes,
            } => self.chunk_size_byte(b, value, digits, tail, line_bytes + 1),
            State::ChunkDataEnd => match b {
                b'\n' => {
                    self.pending_cr = false;
                    self.state = CHUNK_SIZE_START;
                    Ok(())
                }
                b'\r' if !self.pending_cr => {
                    self.pending_cr = true;
                    Ok(())
                }
                _ => Err(ResponseError::InvalidChunk),
            },
            // `feed` handles the bulk states itself and never calls this for them.
            State::Length { .. }
            | State::ChunkData { .. }
            | State::UntilClose
            | State::Complete
            | State::Failed(_) => Ok(()),
        }
    }

    fn line_byte(&mut self, b: u8) -> Result<(), ResponseError> {
        self.section_bytes += 1;
        if self.section_bytes > MAX_HEAD_BYTES {
            return Err(ResponseError::HeadTooLarge);
        }
        if self.pending_cr && b != b'\n' {
            return Err(ResponseError::Malformed);
        }
        match b {
            b'\n' => {
                self.pending_cr = false;
                return self.end_line();
            }
            b'\r' => {
                self.pending_cr = true;
                return Ok(());
            }
            b'\t' => {}
            _ if b < 0x20 || b == 0x7f => return Err(ResponseError::Malformed),
            _ => {}
        }
        if self.skipping {
            return Ok(());
        }
        match self.line.get_mut(self.line_len) {
            Some(slot) => {
                *slot = b;
                self.line_len += 1;
                Ok(())
            }
            None => self.overflow(),
        }
    }

    /// The line buffer is full and the line goes on.
    fn overflow(&mut self) -> Result<(), ResponseError> {
        let line = self.line.get(..self.line_len).unwrap_or(&[]);
        match self.state {
            State::StatusLine => {
                let (minor_version, status) = parse_status_line(line)?;
                self.head.minor_version = minor_version;
                self.head.status = status;
            }
            _ => {
                let colon = line
                    .iter()
                    .position(|&b| b == b':')
                    .ok_or(ResponseError::LineTooLong)?;
                let name = line.get(..colon).unwrap_or(&[]);
                check_field_name(line, name)?;
                if self.state == State::Headers && is_acted_on(name) {
                    return Err(ResponseError::LineTooLong);
                }
            }
        }
        self.skipping = true;
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), ResponseError> {
        let skipped = self.skipping;
        let len = self.line_len;
        self.skipping = false;
        self.line_len = 0;
        let line = self.line.get(..len).unwrap_or(&[]);
        match self.state {
            State::StatusLine => {
                if !skipped {
                    let (minor_version, status) = parse_status_line(line)?;
                    self.head.minor_version = minor_version;
                    self.head.status = status;
                }
                self.state = State::Headers;
                Ok(())
            }
            State::Headers if skipped => Ok(()),
            State::Headers if line.is_empty() => self.end_head(),
            State::Headers => apply_header(&mut self.head, line),
            State::Trailers if skipped => Ok(()),
            State::Trailers if line.is_empty() => {
                self.state = State::Complete;
                Ok(())
            }
            State::Trailers => {
                let colon = line
                    .iter()
                    .position(|&b| b == b':')
                    .ok_or(ResponseError::Malformed)?;
                check_field_name(line, line.get(..colon).unwrap_or(&[]))
            }
            _ => Ok(()),
        }
    }

    fn end_head(&mut self) -> Result<(), ResponseError> {
        let head = self.head;
        if (100..200).contains(&head.status) {
            // We never ask for an upgrade, so a 101 means the peer is not speaking to us.
            if head.status == 101 {
                return Err(ResponseError::Malformed);
            }
            self.head = EMPTY_HEAD;
            self.state = State::StatusLine;
            return Ok(());
        }
        let body = if head.status == 204 || head.status == 304 {
            BodyKind::None
        } else if head.transfer_encoding {
            if head.chunked {
                BodyKind::Chunked
            } else {
                BodyKind::UntilClose
            }
        } else if let Some(length) = head.content_length {
            BodyKind::Length(length)
        } else {
            BodyKind::UntilClose
        };
        self.body = Some(body);
        self.state = match body {
            BodyKind::None | BodyKind::Length(0) => State::Complete,
            BodyKind::Length(remaining) => State::Length { remaining },
            BodyKind::Chunked => CHUNK_SIZE_START,
            BodyKind::UntilClose => State::UntilClose,
        };
        Ok(())
    }

    fn chunk_size_byte(
        &mut self,
        b: u8,
        mut value: u64,
        mut digits: bool,
        mut tail: SizeTail,
        line_bytes: usize,
    ) -> Result<(), ResponseError> {
        // Counts the CR LF too, which is harmless: the limit is far above any real size line.
        if line_bytes > MAX_CHUNK_LINE_BYTES + 2 || (self.pending_cr && b != b'\n') {
            return Err(ResponseError::InvalidChunk);
        }
        match (b, tail) {
            (b'\n', _) => {
                self.pending_cr = false;
                if !digits {
                    return Err(ResponseError::InvalidChunk);
                }
                self.state = if value == 0 {
                    self.section_bytes = 0;
                    State::Trailers
                } else {
                    State::ChunkData { remaining: value }
                };
                return Ok(());
            }
            (b'\r', _) => self.pending_cr = true,
            (_, SizeTail::Digits) if b.is_ascii_hexdigit() => {
                let digit = u64::from(hex_value(b));
                value = value
                    .checked_mul(16)
                    .and_then(|v| v.checked_add(digit))
                    .ok_or(ResponseError::SizeOverflow)?;
                digits = true;
            }
            (b' ' | b'\t', SizeTail::Digits | SizeTail::Space) if digits => tail = SizeTail::Space,
            (b';', SizeTail::Digits | SizeTail::Space) if digits => tail = SizeTail::Extension,
            (_, SizeTail::Extension) if b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80 => {}
            _ => return Err(ResponseError::InvalidChunk),
        }
        self.state = State::ChunkSize {
            value,
            digits,
            tail,
            line_bytes,
        };
        Ok(())
    }
}

/// Takes up to `remaining` of `available` bytes: (bytes taken, body bytes still to come).
fn skip(remaining: u64, available: usize) -> (usize, u64) {
    let taken = usize::try_from(remaining).map_or(available, |r| r.min(available));
    (taken, remaining.saturating_sub(taken as u64))
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// `HTTP/1.x SP 3DIGIT [SP reason]` → (minor version, status).
fn parse_status_line(line: &[u8]) -> Result<(u8, u16), ResponseError> {
    let version = line.get(..8).ok_or(ResponseError::Malformed)?;
    let minor_version = match version {
        b"HTTP/1.1" => 1,
        b"HTTP/1.0" => 0,
        _ => return Err(ResponseError::Malformed),
    };
    let rest = line.get(8..).unwrap_or(&[]);
    let (code, reason) = match rest {
        [b' ', d1, d2, d3, reason @ ..]
            if d1.is_ascii_digit() && d2.is_ascii_digit() && d3.is_ascii_digit() =>
        {
            let code = u16::from(d1 - b'0') * 100 + u16::from(d2 - b'0') * 10 + u16::from(d3 - b'0');
            (code, reason)
        }
        _ => return Err(ResponseError::Malformed),
    };
    if !(100..=599).contains(&code) || !(reason.is_empty() || reason.first() == Some(&b' ')) {
        return Err(ResponseError::Malformed);
    }
    Ok((minor_version, code))
}

/// The four headers that change what we do; a too-long line of any of them is an error
/// rather than something to skip.
fn is_acted_on(name: &[u8]) -> bool {
    [
        &b"retry-after"[..],
        b"content-length",
        b"transfer-encoding",
        b"connection",
    ]
    .iter()
    .any(|known| name.eq_ignore_ascii_case(known))
}

/// A field line must start with a non-empty token name directly followed by `:`. A leading
/// space or tab is obs-fold (RFC 9112 §5.2), which we refuse rather than unfold.
fn check_field_name(line: &[u8], name: &[u8]) -> Result<(), ResponseError> {
    let folded = matches!(line.first(), Some(b' ' | b'\t'));
    if folded || name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(ResponseError::Malformed);
    }
    Ok(())
}

fn apply_header(head: &mut Head, line: &[u8]) -> Result<(), ResponseError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(ResponseError::Malformed)?;
    let name = line.get(..colon).unwrap_or(&[]);
    check_field_name(line, name)?;
    let value = trim_ows(line.get(colon + 1..).unwrap_or(&[]));
    if name.eq_ignore_ascii_case(b"retry-after") {
        if let Some(ms) = parse_delay_seconds_ms(value) {
            head.retry_after_ms = Some(head.retry_after_ms.map_or(ms, |prev| prev.max(ms)));
        }
    } else if name.eq_ignore_ascii_case(b"content-length") {
        let length = parse_content_length(value)?;
        if head.content_length.is_some_and(|prev| prev != length) {
            return Err(ResponseError::InvalidContentLength);
        }
        head.content_length = Some(length);
    } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
        // Repeated header lines form one list, so the last line's last coding is the one that
        // frames the body.
        let last = value.split(|&b| b == b',').map(trim_ows).rfind(|c| !c.is_empty());
        let coding = last.ok_or(ResponseError::Malformed)?;
        let coding_name = trim_ows(coding.split(|&b| b == b';').next().unwrap_or(&[]));
        head.transfer_encoding = true;
        head.chunked = coding_name.eq_ignore_ascii_case(b"chunked");
    } else if name.eq_ignore_ascii_case(b"connection") {
        for option in value.split(|&b| b == b',').map(trim_ows) {
            head.close |= option.eq_ignore_ascii_case(b"close");
            head.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
        }
    }
    Ok(())
}

/// delay-seconds (`1*DIGIT`) in milliseconds, saturating; anything else is not ours to read.
fn parse_delay_seconds_ms(value: &[u8]) -> Option<u32> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let seconds = value.iter().fold(0u64, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(u32::try_from(seconds.saturating_mul(1000)).unwrap_or(u32::MAX))
}

fn parse_content_length(value: &[u8]) -> Result<u64, ResponseError> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(ResponseError::InvalidContentLength);
    }
    value.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or(ResponseError::SizeOverflow)
    })
}

fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}
