/*
 * compiler/cg_func.c - one function to LLVM IR: the prologue (locals, stack
 * check), the value and control stacks, structured control flow, traps and
 * the dispatch of every other instruction to its category's file.
 *
 * Block results and loop parameters travel through allocas ("slots"): a
 * branch stores the values into its target's slots, the target loads them.
 * mem2reg turns this into SSA, so branches need no phi bookkeeping.
 * Dead code (after br, return, unreachable) is skipped, keeping only the
 * nesting count so the matching else/end is found.
 */
#include <stdlib.h>
#include <string.h>

#include "compiler/cg.h"

#define WM_MAX_CG_LOCALS 50000u   /* as the JS embedding's limit */

/* ===== Stacks =========================================================== */

static void *grow_array(void *p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    uint32_t n = *cap ? *cap * 2 : 32;
    while (n < need)
        n *= 2;
    void *q = realloc(p, (size_t)n * elem);
    if (!q)
        abort();        /* compile-time memory: nothing sensible to do */
    *cap = n;
    return q;
}

void cg_push(struct cg_func *f, LLVMValueRef v)
{
    f->stack = grow_array(f->stack, &f->scap, f->sp + 1, sizeof *f->stack);
    f->stack[f->sp++] = v;
}

LLVMValueRef cg_pop(struct cg_func *f)
{
    return f->stack[--f->sp];
}

LLVMValueRef cg_const_i32(struct cg_func *f, uint32_t v)
{
    return LLVMConstInt(f->cm->i32, v, false);
}

LLVMValueRef cg_const_i64(struct cg_func *f, uint64_t v)
{
    return LLVMConstInt(f->cm->i64, v, false);
}

/* An alloca in the entry block, where mem2reg finds it. */
LLVMValueRef cg_entry_slot(struct cg_func *f, LLVMTypeRef t)
{
    LLVMBuilderRef ab = LLVMCreateBuilderInContext(f->cm->ctx);
    LLVMPositionBuilderAtEnd(ab, f->entry);
    LLVMValueRef slot = LLVMBuildAlloca(ab, t, "");
    LLVMDisposeBuilder(ab);
    return slot;
}

static LLVMValueRef *new_slots(struct cg_func *f, const wm_valtype *types,
                               uint32_t n)
{
    LLVMValueRef *slots = calloc(n ? n : 1, sizeof *slots);
    if (!slots)
        abort();
    for (uint32_t i = 0; i < n; i++)
        slots[i] = cg_entry_slot(f, cg_type(f->cm, types[i]));
    return slots;
}

/* Store the top n stack values into slots (without popping). */
static void store_top(struct cg_func *f, LLVMValueRef *slots, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        LLVMBuildStore(f->b, f->stack[f->sp - n + i], slots[i]);
}

static void load_push(struct cg_func *f, LLVMValueRef *slots,
                      const wm_valtype *types, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        cg_push(f, LLVMBuildLoad2(f->b, cg_type(f->cm, types[i]), slots[i], ""));
}

/* ===== vmctx, intrinsics, runtime calls, traps ========================== */

LLVMValueRef cg_vmctx_load(struct cg_func *f, unsigned offset, LLVMTypeRef t,
                           const char *name)
{
    LLVMValueRef idx = cg_const_i64(f, offset);
    LLVMValueRef p = LLVMBuildGEP2(f->b, f->cm->i8, f->vmctx, &idx, 1, "");
    return cg_tag_runtime(f->cm, LLVMBuildLoad2(f->b, t, p, name));
}

LLVMValueRef cg_call_intrinsic(struct cg_func *f, const char *name,
                               LLVMTypeRef *overload, unsigned noverload,
                               LLVMValueRef *args, unsigned nargs)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(f->cm->mod, id, overload,
                                                  noverload);
    LLVMTypeRef fty = LLVMIntrinsicGetType(f->cm->ctx, id, overload, noverload);
    return LLVMBuildCall2(f->b, fty, fn, args, nargs, "");
}

LLVMValueRef cg_call_rt(struct cg_func *f, unsigned field_offset,
                        LLVMTypeRef ret, LLVMValueRef *args, unsigned nargs)
{
    struct cg_module *cm = f->cm;
    LLVMTypeRef params[8];
    LLVMValueRef all[8];
    params[0] = cm->ptr;
    all[0] = f->vmctx;
    for (unsigned i = 0; i < nargs; i++) {
        params[i + 1] = LLVMTypeOf(args[i]);
        all[i + 1] = args[i];
    }
    LLVMTypeRef fty = LLVMFunctionType(ret, params, nargs + 1, false);
    LLVMValueRef rt = cg_vmctx_load(f, AWSM_VMCTX_RT, cm->ptr, "rt");
    LLVMValueRef off = cg_const_i64(f, field_offset);
    LLVMValueRef slot = LLVMBuildGEP2(f->b, cm->i8, rt, &off, 1, "");
    LLVMValueRef fn = LLVMBuildLoad2(f->b, cm->ptr, slot, "");
    return LLVMBuildCall2(f->b, fty, fn, all, nargs + 1, "");
}

static void add_call_attr(struct cg_module *cm, LLVMValueRef call,
                          const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddCallSiteAttribute(call, LLVMAttributeFunctionIndex,
                             LLVMCreateEnumAttribute(cm->ctx, kind, 0));
}

