/*
 * tests/toolchain/clock_random.c - clocks and random bytes from an
 * emscripten program. The clocks go through emscripten's libc
 * (clock_gettime, clock_getres, time, gettimeofday: its standalone build
 * maps them to clock_time_get and clock_res_get) and through
 * clock_time_get directly; random bytes through random_get
 * directly (emscripten 3.1.6's getentropy is a JavaScript import, not WASI).
 *
 * Prints one "ok - ..." or "not ok - ..." line per check, then
 * "realtime SECONDS" and "random HEX" for run.sh to compare with the host's
 * clock and with another run.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <wasi/api.h>

static int failures;

static void check(int cond, const char *what)
{
    printf("%s - %s\n", cond ? "ok" : "not ok", what);
    if (!cond)
        failures++;
}

static int64_t ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static int64_t now(clockid_t id)
{
    struct timespec t = {0, 0};
    if (clock_gettime(id, &t) != 0)
        return -1;
    return ns(&t);
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static uint8_t big[65536];

int main(void)
{
    /* Resolutions: positive, at most a millisecond. */
    struct timespec res;
    check(clock_getres(CLOCK_REALTIME, &res) == 0 && ns(&res) > 0 &&
          ns(&res) <= 1000000, "realtime resolution in (0, 1 ms]");
    check(clock_getres(CLOCK_MONOTONIC, &res) == 0 && ns(&res) > 0 &&
          ns(&res) <= 1000000, "monotonic resolution in (0, 1 ms]");

    /* Realtime: after 2020, and the libc's three ways agree. */
    int64_t r0 = now(CLOCK_REALTIME);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t t = time(NULL);
    check(r0 > (int64_t)1577836800 * 1000000000, "realtime is after 2020");
    check(tv.tv_sec - r0 / 1000000000 <= 1 && tv.tv_sec >= r0 / 1000000000,
          "gettimeofday agrees with clock_gettime");
    check(t - r0 / 1000000000 <= 1 && t >= r0 / 1000000000,
          "time agrees with clock_gettime");

    /* Monotonic: never goes back over many reads. */
    int64_t m0 = now(CLOCK_MONOTONIC), prev = m0;
    int back = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t m = now(CLOCK_MONOTONIC);
        if (m < prev)
            back++;
        prev = m;
    }
    check(m0 > 0 && back == 0, "monotonic never goes back in 100000 reads");

    /* Spin 50 ms by the monotonic clock: realtime advances as much, and the
     * process's CPU time advances. (Emscripten's nanosleep spins on clock(),
     * the process's CPU time, so it is only checked to return.) */
    int64_t m1 = now(CLOCK_MONOTONIC), r1 = now(CLOCK_REALTIME);
    int64_t c1 = now(CLOCK_PROCESS_CPUTIME_ID), m2 = m1, r2 = r1;
    while (m2 - m1 < 50000000 && r2 - r1 < 10000000000LL) {
        m2 = now(CLOCK_MONOTONIC);
        r2 = now(CLOCK_REALTIME);
    }
    int64_t c2 = now(CLOCK_PROCESS_CPUTIME_ID);
    check(m2 - m1 >= 50000000 && m2 - m1 < 5000000000LL,
          "monotonic advances 50 ms within 5 s of realtime");
    check(r2 - r1 >= 40000000 && r2 - r1 < 5000000000LL,
          "realtime advances 40 ms..5 s while monotonic advances 50 ms");
    check(c1 >= 0 && c2 > c1, "process CPU time advances while spinning");
    struct timespec nap = {0, 10000000};
    check(nanosleep(&nap, NULL) == 0, "nanosleep returns 0");

    /* The WASI call itself, next to the libc's. */
    __wasi_timestamp_t w = 0;
    int64_t m3 = now(CLOCK_MONOTONIC);
    check(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &w) == 0 &&
          (int64_t)w >= m3 && (int64_t)w - m3 < 1000000000,
          "clock_time_get(monotonic) agrees with clock_gettime");
    check(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &w) == 0 &&
          (int64_t)w >= r2 && (int64_t)w - r2 < 1000000000,
          "clock_time_get(realtime) agrees with clock_gettime");
    check(__wasi_clock_time_get(99, 1, &w) == __WASI_ERRNO_INVAL,
          "clock_time_get of an unknown clock is EINVAL");

    /* Random: not all zero, different each call. */
    uint8_t a[32], b[32];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    check(__wasi_random_get(a, sizeof a) == 0 &&
          __wasi_random_get(b, sizeof b) == 0, "random_get returns 0");
    check(!all_zero(a, sizeof a) && !all_zero(b, sizeof b),
          "random bytes are not all zero");
    check(memcmp(a, b, sizeof a) != 0, "two calls give different bytes");
    check(__wasi_random_get(a, 0) == 0, "random_get of 0 bytes returns 0");

    /* 64 KiB: every byte value shows up, about half the bits are set. */
    check(__wasi_random_get(big, sizeof big) == 0, "random_get of 64 KiB");
    int seen[256] = {0}, distinct = 0;
    long bits = 0;
    for (size_t i = 0; i < sizeof big; i++) {
        if (!seen[big[i]]++)
            distinct++;
        bits += __builtin_popcount(big[i]);
    }
    check(distinct == 256, "64 KiB of random bytes hold all 256 values");
    check(bits > 8L * sizeof big * 48 / 100 && bits < 8L * sizeof big * 52 / 100,
          "48%..52% of the random bits are set");
    check(!all_zero(big + sizeof big - 16, 16),
          "the last bytes of the 64 KiB were written");

    printf("realtime %lld\n", (long long)(now(CLOCK_REALTIME) / 1000000000));
    printf("random ");
    for (int i = 0; i < 16; i++)
        printf("%02x", b[i]);
    printf("\n");
    return failures ? 1 : 0;
}
