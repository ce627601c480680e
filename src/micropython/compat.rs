//! `_honch_core.Client(config: dict)`: the low-level surface of the reference C module
//! (micropython.md §1), so the published `honch-micropython` 0.3.1 wrapper runs unchanged on
//! this module. It is a subclass of `Honch` built from a dict; it differs only where the
//! reference did: `report_log_error(component, message)` (component first) and
//! `report_crash(report)` with a dict.

use honch_mp_sys as sys;

use super::honch::{construct, method_args, with_client, CLIENT_LOCALS_TABLE, HONCH_TYPE};
use super::layout::{slot, ObjType, RomDict, Slots};
use super::lifecycle::report_log_error_with;
use super::obj::{self, Obj};
use super::platform::MpClock;
use super::raise::{finish, Result};
use crate::status::Error;

const NOT_A_DICT: Error = Error::invalid("config must be a dict");
const REPORT_NOT_A_DICT: Error = Error::invalid("report must be a dict");

unsafe extern "C" fn make_new(
    _ty: *const sys::mp_obj_type_t,
    n_args: usize,
    n_kw: usize,
    args: *const Obj,
) -> Obj {
    finish((|| {
        if n_args != 1 || n_kw != 0 {
            return Err(NOT_A_DICT.into());
        }
        let config = obj::args(args, n_args).first().copied().ok_or(NOT_A_DICT)?;
        let map = obj::dict_map(config).ok_or(NOT_A_DICT)?;
        // The dict's pairs become the keyword pairs `Honch(**config)` would get.
        let mut pairs = [obj::NULL; 2 * 24];
        let mut n = 0;
        for (k, v) in obj::map_entries(map) {
            if n + 2 > pairs.len() {
                return Err(Error::invalid("config has too many keys").into());
            }
            pairs[n] = k;
            pairs[n + 1] = v;
            n += 2;
        }
        construct(CLIENT_TYPE.as_type(), 0, &pairs[..n])
    })())
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
            [sys::MP_QSTR_component, sys::MP_QSTR_message],
            2,
        )
        .and_then(|(this, [component, message])| report_log_error_with(this, component, message)),
    )
}

/// A report value: a str, or absent/None.
fn field(map: &sys::mp_map_t, key: &str) -> Result<Option<&'static str>> {
    match obj::map_get(map, key) {
        None => Ok(None),
        Some(value) if value == obj::NONE => Ok(None),
        Some(value) => Ok(Some(
            obj::str_data(value).ok_or(Error::invalid("report values must be str"))?,
        )),
    }
}

pub(super) unsafe extern "C" fn report_crash(n_args: usize, args: *const Obj, kw: *mut sys::mp_map_t) -> Obj {
    finish((|| {
        let (this, [report]) = method_args(n_args, args, kw, [sys::MP_QSTR_report], 1)?;
        let map = obj::dict_map(report).ok_or(REPORT_NOT_A_DICT)?;
        let message = field(map, "message")?;
        let type_name = field(map, "type")?;
        let backtrace = field(map, "backtrace")?;
        with_client(this, |client, buf| {
            client.report_crash(buf, &MpClock, type_name, message, backtrace)?;
            Ok(obj::NONE)
        })
    })())
}

static LOCALS: RomDict = RomDict::new(&CLIENT_LOCALS_TABLE);

pub static CLIENT_TYPE: ObjType<3> = ObjType::new(
    sys::MP_QSTR_Client,
    Slots {
        make_new: 1,
        parent: 2,
        locals_dict: 3,
        ..Slots::NONE
    },
    [
        slot::make_new(make_new),
        slot::data(&HONCH_TYPE),
        slot::data(&LOCALS),
    ],
);