static LLVMValueRef expect_false(struct cg_func *f, LLVMValueRef cond)
{
    LLVMTypeRef i1 = LLVMInt1TypeInContext(f->cm->ctx);
    LLVMValueRef args[2] = { cond, LLVMConstInt(i1, 0, false) };
    return cg_call_intrinsic(f, "llvm.expect", &i1, 1, args, 2);
}

static LLVMBasicBlockRef trap_block(struct cg_func *f, enum awsm_trap kind)
{
    if (f->trap_bb[kind])
        return f->trap_bb[kind];
    LLVMBasicBlockRef saved = LLVMGetInsertBlock(f->b);
    LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(f->cm->ctx, f->fn, "trap");
    LLVMPositionBuilderAtEnd(f->b, bb);
    LLVMValueRef kindv = cg_const_i32(f, kind);
    LLVMValueRef call = cg_call_rt(f, offsetof(struct awsm_rt_api, trap),
                                   f->cm->void_t, &kindv, 1);
    add_call_attr(f->cm, call, "noreturn");
    add_call_attr(f->cm, call, "cold");
    LLVMBuildUnreachable(f->b);
    LLVMPositionBuilderAtEnd(f->b, saved);
    f->trap_bb[kind] = bb;
    return bb;
}

void cg_trap_if(struct cg_func *f, LLVMValueRef cond, enum awsm_trap kind)
{
    LLVMBasicBlockRef cont = LLVMAppendBasicBlockInContext(f->cm->ctx, f->fn, "ok");
    LLVMBuildCondBr(f->b, expect_false(f, cond), trap_block(f, kind), cont);
    LLVMPositionBuilderAtEnd(f->b, cont);
}

void cg_trap(struct cg_func *f, enum awsm_trap kind)
{
    LLVMBuildBr(f->b, trap_block(f, kind));
}

/* ===== Safe points ====================================================== */

/*
 * Where a running guest can be preempted (runtime/abi.h, "Interrupts"):
 * a cold call of vmctx->rt->interrupted(vmctx), which returns when the
 * guest is to go on (after a handler ran, after a spurious wake-up) and
 * unwinds otherwise. notail, as every call here: the runtime compares its
 * own frame with the stack limit to tell an overflow from an interrupt.
 *
 * Function entries get theirs now, in the stack check (stack_check).
 * Loop headers get theirs after optimisation (cg_poll_loops): a call in a
 * loop, even a cold one, keeps LLVM from vectorising it and from keeping
 * memory values in registers across iterations (stencil ran 2-3x slower
 * with polls in the IR from the start). The price: a handler that
 * returns must not expect the guest to see changes it makes to the
 * guest's memory or globals, nor to see the guest's latest stores;
 * preemption needs neither.
 */

/* On x86-64, rt->interrupted keeps every general-purpose register but r11
 * (runtime/abi.h): values live across the cold call stay where they are,
 * and the functions' hot paths save no callee-saved registers for it. */
#if defined(__x86_64__)
#define INTERRUPTED_CALLCONV LLVMPreserveMostCallConv
#else
#define INTERRUPTED_CALLCONV LLVMCCallConv
#endif

static LLVMValueRef call_interrupted(struct cg_module *cm, LLVMBuilderRef b,
                                     LLVMValueRef vmctx)
{
    LLVMValueRef off = LLVMConstInt(cm->i64, AWSM_VMCTX_RT, false);
    LLVMValueRef rt = cg_tag_runtime(cm, LLVMBuildLoad2(b, cm->ptr,
        LLVMBuildGEP2(b, cm->i8, vmctx, &off, 1, ""), "rt"));
    off = LLVMConstInt(cm->i64, offsetof(struct awsm_rt_api, interrupted), false);
    LLVMValueRef fn = cg_tag_runtime(cm, LLVMBuildLoad2(b, cm->ptr,
        LLVMBuildGEP2(b, cm->i8, rt, &off, 1, ""), "interrupted"));
    LLVMTypeRef fty = LLVMFunctionType(cm->void_t, &cm->ptr, 1, false);
    LLVMValueRef call = LLVMBuildCall2(b, fty, fn, &vmctx, 1, "");
    LLVMSetTailCallKind(call, LLVMTailCallKindNoTail);
    LLVMSetInstructionCallConv(call, INTERRUPTED_CALLCONV);
    add_call_attr(cm, call, "cold");
    return call;
}

/* The entry check's slow path: when cond holds, call the runtime, then go
 * on with the function. */
static void interrupted_if(struct cg_func *f, LLVMValueRef cond)
{
    LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(f->cm->ctx, f->fn,
                                                           "interrupted");
    LLVMBasicBlockRef cont = LLVMAppendBasicBlockInContext(f->cm->ctx, f->fn,
                                                           "resume");
    LLVMBuildCondBr(f->b, expect_false(f, cond), slow, cont);
    LLVMPositionBuilderAtEnd(f->b, slow);
    call_interrupted(f->cm, f->b, f->vmctx);
    LLVMBuildBr(f->b, cont);
    LLVMPositionBuilderAtEnd(f->b, cont);
}

/* ===== Control ========================================================== */

static struct cg_frame *top(struct cg_func *f)
{
    return &f->ctl[f->depth - 1];
}

static void mark_dead(struct cg_func *f)
{
    struct cg_frame *fr = top(f);
    fr->unreachable = true;
    f->sp = fr->height;
}

