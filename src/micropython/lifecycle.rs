//! The methods that reach beyond one event: uploads (`tick`, `flush`, `shutdown`), error
//! reporting (`report_log_error`, `last_error`, `run`, the `sys.excepthook` wrapper).

use honch_mp_sys as sys;

use super::honch::{method_args, text, with_client, with_instance, Instance};
use super::layout::{slot, ObjBase, ObjType, Slots};
use super::obj::{self, builtin_type, Obj, Qstr};
use super::platform::{self, catch, MpClock};
use super::raise::{finish, Raise, Result};
use super::transport::MpTransport;
use crate::client::Client;
use crate::diagnostics::{format_printed_exception, LogLevel, BACKTRACE_MAX_BYTES, LAST_ERROR_LINE_BUF};
use crate::status::{Error, Status};

/// The connectivity callback's answer: offline only when it returns something false.
/// Its exceptions propagate unchanged.
fn online(callback: Obj) -> Result<bool> {
    if callback == obj::NONE || callback.is_null() {
        return Ok(true);
    }
    // SAFETY: calling the user's callable with no arguments (and its __bool__), under catch.
    catch(|| unsafe { sys::mp_obj_is_true(sys::mp_call_function_0(callback)) }).map_err(Raise::Exception)
}

/// Prints the log line of a new distinct failure on the runtime's stdout. Returns what
/// printing raised (a USB console may deliver a Ctrl-C there), to raise once the call has
/// cleaned up.
fn log_failure(client: &mut Client) -> Option<Obj> {
    let mut line = [0u8; LAST_ERROR_LINE_BUF];
    let (level, text) = client.take_log_line(&mut line)?;
    let prefix: &[u8] = if level == LogLevel::Error {
        b"honch: error: "
    } else {
        b"honch: warning: "
    };
    platform::print_line(prefix, text).err()
}

/// Whether the connectivity callback is asked before an upload (`shutdown()` ignores it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Connectivity {
    Ask,
    Ignore,
}

/// Runs an upload step with a fresh transport. Python code runs first (the connectivity
/// callback), then the buffer is acquired; the transport stops at the first VM call after
/// which the buffer moved, and that is raised as `StorageError`. A non-network exception
/// that interrupted the I/O (Ctrl-C) is raised again once everything is cleaned up.
fn upload(
    self_in: Obj,
    connectivity: Connectivity,
    step: impl FnOnce(&mut Client, &mut [u8], &mut MpTransport, bool) -> crate::status::Result<()>,
) -> Result<Obj> {
    platform::check_stack_for_upload()?;
    with_instance(self_in, |this| {
        let online = match connectivity {
            Connectivity::Ask => online(this.connectivity_callback())?,
            Connectivity::Ignore => true,
        };
        let mut net = this.transport()?;
        let (client, buf) = this.events()?;
        let result = step(client, buf, &mut net, online);
        let printed = log_failure(client);
        let (raised, buffer_moved) = (net.raised, net.buffer_moved);
        drop(net);
        if buffer_moved {
            return Err(super::honch::BUFFER_RESIZED.into());
        }
        if !raised.is_null() {
            return Err(Raise::Exception(raised));
        }
        result?;
        match printed {
            Some(exc) => Err(Raise::Exception(exc)),
            None => Ok(obj::NONE),
        }
    })
}

pub(super) unsafe extern "C" fn tick(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish(method_args(n_args, args, kw, [], 0).and_then(|(this, [])| {
        upload(this, Connectivity::Ask, |client, buf, net, online| {
            client.tick(buf, &MpClock, net, online)
        })
    }))
}

pub(super) unsafe extern "C" fn flush(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish(method_args(n_args, args, kw, [], 0).and_then(|(this, [])| {
        upload(this, Connectivity::Ask, |client, buf, net, online| {
            client.flush(buf, &MpClock, net, online)
        })
    }))
}

