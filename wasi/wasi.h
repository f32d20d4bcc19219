/*
 * wasi/wasi.h - the public header of the WASI part: wasi_snapshot_preview1
 * for modules run by the runtime. A wasi_ctx holds one guest's view of the
 * world (args, environment, preopened directories, file descriptors, stdio);
 * wasi_resolve binds a module's "wasi_snapshot_preview1" imports to host
 * functions that find their context through vmctx->host.
 *
 *   struct wasi_config cfg = WASI_CONFIG_DEFAULT;
 *   cfg.argc = argc; cfg.argv = argv;
 *   struct wasi_ctx *w;
 *   wasi_ctx_new(&cfg, &w, err, sizeof err);
 *   struct rt_instance_options o = { .host = w };
 *   rt_instance_new(mod, wasi_resolve, w, &o, &inst, &rerr);
 *   ... rt_call(inst, _start) ... a trap of kind AWSM_TRAP_EXIT is proc_exit:
 *   wasi_exit_code(w, &code);
 *
 * Prefix wasi_. Errors are values; nothing here prints or exits.
 * Capability security: the guest reaches only its preopened directories;
 * every path is resolved beneath its directory by the kernel
 * (openat2 RESOLVE_BENEATH), so "..", absolute paths and symlinks cannot
 * leave it. Every guest pointer and length is checked against the guest's
 * linear memory before use.
 */
#ifndef AWSM_WASI_H
#define AWSM_WASI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/runtime.h"

#include <sys/types.h>

struct iovec;
struct pollfd;
struct timespec;

struct wasi_preopen {
    const char *host_path;      /* a directory on the host */
    const char *guest_path;     /* its name for the guest, e.g. "." or "/data" */
};

/* Where a standard stream goes: a host file descriptor, or memory. */
struct wasi_stdio {
    int host_fd;                /* >= 0: this host fd; -1: in memory */
    const uint8_t *input;       /* stdin in memory: the bytes to read, not
                                   copied: they must stay as they are until
                                   wasi_ctx_free */
    size_t input_len;
    size_t capture_limit;       /* stdout/stderr in memory: keep at most
                                   this many bytes, then set truncated */
};

/* How a guest waits, for embedders that run many guests on one thread
 * (awsmrt's user-level threads): `wait` replaces ppoll(2) in poll_oneoff
 * (same arguments; it returns the number of ready fds or, as file_io and
 * libuv do, a negative errno, -EINTR included; it may park the guest and
 * run others until an fd is ready or the timeout passes: NULL is no
 * timeout), `yield`
 * implements sched_yield, and `file_io` does the reads and writes of
 * regular files (fd_read/write/pread/pwrite): preadv/pwritev semantics,
 * an offset of -1 meaning the file position, a negative errno on failure;
 * it may park the guest while another thread does the I/O. The iovecs
 * point into the guest's memory. NULL members: the plain system calls.
 *
 * With a `wait` hook no call blocks the thread on a file either: path_open
 * opens with O_NONBLOCK (a FIFO without a writer, a device...), and reads
 * and writes of what is neither a regular file nor a directory wait
 * through `wait` (one pollfd, no timeout) where they would have blocked;
 * a FIFO opened for writing before it has a reader is retried every
 * WASI_OPEN_RETRY_MS, waiting through `wait` with no fds. The guest sees
 * blocking files unless it asked for FDFLAGS_NONBLOCK itself.
 *
 * A hook may not return: it may end the call with a trap (rt_instance_trap,
 * a siglongjmp), e.g. at the request's deadline. wasi/ holds no
 * allocations and no temporary host fds across one: what a call needs
 * while it waits lives on the stack or in the context (freed with it). */
struct wasi_hooks {
    int (*wait)(void *ud, struct pollfd *fds, int nfds,
                const struct timespec *timeout);
    void (*yield)(void *ud);
    ssize_t (*file_io)(void *ud, int fd, const struct iovec *v, int n,
                       int64_t offset, bool write);
    void *ud;
};

#define WASI_MAX_FDS        4096u   /* guest fds per context at most */

/* A share of host fds for a group of contexts (awsmrt: one per module, so
 * one tenant cannot take the whole process-wide share). The embedder owns
 * it: zero-initialised it is a valid group with no limit; it must outlive
 * every context made with it. Every host fd that counts toward the
 * process-wide limit (wasi_set_process_fd_limit) counts toward the
 * context's group as well; past the group's limit the guest gets ENFILE
 * and wasi_ctx_new fails for a preopen. Safe to share between threads:
 * both members are atomics; change them only through these calls. */
struct wasi_fd_group {
    atomic_uint n;              /* host fds open now */
    atomic_uint limit;          /* 0: none */
};

/* Zero the count and set the limit: before any context uses the group. */
void wasi_fd_group_init(struct wasi_fd_group *g, unsigned limit);
/* At any time; fds already open stay open (the count may then exceed it
 * until they are closed). */
void wasi_fd_group_set_limit(struct wasi_fd_group *g, unsigned limit);
/* How many host fds the group's contexts hold open now. */
unsigned wasi_fd_group_count(const struct wasi_fd_group *g);
#define WASI_OPEN_RETRY_MS  10u     /* a FIFO without a reader, with hooks */

