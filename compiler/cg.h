/*
 * compiler/cg.h - private to compiler/: the state of one module's and one
 * function's translation to LLVM IR, shared by the cg_*.c files.
 *
 * Translation is one pass over each function body with the same instruction
 * reader the validator uses. Wasm values live on a compile-time stack of
 * LLVMValueRefs; locals and block results live in allocas (entry block),
 * which mem2reg/SROA turn into SSA, so no phi bookkeeping is needed here.
 */
#ifndef AWSM_COMPILER_CG_H
#define AWSM_COMPILER_CG_H

#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include <setjmp.h>

#include "compiler/compiler.h"
#include "wasm/arena.h"
#include "wasm/instr.h"

struct cg_module {
    const struct wm_module *m;
    const struct cg_options *opt;
    struct cg_error *err;
    unsigned callconv;              /* of generated functions called through
                                       funcrefs: CG_TAIL_CALLCONV with the
                                       tail-call feature, else C */
    const unsigned *fn_cc;          /* [nfuncs] each defined function's: C
                                       where no tail call reaches it
                                       (cg_module.c, plan_callconvs) */
    /* The partition this module holds (cg_module.c, "Partitions"): the
     * defined functions [first, end), and with part 0 the descriptor.
     * In a split module (nparts > 1) functions are hidden globals, as
     * other partitions call them; else internal. */
    uint32_t first, end;
    unsigned part, nparts;
    /* Self-recursion inlined (cg_module.c, plan_recursion): how many
     * clones each defined function has, and this partition's clones of
     * its functions ([nfuncs], recur_depth[i] each, named
     * CG_CLONE_PREFIX...). */
    const uint8_t *recur_depth;
    LLVMValueRef **clones;
    /* [table count] a table nothing changes after instantiation: defined,
     * not exported, and no table.set, grow, fill, copy or init into it
     * (plan_tables); its size, elements and entries are invariant. */
    const bool *table_fixed;
    /* [table count] what a fixed table holds, where its element segments
     * say so entirely (plan_table_contents): table_funcs[t][i] is the defined
     * function at slot i (CG_NO_FUNC: null) of the table's initial size;
     * NULL: not known. type_class[ntypes]: the first type equal to each.
     * dispatch[table count * ntypes]: this partition's call_indirect
     * arrays (cg_call.c), made on first use. */
    const uint32_t *const *table_funcs;
    const uint32_t *type_class;
    LLVMValueRef *dispatch;

    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMTargetMachineRef tm;
    LLVMBuilderRef b;               /* the one builder, and one for allocas */
    LLVMBuilderRef alloca_b;        /* in entry blocks (cg_entry_slot) */

    /* Compile-time memory (cg_alloc): the module's arena, and the current
     * function's (NULL between functions), freed when it is done. Out of
     * memory, cg_alloc jumps to `oom` in cg_compile. */
    struct wm_arena *arena, *func_arena;
    jmp_buf *oom;
    struct wm_ins_reader reader;    /* a function body's (its br_table */
    bool reading;                   /* buffer is malloc'd: wasm/'s) */

    bool checked;                   /* check every access (cg_memory_plan) */
    bool guard_faults;              /* memory 0's accesses fault instead */
    bool any_shared;                /* some memory is shared (threads) */
    bool x86;                       /* the target is x86-64 (cg_simd.c) */
    bool exceptions;                /* exception handling: calls look at
                                       the callee's exn_pending (cg_exn.c) */
    const bool *may_throw;          /* [nfuncs] with exceptions: whether a
                                       defined function's exception can
                                       reach its caller (cg_exn_plan) */
    uint64_t mem_reach;             /* the descriptor's (runtime/abi.h) */

    LLVMTypeRef i8, i32, i64, f32, f64, v128, ptr, void_t;
    LLVMTypeRef *fn_types;          /* [ntypes] native type of each type */
    LLVMValueRef *funcs;            /* [nfuncs] defined functions */
    LLVMTypeRef trap_fn_type;       /* void (ptr, i32) */
    unsigned tbaa_kind;
    LLVMValueRef tbaa_memory;       /* access tags: linear memory and */
    LLVMValueRef tbaa_runtime;      /* runtime structures never alias */
};

/* A catch clause of a try (exception handling): its tag, or UINT32_MAX
 * for catch_all, and where it starts. */
struct cg_clause {
    uint32_t tag;
    LLVMBasicBlockRef bb;
};

