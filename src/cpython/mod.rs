//! The PyO3 binding: `_honch_core` as a CPython extension.
//!
//! It only converts: Python arguments to core calls, core results and errors to Python
//! objects and `HonchError` subclasses. Every rule lives in the core.

use std::collections::VecDeque;
use std::prelude::rust_2021::*;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTuple,
};
use pyo3::{PyTraverseError, PyVisit};

use crate::client::{Client, Clock, Properties, SDK_VERSION};
use crate::diagnostics::{
    format_backtrace, Frame, LogLevel, BACKTRACE_MAX_BYTES, BACKTRACE_MAX_FRAMES, LAST_ERROR_LINE_BUF,
};

mod transport;
use crate::config::{self, ConfigBuilder, Field, FieldKind};
use crate::record::{self, PropsError, PropsWriter};
use crate::status::{Error, ErrorClass, Status};
use transport::{parse_ca_certs, DetachedTransport, PendingSignal, StdTransport, TlsSettings};

create_exception!(
    _honch_core,
    HonchError,
    PyException,
    "Base class of every error the SDK raises on purpose; `.status` holds the ERROR_* code."
);
create_exception!(
    _honch_core,
    InvalidArgumentError,
    HonchError,
    "A value passed to the SDK breaks a documented rule; nothing was queued."
);
create_exception!(
    _honch_core,
    StorageError,
    HonchError,
    "The event queue could not store an event (or its buffer changed)."
);
create_exception!(
    _honch_core,
    TransportError,
    HonchError,
    "An upload failed on the network; the events stay queued."
);
create_exception!(
    _honch_core,
    OfflineError,
    TransportError,
    "The connectivity callback says the device is offline."
);
create_exception!(
    _honch_core,
    RateLimitedError,
    TransportError,
    "The server asked the SDK to wait (or upload spacing is in force)."
);
create_exception!(
    _honch_core,
    ServerError,
    TransportError,
    "The server answered 5xx; the events stay queued."
);
create_exception!(
    _honch_core,
    RejectedError,
    HonchError,
    "The server rejected the upload permanently (4xx); the batch was dead-lettered."
);
create_exception!(
    _honch_core,
    CompressionUnavailableError,
    HonchError,
    "Kept for compatibility with the reference SDK; never raised."
);
create_exception!(
    _honch_core,
    NotInitializedError,
    HonchError,
    "The client is shut down."
);

fn class_object(py: Python<'_>, class: ErrorClass) -> Bound<'_, pyo3::types::PyType> {
    match class {
        ErrorClass::Honch => py.get_type::<HonchError>(),
        ErrorClass::InvalidArgument => py.get_type::<InvalidArgumentError>(),
        ErrorClass::Storage => py.get_type::<StorageError>(),
        ErrorClass::Transport => py.get_type::<TransportError>(),
        ErrorClass::Offline => py.get_type::<OfflineError>(),
        ErrorClass::RateLimited => py.get_type::<RateLimitedError>(),
        ErrorClass::Server => py.get_type::<ServerError>(),
        ErrorClass::Rejected => py.get_type::<RejectedError>(),
        ErrorClass::CompressionUnavailable => py.get_type::<CompressionUnavailableError>(),
        ErrorClass::NotInitialized => py.get_type::<NotInitializedError>(),
    }
}

/// The `HonchError` subclass for `status`, with `message` and `.status` set on the instance.
fn status_error(status: Status, message: &str) -> PyErr {
    Python::attach(|py| {
        let class = class_object(py, status.error_class());
        match class.call1((message,)) {
            Ok(instance) => {
                // A failure here would only lose the per-instance status; the class default stays.
                let _ = instance.setattr("status", status.code());
                PyErr::from_value(instance)
            }
            Err(e) => e,
        }
    })
}

/// The `HonchError` subclass for `err`, with `.status` set on the instance.
fn to_py_err(err: Error) -> PyErr {
    status_error(err.status, err.message)
}

fn invalid(message: &'static str) -> PyErr {
    to_py_err(Error::invalid(message))
}

struct SystemClock;

fn process_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    fn uptime_ms(&self) -> u64 {
        u64::try_from(process_start().elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

const BAD_SEED: Error = Error::new(Status::Internal, "os.urandom(32) did not return 32 bytes");

/// 32 bytes from `os.urandom` for the client's random ids. (Its own exceptions propagate; a
/// replacement that returns anything but 32 bytes is an error, not a panic.)
fn os_seed(py: Python<'_>) -> PyResult<[u8; 32]> {
    let bytes = py.import("os")?.call_method1("urandom", (32,))?;
    let bytes = bytes.cast::<PyBytes>().map_err(|_| to_py_err(BAD_SEED))?;
    <[u8; 32]>::try_from(bytes.as_bytes()).map_err(|_| to_py_err(BAD_SEED))
}

/// A C-contiguous export of any object's buffer, seen as bytes whatever its item format
/// (`array.array('i')` included: PyO3's typed `PyBuffer<u8>` refuses formats other than bytes),
/// held until dropped.
struct Export {
    /// Boxed: the exporter may keep pointers into the `Py_buffer` it filled.
    view: Box<ffi::Py_buffer>,
}

// SAFETY: a `Py_buffer` is plain data (pointers to the exported memory and to the exporter);
// this crate touches it and the memory only with the GIL held (every method of the client
// runs attached, and `drop` attaches), which is what PyO3's own `PyBuffer` relies on too.
unsafe impl Send for Export {}
// SAFETY: as for `Send`: every access happens with the GIL held.
unsafe impl Sync for Export {}

impl Export {
    /// Exports `obj`'s buffer as plain bytes (`PyBUF_SIMPLE`, which asks the exporter for
    /// contiguous memory), writable ones only when `writable`. Objects without the buffer
    /// protocol, and exports that are not C-contiguous, are errors (the Python exception of
    /// the exporter is dropped: callers raise their own).
    fn new(obj: &Bound<'_, PyAny>, writable: bool) -> Option<Self> {
        let flags = if writable {
            ffi::PyBUF_WRITABLE
        } else {
            ffi::PyBUF_SIMPLE
        };
        let mut view = Box::new(ffi::Py_buffer::new());
        // SAFETY: `obj` is a live object and the GIL is held; `view` is a valid, writable
        // Py_buffer that PyObject_GetBuffer fills on success (returns 0) and leaves without
        // an export on failure (returns -1 with an exception set).
        let status = unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), &mut *view, flags) };
        if status != 0 {
            drop(PyErr::take(obj.py()));
            return None;
        }
        // From here on `Drop` releases the export, whatever the checks below decide.
        let export = Self { view };
        // SAFETY: `export.view` was filled by a successful PyObject_GetBuffer; the GIL is held.
        let contiguous = unsafe { ffi::PyBuffer_IsContiguous(&*export.view, b'C' as std::ffi::c_char) } != 0;
        let len = export.view.len;
        let sane = len >= 0 && (len == 0 || !export.view.buf.is_null());
        (contiguous && sane && (!writable || export.view.readonly == 0)).then_some(export)
    }

    fn len(&self) -> usize {
        usize::try_from(self.view.len).unwrap_or(0)
    }

    fn range(&self) -> (usize, usize) {
        let start = self.view.buf as usize;
        (start, start.saturating_add(self.len()))
    }

    /// The exported bytes. Callers hold the GIL and run no Python code while the slice lives.
    fn bytes(&self) -> &[u8] {
        let len = self.len();
        if len == 0 {
            return &[];
        }
        // SAFETY: the export is C-contiguous with a non-null `buf` of `len` bytes (checked in
        // `new`) and stays alive as long as `self`; the GIL is held, so no Python code can
        // change or free the memory while the slice is used.
        unsafe { std::slice::from_raw_parts(self.view.buf.cast::<u8>(), len) }
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        // As PyO3's `PyBuffer`: when the interpreter is already shutting down, the exported
        // memory goes with it and there is nothing left to release.
        let _ = Python::try_attach(|_| {
            // SAFETY: `view` holds an export from a successful PyObject_GetBuffer, released
            // exactly once, here, with the GIL held.
            unsafe { ffi::PyBuffer_Release(&mut *self.view) }
        });
    }
}

