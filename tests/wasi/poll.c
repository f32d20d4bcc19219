/*
 * tests/wasi/poll.c - poll_oneoff: relative and absolute clocks on the
 * monotonic and realtime clocks, the earliest of several deadlines, fd
 * readiness (a writable stdout, a regular file), events that carry
 * errors (bad fd, bad clock), and the call's own errors.
 */
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MS 1000000ull

static __wasi_timestamp_t now(__wasi_clockid_t id)
{
    __wasi_timestamp_t t = 0;
    __wasi_clock_time_get(id, 1, &t);
    return t;
}

static __wasi_subscription_t clock_sub(uint64_t ud, __wasi_clockid_t id,
                                       uint64_t timeout, int abstime)
{
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = ud;
    s.u.tag = __WASI_EVENTTYPE_CLOCK;
    s.u.u.clock.id = id;
    s.u.u.clock.timeout = timeout;
    if (abstime)
        s.u.u.clock.flags = __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
    return s;
}

static __wasi_subscription_t fd_sub(uint64_t ud, int type, int fd)
{
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = ud;
    s.u.tag = (uint8_t)type;
    s.u.u.fd_read.file_descriptor = (uint32_t)fd;
    return s;
}

static void test_clocks(void)
{
    __wasi_subscription_t s[3];
    __wasi_event_t ev[3];
    __wasi_size_t n = 0;
    __wasi_timestamp_t t0 = now(__WASI_CLOCKID_MONOTONIC);
    s[0] = clock_sub(42, __WASI_CLOCKID_MONOTONIC, 50 * MS, 0);
    CHECK_ERR("relative sleep", 0, __wasi_poll_oneoff(s, ev, 1, &n));
    __wasi_timestamp_t dt = now(__WASI_CLOCKID_MONOTONIC) - t0;
    CHECK("slept at least 50 ms", dt >= 50 * MS);
    CHECK("and not much more", dt < 2000 * MS);
    CHECK("one clock event", n == 1 && ev[0].userdata == 42 &&
          ev[0].type == __WASI_EVENTTYPE_CLOCK && ev[0].error == 0);

    t0 = now(__WASI_CLOCKID_MONOTONIC);
    s[0] = clock_sub(1, __WASI_CLOCKID_MONOTONIC, t0 + 30 * MS, 1);
    CHECK_ERR("absolute monotonic", 0, __wasi_poll_oneoff(s, ev, 1, &n));
    CHECK("reached the deadline",
          now(__WASI_CLOCKID_MONOTONIC) >= t0 + 30 * MS);

    __wasi_timestamp_t r0 = now(__WASI_CLOCKID_REALTIME);
    s[0] = clock_sub(2, __WASI_CLOCKID_REALTIME, r0 + 20 * MS, 1);
    CHECK_ERR("absolute realtime", 0, __wasi_poll_oneoff(s, ev, 1, &n));
    CHECK("realtime deadline reached", now(__WASI_CLOCKID_REALTIME) >=
          r0 + 20 * MS);

    t0 = now(__WASI_CLOCKID_MONOTONIC);
    s[0] = clock_sub(3, __WASI_CLOCKID_MONOTONIC, 1000, 1);
    CHECK_ERR("absolute deadline in the past", 0,
              __wasi_poll_oneoff(s, ev, 1, &n));
    CHECK("returns at once", n == 1 &&
          now(__WASI_CLOCKID_MONOTONIC) - t0 < 500 * MS);

    s[0] = clock_sub(10, __WASI_CLOCKID_MONOTONIC, 5000 * MS, 0);
    s[1] = clock_sub(11, __WASI_CLOCKID_MONOTONIC, 10 * MS, 0);
    t0 = now(__WASI_CLOCKID_MONOTONIC);
    CHECK_ERR("two clocks", 0, __wasi_poll_oneoff(s, ev, 2, &n));
    CHECK("the earlier one fires alone", n == 1 && ev[0].userdata == 11 &&
          now(__WASI_CLOCKID_MONOTONIC) - t0 < 2000 * MS);

    struct timespec ts = {0, 20 * 1000000};
    t0 = now(__WASI_CLOCKID_MONOTONIC);
    CHECK("libc nanosleep", nanosleep(&ts, NULL) == 0 &&
          now(__WASI_CLOCKID_MONOTONIC) - t0 >= 20 * MS);

    s[0] = clock_sub(5, 9, 0, 0);
    CHECK_ERR("bad clock id", 0, __wasi_poll_oneoff(s, ev, 1, &n));
    CHECK("event carries EINVAL", n == 1 && ev[0].userdata == 5 &&
          ev[0].error == __WASI_ERRNO_INVAL);
}

