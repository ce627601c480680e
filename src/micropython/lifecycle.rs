//! The methods that reach beyond one event: uploads (`tick`, `flush`, `shutdown`), error
//! reporting (`report_log_error`, `last_error`, `run`, the `sys.excepthook` wrapper).

use core::ffi::c_void;

use honch_mp_sys as sys;

use super::honch::{method_args, text, with_client, with_instance, HonchObj};
use super::layout::{ObjBase, ObjType, Slots};
use super::obj::{self, builtin_type, Obj, Qstr};
use super::platform::{protect, MpClock};
use super::raise::{finish, Raise, Result};
use super::transport::MpTransport;
use crate::client::Client;
use crate::diagnostics::{format_printed_exception, LogLevel, BACKTRACE_MAX_BYTES, LAST_ERROR_LINE_BUF};
use crate::status::Error;

/// The connectivity callback's answer: offline only when it returns something false.
/// Its exceptions propagate unchanged.
fn online(this: &HonchObj) -> Result<bool> {
    let callback = this.connectivity_callback;
    if callback == obj::NONE || callback.is_null() {
        return Ok(true);
    }
    let mut answer = true;
    let exc = protect(|| {
        // SAFETY: calling the user's callable with no arguments, under protect.
        unsafe { answer = sys::mp_obj_is_true(sys::mp_call_function_0(callback)) };
    });
    match exc {
        Some(e) => Err(Raise::Exception(e)),
        None => Ok(answer),
    }
}

/// Prints the log line of a new distinct failure on the runtime's stdout.
fn log_failure(client: &mut Client) {
    let mut line = [0u8; LAST_ERROR_LINE_BUF];
    if let Some((level, text)) = client.take_log_line(&mut line) {
        let prefix: &[u8] = if level == LogLevel::Error {
            b"honch: error: "
        } else {
            b"honch: warning: "
        };
        for part in [prefix, text.as_bytes(), b"\n"] {
            // SAFETY: printing bytes through the platform printer; it does not raise.
            unsafe { sys::mp_print_strn(&sys::mp_plat_print, part.as_ptr().cast(), part.len(), 0, 0, 0) };
        }
    }
}

/// Runs an upload step with a fresh transport; re-raises a non-network exception (such
/// as Ctrl-C) that interrupted it.
fn upload(
    self_in: Obj,
    step: impl FnOnce(&mut Client, &mut [u8], &mut MpTransport, bool) -> crate::status::Result<()>,
) -> Result<Obj> {
    with_instance(self_in, |this, buf| {
        let online = online(this)?;
        let mut net = this.transport();
        let result = step(this.client(), buf, &mut net, online);
        log_failure(this.client());
        let raised = net.raised;
        drop(net);
        if !raised.is_null() {
            return Err(Raise::Exception(raised));
        }
        result?;
        Ok(obj::NONE)
    })
}

pub(super) unsafe extern "C" fn tick(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish(method_args(n_args, args, kw, [], 0).and_then(|(this, [])| {
        upload(this, |client, buf, net, online| {
            client.tick(buf, &MpClock, net, online)
        })
    }))
}

pub(super) unsafe extern "C" fn flush(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish(method_args(n_args, args, kw, [], 0).and_then(|(this, [])| {
        upload(this, |client, buf, net, online| {
            client.flush(buf, &MpClock, net, online)
        })
    }))
}

pub(super) unsafe extern "C" fn shutdown(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish(
        method_args(n_args, args, kw, [], 0)
            .and_then(|(this, [])| upload(this, |client, buf, net, _| client.shutdown(buf, &MpClock, net))),
    )
}

/// `report_log_error` with its arguments as objects (`component` may be NULL or None); the
/// `Honch` and the compatibility `Client` methods differ only in argument order.
pub(super) fn report_log_error_with(this: Obj, component: Obj, message: Obj) -> Result<Obj> {
    const BAD_MESSAGE: Error = Error::invalid("invalid error message");
    const BAD_COMPONENT: Error = Error::invalid("component must be a str or None");
    let message = text(message, BAD_MESSAGE)?;
    let component = if component.is_null() || component == obj::NONE {
        None
    } else {
        Some(text(component, BAD_COMPONENT)?)
    };
    with_client(this, |client, buf| {
        client.report_log_error(buf, component, message)?;
        Ok(obj::NONE)
    })
}

pub(super) unsafe extern "C" fn report_log_error(
    n_args: usize,
    args: *const Obj,
    kw: *mut sys::mp_map_t,
) -> Obj {
    finish(
        method_args(
            n_args,
            args,
            kw,
            [sys::MP_QSTR_message, sys::MP_QSTR_component],
            1,
        )
        .and_then(|(this, [message, component])| report_log_error_with(this, component, message)),
    )
}

fn new_str(s: &str) -> Obj {
    // SAFETY: copies the bytes into a new str object (may raise MemoryError: callers hold
    // only plain data at this point).
    unsafe { sys::mp_obj_new_str(s.as_ptr().cast(), s.len()) }
}

