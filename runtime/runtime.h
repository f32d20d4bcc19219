/*
 * runtime/runtime.h - the public header of the runtime core: load a module
 * compiled by awsmc, instantiate it (any number of times), link imports,
 * call exports, read and write globals, memories and tables. Traps unwind to
 * the rt_call that entered wasm and come back as an error value; the process
 * never notices.
 *
 * Prefix rt_. Errors are values: each call that can fail returns 0 or -1 and
 * fills a struct rt_error. Nothing here prints or exits.
 *
 * Threads: modules are immutable once loaded and may be shared; an instance
 * is used by one thread at a time. rt_call may run on any thread, and on
 * stacks of the embedder's own (user-level threads): see "Execution
 * contexts" below.
 */
#ifndef AWSM_RUNTIME_H
#define AWSM_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/abi.h"
#include "wasm/module.h"

struct rt_module;
struct rt_instance;

enum rt_error_kind {
    RT_ERR_NONE = 0,
    RT_ERR_LOAD,            /* the .so is missing, not awsm's, or stale */
    RT_ERR_LINK,            /* an import is missing or of the wrong type */
    RT_ERR_INSTANTIATE,     /* a segment does not fit (spec: uninstantiable) */
    RT_ERR_TRAP,            /* a trap in wasm code; see .trap */
    RT_ERR_NOMEM,
};

#define RT_MAX_FRAMES 16

struct rt_error {
    enum rt_error_kind kind;
    enum awsm_trap trap;        /* for RT_ERR_TRAP */
    char msg[512];              /* "unknown import: env.foo (func (param i32))" */
    /* For RT_ERR_TRAP: the wasm functions on the stack at the trap,
     * innermost first, as function indices of the called instance's module
     * (frames in other modules are left out). */
    uint32_t nframes;
    uint32_t frames[RT_MAX_FRAMES];
};

/* The spec's name for a trap kind: "integer divide by zero", ... */
const char *rt_trap_message(enum awsm_trap trap);

/* SHA-256 of n bytes (Nettle). Returns 0 (the int is for a hash that can fail). */
int rt_sha256(const void *p, size_t n, uint8_t out[32]);

/* ===== Modules ========================================================== */

/* The largest module file, .so or .wasm, that is read or loaded. */
#define RT_MODULE_FILE_MAX ((uint64_t)256 << 20)

/* Open a module file for reading without blocking on it: only a regular
 * file of at most RT_MODULE_FILE_MAX bytes (a FIFO would block, /dev/zero
 * never end). The size is the fstat of the opened file. Returns the
 * descriptor (O_CLOEXEC; the caller closes it), or -1 with RT_ERR_LOAD:
 * "cannot open app.wasm: No such file or directory", "app.wasm: not a
 * regular file (a FIFO)", "app.wasm: 300 MiB is larger than the 256 MiB
 * limit for a module". */
int rt_module_file_open(const char *path, uint64_t *size, struct rt_error *err);

/* Open a .so built by awsmc, check that it is a complete ELF shared
 * object for this host (dlopen of a truncated one would map pages past
 * the end of the file and fault with SIGBUS on their first touch), dlopen
 * it, check its ABI version and hash, and decode the module's metadata. */
int rt_module_load(const char *so_path, struct rt_module **out,
                   struct rt_error *err);
/* The same for a .so that must have been compiled from the module whose
 * SHA-256 is `hash`, as the compile cache knows (it hashed the module for
 * its key): the descriptor must record that hash. */
int rt_module_load_from(const char *so_path, const uint8_t hash[32],
                        struct rt_module **out, struct rt_error *err);
void rt_module_free(struct rt_module *m);
const struct wm_module *rt_module_wasm(const struct rt_module *m);
const struct awsm_module_desc *rt_module_desc(const struct rt_module *m);
/* Whether its loops poll for interrupts (AWSM_DESC_POLLS): without, a
 * loop that calls nothing never reaches a safe point, so preemption and
 * deadlines (rt_instance_interrupt) cannot stop it. */
bool rt_module_interruptible(const struct rt_module *m);

/* ===== Externals: what imports bind to and exports yield ================ */

struct rt_global {
    awsm_value *cell;
    struct wm_globaltype type;
};

