//! Time, randomness and the nlr-protected call, as the firmware provides them.

use core::ffi::c_void;

use honch_mp_sys as sys;

use super::obj::{self, Obj};
use super::raise::Result;
use crate::client::Clock;

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

/// Calls `f` under an nlr handler (c/honch_usermod.c); returns the exception it raised.
///
/// `f` may call VM functions that raise, so it must not own anything with a destructor
/// at such a call: a raise jumps straight back here, skipping the rest of `f`.
pub fn protect<F: FnMut()>(mut f: F) -> Option<Obj> {
    unsafe extern "C" fn trampoline<F: FnMut()>(ctx: *mut c_void) {
        // SAFETY: `ctx` is the `&mut F` passed below, alive for the whole call.
        let f = unsafe { &mut *ctx.cast::<F>() };
        f();
    }
    // SAFETY: the trampoline matches `void (*)(void *)` and receives our closure.
    let exc = unsafe { sys::honch_nlr_protect(Some(trampoline::<F>), (&mut f as *mut F).cast()) };
    (!exc.is_null()).then_some(exc)
}

/// 32 bytes for the client's random ids: `os.urandom(32)` when the firmware has it,
/// otherwise a mix of the clocks and an address (ids then only need to differ per boot).
pub fn seed() -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut got = false;
    let failed = protect(|| {
        // SAFETY: importing and calling through the VM; any exception is caught by protect.
        unsafe {
            let os = sys::mp_import_name(sys::MP_QSTR_os as _, obj::NONE, obj::small_int(0));
            let urandom = sys::mp_load_attr(os, sys::MP_QSTR_urandom as _);
            let bytes = sys::mp_call_function_1(urandom, obj::small_int(32));
            if let Some(b) = obj::buffer(bytes, false) {
                if b.len() >= 32 {
                    out.copy_from_slice(&b[..32]);
                    got = true;
                }
            }
        }
    });
    if failed.is_some() || !got {
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

/// Prints `prefix`, `text` and a newline on the runtime's stdout (never raises).
pub fn print_line(prefix: &[u8], text: &str) {
    for part in [prefix, text.as_bytes(), b"\n"] {
        // SAFETY: printing bytes through the platform printer; it does not raise.
        unsafe { sys::mp_print_strn(&sys::mp_plat_print, part.as_ptr().cast(), part.len(), 0, 0, 0) };
    }
}