static void block_signature(struct cg_func *f, const struct ins *in,
                            struct cg_frame *fr)
{
    const struct wm_module *m = f->cm->m;
    fr->nparams = fr->nresults = 0;
    fr->params = fr->results = NULL;
    if (in->u.block.kind == BT_VAL) {
        fr->single = in->u.block.val;
        fr->nresults = 1;
        fr->results = &fr->single;
    } else if (in->u.block.kind == BT_TYPE) {
        const struct wm_functype *ft = &m->types[in->u.block.type];
        fr->nparams = ft->nparams;
        fr->params = ft->params;
        fr->nresults = ft->nresults;
        fr->results = ft->results;
    }
}

static struct cg_frame *push_frame(struct cg_func *f, uint16_t op)
{
    struct cg_frame *old = f->ctl;
    f->ctl = grow_array(f->ctl, &f->ccap, f->depth + 1, sizeof *f->ctl);
    if (f->ctl != old)              /* rebase pointers to frames' own `single` */
        for (uint32_t i = 0; i < f->depth; i++)
            if (f->ctl[i].single)
                f->ctl[i].results = &f->ctl[i].single;
    struct cg_frame *fr = &f->ctl[f->depth++];
    memset(fr, 0, sizeof *fr);
    fr->op = op;
    return fr;
}

static void free_frame(struct cg_frame *fr)
{
    free(fr->param_slots);
    free(fr->result_slots);
}

static LLVMBasicBlockRef new_bb(struct cg_func *f, const char *name)
{
    return LLVMAppendBasicBlockInContext(f->cm->ctx, f->fn, name);
}

static void cg_block(struct cg_func *f, const struct ins *in)
{
    struct cg_frame *fr = push_frame(f, in->op);
    block_signature(f, in, fr);
    fr->height = f->sp - fr->nparams;
    fr->result_slots = new_slots(f, fr->results, fr->nresults);
    fr->end_bb = new_bb(f, in->op == OP_LOOP ? "loop_end" : "block_end");
    fr->label_bb = fr->end_bb;
    if (in->op == OP_LOOP) {
        fr->param_slots = new_slots(f, fr->params, fr->nparams);
        store_top(f, fr->param_slots, fr->nparams);
        fr->label_bb = new_bb(f, "loop");
        LLVMBuildBr(f->b, fr->label_bb);
        LLVMPositionBuilderAtEnd(f->b, fr->label_bb);
        f->sp = fr->height;
        load_push(f, fr->param_slots, fr->params, fr->nparams);
    }
}

static void cg_if(struct cg_func *f, const struct ins *in)
{
    LLVMValueRef cond = cg_pop(f);
    struct cg_frame *fr = push_frame(f, OP_IF);
    block_signature(f, in, fr);
    fr->height = f->sp - fr->nparams;
    fr->result_slots = new_slots(f, fr->results, fr->nresults);
    fr->param_slots = new_slots(f, fr->params, fr->nparams);
    store_top(f, fr->param_slots, fr->nparams);
    fr->end_bb = new_bb(f, "if_end");
    fr->label_bb = fr->end_bb;
    fr->else_bb = new_bb(f, "else");
    LLVMBasicBlockRef then_bb = new_bb(f, "then");
    LLVMValueRef c = LLVMBuildICmp(f->b, LLVMIntNE, cond, cg_const_i32(f, 0), "");
    LLVMBuildCondBr(f->b, c, then_bb, fr->else_bb);
    LLVMPositionBuilderAtEnd(f->b, then_bb);
}

/* Fall through to the end of the innermost block, if reachable. */
static void fall_to_end(struct cg_func *f, struct cg_frame *fr)
{
    if (fr->unreachable)
        return;
    store_top(f, fr->result_slots, fr->nresults);
    LLVMBuildBr(f->b, fr->end_bb);
    fr->end_reached = true;
}

static void cg_else(struct cg_func *f)
{
    struct cg_frame *fr = top(f);
    fall_to_end(f, fr);
    LLVMPositionBuilderAtEnd(f->b, fr->else_bb);
    f->sp = fr->height;
    load_push(f, fr->param_slots, fr->params, fr->nparams);
    fr->op = OP_ELSE;
    fr->unreachable = false;
}

static void cg_end(struct cg_func *f)
{
    struct cg_frame *fr = top(f);
    fall_to_end(f, fr);
    if (fr->op == OP_IF) {
        /* No else: the parameters pass through as the results. */
        LLVMPositionBuilderAtEnd(f->b, fr->else_bb);
        for (uint32_t i = 0; i < fr->nparams; i++)
            LLVMBuildStore(f->b, LLVMBuildLoad2(f->b,
                cg_type(f->cm, fr->params[i]), fr->param_slots[i], ""),
                fr->result_slots[i]);
        LLVMBuildBr(f->b, fr->end_bb);
        fr->end_reached = true;
    }
    struct cg_frame done = *fr;
    f->depth--;
    f->sp = done.height;
    LLVMPositionBuilderAtEnd(f->b, done.end_bb);
    if (done.end_reached) {
        load_push(f, done.result_slots, done.results, done.nresults);
    } else {
        LLVMBuildUnreachable(f->b);
        if (f->depth > 0)
            mark_dead(f);
    }
    free_frame(&done);
}

