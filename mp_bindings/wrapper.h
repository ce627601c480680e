// What bindgen reads: the parts of MicroPython 1.25.0's C object API the Rust binding uses,
// with the port's own configuration (its -I/-D flags arrive through HONCH_MPY_CFLAGS).
#include "py/runtime.h"
#include "py/gc.h"
#include "py/nlr.h"
#include "py/objstr.h"
#include "py/objint.h"
#include "py/objtuple.h"
#include "py/objlist.h"
#include "py/objexcept.h"
#include "py/mpz.h"
#include "py/qstr.h"
#include "py/mperrno.h"

// Compile-time facts of this build, as enum constants so bindgen turns them into Rust consts.
enum honch_mp_config {
    HONCH_OBJ_REPR = MICROPY_OBJ_REPR,
    HONCH_OBJ_REPR_A = MICROPY_OBJ_REPR_A,
    HONCH_OBJ_IMMEDIATE_OBJS = MICROPY_OBJ_IMMEDIATE_OBJS,
    HONCH_LONGINT_IMPL = MICROPY_LONGINT_IMPL,
    HONCH_LONGINT_IMPL_MPZ = MICROPY_LONGINT_IMPL_MPZ,
    HONCH_LONGINT_IMPL_NONE = MICROPY_LONGINT_IMPL_NONE,
    HONCH_FLOAT_IMPL = MICROPY_FLOAT_IMPL,
    HONCH_FLOAT_IMPL_DOUBLE = MICROPY_FLOAT_IMPL_DOUBLE,
    HONCH_FLOAT_IMPL_FLOAT = MICROPY_FLOAT_IMPL_FLOAT,
    HONCH_GC_BLOCK_BYTES = MICROPY_BYTES_PER_GC_BLOCK,
#if MICROPY_LONGINT_IMPL == MICROPY_LONGINT_IMPL_MPZ
    HONCH_MPZ_DIG_SIZE = MPZ_DIG_SIZE,
#else
    HONCH_MPZ_DIG_SIZE = 0,
#endif
    HONCH_BUFFER_RW = MP_BUFFER_RW,
    // The port's errno values (newlib's differ from Linux's: EINPROGRESS is 119 on esp32).
    HONCH_EAGAIN = MP_EAGAIN,
    HONCH_EINPROGRESS = MP_EINPROGRESS,
    HONCH_ETIMEDOUT = MP_ETIMEDOUT,
    HONCH_ECONNREFUSED = MP_ECONNREFUSED,
};

// The C functions of c/honch_usermod.c.
mp_obj_t honch_nlr_protect(void (*fn)(void *), void *ctx);
mp_uint_t honch_hal_ticks_ms(void);
uint64_t honch_hal_time_ns(void);
mp_obj_t honch_native_value(mp_obj_t o);
bool honch_is_dict(mp_obj_t o);
bool honch_seq_items(mp_obj_t o, size_t *len, mp_obj_t **items);
bool honch_float_value(mp_obj_t o, double *value);
bool honch_stack_has_room(size_t bytes);
#ifndef MP_NORETURN
#define MP_NORETURN NORETURN
#endif
MP_NORETURN void honch_fatal(void);
