// The C side of the _honch_core user module: only what MicroPython's build tools must see in
// C (module registration, the qstrs the Rust code uses) and the nlr trampoline. The module
// object, its types and every method are Rust (src/micropython/).

#include "py/runtime.h"
#include "py/nlr.h"
#include "py/mphal.h"
#include "py/mperrno.h"
#include "py/objtype.h"
#include "py/objtuple.h"
#include "py/objlist.h"
#include "py/cstack.h"

#ifdef NO_QSTR
// Seen only by the qstr scanner (it preprocesses with -DNO_QSTR): interns every name the Rust
// binding uses. mp_bindings/build.rs reads the same lines to pull exactly these MP_QSTR_*
// constants out of the generated headers, so this list is the only place to add one.
#define HONCH_QSTR(name) MP_QSTR_##name
HONCH_QSTR(_honch_core)
HONCH_QSTR(Honch)
HONCH_QSTR(Client)
HONCH_QSTR(report_crash)
HONCH_QSTR(type)
HONCH_QSTR(report)
HONCH_QSTR(backtrace)
HONCH_QSTR(HonchError)
HONCH_QSTR(InvalidArgumentError)
HONCH_QSTR(StorageError)
HONCH_QSTR(TransportError)
HONCH_QSTR(OfflineError)
HONCH_QSTR(RateLimitedError)
HONCH_QSTR(ServerError)
HONCH_QSTR(RejectedError)
HONCH_QSTR(CompressionUnavailableError)
HONCH_QSTR(NotInitializedError)
HONCH_QSTR(ERROR_INVALID_ARGUMENT)
HONCH_QSTR(ERROR_IO)
HONCH_QSTR(ERROR_TRANSPORT)
HONCH_QSTR(ERROR_RATE_LIMITED)
HONCH_QSTR(ERROR_SERVER)
HONCH_QSTR(ERROR_REJECTED)
HONCH_QSTR(ERROR_NOT_INITIALIZED)
HONCH_QSTR(ERROR_QUEUE_FULL)
HONCH_QSTR(ERROR_TIMEOUT)
HONCH_QSTR(ERROR_BUSY)
HONCH_QSTR(ERROR_NOT_SUPPORTED)
HONCH_QSTR(ERROR_OFFLINE)
HONCH_QSTR(__name__)
HONCH_QSTR(__version__)
HONCH_QSTR(SDK_VERSION)
HONCH_QSTR(SDK_PLATFORM)
HONCH_QSTR(status)
HONCH_QSTR(track)
HONCH_QSTR(identify)
HONCH_QSTR(set_property)
HONCH_QSTR(connectivity_changed)
HONCH_QSTR(connected)
HONCH_QSTR(disconnected)
HONCH_QSTR(key)
HONCH_QSTR(value)
HONCH_QSTR(session_start)
HONCH_QSTR(session_end)
HONCH_QSTR(reset)
HONCH_QSTR(get_device_id)
HONCH_QSTR(queue_stats)
HONCH_QSTR(event)
HONCH_QSTR(properties)
HONCH_QSTR(distinct_id)
HONCH_QSTR(traits)
HONCH_QSTR(name)
HONCH_QSTR(depth)
HONCH_QSTR(bytes_used)
HONCH_QSTR(bytes_capacity)
HONCH_QSTR(capacity_dropped_events)
HONCH_QSTR(oversized_rejected_events)
HONCH_QSTR(dead_lettered_events)
HONCH_QSTR(high_watermark_depth)
HONCH_QSTR(high_watermark_bytes)
HONCH_QSTR(max_queued_events)
HONCH_QSTR(os)
HONCH_QSTR(tick)
HONCH_QSTR(flush)
HONCH_QSTR(shutdown)
HONCH_QSTR(report_log_error)
HONCH_QSTR(last_error)
HONCH_QSTR(run)
HONCH_QSTR(install_error_hook)
HONCH_QSTR(uninstall_error_hook)
HONCH_QSTR(message)
HONCH_QSTR(component)
HONCH_QSTR(reason)
HONCH_QSTR(http)
HONCH_QSTR(os_error)
HONCH_QSTR(sys)
HONCH_QSTR(excepthook)
HONCH_QSTR(print_exception)
HONCH_QSTR(io)
HONCH_QSTR(StringIO)
HONCH_QSTR(getvalue)
HONCH_QSTR(socket)
HONCH_QSTR(getaddrinfo)
HONCH_QSTR(SOCK_STREAM)
HONCH_QSTR(setblocking)
HONCH_QSTR(connect)
HONCH_QSTR(write)
HONCH_QSTR(readinto)
HONCH_QSTR(close)
HONCH_QSTR(select)
HONCH_QSTR(poll)
HONCH_QSTR(register)
HONCH_QSTR(modify)
HONCH_QSTR(unregister)
HONCH_QSTR(tls)
HONCH_QSTR(SSLContext)
HONCH_QSTR(PROTOCOL_TLS_CLIENT)
HONCH_QSTR(CERT_REQUIRED)
HONCH_QSTR(CERT_NONE)
HONCH_QSTR(verify_mode)
HONCH_QSTR(load_verify_locations)
HONCH_QSTR(wrap_socket)
HONCH_QSTR(server_hostname)
HONCH_QSTR(do_handshake_on_connect)
HONCH_QSTR(ErrorHook)
HONCH_QSTR(urandom)
#undef HONCH_QSTR
#endif

