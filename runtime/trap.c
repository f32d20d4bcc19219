/*
 * runtime/trap.c - entering wasm and getting out of it: rt_call, traps,
 * the fault handler and stack limits.
 *
 * rt_call pushes a frame holding a sigjmp_buf on a per-thread list and
 * calls the function through its type's trampoline. A trap, raised by
 * generated code through vmctx->rt->trap, by a runtime service or by the
 * fault handler, siglongjmps to the innermost frame with its kind.
 * sigsetjmp(buf, 0) does not save the signal mask (~20 ns instead of
 * ~500 ns); the handler is installed with SA_NODEFER so that jumping out
 * of it leaves SIGSEGV unblocked. Host functions may call rt_call again:
 * frames nest, and a trap goes to the innermost one.
 *
 * Faults (SIGSEGV, SIGBUS) while a thread is inside rt_call:
 *   - in a linear memory's reservation: "out of bounds memory access";
 *   - at or below the thread's stack limit, down to the end of the stack
 *     and its guard region: "call stack exhausted" (the handler runs on
 *     an alternate signal stack, allocated per thread on first use);
 *   - anything else is a real crash: the previous handler (default, or a
 *     sanitizer's) gets it.
 *
 * Stack limits: generated code traps when its stack pointer is below
 * vmctx->stack_limit. The outermost rt_call of a thread sets the limit to
 * its own stack pointer minus the budget (options.stack_size, default
 * 512 KiB), but never closer than 64 KiB to the real end of the thread's
 * stack; nested calls keep it. The limit is written into the vmctx of the
 * called instance, of the callee and of the instance's imported
 * functions. A vmctx reached otherwise (a function of a third instance
 * through a shared table) may hold an older limit; the guard-page fault
 * above still catches its overflow.
 */
#define _GNU_SOURCE         /* pthread_getattr_np */
#include <execinfo.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "runtime/internal.h"

/* How far below the stack's end a fault still counts as stack overflow
 * (the kernel's guard gap, and frames larger than it). */
#define STACK_FAULT_SLACK ((uintptr_t)64 << 20)

struct call_frame {
    sigjmp_buf buf;
    struct call_frame *prev;
};

#define RT_MAX_PCS 48

struct rt_thread {
    struct call_frame *top;     /* innermost rt_call, NULL outside */
    void *pcs[RT_MAX_PCS];      /* return addresses at the last trap */
    int npcs;
    uintptr_t stack_lo;         /* lowest address of the thread's stack */
    uintptr_t limit;            /* wasm stack limit while inside */
    bool ready;
};

static _Thread_local struct rt_thread thread_state;

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static pthread_key_t altstack_key;
static struct sigaction old_segv, old_bus;

/* ===== Trap messages ==================================================== */

/* The texts the spec tests expect (assert_trap, assert_exhaustion). */
static const char *const trap_messages[AWSM_TRAP_COUNT] = {
    [AWSM_TRAP_NONE] = "no trap",
    [AWSM_TRAP_UNREACHABLE] = "unreachable",
    [AWSM_TRAP_INT_DIV_ZERO] = "integer divide by zero",
    [AWSM_TRAP_INT_OVERFLOW] = "integer overflow",
    [AWSM_TRAP_INVALID_CONVERSION] = "invalid conversion to integer",
    [AWSM_TRAP_MEMORY_OOB] = "out of bounds memory access",
    [AWSM_TRAP_TABLE_OOB] = "out of bounds table access",
    [AWSM_TRAP_INDIRECT_NULL] = "uninitialized element",
    [AWSM_TRAP_INDIRECT_TYPE] = "indirect call type mismatch",
    [AWSM_TRAP_UNDEFINED_ELEMENT] = "undefined element",
    [AWSM_TRAP_STACK_EXHAUSTED] = "call stack exhausted",
    [AWSM_TRAP_INTERRUPTED] = "interrupted",
    [AWSM_TRAP_HOST] = "host error",
    [AWSM_TRAP_EXIT] = "exit",
};

const char *rt_trap_message(enum awsm_trap trap)
{
    if ((unsigned)trap >= AWSM_TRAP_COUNT)
        return "unknown trap";
    return trap_messages[trap];
}

/* ===== Raising traps ==================================================== */

/* Unwind to the innermost rt_call. Outside any rt_call there is nowhere
 * to go: that is a bug in the embedder (wasm code entered directly), and
 * the only safe end is abort. */
void rt_trap_raise(uint32_t kind)
{
    struct rt_thread *t = &thread_state;
    if (kind == AWSM_TRAP_NONE || kind >= AWSM_TRAP_COUNT)
        kind = AWSM_TRAP_HOST;
    if (t->top == NULL)
        abort();
    t->npcs = kind == AWSM_TRAP_EXIT ? 0 : backtrace(t->pcs, RT_MAX_PCS);
    siglongjmp(t->top->buf, (int)kind);
}

/* ===== The fault handler ================================================ */

static bool is_stack_fault(const struct rt_thread *t, uintptr_t addr)
{
    return addr < t->limit && addr + STACK_FAULT_SLACK >= t->stack_lo;
}

/* Not ours: hand the fault to whoever had it before, or let the default
 * action kill the process when the instruction runs again. */
