/*
 * compiler/cg_exn.c - exception handling (the legacy proposal): throw,
 * rethrow, the look after each call, and where an exception goes.
 *
 * Exceptions travel by return (runtime/abi.h, "Exceptions"): a raise point
 * (throw, rethrow, a call whose callee's vmctx says exn_pending) branches
 * to the unwind block of the innermost frame that has one:
 *   - a try in its body: its dispatch, made on first use and filled when
 *     the try ends: the clauses' tags compared in order with the one in
 *     flight (rt->exn_tag), the first match entering its catch block,
 *     catch_all entering its own; no match goes on outwards; a
 *     try-delegate goes to the frame it names instead;
 *   - a try in a catch block: release its handle, then outwards;
 *   - none left: the function's propagate block sets its own
 *     exn_pending and returns.
 * A catch block holds its exception on the runtime's caught stack
 * (rt->exn_catch returns the handle, kept in the frame's slot for
 * rethrow); every way out of the block releases it: falling off its end,
 * a branch or return past it (cg_exn_leave), an exception raised in it.
 * The normal path pays a load and a branch after each call that may pass
 * an exception (cg_exn_plan), and only in modules compiled with the
 * feature.
 */
#include "compiler/cg.h"

/* ===== Which functions may throw ======================================= */

/*
 * A defined function may pass an exception to its caller when it holds a
 * throw or rethrow, calls an import or through a table (another
 * instance's code, unknown here), or calls a defined function that may.
 * Whether its try blocks catch it is not looked at. Direct calls are
 * collected as (caller, callee) pairs, and "may throw" is spread from
 * callees to callers until nothing changes. Calls to the others need no
 * look afterwards: recursive code without imports (fib) pays nothing.
 */
struct throw_plan {
    struct cg_module *cm;
    bool *may_throw;                /* [nfuncs] what cm->may_throw will be */
    uint32_t (*edges)[2];
    uint32_t nedges, cap;
};

/* Scan defined function i; -1 when it cannot be read. */
static int plan_scan(struct throw_plan *p, uint32_t i)
{
    const struct wm_module *m = p->cm->m;
    struct wm_error err;
    struct wm_ins_reader ir;
    struct wm_ins in;
    int rc = 0;
    wm_ins_reader_init_func(&ir, m, m->nfunc_imports + i, &err);
    while (ir.rd.pos < ir.rd.end) {
        if (wm_ins_read(&ir, &in) != 0) {
            rc = -1;
            break;
        }
        switch (in.op) {
        case WM_OP_THROW: case WM_OP_RETHROW:
        case WM_OP_CALL_INDIRECT: case WM_OP_RETURN_CALL_INDIRECT:
            p->may_throw[i] = true;
            break;
        case WM_OP_CALL: case WM_OP_RETURN_CALL:
            if (in.u.idx < m->nfunc_imports) {
                p->may_throw[i] = true;
                break;
            }
            if (p->nedges == p->cap) {
                uint32_t cap = p->cap ? p->cap * 2 : 256;
                uint32_t (*e)[2] = cg_alloc(p->cm, cap, sizeof *e);
                for (uint32_t k = 0; k < p->nedges; k++) {
                    e[k][0] = p->edges[k][0];
                    e[k][1] = p->edges[k][1];
                }
                p->edges = e;
                p->cap = cap;
            }
            p->edges[p->nedges][0] = i;
            p->edges[p->nedges++][1] = in.u.idx - m->nfunc_imports;
            break;
        default:
            break;
        }
    }
    wm_ins_reader_deinit(&ir);
    return rc;
}

void cg_exn_plan(struct cg_module *cm)
{
    const struct wm_module *m = cm->m;
    bool *may_throw = cg_alloc(cm, m->nfuncs ? m->nfuncs : 1, sizeof *may_throw);
    struct throw_plan p = { cm, may_throw, NULL, 0, 0 };
    cm->may_throw = may_throw;
    bool all = !cm->exceptions;
    for (uint32_t i = 0; i < m->nfuncs && !all; i++)
        all = plan_scan(&p, i) != 0;
    if (all) {
        for (uint32_t i = 0; i < m->nfuncs; i++)
            may_throw[i] = true;           /* unused without exceptions */
        return;
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t k = 0; k < p.nedges; k++)
            if (may_throw[p.edges[k][1]] && !may_throw[p.edges[k][0]]) {
                may_throw[p.edges[k][0]] = true;
                changed = true;
            }
    }
}

