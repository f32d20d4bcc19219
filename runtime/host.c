/*
 * runtime/host.c - host objects: functions, tables, memories and globals
 * that an embedder (the spec harness's "spectest" module, WASI) offers to
 * instances as imports. A struct rt_host owns every object made through
 * it; rt_host_free releases them all.
 *
 * A host function's funcref has vmctx NULL: the runtime gives each
 * importing instance its own copy carrying the importer's vmctx (link.c),
 * so the C function learns which instance called it.
 */
#include <stdlib.h>

#include "runtime/internal.h"

enum host_kind { HOST_FUNC, HOST_TABLE, HOST_MEMORY, HOST_GLOBAL };

struct host_obj {
    struct host_obj *next;
    enum host_kind kind;
    union {
        struct awsm_funcref func;
        struct rt_table *table;
        struct rt_memory *memory;
        awsm_value cell;
    } u;
};

struct rt_host {
    struct host_obj *objs;
};

struct rt_host *rt_host_new(void)
{
    return calloc(1, sizeof(struct rt_host));
}

void rt_host_free(struct rt_host *h)
{
    if (h == NULL)
        return;
    struct host_obj *next;
    for (struct host_obj *o = h->objs; o != NULL; o = next) {
        next = o->next;
        if (o->kind == HOST_TABLE)
            rt_table_free(o->u.table);
        else if (o->kind == HOST_MEMORY)
            rt_memory_free(o->u.memory);
        free(o);
    }
    free(h);
}

static struct host_obj *host_add(struct rt_host *h, enum host_kind kind)
{
    struct host_obj *o = calloc(1, sizeof *o);
    if (o == NULL)
        return NULL;
    o->kind = kind;
    o->next = h->objs;
    h->objs = o;
    return o;
}

struct awsm_funcref *rt_host_func(struct rt_host *h, const struct wm_functype *ft,
                                  void *code)
{
    uint32_t id = rt_type_id(ft);
    struct host_obj *o = id != 0 ? host_add(h, HOST_FUNC) : NULL;
    if (o == NULL)
        return NULL;
    o->u.func = (struct awsm_funcref){.code = code, .vmctx = NULL, .type_id = id};
    return &o->u.func;
}

/* max UINT32_MAX: no maximum. */
struct awsm_table *rt_host_table(struct rt_host *h, wm_valtype elem,
                                 uint32_t min, uint32_t max)
{
    bool has_max = max != UINT32_MAX;
    if (has_max && max < min)
        return NULL;
    struct rt_table *t = rt_table_new(elem, min, max, has_max);
    struct host_obj *o = t != NULL ? host_add(h, HOST_TABLE) : NULL;
    if (o == NULL) {
        rt_table_free(t);
        return NULL;
    }
    o->u.table = t;
    return &t->pub;
}

/* max_pages UINT32_MAX: no maximum (65536 pages). */
static struct awsm_memory *host_memory(struct rt_host *h, uint32_t min_pages,
                                       uint32_t max_pages, bool shared)
{
    bool has_max = max_pages != UINT32_MAX;
    uint64_t max = has_max ? max_pages : WM_MAX_PAGES;
    if (min_pages > max || max > WM_MAX_PAGES)
        return NULL;
    struct rt_memory *m = rt_memory_new(min_pages, max, has_max, max_pages,
                                         false, NULL);
    struct host_obj *o = m != NULL ? host_add(h, HOST_MEMORY) : NULL;
    if (o == NULL) {
        rt_memory_free(m);
        return NULL;
    }
    if (shared)
        rt_memory_set_shared(m);
    o->u.memory = m;
    return &m->pub;
}

struct awsm_memory *rt_host_memory(struct rt_host *h, uint32_t min_pages,
                                   uint32_t max_pages)
{
    return host_memory(h, min_pages, max_pages, false);
}

struct awsm_memory *rt_host_shared_memory(struct rt_host *h, uint32_t min_pages,
                                          uint32_t max_pages)
{
    return max_pages == UINT32_MAX ? NULL : host_memory(h, min_pages, max_pages, true);
}

awsm_value *rt_host_global(struct rt_host *h, awsm_value init)
{
    struct host_obj *o = host_add(h, HOST_GLOBAL);
    if (o == NULL)
        return NULL;
    o->u.cell = init;
    return &o->u.cell;
}
