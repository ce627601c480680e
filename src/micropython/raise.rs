//! The `HonchError` hierarchy as MicroPython exception types, and the one place the binding
//! raises: [`finish`], called by each entry point after every Rust value it owned is gone.

use core::ffi::c_void;

use honch_mp_sys as sys;

use super::layout::{slot, ObjType, RomDict, RomElem, Slots};
use super::obj::{self, builtin_type, qstr_rom, small_int, small_int_rom, Obj, Qstr};
use crate::status::{Error, ErrorClass, Status};

/// Why an entry point failed, carried out of Rust code before raising.
#[derive(Clone, Copy, Debug)]
pub enum Raise {
    /// An SDK error: raised as the `HonchError` subclass for its status.
    Sdk(Error),
    /// An SDK error whose message ends with a name (`"...: <name>"`).
    SdkNamed(Error, Name),
    /// An exception raised by Python code the SDK called (a callback, the user's function
    /// in `run()`, a Ctrl-C during network I/O): raised again unchanged.
    Exception(Obj),
    /// A call with a required argument missing (Python raises `TypeError` for that).
    MissingArgument(Name),
    /// A method called with a keyword it does not take (`TypeError`, as in Python).
    UnexpectedKeyword(Name),
}

impl From<Error> for Raise {
    fn from(e: Error) -> Self {
        Raise::Sdk(e)
    }
}

pub type Result<T> = core::result::Result<T, Raise>;

/// A name for an error message (an unknown keyword, a missing argument), copied so that it
/// outlives the object it came from; long names are cut on a character boundary.
#[derive(Clone, Copy, Debug)]
pub struct Name {
    bytes: [u8; 48],
    len: usize,
}

impl Name {
    pub fn new(text: &str) -> Self {
        let mut bytes = [0u8; 48];
        let cut = char_boundary(text, bytes.len());
        bytes[..cut].copy_from_slice(&text.as_bytes()[..cut]);
        Self { bytes, len: cut }
    }