static void chain_fault(int sig, siginfo_t *si, void *uc)
{
    struct sigaction *old = sig == SIGBUS ? &old_bus : &old_segv;
    if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction != NULL) {
        old->sa_sigaction(sig, si, uc);
        return;
    }
    if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    struct rt_thread *t = &thread_state;
    if (t->top != NULL) {
        uintptr_t addr = (uintptr_t)si->si_addr;
        /* backtrace() unwinds through the signal frame; libgcc is loaded
         * already (install_handlers), so it does not allocate here. */
        if (rt_memory_contains_fault(addr)) {
            t->npcs = backtrace(t->pcs, RT_MAX_PCS);
            siglongjmp(t->top->buf, AWSM_TRAP_MEMORY_OOB);
        }
        if (is_stack_fault(t, addr)) {
            t->npcs = 0;            /* the stack is what overflowed */
            siglongjmp(t->top->buf, AWSM_TRAP_STACK_EXHAUSTED);
        }
    }
    chain_fault(sig, si, uc);
}

static void altstack_free(void *p)
{
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == p) {
        stack_t off = {.ss_flags = SS_DISABLE};
        sigaltstack(&off, NULL);
    }
    munmap(p, RT_ALTSTACK_SIZE);
}

static void install_handlers(void)
{
    void *warm[1];
    backtrace(warm, 1);             /* load libgcc now, not in a handler */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    pthread_key_create(&altstack_key, altstack_free);
}

/* ===== Per-thread set-up ================================================ */

/* A signal stack for this thread, unless one is there already (a
 * sanitizer's, or the embedder's). */
static int altstack_ensure(void)
{
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE) &&
        cur.ss_size >= RT_ALTSTACK_SIZE / 2)
        return 0;
    void *p = mmap(NULL, RT_ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    stack_t ss = {.ss_sp = p, .ss_size = RT_ALTSTACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(p, RT_ALTSTACK_SIZE);
        return -1;
    }
    pthread_setspecific(altstack_key, p);
    return 0;
}

static int stack_bounds(struct rt_thread *t)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return -1;
    int rc = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -1;
    t->stack_lo = (uintptr_t)addr;
    return 0;
}

static struct rt_thread *thread_enter(struct rt_error *err)
{
    struct rt_thread *t = &thread_state;
    pthread_once(&install_once, install_handlers);
    if (t->ready)
        return t;
    if (stack_bounds(t) != 0 || altstack_ensure() != 0) {
        rt_fail(err, RT_ERR_NOMEM, "cannot set up this thread for wasm calls");
        return NULL;
    }
    t->ready = true;
    return t;
}

/* The outermost call's limit: `budget` below here, but not closer than
 * RT_STACK_RESERVE to the end of the stack. */
static uintptr_t compute_limit(const struct rt_thread *t, size_t budget)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t floor = t->stack_lo + RT_STACK_RESERVE;
    uintptr_t limit = sp > budget ? sp - budget : 0;
    return limit < floor ? floor : limit;
}

static void apply_limit(struct rt_instance *inst, struct awsm_funcref *f,
                        uintptr_t limit)
{
    inst->vmctx->stack_limit = limit;
    if (f->vmctx != NULL)
        f->vmctx->stack_limit = limit;
    if (inst->limit_applied == limit)
        return;
    for (uint32_t i = 0; i < inst->mod->wasm->nfunc_imports; i++)
        if (inst->funcs[i]->vmctx != NULL)
            inst->funcs[i]->vmctx->stack_limit = limit;
    inst->limit_applied = limit;
}

/* ===== rt_call ========================================================== */

/* The trampoline of the funcref's type: any type of the calling module
 * with the same canonical id will do. */
static awsm_trampoline find_trampoline(const struct rt_instance *inst,
                                       uint32_t type_id)
{
    const struct rt_module *m = inst->mod;
    for (uint32_t i = 0; i < m->wasm->ntypes; i++)
        if (m->type_ids[i] == type_id)
            return m->desc->trampolines[i];
    return NULL;
}

static int call_check(struct rt_instance *inst, struct awsm_funcref *f,
                      awsm_trampoline *tramp, struct rt_error *err)
{
    if (f == NULL || f->code == NULL)
        return rt_fail(err, RT_ERR_LINK, "rt_call: null function reference");
    *tramp = find_trampoline(inst, f->type_id);
    if (*tramp == NULL) {
        char ty[256] = "?";
        const struct wm_functype *ft = rt_func_type(f);
        if (ft != NULL)
            rt_functype_str(ft, ty, sizeof ty);
        return rt_fail(err, RT_ERR_LINK, "rt_call: the instance's module has "
                       "no type %s to call this function with", ty);
    }
    return 0;
}

/* The part between sigsetjmp and the jump back: nothing it keeps in
 * locals changes after sigsetjmp, so a longjmp cannot clobber it. */
static int call_protected(struct rt_thread *t, awsm_trampoline tramp,
                          struct awsm_funcref *f, awsm_value *args)
{
    struct call_frame frame;
    frame.prev = t->top;
    t->top = &frame;
    int kind = sigsetjmp(frame.buf, 0);
    if (kind == 0)
        tramp(f->code, f->vmctx, args);
    thread_state.top = frame.prev;
    return kind;
}

int rt_call(struct rt_instance *inst, struct awsm_funcref *f, awsm_value *args,
            struct rt_error *err)
{
    awsm_trampoline tramp;
    if (call_check(inst, f, &tramp, err) != 0)
        return -1;
    struct rt_thread *t = thread_enter(err);
    if (t == NULL)
        return -1;
    if (t->top == NULL)
        t->limit = compute_limit(t, inst->opt.stack_size != 0
                                        ? inst->opt.stack_size
                                        : RT_DEFAULT_STACK_SIZE);
    apply_limit(inst, f, t->limit);
    int kind = call_protected(t, tramp, f, args);
    if (kind == 0)
        return 0;
    rt_fail_trap(err, RT_ERR_TRAP, (enum awsm_trap)kind);
    rt_backtrace_symbolize(inst->mod, t->pcs, t->npcs, err);
    t->npcs = 0;
    return -1;
}
