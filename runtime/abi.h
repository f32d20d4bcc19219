/*
 * runtime/abi.h - the one contract between code compiled by awsmc and the
 * runtime. The compiler builds its IR against these layouts (offsets are
 * checked with static asserts below and used by name in compiler/), and the
 * runtime fills them in. Change anything here and bump AWSM_ABI_VERSION:
 * the runtime refuses a .so built for another version.
 *
 * A compiled module (.so) carries:
 *   - one exported descriptor, `awsm_module_v1` (struct awsm_module_desc),
 *   - the module's metadata: its wasm bytes without the code section and
 *     without custom sections other than "name" (wm_metadata), from which
 *     the runtime takes types, imports, exports, globals, segments and
 *     names with the same decoder the compiler used; loading costs their
 *     size, not the code's or the debug information's,
 *   - native code for each defined function, in the C calling convention,
 *     or, in a module compiled with the tail-call proposal, in LLVM's
 *     `tailcc` (on x86-64 the C convention's registers, the callee popping
 *     stack arguments and 8 bytes more, so that return_call is a real tail
 *     call whatever the two signatures; it costs plain calls ~20%, so only
 *     such modules pay it: descriptor.callconv), taking the instance's vmctx
 *     first: `R f(struct awsm_vmctx *, params...)`, where R is void or the
 *     one result; with several results `void f(struct awsm_vmctx *,
 *     struct results *out, params...)`, the results stored in *out (laid
 *     out as a C struct of them: the caller's buffer), so vmctx is always
 *     the first argument register (the stack probe reads it there),
 *   - one trampoline per type (C convention), so the runtime can call any
 *     function through an array of values without knowing its signature at
 *     build time,
 *   - in a tailcc module, one adapter per imported function: a host
 *     function (C) is called through it, the code of the importer's copy
 *     of its funcref.
 * The two conventions never meet: a tailcc module's canonical type ids
 * carry AWSM_TYPE_ID_TAILCC, so a funcref of one kind fails the other's
 * call_indirect check and import match (a type mismatch, never a call in
 * the wrong convention); host functions are adapted at import.
 * Generated code has no global mutable state; everything per instance lives
 * behind the vmctx.
 */
#ifndef AWSM_RUNTIME_ABI_H
#define AWSM_RUNTIME_ABI_H

#include <stddef.h>
#include <stdint.h>

/* 2: generated code polls `interrupt` at loop headers, and a failed stack
 * check at function entry calls rt->interrupted instead of rt->trap.
 * 3: the descriptor's mem_reach (bounded memories, slabs).
 * 4: frames of a page or more call the module's stack probe, which calls
 * rt->stack_probe (compiler/cg_module.c): stacks need no guard page; the
 * results of a multi-value function go through an out-pointer.
 * 6: the descriptor's callconv (tailcc modules: return_call), with
 * funcref.host_code and import_adapters (host functions called through
 * the importer's adapter).
 * 7: the descriptor's flags (AWSM_DESC_POLLS: loop polls are optional).
 * 8: the threads proposal: traps AWSM_TRAP_UNALIGNED_ATOMIC and
 * AWSM_TRAP_WAIT_UNSHARED, rt->atomic_wait and rt->atomic_notify.
 * 9: multi-memory: vmctx->memories, a memory index on rt->memory_grow,
 * rt->memory_init, rt->atomic_wait and rt->atomic_notify; the
 * descriptor's bounds hold for every memory past 0; memory64: u64 sizes
 * for rt->memory_grow and memory_init's destination.
 * 10: exception handling: vmctx->exn_pending and vmctx->tags (globals
 * move to 104), rt->exn_*, AWSM_DESC_EXCEPTIONS and AWSM_TYPE_ID_EXN,
 * AWSM_TRAP_UNCAUGHT_EXCEPTION.
 * 11: the descriptor's wasm is the module's metadata (wm_metadata: no code
 * section, no custom section but "name"), checked against meta_hash;
 * hash stays the SHA-256 of the whole module it was compiled from. */
#define AWSM_ABI_VERSION 11u

/* awsm_module_desc.flags. */
#define AWSM_DESC_POLLS 1u      /* every loop polls `interrupt` (abi 2): an
                                   embedder that preempts or stops running
                                   code must refuse a module without */

