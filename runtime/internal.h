/*
 * runtime/internal.h - private to runtime/: the structs behind the public
 * handles and the functions the runtime's files share.
 *
 * Files, in the order an instance meets them:
 *   module.c    dlopen, ABI and hash checks, metadata
 *   types.c     the process-wide registry of canonical function types
 *   memory.c    linear memories: reservations, growth, the fault registry
 *   table.c     tables and their bulk operations
 *   host.c      host objects for embedders
 *   link.c      import resolution and import matching (spec 4.5.4)
 *   instance.c  instantiation, exports
 *   services.c  struct awsm_rt_api: what generated code calls
 *   trap.c      rt_call, traps, signal handling, stack limits,
 *               execution contexts, interrupts
 */
#ifndef AWSM_RUNTIME_INTERNAL_H
#define AWSM_RUNTIME_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>

#include "runtime/runtime.h"

/* ===== Named limits ===================================================== */

/* Tables grow up to this many elements (the JS embedding's limit); a
 * table.grow past it returns -1 as the spec allows. */
#define RT_MAX_TABLE_ELEMS      10000000u
/* Default wasm stack budget of an rt_call. */
#define RT_DEFAULT_STACK_SIZE   (512u << 10)
/* Never let the stack limit come closer than this to the real end of the
 * thread's stack: host functions, interrupt handlers and the trap path
 * need room below it. A context's own stack keeps a quarter of its size,
 * at most this. */
#define RT_STACK_RESERVE        (64u << 10)
/* Size of the per-thread signal stack. */
#define RT_ALTSTACK_SIZE        (64u << 10)

/* ===== Modules ========================================================== */

/* Where each part of an instance lives in its shell: one allocation
 * holding the struct rt_instance and every per-instance array, laid out
 * once at module load (instance.c). Offsets in bytes from the start. */
struct rt_shell_layout {
    size_t size;
    size_t vmctx, funcs, defined, host_copies, tables, own_tables;
    size_t memories, own_memories, tags, own_tags;
    size_t imported_globals, elems, elem_vals, table_structs, table_elems;
    size_t data_dropped;
};

/* An active data segment copied at instantiation without evaluating or
 * checking anything (instance.c, rt_data_image_build): consecutive
 * segments are merged into runs of one image buffer. */
struct rt_data_run {
    uint32_t dst, len;
    const uint8_t *src;
};

struct rt_data_image {
    bool usable;                            /* else the general path */
    uint32_t nruns;
    struct rt_data_run *runs;
    uint8_t *bytes;                         /* merged runs' bytes */
};

struct rt_module {
    void *dl;                               /* dlopen handle */
    const struct awsm_module_desc *desc;
    struct wm_module *wasm;                 /* decoded from desc->wasm */
    uint32_t *type_ids;                     /* [ntypes] canonical ids */
    struct code_start *code_starts;         /* functions by address */
    uint32_t ncode_starts;
    void *code_base;                        /* the .so's load address */
    struct rt_shell_layout shell;
    struct rt_data_image image;
    /* Freed instances' shells, reused by the next rt_instance_new. */
    pthread_mutex_t shell_lock;
    struct rt_instance *shells;
    unsigned nshells;
    /* What a cacheable resolver bound the imports to (rt_link_imports):
     * published once, then never changed until rt_module_free. */
    struct rt_link_cache *_Atomic link_cache;
};

struct rt_link_cache {
    rt_resolve_fn resolve;
    struct rt_extern ex[];                  /* one per import */
};

/* instance.c: lay out the shell and prepare the data image (at load). */
int rt_module_prepare(struct rt_module *m);
/* instance.c: free the pooled shells and the image (at rt_module_free). */
void rt_module_release(struct rt_module *m);

/* backtrace.c: map native return addresses to wasm functions. */
int rt_code_map_build(struct rt_module *m);
void rt_code_map_free(struct rt_module *m);
void rt_backtrace_symbolize(const struct rt_module *m, void *const *pcs,
                            int npcs, struct rt_error *err);

/* ===== Memories and tables ============================================== */

struct rt_memory {
    struct awsm_memory pub;                 /* first: casts both ways */
    uint64_t max_pages;                     /* effective max (cap applied) */
    bool has_max;                           /* declared max, for matching */
    bool warm;                              /* free slot: pages resident */
    bool shared;                            /* threads: grows under a lock */
    bool is64;                              /* memory64, for import matching */
    uint64_t declared_max;
    /* Address space past the base that is this memory's: the 8 GiB
     * reservation (AWSM_GUARD_RESERVATION), or a slab slot, read-write
     * whole, for code that checks every access (memory.c). */
    uint64_t extent;
    struct rt_memory *pool_next;            /* while pooled or free */
};

struct rt_table {
    struct awsm_table pub;                  /* first: casts both ways */
    wm_valtype elem;
    bool has_max;
    bool embedded;                          /* in an instance's shell */
    uint32_t cap;                           /* allocated elements */
    void **inline_elems;                    /* shell storage, or NULL */
};

