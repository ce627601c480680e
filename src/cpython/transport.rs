//! The CPython transport: std sockets (and TLS 1.3 for HTTPS, see [`tls`]) under one deadline
//! per request, with the GIL released while waiting on the network. Every wait (DNS, connect,
//! TLS, send, response) is cut into slices of at most [`tls::WAIT_SLICE`]; between slices the
//! GIL is taken back for a moment to run Python's signal handlers ([`PendingSignal`]), so a
//! Ctrl-C ends the request at once instead of at the deadline.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::prelude::rust_2021::*;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pyo3::{PyErr, Python};

use crate::delivery::transport::{NetError, NetFailure, Transport};
// For tls.rs, which reaches the core through `super` (tests/cpython_tls.rs includes it alone).
use crate::trust;

// A sibling file rather than a module of `cpython/mod.rs`: tls.rs needs nothing of pyo3 and
// `tests/cpython_tls.rs` includes it the same way.
#[path = "tls.rs"]
pub mod tls;

use tls::{os_error, sliced, Interrupt, TlsSession, ETIMEDOUT};
pub use tls::{parse_ca_certs, TlsSettings};

/// The exception a Python signal handler raised during a network wait (`KeyboardInterrupt`
/// for Ctrl-C, or whatever the handler raises). The wait is given up and the exception kept
/// here, so the binding can raise it unchanged once the core has returned (the core's
/// transport errors are [`NetError`]s and cannot carry it).
#[derive(Clone, Default)]
pub struct PendingSignal(Arc<Mutex<Option<PyErr>>>);

impl PendingSignal {
    /// The transport's [`Interrupt`] hook: takes the GIL back for a moment and runs Python's
    /// signal handlers (they run on the main thread only; elsewhere this does nothing). Once
    /// a handler raised, every later wait of the same request is given up at once too. An
    /// interpreter that is shutting down gives the wait up as well.
    pub fn hook(&self) -> Interrupt {
        let slot = Arc::clone(&self.0);
        Arc::new(move || {
            if slot.lock().unwrap_or_else(PoisonError::into_inner).is_some() {
                return true;
            }
            match Python::try_attach(|py| py.check_signals()) {
                Some(Ok(())) => false,
                Some(Err(raised)) => {
                    *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(raised);
                    true
                }
                None => true,
            }
        })
    }

    /// The exception a signal handler raised since the last call, if any.
    pub fn take(&self) -> Option<PyErr> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// TCP, or TLS over TCP, over std, bounded by the deadline set in `open`.
#[derive(Default)]
pub struct StdTransport {
    stream: Option<TcpStream>,
    tls: Option<TlsSession>,
    deadline: Option<Instant>,
    settings: TlsSettings,
    interrupt: Option<Interrupt>,
}

impl StdTransport {
    /// A transport whose HTTPS connections check the server as `settings` say, and whose
    /// waits ask `interrupt` between slices. (`default()` verifies against
    /// [`tls::DEFAULT_ANCHORS`] and is never interrupted.)
    pub fn new(settings: TlsSettings, interrupt: Option<Interrupt>) -> Self {
        Self {
            stream: None,
            tls: None,
            deadline: None,
            settings,
            interrupt,
        }
    }

    fn connect(&self, host: &str, port: u16, deadline: Instant) -> Result<TcpStream, NetError> {
        let addrs = resolve(host, port, deadline, self.interrupt.as_ref())?;
        let mut last = NetError::new(NetFailure::ConnectTimeout, ETIMEDOUT);
        for addr in addrs {
            match connect_one(addr, deadline, self.interrupt.as_ref()) {
                Ok(stream) => {
                    // One write per request already; no Nagle delay on top.
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(Waited::Gave(errno)) => return Err(NetError::new(NetFailure::ConnectTimeout, errno)),
                Err(Waited::Failed(e)) if e.kind() == ErrorKind::ConnectionRefused => {
                    last = NetError::new(NetFailure::ConnectRefused, os_error(&e));
                }
                Err(Waited::Failed(e)) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
                    last = NetError::new(NetFailure::ConnectTimeout, os_error(&e));
                }
                Err(Waited::Failed(e)) => last = NetError::new(NetFailure::ConnectRefused, os_error(&e)),
            }
        }
        Err(last)
    }
}

/// How a wait on a helper thread ended without a result.
enum Waited {
    /// Given up: the deadline passed (ETIMEDOUT) or the interrupt hook said so (EINTR).
    Gave(i32),
    /// The operation itself failed.
    Failed(std::io::Error),
}

/// Runs `op` on a helper thread and waits for its result in slices (see [`sliced`]). A wait
/// given up leaves the thread to finish on its own (its own bound is the deadline); when no
/// thread can be started, `op` runs here, in one wait.
fn on_helper<T: Send + 'static>(
    name: &str,
    deadline: Instant,
    interrupt: Option<&Interrupt>,
    op: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, Waited> {
    let (tx, rx) = mpsc::sync_channel(1);
    let op = Arc::new(Mutex::new(Some(op)));
    let job = Arc::clone(&op);
    let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
        let op = job.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(op) = op {
            let _ = tx.send(op());
        }
    });
    if spawned.is_err() {
        let op = op.lock().unwrap_or_else(PoisonError::into_inner).take();
        return match op {
            Some(op) => op().map_err(Waited::Failed),
            None => Err(Waited::Failed(ErrorKind::Other.into())),
        };
    }
    let result = sliced(deadline, interrupt, |slice| match rx.recv_timeout(slice) {
        Ok(result) => Ok(result),
        Err(RecvTimeoutError::Timeout) => Err(ErrorKind::TimedOut.into()),
        Err(RecvTimeoutError::Disconnected) => Err(ErrorKind::BrokenPipe.into()),
    });
    match result {
        Ok(done) => done.map_err(Waited::Failed),
        Err(errno) => Err(Waited::Gave(errno)),
    }
}

