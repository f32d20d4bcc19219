/*
 * tests/unit/test_interrupt.c - preemption safe points in compiled code
 * and execution contexts for user-level threads.
 *
 * Safe points: an interrupt from another thread stops an infinite loop
 * (the loop-header poll), calls in a loop, and loop-free recursion (the
 * function-entry stack check); a handler that returns lets the guest go on
 * to the right result; stack overflow still traps "call stack exhausted"
 * with interrupts pending or arriving; a limit raised without the flag is
 * harmless.
 *
 * Contexts: guests run as user-level threads on stacks of their own (a
 * ucontext switch, with ASan told about each switch), yielding from the
 * interrupt handler in the middle of a call; a trap, by check or by a
 * fault in a guard page, lands in the rt_call of the context it happens
 * on, and the suspended calls of other contexts finish correctly.
 *
 * The modules are built here and compiled with cg_compile in both bounds
 * modes, as in test_threads.c.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "compiler/compiler.h"
#include "runtime/runtime.h"
#include "compile.h"
#include "test.h"

#ifdef TEST_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef TEST_TSAN
#include <sanitizer/tsan_interface.h>
#endif

/* ===== The modules ====================================================== */

/* MOD_LOOPS_NO_POLLS: MOD_LOOPS compiled without loop polls (awsm run's). */
enum { MOD_LOOPS, MOD_NO_LOOPS, MOD_BIG_FRAME, MOD_LOOPS_NO_POLLS, NMODS };

enum {
    W_I32_EQZ = 0x45, W_I32_GE_U = 0x4f, W_I32_SUB = 0x6b, W_I32_MUL = 0x6c,
    W_I32 = 0x7f,
};

/*
 * (import "env" "host" (func $host))                        ;; 0
 * (func "spin" (loop (br 0)))                               ;; 1
 * (func $nop)                                               ;; 2
 * (func "spin_calls" (loop (call $nop) (br 0)))             ;; 3
 * (func "work" (param $n i32) (result i32) (local $acc $i i32) ;; 4
 *   ;; while i < n: acc = acc*31 + i, i++; acc
 * (func "recurse" (call $recurse))                          ;; 5
 * (func "host_then_work" (param i32) (result i32)           ;; 6
 *   (call $host) (call $checked_work (local.get 0)))
 * (func "call_host" (call $host))                           ;; 7
 * (func "many_live" (param $n i32) (result i64)              ;; 8
 *   ;; NLIVE_INT i64 and NLIVE_FP f64 accumulators, all live in the loop
 * (func $checked_work (param i32) (result i32)               ;; 9
 *   (call $nop) (call $work (local.get 0)))  ;; its stack check first
 *
 * "work" and $nop make no call, so they have no stack check: only work's
 * loop polls (every 256 trips).
 */
#define NLIVE_INT 12
#define NLIVE_FP 4

/* Locals: 0 $n, 1 $i, then the i64 accumulators, then the f64 ones. Each
 * trip: a_k = a_k * (2k + 3) + i, f_k = f_k + i * (k + 1). The result:
 * every a_k xor'ed, xor the sum of the f_k as an i64. */
static void many_live_body(struct wbuf *b)
{
    enum { LOCAL_GET = 0x20, LOCAL_SET = 0x21, I64_MUL = 0x7e,
           I64_XOR = 0x85, I64_EXTEND_I32_U = 0xad, F64_MUL = 0xa2,
           F64_CONVERT_I32_U = 0xb8, I64_TRUNC_F64_S = 0xb0, F64_ADD = 0xa0 };
    EMIT(b, W_BLOCK, W_EMPTY, W_LOOP, W_EMPTY,
         LOCAL_GET, 1, LOCAL_GET, 0, W_I32_GE_U, W_BR_IF, 1);
    for (uint8_t k = 0; k < NLIVE_INT; k++)
        EMIT(b, LOCAL_GET, 2 + k, W_I64_CONST, 2 * k + 3, I64_MUL,
             LOCAL_GET, 1, I64_EXTEND_I32_U, W_I64_ADD, LOCAL_SET, 2 + k);
    for (uint8_t k = 0; k < NLIVE_FP; k++) {
        double c = k + 1;
        uint8_t cb[8];
        memcpy(cb, &c, 8);
        EMIT(b, LOCAL_GET, 2 + NLIVE_INT + k, LOCAL_GET, 1, F64_CONVERT_I32_U,
             W_F64_CONST, cb[0], cb[1], cb[2], cb[3], cb[4], cb[5], cb[6], cb[7],
             F64_MUL, F64_ADD, LOCAL_SET, 2 + NLIVE_INT + k);
    }
    EMIT(b, LOCAL_GET, 1, W_I32_CONST, 1, W_I32_ADD, LOCAL_SET, 1, W_BR, 0,
         W_END, W_END, LOCAL_GET, 2);
    for (uint8_t k = 1; k < NLIVE_INT; k++)
        EMIT(b, LOCAL_GET, 2 + k, I64_XOR);
    EMIT(b, LOCAL_GET, 2 + NLIVE_INT);
    for (uint8_t k = 1; k < NLIVE_FP; k++)
        EMIT(b, LOCAL_GET, 2 + NLIVE_INT + k, F64_ADD);
    EMIT(b, I64_TRUNC_F64_S, I64_XOR, W_END);
}

static uint64_t expected_many_live(uint32_t n)
{
    uint64_t a[NLIVE_INT] = { 0 }, r = 0;
    double f[NLIVE_FP] = { 0 }, sum;
    for (uint32_t i = 0; i < n; i++) {
        for (int k = 0; k < NLIVE_INT; k++)
            a[k] = a[k] * (uint64_t)(2 * k + 3) + i;
        for (int k = 0; k < NLIVE_FP; k++)
            f[k] = f[k] + (double)i * (k + 1);
    }
    for (int k = 0; k < NLIVE_INT; k++)
        r ^= a[k];
    sum = f[0];
    for (int k = 1; k < NLIVE_FP; k++)
        sum += f[k];
    return r ^ (uint64_t)(int64_t)sum;
}

