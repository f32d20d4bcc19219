/*
 * wasi/lookup.c - resolving guest paths beneath a directory fd: the
 * capability check of every path_* call.
 *
 * The kernel does the resolving. openat2(2) with RESOLVE_BENEATH refuses
 * (EXDEV, reported as ENOTCAPABLE) any path that would leave the starting
 * directory at any step: "..", absolute paths, and symlinks (relative or
 * absolute) that lead outside, however they are nested; with
 * RESOLVE_NO_MAGICLINKS it also refuses /proc-style links. It never falls
 * back to a plain openat: without openat2 (Linux < 5.6) path calls fail
 * with ENOSYS.
 *
 * Calls without an openat2 form (mkdirat, unlinkat, renameat, ...) first
 * open the path's parent with openat2 and then name only the last
 * component relative to it. That component contains no '/', and those
 * calls do not follow a symlink in it, so they stay beneath as well. The
 * one component that could still step out is "..": a leaf ".." is
 * accepted only when the whole path resolves beneath the directory.
 * Stat and utimes, which would read or change what ".." names, go through
 * an O_PATH fd opened with openat2 instead (path.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wasi/internal.h"

#define OPENAT2_RETRIES 16      /* EAGAIN: a rename raced the lookup */

uint32_t wasi__path_copy(struct awsm_vmctx *vm, uint32_t ptr, uint32_t len,
                         struct wasi_path *out)
{
    const uint8_t *p = wasi__mem(vm, ptr, len);
    if (p == NULL)
        return WASI_EFAULT;
    if (len == 0)
        return WASI_ENOENT;
    if (len > WASI_MAX_PATH)
        return WASI_ENAMETOOLONG;
    if (memchr(p, '\0', len) != NULL)
        return WASI_EINVAL;
    memcpy(out->s, p, len);
    out->s[len] = '\0';
    return out->s[0] == '/' ? WASI_ENOTCAPABLE : WASI_ESUCCESS;
}

uint32_t wasi__open_beneath(struct wasi_ctx *w, int dirfd, const char *path,
                            int flags, unsigned mode, int *out)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    uint32_t e = wasi__hostfd_take(w);
    if (e != WASI_ESUCCESS)
        return e;
    for (int i = 0;; i++) {
        long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0) {
            *out = (int)fd;
            return WASI_ESUCCESS;
        }
        if ((errno == EAGAIN || errno == EINTR) && i < OPENAT2_RETRIES)
            continue;
        wasi__hostfd_give(w);
        if (errno == EXDEV)
            return WASI_ENOTCAPABLE;
        return errno == EMFILE ? WASI_ENFILE : wasi__errno();
    }
}

/* Type before rights: a file given as a directory is ENOTDIR. */
uint32_t wasi__dir_get(struct wasi_ctx *w, uint32_t fd, uint64_t rights,
                       struct wasi_fd **dir)
{
    struct wasi_fd *f;
    uint32_t e = wasi__fd_get(w, fd, 0, &f);
    if (e != WASI_ESUCCESS)
        return e;
    if (f->kind != WASI_FD_HOST || f->filetype != WASI_FILETYPE_DIRECTORY)
        return WASI_ENOTDIR;
    if ((f->rights_base & rights) != rights)
        return WASI_ENOTCAPABLE;
    *dir = f;
    return WASI_ESUCCESS;
}

/* Remove trailing slashes: "a/b//" is the leaf "b" of "a", which must be
 * a directory. (The path is relative, so it keeps its first byte.) */
static bool strip_slashes(char *s)
{
    size_t n = strlen(s);
    bool slash = false;
    while (n > 1 && s[n - 1] == '/') {
        s[--n] = '\0';
        slash = true;
    }
    return slash;
}

/* A leaf ".." names the parent's parent: allowed only beneath dirfd. */
static uint32_t dotdot_check(struct wasi_ctx *w, int dirfd, const char *path)
{
    int fd;
    uint32_t e = wasi__open_beneath(w, dirfd, path, O_PATH | O_DIRECTORY, 0,
                                    &fd);
    if (e == WASI_ESUCCESS)
        wasi__hostfd_close(w, fd);
    return e;
}

uint32_t wasi__leaf_open(struct wasi_ctx *w, struct awsm_vmctx *vm,
                         uint32_t fd, uint64_t rights, uint32_t ptr,
                         uint32_t len, struct wasi_path *buf,
                         struct wasi_leaf *out)
{
    struct wasi_fd *dir;
    *out = (struct wasi_leaf){.dir = -1, .name = buf->s};
    uint32_t e = wasi__dir_get(w, fd, rights, &dir);
    if (e == WASI_ESUCCESS)
        e = wasi__path_copy(vm, ptr, len, buf);
    if (e != WASI_ESUCCESS)
        return e;
    out->dir = dir->host;
    out->slash = strip_slashes(buf->s);
    char *last = strrchr(buf->s, '/');
    const char *base = last ? last + 1 : buf->s;
    if (strcmp(base, "..") == 0 &&
        (e = dotdot_check(w, dir->host, buf->s)) != WASI_ESUCCESS)
        return e;
    if (last == NULL)
        return WASI_ESUCCESS;
    *last = '\0';                       /* buf->s is now the parent */
    e = wasi__open_beneath(w, dir->host, buf->s, O_PATH | O_DIRECTORY, 0,
                           &out->dir);
    if (e != WASI_ESUCCESS) {
        out->dir = -1;
        return e;
    }
    out->owned = true;
    out->name = base;
    return WASI_ESUCCESS;
}

/* An O_PATH fd for the object a path names (the symlink itself unless
 * following): what stat, utimes and a following link act on. */
uint32_t wasi__object_open(struct awsm_vmctx *vm, uint32_t fd,
                           uint64_t rights, uint32_t flags, uint32_t path,
                           uint32_t path_len, int *out)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    struct wasi_fd *dir;
    struct wasi_path p;
    uint32_t e = wasi__dir_get(w, fd, rights, &dir);
    if (e == WASI_ESUCCESS && (flags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW))
        e = WASI_EINVAL;
    if (e == WASI_ESUCCESS)
        e = wasi__path_copy(vm, path, path_len, &p);
    if (e != WASI_ESUCCESS)
        return e;
    int fl = O_PATH | (flags & WASI_LOOKUP_SYMLINK_FOLLOW ? 0 : O_NOFOLLOW);
    return wasi__open_beneath(w, dir->host, p.s, fl, 0, out);
}

void wasi__leaf_close(struct wasi_ctx *w, struct wasi_leaf *l)
{
    if (l->owned)
        wasi__hostfd_close(w, l->dir);
    l->owned = false;
    l->dir = -1;
}