struct rt_extern {
    enum wm_extern_kind kind;
    union {
        struct awsm_funcref *func;
        struct awsm_table *table;       /* its type via rt_table_type */
        struct awsm_memory *memory;
        struct rt_global global;
        struct awsm_tag *tag;           /* exception handling */
    } u;
};

/* The current type of a table or memory made by the runtime (an instance's
 * or a host's): limits.min is the current size (elements, pages), as
 * import matching uses it (spec 4.5.3, external typing). */
void rt_table_type(const struct awsm_table *t, struct wm_tabletype *out);
void rt_memory_type(const struct awsm_memory *m, struct wm_memtype *out);

/* The canonical type id of a function type (process-wide, thread-safe;
 * ids start at 1, 0 only when out of memory). */
uint32_t rt_type_id(const struct wm_functype *ft);
/* The function type of a funcref. */
const struct wm_functype *rt_func_type(const struct awsm_funcref *f);
/* The function type of a canonical id (a tag's), or NULL. */
const struct wm_functype *rt_type_of_id(uint32_t type_id);

/* Host objects, for embedders (the spectest module, WASI). They live until
 * rt_host_free. A host function is a C function taking the calling
 * instance's vmctx first, then the wasm parameters, returning the result
 * (at most one), per the C ABI; each importing instance gets its own
 * funcref for it, whose vmctx is the importer's. A max of UINT32_MAX
 * means no maximum. Each returns NULL when out of memory or when the
 * limits are impossible (max < min, over 65536 pages). */
struct rt_host;
struct rt_host *rt_host_new(void);
void rt_host_free(struct rt_host *h);
struct awsm_funcref *rt_host_func(struct rt_host *h, const struct wm_functype *ft,
                                  void *code);
struct awsm_table *rt_host_table(struct rt_host *h, wm_valtype elem,
                                 uint32_t min, uint32_t max);
struct awsm_memory *rt_host_memory(struct rt_host *h, uint32_t min_pages,
                                   uint32_t max_pages);
/* A shared memory (the threads proposal): it must have a maximum. */
struct awsm_memory *rt_host_shared_memory(struct rt_host *h, uint32_t min_pages,
                                          uint32_t max_pages);
awsm_value *rt_host_global(struct rt_host *h, awsm_value init);

/* Import resolution: fill *out for the import, or return -1 (no such
 * import) or RT_RESOLVE_NOMEM (out of memory). The runtime checks the type
 * (spec 4.5.4 import matching) and reports mismatches. */
#define RT_RESOLVE_NOMEM (-2)
typedef int (*rt_resolve_fn)(void *ud, const struct wm_import *im,
                             struct rt_extern *out);

/* ===== Instances ======================================================== */

/* Freed linear memories keep their address-space reservation, zeroed, in
 * a process-wide pool for the next instance (creating and dropping an
 * 8 GiB reservation costs tens of microseconds). At most this many are
 * kept (default RT_MEMORY_POOL_DEFAULT; 0 turns pooling off). */
#define RT_MEMORY_POOL_DEFAULT 64u
void rt_memory_pool_limit(unsigned n);

/* The process-wide memory budget: a cap on the sum of the accessible
 * (committed, read-write) bytes of all live linear memories, instances'
 * and hosts' (pooled freed ones, zeroed, do not count). 0, the default,
 * is unlimited. A memory.grow that would pass it fails as one past the
 * memory's maximum does (-1 to the guest); an instance whose initial
 * memory would pass it fails with RT_ERR_INSTANTIATE ("memory budget
 * exhausted: 2048 MiB in use of 2048 MiB, 64 MiB more needed"); a host
 * memory is NULL. Lowering it below what is in use frees nothing: only
 * new memories and grows are refused until enough is freed. Both calls
 * are thread-safe (atomics: bytes are reserved by compare-and-swap before
 * they are made accessible, so the sum never passes the budget however
 * many threads create and grow memories). */
void rt_memory_budget_set(uint64_t bytes);
/* The bytes counted against the budget now (also when it is 0). */
uint64_t rt_memory_committed(void);
/* Freed reservations kept (zeroed) for the next memories, and the most
 * kept (rt_memory_pool_limit). */
unsigned rt_memory_pooled(void);
unsigned rt_memory_pool_max(void);

