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

/* Room for `need` elements: a copy twice as big, in the function's arena
 * (the old one stays there until the function is done). */
static void *grow_array(struct cg_func *f, void *p, uint32_t *cap, uint32_t need,
                        size_t elem)
{
    if (need <= *cap)
        return p;
    uint32_t n = *cap ? *cap * 2 : 32;
    while (n < need)
        n *= 2;
    void *q = cg_alloc(f->cm, n, elem);
    if (*cap)
        memcpy(q, p, (size_t)*cap * elem);
    *cap = n;
    return q;
}

void cg_push(struct cg_func *f, LLVMValueRef v)
{
    f->stack = grow_array(f, f->stack, &f->scap, f->sp + 1, sizeof *f->stack);
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
    LLVMBuilderRef ab = f->cm->alloca_b;
    LLVMPositionBuilderAtEnd(ab, f->entry);
    LLVMValueRef slot = LLVMBuildAlloca(ab, t, "");
    return slot;
}

static LLVMValueRef *new_slots(struct cg_func *f, const wm_valtype *types,
                               uint32_t n)
{
    LLVMValueRef *slots = cg_alloc(f->cm, n, sizeof *slots);
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

LLVMValueRef cg_load_ptr_at(struct cg_func *f, LLVMValueRef base, LLVMValueRef index)
{
    LLVMValueRef p = LLVMBuildGEP2(f->b, f->cm->ptr, base, &index, 1, "");
    return cg_tag_runtime(f->cm, LLVMBuildLoad2(f->b, f->cm->ptr, p, ""));
}

LLVMValueRef cg_invariant(struct cg_func *f, LLVMValueRef load)
{
    unsigned kind = LLVMGetMDKindIDInContext(f->cm->ctx, "invariant.load", 14);
    LLVMSetMetadata(load, kind, LLVMMDNodeInContext(f->cm->ctx, NULL, 0));
    return load;
}

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
    LLVMValueRef call = LLVMBuildCall2(f->b, fty, fn, all, nargs + 1, "");
    if (field_offset != offsetof(struct awsm_rt_api, trap))
        cg_note_call(f, call);      /* a trap needs no more than the slack */
    return call;
}

static void add_call_attr(struct cg_module *cm, LLVMValueRef call,
                          const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddCallSiteAttribute(call, LLVMAttributeFunctionIndex,
                             LLVMCreateEnumAttribute(cm->ctx, kind, 0));
}

LLVMValueRef cg_expect_false(struct cg_func *f, LLVMValueRef cond)
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
    LLVMBuildCondBr(f->b, cg_expect_false(f, cond), trap_block(f, kind), cont);
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
 * Code without loops gets its own now, in the stack check (place_stack_check).
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

