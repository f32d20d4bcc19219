/*
 * tests/unit/test_runtime.c - the runtime core against fake compiled
 * modules (fake_module.c built as .so files): loading and its refusals,
 * linking, instantiation, calls, traps of every origin (service call,
 * guard-page fault, stack limit, stack guard page), nested calls through
 * a host function, memory growth limits, the process's memory budget
 * (also on threads), and instance independence;
 * module files that are not complete shared objects (truncated copies,
 * FIFOs, devices, other files) refused with a message, never a SIGBUS or
 * a hang (ctest's timeout catches a hang).
 */
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "tests/unit/test.h"

/* ===== Fixtures ========================================================= */

struct fixture {
    struct rt_module *mod;
    struct rt_instance *inst;
    struct rt_host *host;
    struct awsm_funcref *callback;
    struct rt_error err;
};

static struct rt_error callback_err;

/* env.callback: calls the importer's "div"(100, x) through a nested
 * rt_call; a trap there comes back here as an error, not further out. */
static int32_t host_callback(struct awsm_vmctx *vm, int32_t x)
{
    struct rt_instance *inst = vm->instance;
    struct rt_extern ex;
    if (rt_instance_export(inst, "div", &ex) != 0)
        return -100;
    awsm_value a[2] = {{.i32 = 100}, {.i32 = (uint32_t)x}};
    if (rt_call(inst, ex.u.func, a, &callback_err) != 0)
        return -1;
    return (int32_t)a[0].i32;
}

static const wm_valtype i32s[] = {WM_I32, WM_I32};
static const struct wm_functype type_i_i = {1, 1, i32s, i32s};
static const struct wm_functype type_ii_i = {2, 1, i32s, i32s};

static int resolve(void *ud, const struct wm_import *im, struct rt_extern *out)
{
    struct fixture *fx = ud;
    if (fx->callback == NULL || im->name.len != 8 ||
        memcmp(im->name.str, "callback", 8) != 0)
        return -1;
    out->kind = WM_EXTERN_FUNC;
    out->u.func = fx->callback;
    return 0;
}

static int fixture_open(struct fixture *fx, const struct rt_instance_options *opt)
{
    memset(fx, 0, sizeof *fx);
    fx->host = rt_host_new();
    fx->callback = rt_host_func(fx->host, &type_i_i, (void *)host_callback);
    if (rt_module_load(FAKE_MODULE, &fx->mod, &fx->err) != 0)
        return -1;
    return rt_instance_new(fx->mod, resolve, fx, opt, &fx->inst, &fx->err);
}

static void fixture_close(struct fixture *fx)
{
    rt_instance_free(fx->inst);
    rt_module_free(fx->mod);
    rt_host_free(fx->host);
}

/* Call export `name` with up to two i32 arguments; the result is in
 * a[0]. Returns what rt_call returns. */
static int call2(struct fixture *fx, const char *name, uint32_t x, uint32_t y,
                 uint32_t *result)
{
    struct rt_extern ex;
    if (rt_instance_export(fx->inst, name, &ex) != 0 || ex.kind != WM_EXTERN_FUNC)
        return -2;
    awsm_value a[2] = {{.i32 = x}, {.i32 = y}};
    int rc = rt_call(fx->inst, ex.u.func, a, &fx->err);
    *result = a[0].i32;
    return rc;
}

/* Every test opens a fixture and closes it, whatever happens between:
 * the body runs in a helper so that its ASSERTs can return early. */
#define WITH_FIXTURE(name, opt)                                           \
    static void body_##name(struct fixture *fx);                          \
    TEST(name)                                                            \
    {                                                                     \
        struct fixture fx;                                                \
        int rc_ = fixture_open(&fx, opt);                                 \
        if (rc_ != 0)                                                     \
            test_fail(__FILE__, __LINE__, "fixture: %s", fx.err.msg);     \
        else                                                              \
            body_##name(&fx);                                             \
        fixture_close(&fx);                                               \
    }                                                                     \
    static void body_##name(struct fixture *fx)

/* ===== Loading ========================================================== */

TEST(stale_abi_version_is_refused_with_advice)
{
    struct rt_module *m;
    struct rt_error err;
    ASSERT_EQ_INT(-1, rt_module_load(FAKE_MODULE_OLDABI, &m, &err));
    ASSERT_EQ_INT(RT_ERR_LOAD, err.kind);
    ASSERT(m == NULL);
    char want[96];
    snprintf(want, sizeof want, ": ABI version 0 but this runtime needs %u: "
             "recompile with this awsmc", AWSM_ABI_VERSION);
    ASSERT_STR_CONTAINS(err.msg, want);
}

TEST(hash_mismatch_is_refused)
{
    struct rt_module *m;
    struct rt_error err;
    ASSERT_EQ_INT(-1, rt_module_load(FAKE_MODULE_BADHASH, &m, &err));
    ASSERT_EQ_INT(RT_ERR_LOAD, err.kind);
    ASSERT_STR_CONTAINS(err.msg, "hash mismatch");
}