struct rt_instance_options {
    size_t stack_size;          /* wasm stack budget in bytes (0: default) */
    uint32_t max_memory_pages;  /* cap below the module's max (0: none) */
    void *host;                 /* stored in vmctx->host */
    /* Called once the instance exists, before anything of it runs (its
     * start function): e.g. to set an interrupt handler and publish the
     * instance to the thread that may interrupt it, so that a start
     * function that never returns can be stopped too. */
    void (*on_created)(struct rt_instance *inst, void *ud);
    void *created_ud;
    /* The embedder never gives this instance's memory to another instance
     * (host code, which checks bounds, may use it: awsmrt's WASI). Then a
     * memory whose code checks every access (rt_module_desc(m)->mem_reach
     * below AWSM_GUARD_RESERVATION: a small maximum, or checked mode) is
     * a slot of a shared slab even when exported, not an 8 GiB
     * reservation of its own. Should it be imported after all, an importer
     * compiled with bare guard-mode accesses is refused (RT_ERR_LINK). An
     * unexported memory is a slot whenever its code allows. */
    bool private_memory;
    /* The resolver's answers depend on the import alone, not on ud, and
     * stay valid while the module is loaded (wasi_resolve's do: the
     * process's funcrefs). The first instance resolves and checks the
     * imports and the module keeps what they were bound to; later
     * instances made with the same resolver bind that without asking. */
    bool resolve_cacheable;
    /* memory.atomic.wait (the threads proposal) on this instance's shared
     * memory, once the value matched and the timeout is not zero, for an
     * embedder whose thread must not block (awsmrt's user-level threads)
     * and whose instances share their memory with no other thread, so
     * that no notify can come: called instead of blocking, with the
     * timeout (negative: none), it returns what the wait returns (2, timed
     * out) and may trap (rt_instance_trap: a deadline). NULL: the thread
     * blocks until a notify or the timeout. */
    uint32_t (*atomic_wait)(void *ud, int64_t timeout_ns);
    void *wait_ud;
};

/* Create an instance: resolve imports, initialise globals, tables, elements
 * and data (with the spec's bounds rules), then run the start function. A
 * trap in the start function is an error (RT_ERR_TRAP); a segment out of
 * bounds is RT_ERR_INSTANTIATE with .trap set (the trap the spec names).
 *
 * Ownership on failure: for RT_ERR_INSTANTIATE and RT_ERR_TRAP, *out is
 * still set (also for a memory or table refused by a limit or the budget,
 * before anything ran). As in the spec, the writes made before the failure persist,
 * so tables shared with other instances may now hold this instance's
 * functions: keep the instance (unusable otherwise) alive as long as
 * those tables, then rt_instance_free it. For other errors *out is NULL. */
int rt_instance_new(struct rt_module *m, rt_resolve_fn resolve, void *ud,
                    const struct rt_instance_options *opt,
                    struct rt_instance **out, struct rt_error *err);
void rt_instance_free(struct rt_instance *inst);
struct rt_module *rt_instance_module(struct rt_instance *inst);

/* Whether the memory budget (rt_memory_budget_set) refused this instance
 * anything: its initial memory (rt_instance_new failed with
 * RT_ERR_INSTANTIATE, *out set) or a memory.grow its code made (the guest
 * saw -1), as opposed to a refusal by its own maximum or the
 * max_memory_pages cap. Sticky for the instance's life; ask it where the
 * instance is used (its thread, no call running), e.g. to tell a tenant
 * that its guest failed because the server is out of memory. */
bool rt_instance_budget_refused(const struct rt_instance *inst);
struct awsm_vmctx *rt_instance_vmctx(struct rt_instance *inst);

/* Look up an export by name; -1 if absent. The _n form takes a length:
 * export names may contain NUL bytes. */
int rt_instance_export(struct rt_instance *inst, const char *name,
                       struct rt_extern *out);
int rt_instance_export_n(struct rt_instance *inst, const char *name,
                         size_t len, struct rt_extern *out);

/* Call a function with args[0..nparams); results come back in
 * args[0..nresults) (so size args for the larger). A trap returns -1 with
 * err->kind RT_ERR_TRAP and err->trap set. */
int rt_call(struct rt_instance *inst, struct awsm_funcref *f, awsm_value *args,
            struct rt_error *err);

