/*
 * runtime/trap.c - entering wasm and getting out of it: rt_call, traps,
 * the fault handler, stack limits, execution contexts and interrupts.
 *
 * rt_call pushes a frame holding a sigjmp_buf on the current execution
 * context's list and calls the function through its type's trampoline. A
 * trap, raised by generated code through vmctx->rt->trap, by a runtime
 * service, by an interrupt handler or by the fault handler, siglongjmps
 * to the innermost frame of the current context with its kind.
 * sigsetjmp(buf, 0) does not save the signal mask (~20 ns instead of
 * ~500 ns); the handler is installed with SA_NODEFER so that jumping out
 * of it leaves SIGSEGV unblocked. Host functions may call rt_call again:
 * frames nest, and a trap goes to the innermost one.
 *
 * Execution contexts: everything above (the frames, the stack's bounds
 * and limit, the last trap's return addresses) belongs to the stack wasm
 * runs on, not to the OS thread: with user-level threads, sandbox A can
 * be suspended inside rt_call while sandbox B calls wasm on the same OS
 * thread, and a later trap of A must land in A's rt_call. Each thread has
 * its own context (the thread's stack); a scheduler enters the context
 * of each stack it switches to (rt_context_enter: one TLS store). Code
 * that resumes after a call or a handler uses the context pointer it
 * had, never the thread's TLS: the stack may have moved to another
 * thread in between.
 *
 * Faults (SIGSEGV, SIGBUS) while the current context is inside rt_call:
 *   - in a linear memory's reservation: "out of bounds memory access";
 *   - below the context's stack limit, down to its guard region (the
 *     kernel's guard gap for a thread, the caller's guard page for a
 *     context of its own): "call stack exhausted";
 *   - anything else is a real crash: the previous handler (default, or a
 *     sanitizer's) gets it.
 * The handler runs on an alternate signal stack, one per OS thread
 * (allocated on first use), whichever context is current.
 *
 * Stack limits: generated code calls rt->interrupted when its stack
 * pointer is below vmctx->stack_limit. The outermost rt_call of a context
 * sets the limit to its own stack pointer minus the budget
 * (options.stack_size, default 512 KiB), but keeps a reserve above the
 * end of the stack (64 KiB for a thread; for a context, a quarter of its
 * stack, at most 64 KiB); nested calls keep it. The limit is written into
 * the vmctx of the called instance, of the callee and of the instance's
 * imported functions. A vmctx reached otherwise (a function of a third
 * instance through a shared table) may hold an older limit, even one of
 * another stack; rt->interrupted then restores the current one, and the
 * guard-page fault above still catches an overflow.
 *
 * Interrupts: rt_instance_interrupt stores vmctx->interrupt = 1, then
 * stack_limit = UINTPTR_MAX, so that both kinds of safe point (loop
 * headers poll the flag, stack checks compare the limit) call
 * rt->interrupted. Every store of a real limit is followed by a look at
 * the flag (seq_cst), so no interleaving with a concurrent
 * rt_instance_interrupt loses the request: if its UINTPTR_MAX was
 * overwritten, its flag store came earlier still and is seen.
 */
#define _GNU_SOURCE         /* pthread_getattr_np */
#include <execinfo.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ucontext.h>

#include "runtime/internal.h"

/* How far below a thread's stack a fault still counts as stack overflow
 * (the kernel's guard gap, and frames larger than it). */
#define STACK_FAULT_SLACK ((uintptr_t)64 << 20)
/* The same below a context's stack: its caller's guard page(s), and
 * frames that skip past the first page. */
#define CONTEXT_FAULT_SLACK ((uintptr_t)64 << 10)
/* A context's stack must be this large. */
#define CONTEXT_MIN_STACK ((size_t)16 << 10)
/* rt->interrupted runs a few frames below the wasm function that called
 * it. Only when its own frame is this far below the real limit is the
 * call a stack overflow; a genuine overflow by less is caught by the next
 * call down, so the stack never goes more than this (plus one frame)
 * into the reserve. Keeps an interrupt that arrives while the guest is
 * just above the limit from passing for an overflow. */
#define INTERRUPT_FRAME_SLACK ((uintptr_t)4 << 10)

