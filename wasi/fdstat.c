/*
 * wasi/fdstat.c - descriptors themselves and their metadata: closing and
 * renumbering, fdstat (type, flags, rights), filestat (stat, size, times)
 * and the preopened directories' names.
 *
 * Rights are kept per fd and can only shrink (fd_fdstat_set_rights asking
 * for more is ENOTCAPABLE); the calls check the rights the witx names.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/internal.h"

/* ===== Conversions ====================================================== */

uint8_t wasi__filetype(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return WASI_FILETYPE_REGULAR_FILE;
    case S_IFDIR: return WASI_FILETYPE_DIRECTORY;
    case S_IFCHR: return WASI_FILETYPE_CHARACTER_DEVICE;
    case S_IFBLK: return WASI_FILETYPE_BLOCK_DEVICE;
    case S_IFLNK: return WASI_FILETYPE_SYMBOLIC_LINK;
    case S_IFSOCK: return WASI_FILETYPE_SOCKET_STREAM;
    default: return WASI_FILETYPE_UNKNOWN;      /* FIFOs: WASI has no name */
    }
}

static uint64_t ns_of(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

void wasi__filestat_put(uint8_t *p, const struct stat *st)
{
    memset(p, 0, WASI_FILESTAT_SIZE);
    wasi__put_u64(p + 0, st->st_dev);
    wasi__put_u64(p + 8, st->st_ino);
    p[16] = wasi__filetype(st->st_mode);
    wasi__put_u64(p + 24, st->st_nlink);
    wasi__put_u64(p + 32, (uint64_t)st->st_size);
    wasi__put_u64(p + 40, ns_of(&st->st_atim));
    wasi__put_u64(p + 48, ns_of(&st->st_mtim));
    wasi__put_u64(p + 56, ns_of(&st->st_ctim));
}

static struct timespec time_of(uint64_t ns, bool set, bool now)
{
    if (now)
        return (struct timespec){0, UTIME_NOW};
    if (!set)
        return (struct timespec){0, UTIME_OMIT};
    return (struct timespec){(time_t)(ns / 1000000000u),
                             (long)(ns % 1000000000u)};
}

/* A time given both as a value and as "now" is EINVAL (witx fstflags). */
uint32_t wasi__times(uint64_t atim, uint64_t mtim, uint32_t fst,
                     struct timespec ts[2])
{
    if ((fst & ~(uint32_t)WASI_FST_ALL) != 0 ||
        ((fst & WASI_FST_ATIM) && (fst & WASI_FST_ATIM_NOW)) ||
        ((fst & WASI_FST_MTIM) && (fst & WASI_FST_MTIM_NOW)))
        return WASI_EINVAL;
    ts[0] = time_of(atim, fst & WASI_FST_ATIM, fst & WASI_FST_ATIM_NOW);
    ts[1] = time_of(mtim, fst & WASI_FST_MTIM, fst & WASI_FST_MTIM_NOW);
    return WASI_ESUCCESS;
}

/* ===== Closing and renumbering ========================================== */

uint32_t wasi_fd_close(wasi_vm *vm, uint32_t fd)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_fd *f;
    uint32_t e = wasi__fd_get(w, fd, 0, &f);
    if (e == WASI_ESUCCESS)
        wasi__fd_release(w, fd);
    return e;
}

/* `to` must be open too; it is closed and takes fd's place. */
uint32_t wasi_fd_renumber(wasi_vm *vm, uint32_t fd, uint32_t to)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_fd *f, *t;
    uint32_t e = wasi__fd_get(w, fd, 0, &f);
    if (e == WASI_ESUCCESS)
        e = wasi__fd_get(w, to, 0, &t);
    if (e != WASI_ESUCCESS || fd == to)
        return e;
    wasi__fd_release(w, to);
    *t = *f;
    *f = (struct wasi_fd){.kind = WASI_FD_CLOSED, .host = -1};
    return WASI_ESUCCESS;
}

/* ===== fdstat =========================================================== */