static void build_loops(struct wbuf *out)
{
    struct wmod w = { 0 };
    uint32_t t_v = mod_type(&w, "", "");
    uint32_t t_i_i = mod_type(&w, "i", "i");
    uint32_t host = mod_import_func(&w, "env", "host", t_v);
    uint32_t spin = mod_func(&w, t_v, "", CODE(
        W_LOOP, W_EMPTY, W_BR, 0, W_END, W_END));
    uint32_t nop = mod_func(&w, t_v, "", CODE(W_END));
    uint32_t spin_calls = mod_func(&w, t_v, "", CODE(
        W_LOOP, W_EMPTY, W_CALL, (uint8_t)nop, W_BR, 0, W_END, W_END));
    uint32_t work = mod_func(&w, t_i_i, "ii", CODE(
        W_BLOCK, W_EMPTY, W_LOOP, W_EMPTY,
          W_LOCAL_GET, 2, W_LOCAL_GET, 0, W_I32_GE_U, W_BR_IF, 1,
          W_LOCAL_GET, 1, W_I32_CONST, 31, W_I32_MUL,
          W_LOCAL_GET, 2, W_I32_ADD, W_LOCAL_SET, 1,
          W_LOCAL_GET, 2, W_I32_CONST, 1, W_I32_ADD, W_LOCAL_SET, 2,
          W_BR, 0,
        W_END, W_END,
        W_LOCAL_GET, 1, W_END));
    uint32_t recurse = mod_func(&w, t_v, "", CODE(W_CALL, 5, W_END));
    enum { CHECKED_WORK = 9 };
    uint32_t host_then_work = mod_func(&w, t_i_i, "", CODE(
        W_CALL, (uint8_t)host, W_LOCAL_GET, 0, W_CALL, CHECKED_WORK, W_END));
    uint32_t call_host = mod_func(&w, t_v, "", CODE(
        W_CALL, (uint8_t)host, W_END));
    struct wbuf body = { 0 };
    many_live_body(&body);
    uint32_t many_live = mod_func(&w, mod_type(&w, "i", "l"),
                                  "illlllllllllldddd", body.p, body.len);
    wb_free(&body);
    uint32_t checked_work = mod_func(&w, t_i_i, "", CODE(
        W_CALL, (uint8_t)nop, W_LOCAL_GET, 0, W_CALL, (uint8_t)work, W_END));
    if (checked_work != CHECKED_WORK)
        test_fail(__FILE__, __LINE__, "checked_work is function %u", checked_work);
    mod_export(&w, "spin", WM_EXTERN_FUNC, spin);
    mod_export(&w, "spin_calls", WM_EXTERN_FUNC, spin_calls);
    mod_export(&w, "work", WM_EXTERN_FUNC, work);
    mod_export(&w, "recurse", WM_EXTERN_FUNC, recurse);
    mod_export(&w, "host_then_work", WM_EXTERN_FUNC, host_then_work);
    mod_export(&w, "call_host", WM_EXTERN_FUNC, call_host);
    mod_export(&w, "many_live", WM_EXTERN_FUNC, many_live);
    mod_build(&w, out);
}

/*
 * No loop anywhere: only the function-entry check can stop it.
 * (func "doubling" (param $n i32) (result i32)               ;; 2^n calls
 *   (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1))
 *     (else (i32.add (call 0 (n-1)) (call 0 (n-1))))))
 */
static void build_no_loops(struct wbuf *out)
{
    struct wmod w = { 0 };
    uint32_t t_i_i = mod_type(&w, "i", "i");
    uint32_t doubling = mod_func(&w, t_i_i, "", CODE(
        W_LOCAL_GET, 0, W_I32_EQZ, W_IF, W_I32,
          W_I32_CONST, 1,
        W_ELSE,
          W_LOCAL_GET, 0, W_I32_CONST, 1, W_I32_SUB, W_CALL, 0,
          W_LOCAL_GET, 0, W_I32_CONST, 1, W_I32_SUB, W_CALL, 0,
          W_I32_ADD,
        W_END, W_END));
    mod_export(&w, "doubling", WM_EXTERN_FUNC, doubling);
    mod_build(&w, out);
}

/*
 * A frame larger than a whole small stack: BIG_VALUES loads from memory,
 * all live across a call of env.host (which might change memory and the
 * global), each then added to the global.
 * (func "big" (result f64) (f64.load offset=0) ... (call $host)
 *   (global.get 0) (f64.add) ...)
 */
#define BIG_VALUES 9000

static void build_big_frame(struct wbuf *out)
{
    struct wmod w = { 0 };
    struct wbuf body = { 0 };
    uint32_t t_v = mod_type(&w, "", "");
    uint32_t t_d = mod_type(&w, "", "d");
    uint32_t host = mod_import_func(&w, "env", "host", t_v);
    mod_memory(&w, 2, -1);
    mod_global(&w, 'd', true, CODE(W_F64_CONST, 0, 0, 0, 0, 0, 0, 0, 0, W_END));
    for (uint32_t i = 0; i < BIG_VALUES; i++) {
        EMIT(&body, W_I32_CONST, 0, 0x2b, 3);           /* f64.load */
        wb_u32(&body, 8 * i);
    }
    EMIT(&body, W_CALL, (uint8_t)host, W_GLOBAL_GET, 0);
    for (uint32_t i = 0; i < BIG_VALUES; i++)
        EMIT(&body, 0xa0);                              /* f64.add */
    EMIT(&body, W_END);
    uint32_t big = mod_func(&w, t_d, "", body.p, body.len);
    wb_free(&body);
    mod_export(&w, "big", WM_EXTERN_FUNC, big);
    mod_build(&w, out);
}

static uint32_t expected_work(uint32_t n)
{
    uint32_t acc = 0;
    for (uint32_t i = 0; i < n; i++)
        acc = acc * 31u + i;
    return acc;
}

/* Compile once per module and bounds mode. Modules stay loaded until the
 * process ends. */
