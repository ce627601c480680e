//! HTTP/1.1 for the upload path: endpoint URLs, the request head, a strict bounded response parser.
//!
//! No I/O happens here and nothing allocates: the socket transports own the connection and
//! the buffers, and call these pieces (design note: `docs/http.md`).
//!
//! - [`Endpoint::parse`] checks `endpoint_url` once and gives host, port, TLS flag and the
//!   `Host` / capture-path forms.
//! - [`write_request_head`] writes the `POST .../capture` head into a caller buffer.
//! - [`ResponseParser`] reads the response incrementally: status, `Retry-After`, and the end
//!   of the body.

pub mod request;
pub mod response;
pub mod url;

pub use request::{
    request_head_len, user_agent, validate_api_key, validate_stream_id, validate_user_agent,
    write_request_head, HeadError, CONTENT_TYPE, MAX_STREAM_ID_LEN, SDK_NAME,
};
pub use response::{
    BodyKind, Progress, ResponseError, ResponseParser, MAX_CHUNK_LINE_BYTES, MAX_HEAD_BYTES, MAX_LINE_BYTES,
};
pub use url::{CapturePath, Endpoint, HostHeader, HostKind, UrlError, CAPTURE_SUFFIX};

#[cfg(test)]
mod tests;
