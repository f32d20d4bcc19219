/*
 * wasi/ctx.c - the WASI context: a copy of the configuration (arguments,
 * environment; an in-memory stdin is the embedder's, read in place), the
 * captures of in-memory stdout and stderr, and the guest's file
 * descriptor table, all in one allocation until the guest needs more.
 *
 * The table maps guest fds to host fds. Slots 0-2 are stdio (host fds the
 * embedder owns, or memory), slots 3.. the preopened directories in the
 * configured order (even when a stdio slot is closed), then whatever the
 * guest opens (lowest free slot first, as POSIX does; the embedder's
 * wasi_ctx_add_fd fds never take a stdio slot either). A slot owns its host fd unless it is one of the
 * embedder's (stdio, wasi_ctx_add_fd without `owned`).
 *
 * Three limits on fds: the context's (max_fds slots: EMFILE), its
 * group's (the embedder's wasi_fd_group, e.g. one per module: ENFILE) and
 * the process's, on host fds opened by all contexts together (ENFILE):
 * atomic counters, taken before each open and given back at each close.
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/internal.h"

/* ===== Rights by file type ============================================== */

#define RIGHTS_SOCKET (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_WRITE | \
    WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_FILESTAT_GET | \
    WASI_RIGHT_POLL_FD_READWRITE | WASI_RIGHT_SOCK_SHUTDOWN | \
    WASI_RIGHT_SOCK_ACCEPT)

/* What applies to a file's contents, not to names inside a directory. */
#define RIGHTS_FILE (WASI_RIGHTS_ALL & ~(WASI_RIGHT(9) | WASI_RIGHT(10) | \
    WASI_RIGHT(11) | WASI_RIGHT(12) | WASI_RIGHT(13) | WASI_RIGHT(14) | \
    WASI_RIGHT(15) | WASI_RIGHT(16) | WASI_RIGHT(17) | WASI_RIGHT(18) | \
    WASI_RIGHT(19) | WASI_RIGHT(20) | WASI_RIGHT(24) | WASI_RIGHT(25) | \
    WASI_RIGHT(26) | WASI_RIGHT_SOCK_SHUTDOWN | WASI_RIGHT_SOCK_ACCEPT))

#define RIGHTS_DIR (WASI_RIGHTS_ALL & ~(WASI_RIGHT_FD_READ | \
    WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL | \
    WASI_RIGHT_FD_ALLOCATE | WASI_RIGHT_FD_FILESTAT_SET_SIZE | \
    WASI_RIGHT_SOCK_SHUTDOWN | WASI_RIGHT_SOCK_ACCEPT))

uint64_t wasi__rights_for(uint8_t filetype)
{
    switch (filetype) {
    case WASI_FILETYPE_DIRECTORY:
        return RIGHTS_DIR;
    case WASI_FILETYPE_SOCKET_STREAM:
    case WASI_FILETYPE_SOCKET_DGRAM:
        return RIGHTS_SOCKET;
    default:
        return RIGHTS_FILE;
    }
}

/* ===== The group's and the process-wide limit =========================== */

/* Process state, not guest state: the one count all contexts share. */
static atomic_uint process_fds;
static atomic_uint process_fd_limit;        /* 0: none */

void wasi_set_process_fd_limit(unsigned n)
{
    atomic_store_explicit(&process_fd_limit, n, memory_order_relaxed);
}

unsigned wasi_process_fds(void)
{
    return atomic_load_explicit(&process_fds, memory_order_relaxed);
}

void wasi_fd_group_init(struct wasi_fd_group *g, unsigned limit)
{
    atomic_init(&g->n, 0);
    atomic_init(&g->limit, limit);
}

void wasi_fd_group_set_limit(struct wasi_fd_group *g, unsigned limit)
{
    atomic_store_explicit(&g->limit, limit, memory_order_relaxed);
}

unsigned wasi_fd_group_count(const struct wasi_fd_group *g)
{
    return atomic_load_explicit(&g->n, memory_order_relaxed);
}