TEST(missing_file_is_a_load_error)
{
    struct rt_module *m;
    struct rt_error err;
    ASSERT_EQ_INT(-1, rt_module_load("/nonexistent/app.so", &m, &err));
    ASSERT_EQ_INT(RT_ERR_LOAD, err.kind);
    ASSERT_STR_EQ("cannot open /nonexistent/app.so: No such file or directory",
                  err.msg);
}

/* ===== Module files ===================================================== */

/* A private directory for the copies; removed by scratch_close. */
struct scratch {
    char dir[64];
    char path[128];
};

static int scratch_open(struct scratch *s)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/awsm-test-runtime-XXXXXX");
    return mkdtemp(s->dir) != NULL ? 0 : -1;
}

static const char *scratch_file(struct scratch *s, const char *name)
{
    snprintf(s->path, sizeof s->path, "%s/%s", s->dir, name);
    return s->path;
}

static void scratch_close(struct scratch *s)
{
    static const char *const names[] = { "app.so", "fifo.so", "text.so",
                                         "big.so", "dir.so" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *p = scratch_file(s, names[i]);
        if (unlink(p) != 0)
            rmdir(p);
    }
    rmdir(s->dir);
}

/* The fake module's bytes (a test.h wbuf), or len 0 when unreadable. */
static void good_bytes(struct wbuf *b)
{
    memset(b, 0, sizeof *b);
    FILE *f = fopen(FAKE_MODULE, "rb");
    char buf[4096];
    size_t n;
    while (f != NULL && (n = fread(buf, 1, sizeof buf, f)) > 0)
        wb_bytes(b, buf, n);
    if (f != NULL)
        fclose(f);
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Load the first n bytes of the fake module as dir/app.so: -1 expected. */
static int load_prefix(struct scratch *s, const struct wbuf *b, size_t n,
                       struct rt_error *err)
{
    struct rt_module *m = NULL;
    const char *p = scratch_file(s, "app.so");
    if (write_file(p, b->p, n) != 0) {
        snprintf(err->msg, sizeof err->msg, "cannot write %s", p);
        return 0;
    }
    int rc = rt_module_load(p, &m, err);
    rt_module_free(m);
    return rc;
}

/* Where the last PT_LOAD segment's bytes end in the file. */
static uint64_t last_load_end(const struct wbuf *b, unsigned *index)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)b->p;
    uint64_t end = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, b->p + eh->e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz >= end) {
            end = ph.p_offset + ph.p_filesz;
            *index = i;
        }
    }
    return end;
}

TEST(truncated_module_is_refused_not_a_sigbus)
{
    struct scratch s;
    struct wbuf b;
    struct rt_error err;
    ASSERT_EQ_INT(0, scratch_open(&s));
    good_bytes(&b);
    size_t full = b.len;
    size_t lens[] = { 0, 3, 40, 64, 65, full / 2, full - 1 };
    char first_wrong[600] = "";
    for (size_t i = 0; full > 4096 && i < sizeof lens / sizeof lens[0]; i++) {
        int rc = load_prefix(&s, &b, lens[i], &err);
        bool ok = rc == -1 && err.kind == RT_ERR_LOAD &&
                  (strstr(err.msg, "app.so: truncated shared object: ") ||
                   (lens[i] < 4 && strstr(err.msg, "app.so: not an ELF")));
        if (!ok && first_wrong[0] == '\0')
            snprintf(first_wrong, sizeof first_wrong, "%zu bytes: rc %d: %s",
                     lens[i], rc, err.msg);
    }
    int rc64 = load_prefix(&s, &b, 64, &err);
    char msg64[512];
    snprintf(msg64, sizeof msg64, "%s", err.msg);
    wb_free(&b);
    scratch_close(&s);
    ASSERT(full > 4096);
    ASSERT_STR_EQ("", first_wrong);
    ASSERT_EQ_INT(-1, rc64);
    ASSERT_STR_CONTAINS(msg64, "app.so: truncated shared object: the program "
                        "header table ends at byte ");
    ASSERT_STR_CONTAINS(msg64, " but the file has 64 bytes (recompile it with "
                        "awsmc)");
}

/* The case dlopen turns into a SIGBUS: the file ends inside a segment, on
 * a page boundary, so whole pages of the mapping lie past its end. */
TEST(module_ending_inside_a_segment_names_the_segment)
{
    struct scratch s;
    struct wbuf b;
    struct rt_error err, err2;
    ASSERT_EQ_INT(0, scratch_open(&s));
    good_bytes(&b);
    unsigned seg = 0;
    uint64_t end = b.len >= sizeof(Elf64_Ehdr) ? last_load_end(&b, &seg) : 0;
    uint64_t page_cut = (end - 1) & ~(uint64_t)4095;
    int rc = end > 4096 ? load_prefix(&s, &b, end - 1, &err) : 0;
    int rc2 = end > 4096 ? load_prefix(&s, &b, page_cut, &err2) : 0;
    wb_free(&b);
    scratch_close(&s);
    ASSERT(end > 4096);
    char want[200];
    snprintf(want, sizeof want, "app.so: truncated shared object: segment %u "
             "ends at byte %llu but the file has %llu bytes (recompile it with "
             "awsmc)", seg, (unsigned long long)end,
             (unsigned long long)(end - 1));
    ASSERT_EQ_INT(-1, rc);
    ASSERT_STR_EQ(want, err.msg);
    ASSERT_EQ_INT(-1, rc2);
    ASSERT_STR_CONTAINS(err2.msg, "truncated shared object: segment ");
}

