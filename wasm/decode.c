/*
 * wasm/decode.c - the binary decoder (spec chapter 5): sections in order,
 * each into the module's arena. Function bodies and constant expressions are
 * checked for well-formedness here; their typing is validate.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "wasm/internal.h"

/* Section order (spec 5.5.2): data count sits between element and code,
 * the tag section (exception handling) between memory and global. */
static const uint8_t sec_rank[SEC_COUNT] = {
    [SEC_TYPE] = 1, [SEC_IMPORT] = 2, [SEC_FUNCTION] = 3, [SEC_TABLE] = 4,
    [SEC_MEMORY] = 5, [SEC_TAG] = 6, [SEC_GLOBAL] = 7, [SEC_EXPORT] = 8,
    [SEC_START] = 9, [SEC_ELEMENT] = 10, [SEC_DATA_COUNT] = 11, [SEC_CODE] = 12,
    [SEC_DATA] = 13,
};

struct dec {
    struct wm_module *m;
    struct wm_arena *a;
    struct wm_error *err;
    uint32_t nfunc_decls;           /* function section count */
    bool skip_bodies;               /* dec_module_trusted */
    bool has_code;
    bool uses_data_index;           /* memory.init / data.drop seen */
    size_t data_index_at;
    size_t name_sec_at, name_sec_len;
    uint32_t custom_cap;
};

static int nomem(struct dec *d, size_t at)
{
    return wm_fail(d->err, WM_ERR_NOMEM, at, -1, "out of memory");
}

#define ALLOC_VEC(d, r, ptr, n)                                         \
    ((ptr) = wm_arena_array((d)->a, (n) ? (n) : 1, sizeof *(ptr)),         \
     (ptr) ? 0 : nomem((d), (r)->pos))

/* ===== Expressions ====================================================== */

/* dec_expr's open blocks, a byte each: what may still come before their
 * `end`. */
enum {
    NEST_BLOCK,             /* nothing: block, loop, if after else, ... */
    NEST_IF,                /* else */
    NEST_TRY,               /* catch, catch_all, or delegate for the end */
    NEST_CATCH,             /* after a catch: catch, catch_all */
    NEST_CATCH_ALL,         /* after catch_all: nothing more */
};

struct nest {
    uint8_t *open;
    size_t depth, cap;
};

static int nest_push(struct dec *d, struct nest *n, uint8_t state, size_t at)
{
    if (n->depth == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 16;
        uint8_t *p = realloc(n->open, cap);
        if (!p)
            return nomem(d, at);
        n->open = p;
        n->cap = cap;
    }
    n->open[n->depth++] = state;
    return 0;
}

/* What one instruction does to the block structure. The legacy
 * exception-handling proposal's try has catch clauses, then at most one
 * catch_all, and ends with `end`; or, with none of them, with `delegate`.
 * *done at the `end` of the expression itself. */
static int nest_ins(struct dec *d, struct wm_rd *r, struct nest *n,
                    const struct wm_ins *in, bool *done)
{
    uint8_t *top = n->depth ? &n->open[n->depth - 1] : NULL;
    const char *name = wm_op_table[in->op].name;
    switch (in->op) {
    case WM_OP_BLOCK: case WM_OP_LOOP:
        return nest_push(d, n, NEST_BLOCK, in->offset);
    case WM_OP_IF:
        return nest_push(d, n, NEST_IF, in->offset);
    case WM_OP_TRY:
        return nest_push(d, n, NEST_TRY, in->offset);
    case WM_OP_ELSE:
        if (!top || *top != NEST_IF)
            return wm_rd_fail(r, in->offset, "else without matching if");
        *top = NEST_BLOCK;
        return 0;
    case WM_OP_CATCH: case WM_OP_CATCH_ALL:
        if (top && *top == NEST_CATCH_ALL)
            return wm_rd_fail(r, in->offset, "%s after catch_all", name);
        if (!top || (*top != NEST_TRY && *top != NEST_CATCH))
            return wm_rd_fail(r, in->offset, "%s without matching try", name);
        *top = in->op == WM_OP_CATCH ? NEST_CATCH : NEST_CATCH_ALL;
        return 0;
    case WM_OP_DELEGATE:
        if (top && (*top == NEST_CATCH || *top == NEST_CATCH_ALL))
            return wm_rd_fail(r, in->offset, "delegate after a catch clause");
        if (!top || *top != NEST_TRY)
            return wm_rd_fail(r, in->offset, "delegate without matching try");
        n->depth--;
        return 0;
    case WM_OP_END:
        if (!top)
            *done = true;
        else
            n->depth--;
        return 0;
    default:
        return 0;
    }
}

