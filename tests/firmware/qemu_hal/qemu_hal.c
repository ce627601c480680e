// Test-only HAL for MicroPython's qemu port, which has no real-time clock: a real port
// provides mp_hal_time_ns() itself. This one counts from a fixed date (2026-06-01 00:00:00
// UTC) plus the port's milliseconds since boot, so the clock reads as set.
#include "py/mphal.h"

uint64_t mp_hal_time_ns(void) {
    return (1780272000ULL * 1000ULL + mp_hal_ticks_ms()) * 1000000ULL;
}
