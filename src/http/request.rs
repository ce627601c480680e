//! The request head of an upload, written into a caller buffer.
//!
//! Every value that reaches a header is checked here, even those that were validated when
//! the client was built, because a CR or LF in any of them would let the value forge headers
//! or a second request (header injection).

use core::fmt;

use super::url::{decimal, Endpoint, HostKind, CAPTURE_SUFFIX};

/// `Content-Type` of every upload (one wire v2 chunk frame).
pub const CONTENT_TYPE: &str = "application/vnd.honch.chunk";

/// The product token before the platform in `User-Agent`.
pub const SDK_NAME: &str = "honch";

/// Most bytes a stream id may have (product decision 11).
pub const MAX_STREAM_ID_LEN: usize = 64;

/// Why a request head could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// Empty, or a byte outside visible ASCII (0x21-0x7e).
    InvalidApiKey,
    /// Not 1-64 characters of `[A-Za-z0-9_-]`.
    InvalidStreamId,
    /// Empty, or a byte outside visible ASCII other than single spaces between words.
    InvalidUserAgent,
    /// The endpoint was not produced by [`Endpoint::parse`] and holds an unsafe host or path.
    InvalidEndpoint,
    /// `out` is too small; [`request_head_len`] says how much is needed.
    BufferTooSmall,
}

impl HeadError {
    /// A user-facing sentence.
    pub const fn message(self) -> &'static str {
        match self {
            HeadError::InvalidApiKey => "api_key must not be empty or contain spaces or control characters",
            HeadError::InvalidStreamId => "stream id must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'",
            HeadError::InvalidUserAgent => {
                "user agent must be printable ASCII words separated by single spaces"
            }
            HeadError::InvalidEndpoint => {
                "endpoint host or path contains characters not allowed in a request"
            }
            HeadError::BufferTooSmall => "request head buffer too small",
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Checks an API key for use as a header value: non-empty visible ASCII. Also usable at
/// construction time, so a bad key fails there instead of at the first upload.
pub fn validate_api_key(api_key: &str) -> Result<(), HeadError> {
    if !api_key.is_empty() && api_key.bytes().all(is_visible) {
        Ok(())
    } else {
        Err(HeadError::InvalidApiKey)
    }
}

/// Checks a stream id: 1-64 characters of `[A-Za-z0-9_-]`.
pub fn validate_stream_id(stream_id: &str) -> Result<(), HeadError> {
    let ok_chars = stream_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok_chars && (1..=MAX_STREAM_ID_LEN).contains(&stream_id.len()) {
        Ok(())
    } else {
        Err(HeadError::InvalidStreamId)
    }
}

/// Checks a `User-Agent` value: visible ASCII words separated by single spaces.
pub fn validate_user_agent(user_agent: &str) -> Result<(), HeadError> {
    let ok = !user_agent.is_empty()
        && user_agent
            .split(' ')
            .all(|word| !word.is_empty() && word.bytes().all(is_visible));
    if ok {
        Ok(())
    } else {
        Err(HeadError::InvalidUserAgent)
    }
}

/// Writes `honch-<platform>/<sdk_version>` (e.g. `honch-micropython/0.4.0`) into `out` and
/// returns it. Both parts must be HTTP tokens (RFC 9110 `tchar`, no `/`).
pub fn user_agent<'b>(out: &'b mut [u8], sdk_version: &str, platform: &str) -> Result<&'b str, HeadError> {
    let is_token = |s: &str| !s.is_empty() && s.bytes().all(is_tchar);
    if !is_token(sdk_version) || !is_token(platform) {
        return Err(HeadError::InvalidUserAgent);
    }
    let mut w = Writer { out, at: 0 };
    w.put(SDK_NAME.as_bytes())?;
    w.put(b"-")?;
    w.put(platform.as_bytes())?;
    w.put(b"/")?;
    w.put(sdk_version.as_bytes())?;
    let Writer { out, at } = w;
    let written = out.get(..at).ok_or(HeadError::BufferTooSmall)?;
    // Only ASCII was written, so this cannot fail; mapped rather than unwrapped all the same.
    core::str::from_utf8(written).map_err(|_| HeadError::InvalidUserAgent)
}