/*
 * Read instructions up to the `end` that closes the expression, checking
 * the block structure (nest_ins): `else` only directly inside an `if`,
 * every block closed. Used for function bodies and constant expressions
 * alike.
 */
static int dec_expr(struct dec *d, struct wm_rd *r)
{
    struct wm_ins_reader ir;
    struct wm_ins in;
    struct nest n = { NULL, 0, 0 };
    bool done = false;
    int rc = -1;

    wm_ins_reader_init(&ir, r);
    ir.m = d->m;                    /* its memories' index types */
    while (!done) {
        if (ir.rd.pos >= ir.rd.end) {
            wm_rd_fail(&ir.rd, ir.rd.pos, "unexpected end of section or function");
            goto out;
        }
        if (wm_ins_read(&ir, &in))
            goto out;
        if (ir.uses_data_index && !d->uses_data_index) {
            d->uses_data_index = true;
            d->data_index_at = in.offset;
        }
        if (nest_ins(d, &ir.rd, &n, &in, &done))
            goto out;
    }
    r->pos = ir.rd.pos;
    rc = 0;
out:
    free(n.open);
    wm_ins_reader_deinit(&ir);
    return rc;
}

/* A constant expression: the bytes, and the decoded form when it is one of
 * Wasm 2.0's single-instruction constants, else WM_CONST_EXPR (the
 * validator checks the rest). */
static int dec_constexpr(struct dec *d, struct wm_rd *r, struct wm_constexpr *ce)
{
    size_t start = r->pos;
    if (dec_expr(d, r))
        return -1;
    ce->offset = start;
    ce->code = r->base + start;
    ce->len = r->pos - start;
    ce->op = WM_CONST_I32;
    ce->u.i64 = 0;

    struct wm_rd sub = { r->base, start, r->pos, -1, NULL };
    struct wm_ins_reader ir;
    struct wm_ins in;
    wm_ins_reader_init(&ir, &sub);
    if (wm_ins_read(&ir, &in) == 0) {
        switch (in.op) {
        case WM_OP_I32_CONST: ce->op = WM_CONST_I32; ce->u.i32 = in.u.i32; break;
        case WM_OP_I64_CONST: ce->op = WM_CONST_I64; ce->u.i64 = in.u.i64; break;
        case WM_OP_F32_CONST: ce->op = WM_CONST_F32; ce->u.f32_bits = in.u.f32; break;
        case WM_OP_F64_CONST: ce->op = WM_CONST_F64; ce->u.f64_bits = in.u.f64; break;
        case WM_OP_V128_CONST:
            ce->op = WM_CONST_V128;
            memcpy(ce->u.v128, in.u.v128, 16);
            break;
        case WM_OP_REF_NULL: ce->op = WM_CONST_REF_NULL; ce->u.ref_type = in.u.reftype; break;
        case WM_OP_REF_FUNC: ce->op = WM_CONST_REF_FUNC; ce->u.index = in.u.idx; break;
        case WM_OP_GLOBAL_GET: ce->op = WM_CONST_GLOBAL_GET; ce->u.index = in.u.idx; break;
        default: break;
        }
        if (in.op != WM_OP_END && (wm_ins_read(&ir, &in) != 0 || in.op != WM_OP_END))
            ce->op = WM_CONST_EXPR;     /* extended-const: from the bytes */
    }
    wm_ins_reader_deinit(&ir);
    return 0;
}

/* ===== Types, limits, imports =========================================== */

static int dec_valtypes(struct dec *d, struct wm_rd *r, uint32_t *n,
                        const wm_valtype **out)
{
    wm_valtype *v;
    if (wm_rd_count(r, n, 1) || ALLOC_VEC(d, r, v, *n))
        return -1;
    for (uint32_t i = 0; i < *n; i++)
        if (wm_rd_valtype(r, &v[i]))
            return -1;
    *out = v;
    return 0;
}