/* Branch to label l: store the values its target expects, then jump. */
static LLVMBasicBlockRef branch_target(struct cg_func *f, uint32_t l)
{
    struct cg_frame *fr = &f->ctl[f->depth - 1 - l];
    if (fr->op == OP_LOOP) {
        store_top(f, fr->param_slots, fr->nparams);
        return fr->label_bb;
    }
    store_top(f, fr->result_slots, fr->nresults);
    fr->end_reached = true;
    return fr->end_bb;
}

static void cg_br(struct cg_func *f, uint32_t l)
{
    LLVMBuildBr(f->b, branch_target(f, l));
    mark_dead(f);
}

static void cg_br_if(struct cg_func *f, uint32_t l)
{
    LLVMValueRef cond = cg_pop(f);
    LLVMValueRef c = LLVMBuildICmp(f->b, LLVMIntNE, cond, cg_const_i32(f, 0), "");
    LLVMBasicBlockRef cont = new_bb(f, "br_if_cont");
    LLVMBuildCondBr(f->b, c, branch_target(f, l), cont);
    LLVMPositionBuilderAtEnd(f->b, cont);
}

static void cg_br_table(struct cg_func *f, const struct ins *in)
{
    LLVMValueRef idx = cg_pop(f);
    uint32_t n = in->u.br_table.count;
    LLVMBasicBlockRef deflt = branch_target(f, in->u.br_table.deflt);
    LLVMValueRef sw = LLVMBuildSwitch(f->b, idx, deflt, n);
    /* Storing twice into one target's slots is harmless: same values. */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = in->u.br_table.labels[i];
        LLVMBasicBlockRef bb;
        /* Stores must precede the switch: build them before it. */
        LLVMPositionBuilderBefore(f->b, sw);
        bb = branch_target(f, l);
        LLVMAddCase(sw, cg_const_i32(f, i), bb);
    }
    LLVMPositionBuilderAtEnd(f->b, LLVMGetInstructionParent(sw));
    mark_dead(f);
}

static void emit_return(struct cg_func *f)
{
    const struct wm_functype *ft = f->type;
    if (ft->nresults == 0) {
        LLVMBuildRetVoid(f->b);
    } else if (ft->nresults == 1) {
        LLVMBuildRet(f->b, f->stack[f->sp - 1]);
    } else {                            /* into the caller's *out */
        LLVMTypeRef st = cg_result_type(f->cm, ft);
        LLVMValueRef agg = LLVMGetUndef(st);
        for (uint32_t i = 0; i < ft->nresults; i++)
            agg = LLVMBuildInsertValue(f->b, agg,
                                       f->stack[f->sp - ft->nresults + i], i, "");
        LLVMBuildStore(f->b, agg, LLVMGetParam(f->fn, 1));
        LLVMBuildRetVoid(f->b);
    }
}

/*
 * A dropped load must still trap when out of bounds. In guard mode the
 * trap is the load itself, which LLVM would delete as dead: make it
 * volatile. (Checked code, checked mode or a bounded memory, traps in the
 * explicit check, which stays.)
 */
static void cg_drop(struct cg_func *f)
{
    LLVMValueRef v = cg_pop(f);
    /* Through the widening and lane moves of narrow and SIMD loads, and a
     * lane extracted from a loaded vector. */
    for (int i = 0; i < 4 && !LLVMIsALoadInst(v); i++) {
        if (LLVMIsAZExtInst(v) || LLVMIsASExtInst(v) || LLVMIsABitCastInst(v) ||
            LLVMIsAShuffleVectorInst(v) || LLVMIsAExtractElementInst(v))
            v = LLVMGetOperand(v, 0);
        else if (LLVMIsAInsertElementInst(v))
            v = LLVMGetOperand(v, 1);
        else
            break;
    }
    if (LLVMIsALoadInst(v))
        LLVMSetVolatile(v, true);
}

static void cg_select(struct cg_func *f)
{
    LLVMValueRef c = cg_pop(f);
    LLVMValueRef b = cg_pop(f);
    LLVMValueRef a = cg_pop(f);
    LLVMValueRef t = LLVMBuildICmp(f->b, LLVMIntNE, c, cg_const_i32(f, 0), "");
    cg_push(f, LLVMBuildSelect(f->b, t, a, b, ""));
}

/* ===== Dispatch ========================================================= */

static bool is_memory_op(const struct ins *in)
{
    switch ((enum op_imm)op_table[in->op].imm) {
    case IMM_MEMARG: case IMM_MEMARG_LANE: case IMM_MEMIDX:
    case IMM_MEMORY_INIT: case IMM_DATA: case IMM_MEMORY_COPY:
        return true;
    default:
        return false;
    }
}

/* Skip dead code, tracking nesting; true when `in` must still be handled. */
static bool live(struct cg_func *f, const struct ins *in)
{
    if (!top(f)->unreachable)
        return true;
    switch (in->op) {
    case OP_BLOCK: case OP_LOOP: case OP_IF:
        f->dead_depth++;
        return false;
    case OP_ELSE:
        return f->dead_depth == 0;
    case OP_END:
        if (f->dead_depth == 0)
            return true;
        f->dead_depth--;
        return false;
    default:
        return false;
    }
}

