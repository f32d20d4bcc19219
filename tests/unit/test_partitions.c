/*
 * tests/unit/test_partitions.c - a large module is compiled in parts on
 * several threads (compiler/cg_module.c, "Partitions"): the shared object
 * is byte-identical whatever the thread count, progress is reported once
 * per part, and calls, tail calls, exceptions, traps and interrupts cross
 * from one part to another as they do within one.
 */
#include <stdio.h>
#include <string.h>

#include "tests/unit/compile.h"

enum {
    NFUNCS = 40,                    /* 40 x ~7.2 KB: more than two parts */
    NOPS = 600,                     /* x = rotl(x ^ c, r) per op */
    OP_RETURN_CALL = 0x12, OP_I32_EQZ = 0x45, OP_I32_SUB = 0x6b,
    OP_I32_DIV_U = 0x6e, OP_I32_XOR = 0x73, OP_I32_ROTL = 0x77,
};

static uint32_t op_const(uint32_t f, uint32_t k) { return f * 100003u + k * 7919u; }
static uint32_t op_rot(uint32_t f, uint32_t k) { return (f + k) % 31 + 1; }

static uint32_t rotl(uint32_t x, uint32_t r) { return x << r | x >> (32 - r); }

/* What run(x, n) returns: f_0 .. f_{N-1} in turn, n + 1 of them. */
static uint32_t expected(uint32_t x, uint32_t n)
{
    for (uint32_t f = 0;; f = (f + 1) % NFUNCS) {
        for (uint32_t k = 0; k < NOPS; k++)
            x = rotl(x ^ op_const(f, k), op_rot(f, k));
        if (n-- == 0)
            return x;
    }
}

/*
 * Functions 0 to 2 are in the first part, the chain and 43, 44 in the last:
 * 0 (export "catch") (param x y): (try (call 44 x y) (catch $e 1000 +)),
 *   with exceptions; else x + y
 * 1 (export "div") (param x y): (call 43 x y)
 * 2 (export "spin") (param $n y): a loop of n trips, each (call 43 1 1),
 *   then 0: 43 makes no call, so it has no stack check, and the loop
 *   must poll
 * 3 + i, i < NFUNCS (3 is export "run") (param $x i32) (param $n i32):
 *   x = rotl(x ^ c, r) ... NOPS times
 *   (if (i32.eqz n) (return x))
 *   (call $f_{i+1} x (n - 1))          ;; return_call with tail calls
 * 43 (param x y): 1 / x
 * 44 (export "throw") (param x y): (if x (throw $e x)) y, with exceptions
 */
enum { F_SPIN = 2, F_CHAIN, F_DIV = F_CHAIN + NFUNCS, F_THROW };

static struct rt_module *big_module(unsigned features, const struct cg_options *base,
                                    const char *keep_as)
{
    struct wmod w = { 0 };
    struct wbuf b;
    uint32_t t = mod_type(&w, "ii", "i");
    bool tail = features & WM_FEATURE_TAIL_CALL;
    bool exn = features & WM_FEATURE_EXCEPTIONS;
    uint32_t e = exn ? mod_tag(&w, mod_type(&w, "i", "")) : 0;
    if (exn)
        mod_func(&w, t, "", CODE(W_TRY, 0x7f, W_LOCAL_GET, 0, W_LOCAL_GET, 1, W_CALL,
                                 F_THROW, 0x07, (uint8_t)e, W_I32_CONST, 0xe8, 0x07,
                                 W_I32_ADD, W_END, W_END));
    else
        mod_func(&w, t, "", CODE(W_LOCAL_GET, 0, W_LOCAL_GET, 1, W_I32_ADD, W_END));
    mod_func(&w, t, "", CODE(W_LOCAL_GET, 0, W_LOCAL_GET, 1, W_CALL, F_DIV, W_END));
    mod_func(&w, t, "", CODE(
        W_BLOCK, W_EMPTY, W_LOOP, W_EMPTY,
          W_LOCAL_GET, 0, OP_I32_EQZ, W_BR_IF, 1,
          W_I32_CONST, 1, W_I32_CONST, 1, W_CALL, F_DIV, W_DROP,
          W_LOCAL_GET, 0, W_I32_CONST, 1, OP_I32_SUB, W_LOCAL_SET, 0,
          W_BR, 0,
        W_END, W_END, W_I32_CONST, 0, W_END));
    for (uint32_t f = 0; f < NFUNCS; f++) {
        struct wbuf body = { 0 };
        EMIT(&body, 0);                 /* no locals */
        for (uint32_t k = 0; k < NOPS; k++) {
            EMIT(&body, W_LOCAL_GET, 0, W_I32_CONST);
            wb_s32(&body, (int32_t)op_const(f, k));
            EMIT(&body, OP_I32_XOR, W_I32_CONST);
            wb_s32(&body, (int32_t)op_rot(f, k));
            EMIT(&body, OP_I32_ROTL, W_LOCAL_SET, 0);
        }
        EMIT(&body, W_LOCAL_GET, 1, OP_I32_EQZ, W_IF, 0x40, W_LOCAL_GET, 0, W_RETURN,
             W_END, W_LOCAL_GET, 0, W_LOCAL_GET, 1, W_I32_CONST, 1, OP_I32_SUB,
             tail ? OP_RETURN_CALL : W_CALL);
        wb_u32(&body, F_CHAIN + (f + 1) % NFUNCS);
        EMIT(&body, W_END);
        mod_func_raw(&w, t, body.p, body.len);
        wb_free(&body);
    }
    mod_func(&w, t, "", CODE(W_I32_CONST, 1, W_LOCAL_GET, 0, OP_I32_DIV_U, W_END));
    if (exn) {
        mod_func(&w, t, "", CODE(W_LOCAL_GET, 0, W_IF, 0x40, W_LOCAL_GET, 0, W_THROW,
                                 (uint8_t)e, W_END, W_LOCAL_GET, 1, W_END));
        mod_export(&w, "catch", WM_EXTERN_FUNC, 0);
        mod_export(&w, "throw", WM_EXTERN_FUNC, F_THROW);
    }
    mod_export(&w, "run", WM_EXTERN_FUNC, F_CHAIN);
    mod_export(&w, "div", WM_EXTERN_FUNC, 1);
    mod_export(&w, "spin", WM_EXTERN_FUNC, F_SPIN);
    mod_build(&w, &b);
    struct cg_options opt = *base;
    opt.features = features;
    /* keep_as: the test compares the files. */
    return keep_as ? test_compile_to(&b, &opt, keep_as) : test_compile(&b, &opt);
}