/* ===== Raising and handling ============================================= */

static LLVMValueRef pending_ptr(struct cg_func *f, LLVMValueRef vm)
{
    LLVMValueRef off = cg_const_i64(f, AWSM_VMCTX_EXN_PENDING);
    return LLVMBuildGEP2(f->b, f->cm->i8, vm, &off, 1, "exn_pending");
}

static void set_pending(struct cg_func *f, LLVMValueRef vm, uint32_t v)
{
    cg_tag_runtime(f->cm, LLVMBuildStore(f->b, cg_const_i32(f, v), pending_ptr(f, vm)));
}

/* Return with exn_pending set: the caller handles the exception. */
static LLVMBasicBlockRef propagate(struct cg_func *f)
{
    if (f->propagate_bb)
        return f->propagate_bb;
    LLVMBasicBlockRef saved = LLVMGetInsertBlock(f->b);
    f->propagate_bb = cg_new_bb(f, "exn_propagate");
    LLVMPositionBuilderAtEnd(f->b, f->propagate_bb);
    set_pending(f, f->vmctx, 1);
    if (f->type->nresults == 1)
        LLVMBuildRet(f->b, LLVMGetUndef(cg_type(f->cm, f->type->results[0])));
    else
        LLVMBuildRetVoid(f->b);     /* none, or *out left undefined */
    LLVMPositionBuilderAtEnd(f->b, saved);
    return f->propagate_bb;
}

static bool in_catch(const struct cg_frame *fr)
{
    return fr->op == WM_OP_CATCH || fr->op == WM_OP_CATCH_ALL;
}

static void release(struct cg_func *f, const struct cg_frame *fr)
{
    LLVMValueRef h = LLVMBuildLoad2(f->b, f->cm->i32, fr->handle_slot, "handle");
    cg_call_rt(f, offsetof(struct awsm_rt_api, exn_release), f->cm->void_t, &h, 1);
}

LLVMBasicBlockRef cg_exn_unwind(struct cg_func *f, int64_t depth)
{
    for (int64_t i = depth; i >= 0; i--) {
        struct cg_frame *fr = &f->ctl[i];
        if (fr->op == WM_OP_TRY) {
            if (fr->unwind_bb == NULL)
                fr->unwind_bb = cg_new_bb(f, "exn_dispatch");
            return fr->unwind_bb;
        }
        if (in_catch(fr)) {
            if (fr->catch_unwind_bb == NULL) {
                LLVMBasicBlockRef saved = LLVMGetInsertBlock(f->b);
                LLVMBasicBlockRef outer = cg_exn_unwind(f, i - 1);
                fr = &f->ctl[i];
                fr->catch_unwind_bb = cg_new_bb(f, "exn_leave_catch");
                LLVMPositionBuilderAtEnd(f->b, fr->catch_unwind_bb);
                release(f, fr);
                LLVMBuildBr(f->b, outer);
                LLVMPositionBuilderAtEnd(f->b, saved);
            }
            return fr->catch_unwind_bb;
        }
    }
    return propagate(f);
}

int64_t cg_exn_outer_catch(struct cg_func *f, uint32_t from)
{
    for (uint32_t i = from; i < f->depth; i++)
        if (in_catch(&f->ctl[i]))
            return i;
    return -1;
}

void cg_exn_leave(struct cg_func *f, uint32_t from)
{
    int64_t j = cg_exn_outer_catch(f, from);
    if (j >= 0)
        release(f, &f->ctl[j]);
}

