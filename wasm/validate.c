/*
 * wasm/validate.c - the validator (spec chapter 3 and the algorithm of its
 * appendix 7.3): module-level rules, constant expressions, and function
 * bodies typed with an operand stack and a control stack. Unreachable code
 * makes the stack polymorphic: popping below a frame's height there yields
 * the unknown type (0), which matches anything.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/internal.h"

#define UNKNOWN 0

struct frame {
    uint16_t op;                    /* WM_OP_BLOCK, WM_OP_LOOP, WM_OP_IF, WM_OP_ELSE;
                                       WM_OP_TRY in its body, WM_OP_CATCH or
                                       WM_OP_CATCH_ALL in a catch clause */
    bool unreachable;
    uint32_t height;
    uint32_t nparams, nresults;
    const wm_valtype *params, *results;
};

struct local_run {                  /* locals [first, first+count) */
    uint32_t first, count;
    wm_valtype type;
};

struct val {
    const struct wm_module *m;
    struct wm_error *err;
    unsigned features;              /* WM_FEATURE_* */
    int64_t func;
    const struct wm_ins *in;           /* instruction being checked */
    uint8_t *refs;                  /* C.refs: declared function refs */

    wm_valtype *stack;
    uint32_t sp, scap;
    struct frame *ctl;
    uint32_t depth, ccap;
    wm_valtype *scratch;            /* br_table label types */
    uint32_t xcap;

    struct local_run *locals;
    uint32_t nruns;
    uint64_t nlocals;
};

/* ===== Errors =========================================================== */

static int vfail_at(struct val *v, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int vfail_at(struct val *v, size_t at, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wm_fail(v->err, WM_ERR_INVALID, at, v->func, "%s", msg);
}

#define vfail(v, ...) vfail_at((v), (v)->in->offset, __VA_ARGS__)
#define OPNAME(v) (wm_op_table[(v)->in->op].name)

static const char *tname(wm_valtype t)
{
    return t == UNKNOWN ? "a value" : wm_valtype_name(t);
}

static int nomem(struct val *v)
{
    return wm_fail(v->err, WM_ERR_NOMEM, v->in ? v->in->offset : 0, v->func,
                   "out of memory");
}

static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint32_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* ===== Operand stack ==================================================== */

static int push(struct val *v, wm_valtype t)
{
    if (grow((void **)&v->stack, &v->scap, v->sp + 1, 1))
        return nomem(v);
    v->stack[v->sp++] = t;
    return 0;
}

/* Pop a value, expecting type `want` (UNKNOWN: any). *got gets its type. */
static int pop(struct val *v, wm_valtype want, wm_valtype *got)
{
    struct frame *f = &v->ctl[v->depth - 1];
    wm_valtype t;
    if (v->sp == f->height) {
        if (!f->unreachable)
            return vfail(v, "%s expects %s but the stack is "
                         "empty", OPNAME(v), tname(want));
        t = UNKNOWN;
    } else {
        t = v->stack[--v->sp];
        if (want != UNKNOWN && t != UNKNOWN && t != want)
            return vfail(v, "%s expects %s but found %s",
                         OPNAME(v), tname(want), tname(t));
    }
    if (got)
        *got = t;
    return 0;
}

static int pop_vals(struct val *v, const wm_valtype *ts, uint32_t n,
                    wm_valtype *got)
{
    for (uint32_t i = n; i-- > 0;)
        if (pop(v, ts[i], got ? &got[i] : NULL))
            return -1;
    return 0;
}

static int push_vals(struct val *v, const wm_valtype *ts, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (push(v, ts[i]))
            return -1;
    return 0;
}

/* ===== Control stack ==================================================== */

/* ft's vectors must outlive the frame (wm_block_type's do). */
static int push_ctrl(struct val *v, uint16_t op, const struct wm_functype *ft)
{
    if (grow((void **)&v->ctl, &v->ccap, v->depth + 1, sizeof *v->ctl))
        return nomem(v);
    struct frame *f = &v->ctl[v->depth++];
    f->op = op;
    f->unreachable = false;
    f->height = v->sp;
    f->nparams = ft->nparams;
    f->params = ft->params;
    f->nresults = ft->nresults;
    f->results = ft->results;
    return push_vals(v, f->params, f->nparams);
}

/* Check the values at the end of the innermost block: exactly its results. */
static int end_frame(struct val *v)
{
    struct frame *f = &v->ctl[v->depth - 1];
    if (pop_vals(v, f->results, f->nresults, NULL))
        return -1;
    if (v->sp != f->height)
        return vfail(v, "type mismatch: %s leaves %u more value(s) than "
                     "the block's %u result(s)", OPNAME(v), v->sp - f->height,
                     f->nresults);
    return 0;
}

static void set_unreachable(struct val *v)
{
    struct frame *f = &v->ctl[v->depth - 1];
    v->sp = f->height;
    f->unreachable = true;
}

static int label(struct val *v, uint32_t l, struct frame **out)
{
    *out = NULL;
    if (l >= v->depth)
        return vfail(v, "unknown label %u (%u enclosing blocks)", l, v->depth);
    *out = &v->ctl[v->depth - 1 - l];
    return 0;
}

static uint32_t label_arity(const struct frame *f)
{
    return f->op == WM_OP_LOOP ? f->nparams : f->nresults;
}

static const wm_valtype *label_types(const struct frame *f)
{
    return f->op == WM_OP_LOOP ? f->params : f->results;
}

/* ===== Control instructions ============================================= */

static int val_block(struct val *v, const struct wm_ins *in)
{
    struct wm_functype ft;
    if (wm_block_type(v->m, in, &ft))
        return vfail(v, "unknown type %u", in->u.block.type);
    if (in->op == WM_OP_IF && pop(v, WM_I32, NULL))
        return -1;
    if (pop_vals(v, ft.params, ft.nparams, NULL))
        return -1;
    return push_ctrl(v, in->op, &ft);
}

static int val_else(struct val *v)
{
    struct frame *f = &v->ctl[v->depth - 1];
    if (f->op != WM_OP_IF)
        return vfail(v, "else without matching if");
    if (end_frame(v))
        return -1;
    f->op = WM_OP_ELSE;
    f->unreachable = false;
    return push_vals(v, f->params, f->nparams);
}

static bool same_types(const wm_valtype *a, uint32_t na, const wm_valtype *b,
                       uint32_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na) == 0);
}