static int cg_ins(struct cg_func *f, const struct ins *in)
{
    f->in = in;
    switch (in->op) {
    case OP_UNREACHABLE: cg_trap(f, AWSM_TRAP_UNREACHABLE); mark_dead(f); return 0;
    case OP_NOP: return 0;
    case OP_BLOCK: case OP_LOOP: cg_block(f, in); return 0;
    case OP_IF: cg_if(f, in); return 0;
    case OP_ELSE: cg_else(f); return 0;
    case OP_END: cg_end(f); return 0;
    case OP_BR: cg_br(f, in->u.idx); return 0;
    case OP_BR_IF: cg_br_if(f, in->u.idx); return 0;
    case OP_BR_TABLE: cg_br_table(f, in); return 0;
    case OP_RETURN: emit_return(f); mark_dead(f); return 0;
    case OP_DROP: cg_drop(f); return 0;
    case OP_SELECT: case OP_SELECT_T: cg_select(f); return 0;
    case OP_CALL: case OP_CALL_INDIRECT: return cg_call(f, in);
    case OP_LOCAL_GET: case OP_LOCAL_SET: case OP_LOCAL_TEE:
    case OP_GLOBAL_GET: case OP_GLOBAL_SET:
        return cg_variable(f, in);
    case OP_TABLE_GET: case OP_TABLE_SET: case OP_TABLE_SIZE:
    case OP_TABLE_GROW: case OP_TABLE_FILL: case OP_TABLE_COPY:
    case OP_TABLE_INIT: case OP_ELEM_DROP:
    case OP_REF_NULL: case OP_REF_IS_NULL: case OP_REF_FUNC:
        return cg_table(f, in);
    default:
        if (is_memory_op(in))
            return cg_memory(f, in);
        return op_table[in->op].prefix == 0xfd ? cg_simd(f, in) : cg_numeric(f, in);
    }
}

/* ===== Prologue and driver ============================================== */

static int setup_locals(struct cg_func *f, const struct wm_func *wf)
{
    const struct wm_functype *ft = f->type;
    uint64_t n = (uint64_t)ft->nparams + wf->nlocals;
    if (n > WM_MAX_CG_LOCALS)
        return cg_fail(f->cm, "func %u: too many locals: %llu (limit is %u)",
                       f->index, (unsigned long long)n, WM_MAX_CG_LOCALS);
    f->nlocals = (uint32_t)n;
    f->locals = calloc(n ? n : 1, sizeof *f->locals);
    f->local_types = calloc(n ? n : 1, sizeof *f->local_types);
    if (!f->locals || !f->local_types)
        abort();
    uint32_t k = 0;
    for (uint32_t i = 0; i < ft->nparams; i++, k++) {
        f->local_types[k] = ft->params[i];
        f->locals[k] = LLVMBuildAlloca(f->b, cg_type(f->cm, ft->params[i]), "");
        LLVMBuildStore(f->b, LLVMGetParam(f->fn, i + cg_param_base(ft)), f->locals[k]);
    }
    for (uint32_t g = 0; g < wf->nlocal_groups; g++) {
        for (uint32_t j = 0; j < wf->local_groups[g].count; j++, k++) {
            LLVMTypeRef t = cg_type(f->cm, wf->local_groups[g].type);
            f->local_types[k] = wf->local_groups[g].type;
            f->locals[k] = LLVMBuildAlloca(f->b, t, "");
            LLVMBuildStore(f->b, LLVMConstNull(t), f->locals[k]);
        }
    }
    return 0;
}

/*
 * The stack check, which is also the function-entry safe point: below
 * vmctx->stack_limit, call the runtime. It traps "call stack exhausted"
 * before the native stack runs out, or, when the limit was raised to
 * UINTPTR_MAX to interrupt the guest, handles the interrupt and returns.
 * Loop-free code (recursion) is thus preemptible without a second check.
 */
static void stack_check(struct cg_func *f)
{
    struct cg_module *cm = f->cm;
    LLVMValueRef sp = cg_call_intrinsic(f, "llvm.stacksave", &cm->ptr, 1, NULL, 0);
    LLVMValueRef spi = LLVMBuildPtrToInt(f->b, sp, cm->i64, "");
    LLVMValueRef limit = cg_vmctx_load(f, AWSM_VMCTX_STACK_LIMIT, cm->i64, "limit");
    interrupted_if(f, LLVMBuildICmp(f->b, LLVMIntULT, spi, limit, ""));
}

static void prologue_memory(struct cg_func *f)
{
    struct cg_module *cm = f->cm;
    if (wm_memory_count(cm->m) == 0)
        return;
    f->mem_base = cg_vmctx_load(f, AWSM_VMCTX_MEM_BASE, cm->ptr, "mem_base");
    f->memory = cg_vmctx_load(f, AWSM_VMCTX_MEMORY, cm->ptr, "memory");
    unsigned inv = LLVMGetMDKindIDInContext(cm->ctx, "invariant.load", 14);
    LLVMValueRef empty = LLVMMDNodeInContext(cm->ctx, NULL, 0);
    LLVMSetMetadata(f->mem_base, inv, empty);
    LLVMSetMetadata(f->memory, inv, empty);
}

static int translate_body(struct cg_func *f, const struct wm_func *wf)
{
    const struct wm_module *m = f->cm->m;
    struct rd r = { m->bytes, wf->code_offset, wf->code_offset + wf->code_len,
                    f->index, NULL };
    struct wm_error err;
    struct ins_reader ir;
    struct ins in;
    int rc = 0;
    r.err = &err;
    ins_reader_init(&ir, &r);
    while (f->depth > 0) {
        if (ins_read(&ir, &in)) {
            rc = cg_fail(f->cm, "%s", err.msg);
            break;
        }
        if (live(f, &in) && cg_ins(f, &in)) {
            rc = -1;
            break;
        }
    }
    ins_reader_deinit(&ir);
    return rc;
}

