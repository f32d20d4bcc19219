/*
 * compiler/cg_call.c - calls (direct, imported, indirect), locals and
 * globals, tables and references.
 *
 * Layouts come from runtime/abi.h: vmctx->funcs[i] is the funcref of
 * function i (imports resolved by the runtime), vmctx->tables[t] the table,
 * defined globals sit inline at vmctx->globals, imported ones behind
 * vmctx->imported_globals.
 */
#include <stdio.h>
#include <stdlib.h>

#include <llvm-c/Comdat.h>

#include "compiler/cg.h"

static LLVMValueRef gep_bytes(struct cg_func *f, LLVMValueRef base, uint64_t off)
{
    LLVMValueRef o = cg_const_i64(f, off);
    return LLVMBuildGEP2(f->b, f->cm->i8, base, &o, 1, "");
}

/* ===== Calls ============================================================ */

void cg_emit_call(struct cg_func *f, const struct wm_functype *ft,
                  LLVMTypeRef fty, LLVMValueRef callee, unsigned cc,
                  LLVMValueRef vmctx, bool tail, bool may_throw)
{
    uint32_t n = ft->nparams;
    unsigned base = cg_param_base(ft);
    LLVMValueRef *args = cg_alloc(f->cm, n + base, sizeof *args);
    args[0] = vmctx;
    LLVMTypeRef rt = cg_result_type(f->cm, ft);
    LLVMValueRef out = base == 2 && !tail ? cg_entry_slot(f, rt) : NULL;
    if (out)
        args[1] = out;                  /* the results (cg_module.c) */
    else if (base == 2)
        args[1] = LLVMGetParam(f->fn, 1);   /* a tail call: into our caller's */
    for (uint32_t i = 0; i < n; i++)
        args[base + i] = f->stack[f->sp - n + i];
    f->sp -= n;
    if (tail && f->cm->exceptions && vmctx != f->vmctx) {
        /* An exception of a callee in another instance would be in its
         * vmctx, where our caller does not look: such a call returns
         * here and passes it on (a tail call within the instance stays
         * one). */
        LLVMBasicBlockRef same = LLVMAppendBasicBlockInContext(f->cm->ctx, f->fn,
                                                               "tail_same");
        LLVMBasicBlockRef other = LLVMAppendBasicBlockInContext(f->cm->ctx, f->fn,
                                                                "tail_other");
        LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntEQ, vmctx, f->vmctx, ""),
                        same, other);
        LLVMPositionBuilderAtEnd(f->b, other);
        LLVMValueRef r = LLVMBuildCall2(f->b, fty, callee, args, n + base, "");
        cg_note_call(f, r);
        LLVMSetInstructionCallConv(r, cc);
        LLVMSetTailCallKind(r, LLVMTailCallKindNoTail);
        cg_exn_pass_on(f, vmctx);
        if (ft->nresults == 1)
            LLVMBuildRet(f->b, r);
        else
            LLVMBuildRetVoid(f->b);
        LLVMPositionBuilderAtEnd(f->b, same);
    }
    LLVMValueRef r = LLVMBuildCall2(f->b, fty, callee, args, n + base, "");
    cg_note_call(f, r);
    LLVMSetInstructionCallConv(r, cc);
    if (tail) {
        /* return_call: guaranteed, whatever the two signatures (tailcc),
         * at every optimisation level. The results are the function's. */
        LLVMSetTailCallKind(r, LLVMTailCallKindMustTail);
        if (ft->nresults == 1)
            LLVMBuildRet(f->b, r);
        else
            LLVMBuildRetVoid(f->b);
        return;
    }
    /* No tail calls and no tail-recursion elimination: unbounded recursion
     * must exhaust the stack ("call stack exhausted"), not loop forever. */
    LLVMSetTailCallKind(r, LLVMTailCallKindNoTail);
    if (may_throw)
        cg_exn_after_call(f, vmctx);
    if (out)
        r = LLVMBuildLoad2(f->b, rt, out, "");
    if (ft->nresults == 1)
        cg_push(f, r);
    else
        for (uint32_t i = 0; i < ft->nresults; i++)
            cg_push(f, LLVMBuildExtractValue(f->b, r, i, ""));
}

