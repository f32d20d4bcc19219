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
#include "wasm/instr.h"

/* ===== Shells =========================================================== */

/*
 * An instance and all its arrays live in one allocation, its shell, laid
 * out once per module (rt_module_prepare). A freed instance's shell goes
 * back to its module (at most RT_SHELL_POOL_MAX are kept), so that a
 * server creating an instance per request allocates nothing for it: the
 * next rt_instance_new zeroes a pooled shell and fills it in.
 */

static size_t lay(size_t *at, uint64_t n, size_t size, size_t align)
{
    size_t off = (*at + align - 1) & ~(align - 1);
    *at = off + (size_t)n * size;
    return off;
}

static uint64_t inline_table_elems(const struct wm_module *m)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < m->ntables; i++)
        if (m->tables[i].limits.min <= RT_SHELL_TABLE_INLINE)
            n += m->tables[i].limits.min;
    return n;
}

static void shell_layout(const struct wm_module *m, struct rt_shell_layout *l)
{
    uint64_t nvals = 0;
    for (uint32_t s = 0; s < m->nelems; s++)
        nvals += m->elems[s].count;
    size_t at = sizeof(struct rt_instance);
    l->vmctx = lay(&at, 1, sizeof(struct awsm_vmctx) +
                   (size_t)m->nglobals * sizeof(awsm_value), 16);
    l->funcs = lay(&at, wm_func_count(m), sizeof(struct awsm_funcref *), 8);
    l->defined = lay(&at, m->nfuncs, sizeof(struct awsm_funcref), 8);
    l->host_copies = lay(&at, m->nfunc_imports, sizeof(struct awsm_funcref), 8);
    l->tables = lay(&at, wm_table_count(m), sizeof(struct awsm_table *), 8);
    l->own_tables = lay(&at, m->ntables, sizeof(struct rt_table *), 8);
    l->memories = lay(&at, wm_memory_count(m), sizeof(struct awsm_memory *), 8);
    l->own_memories = lay(&at, m->nmemories, sizeof(struct rt_memory *), 8);
    l->tags = lay(&at, wm_tag_count(m), sizeof(struct awsm_tag *), 8);
    l->own_tags = lay(&at, m->ntags, sizeof(struct awsm_tag), 8);
    l->imported_globals = lay(&at, m->nglobal_imports, sizeof(awsm_value *), 8);
    l->elems = lay(&at, m->nelems, sizeof(struct rt_elem_inst), 8);
    l->elem_vals = lay(&at, nvals, sizeof(void *), 8);
    l->table_structs = lay(&at, m->ntables, sizeof(struct rt_table), 8);
    l->table_elems = lay(&at, inline_table_elems(m), sizeof(void *), 8);
    l->data_dropped = lay(&at, m->ndatas, sizeof(bool), 1);
    l->size = (at + 15) & ~(size_t)15;
}

static struct rt_instance *shell_take(struct rt_module *mod)
{
    pthread_mutex_lock(&mod->shell_lock);
    struct rt_instance *inst = mod->shells;
    if (inst != NULL) {
        mod->shells = inst->pool_next;
        mod->nshells--;
    }
    pthread_mutex_unlock(&mod->shell_lock);
    if (inst == NULL && (inst = aligned_alloc(16, mod->shell.size)) == NULL)
        return NULL;
    memset(inst, 0, mod->shell.size);
    const struct rt_shell_layout *l = &mod->shell;
    uint8_t *b = (uint8_t *)inst;
    inst->mod = mod;
    inst->vmctx = (struct awsm_vmctx *)(b + l->vmctx);
    inst->funcs = (struct awsm_funcref **)(b + l->funcs);
    inst->defined = (struct awsm_funcref *)(b + l->defined);
    inst->host_copies = (struct awsm_funcref *)(b + l->host_copies);
    inst->tables = (struct awsm_table **)(b + l->tables);
    inst->own_tables = (struct rt_table **)(b + l->own_tables);
    inst->memories = (struct awsm_memory **)(b + l->memories);
    inst->own_memories = (struct rt_memory **)(b + l->own_memories);
    inst->tags = (struct awsm_tag **)(b + l->tags);
    inst->own_tags = (struct awsm_tag *)(b + l->own_tags);
    inst->imported_globals = (awsm_value **)(b + l->imported_globals);
    inst->elems = (struct rt_elem_inst *)(b + l->elems);
    inst->data_dropped = (bool *)(b + l->data_dropped);
    return inst;
}

