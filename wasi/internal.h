/*
 * wasi/internal.h - what the files of wasi/ share: the preview1 ABI
 * (constants and struct layouts of wasi_snapshot_preview1.witx), the
 * context and its file descriptor table, guest-memory access, and the
 * host functions the resolver binds.
 *
 * Naming: the host functions carry the WASI names (wasi_fd_read is the
 * import "fd_read"); helpers shared between files are wasi__<noun>_<verb>.
 * Every host function returns a WASI errno (enum wasi_errno), never a host
 * one, and never touches guest memory it has not checked with wasi__mem.
 */
#ifndef AWSM_WASI_INTERNAL_H
#define AWSM_WASI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "wasi/wasi.h"

/* ===== Limits =========================================================== */

#define WASI_FIRST_PREOPEN  3u      /* after stdin, stdout, stderr */
#define WASI_MAX_IOVS       1024u   /* iovecs used per call (IOV_MAX); the
                                       rest is a short read or write */
#define WASI_MAX_PATH       4096u   /* bytes in a guest path (PATH_MAX) */
#define WASI_SMALL_IOVS     16u     /* iovecs kept on the stack */

/* ===== The ABI: errno =================================================== */

enum wasi_errno {
    WASI_ESUCCESS = 0, WASI_E2BIG = 1, WASI_EACCES = 2, WASI_EADDRINUSE = 3,
    WASI_EADDRNOTAVAIL = 4, WASI_EAFNOSUPPORT = 5, WASI_EAGAIN = 6,
    WASI_EALREADY = 7, WASI_EBADF = 8, WASI_EBADMSG = 9, WASI_EBUSY = 10,
    WASI_ECANCELED = 11, WASI_ECHILD = 12, WASI_ECONNABORTED = 13,
    WASI_ECONNREFUSED = 14, WASI_ECONNRESET = 15, WASI_EDEADLK = 16,
    WASI_EDESTADDRREQ = 17, WASI_EDOM = 18, WASI_EDQUOT = 19,
    WASI_EEXIST = 20, WASI_EFAULT = 21, WASI_EFBIG = 22,
    WASI_EHOSTUNREACH = 23, WASI_EIDRM = 24, WASI_EILSEQ = 25,
    WASI_EINPROGRESS = 26, WASI_EINTR = 27, WASI_EINVAL = 28, WASI_EIO = 29,
    WASI_EISCONN = 30, WASI_EISDIR = 31, WASI_ELOOP = 32, WASI_EMFILE = 33,
    WASI_EMLINK = 34, WASI_EMSGSIZE = 35, WASI_EMULTIHOP = 36,
    WASI_ENAMETOOLONG = 37, WASI_ENETDOWN = 38, WASI_ENETRESET = 39,
    WASI_ENETUNREACH = 40, WASI_ENFILE = 41, WASI_ENOBUFS = 42,
    WASI_ENODEV = 43, WASI_ENOENT = 44, WASI_ENOEXEC = 45, WASI_ENOLCK = 46,
    WASI_ENOLINK = 47, WASI_ENOMEM = 48, WASI_ENOMSG = 49,
    WASI_ENOPROTOOPT = 50, WASI_ENOSPC = 51, WASI_ENOSYS = 52,
    WASI_ENOTCONN = 53, WASI_ENOTDIR = 54, WASI_ENOTEMPTY = 55,
    WASI_ENOTRECOVERABLE = 56, WASI_ENOTSOCK = 57, WASI_ENOTSUP = 58,
    WASI_ENOTTY = 59, WASI_ENXIO = 60, WASI_EOVERFLOW = 61,
    WASI_EOWNERDEAD = 62, WASI_EPERM = 63, WASI_EPIPE = 64, WASI_EPROTO = 65,
    WASI_EPROTONOSUPPORT = 66, WASI_EPROTOTYPE = 67, WASI_ERANGE = 68,
    WASI_EROFS = 69, WASI_ESPIPE = 70, WASI_ESRCH = 71, WASI_ESTALE = 72,
    WASI_ETIMEDOUT = 73, WASI_ETXTBSY = 74, WASI_EXDEV = 75,
    WASI_ENOTCAPABLE = 76,
};

/* ===== The ABI: flags and enumerations ================================== */