struct call_frame {
    sigjmp_buf buf;
    struct call_frame *prev;
};

#define RT_MAX_PCS 48

struct rt_context {
    struct call_frame *top;     /* innermost rt_call, NULL outside */
    uintptr_t stack_lo;         /* lowest usable address of the stack */
    uintptr_t reserve;          /* the limit stays this far above stack_lo */
    uintptr_t fault_slack;      /* faults this far below stack_lo: overflow */
    uintptr_t limit;            /* wasm stack limit while inside */
    int npcs;
    void *pcs[RT_MAX_PCS];      /* return addresses at the last trap */
    struct rt_exn_state exn;    /* exceptions thrown on this stack (exn.c) */
};

struct rt_thread {
    struct rt_context *cur;     /* entered context; NULL: `own` */
    struct rt_context own;      /* the thread's stack */
    bool ready;                 /* own's bounds and the alt stack are set */
};

static _Thread_local struct rt_thread thread_state;

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static pthread_key_t altstack_key;
static struct sigaction old_segv, old_bus;

/* The calling thread's current context. A plain TLS read: also what the
 * fault handler does, on the same thread. */
static struct rt_context *current(void)
{
    struct rt_thread *t = &thread_state;
    return t->cur != NULL ? t->cur : &t->own;
}

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
    [AWSM_TRAP_UNALIGNED_ATOMIC] = "unaligned atomic",
    [AWSM_TRAP_WAIT_UNSHARED] = "atomic wait on non-shared memory",
    [AWSM_TRAP_UNCAUGHT_EXCEPTION] = "uncaught exception",
};

const char *rt_trap_message(enum awsm_trap trap)
{
    if ((unsigned)trap >= AWSM_TRAP_COUNT)
        return "unknown trap";
    return trap_messages[trap];
}

/* ===== Raising traps ==================================================== */

/* Unwind to the current context's innermost rt_call. Outside any rt_call
 * there is nowhere to go: that is a bug in the embedder (wasm code
 * entered directly), and the only safe end is abort. */
void rt_trap_raise(uint32_t kind)
{
    struct rt_context *c = current();
    if (kind == AWSM_TRAP_NONE || kind >= AWSM_TRAP_COUNT)
        kind = AWSM_TRAP_HOST;
    if (c->top == NULL)
        abort();
    c->npcs = kind == AWSM_TRAP_EXIT ? 0 : backtrace(c->pcs, RT_MAX_PCS);
    siglongjmp(c->top->buf, (int)kind);
}

_Noreturn void rt_instance_trap(struct rt_instance *inst, enum awsm_trap kind)
{
    (void)inst;         /* the innermost call is on this stack, whoever's */
    rt_trap_raise(kind);
}

/* ===== The fault handler ================================================ */

static bool is_stack_fault(const struct rt_context *c, uintptr_t addr)
{
    return addr < c->limit && addr + c->fault_slack >= c->stack_lo;
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

/*
 * backtrace() unwinds with libgcc, which glibc loads with dlopen on the
 * first call: 150-225 us on this VM, a tenth of a cached `awsm run`'s
 * whole life, so it is loaded only when a trap needs it. An explicit trap
 * (rt_trap_raise) runs in an ordinary context, where dlopen is safe. A
 * fault is turned into one: the handler makes the faulting instruction
 * look as if it had called rt_fault_entry (x86-64 below), which raises
 * the trap outside the handler; the unwinder walks from there into the
 * wasm frames. Where that cannot be done, libgcc is loaded before any
 * fault can need it (backtrace_warm): on other targets at start, and
 * for every context stack (rt_context_new), whose reserve may be too
 * small for a dlopen (4.8 KB of stack, measured), though the thread's
 * own reserve, RT_STACK_RESERVE, is not.
 */
static void warm_once(void)
{
    void *warm[1];
    backtrace(warm, 1);
}

static void backtrace_warm(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, warm_once);
}

#if defined(__x86_64__)
/* Entered with [rsp] = the faulting instruction's address + 1, as if that
 * instruction had been a call (the unwinder looks up return address - 1:
 * the faulting instruction's own CFI row), the faulting frame's other
 * registers intact, rdi the trap. It aligns the stack and raises the trap;
 * rbp, its CFA register, keeps the frame walkable. */