static uint16_t fdflags_of(int fl)
{
    uint16_t flags = 0;
    if (fl & O_APPEND)
        flags |= WASI_FDFLAG_APPEND;
    if (fl & O_NONBLOCK)
        flags |= WASI_FDFLAG_NONBLOCK;
    if ((fl & O_SYNC) == O_SYNC)        /* O_SYNC includes O_DSYNC's bit */
        flags |= WASI_FDFLAG_SYNC | WASI_FDFLAG_RSYNC;
    else if (fl & O_DSYNC)
        flags |= WASI_FDFLAG_DSYNC;
    return flags;
}

uint32_t wasi_fd_fdstat_get(wasi_vm *vm, uint32_t fd, uint32_t buf)
{
    struct wasi_fd *f;
    uint32_t e = wasi__fd_get(wasi__ctx(vm), fd, 0, &f);
    if (e != WASI_ESUCCESS)
        return e;
    uint8_t *p = wasi__mem(vm, buf, WASI_FDSTAT_SIZE);
    if (p == NULL)
        return WASI_EFAULT;
    int fl = 0;
    if (f->kind == WASI_FD_HOST && (fl = fcntl(f->host, F_GETFL)) < 0)
        return wasi__errno();
    if (f->waits)                       /* the guest's view, not the host's */
        fl = (fl & ~O_NONBLOCK) | (f->guest_nonblock ? O_NONBLOCK : 0);
    memset(p, 0, WASI_FDSTAT_SIZE);
    p[0] = f->filetype;
    wasi__put_u16(p + 2, fdflags_of(fl));
    wasi__put_u64(p + 8, f->rights_base);
    wasi__put_u64(p + 16, f->rights_inheriting);
    return WASI_ESUCCESS;
}

/* Linux changes only O_APPEND and O_NONBLOCK after open: asking for a
 * sync flag is ENOTSUP. The flags live in the open file description,
 * shared with whoever else holds it: on an fd the embedder lent (stdio,
 * wasi_ctx_add_fd without `owned`) a change is ENOTSUP, so a guest cannot
 * leave the user's terminal non-blocking. An fd that waits (with hooks)
 * stays O_NONBLOCK on the host: NONBLOCK only changes the guest's view,
 * whether EAGAIN reaches it or waits. */