static int val_end(struct val *v)
{
    struct frame *f = &v->ctl[v->depth - 1];
    if (end_frame(v))
        return -1;
    /* An `if` without `else` has an implicit else that passes its
     * parameters through, so they must equal its results. */
    if (f->op == WM_OP_IF &&
        !same_types(f->params, f->nparams, f->results, f->nresults))
        return vfail(v, "type mismatch: if without else must leave its "
                     "parameters as results");
    v->depth--;
    return push_vals(v, f->results, f->nresults);
}

static int val_br(struct val *v, const struct wm_ins *in)
{
    struct frame *f;
    if (label(v, in->u.idx, &f) || pop_vals(v, label_types(f), label_arity(f), NULL))
        return -1;
    set_unreachable(v);
    return 0;
}

static int val_br_if(struct val *v, const struct wm_ins *in)
{
    struct frame *f;
    if (pop(v, WM_I32, NULL) || label(v, in->u.idx, &f))
        return -1;
    if (pop_vals(v, label_types(f), label_arity(f), NULL))
        return -1;
    return push_vals(v, label_types(f), label_arity(f));
}

static int val_br_table(struct val *v, const struct wm_ins *in)
{
    struct frame *d, *f;
    if (pop(v, WM_I32, NULL) || label(v, in->u.br_table.deflt, &d))
        return -1;
    uint32_t arity = label_arity(d);
    if (grow((void **)&v->scratch, &v->xcap, arity + 1, 1))
        return nomem(v);
    for (uint32_t i = 0; i < in->u.br_table.count; i++) {
        if (label(v, in->u.br_table.labels[i], &f))
            return -1;
        if (label_arity(f) != arity)
            return vfail(v, "type mismatch: br_table targets have %u and "
                         "%u values", label_arity(f), arity);
        if (pop_vals(v, label_types(f), arity, v->scratch) ||
            push_vals(v, v->scratch, arity))
            return -1;
    }
    if (pop_vals(v, label_types(d), arity, NULL))
        return -1;
    set_unreachable(v);
    return 0;
}

static int val_return(struct val *v)
{
    const struct frame *f = &v->ctl[0];
    if (pop_vals(v, f->results, f->nresults, NULL))
        return -1;
    set_unreachable(v);
    return 0;
}

static int apply_type(struct val *v, const struct wm_functype *ft)
{
    return pop_vals(v, ft->params, ft->nparams, NULL) ||
           push_vals(v, ft->results, ft->nresults) ? -1 : 0;
}

static int check_table(struct val *v, uint32_t t)
{
    if (t >= wm_table_count(v->m))
        return vfail(v, "unknown table %u", t);
    return 0;
}

/* The type a call calls: the function's (call, return_call) or the
 * immediate's, after checking the table and popping the index
 * (call_indirect, return_call_indirect). */
static int callee_type(struct val *v, const struct wm_ins *in,
                       const struct wm_functype **ft)
{
    if (in->op == WM_OP_CALL || in->op == WM_OP_RETURN_CALL) {
        if (in->u.idx >= wm_func_count(v->m))
            return vfail(v, "unknown function %u", in->u.idx);
        *ft = wm_func_type(v->m, in->u.idx);
        return 0;
    }
    uint32_t type = in->u.two.a, table = in->u.two.b;
    if (check_table(v, table))
        return -1;
    if (wm_table_type(v->m, table)->elem != WM_FUNCREF)
        return vfail(v, "type mismatch: %s on table %u of %s", OPNAME(v),
                     table, wm_valtype_name(wm_table_type(v->m, table)->elem));
    if (type >= v->m->ntypes)
        return vfail(v, "unknown type %u", type);
    *ft = &v->m->types[type];
    return pop(v, WM_I32, NULL);
}

/* call and call_indirect. */
static int val_call(struct val *v, const struct wm_ins *in)
{
    const struct wm_functype *ft;
    return callee_type(v, in, &ft) || apply_type(v, ft) ? -1 : 0;
}

/* return_call and return_call_indirect (the tail-call proposal): a call
 * whose results are the function's, then nothing (spec: like return). */
static int val_return_call(struct val *v, const struct wm_ins *in)
{
    if (!(v->features & WM_FEATURE_TAIL_CALL))
        return vfail(v, "%s: the tail-call proposal is not enabled "
                     "(--enable-tail-call)", OPNAME(v));
    const struct wm_functype *callee;
    if (callee_type(v, in, &callee))
        return -1;
    const struct frame *f = &v->ctl[0];
    if (callee->nresults != f->nresults ||
        memcmp(callee->results, f->results, f->nresults * sizeof *f->results) != 0)
        return vfail(v, "type mismatch: %s: the callee's results are not the "
                     "function's", OPNAME(v));
    if (pop_vals(v, callee->params, callee->nparams, NULL))
        return -1;
    set_unreachable(v);
    return 0;
}

/* ===== Exception handling (the legacy proposal) ========================= */

/* Without WM_FEATURE_EXCEPTIONS these opcodes are unknown to Wasm 2.0; the
 * decoder reads them whatever the features, so the error has the kind an
 * unknown opcode's has. */
static int exceptions_off(struct val *v)
{
    return wm_fail(v->err, WM_ERR_MALFORMED, v->in->offset, v->func,
                   "illegal opcode 0x%02x: %s: the exception-handling proposal "
                   "is not enabled (--enable-exceptions)",
                   wm_op_table[v->in->op].code, OPNAME(v));
}

static bool is_exception_op(uint16_t op)
{
    switch (op) {
    case WM_OP_TRY: case WM_OP_CATCH: case WM_OP_CATCH_ALL: case WM_OP_DELEGATE:
    case WM_OP_THROW: case WM_OP_RETHROW:
        return true;
    default:
        return false;
    }
}

/* Tag x's type: its params are the values an exception of it carries. */
static int tag_type(struct val *v, uint32_t x, const struct wm_functype **ft)
{
    *ft = NULL;
    if (x >= wm_tag_count(v->m))
        return vfail(v, "unknown tag %u", x);
    *ft = wm_tag_type(v->m, x);
    return 0;
}

