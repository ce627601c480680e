//! Python property values (MicroPython objects) written through the core's validating
//! [`PropsWriter`]; only type dispatch lives here, every rule is the core's.

use honch_mp_sys as sys;

use super::obj::{self, Obj};
use crate::client::Properties;
use crate::client::DUPLICATE_KEY;
use crate::record::{self, PropsError, PropsWriter};
use crate::status::Error;

const VALUE_IS_EVENT_BUFFER: Error = Error::invalid("event_buffer cannot be used as a property value");
const NOT_UTF8: Error = Error::invalid("property string is not valid UTF-8 (a lone surrogate?)");

/// A dict of properties (or none), plus the event buffer's address range, which a value
/// must not overlap (the queue is written while values are read).
pub struct MpProps<'a> {
    map: Option<&'a sys::mp_map_t>,
    guard: (usize, usize),
}

impl<'a> MpProps<'a> {
    /// `None` (or absent) means no properties; anything but a dict is refused.
    pub fn new(o: Obj, guard: (usize, usize)) -> Result<Self, Error> {
        if o.is_null() || o == obj::NONE {
            return Ok(Self { map: None, guard });
        }
        let map = obj::dict_map(o).ok_or(record::PROPERTIES_NOT_DICT)?;
        Ok(Self {
            map: Some(map),
            guard,
        })
    }
}

impl Properties for MpProps<'_> {
    fn count(&self) -> usize {
        self.map.map_or(0, obj::map_len)
    }

    fn write(&self, w: &mut PropsWriter<'_>) -> Result<(), PropsError> {
        match self.map {
            Some(map) => write_pairs(map, w, self.guard),
            None => Ok(()),
        }
    }
}

/// The single `{key: value}` of `set_property` (`value` NULL means None).
pub struct MpPair<'a> {
    pub key: &'a str,
    pub value: Obj,
    pub guard: (usize, usize),
}

impl Properties for MpPair<'_> {
    fn count(&self) -> usize {
        1
    }

    fn write(&self, w: &mut PropsWriter<'_>) -> Result<(), PropsError> {
        w.key(self.key)?;
        if self.value.is_null() {
            return w.null();
        }
        write_value(self.value, w, self.guard)
    }
}

fn write_pairs(
    map: &sys::mp_map_t,
    w: &mut PropsWriter<'_>,
    guard: (usize, usize),
) -> Result<(), PropsError> {
    for (k, v) in obj::map_entries(map) {
        let key = obj::str_data(k).ok_or(record::KEYS_NOT_STR)?;
        if obj::str_exact(k).is_none() && repeats(map, k, key) {
            // A dict tells `str` subclass keys from equal plain ones; the wire cannot.
            return Err(DUPLICATE_KEY.into());
        }
        w.key(key)?;
        write_value(v, w, guard)?;
    }
    Ok(())
}

/// Whether another key of `map` than `k` has the text `key` (only asked for `str` subclass
/// keys, the one way a dict holds two keys with the same text).
fn repeats(map: &sys::mp_map_t, k: Obj, key: &str) -> bool {
    obj::map_entries(map).any(|(other, _)| other != k && obj::str_data(other) == Some(key))
}

fn overlaps(bytes: &[u8], guard: (usize, usize)) -> bool {
    let start = bytes.as_ptr() as usize;
    !bytes.is_empty() && start < guard.1 && guard.0 < start + bytes.len()
}

/// Whether this firmware's floats are single precision (`MICROPY_FLOAT_IMPL_FLOAT`): its
/// floats then go on the wire as float32 (product.md Decision 15), so `36.6` arrives as the
/// value the device holds.
const SINGLE_PRECISION: bool = sys::HONCH_FLOAT_IMPL == sys::HONCH_FLOAT_IMPL_FLOAT;

/// One value, in the order of micropython.md §1.5. Built-in types are read directly; an
/// instance of a Python class derived from one is read through its native part, so a `str`
/// subclass is a string (never bytes) and no method of the subclass runs.
fn write_value(v: Obj, w: &mut PropsWriter<'_>, guard: (usize, usize)) -> Result<(), PropsError> {
    if v == obj::NONE {
        return w.null();
    }
    if v == obj::TRUE || v == obj::FALSE {
        return w.bool(v == obj::TRUE);
    }
    if let Some(int) = obj::int_exact(v) {
        return match int {
            Ok(i) => w.int(i),
            Err(u) => w.uint(u),
        };
    }
    if obj::is_type(v, obj::builtin_type!(mp_type_int)) {
        return Err(record::INT_OUT_OF_RANGE.into());
    }
    if let Some(f) = obj::float_exact(v) {
        return if SINGLE_PRECISION {
            // Exact: the value was widened from an f32.
            w.float32(f as f32)
        } else {
            w.float(f)
        };
    }
    if let Some(s) = obj::str_exact(v) {
        return w.str(s);
    }
    if obj::is_str_type(v) {
        // A str whose bytes are not UTF-8 (MicroPython lets lone surrogates in): refused,
        // never sent as the bytes its buffer exports.
        return Err(NOT_UTF8.into());
    }
    if let Some(map) = obj::dict_exact(v) {
        w.begin_map(obj::map_len(map))?;
        write_pairs(map, w, guard)?;
        w.end();
        return Ok(());
    }
    if let Some(items) = obj::seq_exact(v) {
        w.begin_list(items.len())?;
        for &item in items {
            write_value(item, w, guard)?;
        }
        w.end();
        return Ok(());
    }
    if let Some(base) = obj::native_value(v) {
        return write_value(base, w, guard);
    }
    if let Some(bytes) = obj::buffer(v, false) {
        if overlaps(bytes, guard) {
            return Err(VALUE_IS_EVENT_BUFFER.into());
        }
        return w.bytes(bytes);
    }
    Err(record::UNSUPPORTED_VALUE.into())
}