enum {
    WASI_CLOCK_REALTIME = 0, WASI_CLOCK_MONOTONIC = 1,
    WASI_CLOCK_PROCESS_CPUTIME = 2, WASI_CLOCK_THREAD_CPUTIME = 3,
};

enum {
    WASI_FILETYPE_UNKNOWN = 0, WASI_FILETYPE_BLOCK_DEVICE = 1,
    WASI_FILETYPE_CHARACTER_DEVICE = 2, WASI_FILETYPE_DIRECTORY = 3,
    WASI_FILETYPE_REGULAR_FILE = 4, WASI_FILETYPE_SOCKET_DGRAM = 5,
    WASI_FILETYPE_SOCKET_STREAM = 6, WASI_FILETYPE_SYMBOLIC_LINK = 7,
};

enum { WASI_WHENCE_SET = 0, WASI_WHENCE_CUR = 1, WASI_WHENCE_END = 2 };

enum {
    WASI_FDFLAG_APPEND = 1, WASI_FDFLAG_DSYNC = 2, WASI_FDFLAG_NONBLOCK = 4,
    WASI_FDFLAG_RSYNC = 8, WASI_FDFLAG_SYNC = 16, WASI_FDFLAG_ALL = 31,
};

enum {
    WASI_OFLAG_CREAT = 1, WASI_OFLAG_DIRECTORY = 2, WASI_OFLAG_EXCL = 4,
    WASI_OFLAG_TRUNC = 8, WASI_OFLAG_ALL = 15,
};

enum { WASI_LOOKUP_SYMLINK_FOLLOW = 1 };

enum {
    WASI_FST_ATIM = 1, WASI_FST_ATIM_NOW = 2, WASI_FST_MTIM = 4,
    WASI_FST_MTIM_NOW = 8, WASI_FST_ALL = 15,
};

enum { WASI_ADVICE_NOREUSE = 5 };       /* advice is 0 (normal) .. 5 */

enum {
    WASI_EVENT_CLOCK = 0, WASI_EVENT_FD_READ = 1, WASI_EVENT_FD_WRITE = 2,
};
enum { WASI_SUBCLOCK_ABSTIME = 1 };
enum { WASI_EVENTRW_HANGUP = 1 };

enum { WASI_RIFLAG_PEEK = 1, WASI_RIFLAG_WAITALL = 2 };
enum { WASI_ROFLAG_TRUNCATED = 1 };
enum { WASI_SDFLAG_RD = 1, WASI_SDFLAG_WR = 2 };
enum { WASI_PREOPEN_DIR = 0 };

/* Rights: bit i of wasi_snapshot_preview1's `rights` flags. */
#define WASI_RIGHT(i) ((uint64_t)1 << (i))
#define WASI_RIGHT_FD_DATASYNC          WASI_RIGHT(0)
#define WASI_RIGHT_FD_READ              WASI_RIGHT(1)
#define WASI_RIGHT_FD_SEEK              WASI_RIGHT(2)
#define WASI_RIGHT_FD_FDSTAT_SET_FLAGS  WASI_RIGHT(3)
#define WASI_RIGHT_FD_SYNC              WASI_RIGHT(4)
#define WASI_RIGHT_FD_TELL              WASI_RIGHT(5)
#define WASI_RIGHT_FD_WRITE             WASI_RIGHT(6)
#define WASI_RIGHT_FD_ADVISE            WASI_RIGHT(7)
#define WASI_RIGHT_FD_ALLOCATE          WASI_RIGHT(8)
#define WASI_RIGHT_PATH_CREATE_DIRECTORY WASI_RIGHT(9)
#define WASI_RIGHT_PATH_CREATE_FILE     WASI_RIGHT(10)
#define WASI_RIGHT_PATH_LINK_SOURCE     WASI_RIGHT(11)
#define WASI_RIGHT_PATH_LINK_TARGET     WASI_RIGHT(12)
#define WASI_RIGHT_PATH_OPEN            WASI_RIGHT(13)
#define WASI_RIGHT_FD_READDIR           WASI_RIGHT(14)
#define WASI_RIGHT_PATH_READLINK        WASI_RIGHT(15)
#define WASI_RIGHT_PATH_RENAME_SOURCE   WASI_RIGHT(16)
#define WASI_RIGHT_PATH_RENAME_TARGET   WASI_RIGHT(17)
#define WASI_RIGHT_PATH_FILESTAT_GET    WASI_RIGHT(18)
#define WASI_RIGHT_PATH_FILESTAT_SET_SIZE WASI_RIGHT(19)
#define WASI_RIGHT_PATH_FILESTAT_SET_TIMES WASI_RIGHT(20)
#define WASI_RIGHT_FD_FILESTAT_GET      WASI_RIGHT(21)
#define WASI_RIGHT_FD_FILESTAT_SET_SIZE WASI_RIGHT(22)
#define WASI_RIGHT_FD_FILESTAT_SET_TIMES WASI_RIGHT(23)
#define WASI_RIGHT_PATH_SYMLINK         WASI_RIGHT(24)
#define WASI_RIGHT_PATH_REMOVE_DIRECTORY WASI_RIGHT(25)
#define WASI_RIGHT_PATH_UNLINK_FILE     WASI_RIGHT(26)
#define WASI_RIGHT_POLL_FD_READWRITE    WASI_RIGHT(27)
#define WASI_RIGHT_SOCK_SHUTDOWN        WASI_RIGHT(28)
#define WASI_RIGHT_SOCK_ACCEPT          WASI_RIGHT(29)
#define WASI_RIGHTS_ALL                 (WASI_RIGHT(30) - 1)

