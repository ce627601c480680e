//! The CPython transport: std sockets under one deadline per request, with the GIL released
//! while waiting on the network.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::prelude::rust_2021::*;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pyo3::Python;

use crate::delivery::transport::{NetError, NetFailure, Transport};

fn os_error(e: &std::io::Error) -> i32 {
    // A socket timeout surfaces as EAGAIN; report it as the timeout it is.
    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
        return libc_etimedout();
    }
    e.raw_os_error().unwrap_or(0)
}

/// Plain TCP over std, bounded by the deadline set in `open`.
#[derive(Default)]
pub struct StdTransport {
    stream: Option<TcpStream>,
    deadline: Option<Instant>,
}

impl StdTransport {
    fn remaining(&self, failure: NetFailure) -> Result<Duration, NetError> {
        let deadline = self.deadline.ok_or(NetError::new(failure, 0))?;
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(NetError::new(failure, libc_etimedout()));
        }
        Ok(left)
    }

    fn stream(&mut self, failure: NetFailure) -> Result<&mut TcpStream, NetError> {
        self.stream.as_mut().ok_or(NetError::new(failure, 0))
    }
}

/// ETIMEDOUT, reported as the OS error of a missed deadline.
const fn libc_etimedout() -> i32 {
    110
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
        Err(_) => Err(NetError::new(NetFailure::Dns, libc_etimedout())),
    }
}

impl Transport for StdTransport {
    fn open(&mut self, host: &str, port: u16, tls: bool, timeout_ms: u32) -> Result<(), NetError> {
        self.close();
        let deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms));
        self.deadline = Some(deadline);
        if tls {
            // HTTPS on CPython arrives with the TLS work; until then it is refused up front.
            return Err(NetError::new(NetFailure::TlsHandshake, 0));
        }
        let addrs = resolve(host, port, deadline)?;
        let mut last = NetError::new(NetFailure::ConnectTimeout, libc_etimedout());
        for addr in addrs {
            let left = self.remaining(NetFailure::ConnectTimeout)?;
            match TcpStream::connect_timeout(&addr, left) {
                Ok(stream) => {
                    // One write per request already; no Nagle delay on top.
                    let _ = stream.set_nodelay(true);
                    self.stream = Some(stream);
                    return Ok(());
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

    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), NetError> {
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
        self.inner.close();
    }
}
