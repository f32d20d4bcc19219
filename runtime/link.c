/*
 * runtime/link.c - import resolution: ask the embedder's resolver for each
 * import in order, check what it gives against the import's type (spec
 * 4.5.3 external typing, 4.5.4 import matching) and bind it into the
 * instance.
 *
 * Matching, Wasm 2.0:
 *   func    the same function type (canonical ids compare structure);
 *   table   the same element type and limits {min, max} that match the
 *           import's: current size >= import min, and if the import has a
 *           max, the table has one too and it is <= the import's;
 *   memory  the same limits rule, with the current size in pages; and
 *           code with bare guard-mode accesses (mem_reach, runtime/abi.h)
 *           needs a memory in a guard reservation, not a slab slot;
 *   global  the same value type and mutability;
 *   tag     the same function type (exception handling).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* ===== Types as text ==================================================== */

static void limits_str(const struct wm_limits *l, char *buf, size_t size)
{
    if (l->has_max)
        snprintf(buf, size, "%llu %llu", (unsigned long long)l->min,
                 (unsigned long long)l->max);
    else
        snprintf(buf, size, "%llu", (unsigned long long)l->min);
}

static void global_str(const struct wm_globaltype *g, char *buf, size_t size)
{
    if (g->mut)
        snprintf(buf, size, "(global (mut %s))", wm_valtype_name(g->type));
    else
        snprintf(buf, size, "(global %s)", wm_valtype_name(g->type));
}

/* A tag of type ft (NULL: unknown), "(tag (func (param i32)))". */
static void tag_str(const struct wm_functype *ft, char *buf, size_t size)
{
    snprintf(buf, size, "(tag ");
    if (ft != NULL)
        rt_functype_str(ft, buf + 5, size - 5);
    snprintf(buf + strlen(buf), size - strlen(buf), ")");
}

/* The import's declared type, "(table 10 20 funcref)". */
static void import_type_str(const struct rt_module *m,
                            const struct wm_import *im, char *buf, size_t size)
{
    char lim[64];
    switch (im->kind) {
    case WM_EXTERN_FUNC:
        rt_functype_str(&m->wasm->types[im->u.func_type], buf, size);
        break;
    case WM_EXTERN_TABLE:
        limits_str(&im->u.table.limits, lim, sizeof lim);
        snprintf(buf, size, "(table %s %s)", lim,
                 wm_valtype_name(im->u.table.elem));
        break;
    case WM_EXTERN_MEMORY:
        limits_str(&im->u.memory.limits, lim, sizeof lim);
        snprintf(buf, size, "(memory %s%s%s)", im->u.memory.is64 ? "i64 " : "", lim,
                 im->u.memory.shared ? " shared" : "");
        break;
    case WM_EXTERN_GLOBAL:
        global_str(&im->u.global, buf, size);
        break;
    case WM_EXTERN_TAG:
        tag_str(&m->wasm->types[im->u.tag_type], buf, size);
        break;
    }
}

/* What the resolver gave, in the same notation. */
static void extern_type_str(const struct rt_extern *ex, char *buf, size_t size)
{
    char lim[64];
    const struct wm_functype *ft;
    struct wm_tabletype tt;
    struct wm_memtype mt;
    switch (ex->kind) {
    case WM_EXTERN_FUNC:
        ft = rt_func_type(ex->u.func);
        if (ft != NULL)
            rt_functype_str(ft, buf, size);
        else
            snprintf(buf, size, "(func ?)");
        break;
    case WM_EXTERN_TABLE:
        rt_table_type(ex->u.table, &tt);
        limits_str(&tt.limits, lim, sizeof lim);
        snprintf(buf, size, "(table %s %s)", lim, wm_valtype_name(tt.elem));
        break;
    case WM_EXTERN_MEMORY:
        rt_memory_type(ex->u.memory, &mt);
        limits_str(&mt.limits, lim, sizeof lim);
        snprintf(buf, size, "(memory %s%s%s)", mt.is64 ? "i64 " : "", lim,
                 mt.shared ? " shared" : "");
        break;
    case WM_EXTERN_GLOBAL:
        global_str(&ex->u.global.type, buf, size);
        break;
    case WM_EXTERN_TAG:
        tag_str(rt_type_of_id(ex->u.tag->type_id), buf, size);
        break;
    }
}

