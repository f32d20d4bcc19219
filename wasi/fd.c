/*
 * wasi/fd.c - reading and writing file descriptors: fd_read, fd_write,
 * their positioned forms, seeking, syncing, advice and allocation.
 *
 * Host fds are read and written with readv/writev straight into guest
 * memory. The in-memory stdin hands out its bytes once, then end of file;
 * in-memory stdout and stderr keep at most their limit and mark the rest
 * as truncated while telling the guest everything was written (as a pipe
 * nobody reads would). Writes to host pipes and sockets never raise
 * SIGPIPE in the host: the guest gets EPIPE.
 *
 * With hooks, an fd that waits (a FIFO, a device, a socket path_open or
 * sock_accept made non-blocking for the guest) behaves as a blocking one
 * would: EAGAIN waits through hooks.wait and tries again, and a write
 * goes on until all of it is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wasi/internal.h"

/* ===== In-memory stdio ================================================== */

static size_t mem_read(struct wasi_ctx *w, const struct wasi_iovs *iovs)
{
    size_t done = 0;
    for (int i = 0; i < iovs->n && w->input_pos < w->input_len; i++) {
        size_t n = w->input_len - w->input_pos;
        if (n > iovs->v[i].iov_len)
            n = iovs->v[i].iov_len;
        memcpy(iovs->v[i].iov_base, w->input + w->input_pos, n);
        w->input_pos += n;
        done += n;
    }
    return done;
}

/* Room for n more bytes, growing by doubling up to the limit. */
static size_t capture_room(struct wasi_capture *c, size_t n)
{
    size_t want = c->limit - c->len < n ? c->limit - c->len : n;
    if (c->len + want <= c->cap)
        return want;
    if (c->buf == NULL && c->len + want <= WASI_CAPTURE_INLINE) {
        c->buf = c->inline_buf;
        c->cap = WASI_CAPTURE_INLINE;
        return want;
    }
    size_t cap = c->cap > WASI_CAPTURE_INLINE ? c->cap : 2 * WASI_CAPTURE_INLINE;
    while (cap < c->len + want)
        cap *= 2;
    if (cap > c->limit)
        cap = c->limit;
    uint8_t *buf = c->buf == c->inline_buf ? malloc(cap) : realloc(c->buf, cap);
    if (buf == NULL)
        return c->cap - c->len;
    if (c->buf == c->inline_buf)
        memcpy(buf, c->inline_buf, c->len);
    c->buf = buf;
    c->cap = cap;
    return want;
}

static void capture_write(struct wasi_capture *c, const struct wasi_iovs *iovs)
{
    for (int i = 0; i < iovs->n; i++) {
        size_t n = iovs->v[i].iov_len;
        size_t room = capture_room(c, n);
        if (room > 0)
            memcpy(c->buf + c->len, iovs->v[i].iov_base, room);
        c->len += room;
        if (room < n)
            c->truncated = true;
    }
}

/* ===== Host writes without SIGPIPE ====================================== */

/* writev with SIGPIPE blocked for this thread; a SIGPIPE the write raised
 * is taken back before unblocking (one that was already pending stays). */
static ssize_t write_nosigpipe(int fd, const struct iovec *v, int n)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    ssize_t r = writev(fd, v, n);
    int saved = errno;
    if (r < 0 && errno == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return r;
}

/* Reads and writes of regular files go through the embedder's hook when
 * it has one (awsmrt parks the guest while a thread pool does them). */
static ssize_t file_io(struct wasi_ctx *w, const struct wasi_fd *f,
                       const struct iovec *v, int n, int64_t offset, bool write)
{
    if (w->hooks.file_io && f->filetype == WASI_FILETYPE_REGULAR_FILE) {
        ssize_t r = w->hooks.file_io(w->hooks.ud, f->host, v, n, offset, write);
        if (r < 0) {
            errno = (int)-r;
            return -1;
        }
        return r;
    }
    if (offset < 0)
        return write ? writev(f->host, v, n) : readv(f->host, v, n);
    return write ? pwritev(f->host, v, n, (off_t)offset)
                 : preadv(f->host, v, n, (off_t)offset);
}