/* One more on counter n unless that passes limit (0: none). Each taker
 * sees its own count, so the limit is never passed; a racing taker may
 * fail while another backs off, which errs on the safe side. */
static bool count_take(atomic_uint *n, atomic_uint *limit)
{
    unsigned was = atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
    unsigned max = atomic_load_explicit(limit, memory_order_relaxed);
    if (max != 0 && was >= max) {
        atomic_fetch_sub_explicit(n, 1, memory_order_relaxed);
        return false;
    }
    return true;
}

static bool group_take(struct wasi_fd_group *g)
{
    return g == NULL || count_take(&g->n, &g->limit);
}

static void group_give(struct wasi_fd_group *g)
{
    if (g != NULL)
        atomic_fetch_sub_explicit(&g->n, 1, memory_order_relaxed);
}

/* Which limit a take hit (a preopen's error names it). */
enum fd_limit { LIMIT_NONE, LIMIT_GROUP, LIMIT_PROCESS };

/* The group first: a context at its group's limit never holds, even for
 * a moment, a share of the process's that another group's open needs. */
static enum fd_limit hostfd_take(struct wasi_ctx *w)
{
    if (!group_take(w->group))
        return LIMIT_GROUP;
    if (!count_take(&process_fds, &process_fd_limit)) {
        group_give(w->group);
        return LIMIT_PROCESS;
    }
    return LIMIT_NONE;
}

uint32_t wasi__hostfd_take(struct wasi_ctx *w)
{
    return hostfd_take(w) == LIMIT_NONE ? WASI_ESUCCESS : WASI_ENFILE;
}

void wasi__hostfd_give(struct wasi_ctx *w)
{
    atomic_fetch_sub_explicit(&process_fds, 1, memory_order_relaxed);
    group_give(w->group);
}

void wasi__hostfd_close(struct wasi_ctx *w, int fd)
{
    close(fd);
    wasi__hostfd_give(w);
}

/* ===== The fd table ===================================================== */

uint32_t wasi__fd_get(struct wasi_ctx *w, uint32_t fd, uint64_t rights,
                      struct wasi_fd **out)
{
    if (fd >= w->nfds || w->fds[fd].kind == WASI_FD_CLOSED)
        return WASI_EBADF;
    if ((w->fds[fd].rights_base & rights) != rights)
        return WASI_ENOTCAPABLE;
    *out = &w->fds[fd];
    return WASI_ESUCCESS;
}

static int table_grow(struct wasi_ctx *w)
{
    uint32_t n = w->nfds ? w->nfds * 2 : 16;
    if (n > w->max_fds)
        n = w->max_fds;
    if (n <= w->nfds)
        return -1;
    struct wasi_fd *fds;
    if (w->fds == NULL && n <= WASI_INLINE_FDS) {
        fds = w->inline_fds;
    } else {
        fds = w->fds == w->inline_fds ? malloc(n * sizeof *fds)
                                      : realloc(w->fds, n * sizeof *fds);
        if (fds == NULL)
            return -1;
        if (w->fds == w->inline_fds)
            memcpy(fds, w->inline_fds, w->nfds * sizeof *fds);
    }
    memset(fds + w->nfds, 0, (n - w->nfds) * sizeof *fds);
    w->fds = fds;
    w->nfds = n;
    return 0;
}

/* The lowest free slot from `min` on. */
static uint32_t fd_alloc_from(struct wasi_ctx *w, uint32_t min, uint32_t *fd)
{
    uint32_t i = min;
    while (i < w->nfds && w->fds[i].kind != WASI_FD_CLOSED)
        i++;
    while (i >= w->nfds)
        if (table_grow(w) != 0)
            return w->nfds >= w->max_fds ? WASI_EMFILE : WASI_ENOMEM;
    w->fds[i] = (struct wasi_fd){.kind = WASI_FD_CLOSED, .host = -1};
    *fd = i;
    return WASI_ESUCCESS;
}