static int link_fail(struct rt_instance *inst, const struct wm_import *im,
                     const struct rt_extern *ex, struct rt_error *err)
{
    char mod[128], name[128], want[192], got[192];
    rt_name_str(&im->module, mod, sizeof mod);
    rt_name_str(&im->name, name, sizeof name);
    import_type_str(inst->mod, im, want, sizeof want);
    if (ex == NULL)
        return rt_fail(err, RT_ERR_LINK, "unknown import: %s.%s %s", mod, name,
                       want);
    extern_type_str(ex, got, sizeof got);
    uint32_t kinds = ex->kind == WM_EXTERN_FUNC && im->kind == WM_EXTERN_FUNC
        ? ex->u.func->type_id ^ inst->mod->type_ids[im->u.func_type] : 0;
    if (kinds != 0 && (kinds & ~AWSM_TYPE_ID_KINDS) == 0)
        return rt_fail(err, RT_ERR_LINK, "incompatible import: %s.%s %s: one of "
                       "the two modules was compiled %s and the other not",
                       mod, name, want, kinds & AWSM_TYPE_ID_TAILCC
                       ? "for tail calls (--enable=tail-call)"
                       : "with exception handling (--enable=exceptions)");
    return rt_fail(err, RT_ERR_LINK, "incompatible import type: %s.%s: "
                   "expected %s, got %s", mod, name, want, got);
}

/* ===== Matching ========================================================= */

static bool limits_match(const struct wm_limits *have,
                         const struct wm_limits *want)
{
    if (have->min < want->min)
        return false;
    return !want->has_max || (have->has_max && have->max <= want->max);
}

static bool extern_matches(const struct rt_instance *inst,
                           const struct wm_import *im,
                           const struct rt_extern *ex)
{
    struct wm_tabletype tt;
    struct wm_memtype mt;
    switch (im->kind) {
    case WM_EXTERN_FUNC:            /* a host function is adapted (bind_func) */
        return ex->u.func->type_id == inst->mod->type_ids[im->u.func_type] ||
               (ex->u.func->vmctx == NULL && ex->u.func->type_id ==
                (inst->mod->type_ids[im->u.func_type] & ~AWSM_TYPE_ID_KINDS));
    case WM_EXTERN_TABLE:
        rt_table_type(ex->u.table, &tt);
        return tt.elem == im->u.table.elem &&
               limits_match(&tt.limits, &im->u.table.limits);
    case WM_EXTERN_MEMORY:
        rt_memory_type(ex->u.memory, &mt);
        return mt.shared == im->u.memory.shared && mt.is64 == im->u.memory.is64 &&
               limits_match(&mt.limits, &im->u.memory.limits);
    case WM_EXTERN_GLOBAL:
        return ex->u.global.type.type == im->u.global.type &&
               ex->u.global.type.mut == im->u.global.mut;
    case WM_EXTERN_TAG:
        return ex->u.tag->type_id ==
               (inst->mod->type_ids[im->u.tag_type] & ~AWSM_TYPE_ID_KINDS);
    }
    return false;
}

static bool extern_present(const struct rt_extern *ex)
{
    switch (ex->kind) {
    case WM_EXTERN_FUNC: return ex->u.func != NULL;
    case WM_EXTERN_TABLE: return ex->u.table != NULL;
    case WM_EXTERN_MEMORY: return ex->u.memory != NULL;
    case WM_EXTERN_GLOBAL: return ex->u.global.cell != NULL;
    case WM_EXTERN_TAG: return ex->u.tag != NULL;
    }
    return false;
}

/* An importer whose code relies on guard pages must not get a slab slot:
 * its bare accesses past the size would reach the neighbouring slots.
 * Memory 0's code is as the descriptor's mem_reach says; the others' as
 * its bounds mode (multi-memory). */
static int check_reach(struct rt_instance *inst, const struct wm_import *im,
                       const struct rt_extern *ex, struct rt_error *err)
{
    const struct awsm_module_desc *desc = inst->mod->desc;
    bool first = im == inst->mod->wasm->imports_of[WM_EXTERN_MEMORY][0];
    uint64_t reach = first ? desc->mem_reach
                   : desc->bounds == AWSM_BOUNDS_CHECKED ? 0 : AWSM_GUARD_RESERVATION;
    const struct rt_memory *mem = rt_memory_of(ex->u.memory);
    if (reach < AWSM_GUARD_RESERVATION || mem->extent >= AWSM_GUARD_RESERVATION)
        return 0;
    char mod[128], name[128];
    rt_name_str(&im->module, mod, sizeof mod);
    rt_name_str(&im->name, name, sizeof name);
    return rt_fail(err, RT_ERR_LINK, "incompatible import: %s.%s: this "
                   "module's code needs %llu MiB of address space past the "
                   "memory's base (guard-mode accesses), the memory has %llu "
                   "MiB (a slab slot): compile the importer with "
                   "--bounds=checked", mod, name,
                   (unsigned long long)(reach >> 20),
                   (unsigned long long)(mem->extent >> 20));
}