/* Filled when the process's memory budget (rt_memory_budget_set) refused
 * bytes: what was in use, the budget, and what was asked for. */
struct rt_budget_refusal {
    bool refused;
    uint64_t in_use, limit, needed;
};

/* Memories of at most this maximum, for code that checks every access,
 * are slots of slabs: RT_SLAB_BYTES of read-write address space in one
 * mapping, slots of the maximum rounded up to a power of two (at least
 * RT_SLAB_SLOT_MIN). */
#define RT_SLAB_SLOT_MAX        (64ull << 20)
#define RT_SLAB_SLOT_MIN        ((uint64_t)WM_PAGE_SIZE)
#define RT_SLAB_BYTES           (1ull << 30)

/* Create with min pages committed; max_pages is the effective maximum.
 * `checked`: all code using it checks every access against its size (no
 * guard pages needed), so it may be a slab slot. Returns NULL when out of
 * address space or memory, or when the budget has no room for min pages
 * (then *why says so; why may be NULL). */
struct rt_memory *rt_memory_new(uint64_t min_pages, uint64_t max_pages,
                                bool has_max, uint64_t declared_max,
                                bool checked, struct rt_budget_refusal *why);
void rt_memory_free(struct rt_memory *mem);
/* memory.grow: old size in pages, or UINT64_MAX (-1) when it cannot grow
 * (over the memory's max, over `cap_pages` when nonzero, over the budget:
 * then *why says so). */
uint64_t rt_memory_grow_pages(struct rt_memory *mem, uint64_t delta,
                              uint32_t cap_pages, struct rt_budget_refusal *why);
/* Make a new memory shared (the threads proposal): its grows are
 * serialised and its size is published with release stores. */
void rt_memory_set_shared(struct rt_memory *mem);
/* ... or 64-bit (memory64): only import matching cares. */
void rt_memory_set_64(struct rt_memory *mem);
/* runtime/wait.c: memory.atomic.wait32/64 (wide: 64) at host address
 * addr, 0 woken, 1 not equal, 2 timed out (timeout_ns < 0: never); with
 * `sleep` (rt_instance_options.atomic_wait), a matching wait with a
 * timeout calls it instead of queueing. And memory.atomic.notify (returns
 * how many it woke). */
uint32_t rt_atomic_wait(const void *addr, uint64_t expected, int64_t timeout_ns,
                        bool wide, uint32_t (*sleep)(void *ud, int64_t timeout_ns),
                        void *ud);
uint32_t rt_atomic_notify(const void *addr, uint32_t count);
/* Async-signal-safe: is addr inside some live memory's reservation? */
bool rt_memory_contains_fault(uintptr_t addr);

struct rt_table *rt_table_new(wm_valtype elem, uint32_t min, uint32_t max,
                              bool has_max);
/* A table inside an instance's shell (*t zeroed): its elements start in
 * `storage` (min zeroed slots) when not NULL, else on the heap. Returns
 * 0 or -1 (out of memory). rt_table_free releases only what it
 * allocated. */
int rt_table_init_embedded(struct rt_table *t, wm_valtype elem, uint32_t min,
                           uint32_t max, bool has_max, void **storage);
void rt_table_free(struct rt_table *t);
/* Tables of at most this many elements start inside the shell. */
#define RT_SHELL_TABLE_INLINE   1024u
/* Freed shells kept per module for the next instances. */
#define RT_SHELL_POOL_MAX       256u
uint32_t rt_table_grow_elems(struct rt_table *t, void *init, uint32_t delta);
/* Bulk operations: 0, or AWSM_TRAP_TABLE_OOB with nothing written. */
uint32_t rt_table_fill_elems(struct rt_table *t, uint32_t dst, void *val,
                             uint32_t len);
uint32_t rt_table_copy_elems(struct rt_table *dst_t, struct rt_table *src_t,
                             uint32_t dst, uint32_t src, uint32_t len);
uint32_t rt_table_write(struct rt_table *t, uint32_t dst, void *const *vals,
                        uint32_t nvals, uint32_t src, uint32_t len);

static inline struct rt_table *rt_table_of(struct awsm_table *t)
{
    return (struct rt_table *)t;
}

static inline struct rt_memory *rt_memory_of(struct awsm_memory *m)
{
    return (struct rt_memory *)m;
}

/* ===== Instances ======================================================== */

/* An element segment's references, evaluated at instantiation; len 0
 * once dropped. */
struct rt_elem_inst {
    void **vals;
    uint32_t len;
};