/// The caller's buffer, exported for the client's whole life so that it cannot be resized
/// (`bytearray` refuses to resize while exported: `BufferError`). Any writable C-contiguous
/// buffer will do (`bytearray`, `memoryview`, `array.array`, ...).
struct EventBuffer {
    export: Export,
}

impl EventBuffer {
    fn acquire(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let export =
            Export::new(obj, true).ok_or_else(|| to_py_err(config::wrong_type(Field::EventBuffer)))?;
        Ok(Self { export })
    }

    /// The buffer's bytes. Callers hold the GIL and run no Python code while the slice lives.
    fn bytes(&mut self) -> &mut [u8] {
        let len = self.export.len();
        if len == 0 {
            return &mut [];
        }
        // SAFETY: the export is writable, C-contiguous and non-null for `len` bytes (checked
        // in `Export::new`) and stays alive as long as `self`; `&mut self` (the client is
        // borrowed exclusively, see `enter`) and the GIL make this the only Rust view of it,
        // and values read from Python objects while it lives are checked not to overlap it
        // (`overlaps`).
        unsafe { std::slice::from_raw_parts_mut(self.export.view.buf.cast::<u8>(), len) }
    }

    fn range(&self) -> (usize, usize) {
        self.export.range()
    }
}

/// A new list of the `(key, value)` pairs of `dict` (or a subclass), read at C level: no
/// method of a subclass runs, and a dict changed later (by a callback, another thread) does
/// not change what is being written. (PyO3's `items()` panics on a failed allocation.)
fn dict_items<'py>(dict: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyList>> {
    // SAFETY: `dict` is a live dict (or subclass) and the GIL is held; PyDict_Items returns a
    // new reference, or NULL with an exception set, which `from_owned_ptr_or_err` turns into Err.
    let items = unsafe { Bound::from_owned_ptr_or_err(dict.py(), ffi::PyDict_Items(dict.as_ptr())) }?;
    items.cast_into::<PyList>().map_err(PyErr::from)
}

/// A tuple of the items of `list` (or a subclass), read at C level, for the same reasons.
fn list_items<'py>(list: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyTuple>> {
    // SAFETY: `list` is a live list (or subclass) and the GIL is held; PyList_AsTuple returns
    // a new reference, or NULL with an exception set, which `from_owned_ptr_or_err` turns into Err.
    let items = unsafe { Bound::from_owned_ptr_or_err(list.py(), ffi::PyList_AsTuple(list.as_ptr())) }?;
    items.cast_into::<PyTuple>().map_err(PyErr::from)
}

/// A Python dict of properties (or `None`), written through the core's validating writer.
struct PyProps<'py> {
    /// A snapshot of the dict's items.
    items: Option<Bound<'py, PyList>>,
    guard: (usize, usize),
}

impl<'py> PyProps<'py> {
    fn new(obj: Option<&Bound<'py, PyAny>>, guard: (usize, usize)) -> PyResult<Self> {
        let items = match obj {
            None => None,
            Some(o) if o.is_none() => None,
            Some(o) => {
                let dict = o
                    .cast::<PyDict>()
                    .map_err(|_| invalid(record::PROPERTIES_NOT_DICT.message))?;
                Some(dict_items(dict)?)
            }
        };
        Ok(Self { items, guard })
    }
}