/* catch x and catch_all end the try body or the catch clause before them,
 * checked as `else` checks an if's first arm; the clause then starts
 * from the frame's height with the exception's values (catch: tag x's
 * params; catch_all: none). At most one catch_all, the last clause. */
static int val_catch(struct val *v, const struct wm_ins *in)
{
    struct frame *f = &v->ctl[v->depth - 1];
    const struct wm_functype *tag = NULL;
    if (f->op == WM_OP_CATCH_ALL)
        return vfail(v, "%s after catch_all", OPNAME(v));
    if (f->op != WM_OP_TRY && f->op != WM_OP_CATCH)
        return vfail(v, "%s without matching try", OPNAME(v));
    if (in->op == WM_OP_CATCH && tag_type(v, in->u.idx, &tag))
        return -1;
    if (end_frame(v))
        return -1;
    f->op = in->op;
    f->unreachable = false;
    return tag ? push_vals(v, tag->params, tag->nparams) : 0;
}

/* delegate l ends a try that has no catch clause, as `end` would. l names
 * where an exception goes, counted among the blocks outside the try (the
 * function's own, the last, stands for the caller). */
static int val_delegate(struct val *v, const struct wm_ins *in)
{
    const struct frame *f = &v->ctl[v->depth - 1];
    if (f->op == WM_OP_CATCH || f->op == WM_OP_CATCH_ALL)
        return vfail(v, "delegate after a catch clause");
    if (f->op != WM_OP_TRY)
        return vfail(v, "delegate without matching try");
    if (in->u.idx >= v->depth - 1)
        return vfail(v, "unknown label %u (%u block(s) outside the try)", in->u.idx,
                     v->depth - 1);
    return val_end(v);
}

static int val_throw(struct val *v, const struct wm_ins *in)
{
    const struct wm_functype *tag;
    if (tag_type(v, in->u.idx, &tag) || pop_vals(v, tag->params, tag->nparams, NULL))
        return -1;
    set_unreachable(v);
    return 0;
}

/* rethrow l: the exception that the catch clause l is in caught. */
static int val_rethrow(struct val *v, const struct wm_ins *in)
{
    struct frame *f;
    if (label(v, in->u.idx, &f))
        return -1;
    if (f->op != WM_OP_CATCH && f->op != WM_OP_CATCH_ALL)
        return vfail(v, "invalid rethrow label %u: not a catch or catch_all "
                     "clause", in->u.idx);
    set_unreachable(v);
    return 0;
}

/* try, catch, catch_all, delegate, throw and rethrow. A try is a block
 * (label: its results, whichever part a branch leaves). */
static int val_exception(struct val *v, const struct wm_ins *in)
{
    if (!(v->features & WM_FEATURE_EXCEPTIONS))
        return exceptions_off(v);
    switch (in->op) {
    case WM_OP_TRY: return val_block(v, in);
    case WM_OP_CATCH: case WM_OP_CATCH_ALL: return val_catch(v, in);
    case WM_OP_DELEGATE: return val_delegate(v, in);
    case WM_OP_THROW: return val_throw(v, in);
    default: return val_rethrow(v, in);         /* WM_OP_RETHROW */
    }
}

/* ===== Parametric and variable instructions ============================= */

static bool is_num_or_vec(wm_valtype t)
{
    return t == UNKNOWN || !wm_valtype_is_ref(t);
}

static int val_select(struct val *v, const struct wm_ins *in)
{
    wm_valtype t1, t2;
    if (in->op == WM_OP_SELECT_T) {
        if (in->u.select.count != 1)
            return vfail(v, "invalid result arity: select takes 1 type, "
                         "not %u", in->u.select.count);
        wm_valtype t = in->u.select.type;
        return pop(v, WM_I32, NULL) || pop(v, t, NULL) || pop(v, t, NULL) ||
               push(v, t) ? -1 : 0;
    }
    if (pop(v, WM_I32, NULL) || pop(v, UNKNOWN, &t1) || pop(v, UNKNOWN, &t2))
        return -1;
    if (!is_num_or_vec(t1) || !is_num_or_vec(t2))
        return vfail(v, "type mismatch: select without a type needs numeric "
                     "or vector operands, found %s", tname(is_num_or_vec(t1) ? t2 : t1));
    if (t1 != UNKNOWN && t2 != UNKNOWN && t1 != t2)
        return vfail(v, "type mismatch: select operands %s and %s differ",
                     tname(t2), tname(t1));
    return push(v, t1 != UNKNOWN ? t1 : t2);
}

static int local_type(struct val *v, uint32_t x, wm_valtype *t)
{
    *t = UNKNOWN;
    if (x >= v->nlocals)
        return vfail(v, "unknown local %u", x);
    uint32_t lo = 0, hi = v->nruns;             /* binary search the runs */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v->locals[mid].first <= x)
            lo = mid;
        else
            hi = mid;
    }
    *t = v->locals[lo].type;
    return 0;
}

static int val_local(struct val *v, const struct wm_ins *in)
{
    wm_valtype t;
    if (local_type(v, in->u.idx, &t))
        return -1;
    switch (in->op) {
    case WM_OP_LOCAL_GET: return push(v, t);
    case WM_OP_LOCAL_SET: return pop(v, t, NULL);
    default: return pop(v, t, NULL) || push(v, t) ? -1 : 0;   /* tee */
    }
}

static int val_global(struct val *v, const struct wm_ins *in)
{
    if (in->u.idx >= wm_global_count(v->m))
        return vfail(v, "unknown global %u", in->u.idx);
    const struct wm_globaltype *g = wm_global_type(v->m, in->u.idx);
    if (in->op == WM_OP_GLOBAL_GET)
        return push(v, g->type);
    if (!g->mut)
        return vfail(v, "global is immutable: global.set of global %u",
                     in->u.idx);
    return pop(v, g->type, NULL);
}

/* ===== Tables and references ============================================ */

static int check_elem(struct val *v, uint32_t e)
{
    if (e >= v->m->nelems)
        return vfail(v, "unknown elem segment %u", e);
    return 0;
}