    pub fn of_qstr(q: u32) -> Self {
        Self::new(obj::str_data(obj::qstr_obj(q)).unwrap_or("?"))
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn char_boundary(text: &str, max: usize) -> usize {
    if text.len() <= max {
        return text.len();
    }
    (0..=max).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0)
}

/// Returns `result`'s object, or raises its error. Callers pass only plain data here: once
/// this raises, no Rust frame between here and the VM owns anything that needs dropping.
pub fn finish(result: Result<Obj>) -> Obj {
    match result {
        Ok(o) => o,
        Err(e) => raise(e),
    }
}

fn raise(e: Raise) -> ! {
    let exc = match e {
        Raise::Exception(exc) if !exc.is_null() => exc,
        Raise::Exception(_) => new_exception(Error::status(crate::status::Status::Internal), None),
        Raise::Sdk(err) => new_exception(err, None),
        Raise::SdkNamed(err, name) => new_exception(err, Some(name)),
        Raise::MissingArgument(name) => {
            let message = Error::new(Status::InvalidArgument, "missing required argument");
            new_message(message, Some(name), builtin_type!(mp_type_TypeError))
        }
        Raise::UnexpectedKeyword(name) => {
            let message = Error::new(Status::InvalidArgument, "unexpected keyword argument");
            new_message(message, Some(name), builtin_type!(mp_type_TypeError))
        }
    };
    // SAFETY: `exc` is an exception instance; nlr_jump unwinds to the innermost nlr handler,
    // skipping only frames that own nothing (see `finish`).
    unsafe { sys::nlr_jump(exc.cast()) }
}

fn new_exception(err: Error, name: Option<Name>) -> Obj {
    new_message(err, name, type_for_status(err.status))
}

fn new_message(err: Error, name: Option<Name>, ty: *const sys::mp_obj_type_t) -> Obj {
    let mut text = [0u8; 160];
    let mut len = 0;
    // Every part is whole UTF-8 text cut on a character boundary, so the message is valid
    // UTF-8 (mp_obj_new_str would raise UnicodeError otherwise).
    let mut push = |part: &str| {
        let n = char_boundary(part, text.len() - len);
        text[len..len + n].copy_from_slice(&part.as_bytes()[..n]);
        len += n;
    };
    push(err.message);
    if let Some(name) = name {
        push(": ");
        push(core::str::from_utf8(name.as_bytes()).unwrap_or("?"));
    }
    // SAFETY: the bytes are copied into a new str object; may raise MemoryError, which is
    // fine here because nothing in Rust owns resources any more.
    let message = unsafe { sys::mp_obj_new_str(text.as_ptr().cast(), len) };
    // SAFETY: `ty` is an exception type, whose make_new is MicroPython's own.
    unsafe { sys::mp_obj_exception_make_new(ty, 1, 0, &message) }
}

/// The `.status` attribute of every instance; everything else is the normal exception attr.
unsafe extern "C" fn exception_attr(self_in: Obj, attr: Qstr, dest: *mut Obj) {
    // SAFETY: MicroPython passes `dest` as a two-element array.
    let dest_slice = unsafe { core::slice::from_raw_parts_mut(dest, 2) };
    if attr as u32 == sys::MP_QSTR_status && dest_slice[0].is_null() {
        dest_slice[0] = small_int(status_of_type(obj::type_of(self_in)).code() as isize);
        return;
    }
    // SAFETY: forwarding MicroPython's own arguments to its own exception attr handler.
    unsafe { sys::mp_obj_exception_attr(self_in, attr, dest) }
}

const fn class_qstr(class: ErrorClass) -> u32 {
    match class {
        ErrorClass::Honch => sys::MP_QSTR_HonchError,
        ErrorClass::InvalidArgument => sys::MP_QSTR_InvalidArgumentError,
        ErrorClass::Storage => sys::MP_QSTR_StorageError,
        ErrorClass::Transport => sys::MP_QSTR_TransportError,
        ErrorClass::Offline => sys::MP_QSTR_OfflineError,
        ErrorClass::RateLimited => sys::MP_QSTR_RateLimitedError,
        ErrorClass::Server => sys::MP_QSTR_ServerError,
        ErrorClass::Rejected => sys::MP_QSTR_RejectedError,
        ErrorClass::CompressionUnavailable => sys::MP_QSTR_CompressionUnavailableError,
        ErrorClass::NotInitialized => sys::MP_QSTR_NotInitializedError,
    }
}

/// Statuses raised with a class whose default status differs: each gets a subclass of that
/// class with the same name, so `isinstance` and the printed name are the class's while
/// `.status` is exact.
const VARIANTS: [Status; 6] = [
    Status::QueueFull,
    Status::Timeout,
    Status::OutOfMemory,
    Status::AlreadyInitialized,
    Status::Busy,
    Status::NotSupported,
];

type ExcType = ObjType<5>;

macro_rules! status_dict {
    ($table:ident, $dict:ident, $status:expr) => {
        static $table: [RomElem; 1] = [RomElem {
            key: qstr_rom(sys::MP_QSTR_status),
            value: small_int_rom($status.code() as isize),
        }];
        static $dict: RomDict = RomDict::new(&$table);
    };
}

macro_rules! exception_type {
    ($name:ident, $dict:ident, $qstr:expr, $parent:expr) => {
        pub static $name: ExcType = ObjType::new(
            $qstr,
            Slots {
                make_new: 1,
                print: 2,
                call: 0,
                attr: 3,
                parent: 4,
                locals_dict: 5,
            },
            [
                slot::make_new(sys::mp_obj_exception_make_new),
                slot::print(sys::mp_obj_exception_print),
                slot::attr(exception_attr),
                $parent as *const c_void,
                slot::data(&$dict),
            ],
        );
    };
}

macro_rules! class {
    ($name:ident, $table:ident, $dict:ident, $class:expr, $parent:expr) => {
        status_dict!($table, $dict, $class.default_status());
        exception_type!($name, $dict, class_qstr($class), $parent);
    };
}

class!(
    HONCH_ERROR,
    T0,
    D0,
    ErrorClass::Honch,
    builtin_type!(mp_type_Exception)
);
class!(
    INVALID_ARGUMENT_ERROR,
    T1,
    D1,
    ErrorClass::InvalidArgument,
    HONCH_ERROR.as_type()
);
class!(STORAGE_ERROR, T2, D2, ErrorClass::Storage, HONCH_ERROR.as_type());
class!(
    TRANSPORT_ERROR,
    T3,
    D3,
    ErrorClass::Transport,
    HONCH_ERROR.as_type()
);
class!(
    OFFLINE_ERROR,
    T4,
    D4,
    ErrorClass::Offline,
    TRANSPORT_ERROR.as_type()
);
class!(
    RATE_LIMITED_ERROR,
    T5,
    D5,
    ErrorClass::RateLimited,
    TRANSPORT_ERROR.as_type()
);
class!(
    SERVER_ERROR,
    T6,
    D6,
    ErrorClass::Server,
    TRANSPORT_ERROR.as_type()
);
class!(
    REJECTED_ERROR,
    T7,
    D7,
    ErrorClass::Rejected,
    HONCH_ERROR.as_type()
);
class!(
    COMPRESSION_UNAVAILABLE_ERROR,
    T8,
    D8,
    ErrorClass::CompressionUnavailable,
    HONCH_ERROR.as_type()
);
class!(
    NOT_INITIALIZED_ERROR,
    T9,
    D9,
    ErrorClass::NotInitialized,
    HONCH_ERROR.as_type()
);

macro_rules! variant {
    ($name:ident, $table:ident, $dict:ident, $status:expr, $parent:expr) => {
        status_dict!($table, $dict, $status);
        exception_type!($name, $dict, class_qstr($status.error_class()), $parent);
    };
}

variant!(
    QUEUE_FULL_ERROR,
    V0,
    VD0,
    Status::QueueFull,
    STORAGE_ERROR.as_type()
);
variant!(TIMEOUT_ERROR, V1, VD1, Status::Timeout, TRANSPORT_ERROR.as_type());
variant!(
    OUT_OF_MEMORY_ERROR,
    V2,
    VD2,
    Status::OutOfMemory,
    HONCH_ERROR.as_type()
);
variant!(
    ALREADY_INITIALIZED_ERROR,
    V3,
    VD3,
    Status::AlreadyInitialized,
    HONCH_ERROR.as_type()
);
variant!(BUSY_ERROR, V4, VD4, Status::Busy, HONCH_ERROR.as_type());
variant!(
    NOT_SUPPORTED_ERROR,
    V5,
    VD5,
    Status::NotSupported,
    HONCH_ERROR.as_type()
);

/// The public class object of `class`.
pub const fn class_type(class: ErrorClass) -> &'static ExcType {
    match class {
        ErrorClass::Honch => &HONCH_ERROR,
        ErrorClass::InvalidArgument => &INVALID_ARGUMENT_ERROR,
        ErrorClass::Storage => &STORAGE_ERROR,
        ErrorClass::Transport => &TRANSPORT_ERROR,
        ErrorClass::Offline => &OFFLINE_ERROR,
        ErrorClass::RateLimited => &RATE_LIMITED_ERROR,
        ErrorClass::Server => &SERVER_ERROR,
        ErrorClass::Rejected => &REJECTED_ERROR,
        ErrorClass::CompressionUnavailable => &COMPRESSION_UNAVAILABLE_ERROR,
        ErrorClass::NotInitialized => &NOT_INITIALIZED_ERROR,
    }
}

fn variant_type(status: Status) -> Option<&'static ExcType> {
    Some(match status {
        Status::QueueFull => &QUEUE_FULL_ERROR,
        Status::Timeout => &TIMEOUT_ERROR,
        Status::OutOfMemory => &OUT_OF_MEMORY_ERROR,
        Status::AlreadyInitialized => &ALREADY_INITIALIZED_ERROR,
        Status::Busy => &BUSY_ERROR,
        Status::NotSupported => &NOT_SUPPORTED_ERROR,
        _ => return None,
    })
}

fn type_for_status(status: Status) -> *const sys::mp_obj_type_t {
    let class = status.error_class();
    match variant_type(status) {
        Some(t) if class.default_status() != status => t.as_type(),
        _ => class_type(class).as_type(),
    }
}

fn status_of_type(ty: *const sys::mp_obj_type_t) -> Status {
    for status in VARIANTS {
        if let Some(t) = variant_type(status) {
            if core::ptr::eq(t.as_type(), ty) {
                return status;
            }
        }
    }
    for class in ErrorClass::ALL {
        if core::ptr::eq(class_type(class).as_type(), ty) {
            return class.default_status();
        }
    }
    Status::Internal
}