impl Properties for PyProps<'_> {
    fn count(&self) -> usize {
        self.items.as_ref().map_or(0, |items| items.len())
    }

    fn write(&self, w: &mut PropsWriter<'_>) -> Result<(), PropsError> {
        if let Some(items) = &self.items {
            write_pairs(items, w, self.guard)?;
        }
        Ok(())
    }
}

/// The single `{key: value}` of `set_property`.
struct PyPair<'a, 'py> {
    key: &'a str,
    value: Option<&'a Bound<'py, PyAny>>,
    guard: (usize, usize),
}

impl Properties for PyPair<'_, '_> {
    fn count(&self) -> usize {
        1
    }

    fn write(&self, w: &mut PropsWriter<'_>) -> Result<(), PropsError> {
        w.key(self.key)?;
        match self.value {
            Some(v) => write_value(v, w, self.guard),
            None => w.null(),
        }
    }
}

const CONNECTED_NOT_BOOL: Error = Error::invalid("connected must be a boolean");

/// Writes the `(key, value)` pairs of a [`dict_items`] snapshot.
fn write_pairs(
    items: &Bound<'_, PyList>,
    w: &mut PropsWriter<'_>,
    guard: (usize, usize),
) -> Result<(), PropsError> {
    for i in 0..items.len() {
        let pair = items.get_item(i).map_err(|_| record::UNSUPPORTED_VALUE)?;
        let pair = pair.cast::<PyTuple>().map_err(|_| record::UNSUPPORTED_VALUE)?;
        let (k, v) = (
            pair.get_item(0).map_err(|_| record::UNSUPPORTED_VALUE)?,
            pair.get_item(1).map_err(|_| record::UNSUPPORTED_VALUE)?,
        );
        let key = k.cast::<PyString>().map_err(|_| record::KEYS_NOT_STR)?;
        w.key(key.to_str().map_err(|_| record::INVALID_PROPERTY_KEY)?)?;
        write_value(&v, w, guard)?;
    }
    Ok(())
}

/// Writes a list of the items of a tuple (immutable, so read as it is).
fn write_items(
    items: &Bound<'_, PyTuple>,
    w: &mut PropsWriter<'_>,
    guard: (usize, usize),
) -> Result<(), PropsError> {
    w.begin_list(items.len())?;
    for item in items.iter() {
        write_value(&item, w, guard)?;
    }
    w.end();
    Ok(())
}

fn overlaps(ptr: usize, len: usize, guard: (usize, usize)) -> bool {
    len > 0 && ptr < guard.1 && guard.0 < ptr.saturating_add(len)
}

const VALUE_IS_EVENT_BUFFER: Error = Error::invalid("event_buffer cannot be used as a property value");

/// One property value (product.md Decision 17): `None`; `bool` (before int: it is an int
/// subclass); `int` and subclasses from -2**63 to 2**64-1; `float` and subclasses; `str` and
/// subclasses (always a string); `bytes`, `bytearray`; `dict` and subclasses; `list`, `tuple`
/// and subclasses; any other object exporting a C-contiguous buffer, as its bytes. Subclasses
/// are read through the C-level API of their base type, so none of their Python methods runs.
fn write_value(
    v: &Bound<'_, PyAny>,
    w: &mut PropsWriter<'_>,
    guard: (usize, usize),
) -> Result<(), PropsError> {
    if v.is_none() {
        return w.null();
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return w.bool(b.is_true());
    }
    if v.cast::<PyInt>().is_ok() {
        // PyLong_AsLongLong / PyLong_AsUnsignedLongLong read an int subclass's value directly
        // (no __index__ call).
        if let Ok(i) = v.extract::<i64>() {
            return w.int(i);
        }
        if let Ok(u) = v.extract::<u64>() {
            return w.uint(u);
        }
        return Err(record::INT_OUT_OF_RANGE.into());
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return w.float(f.value());
    }
    if let Ok(s) = v.cast::<PyString>() {
        return w.str(s.to_str().map_err(|_| record::UNSUPPORTED_VALUE)?);
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return w.bytes(b.as_bytes());
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        // SAFETY: the GIL is held and no Python code runs while the slice is used, so the
        // bytearray cannot be resized or freed; it is not the event buffer (checked).
        let bytes = unsafe { b.as_bytes() };
        if overlaps(bytes.as_ptr() as usize, bytes.len(), guard) {
            return Err(VALUE_IS_EVENT_BUFFER.into());
        }
        return w.bytes(bytes);
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let items = dict_items(d).map_err(|_| record::UNSUPPORTED_VALUE)?;
        w.begin_map(items.len())?;
        write_pairs(&items, w, guard)?;
        w.end();
        return Ok(());
    }
    if let Ok(l) = v.cast::<PyList>() {
        let items = list_items(l).map_err(|_| record::UNSUPPORTED_VALUE)?;
        return write_items(&items, w, guard);
    }
    if let Ok(t) = v.cast::<PyTuple>() {
        return write_items(t, w, guard);
    }
    if let Some(export) = Export::new(v, false) {
        if overlaps(export.range().0, export.len(), guard) {
            return Err(VALUE_IS_EVENT_BUFFER.into());
        }
        return w.bytes(export.bytes());
    }
    Err(record::UNSUPPORTED_VALUE.into())
}