static int val_table(struct val *v, const struct wm_ins *in)
{
    uint32_t x = in->op == WM_OP_TABLE_INIT ? in->u.two.b :
                 in->op == WM_OP_TABLE_COPY ? in->u.two.a : in->u.idx;
    if (in->op == WM_OP_ELEM_DROP)
        return check_elem(v, in->u.idx);
    if (check_table(v, x))
        return -1;
    wm_valtype t = wm_table_type(v->m, x)->elem;
    switch (in->op) {
    case WM_OP_TABLE_GET:
        return pop(v, WM_I32, NULL) || push(v, t) ? -1 : 0;
    case WM_OP_TABLE_SET:
        return pop(v, t, NULL) || pop(v, WM_I32, NULL) ? -1 : 0;
    case WM_OP_TABLE_SIZE:
        return push(v, WM_I32);
    case WM_OP_TABLE_GROW:
        return pop(v, WM_I32, NULL) || pop(v, t, NULL) || push(v, WM_I32) ? -1 : 0;
    case WM_OP_TABLE_FILL:
        return pop(v, WM_I32, NULL) || pop(v, t, NULL) || pop(v, WM_I32, NULL) ? -1 : 0;
    case WM_OP_TABLE_COPY:
        if (check_table(v, in->u.two.b))
            return -1;
        if (wm_table_type(v->m, in->u.two.b)->elem != t)
            return vfail(v, "type mismatch: table.copy from %s to %s table",
                         wm_valtype_name(wm_table_type(v->m, in->u.two.b)->elem),
                         wm_valtype_name(t));
        break;
    default: /* WM_OP_TABLE_INIT */
        if (check_elem(v, in->u.two.a))
            return -1;
        if (v->m->elems[in->u.two.a].type != t)
            return vfail(v, "type mismatch: table.init of %s segment into "
                         "%s table", wm_valtype_name(v->m->elems[in->u.two.a].type),
                         wm_valtype_name(t));
        break;
    }
    return pop(v, WM_I32, NULL) || pop(v, WM_I32, NULL) || pop(v, WM_I32, NULL) ? -1 : 0;
}

static int check_func_ref(struct val *v, uint32_t f)
{
    if (f >= wm_func_count(v->m))
        return vfail(v, "unknown function %u", f);
    if (!(v->refs[f / 8] & (1u << (f % 8))))
        return vfail(v, "undeclared function reference %u: ref.func needs "
                     "the function in an element segment, global or export", f);
    return 0;
}

static int val_ref(struct val *v, const struct wm_ins *in)
{
    wm_valtype t;
    switch (in->op) {
    case WM_OP_REF_NULL:
        return push(v, in->u.reftype);
    case WM_OP_REF_IS_NULL:
        if (pop(v, UNKNOWN, &t))
            return -1;
        if (t != UNKNOWN && !wm_valtype_is_ref(t))
            return vfail(v, "type mismatch: ref.is_null expects a reference "
                         "but found %s", tname(t));
        return push(v, WM_I32);
    default: /* WM_OP_REF_FUNC */
        return check_func_ref(v, in->u.idx) || push(v, WM_FUNCREF) ? -1 : 0;
    }
}

/* ===== Memory, numeric and vector instructions (by signature) =========== */

static wm_valtype sig_type(char c)
{
    switch (c) {
    case 'i': return WM_I32;
    case 'l': return WM_I64;
    case 'f': return WM_F32;
    case 'd': return WM_F64;
    default: return WM_V128;
    }
}

static int apply_sig(struct val *v, const char *sig)
{
    const char *colon = strchr(sig, ':');
    for (const char *p = colon; p-- > sig;)
        if (pop(v, sig_type(*p), NULL))
            return -1;
    for (const char *p = colon + 1; *p; p++)
        if (push(v, sig_type(*p)))
            return -1;
    return 0;
}

static int check_memarg(struct val *v, const struct wm_ins *in, unsigned natural)
{
    /* The threads proposal: an atomic access's alignment is exactly its
     * natural one. */
    if (wm_op_table[in->op].prefix == 0xfe && in->u.mem.align != natural)
        return vfail(v, "alignment must be equal to natural alignment: %s with "
                     "alignment 2^%u, natural %u bytes", OPNAME(v), in->u.mem.align,
                     1u << natural);
    if (in->u.mem.align > natural)
        return vfail(v, "alignment must not be larger than natural: %s with "
                     "alignment 2^%u > %u bytes", OPNAME(v), in->u.mem.align,
                     1u << natural);
    return 0;
}

static int check_lane(struct val *v, unsigned lane, unsigned lanes)
{
    if (lane >= lanes)
        return vfail(v, "invalid lane index %u: %s has %u lanes", lane,
                     OPNAME(v), lanes);
    return 0;
}

/* Does the instruction access a memory (and name one)? */
static bool is_memory_ins(const struct wm_ins *in)
{
    switch ((enum wm_op_imm)wm_op_table[in->op].imm) {
    case WM_IMM_MEMARG: case WM_IMM_MEMARG_LANE: case WM_IMM_MEMIDX:
    case WM_IMM_MEMORY_INIT: case WM_IMM_MEMORY_COPY:
        return true;
    default:
        return false;
    }
}

/* A memory instruction's memory indices. Without the multi-memory
 * proposal their encoding is Wasm 2.0's: a memarg's alignment past 2^63
 * (its memory-index bit) is too large, any other index than the byte 0x00
 * is malformed (the decoder cannot tell: it reads indices whatever the
 * features). */
static int check_memories(struct val *v, const struct wm_ins *in)
{
    const struct wm_op_info *oi = &wm_op_table[in->op];
    bool memarg = oi->imm == WM_IMM_MEMARG || oi->imm == WM_IMM_MEMARG_LANE;
    if (in->mem_explicit && !(v->features & WM_FEATURE_MULTI_MEMORY)) {
        if (memarg)
            return vfail(v, "alignment must not be larger than natural: %s with "
                         "alignment bit 0x40 (a memory index: the multi-memory "
                         "proposal is not enabled (--enable-multi-memory))",
                         OPNAME(v));
        return wm_fail(v->err, WM_ERR_MALFORMED, in->offset, v->func,
                       "zero byte expected: %s (a memory index other than 0: the "
                       "multi-memory proposal is not enabled (--enable-multi-memory))",
                       OPNAME(v));
    }
    uint32_t n = wm_memory_count(v->m);
    if (n == 0)
        return vfail(v, "unknown memory 0: %s in a module without memory", oi->name);
    if (in->mem >= n || (oi->imm == WM_IMM_MEMORY_COPY && in->mem_src >= n))
        return vfail(v, "unknown memory %u: %s in a module with %u",
                     in->mem >= n ? in->mem : in->mem_src, oi->name, n);
    return 0;
}