#define AWSM_DESC_EXCEPTIONS 2u /* compiled with exception handling: every
                                   call is followed by a look at the callee's
                                   vmctx->exn_pending (see "Exceptions") */

/* In the type ids of a tailcc module (vmctx->type_ids, funcref.type_id). */
#define AWSM_TYPE_ID_TAILCC 0x80000000u
/* In the type ids of a module compiled with exception handling: its
 * functions and those of a module without never call each other (an
 * exception would pass a caller that does not look for it). */
#define AWSM_TYPE_ID_EXN 0x40000000u
#define AWSM_TYPE_ID_KINDS (AWSM_TYPE_ID_TAILCC | AWSM_TYPE_ID_EXN)

enum awsm_callconv {
    AWSM_CALLCONV_C = 0,
    AWSM_CALLCONV_TAIL = 1,             /* LLVM tailcc */
};
#define AWSM_MODULE_SYMBOL "awsm_module_v1"
#define AWSM_MODULE_MAGIC 0x6d737761u           /* "awsm" */

/* ===== Values =========================================================== */

/* One wasm value in memory: globals, trampoline argument arrays. */
typedef union awsm_value {
    uint32_t i32;
    uint64_t i64;
    float f32;
    double f64;
    uint8_t v128[16];
    void *ref;              /* funcref: struct awsm_funcref *; externref */
} awsm_value;

/* ===== Functions and tables ============================================= */

/* A function reference: what a funcref value points to, what import slots
 * and table elements hold. `type_id` is the runtime's canonical id of the
 * function's type (equal ids <=> structurally equal types, across modules).
 * A host function's own funcref (rt_host_func, WASI's) has vmctx NULL and
 * its C function as code; each importer gets a copy (runtime/link.c) with
 * its own vmctx, and in a tailcc module its adapter as code, the C
 * function as host_code and its own type id. */
struct awsm_funcref {
    void *code;                     /* native function, vmctx first */
    struct awsm_vmctx *vmctx;       /* the vmctx to call it with */
    uint32_t type_id;
    uint32_t pad_;
    void *host_code;                /* a host copy's C function; else NULL */
    /* runtime-private fields may follow */
};

struct awsm_table {
    void **elems;                   /* funcref or externref values */
    uint32_t size;                  /* current, in elements */
    uint32_t max;                   /* UINT32_MAX when unbounded */
    /* runtime-private fields may follow */
};

struct awsm_memory {
    uint8_t *base;                  /* never moves */
    uint64_t size;                  /* current, in bytes */
    /* runtime-private fields may follow */
};

/* ===== Traps ============================================================ */

enum awsm_trap {
    AWSM_TRAP_NONE = 0,
    AWSM_TRAP_UNREACHABLE,
    AWSM_TRAP_INT_DIV_ZERO,
    AWSM_TRAP_INT_OVERFLOW,
    AWSM_TRAP_INVALID_CONVERSION,
    AWSM_TRAP_MEMORY_OOB,
    AWSM_TRAP_TABLE_OOB,
    AWSM_TRAP_INDIRECT_NULL,        /* uninitialized element */
    AWSM_TRAP_INDIRECT_TYPE,        /* indirect call type mismatch */
    AWSM_TRAP_UNDEFINED_ELEMENT,    /* call_indirect index past the table */
    AWSM_TRAP_STACK_EXHAUSTED,
    AWSM_TRAP_INTERRUPTED,          /* preempted for good: deadline, kill */
    AWSM_TRAP_HOST,                 /* a host function failed */
    AWSM_TRAP_EXIT,                 /* WASI proc_exit: not an error */
    AWSM_TRAP_UNALIGNED_ATOMIC,     /* an atomic access off its alignment */
    AWSM_TRAP_WAIT_UNSHARED,        /* memory.atomic.wait on an unshared memory */
    AWSM_TRAP_UNCAUGHT_EXCEPTION,   /* an exception left the called function:
                                       raised by the runtime (rt_call), never
                                       by generated code */
    AWSM_TRAP_COUNT
};

/* ===== Runtime services for generated code ============================== */

struct awsm_tag;

