/*
 * wasi/path.c - opening, creating, removing and inspecting files by path,
 * relative to a directory fd (lookup.c keeps every path beneath it).
 *
 * path_open maps the requested rights to the host's access mode: read
 * when it asks for fd_read or fd_readdir, write when it asks for fd_write,
 * fd_datasync, fd_allocate or fd_filestat_set_size (wasi-libc asks that
 * way for O_RDONLY, O_WRONLY and O_RDWR); a directory (oflags DIRECTORY)
 * is always opened for reading. The new fd gets the requested rights that
 * its directory may hand on and that apply to its type.
 *
 * With hooks (an embedder that runs many guests on a thread) nothing may
 * block in open(2): the host open is O_NONBLOCK, a FIFO opened for
 * writing before it has a reader (ENXIO) is retried through the wait
 * hook, and what is not a regular file or directory keeps O_NONBLOCK
 * with its reads and writes waiting through the hook (fd.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/internal.h"

/* ===== path_open ======================================================== */

static uint32_t open_flags(uint32_t dirflags, uint32_t oflags, uint64_t base,
                           uint32_t fdflags, int *out)
{
    if ((dirflags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW) ||
        (oflags & ~(uint32_t)WASI_OFLAG_ALL) ||
        (fdflags & ~(uint32_t)WASI_FDFLAG_ALL))
        return WASI_EINVAL;
    /* With O_DIRECTORY and a writing right the host's open says EISDIR
     * (or ENOTDIR for a file), as POSIX has it. */
    bool rd = base & WASI_RIGHTS_READING, wr = base & WASI_RIGHTS_WRITING;
    int fl = wr ? (rd ? O_RDWR : O_WRONLY) : O_RDONLY;
    fl |= (oflags & WASI_OFLAG_CREAT ? O_CREAT : 0) |
          (oflags & WASI_OFLAG_DIRECTORY ? O_DIRECTORY : 0) |
          (oflags & WASI_OFLAG_EXCL ? O_EXCL : 0) |
          (oflags & WASI_OFLAG_TRUNC ? O_TRUNC : 0) |
          (fdflags & WASI_FDFLAG_APPEND ? O_APPEND : 0) |
          (fdflags & WASI_FDFLAG_DSYNC ? O_DSYNC : 0) |
          (fdflags & WASI_FDFLAG_NONBLOCK ? O_NONBLOCK : 0) |
          (fdflags & WASI_FDFLAG_RSYNC ? O_RSYNC : 0) |
          (fdflags & WASI_FDFLAG_SYNC ? O_SYNC : 0) |
          (dirflags & WASI_LOOKUP_SYMLINK_FOLLOW ? 0 : O_NOFOLLOW);
    *out = fl;
    return WASI_ESUCCESS;
}

/* The rights path_open needs on the directory for these oflags. */
static uint64_t open_rights(uint32_t oflags)
{
    uint64_t r = WASI_RIGHT_PATH_OPEN;
    if (oflags & WASI_OFLAG_CREAT)
        r |= WASI_RIGHT_PATH_CREATE_FILE;
    if (oflags & WASI_OFLAG_TRUNC)
        r |= WASI_RIGHT_PATH_FILESTAT_SET_SIZE;
    return r;
}

/* Whether path names a FIFO: with O_NONBLOCK, ENXIO is a FIFO without a
 * reader (for now), or a socket or device (for good). */
static bool path_is_fifo(struct wasi_ctx *w, int dirfd, const char *path,
                         int flags)
{
    struct stat st;
    int probe;
    if (wasi__open_beneath(w, dirfd, path, O_PATH | (flags & O_NOFOLLOW), 0,
                           &probe) != WASI_ESUCCESS)
        return false;
    bool fifo = fstat(probe, &st) == 0 && S_ISFIFO(st.st_mode);
    wasi__hostfd_close(w, probe);
    return fifo;
}