/* The rights that make a host open read or write (path_open). Not
 * FD_DATASYNC: fdatasync needs no write access, and a directory (a
 * preopen's rights) has the right. */
#define WASI_RIGHTS_READING (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR)
#define WASI_RIGHTS_WRITING (WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ALLOCATE | \
    WASI_RIGHT_FD_FILESTAT_SET_SIZE)

/* ===== The ABI: struct layouts (byte offsets, little-endian) ============ */

#define WASI_IOVEC_SIZE         8       /* buf u32 @0, buf_len u32 @4 */
#define WASI_FDSTAT_SIZE        24      /* filetype u8 @0, flags u16 @2,
                                           rights_base u64 @8,
                                           rights_inheriting u64 @16 */
#define WASI_FILESTAT_SIZE      64      /* dev @0, ino @8, filetype u8 @16,
                                           nlink @24, size @32, atim @40,
                                           mtim @48, ctim @56 (u64s) */
#define WASI_PRESTAT_SIZE       8       /* tag u8 @0, name_len u32 @4 */
#define WASI_DIRENT_SIZE        24      /* next u64 @0, ino u64 @8,
                                           namlen u32 @16, type u8 @20 */
#define WASI_SUBSCRIPTION_SIZE  48      /* userdata u64 @0, tag u8 @8;
                                           clock: id u32 @16, timeout u64
                                           @24, precision u64 @32, flags
                                           u16 @40; fd: fd u32 @16 */
#define WASI_EVENT_SIZE         32      /* userdata u64 @0, error u16 @8,
                                           type u8 @10, nbytes u64 @16,
                                           flags u16 @24 */

/* ===== The context ====================================================== */

enum wasi_fd_kind {
    WASI_FD_CLOSED = 0,
    WASI_FD_HOST,               /* a host file descriptor */
    WASI_FD_MEM_IN,             /* stdin from wasi_stdio.input */
    WASI_FD_MEM_OUT,            /* stdout/stderr into a capture */
};

struct wasi_fd {
    enum wasi_fd_kind kind;
    int host;                   /* WASI_FD_HOST: the host fd */
    bool owned;                 /* close host when the slot is released */
    uint8_t filetype;           /* WASI_FILETYPE_* */
    bool fifo;                  /* a host pipe: writes must not raise SIGPIPE */
    bool counted;               /* opened by the context: counts toward the
                                   process-wide limit and the context's
                                   group (wasi__hostfd_take) */
    bool waits;                 /* with hooks: the host fd is O_NONBLOCK on
                                   the context's behalf, and EAGAIN waits
                                   through hooks.wait unless guest_nonblock */
    bool guest_nonblock;        /* waits: the guest asked for NONBLOCK */
    int stream;                 /* WASI_FD_MEM_OUT: 0 stdout, 1 stderr */
    uint64_t rights_base, rights_inheriting;
    char *preopen;              /* a preopened directory's guest name */
};