static ssize_t host_write(struct wasi_ctx *w, const struct wasi_fd *f,
                          const struct iovec *v, int n)
{
    if (f->filetype == WASI_FILETYPE_SOCKET_STREAM ||
        f->filetype == WASI_FILETYPE_SOCKET_DGRAM) {
        struct msghdr msg = {.msg_iov = (struct iovec *)v, .msg_iovlen = n};
        return sendmsg(f->host, &msg, MSG_NOSIGNAL);
    }
    if (f->fifo)
        return write_nosigpipe(f->host, v, n);
    return file_io(w, f, v, n, -1, true);
}

/* ===== As a blocking call would ======================================== */

int wasi__fd_wait(struct wasi_ctx *w, const struct wasi_fd *f, short events)
{
    struct pollfd p = {.fd = f->host, .events = events};
    int r = w->hooks.wait(w->hooks.ud, &p, 1, NULL);
    if (r < 0 && r != -EINTR) {
        errno = -r;                 /* for the read/write it stands in */
        return -1;
    }
    return 0;
}

static size_t iovs_total(const struct iovec *v, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += v[i].iov_len;
    return total;
}

/* One read or write, EINTR retried. On an fd that waits, EAGAIN waits
 * for readiness; and a FIFO opened for reading before it had a writer
 * reads 0 at once, where a blocking open would have waited for one: the
 * first 0 waits too (after a wait, 0 is the end: a writer came and went,
 * and poll says so at once with POLLHUP). */
static ssize_t host_io(struct wasi_ctx *w, const struct wasi_fd *f,
                       const struct iovec *v, int n, int64_t offset, bool write)
{
    bool waited = false;
    for (;;) {
        ssize_t r = write && offset < 0 ? host_write(w, f, v, n)
                                        : file_io(w, f, v, n, offset, write);
        if (r < 0 && errno == EINTR)
            continue;
        bool again = r < 0 && errno == EAGAIN;
        bool no_writer_yet = r == 0 && !write && f->fifo && !waited &&
                             iovs_total(v, n) > 0;
        if (!wasi__fd_waits(f) || !(again || no_writer_yet))
            return r;
        if (wasi__fd_wait(w, f, write ? POLLOUT : POLLIN) != 0)
            return -1;
        waited = true;
    }
}

/* A blocking write to a pipe or stream returns when all is written; a
 * non-blocking one may stop short, so on an fd that waits it goes on (an
 * error after some progress is a short count). Datagrams go whole. The
 * iovecs are the caller's copies and are used up. */
static ssize_t host_write_all(struct wasi_ctx *w, const struct wasi_fd *f,
                              struct iovec *v, int n)
{
    if (!wasi__fd_waits(f) || f->filetype == WASI_FILETYPE_SOCKET_DGRAM)
        return host_io(w, f, v, n, -1, true);
    size_t done = 0;
    for (;;) {
        ssize_t r = host_io(w, f, v, n, -1, true);
        if (r <= 0)
            return done > 0 ? (ssize_t)done : r;
        done += (size_t)r;
        for (; n > 0 && (size_t)r >= v->iov_len; v++, n--)
            r -= (ssize_t)v->iov_len;
        if (n == 0)
            return (ssize_t)done;
        v->iov_base = (uint8_t *)v->iov_base + r;
        v->iov_len -= (size_t)r;
    }
}

/* ===== fd_read, fd_write ================================================ */