/// Connects to `addr` before `deadline`. std has no non-blocking connect, so the connect runs
/// on a helper thread while this one waits in slices.
fn connect_one(
    addr: SocketAddr,
    deadline: Instant,
    interrupt: Option<&Interrupt>,
) -> Result<TcpStream, Waited> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Waited::Gave(ETIMEDOUT));
    }
    on_helper("honch-connect", deadline, interrupt, move || {
        TcpStream::connect_timeout(&addr, left)
    })
}

/// Resolves `host` before `deadline`. Name lookups can block for long in the C library, so
/// they run on a helper thread that is abandoned (and finishes on its own) at the deadline.
fn resolve(
    host: &str,
    port: u16,
    deadline: Instant,
    interrupt: Option<&Interrupt>,
) -> Result<Vec<SocketAddr>, NetError> {
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let name = host.to_owned();
    let lookup = on_helper("honch-dns", deadline, interrupt, move || {
        (name.as_str(), port)
            .to_socket_addrs()
            .map(|a| a.collect::<Vec<_>>())
    });
    match lookup {
        Ok(addrs) if !addrs.is_empty() => Ok(addrs),
        Ok(_) => Err(NetError::new(NetFailure::Dns, 0)),
        Err(Waited::Gave(errno)) => Err(NetError::new(NetFailure::Dns, errno)),
        Err(Waited::Failed(e)) => Err(NetError::new(NetFailure::Dns, os_error(&e))),
    }
}

impl Transport for StdTransport {
    fn open(&mut self, host: &str, port: u16, tls: bool, timeout_ms: u32) -> Result<(), NetError> {
        self.close();
        let deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms));
        self.deadline = Some(deadline);
        let stream = self.connect(host, port, deadline)?;
        if tls {
            let session = TlsSession::open(stream, host, deadline, &self.settings, self.interrupt.clone())?;
            self.tls = Some(session);
        } else {
            self.stream = Some(stream);
        }
        Ok(())
    }

    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), NetError> {
        if let Some(tls) = self.tls.as_mut() {
            return tls.write_all(bytes);
        }
        let (Some(stream), Some(deadline)) = (self.stream.as_ref(), self.deadline) else {
            return Err(NetError::new(NetFailure::Write, 0));
        };
        while !bytes.is_empty() {
            let sent = sliced(deadline, self.interrupt.as_ref(), |slice| {
                stream.set_write_timeout(Some(slice))?;
                (&*stream).write(bytes)
            })
            .map_err(|errno| NetError::new(NetFailure::Write, errno))?;
            match bytes.get(sent..) {
                Some(rest) if sent > 0 => bytes = rest,
                _ => return Err(NetError::new(NetFailure::Write, 0)),
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        if let Some(tls) = self.tls.as_mut() {
            return tls.read(buf);
        }
        let (Some(stream), Some(deadline)) = (self.stream.as_ref(), self.deadline) else {
            return Err(NetError::new(NetFailure::Read, 0));
        };
        sliced(deadline, self.interrupt.as_ref(), |slice| {
            stream.set_read_timeout(Some(slice))?;
            (&*stream).read(buf)
        })
        .map_err(|errno| NetError::new(NetFailure::Read, errno))
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
