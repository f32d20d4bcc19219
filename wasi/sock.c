/*
 * wasi/sock.c - sockets the host hands in (wasi_ctx_add_fd): accept,
 * receive, send, shut down. Preview1 cannot create or connect sockets.
 *
 * An fd that is open but not a socket is ENOTSOCK; sends never raise
 * SIGPIPE in the host (MSG_NOSIGNAL), the guest gets EPIPE. With hooks,
 * an accepted socket is non-blocking on the guest's behalf and its
 * receives and sends wait through the hook where they would block (as
 * fd_read and fd_write do).
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wasi/internal.h"

static bool is_socket(const struct wasi_fd *f)
{
    return f->kind == WASI_FD_HOST &&
           (f->filetype == WASI_FILETYPE_SOCKET_STREAM ||
            f->filetype == WASI_FILETYPE_SOCKET_DGRAM);
}

/* An open socket with `rights`: EBADF, ENOTSOCK, ENOTCAPABLE. */
static uint32_t socket_get(wasi_vm *vm, uint32_t fd, uint64_t rights,
                           struct wasi_fd **out)
{
    struct wasi_fd *f;
    uint32_t e = wasi__fd_get(wasi__ctx(vm), fd, 0, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (!is_socket(f))
        return WASI_ENOTSOCK;
    if ((f->rights_base & rights) != rights)
        return WASI_ENOTCAPABLE;
    *out = f;
    return WASI_ESUCCESS;
}

uint32_t wasi_sock_accept(wasi_vm *vm, uint32_t fd, uint32_t flags,
                          uint32_t out)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_fd *f;
    uint32_t newfd;
    uint32_t e = socket_get(vm, fd, WASI_RIGHT_SOCK_ACCEPT, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (flags & ~(uint32_t)WASI_FDFLAG_NONBLOCK)
        return WASI_EINVAL;
    if (wasi__mem(vm, out, 4) == NULL)
        return WASI_EFAULT;
    int listener = f->host;             /* f moves if the table grows */
    if ((e = wasi__fd_room(w)) != WASI_ESUCCESS ||
        (e = wasi__hostfd_take(w)) != WASI_ESUCCESS)
        return e;
    bool nonblock = flags & WASI_FDFLAG_NONBLOCK;
    int fl = SOCK_CLOEXEC |
             (nonblock || w->hooks.wait != NULL ? SOCK_NONBLOCK : 0);
    int host;
    do
        host = accept4(listener, NULL, NULL, fl);
    while (host < 0 && errno == EINTR);
    if (host < 0) {
        wasi__hostfd_give(w);
        return errno == EMFILE ? WASI_ENFILE : wasi__errno();
    }
    if ((e = wasi__fd_add_host(w, host, true, &newfd)) != WASI_ESUCCESS) {
        wasi__hostfd_close(w, host);
        return e;
    }
    wasi__fd_opened(w, newfd, nonblock);
    return wasi__store_u32(vm, out, newfd);
}

/* recvmsg or sendmsg as a blocking call would: EINTR retried, EAGAIN
 * waited for on an fd that waits. */
static ssize_t msg_io(struct wasi_ctx *w, const struct wasi_fd *f,
                      struct msghdr *msg, int fl, bool send)
{
    for (;;) {
        ssize_t r = send ? sendmsg(f->host, msg, fl) : recvmsg(f->host, msg, fl);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN || !wasi__fd_waits(f))
            return -1;
        if (wasi__fd_wait(w, f, send ? POLLOUT : POLLIN) != 0)
            return -1;
    }
}

uint32_t wasi_sock_recv(wasi_vm *vm, uint32_t fd, uint32_t iovs_ptr,
                        uint32_t n, uint32_t riflags, uint32_t datalen,
                        uint32_t roflags)
{
    struct wasi_fd *f;
    struct wasi_iovs iovs;
    uint32_t e = socket_get(vm, fd, WASI_RIGHT_FD_READ, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (riflags & ~(uint32_t)(WASI_RIFLAG_PEEK | WASI_RIFLAG_WAITALL))
        return WASI_EINVAL;
    uint8_t *pflags = wasi__mem(vm, roflags, 2);
    if (pflags == NULL || wasi__mem(vm, datalen, 4) == NULL)
        return WASI_EFAULT;
    if ((e = wasi__iovs_get(vm, iovs_ptr, n, &iovs)) != WASI_ESUCCESS)
        return e;
    struct msghdr msg = {.msg_iov = iovs.v, .msg_iovlen = (size_t)iovs.n};
    int fl = (riflags & WASI_RIFLAG_PEEK ? MSG_PEEK : 0) |
             (riflags & WASI_RIFLAG_WAITALL ? MSG_WAITALL : 0);
    ssize_t r = msg_io(wasi__ctx(vm), f, &msg, fl, false);
    if (r < 0)
        return wasi__errno();
    bool truncated = msg.msg_flags & MSG_TRUNC;
    wasi__put_u16(pflags, truncated ? WASI_ROFLAG_TRUNCATED : 0);
    return wasi__store_u32(vm, datalen, (uint32_t)r);
}

uint32_t wasi_sock_send(wasi_vm *vm, uint32_t fd, uint32_t iovs_ptr,
                        uint32_t n, uint32_t siflags, uint32_t datalen)
{
    struct wasi_fd *f;
    struct wasi_iovs iovs;
    uint32_t e = socket_get(vm, fd, WASI_RIGHT_FD_WRITE, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (siflags != 0)                   /* no flags are defined */
        return WASI_EINVAL;
    if (wasi__mem(vm, datalen, 4) == NULL)
        return WASI_EFAULT;
    if ((e = wasi__iovs_get(vm, iovs_ptr, n, &iovs)) != WASI_ESUCCESS)
        return e;
    struct msghdr msg = {.msg_iov = iovs.v, .msg_iovlen = (size_t)iovs.n};
    ssize_t r = msg_io(wasi__ctx(vm), f, &msg, MSG_NOSIGNAL, true);
    return r < 0 ? wasi__errno() : wasi__store_u32(vm, datalen, (uint32_t)r);
}

uint32_t wasi_sock_shutdown(wasi_vm *vm, uint32_t fd, uint32_t how)
{
    static const int hows[] = {0, SHUT_RD, SHUT_WR, SHUT_RDWR};
    struct wasi_fd *f;
    uint32_t e = socket_get(vm, fd, WASI_RIGHT_SOCK_SHUTDOWN, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (how == 0 || how > (WASI_SDFLAG_RD | WASI_SDFLAG_WR))
        return WASI_EINVAL;
    return shutdown(f->host, hows[how]) == 0 ? WASI_ESUCCESS : wasi__errno();
}