/* An in-memory stdout or stderr. Output up to WASI_CAPTURE_INLINE bytes
 * stays in the context's own block (inline); more moves to the heap. */
#define WASI_CAPTURE_INLINE 256u

struct wasi_capture {
    uint8_t *buf;               /* NULL, inline_buf, or malloc'd */
    size_t len, cap, limit;
    bool truncated;
    uint8_t *inline_buf;        /* WASI_CAPTURE_INLINE bytes in the context */
};

#define WASI_NFUNCS 46          /* the functions of wasi_snapshot_preview1 */

/* Memory a host call uses while it may wait in a hook (which may not
 * return): kept in the context, grown as needed, freed with it. */
struct wasi_scratch {
    void *p;
    size_t cap;
};

/* The fd slots a context starts with, in its own block. */
#define WASI_INLINE_FDS 16u

/* A context is one allocation (wasi_ctx_new): this struct, then the copies
 * of argv and envp. Only a guest that opens more than WASI_INLINE_FDS
 * files or writes more than WASI_CAPTURE_INLINE bytes to a captured
 * stream makes it allocate more. */
struct wasi_ctx {
    int argc, envc;
    char **argv, **envp;        /* copies in the block, NULL-terminated */
    struct wasi_fd *fds;        /* inline_fds, or malloc'd once grown */
    uint32_t nfds;              /* slots allocated */
    uint32_t max_fds;           /* slots allowed: EMFILE past them */
    struct wasi_fd_group *group;        /* the embedder's, or NULL */
    const uint8_t *input;       /* in-memory stdin: the embedder's bytes */
    size_t input_len, input_pos;
    struct wasi_capture capture[2];     /* stdout, stderr */
    bool exited;
    int exit_code;
    struct wasi_hooks hooks;
    struct wasi_scratch iov_scratch;    /* iovecs past WASI_SMALL_IOVS */
    struct wasi_scratch poll_scratch;   /* poll_oneoff's subscriptions */
    /* Not zeroed at creation: written before they are read. */
    struct wasi_fd inline_fds[WASI_INLINE_FDS];
    uint8_t capture_room[2][WASI_CAPTURE_INLINE];
};

/* ===== Guest memory ===================================================== */

/* The host address of guest bytes [ptr, ptr + len), or NULL when any of
 * them is outside the memory (or there is no memory). Sums in 64 bits:
 * ptr and len come from the guest. */
static inline uint8_t *wasi__mem(struct awsm_vmctx *vm, uint32_t ptr,
                                 uint64_t len)
{
    struct awsm_memory *m = vm->memory;
    if (m == NULL || (uint64_t)ptr + len > m->size)
        return NULL;
    return m->base + ptr;
}

static inline void wasi__put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void wasi__put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void wasi__put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t wasi__get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t wasi__get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline uint64_t wasi__get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Store one u32/u64 result at a guest address: EFAULT when it is outside. */
uint32_t wasi__store_u32(struct awsm_vmctx *vm, uint32_t ptr, uint32_t v);
uint32_t wasi__store_u64(struct awsm_vmctx *vm, uint32_t ptr, uint64_t v);

/* A guest iovec array as host iovecs pointing into guest memory: up to
 * WASI_SMALL_IOVS in `small`, more in the context's iov_scratch. Nothing
 * to free; valid until the next call that gets iovecs. */
struct wasi_iovs {
    struct iovec *v;
    int n;
    size_t total;
    struct iovec small[WASI_SMALL_IOVS];
};

uint32_t wasi__iovs_get(struct awsm_vmctx *vm, uint32_t ptr, uint32_t n,
                        struct wasi_iovs *out);
/* At least `size` bytes of s (old contents lost), NULL when out of memory. */
void *wasi__scratch_get(struct wasi_scratch *s, size_t size);

/* ===== The context and its fds (ctx.c) ================================== */

static inline struct wasi_ctx *wasi__ctx(struct awsm_vmctx *vm)
{
    return vm->host;
}

