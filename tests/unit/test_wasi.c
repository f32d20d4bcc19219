/*
 * tests/unit/test_wasi.c - the WASI host functions called directly, the
 * way compiled code calls them: a fake vmctx whose memory is a calloc'd
 * 64 KiB, and an rt table whose trap longjmps back into the test. Covers
 * the context's ownership (copies, preopen errors, no fd leaks, host stdio
 * left open), guest-pointer bounds checks at the memory's edge and past
 * 4 GiB, in-memory stdio, proc_exit, sockets from the host (socketpair,
 * listening socket), SIGPIPE, poll_oneoff, escapes, and the resolver
 * (every name, near misses, many threads at once, funcrefs shared by
 * contexts);
 * blocking files (FIFOs) with and without a wait hook, hooks that end the
 * call with a longjmp (nothing leaks), the per-context, per-group and
 * process-wide fd limits, and wasi_check_imports.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wasi/internal.h"
#include "test.h"
#ifdef TEST_ASAN
#include <sanitizer/lsan_interface.h>
#endif

/* ===== A fake instance ================================================== */

#define MEM_SIZE 65536u

static sigjmp_buf trap_jmp;
static uint32_t trap_kind;

__attribute__((noreturn)) static void fake_trap(struct awsm_vmctx *vm,
                                                uint32_t kind)
{
    trap_kind = kind;
    siglongjmp(trap_jmp, 1);
}

static const struct awsm_rt_api fake_rt = {.trap = fake_trap};

struct fx {
    struct awsm_memory mem;
    struct awsm_vmctx *vm;
    struct wasi_ctx *w;
    char dir[64];
};

static int rm_cb(const char *path, const struct stat *st, int flag,
                 struct FTW *ftw)
{
    return remove(path);
}

static void fx_close(struct fx *f)
{
    wasi_ctx_free(f->w);
    free(f->mem.base);
    free(f->vm);
    if (f->dir[0])
        nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    memset(f, 0, sizeof *f);
}

static const char *const test_argv[] = {"prog.wasm", "a b", ""};
static const char *const test_env[] = {"K=V", "EMPTY="};
static const uint8_t test_input[] = "abcdef";

/* Memory, vmctx, a temp dir preopened as /sb (fd 3); stdin "abcdef" in
 * memory, stdout captured up to 5 bytes, stderr to nothing; hooks,
 * max_fds and fd group as given (NULL, 0, NULL: none, the default). */
static int fx_open_in(struct fx *f, const struct wasi_hooks *hooks,
                      unsigned max_fds, struct wasi_fd_group *group)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/awsm_wasi_XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    f->mem.base = calloc(1, MEM_SIZE);
    f->mem.size = MEM_SIZE;
    f->vm = calloc(1, sizeof *f->vm);
    struct wasi_preopen pre = {f->dir, "/sb"};
    struct wasi_config cfg = WASI_CONFIG_DEFAULT;
    cfg.argc = 3;
    cfg.argv = test_argv;
    cfg.envc = 2;
    cfg.envp = test_env;
    cfg.npreopens = 1;
    cfg.preopens = &pre;
    cfg.stdio[0] = (struct wasi_stdio){-1, test_input, 6, 0};
    cfg.stdio[1] = (struct wasi_stdio){-1, NULL, 0, 5};
    cfg.stdio[2] = (struct wasi_stdio){-1, NULL, 0, 0};
    if (hooks != NULL)
        cfg.hooks = *hooks;
    cfg.max_fds = max_fds;
    cfg.fd_group = group;
    struct wasi_error err;
    if (wasi_ctx_new(&cfg, &f->w, &err) != 0)
        return -1;
    f->vm->memory = &f->mem;
    f->vm->mem_base = f->mem.base;
    f->vm->rt = &fake_rt;
    f->vm->host = f->w;
    return 0;
}

static int fx_open_with(struct fx *f, const struct wasi_hooks *hooks,
                        unsigned max_fds)
{
    return fx_open_in(f, hooks, max_fds, NULL);
}

static int fx_open(struct fx *f)
{
    return fx_open_with(f, NULL, 0);
}

/* Guest memory helpers: strings and iovecs at fixed guest addresses. */
static uint32_t put_str(struct fx *f, uint32_t at, const char *s)
{
    memcpy(f->mem.base + at, s, strlen(s) + 1);
    return at;
}

static void put_iov(struct fx *f, uint32_t at, uint32_t buf, uint32_t len)
{
    wasi__put_u32(f->mem.base + at, buf);
    wasi__put_u32(f->mem.base + at + 4, len);
}

static uint32_t get_u32(struct fx *f, uint32_t at)
{
    return wasi__get_u32(f->mem.base + at);
}

/* path_open of a C string at guest 1000, result at guest 60. */
static uint32_t open_path(struct fx *f, uint32_t dirfd, const char *path,
                          uint32_t oflags, uint64_t rights, uint32_t *fd)
{
    put_str(f, 1000, path);
    uint32_t e = wasi_path_open(f->vm, dirfd, WASI_LOOKUP_SYMLINK_FOLLOW,
                                1000, (uint32_t)strlen(path), oflags, rights,
                                rights, 0, 60);
    *fd = get_u32(f, 60);
    return e;
}

static int count_open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

#define RW (WASI_RIGHTS_READING | WASI_RIGHTS_WRITING | WASI_RIGHT_FD_SEEK | \
            WASI_RIGHT_FD_TELL | WASI_RIGHT_FD_FILESTAT_GET)

/* ===== The context ====================================================== */

TEST(ctx_copies_the_configuration)
{
    char arg[] = "mutable", env[] = "A=1";
    const char *argv[] = {arg}, *envp[] = {env};
    struct wasi_config cfg = WASI_CONFIG_DEFAULT;
    cfg.argc = 1;
    cfg.argv = argv;
    cfg.envc = 1;
    cfg.envp = envp;
    struct wasi_ctx *w;
    ASSERT_EQ_INT(0, wasi_ctx_new(&cfg, &w, NULL));
    arg[0] = 'X';
    env[0] = 'B';
    ASSERT_STR_EQ("mutable", w->argv[0]);
    ASSERT_STR_EQ("A=1", w->envp[0]);
    int code;
    ASSERT(!wasi_exit_code(w, &code));
    wasi_ctx_free(w);
}

TEST(ctx_preopen_error_names_the_directory)
{
    struct wasi_preopen pre = {"/nonexistent/awsm-dir", "/x"};
    struct wasi_config cfg = WASI_CONFIG_DEFAULT;
    cfg.npreopens = 1;
    cfg.preopens = &pre;
    struct wasi_ctx *w = (struct wasi_ctx *)1;
    struct wasi_error err = { 0 };
    ASSERT_EQ_INT(-1, wasi_ctx_new(&cfg, &w, &err));
    ASSERT(w == NULL);
    ASSERT_EQ_INT(WASI_ERR_PREOPEN, err.kind);
    ASSERT_STR_CONTAINS(err.msg, "/nonexistent/awsm-dir");
}

TEST(ctx_free_closes_what_it_opened_only)
{
    int before = count_open_fds();
    int p[2];
    ASSERT_EQ_INT(0, pipe(p));
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    struct wasi_ctx *w = f.w;
    /* a host stdio fd, and files the guest leaves open */
    w->fds[1] = (struct wasi_fd){.kind = WASI_FD_HOST, .host = p[1],
                                 .rights_base = WASI_RIGHTS_ALL};
    uint32_t fd;
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%d", i);
        ASSERT_EQ_INT(0, open_path(&f, 3, name, WASI_OFLAG_CREAT, RW, &fd));
    }
    ASSERT(fd >= 40);
    fx_close(&f);
    ASSERT(fcntl(p[1], F_GETFD) >= 0);          /* still the host's */
    close(p[0]);
    close(p[1]);
    ASSERT_EQ_INT(before, count_open_fds());
}

TEST(add_fd_and_table_limit)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    uint32_t fd;
    int dup0 = dup(0);
    ASSERT_EQ_INT(0, wasi_ctx_add_fd(f.w, dup0, true, &fd));
    ASSERT_EQ_INT(4, fd);
    ASSERT_EQ_INT(-1, wasi_ctx_add_fd(f.w, -1, true, &fd));
    ASSERT_EQ_INT(-1, wasi_ctx_add_fd(f.w, 987654, false, &fd));
    uint32_t e = 0;
    for (uint32_t i = 0; i < WASI_MAX_FDS + 1 && e == 0; i++)
        e = wasi_ctx_add_fd(f.w, 0, false, &fd) == 0 ? 0 : 1;
    ASSERT_EQ_INT(1, e);
    ASSERT_EQ_INT(WASI_MAX_FDS - 1, fd);
    fx_close(&f);
}

TEST(preopens_start_at_3_with_stdio_closed)
{
    char dir[] = "/tmp/awsm_wasi_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    struct wasi_preopen pre = {dir, "/d"};
    struct wasi_config cfg = WASI_CONFIG_DEFAULT;
    cfg.npreopens = 1;
    cfg.preopens = &pre;
    cfg.stdio[0].host_fd = 987654;             /* not open: slot 0 closed */
    struct wasi_ctx *w;
    ASSERT_EQ_INT(0, wasi_ctx_new(&cfg, &w, NULL));
    ASSERT_EQ_INT(WASI_FD_CLOSED, w->fds[0].kind);
    ASSERT(w->fds[3].preopen != NULL);
    uint32_t fd;
    ASSERT_EQ_INT(0, wasi_ctx_add_fd(w, 1, false, &fd));
    ASSERT_EQ_INT(4, fd);
    wasi_ctx_free(w);
    rmdir(dir);
}

/* ===== Bounds =========================================================== */