static struct rt_module *module_get(int which, enum awsm_bounds bounds)
{
    static struct rt_module *loaded[NMODS][2];
    if (loaded[which][bounds] != NULL)
        return loaded[which][bounds];
    struct wbuf b = { 0 };
    static void (*const build[NMODS])(struct wbuf *) = {
        build_loops, build_no_loops, build_big_frame, build_loops,
    };
    build[which](&b);
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    opt.bounds = bounds;
    /* Thousands of values live across a call: -O2 would spend seconds
     * allocating registers for a frame that only has to be large. */
    if (which == MOD_BIG_FRAME)
        opt.opt_level = 0;
    opt.polls = which != MOD_LOOPS_NO_POLLS;
    loaded[which][bounds] = test_compile(&b, &opt);
    return loaded[which][bounds];
}

/* ===== Guests =========================================================== */

/* What env.host does. */
enum host_mode {
    HOST_NOTHING,
    HOST_RAISE_LIMIT,       /* stack_limit = UINTPTR_MAX, flag left 0 */
    HOST_RECURSE,           /* C recursion without checks: the guard page */
    HOST_TRAP,              /* rt_instance_trap(AWSM_TRAP_UNREACHABLE) */
    HOST_RECORD_LIMIT,      /* note the stack limit and the frame */
};

static enum host_mode host_mode;
static uintptr_t host_seen_limit, host_seen_frame;
static volatile int host_depth_cap;     /* 0: none, recurse until a fault */

__attribute__((noinline)) static int host_deep(int depth)
{
    volatile char pad[256];
    pad[0] = (char)depth;
    if (host_depth_cap != 0 && depth >= host_depth_cap)
        return 0;
    int r = host_deep(depth + 1);
    return r + pad[0];              /* not a tail call */
}

static void host_fn(struct awsm_vmctx *vm)
{
    switch (host_mode) {
    case HOST_NOTHING:
        break;
    case HOST_RAISE_LIMIT:
        vm->stack_limit = UINTPTR_MAX;
        break;
    case HOST_RECURSE:
        host_deep(0);
        break;
    case HOST_TRAP:
        rt_instance_trap(vm->instance, AWSM_TRAP_UNREACHABLE);
    case HOST_RECORD_LIMIT:
        host_seen_limit = vm->stack_limit;
        host_seen_frame = (uintptr_t)__builtin_frame_address(0);
        break;
    }
}

/* What the interrupt handler does, and what it saw. */
struct handler_state {
    atomic_int runs;
    int trap_at;                    /* on this run, end the call */
    enum awsm_trap trap_kind;
    bool yield;                     /* switch to the scheduler each run */
};

static void fiber_yield(void);

static void on_interrupt(struct rt_instance *inst, void *ud)
{
    struct handler_state *h = ud;
    int n = atomic_fetch_add(&h->runs, 1) + 1;
    if (n == h->trap_at)
        rt_instance_trap(inst, h->trap_kind);
    if (h->yield)
        fiber_yield();
}

struct guest {
    struct rt_host *host;
    struct awsm_funcref *host_func;
    struct rt_instance *inst;
    struct handler_state h;
    struct rt_error err;
};

static const struct wm_functype type_v_v = { 0, 0, NULL, NULL };

static int resolve(void *ud, const struct wm_import *im, struct rt_extern *out)
{
    struct guest *g = ud;
    out->kind = WM_EXTERN_FUNC;
    out->u.func = g->host_func;
    return 0;
}

/* A fresh instance; with_handler installs on_interrupt on g->h. */
static bool guest_open(struct guest *g, int which, enum awsm_bounds bounds,
                       bool with_handler, const struct rt_instance_options *opt)
{
    memset(g, 0, sizeof *g);
    struct rt_module *mod = module_get(which, bounds);
    g->host = rt_host_new();
    g->host_func = rt_host_func(g->host, &type_v_v, (void *)host_fn);
    if (mod == NULL || g->host_func == NULL ||
        rt_instance_new(mod, resolve, g, opt, &g->inst, &g->err) != 0)
        return false;
    if (with_handler)
        rt_instance_set_interrupt_handler(g->inst, on_interrupt, &g->h);
    return true;
}

static void guest_close(struct guest *g)
{
    rt_instance_free(g->inst);
    rt_host_free(g->host);
}

/* Call export `name` with one i32 argument (ignored by functions without
 * parameters); the result, if any, goes to *result. */
static int guest_call(struct guest *g, const char *name, uint32_t arg,
                      uint32_t *result)
{
    struct rt_extern ex;
    if (rt_instance_export(g->inst, name, &ex) != 0)
        return -2;
    awsm_value a[1] = { { .i32 = arg } };
    int rc = rt_call(g->inst, ex.u.func, a, &g->err);
    if (result != NULL)
        *result = a[0].i32;
    return rc;
}

/* ===== An interrupting thread =========================================== */

struct interrupter {
    pthread_t thread;
    struct rt_instance *inst;
    unsigned first_us, every_us;    /* every_us 0: as fast as possible */
    atomic_bool stop;
    atomic_int sent;
};

static void sleep_us(unsigned us)
{
    struct timespec ts = { us / 1000000u, (long)(us % 1000000u) * 1000 };
    nanosleep(&ts, NULL);
}

static void *interrupter_main(void *arg)
{
    struct interrupter *it = arg;
    sleep_us(it->first_us);
    while (!atomic_load(&it->stop)) {
        rt_instance_interrupt(it->inst);
        atomic_fetch_add(&it->sent, 1);
        if (it->every_us != 0)
            sleep_us(it->every_us);
        else
            sched_yield();
    }
    return NULL;
}

static bool interrupter_start(struct interrupter *it, struct rt_instance *inst,
                              unsigned first_us, unsigned every_us)
{
    memset(it, 0, sizeof *it);
    it->inst = inst;
    it->first_us = first_us;
    it->every_us = every_us;
    return pthread_create(&it->thread, NULL, interrupter_main, it) == 0;
}

