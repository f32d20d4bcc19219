/*
 * compiler/cg_module.c - the pipeline in one screen (compile), a large
 * module cut into parts compiled on several threads (cg_compile), and the
 * module-level IR: value types, function declarations, per-type
 * trampolines, and the `awsm_module_v1` descriptor the runtime reads.
 */
#define _GNU_SOURCE                     /* sched_getaffinity */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/Analysis.h>
#include <nettle/sha2.h>

#include "compiler/cg.h"

int cg_fail(struct cg_module *cm, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cm->err->msg, sizeof cm->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void *cg_alloc(struct cg_module *cm, size_t n, size_t elem)
{
    struct wm_arena *a = cm->func_arena != NULL ? cm->func_arena : cm->arena;
    void *p = wm_arena_array(a, n ? n : 1, elem);
    if (p == NULL)
        longjmp(*cm->oom, 1);
    return p;
}

void cg_func_arena_begin(struct cg_module *cm)
{
    cm->func_arena = wm_arena_new();
    if (cm->func_arena == NULL)
        longjmp(*cm->oom, 1);
}

void cg_func_arena_end(struct cg_module *cm)
{
    wm_arena_free(cm->func_arena);
    cm->func_arena = NULL;
}

LLVMTypeRef cg_type(struct cg_module *cm, wm_valtype t)
{
    switch (t) {
    case WM_I32: return cm->i32;
    case WM_I64: return cm->i64;
    case WM_F32: return cm->f32;
    case WM_F64: return cm->f64;
    case WM_V128: return cm->v128;
    default: return cm->ptr;            /* funcref, externref */
    }
}

LLVMTypeRef cg_result_type(struct cg_module *cm, const struct wm_functype *ft)
{
    if (ft->nresults == 0)
        return cm->void_t;
    if (ft->nresults == 1)
        return cg_type(cm, ft->results[0]);
    LLVMTypeRef *ts = cg_alloc(cm, ft->nresults, sizeof *ts);
    for (uint32_t i = 0; i < ft->nresults; i++)
        ts[i] = cg_type(cm, ft->results[i]);
    LLVMTypeRef st = LLVMStructTypeInContext(cm->ctx, ts, ft->nresults, false);
    return st;
}

unsigned cg_param_base(const struct wm_functype *ft)
{
    return ft->nresults > 1 ? 2 : 1;
}

/*
 * The native type of a wasm function type: (vmctx, params...) -> result,
 * or, with several results, (vmctx, out, params...) -> void, the results
 * stored in *out (cg_result_type's struct, the caller's). Not an LLVM
 * struct return: one that does not fit the return registers is demoted
 * to a hidden pointer in the first argument register, and vmctx must stay
 * in rdi, where the stack probe (above) reads it.
 */
static LLVMTypeRef native_type(struct cg_module *cm, const struct wm_functype *ft)
{
    unsigned base = cg_param_base(ft);
    LLVMTypeRef *ps = cg_alloc(cm, ft->nparams + base, sizeof *ps);
    ps[0] = cm->ptr;
    if (base == 2)
        ps[1] = cm->ptr;                /* out */
    for (uint32_t i = 0; i < ft->nparams; i++)
        ps[i + base] = cg_type(cm, ft->params[i]);
    LLVMTypeRef r = ft->nresults > 1 ? cm->void_t : cg_result_type(cm, ft);
    LLVMTypeRef t = LLVMFunctionType(r, ps, ft->nparams + base, false);
    return t;
}

static void init_types(struct cg_module *cm)
{
    LLVMContextRef c = cm->ctx;
    cm->i8 = LLVMInt8TypeInContext(c);
    cm->i32 = LLVMInt32TypeInContext(c);
    cm->i64 = LLVMInt64TypeInContext(c);
    cm->f32 = LLVMFloatTypeInContext(c);
    cm->f64 = LLVMDoubleTypeInContext(c);
    cm->v128 = LLVMVectorType(cm->i64, 2);
    cm->ptr = LLVMPointerTypeInContext(c, 0);
    cm->void_t = LLVMVoidTypeInContext(c);
}

/* Type-based alias analysis: two scalar types under one root. */
static void init_tbaa(struct cg_module *cm)
{
    LLVMContextRef c = cm->ctx;
    LLVMValueRef zero = LLVMConstInt(cm->i64, 0, false);
    LLVMValueRef rname = LLVMMDStringInContext(c, "awsm tbaa", 9);
    LLVMValueRef root = LLVMMDNodeInContext(c, &rname, 1);
    const char *names[2] = { "wasm linear memory", "awsm runtime data" };
    LLVMValueRef *tags[2] = { &cm->tbaa_memory, &cm->tbaa_runtime };
    for (int i = 0; i < 2; i++) {
        LLVMValueRef tn[3] = { LLVMMDStringInContext(c, names[i], (unsigned)strlen(names[i])),
                               root, zero };
        LLVMValueRef type = LLVMMDNodeInContext(c, tn, 3);
        LLVMValueRef tag[3] = { type, type, zero };
        *tags[i] = LLVMMDNodeInContext(c, tag, 3);
    }
    cm->tbaa_kind = LLVMGetMDKindIDInContext(c, "tbaa", 4);
}

/*
 * Precise traps in guard mode. There the fault of the access itself is the
 * trap, which LLVM cannot know: it would delete a load whose value is
 * unused, sink a load below a later explicit trap check, or drop and merge
 * stores to memory and globals across a faulting access, so that a trap
 * goes missing, has the wrong kind, or leaves state the spec says it does
 * not. A volatile access is kept, and kept in order with every other
 * volatile access and with calls (the explicit traps): linear memory
 * accesses are volatile in guard mode, and so are the stores of the
 * other state a trap leaves behind, global.set and table.set
 * (cg_tag_state). Checked code needs neither: its explicit check traps
 * before the access, and a call orders everything around it.
 */
LLVMValueRef cg_tag_memory(struct cg_module *cm, LLVMValueRef access)
{
    LLVMSetMetadata(access, cm->tbaa_kind, cm->tbaa_memory);
    if (cm->guard_faults)
        LLVMSetVolatile(access, true);
    return access;
}

LLVMValueRef cg_tag_state(struct cg_module *cm, LLVMValueRef store)
{
    cg_tag_runtime(cm, store);
    if (cm->guard_faults)
        LLVMSetVolatile(store, true);
    return store;
}

LLVMValueRef cg_tag_runtime(struct cg_module *cm, LLVMValueRef access)
{
    LLVMSetMetadata(access, cm->tbaa_kind, cm->tbaa_runtime);
    return access;
}

/*
 * Stack probes. The stack check (cg_func.c) compares the stack pointer with
 * vmctx->stack_limit after the prologue has allocated the frame, and the
 * register allocator may spill into the frame before it, so a frame larger
 * than the slack below the limit (thousands of values live across a call)
 * could write past the end of the stack. LLVM calls the function named by
 * "probe-stack" in the prologue of every frame of a page or more, with the
 * frame's size in rax, before the stack pointer moves; ours checks the
 * frame against the limit, which is exact on a sandbox's stack, so no
 * frame ever needs a guard page to hit (awsmrt's stacks have none:
 * server/sched.c). Below the limit, or on a limit of UINTPTR_MAX (an
 * interrupt) or a stale one, it jumps to rt->stack_probe, which compares
 * with the stack's real limit and traps "call stack exhausted" or returns.
 * It keeps every register but r11 and the flags; vmctx is still in rdi, as
 * the prologue has not touched the arguments. Elsewhere LLVM's inline
 * probes touch each page, to hit the guard page first.
 */
#if defined(__x86_64__)
#define STACK_PROBE "awsm_probestack"
#define STR_(x) #x
#define STR(x) STR_(x)
static const char probe_asm[] =
    ".att_syntax\n"                       /* whatever AWSM_LLVM_ARGS says */
    ".pushsection .text\n"
    ".p2align 4\n"
    ".hidden awsm_probestack\n"
    ".type awsm_probestack,@function\n"
    "awsm_probestack:\n"
    ".cfi_startproc\n"
    "  leaq 8(%rsp), %r11\n"                /* the prologue's stack pointer */
    "  subq %rax, %r11\n"                   /* ... after the frame */
    "  jb 1f\n"
    "  cmpq " STR(AWSM_VMCTX_STACK_LIMIT) "(%rdi), %r11\n"
    "  jb 1f\n"
    "  ret\n"
    "1:\n"
    "  movq " STR(AWSM_VMCTX_RT) "(%rdi), %r11\n"
    "  jmpq *" STR(AWSM_RT_STACK_PROBE) "(%r11)\n"
    ".cfi_endproc\n"
    ".size awsm_probestack, .-awsm_probestack\n"
    ".popsection\n";
#else
#define STACK_PROBE "inline-asm"
#endif

static void declare_probe(struct cg_module *cm)
{
#if defined(__x86_64__)
    LLVMSetModuleInlineAsm2(cm->mod, probe_asm, sizeof probe_asm - 1);
#else
    (void)cm;
#endif
}

/* ===== Calling conventions of a tail-call module ====================== */

/*
 * tailcc makes return_call a real tail call whatever the two signatures,
 * but costs every call ~20% (fib; see CG_TAIL_CALLCONV). So in a module
 * compiled with the feature, only what a tail call can reach or leave is
 * tailcc: a function that contains return_call or return_call_indirect,
 * the callee of a return_call, and every function that escapes (exported,
 * the start function, in an element segment, named by ref.func in code or
 * a constant), which is called through funcrefs, in the module's
 * convention (and may be a return_call_indirect's target). The rest keep
 * the C convention: only direct calls reach them, and those know it.
 */
struct cc_plan {
    const struct wm_module *m;
    bool *tail;                     /* [nfuncs] must be tailcc */
};

static void cc_mark(struct cc_plan *p, uint32_t func)
{
    if (func >= p->m->nfunc_imports && func - p->m->nfunc_imports < p->m->nfuncs)
        p->tail[func - p->m->nfunc_imports] = true;
}

/* Mark what the instructions of r reach; *tail_calls when they hold a tail
 * call. -1 when they cannot be read (out of memory: keep everything
 * tailcc). */
static int cc_scan(struct cc_plan *p, struct wm_ins_reader *ir, bool *tail_calls)
{
    struct wm_ins in;
    int rc = 0;
    while (ir->rd.pos < ir->rd.end) {
        if (wm_ins_read(ir, &in) != 0) {
            rc = -1;
            break;
        }
        if (in.op == WM_OP_REF_FUNC)
            cc_mark(p, in.u.idx);
        if (in.op == WM_OP_RETURN_CALL)
            cc_mark(p, in.u.idx);
        if (in.op == WM_OP_RETURN_CALL || in.op == WM_OP_RETURN_CALL_INDIRECT)
            *tail_calls = true;
    }
    wm_ins_reader_deinit(ir);
    return rc;
}

static int cc_scan_const(struct cc_plan *p, const struct wm_constexpr *ce)
{
    if (ce->op == WM_CONST_REF_FUNC)
        cc_mark(p, ce->u.index);
    if (ce->op != WM_CONST_EXPR)
        return 0;
    struct wm_error err;
    struct wm_rd r = { ce->code, 0, ce->len, -1, &err };
    struct wm_ins_reader ir;
    bool unused = false;
    wm_ins_reader_init(&ir, &r);
    return cc_scan(p, &ir, &unused);
}

static int cc_plan_marks(struct cc_plan *p)
{
    const struct wm_module *m = p->m;
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == WM_EXTERN_FUNC)
            cc_mark(p, m->exports[i].index);
    if (m->has_start)
        cc_mark(p, m->start);
    for (uint32_t s = 0; s < m->nelems; s++)
        for (uint32_t j = 0; j < m->elems[s].count; j++)
            if (cc_scan_const(p, &m->elems[s].inits[j]))
                return -1;
    for (uint32_t g = 0; g < m->nglobals; g++)
        if (cc_scan_const(p, &m->globals[g].init))
            return -1;
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        struct wm_error err;
        struct wm_ins_reader ir;
        bool tail_calls = false;
        wm_ins_reader_init_func(&ir, m, m->nfunc_imports + i, &err);
        if (cc_scan(p, &ir, &tail_calls))
            return -1;
        if (tail_calls)
            p->tail[i] = true;
    }
    return 0;
}