static int dec_type_section(struct dec *d, struct wm_rd *r)
{
    struct wm_module *m = d->m;
    if (wm_rd_count(r, &m->ntypes, 3) || ALLOC_VEC(d, r, m->types, m->ntypes))
        return -1;
    for (uint32_t i = 0; i < m->ntypes; i++) {
        struct wm_functype *ft = &m->types[i];
        size_t at = r->pos;
        uint8_t form;
        if (wm_rd_u8(r, &form))
            return -1;
        if (form != 0x60)
            return wm_rd_fail(r, at, "malformed function type: 0x%02x, "
                           "expected 0x60", form);
        if (dec_valtypes(d, r, &ft->nparams, &ft->params) ||
            dec_valtypes(d, r, &ft->nresults, &ft->results))
            return -1;
    }
    return 0;
}

/* Limits (spec 5.3.7). A memory's flags may also say shared (0x02, the
 * threads proposal: validation requires a maximum) and 64-bit (0x04,
 * memory64: u64 sizes), never a table's. */
static int dec_limits(struct wm_rd *r, struct wm_limits *l, struct wm_memtype *mt)
{
    size_t at = r->pos;
    uint8_t flags;
    l->offset = at;
    if (wm_rd_u8(r, &flags))
        return -1;
    if (flags > (mt != NULL ? 7 : 1))
        return wm_rd_fail(r, at, "malformed limits flags 0x%02x", flags);
    if (mt != NULL) {
        mt->shared = (flags & 2) != 0;
        mt->is64 = (flags & 4) != 0;
    }
    l->has_max = (flags & 1) != 0;
    l->max = 0;
    if (mt != NULL && mt->is64)
        return wm_rd_u64(r, &l->min) || (l->has_max && wm_rd_u64(r, &l->max)) ? -1 : 0;
    uint32_t min, max = 0;
    if (wm_rd_u32(r, &min) || (l->has_max && wm_rd_u32(r, &max)))
        return -1;
    l->min = min;
    l->max = max;
    return 0;
}

static int dec_memtype(struct wm_rd *r, struct wm_memtype *t)
{
    return dec_limits(r, &t->limits, t);
}

static int dec_tabletype(struct wm_rd *r, struct wm_tabletype *t)
{
    return wm_rd_reftype(r, &t->elem) || dec_limits(r, &t->limits, NULL) ? -1 : 0;
}

static int dec_globaltype(struct wm_rd *r, struct wm_globaltype *g)
{
    uint8_t mut;
    size_t at;
    if (wm_rd_valtype(r, &g->type))
        return -1;
    at = r->pos;
    if (wm_rd_u8(r, &mut))
        return -1;
    if (mut > 1)
        return wm_rd_fail(r, at, "malformed mutability 0x%02x", mut);
    g->mut = mut;
    return 0;
}

/* A tag type (exception handling): an attribute, 0x00 (an exception) the
 * only one, then the index of a function type. */
static int dec_tagtype(struct wm_rd *r, uint32_t *type)
{
    size_t at = r->pos;
    uint8_t attribute;
    if (wm_rd_u8(r, &attribute))
        return -1;
    if (attribute != 0)
        return wm_rd_fail(r, at, "malformed tag attribute 0x%02x", attribute);
    return wm_rd_u32(r, type);
}

static int dec_import(struct dec *d, struct wm_rd *r, struct wm_import *im)
{
    struct wm_module *m = d->m;
    uint8_t kind;
    size_t at;
    im->offset = r->pos;
    if (wm_rd_name(r, d->a, &im->module) || wm_rd_name(r, d->a, &im->name))
        return -1;
    at = r->pos;
    if (wm_rd_u8(r, &kind))
        return -1;
    switch (kind) {
    case WM_EXTERN_FUNC:
        m->nfunc_imports++;
        im->kind = WM_EXTERN_FUNC;
        return wm_rd_u32(r, &im->u.func_type);
    case WM_EXTERN_TABLE:
        m->ntable_imports++;
        im->kind = WM_EXTERN_TABLE;
        return dec_tabletype(r, &im->u.table);
    case WM_EXTERN_MEMORY:
        m->nmemory_imports++;
        im->kind = WM_EXTERN_MEMORY;
        return dec_memtype(r, &im->u.memory);
    case WM_EXTERN_GLOBAL:
        m->nglobal_imports++;
        im->kind = WM_EXTERN_GLOBAL;
        return dec_globaltype(r, &im->u.global);
    case WM_EXTERN_TAG:
        m->ntag_imports++;
        im->kind = WM_EXTERN_TAG;
        return dec_tagtype(r, &im->u.tag_type);
    }
    return wm_rd_fail(r, at, "malformed import kind 0x%02x", kind);
}