static void shell_give(struct rt_instance *inst)
{
    struct rt_module *mod = inst->mod;
    pthread_mutex_lock(&mod->shell_lock);
    bool kept = mod->nshells < RT_SHELL_POOL_MAX;
    if (kept) {
        inst->pool_next = mod->shells;
        mod->shells = inst;
        mod->nshells++;
    }
    pthread_mutex_unlock(&mod->shell_lock);
    if (!kept)
        free(inst);
}

/* ===== The data image =================================================== */

/*
 * When a module defines its memory and every active data segment has a
 * constant offset and fits in the initial size, instantiation needs no
 * evaluation and no bounds check: the segments are copied as prepared
 * runs. Segments that follow each other in ascending, non-overlapping
 * order are merged (gaps up to IMAGE_GAP bytes copied as zeros over the
 * fresh, zero memory: no earlier segment wrote there).
 */
#define IMAGE_GAP 256u

static bool image_usable(const struct wm_module *m, bool *ascending)
{
    if (m->nmemories != 1 || m->nmemory_imports != 0)
        return false;
    uint64_t size = m->memories[0].limits.min * (uint64_t)WM_PAGE_SIZE, end = 0;
    *ascending = true;
    for (uint32_t s = 0; s < m->ndatas; s++) {
        const struct wm_data *d = &m->datas[s];
        if (d->mode != WM_SEG_ACTIVE)
            continue;
        if (d->offset.op != WM_CONST_I32 ||
            (uint64_t)d->offset.u.i32 + d->len > size)
            return false;
        *ascending = *ascending && d->offset.u.i32 >= end;
        end = (uint64_t)d->offset.u.i32 + d->len;
    }
    return true;
}

/* Whether segment d continues run r (ascending segments only). */
static bool image_joins(const struct rt_data_run *r, const struct wm_data *d)
{
    uint64_t end = (uint64_t)r->dst + r->len;
    return r->len > 0 && d->offset.u.i32 - end <= IMAGE_GAP &&
           d->offset.u.i32 + (uint64_t)d->len - r->dst < ((uint64_t)1 << 31);
}

/* Pass 1 (bytes NULL) counts runs and bytes; pass 2 fills them in. */
static void image_runs(const struct wm_module *m, bool merge,
                       struct rt_data_image *im, uint8_t *bytes, size_t *nbytes)
{
    struct rt_data_run cur = {0, 0, NULL};
    uint32_t n = 0;
    size_t at = 0;
    for (uint32_t s = 0; s <= m->ndatas; s++) {
        const struct wm_data *d = s < m->ndatas ? &m->datas[s] : NULL;
        if (d != NULL && (d->mode != WM_SEG_ACTIVE || d->len == 0))
            continue;
        if (d != NULL && merge && image_joins(&cur, d)) {
            uint32_t gap = d->offset.u.i32 - (cur.dst + cur.len);
            if (bytes != NULL)
                memcpy(bytes + at + cur.len + gap, d->bytes, d->len);
            cur.len += gap + d->len;
            continue;
        }
        if (cur.len > 0) {
            if (bytes != NULL)
                im->runs[n] = (struct rt_data_run){cur.dst, cur.len, bytes + at};
            n++;
            at += cur.len;
        }
        if (d != NULL) {
            cur = (struct rt_data_run){d->offset.u.i32, d->len, NULL};
            if (bytes != NULL)
                memcpy(bytes + at, d->bytes, d->len);
        }
    }
    im->nruns = n;
    *nbytes = at;
}

static int image_build(struct rt_module *mod)
{
    struct rt_data_image *im = &mod->image;
    bool ascending;
    if (!image_usable(mod->wasm, &ascending))
        return 0;
    size_t nbytes;
    image_runs(mod->wasm, ascending, im, NULL, &nbytes);
    im->runs = calloc(im->nruns ? im->nruns : 1, sizeof *im->runs);
    im->bytes = calloc(nbytes ? nbytes : 1, 1);
    if (im->runs == NULL || im->bytes == NULL)
        return -1;
    image_runs(mod->wasm, ascending, im, im->bytes, &nbytes);
    im->usable = true;
    return 0;
}

int rt_module_prepare(struct rt_module *mod)
{
    shell_layout(mod->wasm, &mod->shell);
    return image_build(mod);
}

void rt_module_release(struct rt_module *mod)
{
    while (mod->shells != NULL) {
        struct rt_instance *inst = mod->shells;
        mod->shells = inst->pool_next;
        free(inst);
    }
    mod->nshells = 0;
    free(mod->image.runs);
    free(mod->image.bytes);
    mod->image = (struct rt_data_image){ .usable = false };
}

