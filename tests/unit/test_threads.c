/*
 * tests/unit/test_threads.c - compiled code has no global mutable state:
 * instances of one compiled module run on several threads at once, each
 * with its own memory and globals, and a trap on one thread stays there.
 * The module is built here, compiled with cg_compile in both bounds modes,
 * and loaded with the runtime.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/compiler.h"
#include "runtime/runtime.h"
#include "compile.h"
#include "test.h"

#define NTHREADS 4
#define ROUNDS 200

/*
 * (memory 1) (global $g (mut i32) 0)
 * (func "work" (param $seed i32) (param $n i32) (result i32)
 *   ;; mem[0] = seed; loop n: mem[0] = mem[0]*31 + i, g += 1; return mem[0]
 * (func "div" (param i32 i32) (result i32) (i32.div_s a b))
 * (func "count" (result i32) (global.get $g))
 */
static void build_module(struct wbuf *out)
{
    struct wmod w = { 0 };
    uint32_t t_ii_i = mod_type(&w, "ii", "i");
    uint32_t t_i = mod_type(&w, "", "i");
    mod_memory(&w, 1, -1);
    mod_global(&w, 'i', true, CODE(W_I32_CONST, 0, W_END));
    uint32_t work = mod_func(&w, t_ii_i, "i", CODE(
        W_I32_CONST, 0, W_LOCAL_GET, 0, 0x36, 2, 0,          /* mem[0] = seed */
        W_BLOCK, W_EMPTY, W_LOOP, W_EMPTY,
          W_LOCAL_GET, 2, W_LOCAL_GET, 1, 0x4e, W_BR_IF, 1,   /* i >= n: out */
          W_I32_CONST, 0,
          W_I32_CONST, 0, W_I32_LOAD, 2, 0, W_I32_CONST, 31, 0x6c,
          W_LOCAL_GET, 2, W_I32_ADD, 0x36, 2, 0,              /* mem[0] = ... */
          W_GLOBAL_GET, 0, W_I32_CONST, 1, W_I32_ADD, W_GLOBAL_SET, 0,
          W_LOCAL_GET, 2, W_I32_CONST, 1, W_I32_ADD, W_LOCAL_SET, 2,
          W_BR, 0,
        W_END, W_END,
        W_I32_CONST, 0, W_I32_LOAD, 2, 0, W_END));
    uint32_t div = mod_func(&w, t_ii_i, "", CODE(
        W_LOCAL_GET, 0, W_LOCAL_GET, 1, 0x6d, W_END));
    uint32_t count = mod_func(&w, t_i, "", CODE(W_GLOBAL_GET, 0, W_END));
    mod_export(&w, "work", WM_EXTERN_FUNC, work);
    mod_export(&w, "div", WM_EXTERN_FUNC, div);
    mod_export(&w, "count", WM_EXTERN_FUNC, count);
    mod_build(&w, out);
}

static uint32_t expected_work(uint32_t seed, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        seed = seed * 31u + i;
    return seed;
}

struct worker {
    struct rt_module *mod;
    uint32_t seed;
    int failures;
    char what[600];
};

static void fail(struct worker *w, const char *what)
{
    if (!w->failures++)
        snprintf(w->what, sizeof w->what, "seed %u: %s", w->seed, what);
}

/* Each round: a fresh instance, some work, a trap, then more work. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int round = 0; round < ROUNDS && !w->failures; round++) {
        struct rt_instance *inst = NULL;
        struct rt_error err;
        uint32_t r, n = 1000 + (uint32_t)round;
        if (rt_instance_new(w->mod, NULL, NULL, NULL, &inst, &err) != 0) {
            fail(w, err.msg);
            break;
        }
        if (test_call2(inst, "work", w->seed, n, &r, &err) != 0 ||
            r != expected_work(w->seed, n))
            fail(w, "work returned a wrong value");
        if (test_call2(inst, "div", 1, 0, &r, &err) != -1 || err.kind != RT_ERR_TRAP ||
            err.trap != AWSM_TRAP_INT_DIV_ZERO)
            fail(w, "div by zero did not trap with its kind");
        if (test_call2(inst, "work", w->seed + 1, 10, &r, &err) != 0 ||
            r != expected_work(w->seed + 1, 10))
            fail(w, "work after a trap returned a wrong value");
        if (test_call2(inst, "count", 0, 0, &r, &err) != 0 || r != n + 10)
            fail(w, "the global counted another instance's work");
        rt_instance_free(inst);
    }
    return NULL;
}

/* Compile the module and load it. */
static struct rt_module *compile_and_load(enum awsm_bounds bounds)
{
    struct wbuf b;
    build_module(&b);
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    opt.bounds = bounds;
    return test_compile(&b, &opt);
}

/* A trap names the function it happened in (innermost frame first), for
 * both kinds of trap: an explicit check and a guard-page fault. */
TEST(trap_backtrace_names_the_trapping_function)
{
    struct rt_module *mod = compile_and_load(AWSM_BOUNDS_GUARD);
    struct rt_instance *inst = NULL;
    struct rt_error err;
    uint32_t r;
    ASSERT(mod != NULL);
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &inst, &err));
    ASSERT_EQ_INT(-1, test_call2(inst, "div", 1, 0, &r, &err));
    ASSERT_EQ_INT(AWSM_TRAP_INT_DIV_ZERO, err.trap);
    ASSERT(err.nframes >= 1);
    ASSERT_EQ_INT(1, err.frames[0]);                /* func 1 is "div" */
    rt_instance_free(inst);
    rt_module_free(mod);
}

static void run_threads(enum awsm_bounds bounds)
{
    struct rt_module *mod = compile_and_load(bounds);
    ASSERT(mod != NULL);

    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){ .mod = mod, .seed = 7u + (uint32_t)i * 1000u };
        ASSERT_EQ_INT(0, pthread_create(&th[i], NULL, worker_main, &w[i]));
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NTHREADS; i++) {
        if (w[i].failures)
            test_fail(__FILE__, __LINE__, "thread %d: %s", i, w[i].what);
    }
    rt_module_free(mod);
}

TEST(instances_run_on_four_threads_at_once_guard_mode)
{
    run_threads(AWSM_BOUNDS_GUARD);
}

TEST(instances_run_on_four_threads_at_once_checked_mode)
{
    run_threads(AWSM_BOUNDS_CHECKED);
}

TEST_MAIN()