int cg_function(struct cg_module *cm, uint32_t i)
{
    const struct wm_module *m = cm->m;
    const struct wm_func *wf = &m->funcs[i];
    struct cg_func f = { .cm = cm, .fn = cm->funcs[i],
                         .index = m->nfunc_imports + i,
                         .type = &m->types[wf->type] };
    int rc = -1;

    f.b = LLVMCreateBuilderInContext(cm->ctx);
    f.entry = LLVMAppendBasicBlockInContext(cm->ctx, f.fn, "entry");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cm->ctx, f.fn, "body");
    LLVMPositionBuilderAtEnd(f.b, body);
    f.vmctx = LLVMGetParam(f.fn, 0);
    stack_check(&f);
    prologue_memory(&f);
    LLVMBasicBlockRef cur = LLVMGetInsertBlock(f.b);
    LLVMPositionBuilderAtEnd(f.b, f.entry);
    if (setup_locals(&f, wf))
        goto out;
    LLVMPositionBuilderAtEnd(f.b, cur);

    /* The body is a block whose end returns. */
    struct cg_frame *fr = push_frame(&f, OP_BLOCK);
    fr->nresults = f.type->nresults;
    fr->results = f.type->results;
    fr->result_slots = new_slots(&f, fr->results, fr->nresults);
    fr->end_bb = fr->label_bb = new_bb(&f, "return");
    if (translate_body(&f, wf))
        goto out;
    if (LLVMGetBasicBlockTerminator(LLVMGetInsertBlock(f.b)) == NULL)
        emit_return(&f);
    /* The entry block holds the allocas; it falls into the body. */
    LLVMPositionBuilderAtEnd(f.b, f.entry);
    LLVMBuildBr(f.b, body);
    rc = 0;
out:
    while (f.depth > 0)
        free_frame(&f.ctl[--f.depth]);
    free(f.ctl);
    free(f.stack);
    free(f.locals);
    free(f.local_types);
    LLVMDisposeBuilder(f.b);
    return rc;
}

/* ===== Loop polls, after optimisation =================================== */

/*
 * A loop must poll unless every trip around it passes a safe point of its
 * own: a direct call of a wasm function (its entry check sees the raised
 * limit) or such a check inlined. So: take the control-flow graph without
 * the edges leaving blocks that hold one; every cycle left has an edge
 * that a depth-first search finds going back to a block still on its
 * path, and polling at the targets of those edges (the loop headers, for
 * the reducible graphs structured wasm gives) stops every loop, whatever
 * shape LLVM left it in (rotated, unrolled, vectorised: the vector body
 * and the scalar rest each poll). Loops that call (recursion LLVM turned
 * into a loop, as in fib) cost nothing more.
 */

enum { DFS_UNSEEN, DFS_ON_PATH, DFS_DONE };

struct bb_key {
    LLVMBasicBlockRef bb;
    uint32_t index;
};

/* What tells a safe block: the wasm functions, sorted by address, and
 * llvm.stacksave, which only entry checks use. */
struct safe_calls {
    LLVMValueRef *wasm;
    uint32_t nwasm;
    unsigned stacksave;
};

struct fn_blocks {
    LLVMBasicBlockRef *bbs;         /* in function order; bbs[0] the entry */
    struct bb_key *keys;            /* sorted by address, for look-up */
    bool *safe;                     /* the block always passes a safe point */
    bool *header;                   /* a poll goes in front of the block */
    uint32_t n;
};

static int cmp_key(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct bb_key *)a)->bb;
    uintptr_t y = (uintptr_t)((const struct bb_key *)b)->bb;
    return (x > y) - (x < y);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return (x > y) - (x < y);
}

static uint32_t block_index(const struct fn_blocks *fb, LLVMBasicBlockRef bb)
{
    struct bb_key k = { bb, 0 };
    const struct bb_key *hit = bsearch(&k, fb->keys, fb->n, sizeof k, cmp_key);
    return hit->index;      /* every successor is a block of the function */
}

static bool is_wasm_function(const struct safe_calls *sc, LLVMValueRef fn)
{
    return bsearch(&fn, sc->wasm, sc->nwasm, sizeof fn, cmp_ptr) != NULL;
}

/* Does every run of bb call a wasm function or an inlined entry check? */
static bool block_is_safe(LLVMBasicBlockRef bb, const struct safe_calls *sc)
{
    for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in != NULL;
         in = LLVMGetNextInstruction(in)) {
        if (!LLVMIsACallInst(in))
            continue;
        LLVMValueRef callee = LLVMGetCalledValue(in);
        if (LLVMIsAFunction(callee) &&
            (LLVMGetIntrinsicID(callee) == sc->stacksave ||
             is_wasm_function(sc, callee)))
            return true;
    }
    return false;
}

static void blocks_init(struct fn_blocks *fb, LLVMValueRef fn,
                        const struct safe_calls *sc)
{
    uint32_t n = fb->n = LLVMCountBasicBlocks(fn);
    fb->bbs = calloc(n ? n : 1, sizeof *fb->bbs);
    fb->keys = calloc(n ? n : 1, sizeof *fb->keys);
    fb->safe = calloc(n ? n : 1, sizeof *fb->safe);
    fb->header = calloc(n ? n : 1, sizeof *fb->header);
    if (!fb->bbs || !fb->keys || !fb->safe || !fb->header)
        abort();
    LLVMGetBasicBlocks(fn, fb->bbs);
    for (uint32_t i = 0; i < n; i++) {
        fb->keys[i] = (struct bb_key){ fb->bbs[i], i };
        fb->safe[i] = block_is_safe(fb->bbs[i], sc);
    }
    qsort(fb->keys, n, sizeof *fb->keys, cmp_key);
}