/* Open a FIFO nobody writes to, or /dev/zero, and a loader would block
 * or read forever: refused at once by what they are. */
TEST(fifo_device_and_directory_are_refused_at_once)
{
    struct scratch s;
    struct rt_module *m = NULL;
    struct rt_error e1, e2, e3;
    ASSERT_EQ_INT(0, scratch_open(&s));
    int made = mkfifo(scratch_file(&s, "fifo.so"), 0600);
    int rc1 = made == 0 ? rt_module_load(s.path, &m, &e1) : 0;
    int rc2 = rt_module_load("/dev/zero", &m, &e2);
    int madedir = mkdir(scratch_file(&s, "dir.so"), 0700);
    int rc3 = madedir == 0 ? rt_module_load(s.path, &m, &e3) : 0;
    scratch_close(&s);
    ASSERT_EQ_INT(0, made);
    ASSERT_EQ_INT(-1, rc1);
    ASSERT_EQ_INT(RT_ERR_LOAD, e1.kind);
    ASSERT_STR_CONTAINS(e1.msg, "/fifo.so: not a regular file (a FIFO)");
    ASSERT_EQ_INT(-1, rc2);
    ASSERT_STR_EQ("/dev/zero: not a regular file (a character device)", e2.msg);
    ASSERT_EQ_INT(0, madedir);
    ASSERT_EQ_INT(-1, rc3);
    ASSERT_STR_CONTAINS(e3.msg, "/dir.so: not a regular file (a directory)");
    ASSERT(m == NULL);
}

TEST(file_over_the_size_limit_is_refused)
{
    struct scratch s;
    struct rt_module *m = NULL;
    struct rt_error err;
    ASSERT_EQ_INT(0, scratch_open(&s));
    int fd = open(scratch_file(&s, "big.so"), O_CREAT | O_WRONLY, 0600);
    int sized = fd >= 0 ? ftruncate(fd, (off_t)300 << 20) : -1;  /* sparse */
    if (fd >= 0)
        close(fd);
    int rc = sized == 0 ? rt_module_load(s.path, &m, &err) : 0;
    scratch_close(&s);
    ASSERT_EQ_INT(0, sized);
    ASSERT_EQ_INT(-1, rc);
    ASSERT_STR_CONTAINS(err.msg, "/big.so: 300 MiB is larger than the 256 MiB "
                        "limit for a module");
}

TEST(non_elf_file_and_foreign_elf_are_refused)
{
    struct scratch s;
    struct wbuf b;
    struct rt_module *m = NULL;
    struct rt_error e1, e2, e3;
    ASSERT_EQ_INT(0, scratch_open(&s));
    int w = write_file(scratch_file(&s, "text.so"), "hello, world\n", 13);
    int rc1 = rt_module_load(s.path, &m, &e1);
    good_bytes(&b);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)b.p;
    int rc2 = 0, rc3 = 0;
    if (b.len >= sizeof *eh) {
        eh->e_machine ^= 0x100;
        rc2 = load_prefix(&s, &b, b.len, &e2);
        eh->e_machine ^= 0x100;
        eh->e_type = ET_REL;
        rc3 = load_prefix(&s, &b, b.len, &e3);
    }
    wb_free(&b);
    scratch_close(&s);
    ASSERT_EQ_INT(0, w);
    ASSERT_EQ_INT(-1, rc1);
    ASSERT_STR_EQ("text.so: not an ELF shared object", e1.msg);
    ASSERT_EQ_INT(-1, rc2);
    ASSERT_STR_CONTAINS(e2.msg, "app.so: ELF object for machine ");
    ASSERT_EQ_INT(-1, rc3);
    ASSERT_STR_CONTAINS(e3.msg, "app.so: an ELF file of type 1, not a shared "
                        "object");
}

/* A complete copy loads, also named without a directory: "app.so" is the
 * file in the current directory, not one on the library path. */