// MicroPython 1.26 renamed NORETURN to MP_NORETURN (the old name goes with
// MICROPY_PREVIEW_VERSION_2): use the new one, defined from the old one before 1.26.
#ifndef MP_NORETURN
#define MP_NORETURN NORETURN
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

// Ports may implement this HAL function as static inline; this gives Rust a real symbol.
mp_uint_t honch_hal_ticks_ms(void) {
    return mp_hal_ticks_ms();
}

// The real-time clock in nanoseconds since 1970-01-01, whatever the port's own epoch is
// (mp_hal_time_ns counts from 2000-01-01 on esp32, stm32, samd, nrf, renesas, ...).
uint64_t honch_hal_time_ns(void) {
    uint64_t ns = mp_hal_time_ns();
    #if !MICROPY_EPOCH_IS_1970
    ns += 946684800ULL * 1000000000ULL;
    #endif
    return ns;
}

// The native object inside `o` when `o` is an instance of a Python class derived from one
// of the built-in value types (class Name(str): ...); NULL for anything else. The caller
// reads the result by its exact type. Never raises and runs no Python code.
mp_obj_t honch_native_value(mp_obj_t o) {
    static const mp_obj_type_t *const natives[] = {
        &mp_type_str, &mp_type_int, &mp_type_dict, &mp_type_list, &mp_type_tuple,
        &mp_type_bytes, &mp_type_bytearray,
        #if MICROPY_PY_BUILTINS_FLOAT
        &mp_type_float,
        #endif
        #if MICROPY_PY_COLLECTIONS_ORDEREDDICT
        &mp_type_ordereddict,
        #endif
    };
    const mp_obj_type_t *type = mp_obj_get_type(o);
    if (!mp_obj_is_instance_type(type)) {
        return MP_OBJ_NULL;
    }
    for (size_t i = 0; i < MP_ARRAY_SIZE(natives); i++) {
        if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(type), MP_OBJ_FROM_PTR(natives[i]))) {
            return ((mp_obj_instance_t *)MP_OBJ_TO_PTR(o))->subobj[0];
        }
    }
    return MP_OBJ_NULL;
}

// The items of a list, a tuple, or an instance of a tuple-shaped built-in type (namedtuple
// instances are tuples): false for anything else. Never raises. (objtuple.c's private
// mp_obj_is_tuple_compatible is the same test.)
bool honch_seq_items(mp_obj_t o, size_t *len, mp_obj_t **items) {
    const mp_obj_type_t *type = mp_obj_get_type(o);
    if (type == &mp_type_list) {
        mp_obj_list_get(o, len, items);
        return true;
    }
    if (type == &mp_type_tuple || MP_OBJ_TYPE_GET_SLOT_OR_NULL(type, iter) == mp_obj_tuple_getiter) {
        mp_obj_tuple_get(o, len, items);
        return true;
    }
    return false;
}

// Whether `o` is a dict the binding reads directly: dict, or OrderedDict where the firmware
// has it (MICROPY_PY_COLLECTIONS_ORDEREDDICT).
bool honch_is_dict(mp_obj_t o) {
    const mp_obj_type_t *type = mp_obj_get_type(o);
    #if MICROPY_PY_COLLECTIONS_ORDEREDDICT
    if (type == &mp_type_ordereddict) {
        return true;
    }
    #endif
    return type == &mp_type_dict;
}

// A float object's value, widened to double; false for anything else, and always false on
// firmware built without floats (MICROPY_FLOAT_IMPL_NONE).
bool honch_float_value(mp_obj_t o, double *value) {
    #if MICROPY_PY_BUILTINS_FLOAT
    if (mp_obj_is_float(o)) {
        *value = (double)mp_obj_float_get(o);
        return true;
    }
    #else
    (void)o;
    (void)value;
    #endif
    return false;
}

// Whether at least `bytes` of C stack are left before the port's limit (always true where
// the port does not check its stack). Uploads keep a few KB of locals, and thread stacks on
// boards are small.
bool honch_stack_has_room(size_t bytes) {
    #if MICROPY_STACK_CHECK
    return mp_cstack_usage() + bytes < MP_STATE_THREAD(stack_limit);
    #else
    (void)bytes;
    return true;
    #endif
}

// The Rust panic handler ends here: MicroPython's own fatal path (ports reset or exit),
// never libc's abort(), which bare-metal ports do not link.
MP_NORETURN void honch_fatal(void) {
    nlr_jump_fail(NULL);
}