static void fill_vmctx(struct rt_instance *inst)
{
    struct awsm_vmctx *vm = inst->vmctx;
    vm->funcs = inst->funcs;
    vm->tables = inst->tables;
    vm->memories = inst->memories;
    vm->tags = inst->tags;
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
    const struct rt_shell_layout *l = &inst->mod->shell;
    uint8_t *base = (uint8_t *)inst;
    uint64_t ninline = 0;
    for (uint32_t i = 0; i < m->ntables; i++) {
        const struct wm_tabletype *tt = &m->tables[i];
        if (tt->limits.min > RT_MAX_TABLE_ELEMS)
            return rt_fail(err, RT_ERR_INSTANTIATE, "table %u: %llu elements is "
                           "over the limit of %u", m->ntable_imports + i,
                           (unsigned long long)tt->limits.min,
                           RT_MAX_TABLE_ELEMS);
        uint32_t min = (uint32_t)tt->limits.min;
        struct rt_table *t = (struct rt_table *)(base + l->table_structs) + i;
        void **storage = NULL;
        if (min <= RT_SHELL_TABLE_INLINE) {
            storage = (void **)(base + l->table_elems) + ninline;
            ninline += min;
        }
        if (rt_table_init_embedded(t, tt->elem, min, (uint32_t)tt->limits.max,
                                   tt->limits.has_max, storage) != 0)
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

static bool memory_exported(const struct wm_module *m)
{
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == WM_EXTERN_MEMORY)
            return true;
    return false;
}

/* Defined memory i's maximum, lowered to the embedder's cap and, for code
 * that checks every access, to the maximum it was compiled for (memory 0:
 * mem_reach, see runtime/abi.h). Memory 0 may be a slab slot unless it is
 * exported and the embedder did not promise to keep it private: an
 * importer compiled with bare accesses needs the guard reservation
 * (link.c refuses a slot to one). The others (multi-memory) are
 * reservations: the code checks them as its bounds mode says. */
static int define_memory(struct rt_instance *inst, uint32_t i, struct rt_error *err)
{
    const struct wm_module *m = inst->mod->wasm;
    uint32_t index = m->nmemory_imports + i;
    const struct wm_limits *l = &m->memories[i].limits;
    bool is64 = m->memories[i].is64;
    uint64_t max = l->has_max ? l->max : is64 ? WM_MAX_PAGES64 : WM_MAX_PAGES;
    uint64_t reach = index == 0 ? inst->mod->desc->mem_reach : AWSM_GUARD_RESERVATION;
    bool checked = reach < AWSM_GUARD_RESERVATION;
    uint32_t cap = inst->opt.max_memory_pages;
    if (checked && l->min > reach / WM_PAGE_SIZE)
        return rt_fail(err, RT_ERR_INSTANTIATE, "memory of %llu pages is over "
                       "the limit of %llu pages it was compiled for",
                       (unsigned long long)l->min,
                       (unsigned long long)(reach / WM_PAGE_SIZE));
    if (cap != 0 && l->min > cap)
        return rt_fail(err, RT_ERR_INSTANTIATE, "memory of %llu pages is over "
                       "the limit of %u pages", (unsigned long long)l->min, cap);
    if (l->min > AWSM_GUARD_RESERVATION / WM_PAGE_SIZE)     /* memory64 */
        return rt_fail(err, RT_ERR_INSTANTIATE, "memory of %llu pages is over "
                       "the limit of %llu pages (8 GiB) of a memory",
                       (unsigned long long)l->min,
                       (unsigned long long)(AWSM_GUARD_RESERVATION / WM_PAGE_SIZE));
    if (cap != 0 && cap < max)
        max = cap;
    if (checked && reach / WM_PAGE_SIZE < max)
        max = reach / WM_PAGE_SIZE;
    struct rt_budget_refusal why = { .refused = false };
    struct rt_memory *mem = rt_memory_new(l->min, max, l->has_max, l->max,
                                          checked && (inst->opt.private_memory ||
                                                      !memory_exported(m)), &why);
    if (why.refused)
        return budget_fail(inst, &why, err);
    if (mem == NULL)
        return rt_fail(err, RT_ERR_NOMEM, "cannot reserve memory of %llu pages",
                       (unsigned long long)l->min);
    if (m->memories[i].shared)
        rt_memory_set_shared(mem);
    if (is64)
        rt_memory_set_64(mem);
    inst->own_memories[i] = mem;
    inst->memories[index] = &mem->pub;
    if (index == 0) {
        inst->vmctx->memory = &mem->pub;
        inst->vmctx->mem_base = mem->pub.base;
    }
    return 0;
}

static int define_memories(struct rt_instance *inst, struct rt_error *err)
{
    for (uint32_t i = 0; i < inst->mod->wasm->nmemories; i++)
        if (define_memory(inst, i, err) != 0)
            return -1;
    return 0;
}

/* ===== Constant expressions ============================================= */

static awsm_value *global_cell(struct rt_instance *inst, uint32_t g)
{
    uint32_t nimp = inst->mod->wasm->nglobal_imports;
    return g < nimp ? inst->imported_globals[g] : &inst->vmctx->globals[g - nimp];
}

/* An extended constant expression (validated): t.const, global.get and
 * i32/i64 add, sub and mul, on a stack no deeper than its instructions. */
static int const_eval_expr(struct rt_instance *inst, const struct wm_constexpr *e,
                           awsm_value *out, struct rt_error *err)
{
    awsm_value small[32], *st = small;
    size_t cap = e->len / 2 + 1;        /* a push takes two bytes at least */
    if (cap > sizeof small / sizeof small[0] && !(st = malloc(cap * sizeof *st)))
        return rt_fail(err, RT_ERR_NOMEM, "out of memory");
    struct wm_rd r = { e->code, 0, e->len, -1, NULL };
    struct wm_ins_reader ir;
    struct wm_ins in;
    size_t sp = 0;
    wm_ins_reader_init(&ir, &r);
    while (wm_ins_read(&ir, &in) == 0 && in.op != WM_OP_END) {
        awsm_value *x = sp >= 2 ? &st[sp - 2] : NULL, y = sp ? st[sp - 1] : (awsm_value){ 0 };
        switch (in.op) {
        case WM_OP_I32_CONST: st[sp++] = (awsm_value){ .i32 = in.u.i32 }; break;
        case WM_OP_I64_CONST: st[sp++] = (awsm_value){ .i64 = in.u.i64 }; break;
        case WM_OP_GLOBAL_GET: st[sp++] = *global_cell(inst, in.u.idx); break;
        case WM_OP_I32_ADD: x->i32 += y.i32, sp--; break;
        case WM_OP_I32_SUB: x->i32 -= y.i32, sp--; break;
        case WM_OP_I32_MUL: x->i32 *= y.i32, sp--; break;
        case WM_OP_I64_ADD: x->i64 += y.i64, sp--; break;
        case WM_OP_I64_SUB: x->i64 -= y.i64, sp--; break;
        case WM_OP_I64_MUL: x->i64 *= y.i64, sp--; break;
        default: break;                 /* the validator allows no other */
        }
    }
    wm_ins_reader_deinit(&ir);
    *out = sp ? st[sp - 1] : (awsm_value){ 0 };
    if (st != small)
        free(st);
    return 0;
}

/* A constant expression (validated): 0, or -1 when out of memory. */
static int const_eval(struct rt_instance *inst, const struct wm_constexpr *e,
                      awsm_value *out, struct rt_error *err)
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
    case WM_CONST_EXPR: return const_eval_expr(inst, e, out, err);
    }
    *out = v;
    return 0;
}