static void plan_callconvs(struct cg_module *cm)
{
    const struct wm_module *m = cm->m;
    unsigned *fn_cc = cg_alloc(cm, m->nfuncs, sizeof *fn_cc);
    struct cc_plan p = { m, cg_alloc(cm, m->nfuncs, sizeof *p.tail) };
    bool all = cm->callconv != CG_TAIL_CALLCONV || cc_plan_marks(&p) != 0;
    for (uint32_t i = 0; i < m->nfuncs; i++)
        fn_cc[i] = all || p.tail[i] ? cm->callconv : LLVMCCallConv;
    cm->fn_cc = fn_cc;
}

/* ===== Tables nothing changes ========================================== */

/*
 * A table that is neither imported nor exported, and that no instruction
 * writes (table.set, grow, fill, and copy or init into it), holds after
 * instantiation what its element segments put there, for good: clang's
 * function-pointer table, in nearly every C or Rust program. Its size,
 * its element array and each entry are then loaded as invariant
 * (cg_call.c), so that LLVM keeps them across calls and out of loops: a
 * call_indirect costs the entry's load and the checks, not three loads
 * more through the table. Unreadable code marks every table as written.
 */
static void plan_tables(struct cg_module *cm)
{
    const struct wm_module *m = cm->m;
    uint32_t n = wm_table_count(m);
    bool *fixed = cg_alloc(cm, n, sizeof *fixed);
    for (uint32_t t = m->ntable_imports; t < n; t++)
        fixed[t] = true;
    for (uint32_t e = 0; e < m->nexports; e++)
        if (m->exports[e].kind == WM_EXTERN_TABLE && m->exports[e].index < n)
            fixed[m->exports[e].index] = false;
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        struct wm_error err;
        struct wm_ins_reader ir;
        struct wm_ins in;
        wm_ins_reader_init_func(&ir, m, m->nfunc_imports + i, &err);
        while (ir.rd.pos < ir.rd.end) {
            uint32_t written = UINT32_MAX;
            if (wm_ins_read(&ir, &in) != 0) {
                memset(fixed, 0, n * sizeof *fixed);
                break;
            }
            switch (in.op) {
            case WM_OP_TABLE_SET: case WM_OP_TABLE_GROW: case WM_OP_TABLE_FILL:
                written = in.u.idx;
                break;
            case WM_OP_TABLE_COPY:      /* (dst, src) */
                written = in.u.two.a;
                break;
            case WM_OP_TABLE_INIT:      /* (elem, table) */
                written = in.u.two.b;
                break;
            default:
                break;
            }
            if (written < n)
                fixed[written] = false;
        }
        wm_ins_reader_deinit(&ir);
    }
    cm->table_fixed = fixed;
}

