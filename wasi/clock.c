/*
 * wasi/clock.c - clock_res_get and clock_time_get: the four WASI clocks
 * are the host's realtime, monotonic and CPU-time clocks, in nanoseconds.
 * The precision argument of clock_time_get is a hint and is ignored.
 */
#include <time.h>

#include "wasi/internal.h"

int wasi__clock_host(uint32_t id)
{
    switch (id) {
    case WASI_CLOCK_REALTIME: return CLOCK_REALTIME;
    case WASI_CLOCK_MONOTONIC: return CLOCK_MONOTONIC;
    case WASI_CLOCK_PROCESS_CPUTIME: return CLOCK_PROCESS_CPUTIME_ID;
    case WASI_CLOCK_THREAD_CPUTIME: return CLOCK_THREAD_CPUTIME_ID;
    default: return -1;
    }
}

/* Timestamps are u64 nanoseconds: enough until 2554. */
static uint64_t ns_of(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

uint32_t wasi_clock_res_get(wasi_vm *vm, uint32_t id, uint32_t res)
{
    struct timespec ts;
    int clock = wasi__clock_host(id);
    if (clock < 0)
        return WASI_EINVAL;
    if (clock_getres(clock, &ts) != 0)
        return wasi__errno();
    return wasi__store_u64(vm, res, ns_of(&ts));
}

uint32_t wasi_clock_time_get(wasi_vm *vm, uint32_t id, uint64_t precision,
                             uint32_t time)
{
    struct timespec ts;
    int clock = wasi__clock_host(id);
    if (clock < 0)
        return WASI_EINVAL;
    if (clock_gettime(clock, &ts) != 0)
        return wasi__errno();
    return wasi__store_u64(vm, time, ns_of(&ts));
}