TEST(args_and_environ)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    ASSERT_EQ_INT(0, wasi_args_sizes_get(f.vm, 0, 4));
    ASSERT_EQ_INT(3, get_u32(&f, 0));
    ASSERT_EQ_INT(10 + 4 + 1, get_u32(&f, 4));
    ASSERT_EQ_INT(0, wasi_args_get(f.vm, 100, 200));
    ASSERT_EQ_INT(200, get_u32(&f, 100));
    ASSERT_STR_EQ("prog.wasm", (char *)f.mem.base + get_u32(&f, 100));
    ASSERT_STR_EQ("a b", (char *)f.mem.base + get_u32(&f, 104));
    ASSERT_STR_EQ("", (char *)f.mem.base + get_u32(&f, 108));
    ASSERT_EQ_INT(0, wasi_environ_sizes_get(f.vm, 0, 4));
    ASSERT_EQ_INT(2, get_u32(&f, 0));
    ASSERT_EQ_INT(4 + 7, get_u32(&f, 4));
    ASSERT_EQ_INT(0, wasi_environ_get(f.vm, 100, 200));
    ASSERT_STR_EQ("EMPTY=", (char *)f.mem.base + get_u32(&f, 104));
    /* the strings must fit whole: 15 bytes at the very end do */
    ASSERT_EQ_INT(0, wasi_args_get(f.vm, 100, MEM_SIZE - 15));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_args_get(f.vm, 100, MEM_SIZE - 14));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_args_get(f.vm, MEM_SIZE - 8, 200));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_args_get(f.vm, 0xfffffffcu, 200));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_environ_get(f.vm, 100, 0xfffffff0u));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_args_sizes_get(f.vm, MEM_SIZE - 3, 0));
    ASSERT_EQ_INT(0, wasi_args_sizes_get(f.vm, MEM_SIZE - 4, 0));
    fx_close(&f);
}

TEST(no_memory_is_efault)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    f.vm->memory = NULL;
    ASSERT_EQ_INT(WASI_EFAULT, wasi_args_sizes_get(f.vm, 0, 4));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_random_get(f.vm, 0, 0));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_fd_write(f.vm, 1, 0, 0, 0));
    fx_close(&f);
}

TEST(iovecs_are_checked)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    put_iov(&f, 16, 0xffffff00u, 0x200);       /* wraps past 4 GiB */
    ASSERT_EQ_INT(WASI_EFAULT, wasi_fd_write(f.vm, 1, 16, 1, 0));
    put_iov(&f, 16, MEM_SIZE - 4, 5);           /* one byte past the end */
    ASSERT_EQ_INT(WASI_EFAULT, wasi_fd_write(f.vm, 1, 16, 1, 0));
    put_iov(&f, 16, MEM_SIZE - 4, 4);
    ASSERT_EQ_INT(0, wasi_fd_write(f.vm, 1, 16, 1, 0));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_fd_write(f.vm, 1, MEM_SIZE - 4, 1, 0));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_fd_write(f.vm, 1, 16, 0x20000000u, 0));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_fd_write(f.vm, 1, 16, 1, MEM_SIZE - 2));
    /* more than WASI_MAX_IOVS iovecs: a short write of the first ones */
    for (uint32_t i = 0; i < 1100; i++)
        put_iov(&f, 4096 + 8 * i, 100, 1);
    f.w->capture[0].limit = 1 << 20;
    ASSERT_EQ_INT(0, wasi_fd_write(f.vm, 1, 4096, 1100, 0));
    ASSERT_EQ_INT(WASI_MAX_IOVS, get_u32(&f, 0));
    fx_close(&f);
}

/* ===== In-memory stdio ================================================== */

TEST(stdin_from_memory)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    put_iov(&f, 16, 200, 4);
    ASSERT_EQ_INT(0, wasi_fd_read(f.vm, 0, 16, 1, 0));
    ASSERT_EQ_INT(4, get_u32(&f, 0));
    ASSERT(memcmp(f.mem.base + 200, "abcd", 4) == 0);
    ASSERT_EQ_INT(0, wasi_fd_read(f.vm, 0, 16, 1, 0));
    ASSERT_EQ_INT(2, get_u32(&f, 0));
    ASSERT_EQ_INT(0, wasi_fd_read(f.vm, 0, 16, 1, 0));
    ASSERT_EQ_INT(0, get_u32(&f, 0));           /* end of file */
    ASSERT_EQ_INT(WASI_EBADF, wasi_fd_write(f.vm, 0, 16, 1, 0));
    ASSERT_EQ_INT(WASI_ESPIPE, wasi_fd_seek(f.vm, 0, 0, 0, 0));
    ASSERT_EQ_INT(WASI_ESPIPE, wasi_fd_pread(f.vm, 0, 16, 1, 0, 0));
    fx_close(&f);
}

TEST(stdout_capture_truncates)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    put_str(&f, 200, "hello world");
    put_iov(&f, 16, 200, 11);
    ASSERT_EQ_INT(0, wasi_fd_write(f.vm, 1, 16, 1, 0));
    ASSERT_EQ_INT(11, get_u32(&f, 0));          /* the guest sees it all */
    ASSERT_EQ_INT(0, wasi_fd_write(f.vm, 2, 16, 1, 0));
    size_t len;
    bool trunc;
    const uint8_t *out = wasi_captured(f.w, 1, &len, &trunc);
    ASSERT_EQ_INT(5, len);
    ASSERT(trunc && memcmp(out, "hello", 5) == 0);
    wasi_captured(f.w, 2, &len, &trunc);
    ASSERT(len == 0 && trunc);
    ASSERT(wasi_captured(f.w, 0, &len, &trunc) == NULL && len == 0);
    ASSERT_EQ_INT(WASI_EBADF, wasi_fd_read(f.vm, 1, 16, 1, 0));
    fx_close(&f);
}

/* A context starts with its fd table and its captures in its own block:
 * a guest that goes past them keeps what it had. The whole output is
 * checked byte for byte across the move to the heap and the doublings. */
TEST(fds_and_captures_outgrow_the_block)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    wasi_ctx_free(f.w);
    struct wasi_preopen pre = {f.dir, "/sb"};
    struct wasi_config cfg = WASI_CONFIG_DEFAULT;
    cfg.argc = 3;
    cfg.argv = test_argv;
    cfg.npreopens = 1;
    cfg.preopens = &pre;
    cfg.stdio[1] = (struct wasi_stdio){-1, NULL, 0, 1u << 20};
    cfg.stdio[2] = (struct wasi_stdio){-1, NULL, 0, 1u << 20};
    struct wasi_error err;
    ASSERT_EQ_INT(0, wasi_ctx_new(&cfg, &f.w, &err));
    f.vm->host = f.w;
    char want[6000];
    size_t n = 0;
    for (int i = 0; n + 100 < sizeof want; i++) {
        char chunk[64];
        int len = snprintf(chunk, sizeof chunk, "line %d of the output\n", i);
        memcpy(want + n, chunk, (size_t)len);
        n += (size_t)len;
        put_str(&f, 200, chunk);
        put_iov(&f, 16, 200, (uint32_t)len);
        ASSERT_EQ_INT(0, wasi_fd_write(f.vm, 1, 16, 1, 0));
        ASSERT_EQ_INT(0, wasi_fd_write(f.vm, 2, 16, 1, 0));
    }
    for (int fd = 1; fd <= 2; fd++) {
        size_t len;
        bool trunc;
        const uint8_t *out = wasi_captured(f.w, fd, &len, &trunc);
        ASSERT_EQ_INT(n, len);
        ASSERT(!trunc && memcmp(out, want, n) == 0);
    }
    uint32_t fds[40];
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof name, "g%d", i);
        ASSERT_EQ_INT(0, open_path(&f, 3, name, WASI_OFLAG_CREAT, RW, &fds[i]));
        ASSERT_EQ_INT(4 + i, fds[i]);
        put_str(&f, 200, name);
        put_iov(&f, 16, 200, (uint32_t)strlen(name));
        ASSERT_EQ_INT(0, wasi_fd_write(f.vm, fds[i], 16, 1, 0));
    }
    /* The first files' slots survived the table's moves. */
    for (int i = 0; i < 40; i++) {
        ASSERT_EQ_INT(0, wasi_fd_seek(f.vm, fds[i], 0, WASI_WHENCE_SET, 60));
        put_iov(&f, 16, 300, 16);
        ASSERT_EQ_INT(0, wasi_fd_read(f.vm, fds[i], 16, 1, 0));
        char name[16];
        snprintf(name, sizeof name, "g%d", i);
        ASSERT_EQ_INT(strlen(name), get_u32(&f, 0));
        ASSERT(memcmp(f.mem.base + 300, name, strlen(name)) == 0);
    }
    fx_close(&f);
}

/* ===== Process ========================================================== */

TEST(proc_exit_traps_with_the_code)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    trap_kind = 0;
    if (sigsetjmp(trap_jmp, 0) == 0) {
        wasi_proc_exit(f.vm, 7);
        ASSERT(!"proc_exit returned");
    }
    ASSERT_EQ_INT(AWSM_TRAP_EXIT, trap_kind);
    int code = -1;
    ASSERT(wasi_exit_code(f.w, &code));
    ASSERT_EQ_INT(7, code);
    ASSERT_EQ_INT(WASI_ENOSYS, wasi_proc_raise(f.vm, 9));
    ASSERT_EQ_INT(0, wasi_sched_yield(f.vm));
    fx_close(&f);
}

TEST(clocks_and_random)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    for (uint32_t id = 0; id < 4; id++) {
        ASSERT_EQ_INT(0, wasi_clock_time_get(f.vm, id, 0, 8));
        ASSERT_EQ_INT(0, wasi_clock_res_get(f.vm, id, 8));
    }
    ASSERT_EQ_INT(WASI_EINVAL, wasi_clock_time_get(f.vm, 4, 0, 8));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_clock_time_get(f.vm, 0, 0, MEM_SIZE - 7));
    ASSERT_EQ_INT(0, wasi_random_get(f.vm, 0, MEM_SIZE));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_random_get(f.vm, 1, MEM_SIZE));
    fx_close(&f);
}

/* ===== Descriptors ====================================================== */

TEST(bad_fds_are_ebadf)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    uint32_t bad[] = {4, 99, WASI_MAX_FDS, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t fd = bad[i];
        ASSERT_EQ_INT(WASI_EBADF, wasi_fd_read(f.vm, fd, 16, 0, 0));
        ASSERT_EQ_INT(WASI_EBADF, wasi_fd_write(f.vm, fd, 16, 0, 0));
        ASSERT_EQ_INT(WASI_EBADF, wasi_fd_close(f.vm, fd));
        ASSERT_EQ_INT(WASI_EBADF, wasi_fd_seek(f.vm, fd, 0, 0, 0));
        ASSERT_EQ_INT(WASI_EBADF, wasi_fd_tell(f.vm, fd, 0));
        ASSERT_EQ_INT(WASI_EBADF, wasi_fd_fdstat_get(f.vm, fd, 0));
        ASSERT_EQ_INT(WASI_EBADF, wasi_fd_filestat_get(f.vm, fd, 0));
        ASSERT_EQ_INT(WASI_EBADF, wasi_fd_readdir(f.vm, fd, 0, 0, 0, 0));
        ASSERT_EQ_INT(WASI_EBADF, wasi_fd_prestat_get(f.vm, fd, 0));
        ASSERT_EQ_INT(WASI_EBADF, wasi_fd_renumber(f.vm, fd, 3));
        ASSERT_EQ_INT(WASI_EBADF, wasi_fd_renumber(f.vm, 3, fd));
        ASSERT_EQ_INT(WASI_EBADF, wasi_fd_sync(f.vm, fd));
        ASSERT_EQ_INT(WASI_EBADF, wasi_path_open(f.vm, fd, 0, 0, 1, 0, 0, 0,
                                                 0, 0));
        ASSERT_EQ_INT(WASI_EBADF, wasi_path_create_directory(f.vm, fd, 0, 1));
        ASSERT_EQ_INT(WASI_EBADF, wasi_sock_recv(f.vm, fd, 0, 0, 0, 0, 0));
        ASSERT_EQ_INT(WASI_EBADF, wasi_sock_shutdown(f.vm, fd, 3));
    }
    fx_close(&f);
}