/*
 * What such a table holds is then known here too, where its active element
 * segments have constant offsets and name defined functions (or ref.null):
 * clang's table, again. call_indirect through it looks its callee up in
 * an array of this module's code (cg_call.c) instead of in the instance's
 * table. An imported function in it (another vmctx), an offset from a
 * global, or a segment past the table's end (instantiation fails) leaves
 * the table unknown.
 */
#define CG_TABLE_KNOWN_MAX (1u << 16)       /* slots; larger: unknown */

static uint32_t *table_contents(struct cg_module *cm, uint32_t t)
{
    const struct wm_module *m = cm->m;
    const struct wm_tabletype *tt = wm_table_type(m, t);
    if (tt->elem != WM_FUNCREF || tt->limits.min == 0 || tt->limits.min > CG_TABLE_KNOWN_MAX)
        return NULL;
    uint32_t n = (uint32_t)tt->limits.min;
    uint32_t *slots = cg_alloc(cm, n, sizeof *slots);
    for (uint32_t i = 0; i < n; i++)
        slots[i] = CG_NO_FUNC;
    for (uint32_t s = 0; s < m->nelems; s++) {
        const struct wm_elem *e = &m->elems[s];
        if (e->mode != WM_SEG_ACTIVE || e->table != t)
            continue;
        if (e->offset.op != WM_CONST_I32 || (uint64_t)e->offset.u.i32 + e->count > n)
            return NULL;
        for (uint32_t j = 0; j < e->count; j++) {
            const struct wm_constexpr *ce = &e->inits[j];
            if (ce->op == WM_CONST_REF_NULL)
                slots[e->offset.u.i32 + j] = CG_NO_FUNC;
            else if (ce->op == WM_CONST_REF_FUNC && ce->u.index >= m->nfunc_imports)
                slots[e->offset.u.i32 + j] = ce->u.index - m->nfunc_imports;
            else
                return NULL;
        }
    }
    return slots;
}

