/*
 * tests/unit/test_runtime.c - the runtime core against fake compiled
 * modules (fake_module.c built as .so files): loading and its refusals,
 * linking, instantiation, calls, traps of every origin (service call,
 * guard-page fault, stack limit, stack guard page), nested calls through
 * a host function, memory growth limits, and instance independence.
 */
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
    ASSERT_STR_CONTAINS(err.msg, ": ABI version 0 but this runtime needs 2: "
                        "recompile with this awsmc");
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
    ASSERT_STR_CONTAINS(err.msg, "cannot load /nonexistent/app.so");
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