static int dec_import_section(struct dec *d, struct wm_rd *r)
{
    struct wm_module *m = d->m;
    if (wm_rd_count(r, &m->nimports, 4) || ALLOC_VEC(d, r, m->imports, m->nimports))
        return -1;
    for (uint32_t i = 0; i < m->nimports; i++)
        if (dec_import(d, r, &m->imports[i]))
            return -1;
    const uint32_t counts[WM_EXTERN_KINDS] = { m->nfunc_imports, m->ntable_imports,
                                               m->nmemory_imports, m->nglobal_imports,
                                               m->ntag_imports };
    uint32_t filled[WM_EXTERN_KINDS] = { 0 };
    for (int k = 0; k < WM_EXTERN_KINDS; k++)
        if (ALLOC_VEC(d, r, m->imports_of[k], counts[k]))
            return -1;
    for (uint32_t i = 0; i < m->nimports; i++) {
        enum wm_extern_kind k = m->imports[i].kind;
        m->imports_of[k][filled[k]++] = &m->imports[i];
    }
    return 0;
}

/* ===== Functions, tables, memories, globals, exports, start ============= */

static int dec_function_section(struct dec *d, struct wm_rd *r)
{
    struct wm_module *m = d->m;
    if (wm_rd_count(r, &m->nfuncs, 1) || ALLOC_VEC(d, r, m->funcs, m->nfuncs))
        return -1;
    d->nfunc_decls = m->nfuncs;
    for (uint32_t i = 0; i < m->nfuncs; i++)
        if (wm_rd_u32(r, &m->funcs[i].type))
            return -1;
    return 0;
}

static int dec_table_section(struct dec *d, struct wm_rd *r)
{
    struct wm_module *m = d->m;
    if (wm_rd_count(r, &m->ntables, 3) || ALLOC_VEC(d, r, m->tables, m->ntables))
        return -1;
    for (uint32_t i = 0; i < m->ntables; i++)
        if (dec_tabletype(r, &m->tables[i]))
            return -1;
    return 0;
}

static int dec_memory_section(struct dec *d, struct wm_rd *r)
{
    struct wm_module *m = d->m;
    if (wm_rd_count(r, &m->nmemories, 2) ||
        ALLOC_VEC(d, r, m->memories, m->nmemories))
        return -1;
    for (uint32_t i = 0; i < m->nmemories; i++)
        if (dec_memtype(r, &m->memories[i]))
            return -1;
    return 0;
}

/* The tag section (exception handling). m->tags is set even when it has
 * no entries: that is how the validator tells an empty section from none
 * (without the feature, Wasm 2.0 knows no section 13). */
static int dec_tag_section(struct dec *d, struct wm_rd *r)
{
    struct wm_module *m = d->m;
    if (wm_rd_count(r, &m->ntags, 2) || ALLOC_VEC(d, r, m->tags, m->ntags))
        return -1;
    for (uint32_t i = 0; i < m->ntags; i++)
        if (dec_tagtype(r, &m->tags[i]))
            return -1;
    return 0;
}

static int dec_global_section(struct dec *d, struct wm_rd *r)
{
    struct wm_module *m = d->m;
    if (wm_rd_count(r, &m->nglobals, 3) || ALLOC_VEC(d, r, m->globals, m->nglobals))
        return -1;
    for (uint32_t i = 0; i < m->nglobals; i++)
        if (dec_globaltype(r, &m->globals[i].type) ||
            dec_constexpr(d, r, &m->globals[i].init))
            return -1;
    return 0;
}

static int dec_export_section(struct dec *d, struct wm_rd *r)
{
    struct wm_module *m = d->m;
    if (wm_rd_count(r, &m->nexports, 3) || ALLOC_VEC(d, r, m->exports, m->nexports))
        return -1;
    for (uint32_t i = 0; i < m->nexports; i++) {
        struct wm_export *ex = &m->exports[i];
        uint8_t kind;
        size_t at;
        ex->offset = r->pos;
        if (wm_rd_name(r, d->a, &ex->name))
            return -1;
        at = r->pos;
        if (wm_rd_u8(r, &kind))
            return -1;
        if (kind > WM_EXTERN_TAG)
            return wm_rd_fail(r, at, "malformed export kind 0x%02x", kind);
        ex->kind = kind;
        if (wm_rd_u32(r, &ex->index))
            return -1;
    }
    return 0;
}

