//! `_honch_core.Honch` on MicroPython: the object layout, constructor and methods. Each
//! method converts its arguments, calls the core, and converts the result back.

use core::ffi::c_void;
use core::mem::size_of;
use core::ptr::{addr_of, addr_of_mut};

use honch_mp_sys as sys;

use super::compat::{self, CLIENT_TYPE};
use super::layout::{fun_sig, slot, FunVar, MethodFn, ObjBase, ObjType, RomDict, RomElem, Slots};
use super::lifecycle::{
    flush, install_error_hook, last_error, report_log_error, run, shutdown, tick, uninstall_error_hook,
};
use super::obj::{self, builtin_type, qstr_rom, Obj};
use super::platform::{self, catch};
use super::props::{MpPair, MpProps};
use super::raise::{finish, Name, Raise, Result};
use crate::client::Client;
use crate::config::{self, ConfigBuilder, Field, FieldKind};
use crate::record;
use crate::status::{Error, Status};

/// The instance: a GC object. `buffer` and `connectivity_callback` keep those objects alive
/// (the GC scans this object); `client` holds the core state, whose few heap blocks come
/// from the GC heap too (see `alloc.rs`).
///
/// Only [`with_instance`] touches an instance, through raw field pointers: a call that
/// re-enters from Python code (a callback) while another call runs reads `busy` alone and
/// never makes a second reference to the instance or its client.
#[repr(C)]
pub(super) struct HonchObj {
    base: ObjBase,
    buffer: Obj,
    connectivity_callback: Obj,
    /// The `sys.excepthook` wrapper `install_error_hook()` installed, or NULL.
    error_hook: Obj,
    /// `ca_certs` as a tuple of DER `bytes`, or NULL for the bundled anchor.
    ca_certs: Obj,
    /// Set while a method runs, so a re-entrant call (from a callback) gets `BUSY`.
    busy: bool,
    client: Client,
}

const BUSY: Error = Error::new(
    Status::Busy,
    "client is busy (called again from inside a callback)",
);
const POSITIONAL: Error = Error::invalid("Honch() takes keyword arguments only");
const NOT_A_CLIENT: Error = Error::invalid("method called on an object that is not a Honch client");
const NO_MEMORY: Error = Error::new(Status::OutOfMemory, "out of memory");

unsafe extern "C" fn make_new(
    _ty: *const sys::mp_obj_type_t,
    n_args: usize,
    n_kw: usize,
    args: *const Obj,
) -> Obj {
    finish(construct(
        HONCH_TYPE.as_type(),
        n_args,
        obj::args(args, n_args + 2 * n_kw),
    ))
}

/// `bytes`, `bytearray`, `memoryview` (or a subclass): what `ca_certs` takes besides `str`,
/// as on CPython.
fn is_bytes_like(o: Obj) -> bool {
    let base = obj::native_value(o).unwrap_or(o);
    [
        builtin_type!(mp_type_bytes),
        builtin_type!(mp_type_bytearray),
        builtin_type!(mp_type_memoryview),
    ]
    .into_iter()
    .any(|t| obj::is_type(base, t))
}

/// Most certificates `ca_certs` may hold.
const MAX_CA_CERTIFICATES: usize = 16;