/// Writes the head of one upload request into `out` and returns its length:
///
/// ```text
/// POST <capture path> HTTP/1.1
/// Host: <host[:port]>
/// User-Agent: <user_agent>
/// Content-Type: application/vnd.honch.chunk
/// Content-Length: <content_length>
/// X-Honch-Project-Key: <api_key>
/// X-Honch-Stream-Id: <stream_id>
/// Connection: close
/// ```
///
/// with CRLF line ends and the empty line that ends the head. On error nothing useful is in
/// `out`.
pub fn write_request_head(
    out: &mut [u8],
    endpoint: &Endpoint<'_>,
    api_key: &str,
    stream_id: &str,
    user_agent: &str,
    content_length: usize,
) -> Result<usize, HeadError> {
    check_inputs(endpoint, api_key, stream_id, user_agent)?;
    let mut digits = [0u8; 20];
    let length = decimal(content_length as u64, &mut digits);
    let host = endpoint.host_header();
    let mut w = Writer { out, at: 0 };
    w.put(b"POST ")?;
    w.put(endpoint.capture_path().prefix().as_bytes())?;
    w.put(CAPTURE_SUFFIX.as_bytes())?;
    w.put(b" HTTP/1.1\r\nHost: ")?;
    let host_len = host.write_to(w.rest()).ok_or(HeadError::BufferTooSmall)?;
    w.at += host_len;
    w.put(b"\r\nUser-Agent: ")?;
    w.put(user_agent.as_bytes())?;
    w.put(b"\r\nContent-Type: ")?;
    w.put(CONTENT_TYPE.as_bytes())?;
    w.put(b"\r\nContent-Length: ")?;
    w.put(length)?;
    w.put(b"\r\nX-Honch-Project-Key: ")?;
    w.put(api_key.as_bytes())?;
    w.put(b"\r\nX-Honch-Stream-Id: ")?;
    w.put(stream_id.as_bytes())?;
    w.put(b"\r\nConnection: close\r\n\r\n")?;
    Ok(w.at)
}

/// The exact number of bytes [`write_request_head`] writes for these inputs, to size a buffer
/// (the inputs are not validated here).
pub fn request_head_len(
    endpoint: &Endpoint<'_>,
    api_key: &str,
    stream_id: &str,
    user_agent: &str,
    content_length: usize,
) -> usize {
    let mut digits = [0u8; 20];
    let host_len = host_header_len(endpoint);
    let fixed = "POST  HTTP/1.1\r\nHost: \r\nUser-Agent: \r\nContent-Type: \r\nContent-Length: \
                 \r\nX-Honch-Project-Key: \r\nX-Honch-Stream-Id: \r\nConnection: close\r\n\r\n"
        .len();
    // Saturating: the same huge string passed twice could otherwise overflow on 32-bit, and
    // release builds keep overflow checks.
    [
        endpoint.capture_path().len(),
        host_len,
        user_agent.len(),
        CONTENT_TYPE.len(),
        decimal(content_length as u64, &mut digits).len(),
        api_key.len(),
        stream_id.len(),
    ]
    .iter()
    .fold(fixed, |sum, &len| sum.saturating_add(len))
}

fn host_header_len(endpoint: &Endpoint<'_>) -> usize {
    let brackets = if endpoint.host_kind == HostKind::Ipv6 {
        2
    } else {
        0
    };
    let port = if endpoint.port == endpoint.default_port() {
        0
    } else {
        let mut digits = [0u8; 5];
        1 + decimal(u64::from(endpoint.port), &mut digits).len()
    };
    endpoint.host.len() + brackets + port
}

fn check_inputs(
    endpoint: &Endpoint<'_>,
    api_key: &str,
    stream_id: &str,
    user_agent: &str,
) -> Result<(), HeadError> {
    validate_api_key(api_key)?;
    validate_stream_id(stream_id)?;
    validate_user_agent(user_agent)?;
    // `Endpoint`'s fields are public, so one built by hand has not been through `parse`.
    let host_ok = !endpoint.host.is_empty() && endpoint.host.bytes().all(|b| is_visible(b) && b != b'/');
    let path_ok = (endpoint.base_path.is_empty() || endpoint.base_path.starts_with('/'))
        && endpoint
            .base_path
            .bytes()
            .all(|b| is_visible(b) && b != b'?' && b != b'#');
    if host_ok && path_ok {
        Ok(())
    } else {
        Err(HeadError::InvalidEndpoint)
    }
}

const fn is_visible(b: u8) -> bool {
    matches!(b, 0x21..=0x7e)
}

/// RFC 9110 `tchar`.
pub(super) const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z')
}

struct Writer<'b> {
    out: &'b mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), HeadError> {
        let end = self
            .at
            .checked_add(bytes.len())
            .ok_or(HeadError::BufferTooSmall)?;
        self.out
            .get_mut(self.at..end)
            .ok_or(HeadError::BufferTooSmall)?
            .copy_from_slice(bytes);
        self.at = end;
        Ok(())
    }

    fn rest(&mut self) -> &mut [u8] {
        self.out.get_mut(self.at..).unwrap_or(&mut [])
    }
}
