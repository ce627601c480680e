//! One HTTP request over the platform's [`Transport`]: connect, send the whole request in
//! one write, read until the status line and headers are complete, close.

use super::transport::{NetError, NetFailure, Transport};
use crate::http::{Endpoint, ResponseParser};

/// What the server answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// `Retry-After` in milliseconds, when the server sent the delay-seconds form.
    pub retry_after_ms: Option<u32>,
}

/// Sends `request` (head and body together) to `endpoint` within `timeout_ms` and returns
/// the response's status line and headers. The connection is always closed afterwards
/// (the request says `Connection: close`; the body is not needed).
pub fn exchange(
    net: &mut dyn Transport,
    endpoint: &Endpoint<'_>,
    request: &[u8],
    timeout_ms: u32,
) -> Result<Response, NetError> {
    net.open(endpoint.host, endpoint.port, endpoint.tls, timeout_ms)?;
    let result = send_and_read(net, request);
    net.close();
    result
}

fn send_and_read(net: &mut dyn Transport, request: &[u8]) -> Result<Response, NetError> {
    net.write_all(request)?;
    let mut parser = ResponseParser::new();
    let mut chunk = [0u8; 256];
    loop {
        let n = net.read(&mut chunk)?;
        if n == 0 {
            // Closed before a complete head: no usable response (retried like a 0 status).
            let _ = parser.finish();
            return Err(NetError::new(NetFailure::Read, 0));
        }
        let progress = parser
            .feed(&chunk[..n])
            .map_err(|_| NetError::new(NetFailure::Read, 0))?;
        if progress.head_complete {
            let status = parser.status().ok_or(NetError::new(NetFailure::Read, 0))?;
            return Ok(Response {
                status,
                retry_after_ms: parser.retry_after_ms(),
            });
        }
    }
}