TEST(prestat_and_names)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    ASSERT_EQ_INT(0, wasi_fd_prestat_get(f.vm, 3, 8));
    ASSERT_EQ_INT(0, f.mem.base[8]);
    ASSERT_EQ_INT(3, get_u32(&f, 12));
    ASSERT_EQ_INT(WASI_ENAMETOOLONG, wasi_fd_prestat_dir_name(f.vm, 3, 100, 2));
    ASSERT_EQ_INT(0, wasi_fd_prestat_dir_name(f.vm, 3, 100, 3));
    ASSERT(memcmp(f.mem.base + 100, "/sb", 3) == 0);
    ASSERT_EQ_INT(WASI_EFAULT, wasi_fd_prestat_dir_name(f.vm, 3, MEM_SIZE - 2,
                                                        3));
    ASSERT_EQ_INT(WASI_EBADF, wasi_fd_prestat_get(f.vm, 1, 8));
    fx_close(&f);
}

TEST(files_roundtrip_and_rights)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    uint32_t fd;
    ASSERT_EQ_INT(0, open_path(&f, 3, "x.txt", WASI_OFLAG_CREAT, RW, &fd));
    put_str(&f, 200, "data");
    put_iov(&f, 16, 200, 4);
    ASSERT_EQ_INT(0, wasi_fd_write(f.vm, fd, 16, 1, 0));
    ASSERT_EQ_INT(0, wasi_fd_seek(f.vm, fd, (uint64_t)-2, WASI_WHENCE_CUR, 8));
    ASSERT_EQ_INT(2, wasi__get_u64(f.mem.base + 8));
    put_iov(&f, 16, 300, 10);
    ASSERT_EQ_INT(0, wasi_fd_read(f.vm, fd, 16, 1, 0));
    ASSERT_EQ_INT(2, get_u32(&f, 0));
    ASSERT(memcmp(f.mem.base + 300, "ta", 2) == 0);
    ASSERT_EQ_INT(WASI_EINVAL, wasi_fd_pread(f.vm, fd, 16, 1, 1ull << 63, 0));
    ASSERT_EQ_INT(0, wasi_fd_filestat_get(f.vm, fd, 400));
    ASSERT_EQ_INT(WASI_FILETYPE_REGULAR_FILE, f.mem.base[416]);
    ASSERT_EQ_INT(4, wasi__get_u64(f.mem.base + 432));
    /* rights: the file got no directory rights; dropping is one-way */
    uint32_t other;
    ASSERT_EQ_INT(WASI_ENOTDIR, open_path(&f, fd, "y", 0, RW, &other));
    ASSERT_EQ_INT(0, wasi_fd_fdstat_set_rights(f.vm, fd, WASI_RIGHT_FD_READ,
                                               0));
    ASSERT_EQ_INT(WASI_ENOTCAPABLE, wasi_fd_write(f.vm, fd, 16, 1, 0));
    ASSERT_EQ_INT(WASI_ENOTCAPABLE, wasi_fd_seek(f.vm, fd, 1, 0, 8));
    ASSERT_EQ_INT(WASI_ENOTCAPABLE, wasi_fd_fdstat_set_rights(
                      f.vm, fd, WASI_RIGHT_FD_READ | WASI_RIGHT_FD_WRITE, 0));
    ASSERT_EQ_INT(0, wasi_fd_close(f.vm, fd));
    /* a directory handing on fewer rights */
    uint32_t d;
    ASSERT_EQ_INT(0, wasi_path_create_directory(f.vm, 3, put_str(&f, 500,
                                                "sub"), 3));
    ASSERT_EQ_INT(WASI_EISDIR, open_path(&f, 3, "sub", WASI_OFLAG_DIRECTORY,
                                         WASI_RIGHTS_ALL, &d));
    ASSERT_EQ_INT(0, open_path(&f, 3, "sub", WASI_OFLAG_DIRECTORY,
                               WASI_RIGHTS_ALL & ~WASI_RIGHTS_WRITING, &d));
    ASSERT_EQ_INT(0, wasi_fd_fdstat_set_rights(f.vm, d, WASI_RIGHT_PATH_OPEN |
                                               WASI_RIGHT_PATH_CREATE_FILE,
                                               WASI_RIGHT_FD_READ));
    ASSERT_EQ_INT(WASI_ENOTCAPABLE, open_path(&f, d, "z", WASI_OFLAG_CREAT,
                                              RW, &fd));
    ASSERT_EQ_INT(0, open_path(&f, d, "z", WASI_OFLAG_CREAT,
                               WASI_RIGHT_FD_READ, &fd));
    fx_close(&f);
}

TEST(paths_stay_beneath)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    uint32_t fd;
    ASSERT_EQ_INT(WASI_ENOTCAPABLE, open_path(&f, 3, "../x", 0, RW, &fd));
    ASSERT_EQ_INT(WASI_ENOTCAPABLE, open_path(&f, 3, "/etc/passwd", 0, RW,
                                              &fd));
    char sub[128];
    snprintf(sub, sizeof sub, "%s/a", f.dir);
    ASSERT_EQ_INT(0, mkdir(sub, 0755));
    ASSERT_EQ_INT(WASI_ENOTCAPABLE, open_path(&f, 3, "a/../../x", 0, RW, &fd));
    ASSERT_EQ_INT(WASI_ENOENT, open_path(&f, 3, "a/../x", 0, RW, &fd));
    char link[128];
    snprintf(link, sizeof link, "%s/out", f.dir);
    ASSERT_EQ_INT(0, symlink("/etc", link));
    ASSERT_EQ_INT(WASI_ENOTCAPABLE, open_path(&f, 3, "out/passwd", 0, RW,
                                              &fd));
    uint32_t p = put_str(&f, 500, "../x");
    ASSERT_EQ_INT(WASI_ENOTCAPABLE, wasi_path_create_directory(f.vm, 3, p, 4));
    ASSERT_EQ_INT(WASI_ENOTCAPABLE, wasi_path_unlink_file(f.vm, 3, p, 4));
    ASSERT_EQ_INT(WASI_ENOTCAPABLE, wasi_path_remove_directory(f.vm, 3, p, 4));
    p = put_str(&f, 500, "..");
    ASSERT_EQ_INT(WASI_ENOTCAPABLE, wasi_path_filestat_get(f.vm, 3, 0, p, 2,
                                                           600));
    ASSERT_EQ_INT(WASI_ENOTCAPABLE, wasi_path_symlink(f.vm, put_str(&f, 700,
                  "/etc"), 4, 3, put_str(&f, 800, "l"), 1));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_path_create_directory(f.vm, 3,
                                                          MEM_SIZE - 1, 2));
    ASSERT_EQ_INT(WASI_ENAMETOOLONG, wasi_path_create_directory(
                      f.vm, 3, 0, WASI_MAX_PATH + 1));
    fx_close(&f);
}

/* ===== Sockets and pipes ================================================ */

TEST(socket_send_recv_shutdown)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    int sv[2];
    ASSERT_EQ_INT(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    uint32_t s;
    ASSERT_EQ_INT(0, wasi_ctx_add_fd(f.w, sv[0], true, &s));
    ASSERT_EQ_INT(0, wasi_fd_fdstat_get(f.vm, s, 8));
    ASSERT_EQ_INT(WASI_FILETYPE_SOCKET_STREAM, f.mem.base[8]);
    put_str(&f, 200, "ping");
    put_iov(&f, 16, 200, 4);
    ASSERT_EQ_INT(WASI_EINVAL, wasi_sock_send(f.vm, s, 16, 1, 1, 0));
    ASSERT_EQ_INT(0, wasi_sock_send(f.vm, s, 16, 1, 0, 0));
    ASSERT_EQ_INT(4, get_u32(&f, 0));
    char buf[8] = {0};
    ASSERT_EQ_INT(4, read(sv[1], buf, sizeof buf));
    ASSERT_STR_EQ("ping", buf);
    ASSERT_EQ_INT(5, write(sv[1], "pong!", 5));
    put_iov(&f, 16, 300, 8);
    ASSERT_EQ_INT(WASI_EINVAL, wasi_sock_recv(f.vm, s, 16, 1, 4, 0, 4));
    ASSERT_EQ_INT(0, wasi_sock_recv(f.vm, s, 16, 1, WASI_RIFLAG_PEEK, 0, 4));
    ASSERT_EQ_INT(5, get_u32(&f, 0));
    ASSERT_EQ_INT(0, wasi_sock_recv(f.vm, s, 16, 1, 0, 0, 4));
    ASSERT_EQ_INT(5, get_u32(&f, 0));
    ASSERT_EQ_INT(0, wasi__get_u16(f.mem.base + 4));
    ASSERT(memcmp(f.mem.base + 300, "pong!", 5) == 0);
    ASSERT_EQ_INT(WASI_EINVAL, wasi_sock_shutdown(f.vm, s, 0));
    ASSERT_EQ_INT(WASI_EINVAL, wasi_sock_shutdown(f.vm, s, 4));
    ASSERT_EQ_INT(0, wasi_sock_shutdown(f.vm, s, WASI_SDFLAG_WR));
    ASSERT_EQ_INT(0, read(sv[1], buf, sizeof buf));
    ASSERT_EQ_INT(WASI_ENOTSOCK, wasi_sock_recv(f.vm, 3, 16, 1, 0, 0, 4));
    ASSERT_EQ_INT(WASI_ENOTSOCK, wasi_sock_send(f.vm, 0, 16, 1, 0, 0));
    close(sv[1]);
    fx_close(&f);
}

