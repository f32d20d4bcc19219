/*
 * wasi/link.c - calls on names that point at other names: rename, hard
 * links, symbolic links and reading them, each between leaves opened
 * beneath their directory fds (lookup.c).
 *
 * A symlink the guest creates must be relative: an absolute target is
 * ENOTCAPABLE at creation. (A relative one may still point outside, e.g.
 * "../.."; lookups refuse to follow it there, so it is harmless.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/internal.h"

/* A leaf given with a trailing slash must be a directory: ENOTDIR. */
static uint32_t slash_check(const struct wasi_leaf *l)
{
    struct stat st;
    if (!l->slash)
        return WASI_ESUCCESS;
    if (fstatat(l->dir, l->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return wasi__errno();
    return S_ISDIR(st.st_mode) ? WASI_ESUCCESS : WASI_ENOTDIR;
}

/* ===== rename =========================================================== */

uint32_t wasi_path_rename(wasi_vm *vm, uint32_t fd, uint32_t old_path,
                          uint32_t old_len, uint32_t new_fd,
                          uint32_t new_path, uint32_t new_len)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_path po, pn;
    struct wasi_leaf lo, ln;
    uint32_t e = wasi__leaf_open(w, vm, fd, WASI_RIGHT_PATH_RENAME_SOURCE,
                                 old_path, old_len, &po, &lo);
    uint32_t e2 = wasi__leaf_open(w, vm, new_fd,
                                  WASI_RIGHT_PATH_RENAME_TARGET, new_path,
                                  new_len, &pn, &ln);
    if (e == WASI_ESUCCESS)
        e = e2;
    if (ln.slash)
        lo.slash = true;                /* "f" -> "d/": f must be a dir */
    if (e == WASI_ESUCCESS)
        e = slash_check(&lo);
    if (e == WASI_ESUCCESS && renameat(lo.dir, lo.name, ln.dir, ln.name) != 0)
        e = wasi__errno();
    wasi__leaf_close(w, &lo);
    wasi__leaf_close(w, &ln);
    return e;
}

/* ===== Hard links ======================================================= */

/* Following a symlink source: open what it leads to (beneath), then
 * link that object by its /proc name (linkat's AT_EMPTY_PATH would need
 * CAP_DAC_READ_SEARCH). */
static uint32_t link_followed(wasi_vm *vm, uint32_t old_fd, uint32_t old_path,
                              uint32_t old_len, const struct wasi_leaf *ln)
{
    int obj;
    uint32_t e = wasi__object_open(vm, old_fd, WASI_RIGHT_PATH_LINK_SOURCE,
                                   WASI_LOOKUP_SYMLINK_FOLLOW, old_path,
                                   old_len, &obj);
    if (e != WASI_ESUCCESS)
        return e;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", obj);
    if (linkat(AT_FDCWD, proc, ln->dir, ln->name, AT_SYMLINK_FOLLOW) != 0)
        e = wasi__errno();
    wasi__hostfd_close(wasi__ctx(vm), obj);
    return e;
}

static uint32_t link_plain(wasi_vm *vm, uint32_t old_fd, uint32_t old_path,
                           uint32_t old_len, const struct wasi_leaf *ln)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_path po;
    struct wasi_leaf lo;
    uint32_t e = wasi__leaf_open(w, vm, old_fd,
                                 WASI_RIGHT_PATH_LINK_SOURCE, old_path,
                                 old_len, &po, &lo);
    if (e == WASI_ESUCCESS)
        e = slash_check(&lo);
    if (e == WASI_ESUCCESS &&
        linkat(lo.dir, lo.name, ln->dir, ln->name, 0) != 0)
        e = wasi__errno();
    wasi__leaf_close(w, &lo);
    return e;
}

uint32_t wasi_path_link(wasi_vm *vm, uint32_t old_fd, uint32_t old_flags,
                        uint32_t old_path, uint32_t old_len, uint32_t new_fd,
                        uint32_t new_path, uint32_t new_len)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_path pn;
    struct wasi_leaf ln;
    if (old_flags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW)
        return WASI_EINVAL;
    uint32_t e = wasi__leaf_open(w, vm, new_fd,
                                 WASI_RIGHT_PATH_LINK_TARGET, new_path,
                                 new_len, &pn, &ln);
    if (e == WASI_ESUCCESS && ln.slash)
        e = WASI_ENOENT;                /* a new non-directory "x/" */
    if (e == WASI_ESUCCESS)
        e = old_flags ? link_followed(vm, old_fd, old_path, old_len, &ln)
                      : link_plain(vm, old_fd, old_path, old_len, &ln);
    wasi__leaf_close(w, &ln);
    return e;
}

/* ===== Symbolic links =================================================== */

uint32_t wasi_path_symlink(wasi_vm *vm, uint32_t old_path, uint32_t old_len,
                           uint32_t fd, uint32_t new_path, uint32_t new_len)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_path target;
    struct wasi_path pn;
    struct wasi_leaf ln;
    uint32_t e = wasi__path_copy(vm, old_path, old_len, &target);
    if (e != WASI_ESUCCESS)
        return e;
    e = wasi__leaf_open(w, vm, fd, WASI_RIGHT_PATH_SYMLINK,
                        new_path, new_len, &pn, &ln);
    if (e == WASI_ESUCCESS && ln.slash)
        e = WASI_ENOENT;
    if (e == WASI_ESUCCESS && symlinkat(target.s, ln.dir, ln.name) != 0)
        e = wasi__errno();
    wasi__leaf_close(w, &ln);
    return e;
}

/* The target, truncated to the buffer without notice (as readlink(2)). */
uint32_t wasi_path_readlink(wasi_vm *vm, uint32_t fd, uint32_t path,
                            uint32_t path_len, uint32_t buf, uint32_t buf_len,
                            uint32_t bufused)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_path p;
    struct wasi_leaf l;
    uint8_t *out = wasi__mem(vm, buf, buf_len);
    if (out == NULL || wasi__mem(vm, bufused, 4) == NULL)
        return WASI_EFAULT;
    uint32_t e = wasi__leaf_open(w, vm, fd,
                                 WASI_RIGHT_PATH_READLINK, path, path_len,
                                 &p, &l);
    if (e == WASI_ESUCCESS)
        e = slash_check(&l);
    if (e == WASI_ESUCCESS && l.slash)
        e = WASI_EINVAL;                /* a directory is not a link */
    ssize_t n = 0;
    if (e == WASI_ESUCCESS &&
        (n = readlinkat(l.dir, l.name, (char *)out, buf_len)) < 0)
        e = wasi__errno();
    wasi__leaf_close(w, &l);
    return e ? e : wasi__store_u32(vm, bufused, (uint32_t)n);
}