/// A text argument: a `str` or a subclass of it (read at C level, no `__str__`), nothing else.
fn text_arg<'a>(obj: &'a Bound<'_, PyAny>, err: Error) -> PyResult<std::borrow::Cow<'a, str>> {
    obj.cast::<PyString>()
        .map_err(|_| to_py_err(err))?
        .to_cow()
        .map_err(|_| to_py_err(err))
}

/// `None` (or absent) as `None`, else a text argument as in [`text_arg`].
fn optional_text<'a>(
    obj: Option<&'a Bound<'_, PyAny>>,
    err: Error,
) -> PyResult<Option<std::borrow::Cow<'a, str>>> {
    match obj {
        Some(o) if !o.is_none() => text_arg(o, err).map(Some),
        _ => Ok(None),
    }
}

const BUSY: Error = Error::new(
    Status::Busy,
    "client is busy (called again from inside a callback or another thread)",
);

const CRASH_NOT_REPORTED: &str = "crash not reported: the client is busy (an exception reached the error hook while one of its methods was running)";

/// The one way into a client: exclusive access to it for the length of a method, or a
/// `HonchError` with status 13 (busy) when one of its methods is already running: called
/// again from a callback it runs (the connectivity callback, a logging handler, a signal
/// handler), or from another thread while it waits on the network with the GIL released.
/// (PyO3's implicit borrow of a `&mut self` receiver would raise `RuntimeError` instead, and
/// `borrow_mut()` would panic.)
fn enter<'py>(slf: &Bound<'py, Honch>) -> PyResult<PyRefMut<'py, Honch>> {
    slf.try_borrow_mut().map_err(|_| to_py_err(BUSY))
}

/// Logs `text` as a warning on the "honch" logger, best effort (a broken logging setup must
/// not break the SDK).
fn warn(py: Python<'_>, text: &str) {
    let logged = py
        .import("logging")
        .and_then(|logging| logging.call_method1("getLogger", ("honch",)))
        .and_then(|logger| logger.call_method1("warning", (text,)));
    drop(logged);
}

/// At most this many traceback entries are walked (a real one ends long before; a fake
/// traceback object handed to `sys.excepthook` might never end).
const MAX_TRACEBACK_WALK: usize = 100_000;

/// The device-analytics client (product.md §3).
///
/// Every method enters the client through [`enter`] (busy when re-entered), reads its Python
/// arguments with C-level APIs, and calls the core.
#[pyclass(module = "_honch_core", subclass)]
pub struct Honch {
    client: Client,
    buffer: EventBuffer,
    connectivity_callback: Option<Py<PyAny>>,
    transport: StdTransport,
    /// What a signal handler raised during the last network wait (see `upload`).
    signals: PendingSignal,
    /// The `sys.excepthook` wrapper `install_error_hook()` put in place, if any.
    error_hook: Option<Py<ErrorHook>>,
}

impl Honch {
    fn guard(&self) -> (usize, usize) {
        self.buffer.range()
    }

    /// Offline when a connectivity callback is set and returns a false value. Its
    /// exceptions propagate to the caller unchanged.
    fn online(&self, py: Python<'_>) -> PyResult<bool> {
        match &self.connectivity_callback {
            Some(cb) => cb.bind(py).call0()?.is_truthy(),
            None => Ok(true),
        }
    }

    /// Runs an upload step with the GIL released around network waits, then logs a new
    /// distinct failure. When a signal handler raised during a wait (Ctrl-C), the request was
    /// given up and that exception is raised unchanged instead of the core's result.
    fn upload(
        &mut self,
        py: Python<'_>,
        step: impl FnOnce(&mut Client, &mut [u8], &mut DetachedTransport<'_, '_>) -> crate::status::Result<()>,
    ) -> PyResult<()> {
        let Honch {
            client,
            buffer,
            transport,
            ..
        } = self;
        let mut net = DetachedTransport { py, inner: transport };
        let result = step(client, buffer.bytes(), &mut net);
        if let Some(raised) = self.signals.take() {
            // The failure the core saw is the interruption itself: nothing to log.
            let mut line = [0u8; LAST_ERROR_LINE_BUF];
            let _ = self.client.take_log_line(&mut line);
            return Err(raised);
        }
        self.log_failure(py);
        result.map_err(to_py_err)
    }

    /// Prints the log line of a new distinct failure through `logging` (logger "honch").
    fn log_failure(&mut self, py: Python<'_>) {
        let mut line = [0u8; LAST_ERROR_LINE_BUF];
        if let Some((level, text)) = self.client.take_log_line(&mut line) {
            let method = if level == LogLevel::Error {
                "error"
            } else {
                "warning"
            };
            let logged = py
                .import("logging")
                .and_then(|logging| logging.call_method1("getLogger", ("honch",)))
                .and_then(|logger| logger.call_method1(method, (text,)));
            // Logging is best effort: a broken logging setup must not break delivery.
            drop(logged);
        }
    }

    fn do_flush(&mut self, py: Python<'_>) -> PyResult<()> {
        let online = self.online(py)?;
        self.upload(py, |client, buf, net| {
            client.flush(buf, &SystemClock, net, online)
        })
    }

    fn do_report_log_error(
        &mut self,
        message: &Bound<'_, PyAny>,
        component: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        const BAD_MESSAGE: Error = Error::invalid("invalid error message");
        const BAD_COMPONENT: Error = Error::invalid("component must be a str or None");
        let message = text_arg(message, BAD_MESSAGE)?;
        let component = optional_text(component, BAD_COMPONENT)?;
        let Honch { client, buffer, .. } = self;
        client
            .report_log_error(buffer.bytes(), component.as_deref(), &message)
            .map_err(to_py_err)
    }

