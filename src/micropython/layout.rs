//! `#[repr(C)]` mirrors of the MicroPython structs the binding builds as constant data
//! (types, method tables, dicts, modules, strings), with compile-time checks that each one
//! matches the layout bindgen read from this port's headers.
//!
//! Why mirrors: the real structs end in flexible arrays or hold C bitfields, neither of which
//! a Rust `static` can initialise; these carry the same bytes.

use core::ffi::c_void;
use core::mem::{offset_of, size_of};

use honch_mp_sys as sys;

/// `mp_obj_base_t`.
#[repr(C)]
pub struct ObjBase {
    pub type_: *const sys::mp_obj_type_t,
}

/// `mp_obj_type_t` with `N` slots.
#[repr(C)]
pub struct ObjType<const N: usize> {
    pub base: ObjBase,
    pub flags: u16,
    pub name: u16,
    pub slot_index_make_new: u8,
    pub slot_index_print: u8,
    pub slot_index_call: u8,
    pub slot_index_unary_op: u8,
    pub slot_index_binary_op: u8,
    pub slot_index_attr: u8,
    pub slot_index_subscr: u8,
    pub slot_index_iter: u8,
    pub slot_index_buffer: u8,
    pub slot_index_protocol: u8,
    pub slot_index_parent: u8,
    pub slot_index_locals_dict: u8,
    pub slots: [*const c_void; N],
}

/// Where a type's slot functions are: 1-based indices into its `slots` (0: absent).
#[derive(Clone, Copy, Default)]
pub struct Slots {
    pub make_new: u8,
    pub print: u8,
    pub call: u8,
    pub attr: u8,
    pub parent: u8,
    pub locals_dict: u8,
}

impl Slots {
    pub const NONE: Slots = Slots {
        make_new: 0,
        print: 0,
        call: 0,
        attr: 0,
        parent: 0,
        locals_dict: 0,
    };
}

impl<const N: usize> ObjType<N> {
    /// A type named `name` (a qstr) with the slots `index` points into.
    pub const fn new(name: u32, index: Slots, slots: [*const c_void; N]) -> Self {
        Self {
            base: ObjBase {
                type_: &raw const sys::mp_type_type,
            },
            flags: 0,
            name: name as u16,
            slot_index_make_new: index.make_new,
            slot_index_print: index.print,
            slot_index_call: index.call,
            slot_index_unary_op: 0,
            slot_index_binary_op: 0,
            slot_index_attr: index.attr,
            slot_index_subscr: 0,
            slot_index_iter: 0,
            slot_index_buffer: 0,
            slot_index_protocol: 0,
            slot_index_parent: index.parent,
            slot_index_locals_dict: index.locals_dict,
            slots,
        }
    }

    /// The pointer MicroPython expects for this type.
    pub const fn as_type(&'static self) -> *const sys::mp_obj_type_t {
        (self as *const Self).cast()
    }
}

/// `mp_rom_map_elem_t` (representation A: two object words).
#[repr(C)]
pub struct RomElem {
    pub key: *const c_void,
    pub value: *const c_void,
}

/// `mp_map_t` of a constant table: the C bitfield word (`all_keys_are_qstrs`, `is_fixed`,
/// `is_ordered`, `used`) spelled out.
#[repr(C)]
pub struct RomMap {
    pub bits: usize,
    pub alloc: usize,
    pub table: *const RomElem,
}

impl RomMap {
    /// A fixed, ordered table whose keys are all qstrs (what `MP_DEFINE_CONST_DICT` makes).
    pub const fn fixed(table: &'static [RomElem]) -> Self {
        Self {
            bits: 0b111 | (table.len() << 3),
            alloc: table.len(),
            table: table.as_ptr(),
        }
    }
}

/// `mp_obj_dict_t` of a constant table.
#[repr(C)]
pub struct RomDict {
    pub base: ObjBase,
    pub map: RomMap,
}

impl RomDict {
    /// A constant dict over a fixed table of qstr keys.
    pub const fn new(table: &'static [RomElem]) -> Self {
        Self {
            base: ObjBase {
                type_: &raw const sys::mp_type_dict,
            },
            map: RomMap::fixed(table),
        }
    }
}

/// `mp_obj_module_t`.
#[repr(C)]
pub struct Module {
    pub base: ObjBase,
    pub globals: *const RomDict,
}

/// `mp_obj_fun_builtin_var_t` with `MP_OBJ_FUN_ARGS_MAX`-style keyword support: `fun` is the
/// `kw` member of its union.
#[repr(C)]
pub struct FunVar {
    pub base: ObjBase,
    pub sig: u32,
    pub fun: MethodFn,
}

/// The C signatures of the functions the binding gives MicroPython. Slots are stored as
/// `const void *` (that is how `mp_obj_type_t` holds them), but each is made from a function
/// of its own type by the constructors in [`slot`], so a wrong signature does not compile.
pub type MethodFn = unsafe extern "C" fn(usize, *const sys::mp_obj_t, *mut sys::mp_map_t) -> sys::mp_obj_t;
pub type MakeNewFn =
    unsafe extern "C" fn(*const sys::mp_obj_type_t, usize, usize, *const sys::mp_obj_t) -> sys::mp_obj_t;