static int val_immediates(struct val *v, const struct wm_ins *in)
{
    const struct wm_op_info *oi = &wm_op_table[in->op];
    if (is_memory_ins(in) && check_memories(v, in))
        return -1;
    switch ((enum wm_op_imm)oi->imm) {
    case WM_IMM_MEMARG:
        return check_memarg(v, in, oi->arg);
    case WM_IMM_MEMARG_LANE:
        return check_memarg(v, in, oi->arg) ||
               check_lane(v, in->u.mem.lane, 16u >> oi->arg) ? -1 : 0;
    case WM_IMM_LANE:
        return check_lane(v, in->u.lane, oi->arg);
    case WM_IMM_SHUFFLE:
        for (int i = 0; i < 16; i++)
            if (check_lane(v, in->u.v128[i], 32))
                return -1;
        return 0;
    case WM_IMM_MEMORY_INIT: case WM_IMM_DATA:
        if (in->u.idx >= (v->m->has_data_count ? v->m->data_count
                                               : v->m->ndatas))
            return vfail(v, "unknown data segment %u", in->u.idx);
        return 0;
    default:
        return 0;
    }
}

/* A memory instruction's signature with its addresses and sizes typed by
 * its memory (memory64: i64 where the table says i32). buf: 8 bytes. */
static const char *memory_sig(const struct val *v, const struct wm_ins *in, char *buf)
{
    const struct wm_op_info *oi = &wm_op_table[in->op];
    size_t n = strlen(oi->sig);
    memcpy(buf, oi->sig, n + 1);
    bool dst64 = wm_memory_type(v->m, in->mem)->is64;
    switch (in->op) {
    case WM_OP_MEMORY_SIZE:
        buf[1] = dst64 ? 'l' : 'i';
        break;
    case WM_OP_MEMORY_GROW: case WM_OP_MEMORY_FILL:     /* "i:i", "iii:" */
        buf[0] = buf[2] = dst64 ? 'l' : 'i';
        break;
    case WM_OP_MEMORY_COPY: {
        bool src64 = wm_memory_type(v->m, in->mem_src)->is64;
        buf[0] = dst64 ? 'l' : 'i';
        buf[1] = src64 ? 'l' : 'i';
        buf[2] = dst64 && src64 ? 'l' : 'i';     /* the smaller of the two */
        break;
    }
    default:                                    /* the address comes first */
        buf[0] = dst64 ? 'l' : 'i';
        break;
    }
    return buf;
}

/* ===== One instruction ================================================== */

static int val_ins(struct val *v, const struct wm_ins *in)
{
    v->in = in;
    switch (in->op) {
    case WM_OP_UNREACHABLE: set_unreachable(v); return 0;
    case WM_OP_NOP: return 0;
    case WM_OP_BLOCK: case WM_OP_LOOP: case WM_OP_IF: return val_block(v, in);
    case WM_OP_ELSE: return val_else(v);
    case WM_OP_END: return val_end(v);
    case WM_OP_BR: return val_br(v, in);
    case WM_OP_BR_IF: return val_br_if(v, in);
    case WM_OP_BR_TABLE: return val_br_table(v, in);
    case WM_OP_RETURN: return val_return(v);
    case WM_OP_CALL: case WM_OP_CALL_INDIRECT: return val_call(v, in);
    case WM_OP_RETURN_CALL: case WM_OP_RETURN_CALL_INDIRECT: return val_return_call(v, in);
    case WM_OP_TRY: case WM_OP_CATCH: case WM_OP_CATCH_ALL: case WM_OP_DELEGATE:
    case WM_OP_THROW: case WM_OP_RETHROW:
        return val_exception(v, in);
    case WM_OP_DROP: return pop(v, UNKNOWN, NULL);
    case WM_OP_SELECT: case WM_OP_SELECT_T: return val_select(v, in);
    case WM_OP_LOCAL_GET: case WM_OP_LOCAL_SET: case WM_OP_LOCAL_TEE:
        return val_local(v, in);
    case WM_OP_GLOBAL_GET: case WM_OP_GLOBAL_SET: return val_global(v, in);
    case WM_OP_TABLE_GET: case WM_OP_TABLE_SET: case WM_OP_TABLE_SIZE:
    case WM_OP_TABLE_GROW: case WM_OP_TABLE_FILL: case WM_OP_TABLE_COPY:
    case WM_OP_TABLE_INIT: case WM_OP_ELEM_DROP:
        return val_table(v, in);
    case WM_OP_REF_NULL: case WM_OP_REF_IS_NULL: case WM_OP_REF_FUNC:
        return val_ref(v, in);
    default:
        if (wm_op_table[in->op].prefix == 0xfe && !(v->features & WM_FEATURE_THREADS))
            return vfail(v, "%s: the threads proposal is not enabled "
                         "(--enable-threads)", OPNAME(v));
        if (val_immediates(v, in))
            return -1;
        if (is_memory_ins(in)) {
            char sig[8];
            return apply_sig(v, memory_sig(v, in, sig));
        }
        return apply_sig(v, wm_op_table[in->op].sig);
    }
}

/* ===== Functions ======================================================== */

static int setup_locals(struct val *v, const struct wm_functype *ft,
                        const struct wm_func *f)
{
    uint32_t n = ft->nparams + f->nlocal_groups;
    free(v->locals);
    v->locals = malloc(((size_t)n + 1) * sizeof *v->locals);
    if (!v->locals)
        return nomem(v);
    v->nruns = 0;
    v->nlocals = 0;
    for (uint32_t i = 0; i < ft->nparams; i++)
        v->locals[v->nruns++] = (struct local_run){ (uint32_t)v->nlocals++, 1,
                                                    ft->params[i] };
    for (uint32_t i = 0; i < f->nlocal_groups; i++) {
        if (f->local_groups[i].count == 0)
            continue;
        v->locals[v->nruns++] = (struct local_run){
            (uint32_t)v->nlocals, f->local_groups[i].count,
            f->local_groups[i].type };
        v->nlocals += f->local_groups[i].count;
    }
    return 0;
}