/* Called by generated code for the rare, slow operations. All take the
 * calling instance's vmctx; indices are the module's own. */
struct awsm_rt_api {
    void (*trap)(struct awsm_vmctx *, uint32_t kind) __attribute__((noreturn));
    /* The old size in pages, or UINT64_MAX (memory64: i64 sizes). */
    uint64_t (*memory_grow)(struct awsm_vmctx *, uint64_t delta_pages, uint32_t mem);
    void (*memory_init)(struct awsm_vmctx *, uint32_t seg, uint64_t dst,
                        uint32_t src, uint32_t len, uint32_t mem);
    void (*data_drop)(struct awsm_vmctx *, uint32_t seg);
    uint32_t (*table_grow)(struct awsm_vmctx *, uint32_t table, void *init,
                           uint32_t delta);
    void (*table_fill)(struct awsm_vmctx *, uint32_t table, uint32_t dst,
                       void *val, uint32_t len);
    void (*table_copy)(struct awsm_vmctx *, uint32_t dst_table,
                       uint32_t src_table, uint32_t dst, uint32_t src,
                       uint32_t len);
    void (*table_init)(struct awsm_vmctx *, uint32_t table, uint32_t seg,
                       uint32_t dst, uint32_t src, uint32_t len);
    void (*elem_drop)(struct awsm_vmctx *, uint32_t seg);
    /* The safe point's slow path; see "Interrupts" below. Returns when the
     * guest is to go on, unwinds (traps) otherwise. */
    void (*interrupted)(struct awsm_vmctx *);
    /* A large frame's stack probe, when the frame would end below
     * vmctx->stack_limit: not a C function (compiler/cg_module.c says what
     * it is called with); returns when the frame fits the stack's real
     * limit, traps "call stack exhausted" otherwise. */
    void (*stack_probe)(void);
    /* memory.atomic.wait32/64 on memory `mem`, a shared one, at an address the
     * code checked (in bounds, aligned): 0 woken, 1 the value at ea was not
     * `expected` (the low 32 bits with wide 0), 2 timed out; timeout_ns < 0
     * waits for ever. */
    uint32_t (*atomic_wait)(struct awsm_vmctx *, uint64_t ea, uint64_t expected,
                            int64_t timeout_ns, uint32_t wide, uint32_t mem);
    /* memory.atomic.notify: wakes up to `count` waiters on ea of memory `mem`,
     * returns how many it woke. */
    uint32_t (*atomic_notify)(struct awsm_vmctx *, uint64_t ea, uint32_t count,
                              uint32_t mem);
    /* Exceptions (see "Exceptions" below). throw: the exception in flight
     * becomes tag's, with tag->nvals values copied from vals. */
    void (*exn_throw)(struct awsm_vmctx *, struct awsm_tag *tag,
                      const awsm_value *vals);
    /* The tag of the exception in flight. */
    struct awsm_tag *(*exn_tag)(struct awsm_vmctx *);
    /* Catch the exception in flight: its values into vals (unless NULL),
     * the exception onto the caught stack; returns its handle. */
    uint32_t (*exn_catch)(struct awsm_vmctx *, awsm_value *vals);
    /* rethrow: caught exception h is in flight again. */
    void (*exn_rethrow)(struct awsm_vmctx *, uint32_t h);
    /* Leaving the catch block of h: the caught stack drops h and all
     * above it. */
    void (*exn_release)(struct awsm_vmctx *, uint32_t h);
};

#define AWSM_RT_STACK_PROBE 80

/* ===== Interrupts ======================================================= */

/*
 * Safe points, where a running guest can be stopped or preempted:
 *   - every loop header: a volatile load of vmctx->interrupt; nonzero
 *     calls rt->interrupted(vmctx) (cold), then the iteration goes on;
 *   - the stack check, before a function's calls (at most one per call
 *     of the function: compiler/cg_func.c). When the stack pointer is
 *     below vmctx->stack_limit, call rt->interrupted(vmctx) (cold).
 * To interrupt, the runtime stores interrupt = 1 and then stack_limit =
 * UINTPTR_MAX, so the stack check fails too and loop-free code (recursion)
 * stops as well. rt->interrupted tells the cases apart: a genuine stack
 * overflow traps "call stack exhausted"; otherwise it clears the flag,
 * restores the limit, runs the embedder's handler (if the flag was set)
 * and returns. Both calls are `notail`. On x86-64 they use LLVM's
 * preserve_most convention: rt->interrupted keeps every general-purpose
 * register but r11 (vector registers are the caller's to save), so that a
 * call which may return costs the hot path nothing.
 */

