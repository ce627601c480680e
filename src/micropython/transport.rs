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
//! Every call that may raise goes through [`protect`]. An `OSError` becomes a [`NetError`];
//! anything else (a `KeyboardInterrupt`, a `MemoryError`) is kept in `raised` and re-raised
//! by the binding once the core has returned, so Ctrl-C still stops the program.

use honch_mp_sys as sys;

use super::layout::{ObjBase, StrObj};
use super::obj::{self, builtin_type, Obj};
use super::platform::protect;
use crate::delivery::transport::{NetError, NetFailure, Transport};

/// MicroPython's errno values (py/mperrno.h; the unix port uses the host's, which agree).
const EAGAIN: i32 = 11;
const ECONNREFUSED: i32 = 111;
const ETIMEDOUT: i32 = 110;
const EINPROGRESS: i32 = 115;
/// select.POLLIN / select.POLLOUT.
const POLLIN: isize = 1;
const POLLOUT: isize = 4;

/// The bundled trust anchor (GTS Root R1) as a constant `bytes` object, so that loading it
/// copies nothing.
static DEFAULT_ANCHOR: StrObj = StrObj {
    base: ObjBase {
        type_: builtin_type!(mp_type_bytes),
    },
    hash: 0,
    len: crate::trust::DEFAULT_TRUST_ANCHOR.len(),
    data: crate::trust::DEFAULT_TRUST_ANCHOR.as_ptr(),
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
    /// The CA data to trust (`bytes`/`str`, DER or PEM); NULL: the bundled anchor.
    ca_certs: Obj,
    verify: bool,
    /// A TLS session is open and its handshake has not finished yet.
    handshaking: bool,
    /// A non-OSError exception raised during I/O, to re-raise after the core returns.
    pub raised: Obj,
}

/// Calls `obj.name(*args)`; raises like Python does (use inside [`protect`]).
///
/// # Safety
/// `obj` and `args` must be valid objects; call only under an nlr handler.
unsafe fn call_method(obj: Obj, name: u32, args: &[Obj]) -> Obj {
    let mut dest = [obj::NULL; 6];
    // SAFETY: dest has room for the method, self and up to 4 arguments.
    unsafe {
        sys::mp_load_method(obj, name as sys::qstr, dest.as_mut_ptr());
        for (slot, &a) in dest[2..].iter_mut().zip(args) {
            *slot = a;
        }
        sys::mp_call_method_n_kw(args.len(), 0, dest.as_ptr())
    }
}

/// Imports a module by name (use inside [`protect`]).
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

impl MpTransport {
    /// `ca_certs`: the user's CA data, or NULL for the bundled anchor; `verify`: check the
    /// server's certificate (`verify_tls`).
    pub fn new(ca_certs: Obj, verify: bool) -> Self {
        Self {
            socket: obj::NULL,
            poller: obj::NULL,
            read_buf: obj::NULL,
            deadline: 0,
            ca_certs,
            verify,
            handshaking: false,
            raised: obj::NULL,
        }
    }

