/*
 * tests/wasi/clock_random.c - clock_res_get and clock_time_get on all
 * four clocks, clock ids that do not exist, random_get, sched_yield and
 * proc_raise (not supported: ENOSYS).
 */
#include <time.h>

#include "check.h"

static int burn(void)
{
    volatile unsigned x = 0;
    for (unsigned i = 0; i < 20000000; i++)
        x += i;
    return (int)x;
}

int main(void)
{
    __wasi_timestamp_t t = 0, t2 = 0, res = 0;
    CHECK_ERR("realtime", 0, __wasi_clock_time_get(__WASI_CLOCKID_REALTIME,
                                                   1, &t));
    CHECK("realtime is after 2020", t > 1577836800ull * 1000000000ull);
    CHECK_ERR("monotonic", 0,
              __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t));
    CHECK_ERR("monotonic again", 0,
              __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t2));
    CHECK("monotonic does not go back", t2 >= t);
    CHECK_ERR("process cputime", 0, __wasi_clock_time_get(
              __WASI_CLOCKID_PROCESS_CPUTIME_ID, 1, &t));
    burn();
    CHECK_ERR("process cputime again", 0, __wasi_clock_time_get(
              __WASI_CLOCKID_PROCESS_CPUTIME_ID, 1, &t2));
    CHECK("process cputime advances", t2 > t);
    CHECK_ERR("thread cputime", 0, __wasi_clock_time_get(
              __WASI_CLOCKID_THREAD_CPUTIME_ID, 1, &t));
    for (int id = 0; id < 4; id++) {
        res = 0;
        CHECK_ERR("clock_res_get", 0, __wasi_clock_res_get(id, &res));
        CHECK("resolution is sane", res > 0 && res <= 1000000000ull);
    }
    CHECK_ERR("clock_res_get bad id", __WASI_ERRNO_INVAL,
              __wasi_clock_res_get(4, &res));
    CHECK_ERR("clock_time_get bad id", __WASI_ERRNO_INVAL,
              __wasi_clock_time_get(99, 1, &t));
    CHECK_ERR("clock_time_get bad pointer", __WASI_ERRNO_FAULT,
              raw_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, BAD_PTR));
    struct timespec ts;
    CHECK("libc clock_gettime", clock_gettime(CLOCK_MONOTONIC, &ts) == 0);

    unsigned char a[64] = {0}, b[64] = {0};
    CHECK_ERR("random_get", 0, __wasi_random_get(a, sizeof a));
    CHECK_ERR("random_get again", 0, __wasi_random_get(b, sizeof b));
    CHECK("random bytes differ", memcmp(a, b, sizeof a) != 0);
    CHECK_ERR("random_get zero bytes", 0, __wasi_random_get(a, 0));
    CHECK_ERR("random_get bad buffer", __WASI_ERRNO_FAULT,
              raw_random_get(BAD_PTR, 64));
    CHECK_ERR("random_get huge length", __WASI_ERRNO_FAULT,
              raw_random_get(PTR(a), 0xffffffffu));
    static unsigned char big[1 << 20];
    CHECK_ERR("random_get 1 MiB", 0, __wasi_random_get(big, sizeof big));
    CHECK_ERR("sched_yield", 0, __wasi_sched_yield());
    CHECK_ERR("proc_raise", __WASI_ERRNO_NOSYS, raw_proc_raise(6));
    return DONE();
}