static LLVMValueRef funcref_of(struct cg_func *f, uint32_t func)
{
    LLVMValueRef funcs = cg_invariant(f, cg_vmctx_load(f, AWSM_VMCTX_FUNCS, f->cm->ptr,
                                                    "funcs"));
    return cg_invariant(f, cg_load_ptr_at(f, funcs, cg_const_i64(f, func)));
}

/* Call through a funcref: its code with its own vmctx. */
static void call_funcref(struct cg_func *f, LLVMValueRef ref, uint32_t type,
                         bool tail)
{
    struct cg_module *cm = f->cm;
    LLVMValueRef code = cg_invariant(f, cg_tag_runtime(cm, LLVMBuildLoad2(f->b, cm->ptr,
                                                                       ref, "code")));
    LLVMValueRef vmctx = cg_invariant(f, cg_tag_runtime(cm, LLVMBuildLoad2(f->b, cm->ptr,
        gep_bytes(f, ref, offsetof(struct awsm_funcref, vmctx)), "callee_vmctx")));
    cg_emit_call(f, &cm->m->types[type], cm->fn_types[type], code, cm->callconv,
                 vmctx, tail, true);
}

static void cg_call_direct(struct cg_func *f, uint32_t func, bool tail)
{
    struct cg_module *cm = f->cm;
    const struct wm_module *m = cm->m;
    uint32_t type = wm_func_type_index(m, func);
    if (func >= m->nfunc_imports) {
        uint32_t i = func - m->nfunc_imports;
        /* A call to itself goes to its next clone, when it has clones
         * (not a tail call: its own frame's turn is over). */
        LLVMValueRef callee = func == f->index && f->self_callee && !tail
                              ? f->self_callee : cm->funcs[i];
        cg_emit_call(f, &m->types[type], cm->fn_types[type], callee, cm->fn_cc[i],
                     f->vmctx, tail, cm->may_throw[i]);
    } else {
        call_funcref(f, funcref_of(f, func), type, tail);
    }
}

static LLVMValueRef table_of(struct cg_func *f, uint32_t t)
{
    LLVMValueRef tables = cg_invariant(f, cg_vmctx_load(f, AWSM_VMCTX_TABLES, f->cm->ptr,
                                                     "tables"));
    return cg_invariant(f, cg_load_ptr_at(f, tables, cg_const_i64(f, t)));
}

/* A load of table t's data: invariant when nothing changes the table
 * (cg_module.c, plan_tables). */
static LLVMValueRef table_load(struct cg_func *f, uint32_t t, LLVMValueRef load)
{
    cg_tag_runtime(f->cm, load);
    return f->cm->table_fixed[t] ? cg_invariant(f, load) : load;
}

static LLVMValueRef table_size(struct cg_func *f, uint32_t t, LLVMValueRef table)
{
    return table_load(f, t, LLVMBuildLoad2(f->b, f->cm->i32,
                      gep_bytes(f, table, offsetof(struct awsm_table, size)),
                      "table_size"));
}

/* The address of element idx (in bounds) of table t, at `table`. */
static LLVMValueRef table_elem(struct cg_func *f, uint32_t t, LLVMValueRef table,
                               LLVMValueRef idx)
{
    LLVMValueRef elems = table_load(f, t, LLVMBuildLoad2(f->b, f->cm->ptr, table, "elems"));
    LLVMValueRef i64 = LLVMBuildZExt(f->b, idx, f->cm->i64, "");
    return LLVMBuildGEP2(f->b, f->cm->ptr, elems, &i64, 1, "");
}

/* The address of table t's element idx, trapping with `kind` when
 * idx >= size. */
static LLVMValueRef table_slot(struct cg_func *f, uint32_t t, LLVMValueRef idx,
                               enum awsm_trap kind)
{
    LLVMValueRef table = table_of(f, t);
    cg_trap_if(f, LLVMBuildICmp(f->b, LLVMIntUGE, idx, table_size(f, t, table), ""),
               kind);
    return table_elem(f, t, table, idx);
}