/// `ca_certs` (PEM text or DER, `str` or bytes-like) as the firmware's TLS module takes it:
/// a tuple of DER certificates as `bytes`, copied now, so that a later change to the caller's
/// object cannot reach the client. DER, because the TLS module parses PEM only where its
/// mbedTLS was built with PEM support.
fn certificates_object(given: Obj) -> Result<Obj> {
    const TOO_MANY: Error = Error::invalid("ca_certs holds more than 16 certificates");
    let data: &[u8] = match obj::str_data(given) {
        Some(text) => text.as_bytes(),
        None => obj::buffer(given, false).map_or(&[], |b| &*b),
    };
    let certificates = crate::trust::certificates(data).map_err(Error::invalid)?;
    let mut items = [obj::NULL; MAX_CA_CERTIFICATES];
    for (slot, certificate) in certificates.enumerate() {
        let item = items.get_mut(slot).ok_or(TOO_MANY)?;
        *item = match certificate {
            crate::trust::Certificate::Der(der) => new_certificate(der)?,
            crate::trust::Certificate::Pem(text) => {
                let bound = crate::trust::decoded_len_bound(text);
                // SAFETY: a plain GC allocation (NULL when the heap is full; never raises),
                // freed below; nothing else refers to it.
                let scratch = unsafe { sys::gc_alloc(bound, 0) }.cast::<u8>();
                if scratch.is_null() {
                    return Err(NO_MEMORY.into());
                }
                // SAFETY: `scratch` is a fresh block of `bound` bytes.
                let out = unsafe { core::slice::from_raw_parts_mut(scratch, bound) };
                let der = crate::trust::decode_pem_body(text, out).map(|n| &out[..n]);
                let made = der
                    .ok_or(Error::invalid(crate::trust::BAD_PEM).into())
                    .and_then(new_certificate);
                // SAFETY: `scratch` came from gc_alloc above and is not used after this.
                unsafe { sys::gc_free(scratch.cast()) };
                made?
            }
        };
    }
    let count = items.iter().take_while(|o| !o.is_null()).count();
    // SAFETY: a new tuple of `count` bytes objects, under catch (it may raise MemoryError).
    catch(|| unsafe { sys::mp_obj_new_tuple(count, items.as_ptr()) }).map_err(Raise::Exception)
}

/// A new `bytes` object holding a copy of the certificate `der`, which must have a
/// certificate's shape (CPython's stack parses it fully at construction; the firmware's only
/// at the first upload).
fn new_certificate(der: &[u8]) -> Result<Obj> {
    if !crate::trust::is_certificate(der) {
        return Err(Error::invalid(crate::trust::NOT_A_CERTIFICATE).into());
    }
    new_bytes(der)
}

/// A new `bytes` object holding a copy of `data` (MemoryError is returned, not raised).
fn new_bytes(data: &[u8]) -> Result<Obj> {
    // SAFETY: copies `data` into a new bytes object, under catch.
    catch(|| unsafe { sys::mp_obj_new_bytes(data.as_ptr(), data.len()) }).map_err(Raise::Exception)
}