/* ===== Interrupts ======================================================= */

/*
 * Stopping or preempting a running guest. Generated code polls at safe
 * points: every loop header and every function entry (runtime/abi.h). An
 * interrupt requested while no call runs stays pending and is taken at
 * the first safe point of the next call. An instance's interrupt is seen
 * by the instance's own code; code of another instance it calls sees it
 * when control comes back.
 */

/* Runs on the guest's thread (and stack) at the next safe point after
 * rt_instance_interrupt. It may return: the guest resumes where it was
 * (e.g. after a user-level context switch to other work and back); or it
 * may end the call with rt_instance_trap. Interrupts requested while it
 * runs call it again once it returns. It must not count on seeing the
 * guest's latest writes to its memory and globals, nor the guest on
 * seeing the handler's: at a loop's safe point compiled code may keep
 * them in registers. */
typedef void (*rt_interrupt_fn)(struct rt_instance *inst, void *ud);

/* Set (fn != NULL) or remove the handler. Without one, an interrupt ends
 * the call with the trap AWSM_TRAP_INTERRUPTED. Call it while no call of
 * the instance runs, or from the guest's own thread. */
void rt_instance_set_interrupt_handler(struct rt_instance *inst,
                                       rt_interrupt_fn fn, void *ud);

/* Request the handler at the guest's next safe point (a loop reaches one
 * only if rt_module_interruptible). From any thread,
 * async-signal-safe (two atomic stores), idempotent: requests made before
 * the handler starts are served by one run of it. The instance must stay
 * alive until the call returns. */
void rt_instance_interrupt(struct rt_instance *inst);

/* From a host function or an interrupt handler running inside rt_call on
 * the current execution context: unwind to that context's innermost
 * rt_call, which returns -1 with err->kind RT_ERR_TRAP and err->trap =
 * kind (AWSM_TRAP_NONE or an unknown kind becomes AWSM_TRAP_HOST). Frames
 * of C code in between are abandoned, not unwound: they must hold no
 * locks or allocations. Outside any rt_call it aborts (a bug). */
_Noreturn void rt_instance_trap(struct rt_instance *inst, enum awsm_trap kind);

/* ===== Execution contexts =============================================== */

/*
 * The runtime's state for one stack that runs wasm: where traps land
 * (the chain of active rt_calls), the stack's bounds (for the stack limit
 * and for telling a stack overflow from a crash in the fault handler),
 * the last trap's backtrace. Each OS thread has its own by default. A
 * scheduler running wasm on stacks of its own makes one context per stack
 * and enters the context of whichever stack it switches to:
 *
 *     ctx = rt_context_new(lo, size);      lo: just above a PROT_NONE guard
 *     prev = rt_context_enter(ctx);        then switch to that stack ...
 *     rt_context_enter(prev);              ... and after switching back
 *
 * A call may be suspended (an interrupt handler switches away) and resumed
 * later, on the same or another OS thread, as long as its context is
 * entered there first. Calls on a context nest as on a thread; a trap
 * lands in the innermost rt_call of the context it happens on, never in
 * another's. The alternate signal stack stays per OS thread and is set up
 * by the thread's first rt_call: a thread that only resumes calls begun
 * elsewhere must have made one rt_call of its own before.
 */
struct rt_context;

/* A context for the usable stack [stack_lo, stack_lo + stack_size); the
 * guard page(s) below stack_lo are the caller's. rt_call on it sets the
 * stack limit to its stack pointer minus rt_instance_options.stack_size,
 * but keeps a reserve at the bottom for host functions, interrupt
 * handlers and the trap path (a quarter of the stack, at most 64 KiB); a
 * fault in the guard below is "call stack exhausted". NULL when out of
 * memory or for a stack smaller than 16 KiB. */
struct rt_context *rt_context_new(void *stack_lo, size_t stack_size);
/* Free a context that no call is running on and no thread has entered. */
void rt_context_free(struct rt_context *c);
/* Make c the calling OS thread's current context (NULL: the thread's own)
 * and return the previous one (NULL for the thread's own). A TLS pointer
 * store: call it on every switch, right before changing stacks. */
struct rt_context *rt_context_enter(struct rt_context *c);

#endif