/*
 * call_indirect through a table whose contents are known (cg_module.c,
 * plan_tables) looks its callee up in a constant array, one per table and
 * class of the type called: each slot's offset from the array to its
 * function's code, or 0 where the slot is null or its function of another
 * type. The callee's vmctx is the caller's own. A 0 traps with the kind
 * the instance's table tells, null or another type. The offsets are
 * fixed when the object is linked: no relocation at load time. In a split
 * module each partition that calls through an array defines it, in a
 * comdat the linker keeps once.
 */
static LLVMValueRef dispatch_array(struct cg_module *cm, uint32_t table, uint32_t cls)
{
    LLVMValueRef *slot = &cm->dispatch[(size_t)table * cm->m->ntypes + cls];
    if (*slot != NULL)
        return *slot;
    const uint32_t *funcs = cm->table_funcs[table];
    uint32_t n = (uint32_t)wm_table_type(cm->m, table)->limits.min;
    char name[48];
    snprintf(name, sizeof name, "awsm_dispatch%u_%u", table, cls);
    LLVMValueRef g = LLVMAddGlobal(cm->mod, LLVMArrayType2(cm->i32, n), name);
    LLVMValueRef base = LLVMConstPtrToInt(g, cm->i64);
    LLVMValueRef *elems = cg_alloc(cm, n, sizeof *elems);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t fn = funcs[i];
        if (fn == CG_NO_FUNC || cm->type_class[cm->m->funcs[fn].type] != cls)
            elems[i] = LLVMConstInt(cm->i32, 0, false);
        else
            elems[i] = LLVMConstTrunc(LLVMConstSub(LLVMConstPtrToInt(cm->funcs[fn], cm->i64),
                                                   base), cm->i32);
    }
    LLVMSetInitializer(g, LLVMConstArray2(cm->i32, elems, n));
    LLVMSetGlobalConstant(g, true);
    LLVMSetAlignment(g, 4);
    if (cm->nparts > 1) {
        LLVMSetLinkage(g, LLVMLinkOnceODRLinkage);
        LLVMSetVisibility(g, LLVMHiddenVisibility);
        LLVMSetComdat(g, LLVMGetOrInsertComdat(cm->mod, name));
    } else {
        LLVMSetLinkage(g, LLVMInternalLinkage);
    }
    *slot = g;
    return g;
}

static void call_known(struct cg_func *f, LLVMValueRef idx, uint32_t type,
                       uint32_t table, bool tail)
{
    struct cg_module *cm = f->cm;
    uint32_t n = (uint32_t)wm_table_type(cm->m, table)->limits.min;
    cg_trap_if(f, LLVMBuildICmp(f->b, LLVMIntUGE, idx, LLVMConstInt(cm->i32, n, false), ""),
               AWSM_TRAP_UNDEFINED_ELEMENT);
    LLVMValueRef disp = dispatch_array(cm, table, cm->type_class[type]);
    LLVMValueRef i64 = LLVMBuildZExt(f->b, idx, cm->i64, "");
    LLVMValueRef at[2] = { cg_const_i64(f, 0), i64 };
    LLVMValueRef rel = cg_tag_runtime(cm, LLVMBuildLoad2(f->b, cm->i32,
        LLVMBuildInBoundsGEP2(f->b, LLVMGlobalGetValueType(disp), disp, at, 2, ""), "rel"));
    LLVMBasicBlockRef bad = cg_new_bb(f, "no_callee"), ok = cg_new_bb(f, "callee");
    LLVMBuildCondBr(f->b, cg_expect_false(f, LLVMBuildICmp(f->b, LLVMIntEQ, rel,
                                                          LLVMConstInt(cm->i32, 0, false), "")),
                    bad, ok);
    LLVMPositionBuilderAtEnd(f->b, bad);
    LLVMValueRef ref = table_load(f, table, LLVMBuildLoad2(f->b, cm->ptr,
        table_elem(f, table, table_of(f, table), idx), "ref"));
    cg_trap_if(f, LLVMBuildIsNull(f->b, ref, ""), AWSM_TRAP_INDIRECT_NULL);
    cg_trap(f, AWSM_TRAP_INDIRECT_TYPE);
    LLVMPositionBuilderAtEnd(f->b, ok);
    LLVMValueRef off = LLVMBuildSExt(f->b, rel, cm->i64, "");
    LLVMValueRef code = LLVMBuildGEP2(f->b, cm->i8, disp, &off, 1, "code");
    cg_emit_call(f, &cm->m->types[type], cm->fn_types[type], code, cm->callconv, f->vmctx,
                 tail, true);
}