/// Builds an instance of `ty` (`Honch`, or the compatibility `Client`) from keyword pairs.
pub(super) fn construct(ty: *const sys::mp_obj_type_t, n_args: usize, args: &[Obj]) -> Result<Obj> {
    if n_args != 0 {
        return Err(POSITIONAL.into());
    }
    let seed = platform::seed()?;
    let mut builder = ConfigBuilder::new();
    let mut buffer = obj::NULL;
    let mut callback = obj::NULL;
    let mut ca_certs = obj::NULL;
    for pair in args.chunks_exact(2) {
        let (key, value) = (pair[0], pair[1]);
        let name = obj::str_data(key).unwrap_or("");
        let Some(field) = config::field(name) else {
            return Err(Raise::SdkNamed(config::UNKNOWN_KEYWORD, Name::new(name)));
        };
        let is_none = value == obj::NONE;
        match field.kind() {
            FieldKind::Text => {
                let text = if is_none {
                    None
                } else {
                    Some(obj::str_data(value).ok_or_else(|| config::wrong_type(field))?)
                };
                builder.set_text(field, text)?;
            }
            FieldKind::Integer => {
                let int = if is_none {
                    None
                } else {
                    match obj::int_value(value) {
                        Some(Ok(i)) => Some(i),
                        // Beyond i64: certainly too large; the core names the field.
                        Some(Err(_)) => Some(i64::MAX),
                        None if obj::is_int(value) => Some(i64::MAX),
                        None => return Err(config::wrong_type(field).into()),
                    }
                };
                builder.set_int(field, int)?;
            }
            FieldKind::Buffer => buffer = if is_none { obj::NULL } else { value },
            FieldKind::Callback => {
                // SAFETY: mp_obj_is_callable only inspects the object's type.
                if !is_none && !unsafe { sys::mp_obj_is_callable(value) } {
                    return Err(config::wrong_type(field).into());
                }
                callback = if is_none { obj::NULL } else { value };
            }
            FieldKind::Certificates if !is_none => {
                let data = match obj::str_data(value) {
                    Some(text) => Some(text.as_bytes()),
                    None if is_bytes_like(value) => obj::buffer(value, false).map(|b| &*b),
                    None => None,
                };
                match data {
                    Some(_) => ca_certs = value,
                    None => return Err(config::wrong_type(field).into()),
                }
            }
            FieldKind::Certificates => {}
            FieldKind::Flag => {
                let flag = if is_none {
                    None
                } else if value == obj::TRUE || value == obj::FALSE {
                    Some(value == obj::TRUE)
                } else {
                    return Err(config::wrong_type(field).into());
                };
                builder.set_flag(field, flag)?;
            }
            FieldKind::Unsupported if !is_none => return Err(config::HOOKS_UNSUPPORTED.into()),
            FieldKind::Unsupported => {}
        }
    }
    let config = builder.finish()?;
    if !config.verify_tls {
        platform::print_line(b"honch: warning: ", crate::trust::VERIFY_DISABLED_WARNING)
            .map_err(Raise::Exception)?;
    }
    let ca_certs = if ca_certs.is_null() {
        obj::NULL
    } else {
        certificates_object(ca_certs)?
    };
    if buffer.is_null() {
        return Err(config::missing(Field::EventBuffer).into());
    }
    let bytes = obj::buffer(buffer, true).ok_or_else(|| config::wrong_type(Field::EventBuffer))?;
    // gc_alloc rather than m_malloc: it returns NULL instead of raising, and this frame
    // owns `config`.
    // SAFETY: plain allocation from the GC heap (no finaliser: nothing in HonchObj needs one).
    let raw = unsafe { sys::gc_alloc(size_of::<HonchObj>(), 0) }.cast::<HonchObj>();
    if raw.is_null() {
        return Err(NO_MEMORY.into());
    }
    let client = Client::new(config, bytes, seed, &platform::MpClock, "micropython")?;
    // SAFETY: `raw` is a fresh, suitably aligned (GC blocks are word-aligned or better)
    // allocation of the right size; writing initialises it. The GC sees `buffer` and
    // `callback` inside it from now on.
    unsafe {
        raw.write(HonchObj {
            base: ObjBase { type_: ty },
            buffer,
            connectivity_callback: if callback.is_null() { obj::NONE } else { callback },
            error_hook: obj::NULL,
            ca_certs,
            busy: false,
            client,
        });
    }
    Ok(raw.cast())
}

/// Where the event buffer's bytes are, as the buffer protocol reported them at one moment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct BufferGuard {
    object: Obj,
    start: usize,
    len: usize,
}

impl BufferGuard {
    fn read(object: Obj) -> Self {
        let (start, len) = obj::buffer(object, true).map_or((0, 0), |b| (b.as_mut_ptr() as usize, b.len()));
        Self { object, start, len }
    }

    /// Whether the buffer is still where it was: false once Python code resized it (a
    /// `bytearray` then moves or shrinks, and the old bytes may belong to another object).
    pub(super) fn unchanged(&self) -> bool {
        *self == Self::read(self.object)
    }
}

/// The buffer's address range, to refuse it as a property value.
fn range(buf: &[u8]) -> (usize, usize) {
    let start = buf.as_ptr() as usize;
    (start, start + buf.len())
}

pub(super) const BUFFER_RESIZED: Error = Error::new(
    Status::Io,
    "event_buffer was resized while the call ran (by a callback or a __str__); nothing was written to it",
);

/// A method's hold on its instance, given by [`with_instance`]. It reaches the instance's
/// fields through raw pointers and hands out the client and the event buffer only for as
/// long as no Python code runs: after any (a callback, `str()`, an import) the buffer is
/// asked for again with [`Instance::events`], which refuses a buffer that moved meanwhile.
pub(super) struct Instance {
    ptr: *mut HonchObj,
    object: Obj,
    /// The buffer as first acquired during this call.
    acquired: Option<BufferGuard>,
}