/* The host open; with hooks, O_NONBLOCK. A blocking open of a FIFO for
 * writing waits for a reader: here that is a retry every
 * WASI_OPEN_RETRY_MS through the wait hook (which ends the call at the
 * embedder's deadline); no fd is held while waiting. */
static uint32_t open_host(struct wasi_ctx *w, int dirfd, const char *path,
                          int flags, int *host)
{
    static const struct timespec retry = {0, WASI_OPEN_RETRY_MS * 1000000L};
    bool guest_nonblock = flags & O_NONBLOCK;
    if (w->hooks.wait != NULL)
        flags |= O_NONBLOCK;
    for (;;) {
        uint32_t e = wasi__open_beneath(w, dirfd, path, flags, 0666, host);
        if (e != WASI_ENXIO || w->hooks.wait == NULL || guest_nonblock ||
            (flags & O_ACCMODE) != O_WRONLY ||
            !path_is_fifo(w, dirfd, path, flags))
            return e;
        int r = w->hooks.wait(w->hooks.ud, NULL, 0, &retry);
        if (r < 0 && r != -EINTR)
            return wasi__errno_from(-r);
    }
}

/* Put an opened host fd in a slot, with the rights asked for that apply
 * to its type; on failure it is closed. With hooks, a regular file or
 * directory the guest did not ask to be non-blocking loses O_NONBLOCK
 * (F_SETFL changes only O_APPEND and O_NONBLOCK of these flags). */
static uint32_t open_install(struct wasi_ctx *w, int host, int flags,
                             uint64_t base, uint64_t inheriting,
                             uint32_t guest_flags, uint32_t *out)
{
    uint32_t e = wasi__fd_add_host(w, host, true, out);
    if (e != WASI_ESUCCESS) {
        wasi__hostfd_close(w, host);
        return e;
    }
    struct wasi_fd *f = &w->fds[*out];
    bool nonblock = guest_flags & WASI_FDFLAG_NONBLOCK;
    wasi__fd_opened(w, *out, nonblock);
    if (w->hooks.wait != NULL && !f->waits && !nonblock)
        fcntl(host, F_SETFL, flags & ~O_NONBLOCK);
    f->rights_base &= base;
    f->rights_inheriting = inheriting;
    return WASI_ESUCCESS;
}

uint32_t wasi_path_open(wasi_vm *vm, uint32_t fd, uint32_t dirflags,
                        uint32_t path, uint32_t path_len, uint32_t oflags,
                        uint64_t base, uint64_t inheriting, uint32_t fdflags,
                        uint32_t out)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_fd *dir;
    struct wasi_path p;
    int flags, host;
    uint32_t newfd;
    uint32_t e = wasi__dir_get(w, fd, open_rights(oflags), &dir);
    if (e != WASI_ESUCCESS)
        return e;
    base &= WASI_RIGHTS_ALL;
    inheriting &= WASI_RIGHTS_ALL;
    if (((base | inheriting) & ~dir->rights_inheriting) != 0)
        return WASI_ENOTCAPABLE;
    if ((e = open_flags(dirflags, oflags, base, fdflags, &flags)) != 0 ||
        (e = wasi__path_copy(vm, path, path_len, &p)) != 0)
        return e;
    if (wasi__mem(vm, out, 4) == NULL)
        return WASI_EFAULT;
    int dirfd = dir->host;              /* dir moves if the table grows */
    if ((e = wasi__fd_room(w)) != WASI_ESUCCESS)
        return e;
    e = open_host(w, dirfd, p.s, flags, &host);
    if (e == WASI_ESUCCESS)
        e = open_install(w, host, flags, base, inheriting, fdflags, &newfd);
    return e ? e : wasi__store_u32(vm, out, newfd);
}

/* ===== Directories and unlinking ======================================== */

uint32_t wasi_path_create_directory(wasi_vm *vm, uint32_t fd, uint32_t path,
                                    uint32_t path_len)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_path p;
    struct wasi_leaf l;
    uint32_t e = wasi__leaf_open(w, vm, fd,
                                 WASI_RIGHT_PATH_CREATE_DIRECTORY, path,
                                 path_len, &p, &l);
    if (e == WASI_ESUCCESS && mkdirat(l.dir, l.name, 0777) != 0)
        e = wasi__errno();
    wasi__leaf_close(w, &l);
    return e;
}