static void interrupter_stop(struct interrupter *it)
{
    atomic_store(&it->stop, true);
    pthread_join(it->thread, NULL);
}

/* Call `name` while another thread interrupts (after 20 ms, then every
 * millisecond) until the call returns. */
static int call_interrupted(struct guest *g, const char *name, uint32_t arg,
                            uint32_t *result)
{
    struct interrupter it;
    if (!interrupter_start(&it, g->inst, 20000, 1000))
        return -2;
    int rc = guest_call(g, name, arg, result);
    interrupter_stop(&it);
    return rc;
}

/* ===== Safe points ====================================================== */

/* The call ends with "interrupted", and its backtrace (recorded through
 * the runtime's entry thunk) names the function that was running. */
static void check_stopped(int which, const char *name, uint32_t arg,
                          uint32_t func)
{
    for (int b = AWSM_BOUNDS_GUARD; b <= AWSM_BOUNDS_CHECKED; b++) {
        struct guest g;
        uint32_t r = 0;
        if (!guest_open(&g, which, (enum awsm_bounds)b, false, NULL)) {
            test_fail(__FILE__, __LINE__, "instance: %s", g.err.msg);
            guest_close(&g);
            return;
        }
        int rc = call_interrupted(&g, name, arg, &r);
        guest_close(&g);
        ASSERT_EQ_INT(-1, rc);
        ASSERT_EQ_INT(RT_ERR_TRAP, g.err.kind);
        ASSERT_EQ_INT(AWSM_TRAP_INTERRUPTED, g.err.trap);
        ASSERT_STR_EQ("interrupted", g.err.msg);
        ASSERT(g.err.nframes >= 1);
        ASSERT_EQ_INT(func, g.err.frames[0]);
    }
}

TEST(interrupt_from_another_thread_stops_an_infinite_loop)
{
    check_stopped(MOD_LOOPS, "spin", 0, 1);
}

TEST(interrupt_stops_an_infinite_loop_of_calls)
{
    check_stopped(MOD_LOOPS, "spin_calls", 0, 3);
}

/* 2^40 calls and no loop in the module: the function-entry check stops
 * it. */
TEST(interrupt_stops_loop_free_recursion_at_function_entry)
{
    check_stopped(MOD_NO_LOOPS, "doubling", 40, 0);
}

/* Requested before the call: taken at the first safe point (work's loop
 * poll, every 256 trips of its unrolled loop; doubling's stack check),
 * also by loop-free code (rt_call's new stack limit must not hide it);
 * the flag is clear afterwards. */
TEST(interrupt_pending_before_the_call_is_taken_at_the_first_safe_point)
{
    struct guest g, nl;
    uint32_t r = 0;
    ASSERT(guest_open(&g, MOD_LOOPS, AWSM_BOUNDS_GUARD, false, NULL));
    ASSERT(guest_open(&nl, MOD_NO_LOOPS, AWSM_BOUNDS_GUARD, false, NULL));
    rt_instance_interrupt(g.inst);
    rt_instance_interrupt(g.inst);          /* idempotent */
    int rc1 = guest_call(&g, "work", 1000000, &r);
    int rc2 = guest_call(&g, "work", 10, &r);
    uint32_t r2 = r;
    rt_instance_interrupt(nl.inst);
    int rc3 = guest_call(&nl, "doubling", 3, &r);
    enum awsm_trap trap3 = nl.err.trap;
    int rc4 = guest_call(&nl, "doubling", 3, &r);
    guest_close(&g);
    guest_close(&nl);
    ASSERT_EQ_INT(-1, rc1);
    ASSERT_EQ_INT(AWSM_TRAP_INTERRUPTED, g.err.trap);
    ASSERT_EQ_INT(0, rc2);
    ASSERT_EQ_INT(expected_work(10), r2);
    ASSERT_EQ_INT(-1, rc3);
    ASSERT_EQ_INT(AWSM_TRAP_INTERRUPTED, trap3);
    ASSERT_EQ_INT(0, rc4);
    ASSERT_EQ_INT(8, r);
}

/* "work" of 2e8 iterations on module `which`, interrupted every 200 us
 * by another thread: the call must return the right result; *runs is
 * how many times the handler ran (-1 when the guest could not start). */
static void work_interrupted(int which, enum awsm_bounds bounds, int *runs)
{
    const uint32_t n = 200000000;
    struct guest g;
    struct interrupter it;
    uint32_t r = 0;
    *runs = -1;
    ASSERT(guest_open(&g, which, bounds, true, NULL));
    ASSERT(interrupter_start(&it, g.inst, 0, 200));
    int rc = guest_call(&g, "work", n, &r);
    interrupter_stop(&it);
    int ran = atomic_load(&g.h.runs);
    guest_close(&g);
    ASSERT_EQ_INT(0, rc);
    ASSERT_EQ_INT(expected_work(n), r);
    *runs = ran;
}

/* A loop of 2e8 iterations (about a tenth of a second) while another
 * thread interrupts every 200 us: the handler runs and returns, the loop
 * goes on each time, and the result is what it would have been. */
TEST(handler_that_returns_lets_a_loop_finish_with_the_right_result)
{
    for (int b = AWSM_BOUNDS_GUARD; b <= AWSM_BOUNDS_CHECKED; b++) {
        int runs;
        work_interrupted(MOD_LOOPS, (enum awsm_bounds)b, &runs);
        ASSERT(runs >= 1);
    }
}

/* The same loop compiled without polls (awsm run's code) has no safe
 * point past its function's entry: the interrupter, which the polled
 * build answers hundreds of times, gets at most the one at entry, and
 * the module says it cannot be interrupted. */
TEST(loops_compiled_without_polls_are_not_interruptible)
{
    int polled, unpolled;
    work_interrupted(MOD_LOOPS, AWSM_BOUNDS_GUARD, &polled);
    work_interrupted(MOD_LOOPS_NO_POLLS, AWSM_BOUNDS_GUARD, &unpolled);
    ASSERT(rt_module_interruptible(module_get(MOD_LOOPS, AWSM_BOUNDS_GUARD)));
    ASSERT(!rt_module_interruptible(module_get(MOD_LOOPS_NO_POLLS, AWSM_BOUNDS_GUARD)));
    ASSERT(polled >= 10);
    ASSERT(unpolled >= 0 && unpolled <= 1);
}

