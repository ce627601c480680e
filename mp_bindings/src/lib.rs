//! Rust view of MicroPython's C object API for the port being built: what bindgen
//! generates from the port's headers (see `build.rs`), plus compile-time checks of the
//! assumptions the binding makes about this build.
#![no_std]
#![allow(non_upper_case_globals, non_camel_case_types, non_snake_case, dead_code)]
#![allow(clippy::all)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

/// The binding encodes objects for representation A (every supported port uses it).
const _: () = assert!(
    HONCH_OBJ_REPR == HONCH_OBJ_REPR_A,
    "only MICROPY_OBJ_REPR_A is supported"
);
/// Immediate None/True/False objects (representation A's default; the binding builds them).
const _: () = assert!(
    HONCH_OBJ_IMMEDIATE_OBJS != 0,
    "only MICROPY_OBJ_IMMEDIATE_OBJS builds are supported"
);
/// Big integers are read from MPZ digits (the default of every networked port).
const _: () = assert!(
    HONCH_LONGINT_IMPL == HONCH_LONGINT_IMPL_MPZ,
    "only MICROPY_LONGINT_IMPL_MPZ is supported"
);
