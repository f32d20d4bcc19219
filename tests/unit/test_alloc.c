/*
 * tests/unit/test_alloc.c - allocation failures. Each case (loading a
 * compiled module, instantiating it with its WASI imports and calling it,
 * creating a WASI context, compiling, and awsmrt's in-process start-up
 * with sandboxes run through the scheduler, srv_bench) is run again and again with the
 * Nth allocation failing, N = 1, 2, ..., until a run makes fewer than N
 * allocations. Every run must either succeed or fail with a message, and
 * leave no block allocated (the hook counts live blocks).
 *
 * The allocator hook is the linker's: this test is linked with
 * -Wl,--wrap=malloc,... (tests/CMakeLists.txt), so every call from awsm's
 * own code, the static libraries linked in, goes through the __wrap_
 * functions here, as Lua's test allocator does through lua_Alloc. Jansson,
 * a shared library, is routed to the same functions through its allocator
 * hook; libuv's and libc's internal allocations are not counted.
 */
#include <execinfo.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/compiler.h"
#include "runtime/runtime.h"
#include "server/server.h"
#include "wasi/wasi.h"
#include "compile.h"
#include "test.h"

/* ===== The hook ========================================================= */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static atomic_long live;                /* blocks allocated, not freed */
static atomic_long count;               /* allocations since arming */
static atomic_long fail_at;             /* this one fails (0: none) */

/* Whether this allocation is the one to fail. With TEST_ALLOC_TRACE=N in
 * the environment, the stack of the Nth is printed (to find a leak). */
static bool failing(void)
{
    long at = atomic_load(&fail_at);
    if (at <= 0 || atomic_fetch_add(&count, 1) + 1 != at)
        return false;
    const char *trace = getenv("TEST_ALLOC_TRACE");
    if (trace && atol(trace) == at) {
        void *pcs[32];
        backtrace_symbols_fd(pcs, backtrace(pcs, 32), 2);
    }
    return true;
}