/* ===== Exceptions ======================================================= */

/*
 * A tag: its identity is its address (one per definition and instance,
 * shared by importers). nvals: how many values its exceptions carry.
 *
 * Exceptions travel by return, not by unwinding tables: a function that
 * throws, or whose callee's exception it does not catch, sets its own
 * vmctx->exn_pending and returns (its results undefined). After every call
 * the caller looks at the callee's vmctx->exn_pending (a direct call's is
 * its own): set, it clears it and handles the exception (its enclosing
 * try blocks' catches, in order) or passes it on the same way. The
 * exception itself (tag and values) lives with the execution context, in
 * the runtime (rt->exn_*): the one in flight, and a stack of caught ones
 * (rethrow's): a catch block's handle is its place there, and every way
 * out of the block releases it. rt_call clears what is left by a trap,
 * and turns an exception that leaves the called function into the error
 * AWSM_TRAP_UNCAUGHT_EXCEPTION: host frames never pass one on. A trap is
 * never an exception (it unwinds straight to rt_call).
 */
struct awsm_tag {
    uint32_t type_id;               /* canonical id of its (params) -> () */
    uint32_t nvals;
    /* runtime-private fields may follow */
};

/* ===== The instance context ============================================= */

/*
 * Every compiled function takes this first. The fixed part is followed by
 * the instance's defined globals, inline (vmctx->globals[i] is defined
 * global i, i.e. global index nglobal_imports + i), so a global access is one
 * load at a constant offset. Imported globals go through `imported_globals`.
 */
struct awsm_vmctx {
    uint8_t *mem_base;                      /* memory 0's base, or NULL */
    struct awsm_memory *memory;             /* memory 0, or NULL */
    struct awsm_funcref **funcs;            /* whole function index space */
    struct awsm_table **tables;             /* whole table index space */
    awsm_value **imported_globals;          /* imported globals' cells */
    const uint32_t *type_ids;               /* module type idx -> canonical */
    const struct awsm_rt_api *rt;
    uintptr_t stack_limit;                  /* below: call rt->interrupted */
    volatile uint32_t interrupt;            /* nonzero: call rt->interrupted */
    uint32_t exn_pending;                   /* an exception is passing */
    void *instance;                         /* the runtime's instance */
    void *host;                             /* embedder data (WASI, sandbox) */
    struct awsm_memory **memories;          /* whole memory index space
                                               (multi-memory; [0] is memory) */
    struct awsm_tag **tags;                 /* whole tag index space */
    awsm_value globals[];                   /* defined globals */
};

#define AWSM_VMCTX_MEM_BASE          0
#define AWSM_VMCTX_MEMORY            8
#define AWSM_VMCTX_FUNCS            16
#define AWSM_VMCTX_TABLES           24
#define AWSM_VMCTX_IMPORTED_GLOBALS 32
#define AWSM_VMCTX_TYPE_IDS         40
#define AWSM_VMCTX_RT               48
#define AWSM_VMCTX_STACK_LIMIT      56
#define AWSM_VMCTX_INTERRUPT        64
#define AWSM_VMCTX_EXN_PENDING      68
#define AWSM_VMCTX_MEMORIES         88
#define AWSM_VMCTX_TAGS             96
#define AWSM_VMCTX_GLOBALS         104

_Static_assert(offsetof(struct awsm_vmctx, mem_base) == AWSM_VMCTX_MEM_BASE, "abi");
_Static_assert(offsetof(struct awsm_vmctx, memory) == AWSM_VMCTX_MEMORY, "abi");
_Static_assert(offsetof(struct awsm_vmctx, funcs) == AWSM_VMCTX_FUNCS, "abi");
_Static_assert(offsetof(struct awsm_vmctx, tables) == AWSM_VMCTX_TABLES, "abi");
_Static_assert(offsetof(struct awsm_vmctx, imported_globals) ==
               AWSM_VMCTX_IMPORTED_GLOBALS, "abi");
