/* wasm/module.c - index-space look-ups, names, and freeing a module. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "wasm/internal.h"

const char *wm_valtype_name(wm_valtype t)
{
    switch (t) {
    case WM_I32: return "i32";
    case WM_I64: return "i64";
    case WM_F32: return "f32";
    case WM_F64: return "f64";
    case WM_V128: return "v128";
    case WM_FUNCREF: return "funcref";
    case WM_EXTERNREF: return "externref";
    }
    return "?";
}

bool wm_valtype_is_ref(wm_valtype t)
{
    return t == WM_FUNCREF || t == WM_EXTERNREF;
}

const char *wm_extern_kind_name(enum wm_extern_kind k)
{
    static const char *const names[WM_EXTERN_KINDS] = { "func", "table", "memory",
                                                         "global", "tag" };
    return (unsigned)k < WM_EXTERN_KINDS ? names[k] : "?";
}

uint32_t wm_func_count(const struct wm_module *m)
{
    return m->nfunc_imports + m->nfuncs;
}

uint32_t wm_table_count(const struct wm_module *m)
{
    return m->ntable_imports + m->ntables;
}

uint32_t wm_memory_count(const struct wm_module *m)
{
    return m->nmemory_imports + m->nmemories;
}

uint32_t wm_global_count(const struct wm_module *m)
{
    return m->nglobal_imports + m->nglobals;
}

uint32_t wm_tag_count(const struct wm_module *m)
{
    return m->ntag_imports + m->ntags;
}

static const struct wm_import *nth_import(const struct wm_module *m,
                                          enum wm_extern_kind kind, uint32_t i)
{
    return m->imports_of[kind][i];
}

uint32_t wm_func_type_index(const struct wm_module *m, uint32_t f)
{
    if (f < m->nfunc_imports)
        return nth_import(m, WM_EXTERN_FUNC, f)->u.func_type;
    return m->funcs[f - m->nfunc_imports].type;
}

const struct wm_functype *wm_func_type(const struct wm_module *m, uint32_t f)
{
    return &m->types[wm_func_type_index(m, f)];
}

bool wm_functype_equal(const struct wm_functype *a, const struct wm_functype *b)
{
    return a->nparams == b->nparams && a->nresults == b->nresults &&
           (a->nparams == 0 || memcmp(a->params, b->params, a->nparams) == 0) &&
           (a->nresults == 0 || memcmp(a->results, b->results, a->nresults) == 0);
}

const struct wm_tabletype *wm_table_type(const struct wm_module *m, uint32_t t)
{
    if (t < m->ntable_imports)
        return &nth_import(m, WM_EXTERN_TABLE, t)->u.table;
    return &m->tables[t - m->ntable_imports];
}

const struct wm_memtype *wm_memory_type(const struct wm_module *m, uint32_t i)
{
    if (i < m->nmemory_imports)
        return &nth_import(m, WM_EXTERN_MEMORY, i)->u.memory;
    return &m->memories[i - m->nmemory_imports];
}

const struct wm_globaltype *wm_global_type(const struct wm_module *m, uint32_t g)
{
    if (g < m->nglobal_imports)
        return &nth_import(m, WM_EXTERN_GLOBAL, g)->u.global;
    return &m->globals[g - m->nglobal_imports].type;
}

uint32_t wm_tag_type_index(const struct wm_module *m, uint32_t t)
{
    if (t < m->ntag_imports)
        return nth_import(m, WM_EXTERN_TAG, t)->u.tag_type;
    return m->tags[t - m->ntag_imports];
}

const struct wm_functype *wm_tag_type(const struct wm_module *m, uint32_t t)
{
    return &m->types[wm_tag_type_index(m, t)];
}

const char *wm_func_name(const struct wm_module *m, uint32_t f)
{
    if (f < m->names.nfuncs && m->names.funcs[f].str)
        return m->names.funcs[f].str;
    return NULL;
}

int wm_module_summary(const struct wm_module *m, char *buf, size_t size)
{
    char mem[64] = "no memory";
    if (wm_memory_count(m)) {
        const struct wm_limits *l = &wm_memory_type(m, 0)->limits;
        if (l->has_max)
            snprintf(mem, sizeof mem, "memory %llu..%llu pages",
                     (unsigned long long)l->min, (unsigned long long)l->max);
        else
            snprintf(mem, sizeof mem, "memory %llu.. pages",
                     (unsigned long long)l->min);
    }
    return snprintf(buf, size, "%u types, %u functions (%u imported), "
                    "%u tables, %s, %u globals, %u exports, %u element and "
                    "%u data segments%s", m->ntypes, wm_func_count(m),
                    m->nfunc_imports, wm_table_count(m), mem, wm_global_count(m),
                    m->nexports, m->nelems, m->ndatas,
                    m->has_start ? ", a start function" : "");
}

void wm_module_free(struct wm_module *m)
{
    if (!m)
        return;
    wm_arena_free(m->arena);
    free(m);
}

static const struct {
    unsigned feature;
    const char *name;
} feature_names[] = {
    { WM_FEATURE_EXTENDED_CONST, "extended-const" },
    { WM_FEATURE_TAIL_CALL, "tail-call" },
    { WM_FEATURE_RELAXED_SIMD, "relaxed-simd" },
    { WM_FEATURE_THREADS, "threads" },
    { WM_FEATURE_MULTI_MEMORY, "multi-memory" },
    { WM_FEATURE_MEMORY64, "memory64" },
    { WM_FEATURE_EXCEPTIONS, "exceptions" },
};

const char *wm_feature_name(unsigned feature)
{
    for (size_t i = 0; i < sizeof feature_names / sizeof feature_names[0]; i++)
        if (feature_names[i].feature == feature)
            return feature_names[i].name;
    return NULL;
}

unsigned wm_feature_parse(const char *name)
{
    for (size_t i = 0; i < sizeof feature_names / sizeof feature_names[0]; i++)
        if (strcmp(feature_names[i].name, name) == 0)
            return feature_names[i].feature;
    return 0;
}

bool wm_feature_option(const char *arg, unsigned *features)
{
    if (strncmp(arg, "--enable-", 9) == 0) {
        unsigned f = wm_feature_parse(arg + 9);
        *features |= f;
        return f != 0;
    }
    if (strncmp(arg, "--enable=", 9) != 0)
        return false;
    unsigned all = 0;
    for (const char *p = arg + 9;; p++) {
        char name[32];
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof name)
            return false;
        memcpy(name, p, n);
        name[n] = '\0';
        unsigned f = wm_feature_parse(name);
        if (f == 0)
            return false;
        all |= f;
        if (p[n] == '\0')
            break;
        p += n;
    }
    *features |= all;
    return true;
}

int wm_load(const uint8_t *bytes, size_t size, struct wm_module **out,
            struct wm_error *err)
{
    return wm_load_features(bytes, size, WM_FEATURES_DEFAULT, out, err);
}

int wm_load_features(const uint8_t *bytes, size_t size, unsigned features,
                     struct wm_module **out, struct wm_error *err)
{
    if (dec_module(bytes, size, out, err))
        return -1;
    if (val_module_features(*out, features, err)) {
        wm_module_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int wm_read_file(const char *path, uint8_t **out, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return errno;
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    int e = buf ? 0 : ENOMEM;
    while (e == 0) {
        if (len == cap) {
            uint8_t *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                e = ENOMEM;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (n == 0)
            e = ferror(fp) ? EIO : -1;      /* -1: end of file */
    }
    fclose(fp);
    if (e != -1) {
        free(buf);
        *out = NULL;
        *size = 0;
        return e;
    }
    *out = buf;
    *size = len;
    return 0;
}