void rt_fault_entry(void);
__asm__(
    "    .pushsection .text\n"
    "    .globl  rt_fault_entry\n"
    "    .hidden rt_fault_entry\n"
    "    .type   rt_fault_entry, @function\n"
    "rt_fault_entry:\n"
    "    .cfi_startproc\n"
    "    endbr64\n"
    "    pushq %rbp\n    .cfi_adjust_cfa_offset 8\n    .cfi_offset %rbp, -16\n"
    "    movq %rsp, %rbp\n    .cfi_def_cfa_register %rbp\n"
    "    andq $-16, %rsp\n"
    "    call rt_trap_raise@PLT\n"
    "    ud2\n"
    "    .cfi_endproc\n"
    "    .size   rt_fault_entry, .-rt_fault_entry\n"
    "    .popsection\n");

/* Resume the faulting thread in rt_fault_entry with `kind`. */
static void raise_after_return(void *ucv, uint32_t kind)
{
    ucontext_t *uc = ucv;
    greg_t *r = uc->uc_mcontext.gregs;
    uintptr_t *sp = (uintptr_t *)(uintptr_t)r[REG_RSP] - 1;
    *sp = (uintptr_t)r[REG_RIP] + 1;
    r[REG_RSP] = (greg_t)(uintptr_t)sp;
    r[REG_RIP] = (greg_t)(uintptr_t)rt_fault_entry;
    r[REG_RDI] = (greg_t)kind;
}
#endif

/* Runs on the thread's alternate stack, whichever context is current;
 * the jump goes to that context's stack. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
    struct rt_context *c = current();
    if (c->top != NULL) {
        uintptr_t addr = (uintptr_t)si->si_addr;
        if (rt_memory_contains_fault(addr)) {
#if defined(__x86_64__)
            raise_after_return(uc, AWSM_TRAP_MEMORY_OOB);
            return;
#else
            /* backtrace() unwinds through the signal frame; libgcc is
             * loaded already (install_handlers). */
            c->npcs = backtrace(c->pcs, RT_MAX_PCS);
            siglongjmp(c->top->buf, AWSM_TRAP_MEMORY_OOB);
#endif
        }
        if (is_stack_fault(c, addr)) {
            c->npcs = 0;            /* the stack is what overflowed */
            siglongjmp(c->top->buf, AWSM_TRAP_STACK_EXHAUSTED);
        }
    }
    chain_fault(sig, si, uc);
}

static void altstack_free(void *p)
{
    rt_exn_state_free(&thread_state.own.exn);     /* the thread is exiting */
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == p) {
        stack_t off = {.ss_flags = SS_DISABLE};
        sigaltstack(&off, NULL);
    }
    munmap(p, RT_ALTSTACK_SIZE);
}

static void install_handlers(void)
{
#if !defined(__x86_64__)
    backtrace_warm();               /* load libgcc now, not in a handler */
#endif
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

/* The thread's own context: the thread's stack, from pthread. */
static int own_context_init(struct rt_context *c)
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
    c->stack_lo = (uintptr_t)addr;
    c->reserve = RT_STACK_RESERVE;
    c->fault_slack = STACK_FAULT_SLACK;
    return 0;
}

static int thread_enter(struct rt_error *err)
{
    struct rt_thread *t = &thread_state;
    pthread_once(&install_once, install_handlers);
    if (t->ready)
        return 0;
    if (own_context_init(&t->own) != 0 || altstack_ensure() != 0)
        return rt_fail(err, RT_ERR_NOMEM,
                       "cannot set up this thread for wasm calls");
    t->ready = true;
    return 0;
}

struct rt_exn_state *rt_exn_current(void)
{
    return &current()->exn;
}

/* ===== Execution contexts =============================================== */

struct rt_context *rt_context_new(void *stack_lo, size_t stack_size)
{
    if (stack_lo == NULL || stack_size < CONTEXT_MIN_STACK)
        return NULL;
    struct rt_context *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    backtrace_warm();           /* before a trap on a small stack needs it */
    c->stack_lo = (uintptr_t)stack_lo;
    c->reserve = stack_size / 4 < RT_STACK_RESERVE ? stack_size / 4
                                                   : RT_STACK_RESERVE;
    c->fault_slack = CONTEXT_FAULT_SLACK;
    return c;
}