static int val_func(struct val *v, uint32_t i)
{
    const struct wm_module *m = v->m;
    const struct wm_func *f = &m->funcs[i];
    const struct wm_functype *ft = &m->types[f->type];
    struct wm_ins_reader ir;
    struct wm_ins in = { .op = WM_OP_BLOCK, .offset = f->code_offset };
    struct wm_rd r = { m->bytes, f->code_offset, f->code_offset + f->code_len,
                    m->nfunc_imports + i, v->err };
    int rc = -1;

    v->func = r.func;
    v->in = &in;
    v->sp = 0;
    v->depth = 0;
    if (setup_locals(v, ft, f))
        return -1;
    /* The function body is a block typed [] -> results. */
    const struct wm_functype body = { 0, ft->nresults, NULL, ft->results };
    if (push_ctrl(v, WM_OP_BLOCK, &body))
        return -1;
    wm_ins_reader_init(&ir, &r);
    ir.m = v->m;
    while (v->depth > 0) {
        if (wm_ins_read(&ir, &in) || val_ins(v, &in))
            goto out;
    }
    rc = 0;
out:
    wm_ins_reader_deinit(&ir);
    return rc;
}

/* ===== Constant expressions ============================================= */

/* The extended-const proposal's t.add, t.sub and t.mul (t i32 or i64). */
static int val_const_arith(struct val *v, wm_valtype t)
{
    if (!(v->features & WM_FEATURE_EXTENDED_CONST))
        return vfail(v, "constant expression required: %s: the extended-const "
                     "proposal is not enabled (--enable-extended-const)", OPNAME(v));
    if (pop(v, t, NULL) || pop(v, t, NULL))
        return -1;
    return push(v, t);
}

/*
 * Spec 3.3.10: constant instructions are t.const, ref.null, ref.func and
 * global.get of an immutable global. As in the suite this runtime follows,
 * constant expressions see only the imported globals (nvisible).
 */
static int val_const_ins(struct val *v, const struct wm_ins *in, uint32_t nvisible)
{
    switch (in->op) {
    case WM_OP_I32_CONST: return push(v, WM_I32);
    case WM_OP_I64_CONST: return push(v, WM_I64);
    case WM_OP_F32_CONST: return push(v, WM_F32);
    case WM_OP_F64_CONST: return push(v, WM_F64);
    case WM_OP_V128_CONST: return push(v, WM_V128);
    case WM_OP_REF_NULL: return push(v, in->u.reftype);
    case WM_OP_REF_FUNC:
        if (in->u.idx >= wm_func_count(v->m))
            return vfail(v, "unknown function %u", in->u.idx);
        return push(v, WM_FUNCREF);
    case WM_OP_GLOBAL_GET:
        if (in->u.idx >= nvisible)
            return vfail(v, "unknown global %u in a constant expression",
                         in->u.idx);
        if (wm_global_type(v->m, in->u.idx)->mut)
            return vfail(v, "constant expression required: global %u is "
                         "mutable", in->u.idx);
        return push(v, wm_global_type(v->m, in->u.idx)->type);
    case WM_OP_I32_ADD: case WM_OP_I32_SUB: case WM_OP_I32_MUL:
        return val_const_arith(v, WM_I32);
    case WM_OP_I64_ADD: case WM_OP_I64_SUB: case WM_OP_I64_MUL:
        return val_const_arith(v, WM_I64);
    default:
        if (is_exception_op(in->op) && !(v->features & WM_FEATURE_EXCEPTIONS))
            return exceptions_off(v);
        return vfail(v, "constant expression required: %s is not constant",
                     OPNAME(v));
    }
}

static int val_const(struct val *v, const struct wm_constexpr *ce,
                     wm_valtype want, uint32_t nvisible)
{
    if (!ce->code) {                /* a function index in an elem segment */
        if (ce->u.index >= wm_func_count(v->m))
            return vfail_at(v, ce->offset, "unknown function %u", ce->u.index);
        return want == WM_FUNCREF ? 0 : vfail_at(v, ce->offset, "type mismatch");
    }
    struct wm_rd r = { v->m->bytes, ce->offset, ce->offset + ce->len, -1, v->err };
    struct wm_ins_reader ir;
    struct wm_ins in = { .op = WM_OP_END, .offset = ce->offset };
    int rc = -1;
    v->in = &in;
    v->sp = 0;
    v->depth = 0;
    const wm_valtype *one = wm_valtype_one(want);
    const struct wm_functype type = { 0, one != NULL, NULL, one };
    if (push_ctrl(v, WM_OP_BLOCK, &type))
        return -1;
    wm_ins_reader_init(&ir, &r);
    ir.m = v->m;
    for (;;) {
        if (wm_ins_read(&ir, &in))
            goto out;
        if (in.op == WM_OP_END)
            break;
        if (val_const_ins(v, &in, nvisible))
            goto out;
    }
    if (v->sp != 1 || v->stack[0] != want) {
        vfail_at(v, ce->offset, "type mismatch: constant expression must "
                 "produce one %s, found %u value(s)%s%s", wm_valtype_name(want),
                 v->sp, v->sp ? " ending in " : "",
                 v->sp ? tname(v->stack[v->sp - 1]) : "");
        goto out;
    }
    rc = 0;
out:
    wm_ins_reader_deinit(&ir);
    v->in = NULL;                   /* `in` dies here */
    return rc;
}

/* ===== Module =========================================================== */