impl Instance {
    /// The instance object itself.
    pub(super) fn object(&self) -> Obj {
        self.object
    }

    pub(super) fn connectivity_callback(&self) -> Obj {
        // SAFETY: `ptr` is a live HonchObj (see `with_instance`); reading one plain field.
        unsafe { addr_of!((*self.ptr).connectivity_callback).read() }
    }

    pub(super) fn error_hook(&self) -> Obj {
        // SAFETY: as above.
        unsafe { addr_of!((*self.ptr).error_hook).read() }
    }

    pub(super) fn set_error_hook(&mut self, hook: Obj) {
        // SAFETY: as above; writing one plain field of the instance this call holds.
        unsafe { addr_of_mut!((*self.ptr).error_hook).write(hook) }
    }

    /// The event buffer's position now; an error if it moved since this call first looked.
    pub(super) fn guard(&mut self) -> Result<BufferGuard> {
        // SAFETY: as above.
        let object = unsafe { addr_of!((*self.ptr).buffer).read() };
        let now = BufferGuard::read(object);
        match self.acquired {
            Some(first) if first != now => Err(BUFFER_RESIZED.into()),
            _ => {
                self.acquired = Some(now);
                Ok(now)
            }
        }
    }

    /// The core client alone (for calls that do not touch the queue).
    pub(super) fn client(&mut self) -> &mut Client {
        // SAFETY: `busy` guarantees this call is the only one using the client, and the
        // reference lives no longer than `&mut self`.
        unsafe { &mut *addr_of_mut!((*self.ptr).client) }
    }

    /// The client and the event buffer, acquired now. Use them only until Python code runs;
    /// then call this again.
    pub(super) fn events(&mut self) -> Result<(&mut Client, &mut [u8])> {
        let guard = self.guard()?;
        let buf: &mut [u8] = if guard.len == 0 {
            &mut []
        } else {
            // SAFETY: the buffer protocol reported `len` writable bytes at `start` just now;
            // the slice lives no longer than `&mut self`, during which no Python code runs
            // (the transport re-checks the guard after each VM call and stops on a change).
            unsafe { core::slice::from_raw_parts_mut(guard.start as *mut u8, guard.len) }
        };
        Ok((self.client(), buf))
    }

    /// A transport for one upload, with this client's TLS trust settings; it stops at the
    /// first VM call after which the event buffer moved.
    pub(super) fn transport(&mut self) -> Result<super::transport::MpTransport> {
        let guard = self.guard()?;
        // SAFETY: as in `connectivity_callback`.
        let ca_certs = unsafe { addr_of!((*self.ptr).ca_certs).read() };
        let verify = self.client().config().verify_tls;
        Ok(super::transport::MpTransport::new(ca_certs, verify, guard))
    }
}

/// Runs `f` on the instance `self_in` with its event buffer, acquired now.
pub(super) fn with_client<T>(self_in: Obj, f: impl FnOnce(&mut Client, &mut [u8]) -> Result<T>) -> Result<T> {
    with_instance(self_in, |this| {
        let (client, buf) = this.events()?;
        f(client, buf)
    })
}

/// `BUSY` when another call on the instance `self_in` is running (for `run()`, which calls
/// the user's function before it needs the instance).
pub(super) fn check_not_busy(self_in: Obj) -> Result<()> {
    with_instance(self_in, |_| Ok(()))
}

/// Runs `f` with a hold on the instance `self_in`; a call made while another one runs
/// (re-entered from a callback) fails with `BUSY` and touches nothing but `busy`.
///
/// `f` must not let a VM exception escape (every raising call goes through `catch`), so
/// that `busy` is always cleared.
pub(super) fn with_instance<T>(self_in: Obj, f: impl FnOnce(&mut Instance) -> Result<T>) -> Result<T> {
    if !obj::is_type(self_in, HONCH_TYPE.as_type()) && !obj::is_type(self_in, CLIENT_TYPE.as_type()) {
        return Err(NOT_A_CLIENT.into());
    }
    let ptr = self_in as *mut HonchObj;
    // SAFETY: `self_in` is a Honch instance created by `construct`. `busy` is read and written
    // through a raw field pointer, so a re-entrant call never aliases the outer call's
    // borrow of the client.
    unsafe {
        if addr_of!((*ptr).busy).read() {
            return Err(BUSY.into());
        }
        addr_of_mut!((*ptr).busy).write(true);
    }
    let mut instance = Instance {
        ptr,
        object: self_in,
        acquired: None,
    };
    let result = f(&mut instance);
    // SAFETY: as above.
    unsafe { addr_of_mut!((*ptr).busy).write(false) };
    result
}