static void test_fds(void)
{
    __wasi_subscription_t s[3];
    __wasi_event_t ev[3];
    __wasi_size_t n = 0;
    __wasi_timestamp_t t0 = now(__WASI_CLOCKID_MONOTONIC);
    s[0] = fd_sub(7, __WASI_EVENTTYPE_FD_WRITE, 1);
    s[1] = clock_sub(8, __WASI_CLOCKID_MONOTONIC, 3000 * MS, 0);
    CHECK_ERR("stdout writable", 0, __wasi_poll_oneoff(s, ev, 2, &n));
    CHECK("fd event without waiting", n == 1 && ev[0].userdata == 7 &&
          ev[0].type == __WASI_EVENTTYPE_FD_WRITE && ev[0].error == 0 &&
          now(__WASI_CLOCKID_MONOTONIC) - t0 < 1500 * MS);

    int fd = open("/sandbox/pollfile", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(fd, "0123456789", 10);
    lseek(fd, 3, SEEK_SET);
    s[0] = fd_sub(9, __WASI_EVENTTYPE_FD_READ, fd);
    CHECK_ERR("regular file readable", 0, __wasi_poll_oneoff(s, ev, 1, &n));
    CHECK("nbytes from the offset", n == 1 &&
          ev[0].type == __WASI_EVENTTYPE_FD_READ &&
          ev[0].fd_readwrite.nbytes == 7);
    close(fd);

    s[0] = fd_sub(12, __WASI_EVENTTYPE_FD_READ, 99);
    s[1] = clock_sub(13, __WASI_CLOCKID_MONOTONIC, 3000 * MS, 0);
    CHECK_ERR("bad fd", 0, __wasi_poll_oneoff(s, ev, 2, &n));
    CHECK("event carries EBADF", n == 1 && ev[0].userdata == 12 &&
          ev[0].error == __WASI_ERRNO_BADF);
}

static void test_errors(void)
{
    __wasi_subscription_t s[2];
    __wasi_event_t ev[2];
    __wasi_size_t n = 0;
    s[0] = clock_sub(1, __WASI_CLOCKID_MONOTONIC, 0, 0);
    CHECK_ERR("no subscriptions", __WASI_ERRNO_INVAL,
              raw_poll_oneoff(PTR(s), PTR(ev), 0, PTR(&n)));
    CHECK_ERR("bad subscriptions pointer", __WASI_ERRNO_FAULT,
              raw_poll_oneoff(BAD_PTR, PTR(ev), 1, PTR(&n)));
    CHECK_ERR("bad events pointer", __WASI_ERRNO_FAULT,
              raw_poll_oneoff(PTR(s), BAD_PTR, 1, PTR(&n)));
    CHECK_ERR("bad nevents pointer", __WASI_ERRNO_FAULT,
              raw_poll_oneoff(PTR(s), PTR(ev), 1, BAD_PTR));
    CHECK_ERR("huge count", __WASI_ERRNO_FAULT,
              raw_poll_oneoff(PTR(s), PTR(ev), 0x10000000u, PTR(&n)));
    s[0].u.tag = 7;
    CHECK_ERR("unknown event type", __WASI_ERRNO_INVAL,
              raw_poll_oneoff(PTR(s), PTR(ev), 1, PTR(&n)));
}

int main(void)
{
    test_clocks();
    test_fds();
    test_errors();
    return DONE();
}
