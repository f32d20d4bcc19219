/*
 * runtime/table.c - tables: an array of references (struct awsm_funcref *
 * or externref values, NULL for null) that may grow; generated code reads
 * `elems` afresh at each access, so growing may move it.
 *
 * Bulk operations follow Wasm 2.0 (spec 4.4.6): every bound is checked
 * before anything is written, with 64-bit sums so that no offset wraps,
 * and a zero length still checks its offsets.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

struct rt_table *rt_table_new(wm_valtype elem, uint32_t min, uint32_t max,
                              bool has_max)
{
    if (min > RT_MAX_TABLE_ELEMS)
        return NULL;
    struct rt_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->pub.elems = calloc(min ? min : 1, sizeof *t->pub.elems);
    if (t->pub.elems == NULL) {
        free(t);
        return NULL;
    }
    t->pub.size = min;
    t->pub.max = has_max ? max : UINT32_MAX;
    t->elem = elem;
    t->has_max = has_max;
    t->cap = min ? min : 1;
    return t;
}

int rt_table_init_embedded(struct rt_table *t, wm_valtype elem, uint32_t min,
                           uint32_t max, bool has_max, void **storage)
{
    t->pub.elems = storage != NULL ? storage
                                   : calloc(min ? min : 1, sizeof *t->pub.elems);
    if (t->pub.elems == NULL)
        return -1;
    t->pub.size = min;
    t->pub.max = has_max ? max : UINT32_MAX;
    t->elem = elem;
    t->has_max = has_max;
    t->embedded = true;
    t->inline_elems = storage;
    t->cap = storage != NULL ? min : (min ? min : 1);
    return 0;
}

void rt_table_free(struct rt_table *t)
{
    if (t == NULL)
        return;
    if (t->pub.elems != t->inline_elems)
        free(t->pub.elems);
    if (!t->embedded)
        free(t);
}

static uint32_t table_limit(const struct rt_table *t)
{
    uint32_t max = t->has_max ? t->pub.max : UINT32_MAX;
    return max < RT_MAX_TABLE_ELEMS ? max : RT_MAX_TABLE_ELEMS;
}

static int table_reserve(struct rt_table *t, uint32_t need)
{
    if (need <= t->cap)
        return 0;
    uint64_t cap = (uint64_t)t->cap * 2;
    if (cap < need)
        cap = need;
    if (cap > RT_MAX_TABLE_ELEMS)
        cap = RT_MAX_TABLE_ELEMS;
    void **inl = t->inline_elems;
    void **p = realloc(t->pub.elems == inl ? NULL : t->pub.elems, cap * sizeof *p);
    if (p == NULL)
        return -1;
    if (t->pub.elems == inl)        /* leaves the shell's storage */
        memcpy(p, inl, t->pub.size * sizeof *p);
    t->pub.elems = p;
    t->cap = (uint32_t)cap;
    return 0;
}

/* table.grow: the old size, or -1 past the limits or out of memory. */
uint32_t rt_table_grow_elems(struct rt_table *t, void *init, uint32_t delta)
{
    uint32_t old = t->pub.size;
    if ((uint64_t)old + delta > table_limit(t))
        return UINT32_MAX;
    if (table_reserve(t, old + delta) != 0)
        return UINT32_MAX;
    for (uint32_t i = 0; i < delta; i++)
        t->pub.elems[old + i] = init;
    t->pub.size = old + delta;
    return old;
}

uint32_t rt_table_fill_elems(struct rt_table *t, uint32_t dst, void *val,
                             uint32_t len)
{
    if ((uint64_t)dst + len > t->pub.size)
        return AWSM_TRAP_TABLE_OOB;
    for (uint32_t i = 0; i < len; i++)
        t->pub.elems[dst + i] = val;
    return 0;
}

/* table.copy: the ranges may overlap (memmove). */
uint32_t rt_table_copy_elems(struct rt_table *dst_t, struct rt_table *src_t,
                             uint32_t dst, uint32_t src, uint32_t len)
{
    if ((uint64_t)dst + len > dst_t->pub.size ||
        (uint64_t)src + len > src_t->pub.size)
        return AWSM_TRAP_TABLE_OOB;
    if (len > 0)
        memmove(dst_t->pub.elems + dst, src_t->pub.elems + src,
                len * sizeof *dst_t->pub.elems);
    return 0;
}

/* table.init from an evaluated segment vals[0..nvals). */
uint32_t rt_table_write(struct rt_table *t, uint32_t dst, void *const *vals,
                        uint32_t nvals, uint32_t src, uint32_t len)
{
    if ((uint64_t)src + len > nvals || (uint64_t)dst + len > t->pub.size)
        return AWSM_TRAP_TABLE_OOB;
    if (len > 0)
        memcpy(t->pub.elems + dst, vals + src, len * sizeof *vals);
    return 0;
}

void rt_table_type(const struct awsm_table *table, struct wm_tabletype *out)
{
    const struct rt_table *t = (const struct rt_table *)table;
    out->elem = t->elem;
    out->limits.min = t->pub.size;
    out->limits.has_max = t->has_max;
    out->limits.max = t->has_max ? t->pub.max : 0;
}