/* Each type's class: the first type equal to it. */
static void plan_type_classes(struct cg_module *cm)
{
    const struct wm_module *m = cm->m;
    uint32_t *cls = cg_alloc(cm, m->ntypes, sizeof *cls);
    for (uint32_t t = 0; t < m->ntypes; t++) {
        cls[t] = t;
        for (uint32_t u = 0; u < t; u++)
            if (cls[u] == u && wm_functype_equal(&m->types[u], &m->types[t])) {
                cls[t] = u;
                break;
            }
    }
    cm->type_class = cls;
}

static void plan_table_contents(struct cg_module *cm)
{
    uint32_t n = wm_table_count(cm->m);
    const uint32_t **funcs = cg_alloc(cm, n, sizeof *funcs);
    for (uint32_t t = 0; t < n; t++)
        funcs[t] = cm->table_fixed[t] ? table_contents(cm, t) : NULL;
    cm->table_funcs = funcs;
    plan_type_classes(cm);
}

/* ===== Recursion inlined into itself =================================== */

/*
 * LLVM never inlines a function into itself, so a recursive function pays
 * a call, its stack check and its saved registers at every level, where
 * gcc -O2 inlines self-recursion several levels deep (fib: 1.9x native).
 * So a small function that calls itself gets K clones: its calls to
 * itself call clone 1, clone k's call clone k + 1, and clone K's call the
 * function again. The clones are internal and always inlined, so each
 * frame runs K + 1 levels. Every copy keeps its stack check (the stack
 * stays bounded, and an interrupt is seen at every level, as before);
 * only the number of native frames changes. K is at most CG_RECUR_DEPTH,
 * and the code copied, size * (c + c^2 + ... + c^K) for c calls to itself,
 * at most CG_RECUR_BUDGET bytes of wasm. Not at -O0 or -O1, and not in a
 * function that makes tail calls (LLVM inlines no musttail call but into
 * another).
 */
#define CG_RECUR_BYTES 256u             /* a larger function is not cloned */
#define CG_RECUR_DEPTH 3u
#define CG_RECUR_BUDGET 2048u

/* Defined function i's calls to itself, or 0 when it must not be
 * cloned (tail calls; unreadable). */
static uint32_t self_calls(const struct wm_module *m, uint32_t i)
{
    struct wm_error err;
    struct wm_ins_reader ir;
    struct wm_ins in;
    uint32_t self = m->nfunc_imports + i, n = 0;
    wm_ins_reader_init_func(&ir, m, self, &err);
    while (ir.rd.pos < ir.rd.end) {
        if (wm_ins_read(&ir, &in) != 0 || in.op == WM_OP_RETURN_CALL ||
            in.op == WM_OP_RETURN_CALL_INDIRECT) {
            n = 0;
            break;
        }
        n += in.op == WM_OP_CALL && in.u.idx == self;
    }
    wm_ins_reader_deinit(&ir);
    return n;
}

static void plan_recursion(struct cg_module *cm)
{
    const struct wm_module *m = cm->m;
    uint8_t *depth = cg_alloc(cm, m->nfuncs, sizeof *depth);
    for (uint32_t i = 0; i < m->nfuncs && cm->opt->opt_level >= 2; i++) {
        uint64_t len = m->funcs[i].code_len, c;
        if (len > CG_RECUR_BYTES || (c = self_calls(m, i)) == 0)
            continue;
        uint64_t copied = 0, level = len;
        for (unsigned k = 1; k <= CG_RECUR_DEPTH; k++) {
            level *= c;
            if ((copied += level) > CG_RECUR_BUDGET)
                break;
            depth[i] = (uint8_t)k;
        }
    }
    cm->recur_depth = depth;
}

/* The clones of this partition's defined function i (plan_recursion). */
static void declare_clones(struct cg_module *cm, uint32_t i, LLVMValueRef fn)
{
    unsigned k, n = cm->recur_depth[i];
    cm->clones[i] = cg_alloc(cm, n, sizeof **cm->clones);
    LLVMAttributeRef always = LLVMCreateEnumAttribute(cm->ctx,
        LLVMGetEnumAttributeKindForName("alwaysinline", 12), 0);
    for (k = 0; k < n; k++) {
        char sym[64];
        snprintf(sym, sizeof sym, CG_CLONE_PREFIX "f%u_%u", cm->m->nfunc_imports + i, k + 1);
        LLVMValueRef c = LLVMAddFunction(cm->mod, sym, LLVMGlobalGetValueType(fn));
        LLVMSetLinkage(c, LLVMInternalLinkage);
        LLVMSetFunctionCallConv(c, cm->fn_cc[i]);
        LLVMAddAttributeAtIndex(c, LLVMAttributeFunctionIndex, always);
        cm->clones[i][k] = c;
    }
}

/* Translate this partition's defined function i and its clones, each
 * calling the next for itself, the last the function. */
static int translate(struct cg_module *cm, uint32_t i)
{
    unsigned n = cm->recur_depth[i];
    if (cg_function(cm, i, cm->funcs[i], n ? cm->clones[i][0] : NULL))
        return -1;
    for (unsigned k = 0; k < n; k++)
        if (cg_function(cm, i, cm->clones[i][k],
                        k + 1 < n ? cm->clones[i][k + 1] : cm->funcs[i]))
            return -1;
    return 0;
}

/* What every function with wasm code in it has. */
static void define_attributes(struct cg_module *cm, LLVMValueRef fn)
{
    /* Unwind tables, so a trap's backtrace walks through wasm frames. */
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
        LLVMCreateEnumAttribute(cm->ctx,
            LLVMGetEnumAttributeKindForName("uwtable", 7), 2));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
        LLVMCreateStringAttribute(cm->ctx, "probe-stack", 11,
                                  STACK_PROBE, sizeof STACK_PROBE - 1));
}

