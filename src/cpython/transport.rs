//! The CPython transport: std sockets (and TLS 1.3 for HTTPS, see [`tls`]) under one deadline
//! per request, with the GIL released while waiting on the network.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::prelude::rust_2021::*;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pyo3::Python;

use crate::delivery::transport::{NetError, NetFailure, Transport};

// A sibling file rather than a module of `cpython/mod.rs`: tls.rs needs nothing of pyo3 and
// `tests/cpython_tls.rs` includes it the same way.
#[path = "tls.rs"]
pub mod tls;

use tls::{os_error, TlsSession, ETIMEDOUT};
pub use tls::{parse_ca_certs, TlsSettings};

/// TCP, or TLS over TCP, over std, bounded by the deadline set in `open`.
#[derive(Default)]
pub struct StdTransport {
    stream: Option<TcpStream>,
    tls: Option<TlsSession>,
    deadline: Option<Instant>,
    settings: TlsSettings,
}

impl StdTransport {
    /// A transport whose HTTPS connections check the server as `settings` say. (`default()`
    /// verifies against [`DEFAULT_ANCHORS`].)
    pub fn new(settings: TlsSettings) -> Self {
        Self {
            stream: None,
            tls: None,
            deadline: None,
            settings,
        }
    }

    fn remaining(&self, failure: NetFailure) -> Result<Duration, NetError> {
        let deadline = self.deadline.ok_or(NetError::new(failure, 0))?;
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(NetError::new(failure, ETIMEDOUT));
        }
        Ok(left)
    }

    fn stream(&mut self, failure: NetFailure) -> Result<&mut TcpStream, NetError> {
        self.stream.as_mut().ok_or(NetError::new(failure, 0))
    }

    fn connect(&self, host: &str, port: u16, deadline: Instant) -> Result<TcpStream, NetError> {
        let addrs = resolve(host, port, deadline)?;
        let mut last = NetError::new(NetFailure::ConnectTimeout, ETIMEDOUT);
        for addr in addrs {
            let left = self.remaining(NetFailure::ConnectTimeout)?;
            match TcpStream::connect_timeout(&addr, left) {
                Ok(stream) => {
                    // One write per request already; no Nagle delay on top.
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                    last = NetError::new(NetFailure::ConnectRefused, os_error(&e));
                }
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
                    last = NetError::new(NetFailure::ConnectTimeout, os_error(&e));
                }
                Err(e) => last = NetError::new(NetFailure::ConnectRefused, os_error(&e)),
            }
        }
        Err(last)
    }
}

/// Resolves `host` before `deadline`. Name lookups can block for long in the C library, so
/// they run on a helper thread that is abandoned (and finishes on its own) at the deadline.
fn resolve(host: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, NetError> {
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = mpsc::channel();
    let name = host.to_owned();
    std::thread::Builder::new()
        .name("honch-dns".into())
        .spawn(move || {
            let result = (name.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>());
            let _ = tx.send(result);
        })
        .map_err(|e| NetError::new(NetFailure::Dns, os_error(&e)))?;
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(NetError::new(NetFailure::Dns, 0)),
        Ok(Err(e)) => Err(NetError::new(NetFailure::Dns, os_error(&e))),
        Err(_) => Err(NetError::new(NetFailure::Dns, ETIMEDOUT)),
    }
}

impl Transport for StdTransport {
    fn open(&mut self, host: &str, port: u16, tls: bool, timeout_ms: u32) -> Result<(), NetError> {
        self.close();
        let deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms));
        self.deadline = Some(deadline);
        let stream = self.connect(host, port, deadline)?;
        if tls {
            self.tls = Some(TlsSession::connect(stream, host, deadline, &self.settings)?);
        } else {
            self.stream = Some(stream);
        }
        Ok(())
    }

    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), NetError> {
        if let Some(tls) = self.tls.as_mut() {
            return tls.write_all(bytes);
        }
        while !bytes.is_empty() {
            let left = self.remaining(NetFailure::Write)?;
            let stream = self.stream(NetFailure::Write)?;
            stream
                .set_write_timeout(Some(left))
                .map_err(|e| NetError::new(NetFailure::Write, os_error(&e)))?;
            match stream.write(bytes) {
                Ok(0) => return Err(NetError::new(NetFailure::Write, 0)),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(NetError::new(NetFailure::Write, os_error(&e))),
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        if let Some(tls) = self.tls.as_mut() {
            return tls.read(buf);
        }
        loop {
            let left = self.remaining(NetFailure::Read)?;
            let stream = self.stream(NetFailure::Read)?;
            stream
                .set_read_timeout(Some(left))
                .map_err(|e| NetError::new(NetFailure::Read, os_error(&e)))?;
            match stream.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(NetError::new(NetFailure::Read, os_error(&e))),
            }
        }
    }

    fn close(&mut self) {
        if let Some(tls) = self.tls.take() {
            tls.close();
        }
        self.stream = None;
        self.deadline = None;
    }
}

/// [`StdTransport`] with the GIL released around every blocking call, so other Python
/// threads run while the SDK waits on the network.
pub struct DetachedTransport<'a, 'py> {
    pub py: Python<'py>,
    pub inner: &'a mut StdTransport,
}

impl Transport for DetachedTransport<'_, '_> {
    fn open(&mut self, host: &str, port: u16, tls: bool, timeout_ms: u32) -> Result<(), NetError> {
        let inner = &mut *self.inner;
        self.py.detach(|| inner.open(host, port, tls, timeout_ms))
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), NetError> {
        let inner = &mut *self.inner;
        self.py.detach(|| inner.write_all(bytes))
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        let inner = &mut *self.inner;
        self.py.detach(|| inner.read(buf))
    }

    fn close(&mut self) {
        // close_notify is a write, bounded by the deadline but a wait all the same.
        let inner = &mut *self.inner;
        self.py.detach(|| inner.close());
    }
}