uint32_t wasi_path_remove_directory(wasi_vm *vm, uint32_t fd, uint32_t path,
                                    uint32_t path_len)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_path p;
    struct wasi_leaf l;
    uint32_t e = wasi__leaf_open(w, vm, fd,
                                 WASI_RIGHT_PATH_REMOVE_DIRECTORY, path,
                                 path_len, &p, &l);
    if (e == WASI_ESUCCESS && unlinkat(l.dir, l.name, AT_REMOVEDIR) != 0)
        e = wasi__errno();
    wasi__leaf_close(w, &l);
    return e;
}

/* "name/" names a directory: unlinking it is EISDIR, and ENOTDIR when it
 * is not one. */
static uint32_t unlink_leaf(const struct wasi_leaf *l)
{
    struct stat st;
    if (l->slash) {
        if (fstatat(l->dir, l->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            return wasi__errno();
        return S_ISDIR(st.st_mode) ? WASI_EISDIR : WASI_ENOTDIR;
    }
    return unlinkat(l->dir, l->name, 0) == 0 ? WASI_ESUCCESS : wasi__errno();
}

uint32_t wasi_path_unlink_file(wasi_vm *vm, uint32_t fd, uint32_t path,
                               uint32_t path_len)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_path p;
    struct wasi_leaf l;
    uint32_t e = wasi__leaf_open(w, vm, fd,
                                 WASI_RIGHT_PATH_UNLINK_FILE, path, path_len,
                                 &p, &l);
    if (e == WASI_ESUCCESS)
        e = unlink_leaf(&l);
    wasi__leaf_close(w, &l);
    return e;
}

/* ===== Stat and times by path =========================================== */

uint32_t wasi_path_filestat_get(wasi_vm *vm, uint32_t fd, uint32_t flags,
                                uint32_t path, uint32_t path_len,
                                uint32_t buf)
{
    struct stat st;
    int obj;
    uint8_t *p = wasi__mem(vm, buf, WASI_FILESTAT_SIZE);
    if (p == NULL)
        return WASI_EFAULT;
    uint32_t e = wasi__object_open(vm, fd, WASI_RIGHT_PATH_FILESTAT_GET,
                                   flags, path, path_len, &obj);
    if (e != WASI_ESUCCESS)
        return e;
    if (fstat(obj, &st) != 0)
        e = wasi__errno();
    else
        wasi__filestat_put(p, &st);
    wasi__hostfd_close(wasi__ctx(vm), obj);
    return e;
}

/* utimensat on an O_PATH fd: AT_EMPTY_PATH where the kernel has it, else
 * through /proc (the fd already names the object; nothing is resolved). */
static int utimes_fd(int fd, const struct timespec ts[2])
{
    if (utimensat(fd, "", ts, AT_EMPTY_PATH) == 0)
        return 0;
    if (errno != EINVAL)
        return -1;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return utimensat(AT_FDCWD, proc, ts, 0);
}

uint32_t wasi_path_filestat_set_times(wasi_vm *vm, uint32_t fd,
                                      uint32_t flags, uint32_t path,
                                      uint32_t path_len, uint64_t atim,
                                      uint64_t mtim, uint32_t fst)
{
    struct timespec ts[2];
    int obj;
    uint32_t e = wasi__times(atim, mtim, fst, ts);
    if (e == WASI_ESUCCESS)
        e = wasi__object_open(vm, fd, WASI_RIGHT_PATH_FILESTAT_SET_TIMES,
                              flags, path, path_len, &obj);
    if (e != WASI_ESUCCESS)
        return e;
    if (utimes_fd(obj, ts) != 0)
        e = wasi__errno();
    wasi__hostfd_close(wasi__ctx(vm), obj);
    return e;
}