struct wasi_config {
    int argc;
    const char *const *argv;
    int envc;
    const char *const *envp;    /* "KEY=VALUE" strings */
    int npreopens;
    const struct wasi_preopen *preopens;
    struct wasi_stdio stdio[3]; /* stdin, stdout, stderr */
    struct wasi_hooks hooks;    /* zero: block the calling thread */
    unsigned max_fds;           /* guest fds 0 .. max_fds-1 (stdio and
                                   preopens included); past them the guest
                                   gets EMFILE. 0: WASI_MAX_FDS; 3 ..
                                   WASI_MAX_FDS */
    struct wasi_fd_group *fd_group;     /* NULL: none (the process-wide
                                           limit only); not copied */
};

#define WASI_CONFIG_DEFAULT { 0, NULL, 0, NULL, 0, NULL, \
    { { 0, NULL, 0, 0 }, { 1, NULL, 0, 0 }, { 2, NULL, 0, 0 } }, \
    { NULL, NULL, NULL, NULL }, 0, NULL }

struct wasi_ctx;

/* What went wrong creating a context or checking a module's imports. */
enum wasi_error_kind {
    WASI_ERR_NONE,
    WASI_ERR_CONFIG,        /* a count or max_fds out of range */
    WASI_ERR_PREOPEN,       /* a preopened directory cannot be opened */
    WASI_ERR_LIMIT,         /* a preopen over an fd limit: the context's,
                               the module's (wasi_fd_group) or the process's */
    WASI_ERR_IMPORT,        /* an import WASI cannot satisfy */
    WASI_ERR_NOMEM,
};

struct wasi_error {
    enum wasi_error_kind kind;
    char msg[512];          /* "preopen /srv/data: No such file or directory" */
};

/* Create a context: copies the configuration, opens the preopened
 * directories (an error names the one that failed; err may be NULL).
 * Preopens are guest
 * fds 3.. in the order given. A context serves one instance at a time
 * and must outlive the instances that imported from it (their host
 * functions reach it through vmctx->host). */
int wasi_ctx_new(const struct wasi_config *cfg, struct wasi_ctx **out,
                 struct wasi_error *err);
void wasi_ctx_free(struct wasi_ctx *w);

/* Hand the guest one more host file descriptor (a socket to accept on, a
 * pipe...) at the lowest free guest fd, with all the rights its type
 * allows (never at 0-2, even when a stdio slot is closed). When `owned`, the context closes it (on fd_close or
 * wasi_ctx_free); otherwise the caller keeps it open past the context.
 * Returns 0, or -1 when the table is full, host_fd is not open or memory
 * runs out (host_fd then stays the caller's). */
int wasi_ctx_add_fd(struct wasi_ctx *w, int host_fd, bool owned,
                    uint32_t *guest_fd);

/* The process-wide limit on host fds that WASI contexts open, all of
 * them together: preopened directories, path_open, sock_accept and the
 * short-lived fds of path calls (the embedder's own fds, stdio and
 * wasi_ctx_add_fd, are not counted). Past it the guest gets ENFILE (its
 * own limit, max_fds, is EMFILE) and wasi_ctx_new fails for a preopen;
 * the process's other fds are never touched. 0 (the start): no limit.
 * Call it at start-up; it may be changed at any time (fds already open
 * stay). wasi_process_fds: how many are open now (one atomic counter).
 * A context with a wasi_fd_group is held to the group's limit as well. */
void wasi_set_process_fd_limit(unsigned n);
unsigned wasi_process_fds(void);

/* An rt_resolve_fn: binds "wasi_snapshot_preview1" imports (ud is the
 * wasi_ctx); other modules' imports are left unresolved (-1). The host
 * functions find the context through vmctx->host: pass the same wasi_ctx
 * as rt_instance_options.host. The funcrefs it hands out are the
 * process's, the same for every context, and live as long as the
 * process (each importer gets its own copy carrying its vmctx). Safe to
 * call from many threads at once; -1 also when out of memory. */
int wasi_resolve(void *ud, const struct wm_import *im, struct rt_extern *out);

/* Whether wasi_resolve can satisfy every import of m: 0, or -1 with
 * WASI_ERR_IMPORT and a message naming the first import that it cannot (its 0-based position
 * in the import section, module and name) and why: another module than
 * "wasi_snapshot_preview1", no such WASI function, a function type other
 * than the WASI one, or a table, memory or global import (WASI provides
 * functions only). m must be decoded (types and imports); it need not be
 * validated past that. */
int wasi_check_imports(const struct wm_module *m, struct wasi_error *err);

/* After a trap of kind AWSM_TRAP_EXIT: the guest's proc_exit code. */
bool wasi_exit_code(const struct wasi_ctx *w, int *code);

/* What the guest wrote to an in-memory stdout (fd 1) or stderr (fd 2). */
const uint8_t *wasi_captured(const struct wasi_ctx *w, int fd, size_t *len,
                             bool *truncated);

#endif