/* ===== Binding ========================================================== */

/* Index of the next import of each kind. */
struct link_next {
    uint32_t n[WM_EXTERN_KINDS];
};

/* A host function (vmctx NULL) gets a copy carrying the importer's vmctx
 * and its type id (with the module's AWSM_TYPE_ID_KINDS: a host function
 * never throws); in a tailcc module it is called through the importer's
 * adapter (see runtime/abi.h). Other functions keep their identity and
 * their own instance. */
static void bind_func(struct rt_instance *inst, uint32_t i,
                      struct awsm_funcref *f)
{
    if (f->vmctx == NULL) {
        const struct rt_module *m = inst->mod;
        struct awsm_funcref *c = &inst->host_copies[i];
        *c = *f;
        c->vmctx = inst->vmctx;
        c->type_id = m->type_ids[wm_func_type_index(m->wasm, i)];
        if (m->desc->callconv == AWSM_CALLCONV_TAIL) {
            c->code = m->desc->import_adapters[i];
            c->host_code = f->code;
        }
        f = c;
    }
    inst->funcs[i] = f;
}

static void bind(struct rt_instance *inst, struct link_next *next,
                 const struct rt_extern *ex)
{
    uint32_t i = next->n[ex->kind]++;
    switch (ex->kind) {
    case WM_EXTERN_FUNC:
        bind_func(inst, i, ex->u.func);
        break;
    case WM_EXTERN_TABLE:
        inst->tables[i] = ex->u.table;
        break;
    case WM_EXTERN_MEMORY:
        inst->memories[i] = ex->u.memory;
        if (i == 0) {
            inst->vmctx->memory = ex->u.memory;
            inst->vmctx->mem_base = ex->u.memory->base;
        }
        break;
    case WM_EXTERN_GLOBAL:
        inst->imported_globals[i] = ex->u.global.cell;
        break;
    case WM_EXTERN_TAG:
        inst->tags[i] = ex->u.tag;
        break;
    }
}

/* Resolve and check import i into *ex. 0 or -1. */
static int link_one(struct rt_instance *inst, uint32_t i, rt_resolve_fn resolve,
                    void *ud, struct rt_extern *ex, struct rt_error *err)
{
    const struct wm_import *im = &inst->mod->wasm->imports[i];
    memset(ex, 0, sizeof *ex);
    int rc = resolve != NULL ? resolve(ud, im, ex) : -1;
    if (rc == RT_RESOLVE_NOMEM)
        return rt_fail(err, RT_ERR_NOMEM, "out of memory resolving import %u", i);
    if (rc != 0 || (unsigned)ex->kind >= WM_EXTERN_KINDS || !extern_present(ex))
        return link_fail(inst, im, NULL, err);
    if (ex->kind != im->kind || !extern_matches(inst, im, ex))
        return link_fail(inst, im, ex, err);
    if (ex->kind == WM_EXTERN_MEMORY && check_reach(inst, im, ex, err) != 0)
        return -1;
    return 0;
}

int rt_link_imports(struct rt_instance *inst, rt_resolve_fn resolve, void *ud,
                    bool cacheable, struct rt_error *err)
{
    struct rt_module *mod = inst->mod;
    uint32_t n = mod->wasm->nimports;
    struct link_next next = {{0}};
    bool use_cache = cacheable && resolve && n > 0;
    struct rt_link_cache *lc = use_cache
        ? atomic_load_explicit(&mod->link_cache, memory_order_acquire) : NULL;
    if (lc && lc->resolve == resolve) {
        for (uint32_t i = 0; i < n; i++)
            bind(inst, &next, &lc->ex[i]);
        return 0;
    }
    /* The first with this resolver fills a cache (if none is kept yet;
     * without memory for it, this instance links without one). */
    struct rt_link_cache *fresh = use_cache && !lc
        ? malloc(sizeof *fresh + (size_t)n * sizeof fresh->ex[0]) : NULL;
    for (uint32_t i = 0; i < n; i++) {
        struct rt_extern ex;
        if (link_one(inst, i, resolve, ud, &ex, err) != 0) {
            free(fresh);
            return -1;
        }
        if (fresh)
            fresh->ex[i] = ex;
        bind(inst, &next, &ex);
    }
    if (fresh) {
        struct rt_link_cache *none = NULL;
        fresh->resolve = resolve;
        if (!atomic_compare_exchange_strong_explicit(&mod->link_cache, &none, fresh,
                                                     memory_order_release,
                                                     memory_order_relaxed))
            free(fresh);                /* another instance's came first */
    }
    return 0;
}