pub(super) unsafe extern "C" fn last_error(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    let e = match method_args(n_args, args, kw, [], 0)
        .and_then(|(this, [])| with_client(this, |c, _| Ok(c.last_error())))
    {
        Ok(e) => e,
        Err(e) => return finish(Err(e)),
    };
    let text_or_none = |s: Option<&'static str>| s.map_or(obj::NONE, new_str);
    let entries = [
        (sys::MP_QSTR_status, new_str(e.status.text())),
        (sys::MP_QSTR_reason, new_str(e.reason.as_str())),
        (sys::MP_QSTR_http, obj::small_int(e.http as isize)),
        (sys::MP_QSTR_os_error, obj::small_int(e.os_error as isize)),
        (sys::MP_QSTR_message, text_or_none(e.message())),
        (sys::MP_QSTR_component, text_or_none(e.component)),
    ];
    // SAFETY: building a new dict from valid objects; only plain data is alive here.
    unsafe {
        let dict = sys::mp_obj_new_dict(entries.len());
        for (key, value) in entries {
            sys::mp_obj_dict_store(dict, obj::qstr_obj(key), value);
        }
        dict
    }
}

fn is_exception(exc: Obj) -> bool {
    // SAFETY: both are type objects; the check only walks their parents.
    unsafe { sys::mp_obj_is_subclass_fast(obj::type_of(exc).cast(), builtin_type!(mp_type_Exception).cast()) }
}

/// Queues the client's `$crash` for `exc`: its type name, `str(exc)` (or `Type()` when
/// empty) and the backtrace MicroPython prints for it. Best effort: failures are ignored.
fn report_exception(client: &mut Client, buf: &mut [u8], exc: Obj) {
    let ty = obj::type_of(exc);
    // SAFETY: `ty` is a valid type object; its name is a qstr.
    let type_name = obj::str_data(obj::qstr_obj(u32::from(unsafe { (*ty).name }))).unwrap_or("Exception");
    let mut message_obj = obj::NULL;
    let mut printed = obj::NULL;
    let _ = protect(|| {
        // SAFETY: str(exc) and sys.print_exception(exc, io.StringIO()), under protect.
        unsafe {
            let str_type = builtin_type!(mp_type_str) as Obj;
            message_obj = sys::mp_call_function_1(str_type, exc);
            let io = sys::mp_import_name(sys::MP_QSTR_io as Qstr, obj::NONE, obj::small_int(0));
            let string_io = sys::mp_load_attr(io, sys::MP_QSTR_StringIO as Qstr);
            let sink = sys::mp_call_function_0(string_io);
            let sys_mod = sys::mp_import_name(sys::MP_QSTR_sys as Qstr, obj::NONE, obj::small_int(0));
            let print_exception = sys::mp_load_attr(sys_mod, sys::MP_QSTR_print_exception as Qstr);
            let args = [exc, sink];
            sys::mp_call_function_n_kw(print_exception, 2, 0, args.as_ptr());
            let mut dest = [obj::NULL; 2];
            sys::mp_load_method(sink, sys::MP_QSTR_getvalue as Qstr, dest.as_mut_ptr());
            printed = sys::mp_call_method_n_kw(0, 0, dest.as_ptr());
        }
    });
    let mut fallback = [0u8; 70];
    let message = match obj::str_data(message_obj) {
        Some(m) if !m.is_empty() => m,
        _ => {
            let n = type_name.len().min(fallback.len() - 2);
            fallback[..n].copy_from_slice(&type_name.as_bytes()[..n]);
            fallback[n..n + 2].copy_from_slice(b"()");
            core::str::from_utf8(&fallback[..n + 2]).unwrap_or("Exception()")
        }
    };
    let mut trace = [0u8; BACKTRACE_MAX_BYTES];
    let backtrace = obj::str_data(printed).and_then(|text| format_printed_exception(text, &mut trace));
    let _ = client.report_crash(buf, &MpClock, Some(type_name), Some(message), backtrace);
}

pub(super) unsafe extern "C" fn run(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    const TOO_MANY: Error = Error::invalid("run(): too many arguments (at most 32)");
    // SAFETY: MicroPython passes self, the function and its positional arguments.
    let args = unsafe { core::slice::from_raw_parts(args, n_args) };
    // SAFETY: `kw` is the call's keyword map (may be null or empty).
    let kw = unsafe { kw.as_ref() };
    let (this, function, positional) = (args[0], args[1], &args[2..]);
    let mut call = [obj::NULL; 64];
    let n_kw = kw.map_or(0, obj::map_len);
    if positional.len() + 2 * n_kw > 64 || positional.len() > 32 {
        return finish(Err(TOO_MANY.into()));
    }
    call[..positional.len()].copy_from_slice(positional);
    if let Some(map) = kw {
        for (i, (k, v)) in obj::map_entries(map).enumerate() {
            call[positional.len() + 2 * i] = k;
            call[positional.len() + 2 * i + 1] = v;
        }
    }
    let mut result = obj::NULL;
    let exc = protect(|| {
        // SAFETY: calling the user's function with its own arguments, under protect.
        unsafe { result = sys::mp_call_function_n_kw(function, positional.len(), n_kw, call.as_ptr()) };
    });
    let Some(exc) = exc else { return result };
    if is_exception(exc) {
        let _ = with_instance(this, |instance, buf| {
            let mut net = instance.transport();
            let client = instance.client();
            report_exception(client, buf, exc);
            // The crash is sent now if possible; a failed flush must not hide the error.
            let _ = client.flush(buf, &MpClock, &mut net, true);
            log_failure(client);
            Ok(())
        });
    }
    finish(Err(Raise::Exception(exc)))
}

