//! The MicroPython binding: `_honch_core` as a user module linked into firmware.
//!
//! Layout: `layout` mirrors the C structs built as constant data (with layout checks),
//! `obj` reads objects without raising, `raise` holds the exception types and the only raise
//! path, `platform` the clocks, RNG seed and nlr-protected calls, `props` converts property
//! values, `honch` is the `Honch` type, `module` the module object, and `alloc` routes the
//! Rust heap to the GC heap.
//!
//! The nlr rule: MicroPython raises with a longjmp, which must never skip a Rust frame that
//! owns something. Entry points therefore compute a plain-data result first and raise only
//! in [`raise::finish`], after everything they owned is dropped; the calls that may raise
//! while Rust owns values go through [`platform::catch`].
//!
//! The buffer rule: the event buffer's bytes are used only while no Python code runs. After
//! any (a callback, `str()`, an import, a wait in `poll`), `honch::Instance::events` or the
//! transport's guard looks the buffer up again, and a buffer that moved stops the call with
//! `StorageError` before anything is written.

mod alloc;
mod compat;
mod honch;
mod layout;
mod lifecycle;
mod module;
mod obj;
mod platform;
mod props;
mod raise;
mod transport;