TEST(complete_copy_loads_also_by_a_relative_name)
{
    struct scratch s;
    struct wbuf b;
    struct rt_module *m1 = NULL, *m2 = NULL;
    struct rt_error e1, e2;
    char cwd[4096];
    ASSERT_EQ_INT(0, scratch_open(&s));
    good_bytes(&b);
    int w = write_file(scratch_file(&s, "app.so"), b.p, b.len);
    int rc1 = rt_module_load(s.path, &m1, &e1);
    bool moved = getcwd(cwd, sizeof cwd) != NULL && chdir(s.dir) == 0;
    int rc2 = moved ? rt_module_load("app.so", &m2, &e2) : -1;
    bool back = moved && chdir(cwd) == 0;
    rt_module_free(m1);
    rt_module_free(m2);
    wb_free(&b);
    scratch_close(&s);
    ASSERT_EQ_INT(0, w);
    if (rc1 != 0)
        test_fail(__FILE__, __LINE__, "%s", e1.msg);
    ASSERT_EQ_INT(0, rc1);
    ASSERT(back);
    if (rc2 != 0)
        test_fail(__FILE__, __LINE__, "%s", e2.msg);
    ASSERT_EQ_INT(0, rc2);
}

TEST(canonical_type_ids_compare_structure)
{
    const wm_valtype other[] = {WM_I32, WM_I64};
    const struct wm_functype copy = {2, 1, other, other};  /* (i32 i64)->i32 */
    const struct wm_functype again = {2, 1, (wm_valtype[]){WM_I32, WM_I32},
                                      (wm_valtype[]){WM_I32}};
    ASSERT(rt_type_id(&type_ii_i) != 0);
    ASSERT_EQ_INT(rt_type_id(&type_ii_i), rt_type_id(&again));
    ASSERT(rt_type_id(&type_ii_i) != rt_type_id(&copy));
    ASSERT(rt_type_id(&type_ii_i) != rt_type_id(&type_i_i));
}

/* ===== Linking ========================================================== */

TEST(unknown_import_is_a_link_error)
{
    struct fixture fx = {0};
    struct rt_instance *inst;
    ASSERT_EQ_INT(0, rt_module_load(FAKE_MODULE, &fx.mod, &fx.err));
    int rc = rt_instance_new(fx.mod, resolve, &fx, NULL, &inst, &fx.err);
    rt_module_free(fx.mod);
    ASSERT_EQ_INT(-1, rc);
    ASSERT(inst == NULL);
    ASSERT_EQ_INT(RT_ERR_LINK, fx.err.kind);
    ASSERT_STR_EQ("unknown import: env.callback (func (param i32) (result i32))",
                  fx.err.msg);
}

TEST(import_of_another_type_is_incompatible)
{
    struct fixture fx = {0};
    struct rt_instance *inst;
    fx.host = rt_host_new();
    fx.callback = rt_host_func(fx.host, &type_ii_i, (void *)host_callback);
    ASSERT_EQ_INT(0, rt_module_load(FAKE_MODULE, &fx.mod, &fx.err));
    int rc = rt_instance_new(fx.mod, resolve, &fx, NULL, &inst, &fx.err);
    rt_module_free(fx.mod);
    rt_host_free(fx.host);
    ASSERT_EQ_INT(-1, rc);
    ASSERT_EQ_INT(RT_ERR_LINK, fx.err.kind);
    ASSERT_STR_CONTAINS(fx.err.msg, "incompatible import type: env.callback: "
                        "expected (func (param i32) (result i32)), got "
                        "(func (param i32 i32) (result i32))");
}

/* ===== Calls and traps ================================================== */

WITH_FIXTURE(add_returns_the_sum, NULL)
{
    uint32_t r;
    ASSERT_EQ_INT(0, call2(fx, "add", 2, 3, &r));
    ASSERT_EQ_INT(5, r);
    ASSERT_EQ_INT(0, call2(fx, "add", 0xffffffffu, 2, &r));
    ASSERT_EQ_INT(1, r);
}

WITH_FIXTURE(service_trap_comes_back_as_an_error, NULL)
{
    uint32_t r;
    ASSERT_EQ_INT(-1, call2(fx, "div", 1, 0, &r));
    ASSERT_EQ_INT(RT_ERR_TRAP, fx->err.kind);
    ASSERT_EQ_INT(AWSM_TRAP_INT_DIV_ZERO, fx->err.trap);
    ASSERT_STR_EQ("integer divide by zero", fx->err.msg);
    ASSERT_EQ_INT(-1, call2(fx, "div", 0x80000000u, 0xffffffffu, &r));
    ASSERT_STR_EQ("integer overflow", fx->err.msg);
    ASSERT_EQ_INT(-1, call2(fx, "unreachable", 0, 0, &r));
    ASSERT_STR_EQ("unreachable", fx->err.msg);
    ASSERT_EQ_INT(0, call2(fx, "div", 7, 2, &r));    /* still alive */
    ASSERT_EQ_INT(3, r);
}

WITH_FIXTURE(guard_page_fault_is_out_of_bounds, NULL)
{
    uint32_t r;
    ASSERT_EQ_INT(0, call2(fx, "load", 65532, 0, &r));
    ASSERT_EQ_INT(-1, call2(fx, "load", 65533, 0, &r));
    ASSERT_EQ_INT(AWSM_TRAP_MEMORY_OOB, fx->err.trap);
    ASSERT_STR_EQ("out of bounds memory access", fx->err.msg);
    ASSERT_EQ_INT(-1, call2(fx, "load", 0xfffffffcu, 0, &r));
    ASSERT_EQ_INT(AWSM_TRAP_MEMORY_OOB, fx->err.trap);
}

