//! The `_honch_core` module object (registered from c/honch_usermod.c).

use core::ffi::c_void;

use honch_mp_sys as sys;

use super::compat::CLIENT_TYPE;
use super::honch::HONCH_TYPE;
use super::layout::{Module, ObjBase, RomDict, RomElem, StrObj};
use super::obj::{builtin_type, qstr_rom, small_int_rom};
use super::raise::class_type;
use crate::client::SDK_VERSION;
use crate::status::{ErrorClass, Status};

const fn rom_str(s: &'static str) -> StrObj {
    StrObj {
        base: ObjBase {
            type_: builtin_type!(mp_type_str),
        },
        hash: 0,
        len: s.len(),
        data: s.as_ptr(),
    }
}

static VERSION: StrObj = rom_str(SDK_VERSION);
static PLATFORM: StrObj = rom_str("micropython");

const fn class(q: u32, class: ErrorClass) -> RomElem {
    RomElem {
        key: qstr_rom(q),
        value: class_type(class) as *const _ as *const c_void,
    }
}

const fn constant(q: u32, status: Status) -> RomElem {
    RomElem {
        key: qstr_rom(q),
        value: small_int_rom(status.code() as isize),
    }
}

static GLOBALS_TABLE: [RomElem; 28] = [
    RomElem {
        key: qstr_rom(sys::MP_QSTR___name__),
        value: qstr_rom(sys::MP_QSTR__honch_core),
    },
    RomElem {
        key: qstr_rom(sys::MP_QSTR_Honch),
        value: &raw const HONCH_TYPE as *const c_void,
    },
    RomElem {
        key: qstr_rom(sys::MP_QSTR_Client),
        value: &raw const CLIENT_TYPE as *const c_void,
    },
    class(sys::MP_QSTR_HonchError, ErrorClass::Honch),
    class(sys::MP_QSTR_InvalidArgumentError, ErrorClass::InvalidArgument),
    class(sys::MP_QSTR_StorageError, ErrorClass::Storage),
    class(sys::MP_QSTR_TransportError, ErrorClass::Transport),
    class(sys::MP_QSTR_OfflineError, ErrorClass::Offline),
    class(sys::MP_QSTR_RateLimitedError, ErrorClass::RateLimited),
    class(sys::MP_QSTR_ServerError, ErrorClass::Server),
    class(sys::MP_QSTR_RejectedError, ErrorClass::Rejected),
    class(
        sys::MP_QSTR_CompressionUnavailableError,
        ErrorClass::CompressionUnavailable,
    ),
    class(sys::MP_QSTR_NotInitializedError, ErrorClass::NotInitialized),
    constant(sys::MP_QSTR_ERROR_INVALID_ARGUMENT, Status::InvalidArgument),
    constant(sys::MP_QSTR_ERROR_IO, Status::Io),
    constant(sys::MP_QSTR_ERROR_TRANSPORT, Status::Transport),
    constant(sys::MP_QSTR_ERROR_RATE_LIMITED, Status::RateLimited),
    constant(sys::MP_QSTR_ERROR_SERVER, Status::Server),
    constant(sys::MP_QSTR_ERROR_REJECTED, Status::Rejected),
    constant(sys::MP_QSTR_ERROR_NOT_INITIALIZED, Status::NotInitialized),
    constant(sys::MP_QSTR_ERROR_QUEUE_FULL, Status::QueueFull),
    constant(sys::MP_QSTR_ERROR_TIMEOUT, Status::Timeout),
    constant(sys::MP_QSTR_ERROR_BUSY, Status::Busy),
    constant(sys::MP_QSTR_ERROR_NOT_SUPPORTED, Status::NotSupported),
    constant(sys::MP_QSTR_ERROR_OFFLINE, Status::Offline),
    RomElem {
        key: qstr_rom(sys::MP_QSTR___version__),
        value: &raw const VERSION as *const c_void,
    },
    RomElem {
        key: qstr_rom(sys::MP_QSTR_SDK_VERSION),
        value: &raw const VERSION as *const c_void,
    },
    RomElem {
        key: qstr_rom(sys::MP_QSTR_SDK_PLATFORM),
        value: &raw const PLATFORM as *const c_void,
    },
];

static GLOBALS: RomDict = RomDict::new(&GLOBALS_TABLE);

/// Registered with `MP_REGISTER_MODULE` in c/honch_usermod.c.
#[no_mangle]
pub static honch_core_module: Module = Module {
    base: ObjBase {
        type_: builtin_type!(mp_type_module),
    },
    globals: &raw const GLOBALS,
};