/* Every function is declared in every partition; those of this one are
 * defined (cg_function), with their clones (plan_recursion). */
static void declare_functions(struct cg_module *cm)
{
    const struct wm_module *m = cm->m;
    declare_probe(cm);
    cm->fn_types = cg_alloc(cm, m->ntypes, sizeof *cm->fn_types);
    cm->funcs = cg_alloc(cm, m->nfuncs, sizeof *cm->funcs);
    cm->clones = cg_alloc(cm, m->nfuncs, sizeof *cm->clones);
    for (uint32_t t = 0; t < m->ntypes; t++)
        cm->fn_types[t] = native_type(cm, &m->types[t]);
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        uint32_t index = m->nfunc_imports + i;
        const char *name = wm_func_name(m, index);
        char sym[96];
        snprintf(sym, sizeof sym, "wasm_f%u%s%.60s", index, name ? "_" : "",
                 name ? name : "");
        LLVMValueRef fn = LLVMAddFunction(cm->mod, sym, cm->fn_types[m->funcs[i].type]);
        LLVMSetFunctionCallConv(fn, cm->fn_cc[i]);
        cm->funcs[i] = fn;
        if (cm->nparts > 1)
            LLVMSetVisibility(fn, LLVMHiddenVisibility);
        else
            LLVMSetLinkage(fn, LLVMInternalLinkage);
        if (i < cm->first || i >= cm->end)
            continue;                   /* another partition's */
        define_attributes(cm, fn);
        declare_clones(cm, i, fn);
        for (unsigned k = 0; k < cm->recur_depth[i]; k++)
            define_attributes(cm, cm->clones[i][k]);
    }
}

/* void tramp(ptr fn, ptr vmctx, ptr args): args are 16-byte awsm_values,
 * params in, results out. */
static LLVMValueRef trampoline(struct cg_module *cm, uint32_t t)
{
    const struct wm_functype *ft = &cm->m->types[t];
    LLVMTypeRef ps[3] = { cm->ptr, cm->ptr, cm->ptr };
    LLVMTypeRef tty = LLVMFunctionType(cm->void_t, ps, 3, false);
    char name[32];
    snprintf(name, sizeof name, "awsm_tramp%u", t);
    LLVMValueRef fn = LLVMAddFunction(cm->mod, name, tty);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMBuilderRef b = cm->b;
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(cm->ctx, fn, "entry"));
    LLVMValueRef argv = LLVMGetParam(fn, 2);
    unsigned base = cg_param_base(ft);
    LLVMValueRef *args = cg_alloc(cm, ft->nparams + base, sizeof *args);
    args[0] = LLVMGetParam(fn, 1);
    LLVMTypeRef rt = cg_result_type(cm, ft);
    LLVMValueRef out = base == 2 ? LLVMBuildAlloca(b, rt, "out") : NULL;
    if (out)
        args[1] = out;
    for (uint32_t i = 0; i < ft->nparams; i++) {
        LLVMValueRef off = LLVMConstInt(cm->i64, (uint64_t)i * 16, false);
        LLVMValueRef p = LLVMBuildGEP2(b, cm->i8, argv, &off, 1, "");
        args[i + base] = LLVMBuildLoad2(b, cg_type(cm, ft->params[i]), p, "");
        LLVMSetAlignment(args[i + base], 8);   /* awsm_value: 8, not v128's 16 */
    }
    LLVMValueRef r = LLVMBuildCall2(b, cm->fn_types[t], LLVMGetParam(fn, 0),
                                    args, ft->nparams + base, "");
    LLVMSetInstructionCallConv(r, cm->callconv);
    if (out)
        r = LLVMBuildLoad2(b, rt, out, "");
    for (uint32_t i = 0; i < ft->nresults; i++) {
        LLVMValueRef v = ft->nresults == 1 ? r : LLVMBuildExtractValue(b, r, i, "");
        LLVMValueRef off = LLVMConstInt(cm->i64, (uint64_t)i * 16, false);
        LLVMValueRef st = LLVMBuildStore(b, v, LLVMBuildGEP2(b, cm->i8, argv, &off, 1, ""));
        LLVMSetAlignment(st, 8);
    }
    LLVMBuildRetVoid(b);
    return fn;
}

/* The adapter of imported function i (tailcc, its type): when a host
 * function satisfies the import, the importer's copy of its funcref has
 * this as code and the C function as host_code (runtime/link.c). */
static LLVMValueRef import_adapter(struct cg_module *cm, uint32_t i)
{
    uint32_t t = wm_func_type_index(cm->m, i);
    LLVMTypeRef fty = cm->fn_types[t];
    char name[32];
    snprintf(name, sizeof name, "awsm_adapter%u", i);
    LLVMValueRef fn = LLVMAddFunction(cm->mod, name, fty);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMSetFunctionCallConv(fn, cm->callconv);
    LLVMBuilderRef b = cm->b;
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(cm->ctx, fn, "entry"));
    LLVMValueRef vmctx = LLVMGetParam(fn, 0);
    LLVMValueRef at = LLVMConstInt(cm->i64, AWSM_VMCTX_FUNCS, false);
    LLVMValueRef funcs = LLVMBuildLoad2(b, cm->ptr,
                                        LLVMBuildGEP2(b, cm->i8, vmctx, &at, 1, ""), "funcs");
    LLVMValueRef idx = LLVMConstInt(cm->i64, i, false);
    LLVMValueRef ref = LLVMBuildLoad2(b, cm->ptr,
                                      LLVMBuildGEP2(b, cm->ptr, funcs, &idx, 1, ""), "ref");
    at = LLVMConstInt(cm->i64, offsetof(struct awsm_funcref, host_code), false);
    LLVMValueRef code = LLVMBuildLoad2(b, cm->ptr,
                                       LLVMBuildGEP2(b, cm->i8, ref, &at, 1, ""), "host");
    unsigned n = LLVMCountParams(fn);
    LLVMValueRef *args = cg_alloc(cm, n, sizeof *args);
    for (unsigned k = 0; k < n; k++)
        args[k] = LLVMGetParam(fn, k);
    LLVMValueRef r = LLVMBuildCall2(b, fty, code, args, n, "");   /* C */
    if (LLVMGetTypeKind(LLVMGetReturnType(fty)) == LLVMVoidTypeKind)
        LLVMBuildRetVoid(b);
    else
        LLVMBuildRet(b, r);
    return fn;
}