/* The open fd `fd` having all of `rights`: EBADF, ENOTCAPABLE. */
uint32_t wasi__fd_get(struct wasi_ctx *w, uint32_t fd, uint64_t rights,
                      struct wasi_fd **out);
/* A host fd in the lowest free slot, with every right its type allows;
 * on failure the caller still owns host. */
uint32_t wasi__fd_add_host(struct wasi_ctx *w, int host, bool owned,
                           uint32_t *fd);
/* Close a slot (and its host fd, when owned). */
void wasi__fd_release(struct wasi_ctx *w, uint32_t fd);
/* Fill f's filetype and fifo from fstat of its host fd. */
int wasi__fd_classify(struct wasi_fd *f);
/* The rights a new fd of this filetype gets at most. */
uint64_t wasi__rights_for(uint8_t filetype);
/* Whether a new fd could get a slot: EMFILE (the context's limit), ENOMEM.
 * Checked before opening, so the limit never costs a host open. */
uint32_t wasi__fd_room(struct wasi_ctx *w);
/* After a host fd the context opened itself is in slot fd (on guest
 * request, with `fdflags`): count it, and with hooks make it wait (see
 * struct wasi_fd: O_NONBLOCK for what may block, cleared for regular
 * files and directories unless the guest asked for it). */
void wasi__fd_opened(struct wasi_ctx *w, uint32_t fd, bool nonblock);

/* ===== Host fds: the group's and the process-wide limit (ctx.c) ========= */

/* Count one host fd that w is about to open, against w's group (if any)
 * and the process: ENFILE past either limit, and then nothing stays
 * counted. Every take is matched by exactly one give or close. */
uint32_t wasi__hostfd_take(struct wasi_ctx *w);
/* Uncount one: its open failed, or it is closed. */
void wasi__hostfd_give(struct wasi_ctx *w);
/* close(2) a host fd w counted and uncount it. */
void wasi__hostfd_close(struct wasi_ctx *w, int fd);

/* ===== Waiting through the hooks (fd.c) ================================= */

/* Whether EAGAIN on f is to wait (with hooks, the guest's view blocking). */
static inline bool wasi__fd_waits(const struct wasi_fd *f)
{
    return f->waits && !f->guest_nonblock;
}

/* Wait through hooks.wait until f is ready for `events` (POLLIN,
 * POLLOUT). The hook enforces the embedder's deadline (it may not
 * return). 0, or -1 with errno. */
int wasi__fd_wait(struct wasi_ctx *w, const struct wasi_fd *f, short events);

/* ===== Errors (errno.c) ================================================= */

/* The WASI errno for a host errno (a table; EIO for the unknown). */
uint32_t wasi__errno_from(int host_errno);
/* The same for the current errno. */
uint32_t wasi__errno(void);

/* ===== Paths beneath a directory (lookup.c) ============================= */

struct wasi_path {
    char s[WASI_MAX_PATH + 1];
};

/* Copy a guest path: EFAULT, ENOENT (empty), EINVAL (NUL inside),
 * ENAMETOOLONG, ENOTCAPABLE (absolute). */
uint32_t wasi__path_copy(struct awsm_vmctx *vm, uint32_t ptr, uint32_t len,
                         struct wasi_path *out);
/* openat2(dirfd, path, flags | O_CLOEXEC, mode) with RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS; an escape is ENOTCAPABLE. *out: the new fd,
 * counted against w (close it with wasi__hostfd_close); ENFILE past the
 * group's or the process's limit, and when the host process runs out of
 * fds (the guest's EMFILE is its own limit). */
uint32_t wasi__open_beneath(struct wasi_ctx *w, int dirfd, const char *path,
                            int flags, unsigned mode, int *out);
/* Guest fd `fd` as a directory: EBADF, ENOTDIR, ENOTCAPABLE when it
 * lacks `rights`. */
uint32_t wasi__dir_get(struct wasi_ctx *w, uint32_t fd, uint64_t rights,
                       struct wasi_fd **dir);

/* The last component of a path and the directory holding it, opened
 * beneath the guest's directory fd. name never contains '/'; slash tells
 * whether the guest path ended in one. */
struct wasi_leaf {
    int dir;                    /* host fd of the parent directory */
    bool owned;                 /* dir was opened here (counted against
                                   the context): close it */
    const char *name;           /* inside the wasi_path */
    bool slash;
};