/* A loop with more live values than there are registers the C
 * convention keeps (i64 and f64 ones), interrupted every 100 us: every
 * value survives every run of the handler. */
TEST(handler_that_returns_preserves_every_live_value)
{
    const uint32_t n = 20000000;
    uint64_t want = expected_many_live(n);
    for (int b = AWSM_BOUNDS_GUARD; b <= AWSM_BOUNDS_CHECKED; b++) {
        struct guest g;
        struct interrupter it;
        ASSERT(guest_open(&g, MOD_LOOPS, (enum awsm_bounds)b, true, NULL));
        struct rt_extern ex;
        ASSERT_EQ_INT(0, rt_instance_export(g.inst, "many_live", &ex));
        awsm_value a[1] = { { .i32 = n } };
        rt_instance_interrupt(g.inst);
        ASSERT(interrupter_start(&it, g.inst, 0, 100));
        int rc = rt_call(g.inst, ex.u.func, a, &g.err);
        interrupter_stop(&it);
        int runs = atomic_load(&g.h.runs);
        guest_close(&g);
        ASSERT_EQ_INT(0, rc);
        ASSERT_EQ_U64(want, a[0].i64);
        ASSERT(runs >= 2);
    }
}

/* The same for loop-free code: a pending interrupt guarantees at least
 * one run, more arrive while it recurses. */
TEST(handler_that_returns_lets_recursion_finish_with_the_right_result)
{
    for (int b = AWSM_BOUNDS_GUARD; b <= AWSM_BOUNDS_CHECKED; b++) {
        struct guest g;
        struct interrupter it;
        uint32_t r = 0;
        ASSERT(guest_open(&g, MOD_NO_LOOPS, (enum awsm_bounds)b, true, NULL));
        rt_instance_interrupt(g.inst);
        ASSERT(interrupter_start(&it, g.inst, 1000, 500));
        int rc = guest_call(&g, "doubling", 24, &r);
        interrupter_stop(&it);
        int runs = atomic_load(&g.h.runs);
        guest_close(&g);
        ASSERT_EQ_INT(0, rc);
        ASSERT_EQ_INT(1u << 24, r);
        ASSERT(runs >= 1);
    }
}

TEST(deep_recursion_traps_exhaustion_without_interrupts)
{
    struct guest g;
    uint32_t r = 0;
    ASSERT(guest_open(&g, MOD_LOOPS, AWSM_BOUNDS_GUARD, true, NULL));
    int rc = guest_call(&g, "recurse", 0, NULL);
    struct rt_error err = g.err;
    int rc2 = guest_call(&g, "work", 100, &r);
    int runs = atomic_load(&g.h.runs);
    guest_close(&g);
    ASSERT_EQ_INT(-1, rc);
    ASSERT_EQ_INT(AWSM_TRAP_STACK_EXHAUSTED, err.trap);
    ASSERT_STR_EQ("call stack exhausted", err.msg);
    ASSERT_EQ_INT(0, runs);
    ASSERT_EQ_INT(0, rc2);
    ASSERT_EQ_INT(expected_work(100), r);
}

/* Pending before the call and arriving as fast as another thread can
 * send them: the handler runs, and the overflow still traps. */
TEST(deep_recursion_traps_exhaustion_with_interrupts_pending)
{
    for (int b = AWSM_BOUNDS_GUARD; b <= AWSM_BOUNDS_CHECKED; b++) {
        struct guest g;
        struct interrupter it;
        ASSERT(guest_open(&g, MOD_LOOPS, (enum awsm_bounds)b, true, NULL));
        int rc[3];
        enum awsm_trap trap[3];
        ASSERT(interrupter_start(&it, g.inst, 0, 0));
        for (int i = 0; i < 3; i++) {
            rt_instance_interrupt(g.inst);
            rc[i] = guest_call(&g, "recurse", 0, NULL);
            trap[i] = g.err.trap;
        }
        interrupter_stop(&it);
        int runs = atomic_load(&g.h.runs);
        guest_close(&g);
        for (int i = 0; i < 3; i++) {
            ASSERT_EQ_INT(-1, rc[i]);
            ASSERT_EQ_INT(AWSM_TRAP_STACK_EXHAUSTED, trap[i]);
        }
        ASSERT(runs >= 3);
    }
}

/* The second store of rt_instance_interrupt can land after the handler
 * has cleared the flag: the limit is UINTPTR_MAX with no request. The
 * next stack check (checked_work's) restores the limit and goes on. */
TEST(raised_limit_without_the_flag_is_harmless)
{
    struct guest g;
    uint32_t r = 0;
    ASSERT(guest_open(&g, MOD_LOOPS, AWSM_BOUNDS_GUARD, true, NULL));
    host_mode = HOST_RAISE_LIMIT;
    int rc = guest_call(&g, "host_then_work", 1000, &r);
    host_mode = HOST_NOTHING;
    uintptr_t limit = rt_instance_vmctx(g.inst)->stack_limit;
    int runs = atomic_load(&g.h.runs);
    guest_close(&g);
    ASSERT_EQ_INT(0, rc);
    ASSERT_EQ_INT(expected_work(1000), r);
    ASSERT_EQ_INT(0, runs);
    ASSERT(limit != UINTPTR_MAX);
}

TEST(handler_ends_the_call_with_rt_instance_trap)
{
    struct guest g;
    ASSERT(guest_open(&g, MOD_LOOPS, AWSM_BOUNDS_GUARD, true, NULL));
    g.h.trap_at = 2;
    g.h.trap_kind = AWSM_TRAP_EXIT;
    int rc = call_interrupted(&g, "spin", 0, NULL);
    int runs = atomic_load(&g.h.runs);
    guest_close(&g);
    ASSERT_EQ_INT(-1, rc);
    ASSERT_EQ_INT(RT_ERR_TRAP, g.err.kind);
    ASSERT_EQ_INT(AWSM_TRAP_EXIT, g.err.trap);
    ASSERT(runs >= 2);
}

