//! The MicroPython transport: the firmware's own `socket`, `select` and `tls` modules,
//! driven in non-blocking mode through the object API so that connect, the TLS handshake,
//! send and the wait for the response all share one deadline. `getaddrinfo` blocks on most
//! ports (it is not bounded by the deadline there; the README says so).
//!
//! HTTPS uses the firmware's TLS stack (mbedTLS) with `CERT_REQUIRED`, the trust anchors
//! loaded from DER or PEM data and `server_hostname` set, so the chain, its validity period
//! and the host name are checked; no second TLS stack is linked in. The handshake runs
//! inside the first write of the request (`do_handshake_on_connect=False`), so it is
//! interrupted at the deadline like any other wait.
//!
//! Every group of VM calls goes through [`MpTransport::vm`]: under `catch`, and followed by a
//! check that the event buffer has not moved (waiting in `poll` runs scheduled Python
//! callbacks, which may resize it while the core holds its bytes). A moved buffer stops the
//! request at once (`buffer_moved`; the binding raises `StorageError`). An `OSError` becomes a
//! [`NetError`]; anything else (a `KeyboardInterrupt`, a `MemoryError`) is kept in `raised`
//! and re-raised by the binding once the core has returned, so Ctrl-C still stops the program.

use honch_mp_sys as sys;

use super::honch::BufferGuard;
use super::layout::{ObjBase, StrObj};
use super::obj::{self, builtin_type, Obj};
use super::platform::catch;
use crate::delivery::transport::{NetError, NetFailure, Transport};

/// The port's errno values (newlib ports differ from Linux: EINPROGRESS is 119 on esp32).
const EAGAIN: i32 = sys::HONCH_EAGAIN as i32;
const ECONNREFUSED: i32 = sys::HONCH_ECONNREFUSED as i32;
const ETIMEDOUT: i32 = sys::HONCH_ETIMEDOUT as i32;
const EINPROGRESS: i32 = sys::HONCH_EINPROGRESS as i32;
/// select.POLLIN / select.POLLOUT.
const POLLIN: isize = 1;
const POLLOUT: isize = 4;

/// The bundled trust anchor with a NUL after it: MicroPython's `bytes` objects always end in
/// one, and its TLS module relies on that (it hands `len + 1` bytes to mbedTLS, which looks
/// for PEM text with `strstr`).
static ANCHOR_BYTES: [u8; crate::trust::DEFAULT_TRUST_ANCHOR.len() + 1] = {
    let mut out = [0u8; crate::trust::DEFAULT_TRUST_ANCHOR.len() + 1];
    let mut i = 0;
    while i < crate::trust::DEFAULT_TRUST_ANCHOR.len() {
        out[i] = crate::trust::DEFAULT_TRUST_ANCHOR[i];
        i += 1;
    }
    out
};

/// The bundled trust anchor (GTS Root R1) as a constant `bytes` object, so that loading it
/// copies nothing.
static DEFAULT_ANCHOR: StrObj = StrObj {
    base: ObjBase {
        type_: builtin_type!(mp_type_bytes),
    },
    hash: 0,
    len: crate::trust::DEFAULT_TRUST_ANCHOR.len(),
    data: ANCHOR_BYTES.as_ptr(),
};

/// mbedTLS reports certificate problems with X.509 error codes (-0x2000 .. -0x2FFF).
fn is_certificate_error(errno: i32) -> bool {
    (-0x2FFF..=-0x2000).contains(&errno)
}

pub struct MpTransport {
    socket: Obj,
    poller: Obj,
    read_buf: Obj,
    deadline: u32,
    /// The certificates to trust (a tuple of DER `bytes`); NULL: the bundled anchor.
    ca_certs: Obj,
    verify: bool,
    /// A TLS session is open and its handshake has not finished yet.
    handshaking: bool,
    /// Where the event buffer was when the upload started.
    guard: BufferGuard,
    /// The event buffer moved during a VM call: the request was stopped.
    pub buffer_moved: bool,
    /// A non-OSError exception raised during I/O, to re-raise after the core returns.
    pub raised: Obj,
}

/// Calls `obj.name(*args)`; raises like Python does (use inside `catch`).
///
/// # Safety
/// `obj` and `args` must be valid objects; call only under an nlr handler.
unsafe fn call_method(obj: Obj, name: u32, args: &[Obj]) -> Obj {
    let mut dest = [obj::NULL; 6];
    let n = args.len().min(4);
    dest[2..2 + n].copy_from_slice(&args[..n]);
    // SAFETY: dest has room for the method, self and up to 4 arguments.
    unsafe {
        sys::mp_load_method(obj, name as sys::qstr, dest.as_mut_ptr());
        sys::mp_call_method_n_kw(n, 0, dest.as_ptr())
    }
}