    /// Queues the `$crash` for `exc`; `tb` is its traceback (crash site last).
    fn report_exception(
        &mut self,
        py: Python<'_>,
        exc: &Bound<'_, PyAny>,
        tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let type_name: String = exc
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "Exception".into());
        let mut message: String = exc.str().map(|s| s.to_string()).unwrap_or_default();
        if message.is_empty() {
            message = exc.repr().map(|s| s.to_string()).unwrap_or_default();
        }
        // Only the last frames (the crash site) are reported: keep a ring of them.
        let mut frames: VecDeque<(String, u32, String)> = VecDeque::with_capacity(BACKTRACE_MAX_FRAMES);
        let mut tb = tb
            .or_else(|| exc.getattr("__traceback__").ok())
            .filter(|t| !t.is_none());
        let mut walked = 0usize;
        while let Some(t) = tb {
            walked += 1;
            if walked > MAX_TRACEBACK_WALK {
                break;
            }
            let code = t.getattr("tb_frame").and_then(|f| f.getattr("f_code"));
            if let Ok(code) = code {
                let file: String = code
                    .getattr("co_filename")
                    .and_then(|f| f.extract())
                    .unwrap_or_default();
                let base = file.rsplit(['/', '\\']).next().unwrap_or(&file).to_owned();
                let func: String = code
                    .getattr("co_name")
                    .and_then(|f| f.extract())
                    .unwrap_or_else(|_| "?".into());
                let line: u32 = t.getattr("tb_lineno").and_then(|l| l.extract()).unwrap_or(0);
                if frames.len() == BACKTRACE_MAX_FRAMES {
                    frames.pop_front();
                }
                frames.push_back((base, line, func));
            }
            tb = t.getattr("tb_next").ok().filter(|n| !n.is_none());
        }
        let mut out = [0u8; BACKTRACE_MAX_BYTES];
        let backtrace = format_backtrace(
            frames.iter().map(|(file, line, function)| Frame {
                file,
                line: *line,
                function,
            }),
            &mut out,
        );
        let _ = py;
        let Honch { client, buffer, .. } = self;
        client
            .report_crash(
                buffer.bytes(),
                &SystemClock,
                Some(&type_name),
                Some(&message),
                backtrace,
            )
            .map(drop)
            .map_err(to_py_err)
    }
}

/// The `sys.excepthook` wrapper: reports the crash, then always calls the previous hook.
#[pyclass(module = "_honch_core", frozen)]
pub struct ErrorHook {
    client: Py<Honch>,
    previous: Py<PyAny>,
}

#[pymethods]
impl ErrorHook {
    /// The GC sees the client and the previous hook, so a client whose hook is no longer
    /// installed is freed with it (the client holds its hook too).
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.client)?;
        visit.call(&self.previous)
    }

    fn __call__(
        &self,
        py: Python<'_>,
        exc_type: &Bound<'_, PyAny>,
        exc: &Bound<'_, PyAny>,
        tb: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        if exc.is_instance_of::<PyException>() {
            match enter(self.client.bind(py)) {
                // Reporting must never stop the previous hook from running.
                Ok(mut client) => drop(client.report_exception(py, exc, Some(tb.clone()))),
                // An exception escaped while a method of the client ran (from one of its
                // callbacks): the crash cannot be queued now; say so rather than lose it silently.
                Err(_) => warn(py, CRASH_NOT_REPORTED),
            }
        }
        self.previous.bind(py).call1((exc_type, exc, tb)).map(drop)
    }
}

/// What the constructor keywords hold beyond the core configuration.
struct Extras<'py> {
    buffer: Bound<'py, PyAny>,
    connectivity_callback: Option<Py<PyAny>>,
    ca_certs: Option<Vec<u8>>,
}

/// An integer keyword's value, saturated to the i64 range (the core names the field when it
/// is out of its range). The value of an int subclass is read directly, no `__index__`.
fn config_int(v: &Bound<'_, PyInt>) -> i64 {
    let mut overflow: std::ffi::c_int = 0;
    // SAFETY: `v` is a live int (or subclass) and the GIL is held; PyLong_AsLongLongAndOverflow
    // reads its value without running Python code and reports overflow through `overflow`.
    let value = unsafe { ffi::PyLong_AsLongLongAndOverflow(v.as_ptr(), &mut overflow) };
    // A -1 result may come with an exception set (never for an int); clear it either way.
    if value == -1 {
        drop(PyErr::take(v.py()));
    }
    match overflow {
        0 => value,
        o if o > 0 => i64::MAX,
        _ => i64::MIN,
    }
}

/// `ca_certs`: PEM text (`str`) or certificate bytes (`bytes`, `bytearray`, `memoryview`),
/// copied now.
fn ca_certs_bytes(v: &Bound<'_, PyAny>, field: Field) -> PyResult<Vec<u8>> {
    let wrong = || to_py_err(config::wrong_type(field));
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(s.to_str().map_err(|_| wrong())?.as_bytes().to_vec());
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if v.cast::<PyMemoryView>().is_ok() {
        let export = Export::new(v, false).ok_or_else(wrong)?;
        return Ok(export.bytes().to_vec());
    }
    Err(wrong())
}

