// The C side of the _honch_core user module: only what MicroPython's build tools must see in
// C (module registration, the qstrs the Rust code uses) and the nlr trampoline. The module
// object, its types and every method are Rust (src/micropython/).

#include "py/runtime.h"
#include "py/nlr.h"
#include "py/mphal.h"

#ifdef NO_QSTR
// Seen only by the qstr scanner (it preprocesses with -DNO_QSTR): interns every listed name.
#define HONCH_QSTR(name) MP_QSTR_##name
#include "honch_qstrs.h"
#undef HONCH_QSTR
#endif

// Defined in Rust (src/micropython/module.rs).
extern const mp_obj_module_t honch_core_module;
MP_REGISTER_MODULE(MP_QSTR__honch_core, honch_core_module);

// Runs fn(ctx) under an nlr handler. Returns MP_OBJ_NULL when fn returned normally, or the
// exception it raised. Rust never calls nlr_push itself: a setjmp-style "returns twice"
// function cannot be expressed safely in Rust, so every call into the VM that may raise
// while Rust owns resources goes through here.
mp_obj_t honch_nlr_protect(void (*fn)(void *), void *ctx) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        fn(ctx);
        nlr_pop();
        return MP_OBJ_NULL;
    }
    return MP_OBJ_FROM_PTR(nlr.ret_val);
}

// Ports may implement these HAL functions as static inline; these give Rust a real symbol.
mp_uint_t honch_hal_ticks_ms(void) {
    return mp_hal_ticks_ms();
}

uint64_t honch_hal_time_ns(void) {
    return mp_hal_time_ns();
}