pub type CallFn = unsafe extern "C" fn(sys::mp_obj_t, usize, usize, *const sys::mp_obj_t) -> sys::mp_obj_t;
pub type AttrFn = unsafe extern "C" fn(sys::mp_obj_t, sys::qstr, *mut sys::mp_obj_t);
pub type PrintFn = unsafe extern "C" fn(*const sys::mp_print_t, sys::mp_obj_t, sys::mp_print_kind_t);

/// Typed constructors of type slots.
pub mod slot {
    use super::*;

    pub const fn make_new(f: MakeNewFn) -> *const c_void {
        f as *const c_void
    }

    pub const fn call(f: CallFn) -> *const c_void {
        f as *const c_void
    }

    pub const fn attr(f: AttrFn) -> *const c_void {
        f as *const c_void
    }

    pub const fn print(f: PrintFn) -> *const c_void {
        f as *const c_void
    }

    /// A parent type or a locals dict: a pointer to constant data.
    pub const fn data<T>(p: &'static T) -> *const c_void {
        (p as *const T).cast()
    }
}

/// `mp_obj_str_t`.
#[repr(C)]
pub struct StrObj {
    pub base: ObjBase,
    pub hash: usize,
    pub len: usize,
    pub data: *const u8,
}

// SAFETY: these are only ever placed in immutable statics that MicroPython reads; nothing
// writes through their pointers, so sharing them between threads is sound.
unsafe impl<const N: usize> Sync for ObjType<N> {}
// SAFETY: as above.
unsafe impl Sync for RomElem {}
// SAFETY: as above.
unsafe impl Sync for RomDict {}
// SAFETY: as above.
unsafe impl Sync for Module {}
// SAFETY: as above.
unsafe impl Sync for FunVar {}
// SAFETY: as above.
unsafe impl Sync for StrObj {}

/// `MP_OBJ_FUN_MAKE_SIG`.
pub const fn fun_sig(n_args_min: u32, n_args_max: u32, takes_kw: bool) -> u32 {
    (n_args_min << 17) | (n_args_max << 1) | takes_kw as u32
}

// The layout checks: a mismatch stops the firmware build instead of corrupting memory.
const _: () = {
    assert!(size_of::<ObjType<0>>() == size_of::<sys::mp_obj_type_t>());
    assert!(offset_of!(ObjType<0>, flags) == offset_of!(sys::mp_obj_type_t, flags));
    assert!(offset_of!(ObjType<0>, name) == offset_of!(sys::mp_obj_type_t, name));
    assert!(
        offset_of!(ObjType<0>, slot_index_make_new) == offset_of!(sys::mp_obj_type_t, slot_index_make_new)
    );
    assert!(offset_of!(ObjType<0>, slot_index_print) == offset_of!(sys::mp_obj_type_t, slot_index_print));
    assert!(offset_of!(ObjType<0>, slot_index_attr) == offset_of!(sys::mp_obj_type_t, slot_index_attr));
    assert!(offset_of!(ObjType<0>, slot_index_parent) == offset_of!(sys::mp_obj_type_t, slot_index_parent));
    assert!(
        offset_of!(ObjType<0>, slot_index_locals_dict)
            == offset_of!(sys::mp_obj_type_t, slot_index_locals_dict)
    );
    assert!(offset_of!(ObjType<0>, slots) == offset_of!(sys::mp_obj_type_t, slots));
    assert!(offset_of!(ObjType<4>, slots) == offset_of!(sys::mp_obj_type_t, slots));
    assert!(size_of::<ObjBase>() == size_of::<sys::mp_obj_base_t>());
    assert!(size_of::<RomElem>() == size_of::<sys::mp_rom_map_elem_t>());
    assert!(size_of::<RomMap>() == size_of::<sys::mp_map_t>());
    assert!(offset_of!(RomMap, table) == offset_of!(sys::mp_map_t, table));
    assert!(size_of::<RomDict>() == size_of::<sys::mp_obj_dict_t>());
    assert!(offset_of!(RomDict, map) == offset_of!(sys::mp_obj_dict_t, map));
    assert!(size_of::<Module>() == size_of::<sys::mp_obj_module_t>());
    assert!(offset_of!(Module, globals) == offset_of!(sys::mp_obj_module_t, globals));
    assert!(size_of::<FunVar>() == size_of::<sys::mp_obj_fun_builtin_var_t>());
    assert!(offset_of!(FunVar, sig) == offset_of!(sys::mp_obj_fun_builtin_var_t, sig));
    assert!(offset_of!(FunVar, fun) == offset_of!(sys::mp_obj_fun_builtin_var_t, fun));
    assert!(size_of::<StrObj>() == size_of::<sys::mp_obj_str_t>());
    assert!(offset_of!(StrObj, len) == offset_of!(sys::mp_obj_str_t, len));
    assert!(offset_of!(StrObj, data) == offset_of!(sys::mp_obj_str_t, data));
};