uint32_t wasi__leaf_open(struct wasi_ctx *w, struct awsm_vmctx *vm,
                         uint32_t fd, uint64_t rights, uint32_t ptr,
                         uint32_t len, struct wasi_path *buf,
                         struct wasi_leaf *out);
/* After wasi__leaf_open (whatever it returned), with the same context. */
void wasi__leaf_close(struct wasi_ctx *w, struct wasi_leaf *l);

/* An O_PATH fd for what a path names, opened beneath guest dir fd `fd`;
 * lookupflags without SYMLINK_FOLLOW: the symlink itself. Counted against
 * the vmctx's context: close it with wasi__hostfd_close. */
uint32_t wasi__object_open(struct awsm_vmctx *vm, uint32_t fd,
                           uint64_t rights, uint32_t lookupflags,
                           uint32_t path, uint32_t path_len, int *out);

/* ===== stat conversions (fdstat.c) ====================================== */

struct stat;
uint8_t wasi__filetype(unsigned st_mode);
void wasi__filestat_put(uint8_t *p, const struct stat *st);
/* fst_flags and two timestamps as utimensat's times: EINVAL. */
uint32_t wasi__times(uint64_t atim, uint64_t mtim, uint32_t fst,
                     struct timespec ts[2]);

/* ===== The host functions (one per import) ============================== */

typedef struct awsm_vmctx wasi_vm;

/* proc.c: args, environment, random, process */
uint32_t wasi_args_get(wasi_vm *vm, uint32_t argv, uint32_t buf);
uint32_t wasi_args_sizes_get(wasi_vm *vm, uint32_t argc, uint32_t size);
uint32_t wasi_environ_get(wasi_vm *vm, uint32_t envp, uint32_t buf);
uint32_t wasi_environ_sizes_get(wasi_vm *vm, uint32_t envc, uint32_t size);
uint32_t wasi_random_get(wasi_vm *vm, uint32_t buf, uint32_t len);
void wasi_proc_exit(wasi_vm *vm, uint32_t code) __attribute__((noreturn));
uint32_t wasi_proc_raise(wasi_vm *vm, uint32_t sig);
uint32_t wasi_sched_yield(wasi_vm *vm);

/* clock.c */
uint32_t wasi_clock_res_get(wasi_vm *vm, uint32_t id, uint32_t res);
uint32_t wasi_clock_time_get(wasi_vm *vm, uint32_t id, uint64_t precision,
                             uint32_t time);
/* The host clock for a WASI clock id; -1 when there is none. */
int wasi__clock_host(uint32_t id);

/* fd.c: reading and writing */
uint32_t wasi_fd_read(wasi_vm *vm, uint32_t fd, uint32_t iovs, uint32_t n,
                      uint32_t nread);
uint32_t wasi_fd_write(wasi_vm *vm, uint32_t fd, uint32_t iovs, uint32_t n,
                       uint32_t nwritten);
uint32_t wasi_fd_pread(wasi_vm *vm, uint32_t fd, uint32_t iovs, uint32_t n,
                       uint64_t offset, uint32_t nread);
uint32_t wasi_fd_pwrite(wasi_vm *vm, uint32_t fd, uint32_t iovs, uint32_t n,
                        uint64_t offset, uint32_t nwritten);
uint32_t wasi_fd_seek(wasi_vm *vm, uint32_t fd, uint64_t offset,
                      uint32_t whence, uint32_t newoffset);
uint32_t wasi_fd_tell(wasi_vm *vm, uint32_t fd, uint32_t offset);
uint32_t wasi_fd_sync(wasi_vm *vm, uint32_t fd);
uint32_t wasi_fd_datasync(wasi_vm *vm, uint32_t fd);
uint32_t wasi_fd_advise(wasi_vm *vm, uint32_t fd, uint64_t offset,
                        uint64_t len, uint32_t advice);
uint32_t wasi_fd_allocate(wasi_vm *vm, uint32_t fd, uint64_t offset,
                          uint64_t len);

