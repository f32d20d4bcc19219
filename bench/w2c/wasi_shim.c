/* wasi_shim.c - the smallest WASI host that runs the benchmark programs
 * after wasm2c (wabt 1.0.32) has turned them into C.
 *
 * wasm2c leaves every import to the embedder: an import `wasi_snapshot_preview1.X`
 * becomes a call to Z_wasi_snapshot_preview1Z_X(struct
 * Z_wasi_snapshot_preview1_instance_t *, ...) with wasm values as C integers.
 * This file defines that struct (our WASI state: argv and the module's
 * memory), the dozen functions the programs import, the file-system ones
 * SQLite's and Lua's wasi-libc imports as refusals (no preopened directory, no file
 * but the standard streams: its database is in memory), and main, which
 * instantiates the module and calls its _start.
 *
 * Build: wasm2c -n prog x.wasm -o DIR/prog.c, then
 *   cc -O2 -I DIR -I /usr/share/wabt/wasm2c wasi_shim.c DIR/prog.c \
 *      /usr/share/wabt/wasm2c/wasm-rt-impl.c -lm
 * The module must be named "prog": main calls Z_prog_instantiate and
 * Z_progZ__start. Output goes straight to write(2), so nothing is buffered
 * here when the guest exits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"
#include "wasm-rt-impl.h"

/* wasi_snapshot_preview1 errno values (witx "errno"). */
enum {
    WASI_ESUCCESS = 0,
    WASI_EBADF = 8,
    WASI_EFAULT = 21,
    WASI_EINVAL = 28,
    WASI_EIO = 29,
    WASI_ENOSYS = 52,
    WASI_ESPIPE = 70,
};

/* witx "filetype" and the two rights isatty() looks at. */
enum {
    WASI_FILETYPE_UNKNOWN = 0,
    WASI_FILETYPE_CHARACTER_DEVICE = 2,
    WASI_FILETYPE_DIRECTORY = 3,
    WASI_FILETYPE_REGULAR_FILE = 4,
};
#define WASI_RIGHT_FD_SEEK (1ull << 2)
#define WASI_RIGHT_FD_TELL (1ull << 5)

struct Z_wasi_snapshot_preview1_instance_t {
    wasm_rt_memory_t *memory;
    int argc;
    char **argv;
};

/* Guest memory access, little-endian like wasm; NULL when out of bounds. */
static uint8_t *wasi_mem(struct Z_wasi_snapshot_preview1_instance_t *w,
                         u32 ptr, u64 len)
{
    if ((u64)ptr + len > w->memory->size)
        return NULL;
    return w->memory->data + ptr;
}

static int wasi_store32(struct Z_wasi_snapshot_preview1_instance_t *w, u32 ptr, u32 v)
{
    uint8_t *p = wasi_mem(w, ptr, 4);
    if (p)
        memcpy(p, &v, 4);
    return p != NULL;
}

static int wasi_store64(struct Z_wasi_snapshot_preview1_instance_t *w, u32 ptr, u64 v)
{
    uint8_t *p = wasi_mem(w, ptr, 8);
    if (p)
        memcpy(p, &v, 8);
    return p != NULL;
}

u32 Z_wasi_snapshot_preview1Z_args_sizes_get(struct Z_wasi_snapshot_preview1_instance_t *w,
                                             u32 argc_ptr, u32 size_ptr)
{
    u32 size = 0;
    for (int i = 0; i < w->argc; i++)
        size += (u32)strlen(w->argv[i]) + 1;
    if (!wasi_store32(w, argc_ptr, (u32)w->argc) || !wasi_store32(w, size_ptr, size))
        return WASI_EFAULT;
    return WASI_ESUCCESS;
}

/* argv_ptr receives argc pointers into buf_ptr, which receives the strings. */
u32 Z_wasi_snapshot_preview1Z_args_get(struct Z_wasi_snapshot_preview1_instance_t *w,
                                       u32 argv_ptr, u32 buf_ptr)
{
    for (int i = 0; i < w->argc; i++) {
        u32 n = (u32)strlen(w->argv[i]) + 1;
        uint8_t *dst = wasi_mem(w, buf_ptr, n);
        if (!dst || !wasi_store32(w, argv_ptr + 4 * (u32)i, buf_ptr))
            return WASI_EFAULT;
        memcpy(dst, w->argv[i], n);
        buf_ptr += n;
    }
    return WASI_ESUCCESS;
}