static void blocks_free(struct fn_blocks *fb)
{
    free(fb->bbs);
    free(fb->keys);
    free(fb->safe);
    free(fb->header);
}

/* The successors that count: none for a safe block. */
static unsigned nsuccessors(const struct fn_blocks *fb, uint32_t b)
{
    return fb->safe[b] ? 0 : LLVMGetNumSuccessors(LLVMGetBasicBlockTerminator(fb->bbs[b]));
}

/* Depth-first search from root, iterative: path[] holds the blocks on the
 * path, next[] the successor each goes on with. Marks back-edge targets. */
static uint32_t dfs_mark(struct fn_blocks *fb, uint32_t root, uint8_t *state,
                         uint32_t *path, unsigned *next)
{
    uint32_t depth = 0, nheaders = 0;
    state[root] = DFS_ON_PATH;
    path[depth] = root, next[depth++] = 0;
    while (depth > 0) {
        uint32_t b = path[depth - 1];
        if (next[depth - 1] == nsuccessors(fb, b)) {
            state[b] = DFS_DONE;
            depth--;
            continue;
        }
        LLVMValueRef term = LLVMGetBasicBlockTerminator(fb->bbs[b]);
        uint32_t s = block_index(fb, LLVMGetSuccessor(term, next[depth - 1]++));
        if (state[s] == DFS_ON_PATH && !fb->header[s]) {
            fb->header[s] = true;
            nheaders++;
        } else if (state[s] == DFS_UNSEEN) {
            state[s] = DFS_ON_PATH;
            path[depth] = s, next[depth++] = 0;
        }
    }
    return nheaders;
}

/* Mark the blocks that need a poll; returns how many. Every block is a
 * root in turn: without the safe blocks' edges, some cycles may hang off
 * blocks the entry no longer reaches. */
static uint32_t find_loop_headers(struct fn_blocks *fb)
{
    uint8_t *state = calloc(fb->n, 1);
    uint32_t *path = malloc(fb->n * sizeof *path);
    unsigned *next = malloc(fb->n * sizeof *next);
    uint32_t nheaders = 0;
    if (!state || !path || !next)
        abort();
    for (uint32_t root = 0; root < fb->n; root++)
        if (state[root] == DFS_UNSEEN)
            nheaders += dfs_mark(fb, root, state, path, next);
    free(state);
    free(path);
    free(next);
    return nheaders;
}

/* Loop polls read the flag once every this many trips through loop
 * headers, counting down a per-function counter that lives in a register:
 * a load of the flag on every trip cost twice as much in a streaming loop
 * (matmul: +23% against +10%; in native C on the EPYC we measure on, +37%
 * against nothing). The latency stays small: between two trips through a
 * header runs straight-line code or a call (which polls on entry), so
 * this many trips take microseconds. */
#define POLL_EVERY 256u

/* Branch weights: the branch to `unlikely` is taken once in `odds`. */
static LLVMValueRef cond_br_unlikely(struct cg_module *cm, LLVMBuilderRef b,
                                     LLVMValueRef cond, LLVMBasicBlockRef unlikely,
                                     LLVMBasicBlockRef likely, unsigned odds)
{
    LLVMValueRef br = LLVMBuildCondBr(b, cond, unlikely, likely);
    LLVMMetadataRef md[3] = {
        LLVMMDStringInContext2(cm->ctx, "branch_weights", 14),
        LLVMValueAsMetadata(LLVMConstInt(cm->i32, 1, false)),
        LLVMValueAsMetadata(LLVMConstInt(cm->i32, odds - 1, false)),
    };
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(cm->ctx, "prof", 4),
                    LLVMMetadataAsValue(cm->ctx, LLVMMDNodeInContext2(cm->ctx, md, 3)));
    return br;
}

/* The function's trip counter: an alloca in the entry block, set to
 * POLL_EVERY there; mem2reg (cg_poll_loops) makes it a register. */
static LLVMValueRef new_counter(struct cg_module *cm, LLVMBuilderRef b,
                                LLVMValueRef fn)
{
    LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(fn);
    LLVMPositionBuilderBefore(b, LLVMGetFirstInstruction(entry));
    LLVMValueRef cnt = LLVMBuildAlloca(b, cm->i32, "poll_count");
    LLVMBuildStore(b, LLVMConstInt(cm->i32, POLL_EVERY, false), cnt);
    return cnt;
}

/* Once the count runs out: reset it, load the flag (volatile: it changes
 * under the code's feet), and call rt->interrupted when it is set. */