static LLVMValueRef const_global(struct cg_module *cm, const char *name,
                                 LLVMValueRef init)
{
    LLVMValueRef g = LLVMAddGlobal(cm->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, true);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    return g;
}

static LLVMValueRef ptr_array(struct cg_module *cm, const char *name,
                              LLVMValueRef *elems, uint32_t n)
{
    LLVMValueRef arr = LLVMConstArray2(cm->ptr, elems, n);
    return const_global(cm, name, arr);
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, n, p);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

/* The descriptor; its layout is struct awsm_module_desc (runtime/abi.h). */
static int emit_descriptor(struct cg_module *cm)
{
    const struct wm_module *m = cm->m;
    uint8_t hash[32], meta_hash[32];
    size_t meta_size;
    uint8_t *meta = wm_metadata(m, &meta_size);
    if (meta == NULL)
        return cg_fail(cm, "out of memory");
    sha256(m->bytes, m->size, hash);
    sha256(meta, meta_size, meta_hash);
    LLVMValueRef *tramps = cg_alloc(cm, m->ntypes + 1, sizeof *tramps);
    for (uint32_t t = 0; t < m->ntypes; t++)
        tramps[t] = trampoline(cm, t);
    bool tail = cm->callconv == CG_TAIL_CALLCONV;
    uint32_t nadapters = tail ? m->nfunc_imports : 0;
    LLVMValueRef *adapters = cg_alloc(cm, nadapters + 1, sizeof *adapters);
    for (uint32_t i = 0; i < nadapters; i++)
        adapters[i] = import_adapter(cm, i);
    LLVMValueRef wasm = const_global(cm, "awsm_wasm_metadata",
        LLVMConstStringInContext(cm->ctx, (const char *)meta, (unsigned)meta_size, true));
    free(meta);
    LLVMValueRef version = const_global(cm, "awsm_compiler_version",
        LLVMConstStringInContext(cm->ctx, AWSM_COMPILER_VERSION,
                                 sizeof AWSM_COMPILER_VERSION - 1, false));
    LLVMValueRef hashv = LLVMConstStringInContext(cm->ctx, (const char *)hash, 32, true);
    LLVMValueRef meta_hashv = LLVMConstStringInContext(cm->ctx, (const char *)meta_hash,
                                                       32, true);
    LLVMValueRef fields[] = {
        LLVMConstInt(cm->i32, AWSM_MODULE_MAGIC, false),
        LLVMConstInt(cm->i32, AWSM_ABI_VERSION, false),
        version, hashv,
        LLVMConstInt(cm->i32, cm->opt->bounds, false),
        LLVMConstInt(cm->i32, cm->opt->opt_level, false),
        wasm, LLVMConstInt(cm->i64, meta_size, false),
        LLVMConstInt(cm->i32, m->nfuncs, false),
        LLVMConstInt(cm->i32, m->ntypes, false),
        ptr_array(cm, "awsm_funcs", cm->funcs, m->nfuncs),
        ptr_array(cm, "awsm_trampolines", tramps, m->ntypes),
        LLVMConstInt(cm->i64, cm->mem_reach, false),
        tail ? ptr_array(cm, "awsm_import_adapters", adapters, nadapters)
             : LLVMConstNull(cm->ptr),
        LLVMConstInt(cm->i32, tail ? AWSM_CALLCONV_TAIL : AWSM_CALLCONV_C, false),
        LLVMConstInt(cm->i32, (cm->opt->polls ? AWSM_DESC_POLLS : 0) |
                              (cm->exceptions ? AWSM_DESC_EXCEPTIONS : 0), false),
        meta_hashv,
    };
    LLVMValueRef desc = LLVMConstStructInContext(cm->ctx, fields,
                                                 sizeof fields / sizeof *fields, false);
    LLVMValueRef g = LLVMAddGlobal(cm->mod, LLVMTypeOf(desc), AWSM_MODULE_SYMBOL);
    LLVMSetInitializer(g, desc);
    LLVMSetGlobalConstant(g, true);
    return 0;
}

static int verify(struct cg_module *cm)
{
    char *msg = NULL;
    if (LLVMVerifyModule(cm->mod, LLVMReturnStatusAction, &msg)) {
        cg_fail(cm, "internal compiler error: invalid IR: %.400s", msg ? msg : "");
        LLVMDisposeMessage(msg);
        return -1;
    }
    LLVMDisposeMessage(msg);
    return 0;
}

static void cleanup(struct cg_module *cm)
{
    if (cm->reading)
        wm_ins_reader_deinit(&cm->reader);
    wm_arena_free(cm->func_arena);
    wm_arena_free(cm->arena);
    if (cm->b)
        LLVMDisposeBuilder(cm->b);
    if (cm->alloca_b)
        LLVMDisposeBuilder(cm->alloca_b);
    if (cm->mod)
        LLVMDisposeModule(cm->mod);
    if (cm->tm)
        LLVMDisposeTargetMachine(cm->tm);
    if (cm->ctx)
        LLVMContextDispose(cm->ctx);
}