uint32_t wasi_fd_read(wasi_vm *vm, uint32_t fd, uint32_t iovs_ptr,
                      uint32_t n, uint32_t nread)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_fd *f;
    struct wasi_iovs iovs;
    uint32_t e = wasi__fd_get(w, fd, WASI_RIGHT_FD_READ, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (f->kind == WASI_FD_MEM_OUT)
        return WASI_EBADF;
    if (wasi__mem(vm, nread, 4) == NULL)
        return WASI_EFAULT;
    if ((e = wasi__iovs_get(vm, iovs_ptr, n, &iovs)) != WASI_ESUCCESS)
        return e;
    ssize_t r;
    if (f->kind == WASI_FD_MEM_IN)
        r = (ssize_t)mem_read(w, &iovs);
    else
        r = host_io(w, f, iovs.v, iovs.n, -1, false);
    return r < 0 ? wasi__errno() : wasi__store_u32(vm, nread, (uint32_t)r);
}

uint32_t wasi_fd_write(wasi_vm *vm, uint32_t fd, uint32_t iovs_ptr,
                       uint32_t n, uint32_t nwritten)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_fd *f;
    struct wasi_iovs iovs;
    uint32_t e = wasi__fd_get(w, fd, WASI_RIGHT_FD_WRITE, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (f->kind == WASI_FD_MEM_IN)
        return WASI_EBADF;
    if (wasi__mem(vm, nwritten, 4) == NULL)
        return WASI_EFAULT;
    if ((e = wasi__iovs_get(vm, iovs_ptr, n, &iovs)) != WASI_ESUCCESS)
        return e;
    ssize_t r = (ssize_t)iovs.total;
    if (f->kind == WASI_FD_MEM_OUT)
        capture_write(&w->capture[f->stream], &iovs);
    else
        r = host_write_all(w, f, iovs.v, iovs.n);
    return r < 0 ? wasi__errno() : wasi__store_u32(vm, nwritten, (uint32_t)r);
}

/* ===== Positioned I/O =================================================== */

/* A host fd that can seek (memory streams are like pipes): EBADF, ESPIPE,
 * ENOTCAPABLE. */
static uint32_t seekable_get(wasi_vm *vm, uint32_t fd, uint64_t rights,
                             struct wasi_fd **f)
{
    uint32_t e = wasi__fd_get(wasi__ctx(vm), fd, rights, f);
    if (e == WASI_ESUCCESS && (*f)->kind != WASI_FD_HOST)
        e = WASI_ESPIPE;
    return e;
}