TEST(host_function_ends_the_call_with_rt_instance_trap)
{
    struct guest g;
    uint32_t r = 0;
    ASSERT(guest_open(&g, MOD_LOOPS, AWSM_BOUNDS_GUARD, false, NULL));
    host_mode = HOST_TRAP;
    int rc = guest_call(&g, "call_host", 0, NULL);
    host_mode = HOST_NOTHING;
    struct rt_error err = g.err;
    int rc2 = guest_call(&g, "work", 10, &r);
    guest_close(&g);
    ASSERT_EQ_INT(-1, rc);
    ASSERT_EQ_INT(AWSM_TRAP_UNREACHABLE, err.trap);
    ASSERT_EQ_INT(0, rc2);
    ASSERT_EQ_INT(expected_work(10), r);
}

/* ===== User-level threads =============================================== */

/*
 * A fiber: a stack of its own with a PROT_NONE guard page below, an
 * execution context for it, and a ucontext to switch with. ASan must be
 * told of every switch (it tracks which stack is current); the fiber
 * learns the main stack's bounds from its first switch.
 */
#define FIBER_STACK (256u << 10)
#define MAX_JOBS 3

struct job {
    const char *name;
    uint32_t arg;
    int rc;
    uint32_t result;
    enum awsm_trap trap;
};

struct fiber {
    ucontext_t uc;
    char *map;
    size_t map_len;
    char *lo;                       /* usable stack: [lo, lo + size) */
    size_t size;
    struct rt_context *ctx;
    struct guest *g;
    struct job jobs[MAX_JOBS];
    int njobs;
    bool done;
    void *asan_fake;
    void *tsan_fiber;               /* ThreadSanitizer's, as server/sched.c */
};

static ucontext_t main_uc;
static struct fiber *fiber_running;
static const void *main_stack_lo;
static size_t main_stack_size;

static void asan_start(void **fake, const void *lo, size_t size)
{
#ifdef TEST_ASAN
    __sanitizer_start_switch_fiber(fake, lo, size);
#else
    (void)fake, (void)lo, (void)size;
#endif
}

static void asan_finish(void *fake, const void **lo, size_t *size)
{
#ifdef TEST_ASAN
    __sanitizer_finish_switch_fiber(fake, lo, size);
#else
    (void)fake, (void)lo, (void)size;
#endif
}

/* ThreadSanitizer: the switch to `to`'s fiber (NULL: the thread's own). */
#ifdef TEST_TSAN
static void *main_tsan_fiber;
#endif

static void tsan_switch(struct fiber *to)
{
#ifdef TEST_TSAN
    if (to != NULL)
        main_tsan_fiber = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(to != NULL ? to->tsan_fiber : main_tsan_fiber, 0);
#else
    (void)to;
#endif
}

/* A fiber's function never returns; if control ever falls off one (a
 * trap landing on the wrong stack could do that), stop loudly rather than
 * let the thread exit with status 0. */
static void fiber_fell_off(void)
{
    fprintf(stderr, "test_interrupt: a fiber returned: wrong stack\n");
    abort();
}

static ucontext_t *fell_off_context(void)
{
    static ucontext_t uc;
    static char stack[64 << 10];
    static bool ready;
    if (!ready && getcontext(&uc) == 0) {
        uc.uc_stack.ss_sp = stack;
        uc.uc_stack.ss_size = sizeof stack;
        uc.uc_link = NULL;
        makecontext(&uc, fiber_fell_off, 0);
        ready = true;
    }
    return &uc;
}

static void fiber_main(void)
{
    struct fiber *f = fiber_running;
    asan_finish(NULL, &main_stack_lo, &main_stack_size);
    for (int i = 0; i < f->njobs; i++) {
        struct job *j = &f->jobs[i];
        j->rc = guest_call(f->g, j->name, j->arg, &j->result);
        j->trap = j->rc == 0 ? AWSM_TRAP_NONE : f->g->err.trap;
    }
    f->done = true;
    fiber_yield();                  /* never resumed */
}

/* The scheduler's side: enter the fiber's context, then its stack. */
static void fiber_resume(struct fiber *f)
{
    void *fake = NULL;
    fiber_running = f;
    rt_context_enter(f->ctx);
    asan_start(&fake, f->lo, f->size);
    tsan_switch(f);
    swapcontext(&main_uc, &f->uc);
    asan_finish(fake, NULL, NULL);
    fiber_running = NULL;
}

/* The fiber's side (from fiber_main or an interrupt handler): back to the
 * thread's own context and stack. */
static void fiber_yield(void)
{
    struct fiber *f = fiber_running;
    rt_context_enter(NULL);
    asan_start(f->done ? NULL : &f->asan_fake, main_stack_lo, main_stack_size);
    tsan_switch(NULL);
    swapcontext(&f->uc, &main_uc);
    asan_finish(f->asan_fake, &main_stack_lo, &main_stack_size);
}

/* A stack of `size` bytes over one guard page, over `below` bytes of
 * ordinary memory (as another sandbox's stack may be). */
static bool fiber_init_sized(struct fiber *f, struct guest *g, size_t size,
                             size_t below)
{
    memset(f, 0, sizeof *f);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    f->g = g;
    f->size = size;
    f->map_len = below + page + size;
    f->map = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (f->map == MAP_FAILED)
        return false;
    if (mprotect(f->map + below, page, PROT_NONE) != 0)
        return false;
    f->lo = f->map + below + page;
    f->ctx = rt_context_new(f->lo, size);
    if (f->ctx == NULL || getcontext(&f->uc) != 0)
        return false;
    f->uc.uc_stack.ss_sp = f->lo;
    f->uc.uc_stack.ss_size = size;
    f->uc.uc_link = fell_off_context();
    makecontext(&f->uc, fiber_main, 0);
#ifdef TEST_TSAN
    f->tsan_fiber = __tsan_create_fiber(0);
#endif
    return true;
}