TEST(socket_accept)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s/sock", f.dir);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_EQ_INT(0, bind(ls, (struct sockaddr *)&addr, sizeof addr));
    ASSERT_EQ_INT(0, listen(ls, 4));
    uint32_t gl, conn;
    ASSERT_EQ_INT(0, wasi_ctx_add_fd(f.w, ls, true, &gl));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_EQ_INT(0, connect(c, (struct sockaddr *)&addr, sizeof addr));
    ASSERT_EQ_INT(WASI_EINVAL, wasi_sock_accept(f.vm, gl, 1, 0));
    ASSERT_EQ_INT(WASI_EFAULT, wasi_sock_accept(f.vm, gl, 0, MEM_SIZE));
    ASSERT_EQ_INT(0, wasi_sock_accept(f.vm, gl, 0, 0));
    conn = get_u32(&f, 0);
    put_str(&f, 200, "hi");
    put_iov(&f, 16, 200, 2);
    ASSERT_EQ_INT(0, wasi_fd_write(f.vm, conn, 16, 1, 0));
    char buf[4] = {0};
    ASSERT_EQ_INT(2, read(c, buf, 2));
    ASSERT_STR_EQ("hi", buf);
    /* nobody else is waiting: a non-blocking listener says so */
    ASSERT_EQ_INT(0, wasi_fd_fdstat_set_flags(f.vm, gl, WASI_FDFLAG_NONBLOCK));
    ASSERT_EQ_INT(WASI_EAGAIN, wasi_sock_accept(f.vm, gl, 0, 0));
    ASSERT_EQ_INT(WASI_EINVAL, wasi_sock_accept(f.vm, conn, 0, 0));
    close(c);
    fx_close(&f);
}

/* A write to a pipe or socket nobody reads is EPIPE, and the process
 * gets no SIGPIPE (it would die of it here). */
TEST(no_sigpipe)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    int p[2], sv[2];
    ASSERT_EQ_INT(0, pipe(p));
    ASSERT_EQ_INT(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    uint32_t gp, gs;
    ASSERT_EQ_INT(0, wasi_ctx_add_fd(f.w, p[1], true, &gp));
    ASSERT_EQ_INT(0, wasi_ctx_add_fd(f.w, sv[0], true, &gs));
    close(p[0]);
    close(sv[1]);
    put_iov(&f, 16, 200, 4);
    ASSERT_EQ_INT(WASI_EPIPE, wasi_fd_write(f.vm, gp, 16, 1, 0));
    ASSERT_EQ_INT(WASI_EPIPE, wasi_fd_write(f.vm, gs, 16, 1, 0));
    ASSERT_EQ_INT(WASI_EPIPE, wasi_sock_send(f.vm, gs, 16, 1, 0, 0));
    sigset_t pending;
    sigpending(&pending);
    ASSERT(!sigismember(&pending, SIGPIPE));
    fx_close(&f);
}

TEST(set_flags_spares_lent_fds)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    int p[2];
    ASSERT_EQ_INT(0, pipe(p));
    uint32_t lent, owned;
    ASSERT_EQ_INT(0, wasi_ctx_add_fd(f.w, p[0], false, &lent));
    ASSERT_EQ_INT(0, wasi_ctx_add_fd(f.w, p[1], true, &owned));
    ASSERT_EQ_INT(WASI_ENOTSUP, wasi_fd_fdstat_set_flags(
                      f.vm, lent, WASI_FDFLAG_NONBLOCK));
    ASSERT_EQ_INT(0, fcntl(p[0], F_GETFL) & O_NONBLOCK);
    ASSERT_EQ_INT(0, wasi_fd_fdstat_set_flags(f.vm, lent, 0));
    ASSERT_EQ_INT(0, wasi_fd_fdstat_set_flags(f.vm, owned,
                                              WASI_FDFLAG_NONBLOCK));
    ASSERT(fcntl(p[1], F_GETFL) & O_NONBLOCK);
    ASSERT_EQ_INT(0, wasi_fd_fdstat_get(f.vm, owned, 8));
    ASSERT_EQ_INT(WASI_FDFLAG_NONBLOCK, wasi__get_u16(f.mem.base + 10));
    fx_close(&f);
    close(p[0]);
}

/* ===== poll_oneoff ====================================================== */

static void put_clock_sub(struct fx *f, uint32_t at, uint64_t ud,
                          uint64_t timeout)
{
    memset(f->mem.base + at, 0, WASI_SUBSCRIPTION_SIZE);
    wasi__put_u64(f->mem.base + at, ud);
    f->mem.base[at + 8] = WASI_EVENT_CLOCK;
    wasi__put_u32(f->mem.base + at + 16, WASI_CLOCK_MONOTONIC);
    wasi__put_u64(f->mem.base + at + 24, timeout);
}

static void put_fd_sub(struct fx *f, uint32_t at, uint64_t ud, uint8_t type,
                       uint32_t fd)
{
    memset(f->mem.base + at, 0, WASI_SUBSCRIPTION_SIZE);
    wasi__put_u64(f->mem.base + at, ud);
    f->mem.base[at + 8] = type;
    wasi__put_u32(f->mem.base + at + 16, fd);
}

TEST(poll_pipe_and_clock)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    int p[2];
    ASSERT_EQ_INT(0, pipe(p));
    uint32_t gp;
    ASSERT_EQ_INT(0, wasi_ctx_add_fd(f.w, p[0], true, &gp));
    put_fd_sub(&f, 1024, 1, WASI_EVENT_FD_READ, gp);
    put_clock_sub(&f, 1024 + 48, 2, 10 * 1000000ull);
    ASSERT_EQ_INT(0, wasi_poll_oneoff(f.vm, 1024, 2048, 2, 0));
    ASSERT_EQ_INT(1, get_u32(&f, 0));
    ASSERT_EQ_INT(2, wasi__get_u64(f.mem.base + 2048));  /* the clock */
    ASSERT_EQ_INT(3, write(p[1], "abc", 3));
    ASSERT_EQ_INT(0, wasi_poll_oneoff(f.vm, 1024, 2048, 2, 0));
    ASSERT_EQ_INT(1, get_u32(&f, 0));
    ASSERT_EQ_INT(1, wasi__get_u64(f.mem.base + 2048));  /* the pipe */
    ASSERT_EQ_INT(WASI_EVENT_FD_READ, f.mem.base[2048 + 10]);
    ASSERT_EQ_INT(3, wasi__get_u64(f.mem.base + 2048 + 16));
    close(p[1]);
    /* stdin in memory is always ready, with what is left */
    put_fd_sub(&f, 1024, 3, WASI_EVENT_FD_READ, 0);
    ASSERT_EQ_INT(0, wasi_poll_oneoff(f.vm, 1024, 2048, 1, 0));
    ASSERT_EQ_INT(6, wasi__get_u64(f.mem.base + 2048 + 16));
    ASSERT_EQ_INT(WASI_EINVAL, wasi_poll_oneoff(f.vm, 1024, 2048, 0, 0));
    fx_close(&f);
}

/* ===== Blocking files and the wait hook ================================= */

/* A fake wait hook: counts its calls, runs `act` first (the other end of
 * a FIFO showing up...), then polls for real with a short timeout, as
 * the server's hook would wait. With `jump`, it ends the call instead,
 * as the server's does at a deadline. */
struct fake_wait {
    int calls, calls_no_fds;
    short events;                       /* of the last pollfd waited on */
    bool jump;
    void (*act)(struct fake_wait *fw);
    const char *fifo;                   /* for act */
    int peer;                           /* the fd act opened */
    size_t drained;
};

static struct fake_wait fake_wait;

static int fake_wait_cb(void *ud, struct pollfd *fds, int nfds,
                        const struct timespec *timeout)
{
    struct fake_wait *fw = ud;
    fw->calls++;
    fw->calls_no_fds += nfds == 0;
    if (nfds > 0)
        fw->events = fds[0].events;
    if (fw->jump) {
        trap_kind = AWSM_TRAP_INTERRUPTED;
        siglongjmp(trap_jmp, 1);
    }
    if (fw->act)
        fw->act(fw);
    struct timespec t = {0, 50 * 1000000L};
    int r = ppoll(fds, (nfds_t)nfds, timeout ? timeout : &t, NULL);
    return r < 0 ? -errno : r;      /* the hook's convention */
}

static const struct wasi_hooks fake_hooks = {fake_wait_cb, NULL, NULL,
                                             &fake_wait};

/* The writer arrives and writes, once. */
static void act_write_hello(struct fake_wait *fw)
{
    if (fw->peer < 0) {
        fw->peer = open(fw->fifo, O_WRONLY | O_NONBLOCK);
        if (fw->peer >= 0 && write(fw->peer, "hello", 5) != 5)
            fw->peer = -2;
    }
}

/* The reader arrives, and takes what is in the pipe each time. */
static void act_drain(struct fake_wait *fw)
{
    char buf[65536];
    ssize_t n;
    if (fw->peer < 0)
        fw->peer = open(fw->fifo, O_RDONLY | O_NONBLOCK);
    while (fw->peer >= 0 && (n = read(fw->peer, buf, sizeof buf)) > 0)
        fw->drained += (size_t)n;
}

static void fake_wait_reset(const char *fifo, void (*act)(struct fake_wait *))
{
    fake_wait = (struct fake_wait){.act = act, .fifo = fifo, .peer = -1};
}

/* path_open with fdflags, rights for reading or writing. */
static uint32_t open_flags_path(struct fx *f, const char *path,
                                uint64_t rights, uint32_t fdflags,
                                uint32_t *fd)
{
    put_str(f, 1000, path);
    uint32_t e = wasi_path_open(f->vm, 3, 0, 1000, (uint32_t)strlen(path),
                                0, rights, rights, fdflags, 60);
    *fd = get_u32(f, 60);
    return e;
}

#define RIGHTS_RD (WASI_RIGHT_FD_READ | WASI_RIGHT_POLL_FD_READWRITE | \
                   WASI_RIGHT_FD_FDSTAT_SET_FLAGS)
#define RIGHTS_WR (WASI_RIGHT_FD_WRITE | WASI_RIGHT_POLL_FD_READWRITE)

static uint16_t fdstat_flags(struct fx *f, uint32_t fd)
{
    if (wasi_fd_fdstat_get(f->vm, fd, 3000) != 0)
        return 0xffff;
    return wasi__get_u16(f->mem.base + 3002);
}

/* A FIFO nobody writes to: a blocking open would wait here for ever (the
 * alarm would kill the test). With the hook it returns; the read waits
 * through the hook, which brings the writer. */
