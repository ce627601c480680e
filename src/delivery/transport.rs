//! The network as the core sees it: a platform object that opens one connection at a time
//! under a deadline and moves bytes. The MicroPython binding implements it over the
//! firmware's `socket` (and `tls`) modules, the CPython binding over std sockets.

/// What went wrong on the network (becomes `last_error()["reason"]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetFailure {
    /// The host name did not resolve.
    Dns,
    /// The server refused the connection.
    ConnectRefused,
    /// No connection before the deadline.
    ConnectTimeout,
    /// The TLS handshake failed (not a certificate problem).
    TlsHandshake,
    /// The server's certificate was refused (untrusted, expired, wrong host).
    TlsCert,
    /// Sending the request failed (or its deadline passed).
    Write,
    /// Reading the response failed, it was malformed, or its deadline passed.
    Read,
    /// The platform has no network stack at all (a firmware built without `socket`).
    NoNetwork,
}

/// A failed network operation, with the OS error number when there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetError {
    pub failure: NetFailure,
    pub os_error: i32,
}

impl NetError {
    pub const fn new(failure: NetFailure, os_error: i32) -> Self {
        Self { failure, os_error }
    }
}

/// One connection at a time, every operation bounded by the deadline set at `open`.
pub trait Transport {
    /// Resolves `host`, connects (with TLS when `tls`), all within `timeout_ms`; the same
    /// deadline then bounds every `write_all` and `read` until `close`.
    fn open(&mut self, host: &str, port: u16, tls: bool, timeout_ms: u32) -> Result<(), NetError>;
    /// Sends all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), NetError>;
    /// Reads at least one byte into `buf`, or returns 0 when the peer closed.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError>;
    /// Closes the connection (never fails; safe to call when nothing is open).
    fn close(&mut self);
}
