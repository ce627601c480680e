//! Time, randomness and the nlr-protected call, as the firmware provides them.

use core::ffi::c_void;

use honch_mp_sys as sys;

use super::obj::{self, Obj};
use super::raise::Result;
use crate::client::Clock;
use crate::status::{Error, Status};

/// The port's clocks: `time_ns` (the RTC; the unix port reads the system clock) and
/// `ticks_ms` (monotonic, for boot-relative stamps when the RTC is not set).
pub struct MpClock;

impl Clock for MpClock {
    fn now_ms(&self) -> u64 {
        // SAFETY: a plain HAL call (c/honch_usermod.c), no arguments, never raises.
        unsafe { sys::honch_hal_time_ns() / 1_000_000 }
    }

    fn uptime_ms(&self) -> u64 {
        // SAFETY: as above.
        unsafe { sys::honch_hal_ticks_ms() as u64 }
    }
}

/// Runs `f` under an nlr handler (c/honch_usermod.c): `Ok` with `f`'s value when it
/// returned, `Err` with the exception when a VM call inside it raised. The value exists only
/// on success, so nothing can read a result that a raise left unwritten.
///
/// A raise jumps straight back here, skipping the rest of `f` (and `f` itself is never
/// dropped): `f` may capture only references and plain data, and must not own anything with
/// a destructor while it calls into the VM.
pub fn catch<T, F: FnOnce() -> T>(f: F) -> core::result::Result<T, Obj> {
    struct Call<F, T> {
        f: Option<F>,
        value: Option<T>,
    }
    unsafe extern "C" fn trampoline<T, F: FnOnce() -> T>(ctx: *mut c_void) {
        // SAFETY: `ctx` is the `Call` below, alive and not otherwise borrowed for the whole
        // protected call.
        let call = unsafe { &mut *ctx.cast::<Call<F, T>>() };
        if let Some(f) = call.f.take() {
            call.value = Some(f());
        }
    }
    let mut call = Call {
        f: Some(f),
        value: None,
    };
    // SAFETY: the trampoline has the C signature `void (*)(void *)` and receives our `Call`.
    let exc =
        unsafe { sys::honch_nlr_protect(Some(trampoline::<T, F>), (&mut call as *mut Call<F, T>).cast()) };
    match call.value {
        Some(value) if exc.is_null() => Ok(value),
        // A raise never writes `value`; a NULL exception with no value cannot happen, but is
        // reported as one rather than trusted.
        _ => Err(exc),
    }
}

/// 32 bytes for the client's random ids: `os.urandom(32)` when the firmware has it,
/// otherwise a mix of the clocks and an address (ids then only need to differ per boot).
pub fn seed() -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    // SAFETY: importing and calling through the VM, under catch; the bytes are copied out
    // before any other VM call.
    let got = catch(|| unsafe {
        let os = sys::mp_import_name(sys::MP_QSTR_os as _, obj::NONE, obj::small_int(0));
        let urandom = sys::mp_load_attr(os, sys::MP_QSTR_urandom as _);
        let bytes = sys::mp_call_function_1(urandom, obj::small_int(32));
        match obj::buffer(bytes, false) {
            Some(b) if b.len() >= 32 => {
                out.copy_from_slice(&b[..32]);
                true
            }
            _ => false,
        }
    });
    if got != Ok(true) {
        let clock = MpClock;
        let mut state = clock.now_ms() ^ (clock.uptime_ms() << 32) ^ (&out as *const _ as u64);
        for chunk in out.chunks_exact_mut(8) {
            // splitmix64: spreads the few bits of entropy over the whole seed.
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
    }
    Ok(out)
}

/// Prints `prefix`, `text` and a newline on the runtime's stdout. Printing can raise on
/// some consoles (USB-CDC runs pending work and may deliver a Ctrl-C): the exception is
/// returned for the caller to raise once it has cleaned up.
pub fn print_line(prefix: &[u8], text: &str) -> core::result::Result<(), Obj> {
    catch(|| {
        for part in [prefix, text.as_bytes(), b"\n"] {
            // SAFETY: printing bytes through the platform printer, under catch.
            unsafe { sys::mp_print_strn(&sys::mp_plat_print, part.as_ptr().cast(), part.len(), 0, 0, 0) };
        }
    })
}

/// C stack an upload needs below its entry point: the core's locals (about 2 KB), the
/// transport's and the firmware's socket and TLS calls.
const UPLOAD_STACK_BYTES: usize = 4096;

const STACK_TOO_SMALL: Error = Error::new(
    Status::OutOfMemory,
    "not enough C stack left for an upload (call it from a shallower frame or give the thread a larger stack)",
);

/// Refuses to start an upload that could overflow the C stack (thread stacks on boards are
/// small); where the port does not track its stack this always passes.
pub fn check_stack_for_upload() -> Result<()> {
    // SAFETY: reads the stack pointer and the port's limit; never raises.
    if unsafe { sys::honch_stack_has_room(UPLOAD_STACK_BYTES) } {
        Ok(())
    } else {
        Err(STACK_TOO_SMALL.into())
    }
}