uint32_t wasi_fd_fdstat_set_flags(wasi_vm *vm, uint32_t fd, uint32_t flags)
{
    struct wasi_fd *f;
    uint32_t e = wasi__fd_get(wasi__ctx(vm), fd,
                              WASI_RIGHT_FD_FDSTAT_SET_FLAGS, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (flags & ~(uint32_t)WASI_FDFLAG_ALL)
        return WASI_EINVAL;
    if (flags & (WASI_FDFLAG_DSYNC | WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC))
        return WASI_ENOTSUP;
    if (f->kind != WASI_FD_HOST)
        return flags == 0 ? WASI_ESUCCESS : WASI_ENOTSUP;
    int old = fcntl(f->host, F_GETFL);
    if (old < 0)
        return wasi__errno();
    bool nonblock = flags & WASI_FDFLAG_NONBLOCK;
    int fl = (old & ~(O_APPEND | O_NONBLOCK)) |
             (flags & WASI_FDFLAG_APPEND ? O_APPEND : 0) |
             (nonblock || f->waits ? O_NONBLOCK : 0);
    if (fl != old && !f->owned)
        return WASI_ENOTSUP;            /* the embedder's: its stdin... */
    if (fl != old && fcntl(f->host, F_SETFL, fl) != 0)
        return wasi__errno();
    f->guest_nonblock = f->waits && nonblock;
    return WASI_ESUCCESS;
}

uint32_t wasi_fd_fdstat_set_rights(wasi_vm *vm, uint32_t fd, uint64_t base,
                                   uint64_t inheriting)
{
    struct wasi_fd *f;
    uint32_t e = wasi__fd_get(wasi__ctx(vm), fd, 0, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if ((base & ~f->rights_base) != 0 ||
        (inheriting & ~f->rights_inheriting) != 0)
        return WASI_ENOTCAPABLE;
    f->rights_base = base;
    f->rights_inheriting = inheriting;
    return WASI_ESUCCESS;
}

/* ===== filestat ========================================================= */

uint32_t wasi_fd_filestat_get(wasi_vm *vm, uint32_t fd, uint32_t buf)
{
    struct wasi_fd *f;
    uint32_t e = wasi__fd_get(wasi__ctx(vm), fd, WASI_RIGHT_FD_FILESTAT_GET,
                              &f);
    if (e != WASI_ESUCCESS)
        return e;
    uint8_t *p = wasi__mem(vm, buf, WASI_FILESTAT_SIZE);
    if (p == NULL)
        return WASI_EFAULT;
    struct stat st = {.st_mode = S_IFCHR, .st_nlink = 1};
    if (f->kind == WASI_FD_HOST && fstat(f->host, &st) != 0)
        return wasi__errno();
    wasi__filestat_put(p, &st);
    if (f->kind == WASI_FD_HOST)
        p[16] = f->filetype;            /* a datagram socket stays one */
    return WASI_ESUCCESS;
}

uint32_t wasi_fd_filestat_set_size(wasi_vm *vm, uint32_t fd, uint64_t size)
{
    struct wasi_fd *f;
    uint32_t e = wasi__fd_get(wasi__ctx(vm), fd,
                              WASI_RIGHT_FD_FILESTAT_SET_SIZE, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (f->kind != WASI_FD_HOST || size > INT64_MAX)
        return WASI_EINVAL;
    return ftruncate(f->host, (off_t)size) == 0 ? WASI_ESUCCESS
                                                : wasi__errno();
}

uint32_t wasi_fd_filestat_set_times(wasi_vm *vm, uint32_t fd, uint64_t atim,
                                    uint64_t mtim, uint32_t fst)
{
    struct wasi_fd *f;
    struct timespec ts[2];
    uint32_t e = wasi__fd_get(wasi__ctx(vm), fd,
                              WASI_RIGHT_FD_FILESTAT_SET_TIMES, &f);
    if (e == WASI_ESUCCESS)
        e = wasi__times(atim, mtim, fst, ts);
    if (e != WASI_ESUCCESS)
        return e;
    if (f->kind != WASI_FD_HOST)
        return WASI_EINVAL;
    return futimens(f->host, ts) == 0 ? WASI_ESUCCESS : wasi__errno();
}

/* ===== Preopened directories ============================================ */

/* Anything but a preopen is EBADF: wasi-libc scans fds from 3 and stops
 * at the first EBADF. */
static uint32_t preopen_get(wasi_vm *vm, uint32_t fd, const char **name)
{
    struct wasi_fd *f;
    uint32_t e = wasi__fd_get(wasi__ctx(vm), fd, 0, &f);
    if (e == WASI_ESUCCESS && f->preopen == NULL)
        e = WASI_EBADF;
    if (e == WASI_ESUCCESS)
        *name = f->preopen;
    return e;
}

uint32_t wasi_fd_prestat_get(wasi_vm *vm, uint32_t fd, uint32_t buf)
{
    const char *name;
    uint32_t e = preopen_get(vm, fd, &name);
    if (e != WASI_ESUCCESS)
        return e;
    uint8_t *p = wasi__mem(vm, buf, WASI_PRESTAT_SIZE);
    if (p == NULL)
        return WASI_EFAULT;
    memset(p, 0, WASI_PRESTAT_SIZE);
    p[0] = WASI_PREOPEN_DIR;
    wasi__put_u32(p + 4, (uint32_t)strlen(name));
    return WASI_ESUCCESS;
}

/* The name without a NUL; a buffer shorter than it is ENAMETOOLONG. */
uint32_t wasi_fd_prestat_dir_name(wasi_vm *vm, uint32_t fd, uint32_t path,
                                  uint32_t len)
{
    const char *name;
    uint32_t e = preopen_get(vm, fd, &name);
    if (e != WASI_ESUCCESS)
        return e;
    size_t n = strlen(name);
    if (len < n)
        return WASI_ENAMETOOLONG;
    uint8_t *p = wasi__mem(vm, path, n);
    if (p == NULL)
        return WASI_EFAULT;
    memcpy(p, name, n);
    return WASI_ESUCCESS;
}