TEST(fifo_read_with_hooks_waits_through_the_hook)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open_with(&f, &fake_hooks, 0));
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/fifo", f.dir);
    ASSERT_EQ_INT(0, mkfifo(fifo, 0600));
    fake_wait_reset(fifo, act_write_hello);
    alarm(10);
    uint32_t fd;
    ASSERT_EQ_INT(0, open_flags_path(&f, "fifo", RIGHTS_RD, 0, &fd));
    ASSERT_EQ_INT(0, fake_wait.calls);          /* open did not wait */
    ASSERT(fcntl(f.w->fds[fd].host, F_GETFL) & O_NONBLOCK);
    ASSERT_EQ_INT(0, fdstat_flags(&f, fd));     /* the guest's view */
    put_iov(&f, 16, 200, 16);
    ASSERT_EQ_INT(0, wasi_fd_read(f.vm, fd, 16, 1, 0));
    alarm(0);
    ASSERT(fake_wait.calls >= 1);
    ASSERT_EQ_INT(POLLIN, fake_wait.events);
    ASSERT_EQ_INT(5, get_u32(&f, 0));
    ASSERT(memcmp(f.mem.base + 200, "hello", 5) == 0);
    /* the writer leaves: the end of the file, after one look */
    close(fake_wait.peer);
    ASSERT_EQ_INT(0, wasi_fd_read(f.vm, fd, 16, 1, 0));
    ASSERT_EQ_INT(0, get_u32(&f, 0));
    /* a guest that asks for NONBLOCK gets EAGAIN, no wait */
    fake_wait_reset(fifo, NULL);
    int w = open(fifo, O_WRONLY | O_NONBLOCK);
    ASSERT(w >= 0);
    ASSERT_EQ_INT(0, wasi_fd_fdstat_set_flags(f.vm, fd, WASI_FDFLAG_NONBLOCK));
    ASSERT_EQ_INT(WASI_FDFLAG_NONBLOCK, fdstat_flags(&f, fd));
    ASSERT_EQ_INT(WASI_EAGAIN, wasi_fd_read(f.vm, fd, 16, 1, 0));
    ASSERT_EQ_INT(0, fake_wait.calls);
    ASSERT_EQ_INT(0, wasi_fd_fdstat_set_flags(f.vm, fd, 0));
    ASSERT_EQ_INT(0, fdstat_flags(&f, fd));
    ASSERT(fcntl(f.w->fds[fd].host, F_GETFL) & O_NONBLOCK);
    /* poll_oneoff waits for it (it is not "never blocks") */
    put_fd_sub(&f, 1024, 9, WASI_EVENT_FD_READ, fd);
    put_clock_sub(&f, 1024 + 48, 8, 20 * 1000000ull);
    ASSERT_EQ_INT(0, wasi_poll_oneoff(f.vm, 1024, 2048, 2, 0));
    ASSERT_EQ_INT(1, get_u32(&f, 0));
    ASSERT_EQ_INT(8, wasi__get_u64(f.mem.base + 2048));   /* the clock */
    close(w);
    fx_close(&f);
}

/* Opening for writing before there is a reader retries through the hook
 * (no fds, a short timeout); writes past the pipe's size wait for room
 * and go on until all is written. */
TEST(fifo_write_with_hooks_waits_for_a_reader_and_room)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open_with(&f, &fake_hooks, 0));
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/fifo", f.dir);
    ASSERT_EQ_INT(0, mkfifo(fifo, 0600));
    fake_wait_reset(fifo, act_drain);
    alarm(10);
    uint32_t fd;
    ASSERT_EQ_INT(0, open_flags_path(&f, "fifo", RIGHTS_WR, 0, &fd));
    ASSERT(fake_wait.calls_no_fds >= 1);
    ASSERT(fake_wait.peer >= 0);
    enum { BIG = 40000 };
    for (uint32_t i = 0; i < 8; i++)            /* 8 x 40000 bytes */
        put_iov(&f, 16 + 8 * i, 4096, BIG);
    ASSERT_EQ_INT(0, wasi_fd_write(f.vm, fd, 16, 8, 0));
    ASSERT_EQ_INT(8 * BIG, get_u32(&f, 0));
    ASSERT_EQ_INT(POLLOUT, fake_wait.events);
    act_drain(&fake_wait);
    alarm(0);
    ASSERT_EQ_INT(8 * BIG, fake_wait.drained);
    /* a socket file is ENXIO for good: no retrying */
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s/sock", f.dir);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_EQ_INT(0, bind(ls, (struct sockaddr *)&addr, sizeof addr));
    fake_wait_reset(NULL, NULL);
    ASSERT_EQ_INT(WASI_ENXIO, open_flags_path(&f, "sock", RIGHTS_WR, 0, &fd));
    ASSERT_EQ_INT(0, fake_wait.calls);
    close(ls);
    close(fake_wait.peer);
    fx_close(&f);
}

/* The guest's own NONBLOCK on a FIFO without a reader: ENXIO at once. */
TEST(fifo_nonblock_open_is_the_guests_choice)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open_with(&f, &fake_hooks, 0));
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/fifo", f.dir);
    ASSERT_EQ_INT(0, mkfifo(fifo, 0600));
    fake_wait_reset(fifo, NULL);
    uint32_t fd;
    ASSERT_EQ_INT(WASI_ENXIO, open_flags_path(&f, "fifo", RIGHTS_WR,
                                              WASI_FDFLAG_NONBLOCK, &fd));
    ASSERT_EQ_INT(0, fake_wait.calls);
    ASSERT_EQ_INT(0, open_flags_path(&f, "fifo", RIGHTS_RD,
                                     WASI_FDFLAG_NONBLOCK, &fd));
    ASSERT_EQ_INT(WASI_FDFLAG_NONBLOCK, fdstat_flags(&f, fd));
    /* a regular file opened with hooks is a plain blocking fd */
    uint32_t reg;
    ASSERT_EQ_INT(0, open_path(&f, 3, "plain", WASI_OFLAG_CREAT, RW, &reg));
    ASSERT_EQ_INT(0, fcntl(f.w->fds[reg].host, F_GETFL) & O_NONBLOCK);
    ASSERT(!f.w->fds[reg].waits);
    fx_close(&f);
}

/* Without hooks nothing changes: the open blocks until the writer comes
 * (a child process here), the fd stays blocking. */
TEST(fifo_without_hooks_blocks_as_before)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/fifo", f.dir);
    ASSERT_EQ_INT(0, mkfifo(fifo, 0600));
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        int w = open(fifo, O_WRONLY);
        _exit(w >= 0 && write(w, "hi", 2) == 2 ? 0 : 1);
    }
    alarm(10);
    uint32_t fd;
    ASSERT_EQ_INT(0, open_flags_path(&f, "fifo", RIGHTS_RD, 0, &fd));
    ASSERT_EQ_INT(0, fcntl(f.w->fds[fd].host, F_GETFL) & O_NONBLOCK);
    ASSERT(!f.w->fds[fd].waits);
    put_iov(&f, 16, 200, 16);
    ASSERT_EQ_INT(0, wasi_fd_read(f.vm, fd, 16, 1, 0));
    ASSERT_EQ_INT(2, get_u32(&f, 0));
    ASSERT(memcmp(f.mem.base + 200, "hi", 2) == 0);
    int status;
    ASSERT_EQ_INT(pid, waitpid(pid, &status, 0));
    alarm(0);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ_INT(0, fdstat_flags(&f, fd));
    fx_close(&f);
}

/* ===== Hooks that do not return ========================================= */

/* Bytes in use on the heap (glibc); under ASan LeakSanitizer answers. */
static size_t heap_in_use(void)
{
    return mallinfo2().uordblks;
}

/* A wait hook that longjmps out (the server's deadline trap), 300 times,
 * in poll_oneoff and in a read of 20 iovecs: nothing may be left
 * allocated. (poll_oneoff used to lose its two arrays each time.) */
TEST(hook_that_traps_leaks_nothing)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open_with(&f, &fake_hooks, 0));
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/fifo", f.dir);
    ASSERT_EQ_INT(0, mkfifo(fifo, 0600));
    fake_wait_reset(fifo, NULL);
    uint32_t fd;
    ASSERT_EQ_INT(0, open_flags_path(&f, "fifo", RIGHTS_RD, 0, &fd));
    int p[2];
    ASSERT_EQ_INT(0, pipe(p));
    uint32_t gp;
    ASSERT_EQ_INT(0, wasi_ctx_add_fd(f.w, p[0], true, &gp));
    for (uint32_t i = 0; i < 20; i++)
        put_iov(&f, 16 + 8 * i, 4096 + i, 1);
    fake_wait.jump = true;
    size_t before = 0;
    for (int i = 0; i < 300; i++) {
        if (i == 1)
            before = heap_in_use();     /* after the scratch is made */
        volatile int step = 0;
        if (sigsetjmp(trap_jmp, 0) == 0) {
            put_fd_sub(&f, 1024, 1, WASI_EVENT_FD_READ, gp);
            put_clock_sub(&f, 1024 + 48, 2, 1000 * 1000000ull);
            wasi_poll_oneoff(f.vm, 1024, 2048, 2, 0);
            step = 1;
        }
        ASSERT_EQ_INT(0, step);
        if (sigsetjmp(trap_jmp, 0) == 0) {
            wasi_fd_read(f.vm, fd, 16, 20, 0);
            step = 2;
        }
        ASSERT_EQ_INT(0, step);
    }
    ASSERT_EQ_INT(600, fake_wait.calls);
#ifdef TEST_ASAN
    (void)before;
    ASSERT_EQ_INT(0, __lsan_do_recoverable_leak_check());
#else
    ASSERT_LT_INT(heap_in_use(), before + 1024);
#endif
    close(p[1]);
    fx_close(&f);
#ifdef TEST_ASAN
    ASSERT_EQ_INT(0, __lsan_do_recoverable_leak_check());
#endif
}

/* ===== File descriptor limits =========================================== */

