//! Object representation A (`MICROPY_OBJ_REPR_A`, asserted in mp_bindings) and the
//! non-raising reads the binding needs. None of these functions can raise a MicroPython
//! exception or run Python code, so they are safe to call while Rust values with destructors
//! are alive.
//!
//! The value readers (`str_data`, `int_value`, `float_value`, `seq_items`, `dict_map`) accept
//! the built-in type and instances of Python classes derived from it (their native part is
//! read; no method of the subclass runs), as the CPython binding does (product.md
//! Decision 17).

use core::ffi::c_void;

use honch_mp_sys as sys;

pub type Obj = sys::mp_obj_t;
pub type Qstr = sys::qstr;

pub const NULL: Obj = core::ptr::null_mut();
/// `MP_OBJ_SENTINEL` (representation A): "load" for `mp_obj_subscr`, "deleted" in maps.
pub const SENTINEL: Obj = 4 as Obj;

const fn immediate(v: usize) -> Obj {
    ((v << 3) | 6) as Obj
}

pub const NONE: Obj = immediate(0);
pub const FALSE: Obj = immediate(1);
pub const TRUE: Obj = immediate(3);

pub const fn qstr_obj(q: u32) -> Obj {
    (((q as usize) << 3) | 2) as Obj
}

pub const fn qstr_rom(q: u32) -> *const c_void {
    qstr_obj(q) as *const c_void
}

pub fn is_qstr(o: Obj) -> bool {
    (o as usize) & 7 == 2
}

pub fn is_small_int(o: Obj) -> bool {
    (o as usize) & 1 == 1
}

/// The largest small int of this port (representation A: one bit less than a word, so
/// 2**30 - 1 on 32-bit ports).
pub const SMALL_INT_MAX: isize = isize::MAX >> 1;

/// `MP_OBJ_NEW_SMALL_INT`; the caller keeps `v` within the small-int range (constants, or
/// values bounded well below 2**30). Values that may be larger go through [`int`].
pub const fn small_int(v: isize) -> Obj {
    (((v as usize) << 1) | 1) as Obj
}

/// An int object for any `i64`: a small int when it fits, else a new long int.
///
/// # Raises
/// `MemoryError` when a long int cannot be allocated: call it only where nothing in Rust
/// owns resources, or under `catch`.
pub fn int(v: i64) -> Obj {
    match isize::try_from(v) {
        Ok(i) if (-SMALL_INT_MAX - 1..=SMALL_INT_MAX).contains(&i) => small_int(i),
        // SAFETY: allocates a new int object (may raise, see above).
        _ => unsafe { sys::mp_obj_new_int_from_ll(v) },
    }
}

/// The positional arguments MicroPython passed (`n` objects at `args`, which may be NULL
/// when `n` is 0).
pub fn args<'a>(args: *const Obj, n: usize) -> &'a [Obj] {
    if n == 0 || args.is_null() {
        return &[];
    }
    // SAFETY: MicroPython passes `n` valid objects at `args`, alive for the whole call.
    unsafe { core::slice::from_raw_parts(args, n) }
}

/// The native object inside an instance of a Python class derived from a built-in value
/// type (`class Name(str)`), or `None`.
pub fn native_value(o: Obj) -> Option<Obj> {
    if o.is_null() || is_small_int(o) || is_qstr(o) || is_immediate(o) {
        return None;
    }
    // SAFETY: `o` is a valid heap object; the C helper only inspects its type.
    let base = unsafe { sys::honch_native_value(o) };
    (!base.is_null()).then_some(base)
}

fn is_immediate(o: Obj) -> bool {
    (o as usize) & 7 == 6
}

pub const fn small_int_rom(v: isize) -> *const c_void {
    small_int(v) as *const c_void
}

fn small_int_value(o: Obj) -> isize {
    (o as isize) >> 1
}

/// `type(o)` (never raises); `o` must be a valid object, not NULL.
pub fn type_of(o: Obj) -> *const sys::mp_obj_type_t {
    // SAFETY: mp_obj_get_type accepts any valid object and only reads it.
    unsafe { sys::mp_obj_get_type(o) }
}

pub fn is_type(o: Obj, t: *const sys::mp_obj_type_t) -> bool {
    core::ptr::eq(type_of(o), t)
}

macro_rules! builtin_type {
    ($name:ident) => {
        // Taking the address of a C static reads nothing (and needs no `unsafe`).
        &raw const sys::$name
    };
}
pub(crate) use builtin_type;