/* fdstat.c: descriptors and their metadata */
uint32_t wasi_fd_close(wasi_vm *vm, uint32_t fd);
uint32_t wasi_fd_renumber(wasi_vm *vm, uint32_t fd, uint32_t to);
uint32_t wasi_fd_fdstat_get(wasi_vm *vm, uint32_t fd, uint32_t buf);
uint32_t wasi_fd_fdstat_set_flags(wasi_vm *vm, uint32_t fd, uint32_t flags);
uint32_t wasi_fd_fdstat_set_rights(wasi_vm *vm, uint32_t fd, uint64_t base,
                                   uint64_t inheriting);
uint32_t wasi_fd_filestat_get(wasi_vm *vm, uint32_t fd, uint32_t buf);
uint32_t wasi_fd_filestat_set_size(wasi_vm *vm, uint32_t fd, uint64_t size);
uint32_t wasi_fd_filestat_set_times(wasi_vm *vm, uint32_t fd, uint64_t atim,
                                    uint64_t mtim, uint32_t fst);
uint32_t wasi_fd_prestat_get(wasi_vm *vm, uint32_t fd, uint32_t buf);
uint32_t wasi_fd_prestat_dir_name(wasi_vm *vm, uint32_t fd, uint32_t path,
                                  uint32_t len);

/* dir.c */
uint32_t wasi_fd_readdir(wasi_vm *vm, uint32_t fd, uint32_t buf,
                         uint32_t len, uint64_t cookie, uint32_t bufused);

/* path.c */
uint32_t wasi_path_open(wasi_vm *vm, uint32_t fd, uint32_t dirflags,
                        uint32_t path, uint32_t path_len, uint32_t oflags,
                        uint64_t base, uint64_t inheriting, uint32_t fdflags,
                        uint32_t out);
uint32_t wasi_path_create_directory(wasi_vm *vm, uint32_t fd, uint32_t path,
                                    uint32_t path_len);
uint32_t wasi_path_remove_directory(wasi_vm *vm, uint32_t fd, uint32_t path,
                                    uint32_t path_len);
uint32_t wasi_path_unlink_file(wasi_vm *vm, uint32_t fd, uint32_t path,
                               uint32_t path_len);
uint32_t wasi_path_filestat_get(wasi_vm *vm, uint32_t fd, uint32_t flags,
                                uint32_t path, uint32_t path_len,
                                uint32_t buf);
uint32_t wasi_path_filestat_set_times(wasi_vm *vm, uint32_t fd,
                                      uint32_t flags, uint32_t path,
                                      uint32_t path_len, uint64_t atim,
                                      uint64_t mtim, uint32_t fst);

/* link.c: names that point at other names */
uint32_t wasi_path_rename(wasi_vm *vm, uint32_t fd, uint32_t old_path,
                          uint32_t old_len, uint32_t new_fd,
                          uint32_t new_path, uint32_t new_len);
uint32_t wasi_path_link(wasi_vm *vm, uint32_t old_fd, uint32_t old_flags,
                        uint32_t old_path, uint32_t old_len, uint32_t new_fd,
                        uint32_t new_path, uint32_t new_len);
uint32_t wasi_path_symlink(wasi_vm *vm, uint32_t old_path, uint32_t old_len,
                           uint32_t fd, uint32_t new_path, uint32_t new_len);
uint32_t wasi_path_readlink(wasi_vm *vm, uint32_t fd, uint32_t path,
                            uint32_t path_len, uint32_t buf, uint32_t buf_len,
                            uint32_t bufused);

/* poll.c */
uint32_t wasi_poll_oneoff(wasi_vm *vm, uint32_t in, uint32_t out,
                          uint32_t nsubs, uint32_t nevents);

/* sock.c */
uint32_t wasi_sock_accept(wasi_vm *vm, uint32_t fd, uint32_t flags,
                          uint32_t out);
uint32_t wasi_sock_recv(wasi_vm *vm, uint32_t fd, uint32_t iovs, uint32_t n,
                        uint32_t riflags, uint32_t datalen, uint32_t roflags);
uint32_t wasi_sock_send(wasi_vm *vm, uint32_t fd, uint32_t iovs, uint32_t n,
                        uint32_t siflags, uint32_t datalen);
uint32_t wasi_sock_shutdown(wasi_vm *vm, uint32_t fd, uint32_t how);

#endif