void cg_exn_after_call(struct cg_func *f, LLVMValueRef callee_vm)
{
    if (!f->cm->exceptions)
        return;
    LLVMValueRef p = cg_tag_runtime(f->cm, LLVMBuildLoad2(f->b, f->cm->i32,
                                    pending_ptr(f, callee_vm), "pending"));
    LLVMValueRef set = LLVMBuildICmp(f->b, LLVMIntNE, p, cg_const_i32(f, 0), "");
    LLVMBasicBlockRef exn = cg_new_bb(f, "exn_from_call");
    LLVMBasicBlockRef cont = cg_new_bb(f, "call_ok");
    LLVMBuildCondBr(f->b, cg_expect_false(f, set), exn, cont);
    LLVMPositionBuilderAtEnd(f->b, exn);
    set_pending(f, callee_vm, 0);
    LLVMBuildBr(f->b, cg_exn_unwind(f, (int64_t)f->depth - 1));
    LLVMPositionBuilderAtEnd(f->b, cont);
}

void cg_exn_pass_on(struct cg_func *f, LLVMValueRef callee_vm)
{
    LLVMValueRef p = cg_tag_runtime(f->cm, LLVMBuildLoad2(f->b, f->cm->i32,
                                    pending_ptr(f, callee_vm), "pending"));
    set_pending(f, callee_vm, 0);
    cg_tag_runtime(f->cm, LLVMBuildStore(f->b, p, pending_ptr(f, f->vmctx)));
}

/* A buffer of n awsm_values (16 bytes each), in the entry block. */
static LLVMValueRef value_buffer(struct cg_func *f, uint32_t n)
{
    LLVMValueRef buf = cg_entry_slot(f, LLVMArrayType(f->cm->i8, n * 16u));
    LLVMSetAlignment(buf, 16);
    return buf;
}

static LLVMValueRef value_at(struct cg_func *f, LLVMValueRef buf, uint32_t k)
{
    LLVMValueRef off = cg_const_i64(f, (uint64_t)k * 16u);
    return LLVMBuildGEP2(f->b, f->cm->i8, buf, &off, 1, "");
}

static int cg_throw(struct cg_func *f, uint32_t tag)
{
    struct cg_module *cm = f->cm;
    const struct wm_functype *ft = wm_tag_type(cm->m, tag);
    uint32_t n = ft->nparams;
    LLVMValueRef buf = n ? value_buffer(f, n) : LLVMConstPointerNull(cm->ptr);
    for (uint32_t k = 0; k < n; k++)
        LLVMSetAlignment(LLVMBuildStore(f->b, f->stack[f->sp - n + k],
                                        value_at(f, buf, k)), 8);
    f->sp -= n;
    LLVMValueRef tags = cg_invariant(f, cg_vmctx_load(f, AWSM_VMCTX_TAGS, cm->ptr, "tags"));
    LLVMValueRef args[2] = {
        cg_invariant(f, cg_load_ptr_at(f, tags, cg_const_i64(f, tag))), buf };
    cg_call_rt(f, offsetof(struct awsm_rt_api, exn_throw), cm->void_t, args, 2);
    LLVMBuildBr(f->b, cg_exn_unwind(f, (int64_t)f->depth - 1));
    return 0;
}

static int cg_rethrow(struct cg_func *f, uint32_t label)
{
    const struct cg_frame *fr = &f->ctl[f->depth - 1 - label];
    LLVMValueRef h = LLVMBuildLoad2(f->b, f->cm->i32, fr->handle_slot, "handle");
    cg_call_rt(f, offsetof(struct awsm_rt_api, exn_rethrow), f->cm->void_t, &h, 1);
    LLVMBuildBr(f->b, cg_exn_unwind(f, (int64_t)f->depth - 1));
    return 0;
}

int cg_exn(struct cg_func *f, const struct wm_ins *in)
{
    if (!f->cm->exceptions)
        return cg_fail(f->cm, "%s needs cg_options.features with "
                       "WM_FEATURE_EXCEPTIONS", wm_op_table[in->op].name);
    return in->op == WM_OP_THROW ? cg_throw(f, in->u.idx) : cg_rethrow(f, in->u.idx);
}