fn parse_config<'py>(kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<(crate::config::Config, Extras<'py>)> {
    let kwargs = kwargs.ok_or_else(|| to_py_err(config::missing(Field::ApiKey)))?;
    let mut texts: Vec<(Field, Option<String>)> = Vec::new();
    let mut builder_ints: Vec<(Field, Option<i64>)> = Vec::new();
    let mut buffer = None;
    let mut callback = None;
    let mut ca_certs = None;
    let mut flags: Vec<(Field, Option<bool>)> = Vec::new();
    let items = dict_items(kwargs)?;
    for pair in items.iter() {
        let pair = pair.cast_into::<PyTuple>().map_err(PyErr::from)?;
        let (k, v) = (pair.get_item(0)?, pair.get_item(1)?);
        // `Client(config)` takes a dict, whose keys may be anything.
        let name = k
            .cast::<PyString>()
            .ok()
            .and_then(|k| k.to_str().ok().map(str::to_owned))
            .ok_or_else(|| to_py_err(config::UNKNOWN_KEYWORD))?;
        let field = config::field(&name).ok_or_else(|| {
            status_error(
                Status::InvalidArgument,
                &format!("unknown keyword argument: {name}"),
            )
        })?;
        match field.kind() {
            FieldKind::Text => {
                let value = optional_text(Some(&v), config::wrong_type(field))?.map(|t| t.into_owned());
                texts.push((field, value));
            }
            FieldKind::Integer => {
                let value = if v.is_none() {
                    None
                } else if v.cast::<PyBool>().is_ok() {
                    return Err(to_py_err(config::wrong_type(field)));
                } else {
                    let int = v
                        .cast::<PyInt>()
                        .map_err(|_| to_py_err(config::wrong_type(field)))?;
                    Some(config_int(int))
                };
                builder_ints.push((field, value));
            }
            FieldKind::Buffer => {
                if !v.is_none() {
                    buffer = Some(v);
                }
            }
            FieldKind::Callback => {
                if !v.is_none() {
                    if !v.is_callable() {
                        return Err(to_py_err(config::wrong_type(field)));
                    }
                    callback = Some(v.unbind());
                }
            }
            FieldKind::Unsupported => {
                if !v.is_none() {
                    return Err(to_py_err(config::HOOKS_UNSUPPORTED));
                }
            }
            FieldKind::Certificates => {
                if !v.is_none() {
                    ca_certs = Some(ca_certs_bytes(&v, field)?);
                }
            }
            FieldKind::Flag => {
                let value = if v.is_none() {
                    None
                } else {
                    Some(
                        v.cast::<PyBool>()
                            .map_err(|_| to_py_err(config::wrong_type(field)))?
                            .is_true(),
                    )
                };
                flags.push((field, value));
            }
        }
    }
    let mut builder = ConfigBuilder::new();
    for (field, value) in &texts {
        builder.set_text(*field, value.as_deref()).map_err(to_py_err)?;
    }
    for (field, value) in &builder_ints {
        builder.set_int(*field, *value).map_err(to_py_err)?;
    }
    for (field, value) in &flags {
        builder.set_flag(*field, *value).map_err(to_py_err)?;
    }
    let config = builder.finish().map_err(to_py_err)?;
    let buffer = buffer.ok_or_else(|| to_py_err(config::missing(Field::EventBuffer)))?;
    Ok((
        config,
        Extras {
            buffer,
            connectivity_callback: callback,
            ca_certs,
        },
    ))
}

