/*
 * tests/unit/test_callconv.c - modules compiled with the tail-call feature
 * (LLVM tailcc) and without it (the C convention) never call each other's
 * functions in the wrong convention, nor do modules compiled with
 * exception handling and without (an exception would pass a caller that
 * does not look for it): importing across them fails to link with a
 * message that says why; every kind imports host functions (a tailcc
 * module through its adapter) and modules of one kind link. Host frames
 * never pass an exception on: a host function's nested rt_call reports
 * it as an error, and a host function's trap is no exception either.
 */
#include <string.h>

#include "tests/unit/compile.h"

/* (func (export "add") (param i32 i32) (result i32) a + b) */
static struct rt_module *adder(unsigned features)
{
    struct wbuf b;
    mod_adder(&b);
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    opt.features = features;
    return test_compile(&b, &opt);
}

/* (import "x" "add" (func (param i32 i32) (result i32)))
 * (func (export "twice") (param i32 i32) (result i32) add(add(a, b), b)) */
static struct rt_module *caller(unsigned features)
{
    struct wmod w = { 0 };
    struct wbuf b;
    uint32_t t = mod_type(&w, "ii", "i");
    mod_import_func(&w, "x", "add", t);
    uint32_t f = mod_func(&w, t, "", CODE(W_LOCAL_GET, 0, W_LOCAL_GET, 1,
                                          W_CALL, 0, W_LOCAL_GET, 1, W_CALL, 0,
                                          W_END));
    mod_export(&w, "twice", WM_EXTERN_FUNC, f);
    mod_build(&w, &b);
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    opt.features = features;
    return test_compile(&b, &opt);
}

static int resolve_one(void *ud, const struct wm_import *im, struct rt_extern *out)
{
    (void)im;
    out->kind = WM_EXTERN_FUNC;
    out->u.func = ud;
    return 0;
}

static int32_t host_add(struct awsm_vmctx *vm, int32_t a, int32_t b)
{
    (void)vm;
    return a + b;
}

/* Instantiate the caller against `f` and call twice(2, 3): 0 with the
 * result, or -1 with err. */
static int run_caller(struct rt_module *c, struct awsm_funcref *f, uint32_t *r,
                      struct rt_error *err)
{
    struct rt_instance *inst;
    if (rt_instance_new(c, resolve_one, f, NULL, &inst, err) != 0)
        return -1;
    int rc = test_call2(inst, "twice", 2, 3, r, err);
    rt_instance_free(inst);
    return rc;
}

TEST(modules_of_one_convention_link_and_the_other_is_refused)
{
    static const unsigned kinds[3] = { 0, WM_FEATURE_TAIL_CALL, WM_FEATURE_EXCEPTIONS };
    static const char *const why[3] = { "", "compiled for tail calls",
                                        "compiled with exception handling" };
    for (int a = 0; a < 3; a++) {
        for (int c = 0; c < 3; c++) {
            struct rt_module *ma = adder(kinds[a]), *mc = caller(kinds[c]);
            ASSERT(ma != NULL && mc != NULL);
            struct rt_instance *ia;
            struct rt_error err;
            struct rt_extern ex;
            ASSERT_EQ_INT(0, rt_instance_new(ma, NULL, NULL, NULL, &ia, &err));
            ASSERT_EQ_INT(0, rt_instance_export(ia, "add", &ex));
            uint32_t r = 0;
            int rc = run_caller(mc, ex.u.func, &r, &err);
            if (a == c) {
                ASSERT_EQ_INT(0, rc);
                ASSERT_EQ_INT(8, r);
            } else {
                ASSERT_EQ_INT(-1, rc);
                ASSERT_EQ_INT(RT_ERR_LINK, err.kind);
                ASSERT_STR_CONTAINS(err.msg, why[a == 1 || c == 1 ? 1 : 2]);
            }
            rt_instance_free(ia);
            rt_module_free(ma);
            rt_module_free(mc);
        }
    }
}

TEST(host_functions_serve_both_conventions)
{
    static const wm_valtype params[] = { WM_I32, WM_I32 }, results[] = { WM_I32 };
    const struct wm_functype ii_i = { 2, 1, params, results };
    struct rt_host *h = rt_host_new();
    ASSERT(h != NULL);
    struct awsm_funcref *f = rt_host_func(h, &ii_i, (void *)host_add);
    ASSERT(f != NULL);
    static const unsigned kinds[3] = { 0, WM_FEATURE_TAIL_CALL, WM_FEATURE_EXCEPTIONS };
    for (int c = 0; c < 3; c++) {
        struct rt_module *mc = caller(kinds[c]);
        ASSERT(mc != NULL);
        uint32_t r = 0;
        struct rt_error err;
        ASSERT_EQ_INT(0, run_caller(mc, f, &r, &err));
        ASSERT_EQ_INT(8, r);
        rt_module_free(mc);
    }
    rt_host_free(h);
}