/// Imports a module by name (use inside `catch`).
///
/// # Safety
/// Call only under an nlr handler.
unsafe fn import(name: u32) -> Obj {
    // SAFETY: importing a builtin module by qstr; level 0, no fromlist.
    unsafe { sys::mp_import_name(name as sys::qstr, obj::NONE, obj::small_int(0)) }
}

fn now_ms() -> u32 {
    // SAFETY: a plain HAL call that never raises.
    unsafe { sys::honch_hal_ticks_ms() as u32 }
}

fn is_subclass(exc: Obj, ty: *const sys::mp_obj_type_t) -> bool {
    // SAFETY: both are type objects; the check only walks their parents.
    unsafe { sys::mp_obj_is_subclass_fast(obj::type_of(exc).cast(), ty.cast()) }
}

impl MpTransport {
    /// `ca_certs`: the user's CA data (`bytes` or `str`), or NULL for the bundled anchor;
    /// `verify`: check the server's certificate (`verify_tls`); `guard`: the event buffer.
    pub fn new(ca_certs: Obj, verify: bool, guard: BufferGuard) -> Self {
        Self {
            socket: obj::NULL,
            poller: obj::NULL,
            read_buf: obj::NULL,
            deadline: 0,
            ca_certs,
            verify,
            handshaking: false,
            guard,
            buffer_moved: false,
            raised: obj::NULL,
        }
    }

    /// Runs VM calls under `catch`, then checks the event buffer; `failure` names what a
    /// raise (or a moved buffer) means for the request.
    fn vm<T>(&mut self, failure: NetFailure, f: impl FnOnce() -> T) -> Result<T, NetError> {
        let outcome = catch(f);
        if !self.guard.unchanged() {
            self.buffer_moved = true;
            return Err(NetError::new(failure, 0));
        }
        outcome.map_err(|exc| self.failure(exc, failure))
    }

    /// Wraps the connected socket in a TLS client session (the handshake happens during the
    /// first write). Certificates are verified unless `verify_tls=False`.
    fn start_tls(&mut self, host: &str) -> Result<(), NetError> {
        let (socket, poller, verify) = (self.socket, self.poller, self.verify);
        let bundled = [(&raw const DEFAULT_ANCHOR) as Obj];
        let anchors: &[Obj] = obj::seq_exact(self.ca_certs).unwrap_or(&bundled);
        // From here on a failure belongs to the TLS setup: an OSError is a handshake failure,
        // a ValueError from loading a certificate a certificate failure.
        self.handshaking = true;
        // SAFETY: VM calls under catch, on objects the VM made (and our constant bytes).
        let wrapped = self.vm(NetFailure::TlsHandshake, || unsafe {
            let tls = import(sys::MP_QSTR_tls);
            let attr = |name: u32| sys::mp_load_attr(tls, name as sys::qstr);
            let ctx_type = attr(sys::MP_QSTR_SSLContext);
            let client = attr(sys::MP_QSTR_PROTOCOL_TLS_CLIENT);
            let ctx = sys::mp_call_function_n_kw(ctx_type, 1, 0, &client);
            let mode = attr(if verify {
                sys::MP_QSTR_CERT_REQUIRED
            } else {
                sys::MP_QSTR_CERT_NONE
            });
            sys::mp_store_attr(ctx, sys::MP_QSTR_verify_mode as sys::qstr, mode);
            if verify {
                // One DER certificate per call (MicroPython takes the data positionally).
                for &der in anchors {
                    call_method(ctx, sys::MP_QSTR_load_verify_locations, &[der]);
                }
            }
            let name = sys::mp_obj_new_str(host.as_ptr().cast(), host.len());
            let mut dest = [obj::NULL; 7];
            sys::mp_load_method(ctx, sys::MP_QSTR_wrap_socket as sys::qstr, dest.as_mut_ptr());
            dest[2] = socket;
            dest[3] = obj::qstr_obj(sys::MP_QSTR_server_hostname);
            dest[4] = name;
            dest[5] = obj::qstr_obj(sys::MP_QSTR_do_handshake_on_connect);
            dest[6] = obj::FALSE;
            let wrapped = sys::mp_call_method_n_kw(1, 2, dest.as_ptr());
            call_method(wrapped, sys::MP_QSTR_setblocking, &[obj::FALSE]);
            call_method(poller, sys::MP_QSTR_unregister, &[socket]);
            call_method(poller, sys::MP_QSTR_register, &[wrapped, obj::small_int(POLLOUT)]);
            wrapped
        });
        let wrapped = wrapped.map_err(|mut err| {
            if err.failure != NetFailure::TlsCert {
                err.failure = NetFailure::TlsHandshake;
            }
            err
        })?;
        // From now on the session is the socket (closing it closes the TCP connection); the
        // handshake runs during the first write (`handshaking` stays set until then).
        self.socket = wrapped;
        Ok(())
    }