/// The UTF-8 text of a `str` (an interned qstr, or a `str` subclass); `None` for anything
/// else, NULL included.
pub fn str_data<'a>(o: Obj) -> Option<&'a str> {
    str_exact(o).or_else(|| str_exact(native_value(o)?))
}

/// Whether `o` is a `str` object or qstr (whatever its bytes), not a subclass.
pub fn is_str_type(o: Obj) -> bool {
    !o.is_null() && (is_qstr(o) || is_type(o, builtin_type!(mp_type_str)))
}

/// The text of a `str` object or qstr, not a subclass.
pub fn str_exact<'a>(o: Obj) -> Option<&'a str> {
    if o.is_null() {
        return None;
    }
    let bytes: &[u8] = if is_qstr(o) {
        let mut len = 0usize;
        // SAFETY: `o` is a qstr object; qstr_data returns interned bytes that live as long
        // as the VM's qstr pool (never freed while the VM runs).
        let p = unsafe { sys::qstr_data((o as usize >> 3) as Qstr, &mut len) };
        if len == 0 || p.is_null() {
            &[]
        } else {
            // SAFETY: qstr_data returned a pointer to `len` readable bytes.
            unsafe { core::slice::from_raw_parts(p, len) }
        }
    } else if is_type(o, builtin_type!(mp_type_str)) {
        // SAFETY: `o` is a str object, so it points at an mp_obj_str_t.
        let s = unsafe { &*(o as *const sys::mp_obj_str_t) };
        if s.len == 0 || s.data.is_null() {
            &[]
        } else {
            // SAFETY: a str object's data holds `len` bytes for as long as the object lives,
            // and the caller holds a reference to the object for the duration of the borrow.
            unsafe { core::slice::from_raw_parts(s.data, s.len) }
        }
    } else {
        return None;
    };
    // MicroPython guarantees str contents are valid UTF-8, but this is checked anyway since
    // the cost is small next to the event and the rest of the crate relies on it.
    core::str::from_utf8(bytes).ok()
}

/// An integer object's value (an `int` subclass too; not `bool`), if it fits in 64 bits:
/// `Some(Ok(i64))` for values that fit in `i64`, `Some(Err(u64))` for values in
/// `2**63 .. 2**64`, `None` otherwise (too large, or not an int).
pub fn int_value(o: Obj) -> Option<Result<i64, u64>> {
    int_exact(o).or_else(|| int_exact(native_value(o)?))
}

/// Whether `o` is an `int` (or a subclass), whatever its size; `bool` is not.
pub fn is_int(o: Obj) -> bool {
    let exact = |o: Obj| is_small_int(o) || is_type(o, builtin_type!(mp_type_int));
    exact(o) || native_value(o).is_some_and(exact)
}

/// The value of an `int` object, not a subclass.
pub fn int_exact(o: Obj) -> Option<Result<i64, u64>> {
    if is_small_int(o) {
        return Some(Ok(small_int_value(o) as i64));
    }
    if o.is_null() || !is_type(o, builtin_type!(mp_type_int)) {
        return None;
    }
    big_int_value(o)
}

fn big_int_value(o: Obj) -> Option<Result<i64, u64>> {
    // SAFETY: with MPZ long ints, every non-small int object is an mp_obj_int_t.
    let int = unsafe { &*(o as *const sys::mp_obj_int_t) };
    let digits = int.mpz.len;
    let dig_bits = sys::HONCH_MPZ_DIG_SIZE as usize;
    if digits * dig_bits > 64 + dig_bits {
        return None;
    }
    let dig_bytes = core::mem::size_of::<sys::mpz_dig_t>();
    let mut magnitude: u128 = 0;
    for i in (0..digits).rev() {
        // SAFETY: `dig` holds `len` digits of `dig_bytes` bytes each.
        let d = unsafe {
            let p = (int.mpz.dig as *const u8).add(i * dig_bytes);
            match dig_bytes {
                2 => u128::from((p as *const u16).read_unaligned()),
                4 => u128::from((p as *const u32).read_unaligned()),
                _ => return None,
            }
        };
        magnitude = (magnitude << dig_bits) | d;
    }
    if int.mpz.neg() != 0 {
        if magnitude <= 1u128 << 63 {
            return Some(Ok((magnitude as i128).wrapping_neg() as i64));
        }
        return None;
    }
    if magnitude <= i64::MAX as u128 {
        Some(Ok(magnitude as i64))
    } else if magnitude <= u64::MAX as u128 {
        Some(Err(magnitude as u64))
    } else {
        None
    }
}

