/*
 * tests/unit/test_recursion.c - a small function that calls itself is
 * inlined into itself a few levels deep (compiler/cg_module.c,
 * plan_recursion): results stay right for one, two and more calls to
 * itself, unbounded recursion still traps "call stack exhausted", no
 * clone is left in the code, and a large function or -O1 gets none.
 */
#include <stdio.h>
#include <string.h>

#include "tests/unit/compile.h"

enum { OP_I32_EQZ = 0x45, OP_I32_SUB = 0x6b };

/*
 * 0 "nodes" (d, _): d == 0 ? 1 : 1 + nodes(d - 1) + nodes(d - 1)
 * 1 "sum" (n, acc): n == 0 ? acc : sum(n - 1, acc + n)   (not a tail call)
 * 2 "forever" (x, y): forever(x + 1, y) + 1
 * 3 "big" (n, y): y += 50 (300 bytes), then n == 0 ? 0 : big(n - 1, y) + 1
 */
static struct rt_module *recursive_module(unsigned opt_level, const char *ir_path)
{
    struct wmod w = { 0 };
    struct wbuf b;
    uint32_t t = mod_type(&w, "ii", "i");
    mod_func(&w, t, "", CODE(W_LOCAL_GET, 0, OP_I32_EQZ, W_IF, 0x7f, W_I32_CONST, 1,
                             W_ELSE, W_I32_CONST, 1,
                             W_LOCAL_GET, 0, W_I32_CONST, 1, OP_I32_SUB, W_LOCAL_GET, 1,
                             W_CALL, 0, W_I32_ADD,
                             W_LOCAL_GET, 0, W_I32_CONST, 1, OP_I32_SUB, W_LOCAL_GET, 1,
                             W_CALL, 0, W_I32_ADD, W_END, W_END));
    mod_func(&w, t, "", CODE(W_LOCAL_GET, 0, OP_I32_EQZ, W_IF, 0x7f, W_LOCAL_GET, 1,
                             W_ELSE, W_LOCAL_GET, 0, W_I32_CONST, 1, OP_I32_SUB,
                             W_LOCAL_GET, 1, W_LOCAL_GET, 0, W_I32_ADD, W_CALL, 1,
                             W_END, W_END));
    mod_func(&w, t, "", CODE(W_LOCAL_GET, 0, W_I32_CONST, 1, W_I32_ADD, W_LOCAL_GET, 1,
                             W_CALL, 2, W_I32_CONST, 1, W_I32_ADD, W_END));
    struct wbuf big = { 0 };
    EMIT(&big, 0);                      /* no locals */
    for (int k = 0; k < 50; k++)        /* 6 bytes each: y = y + 1 */
        EMIT(&big, W_LOCAL_GET, 1, W_I32_CONST, 1, W_I32_ADD, W_LOCAL_SET, 1);
    EMIT(&big, W_LOCAL_GET, 0, OP_I32_EQZ, W_IF, 0x7f, W_I32_CONST, 0, W_ELSE,
         W_LOCAL_GET, 0, W_I32_CONST, 1, OP_I32_SUB, W_LOCAL_GET, 1, W_CALL, 3,
         W_I32_CONST, 1, W_I32_ADD, W_END, W_END);
    mod_func_raw(&w, t, big.p, big.len);
    wb_free(&big);
    mod_export(&w, "nodes", WM_EXTERN_FUNC, 0);
    mod_export(&w, "sum", WM_EXTERN_FUNC, 1);
    mod_export(&w, "forever", WM_EXTERN_FUNC, 2);
    mod_export(&w, "big", WM_EXTERN_FUNC, 3);
    mod_build(&w, &b);
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    opt.opt_level = opt_level;
    opt.emit_llvm = ir_path;
    return test_compile(&b, &opt);
}

/* The optimised IR of the module at opt_level, in a string (freed by the
 * caller), and the module compiled with it in *mod. */
static char *module_ir(unsigned opt_level, struct rt_module **mod)
{
    char path[] = "/tmp/awsm-recursion-XXXXXX.ll";
    int fd = mkstemps(path, 3);
    if (fd < 0)
        return NULL;
    close(fd);
    *mod = recursive_module(opt_level, path);
    uint8_t *text;
    size_t len;
    int e = wm_read_file(path, &text, &len);
    unlink(path);
    if (e != 0)
        return NULL;
    char *s = malloc(len + 1);
    if (s != NULL) {
        memcpy(s, text, len);
        s[len] = 0;
    }
    free(text);
    return s;
}

static uint32_t call(struct rt_instance *inst, const char *name, uint32_t a, uint32_t b)
{
    struct rt_error err;
    uint32_t r = 0;
    if (test_call2(inst, name, a, b, &r, &err) != 0)
        test_fail(__FILE__, __LINE__, "%s(%u, %u): %s", name, a, b, err.msg);
    return r;
}

static void check_results(struct rt_module *m)
{
    struct rt_instance *inst;
    struct rt_error err;
    uint32_t r;
    ASSERT_EQ_INT(0, rt_instance_new(m, NULL, NULL, NULL, &inst, &err));
    for (uint32_t d = 0; d <= 12; d++)
        ASSERT_EQ_U64((2u << d) - 1, call(inst, "nodes", d, 0));
    for (uint32_t n = 0; n <= 7; n++)   /* every depth mod 4, and more */
        ASSERT_EQ_U64(n * (n + 1) / 2 + 5, call(inst, "sum", n, 5));
    ASSERT_EQ_U64(20000u * 20001u / 2, call(inst, "sum", 20000, 0));
    ASSERT_EQ_U64(7, call(inst, "big", 7, 0));
    ASSERT_EQ_INT(-1, test_call2(inst, "forever", 0, 0, &r, &err));
    ASSERT_EQ_INT(RT_ERR_TRAP, err.kind);
    ASSERT_EQ_INT(AWSM_TRAP_STACK_EXHAUSTED, err.trap);
    /* The instance is still good after the trap. */
    ASSERT_EQ_U64(15, call(inst, "nodes", 3, 0));
    rt_instance_free(inst);
}

TEST(self_recursion_is_inlined_and_every_result_is_the_same)
{
    struct rt_module *m = NULL;
    char *ir = module_ir(2, &m);
    ASSERT(ir != NULL && m != NULL);
    /* Clones of the small functions were made and inlined (the last is
     * called only by the one before), and none is left as a function;
     * the large one got none. */
    ASSERT_STR_CONTAINS(ir, "awsm_clone_f0_3.exit");
    ASSERT(strstr(ir, "define internal i32 @awsm_clone") == NULL);
    ASSERT(strstr(ir, "awsm_clone_f3") == NULL);
    free(ir);
    check_results(m);
    rt_module_free(m);
}

TEST(at_O1_nothing_is_cloned_and_results_are_the_same)
{
    struct rt_module *m = NULL;
    char *ir = module_ir(1, &m);
    ASSERT(ir != NULL && m != NULL);
    ASSERT(strstr(ir, "awsm_clone") == NULL);
    free(ir);
    check_results(m);
    rt_module_free(m);
}

TEST_MAIN()