WITH_FIXTURE(stack_limit_check_traps_exhaustion, NULL)
{
    uint32_t r;
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ_INT(-1, call2(fx, "recurse", 0, 0, &r));
        ASSERT_EQ_INT(AWSM_TRAP_STACK_EXHAUSTED, fx->err.trap);
        ASSERT_STR_EQ("call stack exhausted", fx->err.msg);
    }
    ASSERT_EQ_INT(0, call2(fx, "add", 1, 1, &r));
}

static const struct rt_instance_options small_stack = {.stack_size = 16384};

WITH_FIXTURE(stack_budget_is_an_option, &small_stack)
{
    uint32_t r;
    ASSERT_EQ_INT(-1, call2(fx, "recurse", 0, 0, &r));
    ASSERT_EQ_INT(AWSM_TRAP_STACK_EXHAUSTED, fx->err.trap);
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    uintptr_t limit = rt_instance_vmctx(fx->inst)->stack_limit;
    ASSERT(limit < here && here - limit < 64 * 1024);
}

WITH_FIXTURE(stack_guard_page_fault_is_exhaustion, NULL)
{
    uint32_t r;
    ASSERT_EQ_INT(-1, call2(fx, "recurse_nocheck", 0, 0, &r));
    ASSERT_EQ_INT(AWSM_TRAP_STACK_EXHAUSTED, fx->err.trap);
    ASSERT_EQ_INT(-1, call2(fx, "recurse_nocheck", 0, 0, &r));
    ASSERT_EQ_INT(AWSM_TRAP_STACK_EXHAUSTED, fx->err.trap);
    ASSERT_EQ_INT(0, call2(fx, "add", 1, 1, &r));
}

WITH_FIXTURE(host_function_nests_calls_and_traps, NULL)
{
    uint32_t r;
    ASSERT_EQ_INT(0, call2(fx, "call_cb", 5, 0, &r));
    ASSERT_EQ_INT(20, r);
    /* div(100, 0) traps inside the nested call only. */
    ASSERT_EQ_INT(0, call2(fx, "call_cb", 0, 0, &r));
    ASSERT_EQ_INT(-1, (int32_t)r);
    ASSERT_EQ_INT(AWSM_TRAP_INT_DIV_ZERO, callback_err.trap);
    ASSERT_EQ_INT(0, call2(fx, "call_cb", 50, 0, &r));
    ASSERT_EQ_INT(2, r);
}

static int resolve_calls;

static int counting_resolve(void *ud, const struct wm_import *im,
                            struct rt_extern *out)
{
    resolve_calls++;
    return resolve(ud, im, out);
}

/* With resolve_cacheable, the module keeps what the first instance's
 * imports were bound to: later instances (made with the same resolver)
 * call the import without asking the resolver again; another resolver,
 * or instances without the option, are asked every time. */
WITH_FIXTURE(cacheable_resolver_is_asked_once_per_module, NULL)
{
    struct rt_instance_options o = { .resolve_cacheable = true };
    struct rt_instance *saved = fx->inst;
    uint32_t r;
    resolve_calls = 0;
    for (int i = 0; i < 3; i++) {
        fx->inst = NULL;
        ASSERT_EQ_INT(0, rt_instance_new(fx->mod, counting_resolve, fx, &o,
                                         &fx->inst, &fx->err));
        ASSERT_EQ_INT(0, call2(fx, "call_cb", 5, 0, &r));
        ASSERT_EQ_INT(20, r);
        ASSERT(rt_instance_vmctx(fx->inst) != NULL);
        rt_instance_free(fx->inst);
    }
    ASSERT_EQ_INT(1, resolve_calls);    /* the module has one import */
    for (int i = 0; i < 2; i++) {       /* another resolver: asked */
        fx->inst = NULL;
        ASSERT_EQ_INT(0, rt_instance_new(fx->mod, resolve, fx, &o, &fx->inst, &fx->err));
        ASSERT_EQ_INT(0, call2(fx, "call_cb", 50, 0, &r));
        ASSERT_EQ_INT(2, r);
        rt_instance_free(fx->inst);
    }
    fx->inst = NULL;                    /* without the option: asked */
    ASSERT_EQ_INT(0, rt_instance_new(fx->mod, counting_resolve, fx, NULL,
                                     &fx->inst, &fx->err));
    rt_instance_free(fx->inst);
    ASSERT_EQ_INT(2, resolve_calls);
    fx->inst = saved;
}