/// The value of a `float` object, not a subclass.
pub fn float_exact(o: Obj) -> Option<f64> {
    if o.is_null() || is_small_int(o) || is_qstr(o) || is_immediate(o) {
        return None;
    }
    let mut value = 0.0;
    // SAFETY: the C helper checks the type before reading the value; it never raises.
    unsafe { sys::honch_float_value(o, &mut value) }.then_some(value)
}

/// The items of a `list` or `tuple` object (or of a built-in tuple type such as a
/// namedtuple), not of a Python subclass.
pub fn seq_exact<'a>(o: Obj) -> Option<&'a [Obj]> {
    if o.is_null() || is_small_int(o) || is_qstr(o) || is_immediate(o) {
        return None;
    }
    let mut len = 0usize;
    let mut items: *mut Obj = core::ptr::null_mut();
    // SAFETY: the C helper checks the type and reports the item array, valid while the
    // object is unchanged (no Python code runs meanwhile); it never raises.
    unsafe { sys::honch_seq_items(o, &mut len, &mut items) }.then(|| args(items, len))
}

/// The filled (key, value) slots of a dict (or OrderedDict, or a subclass).
pub fn dict_map<'a>(o: Obj) -> Option<&'a sys::mp_map_t> {
    dict_exact(o).or_else(|| dict_exact(native_value(o)?))
}

/// The map of a `dict` (or `OrderedDict`) object, not a subclass.
pub fn dict_exact<'a>(o: Obj) -> Option<&'a sys::mp_map_t> {
    if o.is_null() || is_small_int(o) || is_qstr(o) || is_immediate(o) {
        return None;
    }
    // SAFETY: a type check only (dict, or OrderedDict where the firmware has it).
    let is_dict = is_type(o, builtin_type!(mp_type_dict)) || unsafe { sys::honch_is_dict(o) };
    if !is_dict {
        return None;
    }
    // SAFETY: `o` is a dict object, which starts with its base and then its map.
    Some(unsafe { &(*(o as *const sys::mp_obj_dict_t)).map })
}

/// Iterates the filled slots of a map.
pub fn map_entries<'a>(map: &'a sys::mp_map_t) -> impl Iterator<Item = (Obj, Obj)> + 'a {
    let table: &'a [sys::mp_map_elem_t] = if map.table.is_null() || map.alloc == 0 {
        &[]
    } else {
        // SAFETY: a map's table holds `alloc` elements.
        unsafe { core::slice::from_raw_parts(map.table, map.alloc) }
    };
    table
        .iter()
        // Empty slots hold MP_OBJ_NULL, deleted ones MP_OBJ_SENTINEL (4 in representation A).
        .filter(|e| !e.key.is_null() && e.key != SENTINEL)
        .map(|e| (e.key, e.value))
}

/// The value of the entry whose key is the `str` `name` (compared as text, so no key's
/// `__eq__` runs, unlike `mp_map_lookup` on a dict with user-defined keys).
pub fn map_get(map: &sys::mp_map_t, name: &str) -> Option<Obj> {
    map_entries(map)
        .find(|&(k, _)| str_data(k) == Some(name))
        .map(|(_, v)| v)
}

/// Number of entries of a map.
pub fn map_len(map: &sys::mp_map_t) -> usize {
    map.used()
}

/// The bytes of a bytes-like object (bytes, bytearray, memoryview, array), borrowed.
pub fn buffer<'a>(o: Obj, writable: bool) -> Option<&'a mut [u8]> {
    if o.is_null() || is_small_int(o) || is_qstr(o) || is_immediate(o) {
        return None;
    }
    // SAFETY: mp_buffer_info_t is plain data (pointers and integers); all-zero is valid.
    let mut info: sys::mp_buffer_info_t = unsafe { core::mem::zeroed() };
    let flags = if writable { sys::HONCH_BUFFER_RW } else { 1 };
    // SAFETY: mp_get_buffer (unlike mp_get_buffer_raise) reports failure by returning false.
    if !unsafe { sys::mp_get_buffer(o, &mut info, flags as _) } {
        return None;
    }
    if info.len == 0 || info.buf.is_null() {
        return Some(&mut []);
    }
    // SAFETY: the buffer protocol reported `len` bytes at `buf`, valid while the object
    // lives and is not resized; callers re-acquire it on every call.
    Some(unsafe { core::slice::from_raw_parts_mut(info.buf.cast::<u8>(), info.len) })
}