/// Positional and keyword arguments of a method, by parameter name (`NULL` when absent).
/// The first `required` names must be given.
pub(super) fn method_args<const N: usize>(
    n_args: usize,
    args: *const Obj,
    kw: *mut sys::mp_map_t,
    names: [u32; N],
    required: usize,
) -> Result<(Obj, [Obj; N])> {
    let args = obj::args(args, n_args);
    let Some((&this, args)) = args.split_first() else {
        return Err(NOT_A_CLIENT.into());
    };
    let mut out = [obj::NULL; N];
    for (slot, &a) in out.iter_mut().zip(args) {
        *slot = a;
    }
    // SAFETY: `kw` is the keyword map MicroPython built for this call (may be empty).
    let kw = unsafe { kw.as_ref() };
    if let Some(map) = kw {
        // Matched by text, not mp_map_lookup: nothing here may call a key's __eq__.
        for (key, value) in obj::map_entries(map) {
            let given = obj::str_data(key).unwrap_or("");
            let slot = names
                .iter()
                .position(|&q| obj::str_data(obj::qstr_obj(q)) == Some(given));
            match slot {
                Some(i) => out[i] = value,
                None => return Err(Raise::UnexpectedKeyword(Name::new(given))),
            }
        }
    }
    if let Some(i) = out[..required.min(N)].iter().position(|o| o.is_null()) {
        return Err(Raise::MissingArgument(Name::of_qstr(names[i])));
    }
    Ok((this, out))
}

pub(super) fn text<'a>(o: Obj, err: Error) -> Result<&'a str> {
    Ok(obj::str_data(o).ok_or(err)?)
}

unsafe extern "C" fn track(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish((|| {
        let (this, [event, properties]) =
            method_args(n_args, args, kw, [sys::MP_QSTR_event, sys::MP_QSTR_properties], 1)?;
        let name = text(event, record::INVALID_EVENT_NAME)?;
        with_client(this, |client, buf| {
            let props = MpProps::new(properties, range(buf))?;
            client.track(buf, &platform::MpClock, name, &props)?;
            Ok(obj::NONE)
        })
    })())
}

unsafe extern "C" fn identify(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish((|| {
        let (this, [id, traits]) = method_args(
            n_args,
            args,
            kw,
            [sys::MP_QSTR_distinct_id, sys::MP_QSTR_traits],
            1,
        )?;
        let id = text(id, record::INVALID_DISTINCT_ID)?;
        with_client(this, |client, buf| {
            let props = MpProps::new(traits, range(buf))?;
            if crate::client::Properties::count(&props) >= record::MAX_PROPERTIES {
                return Err(record::TOO_MANY_PROPERTIES.into());
            }
            client.identify(buf, &platform::MpClock, id, &props)?;
            Ok(obj::NONE)
        })
    })())
}

unsafe extern "C" fn set_property(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish((|| {
        let (this, [key, value]) = method_args(n_args, args, kw, [sys::MP_QSTR_key, sys::MP_QSTR_value], 1)?;
        let key = text(key, record::INVALID_PROPERTY_KEY)?;
        with_client(this, |client, buf| {
            let props = MpPair {
                key,
                value,
                guard: range(buf),
            };
            client.set_property(buf, &platform::MpClock, &props)?;
            Ok(obj::NONE)
        })
    })())
}

const CONNECTED_NOT_BOOL: Error = Error::invalid("connected must be a boolean");

fn report_connectivity(this: Obj, connected: bool) -> Result<Obj> {
    with_client(this, |client, buf| {
        client.connectivity_changed(buf, &platform::MpClock, connected)?;
        Ok(obj::NONE)
    })
}

