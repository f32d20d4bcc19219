/*
 * tests/unit/test_wasi.c - the WASI host functions called directly, the
 * way compiled code calls them: a fake vmctx whose memory is a calloc'd
 * 64 KiB, and an rt table whose trap longjmps back into the test. Covers
 * the context's ownership (copies, preopen errors, no fd leaks, host stdio
 * left open), guest-pointer bounds checks at the memory's edge and past
 * 4 GiB, in-memory stdio, proc_exit, sockets from the host (socketpair,
 * listening socket), SIGPIPE, poll_oneoff, escapes, and the resolver.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "wasi/internal.h"
#include "test.h"

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
 * memory, stdout captured up to 5 bytes, stderr to nothing. */
static int fx_open(struct fx *f)
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
    char err[256];
    if (wasi_ctx_new(&cfg, &f->w, err, sizeof err) != 0)
        return -1;
    f->vm->memory = &f->mem;
    f->vm->mem_base = f->mem.base;
    f->vm->rt = &fake_rt;
    f->vm->host = f->w;
    return 0;
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
    ASSERT_EQ_INT(0, wasi_ctx_new(&cfg, &w, NULL, 0));
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
    char err[256] = "";
    ASSERT_EQ_INT(-1, wasi_ctx_new(&cfg, &w, err, sizeof err));
    ASSERT(w == NULL);
    ASSERT_STR_CONTAINS(err, "/nonexistent/awsm-dir");
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
    ASSERT_EQ_INT(0, wasi_ctx_new(&cfg, &w, NULL, 0));
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
    ASSERT_EQ_INT(0, open_path(&f, 3, "sub", WASI_OFLAG_DIRECTORY,
                               WASI_RIGHTS_ALL, &d));
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

/* ===== The resolver ===================================================== */

static struct wm_import import_of(const char *module, const char *name)
{
    struct wm_import im = {0};
    im.module = (struct wm_name){module, (uint32_t)strlen(module)};
    im.name = (struct wm_name){name, (uint32_t)strlen(name)};
    im.kind = WM_EXTERN_FUNC;
    return im;
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

TEST_MAIN()
