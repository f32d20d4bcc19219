/*
 * runtime/instance.c - instantiation (spec 4.5.4, Wasm 2.0) and exports.
 *
 * Order: allocate the vmctx and the index spaces; bind imports (link.c);
 * create the defined tables and memory; initialise the defined globals
 * from their constant expressions; evaluate every element segment; run
 * table.init + elem.drop for each active element segment and elem.drop
 * for declarative ones; memory.init + data.drop for each active data
 * segment; call the start function. A segment out of bounds stops there
 * with a trap, and what earlier segments wrote stays written, also into
 * imported tables and memories (linking.wast checks this).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* ===== Allocation ======================================================= */

static void *alloc_n(size_t n, size_t size, bool *failed)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL)
        *failed = true;
    return p;
}

static int alloc_parts(struct rt_instance *inst, struct rt_error *err)
{
    const struct wm_module *m = inst->mod->wasm;
    bool failed = false;
    inst->vmctx = alloc_n(1, sizeof *inst->vmctx +
                          (size_t)m->nglobals * sizeof(awsm_value), &failed);
    inst->funcs = alloc_n(wm_func_count(m), sizeof *inst->funcs, &failed);
    inst->defined = alloc_n(m->nfuncs, sizeof *inst->defined, &failed);
    inst->host_copies = alloc_n(m->nfunc_imports, sizeof *inst->host_copies,
                                &failed);
    inst->tables = alloc_n(wm_table_count(m), sizeof *inst->tables, &failed);
    inst->own_tables = alloc_n(m->ntables, sizeof *inst->own_tables, &failed);
    inst->imported_globals = alloc_n(m->nglobal_imports,
                                     sizeof *inst->imported_globals, &failed);
    inst->elems = alloc_n(m->nelems, sizeof *inst->elems, &failed);
    inst->data_dropped = alloc_n(m->ndatas, sizeof *inst->data_dropped,
                                 &failed);
    return failed ? rt_fail(err, RT_ERR_NOMEM, "out of memory") : 0;
}

static void fill_vmctx(struct rt_instance *inst)
{
    struct awsm_vmctx *vm = inst->vmctx;
    vm->funcs = inst->funcs;
    vm->tables = inst->tables;
    vm->imported_globals = inst->imported_globals;
    vm->type_ids = inst->mod->type_ids;
    vm->rt = &rt_services;
    vm->instance = inst;
    vm->host = inst->opt.host;
}

static void define_funcs(struct rt_instance *inst)
{
    const struct wm_module *m = inst->mod->wasm;
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        inst->defined[i] = (struct awsm_funcref){
            .code = inst->mod->desc->funcs[i],
            .vmctx = inst->vmctx,
            .type_id = inst->mod->type_ids[m->funcs[i].type],
        };
        inst->funcs[m->nfunc_imports + i] = &inst->defined[i];
    }
}

static int define_tables(struct rt_instance *inst, struct rt_error *err)
{
    const struct wm_module *m = inst->mod->wasm;
    for (uint32_t i = 0; i < m->ntables; i++) {
        const struct wm_tabletype *tt = &m->tables[i];
        if (tt->limits.min > RT_MAX_TABLE_ELEMS)
            return rt_fail(err, RT_ERR_INSTANTIATE, "table %u: %llu elements is "
                           "over the limit of %u", m->ntable_imports + i,
                           (unsigned long long)tt->limits.min,
                           RT_MAX_TABLE_ELEMS);
        struct rt_table *t = rt_table_new(tt->elem, (uint32_t)tt->limits.min,
                                          (uint32_t)tt->limits.max,
                                          tt->limits.has_max);
        if (t == NULL)
            return rt_fail(err, RT_ERR_NOMEM, "out of memory for table %u",
                           m->ntable_imports + i);
        inst->own_tables[i] = t;
        inst->tables[m->ntable_imports + i] = &t->pub;
    }
    return 0;
}

/* "64 MiB", or "192 KiB" when not a whole number of MiB (sizes are
 * whole pages, so whole KiB). */
static void size_str(uint64_t bytes, char *buf, size_t size)
{
    if (bytes % (1u << 20) == 0)
        snprintf(buf, size, "%llu MiB", (unsigned long long)(bytes >> 20));
    else
        snprintf(buf, size, "%llu KiB", (unsigned long long)(bytes >> 10));
}

static int budget_fail(struct rt_instance *inst,
                       const struct rt_budget_refusal *why,
                       struct rt_error *err)
{
    char in_use[32], limit[32], needed[32];
    size_str(why->in_use, in_use, sizeof in_use);
    size_str(why->limit, limit, sizeof limit);
    size_str(why->needed, needed, sizeof needed);
    inst->budget_refused = true;
    return rt_fail(err, RT_ERR_INSTANTIATE, "memory budget exhausted: %s in "
                   "use of %s, %s more needed", in_use, limit, needed);
}