WITH_FIXTURE(call_indirect_checks_via_table, NULL)
{
    uint32_t r;
    ASSERT_EQ_INT(0, call2(fx, "call_tab", 7, 0, &r));    /* add(7, 7) */
    ASSERT_EQ_INT(14, r);
    ASSERT_EQ_INT(0, call2(fx, "call_tab", 7, 1, &r));    /* div(7, 7) */
    ASSERT_EQ_INT(1, r);
    ASSERT_EQ_INT(-1, call2(fx, "call_tab", 7, 2, &r));
    ASSERT_STR_EQ("undefined element", fx->err.msg);
    struct rt_extern tab;
    ASSERT_EQ_INT(0, rt_instance_export(fx->inst, "tab", &tab));
    tab.u.table->elems[1] = NULL;
    ASSERT_EQ_INT(-1, call2(fx, "call_tab", 7, 1, &r));
    ASSERT_STR_EQ("uninitialized element", fx->err.msg);
}

/* ===== Instance state =================================================== */

WITH_FIXTURE(data_segment_and_exports_are_visible, NULL)
{
    struct rt_extern mem, tab, g, add;
    ASSERT_EQ_INT(0, rt_instance_export(fx->inst, "mem", &mem));
    ASSERT_EQ_INT(WM_EXTERN_MEMORY, mem.kind);
    ASSERT_EQ_INT(65536, mem.u.memory->size);
    ASSERT(memcmp(mem.u.memory->base + 16, "hello", 5) == 0);
    ASSERT_EQ_INT(0, rt_instance_export(fx->inst, "tab", &tab));
    ASSERT_EQ_INT(0, rt_instance_export(fx->inst, "add", &add));
    ASSERT_EQ_INT(2, tab.u.table->size);
    ASSERT(tab.u.table->elems[0] == add.u.func);
    ASSERT(rt_func_type(add.u.func)->nparams == 2);
    ASSERT_EQ_INT(0, rt_instance_export(fx->inst, "g", &g));
    ASSERT_EQ_INT(42, g.u.global.cell->i32);
    ASSERT(g.u.global.type.mut);
    g.u.global.cell->i32 = 7;
    uint32_t r;
    ASSERT_EQ_INT(0, call2(fx, "get_g", 0, 0, &r));
    ASSERT_EQ_INT(7, r);
    ASSERT_EQ_INT(-1, rt_instance_export(fx->inst, "nope", &g));
}

WITH_FIXTURE(memory_grow_follows_the_maximum, NULL)
{
    uint32_t r;
    ASSERT_EQ_INT(0, call2(fx, "grow", 0, 0, &r));
    ASSERT_EQ_INT(1, r);
    ASSERT_EQ_INT(0, call2(fx, "grow", 2, 0, &r));
    ASSERT_EQ_INT(1, r);
    ASSERT_EQ_INT(0, call2(fx, "grow", 1, 0, &r));     /* max 3 */
    ASSERT_EQ_INT(0xffffffffu, r);
    ASSERT_EQ_INT(0, call2(fx, "grow", 0x10000, 0, &r));
    ASSERT_EQ_INT(0xffffffffu, r);
    ASSERT_EQ_INT(0, call2(fx, "load", 3 * 65536 - 4, 0, &r));  /* committed */
    ASSERT_EQ_INT(0, r);
    ASSERT_EQ_INT(-1, call2(fx, "load", 3 * 65536 - 3, 0, &r));
    ASSERT_EQ_INT(3 * 65536, rt_instance_vmctx(fx->inst)->memory->size);
}

static const struct rt_instance_options capped = {.max_memory_pages = 2};

WITH_FIXTURE(memory_cap_option_lowers_the_maximum, &capped)
{
    uint32_t r;
    ASSERT_EQ_INT(0, call2(fx, "grow", 1, 0, &r));
    ASSERT_EQ_INT(1, r);
    ASSERT_EQ_INT(0, call2(fx, "grow", 1, 0, &r));
    ASSERT_EQ_INT(0xffffffffu, r);
}

WITH_FIXTURE(two_instances_are_independent, NULL)
{
    struct rt_instance *other;
    ASSERT_EQ_INT(0, rt_instance_new(fx->mod, resolve, fx, NULL, &other,
                                     &fx->err));
    struct rt_extern m1, m2, g1, g2;
    rt_instance_export(fx->inst, "mem", &m1);
    rt_instance_export(other, "mem", &m2);
    rt_instance_export(fx->inst, "g", &g1);
    rt_instance_export(other, "g", &g2);
    bool separate = m1.u.memory->base != m2.u.memory->base &&
                    g1.u.global.cell != g2.u.global.cell;
    m1.u.memory->base[100] = 9;
    g1.u.global.cell->i32 = 1;
    bool untouched = m2.u.memory->base[100] == 0 && g2.u.global.cell->i32 == 42;
    uint32_t r;
    int rc = call2(fx, "grow", 1, 0, &r);
    bool other_size = m2.u.memory->size == 65536;
    rt_instance_free(other);
    ASSERT(separate);
    ASSERT(untouched);
    ASSERT_EQ_INT(0, rc);
    ASSERT(other_size);
}

/* A freed instance's shell (and memory) is reused by the next instance
 * of the module: nothing of the old one may show through. */