LLVMValueRef cg_call_interrupted(struct cg_module *cm, LLVMBuilderRef b,
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

/* The stack check's slow path: when cond holds, call the runtime, then go
 * on at cont. */
static void interrupted_if(struct cg_func *f, LLVMValueRef cond, LLVMBasicBlockRef cont)
{
    LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(f->cm->ctx, f->fn,
                                                           "interrupted");
    LLVMBuildCondBr(f->b, cg_expect_false(f, cond), slow, cont);
    LLVMPositionBuilderAtEnd(f->b, slow);
    cg_call_interrupted(f->cm, f->b, f->vmctx);
    LLVMBuildBr(f->b, cont);
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

static void block_signature(struct cg_func *f, const struct wm_ins *in,
                            struct cg_frame *fr)
{
    struct wm_functype ft;
    (void)wm_block_type(f->cm->m, in, &ft);         /* validated */
    fr->nparams = ft.nparams;
    fr->params = ft.params;
    fr->nresults = ft.nresults;
    fr->results = ft.results;
}

static struct cg_frame *push_frame(struct cg_func *f, uint16_t op)
{
    f->ctl = grow_array(f, f->ctl, &f->ccap, f->depth + 1, sizeof *f->ctl);
    struct cg_frame *fr = &f->ctl[f->depth++];
    memset(fr, 0, sizeof *fr);
    fr->op = op;
    return fr;
}

LLVMBasicBlockRef cg_new_bb(struct cg_func *f, const char *name)
{
    return LLVMAppendBasicBlockInContext(f->cm->ctx, f->fn, name);
}

static void cg_block(struct cg_func *f, const struct wm_ins *in)
{
    struct cg_frame *fr = push_frame(f, in->op);
    block_signature(f, in, fr);
    fr->height = f->sp - fr->nparams;
    fr->result_slots = new_slots(f, fr->results, fr->nresults);
    fr->end_bb = cg_new_bb(f, in->op == WM_OP_LOOP ? "loop_end"
                            : in->op == WM_OP_TRY ? "try_end" : "block_end");
    fr->label_bb = fr->end_bb;
    if (in->op == WM_OP_LOOP) {
        fr->param_slots = new_slots(f, fr->params, fr->nparams);
        store_top(f, fr->param_slots, fr->nparams);
        fr->label_bb = cg_new_bb(f, "loop");
        LLVMBuildBr(f->b, fr->label_bb);
        LLVMPositionBuilderAtEnd(f->b, fr->label_bb);
        f->sp = fr->height;
        load_push(f, fr->param_slots, fr->params, fr->nparams);
    }
}

static void cg_if(struct cg_func *f, const struct wm_ins *in)
{
    LLVMValueRef cond = cg_pop(f);
    struct cg_frame *fr = push_frame(f, WM_OP_IF);
    block_signature(f, in, fr);
    fr->height = f->sp - fr->nparams;
    fr->result_slots = new_slots(f, fr->results, fr->nresults);
    fr->param_slots = new_slots(f, fr->params, fr->nparams);
    store_top(f, fr->param_slots, fr->nparams);
    fr->end_bb = cg_new_bb(f, "if_end");
    fr->label_bb = fr->end_bb;
    fr->else_bb = cg_new_bb(f, "else");
    LLVMBasicBlockRef then_bb = cg_new_bb(f, "then");
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
    cg_exn_leave(f, (uint32_t)(fr - f->ctl));   /* a catch block's end */
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
    fr->op = WM_OP_ELSE;
    fr->unreachable = false;
}

/* A catch or catch_all clause: the part before it ends, the clause's
 * block starts (entered from the try's dispatch only). */
static void cg_catch(struct cg_func *f, const struct wm_ins *in)
{
    fall_to_end(f, top(f));
    cg_exn_catch(f, in);
}

/* end, or a try's delegate to frame `delegate_to` (-1: end). */
static void cg_end(struct cg_func *f, int64_t delegate_to)
{
    struct cg_frame *fr = top(f);
    fall_to_end(f, fr);
    if (fr->op == WM_OP_TRY || fr->op == WM_OP_CATCH || fr->op == WM_OP_CATCH_ALL)
        cg_exn_end_try(f, fr, delegate_to);
    if (fr->op == WM_OP_IF) {
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
}

/* Branch to label l: store the values its target expects, then jump. */
static LLVMBasicBlockRef branch_target(struct cg_func *f, uint32_t l)
{
    struct cg_frame *fr = &f->ctl[f->depth - 1 - l];
    if (fr->op == WM_OP_LOOP) {
        store_top(f, fr->param_slots, fr->nparams);
        return fr->label_bb;
    }
    store_top(f, fr->result_slots, fr->nresults);
    fr->end_reached = true;
    return fr->end_bb;
}

/* Where a branch to label l goes: through a block that releases the
 * catch blocks it leaves, if any (exception handling). */
static LLVMBasicBlockRef branch_edge(struct cg_func *f, uint32_t l,
                                     LLVMBasicBlockRef target)
{
    uint32_t from = f->depth - 1 - l;
    if (cg_exn_outer_catch(f, from) < 0)
        return target;
    LLVMBasicBlockRef saved = LLVMGetInsertBlock(f->b);
    LLVMBasicBlockRef edge = cg_new_bb(f, "leave_catch");
    LLVMPositionBuilderAtEnd(f->b, edge);
    cg_exn_leave(f, from);
    LLVMBuildBr(f->b, target);
    LLVMPositionBuilderAtEnd(f->b, saved);
    return edge;
}

static void cg_br(struct cg_func *f, uint32_t l)
{
    LLVMBuildBr(f->b, branch_edge(f, l, branch_target(f, l)));
    mark_dead(f);
}

static void cg_br_if(struct cg_func *f, uint32_t l)
{
    LLVMValueRef cond = cg_pop(f);
    LLVMValueRef c = LLVMBuildICmp(f->b, LLVMIntNE, cond, cg_const_i32(f, 0), "");
    LLVMBasicBlockRef cont = cg_new_bb(f, "br_if_cont");
    LLVMBuildCondBr(f->b, c, branch_edge(f, l, branch_target(f, l)), cont);
    LLVMPositionBuilderAtEnd(f->b, cont);
}

static void cg_br_table(struct cg_func *f, const struct wm_ins *in)
{
    LLVMValueRef idx = cg_pop(f);
    uint32_t n = in->u.br_table.count;
    LLVMBasicBlockRef deflt = branch_edge(f, in->u.br_table.deflt,
                                          branch_target(f, in->u.br_table.deflt));
    LLVMValueRef sw = LLVMBuildSwitch(f->b, idx, deflt, n);
    /* Storing twice into one target's slots is harmless: same values. */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = in->u.br_table.labels[i];
        LLVMBasicBlockRef bb;
        /* Stores must precede the switch: build them before it. */
        LLVMPositionBuilderBefore(f->b, sw);
        bb = branch_edge(f, l, branch_target(f, l));
        LLVMAddCase(sw, cg_const_i32(f, i), bb);
    }
    LLVMPositionBuilderAtEnd(f->b, LLVMGetInstructionParent(sw));
    mark_dead(f);
}

static void emit_return(struct cg_func *f)
{
    const struct wm_functype *ft = f->type;
    cg_exn_leave(f, 0);
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

static void cg_select(struct cg_func *f)
{
    LLVMValueRef c = cg_pop(f);
    LLVMValueRef b = cg_pop(f);
    LLVMValueRef a = cg_pop(f);
    LLVMValueRef t = LLVMBuildICmp(f->b, LLVMIntNE, c, cg_const_i32(f, 0), "");
    cg_push(f, LLVMBuildSelect(f->b, t, a, b, ""));
}

/* ===== Dispatch ========================================================= */

static bool is_memory_op(const struct wm_ins *in)
{
    switch ((enum wm_op_imm)wm_op_table[in->op].imm) {
    case WM_IMM_MEMARG: case WM_IMM_MEMARG_LANE: case WM_IMM_MEMIDX:
    case WM_IMM_MEMORY_INIT: case WM_IMM_DATA: case WM_IMM_MEMORY_COPY:
    case WM_IMM_FENCE:
        return true;
    default:
        return false;
    }
}

/* Skip dead code, tracking nesting; true when `in` must still be handled. */
static bool live(struct cg_func *f, const struct wm_ins *in)
{
    if (!top(f)->unreachable)
        return true;
    switch (in->op) {
    case WM_OP_BLOCK: case WM_OP_LOOP: case WM_OP_IF: case WM_OP_TRY:
        f->dead_depth++;
        return false;
    case WM_OP_ELSE: case WM_OP_CATCH: case WM_OP_CATCH_ALL:
        return f->dead_depth == 0;
    case WM_OP_END: case WM_OP_DELEGATE:
        if (f->dead_depth == 0)
            return true;
        f->dead_depth--;
        return false;
    default:
        return false;
    }
}

static int cg_ins(struct cg_func *f, const struct wm_ins *in)
{
    f->in = in;
    switch (in->op) {
    case WM_OP_UNREACHABLE: cg_trap(f, AWSM_TRAP_UNREACHABLE); mark_dead(f); return 0;
    case WM_OP_NOP: return 0;
    case WM_OP_BLOCK: case WM_OP_LOOP: cg_block(f, in); return 0;
    case WM_OP_IF: cg_if(f, in); return 0;
    case WM_OP_ELSE: cg_else(f); return 0;
    case WM_OP_END: cg_end(f, -1); return 0;
    case WM_OP_TRY:
        if (!f->cm->exceptions)
            return cg_exn(f, in);       /* the error */
        cg_block(f, in);
        return 0;
    case WM_OP_CATCH: case WM_OP_CATCH_ALL: cg_catch(f, in); return 0;
    case WM_OP_DELEGATE:                /* to the frame outside label l */
        cg_end(f, (int64_t)f->depth - 2 - in->u.idx);
        return 0;
    case WM_OP_THROW: case WM_OP_RETHROW:
        if (cg_exn(f, in))
            return -1;
        mark_dead(f);
        return 0;
    case WM_OP_BR: cg_br(f, in->u.idx); return 0;
    case WM_OP_BR_IF: cg_br_if(f, in->u.idx); return 0;
    case WM_OP_BR_TABLE: cg_br_table(f, in); return 0;
    case WM_OP_RETURN: emit_return(f); mark_dead(f); return 0;
    case WM_OP_DROP: cg_pop(f); return 0;
    case WM_OP_SELECT: case WM_OP_SELECT_T: cg_select(f); return 0;
    case WM_OP_CALL: case WM_OP_CALL_INDIRECT: return cg_call(f, in);
    case WM_OP_RETURN_CALL: case WM_OP_RETURN_CALL_INDIRECT:
        if (f->cm->callconv != CG_TAIL_CALLCONV)
            return cg_fail(f->cm, "%s needs cg_options.features with "
                           "WM_FEATURE_TAIL_CALL", wm_op_table[in->op].name);
        cg_exn_leave(f, 0);
        cg_call(f, in);
        mark_dead(f);
        return 0;
    case WM_OP_LOCAL_GET: case WM_OP_LOCAL_SET: case WM_OP_LOCAL_TEE:
    case WM_OP_GLOBAL_GET: case WM_OP_GLOBAL_SET:
        return cg_variable(f, in);
    case WM_OP_TABLE_GET: case WM_OP_TABLE_SET: case WM_OP_TABLE_SIZE:
    case WM_OP_TABLE_GROW: case WM_OP_TABLE_FILL: case WM_OP_TABLE_COPY:
    case WM_OP_TABLE_INIT: case WM_OP_ELEM_DROP:
    case WM_OP_REF_NULL: case WM_OP_REF_IS_NULL: case WM_OP_REF_FUNC:
        return cg_table(f, in);
    default:
        if (is_memory_op(in))
            return cg_memory(f, in);
        return wm_op_table[in->op].prefix == 0xfd ? cg_simd(f, in) : cg_numeric(f, in);
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
    f->locals = cg_alloc(f->cm, n, sizeof *f->locals);
    f->local_types = cg_alloc(f->cm, n, sizeof *f->local_types);
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
 * The stack check, which is also the safe point of code without loops:
 * below vmctx->stack_limit, call the runtime. It traps "call stack
 * exhausted" before the native stack runs out, or, when the limit was
 * raised to UINTPTR_MAX to interrupt the guest, handles the interrupt and
 * returns. Recursion is thus preemptible without a second check.
 *
 * It bounds the stack by coming before every call that can go deeper
 * (cg_note_call), not before the function's first instruction: it goes in
 * the nearest block that dominates them all and lies on no cycle, before
 * the first such call there. A path that calls nothing then runs without
 * it, in a frame of less than a page (larger frames are probed before
 * they are allocated: cg_module.c) that the slack below the limit holds;
 * and the prologue's saved registers move off that path too (LLVM's
 * shrink-wrapping), which is most of what a leaf call costs (fib: every
 * call with n < 2 pushed and popped six registers). A function that makes
 * no call has no check. When the check runs on every call of the function
 * (its first block), the function says so (CG_ENTRY_CHECK_ATTR), and the
 * loop polls count a call of it as a safe point (cg_poll.c).
 */
void cg_note_call(struct cg_func *f, LLVMValueRef call)
{
    if (f->ncalls == f->callcap) {
        uint32_t cap = f->callcap ? 2 * f->callcap : 16;
        LLVMValueRef *calls = cg_alloc(f->cm, cap, sizeof *calls);
        if (f->ncalls > 0)
            memcpy(calls, f->calls, f->ncalls * sizeof *calls);
        f->calls = calls;
        f->callcap = cap;
    }
    f->calls[f->ncalls++] = call;
}

static int cmp_value(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(const LLVMValueRef *)a;
    uintptr_t y = (uintptr_t)*(const LLVMValueRef *)b;
    return (x > y) - (x < y);
}

/* The block of the check, by index: the calls' nearest common dominator,
 * or the nearest one above it off every cycle; CG_CFG_NONE when no call
 * is reached. */
static uint32_t check_block(struct cg_func *f, struct cg_cfg *g)
{
    uint32_t x = CG_CFG_NONE;
    cg_cfg_init(f->cm, g, f->fn);
    cg_cfg_dominators(f->cm, g);
    for (uint32_t i = 0; i < f->ncalls; i++) {
        uint32_t b = cg_cfg_index(g, LLVMGetInstructionParent(f->calls[i]));
        if (g->idom[b] != CG_CFG_NONE)
            x = x == CG_CFG_NONE ? b : cg_cfg_common_dominator(g, x, b);
    }
    if (x == CG_CFG_NONE)
        return x;
    cg_cfg_cycles(f->cm, g);
    while (x != 0 && g->cyclic[x])
        x = g->idom[x];
    return x;
}

/* Move `at` and what follows it in its block into a new block after it. */
static LLVMBasicBlockRef split_before(struct cg_func *f, LLVMValueRef at)
{
    LLVMBasicBlockRef bb = LLVMGetInstructionParent(at);
    LLVMBasicBlockRef rest = LLVMAppendBasicBlockInContext(f->cm->ctx, f->fn, "checked");
    LLVMMoveBasicBlockAfter(rest, bb);
    LLVMPositionBuilderAtEnd(f->b, rest);
    for (LLVMValueRef in = at, next; in != NULL; in = next) {
        next = LLVMGetNextInstruction(in);
        LLVMInstructionRemoveFromParent(in);
        LLVMInsertIntoBuilder(f->b, in);
    }
    /* The successors' phis would name bb: translation makes none. */
    return rest;
}

static void place_stack_check(struct cg_func *f, LLVMBasicBlockRef body)
{
    struct cg_module *cm = f->cm;
    struct cg_cfg g;
    if (f->ncalls == 0)
        return;
    uint32_t x = check_block(f, &g);
    if (x == CG_CFG_NONE)
        return;
    LLVMBasicBlockRef bb = x == 0 ? body : g.bbs[x];
    qsort(f->calls, f->ncalls, sizeof *f->calls, cmp_value);
    LLVMValueRef at = LLVMGetBasicBlockTerminator(bb);
    for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in != at;
         in = LLVMGetNextInstruction(in))
        if (bsearch(&in, f->calls, f->ncalls, sizeof in, cmp_value) != NULL) {
            at = in;
            break;
        }
    LLVMBasicBlockRef rest = split_before(f, at);
    LLVMPositionBuilderAtEnd(f->b, bb);
    LLVMValueRef sp = cg_call_intrinsic(f, "llvm.stacksave", &cm->ptr, 1, NULL, 0);
    LLVMValueRef spi = LLVMBuildPtrToInt(f->b, sp, cm->i64, "");
    LLVMValueRef limit = cg_vmctx_load(f, AWSM_VMCTX_STACK_LIMIT, cm->i64, "limit");
    interrupted_if(f, LLVMBuildICmp(f->b, LLVMIntULT, spi, limit, ""), rest);
    if (bb == body)
        LLVMAddTargetDependentFunctionAttr(f->fn, CG_ENTRY_CHECK_ATTR, "");
}

static void prologue_memory(struct cg_func *f)
{
    struct cg_module *cm = f->cm;
    if (wm_memory_count(cm->m) == 0)
        return;
    f->mem_base = cg_invariant(f, cg_vmctx_load(f, AWSM_VMCTX_MEM_BASE, cm->ptr,
                                                "mem_base"));
    f->memory = cg_invariant(f, cg_vmctx_load(f, AWSM_VMCTX_MEMORY, cm->ptr, "memory"));
    /* Other memories (multi-memory): vmctx->memories[i] and its base, which
     * never moves either; what a function does not use, LLVM removes. */
    uint32_t n = wm_memory_count(cm->m);
    f->mem_bases = cg_alloc(cm, n, sizeof *f->mem_bases);
    f->memories = cg_alloc(cm, n, sizeof *f->memories);
    f->mem_bases[0] = f->mem_base;
    f->memories[0] = f->memory;
    LLVMValueRef all = n > 1 ? cg_invariant(f, cg_vmctx_load(f, AWSM_VMCTX_MEMORIES,
                                                             cm->ptr, "memories"))
                             : NULL;
    for (uint32_t i = 1; i < n; i++) {
        f->memories[i] = cg_invariant(f, cg_load_ptr_at(f, all, cg_const_i64(f, i)));
        f->mem_bases[i] = cg_invariant(f, cg_load_ptr_at(f, f->memories[i],
                                                         cg_const_i64(f, 0)));
    }
}

static int translate_body(struct cg_func *f)
{
    struct wm_error err;
    struct wm_ins_reader *ir = &f->cm->reader;     /* cleanup() ends it too */
    struct wm_ins in;
    int rc = 0;
    wm_ins_reader_init_func(ir, f->cm->m, f->index, &err);
    f->cm->reading = true;
    while (f->depth > 0) {
        if (wm_ins_read(ir, &in)) {
            rc = cg_fail(f->cm, "%s", err.msg);
            break;
        }
        if (live(f, &in) && cg_ins(f, &in)) {
            rc = -1;
            break;
        }
    }
    wm_ins_reader_deinit(ir);
    f->cm->reading = false;
    return rc;
}

int cg_function(struct cg_module *cm, uint32_t i, LLVMValueRef fn,
                LLVMValueRef self_callee)
{
    const struct wm_module *m = cm->m;
    const struct wm_func *wf = &m->funcs[i];
    struct cg_func f = { .cm = cm, .fn = fn, .self_callee = self_callee,
                         .index = m->nfunc_imports + i,
                         .type = &m->types[wf->type] };
    int rc = -1;

    cg_func_arena_begin(cm);        /* everything below lives in it */
    f.b = cm->b;
    f.entry = LLVMAppendBasicBlockInContext(cm->ctx, f.fn, "entry");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cm->ctx, f.fn, "body");
    LLVMPositionBuilderAtEnd(f.b, body);
    f.vmctx = LLVMGetParam(f.fn, 0);
    prologue_memory(&f);
    LLVMBasicBlockRef cur = LLVMGetInsertBlock(f.b);
    LLVMPositionBuilderAtEnd(f.b, f.entry);
    if (setup_locals(&f, wf))
        goto out;
    LLVMPositionBuilderAtEnd(f.b, cur);

    /* The body is a block whose end returns. */
    struct cg_frame *fr = push_frame(&f, WM_OP_BLOCK);
    fr->nresults = f.type->nresults;
    fr->results = f.type->results;
    fr->result_slots = new_slots(&f, fr->results, fr->nresults);
    fr->end_bb = fr->label_bb = cg_new_bb(&f, "return");
    if (translate_body(&f))
        goto out;
    if (LLVMGetBasicBlockTerminator(LLVMGetInsertBlock(f.b)) == NULL)
        emit_return(&f);
    /* The entry block holds the allocas; it falls into the body. */
    LLVMPositionBuilderAtEnd(f.b, f.entry);
    LLVMBuildBr(f.b, body);
    place_stack_check(&f, body);
    rc = 0;
out:
    cg_func_arena_end(cm);
    return rc;
}