static bool fiber_init(struct fiber *f, struct guest *g)
{
    return fiber_init_sized(f, g, FIBER_STACK, 0);
}

static void fiber_add_job(struct fiber *f, const char *name, uint32_t arg)
{
    f->jobs[f->njobs++] = (struct job){ .name = name, .arg = arg, .rc = -2 };
}

/* Unmapping a fiber that did not finish abandons its call. */
static void fiber_free(struct fiber *f)
{
    rt_context_free(f->ctx);
#ifdef TEST_TSAN
    if (f->tsan_fiber != NULL)
        __tsan_destroy_fiber(f->tsan_fiber);
#endif
    if (f->map != NULL && f->map != MAP_FAILED)
        munmap(f->map, f->map_len);
}

/* Two guests (each with a yielding handler) on two fibers. */
struct pair {
    struct guest ga, gb;
    struct fiber a, b;
};

static bool pair_open(struct pair *p, enum awsm_bounds bounds)
{
    memset(p, 0, sizeof *p);
    if (!guest_open(&p->ga, MOD_LOOPS, bounds, true, NULL) ||
        !guest_open(&p->gb, MOD_LOOPS, bounds, true, NULL))
        return false;
    p->ga.h.yield = p->gb.h.yield = true;
    return fiber_init(&p->a, &p->ga) && fiber_init(&p->b, &p->gb);
}

static void pair_close(struct pair *p)
{
    fiber_free(&p->a);
    fiber_free(&p->b);
    guest_close(&p->ga);
    guest_close(&p->gb);
}

/* A yields inside its call; B runs on its own stack and traps (in B); A
 * resumes and finishes with the right result. */
static void check_trap_lands_in_its_context(enum awsm_bounds bounds)
{
    struct pair p;
    bool ok = pair_open(&p, bounds);
    if (ok) {
        fiber_add_job(&p.a, "work", 100000);
        fiber_add_job(&p.b, "recurse", 0);
        rt_instance_interrupt(p.ga.inst);
        fiber_resume(&p.a);                 /* A yields in its handler */
        fiber_resume(&p.b);                 /* B traps and ends */
        if (!p.a.done)
            fiber_resume(&p.a);             /* A finishes */
    }
    struct fiber a = p.a, b = p.b;
    int runs = atomic_load(&p.ga.h.runs);
    pair_close(&p);
    ASSERT(ok);
    ASSERT_EQ_INT(1, runs);
    ASSERT(b.done);
    ASSERT_EQ_INT(-1, b.jobs[0].rc);
    ASSERT_EQ_INT(AWSM_TRAP_STACK_EXHAUSTED, b.jobs[0].trap);
    ASSERT(a.done);
    ASSERT_EQ_INT(0, a.jobs[0].rc);
    ASSERT_EQ_INT(expected_work(100000), a.jobs[0].result);
}

TEST(trap_on_a_context_lands_in_its_own_call_guard_mode)
{
    check_trap_lands_in_its_context(AWSM_BOUNDS_GUARD);
}

TEST(trap_on_a_context_lands_in_its_own_call_checked_mode)
{
    check_trap_lands_in_its_context(AWSM_BOUNDS_CHECKED);
}

/* Both suspended inside their calls at once: A resumes, finishes, then
 * overflows its stack (the trap must not land in B's suspended call); B
 * resumes and its handler ends its call with a trap of its own. */
static void check_suspended_calls_interleave(enum awsm_bounds bounds)
{
    struct pair p;
    bool ok = pair_open(&p, bounds);
    if (ok) {
        fiber_add_job(&p.a, "work", 100000);
        fiber_add_job(&p.a, "recurse", 0);
        fiber_add_job(&p.a, "work", 1000);
        fiber_add_job(&p.b, "spin", 0);
        p.gb.h.trap_at = 2;
        p.gb.h.trap_kind = AWSM_TRAP_HOST;
        rt_instance_interrupt(p.ga.inst);
        fiber_resume(&p.a);                 /* A: suspended in "work" */
        rt_instance_interrupt(p.gb.inst);
        fiber_resume(&p.b);                 /* B: suspended in "spin" */
        p.ga.h.yield = false;
        fiber_resume(&p.a);                 /* A: runs all its jobs */
        rt_instance_interrupt(p.gb.inst);
        fiber_resume(&p.b);                 /* B: second run traps */
    }
    struct fiber a = p.a, b = p.b;
    pair_close(&p);
    ASSERT(ok);
    ASSERT(a.done);
    ASSERT_EQ_INT(0, a.jobs[0].rc);
    ASSERT_EQ_INT(expected_work(100000), a.jobs[0].result);
    ASSERT_EQ_INT(-1, a.jobs[1].rc);
    ASSERT_EQ_INT(AWSM_TRAP_STACK_EXHAUSTED, a.jobs[1].trap);
    ASSERT_EQ_INT(0, a.jobs[2].rc);
    ASSERT_EQ_INT(expected_work(1000), a.jobs[2].result);
    ASSERT(b.done);
    ASSERT_EQ_INT(-1, b.jobs[0].rc);
    ASSERT_EQ_INT(AWSM_TRAP_HOST, b.jobs[0].trap);
}

TEST(suspended_calls_on_two_contexts_interleave_guard_mode)
{
    check_suspended_calls_interleave(AWSM_BOUNDS_GUARD);
}

TEST(suspended_calls_on_two_contexts_interleave_checked_mode)
{
    check_suspended_calls_interleave(AWSM_BOUNDS_CHECKED);
}

/* C code under wasm overflows a fiber's stack into its guard page: the
 * fault (handled on the thread's signal stack) is "call stack exhausted"
 * in that fiber's call, while A waits suspended; both go on afterwards. */