TEST(per_context_limit_is_emfile)
{
    unsigned start = wasi_process_fds();
    struct fx f;
    ASSERT_EQ_INT(0, fx_open_with(&f, NULL, 8));    /* 0-2, /sb at 3 */
    ASSERT_EQ_INT(start + 1, wasi_process_fds());
    uint32_t fd;
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        ASSERT_EQ_INT(0, open_path(&f, 3, name, WASI_OFLAG_CREAT, RW, &fd));
    }
    ASSERT_EQ_INT(7, fd);
    ASSERT_EQ_INT(start + 5, wasi_process_fds());
    ASSERT_EQ_INT(WASI_EMFILE, open_path(&f, 3, "f9", WASI_OFLAG_CREAT, RW,
                                         &fd));
    ASSERT_EQ_INT(start + 5, wasi_process_fds());   /* nothing was opened */
    ASSERT_EQ_INT(-1, wasi_ctx_add_fd(f.w, 0, false, &fd));
    ASSERT_EQ_INT(0, wasi_fd_close(f.vm, 5));
    ASSERT_EQ_INT(0, open_path(&f, 3, "f9", WASI_OFLAG_CREAT, RW, &fd));
    ASSERT_EQ_INT(5, fd);
    fx_close(&f);
    ASSERT_EQ_INT(start, wasi_process_fds());
    /* out of range, and preopens past the limit */
    struct wasi_config cfg = WASI_CONFIG_DEFAULT;
    struct wasi_ctx *w;
    struct wasi_error err = { 0 };
    cfg.max_fds = 2;
    ASSERT_EQ_INT(-1, wasi_ctx_new(&cfg, &w, &err));
    ASSERT_EQ_INT(WASI_ERR_CONFIG, err.kind);
    ASSERT_STR_CONTAINS(err.msg, "max_fds 2");
    cfg.max_fds = WASI_MAX_FDS + 1;
    ASSERT_EQ_INT(-1, wasi_ctx_new(&cfg, &w, &err));
    struct wasi_preopen pre[2] = {{"/tmp", "/a"}, {"/tmp", "/b"}};
    cfg.max_fds = 4;
    cfg.npreopens = 2;
    cfg.preopens = pre;
    ASSERT_EQ_INT(-1, wasi_ctx_new(&cfg, &w, &err));
    ASSERT_EQ_INT(WASI_ERR_LIMIT, err.kind);
    ASSERT_STR_CONTAINS(err.msg, "too many open files in the context: limit 4");
    ASSERT_EQ_INT(start, wasi_process_fds());
}

TEST(process_limit_is_enfile_across_contexts)
{
    unsigned start = wasi_process_fds();
    struct fx a, b;
    ASSERT_EQ_INT(0, fx_open(&a));
    ASSERT_EQ_INT(0, fx_open(&b));
    ASSERT_EQ_INT(start + 2, wasi_process_fds());   /* two preopens */
    wasi_set_process_fd_limit(start + 5);
    uint32_t fd, fa, fb;
    ASSERT_EQ_INT(0, open_path(&a, 3, "x", WASI_OFLAG_CREAT, RW, &fa));
    ASSERT_EQ_INT(0, open_path(&a, 3, "y", WASI_OFLAG_CREAT, RW, &fd));
    ASSERT_EQ_INT(0, open_path(&b, 3, "x", WASI_OFLAG_CREAT, RW, &fb));
    ASSERT_EQ_INT(start + 5, wasi_process_fds());
    uint32_t eb = open_path(&b, 3, "y", WASI_OFLAG_CREAT, RW, &fd);
    uint32_t ea = open_path(&a, 3, "z", WASI_OFLAG_CREAT, RW, &fd);
    /* a path call's own short-lived fd counts as well */
    uint32_t es = wasi_path_filestat_get(a.vm, 3, 0, put_str(&a, 500, "x"),
                                         1, 600);
    int host_fd = dup(0);                       /* the process's own */
    bool host_ok = host_fd >= 0;
    close(host_fd);
    /* a new context cannot preopen */
    struct wasi_preopen pre = {a.dir, "/sb"};
    struct wasi_config cfg = WASI_CONFIG_DEFAULT;
    cfg.npreopens = 1;
    cfg.preopens = &pre;
    struct wasi_ctx *w = NULL;
    struct wasi_error err = { 0 };
    char want[80];
    int rc = wasi_ctx_new(&cfg, &w, &err);
    /* room again once one closes, in the other context */
    ASSERT_EQ_INT(0, wasi_fd_close(a.vm, fa));
    uint32_t eb2 = open_path(&b, 3, "y", WASI_OFLAG_CREAT, RW, &fd);
    wasi_set_process_fd_limit(0);
    ASSERT_EQ_INT(WASI_ENFILE, eb);
    ASSERT_EQ_INT(WASI_ENFILE, ea);
    ASSERT_EQ_INT(WASI_ENFILE, es);
    ASSERT(host_ok);
    ASSERT_EQ_INT(-1, rc);
    snprintf(want, sizeof want, "too many open files in the process: limit %u",
             start + 5);
    ASSERT_EQ_INT(WASI_ERR_LIMIT, err.kind);
    ASSERT_STR_CONTAINS(err.msg, want);
    ASSERT_EQ_INT(0, eb2);
    fx_close(&a);
    ASSERT_EQ_INT(start + 3, wasi_process_fds());
    fx_close(&b);
    ASSERT_EQ_INT(start, wasi_process_fds());
}

/* Every path that opens a host fd gives it back, to the process and to
 * the context's group: path calls with their short-lived fds, renumber,
 * accept, and whatever the guest leaves open when the context is freed. */
TEST(process_count_returns_after_free)
{
    unsigned start = wasi_process_fds();
    struct wasi_fd_group g;
    wasi_fd_group_init(&g, 0);
    struct fx f;
    ASSERT_EQ_INT(0, fx_open_in(&f, NULL, 0, &g));
    uint32_t fd, fd2;
    ASSERT_EQ_INT(0, wasi_path_create_directory(f.vm, 3, put_str(&f, 500,
                                                "d"), 1));
    ASSERT_EQ_INT(0, open_path(&f, 3, "d/a", WASI_OFLAG_CREAT, RW, &fd));
    ASSERT_EQ_INT(0, open_path(&f, 3, "d/b", WASI_OFLAG_CREAT, RW, &fd2));
    ASSERT_EQ_INT(0, wasi_fd_renumber(f.vm, fd, fd2));
    ASSERT_EQ_INT(0, wasi_path_rename(f.vm, 3, put_str(&f, 500, "d/a"), 3, 3,
                                      put_str(&f, 600, "d/c"), 3));
    ASSERT_EQ_INT(0, wasi_path_filestat_get(f.vm, 3, 0, put_str(&f, 500,
                                            "d/c"), 3, 700));
    ASSERT_EQ_INT(WASI_ENOENT, wasi_path_filestat_get(f.vm, 3, 0,
                  put_str(&f, 500, "d/nothing"), 9, 700));
    ASSERT_EQ_INT(start + 2, wasi_process_fds());   /* /sb and d/b */
    ASSERT_EQ_INT(2, wasi_fd_group_count(&g));
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s/sock", f.dir);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_EQ_INT(0, bind(ls, (struct sockaddr *)&addr, sizeof addr));
    ASSERT_EQ_INT(0, listen(ls, 4));
    uint32_t gl;
    ASSERT_EQ_INT(0, wasi_ctx_add_fd(f.w, ls, true, &gl));
    ASSERT_EQ_INT(start + 2, wasi_process_fds());   /* the embedder's */
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_EQ_INT(0, connect(c, (struct sockaddr *)&addr, sizeof addr));
    ASSERT_EQ_INT(0, wasi_sock_accept(f.vm, gl, 0, 0));
    ASSERT_EQ_INT(start + 3, wasi_process_fds());
    ASSERT_EQ_INT(3, wasi_fd_group_count(&g));
    fx_close(&f);
    close(c);
    ASSERT_EQ_INT(start, wasi_process_fds());
    ASSERT_EQ_INT(0, wasi_fd_group_count(&g));
}


/* Two contexts of group A share its limit (what one holds, the other
 * cannot take); group B's context is not held to it. */
TEST(group_limit_is_enfile_across_its_contexts)
{
    unsigned start = wasi_process_fds();
    struct wasi_fd_group ga, gb;
    wasi_fd_group_init(&ga, 5);
    wasi_fd_group_init(&gb, 0);
    struct fx a1, a2, b;
    ASSERT_EQ_INT(0, fx_open_in(&a1, NULL, 0, &ga));
    ASSERT_EQ_INT(0, fx_open_in(&a2, NULL, 0, &ga));
    ASSERT_EQ_INT(0, fx_open_in(&b, NULL, 0, &gb));
    ASSERT_EQ_INT(2, wasi_fd_group_count(&ga));     /* two preopens */
    ASSERT_EQ_INT(1, wasi_fd_group_count(&gb));
    uint32_t fd, fx1;
    ASSERT_EQ_INT(0, wasi_path_create_directory(a1.vm, 3, put_str(&a1, 500,
                                                "d"), 1));
    ASSERT_EQ_INT(0, open_path(&a1, 3, "d/x", WASI_OFLAG_CREAT, RW, &fx1));
    ASSERT_EQ_INT(0, open_path(&a1, 3, "y", WASI_OFLAG_CREAT, RW, &fd));
    ASSERT_EQ_INT(0, open_path(&a2, 3, "x", WASI_OFLAG_CREAT, RW, &fd));
    ASSERT_EQ_INT(5, wasi_fd_group_count(&ga));
    ASSERT_EQ_INT(start + 6, wasi_process_fds());
    ASSERT_EQ_INT(WASI_ENFILE, open_path(&a2, 3, "z", WASI_OFLAG_CREAT, RW,
                                         &fd));
    ASSERT_EQ_INT(WASI_ENFILE, open_path(&a1, 3, "z", WASI_OFLAG_CREAT, RW,
                                         &fd));
    /* a path call's short-lived fds: an O_PATH object, a leaf's parent */
    ASSERT_EQ_INT(WASI_ENFILE, wasi_path_filestat_get(a1.vm, 3, 0,
                  put_str(&a1, 500, "y"), 1, 600));
    ASSERT_EQ_INT(WASI_ENFILE, wasi_path_unlink_file(a2.vm, 3,
                  put_str(&a2, 500, "d/x"), 3));
    /* nothing stays counted after a refusal */
    ASSERT_EQ_INT(5, wasi_fd_group_count(&ga));
    ASSERT_EQ_INT(start + 6, wasi_process_fds());
    /* the other group opens past A's limit */
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof name, "b%d", i);
        ASSERT_EQ_INT(0, open_path(&b, 3, name, WASI_OFLAG_CREAT, RW, &fd));
    }
    ASSERT_EQ_INT(0, wasi_path_filestat_get(b.vm, 3, 0, put_str(&b, 500,
                                            "b0"), 2, 600));
    ASSERT_EQ_INT(7, wasi_fd_group_count(&gb));
    ASSERT_EQ_INT(start + 12, wasi_process_fds());
    /* one closes in a1: a2 has room again, for one */
    ASSERT_EQ_INT(0, wasi_fd_close(a1.vm, fx1));
    ASSERT_EQ_INT(4, wasi_fd_group_count(&ga));
    ASSERT_EQ_INT(0, wasi_path_filestat_get(a2.vm, 3, 0, put_str(&a2, 500,
                                            "x"), 1, 600));
    ASSERT_EQ_INT(0, open_path(&a2, 3, "z", WASI_OFLAG_CREAT, RW, &fd));
    ASSERT_EQ_INT(WASI_ENFILE, open_path(&a1, 3, "w", WASI_OFLAG_CREAT, RW,
                                         &fd));
    /* freed with fds still open: all given back */
    fx_close(&a1);
    ASSERT_EQ_INT(3, wasi_fd_group_count(&ga));
    fx_close(&a2);
    ASSERT_EQ_INT(0, wasi_fd_group_count(&ga));
    ASSERT_EQ_INT(7, wasi_fd_group_count(&gb));
    fx_close(&b);
    ASSERT_EQ_INT(0, wasi_fd_group_count(&gb));
    ASSERT_EQ_INT(start, wasi_process_fds());
}