#[pymethods]
impl Honch {
    /// The GC sees the callback and the hook, so a client in a reference cycle (an object
    /// that holds the client and whose method is its callback) is freed, and its buffer
    /// export released.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(callback) = &self.connectivity_callback {
            visit.call(callback)?;
        }
        if let Some(hook) = &self.error_hook {
            visit.call(hook)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.connectivity_callback = None;
        self.error_hook = None;
    }

    #[new]
    #[pyo3(signature = (*args, **kwargs))]
    fn new(py: Python<'_>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        if !args.is_empty() {
            return Err(invalid("Honch() takes keyword arguments only"));
        }
        let (config, extras) = parse_config(kwargs)?;
        let mut buffer = EventBuffer::acquire(&extras.buffer)?;
        let anchors = match &extras.ca_certs {
            Some(data) => parse_ca_certs(data).map_err(invalid)?,
            None => vec![crate::trust::DEFAULT_TRUST_ANCHOR.to_vec()],
        };
        let settings = TlsSettings::new(&anchors, config.verify_tls).map_err(invalid)?;
        if !settings.verifies() {
            warn(py, crate::trust::VERIFY_DISABLED_WARNING);
        }
        let seed = os_seed(py)?;
        let client = Client::new(config, buffer.bytes(), seed, &SystemClock, "cpython").map_err(to_py_err)?;
        let signals = PendingSignal::default();
        Ok(Self {
            client,
            buffer,
            connectivity_callback: extras.connectivity_callback,
            transport: StdTransport::new(settings, Some(signals.hook())),
            signals,
            error_hook: None,
        })
    }

    /// Queues `event` with optional `properties` (a dict).
    #[pyo3(signature = (event, properties=None))]
    fn track(
        slf: &Bound<'_, Self>,
        event: &Bound<'_, PyAny>,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let name = text_arg(event, record::INVALID_EVENT_NAME)?;
        let mut this = enter(slf)?;
        let props = PyProps::new(properties, this.guard())?;
        let Honch { client, buffer, .. } = &mut *this;
        client
            .track(buffer.bytes(), &SystemClock, &name, &props)
            .map_err(to_py_err)
    }

    /// Switches the distinct id to `distinct_id` and queues `$identify` with `traits`.
    #[pyo3(signature = (distinct_id, traits=None))]
    fn identify(
        slf: &Bound<'_, Self>,
        distinct_id: &Bound<'_, PyAny>,
        traits: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let id = text_arg(distinct_id, record::INVALID_DISTINCT_ID)?;
        let mut this = enter(slf)?;
        let props = PyProps::new(traits, this.guard())?;
        if props.count() >= record::MAX_PROPERTIES {
            return Err(to_py_err(record::TOO_MANY_PROPERTIES));
        }
        let Honch { client, buffer, .. } = &mut *this;
        client
            .identify(buffer.bytes(), &SystemClock, &id, &props)
            .map_err(to_py_err)
    }

    /// Queues `$set_property` with `{key: value}`.
    #[pyo3(signature = (key, value=None))]
    fn set_property(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        value: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let key = text_arg(key, record::INVALID_PROPERTY_KEY)?;
        let mut this = enter(slf)?;
        let props = PyPair {
            key: &key,
            value,
            guard: this.guard(),
        };
        let Honch { client, buffer, .. } = &mut *this;
        client
            .set_property(buffer.bytes(), &SystemClock, &props)
            .map_err(to_py_err)
    }

    /// Reports a connectivity change (`True`/`False`); queues `$connectivity_change` when the
    /// state really changed.
    fn connectivity_changed(slf: &Bound<'_, Self>, connected: &Bound<'_, PyAny>) -> PyResult<()> {
        let connected = connected
            .cast::<PyBool>()
            .map_err(|_| to_py_err(CONNECTED_NOT_BOOL))?
            .is_true();
        Self::report_connectivity(slf, connected)
    }

    /// Same as `connectivity_changed(True)`.
    fn connected(slf: &Bound<'_, Self>) -> PyResult<()> {
        Self::report_connectivity(slf, true)
    }

    /// Same as `connectivity_changed(False)`.
    fn disconnected(slf: &Bound<'_, Self>) -> PyResult<()> {
        Self::report_connectivity(slf, false)
    }

    /// Starts a session (ending an active one first).
    #[pyo3(signature = (name=None))]
    fn session_start(slf: &Bound<'_, Self>, name: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        const BAD_NAME: Error = Error::invalid("session name must be a str or None");
        let name = optional_text(name, BAD_NAME)?;
        let mut this = enter(slf)?;
        let Honch { client, buffer, .. } = &mut *this;
        client
            .session_start(buffer.bytes(), &SystemClock, name.as_deref())
            .map_err(to_py_err)
    }

    /// Ends the active session, if any.
    fn session_end(slf: &Bound<'_, Self>) -> PyResult<()> {
        let mut this = enter(slf)?;
        let Honch { client, buffer, .. } = &mut *this;
        client
            .session_end(buffer.bytes(), &SystemClock)
            .map_err(to_py_err)
    }

    /// Back to the device id, no session, and an empty queue.
    fn reset(slf: &Bound<'_, Self>) -> PyResult<()> {
        let mut this = enter(slf)?;
        let Honch { client, buffer, .. } = &mut *this;
        client.reset(buffer.bytes()).map_err(to_py_err)
    }

    /// Uploads at most one frame when an upload is due (call it from the main loop). Network
    /// and server failures are not raised: see `last_error()`.
    fn tick(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let mut this = enter(slf)?;
        let online = this.online(py)?;
        this.upload(py, |client, buf, net| client.tick(buf, &SystemClock, net, online))
    }

    /// Sends every queued event now; raises the first failure (the events stay queued).
    fn flush(slf: &Bound<'_, Self>) -> PyResult<()> {
        enter(slf)?.do_flush(slf.py())
    }

    /// Queues `$device_shutdown`, uploads what it can, and closes the client.
    fn shutdown(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        enter(slf)?.upload(py, |client, buf, net| client.shutdown(buf, &SystemClock, net))
    }

    /// Records an error message; repeats are counted and sent as `$error` events.
    #[pyo3(signature = (message, *, component=None))]
    fn report_log_error(
        slf: &Bound<'_, Self>,
        message: &Bound<'_, PyAny>,
        component: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        enter(slf)?.do_report_log_error(message, component)
    }

    /// The most recent failure: status, reason, http, os_error, message, component.
    fn last_error<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let e = enter(slf)?.client.last_error();
        let d = PyDict::new(py);
        d.set_item("status", e.status.text())?;
        d.set_item("reason", e.reason.as_str())?;
        d.set_item("http", e.http)?;
        d.set_item("os_error", e.os_error)?;
        d.set_item("message", e.message())?;
        d.set_item("component", e.component)?;
        Ok(d)
    }

    /// Calls `fn(*args, **kwargs)`; on an uncaught Exception queues one `$crash`, flushes
    /// (ignoring delivery errors) and re-raises. Returns `fn`'s result. The client is not
    /// held while `fn` runs (it may use the client), only while the crash is reported; a
    /// client that is busy when `run()` is called raises busy without calling `fn`.
    #[pyo3(signature = (function, /, *args, **kwargs))]
    fn run(
        slf: &Bound<'_, Self>,
        function: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        drop(enter(slf)?);
        let err = match function.call(args, kwargs) {
            Ok(result) => return Ok(result.unbind()),
            Err(err) => err,
        };
        if !err.is_instance_of::<PyException>(py) {
            return Err(err);
        }
        let Ok(mut this) = enter(slf) else {
            // Another thread is inside a method of this client (fn's own calls are over).
            warn(py, CRASH_NOT_REPORTED);
            return Err(err);
        };
        let exc = err.value(py).clone();
        let tb = err.traceback(py).map(|t| t.into_any());
        drop(this.report_exception(py, exc.as_any(), tb));
        // Delivery errors are ignored: the function's exception is what the caller sees. An
        // exception that is no `Exception` (a Ctrl-C during the upload) is raised instead,
        // with the function's exception as its context.
        match this.do_flush(py) {
            Err(raised) if !raised.is_instance_of::<PyException>(py) => {
                drop(raised.value(py).setattr("__context__", err.value(py)));
                Err(raised)
            }
            _ => Err(err),
        }
    }

    /// Wraps `sys.excepthook` so an uncaught exception queues a `$crash` (the previous hook
    /// still runs). Returns False where the runtime has no `sys.excepthook`.
    fn install_error_hook(slf: &Bound<'_, Self>) -> PyResult<bool> {
        let py = slf.py();
        let mut this = enter(slf)?;
        let sys = py.import("sys")?;
        let Ok(current) = sys.getattr("excepthook") else {
            return Ok(false);
        };
        if let Some(hook) = &this.error_hook {
            if current.is(hook.bind(py)) {
                return Ok(true);
            }
        }
        let hook = Py::new(
            py,
            ErrorHook {
                client: slf.clone().unbind(),
                previous: current.unbind(),
            },
        )?;
        sys.setattr("excepthook", hook.bind(py))?;
        this.error_hook = Some(hook);
        Ok(true)
    }

    /// Restores the hook `install_error_hook()` replaced. Returns False if none was installed.
    fn uninstall_error_hook(slf: &Bound<'_, Self>) -> PyResult<bool> {
        let py = slf.py();
        let mut this = enter(slf)?;
        let Some(hook) = this.error_hook.take() else {
            return Ok(false);
        };
        let sys = py.import("sys")?;
        if let Ok(current) = sys.getattr("excepthook") {
            if current.is(hook.bind(py)) {
                sys.setattr("excepthook", hook.get().previous.bind(py))?;
            }
        }
        Ok(true)
    }

    /// The configured device id (`None` after `shutdown()`).
    fn get_device_id(slf: &Bound<'_, Self>) -> PyResult<Option<String>> {
        Ok(enter(slf)?.client.device_id().map(str::to_owned))
    }

    /// Queue depth, bytes and drop counters.
    fn queue_stats<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let this = enter(slf)?;
        let s = this.client.queue_stats();
        let max_queued_events = this.client.config().max_queued_events;
        drop(this);
        let d = PyDict::new(py);
        d.set_item("depth", s.depth)?;
        d.set_item("bytes_used", s.bytes_used)?;
        d.set_item("bytes_capacity", s.bytes_capacity)?;
        d.set_item("capacity_dropped_events", s.capacity_dropped_events)?;
        d.set_item("oversized_rejected_events", s.oversized_rejected_events)?;
        d.set_item("dead_lettered_events", s.dead_lettered_events)?;
        d.set_item("high_watermark_depth", s.high_watermark_depth)?;
        d.set_item("high_watermark_bytes", s.high_watermark_bytes)?;
        d.set_item("max_queued_events", max_queued_events)?;
        Ok(d)
    }
}