    /// Milliseconds left before the deadline (0 when passed).
    fn remaining(&self) -> u32 {
        let left = self.deadline.wrapping_sub(now_ms()) as i32;
        left.max(0) as u32
    }

    /// Turns an exception from a protected call into a NetError, keeping non-OSErrors.
    fn failure(&mut self, exc: Obj, failure: NetFailure) -> NetError {
        if is_subclass(exc, builtin_type!(mp_type_ImportError)) {
            // No `socket`/`select` module (or no `tls` for HTTPS): nothing to raise, the
            // firmware simply cannot upload; last_error() says so.
            let failure = match failure {
                NetFailure::Dns | NetFailure::ConnectRefused => NetFailure::NoNetwork,
                other => other,
            };
            return NetError::new(failure, 0);
        }
        if !is_subclass(exc, builtin_type!(mp_type_OSError)) {
            if self.handshaking && is_subclass(exc, builtin_type!(mp_type_ValueError)) {
                // MicroPython's TLS module reports a refused certificate (untrusted, expired,
                // wrong name) as a ValueError carrying mbedTLS's verify text.
                return NetError::new(NetFailure::TlsCert, 0);
            }
            self.raised = exc;
            return NetError::new(failure, 0);
        }
        // SAFETY: `exc` is an exception instance; this reads its first argument.
        let value = unsafe { sys::mp_obj_exception_get_value(exc) };
        let errno = match obj::int_value(value) {
            Some(Ok(n)) => i32::try_from(n).unwrap_or(0),
            _ => 0,
        };
        let failure = match (failure, errno) {
            (NetFailure::Write | NetFailure::Read | NetFailure::ConnectTimeout, ECONNREFUSED) => {
                NetFailure::ConnectRefused
            }
            (_, e)
                if (self.handshaking || failure == NetFailure::TlsHandshake) && is_certificate_error(e) =>
            {
                NetFailure::TlsCert
            }
            _ if self.handshaking => NetFailure::TlsHandshake,
            (f, _) => f,
        };
        NetError::new(failure, errno)
    }

    /// Waits until the socket is ready for `events` or the deadline passes.
    fn wait(&mut self, events: isize, failure: NetFailure) -> Result<(), NetError> {
        let failure = if self.handshaking {
            NetFailure::TlsHandshake
        } else {
            failure
        };
        let left = self.remaining();
        if left == 0 {
            return Err(NetError::new(failure, ETIMEDOUT));
        }
        // The transport timeout is at most 10 s, far inside the 31-bit small-int range.
        let left = obj::small_int(left.min(obj::SMALL_INT_MAX as u32) as isize);
        let (poller, socket) = (self.poller, self.socket);
        // SAFETY: poller and socket are the objects created in `open`, under catch.
        self.vm(failure, || unsafe {
            call_method(poller, sys::MP_QSTR_modify, &[socket, obj::small_int(events)]);
            call_method(poller, sys::MP_QSTR_poll, &[left]);
        })
    }
}

impl Drop for MpTransport {
    fn drop(&mut self) {
        self.close();
    }
}

/// What connecting produced: the socket, its poller, the read buffer, and the exception
/// `connect` raised (a non-blocking connect "fails" with EINPROGRESS), if any.
struct Connecting {
    socket: Obj,
    poller: Obj,
    read_buf: Obj,
    connect_error: Option<Obj>,
}