void rt_context_free(struct rt_context *c)
{
    if (c != NULL)
        rt_exn_state_free(&c->exn);
    free(c);
}

struct rt_context *rt_context_enter(struct rt_context *c)
{
    struct rt_thread *t = &thread_state;
    struct rt_context *prev = t->cur;
    t->cur = c;
    /* The store must be done before the stack switch that follows: the
     * fault handler reads it on this thread. */
    atomic_signal_fence(memory_order_seq_cst);
    return prev;
}

/* ===== Stack limits ===================================================== */

/* Store a real limit without losing a concurrent interrupt (see the top
 * of this file): when one is pending, the limit goes back to
 * UINTPTR_MAX so that stack checks still see it. */
static void vmctx_set_limit(struct awsm_vmctx *vm, uintptr_t limit)
{
    __atomic_store_n(&vm->stack_limit, limit, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&vm->interrupt, __ATOMIC_SEQ_CST) != 0)
        __atomic_store_n(&vm->stack_limit, UINTPTR_MAX, __ATOMIC_SEQ_CST);
}

/* The outermost call's limit: `budget` below here, but not closer than
 * the context's reserve to the end of its stack. */
static uintptr_t compute_limit(const struct rt_context *c, size_t budget)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t floor = c->stack_lo + c->reserve;
    uintptr_t limit = sp > budget ? sp - budget : 0;
    return limit < floor ? floor : limit;
}

static void apply_limit(struct rt_instance *inst, struct awsm_funcref *f,
                        uintptr_t limit)
{
    vmctx_set_limit(inst->vmctx, limit);
    if (f->vmctx != NULL && f->vmctx != inst->vmctx)
        vmctx_set_limit(f->vmctx, limit);
    if (inst->limit_applied == limit)
        return;
    for (uint32_t i = 0; i < inst->mod->wasm->nfunc_imports; i++) {
        struct awsm_vmctx *vm = inst->funcs[i]->vmctx;
        if (vm != NULL && vm != inst->vmctx)
            vmctx_set_limit(vm, limit);
    }
    inst->limit_applied = limit;
}

/* ===== Interrupts ======================================================= */

void rt_instance_set_interrupt_handler(struct rt_instance *inst,
                                       rt_interrupt_fn fn, void *ud)
{
    inst->on_interrupt = fn;
    inst->interrupt_ud = ud;
}

/* The flag first, then the limit: whoever restores the limit looks at the
 * flag afterwards (vmctx_set_limit, rt_interrupted). */
void rt_instance_interrupt(struct rt_instance *inst)
{
    struct awsm_vmctx *vm = inst->vmctx;
    __atomic_store_n(&vm->interrupt, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&vm->stack_limit, UINTPTR_MAX, __ATOMIC_SEQ_CST);
}

static void run_interrupt_handler(struct awsm_vmctx *vm)
{
    struct rt_instance *inst = rt_instance_of(vm);
    if (inst->on_interrupt == NULL)
        rt_trap_raise(AWSM_TRAP_INTERRUPTED);
    inst->on_interrupt(inst, inst->interrupt_ud);
}

/*
 * rt->interrupted, from a safe point: a loop header that saw the flag, or
 * a stack check whose stack pointer was below vmctx->stack_limit. The
 * latter is a genuine overflow when this frame is below the real limit
 * (by more than the frames between here and wasm); otherwise the limit
 * was UINTPTR_MAX (an interrupt, perhaps one already served: the two
 * stores of rt_instance_interrupt may straddle a handler) or stale (a
 * vmctx last used on another stack). Either way: restore the limit, then
 * serve the flag, as often as it comes back.
 */
