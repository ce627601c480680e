//! The Rust heap on MicroPython is the GC heap, and a panic stops the firmware.
//!
//! Allocations come from `gc_alloc` (no finaliser), so they are reclaimed with the Honch
//! object that refers to them: the GC scans that object, and the blocks it points to,
//! conservatively. Nothing allocated here may be referred to only from a Rust `static`
//! (the GC does not scan them); the binding keeps no such statics.

use core::alloc::{GlobalAlloc, Layout};

use honch_mp_sys as sys;

struct GcHeap;

// SAFETY: gc_alloc returns blocks aligned to MICROPY_BYTES_PER_GC_BLOCK (larger alignments
// are refused with null), gc_free/gc_realloc take exactly the pointers gc_alloc returned,
// and the VM is single-threaded.
unsafe impl GlobalAlloc for GcHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > sys::HONCH_GC_BLOCK_BYTES as usize {
            return core::ptr::null_mut();
        }
        // SAFETY: a plain allocation request; null on failure (it never raises).
        unsafe { sys::gc_alloc(layout.size().max(1), 0).cast() }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from gc_alloc/gc_realloc above.
        unsafe { sys::gc_free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() > sys::HONCH_GC_BLOCK_BYTES as usize {
            return core::ptr::null_mut();
        }
        // SAFETY: `ptr` came from this allocator; gc_realloc may move it (allowed).
        unsafe { sys::gc_realloc(ptr.cast(), new_size.max(1), true).cast() }
    }
}

#[global_allocator]
static HEAP: GcHeap = GcHeap;

/// A panic is a bug: stop through MicroPython's fatal path (the port resets or exits),
/// rather than unwind into C (undefined behaviour) or call libc's `abort()` (absent from
/// ports linked with `-nostdlib`, a busy loop in newlib's). The firmware profile builds with
/// `panic = "abort"` and keeps no message formatting.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: honch_fatal (c/honch_usermod.c) calls nlr_jump_fail, which does not return.
    unsafe { sys::honch_fatal() }
}

/// The prebuilt `core` for hosted targets refers to this symbol even with `panic = "abort"`.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
