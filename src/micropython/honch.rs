//! `_honch_core.Honch` on MicroPython: the object layout, constructor and methods. Each
//! method converts its arguments, calls the core, and converts the result back.

use core::ffi::c_void;
use core::mem::size_of;

use honch_mp_sys as sys;

use super::compat::{self, CLIENT_TYPE};
use super::layout::{fun_sig, FunVar, ObjBase, ObjType, RomDict, RomElem, Slots};
use super::lifecycle::{
    flush, install_error_hook, last_error, report_log_error, run, shutdown, tick, uninstall_error_hook,
};
use super::obj::{self, builtin_type, qstr_rom, Obj, Qstr};
use super::platform;
use super::props::{MpPair, MpProps};
use super::raise::{finish, Raise, Result};
use crate::client::Client;
use crate::config::{self, ConfigBuilder, Field, FieldKind};
use crate::record;
use crate::status::{Error, Status};

/// The instance: a GC object. `buffer` and `connectivity_callback` keep those objects alive
/// (the GC scans this object); `client` holds the core state, whose few heap blocks come
/// from the GC heap too (see `alloc.rs`).
#[repr(C)]
pub(super) struct HonchObj {
    base: ObjBase,
    buffer: Obj,
    pub(super) connectivity_callback: Obj,
    /// The `sys.excepthook` wrapper `install_error_hook()` installed, or NULL.
    pub(super) error_hook: Obj,
    /// `ca_certs` (the object the caller gave), or NULL for the bundled anchor.
    pub(super) ca_certs: Obj,
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

/// The buffer's address range, to refuse it as a property value.
fn range(buf: &[u8]) -> (usize, usize) {
    let start = buf.as_ptr() as usize;
    (start, start + buf.len())
}

unsafe extern "C" fn make_new(
    _ty: *const sys::mp_obj_type_t,
    n_args: usize,
    n_kw: usize,
    args: *const Obj,
) -> Obj {
    // SAFETY: MicroPython passes n_args positional objects followed by n_kw key/value pairs.
    let args = unsafe { core::slice::from_raw_parts(args, n_args + 2 * n_kw) };
    finish(construct(HONCH_TYPE.as_type(), n_args, args))
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
            let q = if obj::is_qstr(key) {
                (key as usize >> 3) as Qstr
            } else {
                sys::MP_QSTR_name as Qstr
            };
            return Err(Raise::SdkNamed(config::UNKNOWN_KEYWORD, q));
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
                        None if obj::is_type(value, builtin_type!(mp_type_int)) => Some(i64::MAX),
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
                    None => obj::buffer(value, false).map(|b| &*b),
                };
                match data {
                    Some(d) if crate::trust::looks_like_certificates(d) => ca_certs = value,
                    _ => return Err(config::wrong_type(field).into()),
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
        platform::print_line(b"honch: warning: ", crate::trust::VERIFY_DISABLED_WARNING);
    }
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

/// Runs `f` on the instance `self_in` with its re-acquired event buffer.
pub(super) fn with_client<T>(self_in: Obj, f: impl FnOnce(&mut Client, &mut [u8]) -> Result<T>) -> Result<T> {
    with_instance(self_in, |this, buf| f(&mut this.client, buf))
}

/// Like [`with_client`], with the whole instance (its callback and hook fields).
pub(super) fn with_instance<T>(
    self_in: Obj,
    f: impl FnOnce(&mut HonchObj, &mut [u8]) -> Result<T>,
) -> Result<T> {
    if !obj::is_type(self_in, HONCH_TYPE.as_type()) && !obj::is_type(self_in, CLIENT_TYPE.as_type()) {
        return Err(NOT_A_CLIENT.into());
    }
    // SAFETY: `self_in` is a Honch instance, created by `construct`; the VM is single
    // threaded and `busy` rules out re-entrant use, so this is the only reference.
    let this = unsafe { &mut *(self_in as *mut HonchObj) };
    if this.busy {
        return Err(BUSY.into());
    }
    let buf = obj::buffer(this.buffer, true).unwrap_or(&mut []);
    this.busy = true;
    let result = f(this, buf);
    this.busy = false;
    result
}

impl HonchObj {
    pub(super) fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// A transport for one upload, with this client's TLS trust settings.
    pub(super) fn transport(&self) -> super::transport::MpTransport {
        super::transport::MpTransport::new(self.ca_certs, self.client.config().verify_tls)
    }
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
    // SAFETY: MicroPython passes n_args ≥ 1 objects (self first), as the signature demands.
    let args = unsafe { core::slice::from_raw_parts(args, n_args) };
    let mut out = [obj::NULL; N];
    for (slot, &a) in out.iter_mut().zip(&args[1..]) {
        *slot = a;
    }
    // SAFETY: `kw` is the keyword map MicroPython built for this call (may be empty).
    let kw = unsafe { kw.as_ref() };
    if let Some(map) = kw {
        let mut matched = 0;
        for (i, name) in names.iter().enumerate() {
            let key = obj::qstr_obj(*name);
            // SAFETY: a lookup (no insertion) in a valid map never raises.
            let elem =
                unsafe { sys::mp_map_lookup(map as *const _ as *mut _, key, sys::HONCH_MAP_LOOKUP as _) };
            if !elem.is_null() {
                // SAFETY: a non-null lookup result points at a filled map element.
                out[i] = unsafe { (*elem).value };
                matched += 1;
            }
        }
        if matched != obj::map_len(map) {
            return Err(Error::invalid("unexpected keyword argument").into());
        }
    }
    if let Some(i) = out[..required.min(N)].iter().position(|o| o.is_null()) {
        return Err(Raise::MissingArgument(names[i] as Qstr));
    }
    Ok((args[0], out))
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

const fn method(fun: *const c_void, n_min: u32, n_max: u32) -> FunVar {
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
        $(static $obj: FunVar = method($fun as *const c_void, $min, $max);)*
        $(static $hobj: FunVar = method($hfun as *const c_void, $hmin, $hmax);)*
        $(static $cobj: FunVar = method($cfun as *const c_void, $cmin, $cmax);)*
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
    [make_new as *const c_void, &raw const LOCALS as *const c_void],
);