WITH_FIXTURE(reused_shell_starts_fresh, NULL)
{
    struct rt_extern mem, tab, g;
    rt_instance_export(fx->inst, "mem", &mem);
    rt_instance_export(fx->inst, "tab", &tab);
    rt_instance_export(fx->inst, "g", &g);
    struct rt_instance *old = fx->inst;
    mem.u.memory->base[16] = 'J';
    mem.u.memory->base[40000] = 1;
    tab.u.table->elems[0] = NULL;
    g.u.global.cell->i32 = 7;
    uint32_t r;
    ASSERT_EQ_INT(0, call2(fx, "grow", 1, 0, &r));
    rt_instance_free(old);
    fx->inst = NULL;
    ASSERT_EQ_INT(0, rt_instance_new(fx->mod, resolve, fx, NULL, &fx->inst,
                                     &fx->err));
    ASSERT(fx->inst == old);            /* the same shell, reused */
    rt_instance_export(fx->inst, "mem", &mem);
    rt_instance_export(fx->inst, "tab", &tab);
    rt_instance_export(fx->inst, "g", &g);
    ASSERT_EQ_INT(65536, mem.u.memory->size);
    ASSERT(memcmp(mem.u.memory->base + 16, "hello", 5) == 0);
    ASSERT_EQ_INT(0, mem.u.memory->base[40000]);
    ASSERT(tab.u.table->elems[0] != NULL);
    ASSERT_EQ_INT(42, g.u.global.cell->i32);
    ASSERT_EQ_INT(0, call2(fx, "call_tab", 7, 0, &r));    /* add(7, 7) */
    ASSERT_EQ_INT(14, r);
}

/* ===== The memory budget ================================================ */

#define PAGE 65536u

/* A second instance of the fixture's module. */
static int instance_more(struct fixture *fx, struct rt_instance **out)
{
    return rt_instance_new(fx->mod, resolve, fx, NULL, out, &fx->err);
}

static uint32_t grow_of(struct fixture *fx, struct rt_instance *inst,
                        uint32_t delta)
{
    struct rt_instance *saved = fx->inst;
    uint32_t r = 0;
    fx->inst = inst;
    if (call2(fx, "grow", delta, 0, &r) != 0)
        r = 0xdeadu;
    fx->inst = saved;
    return r;
}

/* Budget 3 pages: the fixture's memory (1) and another instance's (1)
 * leave room for one page; freeing the other makes room again. */
WITH_FIXTURE(grow_is_refused_at_the_budget_until_memory_is_freed, NULL)
{
    struct rt_instance *other = NULL;
    ASSERT_EQ_U64(PAGE, rt_memory_committed());
    rt_memory_budget_set(3 * PAGE);
    int rc = instance_more(fx, &other);
    uint64_t two = rt_memory_committed();
    uint32_t g1 = grow_of(fx, fx->inst, 1);
    uint32_t g2 = grow_of(fx, fx->inst, 1);
    uint64_t full = rt_memory_committed();
    bool refused = rt_instance_budget_refused(fx->inst);
    bool other_refused = other != NULL && rt_instance_budget_refused(other);
    rt_instance_free(other);
    uint64_t freed = rt_memory_committed();
    uint32_t g3 = grow_of(fx, fx->inst, 1);
    uint64_t again = rt_memory_committed();
    rt_memory_budget_set(0);
    ASSERT_EQ_INT(0, rc);
    ASSERT_EQ_U64(2 * PAGE, two);
    ASSERT_EQ_INT(1, g1);
    ASSERT_EQ_INT(0xffffffffu, g2);            /* the guest sees -1 */
    ASSERT_EQ_U64(3 * PAGE, full);
    ASSERT(refused);
    ASSERT(!other_refused);
    ASSERT_EQ_U64(2 * PAGE, freed);
    ASSERT_EQ_INT(2, g3);
    ASSERT_EQ_U64(3 * PAGE, again);
    ASSERT_EQ_INT(3 * PAGE, rt_instance_vmctx(fx->inst)->memory->size);
}

/* The memory's own maximum (3 pages) refuses, not the budget. */
WITH_FIXTURE(grow_past_the_maximum_is_not_a_budget_refusal, NULL)
{
    rt_memory_budget_set(1u << 30);
    uint32_t g1 = grow_of(fx, fx->inst, 2);
    uint32_t g2 = grow_of(fx, fx->inst, 1);
    rt_memory_budget_set(0);
    ASSERT_EQ_INT(1, g1);
    ASSERT_EQ_INT(0xffffffffu, g2);
    ASSERT(!rt_instance_budget_refused(fx->inst));
}

/* A host memory of 2 MiB fills the budget: the next instance fails with
 * RT_ERR_INSTANTIATE and is handed back, marked, for the caller to free. */