/* The state lives on the heap: cg_alloc's longjmp comes back here, and
 * what changed since setjmp must not be an automatic variable. */
static int compile(struct cg_module *cm, const char *obj_path)
{
    init_types(cm);
    init_tbaa(cm);
    if (cg_target_init(cm))
        return -1;
    declare_functions(cm);
    cm->dispatch = cg_alloc(cm, (size_t)wm_table_count(cm->m) * cm->m->ntypes,
                            sizeof *cm->dispatch);
    cg_memory_plan(cm);
    for (uint32_t i = cm->first; i < cm->end; i++)
        if (translate(cm, i))
            return -1;
    if ((cm->part == 0 && emit_descriptor(cm)) || verify(cm) || cg_optimize(cm) ||
        (cm->opt->polls && cg_poll_loops(cm)) || verify(cm) || cg_write_ir(cm) ||
        cg_emit_object(cm, obj_path))
        return -1;
    return 0;
}

/* ===== Partitions ====================================================== */

/*
 * A large module (CG_SPLIT_BYTES of code or more) is compiled in
 * parallel. Its defined functions are cut into partitions, runs of
 * consecutive functions with about CG_PART_BYTES of code each (small
 * enough that the threads finish together: one part's compile time is
 * not its size's), and each partition is translated,
 * optimised and emitted as a module of its own, in an LLVM context of its
 * own, by one of cg_options.jobs threads; `ld` links the objects in
 * partition order. The cut depends on the module alone, never on the
 * number of threads, so the shared object is byte-identical whatever
 * that number is. Partition 0 also holds the descriptor, the trampolines
 * and the import adapters. What every partition needs to know of the
 * others (calling conventions, which functions may throw, which have
 * clones, which tables are fixed) is planned once, before any thread
 * starts, and only read after.
 *
 * The cost: LLVM inlines no call across partitions, as a C compiler
 * inlines none across translation units. The producer of a large module
 * (clang, rustc) has inlined at source level already, and a smaller
 * module (every benchmark program, and most serverless functions) stays
 * whole, compiled exactly as it was before. SQLite runs as fast in 64 KB
 * parts as in 128 KB ones or whole.
 */
#define CG_SPLIT_BYTES (256u << 10)    /* less code: one part */
#define CG_PART_BYTES (64u << 10)
#define CG_MAX_PARTS 64u

struct cg_job {
    const struct cg_module *plan;   /* m, opt, and what cm reads of the
                                       plans: fn_cc, may_throw,
                                       recur_depth, table_fixed,
                                       table_funcs, type_class */
    unsigned nparts;
    uint32_t *cuts;                 /* [nparts + 1] partition k: [cuts[k], cuts[k+1]) */
    char **objs;                    /* [nparts] object file paths */
    struct cg_error *errs;          /* [nparts] */
    int *rcs;                       /* [nparts] 0 once compiled */
    atomic_uint next;               /* the next partition to take */
    atomic_bool failed;             /* stop taking partitions */
    pthread_mutex_t lock;           /* progress: done, and the callback */
    unsigned done;
};

/* Cut the defined functions into partitions of about equal code size. */
static unsigned plan_partitions(const struct wm_module *m, uint32_t *cuts)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < m->nfuncs; i++)
        total += m->funcs[i].code_len;
    uint64_t n = total < CG_SPLIT_BYTES ? 1 : total / CG_PART_BYTES;
    if (n > CG_MAX_PARTS)
        n = CG_MAX_PARTS;
    if (n > m->nfuncs)
        n = m->nfuncs;
    if (n < 2) {
        cuts[0] = 0;
        cuts[1] = m->nfuncs;
        return 1;
    }
    unsigned k = 1;
    uint64_t acc = 0;
    cuts[0] = 0;
    for (uint32_t i = 0; i < m->nfuncs && k < n; i++) {
        acc += m->funcs[i].code_len;
        /* Cut after i once the code so far reaches k/n of the total,
         * leaving a function for each partition still to come. */
        if (acc * n >= total * k && m->nfuncs - (i + 1) >= n - k)
            cuts[k++] = i + 1;
    }
    /* A last function too large to leave k/n behind in time: the parts
     * not cut yet are empty ones before it. */
    for (; k < n; k++)
        cuts[k] = cuts[k - 1];
    cuts[n] = m->nfuncs;
    return (unsigned)n;
}

/* Compile partition k into job->objs[k]: job->rcs[k] and job->errs[k]. */
static void compile_part(struct cg_job *job, unsigned k)
{
    struct cg_module *cm = calloc(1, sizeof *cm);
    struct cg_error *err = &job->errs[k];
    jmp_buf oom;
    if (cm == NULL) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        job->rcs[k] = -1;
        return;
    }
    *cm = (struct cg_module){ .m = job->plan->m, .opt = job->plan->opt, .err = err,
        .oom = &oom,
        .callconv = job->plan->callconv, .exceptions = job->plan->exceptions,
        .fn_cc = job->plan->fn_cc, .may_throw = job->plan->may_throw,
        .recur_depth = job->plan->recur_depth, .table_fixed = job->plan->table_fixed,
        .table_funcs = job->plan->table_funcs, .type_class = job->plan->type_class,
        .first = job->cuts[k], .end = job->cuts[k + 1], .part = k,
        .nparts = job->nparts };
    cm->ctx = LLVMContextCreate();
    cm->mod = LLVMModuleCreateWithNameInContext("wasm", cm->ctx);
    cm->b = LLVMCreateBuilderInContext(cm->ctx);
    cm->alloca_b = LLVMCreateBuilderInContext(cm->ctx);
    cm->arena = wm_arena_new();
    if (cm->arena == NULL || setjmp(oom) != 0)
        job->rcs[k] = cg_fail(cm, "out of memory");
    else
        job->rcs[k] = compile(cm, job->objs[k]);
    cleanup(cm);
    free(cm);
}