/// The `sys.excepthook` wrapper: reports the crash, then always calls the previous hook.
#[repr(C)]
struct HookObj {
    base: ObjBase,
    client: Obj,
    previous: Obj,
}

unsafe extern "C" fn hook_call(self_in: Obj, n_args: usize, n_kw: usize, args: *const Obj) -> Obj {
    // SAFETY: this type's instances are HookObj (created in install_error_hook).
    let hook = unsafe { &*(self_in as *const HookObj) };
    // SAFETY: MicroPython passes n_args + 2 * n_kw objects.
    let all = unsafe { core::slice::from_raw_parts(args, n_args + 2 * n_kw) };
    if let Some(&exc) = all.get(1) {
        if is_exception(exc) {
            let _ = with_client(hook.client, |client, buf| {
                report_exception(client, buf, exc);
                Ok(())
            });
        }
    }
    let mut result = obj::NONE;
    let previous = hook.previous;
    let exc = protect(|| {
        // SAFETY: forwarding the hook's arguments to the previous hook, under protect.
        unsafe { result = sys::mp_call_function_n_kw(previous, n_args, n_kw, args) };
    });
    match exc {
        Some(e) => finish(Err(Raise::Exception(e))),
        None => result,
    }
}

static HOOK_TYPE: ObjType<1> = ObjType::new(
    sys::MP_QSTR_ErrorHook,
    Slots {
        call: 1,
        ..Slots::NONE
    },
    [hook_call as *const c_void],
);

/// `sys.excepthook` (NULL where the firmware has none), and the `sys` module.
fn excepthook() -> (Obj, Obj) {
    let mut sys_mod = obj::NULL;
    let mut hook = obj::NULL;
    let exc = protect(|| {
        // SAFETY: importing sys and reading an attribute, under protect.
        unsafe {
            sys_mod = sys::mp_import_name(sys::MP_QSTR_sys as Qstr, obj::NONE, obj::small_int(0));
            hook = sys::mp_load_attr(sys_mod, sys::MP_QSTR_excepthook as Qstr);
        }
    });
    if exc.is_some() {
        hook = obj::NULL;
    }
    (sys_mod, hook)
}

fn set_excepthook(sys_mod: Obj, value: Obj) -> Result<()> {
    match protect(|| {
        // SAFETY: assigning sys.excepthook, under protect.
        unsafe { sys::mp_store_attr(sys_mod, sys::MP_QSTR_excepthook as Qstr, value) };
    }) {
        Some(e) => Err(Raise::Exception(e)),
        None => Ok(()),
    }
}

pub(super) unsafe extern "C" fn install_error_hook(
    n_args: usize,
    args: *const Obj,
    kw: *mut sys::mp_map_t,
) -> Obj {
    finish((|| {
        let (this, []) = method_args(n_args, args, kw, [], 0)?;
        let (sys_mod, current) = excepthook();
        if current.is_null() {
            // This firmware has no sys.excepthook (MICROPY_PY_SYS_EXCEPTHOOK): use run().
            return Ok(obj::FALSE);
        }
        with_instance(this, |instance, _| {
            if !instance.error_hook.is_null() && instance.error_hook == current {
                return Ok(obj::TRUE);
            }
            // SAFETY: a GC allocation for the hook object (no finaliser needed).
            let raw = unsafe { sys::gc_alloc(core::mem::size_of::<HookObj>(), 0) }.cast::<HookObj>();
            if raw.is_null() {
                return Err(Error::new(crate::status::Status::OutOfMemory, "out of memory").into());
            }
            // SAFETY: a fresh allocation of the right size, initialised here.
            unsafe {
                raw.write(HookObj {
                    base: ObjBase {
                        type_: HOOK_TYPE.as_type(),
                    },
                    client: this,
                    previous: current,
                })
            };
            set_excepthook(sys_mod, raw.cast())?;
            instance.error_hook = raw.cast();
            Ok(obj::TRUE)
        })
    })())
}

pub(super) unsafe extern "C" fn uninstall_error_hook(
    n_args: usize,
    args: *const Obj,
    kw: *mut sys::mp_map_t,
) -> Obj {
    finish((|| {
        let (this, []) = method_args(n_args, args, kw, [], 0)?;
        with_instance(this, |instance, _| {
            let hook = core::mem::replace(&mut instance.error_hook, obj::NULL);
            if hook.is_null() {
                return Ok(obj::FALSE);
            }
            let (sys_mod, current) = excepthook();
            if current == hook {
                // SAFETY: `hook` is the HookObj this instance installed.
                let previous = unsafe { (*(hook as *const HookObj)).previous };
                set_excepthook(sys_mod, previous)?;
            }
            Ok(obj::TRUE)
        })
    })())
}
