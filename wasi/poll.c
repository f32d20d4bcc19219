/*
 * wasi/poll.c - poll_oneoff: wait for clock deadlines and for fds to
 * become readable or writable, with one ppoll(2).
 *
 * Clock subscriptions become deadlines on the host's monotonic clock
 * (an absolute realtime timeout is converted once, at entry); the
 * earliest one is ppoll's timeout. Fds that never block (regular files,
 * the in-memory streams) and fds with errors (EBADF, ENOTCAPABLE) are
 * ready at once: they produce events without waiting, as do deadlines
 * already past. Each call returns at least one event. FIFOs, devices
 * and sockets are waited for, with hooks through hooks.wait.
 *
 * The subscriptions and pollfds live in the context's scratch memory:
 * the wait hook may end the call with a trap (a deadline), which would
 * leak a malloc of this call's own.
 */
#include <errno.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wasi/internal.h"

struct poll_sub {
    uint64_t userdata;
    uint8_t type;               /* WASI_EVENT_* */
    uint16_t error;             /* known before waiting: an event at once */
    bool ready;                 /* ready without waiting */
    uint64_t deadline;          /* clocks: monotonic ns */
    int pfd;                    /* index in the pollfd array, or -1 */
    uint64_t nbytes;
    struct wasi_fd *fd;
};

static uint64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* UINT64_MAX means "no deadline": a sum past it is the latest one. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a || a + b == UINT64_MAX ? UINT64_MAX - 1 : a + b;
}

/* ===== Reading the subscriptions ======================================== */

static void clock_sub(struct poll_sub *s, const uint8_t *p, uint64_t now)
{
    uint32_t id = wasi__get_u32(p + 16);
    uint64_t timeout = wasi__get_u64(p + 24);
    uint16_t flags = wasi__get_u16(p + 40);
    int clock = wasi__clock_host(id);
    struct timespec ts;
    if (clock < 0 || (flags & ~WASI_SUBCLOCK_ABSTIME) != 0) {
        s->error = WASI_EINVAL;
        return;
    }
    if (!(flags & WASI_SUBCLOCK_ABSTIME)) {
        s->deadline = sat_add(now, timeout);
        return;
    }
    /* Absolute: how far the deadline is on its own clock, from now. */
    clock_gettime(clock, &ts);
    uint64_t cur = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    s->deadline = timeout <= cur ? now : sat_add(now, timeout - cur);
}

/* Regular files and memory streams never block; nbytes is what a read
 * would get (for files, from the offset to the end). */
static bool fd_never_blocks(struct wasi_ctx *w, struct poll_sub *s)
{
    struct wasi_fd *f = s->fd;
    if (f->kind == WASI_FD_MEM_IN) {
        s->nbytes = w->input_len - w->input_pos;
        return true;
    }
    if (f->kind == WASI_FD_MEM_OUT || f->filetype == WASI_FILETYPE_DIRECTORY)
        return true;
    if (f->filetype != WASI_FILETYPE_REGULAR_FILE)
        return false;
    struct stat st;
    off_t pos = lseek(f->host, 0, SEEK_CUR);
    if (s->type == WASI_EVENT_FD_READ && pos >= 0 &&
        fstat(f->host, &st) == 0 && st.st_size > pos)
        s->nbytes = (uint64_t)(st.st_size - pos);
    return true;
}

static void fd_sub(struct wasi_ctx *w, struct poll_sub *s, const uint8_t *p,
                   struct pollfd *pfds, int *npfds)
{
    uint32_t fd = wasi__get_u32(p + 16);
    s->error = (uint16_t)wasi__fd_get(w, fd, WASI_RIGHT_POLL_FD_READWRITE,
                                      &s->fd);
    if (s->error != WASI_ESUCCESS)
        return;
    if (fd_never_blocks(w, s)) {
        s->ready = true;
        return;
    }
    s->pfd = (*npfds)++;
    pfds[s->pfd] = (struct pollfd){
        .fd = s->fd->host,
        .events = s->type == WASI_EVENT_FD_READ ? POLLIN : POLLOUT,
    };
}

static uint32_t subs_read(struct wasi_ctx *w, const uint8_t *in, uint32_t n,
                          struct poll_sub *subs, struct pollfd *pfds,
                          int *npfds)
{
    uint64_t now = mono_now();
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = in + (size_t)i * WASI_SUBSCRIPTION_SIZE;
        struct poll_sub *s = &subs[i];
        *s = (struct poll_sub){.userdata = wasi__get_u64(p), .type = p[8],
                               .deadline = UINT64_MAX, .pfd = -1};
        if (s->type == WASI_EVENT_CLOCK)
            clock_sub(s, p, now);
        else if (s->type == WASI_EVENT_FD_READ ||
                 s->type == WASI_EVENT_FD_WRITE)
            fd_sub(w, s, p, pfds, npfds);
        else
            return WASI_EINVAL;
    }
    return WASI_ESUCCESS;
}

/* ===== Waiting ========================================================== */

/* ppoll until something is ready: an fd, or the earliest deadline. With
 * `now_ready` set, only a look (timeout 0) at the fds. */