/* A frame of the control stack. */
struct cg_frame {
    uint16_t op;                    /* WM_OP_BLOCK, WM_OP_LOOP, WM_OP_IF,
                                       WM_OP_ELSE; WM_OP_TRY in its body,
                                       WM_OP_CATCH or WM_OP_CATCH_ALL in a
                                       catch block */
    bool unreachable;               /* the rest of this block is dead */
    bool end_reached;               /* something branches to end_bb */
    uint32_t height;                /* value stack height below params */
    uint32_t nparams, nresults;
    const wm_valtype *params, *results;   /* never into the frame (wm_block_type) */
    LLVMBasicBlockRef label_bb;     /* loop: header; else: end */
    LLVMBasicBlockRef end_bb;
    LLVMBasicBlockRef else_bb;      /* if: the else branch */
    LLVMValueRef *param_slots;      /* loop: branch values; if: params */
    LLVMValueRef *result_slots;
    /* try (cg_exn.c): where an exception raised in the body goes (made on
     * first use, filled at end or delegate), the clauses so far, the
     * catch blocks' handle (an i32 slot) and where an exception raised in
     * a catch block goes (its release, then outwards). */
    LLVMBasicBlockRef unwind_bb, catch_unwind_bb;
    struct cg_clause *clauses;
    uint32_t nclauses, clause_cap;
    LLVMValueRef handle_slot;
};

struct cg_func {
    struct cg_module *cm;
    LLVMBuilderRef b;
    LLVMValueRef fn;
    uint32_t index;                 /* function index (imports counted) */
    LLVMValueRef self_callee;       /* what a call to index calls: the next
                                       clone (plan_recursion), else NULL */
    const struct wm_functype *type;
    LLVMBasicBlockRef entry;
    LLVMValueRef vmctx;
    LLVMValueRef mem_base;          /* loaded once in the entry block */
    LLVMValueRef memory;            /* struct awsm_memory * */
    LLVMValueRef *mem_bases;        /* [memory count] likewise, [0] the */
    LLVMValueRef *memories;         /* above (multi-memory) */

    LLVMValueRef *locals;           /* allocas */
    wm_valtype *local_types;
    uint32_t nlocals;

    LLVMValueRef *stack;
    uint32_t sp, scap;
    struct cg_frame *ctl;
    uint32_t depth, ccap;
    uint32_t dead_depth;            /* blocks opened inside dead code */

    LLVMValueRef *calls;            /* what the stack check must precede */
    uint32_t ncalls, callcap;       /* (cg_note_call) */

    LLVMBasicBlockRef trap_bb[AWSM_TRAP_COUNT];
    LLVMBasicBlockRef propagate_bb; /* return with exn_pending set */
    const struct wm_ins *in;
};

/* The calling convention of a module compiled with the tail-call feature:
 * LLVM's tailcc (no enum in LLVM-C), so return_call is a guaranteed tail
 * call between any two signatures. On x86-64 its registers are the C
 * convention's (vmctx in rdi, where the stack probe reads it); the callee
 * pops stack arguments, and 8 bytes more to keep the stack aligned, which
 * costs call-heavy code ~20% (fib): other modules keep the C convention
 * (runtime/abi.h, descriptor.callconv). */
#define CG_TAIL_CALLCONV 18u

/* A function attribute: the function's stack check runs on every call
 * of it, so a call of it is a safe point (cg_func.c, place_stack_check). */
#define CG_ENTRY_CHECK_ATTR "awsm-entry-check"

/* The names of the clones of recursive functions (cg_module.c,
 * plan_recursion): always inlined, but wasm code wherever one is left. */
#define CG_CLONE_PREFIX "awsm_clone_"

/* A null slot of a table whose contents are known (cg_module.table_funcs). */
#define CG_NO_FUNC UINT32_MAX

/* ===== cg_module.c ====================================================== */
LLVMTypeRef cg_type(struct cg_module *cm, wm_valtype t);
LLVMTypeRef cg_result_type(struct cg_module *cm, const struct wm_functype *ft);
/* Where a function's wasm parameters start among its native ones: after
 * vmctx, and after the results' out-pointer of a multi-value function. */
