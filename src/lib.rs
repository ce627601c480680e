//! honch: the device-analytics SDK core behind the `_honch_core` module.
//!
//! The core (everything not behind a binding feature) is `#![no_std]` + `alloc` and knows
//! nothing of Python: it validates, stores and encodes events, and decides when and how to
//! send them. Two bindings only convert between Python objects and the core:
//! [`micropython`] (feature `micropython`, a user module linked into firmware) and
//! [`cpython`] (feature `cpython`, a PyO3 extension). The capture side (strict decoder,
//! local collector, conformance runner) is std-only, behind feature `tools`.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod client;
pub mod config;
pub mod delivery;
pub mod diagnostics;
pub mod http;
pub mod packed;
pub mod queue;
pub mod random;
pub mod record;
pub mod status;
pub mod trust;
pub mod varint;
pub mod wire;

#[cfg(feature = "tools")]
pub mod capture;

#[cfg(feature = "cpython")]
mod cpython;

#[cfg(feature = "micropython")]
mod micropython;

#[cfg(all(feature = "micropython", feature = "std"))]
compile_error!(
    "the micropython binding is no_std: build it with --no-default-features --features micropython"
);