static void build_flag_check(struct cg_module *cm, LLVMBuilderRef b,
                             LLVMValueRef fn, LLVMValueRef cnt,
                             LLVMBasicBlockRef h)
{
    LLVMValueRef vmctx = LLVMGetParam(fn, 0);
    LLVMBuildStore(b, LLVMConstInt(cm->i32, POLL_EVERY, false), cnt);
    LLVMValueRef off = LLVMConstInt(cm->i64, AWSM_VMCTX_INTERRUPT, false);
    LLVMValueRef flag = LLVMBuildLoad2(b, cm->i32,
        LLVMBuildGEP2(b, cm->i8, vmctx, &off, 1, ""), "interrupt");
    LLVMSetVolatile(flag, true);
    cg_tag_runtime(cm, flag);
    LLVMValueRef set = LLVMBuildICmp(b, LLVMIntNE, flag,
                                     LLVMConstInt(cm->i32, 0, false), "");
    LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(cm->ctx, fn,
                                                           "interrupted");
    cond_br_unlikely(cm, b, set, slow, h, 2000);
    LLVMPositionBuilderAtEnd(b, slow);
    call_interrupted(cm, b, vmctx);
    LLVMBuildBr(b, h);
}

/* The poll block in front of header h: h's phis move into it (their
 * incoming edges now arrive there), then the count goes down by one; when
 * it reaches zero, the flag check. */
static void build_poll(struct cg_module *cm, LLVMBuilderRef b, LLVMValueRef fn,
                       LLVMValueRef cnt, LLVMBasicBlockRef poll,
                       LLVMBasicBlockRef h)
{
    LLVMValueRef phi;
    LLVMPositionBuilderAtEnd(b, poll);
    while ((phi = LLVMGetFirstInstruction(h)) != NULL && LLVMIsAPHINode(phi)) {
        LLVMInstructionRemoveFromParent(phi);
        LLVMInsertIntoBuilder(b, phi);
    }
    LLVMValueRef left = LLVMBuildSub(b, LLVMBuildLoad2(b, cm->i32, cnt, ""),
                                     LLVMConstInt(cm->i32, 1, false), "");
    LLVMBuildStore(b, left, cnt);
    LLVMBasicBlockRef check = LLVMAppendBasicBlockInContext(cm->ctx, fn,
                                                            "poll_flag");
    cond_br_unlikely(cm, b, LLVMBuildICmp(b, LLVMIntEQ, left,
                                          LLVMConstInt(cm->i32, 0, false), ""),
                     check, h, POLL_EVERY);
    LLVMPositionBuilderAtEnd(b, check);
    build_flag_check(cm, b, fn, cnt, h);
}

/* Every edge into a header now goes through its poll block. */
static void insert_polls(struct cg_module *cm, LLVMBuilderRef b, LLVMValueRef fn,
                         const struct fn_blocks *fb)
{
    LLVMBasicBlockRef *poll = calloc(fb->n, sizeof *poll);
    LLVMValueRef cnt = new_counter(cm, b, fn);
    if (!poll)
        abort();
    for (uint32_t i = 0; i < fb->n; i++)
        if (fb->header[i])
            poll[i] = LLVMInsertBasicBlockInContext(cm->ctx, fb->bbs[i], "poll");
    for (uint32_t i = 0; i < fb->n; i++) {
        LLVMValueRef term = LLVMGetBasicBlockTerminator(fb->bbs[i]);
        for (unsigned k = 0; k < LLVMGetNumSuccessors(term); k++) {
            uint32_t s = block_index(fb, LLVMGetSuccessor(term, k));
            if (fb->header[s])
                LLVMSetSuccessor(term, k, poll[s]);
        }
    }
    for (uint32_t i = 0; i < fb->n; i++)
        if (fb->header[i])
            build_poll(cm, b, fn, cnt, poll[i], fb->bbs[i]);
    free(poll);
}

/* Poll at the loop headers of fn. Only wasm functions (vmctx first) may
 * have loops: the trampolines have none, and the standard pipelines make
 * no new functions of address-taken ones. That is checked rather than
 * trusted: a loop nobody polls would be unstoppable. */
static int poll_function(struct cg_module *cm, LLVMBuilderRef b, LLVMValueRef fn,
                         const struct safe_calls *sc)
{
    struct fn_blocks fb;
    int rc = 0;
    blocks_init(&fb, fn, sc);
    if (fb.n > 0 && find_loop_headers(&fb) > 0) {
        if (is_wasm_function(sc, fn)) {
            insert_polls(cm, b, fn, &fb);
        } else {
            size_t len;
            rc = cg_fail(cm, "internal compiler error: a loop in %s, not a wasm "
                         "function, after optimisation", LLVMGetValueName2(fn, &len));
        }
    }
    blocks_free(&fb);
    return rc;
}

int cg_poll_loops(struct cg_module *cm)
{
    uint32_t n = cm->m->nfuncs;
    struct safe_calls sc = { malloc((n ? n : 1) * sizeof *sc.wasm), n,
                             LLVMLookupIntrinsicID("llvm.stacksave", 14) };
    if (!sc.wasm)
        abort();
    memcpy(sc.wasm, cm->funcs, n * sizeof *sc.wasm);
    qsort(sc.wasm, n, sizeof *sc.wasm, cmp_ptr);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(cm->ctx);
    int rc = 0;
    for (LLVMValueRef fn = LLVMGetFirstFunction(cm->mod); fn != NULL && rc == 0;
         fn = LLVMGetNextFunction(fn))
        if (!LLVMIsDeclaration(fn))
            rc = poll_function(cm, b, fn, &sc);
    LLVMDisposeBuilder(b);
    free(sc.wasm);
    /* The trip counters, from allocas to registers. */
    return rc != 0 ? rc : cg_run_passes(cm, "function(mem2reg)");
}
