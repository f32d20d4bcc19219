/*
 * tests/wasi/check.h - the little test framework of the WASI conformance
 * programs (built with clang --target=wasm32-wasi, run by run.sh under
 * `awsm run`), and raw imports for calls that must be made with exact
 * lengths or bad pointers, which wasi-libc's wrappers cannot pass.
 *
 * CHECK(name, cond) prints "ok - name" or "not ok - name" with the line;
 * CHECK_ERR(name, expected, actual) compares WASI errnos and prints both.
 * DONE() prints the tally and returns the program's exit status.
 */
#ifndef AWSM_TESTS_WASI_CHECK_H
#define AWSM_TESTS_WASI_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static int check_failed, check_passed;

static inline void check_report(const char *name, int ok, int line)
{
    if (ok) {
        check_passed++;
        printf("ok - %s\n", name);
    } else {
        check_failed++;
        printf("not ok - %s (line %d)\n", name, line);
    }
}

#define CHECK(name, cond) check_report((name), (cond) ? 1 : 0, __LINE__)

#define CHECK_ERR(name, expected, actual)                                 \
    do {                                                                  \
        int e_ = (int)(expected), a_ = (int)(actual);                     \
        if (e_ != a_)                                                     \
            printf("# %s: expected errno %d, got %d\n", (name), e_, a_);  \
        check_report((name), e_ == a_, __LINE__);                         \
    } while (0)

#define DONE()                                                            \
    (printf("# %d passed, %d failed\n", check_passed, check_failed),      \
     fflush(stdout), check_failed ? 1 : 0)

/* An address past the end of any linear memory a test has. */
#define BAD_PTR 0xfffffff0u

/* ===== Raw imports: every argument as the wasm ABI passes it ============ */

#define RAW(name) \
    __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))

RAW(path_open) int32_t raw_path_open(int32_t fd, int32_t dirflags,
    uint32_t path, uint32_t path_len, int32_t oflags, int64_t base,
    int64_t inheriting, int32_t fdflags, uint32_t out);
RAW(path_create_directory) int32_t raw_path_create_directory(int32_t fd,
    uint32_t path, uint32_t path_len);
RAW(path_remove_directory) int32_t raw_path_remove_directory(int32_t fd,
    uint32_t path, uint32_t path_len);
RAW(path_unlink_file) int32_t raw_path_unlink_file(int32_t fd,
    uint32_t path, uint32_t path_len);
RAW(path_filestat_get) int32_t raw_path_filestat_get(int32_t fd,
    int32_t flags, uint32_t path, uint32_t path_len, uint32_t buf);
RAW(path_filestat_set_times) int32_t raw_path_filestat_set_times(
    int32_t fd, int32_t flags, uint32_t path, uint32_t path_len,
    int64_t atim, int64_t mtim, int32_t fst);
RAW(path_rename) int32_t raw_path_rename(int32_t fd, uint32_t old_path,
    uint32_t old_len, int32_t new_fd, uint32_t new_path, uint32_t new_len);
RAW(path_link) int32_t raw_path_link(int32_t old_fd, int32_t old_flags,
    uint32_t old_path, uint32_t old_len, int32_t new_fd, uint32_t new_path,
    uint32_t new_len);
RAW(path_symlink) int32_t raw_path_symlink(uint32_t old_path,
    uint32_t old_len, int32_t fd, uint32_t new_path, uint32_t new_len);
RAW(path_readlink) int32_t raw_path_readlink(int32_t fd, uint32_t path,
    uint32_t path_len, uint32_t buf, uint32_t buf_len, uint32_t bufused);
RAW(fd_read) int32_t raw_fd_read(int32_t fd, uint32_t iovs, uint32_t n,
    uint32_t nread);
RAW(fd_write) int32_t raw_fd_write(int32_t fd, uint32_t iovs, uint32_t n,
    uint32_t nwritten);
RAW(fd_readdir) int32_t raw_fd_readdir(int32_t fd, uint32_t buf,
    uint32_t len, int64_t cookie, uint32_t bufused);
RAW(args_sizes_get) int32_t raw_args_sizes_get(uint32_t argc, uint32_t size);
RAW(args_get) int32_t raw_args_get(uint32_t argv, uint32_t buf);
RAW(environ_get) int32_t raw_environ_get(uint32_t envp, uint32_t buf);
RAW(clock_time_get) int32_t raw_clock_time_get(int32_t id, int64_t prec,
    uint32_t out);
RAW(random_get) int32_t raw_random_get(uint32_t buf, uint32_t len);
RAW(poll_oneoff) int32_t raw_poll_oneoff(uint32_t in, uint32_t out,
    uint32_t n, uint32_t nevents);
RAW(fd_prestat_dir_name) int32_t raw_fd_prestat_dir_name(int32_t fd,
    uint32_t buf, uint32_t len);
RAW(proc_raise) int32_t raw_proc_raise(int32_t sig);

#define PTR(p) ((uint32_t)(uintptr_t)(p))

/* path_open with a C string, all rights the directory hands on. */
static inline int32_t open_at(int fd, const char *path, int32_t oflags,
                              int64_t base, int32_t lookup, int *out)
{
    uint32_t newfd = 0;
    int32_t e = raw_path_open(fd, lookup, PTR(path), (uint32_t)strlen(path),
                              oflags, base, base, 0, PTR(&newfd));
    *out = (int)newfd;
    return e;
}

#define RIGHTS_RW (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE |        \
    __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL |                       \
    __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE |  \
    __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | __WASI_RIGHTS_FD_READDIR |      \
    __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_ALLOCATE |       \
    __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_FD_SYNC |                     \
    __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_POLL_FD_READWRITE |         \
    __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_FILESTAT_GET)

#define RIGHTS_RO (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |          \
    __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET |               \
    __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_OPEN |                  \
    __WASI_RIGHTS_PATH_FILESTAT_GET)

/* The preopen run.sh gives every program, as guest fd 3. */
#define SANDBOX_FD 3

#endif