static int mfail(struct val *v, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int mfail(struct val *v, size_t at, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wm_fail(v->err, WM_ERR_INVALID, at, -1, "%s", msg);
}

/* Limits of a table (unit "elements") or memory ("pages"), spec 3.2.4. */
static int val_limits(struct val *v, const struct wm_limits *l, uint64_t max,
                      const char *what)
{
    const char *unit = strcmp(what, "memory") != 0 ? "elements"
                     : max == WM_MAX_PAGES ? "pages (4 GiB)" : "pages (2^64 bytes)";
    if (l->min > max || (l->has_max && l->max > max))
        return mfail(v, l->offset, "%s size must be at most %llu %s", what,
                     (unsigned long long)max, unit);
    if (l->has_max && l->min > l->max)
        return mfail(v, l->offset, "size minimum must not be greater than "
                     "maximum (%s: %llu > %llu)", what,
                     (unsigned long long)l->min, (unsigned long long)l->max);
    return 0;
}

/* A memory type: its limits, and a shared memory's (the threads
 * proposal) maximum. The decoder reads the shared flag whatever the
 * features; without the threads proposal the flags byte is malformed, as
 * in Wasm 2.0, so the error is of that kind. */
static int val_memtype(struct val *v, const struct wm_memtype *t)
{
    unsigned flags = (t->limits.has_max ? 1u : 0u) | (t->shared ? 2u : 0u) |
                     (t->is64 ? 4u : 0u);
    if (t->is64 && !(v->features & WM_FEATURE_MEMORY64))
        return wm_fail(v->err, WM_ERR_MALFORMED, t->limits.offset, -1,
                       "malformed limits flags 0x%02x: 64-bit memory: the memory64 "
                       "proposal is not enabled (--enable-memory64)", flags);
    if (t->shared && !(v->features & WM_FEATURE_THREADS))
        return wm_fail(v->err, WM_ERR_MALFORMED, t->limits.offset, -1,
                       "malformed limits flags 0x%02x: shared memory: the threads "
                       "proposal is not enabled (--enable-threads)", flags);
    if (val_limits(v, &t->limits, t->is64 ? WM_MAX_PAGES64 : WM_MAX_PAGES, "memory"))
        return -1;
    if (!t->shared)
        return 0;
    if (!t->limits.has_max)
        return mfail(v, t->limits.offset, "shared memory must have maximum");
    return 0;
}

/* Where section `id` starts (its id byte) in the module's bytes; 0 when
 * there is none. */
static size_t section_offset(const struct wm_module *m, uint8_t id)
{
    struct wm_rd r = { m->bytes, 8, m->size, -1, NULL };
    while (wm_rd_left(&r) > 0) {
        size_t at = r.pos;
        uint8_t b;
        uint32_t size;
        if (wm_rd_u8(&r, &b) || wm_rd_u32(&r, &size) || size > wm_rd_left(&r))
            return 0;
        if (b == id)
            return at;
        r.pos += size;
    }
    return 0;
}

/* Without the exception-handling proposal, Wasm 2.0 knows no tags: a tag
 * import's or export's kind is malformed, and so is the tag section's id
 * (the decoder sets m->tags for any tag section, even an empty one). The
 * decoder reads them whatever the features; checked before anything else,
 * as Wasm 2.0 would not have decoded the module. */
static int val_tags_allowed(struct val *v)
{
    const struct wm_module *m = v->m;
    const char *off = "the exception-handling proposal is not enabled "
                      "(--enable-exceptions)";
    if (v->features & WM_FEATURE_EXCEPTIONS)
        return 0;
    for (uint32_t i = 0; i < m->nimports; i++)
        if (m->imports[i].kind == WM_EXTERN_TAG)
            return wm_fail(v->err, WM_ERR_MALFORMED, m->imports[i].offset, -1,
                           "malformed import kind 0x%02x: a tag: %s", WM_EXTERN_TAG, off);
    if (m->tags != NULL)
        return wm_fail(v->err, WM_ERR_MALFORMED, section_offset(m, SEC_TAG), -1,
                       "malformed section id %u: the tag section: %s", SEC_TAG, off);
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == WM_EXTERN_TAG)
            return wm_fail(v->err, WM_ERR_MALFORMED, m->exports[i].offset, -1,
                           "malformed export kind 0x%02x: a tag: %s", WM_EXTERN_TAG, off);
    return 0;
}

/* A tag's type: a function type whose results are empty (an exception
 * carries its params). */
static int val_tagtype(struct val *v, size_t at, uint32_t tag, uint32_t type)
{
    if (type >= v->m->ntypes)
        return mfail(v, at, "unknown type %u for tag %u", type, tag);
    if (v->m->types[type].nresults != 0)
        return mfail(v, at, "non-empty tag result type: tag %u of type %u has %u "
                     "result(s)", tag, type, v->m->types[type].nresults);
    return 0;
}

static int val_imports(struct val *v)
{
    const struct wm_module *m = v->m;
    uint32_t ntags = 0;
    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct wm_import *im = &m->imports[i];
        switch (im->kind) {
        case WM_EXTERN_FUNC:
            if (im->u.func_type >= m->ntypes)
                return mfail(v, im->offset, "unknown type %u in import %s.%s",
                             im->u.func_type, im->module.str, im->name.str);
            break;
        case WM_EXTERN_TABLE:
            if (val_limits(v, &im->u.table.limits, WM_MAX_TABLE_SIZE, "table"))
                return -1;
            break;
        case WM_EXTERN_MEMORY:
            if (val_memtype(v, &im->u.memory))
                return -1;
            break;
        case WM_EXTERN_GLOBAL:
            break;
        case WM_EXTERN_TAG:
            if (val_tagtype(v, im->offset, ntags++, im->u.tag_type))
                return -1;
            break;
        }
    }
    return 0;
}

static int val_definitions(struct val *v)
{
    const struct wm_module *m = v->m;
    for (uint32_t i = 0; i < m->nfuncs; i++)
        if (m->funcs[i].type >= m->ntypes)
            return mfail(v, m->funcs[i].body_offset, "unknown type %u for "
                         "func %u", m->funcs[i].type, m->nfunc_imports + i);
    for (uint32_t i = 0; i < m->ntables; i++)
        if (val_limits(v, &m->tables[i].limits, WM_MAX_TABLE_SIZE, "table"))
            return -1;
    if (wm_memory_count(m) > 1 && !(v->features & WM_FEATURE_MULTI_MEMORY))
        return mfail(v, m->nmemories ? m->memories[m->nmemories - 1].limits.offset : 0,
                     "multiple memories: %u (Wasm 2.0 allows one; the multi-memory "
                     "proposal is not enabled (--enable-multi-memory))",
                     wm_memory_count(m));
    if (wm_memory_count(m) > WM_MAX_MEMORIES)
        return wm_fail(v->err, WM_ERR_LIMIT, m->nmemories ?
                       m->memories[m->nmemories - 1].limits.offset : 0, -1,
                       "too many memories: %u (awsm's limit is %u)",
                       wm_memory_count(m), WM_MAX_MEMORIES);
    for (uint32_t i = 0; i < m->nmemories; i++)
        if (val_memtype(v, &m->memories[i]))
            return -1;
    size_t tags_at = m->ntags ? section_offset(m, SEC_TAG) : 0;
    for (uint32_t i = 0; i < m->ntags; i++)
        if (val_tagtype(v, tags_at, m->ntag_imports + i, m->tags[i]))
            return -1;
    for (uint32_t i = 0; i < m->nglobals; i++)
        if (val_const(v, &m->globals[i].init, m->globals[i].type.type,
                      m->nglobal_imports))
            return -1;
    return 0;
}