impl Transport for MpTransport {
    fn open(&mut self, host: &str, port: u16, tls: bool, timeout_ms: u32) -> Result<(), NetError> {
        self.close();
        self.deadline = now_ms().wrapping_add(timeout_ms);
        // Resolve: socket.getaddrinfo(host, port, 0, SOCK_STREAM)[0]
        // SAFETY: VM calls under catch; the objects come from the VM itself.
        let info = self.vm(NetFailure::Dns, || unsafe {
            let socket = import(sys::MP_QSTR_socket);
            let host = sys::mp_obj_new_str(host.as_ptr().cast(), host.len());
            let stream = sys::mp_load_attr(socket, sys::MP_QSTR_SOCK_STREAM as sys::qstr);
            let getaddrinfo = sys::mp_load_attr(socket, sys::MP_QSTR_getaddrinfo as sys::qstr);
            let args = [host, obj::small_int(port as isize), obj::small_int(0), stream];
            let list = sys::mp_call_function_n_kw(getaddrinfo, 4, 0, args.as_ptr());
            sys::mp_obj_subscr(list, obj::small_int(0), obj::SENTINEL)
        })?;
        // Connect without blocking: socket(af, type, proto), setblocking(False), connect(addr).
        // SAFETY: as above; `info` is the (af, type, proto, canonname, addr) tuple.
        let connecting = self.vm(NetFailure::ConnectRefused, || unsafe {
            let socket_mod = import(sys::MP_QSTR_socket);
            let item = |i: isize| sys::mp_obj_subscr(info, obj::small_int(i), obj::SENTINEL);
            let ctor = sys::mp_load_attr(socket_mod, sys::MP_QSTR_socket as sys::qstr);
            let args = [item(0), item(1), item(2)];
            let socket = sys::mp_call_function_n_kw(ctor, 3, 0, args.as_ptr());
            call_method(socket, sys::MP_QSTR_setblocking, &[obj::FALSE]);
            let select = import(sys::MP_QSTR_select);
            let poll = sys::mp_load_attr(select, sys::MP_QSTR_poll as sys::qstr);
            let poller = sys::mp_call_function_n_kw(poll, 0, 0, core::ptr::null());
            call_method(poller, sys::MP_QSTR_register, &[socket, obj::small_int(POLLOUT)]);
            // new_bytearray copies its initial contents; start from zeros.
            let zeros = [0u8; 256];
            let read_buf = sys::mp_obj_new_bytearray(zeros.len(), zeros.as_ptr().cast());
            let addr = item(4);
            let connect_error = catch(|| call_method(socket, sys::MP_QSTR_connect, &[addr])).err();
            Connecting {
                socket,
                poller,
                read_buf,
                connect_error,
            }
        })?;
        self.socket = connecting.socket;
        self.poller = connecting.poller;
        self.read_buf = connecting.read_buf;
        if let Some(exc) = connecting.connect_error {
            let e = self.failure(exc, NetFailure::ConnectRefused);
            if !self.raised.is_null() || (e.os_error != EINPROGRESS && e.os_error != EAGAIN) {
                return Err(e);
            }
        }
        // Writable means connected (or failed: the first write then says how).
        self.wait(POLLOUT, NetFailure::ConnectTimeout)?;
        if tls {
            self.start_tls(host)?;
        }
        Ok(())
    }

    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), NetError> {
        while !bytes.is_empty() {
            let socket = self.socket;
            let chunk = bytes;
            // SAFETY: the bytearray only borrows `chunk` for this call; nothing keeps it.
            let written = self.vm(NetFailure::Write, || unsafe {
                let view = sys::mp_obj_new_bytearray_by_ref(chunk.len(), chunk.as_ptr() as *mut _);
                call_method(socket, sys::MP_QSTR_write, &[view])
            })?;
            match obj::int_value(written) {
                Some(Ok(n)) if n > 0 => {
                    // mbedTLS accepts application data only once the handshake is done.
                    self.handshaking = false;
                    let n = usize::try_from(n).unwrap_or(usize::MAX).min(bytes.len());
                    bytes = &bytes[n..];
                }
                // None (would block) or 0: wait until writable.
                _ => self.wait(POLLOUT, NetFailure::Write)?,
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        loop {
            let (socket, read_buf) = (self.socket, self.read_buf);
            // SAFETY: readinto fills our own 256-byte bytearray, under catch.
            let got = self.vm(NetFailure::Read, || unsafe {
                call_method(socket, sys::MP_QSTR_readinto, &[read_buf])
            })?;
            match obj::int_value(got) {
                Some(Ok(n)) if n >= 0 => {
                    let src = obj::buffer(read_buf, false).unwrap_or(&mut []);
                    let n = usize::try_from(n).unwrap_or(0).min(buf.len()).min(src.len());
                    buf[..n].copy_from_slice(&src[..n]);
                    return Ok(n);
                }
                _ => self.wait(POLLIN, NetFailure::Read)?,
            }
        }
    }

    fn close(&mut self) {
        if !self.socket.is_null() {
            let socket = self.socket;
            // Closing is best effort; an exception here is not the caller's problem.
            // SAFETY: closing our own socket object under catch.
            let _ = catch(|| unsafe {
                call_method(socket, sys::MP_QSTR_close, &[]);
            });
        }
        self.socket = obj::NULL;
        self.poller = obj::NULL;
        self.read_buf = obj::NULL;
        self.handshaking = false;
    }
}