static int dec_start_section(struct dec *d, struct wm_rd *r)
{
    d->m->has_start = true;
    d->m->start_offset = r->pos;
    return wm_rd_u32(r, &d->m->start);
}

/* ===== Element and data segments ======================================== */

static int dec_elem_funcs(struct dec *d, struct wm_rd *r, struct wm_elem *e)
{
    if (wm_rd_count(r, &e->count, 1) || ALLOC_VEC(d, r, e->inits, e->count))
        return -1;
    for (uint32_t i = 0; i < e->count; i++) {
        struct wm_constexpr *ce = &e->inits[i];
        ce->offset = r->pos;
        ce->op = WM_CONST_REF_FUNC;
        if (wm_rd_u32(r, &ce->u.index))
            return -1;
    }
    return 0;
}

static int dec_elem_exprs(struct dec *d, struct wm_rd *r, struct wm_elem *e)
{
    if (wm_rd_count(r, &e->count, 2) || ALLOC_VEC(d, r, e->inits, e->count))
        return -1;
    for (uint32_t i = 0; i < e->count; i++)
        if (dec_constexpr(d, r, &e->inits[i]))
            return -1;
    return 0;
}

/*
 * Spec 5.5.12: the flags' bit 0 means passive or declarative, bit 1 an
 * explicit table index (active) or declarative (otherwise), bit 2 that the
 * initialisers are expressions rather than function indices.
 */
static int dec_elem(struct dec *d, struct wm_rd *r, struct wm_elem *e)
{
    size_t at = r->pos;
    uint32_t flags;
    e->offset_in_file = at;
    if (wm_rd_u32(r, &flags))
        return -1;
    if (flags > 7)
        return wm_rd_fail(r, at, "malformed elements segment kind %u", flags);
    bool passive_or_decl = flags & 1, bit1 = flags & 2, exprs = flags & 4;
    e->type = WM_FUNCREF;
    e->table = 0;
    if (!passive_or_decl) {
        e->mode = WM_SEG_ACTIVE;
        if (bit1 && wm_rd_u32(r, &e->table))
            return -1;
        if (dec_constexpr(d, r, &e->offset))
            return -1;
    } else {
        e->mode = bit1 ? WM_SEG_DECLARATIVE : WM_SEG_PASSIVE;
    }
    if (passive_or_decl || bit1) {
        if (exprs) {
            if (wm_rd_reftype(r, &e->type))
                return -1;
        } else {
            uint8_t kind;
            size_t kat = r->pos;
            if (wm_rd_u8(r, &kind))
                return -1;
            if (kind != 0)
                return wm_rd_fail(r, kat, "malformed element kind 0x%02x", kind);
        }
    }
    return exprs ? dec_elem_exprs(d, r, e) : dec_elem_funcs(d, r, e);
}

static int dec_element_section(struct dec *d, struct wm_rd *r)
{
    struct wm_module *m = d->m;
    if (wm_rd_count(r, &m->nelems, 2) || ALLOC_VEC(d, r, m->elems, m->nelems))
        return -1;
    for (uint32_t i = 0; i < m->nelems; i++)
        if (dec_elem(d, r, &m->elems[i]))
            return -1;
    return 0;
}

static int dec_data(struct dec *d, struct wm_rd *r, struct wm_data *ds)
{
    size_t at = r->pos;
    uint32_t flags;
    ds->offset_in_file = at;
    if (wm_rd_u32(r, &flags))
        return -1;
    switch (flags) {
    case 0:
        ds->mode = WM_SEG_ACTIVE;
        if (dec_constexpr(d, r, &ds->offset))
            return -1;
        break;
    case 1:
        ds->mode = WM_SEG_PASSIVE;
        break;
    case 2:
        ds->mode = WM_SEG_ACTIVE;
        if (wm_rd_u32(r, &ds->memory) || dec_constexpr(d, r, &ds->offset))
            return -1;
        break;
    default:
        return wm_rd_fail(r, at, "malformed data segment kind %u", flags);
    }
    return wm_rd_count(r, &ds->len, 1) || wm_rd_bytes(r, ds->len, &ds->bytes) ? -1 : 0;
}