impl Honch {
    fn report_connectivity(slf: &Bound<'_, Self>, connected: bool) -> PyResult<()> {
        let mut this = enter(slf)?;
        let Honch { client, buffer, .. } = &mut *this;
        client
            .connectivity_changed(buffer.bytes(), &SystemClock, connected)
            .map(drop)
            .map_err(to_py_err)
    }
}

/// `Client(config: dict)`: the low-level surface of the reference C module (micropython.md
/// §1), so the published `honch-micropython` 0.3.1 wrapper runs unchanged on this module.
/// A `Honch` built from a dict, with the reference's `report_log_error(component, message)`
/// argument order and `report_crash(report)`.
#[pyclass(module = "_honch_core", name = "Client", extends = Honch)]
pub struct CompatClient;

#[pymethods]
impl CompatClient {
    #[new]
    fn new(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<(Self, Honch)> {
        let config = config
            .cast::<PyDict>()
            .map_err(|_| invalid("config must be a dict"))?;
        let base = Honch::new(py, &PyTuple::empty(py), Some(config))?;
        Ok((CompatClient, base))
    }

    /// `report_log_error(component, message)` (component first, as the reference).
    fn report_log_error(
        slf: &Bound<'_, Self>,
        component: &Bound<'_, PyAny>,
        message: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let component = (!component.is_none()).then_some(component);
        enter(slf.as_super())?.do_report_log_error(message, component)
    }

    /// `report_crash({"message", "type", "backtrace"})`: queues the client's one `$crash`.
    fn report_crash(slf: &Bound<'_, Self>, report: &Bound<'_, PyAny>) -> PyResult<()> {
        let report = report
            .cast::<PyDict>()
            .map_err(|_| invalid("report must be a dict"))?;
        let text = |key: &str| -> PyResult<Option<String>> {
            match report.get_item(key)? {
                Some(v) if !v.is_none() => Ok(Some(
                    text_arg(&v, Error::invalid("report values must be str"))?.into_owned(),
                )),
                _ => Ok(None),
            }
        };
        let (message, type_name, backtrace) = (text("message")?, text("type")?, text("backtrace")?);
        let mut this = enter(slf.as_super())?;
        let Honch { client, buffer, .. } = &mut *this;
        client
            .report_crash(
                buffer.bytes(),
                &SystemClock,
                type_name.as_deref(),
                message.as_deref(),
                backtrace.as_deref(),
            )
            .map(drop)
            .map_err(to_py_err)
    }
}

#[pymodule]
fn _honch_core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    process_start();
    m.add_class::<Honch>()?;
    m.add_class::<CompatClient>()?;
    for class in ErrorClass::ALL {
        let ty = class_object(py, class);
        ty.setattr("status", class.default_status().code())?;
        m.add(class.name(), ty)?;
    }
    for (name, status) in Status::EXPORTED {
        m.add(name, status.code())?;
    }
    m.add("__version__", SDK_VERSION)?;
    m.add("SDK_VERSION", SDK_VERSION)?;
    m.add("SDK_PLATFORM", "cpython")?;
    Ok(())
}
