/*
 * tests/unit/test_threads.c - compiled code has no global mutable state:
 * instances of one compiled module run on several threads at once, each
 * with its own memory and globals, and a trap on one thread stays there;
 * instances on several threads share one shared memory (the threads
 * proposal): atomic adds lose nothing, wait blocks until a notify.
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

/* Build a module, compile it with the proposals of `features` and load it. */
static struct rt_module *compile_built(void (*build)(struct wbuf *),
                                       enum awsm_bounds bounds, unsigned features)
{
    struct wbuf b;
    build(&b);
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    opt.bounds = bounds;
    opt.features |= features;
    return test_compile(&b, &opt);
}

static struct rt_module *compile_and_load(enum awsm_bounds bounds)
{
    return compile_built(build_module, bounds, 0);
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

/* ===== One shared memory, instances on several threads ================== */

#define SHARED_ADDS 100000u

/*
 * (import "host" "mem" (memory 1 16 shared))
 * (func "add" (param $n i32) (param i32) (result i32)
 *   ;; n times i32.atomic.rmw.add at 0; then i32.atomic.load at 0
 * (func "wait" (param $addr i32) (param $expected i32) (result i32)
 *   (memory.atomic.wait32 addr expected (i64.const -1)))   ;; no timeout
 * (func "notify" (param $addr i32) (param $count i32) (result i32))
 */
static void build_shared_module(struct wbuf *out)
{
    struct wmod w = { 0 };
    uint32_t t_ii_i = mod_type(&w, "ii", "i");
    struct wbuf *imp = mod_item(&w, SEC_IMPORT);
    wb_name(imp, "host");
    wb_name(imp, "mem");
    EMIT(imp, 0x02, 0x03, 1, 16);                   /* memory, shared 1..16 */
    uint32_t add = mod_func(&w, t_ii_i, "", CODE(
        W_BLOCK, W_EMPTY, W_LOOP, W_EMPTY,
          W_LOCAL_GET, 0, 0x45, W_BR_IF, 1,           /* n == 0: out */
          W_I32_CONST, 0, W_I32_CONST, 1, 0xfe, 0x1e, 2, 0, W_DROP,
          W_LOCAL_GET, 0, W_I32_CONST, 1, 0x6b, W_LOCAL_SET, 0,
          W_BR, 0,
        W_END, W_END,
        W_I32_CONST, 0, 0xfe, 0x10, 2, 0, W_END));
    uint32_t wait = mod_func(&w, t_ii_i, "", CODE(
        W_LOCAL_GET, 0, W_LOCAL_GET, 1, W_I64_CONST, 0x7f, 0xfe, 0x01, 2, 0, W_END));
    uint32_t notify = mod_func(&w, t_ii_i, "", CODE(
        W_LOCAL_GET, 0, W_LOCAL_GET, 1, 0xfe, 0x00, 2, 0, W_END));
    mod_export(&w, "add", WM_EXTERN_FUNC, add);
    mod_export(&w, "wait", WM_EXTERN_FUNC, wait);
    mod_export(&w, "notify", WM_EXTERN_FUNC, notify);
    mod_build(&w, out);
}

static int resolve_shared(void *ud, const struct wm_import *im, struct rt_extern *out)
{
    if (im->kind != WM_EXTERN_MEMORY)
        return -1;
    out->kind = WM_EXTERN_MEMORY;
    out->u.memory = ud;
    return 0;
}

struct shared_worker {
    struct rt_module *mod;
    struct awsm_memory *mem;
    const char *func;
    uint32_t a, b, result;
    int rc;
    char msg[sizeof ((struct rt_error *)0)->msg];
};

/* One instance of its own on the shared memory, one call. */
static void *shared_worker_main(void *arg)
{
    struct shared_worker *w = arg;
    struct rt_instance *inst = NULL;
    struct rt_error err;
    w->rc = rt_instance_new(w->mod, resolve_shared, w->mem, NULL, &inst, &err);
    if (w->rc == 0)
        w->rc = test_call2(inst, w->func, w->a, w->b, &w->result, &err);
    if (w->rc != 0)
        snprintf(w->msg, sizeof w->msg, "%s", err.msg);
    rt_instance_free(inst);
    return NULL;
}

static struct rt_module *compile_shared(enum awsm_bounds bounds)
{
    return compile_built(build_shared_module, bounds, WM_FEATURE_THREADS);
}

/* Four instances add to one counter at once: no increment is lost (a
 * plain load-add-store would lose many). */
static void atomic_adds_on_four_threads(enum awsm_bounds bounds)
{
    struct rt_module *mod = compile_shared(bounds);
    struct rt_host *h = rt_host_new();
    struct awsm_memory *mem = rt_host_shared_memory(h, 1, 16);
    ASSERT(mod != NULL);
    ASSERT(mem != NULL);
    pthread_t th[NTHREADS];
    struct shared_worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct shared_worker){ .mod = mod, .mem = mem, .func = "add",
                                       .a = SHARED_ADDS };
        ASSERT_EQ_INT(0, pthread_create(&th[i], NULL, shared_worker_main, &w[i]));
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    uint32_t total = __atomic_load_n((uint32_t *)mem->base, __ATOMIC_SEQ_CST);
    rt_host_free(h);
    rt_module_free(mod);
    for (int i = 0; i < NTHREADS; i++)
        if (w[i].rc != 0)
            test_fail(__FILE__, __LINE__, "thread %d: %s", i, w[i].msg);
    ASSERT_EQ_U64((uint64_t)NTHREADS * SHARED_ADDS, total);
}