unsafe extern "C" fn connectivity_changed(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish((|| {
        let (this, [connected]) = method_args(n_args, args, kw, [sys::MP_QSTR_connected], 1)?;
        if connected != obj::TRUE && connected != obj::FALSE {
            return Err(CONNECTED_NOT_BOOL.into());
        }
        report_connectivity(this, connected == obj::TRUE)
    })())
}

unsafe extern "C" fn connected(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish(method_args(n_args, args, kw, [], 0).and_then(|(this, [])| report_connectivity(this, true)))
}

unsafe extern "C" fn disconnected(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish(method_args(n_args, args, kw, [], 0).and_then(|(this, [])| report_connectivity(this, false)))
}

unsafe extern "C" fn session_start(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish((|| {
        let (this, [name]) = method_args(n_args, args, kw, [sys::MP_QSTR_name], 0)?;
        let name = if name.is_null() || name == obj::NONE {
            None
        } else {
            Some(text(name, Error::invalid("session name must be a str or None"))?)
        };
        with_client(this, |client, buf| {
            client.session_start(buf, &platform::MpClock, name)?;
            Ok(obj::NONE)
        })
    })())
}

unsafe extern "C" fn session_end(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish((|| {
        let (this, []) = method_args(n_args, args, kw, [], 0)?;
        with_client(this, |client, buf| {
            client.session_end(buf, &platform::MpClock)?;
            Ok(obj::NONE)
        })
    })())
}

unsafe extern "C" fn reset(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish((|| {
        let (this, []) = method_args(n_args, args, kw, [], 0)?;
        with_client(this, |client, buf| {
            client.reset(buf)?;
            Ok(obj::NONE)
        })
    })())
}

unsafe extern "C" fn get_device_id(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    let id = (|| {
        let (this, []) = method_args(n_args, args, kw, [], 0)?;
        with_client(this, |client, _| {
            Ok(client.device_id().map(|s| (s.as_ptr(), s.len())))
        })
    })();
    match id {
        // SAFETY: copies `len` bytes of the client's device id into a new str object; the
        // id lives in the client, which the caller's reference keeps alive.
        Ok(Some((p, len))) => unsafe { sys::mp_obj_new_str(p.cast(), len) },
        Ok(None) => obj::NONE,
        Err(e) => finish(Err(e)),
    }
}

unsafe extern "C" fn queue_stats(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    let stats = (|| {
        let (this, []) = method_args(n_args, args, kw, [], 0)?;
        with_client(this, |client, _| {
            Ok((client.queue_stats(), client.config().max_queued_events))
        })
    })();
    let (s, max_queued) = match stats {
        Ok(v) => v,
        Err(e) => return finish(Err(e)),
    };
    let entries = [
        (sys::MP_QSTR_depth, s.depth),
        (sys::MP_QSTR_bytes_used, s.bytes_used),
        (sys::MP_QSTR_bytes_capacity, s.bytes_capacity),
        (sys::MP_QSTR_capacity_dropped_events, s.capacity_dropped_events),
        (
            sys::MP_QSTR_oversized_rejected_events,
            s.oversized_rejected_events,
        ),
        (sys::MP_QSTR_dead_lettered_events, s.dead_lettered_events),
        (sys::MP_QSTR_high_watermark_depth, s.high_watermark_depth),
        (sys::MP_QSTR_high_watermark_bytes, s.high_watermark_bytes),
        (sys::MP_QSTR_max_queued_events, max_queued),
    ];
    // Only plain data is alive here, so the allocations below may raise MemoryError.
    // SAFETY: creating and filling a new dict with valid keys and values.
    unsafe {
        let dict = sys::mp_obj_new_dict(entries.len());
        for (key, value) in entries {
            sys::mp_obj_dict_store(
                dict,
                obj::qstr_obj(key),
                sys::mp_obj_new_int_from_uint(value as _),
            );
        }
        dict
    }
}

const fn method(fun: MethodFn, n_min: u32, n_max: u32) -> FunVar {
    FunVar {
        base: ObjBase {
            type_: builtin_type!(mp_type_fun_builtin_var),
        },
        sig: fun_sig(n_min, n_max, true),
        fun,
    }
}