static void check_guard_page_fault(enum awsm_bounds bounds)
{
    struct pair p;
    bool ok = pair_open(&p, bounds);
    if (ok) {
        fiber_add_job(&p.a, "work", 100000);
        fiber_add_job(&p.b, "call_host", 0);
        fiber_add_job(&p.b, "work", 1000);
        rt_instance_interrupt(p.ga.inst);
        fiber_resume(&p.a);
        host_mode = HOST_RECURSE;
        fiber_resume(&p.b);
        host_mode = HOST_NOTHING;
        if (!p.a.done)
            fiber_resume(&p.a);
    }
    struct fiber a = p.a, b = p.b;
    pair_close(&p);
    ASSERT(ok);
    ASSERT(b.done);
    ASSERT_EQ_INT(-1, b.jobs[0].rc);
    ASSERT_EQ_INT(AWSM_TRAP_STACK_EXHAUSTED, b.jobs[0].trap);
    ASSERT_EQ_INT(0, b.jobs[1].rc);
    ASSERT_EQ_INT(expected_work(1000), b.jobs[1].result);
    ASSERT(a.done);
    ASSERT_EQ_INT(0, a.jobs[0].rc);
    ASSERT_EQ_INT(expected_work(100000), a.jobs[0].result);
}

TEST(guard_page_fault_on_a_context_is_exhaustion_guard_mode)
{
    check_guard_page_fault(AWSM_BOUNDS_GUARD);
}

TEST(guard_page_fault_on_a_context_is_exhaustion_checked_mode)
{
    check_guard_page_fault(AWSM_BOUNDS_CHECKED);
}

/* The limit sits inside the fiber's stack: above its reserve, and
 * options.stack_size below the caller when that is smaller. */
TEST(stack_limit_on_a_context_respects_its_stack_and_the_budget)
{
    static const struct rt_instance_options small = { .stack_size = 32 << 10 };
    struct guest g1 = { 0 }, g2 = { 0 };
    struct fiber f1 = { 0 }, f2 = { 0 };
    uintptr_t limit1 = 0, frame1 = 0, limit2 = 0, frame2 = 0;
    bool ok = guest_open(&g1, MOD_LOOPS, AWSM_BOUNDS_GUARD, false, NULL) &&
              guest_open(&g2, MOD_LOOPS, AWSM_BOUNDS_GUARD, false, &small) &&
              fiber_init(&f1, &g1) && fiber_init(&f2, &g2);
    if (ok) {
        host_mode = HOST_RECORD_LIMIT;
        fiber_add_job(&f1, "call_host", 0);
        fiber_resume(&f1);
        limit1 = host_seen_limit, frame1 = host_seen_frame;
        fiber_add_job(&f2, "call_host", 0);
        fiber_resume(&f2);
        limit2 = host_seen_limit, frame2 = host_seen_frame;
        host_mode = HOST_NOTHING;
    }
    uintptr_t lo1 = (uintptr_t)f1.lo, lo2 = (uintptr_t)f2.lo;
    bool done = f1.done && f2.done;
    fiber_free(&f1);
    fiber_free(&f2);
    guest_close(&g1);
    guest_close(&g2);
    ASSERT(ok && done);
    /* 256 KiB stack, default budget 512 KiB: the reserve (64 KiB) wins. */
    ASSERT_EQ_INT(lo1 + (64 << 10), limit1);
    ASSERT(frame1 > limit1 && frame1 < lo1 + FIBER_STACK);
    /* A 32 KiB budget: the limit is within 32 KiB of the call. */
    ASSERT(limit2 > lo2 + (64 << 10) && limit2 < frame2);
    ASSERT_LT_INT(frame2 - limit2, 32 << 10);
}

/* A frame larger than the whole 64 KiB stack: the stack pointer lands
 * below the guard page before the entry check can run. Compiled code
 * probes such frames page by page, so the guard is hit first: "call stack
 * exhausted", and the memory below the guard (another stack, say) stays
 * untouched. */
TEST(frame_larger_than_a_context_stack_traps_exhaustion)
{
    const size_t below = 256 << 10;
    struct guest g = { 0 }, gw = { 0 };
    struct fiber f = { 0 };
    bool ok = guest_open(&g, MOD_BIG_FRAME, AWSM_BOUNDS_GUARD, false, NULL) &&
              guest_open(&gw, MOD_LOOPS, AWSM_BOUNDS_GUARD, false, NULL) &&
              fiber_init_sized(&f, &g, 64 << 10, below);
    bool untouched = true;
    if (ok) {
        memset(f.map, 0xa5, below);
        fiber_add_job(&f, "big", 0);
        fiber_resume(&f);
        for (size_t i = 0; i < below; i++)
            untouched &= (unsigned char)f.map[i] == 0xa5;
    }
    struct fiber done = f;
    fiber_free(&f);
    /* The thread goes on calling wasm normally. */
    uint32_t r = 0;
    int rc = ok ? guest_call(&gw, "work", 1000, &r) : -2;
    guest_close(&g);
    guest_close(&gw);
    ASSERT(ok && done.done);
    ASSERT_EQ_INT(-1, done.jobs[0].rc);
    ASSERT_EQ_INT(AWSM_TRAP_STACK_EXHAUSTED, done.jobs[0].trap);
    ASSERT(untouched);
    ASSERT_EQ_INT(0, rc);
    ASSERT_EQ_INT(expected_work(1000), r);
}

TEST(context_enter_returns_the_previous_context)
{
    static char stack[64 << 10];
    struct rt_context *c1 = rt_context_new(stack, sizeof stack);
    struct rt_context *c2 = rt_context_new(stack, sizeof stack);
    struct rt_context *tiny = rt_context_new(stack, 4096);
    ASSERT(c1 != NULL && c2 != NULL);
    ASSERT(tiny == NULL);
    ASSERT(rt_context_enter(c1) == NULL);
    ASSERT(rt_context_enter(c2) == c1);
    ASSERT(rt_context_enter(NULL) == c2);
    ASSERT(rt_context_enter(NULL) == NULL);
    rt_context_free(c1);
    rt_context_free(c2);
}

TEST_MAIN()