static int val_elems(struct val *v)
{
    const struct wm_module *m = v->m;
    for (uint32_t i = 0; i < m->nelems; i++) {
        const struct wm_elem *e = &m->elems[i];
        if (e->mode == WM_SEG_ACTIVE) {
            if (e->table >= wm_table_count(m))
                return mfail(v, e->offset_in_file, "unknown table %u in "
                             "elem segment %u", e->table, i);
            if (val_const(v, &e->offset, WM_I32, m->nglobal_imports))
                return -1;
            if (wm_table_type(m, e->table)->elem != e->type)
                return mfail(v, e->offset_in_file, "type mismatch: elem "
                             "segment %u of %s for table %u of %s", i,
                             wm_valtype_name(e->type), e->table,
                             wm_valtype_name(wm_table_type(m, e->table)->elem));
        }
        for (uint32_t k = 0; k < e->count; k++)
            if (val_const(v, &e->inits[k], e->type, m->nglobal_imports))
                return -1;
    }
    return 0;
}

static int val_datas(struct val *v)
{
    const struct wm_module *m = v->m;
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const struct wm_data *d = &m->datas[i];
        if (d->mode != WM_SEG_ACTIVE)
            continue;
        if (d->memory >= wm_memory_count(m))
            return mfail(v, d->offset_in_file, "unknown memory %u in data "
                         "segment %u", d->memory, i);
        if (val_const(v, &d->offset, wm_memory_type(m, d->memory)->is64 ? WM_I64 : WM_I32,
                      m->nglobal_imports))
            return -1;
    }
    return 0;
}

static int val_start(struct val *v)
{
    const struct wm_module *m = v->m;
    if (!m->has_start)
        return 0;
    if (m->start >= wm_func_count(m))
        return mfail(v, m->start_offset, "unknown function %u as start "
                     "function", m->start);
    const struct wm_functype *ft = wm_func_type(m, m->start);
    if (ft->nparams || ft->nresults)
        return mfail(v, m->start_offset, "start function %u must have type [] -> [], not "
                     "%u params and %u results", m->start, ft->nparams,
                     ft->nresults);
    return 0;
}

static int cmp_export_names(const void *a, const void *b)
{
    const struct wm_name *x = &(*(const struct wm_export *const *)a)->name;
    const struct wm_name *y = &(*(const struct wm_export *const *)b)->name;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->str, y->str, n) : 0;
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int val_exports(struct val *v)
{
    const struct wm_module *m = v->m;
    const uint32_t limit[WM_EXTERN_KINDS] = { wm_func_count(m), wm_table_count(m),
                                              wm_memory_count(m), wm_global_count(m),
                                              wm_tag_count(m) };
    for (uint32_t i = 0; i < m->nexports; i++) {
        const struct wm_export *ex = &m->exports[i];
        if (ex->index >= limit[ex->kind])
            return mfail(v, ex->offset, "unknown %s %u in export \"%s\"",
                         wm_extern_kind_name(ex->kind), ex->index, ex->name.str);
    }
    if (m->nexports < 2)
        return 0;
    const struct wm_export **sorted = malloc(m->nexports * sizeof *sorted);
    if (!sorted)
        return nomem(v);
    for (uint32_t i = 0; i < m->nexports; i++)
        sorted[i] = &m->exports[i];
    qsort(sorted, m->nexports, sizeof *sorted, cmp_export_names);
    int rc = 0;
    for (uint32_t i = 1; i < m->nexports && rc == 0; i++)
        if (cmp_export_names(&sorted[i - 1], &sorted[i]) == 0)
            rc = mfail(v, sorted[i]->offset, "duplicate export name \"%s\"",
                       sorted[i]->name.str);
    free(sorted);
    return rc;
}

static void declare_ref(struct val *v, const struct wm_constexpr *ce)
{
    if (ce->op == WM_CONST_REF_FUNC && ce->u.index < wm_func_count(v->m))
        v->refs[ce->u.index / 8] |= (uint8_t)(1u << (ce->u.index % 8));
}

/* C.refs (spec 3.4.10): functions referenced outside function bodies. */
static int collect_refs(struct val *v)
{
    const struct wm_module *m = v->m;
    v->refs = calloc(wm_func_count(m) / 8 + 1, 1);
    if (!v->refs)
        return nomem(v);
    for (uint32_t i = 0; i < m->nglobals; i++)
        declare_ref(v, &m->globals[i].init);
    for (uint32_t i = 0; i < m->nelems; i++)
        for (uint32_t k = 0; k < m->elems[i].count; k++)
            declare_ref(v, &m->elems[i].inits[k]);
    for (uint32_t i = 0; i < m->nexports; i++) {
        const struct wm_export *ex = &m->exports[i];
        if (ex->kind == WM_EXTERN_FUNC && ex->index < wm_func_count(m))
            v->refs[ex->index / 8] |= (uint8_t)(1u << (ex->index % 8));
    }
    return 0;
}

int val_module(const struct wm_module *m, struct wm_error *err)
{
    return val_module_features(m, WM_FEATURES_DEFAULT, err);
}

int val_module_features(const struct wm_module *m, unsigned features,
                        struct wm_error *err)
{
    struct val v = { .m = m, .err = err, .func = -1, .features = features };
    int rc = -1;
    if (val_tags_allowed(&v) || val_imports(&v) || val_definitions(&v) ||
        val_elems(&v) || val_datas(&v) || val_start(&v) || val_exports(&v) ||
        collect_refs(&v))
        goto out;
    for (uint32_t i = 0; i < m->nfuncs; i++)
        if (val_func(&v, i))
            goto out;
    rc = 0;
    if (err)
        err->kind = WM_ERR_NONE;
out:
    free(v.refs);
    free(v.stack);
    free(v.ctl);
    free(v.scratch);
    free(v.locals);
    return rc;
}