/// Builds the method objects and the two method tables: `Honch`'s (shared + `honch`) and
/// the compatibility `Client`'s (shared + `client`). MicroPython does not look methods up
/// in a native type's parent, so `Client` gets a complete table of its own.
macro_rules! methods {
    (
        shared { $($qstr:ident => $obj:ident = $fun:path [$min:expr, $max:expr]),* $(,)? }
        honch { $($hq:ident => $hobj:ident = $hfun:path [$hmin:expr, $hmax:expr]),* $(,)? }
        client { $($cq:ident => $cobj:ident = $cfun:path [$cmin:expr, $cmax:expr]),* $(,)? }
    ) => {
        $(static $obj: FunVar = method($fun, $min, $max);)*
        $(static $hobj: FunVar = method($hfun, $hmin, $hmax);)*
        $(static $cobj: FunVar = method($cfun, $cmin, $cmax);)*
        static LOCALS_TABLE: [RomElem; [$(stringify!($obj)),*, $(stringify!($hobj)),*].len()] = [
            $(RomElem { key: qstr_rom(sys::$qstr), value: &raw const $obj as *const c_void },)*
            $(RomElem { key: qstr_rom(sys::$hq), value: &raw const $hobj as *const c_void },)*
        ];
        pub(super) static CLIENT_LOCALS_TABLE: [RomElem; [$(stringify!($obj)),*, $(stringify!($cobj)),*].len()] = [
            $(RomElem { key: qstr_rom(sys::$qstr), value: &raw const $obj as *const c_void },)*
            $(RomElem { key: qstr_rom(sys::$cq), value: &raw const $cobj as *const c_void },)*
        ];
    };
}

methods! {
    shared {
        MP_QSTR_track => TRACK = track[1, 3],
        MP_QSTR_identify => IDENTIFY = identify[1, 3],
        MP_QSTR_set_property => SET_PROPERTY = set_property[1, 3],
        MP_QSTR_connectivity_changed => CONNECTIVITY_CHANGED = connectivity_changed[1, 2],
        MP_QSTR_connected => CONNECTED = connected[1, 1],
        MP_QSTR_disconnected => DISCONNECTED = disconnected[1, 1],
        MP_QSTR_session_start => SESSION_START = session_start[1, 2],
        MP_QSTR_session_end => SESSION_END = session_end[1, 1],
        MP_QSTR_reset => RESET = reset[1, 1],
        MP_QSTR_get_device_id => GET_DEVICE_ID = get_device_id[1, 1],
        MP_QSTR_tick => TICK = tick[1, 1],
        MP_QSTR_flush => FLUSH = flush[1, 1],
        MP_QSTR_shutdown => SHUTDOWN = shutdown[1, 1],
        MP_QSTR_last_error => LAST_ERROR = last_error[1, 1],
        MP_QSTR_run => RUN = run[2, 0xffff],
        MP_QSTR_install_error_hook => INSTALL_ERROR_HOOK = install_error_hook[1, 1],
        MP_QSTR_uninstall_error_hook => UNINSTALL_ERROR_HOOK = uninstall_error_hook[1, 1],
        MP_QSTR_queue_stats => QUEUE_STATS = queue_stats[1, 1],
    }
    honch {
        MP_QSTR_report_log_error => REPORT_LOG_ERROR = report_log_error[1, 2],
    }
    client {
        MP_QSTR_report_log_error => CLIENT_REPORT_LOG_ERROR = compat::report_log_error[1, 3],
        MP_QSTR_report_crash => CLIENT_REPORT_CRASH = compat::report_crash[1, 2],
    }
}

static LOCALS: RomDict = RomDict::new(&LOCALS_TABLE);

pub static HONCH_TYPE: ObjType<2> = ObjType::new(
    sys::MP_QSTR_Honch,
    Slots {
        make_new: 1,
        locals_dict: 2,
        ..Slots::NONE
    },
    [slot::make_new(make_new), slot::data(&LOCALS)],
);