uint32_t wasi__fd_room(struct wasi_ctx *w)
{
    uint32_t fd;
    return fd_alloc_from(w, 0, &fd);
}

void wasi__fd_release(struct wasi_ctx *w, uint32_t fd)
{
    struct wasi_fd *f = &w->fds[fd];
    if (f->kind == WASI_FD_HOST && f->counted)
        wasi__hostfd_close(w, f->host);
    else if (f->kind == WASI_FD_HOST && f->owned)
        close(f->host);
    free(f->preopen);
    *f = (struct wasi_fd){.kind = WASI_FD_CLOSED, .host = -1};
}

int wasi__fd_classify(struct wasi_fd *f)
{
    struct stat st;
    if (fstat(f->host, &st) != 0)
        return -1;
    f->filetype = wasi__filetype(st.st_mode);
    f->fifo = S_ISFIFO(st.st_mode);
    int type;
    socklen_t len = sizeof type;
    if (S_ISSOCK(st.st_mode) &&
        getsockopt(f->host, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
        type == SOCK_DGRAM)
        f->filetype = WASI_FILETYPE_SOCKET_DGRAM;
    return 0;
}

/* A terminal cannot seek: without those rights wasi-libc's isatty() says
 * yes, and stdout to a terminal is line-buffered as at home. */
static uint64_t host_rights(const struct wasi_fd *f)
{
    uint64_t r = wasi__rights_for(f->filetype);
    if (f->filetype == WASI_FILETYPE_CHARACTER_DEVICE && isatty(f->host))
        r &= ~(WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL);
    return r;
}

static uint32_t fd_add_host_from(struct wasi_ctx *w, uint32_t min, int host,
                                 bool owned, uint32_t *out)
{
    uint32_t fd;
    uint32_t e = fd_alloc_from(w, min, &fd);
    if (e != WASI_ESUCCESS)
        return e;
    struct wasi_fd *f = &w->fds[fd];
    f->host = host;
    if (wasi__fd_classify(f) != 0) {
        f->host = -1;
        return wasi__errno();
    }
    f->kind = WASI_FD_HOST;
    f->owned = owned;
    f->rights_base = host_rights(f);
    f->rights_inheriting = WASI_RIGHTS_ALL;
    *out = fd;
    return WASI_ESUCCESS;
}

uint32_t wasi__fd_add_host(struct wasi_ctx *w, int host, bool owned,
                           uint32_t *out)
{
    return fd_add_host_from(w, 0, host, owned, out);
}

/* Regular files and directories never block: they keep plain blocking
 * fds (file_io does their I/O); anything else waits through the hook. */
void wasi__fd_opened(struct wasi_ctx *w, uint32_t fd, bool guest_nonblock)
{
    struct wasi_fd *f = &w->fds[fd];
    f->counted = true;
    f->waits = w->hooks.wait != NULL &&
               f->filetype != WASI_FILETYPE_REGULAR_FILE &&
               f->filetype != WASI_FILETYPE_DIRECTORY;
    f->guest_nonblock = f->waits && guest_nonblock;
}

/* ===== Creating a context =============================================== */

static void fail(struct wasi_error *err, enum wasi_error_kind kind,
                 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(struct wasi_error *err, enum wasi_error_kind kind,
                 const char *fmt, ...)
{
    if (err == NULL)
        return;
    err->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

/* The bytes a NULL-terminated copy of n strings takes: the pointers, then
 * the strings. */
static size_t strings_size(int n, const char *const *src)
{
    size_t bytes = ((size_t)n + 1) * sizeof(char *);
    for (int i = 0; i < n; i++)
        bytes += strlen(src[i] ? src[i] : "") + 1;
    return bytes;
}

/* That copy, written at `at` (pointer-aligned); returns where it ends. */
static char *strings_copy(int n, const char *const *src, char ***out, char *at)
{
    char **v = (char **)at;
    char *p = (char *)(v + n + 1);
    for (int i = 0; i < n; i++) {
        const char *s = src[i] ? src[i] : "";
        size_t len = strlen(s) + 1;
        v[i] = memcpy(p, s, len);
        p += len;
    }
    v[n] = NULL;
    *out = v;
    return p;
}

/* Slot i (0, 1, 2) as the configured stream. A host fd that is not open
 * leaves the slot closed, as it is for a native process. */
static int stdio_open(struct wasi_ctx *w, int i, const struct wasi_stdio *s)
{
    struct wasi_fd *f = &w->fds[i];
    *f = (struct wasi_fd){.kind = WASI_FD_CLOSED, .host = -1};
    if (s->host_fd >= 0) {
        f->host = s->host_fd;
        if (wasi__fd_classify(f) != 0)
            return 0;
        f->kind = WASI_FD_HOST;
        f->rights_base = host_rights(f);
    } else if (i == 0) {
        f->kind = WASI_FD_MEM_IN;
        f->filetype = WASI_FILETYPE_CHARACTER_DEVICE;
        f->rights_base = RIGHTS_FILE;
        w->input = s->input;
        w->input_len = s->input_len;
    } else {
        f->kind = WASI_FD_MEM_OUT;
        f->filetype = WASI_FILETYPE_CHARACTER_DEVICE;
        f->rights_base = RIGHTS_FILE;
        f->stream = i - 1;
        w->capture[i - 1].limit = s->capture_limit;
        w->capture[i - 1].inline_buf = w->capture_room[i - 1];
    }
    f->rights_inheriting = WASI_RIGHTS_ALL;
    return 0;
}

static int preopen_fail(struct wasi_ctx *w, const struct wasi_preopen *p,
                        uint32_t e, enum fd_limit which,
                        struct wasi_error *err)
{
    if (which == LIMIT_GROUP)
        fail(err, WASI_ERR_LIMIT, "preopen %s: too many open files for this module: "
             "limit %u", p->host_path,
             atomic_load_explicit(&w->group->limit, memory_order_relaxed));
    else if (which == LIMIT_PROCESS)
        fail(err, WASI_ERR_LIMIT, "preopen %s: too many open files in the process: "
             "limit %u", p->host_path,
             atomic_load_explicit(&process_fd_limit, memory_order_relaxed));
    else if (e == WASI_EMFILE)
        fail(err, WASI_ERR_LIMIT, "preopen %s: too many open files in the context: "
             "limit %u", p->host_path, w->max_fds);
    else
        fail(err, WASI_ERR_PREOPEN, "preopen %s: cannot add it (WASI errno %u)",
             p->host_path, e);
    return -1;
}

static int preopen_open(struct wasi_ctx *w, const struct wasi_preopen *p,
                        struct wasi_error *err)
{
    uint32_t fd;
    uint32_t e = fd_alloc_from(w, WASI_FIRST_PREOPEN, &fd);
    if (e != WASI_ESUCCESS)
        return preopen_fail(w, p, e, LIMIT_NONE, err);
    enum fd_limit which = hostfd_take(w);
    if (which != LIMIT_NONE)
        return preopen_fail(w, p, WASI_ENFILE, which, err);
    int host = open(p->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (host < 0) {
        fail(err, WASI_ERR_PREOPEN, "preopen %s: %s", p->host_path, strerror(errno));
        wasi__hostfd_give(w);
        return -1;
    }
    e = fd_add_host_from(w, WASI_FIRST_PREOPEN, host, true, &fd);
    if (e != WASI_ESUCCESS) {
        wasi__hostfd_close(w, host);
        return preopen_fail(w, p, e, LIMIT_NONE, err);
    }
    wasi__fd_opened(w, fd, false);
    w->fds[fd].preopen = strdup(p->guest_path ? p->guest_path : ".");
    if (w->fds[fd].preopen == NULL) {
        fail(err, WASI_ERR_NOMEM, "out of memory");
        return -1;
    }
    return 0;
}

static int config_copy(struct wasi_ctx *w, const struct wasi_config *cfg,
                       struct wasi_error *err)
{
    w->argc = cfg->argc;
    w->hooks = cfg->hooks;
    w->max_fds = cfg->max_fds ? cfg->max_fds : WASI_MAX_FDS;
    w->group = cfg->fd_group;
    w->envc = cfg->envc;
    char *at = (char *)(w + 1);
    at = strings_copy(cfg->argc, cfg->argv, &w->argv, at);
    at = (char *)(((uintptr_t)at + sizeof(char *) - 1) & ~(uintptr_t)(sizeof(char *) - 1));
    strings_copy(cfg->envc, cfg->envp, &w->envp, at);
    if (table_grow(w) != 0) {
        fail(err, WASI_ERR_NOMEM, "out of memory");
        return -1;
    }
    for (int i = 0; i < 3; i++)
        if (stdio_open(w, i, &cfg->stdio[i]) != 0) {
            fail(err, WASI_ERR_NOMEM, "out of memory");
            return -1;
        }
    return 0;
}

int wasi_ctx_new(const struct wasi_config *cfg, struct wasi_ctx **out,
                 struct wasi_error *err)
{
    *out = NULL;
    if (cfg->argc < 0 || cfg->envc < 0 || cfg->npreopens < 0) {
        fail(err, WASI_ERR_CONFIG, "negative count in the WASI configuration");
        return -1;
    }
    if (cfg->max_fds != 0 && (cfg->max_fds < 3 || cfg->max_fds > WASI_MAX_FDS)) {
        fail(err, WASI_ERR_CONFIG, "max_fds %u is out of range: 3 to %u (stdio takes "
             "3)", cfg->max_fds, WASI_MAX_FDS);
        return -1;
    }
    size_t argv_bytes = strings_size(cfg->argc, cfg->argv);
    size_t size = sizeof(struct wasi_ctx) + argv_bytes + sizeof(char *) +
                  strings_size(cfg->envc, cfg->envp);
    struct wasi_ctx *w = malloc(size);
    if (w != NULL)
        memset(w, 0, offsetof(struct wasi_ctx, inline_fds));
    if (w == NULL) {
        fail(err, WASI_ERR_NOMEM, "out of memory");
        return -1;
    }
    int rc = config_copy(w, cfg, err);
    for (int i = 0; rc == 0 && i < cfg->npreopens; i++)
        rc = preopen_open(w, &cfg->preopens[i], err);
    if (rc != 0) {
        wasi_ctx_free(w);
        return -1;
    }
    *out = w;
    return 0;
}

void wasi_ctx_free(struct wasi_ctx *w)
{
    if (w == NULL)
        return;
    for (uint32_t i = 0; i < w->nfds; i++)
        if (w->fds[i].kind != WASI_FD_CLOSED)
            wasi__fd_release(w, i);
    if (w->fds != w->inline_fds)
        free(w->fds);
    for (int i = 0; i < 2; i++)
        if (w->capture[i].buf != w->capture[i].inline_buf)
            free(w->capture[i].buf);
    free(w->iov_scratch.p);
    free(w->poll_scratch.p);
    free(w);
}

/* ===== Queries ========================================================== */

int wasi_ctx_add_fd(struct wasi_ctx *w, int host_fd, bool owned,
                    uint32_t *guest_fd)
{
    if (host_fd < 0)
        return -1;
    uint32_t e = fd_add_host_from(w, WASI_FIRST_PREOPEN, host_fd, owned,
                                  guest_fd);
    return e == WASI_ESUCCESS ? 0 : -1;
}

bool wasi_exit_code(const struct wasi_ctx *w, int *code)
{
    if (!w->exited)
        return false;
    *code = w->exit_code;
    return true;
}

const uint8_t *wasi_captured(const struct wasi_ctx *w, int fd, size_t *len,
                             bool *truncated)
{
    if (fd != 1 && fd != 2) {
        *len = 0;
        *truncated = false;
        return NULL;
    }
    const struct wasi_capture *c = &w->capture[fd - 1];
    *len = c->len;
    *truncated = c->truncated;
    return c->buf;
}