void rt_interrupted(struct awsm_vmctx *vm)
{
    struct rt_context *c = current();
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (here + INTERRUPT_FRAME_SLACK < c->limit)
        rt_trap_raise(AWSM_TRAP_STACK_EXHAUSTED);
    for (;;) {
        __atomic_store_n(&vm->stack_limit, c->limit, __ATOMIC_SEQ_CST);
        if (__atomic_exchange_n(&vm->interrupt, 0, __ATOMIC_SEQ_CST) == 0)
            return;
        /* The handler may switch stacks and come back on another thread;
         * `c` is this stack's context either way. */
        run_interrupt_handler(vm);
    }
}

/*
 * On x86-64, generated code calls rt->interrupted with LLVM's preserve_most
 * convention (runtime/abi.h): the callee keeps every general-purpose
 * register but r11. A call that may return from the stack check would
 * otherwise make every small function save callee-saved registers in its
 * prologue, on the hot path (+10 instructions a call, 20% on an
 * interpreter). This entry saves the registers the C convention lets
 * rt_interrupted clobber. The CFI lets backtrace() (a trap raised from a
 * handler) walk through it into the wasm frames. Called with the C
 * convention, it just preserves more than needed.
 */
#if defined(__x86_64__)
__asm__(
    "    .pushsection .text\n"
    "    .globl  rt_interrupted_entry\n"
    "    .hidden rt_interrupted_entry\n"
    "    .type   rt_interrupted_entry, @function\n"
    "rt_interrupted_entry:\n"
    "    .cfi_startproc\n"
    "    endbr64\n"
    "    pushq %rax\n    .cfi_adjust_cfa_offset 8\n"
    "    pushq %rcx\n    .cfi_adjust_cfa_offset 8\n"
    "    pushq %rdx\n    .cfi_adjust_cfa_offset 8\n"
    "    pushq %rsi\n    .cfi_adjust_cfa_offset 8\n"
    "    pushq %rdi\n    .cfi_adjust_cfa_offset 8\n"
    "    pushq %r8\n     .cfi_adjust_cfa_offset 8\n"
    "    pushq %r9\n     .cfi_adjust_cfa_offset 8\n"
    "    pushq %r10\n    .cfi_adjust_cfa_offset 8\n"
    "    subq $8, %rsp\n .cfi_adjust_cfa_offset 8\n"     /* align to 16 */
    "    call rt_interrupted@PLT\n"
    "    addq $8, %rsp\n .cfi_adjust_cfa_offset -8\n"
    "    popq %r10\n     .cfi_adjust_cfa_offset -8\n"
    "    popq %r9\n      .cfi_adjust_cfa_offset -8\n"
    "    popq %r8\n      .cfi_adjust_cfa_offset -8\n"
    "    popq %rdi\n     .cfi_adjust_cfa_offset -8\n"
    "    popq %rsi\n     .cfi_adjust_cfa_offset -8\n"
    "    popq %rdx\n     .cfi_adjust_cfa_offset -8\n"
    "    popq %rcx\n     .cfi_adjust_cfa_offset -8\n"
    "    popq %rax\n     .cfi_adjust_cfa_offset -8\n"
    "    ret\n"
    "    .cfi_endproc\n"
    "    .size   rt_interrupted_entry, .-rt_interrupted_entry\n"
    "    .popsection\n");
#endif

/*
 * rt->stack_probe: a frame of a page or more checks, before the prologue
 * allocates it, that it ends above vmctx->stack_limit; when it would not
 * (an overflow, a pending interrupt's UINTPTR_MAX, a stale limit), the
 * probe jumps here, and the frame is compared with the current stack's
 * real limit. The entry saves what the prologue still needs (the
 * arguments, in general-purpose and vector registers, and rax, the
 * frame's size), aligns the stack, which a prologue need not have done
 * yet, and calls rt_stack_probe with the stack pointer the frame will be
 * allocated from (above the probe's return address and ours).
 */
void rt_stack_probe(uintptr_t sp, uintptr_t size)
{
    if (size > sp || sp - size < current()->limit)
        rt_trap_raise(AWSM_TRAP_STACK_EXHAUSTED);
}