pub(super) unsafe extern "C" fn shutdown(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish(method_args(n_args, args, kw, [], 0).and_then(|(this, [])| {
        upload(this, Connectivity::Ignore, |client, buf, net, _| {
            client.shutdown(buf, &MpClock, net)
        })
    }))
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
        (sys::MP_QSTR_http, obj::int(i64::from(e.http))),
        (sys::MP_QSTR_os_error, obj::int(i64::from(e.os_error))),
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

/// What a `$crash` says about an exception, obtained by running Python code (`str(exc)`,
/// `sys.print_exception`). Each part is NULL when getting it raised (a `__str__` that
/// raises, a `MemoryError` on a full heap): the type name alone is then reported. The objects
/// live on the GC heap, held by this frame (the GC scans the C stack).
struct CrashText {
    message: Obj,
    printed: Obj,
}

fn describe(exc: Obj) -> CrashText {
    // SAFETY: str(exc), under catch.
    let message = catch(|| unsafe { sys::mp_call_function_1(builtin_type!(mp_type_str) as Obj, exc) });
    // SAFETY: sys.print_exception(exc, io.StringIO()).getvalue(), under catch.
    let printed = catch(|| unsafe {
        let io = sys::mp_import_name(sys::MP_QSTR_io as Qstr, obj::NONE, obj::small_int(0));
        let string_io = sys::mp_load_attr(io, sys::MP_QSTR_StringIO as Qstr);
        let sink = sys::mp_call_function_0(string_io);
        let sys_mod = sys::mp_import_name(sys::MP_QSTR_sys as Qstr, obj::NONE, obj::small_int(0));
        let print_exception = sys::mp_load_attr(sys_mod, sys::MP_QSTR_print_exception as Qstr);
        let args = [exc, sink];
        sys::mp_call_function_n_kw(print_exception, 2, 0, args.as_ptr());
        let mut dest = [obj::NULL; 2];
        sys::mp_load_method(sink, sys::MP_QSTR_getvalue as Qstr, dest.as_mut_ptr());
        sys::mp_call_method_n_kw(0, 0, dest.as_ptr())
    });
    CrashText {
        message: message.unwrap_or(obj::NULL),
        printed: printed.unwrap_or(obj::NULL),
    }
}

/// Queues the client's `$crash` for `exc` with what `describe` obtained. Python code ran
/// before this, so the buffer is acquired here, and a buffer that moved is refused.
fn queue_crash(this: &mut Instance, exc: Obj, text: &CrashText) -> Result<()> {
    let ty = obj::type_of(exc);
    // SAFETY: `ty` is a valid type object; its name is a qstr.
    let type_name = obj::str_data(obj::qstr_obj(u32::from(unsafe { (*ty).name }))).unwrap_or("Exception");
    let mut fallback = [0u8; 70];
    let message = match obj::str_data(text.message) {
        Some(m) if !m.is_empty() => m,
        _ => {
            let n = type_name.len().min(fallback.len() - 2);
            fallback[..n].copy_from_slice(&type_name.as_bytes()[..n]);
            fallback[n..n + 2].copy_from_slice(b"()");
            core::str::from_utf8(&fallback[..n + 2]).unwrap_or("Exception()")
        }
    };
    let mut trace = [0u8; BACKTRACE_MAX_BYTES];
    let backtrace = obj::str_data(text.printed).and_then(|t| format_printed_exception(t, &mut trace));
    let (client, buf) = this.events()?;
    client.report_crash(buf, &MpClock, Some(type_name), Some(message), backtrace)?;
    Ok(())
}

/// An error that means the event buffer is unusable (resized): raised instead of being
/// ignored, since no crash can be recorded any more.
fn is_buffer_error(e: &Raise) -> bool {
    matches!(e, Raise::Sdk(err) if err.status == Status::Io)
}

pub(super) unsafe extern "C" fn run(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    const TOO_MANY: Error = Error::invalid("run(): too many arguments (at most 32)");
    let args = obj::args(args, n_args);
    let [this, function, positional @ ..] = args else {
        return finish(Err(Error::invalid("run() needs a function to call").into()));
    };
    let (this, function) = (*this, *function);
    if let Err(e) = super::honch::check_not_busy(this) {
        return finish(Err(e));
    }
    // SAFETY: `kw` is the call's keyword map (may be null or empty).
    let kw = unsafe { kw.as_ref() };
    let mut call = [obj::NULL; 64];
    let n_kw = kw.map_or(0, obj::map_len);
    if positional.len() > 32 || positional.len() + 2 * n_kw > call.len() {
        return finish(Err(TOO_MANY.into()));
    }
    call[..positional.len()].copy_from_slice(positional);
    if let Some(map) = kw {
        for (i, (k, v)) in obj::map_entries(map).take(n_kw).enumerate() {
            call[positional.len() + 2 * i] = k;
            call[positional.len() + 2 * i + 1] = v;
        }
    }
    let n_positional = positional.len();
    // SAFETY: calling the user's function with its own arguments, under catch.
    let exc =
        match catch(|| unsafe { sys::mp_call_function_n_kw(function, n_positional, n_kw, call.as_ptr()) }) {
            Ok(result) => return result,
            Err(exc) => exc,
        };
    if is_exception(exc) {
        if let Err(e) = report_and_flush(this, exc) {
            if is_buffer_error(&e) {
                return finish(Err(e));
            }
        }
    }
    finish(Err(Raise::Exception(exc)))
}

/// `run()`'s crash path: queue the `$crash` and try to send it now. A failed upload must not
/// hide the program's exception, so only a buffer problem is returned.
fn report_and_flush(this: Obj, exc: Obj) -> Result<()> {
    let text = describe(exc);
    platform::check_stack_for_upload()?;
    with_instance(this, |instance| {
        queue_crash(instance, exc, &text)?;
        // Asked like flush() asks it; a callback that raises counts as offline here (the
        // program's exception is the one to raise).
        let online = online(instance.connectivity_callback()).unwrap_or(false);
        let mut net = instance.transport()?;
        let (client, buf) = instance.events()?;
        let _ = client.flush(buf, &MpClock, &mut net, online);
        // A Ctrl-C while printing or sending is dropped here: the program's exception is
        // the one raised.
        let _ = log_failure(client);
        let moved = net.buffer_moved;
        drop(net);
        if moved {
            return Err(super::honch::BUFFER_RESIZED.into());
        }
        Ok(())
    })
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
    let (client, previous) = (hook.client, hook.previous);
    let all = obj::args(args, n_args + 2 * n_kw);
    if let Some(&exc) = all.get(1).filter(|_| n_args >= 2) {
        if is_exception(exc) {
            let text = describe(exc);
            // Reporting is best effort: the previous hook must run whatever happens.
            let _ = with_instance(client, |instance| queue_crash(instance, exc, &text));
        }
    }
    // SAFETY: forwarding the hook's arguments to the previous hook, under catch.
    match catch(|| unsafe { sys::mp_call_function_n_kw(previous, n_args, n_kw, all.as_ptr()) }) {
        Ok(result) => result,
        Err(e) => finish(Err(Raise::Exception(e))),
    }
}

static HOOK_TYPE: ObjType<1> = ObjType::new(
    sys::MP_QSTR_ErrorHook,
    Slots {
        call: 1,
        ..Slots::NONE
    },
    [slot::call(hook_call)],
);

/// `sys.excepthook` (NULL where the firmware has none), and the `sys` module.
fn excepthook() -> (Obj, Obj) {
    // SAFETY: importing sys and reading an attribute, under catch.
    let found = catch(|| unsafe {
        let sys_mod = sys::mp_import_name(sys::MP_QSTR_sys as Qstr, obj::NONE, obj::small_int(0));
        (
            sys_mod,
            sys::mp_load_attr(sys_mod, sys::MP_QSTR_excepthook as Qstr),
        )
    });
    found.unwrap_or((obj::NULL, obj::NULL))
}

fn set_excepthook(sys_mod: Obj, value: Obj) -> Result<()> {
    // SAFETY: assigning sys.excepthook, under catch.
    catch(|| unsafe { sys::mp_store_attr(sys_mod, sys::MP_QSTR_excepthook as Qstr, value) })
        .map_err(Raise::Exception)
}

pub(super) unsafe extern "C" fn install_error_hook(
    n_args: usize,
    args: *const Obj,
    kw: *mut sys::mp_map_t,
) -> Obj {
    finish((|| {
        let (this, []) = method_args(n_args, args, kw, [], 0)?;
        with_instance(this, |instance| {
            let (sys_mod, current) = excepthook();
            if current.is_null() {
                // This firmware has no sys.excepthook (MICROPY_PY_SYS_EXCEPTHOOK): use run().
                return Ok(obj::FALSE);
            }
            if !instance.error_hook().is_null() && instance.error_hook() == current {
                return Ok(obj::TRUE);
            }
            // SAFETY: a GC allocation for the hook object (no finaliser needed); NULL when
            // the heap is full (it never raises).
            let raw = unsafe { sys::gc_alloc(core::mem::size_of::<HookObj>(), 0) }.cast::<HookObj>();
            if raw.is_null() {
                return Err(Error::new(Status::OutOfMemory, "out of memory").into());
            }
            // SAFETY: a fresh allocation of the right size, initialised here.
            unsafe {
                raw.write(HookObj {
                    base: ObjBase {
                        type_: HOOK_TYPE.as_type(),
                    },
                    client: instance.object(),
                    previous: current,
                })
            };
            set_excepthook(sys_mod, raw.cast())?;
            instance.set_error_hook(raw.cast());
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
        with_instance(this, |instance| {
            let hook = instance.error_hook();
            if hook.is_null() {
                return Ok(obj::FALSE);
            }
            instance.set_error_hook(obj::NULL);
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