/* ===== Host frames and exceptions ======================================= */

static struct rt_error nested_err;
static int nested_rc;

/* x.host(x): calls the importer's "throw"(x) through a nested rt_call,
 * whose exception must come back as an error; x == 99 traps instead. */
static int32_t host_rethrower(struct awsm_vmctx *vm, int32_t x)
{
    struct rt_instance *inst = vm->instance;
    if (x == 99)
        rt_instance_trap(inst, AWSM_TRAP_HOST);
    uint32_t r;
    nested_rc = test_call2(inst, "throw", (uint32_t)x, 0, &r, &nested_err);
    return x + 1;
}

/* (tag $e (param i32))
 * (import "x" "host" (func $host (param i32) (result i32)))
 * (func (export "throw") (param i32) (throw $e (local.get 0)))
 * (func (export "via_host") (param i32) (result i32)
 *   (try (result i32) (do (call $host (local.get 0))) (catch_all (i32.const -1)))) */
static struct rt_module *host_caller(void)
{
    struct wmod w = { 0 };
    struct wbuf b;
    uint32_t t_void = mod_type(&w, "i", ""), t_int = mod_type(&w, "i", "i");
    uint32_t host = mod_import_func(&w, "x", "host", t_int);
    uint32_t e = mod_tag(&w, t_void);
    uint32_t thr = mod_func(&w, t_void, "", CODE(W_LOCAL_GET, 0, W_THROW, e, W_END));
    uint32_t via = mod_func(&w, t_int, "", CODE(W_TRY, 0x7f, W_LOCAL_GET, 0,
                                                W_CALL, host, W_CATCH_ALL,
                                                W_I32_CONST, 0x7f, W_END, W_END));
    mod_export(&w, "throw", WM_EXTERN_FUNC, thr);
    mod_export(&w, "via_host", WM_EXTERN_FUNC, via);
    mod_build(&w, &b);
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    opt.features = WM_FEATURE_EXCEPTIONS;
    return test_compile(&b, &opt);
}

TEST(host_frames_never_pass_an_exception_on)
{
    static const wm_valtype i32[] = { WM_I32 };
    const struct wm_functype i_i = { 1, 1, i32, i32 };
    struct rt_host *h = rt_host_new();
    ASSERT(h != NULL);
    struct awsm_funcref *f = rt_host_func(h, &i_i, (void *)host_rethrower);
    struct rt_module *m = host_caller();
    ASSERT(f != NULL && m != NULL);
    struct rt_instance *inst;
    struct rt_error err;
    ASSERT_EQ_INT(0, rt_instance_new(m, resolve_one, f, NULL, &inst, &err));
    uint32_t r = 0;
    /* Straight from the host: an error, the trap kind saying what. */
    ASSERT_EQ_INT(-1, test_call2(inst, "throw", 5, 0, &r, &err));
    ASSERT_EQ_INT(RT_ERR_TRAP, err.kind);
    ASSERT_EQ_INT(AWSM_TRAP_UNCAUGHT_EXCEPTION, err.trap);
    ASSERT_STR_CONTAINS(err.msg, "uncaught exception");
    /* Through a host frame: the nested call fails, the host function
     * returns normally and the outer catch_all has nothing to catch. */
    for (int i = 0; i < 3; i++) {
        nested_rc = 0;
        ASSERT_EQ_INT(0, test_call2(inst, "via_host", 7, 0, &r, &err));
        ASSERT_EQ_INT(8, r);
        ASSERT_EQ_INT(-1, nested_rc);
        ASSERT_EQ_INT(AWSM_TRAP_UNCAUGHT_EXCEPTION, nested_err.trap);
    }
    /* A host function's trap is not an exception: catch_all misses it. */
    ASSERT_EQ_INT(-1, test_call2(inst, "via_host", 99, 0, &r, &err));
    ASSERT_EQ_INT(RT_ERR_TRAP, err.kind);
    ASSERT_EQ_INT(AWSM_TRAP_HOST, err.trap);
    ASSERT_EQ_INT(0, test_call2(inst, "via_host", 1, 0, &r, &err));
    ASSERT_EQ_INT(2, r);
    rt_instance_free(inst);
    rt_module_free(m);
    rt_host_free(h);
}

TEST_MAIN()