/* The guest sees an empty environment. */
u32 Z_wasi_snapshot_preview1Z_environ_sizes_get(struct Z_wasi_snapshot_preview1_instance_t *w,
                                                u32 count_ptr, u32 size_ptr)
{
    if (!wasi_store32(w, count_ptr, 0) || !wasi_store32(w, size_ptr, 0))
        return WASI_EFAULT;
    return WASI_ESUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_environ_get(struct Z_wasi_snapshot_preview1_instance_t *w,
                                          u32 environ_ptr, u32 buf_ptr)
{
    (void)w, (void)environ_ptr, (void)buf_ptr;
    return WASI_ESUCCESS;
}

/* Clock ids 0..3 (realtime, monotonic, process, thread) map onto POSIX. */
u32 Z_wasi_snapshot_preview1Z_clock_time_get(struct Z_wasi_snapshot_preview1_instance_t *w,
                                             u32 id, u64 precision, u32 time_ptr)
{
    static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC,
                                    CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID};
    struct timespec ts;
    (void)precision;
    if (id >= sizeof ids / sizeof ids[0] || clock_gettime(ids[id], &ts) != 0)
        return WASI_EINVAL;
    if (!wasi_store64(w, time_ptr, (u64)ts.tv_sec * 1000000000u + (u64)ts.tv_nsec))
        return WASI_EFAULT;
    return WASI_ESUCCESS;
}

/* Only stdout and stderr are open. Each iovec is { u32 buf, u32 len }. */
u32 Z_wasi_snapshot_preview1Z_fd_write(struct Z_wasi_snapshot_preview1_instance_t *w,
                                       u32 fd, u32 iovs, u32 iovs_len, u32 nwritten_ptr)
{
    if (fd != 1 && fd != 2)
        return WASI_EBADF;
    u32 total = 0;
    for (u32 i = 0; i < iovs_len; i++) {
        uint8_t *iov = wasi_mem(w, iovs + 8 * i, 8);
        if (!iov)
            return WASI_EFAULT;
        u32 buf, len;
        memcpy(&buf, iov, 4);
        memcpy(&len, iov + 4, 4);
        uint8_t *data = wasi_mem(w, buf, len);
        if (!data)
            return WASI_EFAULT;
        for (u32 done = 0; done < len;) {
            ssize_t n = write((int)fd, data + done, len - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return WASI_EIO;
            done += (u32)n;
        }
        total += len;
    }
    return wasi_store32(w, nwritten_ptr, total) ? WASI_ESUCCESS : WASI_EFAULT;
}

u32 Z_wasi_snapshot_preview1Z_fd_close(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd)
{
    (void)w;
    return fd <= 2 ? WASI_ESUCCESS : WASI_EBADF;
}

/* The standard streams are not seekable as far as the guest knows. */
u32 Z_wasi_snapshot_preview1Z_fd_seek(struct Z_wasi_snapshot_preview1_instance_t *w,
                                      u32 fd, u64 offset, u32 whence, u32 newoffset_ptr)
{
    (void)w, (void)offset, (void)whence, (void)newoffset_ptr;
    return fd <= 2 ? WASI_ESPIPE : WASI_EBADF;
}

/* fdstat: u8 filetype @0, u16 flags @2, u64 rights_base @8,
 * u64 rights_inheriting @16; 24 bytes. A terminal gets no seek/tell
 * rights, which is how wasi-libc's isatty() recognises it. */
u32 Z_wasi_snapshot_preview1Z_fd_fdstat_get(struct Z_wasi_snapshot_preview1_instance_t *w,
                                            u32 fd, u32 stat_ptr)
{
    struct stat st;
    if (fd > 2 || fstat((int)fd, &st) != 0)
        return WASI_EBADF;
    uint8_t *p = wasi_mem(w, stat_ptr, 24);
    if (!p)
        return WASI_EFAULT;
    u64 rights = ~0ull;
    uint8_t type = WASI_FILETYPE_UNKNOWN;
    if (S_ISCHR(st.st_mode)) {
        type = WASI_FILETYPE_CHARACTER_DEVICE;
        rights &= ~(WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL);
    } else if (S_ISREG(st.st_mode)) {
        type = WASI_FILETYPE_REGULAR_FILE;
    } else if (S_ISDIR(st.st_mode)) {
        type = WASI_FILETYPE_DIRECTORY;
    }
    memset(p, 0, 24);
    p[0] = type;
    memcpy(p + 8, &rights, 8);
    memcpy(p + 16, &rights, 8);
    return WASI_ESUCCESS;
}

/* No preopened directory (wasi-libc asks fd 3 first and stops at EBADF),
 * and no file but the standard streams, whose flags do not change. */
u32 Z_wasi_snapshot_preview1Z_fd_prestat_get(struct Z_wasi_snapshot_preview1_instance_t *w,
                                             u32 fd, u32 ptr)
{
    (void)w, (void)fd, (void)ptr;
    return WASI_EBADF;
}

u32 Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(struct Z_wasi_snapshot_preview1_instance_t *w,
                                                  u32 fd, u32 ptr, u32 len)
{
    (void)w, (void)fd, (void)ptr, (void)len;
    return WASI_EBADF;
}

/* What only files have: refused (there is none). */
#define NO_FILE(name, ...)                                                    \
    u32 Z_wasi_snapshot_preview1Z_##name(struct Z_wasi_snapshot_preview1_instance_t *w, \
                                         __VA_ARGS__)                        \
    {                                                                         \
        (void)w;                                                              \
        return WASI_ENOSYS;                                                   \
    }