/* Under its group's limit a context still meets the process's; a refusal
 * by the process leaves the group's count as it was. */
TEST(process_limit_applies_on_top_of_a_group)
{
    unsigned start = wasi_process_fds();
    struct wasi_fd_group g;
    wasi_fd_group_init(&g, 10);
    struct fx f;
    ASSERT_EQ_INT(0, fx_open_in(&f, NULL, 0, &g));
    wasi_set_process_fd_limit(start + 3);
    uint32_t fd;
    uint32_t e1 = open_path(&f, 3, "x", WASI_OFLAG_CREAT, RW, &fd);
    uint32_t e2 = open_path(&f, 3, "y", WASI_OFLAG_CREAT, RW, &fd);
    uint32_t e3 = open_path(&f, 3, "z", WASI_OFLAG_CREAT, RW, &fd);
    unsigned in_group = wasi_fd_group_count(&g);
    unsigned in_process = wasi_process_fds();
    wasi_set_process_fd_limit(0);
    uint32_t e4 = open_path(&f, 3, "z", WASI_OFLAG_CREAT, RW, &fd);
    ASSERT_EQ_INT(0, e1);
    ASSERT_EQ_INT(0, e2);
    ASSERT_EQ_INT(WASI_ENFILE, e3);
    ASSERT_EQ_INT(3, in_group);
    ASSERT_EQ_INT(start + 3, in_process);
    ASSERT_EQ_INT(0, e4);
    ASSERT_EQ_INT(4, wasi_fd_group_count(&g));
    fx_close(&f);
    ASSERT_EQ_INT(0, wasi_fd_group_count(&g));
    ASSERT_EQ_INT(start, wasi_process_fds());
}

/* A preopen past the group's limit fails wasi_ctx_new and says which
 * limit; past the process's (with room in the group) it still says so. */
TEST(group_limit_fails_a_preopen)
{
    unsigned start = wasi_process_fds();
    struct wasi_fd_group g;
    wasi_fd_group_init(&g, 1);
    struct wasi_preopen pre[2] = {{"/tmp", "/a"}, {"/tmp", "/b"}};
    struct wasi_config cfg = WASI_CONFIG_DEFAULT;
    cfg.npreopens = 2;
    cfg.preopens = pre;
    cfg.fd_group = &g;
    struct wasi_ctx *w = NULL;
    struct wasi_error err = { 0 };
    ASSERT_EQ_INT(-1, wasi_ctx_new(&cfg, &w, &err));
    ASSERT_STR_CONTAINS(err.msg, "preopen /tmp: too many open files for this "
                        "module: limit 1");
    ASSERT(w == NULL);
    ASSERT_EQ_INT(0, wasi_fd_group_count(&g));
    ASSERT_EQ_INT(start, wasi_process_fds());
    wasi_fd_group_set_limit(&g, 10);
    wasi_set_process_fd_limit(start + 1);
    int rc = wasi_ctx_new(&cfg, &w, &err);
    unsigned in_group = wasi_fd_group_count(&g);
    wasi_set_process_fd_limit(0);
    char want[80];
    snprintf(want, sizeof want, "too many open files in the process: limit %u",
             start + 1);
    ASSERT_EQ_INT(-1, rc);
    ASSERT_STR_CONTAINS(err.msg, want);
    ASSERT_EQ_INT(0, in_group);
    ASSERT_EQ_INT(0, wasi_ctx_new(&cfg, &w, &err));
    ASSERT_EQ_INT(2, wasi_fd_group_count(&g));
    wasi_ctx_free(w);
    ASSERT_EQ_INT(0, wasi_fd_group_count(&g));
    ASSERT_EQ_INT(start, wasi_process_fds());
}

/* ===== The resolver ===================================================== */

static struct wm_import import_of(const char *module, const char *name)
{
    struct wm_import im = {0};
    im.module = (struct wm_name){module, (uint32_t)strlen(module)};
    im.name = (struct wm_name){name, (uint32_t)strlen(name)};
    im.kind = WM_EXTERN_FUNC;
    return im;
}

/* Every function of wasi_snapshot_preview1 with its signature (i32, i64
 * parameters by letter; all return an i32 errno but proc_exit) and the
 * host function it must bind to: written out here, apart from the
 * resolver's own table. */
struct wasi_fn {
    const char *name;
    const char *params;
    bool result;
    void *code;
};

#define FN(name, params) {#name, params, true, (void *)wasi_##name}

static const struct wasi_fn all_fns[] = {
    FN(args_get, "ii"), FN(args_sizes_get, "ii"), FN(environ_get, "ii"),
    FN(environ_sizes_get, "ii"), FN(clock_res_get, "ii"),
    FN(clock_time_get, "ili"), FN(fd_advise, "illi"),
    FN(fd_allocate, "ill"), FN(fd_close, "i"), FN(fd_datasync, "i"),
    FN(fd_fdstat_get, "ii"), FN(fd_fdstat_set_flags, "ii"),
    FN(fd_fdstat_set_rights, "ill"), FN(fd_filestat_get, "ii"),
    FN(fd_filestat_set_size, "il"), FN(fd_filestat_set_times, "illi"),
    FN(fd_pread, "iiili"), FN(fd_prestat_get, "ii"),
    FN(fd_prestat_dir_name, "iii"), FN(fd_pwrite, "iiili"),
    FN(fd_read, "iiii"), FN(fd_readdir, "iiili"), FN(fd_renumber, "ii"),
    FN(fd_seek, "ilii"), FN(fd_sync, "i"), FN(fd_tell, "ii"),
    FN(fd_write, "iiii"), FN(path_create_directory, "iii"),
    FN(path_filestat_get, "iiiii"), FN(path_filestat_set_times, "iiiilli"),
    FN(path_link, "iiiiiii"), FN(path_open, "iiiiillii"),
    FN(path_readlink, "iiiiii"), FN(path_remove_directory, "iii"),
    FN(path_rename, "iiiiii"), FN(path_symlink, "iiiii"),
    FN(path_unlink_file, "iii"), FN(poll_oneoff, "iiii"),
    {"proc_exit", "i", false, (void *)wasi_proc_exit},
    FN(proc_raise, "i"), FN(sched_yield, ""), FN(random_get, "ii"),
    FN(sock_accept, "iii"), FN(sock_recv, "iiiiii"),
    FN(sock_send, "iiiii"), FN(sock_shutdown, "ii"),
};

#undef FN

#define NFNS (sizeof all_fns / sizeof all_fns[0])

/* Whether f is the host funcref of fn: its code, its type, no vmctx (the
 * runtime gives each importer a copy with its own). */
static bool funcref_is(const struct awsm_funcref *f, const struct wasi_fn *fn)
{
    const struct wm_functype *ft = rt_func_type(f);
    uint32_t n = (uint32_t)strlen(fn->params);
    if (f->code != fn->code || f->vmctx != NULL || ft == NULL ||
        ft->nparams != n || ft->nresults != (fn->result ? 1u : 0u))
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (ft->params[i] != (fn->params[i] == 'l' ? WM_I64 : WM_I32))
            return false;
    return !fn->result || ft->results[0] == WM_I32;
}

/* Resolve every WASI function through w into refs; false on any miss. */
static bool resolve_all(struct wasi_ctx *w, struct awsm_funcref *refs[NFNS])
{
    for (size_t i = 0; i < NFNS; i++) {
        struct wm_import im = import_of("wasi_snapshot_preview1",
                                        all_fns[i].name);
        struct rt_extern ex;
        if (wasi_resolve(w, &im, &ex) != 0 || ex.kind != WM_EXTERN_FUNC ||
            !funcref_is(ex.u.func, &all_fns[i]))
            return false;
        refs[i] = ex.u.func;
    }
    return true;
}

#define NTHREADS 8

struct resolver_thread {
    pthread_barrier_t *start;
    struct awsm_funcref *refs[NFNS];
    bool ok;
};

static void *resolver_thread_cb(void *arg)
{
    struct resolver_thread *t = arg;
    struct wasi_config cfg = WASI_CONFIG_DEFAULT;
    struct wasi_ctx *w;
    struct wasi_error err;
    pthread_barrier_wait(t->start);
    t->ok = wasi_ctx_new(&cfg, &w, &err) == 0;
    for (int round = 0; t->ok && round < 100; round++)
        t->ok = resolve_all(w, t->refs);
    if (t->ok)
        wasi_ctx_free(w);
    return NULL;
}

/* First in this file to resolve, so that the threads race to make the
 * process's funcrefs and name index: all see the same, complete ones. */
TEST(resolver_on_many_threads_at_once)
{
    pthread_barrier_t start;
    pthread_t th[NTHREADS];
    static struct resolver_thread t[NTHREADS];
    pthread_barrier_init(&start, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) {
        t[i] = (struct resolver_thread){.start = &start};
        ASSERT_EQ_INT(0, pthread_create(&th[i], NULL, resolver_thread_cb,
                                        &t[i]));
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < NTHREADS; i++) {
        ASSERT(t[i].ok);
        for (size_t k = 0; k < NFNS; k++)
            ASSERT(t[i].refs[k] == t[0].refs[k]);
    }
}

TEST(resolver_finds_every_function)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    struct awsm_funcref *refs[NFNS];
    ASSERT_EQ_INT(WASI_NFUNCS, (int)NFNS);
    ASSERT(resolve_all(f.w, refs));
    for (size_t i = 0; i < NFNS; i++)
        for (size_t k = 0; k < i; k++)
            ASSERT(refs[i] != refs[k]);
    fx_close(&f);
}