struct rt_instance {
    struct rt_module *mod;
    struct rt_instance *pool_next;          /* while the shell is pooled */
    struct rt_instance_options opt;
    struct awsm_vmctx *vmctx;
    struct awsm_funcref **funcs;            /* whole index space */
    struct awsm_funcref *defined;           /* [nfuncs] this instance's */
    struct awsm_funcref *host_copies;       /* [nfunc_imports] see link.c */
    struct awsm_table **tables;             /* whole index space */
    struct rt_table **own_tables;           /* [ntables] defined */
    struct awsm_memory **memories;          /* whole index space (vmctx's) */
    struct rt_memory **own_memories;        /* [nmemories] defined */
    struct awsm_tag **tags;                 /* whole index space (vmctx's) */
    struct awsm_tag *own_tags;              /* [ntags] defined */
    awsm_value **imported_globals;
    struct rt_elem_inst *elems;             /* [nelems] */
    bool *data_dropped;                     /* [ndatas] */
    uintptr_t limit_applied;                /* see trap.c */
    rt_interrupt_fn on_interrupt;           /* NULL: interrupts trap */
    void *interrupt_ud;
    bool budget_refused;                    /* see rt_instance_budget_refused */
};

static inline struct rt_instance *rt_instance_of(struct awsm_vmctx *vm)
{
    return (struct rt_instance *)vm->instance;
}

/* ===== Exceptions (exn.c) =============================================== */

/* An exception: its tag and values (a buffer that only grows). */
struct rt_exn_value {
    struct awsm_tag *tag;
    awsm_value *vals;
    uint32_t cap;
};

/* Each execution context's (trap.c): the exception in flight and the
 * stack of caught ones, whose entries keep their buffers when released. */
struct rt_exn_state {
    struct rt_exn_value flight;
    struct rt_exn_value *caught;
    uint32_t ncaught, cap;
};

/* The current execution context's state. */
struct rt_exn_state *rt_exn_current(void);
void rt_exn_state_free(struct rt_exn_state *s);
/* The services generated code calls (services.c's table). */
void rt_exn_throw(struct awsm_vmctx *vm, struct awsm_tag *tag, const awsm_value *vals);
struct awsm_tag *rt_exn_tag(struct awsm_vmctx *vm);
uint32_t rt_exn_catch(struct awsm_vmctx *vm, awsm_value *vals);
void rt_exn_rethrow(struct awsm_vmctx *vm, uint32_t h);
void rt_exn_release(struct awsm_vmctx *vm, uint32_t h);

/* ===== Shared helpers =================================================== */

__attribute__((format(printf, 3, 4)))
int rt_fail(struct rt_error *err, enum rt_error_kind kind, const char *fmt, ...);
int rt_fail_trap(struct rt_error *err, enum rt_error_kind kind,
                 enum awsm_trap trap);

/* Text of types and names for messages ("(func (param i32))"). */
void rt_functype_str(const struct wm_functype *ft, char *buf, size_t size);
void rt_name_str(const struct wm_name *n, char *buf, size_t size);

/* link.c: resolve and check every import into the instance's arrays;
 * with `cacheable` (rt_instance_options.resolve_cacheable), once per
 * module and resolver. */
int rt_link_imports(struct rt_instance *inst, rt_resolve_fn resolve, void *ud,
                    bool cacheable, struct rt_error *err);

/* services.c */
extern const struct awsm_rt_api rt_services;
/* memory.init and table.init, returning a trap kind (0 on success) so
 * that instantiation can use them outside rt_call. */
uint32_t rt_do_memory_init(struct rt_instance *inst, uint32_t mem, uint32_t seg,
                           uint64_t dst, uint32_t src, uint32_t len);
uint32_t rt_do_table_init(struct rt_instance *inst, uint32_t table,
                          uint32_t seg, uint32_t dst, uint32_t src,
                          uint32_t len);

/* trap.c: unwind to the current context's innermost rt_call. */
__attribute__((noreturn)) void rt_trap_raise(uint32_t kind);
/* trap.c: rt->interrupted, the slow path of every safe point; what
 * generated code calls is RT_INTERRUPTED_ENTRY, on x86-64 a thunk that
 * preserves the registers LLVM's preserve_most convention promises. */
void rt_interrupted(struct awsm_vmctx *vm);
#if defined(__x86_64__)
void rt_interrupted_entry(struct awsm_vmctx *vm);
#define RT_INTERRUPTED_ENTRY rt_interrupted_entry
#else
#define RT_INTERRUPTED_ENTRY rt_interrupted
#endif
/* trap.c: rt->stack_probe, the slow path of a large frame's stack probe
 * (compiler/cg_module.c): traps unless the frame of `size` bytes below
 * `sp` ends above the current stack's limit. RT_STACK_PROBE_ENTRY is the
 * thunk the probe jumps to; there is none (NULL) off x86-64, whose probes
 * are LLVM's inline ones. */
void rt_stack_probe(uintptr_t sp, uintptr_t size);
#if defined(__x86_64__)
void rt_stack_probe_entry(void);
#define RT_STACK_PROBE_ENTRY rt_stack_probe_entry
#else
#define RT_STACK_PROBE_ENTRY NULL
#endif

#endif