static int init_globals(struct rt_instance *inst, struct rt_error *err)
{
    const struct wm_module *m = inst->mod->wasm;
    for (uint32_t i = 0; i < m->nglobals; i++)
        if (const_eval(inst, &m->globals[i].init, &inst->vmctx->globals[i], err) != 0)
            return -1;
    return 0;
}

/* Element segments become lists of references (spec: elem instances). */
static int eval_elems(struct rt_instance *inst, struct rt_error *err)
{
    const struct wm_module *m = inst->mod->wasm;
    void **vals = (void **)((uint8_t *)inst + inst->mod->shell.elem_vals);
    for (uint32_t s = 0; s < m->nelems; s++) {
        const struct wm_elem *el = &m->elems[s];
        struct rt_elem_inst *ei = &inst->elems[s];
        ei->vals = vals;
        vals += el->count;
        for (uint32_t i = 0; i < el->count; i++) {
            awsm_value v;
            if (const_eval(inst, &el->inits[i], &v, err) != 0)
                return -1;
            ei->vals[i] = v.ref;
        }
        ei->len = el->count;
    }
    return 0;
}

/* ===== Segments ========================================================= */

static void elem_drop(struct rt_instance *inst, uint32_t s)
{
    inst->elems[s].vals = NULL;         /* in the shell */
    inst->elems[s].len = 0;
}