/* call_indirect: bounds, null and signature checks, then the call. */
static void cg_call_indirect(struct cg_func *f, uint32_t type, uint32_t table,
                             bool tail)
{
    struct cg_module *cm = f->cm;
    LLVMValueRef idx = cg_pop(f);
    if (cm->table_funcs[table] != NULL) {
        call_known(f, idx, type, table, tail);
        return;
    }
    LLVMValueRef slot = table_slot(f, table, idx, AWSM_TRAP_UNDEFINED_ELEMENT);
    LLVMValueRef ref = table_load(f, table, LLVMBuildLoad2(f->b, cm->ptr, slot, "ref"));
    cg_trap_if(f, LLVMBuildIsNull(f->b, ref, ""), AWSM_TRAP_INDIRECT_NULL);
    LLVMValueRef have = cg_invariant(f, cg_tag_runtime(cm, LLVMBuildLoad2(f->b, cm->i32,
        gep_bytes(f, ref, offsetof(struct awsm_funcref, type_id)), "type_id")));
    LLVMValueRef ids = cg_invariant(f, cg_vmctx_load(f, AWSM_VMCTX_TYPE_IDS, cm->ptr,
                                                  "type_ids"));
    LLVMValueRef ti = cg_const_i64(f, type);
    LLVMValueRef want = cg_invariant(f, cg_tag_runtime(cm, LLVMBuildLoad2(f->b, cm->i32,
        LLVMBuildGEP2(f->b, cm->i32, ids, &ti, 1, ""), "want")));
    cg_trap_if(f, LLVMBuildICmp(f->b, LLVMIntNE, have, want, ""),
               AWSM_TRAP_INDIRECT_TYPE);
    call_funcref(f, ref, type, tail);
}

/* call, call_indirect, and the tail-call proposal's return_call and
 * return_call_indirect (which end the function: the caller marks the rest
 * dead). */
int cg_call(struct cg_func *f, const struct wm_ins *in)
{
    bool tail = in->op == WM_OP_RETURN_CALL || in->op == WM_OP_RETURN_CALL_INDIRECT;
    if (in->op == WM_OP_CALL || in->op == WM_OP_RETURN_CALL)
        cg_call_direct(f, in->u.idx, tail);
    else
        cg_call_indirect(f, in->u.two.a, in->u.two.b, tail);
    return 0;
}

/* ===== Locals and globals =============================================== */

static LLVMValueRef global_cell(struct cg_func *f, uint32_t g)
{
    const struct wm_module *m = f->cm->m;
    if (g >= m->nglobal_imports)
        return gep_bytes(f, f->vmctx, AWSM_VMCTX_GLOBALS +
                         (uint64_t)(g - m->nglobal_imports) * sizeof(awsm_value));
    LLVMValueRef cells = cg_vmctx_load(f, AWSM_VMCTX_IMPORTED_GLOBALS,
                                       f->cm->ptr, "imported_globals");
    return cg_load_ptr_at(f, cells, cg_const_i64(f, g));
}

int cg_variable(struct cg_func *f, const struct wm_ins *in)
{
    uint32_t x = in->u.idx;
    switch (in->op) {
    case WM_OP_LOCAL_GET:
        cg_push(f, LLVMBuildLoad2(f->b, cg_type(f->cm, f->local_types[x]),
                                  f->locals[x], ""));
        break;
    case WM_OP_LOCAL_SET:
        LLVMBuildStore(f->b, cg_pop(f), f->locals[x]);
        break;
    case WM_OP_LOCAL_TEE:
        LLVMBuildStore(f->b, f->stack[f->sp - 1], f->locals[x]);
        break;
    case WM_OP_GLOBAL_GET: {
        wm_valtype t = wm_global_type(f->cm->m, x)->type;
        LLVMValueRef v = LLVMBuildLoad2(f->b, cg_type(f->cm, t), global_cell(f, x), "");
        LLVMSetAlignment(v, 8);         /* an awsm_value cell: 8, not v128's 16 */
        cg_push(f, cg_tag_runtime(f->cm, v));
        break;
    }
    default: /* WM_OP_GLOBAL_SET */
        LLVMSetAlignment(cg_tag_state(f->cm, LLVMBuildStore(f->b, cg_pop(f),
                                                           global_cell(f, x))), 8);
        break;
    }
    return 0;
}