/* ppoll with the wait hook's result convention (a negative errno). */
static int ppoll_hook(struct pollfd *pfds, int npfds, const struct timespec *tp)
{
    int r = ppoll(pfds, (nfds_t)npfds, tp, NULL);
    return r < 0 ? -errno : r;
}

static uint32_t subs_wait(struct wasi_ctx *w, struct poll_sub *subs, uint32_t n,
                          struct pollfd *pfds, int npfds, bool now_ready)
{
    uint64_t deadline = UINT64_MAX;
    for (uint32_t i = 0; i < n; i++)
        if (subs[i].type == WASI_EVENT_CLOCK && subs[i].error == 0 &&
            subs[i].deadline < deadline)
            deadline = subs[i].deadline;
    for (;;) {
        uint64_t now = mono_now();
        uint64_t wait = now_ready || deadline <= now ? 0 : deadline - now;
        struct timespec ts = {(time_t)(wait / 1000000000u),
                              (long)(wait % 1000000000u)};
        if (deadline == UINT64_MAX && npfds == 0 && !now_ready)
            return WASI_EINVAL;         /* nothing could ever happen */
        const struct timespec *tp = deadline == UINT64_MAX && !now_ready ? NULL : &ts;
        int r = w->hooks.wait ? w->hooks.wait(w->hooks.ud, pfds, npfds, tp)
                              : ppoll_hook(pfds, npfds, tp);
        if (r == -EINTR)
            continue;
        if (r < 0)
            return wasi__errno_from(-r);
        if (r > 0 || now_ready || mono_now() >= deadline)
            return WASI_ESUCCESS;
    }
}

/* ===== Events =========================================================== */

static bool sub_fired(struct poll_sub *s, const struct pollfd *pfds,
                      uint64_t now)
{
    if (s->error != 0 || s->ready)
        return true;
    if (s->type == WASI_EVENT_CLOCK)
        return now >= s->deadline;
    return s->pfd >= 0 && pfds[s->pfd].revents != 0;
}

static void event_put(uint8_t *p, struct poll_sub *s, const struct pollfd *pfds)
{
    uint16_t flags = 0;
    memset(p, 0, WASI_EVENT_SIZE);
    if (s->pfd >= 0) {
        short rev = pfds[s->pfd].revents;
        int avail;
        if (rev & POLLHUP)
            flags |= WASI_EVENTRW_HANGUP;
        if (rev & POLLNVAL)
            s->error = WASI_EBADF;
        if (s->type == WASI_EVENT_FD_READ &&
            ioctl(s->fd->host, FIONREAD, &avail) == 0 && avail > 0)
            s->nbytes = (uint64_t)avail;
    }
    wasi__put_u64(p, s->userdata);
    wasi__put_u16(p + 8, s->error);
    p[10] = s->type;
    if (s->type != WASI_EVENT_CLOCK) {
        wasi__put_u64(p + 16, s->nbytes);
        wasi__put_u16(p + 24, flags);
    }
}

static uint32_t poll_run(wasi_vm *vm, const uint8_t *in, uint8_t *out,
                         uint32_t n, struct poll_sub *subs,
                         struct pollfd *pfds, uint32_t *nevents)
{
    int npfds = 0;
    uint32_t e = subs_read(wasi__ctx(vm), in, n, subs, pfds, &npfds);
    if (e != WASI_ESUCCESS)
        return e;
    bool now_ready = false;
    for (uint32_t i = 0; i < n; i++)
        now_ready |= subs[i].error != 0 || subs[i].ready;
    if ((e = subs_wait(wasi__ctx(vm), subs, n, pfds, npfds, now_ready)) !=
        WASI_ESUCCESS)
        return e;
    uint64_t now = mono_now();
    *nevents = 0;
    for (uint32_t i = 0; i < n; i++)
        if (sub_fired(&subs[i], pfds, now))
            event_put(out + (size_t)(*nevents)++ * WASI_EVENT_SIZE, &subs[i],
                      pfds);
    return WASI_ESUCCESS;
}

uint32_t wasi_poll_oneoff(wasi_vm *vm, uint32_t in, uint32_t out,
                          uint32_t nsubs, uint32_t nevents)
{
    const uint8_t *pin = wasi__mem(vm, in,
                                   (uint64_t)nsubs * WASI_SUBSCRIPTION_SIZE);
    uint8_t *pout = wasi__mem(vm, out, (uint64_t)nsubs * WASI_EVENT_SIZE);
    if (pin == NULL || pout == NULL || wasi__mem(vm, nevents, 4) == NULL)
        return WASI_EFAULT;
    if (nsubs == 0)
        return WASI_EINVAL;
    size_t subs_size = (size_t)nsubs * sizeof(struct poll_sub);
    uint8_t *mem = wasi__scratch_get(&wasi__ctx(vm)->poll_scratch, subs_size +
                                     (size_t)nsubs * sizeof(struct pollfd));
    if (mem == NULL)
        return WASI_ENOMEM;
    _Static_assert(sizeof(struct poll_sub) % _Alignof(struct pollfd) == 0,
                   "the pollfds follow the subscriptions, aligned");
    uint32_t count = 0;
    uint32_t e = poll_run(vm, pin, pout, nsubs, (struct poll_sub *)mem,
                          (struct pollfd *)(mem + subs_size), &count);
    return e ? e : wasi__store_u32(vm, nevents, count);
}
