/*
 * tests/unit/test_callconv.c - modules compiled with the tail-call feature
 * (LLVM tailcc) and without it (the C convention) never call each other's
 * functions in the wrong convention: importing across them fails to link
 * with a message that says why; both kinds import host functions (a
 * tailcc module through its adapter) and modules of one kind link.
 */
#include <string.h>

#include "tests/unit/compile.h"

/* (func (export "add") (param i32 i32) (result i32) a + b) */
static struct rt_module *adder(unsigned features)
{
    struct wmod w = { 0 };
    struct wbuf b;
    uint32_t t = mod_type(&w, "ii", "i");
    uint32_t f = mod_func(&w, t, "", CODE(W_LOCAL_GET, 0, W_LOCAL_GET, 1,
                                          W_I32_ADD, W_END));
    mod_export(&w, "add", WM_EXTERN_FUNC, f);
    mod_build(&w, &b);
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
    static const unsigned kinds[2] = { 0, WM_FEATURE_TAIL_CALL };
    for (int a = 0; a < 2; a++) {
        for (int c = 0; c < 2; c++) {
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
                ASSERT_STR_CONTAINS(err.msg, "compiled for tail calls");
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
    for (int c = 0; c < 2; c++) {
        struct rt_module *mc = caller(c ? WM_FEATURE_TAIL_CALL : 0);
        ASSERT(mc != NULL);
        uint32_t r = 0;
        struct rt_error err;
        ASSERT_EQ_INT(0, run_caller(mc, f, &r, &err));
        ASSERT_EQ_INT(8, r);
        rt_module_free(mc);
    }
    rt_host_free(h);
}

TEST_MAIN()