static void *part_worker(void *arg)
{
    struct cg_job *job = arg;
    for (;;) {
        unsigned k = atomic_fetch_add(&job->next, 1);
        if (k >= job->nparts || atomic_load(&job->failed))
            return NULL;
        compile_part(job, k);
        if (job->rcs[k] != 0)
            atomic_store(&job->failed, true);
        pthread_mutex_lock(&job->lock);
        job->done++;
        const struct cg_options *opt = job->plan->opt;
        if (opt->progress)
            opt->progress(opt->progress_arg, job->done, job->nparts);
        pthread_mutex_unlock(&job->lock);
    }
}

/* The threads to use: cg_options.jobs, else the CPUs this thread may run
 * on; never more than there are partitions. */
static unsigned job_threads(const struct cg_options *opt, unsigned nparts)
{
    unsigned n = opt->jobs;
    cpu_set_t set;
    if (n == 0)
        n = sched_getaffinity(0, sizeof set, &set) == 0 ? (unsigned)CPU_COUNT(&set) : 1;
    return n < 1 ? 1 : n > nparts ? nparts : n;
}

/* LLVM's deepest recursions (the SelectionDAG's, on a huge function) are
 * what the main thread's 8 MiB allow; give the others as much. */
#define CG_THREAD_STACK (8u << 20)

static void run_parts(struct cg_job *job, unsigned nthreads)
{
    pthread_t *tids = calloc(nthreads, sizeof *tids);
    unsigned started = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, CG_THREAD_STACK);
    for (; tids != NULL && started + 1 < nthreads; started++)
        if (pthread_create(&tids[started], &attr, part_worker, job) != 0)
            break;                      /* fewer threads: same output */
    pthread_attr_destroy(&attr);
    part_worker(job);                   /* this thread takes its share */
    for (unsigned t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    free(tids);
}

/* The plan every partition reads, and the partitions' files and results. */
static void job_init(struct cg_job *job, struct cg_module *plan, const char *out_path)
{
    const struct wm_module *m = plan->m;
    plan_callconvs(plan);
    cg_exn_plan(plan);
    plan_recursion(plan);
    plan_tables(plan);
    plan_table_contents(plan);
    job->cuts = cg_alloc(plan, CG_MAX_PARTS + 1, sizeof *job->cuts);
    job->nparts = plan_partitions(m, job->cuts);
    job->objs = cg_alloc(plan, job->nparts, sizeof *job->objs);
    job->errs = cg_alloc(plan, job->nparts, sizeof *job->errs);
    job->rcs = cg_alloc(plan, job->nparts, sizeof *job->rcs);
    /* Unique per compile and per partition, next to the output. */
    static atomic_uint seq;
    unsigned id = atomic_fetch_add(&seq, 1);
    for (unsigned k = 0; k < job->nparts; k++) {
        char path[4200];
        if (plan->opt->emit_object)
            cg_part_path(path, sizeof path, plan->opt->emit_object, k);
        else
            snprintf(path, sizeof path, "%s.%d.%u.%u.o", out_path, (int)getpid(), id, k);
        size_t len = strlen(path) + 1;
        job->objs[k] = memcpy(cg_alloc(plan, len, 1), path, len);
        job->rcs[k] = -1;
    }
}

/* The plan's own state: a cg_module with no LLVM in it. */
static int compile_module(struct cg_module *plan, struct cg_job *job, const char *out_path)
{
    job_init(job, plan, out_path);
    pthread_mutex_init(&job->lock, NULL);
    run_parts(job, job_threads(plan->opt, job->nparts));
    pthread_mutex_destroy(&job->lock);
    int rc = 0;
    for (unsigned k = 0; k < job->nparts && rc == 0; k++)
        if (job->rcs[k] != 0) {
            /* The lowest failed partition's error: every lower one ran. */
            *plan->err = job->errs[k];
            rc = -1;
        }
    if (rc == 0)
        rc = cg_link(plan->err, job->objs, job->nparts, out_path);
    if (!plan->opt->emit_object)
        for (unsigned k = 0; k < job->nparts; k++)
            unlink(job->objs[k]);
    return rc;
}

int cg_compile(const struct wm_module *m, const struct cg_options *opt,
               const char *out_path, struct cg_error *err)
{
    struct cg_module *plan = calloc(1, sizeof *plan);
    struct cg_job *job = calloc(1, sizeof *job);
    jmp_buf oom;
    int rc;
    if (plan == NULL || job == NULL) {
        free(plan);
        free(job);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return -1;
    }
    *plan = (struct cg_module){ .m = m, .opt = opt, .err = err, .oom = &oom,
        .callconv = opt->features & WM_FEATURE_TAIL_CALL ? CG_TAIL_CALLCONV
                                                         : LLVMCCallConv,
        .exceptions = (opt->features & WM_FEATURE_EXCEPTIONS) != 0 };
    *job = (struct cg_job){ .plan = plan };
    plan->arena = wm_arena_new();
    if (plan->arena == NULL || setjmp(oom) != 0)
        rc = cg_fail(plan, "out of memory");
    else
        rc = compile_module(plan, job, out_path);
    cleanup(plan);
    free(plan);
    free(job);
    return rc;
}