_Static_assert(offsetof(struct awsm_vmctx, type_ids) == AWSM_VMCTX_TYPE_IDS, "abi");
_Static_assert(offsetof(struct awsm_vmctx, rt) == AWSM_VMCTX_RT, "abi");
_Static_assert(offsetof(struct awsm_vmctx, stack_limit) == AWSM_VMCTX_STACK_LIMIT, "abi");
_Static_assert(offsetof(struct awsm_rt_api, stack_probe) == AWSM_RT_STACK_PROBE, "abi");
_Static_assert(offsetof(struct awsm_vmctx, interrupt) == AWSM_VMCTX_INTERRUPT, "abi");
_Static_assert(offsetof(struct awsm_vmctx, memories) == AWSM_VMCTX_MEMORIES, "abi");
_Static_assert(offsetof(struct awsm_vmctx, exn_pending) == AWSM_VMCTX_EXN_PENDING, "abi");
_Static_assert(offsetof(struct awsm_vmctx, tags) == AWSM_VMCTX_TAGS, "abi");
_Static_assert(offsetof(struct awsm_vmctx, globals) == AWSM_VMCTX_GLOBALS, "abi");
_Static_assert(sizeof(awsm_value) == 16, "abi");
_Static_assert(offsetof(struct awsm_funcref, vmctx) == 8, "abi");
_Static_assert(offsetof(struct awsm_funcref, type_id) == 16, "abi");
_Static_assert(offsetof(struct awsm_funcref, host_code) == 24, "abi");
_Static_assert(offsetof(struct awsm_table, size) == 8, "abi");
_Static_assert(offsetof(struct awsm_memory, size) == 8, "abi");

/* ===== The module descriptor ============================================ */

/* Calls `fn` (vmctx first) with args[0..nparams) and writes the results to
 * args[0..nresults). */
typedef void (*awsm_trampoline)(void *fn, struct awsm_vmctx *vmctx,
                                awsm_value *args);

enum awsm_bounds {
    AWSM_BOUNDS_GUARD = 0,      /* 8 GiB reservation, guard pages fault */
    AWSM_BOUNDS_CHECKED = 1,    /* explicit check before each access */
};

/*
 * mem_reach: what the code needs of memory 0's address space.
 *   AWSM_GUARD_RESERVATION: bare guard-mode accesses, anywhere in the 8 GiB
 *       past the base; whatever lies beyond the current size must fault.
 *   less: every access is checked against `size` first, and the memory
 *       must never grow past mem_reach bytes (the compile-time maximum:
 *       the runtime caps memory.grow there). Such a memory can live in any
 *       read-write region of mem_reach bytes (runtime/memory.c: slabs).
 *       A module without memory has 0.
 */

struct awsm_module_desc {
    uint32_t magic;                     /* AWSM_MODULE_MAGIC */
    uint32_t abi_version;               /* AWSM_ABI_VERSION */
    const char *compiler_version;
    uint8_t hash[32];                   /* SHA-256 of the module compiled */
    uint32_t bounds;                    /* enum awsm_bounds */
    uint32_t opt_level;
    const uint8_t *wasm;                /* its metadata (ABI 11), see above */
    uint64_t wasm_size;
    uint32_t nfuncs;                    /* defined functions */
    uint32_t ntypes;
    void *const *funcs;                 /* [nfuncs] native code */
    const awsm_trampoline *trampolines; /* [ntypes] by type index */
    uint64_t mem_reach;                 /* bytes, see above (ABI 3) */
    void *const *import_adapters;       /* [imported functions] (ABI 6),
                                           tailcc modules: adapter i calls
                                           vmctx->funcs[i]->host_code */
    uint32_t callconv;                  /* enum awsm_callconv (ABI 6) */
    uint32_t flags;                     /* AWSM_DESC_* (ABI 7) */
    uint8_t meta_hash[32];              /* SHA-256 of wasm[wasm_size] (ABI 11) */
};

/* Guard mode reserves this much address space per memory: any 32-bit index
 * plus any 32-bit offset lands inside it. */
#define AWSM_GUARD_RESERVATION (8ull << 30)

#endif