TEST(atomic_adds_of_four_threads_on_one_shared_memory_guard_mode)
{
    atomic_adds_on_four_threads(AWSM_BOUNDS_GUARD);
}

TEST(atomic_adds_of_four_threads_on_one_shared_memory_checked_mode)
{
    atomic_adds_on_four_threads(AWSM_BOUNDS_CHECKED);
}

/* memory.atomic.wait32 without a timeout blocks its thread until another
 * instance's notify wakes it: notify reports the one waiter (once it is
 * queued) and the wait returns 0, "ok". A wait whose value differs
 * returns 1 at once. */
TEST(wait_blocks_until_another_thread_notifies)
{
    struct rt_module *mod = compile_shared(AWSM_BOUNDS_GUARD);
    struct rt_host *h = rt_host_new();
    struct awsm_memory *mem = rt_host_shared_memory(h, 1, 16);
    ASSERT(mod != NULL);
    ASSERT(mem != NULL);
    struct shared_worker waiter = { .mod = mod, .mem = mem, .func = "wait", .a = 8,
                                    .b = 0, .result = 99 };
    pthread_t th;
    ASSERT_EQ_INT(0, pthread_create(&th, NULL, shared_worker_main, &waiter));
    struct shared_worker notifier = { .mod = mod, .mem = mem, .func = "notify",
                                      .a = 8, .b = 1 };
    int tries = 0;
    do {                        /* until the waiter is queued: 5 s at most */
        usleep(1000);
        shared_worker_main(&notifier);
    } while (notifier.rc == 0 && notifier.result == 0 && ++tries < 5000);
    pthread_join(th, NULL);
    struct shared_worker differs = { .mod = mod, .mem = mem, .func = "wait", .a = 8,
                                     .b = 5 };
    shared_worker_main(&differs);
    rt_host_free(h);
    rt_module_free(mod);
    ASSERT_EQ_INT(0, notifier.rc);
    ASSERT_EQ_INT(1, notifier.result);
    ASSERT_EQ_INT(0, waiter.rc);
    ASSERT_EQ_INT(0, waiter.result);
    ASSERT_EQ_INT(0, differs.rc);
    ASSERT_EQ_INT(1, differs.result);
}