void *__wrap_malloc(size_t n)
{
    if (failing())
        return NULL;
    void *p = __real_malloc(n);
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (failing())
        return NULL;
    void *p = __real_calloc(n, size);
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (failing())
        return NULL;
    void *q = __real_realloc(p, n);
    if (q && !p)
        atomic_fetch_add(&live, 1);
    return q;
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    if (failing())
        return NULL;
    void *p = __real_aligned_alloc(align, n);
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

void __wrap_free(void *p)
{
    if (p)
        atomic_fetch_sub(&live, 1);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    return __wrap_strndup(s, strlen(s));
}

char *__wrap_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = __wrap_malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

/* Jansson's allocations, marked when one fails: Jansson does not always
 * say so (a string it cannot copy is a syntax error, "string or '}'
 * expected"; one whose buffer cannot grow silently loses a byte, and the
 * module's path then names no file), so what fails then is not the
 * server's misreport. */
static atomic_bool json_failed;

static void *json_malloc(size_t n)
{
    void *p = __wrap_malloc(n);
    if (!p)
        atomic_store(&json_failed, true);
    return p;
}

/* Not libuv's (uv_replace_allocator): it aborts on some failures of its
 * own by design (uv_loop_init's signal set-up). */
static void hooks_install(void)
{
    json_set_alloc_funcs(json_malloc, __wrap_free);
}

/*
 * Run `fn` with the Nth allocation failing, for N = 1, 2, ... until a run
 * makes fewer than N allocations (it then succeeded with none failing).
 * fn returns 0 on success, or -1 with its message in msg. Fails the test
 * on a run that failed without a message, left blocks allocated, or
 * never came to an end (more than `most` allocations).
 */
static void each_failure(const char *what, int (*fn)(void *ud, char *msg, size_t len),
                         void *ud, long most)
{
    long failures = 0;
    char first[512] = "";
    /* Once without failures first: what the process keeps for good (type
     * ids, the WASI host functions, the fault registry) is made then. */
    if (fn(ud, first, sizeof first) != 0) {
        test_fail(__FILE__, __LINE__, "%s: fails without a failing allocation: %s",
                  what, first);
        return;
    }
    for (long n = 1; n <= most; n++) {
        char msg[512] = "";
        long before = atomic_load(&live);
        atomic_store(&count, 0);
        atomic_store(&fail_at, n);
        int rc = fn(ud, msg, sizeof msg);
        atomic_store(&fail_at, 0);
        long made = atomic_load(&count), after = atomic_load(&live);
        if (after != before)
            test_fail(__FILE__, __LINE__, "%s: allocation %ld failing: %ld block%s "
                      "leaked (rc %d, \"%s\")", what, n, after - before,
                      after - before == 1 ? "" : "s", rc, msg);
        if (rc != 0 && msg[0] == '\0')
            test_fail(__FILE__, __LINE__, "%s: allocation %ld failing: an error "
                      "without a message", what, n);
        if (test_current_failed)
            return;
        if (made < n) {
            if (rc != 0)
                test_fail(__FILE__, __LINE__, "%s: failed with no allocation "
                          "failing: %s", what, msg);
            printf("# %s: %ld allocations, each failing in turn: %ld errors\n",
                   what, n - 1, failures);
            return;
        }
        failures += rc != 0;
    }
    test_fail(__FILE__, __LINE__, "%s: still allocating after %ld", what, most);
}

/* ===== The module ======================================================= */

/*
 * (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
 * (memory 1) (data (i32.const 0) iovec{16, 3}) (data (i32.const 16) "hi\n")
 * (table 2 funcref) (elem (i32.const 0) $start $add) (global (mut i32) 7)
 * (func $start (export "_start") (drop (call $fd_write 1 0 1 32)))
 * (func $add (export "add") (param i32 i32) (result i32) (i32.add a b))
 */
static void build_module(struct wbuf *out)
{
    struct wmod w = { 0 };
    uint32_t t_write = mod_type(&w, "iiii", "i");
    uint32_t t_void = mod_type(&w, "", "");
    uint32_t t_add = mod_type(&w, "ii", "i");
    uint32_t fd_write = mod_import_func(&w, "wasi_snapshot_preview1", "fd_write", t_write);
    mod_table(&w, 'F', 2, -1);
    mod_memory(&w, 1, -1);
    mod_global(&w, 'i', true, CODE(W_I32_CONST, 7, W_END));
    uint32_t start = mod_func(&w, t_void, "", CODE(
        W_I32_CONST, 1, W_I32_CONST, 0, W_I32_CONST, 1, W_I32_CONST, 32,
        W_CALL, (uint8_t)fd_write, W_DROP, W_END));
    uint32_t add = mod_func(&w, t_add, "", CODE(
        W_LOCAL_GET, 0, W_LOCAL_GET, 1, W_I32_ADD, W_END));
    mod_export(&w, "_start", WM_EXTERN_FUNC, start);
    mod_export(&w, "add", WM_EXTERN_FUNC, add);
    struct wbuf *e = mod_item(&w, SEC_ELEMENT);
    wb_bytes(e, CODE(0x00, W_I32_CONST, 0, W_END, 2, (uint8_t)start, (uint8_t)add));
    static const uint8_t iov[8] = { 16, 0, 0, 0, 3, 0, 0, 0 };
    struct wbuf *d = mod_item(&w, SEC_DATA);
    wb_bytes(d, CODE(0x00, W_I32_CONST, 0, W_END, 8));
    wb_bytes(d, iov, sizeof iov);
    d = mod_item(&w, SEC_DATA);
    wb_bytes(d, CODE(0x00, W_I32_CONST, 16, W_END, 3, 'h', 'i', '\n'));
    mod_build(&w, out);
}

static char so_path[] = "/tmp/awsm-alloc-XXXXXX.so";
static char so2_path[] = "/tmp/awsm-alloc-2-XXXXXX.so";
static struct wm_module *decoded;           /* the module, for compile() */
static char wasm_path[] = "/tmp/awsm-alloc-XXXXXX.wasm";
static struct rt_module *loaded;

/* The module as a .wasm file and as a compiled .so, made before any
 * failure is armed. */
static void make_files(void)
{
    struct wbuf b = { 0 };
    build_module(&b);
    int fd = mkstemps(wasm_path, 5);
    ASSERT(fd >= 0 && write(fd, b.p, b.len) == (ssize_t)b.len);
    close(fd);
    struct wm_module *m;
    struct wm_error werr;
    struct cg_error cerr;
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    if (wm_load(b.p, b.len, &m, &werr) != 0) {
        test_fail(__FILE__, __LINE__, "the module: %s", werr.msg);
        return;
    }
    fd = mkstemps(so_path, 3);
    ASSERT(fd >= 0);
    close(fd);
    ASSERT_EQ_INT(0, cg_compile(m, &opt, so_path, &cerr));
    decoded = m;
    wb_free(&b);
}

/* ===== The cases ======================================================== */

static int load_module(void *ud, char *msg, size_t len)
{
    (void)ud;
    struct rt_module *m;
    struct rt_error err;
    if (rt_module_load(so_path, &m, &err) != 0) {
        snprintf(msg, len, "%s", err.msg);
        return -1;
    }
    rt_module_free(m);
    return 0;
}

TEST(module_load)
{
    each_failure("rt_module_load", load_module, NULL, 10000);
}

static int make_context(struct wasi_ctx **w, char *msg, size_t len)
{
    static const char *const argv[] = { "alloc", "one", "two" };
    static const char *const envp[] = { "A=1", "B=two" };
    struct wasi_preopen pre = { "/tmp", "/tmp" };
    struct wasi_config cfg = WASI_CONFIG_DEFAULT;
    cfg.argc = 3, cfg.argv = argv, cfg.envc = 2, cfg.envp = envp;
    cfg.npreopens = 1, cfg.preopens = &pre;
    static const uint8_t input[] = "input";
    cfg.stdio[0] = (struct wasi_stdio){ -1, input, 5, 0 };
    cfg.stdio[1] = (struct wasi_stdio){ -1, NULL, 0, 4096 };
    cfg.stdio[2] = (struct wasi_stdio){ -1, NULL, 0, 4096 };
    struct wasi_error err;
    if (wasi_ctx_new(&cfg, w, &err) == 0)
        return 0;
    snprintf(msg, len, "%s", err.msg);
    if (err.kind != WASI_ERR_NOMEM)
        test_fail(__FILE__, __LINE__, "wasi_ctx_new: a failing allocation "
                  "reported as error kind %d: %s", err.kind, err.msg);
    return -1;
}

static int context(void *ud, char *msg, size_t len)
{
    (void)ud;
    struct wasi_ctx *w;
    if (make_context(&w, msg, len) != 0)
        return -1;
    wasi_ctx_free(w);
    return 0;
}

TEST(wasi_context)
{
    each_failure("wasi_ctx_new", context, NULL, 10000);
}

/* Instantiate (data, elements, WASI imports), run _start, call add. */
static int instantiate(void *ud, char *msg, size_t len)
{
    (void)ud;
    struct wasi_ctx *w;
    struct rt_instance *inst = NULL;
    struct rt_error err;
    if (make_context(&w, msg, len) != 0)
        return -1;
    struct rt_instance_options o = { .host = w };
    int rc = rt_instance_new(loaded, wasi_resolve, w, &o, &inst, &err);
    struct rt_extern ex;
    uint32_t sum = 0;
    if (rc == 0 && rt_instance_export(inst, "_start", &ex) == 0)
        rc = rt_call(inst, ex.u.func, NULL, &err);
    if (rc == 0)
        rc = test_call2(inst, "add", 40, 2, &sum, &err);
    if (rc != 0)
        snprintf(msg, len, "%s", err.msg);
    else if (sum != 42)
        snprintf(msg, len, "add gave %u", sum), rc = -1;
    size_t out = 0;
    bool cut;
    if (rc == 0 && (!wasi_captured(w, 1, &out, &cut) || out != 3))
        snprintf(msg, len, "stdout has %zu bytes", out), rc = -1;
    rt_instance_free(inst);
    wasi_ctx_free(w);
    return rc;
}

TEST(instantiate_and_call)
{
    struct rt_error err;
    ASSERT_EQ_INT(0, rt_module_load(so_path, &loaded, &err));
    each_failure("rt_instance_new + rt_call", instantiate, NULL, 10000);
    rt_module_free(loaded);
}

/* A server call failed: its message for each_failure, and a failing
 * allocation must be reported as one (unless it was Jansson's). */
static int server_failed(const char *call, const struct srv_error *err,
                         char *msg, size_t len)
{
    snprintf(msg, len, "%s", err->msg);
    if (err->kind != SRV_ERR_NOMEM && !atomic_load(&json_failed))
        test_fail(__FILE__, __LINE__, "%s: a failing allocation reported as "
                  "error kind %d: %s", call, err->kind, err->msg);
    return -1;
}

/* awsmrt in-process: the configuration, the module from the compile
 * cache, the scheduler's threads, and four sandboxes. */
static int server(void *ud, char *msg, size_t len)
{
    (void)ud;
    char text[600];
    snprintf(text, sizeof text, "[{\"name\": \"hi\", \"path\": \"%s\", "
             "\"port\": 1, \"env\": {\"A\": \"1\"}}]", wasm_path);
    struct srv_config cfg;
    struct srv_error err;
    atomic_store(&json_failed, false);
    if (srv_config_parse("/tmp/alloc.json", text, strlen(text), &cfg, &err) != 0)
        return server_failed("srv_config_parse", &err, msg, len);
    struct srv_settings set = SRV_SETTINGS_DEFAULT;
    set.workers = 2;
    struct srv_bench_result r;
    int rc = srv_bench(&cfg, &set, "hi", 4, &r, &err);
    srv_config_free(&cfg);
    return rc == 0 ? 0 : server_failed("srv_bench", &err, msg, len);
}

/* The compiler's own memory (its arenas, the reader's buffer): out of it,
 * cg_compile fails with "out of memory" instead of aborting. LLVM's
 * allocations are not counted (operator new, in libLLVM). */
static int compile_module(void *ud, char *msg, size_t len)
{
    (void)ud;
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    struct cg_error err;
    if (cg_compile(decoded, &opt, so2_path, &err) != 0) {
        snprintf(msg, len, "%s", err.msg);
        return -1;
    }
    return 0;
}

TEST(compiling)
{
    int fd = mkstemps(so2_path, 3);
    ASSERT(fd >= 0);
    close(fd);
    each_failure("cg_compile", compile_module, NULL, 10000);
}

TEST(server_start_up_and_sandboxes)
{
    each_failure("awsmrt start-up and 4 sandboxes", server, NULL, 20000);
}

int main(int argc, char **argv)
{
    char cache[] = "/tmp/awsm-alloc-cache-XXXXXX";
    if (!mkdtemp(cache))
        return 1;
    setenv("AWSM_CACHE_DIR", cache, 1);
    hooks_install();
    /* Freed memories are not kept for reuse: the pool would grow by as
     * many as were alive at once, which threads make vary. */
    rt_memory_pool_limit(0);
    make_files();
    int rc = test_current_failed ? 1 : test_main(argc, argv);
    unlink(so_path);
    unlink(so2_path);
    unlink(wasm_path);
    wm_module_free(decoded);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