WITH_FIXTURE(instantiation_over_the_budget_fails_with_the_figures, NULL)
{
    rt_instance_free(fx->inst);
    fx->inst = NULL;
    ASSERT_EQ_U64(0, rt_memory_committed());
    rt_memory_budget_set(2u << 20);
    struct rt_host *h = rt_host_new();
    struct awsm_memory *hm = rt_host_memory(h, 32, UINT32_MAX);
    struct awsm_memory *hm2 = rt_host_memory(h, 1, UINT32_MAX);
    struct rt_instance *inst = NULL;
    int rc = instance_more(fx, &inst);
    bool marked = inst != NULL && rt_instance_budget_refused(inst);
    rt_instance_free(inst);
    rt_host_free(h);
    uint64_t after = rt_memory_committed();
    rt_memory_budget_set(0);
    ASSERT(hm != NULL);
    ASSERT(hm2 == NULL);
    ASSERT_EQ_INT(-1, rc);
    ASSERT_EQ_INT(RT_ERR_INSTANTIATE, fx->err.kind);
    ASSERT_STR_EQ("memory budget exhausted: 2 MiB in use of 2 MiB, 64 KiB more "
                  "needed", fx->err.msg);
    ASSERT(marked);
    ASSERT_EQ_U64(0, after);
}

/* Threads create, grow and free instances against a budget smaller than
 * their sum: the count never passes it and ends at zero. */
#define BUDGET_THREADS 4
#define BUDGET_ROUNDS 300

static _Atomic int budget_done;

struct budget_worker {
    struct fixture *fx;
    pthread_t tid;
    uint64_t worst;             /* the largest count seen */
    unsigned refusals, failures;
};

static void *budget_worker_main(void *p)
{
    struct budget_worker *w = p;
    struct fixture fx = *w->fx;         /* own err; shared module, host */
    for (int i = 0; i < BUDGET_ROUNDS; i++) {
        struct rt_instance *inst = NULL;
        if (rt_instance_new(fx.mod, resolve, &fx, NULL, &inst, &fx.err) != 0) {
            w->refusals += inst != NULL && rt_instance_budget_refused(inst);
            w->failures += inst == NULL || !rt_instance_budget_refused(inst);
        } else {
            for (int g = 0; g < 3 && grow_of(&fx, inst, 1) != 0xffffffffu; g++) {
                uint64_t c = rt_memory_committed();
                if (c > w->worst)
                    w->worst = c;
            }
            w->refusals += rt_instance_budget_refused(inst);
        }
        rt_instance_free(inst);
    }
    atomic_fetch_add(&budget_done, 1);
    return NULL;
}

WITH_FIXTURE(concurrent_grows_never_pass_the_budget, NULL)
{
    rt_instance_free(fx->inst);
    fx->inst = NULL;
    rt_memory_budget_set(5 * PAGE);
    struct budget_worker w[BUDGET_THREADS];
    int started = 0;
    for (int i = 0; i < BUDGET_THREADS; i++) {
        w[i] = (struct budget_worker){ .fx = fx };
        if (pthread_create(&w[i].tid, NULL, budget_worker_main, &w[i]) == 0)
            started++;
    }
    uint64_t worst = 0;                 /* sampled while they run */
    while (atomic_load(&budget_done) < started) {
        uint64_t c = rt_memory_committed();
        if (c > worst)
            worst = c;
    }
    for (int i = 0; i < started; i++)
        pthread_join(w[i].tid, NULL);
    uint64_t after = rt_memory_committed();
    rt_memory_budget_set(0);
    ASSERT_EQ_INT(BUDGET_THREADS, started);
    ASSERT(worst <= 5 * PAGE);
    unsigned refusals = 0;
    for (int i = 0; i < BUDGET_THREADS; i++) {
        ASSERT(w[i].worst <= 5 * PAGE);
        ASSERT_EQ_INT(0, w[i].failures);
        refusals += w[i].refusals;
    }
    ASSERT(refusals > 0);
    ASSERT_EQ_U64(0, after);
}

TEST(host_objects_report_their_types)
{
    struct rt_host *h = rt_host_new();
    struct awsm_table *t = rt_host_table(h, WM_FUNCREF, 10, 20);
    struct awsm_memory *m = rt_host_memory(h, 1, 2);
    struct awsm_memory *unbounded = rt_host_memory(h, 0, UINT32_MAX);
    struct wm_tabletype tt;
    struct wm_memtype mt, ut;
    rt_table_type(t, &tt);
    rt_memory_type(m, &mt);
    rt_memory_type(unbounded, &ut);
    bool bad = rt_host_table(h, WM_FUNCREF, 3, 2) != NULL;
    rt_host_free(h);
    ASSERT(!bad);
    ASSERT_EQ_INT(WM_FUNCREF, tt.elem);
    ASSERT_EQ_INT(10, tt.limits.min);
    ASSERT(tt.limits.has_max && tt.limits.max == 20);
    ASSERT_EQ_INT(1, mt.limits.min);
    ASSERT(mt.limits.has_max && mt.limits.max == 2);
    ASSERT(!ut.limits.has_max);
}

TEST_MAIN()