static int dec_data_section(struct dec *d, struct wm_rd *r)
{
    struct wm_module *m = d->m;
    if (wm_rd_count(r, &m->ndatas, 1) || ALLOC_VEC(d, r, m->datas, m->ndatas))
        return -1;
    for (uint32_t i = 0; i < m->ndatas; i++)
        if (dec_data(d, r, &m->datas[i]))
            return -1;
    return 0;
}

static int dec_data_count_section(struct dec *d, struct wm_rd *r)
{
    d->m->has_data_count = true;
    return wm_rd_u32(r, &d->m->data_count);
}

/* ===== Code ============================================================= */

static int dec_locals(struct dec *d, struct wm_rd *r, struct wm_func *f)
{
    size_t at = r->pos;
    uint64_t total = 0;
    if (wm_rd_count(r, &f->nlocal_groups, 2) ||
        ALLOC_VEC(d, r, f->local_groups, f->nlocal_groups))
        return -1;
    for (uint32_t i = 0; i < f->nlocal_groups; i++) {
        struct wm_local_group *g = &f->local_groups[i];
        if (wm_rd_u32(r, &g->count) || wm_rd_valtype(r, &g->type))
            return -1;
        total += g->count;
    }
    if (total > UINT32_MAX)
        return wm_rd_fail(r, at, "too many locals: %llu",
                       (unsigned long long)total);
    f->nlocals = (uint32_t)total;
    return 0;
}

static int dec_body(struct dec *d, struct wm_rd *r, uint32_t i)
{
    struct wm_func *f = &d->m->funcs[i];
    uint32_t size;
    f->body_offset = r->pos;
    if (wm_rd_u32(r, &size))
        return -1;
    if (size > wm_rd_left(r))
        return wm_rd_fail(r, f->body_offset, "unexpected end: function body of "
                       "%u bytes, %zu left in section", size, wm_rd_left(r));
    struct wm_rd body = { r->base, r->pos, r->pos + size,
                       (int64_t)d->m->nfunc_imports + i, r->err };
    if (dec_locals(d, &body, f))
        return -1;
    f->code_offset = body.pos;
    f->code = body.base + body.pos;
    if (d->skip_bodies)
        body.pos = body.end;
    else if (dec_expr(d, &body))
        return -1;
    if (body.pos != body.end)
        return wm_rd_fail(&body, body.pos, "section size mismatch: %zu bytes "
                       "after the end of the function body",
                       body.end - body.pos);
    f->code_len = body.pos - f->code_offset;
    r->pos = body.end;
    return 0;
}

static int dec_code_section(struct dec *d, struct wm_rd *r)
{
    size_t at = r->pos;
    uint32_t n;
    d->has_code = true;
    if (wm_rd_count(r, &n, 2))
        return -1;
    if (n != d->nfunc_decls)
        return wm_rd_fail(r, at, "function and code section have inconsistent "
                       "lengths: %u functions, %u bodies", d->nfunc_decls, n);
    for (uint32_t i = 0; i < n; i++)
        if (dec_body(d, r, i))
            return -1;
    return 0;
}

/* ===== Custom sections and names ======================================== */

static int dec_custom_section(struct dec *d, struct wm_rd *r)
{
    struct wm_module *m = d->m;
    struct wm_custom c;
    c.offset = r->pos;
    if (wm_rd_name(r, d->a, &c.name))
        return -1;
    c.bytes = r->base + r->pos;
    c.len = wm_rd_left(r);
    r->pos = r->end;
    if (c.name.len == 4 && memcmp(c.name.str, "name", 4) == 0 && !d->name_sec_at) {
        d->name_sec_at = (size_t)(c.bytes - r->base);
        d->name_sec_len = c.len;
    }
    if (m->ncustoms == d->custom_cap) {     /* double: linear in total */
        uint32_t cap = d->custom_cap ? d->custom_cap * 2 : 8;
        struct wm_custom *grown = wm_arena_array(d->a, cap, sizeof *grown);
        if (!grown)
            return nomem(d, c.offset);
        if (m->ncustoms)
            memcpy(grown, m->customs, m->ncustoms * sizeof *grown);
        m->customs = grown;
        d->custom_cap = cap;
    }
    m->customs[m->ncustoms++] = c;
    return 0;
}