static int init_elems(struct rt_instance *inst, struct rt_error *err)
{
    const struct wm_module *m = inst->mod->wasm;
    for (uint32_t s = 0; s < m->nelems; s++) {
        const struct wm_elem *el = &m->elems[s];
        if (el->mode == WM_SEG_ACTIVE) {
            awsm_value dst;
            if (const_eval(inst, &el->offset, &dst, err) != 0)
                return -1;
            uint32_t trap = rt_do_table_init(inst, el->table, s, dst.i32, 0,
                                             el->count);
            if (trap != 0)
                return rt_fail_trap(err, RT_ERR_INSTANTIATE, trap);
        }
        if (el->mode != WM_SEG_PASSIVE)
            elem_drop(inst, s);
    }
    return 0;
}

/* The prepared runs (rt_data_image): checked at module load. */
static void init_image(struct rt_instance *inst)
{
    const struct wm_module *m = inst->mod->wasm;
    const struct rt_data_image *im = &inst->mod->image;
    uint8_t *base = inst->vmctx->mem_base;
    for (uint32_t r = 0; r < im->nruns; r++)
        memcpy(base + im->runs[r].dst, im->runs[r].src, im->runs[r].len);
    for (uint32_t s = 0; s < m->ndatas; s++)
        inst->data_dropped[s] = m->datas[s].mode == WM_SEG_ACTIVE;
}

static int init_datas(struct rt_instance *inst, struct rt_error *err)
{
    const struct wm_module *m = inst->mod->wasm;
    if (inst->mod->image.usable && m->nmemories == 1) {
        init_image(inst);
        return 0;
    }
    for (uint32_t s = 0; s < m->ndatas; s++) {
        const struct wm_data *d = &m->datas[s];
        if (d->mode != WM_SEG_ACTIVE)
            continue;
        awsm_value dst;
        if (const_eval(inst, &d->offset, &dst, err) != 0)
            return -1;
        uint64_t at = wm_memory_type(m, d->memory)->is64 ? dst.i64 : dst.i32;
        uint32_t trap = rt_do_memory_init(inst, d->memory, s, at, 0, d->len);
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

/* Each instance's own tags: new identities, the module's types. */
static void define_tags(struct rt_instance *inst)
{
    const struct wm_module *m = inst->mod->wasm;
    for (uint32_t i = 0; i < m->ntags; i++) {
        struct awsm_tag *t = &inst->own_tags[i];
        t->type_id = inst->mod->type_ids[m->tags[i]] & ~AWSM_TYPE_ID_KINDS;
        t->nvals = m->types[m->tags[i]].nparams;
        inst->tags[m->ntag_imports + i] = t;
    }
}

/* ===== Instances ======================================================== */

/* Everything up to the first write that other instances may see: on
 * failure here nothing is shared yet and the instance can go. */
static int instance_build(struct rt_instance *inst, rt_resolve_fn resolve,
                          void *ud, struct rt_error *err)
{
    fill_vmctx(inst);
    define_funcs(inst);
    define_tags(inst);
    if (rt_link_imports(inst, resolve, ud, inst->opt.resolve_cacheable, err) != 0 ||
        define_tables(inst, err) != 0 || define_memories(inst, err) != 0)
        return -1;
    if (init_globals(inst, err) != 0)
        return -1;
    return eval_elems(inst, err);
}

int rt_instance_new(struct rt_module *m, rt_resolve_fn resolve, void *ud,
                    const struct rt_instance_options *opt,
                    struct rt_instance **out, struct rt_error *err)
{
    *out = NULL;
    struct rt_instance *inst = shell_take(m);
    if (inst == NULL)
        return rt_fail(err, RT_ERR_NOMEM, "out of memory");
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
    for (uint32_t i = 0; i < m->ntables; i++)
        rt_table_free(inst->own_tables[i]);
    for (uint32_t i = 0; i < m->nmemories; i++)
        rt_memory_free(inst->own_memories[i]);
    shell_give(inst);
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
        out->u.memory = inst->memories[e->index];
        break;
    case WM_EXTERN_GLOBAL:
        out->u.global.cell = global_cell(inst, e->index);
        out->u.global.type = *wm_global_type(inst->mod->wasm, e->index);
        break;
    case WM_EXTERN_TAG:
        out->u.tag = inst->tags[e->index];
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