    /// Wraps the connected socket in a TLS client session (the handshake happens during the
    /// first write). Certificates are verified unless `verify_tls=False`.
    fn start_tls(&mut self, host: &str) -> Result<(), NetError> {
        let (socket, poller, verify) = (self.socket, self.poller, self.verify);
        let ca = if self.ca_certs.is_null() {
            (&raw const DEFAULT_ANCHOR) as Obj
        } else {
            self.ca_certs
        };
        let mut wrapped = obj::NULL;
        let exc = protect(|| {
            // SAFETY: VM calls under protect, on objects the VM made (and our constant bytes).
            unsafe {
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
                    // MicroPython's load_verify_locations takes the CA data positionally.
                    call_method(ctx, sys::MP_QSTR_load_verify_locations, &[ca]);
                }
                let name = sys::mp_obj_new_str(host.as_ptr().cast(), host.len());
                let mut dest = [obj::NULL; 7];
                sys::mp_load_method(ctx, sys::MP_QSTR_wrap_socket as sys::qstr, dest.as_mut_ptr());
                dest[2] = socket;
                dest[3] = obj::qstr_obj(sys::MP_QSTR_server_hostname);
                dest[4] = name;
                dest[5] = obj::qstr_obj(sys::MP_QSTR_do_handshake_on_connect);
                dest[6] = obj::FALSE;
                wrapped = sys::mp_call_method_n_kw(1, 2, dest.as_ptr());
                call_method(wrapped, sys::MP_QSTR_setblocking, &[obj::FALSE]);
                call_method(poller, sys::MP_QSTR_unregister, &[socket]);
                call_method(poller, sys::MP_QSTR_register, &[wrapped, obj::small_int(POLLOUT)]);
            }
        });
        if let Some(e) = exc {
            let mut err = self.failure(e, NetFailure::TlsHandshake);
            if err.failure != NetFailure::TlsCert {
                err.failure = NetFailure::TlsHandshake;
            }
            return Err(err);
        }
        // From now on the session is the socket (closing it closes the TCP connection).
        self.socket = wrapped;
        self.handshaking = true;
        Ok(())
    }

    /// Milliseconds left before the deadline (0 when passed).
    fn remaining(&self) -> u32 {
        let left = self.deadline.wrapping_sub(now_ms()) as i32;
        left.max(0) as u32
    }

    /// Turns an exception from a protected call into a NetError, keeping non-OSErrors.
    fn failure(&mut self, exc: Obj, failure: NetFailure) -> NetError {
        let ty = obj::type_of(exc);
        // SAFETY: both are type objects; the check only walks their parents.
        let is_os_error =
            unsafe { sys::mp_obj_is_subclass_fast(ty.cast(), builtin_type!(mp_type_OSError).cast()) };
        if !is_os_error {
            // SAFETY: as above.
            let is_value_error =
                unsafe { sys::mp_obj_is_subclass_fast(ty.cast(), builtin_type!(mp_type_ValueError).cast()) };
            if self.handshaking && is_value_error {
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
            Some(Ok(n)) => n as i32,
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
        let (poller, socket) = (self.poller, self.socket);
        let exc = protect(|| {
            // SAFETY: poller and socket are the objects created in `open`.
            unsafe {
                call_method(poller, sys::MP_QSTR_modify, &[socket, obj::small_int(events)]);
                call_method(
                    poller,
                    sys::MP_QSTR_poll,
                    &[obj::small_int(left.min(i32::MAX as u32) as isize)],
                );
            }
        });
        match exc {
            Some(e) => Err(self.failure(e, failure)),
            None => Ok(()),
        }
    }
}

impl Drop for MpTransport {
    fn drop(&mut self) {
        self.close();
    }
}

impl Transport for MpTransport {
    fn open(&mut self, host: &str, port: u16, tls: bool, timeout_ms: u32) -> Result<(), NetError> {
        self.close();
        self.deadline = now_ms().wrapping_add(timeout_ms);
        // Resolve: socket.getaddrinfo(host, port, 0, SOCK_STREAM)[0]
        let mut info = obj::NULL;
        let exc = protect(|| {
            // SAFETY: VM calls under protect; the objects come from the VM itself.
            unsafe {
                let socket = import(sys::MP_QSTR_socket);
                let host = sys::mp_obj_new_str(host.as_ptr().cast(), host.len());
                let stream = sys::mp_load_attr(socket, sys::MP_QSTR_SOCK_STREAM as sys::qstr);
                let getaddrinfo = sys::mp_load_attr(socket, sys::MP_QSTR_getaddrinfo as sys::qstr);
                let args = [host, obj::small_int(port as isize), obj::small_int(0), stream];
                let list = sys::mp_call_function_n_kw(getaddrinfo, 4, 0, args.as_ptr());
                info = sys::mp_obj_subscr(list, obj::small_int(0), obj::SENTINEL);
            }
        });
        if let Some(e) = exc {
            return Err(self.failure(e, NetFailure::Dns));
        }
        // Connect without blocking: socket(af, type, proto), setblocking(False), connect(addr).
        let mut connect_error = obj::NULL;
        let exc = protect(|| {
            // SAFETY: as above; `info` is the (af, type, proto, canonname, addr) tuple.
            unsafe {
                let socket_mod = import(sys::MP_QSTR_socket);
                let item = |i: isize| sys::mp_obj_subscr(info, obj::small_int(i), obj::SENTINEL);
                let ctor = sys::mp_load_attr(socket_mod, sys::MP_QSTR_socket as sys::qstr);
                let args = [item(0), item(1), item(2)];
                self.socket = sys::mp_call_function_n_kw(ctor, 3, 0, args.as_ptr());
                call_method(self.socket, sys::MP_QSTR_setblocking, &[obj::FALSE]);
                let select = import(sys::MP_QSTR_select);
                let poll = sys::mp_load_attr(select, sys::MP_QSTR_poll as sys::qstr);
                self.poller = sys::mp_call_function_n_kw(poll, 0, 0, core::ptr::null());
                call_method(
                    self.poller,
                    sys::MP_QSTR_register,
                    &[self.socket, obj::small_int(POLLOUT)],
                );
                // new_bytearray copies its initial contents; start from zeros.
                let zeros = [0u8; 256];
                self.read_buf = sys::mp_obj_new_bytearray(zeros.len(), zeros.as_ptr().cast());
                let addr = item(4);
                connect_error = obj::NULL;
                let inner = protect(|| {
                    call_method(self.socket, sys::MP_QSTR_connect, &[addr]);
                });
                if let Some(e) = inner {
                    connect_error = e;
                }
            }
        });
        if let Some(e) = exc {
            return Err(self.failure(e, NetFailure::ConnectRefused));
        }
        if !connect_error.is_null() {
            let e = self.failure(connect_error, NetFailure::ConnectRefused);
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
            let mut written = obj::NULL;
            let socket = self.socket;
            let exc = protect(|| {
                // SAFETY: the bytearray only borrows `bytes` for this call; nothing keeps it.
                unsafe {
                    let view = sys::mp_obj_new_bytearray_by_ref(bytes.len(), bytes.as_ptr() as *mut _);
                    written = call_method(socket, sys::MP_QSTR_write, &[view]);
                }
            });
            if let Some(e) = exc {
                return Err(self.failure(e, NetFailure::Write));
            }
            match obj::int_value(written) {
                Some(Ok(n)) if n > 0 => {
                    // mbedTLS accepts application data only once the handshake is done.
                    self.handshaking = false;
                    bytes = &bytes[(n as usize).min(bytes.len())..]
                }
                // None (would block) or 0: wait until writable.
                _ => self.wait(POLLOUT, NetFailure::Write)?,
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        loop {
            let mut got = obj::NULL;
            let (socket, read_buf) = (self.socket, self.read_buf);
            let exc = protect(|| {
                // SAFETY: readinto fills our own 256-byte bytearray.
                unsafe { got = call_method(socket, sys::MP_QSTR_readinto, &[read_buf]) };
            });
            if let Some(e) = exc {
                return Err(self.failure(e, NetFailure::Read));
            }
            match obj::int_value(got) {
                Some(Ok(n)) if n >= 0 => {
                    let n = (n as usize).min(buf.len());
                    let src = obj::buffer(read_buf, false).unwrap_or(&mut []);
                    let n = n.min(src.len());
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
            // SAFETY: closing our own socket object under protect.
            let _ = protect(|| unsafe {
                call_method(socket, sys::MP_QSTR_close, &[]);
            });
        }
        self.socket = obj::NULL;
        self.poller = obj::NULL;
        self.read_buf = obj::NULL;
        self.handshaking = false;
    }
}