NO_FILE(fd_read, u32 fd, u32 iovs, u32 n, u32 nread)
NO_FILE(fd_sync, u32 fd)
NO_FILE(fd_renumber, u32 fd, u32 to)
NO_FILE(fd_fdstat_set_flags, u32 fd, u32 flags)
NO_FILE(fd_filestat_get, u32 fd, u32 ptr)
NO_FILE(fd_filestat_set_size, u32 fd, u64 size)
NO_FILE(path_open, u32 fd, u32 dirflags, u32 path, u32 len, u32 oflags, u64 base,
        u64 inheriting, u32 fdflags, u32 fd_ptr)
NO_FILE(path_create_directory, u32 fd, u32 path, u32 len)
NO_FILE(path_filestat_get, u32 fd, u32 flags, u32 path, u32 len, u32 ptr)
NO_FILE(path_filestat_set_times, u32 fd, u32 flags, u32 path, u32 len, u64 atim,
        u64 mtim, u32 fst)
NO_FILE(path_readlink, u32 fd, u32 path, u32 len, u32 buf, u32 buflen, u32 used)
NO_FILE(path_remove_directory, u32 fd, u32 path, u32 len)
NO_FILE(path_unlink_file, u32 fd, u32 path, u32 len)
NO_FILE(poll_oneoff, u32 in, u32 out, u32 n, u32 nevents)

/* Nothing of ours is buffered (fd_write goes straight to write(2)), so the
 * guest's exit status can end the process here. */
void Z_wasi_snapshot_preview1Z_proc_exit(struct Z_wasi_snapshot_preview1_instance_t *w, u32 code)
{
    (void)w;
    exit((int)code);
}

int main(int argc, char **argv)
{
    struct Z_wasi_snapshot_preview1_instance_t wasi = {.argc = argc, .argv = argv};
    Z_prog_instance_t prog;

    wasm_rt_init();
    Z_prog_init_module();
    Z_prog_instantiate(&prog, &wasi);
    wasi.memory = Z_progZ_memory(&prog);

    wasm_rt_trap_t trap = wasm_rt_impl_try();
    if (trap != WASM_RT_TRAP_NONE) {
        fprintf(stderr, "%s: wasm trap: %s\n", argv[0], wasm_rt_strerror(trap));
        return 128 + 6;
    }
    Z_progZ__start(&prog);

    Z_prog_free(&prog);
    wasm_rt_free();
    return 0;
}