void cg_exn_catch(struct cg_func *f, const struct wm_ins *in)
{
    struct cg_module *cm = f->cm;
    struct cg_frame *fr = &f->ctl[f->depth - 1];
    if (fr->nclauses == fr->clause_cap) {
        uint32_t cap = fr->clause_cap ? fr->clause_cap * 2 : 4;
        struct cg_clause *c = cg_alloc(cm, cap, sizeof *c);
        for (uint32_t i = 0; i < fr->nclauses; i++)
            c[i] = fr->clauses[i];
        fr->clauses = c;
        fr->clause_cap = cap;
    }
    struct cg_clause *cl = &fr->clauses[fr->nclauses++];
    bool all = in->op == WM_OP_CATCH_ALL;
    cl->tag = all ? UINT32_MAX : in->u.idx;
    cl->bb = cg_new_bb(f, all ? "catch_all" : "catch");
    LLVMPositionBuilderAtEnd(f->b, cl->bb);
    if (fr->handle_slot == NULL)
        fr->handle_slot = cg_entry_slot(f, cm->i32);
    f->sp = fr->height;
    const struct wm_functype *ft = all ? NULL : wm_tag_type(cm->m, cl->tag);
    uint32_t n = ft ? ft->nparams : 0;
    LLVMValueRef buf = n ? value_buffer(f, n) : LLVMConstPointerNull(cm->ptr);
    LLVMValueRef h = cg_call_rt(f, offsetof(struct awsm_rt_api, exn_catch), cm->i32,
                                &buf, 1);
    LLVMBuildStore(f->b, h, fr->handle_slot);
    for (uint32_t k = 0; k < n; k++) {
        LLVMValueRef v = LLVMBuildLoad2(f->b, cg_type(cm, ft->params[k]),
                                        value_at(f, buf, k), "");
        LLVMSetAlignment(v, 8);
        cg_push(f, v);
    }
    fr->op = all ? WM_OP_CATCH_ALL : WM_OP_CATCH;
    fr->unreachable = false;
}

void cg_exn_end_try(struct cg_func *f, struct cg_frame *fr, int64_t delegate_to)
{
    struct cg_module *cm = f->cm;
    if (fr->unwind_bb == NULL)
        return;                     /* nothing in the body can raise */
    int64_t i = fr - f->ctl;
    LLVMBasicBlockRef saved = LLVMGetInsertBlock(f->b);
    LLVMPositionBuilderAtEnd(f->b, fr->unwind_bb);
    if (delegate_to >= 0) {
        /* Catch blocks between here and the frame delegated to are left. */
        for (int64_t j = delegate_to + 1; j < i; j++)
            if (in_catch(&f->ctl[j])) {
                release(f, &f->ctl[j]);
                break;
            }
        LLVMBuildBr(f->b, cg_exn_unwind(f, delegate_to));
        LLVMPositionBuilderAtEnd(f->b, saved);
        return;
    }
    LLVMValueRef tag = NULL, tags = NULL;
    for (uint32_t k = 0; k < fr->nclauses; k++) {
        const struct cg_clause *cl = &fr->clauses[k];
        if (cl->tag == UINT32_MAX) {
            LLVMBuildBr(f->b, cl->bb);
            LLVMPositionBuilderAtEnd(f->b, saved);
            return;
        }
        if (tag == NULL) {
            tag = cg_call_rt(f, offsetof(struct awsm_rt_api, exn_tag), cm->ptr, NULL, 0);
            tags = cg_invariant(f, cg_vmctx_load(f, AWSM_VMCTX_TAGS, cm->ptr, "tags"));
        }
        LLVMValueRef want = cg_invariant(f, cg_load_ptr_at(f, tags,
                                                           cg_const_i64(f, cl->tag)));
        LLVMBasicBlockRef next = cg_new_bb(f, "exn_next_clause");
        LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntEQ, tag, want, ""),
                        cl->bb, next);
        LLVMPositionBuilderAtEnd(f->b, next);
    }
    LLVMBuildBr(f->b, cg_exn_unwind(f, i - 1));
    LLVMPositionBuilderAtEnd(f->b, saved);
}