/* The memory's maximum, lowered to the embedder's cap. */
static int define_memory(struct rt_instance *inst, struct rt_error *err)
{
    const struct wm_module *m = inst->mod->wasm;
    if (m->nmemories == 0)
        return 0;
    const struct wm_limits *l = &m->memories[0].limits;
    uint64_t max = l->has_max ? l->max : WM_MAX_PAGES;
    uint32_t cap = inst->opt.max_memory_pages;
    if (cap != 0 && l->min > cap)
        return rt_fail(err, RT_ERR_INSTANTIATE, "memory of %llu pages is over "
                       "the limit of %u pages", (unsigned long long)l->min, cap);
    if (cap != 0 && cap < max)
        max = cap;
    struct rt_budget_refusal why = { .refused = false };
    inst->own_memory = rt_memory_new(l->min, max, l->has_max, l->max, &why);
    if (why.refused)
        return budget_fail(inst, &why, err);
    if (inst->own_memory == NULL)
        return rt_fail(err, RT_ERR_NOMEM, "cannot reserve memory of %llu pages",
                       (unsigned long long)l->min);
    inst->vmctx->memory = &inst->own_memory->pub;
    inst->vmctx->mem_base = inst->own_memory->pub.base;
    return 0;
}

/* ===== Constant expressions ============================================= */

static awsm_value *global_cell(struct rt_instance *inst, uint32_t g)
{
    uint32_t nimp = inst->mod->wasm->nglobal_imports;
    return g < nimp ? inst->imported_globals[g] : &inst->vmctx->globals[g - nimp];
}

/* The single-instruction constant expressions of Wasm 2.0 (validated). */
static awsm_value const_eval(struct rt_instance *inst,
                             const struct wm_constexpr *e)
{
    awsm_value v;
    memset(&v, 0, sizeof v);
    switch (e->op) {
    case WM_CONST_I32: v.i32 = e->u.i32; break;
    case WM_CONST_I64: v.i64 = e->u.i64; break;
    case WM_CONST_F32: v.i32 = e->u.f32_bits; break;
    case WM_CONST_F64: v.i64 = e->u.f64_bits; break;
    case WM_CONST_V128: memcpy(v.v128, e->u.v128, sizeof v.v128); break;
    case WM_CONST_REF_NULL: v.ref = NULL; break;
    case WM_CONST_REF_FUNC: v.ref = inst->funcs[e->u.index]; break;
    case WM_CONST_GLOBAL_GET: v = *global_cell(inst, e->u.index); break;
    }
    return v;
}

static void init_globals(struct rt_instance *inst)
{
    const struct wm_module *m = inst->mod->wasm;
    for (uint32_t i = 0; i < m->nglobals; i++)
        inst->vmctx->globals[i] = const_eval(inst, &m->globals[i].init);
}

/* Element segments become lists of references (spec: elem instances). */
static int eval_elems(struct rt_instance *inst, struct rt_error *err)
{
    const struct wm_module *m = inst->mod->wasm;
    for (uint32_t s = 0; s < m->nelems; s++) {
        const struct wm_elem *el = &m->elems[s];
        struct rt_elem_inst *ei = &inst->elems[s];
        ei->vals = calloc(el->count ? el->count : 1, sizeof *ei->vals);
        if (ei->vals == NULL)
            return rt_fail(err, RT_ERR_NOMEM, "out of memory");
        for (uint32_t i = 0; i < el->count; i++)
            ei->vals[i] = const_eval(inst, &el->inits[i]).ref;
        ei->len = el->count;
    }
    return 0;
}

/* ===== Segments ========================================================= */

static void elem_drop(struct rt_instance *inst, uint32_t s)
{
    free(inst->elems[s].vals);
    inst->elems[s].vals = NULL;
    inst->elems[s].len = 0;
}

static int init_elems(struct rt_instance *inst, struct rt_error *err)
{
    const struct wm_module *m = inst->mod->wasm;
    for (uint32_t s = 0; s < m->nelems; s++) {
        const struct wm_elem *el = &m->elems[s];
        if (el->mode == WM_SEG_ACTIVE) {
            uint32_t dst = const_eval(inst, &el->offset).i32;
            uint32_t trap = rt_do_table_init(inst, el->table, s, dst, 0,
                                             el->count);
            if (trap != 0)
                return rt_fail_trap(err, RT_ERR_INSTANTIATE, trap);
        }
        if (el->mode != WM_SEG_PASSIVE)
            elem_drop(inst, s);
    }
    return 0;
}

