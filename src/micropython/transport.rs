//! The MicroPython transport: the firmware's own `socket` and `select` modules, driven in
//! non-blocking mode through the object API so that connect, send and the wait for the
//! response all share one deadline. `getaddrinfo` blocks on most ports (it is not bounded
//! by the deadline there; the README says so). HTTPS arrives with the TLS work.
//!
//! Every call that may raise goes through [`protect`]. An `OSError` becomes a [`NetError`];
//! anything else (a `KeyboardInterrupt`, a `MemoryError`) is kept in `raised` and re-raised
//! by the binding once the core has returned, so Ctrl-C still stops the program.

use honch_mp_sys as sys;

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

pub struct MpTransport {
    socket: Obj,
    poller: Obj,
    read_buf: Obj,
    deadline: u32,
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
    pub fn new() -> Self {
        Self {
            socket: obj::NULL,
            poller: obj::NULL,
            read_buf: obj::NULL,
            deadline: 0,
            raised: obj::NULL,
        }
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
            (f, _) => f,
        };
        NetError::new(failure, errno)
    }

    /// Waits until the socket is ready for `events` or the deadline passes.
    fn wait(&mut self, events: isize, failure: NetFailure) -> Result<(), NetError> {
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
        if tls {
            return Err(NetError::new(NetFailure::TlsHandshake, 0));
        }
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
        self.wait(POLLOUT, NetFailure::ConnectTimeout)
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
                Some(Ok(n)) if n > 0 => bytes = &bytes[(n as usize).min(bytes.len())..],
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
    }
}