/* fd_pread and fd_pwrite: the same but for the direction and its right. */
static uint32_t positioned_io(wasi_vm *vm, uint32_t fd, uint32_t iovs_ptr,
                              uint32_t n, uint64_t offset, uint32_t nresult,
                              bool write)
{
    struct wasi_fd *f;
    struct wasi_iovs iovs;
    uint64_t right = write ? WASI_RIGHT_FD_WRITE : WASI_RIGHT_FD_READ;
    uint32_t e = seekable_get(vm, fd, right | WASI_RIGHT_FD_SEEK, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (offset > INT64_MAX)
        return WASI_EINVAL;
    if (wasi__mem(vm, nresult, 4) == NULL)
        return WASI_EFAULT;
    if ((e = wasi__iovs_get(vm, iovs_ptr, n, &iovs)) != WASI_ESUCCESS)
        return e;
    ssize_t r = host_io(wasi__ctx(vm), f, iovs.v, iovs.n, (int64_t)offset,
                        write);
    return r < 0 ? wasi__errno() : wasi__store_u32(vm, nresult, (uint32_t)r);
}

uint32_t wasi_fd_pread(wasi_vm *vm, uint32_t fd, uint32_t iovs_ptr,
                       uint32_t n, uint64_t offset, uint32_t nread)
{
    return positioned_io(vm, fd, iovs_ptr, n, offset, nread, false);
}

uint32_t wasi_fd_pwrite(wasi_vm *vm, uint32_t fd, uint32_t iovs_ptr,
                        uint32_t n, uint64_t offset, uint32_t nwritten)
{
    return positioned_io(vm, fd, iovs_ptr, n, offset, nwritten, true);
}

/* ===== Seeking ========================================================== */

/* The offset is a filedelta: signed. Telling (0 from the current place)
 * needs only the tell right. */
uint32_t wasi_fd_seek(wasi_vm *vm, uint32_t fd, uint64_t offset,
                      uint32_t whence, uint32_t newoffset)
{
    static const int whences[] = {SEEK_SET, SEEK_CUR, SEEK_END};
    struct wasi_fd *f;
    bool tell = offset == 0 && whence == WASI_WHENCE_CUR;
    uint32_t e = seekable_get(vm, fd, tell ? WASI_RIGHT_FD_TELL :
                              WASI_RIGHT_FD_SEEK, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (whence > WASI_WHENCE_END)
        return WASI_EINVAL;
    if (wasi__mem(vm, newoffset, 8) == NULL)
        return WASI_EFAULT;
    off_t r = lseek(f->host, (off_t)(int64_t)offset, whences[whence]);
    if (r < 0)
        return wasi__errno();
    return wasi__store_u64(vm, newoffset, (uint64_t)r);
}

uint32_t wasi_fd_tell(wasi_vm *vm, uint32_t fd, uint32_t offset)
{
    struct wasi_fd *f;
    uint32_t e = seekable_get(vm, fd, WASI_RIGHT_FD_TELL, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (wasi__mem(vm, offset, 8) == NULL)
        return WASI_EFAULT;
    off_t r = lseek(f->host, 0, SEEK_CUR);
    if (r < 0)
        return wasi__errno();
    return wasi__store_u64(vm, offset, (uint64_t)r);
}

/* ===== Sync, advice, allocation ========================================= */

/* Memory streams have nothing to sync. */
static uint32_t sync_fd(wasi_vm *vm, uint32_t fd, uint64_t right,
                        int (*sync)(int))
{
    struct wasi_fd *f;
    uint32_t e = wasi__fd_get(wasi__ctx(vm), fd, right, &f);
    if (e != WASI_ESUCCESS || f->kind != WASI_FD_HOST)
        return e;
    return sync(f->host) == 0 ? WASI_ESUCCESS : wasi__errno();
}

uint32_t wasi_fd_sync(wasi_vm *vm, uint32_t fd)
{
    return sync_fd(vm, fd, WASI_RIGHT_FD_SYNC, fsync);
}

uint32_t wasi_fd_datasync(wasi_vm *vm, uint32_t fd)
{
    return sync_fd(vm, fd, WASI_RIGHT_FD_DATASYNC, fdatasync);
}

uint32_t wasi_fd_advise(wasi_vm *vm, uint32_t fd, uint64_t offset,
                        uint64_t len, uint32_t advice)
{
    static const int advices[] = {
        POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
        POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE,
    };
    struct wasi_fd *f;
    uint32_t e = seekable_get(vm, fd, WASI_RIGHT_FD_ADVISE, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (advice > WASI_ADVICE_NOREUSE || offset > INT64_MAX || len > INT64_MAX)
        return WASI_EINVAL;
    int rc = posix_fadvise(f->host, (off_t)offset, (off_t)len,
                           advices[advice]);
    return rc == 0 ? WASI_ESUCCESS : wasi__errno_from(rc);
}

uint32_t wasi_fd_allocate(wasi_vm *vm, uint32_t fd, uint64_t offset,
                          uint64_t len)
{
    struct wasi_fd *f;
    uint32_t e = seekable_get(vm, fd, WASI_RIGHT_FD_ALLOCATE, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (offset > INT64_MAX || len > INT64_MAX)
        return WASI_EINVAL;
    if (offset + len > INT64_MAX)
        return WASI_EFBIG;
    int rc = posix_fallocate(f->host, (off_t)offset, (off_t)len);
    return rc == 0 ? WASI_ESUCCESS : wasi__errno_from(rc);
}