static int init_datas(struct rt_instance *inst, struct rt_error *err)
{
    const struct wm_module *m = inst->mod->wasm;
    for (uint32_t s = 0; s < m->ndatas; s++) {
        const struct wm_data *d = &m->datas[s];
        if (d->mode != WM_SEG_ACTIVE)
            continue;
        uint32_t dst = const_eval(inst, &d->offset).i32;
        uint32_t trap = rt_do_memory_init(inst, s, dst, 0, d->len);
        if (trap != 0)
            return rt_fail_trap(err, RT_ERR_INSTANTIATE, trap);
        inst->data_dropped[s] = true;
    }
    return 0;
}

static int run_start(struct rt_instance *inst, struct rt_error *err)
{
    const struct wm_module *m = inst->mod->wasm;
    if (!m->has_start)
        return 0;
    awsm_value args[1];
    return rt_call(inst, inst->funcs[m->start], args, err);
}

/* ===== Instances ======================================================== */

/* Everything up to the first write that other instances may see: on
 * failure here nothing is shared yet and the instance can go. */
static int instance_build(struct rt_instance *inst, rt_resolve_fn resolve,
                          void *ud, struct rt_error *err)
{
    if (alloc_parts(inst, err) != 0)
        return -1;
    fill_vmctx(inst);
    define_funcs(inst);
    if (rt_link_imports(inst, resolve, ud, err) != 0 ||
        define_tables(inst, err) != 0 || define_memory(inst, err) != 0)
        return -1;
    init_globals(inst);
    return eval_elems(inst, err);
}

int rt_instance_new(struct rt_module *m, rt_resolve_fn resolve, void *ud,
                    const struct rt_instance_options *opt,
                    struct rt_instance **out, struct rt_error *err)
{
    *out = NULL;
    struct rt_instance *inst = calloc(1, sizeof *inst);
    if (inst == NULL)
        return rt_fail(err, RT_ERR_NOMEM, "out of memory");
    inst->mod = m;
    if (opt != NULL)
        inst->opt = *opt;
    if (instance_build(inst, resolve, ud, err) != 0) {
        /* As promised for RT_ERR_INSTANTIATE: *out is set, so that the
         * caller can ask rt_instance_budget_refused, and frees it. */
        if (err->kind == RT_ERR_INSTANTIATE)
            *out = inst;
        else
            rt_instance_free(inst);
        return -1;
    }
    *out = inst;
    if (inst->opt.on_created != NULL)
        inst->opt.on_created(inst, inst->opt.created_ud);
    if (init_elems(inst, err) != 0 || init_datas(inst, err) != 0)
        return -1;
    return run_start(inst, err);
}

void rt_instance_free(struct rt_instance *inst)
{
    if (inst == NULL)
        return;
    const struct wm_module *m = inst->mod->wasm;
    for (uint32_t i = 0; inst->own_tables != NULL && i < m->ntables; i++)
        rt_table_free(inst->own_tables[i]);
    for (uint32_t s = 0; inst->elems != NULL && s < m->nelems; s++)
        free(inst->elems[s].vals);
    rt_memory_free(inst->own_memory);
    free(inst->own_tables);
    free(inst->elems);
    free(inst->data_dropped);
    free(inst->imported_globals);
    free(inst->tables);
    free(inst->host_copies);
    free(inst->defined);
    free(inst->funcs);
    free(inst->vmctx);
    free(inst);
}

bool rt_instance_budget_refused(const struct rt_instance *inst)
{
    return inst->budget_refused;
}

struct awsm_vmctx *rt_instance_vmctx(struct rt_instance *inst)
{
    return inst->vmctx;
}

/* ===== Exports ========================================================== */

static void export_extern(struct rt_instance *inst, const struct wm_export *e,
                          struct rt_extern *out)
{
    memset(out, 0, sizeof *out);
    out->kind = e->kind;
    switch (e->kind) {
    case WM_EXTERN_FUNC:
        out->u.func = inst->funcs[e->index];
        break;
    case WM_EXTERN_TABLE:
        out->u.table = inst->tables[e->index];
        break;
    case WM_EXTERN_MEMORY:
        out->u.memory = inst->vmctx->memory;
        break;
    case WM_EXTERN_GLOBAL:
        out->u.global.cell = global_cell(inst, e->index);
        out->u.global.type = *wm_global_type(inst->mod->wasm, e->index);
        break;
    }
}

int rt_instance_export_n(struct rt_instance *inst, const char *name,
                         size_t len, struct rt_extern *out)
{
    const struct wm_module *m = inst->mod->wasm;
    for (uint32_t i = 0; i < m->nexports; i++) {
        const struct wm_export *e = &m->exports[i];
        if (e->name.len == len && memcmp(e->name.str, name, len) == 0) {
            export_extern(inst, e, out);
            return 0;
        }
    }
    return -1;
}

int rt_instance_export(struct rt_instance *inst, const char *name,
                       struct rt_extern *out)
{
    return rt_instance_export_n(inst, name, strlen(name), out);
}

struct rt_module *rt_instance_module(struct rt_instance *inst)
{
    return inst->mod;
}