/* A name that is not a WASI function's but is close to one: none binds. */
static bool resolves(struct wasi_ctx *w, const char *module, uint32_t mlen,
                     const char *name, uint32_t len)
{
    struct wm_import im = {0};
    struct rt_extern ex;
    im.module = (struct wm_name){module, mlen};
    im.name = (struct wm_name){name, len};
    im.kind = WM_EXTERN_FUNC;
    return wasi_resolve(w, &im, &ex) == 0;
}

TEST(resolver_rejects_near_misses)
{
    static const char mod[] = "wasi_snapshot_preview1";
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    char buf[64];
    for (size_t i = 0; i < NFNS; i++) {
        const char *name = all_fns[i].name;
        uint32_t n = (uint32_t)strlen(name);
        ASSERT(resolves(f.w, mod, sizeof mod - 1, name, n));
        ASSERT(!resolves(f.w, mod, sizeof mod - 1, name, n - 1));
        ASSERT(!resolves(f.w, mod, sizeof mod - 1, name + 1, n - 1));
        memcpy(buf, name, n + 1);
        ASSERT(!resolves(f.w, mod, sizeof mod - 1, buf, n + 1)); /* NUL */
        buf[n] = 'x';
        ASSERT(!resolves(f.w, mod, sizeof mod - 1, buf, n + 1));
        buf[n] = '\0';
        buf[n - 1] ^= 0x20;             /* the case of the last letter */
        ASSERT(!resolves(f.w, mod, sizeof mod - 1, buf, n));
        buf[0] ^= 0x01;
        buf[n - 1] ^= 0x20;
        ASSERT(!resolves(f.w, mod, sizeof mod - 1, buf, n));
        ASSERT(!resolves(f.w, mod, sizeof mod - 2, name, n));
        ASSERT(!resolves(f.w, "wasi_snapshot_preview12", sizeof mod, name, n));
        ASSERT(!resolves(f.w, "wasi_snapshot_preview2", sizeof mod - 1, name,
                         n));
        ASSERT(!resolves(f.w, "", 0, name, n));
    }
    ASSERT(!resolves(f.w, mod, sizeof mod - 1, "", 0));
    ASSERT(!resolves(f.w, mod, sizeof mod - 1, "fd_write_fd_write_fd_write",
                     26));
    fx_close(&f);
}

/* The funcrefs are the process's: another context, made after the first
 * is freed, gets the same ones. */
TEST(resolver_funcrefs_outlive_contexts)
{
    struct fx f;
    struct awsm_funcref *a[NFNS], *b[NFNS];
    ASSERT_EQ_INT(0, fx_open(&f));
    ASSERT(resolve_all(f.w, a));
    fx_close(&f);
    ASSERT_EQ_INT(0, fx_open(&f));
    ASSERT(resolve_all(f.w, b));
    fx_close(&f);
    for (size_t i = 0; i < NFNS; i++)
        ASSERT(a[i] == b[i]);
}

TEST(resolver_binds_preview1)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    struct rt_extern a, b;
    struct wm_import im = import_of("wasi_snapshot_preview1", "fd_write");
    ASSERT_EQ_INT(0, wasi_resolve(f.w, &im, &a));
    ASSERT_EQ_INT(0, wasi_resolve(f.w, &im, &b));
    ASSERT(a.kind == WM_EXTERN_FUNC && a.u.func == b.u.func);
    const struct wm_functype *ft = rt_func_type(a.u.func);
    ASSERT(ft != NULL && ft->nparams == 4 && ft->nresults == 1);
    im = import_of("wasi_snapshot_preview1", "path_open");
    ASSERT_EQ_INT(0, wasi_resolve(f.w, &im, &a));
    ft = rt_func_type(a.u.func);
    ASSERT(ft->nparams == 9 && ft->params[5] == WM_I64);
    im = import_of("wasi_snapshot_preview1", "proc_exit");
    ASSERT_EQ_INT(0, wasi_resolve(f.w, &im, &a));
    ASSERT_EQ_INT(0, rt_func_type(a.u.func)->nresults);
    im = import_of("wasi_snapshot_preview1", "no_such_function");
    ASSERT_EQ_INT(-1, wasi_resolve(f.w, &im, &a));
    im = import_of("wasi_unstable", "fd_write");
    ASSERT_EQ_INT(-1, wasi_resolve(f.w, &im, &a));
    im = import_of("wasi_snapshot_preview1", "memory");
    im.kind = WM_EXTERN_MEMORY;
    ASSERT_EQ_INT(-1, wasi_resolve(f.w, &im, &a));
    fx_close(&f);
}

/* ===== wasi_check_imports =============================================== */

/* Decode a module whose imports `add` declares; the error of
 * wasi_check_imports into err (rc its result). */
static int check_module(void (*add)(struct wmod *), struct wasi_error *err,
                        int *rc)
{
    struct wmod w = {0};
    struct wbuf bin;
    add(&w);
    mod_build(&w, &bin);
    struct wm_module *m;
    struct wm_error derr;
    int d = dec_module(bin.p, bin.len, &m, &derr);
    wb_free(&bin);
    if (d != 0)
        return -1;
    *err = (struct wasi_error){ 0 };
    *rc = wasi_check_imports(m, err);
    wm_module_free(m);
    return 0;
}

static void imports_good(struct wmod *w)
{
    mod_import_func(w, "wasi_snapshot_preview1", "fd_write",
                    mod_type(w, "iiii", "i"));
    mod_import_func(w, "wasi_snapshot_preview1", "proc_exit",
                    mod_type(w, "i", ""));
    mod_import_func(w, "wasi_snapshot_preview1", "path_open",
                    mod_type(w, "iiiiillii", "i"));
    mod_import_func(w, "wasi_snapshot_preview1", "sched_yield",
                    mod_type(w, "", "i"));
}

static void imports_env(struct wmod *w)
{
    imports_good(w);
    mod_import_func(w, "env", "now", mod_type(w, "", "l"));
}

static void imports_bad_type(struct wmod *w)
{
    mod_import_func(w, "wasi_snapshot_preview1", "fd_write",
                    mod_type(w, "iiii", "i"));
    mod_import_func(w, "wasi_snapshot_preview1", "fd_read",
                    mod_type(w, "i", "i"));
}

static void imports_bad_result(struct wmod *w)
{
    mod_import_func(w, "wasi_snapshot_preview1", "proc_exit",
                    mod_type(w, "i", "i"));
}

static void imports_no_such(struct wmod *w)
{
    mod_import_func(w, "wasi_snapshot_preview1", "nosuch",
                    mod_type(w, "", ""));
}

static void imports_memory(struct wmod *w)
{
    imports_good(w);
    mod_import_memory(w, "env", "memory", 1);
}

static void imports_global(struct wmod *w)
{
    mod_import_global(w, "wasi_snapshot_preview1", "fd_read", 'i', false);
}

static void imports_odd_name(struct wmod *w)
{
    mod_import_func(w, "e\"v\n", "x", mod_type(w, "", ""));
}

static void imports_long_name(struct wmod *w)
{
    char name[2000];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    mod_import_func(w, "wasi_snapshot_preview1", name, mod_type(w, "", ""));
}

TEST(check_imports_names_the_first_that_cannot_be_bound)
{
    struct wasi_error err;
    int rc = 9;
    ASSERT_EQ_INT(0, check_module(imports_good, &err, &rc));
    ASSERT_EQ_INT(0, rc);
    ASSERT_EQ_INT(WASI_ERR_NONE, err.kind);
    ASSERT_STR_EQ("", err.msg);
    ASSERT_EQ_INT(0, check_module(imports_env, &err, &rc));
    ASSERT_EQ_INT(-1, rc);
    ASSERT_EQ_INT(WASI_ERR_IMPORT, err.kind);
    ASSERT_STR_EQ("import 4 \"env\".\"now\": the host provides only "
                  "\"wasi_snapshot_preview1\"", err.msg);
    ASSERT_EQ_INT(0, check_module(imports_bad_type, &err, &rc));
    ASSERT_EQ_INT(-1, rc);
    ASSERT_STR_EQ("import 1 \"wasi_snapshot_preview1\".\"fd_read\": type "
                  "(i32) -> i32 does not match (i32, i32, i32, i32) -> i32",
                  err.msg);
    ASSERT_EQ_INT(0, check_module(imports_bad_result, &err, &rc));
    ASSERT_STR_EQ("import 0 \"wasi_snapshot_preview1\".\"proc_exit\": type "
                  "(i32) -> i32 does not match (i32) -> ()", err.msg);
    ASSERT_EQ_INT(0, check_module(imports_no_such, &err, &rc));
    ASSERT_EQ_INT(-1, rc);
    ASSERT_STR_EQ("import 0 \"wasi_snapshot_preview1\".\"nosuch\": no such "
                  "WASI function", err.msg);
    ASSERT_EQ_INT(0, check_module(imports_memory, &err, &rc));
    ASSERT_EQ_INT(-1, rc);
    ASSERT_STR_EQ("import 4 \"env\".\"memory\": a memory import; the host "
                  "provides only WASI functions", err.msg);
    ASSERT_EQ_INT(0, check_module(imports_global, &err, &rc));
    ASSERT_STR_EQ("import 0 \"wasi_snapshot_preview1\".\"fd_read\": a global "
                  "import; the host provides only WASI functions", err.msg);
    ASSERT_EQ_INT(0, check_module(imports_odd_name, &err, &rc));
    ASSERT_STR_CONTAINS(err.msg, "\"e\\22v\\0a\".\"x\"");
    /* a name longer than the message is cut, still a string */
    ASSERT_EQ_INT(0, check_module(imports_long_name, &err, &rc));
    ASSERT_EQ_INT(-1, rc);
    ASSERT_EQ_INT(sizeof err.msg - 1, strlen(err.msg));
    ASSERT_STR_CONTAINS(err.msg, "import 0 \"wasi_snapshot_preview1\".\"nnnn");
}

/* The resolver agrees: what the check accepts, it binds. */
TEST(check_imports_agrees_with_the_resolver)
{
    struct fx f;
    ASSERT_EQ_INT(0, fx_open(&f));
    struct rt_extern ex;
    struct wm_import im = import_of("wasi_snapshot_preview1", "nosuch");
    ASSERT_EQ_INT(-1, wasi_resolve(f.w, &im, &ex));
    im = import_of("env", "fd_write");
    ASSERT_EQ_INT(-1, wasi_resolve(f.w, &im, &ex));
    im = import_of("wasi_snapshot_preview1", "sched_yield");
    ASSERT_EQ_INT(0, wasi_resolve(f.w, &im, &ex));
    const struct wm_functype *ft = rt_func_type(ex.u.func);
    ASSERT(ft->nparams == 0 && ft->nresults == 1);
    fx_close(&f);
}

TEST_MAIN()