/* The name section's function names (subsection 1). The spec asks for a
 * malformed name section to be ignored, so every failure here just stops. */
static void dec_names(struct dec *d)
{
    struct wm_module *m = d->m;
    struct wm_error ignored;
    struct wm_rd r = { m->bytes, d->name_sec_at, d->name_sec_at + d->name_sec_len,
                    -1, &ignored };
    uint32_t nfuncs = wm_func_count(m);
    while (wm_rd_left(&r) > 0) {
        uint8_t id;
        uint32_t size, n;
        if (wm_rd_u8(&r, &id) || wm_rd_u32(&r, &size) || size > wm_rd_left(&r))
            return;
        struct wm_rd sub = { r.base, r.pos, r.pos + size, -1, &ignored };
        r.pos += size;
        if (id == 0) {
            wm_rd_name(&sub, d->a, &m->names.module);
        } else if (id == 1 && !m->names.funcs && nfuncs) {
            m->names.funcs = wm_arena_array(d->a, nfuncs, sizeof *m->names.funcs);
            if (!m->names.funcs || wm_rd_count(&sub, &n, 2))
                return;
            m->names.nfuncs = nfuncs;
            for (uint32_t i = 0; i < n; i++) {
                uint32_t idx;
                struct wm_name name;
                if (wm_rd_u32(&sub, &idx) || wm_rd_name(&sub, d->a, &name))
                    break;
                if (idx < nfuncs)
                    m->names.funcs[idx] = name;
            }
        }
    }
}

/* ===== Module =========================================================== */

typedef int (*sec_fn)(struct dec *, struct wm_rd *);

static const sec_fn sec_decoders[SEC_COUNT] = {
    [SEC_CUSTOM] = dec_custom_section, [SEC_TYPE] = dec_type_section,
    [SEC_IMPORT] = dec_import_section, [SEC_FUNCTION] = dec_function_section,
    [SEC_TABLE] = dec_table_section, [SEC_MEMORY] = dec_memory_section,
    [SEC_GLOBAL] = dec_global_section, [SEC_EXPORT] = dec_export_section,
    [SEC_START] = dec_start_section, [SEC_ELEMENT] = dec_element_section,
    [SEC_CODE] = dec_code_section, [SEC_DATA] = dec_data_section,
    [SEC_DATA_COUNT] = dec_data_count_section, [SEC_TAG] = dec_tag_section,
};

static int dec_header(struct wm_rd *r)
{
    static const uint8_t magic[4] = { 0x00, 0x61, 0x73, 0x6d };
    uint32_t version;
    size_t n = wm_rd_left(r) < 4 ? wm_rd_left(r) : 4;
    if (memcmp(r->base, magic, n) != 0)
        return wm_rd_fail(r, 0, "magic header not detected: not a wasm binary");
    if (n < 4)
        return wm_rd_fail(r, n, "unexpected end: no magic header");
    r->pos = 4;
    if (wm_rd_left(r) < 4)
        return wm_rd_fail(r, 4, "unexpected end: no version");
    wm_rd_fixed32(r, &version);
    if (version != 1)
        return wm_rd_fail(r, 4, "unknown binary version 0x%x", version);
    return 0;
}

static int dec_sections(struct dec *d, struct wm_rd *r)
{
    unsigned last_rank = 0;
    while (wm_rd_left(r) > 0) {
        size_t at = r->pos;
        uint8_t id;
        uint32_t size;
        if (wm_rd_u8(r, &id))
            return -1;
        if (id >= SEC_COUNT)
            return wm_rd_fail(r, at, "malformed section id %u", id);
        if (wm_rd_u32(r, &size))
            return -1;
        if (size > wm_rd_left(r))
            return wm_rd_fail(r, at, "unexpected end: section %u of %u bytes, "
                           "%zu left", id, size, wm_rd_left(r));
        if (id != SEC_CUSTOM) {
            if (sec_rank[id] <= last_rank)
                return wm_rd_fail(r, at, "unexpected content after last section "
                               "(section %u out of order or repeated)", id);
            last_rank = sec_rank[id];
        }
        struct wm_rd sec = { r->base, r->pos, r->pos + size, -1, r->err };
        if (sec_decoders[id](d, &sec))
            return -1;
        if (sec.pos != sec.end)
            return wm_rd_fail(r, sec.pos, "section size mismatch: %zu bytes "
                           "left in section %u", sec.end - sec.pos, id);
        r->pos = sec.end;
    }
    return 0;
}