struct progress {
    unsigned calls, last_done, total;
    bool in_order;
};

static void on_progress(void *arg, unsigned done, unsigned total)
{
    struct progress *p = arg;
    p->in_order &= done == p->last_done + 1 && (p->total == 0 || total == p->total);
    p->calls++;
    p->last_done = done;
    p->total = total;
}

static bool same_file(const char *a, const char *b)
{
    uint8_t *pa, *pb;
    size_t na, nb;
    if (wm_read_file(a, &pa, &na) != 0)
        return false;
    if (wm_read_file(b, &pb, &nb) != 0) {
        free(pa);
        return false;
    }
    bool same = na == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

static uint32_t run(struct rt_module *mod, uint32_t x, uint32_t n)
{
    struct rt_instance *inst;
    struct rt_error err;
    uint32_t r = 0;
    if (rt_instance_new(mod, NULL, NULL, NULL, &inst, &err) != 0) {
        test_fail(__FILE__, __LINE__, "%s", err.msg);
        return 0;
    }
    if (test_call2(inst, "run", x, n, &r, &err) != 0)
        test_fail(__FILE__, __LINE__, "%s", err.msg);
    rt_instance_free(inst);
    return r;
}

TEST(a_large_module_is_compiled_in_parts_the_same_on_any_thread_count)
{
    char one[] = "/tmp/awsm-parts-1-XXXXXX.so", three[] = "/tmp/awsm-parts-3-XXXXXX.so";
    int fd1 = mkstemps(one, 3), fd3 = mkstemps(three, 3);
    ASSERT(fd1 >= 0 && fd3 >= 0);
    close(fd1);
    close(fd3);
    struct progress p1 = { .in_order = true }, p3 = { .in_order = true };
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    opt.progress = on_progress;
    opt.jobs = 1;
    opt.progress_arg = &p1;
    struct rt_module *m1 = big_module(0, &opt, one);
    opt.jobs = 3;
    opt.progress_arg = &p3;
    struct rt_module *m3 = big_module(0, &opt, three);
    ASSERT(m1 != NULL && m3 != NULL);
    ASSERT(same_file(one, three));
    unlink(one);
    unlink(three);
    /* More than one part, each reported once, in order, on both counts. */
    ASSERT(p1.total >= 2);
    ASSERT_EQ_INT(p1.total, p3.total);
    ASSERT_EQ_INT(p1.total, p1.calls);
    ASSERT_EQ_INT(p3.total, p3.calls);
    ASSERT(p1.in_order && p3.in_order);
    /* Each run passes every function, so every part, twice. */
    ASSERT_EQ_U64(expected(12345, 2 * NFUNCS), run(m1, 12345, 2 * NFUNCS));
    ASSERT_EQ_U64(expected(7, 0), run(m3, 7, 0));
    rt_module_free(m1);
    rt_module_free(m3);
}

TEST(a_small_module_is_compiled_whole)
{
    struct wbuf b;
    mod_adder(&b);
    struct progress p = { .in_order = true };
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    opt.progress = on_progress;
    opt.progress_arg = &p;
    struct rt_module *m = test_compile(&b, &opt);
    ASSERT(m != NULL);
    ASSERT_EQ_INT(1, p.calls);
    ASSERT_EQ_INT(1, p.total);
    rt_module_free(m);
}

TEST(tail_calls_cross_parts_in_constant_stack)
{
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    struct rt_module *tail = big_module(WM_FEATURE_TAIL_CALL, &opt, NULL);
    struct rt_module *plain = big_module(0, &opt, NULL);
    ASSERT(tail != NULL && plain != NULL);
    /* A million calls deep exhaust the stack; a million tail calls do not. */
    enum { DEPTH = 1000000 };
    ASSERT_EQ_U64(expected(99, DEPTH), run(tail, 99, DEPTH));
    struct rt_instance *inst;
    struct rt_error err;
    uint32_t r;
    ASSERT_EQ_INT(0, rt_instance_new(plain, NULL, NULL, NULL, &inst, &err));
    ASSERT_EQ_INT(-1, test_call2(inst, "run", 99, DEPTH, &r, &err));
    ASSERT_EQ_INT(AWSM_TRAP_STACK_EXHAUSTED, err.trap);
    rt_instance_free(inst);
    rt_module_free(tail);
    rt_module_free(plain);
}

TEST(traps_and_exceptions_cross_parts)
{
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    opt.bounds = AWSM_BOUNDS_CHECKED;
    struct rt_module *m = big_module(WM_FEATURE_EXCEPTIONS, &opt, NULL);
    ASSERT(m != NULL);
    ASSERT_EQ_U64(expected(3, 45), run(m, 3, 45));
    struct rt_instance *inst;
    struct rt_error err;
    uint32_t r = 0;
    ASSERT_EQ_INT(0, rt_instance_new(m, NULL, NULL, NULL, &inst, &err));
    /* A trap in the last part, called from the first: its kind, and a
     * backtrace through both (no call is inlined across parts). */
    ASSERT_EQ_INT(0, test_call2(inst, "div", 1, 0, &r, &err));
    ASSERT_EQ_INT(1, r);
    ASSERT_EQ_INT(-1, test_call2(inst, "div", 0, 0, &r, &err));
    ASSERT_EQ_INT(RT_ERR_TRAP, err.kind);
    ASSERT_EQ_INT(AWSM_TRAP_INT_DIV_ZERO, err.trap);
    ASSERT(err.nframes >= 2);
    ASSERT_EQ_INT(F_DIV, err.frames[0]);
    ASSERT_EQ_INT(1, err.frames[1]);
    /* An exception thrown in the last part and caught in the first. */
    ASSERT_EQ_INT(0, test_call2(inst, "catch", 5, 9, &r, &err));
    ASSERT_EQ_INT(1005, r);
    ASSERT_EQ_INT(0, test_call2(inst, "catch", 0, 9, &r, &err));
    ASSERT_EQ_INT(9, r);
    ASSERT_EQ_INT(-1, test_call2(inst, "throw", 5, 0, &r, &err));
    ASSERT_EQ_INT(AWSM_TRAP_UNCAUGHT_EXCEPTION, err.trap);
    rt_instance_free(inst);
    rt_module_free(m);
}

/* An interrupt requested before the call stops a loop in the first part
 * whose only call goes to a function of the last part without a stack
 * check: the loop polls, as the poll pass cannot see the callee's
 * attributes from another part. Without the interrupt it runs to its end. */
TEST(a_loop_calling_into_another_part_is_interruptible)
{
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    struct rt_module *m = big_module(0, &opt, NULL);
    ASSERT(m != NULL);
    struct rt_instance *inst;
    struct rt_error err;
    uint32_t r = 1;
    ASSERT_EQ_INT(0, rt_instance_new(m, NULL, NULL, NULL, &inst, &err));
    ASSERT_EQ_INT(0, test_call2(inst, "spin", 100000, 0, &r, &err));
    ASSERT_EQ_INT(0, r);
    rt_instance_interrupt(inst);
    ASSERT_EQ_INT(-1, test_call2(inst, "spin", 100000, 0, &r, &err));
    ASSERT_EQ_INT(RT_ERR_TRAP, err.kind);
    ASSERT_EQ_INT(AWSM_TRAP_INTERRUPTED, err.trap);
    rt_instance_free(inst);
    rt_module_free(m);
}

TEST_MAIN()