unsigned cg_param_base(const struct wm_functype *ft);
int cg_fail(struct cg_module *cm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* n zeroed elements of compile-time memory, from the current function's
 * arena, else the module's: nothing is freed alone. Never NULL: out of
 * memory it jumps to cg_compile, which frees everything and fails with
 * "out of memory" (the one such error path; LLVM's own allocations abort,
 * as LLVM does). */
void *cg_alloc(struct cg_module *cm, size_t n, size_t elem);
/* Start and end a function's arena (cg_function, the poll pass). */
void cg_func_arena_begin(struct cg_module *cm);
void cg_func_arena_end(struct cg_module *cm);

/* Tag a load or store as an access to linear memory or to runtime data
 * (vmctx, tables, globals), so LLVM knows the two never alias. */
LLVMValueRef cg_tag_memory(struct cg_module *cm, LLVMValueRef access);
LLVMValueRef cg_tag_runtime(struct cg_module *cm, LLVMValueRef access);
/* A store to a global or a table element: runtime data, and volatile
 * beside faulting accesses (cg_tag_memory). */
LLVMValueRef cg_tag_state(struct cg_module *cm, LLVMValueRef store);

/* ===== cg_func.c ======================================================== */
/* Translate defined function i into fn: cm->funcs[i], or one of its
 * clones; its calls to itself call self_callee (NULL: to itself). */
int cg_function(struct cg_module *cm, uint32_t i, LLVMValueRef fn,
                LLVMValueRef self_callee);
void cg_push(struct cg_func *f, LLVMValueRef v);
LLVMValueRef cg_pop(struct cg_func *f);
LLVMValueRef cg_const_i32(struct cg_func *f, uint32_t v);
/* An alloca in the function's entry block. */
LLVMValueRef cg_entry_slot(struct cg_func *f, LLVMTypeRef t);
LLVMValueRef cg_const_i64(struct cg_func *f, uint64_t v);
/* Load a field of the vmctx at a byte offset. */
LLVMValueRef cg_vmctx_load(struct cg_func *f, unsigned offset, LLVMTypeRef t,
                           const char *name);
/* Load the pointer base[index] (runtime data). */
LLVMValueRef cg_load_ptr_at(struct cg_func *f, LLVMValueRef base, LLVMValueRef index);
/*
 * Mark a load of what never changes while an instance's code runs: the
 * vmctx's arrays of functions, tables, type ids and memories and their
 * entries (set at instantiation), a memory's base (it never moves), and a
 * funcref's code, vmctx and type id (funcrefs are immutable). LLVM then
 * loads each once per function, not again after every call (a
 * call_indirect in a loop reloaded four of them each time).
 */
LLVMValueRef cg_invariant(struct cg_func *f, LLVMValueRef load);
/* A new block at the end of the function. */
LLVMBasicBlockRef cg_new_bb(struct cg_func *f, const char *name);
/* cond (an i1), marked as almost never true (llvm.expect). */
LLVMValueRef cg_expect_false(struct cg_func *f, LLVMValueRef cond);
/* Branch to the function's trap block for `kind` when cond is true. */
void cg_trap_if(struct cg_func *f, LLVMValueRef cond, enum awsm_trap kind);
void cg_trap(struct cg_func *f, enum awsm_trap kind);
LLVMValueRef cg_call_intrinsic(struct cg_func *f, const char *name,
                               LLVMTypeRef *overload, unsigned noverload,
                               LLVMValueRef *args, unsigned nargs);
/* cg_numeric.c: an intrinsic overloaded on its (first) operand's type. */
LLVMValueRef cg_intrinsic1(struct cg_func *f, const char *name, LLVMValueRef x);
LLVMValueRef cg_intrinsic2(struct cg_func *f, const char *name, LLVMValueRef a,
                           LLVMValueRef b);
/* A call that can go deeper into the stack than the frame that makes it
 * (a wasm or host function, a runtime service): the stack check comes
 * before it. */
void cg_note_call(struct cg_func *f, LLVMValueRef call);
/* Call a runtime service: vmctx->rt->field(vmctx, args...). */
LLVMValueRef cg_call_rt(struct cg_func *f, unsigned field_offset,
                        LLVMTypeRef ret, LLVMValueRef *args, unsigned nargs);

/* The safe point's slow path: a cold call of vmctx->rt->interrupted. */
LLVMValueRef cg_call_interrupted(struct cg_module *cm, LLVMBuilderRef b,
                                 LLVMValueRef vmctx);

/* ===== cg_cfg.c ========================================================= */

#define CG_CFG_NONE UINT32_MAX

struct cg_bb_key {
    LLVMBasicBlockRef bb;
    uint32_t index;
};

/* A function's blocks as indices, in the current function's arena. */
struct cg_cfg {
    LLVMBasicBlockRef *bbs;         /* in function order; bbs[0] the entry */
    struct cg_bb_key *keys;         /* sorted by address (cg_cfg_index) */
    uint32_t n;
    uint32_t *succ_at, *succ;       /* b's successors: succ[succ_at[b] ..] */
    uint32_t *pred_at, *pred;       /* likewise its predecessors */
    /* cg_cfg_dominators: */
    uint32_t *rpo, nreach;          /* reverse postorder of what entry reaches */
    uint32_t *order;                /* b's place in rpo, or CG_CFG_NONE */
    uint32_t *idom;                 /* immediate dominator; entry: itself;
                                       CG_CFG_NONE if unreached */
    bool *cyclic;                   /* cg_cfg_cycles: b lies on a cycle */
};

/* Blocks, successors and predecessors of fn (every block terminated, or
 * counted as having no successors). */
void cg_cfg_init(struct cg_module *cm, struct cg_cfg *g, LLVMValueRef fn);
/* The index of one of the function's blocks. */
uint32_t cg_cfg_index(const struct cg_cfg *g, LLVMBasicBlockRef bb);
void cg_cfg_dominators(struct cg_module *cm, struct cg_cfg *g);
/* The nearest block dominating both a and b (both reached). */
uint32_t cg_cfg_common_dominator(const struct cg_cfg *g, uint32_t a, uint32_t b);
void cg_cfg_cycles(struct cg_module *cm, struct cg_cfg *g);

/* ===== cg_poll.c ======================================================== */
/* After optimisation: poll vmctx->interrupt at every loop header. */
int cg_poll_loops(struct cg_module *cm);
/* A conditional branch's weights: `taken` for its first successor
 * against `not_taken` for its second (LLVM's !prof branch_weights). */
void cg_branch_weights(struct cg_module *cm, LLVMValueRef br, unsigned taken,
                       unsigned not_taken);

/* ===== cg_idiom.c ======================================================= */

/* Between simplification and the vectorisers (cg_optimize): copy and fill
 * loops over memory 0 get a memmove or memset fast path, taken when it
 * does what the loop would; with `version`, other loops whose accesses
 * can be bounded on entry get a clone that runs when none can fault. */
int cg_idiom_loops(struct cg_module *cm, bool version);

/* ===== cg_widen.c ======================================================= */

/* Between the halves too (cg_optimize): a bounds check takes over the
 * checks of the same address with larger ends that follow it before
 * anything can be seen to happen. */
int cg_widen_checks(struct cg_module *cm);

/* ===== cg_mulwide.c ===================================================== */

/* After simplification (cg_optimize): a 64 x 64 -> 128-bit multiply
 * written with the products of 32-bit halves (compiler-rt's __multi3)
 * becomes one i128 multiply. */
int cg_mul_wide(struct cg_module *cm);

/* ===== cg_numeric.c ===================================================== */
int cg_numeric(struct cg_func *f, const struct wm_ins *in);

/* ===== cg_simd.c: SIMD but loads and stores ============================ */
int cg_simd(struct cg_func *f, const struct wm_ins *in);
/* <lanes x iN> or <lanes x float/double>. */
LLVMTypeRef cg_vec_type(struct cg_module *cm, unsigned lane_bits, bool is_float,
                        unsigned lanes);
/* x (truncated to the lane type) in every lane of vt. */
LLVMValueRef cg_splat(struct cg_func *f, LLVMValueRef x, LLVMTypeRef vt);

/* ===== cg_memory.c ====================================================== */
/* Decide, before any function, whether accesses are checked and what the
 * descriptor's mem_reach is. */
void cg_memory_plan(struct cg_module *cm);
int cg_memory(struct cg_func *f, const struct wm_ins *in);
/* Trap "out of bounds memory access" unless [ea, ea + len) lies inside
 * memory `mem` (all i64). */
void cg_check_range(struct cg_func *f, uint32_t mem, LLVMValueRef ea, LLVMValueRef len);
/* Whether memory `mem`'s accesses are checked (else they fault), whether
 * it is shared (threads), and a pointer to its byte at ea. */
bool cg_mem_checked(const struct cg_module *cm, uint32_t mem);
bool cg_mem_shared(const struct cg_module *cm, uint32_t mem);
/* memory64: i64 addresses and sizes, every access checked. */
bool cg_mem_is64(const struct cg_module *cm, uint32_t mem);
/* An i32 or i64 as an i64 (zero-extended). */
LLVMValueRef cg_to_i64(struct cg_func *f, LLVMValueRef v);
/* index (an i32, zero-extended, or an i64) + offset: the effective
 * address, an i64 (memory64's may wrap, which cg_check_access traps). */
LLVMValueRef cg_effective_address(struct cg_func *f, LLVMValueRef index, uint64_t offset);
/* Trap "out of bounds memory access" unless index + offset + len, in
 * infinite precision, is within memory `mem` (ea: cg_effective_address of
 * index and offset; memory64 checks index, as ea may have wrapped). For
 * checked accesses (cg_mem_checked), wait and notify. */
void cg_check_access(struct cg_func *f, uint32_t mem, LLVMValueRef index,
                     LLVMValueRef ea, uint64_t offset, unsigned len);
LLVMValueRef cg_mem_pointer(struct cg_func *f, uint32_t mem, LLVMValueRef ea);

/* ===== cg_atomic.c: the threads proposal's 0xfe instructions ============ */
int cg_atomic(struct cg_func *f, const struct wm_ins *in);

/* ===== cg_call.c: calls, globals, tables, references ==================== */
int cg_call(struct cg_func *f, const struct wm_ins *in);
int cg_variable(struct cg_func *f, const struct wm_ins *in);
int cg_table(struct cg_func *f, const struct wm_ins *in);
/* Call a native function of type ft in calling convention cc with a
 * vmctx and the stack's args; a tail call returns its results. may_throw:
 * the callee's exception may come back (exception handling). */
void cg_emit_call(struct cg_func *f, const struct wm_functype *ft,
                  LLVMTypeRef fty, LLVMValueRef callee, unsigned cc,
                  LLVMValueRef vmctx, bool tail, bool may_throw);

/* ===== cg_exn.c: exception handling ===================================== */
/* throw and rethrow (the rest is control: cg_func.c's try, catch,
 * catch_all, delegate and end call cg_exn_* below). */
int cg_exn(struct cg_func *f, const struct wm_ins *in);
/* Before any function: which defined functions may pass an exception to
 * their caller (cm->may_throw; all of them without exceptions). */
void cg_exn_plan(struct cg_module *cm);
/* After a call whose callee ran with vmctx `callee_vm`: an exception it
 * passed goes to the innermost handler (a no-op without exceptions). */
void cg_exn_after_call(struct cg_func *f, LLVMValueRef callee_vm);
/* After a return_call's callee in another instance (callee_vm, never
 * ours) returned to us: its exception, if any, becomes ours to pass on
 * (this frame's handlers were left at the return_call). */
void cg_exn_pass_on(struct cg_func *f, LLVMValueRef callee_vm);
/* Where an exception raised inside frame `depth` (an index into f->ctl)
 * goes. */
LLVMBasicBlockRef cg_exn_unwind(struct cg_func *f, int64_t depth);
/* The outermost catch block among frames [from, depth): -1 if none. */
int64_t cg_exn_outer_catch(struct cg_func *f, uint32_t from);
/* Release the catch blocks from frame `from` inwards, if any. */
void cg_exn_leave(struct cg_func *f, uint32_t from);
/* A catch or catch_all clause of the innermost frame starts. */
void cg_exn_catch(struct cg_func *f, const struct wm_ins *in);
/* The try ends (end or delegate): fill its dispatch. delegate_to: the
 * frame an exception is delegated to, or -1 for end. */
void cg_exn_end_try(struct cg_func *f, struct cg_frame *fr, int64_t delegate_to);

/* ===== cg_emit.c ======================================================== */
int cg_target_init(struct cg_module *cm);
int cg_optimize(struct cg_module *cm);
/* Run a new-pass-manager pipeline ("function(mem2reg)") over the module. */
int cg_run_passes(struct cg_module *cm, const char *pipeline);
/* A partition's file: base for partition 0, else base.PART (the objects,
 * and what --emit-llvm and --emit-object name). */
void cg_part_path(char *buf, size_t size, const char *base, unsigned part);
/* Write the final IR where --emit-llvm asked (nothing otherwise). */
int cg_write_ir(struct cg_module *cm);
/* Write the module's object file to obj. */
int cg_emit_object(struct cg_module *cm, const char *obj);
/* Link objs into the shared object out (`ld -shared`, or $AWSM_LD). */
int cg_link(struct cg_error *err, char *const *objs, unsigned n, const char *out);

#endif