static int dec_finish(struct dec *d, struct wm_rd *r)
{
    struct wm_module *m = d->m;
    if (d->nfunc_decls && !d->has_code && !d->skip_bodies)
        return wm_rd_fail(r, r->pos, "function and code section have inconsistent "
                       "lengths: %u functions, no code section", d->nfunc_decls);
    if (m->has_data_count && m->data_count != m->ndatas)
        return wm_rd_fail(r, r->pos, "data count and data section have "
                       "inconsistent lengths: %u and %u", m->data_count,
                       m->ndatas);
    /* Without a data section, an index is simply out of range (invalid,
     * as the spec suite expects); with one, the count is required. */
    if (d->uses_data_index && !m->has_data_count && m->ndatas > 0)
        return wm_rd_fail(r, d->data_index_at, "data count section required "
                       "by memory.init or data.drop");
    if (d->name_sec_at)
        dec_names(d);
    return 0;
}

static int decode(const uint8_t *bytes, size_t size, bool skip_bodies,
                  struct wm_module **out, struct wm_error *err)
{
    struct wm_module *m = calloc(1, sizeof *m);
    struct wm_arena *a = wm_arena_new();
    /* A trusted module's bytes outlive it (dec_module_trusted): read in
     * place, not copied. */
    uint8_t *own = a && !skip_bodies ? wm_arena_alloc(a, size) : NULL;
    const uint8_t *copy = skip_bodies ? bytes : own;
    *out = NULL;
    if (!m || !a || !copy) {
        free(m);
        wm_arena_free(a);
        return wm_fail(err, WM_ERR_NOMEM, 0, -1, "out of memory");
    }
    if (own && size)
        memcpy(own, bytes, size);
    m->arena = a;
    m->bytes = copy;
    m->size = size;

    struct dec d = { .m = m, .a = a, .err = err, .skip_bodies = skip_bodies };
    struct wm_rd r = { copy, 0, size, -1, err };
    if (dec_header(&r) || dec_sections(&d, &r) || dec_finish(&d, &r)) {
        wm_module_free(m);
        return -1;
    }
    if (err)
        err->kind = WM_ERR_NONE;
    *out = m;
    return 0;
}

int dec_module(const uint8_t *bytes, size_t size, struct wm_module **out,
               struct wm_error *err)
{
    return decode(bytes, size, false, out, err);
}

int dec_module_trusted(const uint8_t *bytes, size_t size, struct wm_module **out,
                       struct wm_error *err)
{
    return decode(bytes, size, true, out, err);
}

/* The sections of `m` that its compiled form needs at run time, in order:
 * all but the code section and the custom sections other than "name". */
static bool metadata_keeps(const struct wm_rd *sec, uint8_t id)
{
    if (id == SEC_CODE)
        return false;
    if (id != SEC_CUSTOM)
        return true;
    struct wm_rd r = *sec;
    uint32_t len;
    const uint8_t *name;
    return wm_rd_u32(&r, &len) == 0 && len == 4 &&
           wm_rd_bytes(&r, 4, &name) == 0 && memcmp(name, "name", 4) == 0;
}

uint8_t *wm_metadata(const struct wm_module *m, size_t *size)
{
    uint8_t *out = malloc(m->size ? m->size : 1);
    struct wm_error err;
    struct wm_rd r = { m->bytes, 8, m->size, -1, &err };
    size_t n = 8;
    if (out == NULL || m->size < 8) {
        free(out);
        return NULL;
    }
    memcpy(out, m->bytes, 8);                       /* magic, version */
    while (wm_rd_left(&r) > 0) {
        size_t at = r.pos;
        uint8_t id;
        uint32_t len;
        /* m was decoded from these bytes: its sections are well formed. */
        if (wm_rd_u8(&r, &id) || wm_rd_u32(&r, &len) || len > wm_rd_left(&r)) {
            free(out);
            return NULL;
        }
        struct wm_rd sec = { r.base, r.pos, r.pos + len, -1, &err };
        r.pos += len;
        if (metadata_keeps(&sec, id)) {
            memcpy(out + n, m->bytes + at, r.pos - at);
            n += r.pos - at;
        }
    }
    *size = n;
    return out;
}
