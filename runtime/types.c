/*
 * runtime/types.c - canonical function type ids: one process-wide registry
 * mapping a function type's structure (params and results) to a small
 * integer, so that call_indirect and import matching compare one word.
 * Equal structure <=> equal id, across modules and instances.
 *
 * Ids start at 1: a zeroed funcref never matches a type. Entries are never
 * removed (types are few and small), so ids and the functypes returned by
 * rt_func_type stay valid for the life of the process.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

struct type_entry {
    struct wm_functype ft;          /* params and results point into types[] */
    uint64_t hash;
    wm_valtype types[];
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct type_entry **entries;     /* [id - 1] */
static uint32_t nentries, entries_cap;
/* Open addressing on the hash: ids, 0 for an empty slot; at most half
 * full (rebuilt when entries_cap grows). */
static uint32_t *index_ids;
static uint32_t index_mask;

static uint64_t functype_hash(const struct wm_functype *ft)
{
    uint64_t h = 1469598103934665603ull;        /* FNV-1a */
    const uint32_t counts[2] = {ft->nparams, ft->nresults};
    const uint8_t *c = (const uint8_t *)counts;
    for (size_t i = 0; i < sizeof counts; i++)
        h = (h ^ c[i]) * 1099511628211ull;
    for (uint32_t i = 0; i < ft->nparams; i++)
        h = (h ^ ft->params[i]) * 1099511628211ull;
    for (uint32_t i = 0; i < ft->nresults; i++)
        h = (h ^ ft->results[i]) * 1099511628211ull;
    return h;
}

static struct type_entry *entry_new(const struct wm_functype *ft, uint64_t h)
{
    uint32_t n = ft->nparams + ft->nresults;
    struct type_entry *e = malloc(sizeof *e + (n ? n : 1));
    if (e == NULL)
        return NULL;
    if (ft->nparams)
        memcpy(e->types, ft->params, ft->nparams);
    if (ft->nresults)
        memcpy(e->types + ft->nparams, ft->results, ft->nresults);
    e->ft = (struct wm_functype){ft->nparams, ft->nresults, e->types,
                                 e->types + ft->nparams};
    e->hash = h;
    return e;
}

static void index_put(uint32_t *ids, uint32_t mask, uint64_t h, uint32_t id)
{
    uint32_t i = (uint32_t)h & mask;
    while (ids[i] != 0)
        i = (i + 1) & mask;
    ids[i] = id;
}

/* Room for one more entry: entries[] and an index twice its size. */
static int registry_grow(void)
{
    if (nentries < entries_cap)
        return 0;
    uint32_t cap = entries_cap ? entries_cap * 2 : 64;
    struct type_entry **p = realloc(entries, cap * sizeof *p);
    if (p == NULL)
        return -1;
    entries = p;
    uint32_t *ids = calloc((size_t)cap * 2, sizeof *ids);
    if (ids == NULL)
        return -1;
    for (uint32_t i = 0; i < nentries; i++)
        index_put(ids, cap * 2 - 1, entries[i]->hash, i + 1);
    free(index_ids);
    index_ids = ids;
    index_mask = cap * 2 - 1;
    entries_cap = cap;
    return 0;
}

/* Append an entry; returns its id or 0 when out of memory. */
static uint32_t registry_add(const struct wm_functype *ft, uint64_t h)
{
    if (registry_grow() != 0)
        return 0;
    struct type_entry *e = entry_new(ft, h);
    if (e == NULL)
        return 0;
    entries[nentries++] = e;
    index_put(index_ids, index_mask, h, nentries);
    return nentries;
}

static uint32_t registry_find(const struct wm_functype *ft, uint64_t h)
{
    for (uint32_t i = (uint32_t)h & index_mask; index_ids != NULL &&
         index_ids[i] != 0; i = (i + 1) & index_mask) {
        const struct type_entry *e = entries[index_ids[i] - 1];
        if (e->hash == h && wm_functype_equal(&e->ft, ft))
            return index_ids[i];
    }
    return 0;
}

/* A hash look-up: embedders make host functions per instance (WASI makes
 * its own per context), so this is on the path of every instantiation.
 * Returns 0 only when out of memory, which no caller can do better with
 * than refuse the type. */
uint32_t rt_type_id(const struct wm_functype *ft)
{
    uint64_t h = functype_hash(ft);
    pthread_mutex_lock(&registry_lock);
    uint32_t id = registry_find(ft, h);
    if (id == 0)
        id = registry_add(ft, h);
    pthread_mutex_unlock(&registry_lock);
    return id;
}

const struct wm_functype *rt_func_type(const struct awsm_funcref *f)
{
    return rt_type_of_id(f != NULL ? f->type_id : 0);
}

const struct wm_functype *rt_type_of_id(uint32_t type_id)
{
    const struct wm_functype *ft = NULL;
    uint32_t id = type_id & ~AWSM_TYPE_ID_KINDS;
    pthread_mutex_lock(&registry_lock);
    if (id >= 1 && id <= nentries)
        ft = &entries[id - 1]->ft;
    pthread_mutex_unlock(&registry_lock);
    return ft;
}

/* ===== Text for messages ================================================ */

static size_t put_list(char *buf, size_t size, size_t at, const char *word,
                       const wm_valtype *types, uint32_t n)
{
    if (n == 0)
        return at;
    int k = snprintf(buf + at, at < size ? size - at : 0, " (%s", word);
    at += k > 0 ? (size_t)k : 0;
    for (uint32_t i = 0; i < n; i++) {
        k = snprintf(buf + at, at < size ? size - at : 0, " %s",
                     wm_valtype_name(types[i]));
        at += k > 0 ? (size_t)k : 0;
    }
    k = snprintf(buf + at, at < size ? size - at : 0, ")");
    return at + (k > 0 ? (size_t)k : 0);
}

void rt_functype_str(const struct wm_functype *ft, char *buf, size_t size)
{
    size_t at = (size_t)snprintf(buf, size, "(func");
    at = put_list(buf, size, at, "param", ft->params, ft->nparams);
    at = put_list(buf, size, at, "result", ft->results, ft->nresults);
    snprintf(buf + (at < size ? at : size - 1), at < size ? size - at : 1, ")");
}

/* A name with bytes outside printable ASCII shown as \xx. */
void rt_name_str(const struct wm_name *n, char *buf, size_t size)
{
    size_t at = 0;
    for (uint32_t i = 0; i < n->len && at + 4 < size; i++) {
        unsigned char c = (unsigned char)n->str[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            buf[at++] = (char)c;
        else
            at += (size_t)snprintf(buf + at, size - at, "\\%02x", c);
    }
    buf[at < size ? at : size - 1] = '\0';
}