#if defined(__x86_64__)
__asm__(
    "    .pushsection .text\n"
    "    .globl  rt_stack_probe_entry\n"
    "    .hidden rt_stack_probe_entry\n"
    "    .type   rt_stack_probe_entry, @function\n"
    "rt_stack_probe_entry:\n"
    "    .cfi_startproc\n"
    "    endbr64\n"
    "    pushq %rbp\n    .cfi_adjust_cfa_offset 8\n    .cfi_rel_offset %rbp, 0\n"
    "    movq %rsp, %rbp\n    .cfi_def_cfa_register %rbp\n"
    "    pushq %rax\n    pushq %rcx\n    pushq %rdx\n    pushq %rsi\n"
    "    pushq %rdi\n    pushq %r8\n     pushq %r9\n     pushq %r10\n"
    "    andq $-16, %rsp\n"
    "    subq $128, %rsp\n"
    "    movaps %xmm0, 0(%rsp)\n    movaps %xmm1, 16(%rsp)\n"
    "    movaps %xmm2, 32(%rsp)\n   movaps %xmm3, 48(%rsp)\n"
    "    movaps %xmm4, 64(%rsp)\n   movaps %xmm5, 80(%rsp)\n"
    "    movaps %xmm6, 96(%rsp)\n   movaps %xmm7, 112(%rsp)\n"
    "    leaq 16(%rbp), %rdi\n"
    "    movq %rax, %rsi\n"
    "    call rt_stack_probe@PLT\n"
    "    movaps 0(%rsp), %xmm0\n    movaps 16(%rsp), %xmm1\n"
    "    movaps 32(%rsp), %xmm2\n   movaps 48(%rsp), %xmm3\n"
    "    movaps 64(%rsp), %xmm4\n   movaps 80(%rsp), %xmm5\n"
    "    movaps 96(%rsp), %xmm6\n   movaps 112(%rsp), %xmm7\n"
    "    leaq -64(%rbp), %rsp\n"
    "    popq %r10\n     popq %r9\n      popq %r8\n      popq %rdi\n"
    "    popq %rsi\n     popq %rdx\n     popq %rcx\n     popq %rax\n"
    "    popq %rbp\n    .cfi_def_cfa %rsp, 8\n"
    "    ret\n"
    "    .cfi_endproc\n"
    "    .size   rt_stack_probe_entry, .-rt_stack_probe_entry\n"
    "    .popsection\n");
#endif

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
static int call_protected(struct rt_context *c, awsm_trampoline tramp,
                          struct awsm_funcref *f, awsm_value *args)
{
    struct call_frame frame;
    frame.prev = c->top;
    c->top = &frame;
    int kind = sigsetjmp(frame.buf, 0);
    if (kind == 0)
        tramp(f->code, f->vmctx, args);
    c->top = frame.prev;
    return kind;
}

/* After the call: an exception that left the function is an error here
 * (host frames never pass one on), and whatever a trap left on the caught
 * stack, above where this call began, is dropped. */
static int call_finish(struct rt_context *c, struct awsm_funcref *f,
                       uint32_t ncaught, int kind)
{
    if (kind == 0 && f->vmctx != NULL && f->vmctx->exn_pending) {
        f->vmctx->exn_pending = 0;
        kind = AWSM_TRAP_UNCAUGHT_EXCEPTION;
    }
    if (kind != 0) {
        c->exn.flight.tag = NULL;
        c->exn.ncaught = ncaught;
    }
    return kind;
}

int rt_call(struct rt_instance *inst, struct awsm_funcref *f, awsm_value *args,
            struct rt_error *err)
{
    awsm_trampoline tramp;
    if (call_check(inst, f, &tramp, err) != 0 || thread_enter(err) != 0)
        return -1;
    struct rt_context *c = current();
    if (c->top == NULL)
        c->limit = compute_limit(c, inst->opt.stack_size != 0
                                        ? inst->opt.stack_size
                                        : RT_DEFAULT_STACK_SIZE);
    apply_limit(inst, f, c->limit);
    uint32_t ncaught = c->exn.ncaught;
    int kind = call_finish(c, f, ncaught, call_protected(c, tramp, f, args));
    if (kind == 0)
        return 0;
    rt_fail_trap(err, RT_ERR_TRAP, (enum awsm_trap)kind);
    rt_backtrace_symbolize(inst->mod, c->pcs, c->npcs, err);
    c->npcs = 0;
    return -1;
}