/* ===== Tables and references ============================================ */

static void table_rt(struct cg_func *f, unsigned field, LLVMTypeRef ret,
                     LLVMValueRef *head, unsigned nhead, unsigned npop)
{
    LLVMValueRef args[6];
    for (unsigned i = 0; i < nhead; i++)
        args[i] = head[i];
    for (unsigned i = npop; i-- > 0;)
        args[nhead + i] = cg_pop(f);
    LLVMValueRef r = cg_call_rt(f, field, ret, args, nhead + npop);
    if (ret != f->cm->void_t)
        cg_push(f, r);
}

int cg_table(struct cg_func *f, const struct wm_ins *in)
{
    struct cg_module *cm = f->cm;
    LLVMValueRef head[2];
    switch (in->op) {
    case WM_OP_REF_NULL:
        cg_push(f, LLVMConstPointerNull(cm->ptr));
        return 0;
    case WM_OP_REF_IS_NULL:
        cg_push(f, LLVMBuildZExt(f->b, LLVMBuildIsNull(f->b, cg_pop(f), ""),
                                 cm->i32, ""));
        return 0;
    case WM_OP_REF_FUNC:
        cg_push(f, funcref_of(f, in->u.idx));
        return 0;
    case WM_OP_TABLE_GET: {
        LLVMValueRef slot = table_slot(f, in->u.idx, cg_pop(f), AWSM_TRAP_TABLE_OOB);
        cg_push(f, table_load(f, in->u.idx, LLVMBuildLoad2(f->b, cm->ptr, slot, "")));
        return 0;
    }
    case WM_OP_TABLE_SET: {
        LLVMValueRef v = cg_pop(f);
        LLVMValueRef slot = table_slot(f, in->u.idx, cg_pop(f), AWSM_TRAP_TABLE_OOB);
        cg_tag_state(cm, LLVMBuildStore(f->b, v, slot));
        return 0;
    }
    case WM_OP_TABLE_SIZE:
        cg_push(f, table_size(f, in->u.idx, table_of(f, in->u.idx)));
        return 0;
    case WM_OP_TABLE_GROW:                 /* (init, delta) -> old size */
        head[0] = cg_const_i32(f, in->u.idx);
        table_rt(f, offsetof(struct awsm_rt_api, table_grow), cm->i32, head, 1, 2);
        return 0;
    case WM_OP_TABLE_FILL:                 /* (dst, val, len) */
        head[0] = cg_const_i32(f, in->u.idx);
        table_rt(f, offsetof(struct awsm_rt_api, table_fill), cm->void_t, head, 1, 3);
        return 0;
    case WM_OP_TABLE_COPY:                 /* (dst, src, len) */
        head[0] = cg_const_i32(f, in->u.two.a);
        head[1] = cg_const_i32(f, in->u.two.b);
        table_rt(f, offsetof(struct awsm_rt_api, table_copy), cm->void_t, head, 2, 3);
        return 0;
    case WM_OP_TABLE_INIT:                 /* (dst, src, len) */
        head[0] = cg_const_i32(f, in->u.two.b);
        head[1] = cg_const_i32(f, in->u.two.a);
        table_rt(f, offsetof(struct awsm_rt_api, table_init), cm->void_t, head, 2, 3);
        return 0;
    default: /* WM_OP_ELEM_DROP */
        head[0] = cg_const_i32(f, in->u.idx);
        table_rt(f, offsetof(struct awsm_rt_api, elem_drop), cm->void_t, head, 1, 0);
        return 0;
    }
}
