/*
 * wast/spectest.c - the "spectest" module the spec suite imports from
 * (the reference interpreter's spectest.ml): print functions that print
 * nothing, four constant globals, a table, a memory and (for the threads
 * proposal's tests, as its interpreter) a shared memory. A fresh one per
 * .wast file, so no file sees another's writes.
 */
#include <stdlib.h>
#include <string.h>

#include "wast/internal.h"

#define SPECTEST_MAX 16

struct spectest_entry {
    const char *name;
    struct rt_extern ext;
};

struct wast_spectest {
    struct rt_host *host;
    struct spectest_entry entries[SPECTEST_MAX];
    unsigned n;
};

/* ===== The functions ==================================================== */

static void print(struct awsm_vmctx *vm) {}
static void print_i32(struct awsm_vmctx *vm, uint32_t x) {}
static void print_i64(struct awsm_vmctx *vm, uint64_t x) {}
static void print_f32(struct awsm_vmctx *vm, float x) {}
static void print_f64(struct awsm_vmctx *vm, double x) {}
static void print_i32_f32(struct awsm_vmctx *vm, uint32_t x, float y) {}
static void print_f64_f64(struct awsm_vmctx *vm, double x, double y) {}

static const wm_valtype t_i32[] = {WM_I32}, t_i64[] = {WM_I64},
                        t_f32[] = {WM_F32}, t_f64[] = {WM_F64},
                        t_i32_f32[] = {WM_I32, WM_F32},
                        t_f64_f64[] = {WM_F64, WM_F64};

static const struct {
    const char *name;
    struct wm_functype type;
    void *code;
} funcs[] = {
    {"print", {0, 0, NULL, NULL}, (void *)print},
    {"print_i32", {1, 0, t_i32, NULL}, (void *)print_i32},
    {"print_i64", {1, 0, t_i64, NULL}, (void *)print_i64},
    {"print_f32", {1, 0, t_f32, NULL}, (void *)print_f32},
    {"print_f64", {1, 0, t_f64, NULL}, (void *)print_f64},
    {"print_i32_f32", {2, 0, t_i32_f32, NULL}, (void *)print_i32_f32},
    {"print_f64_f64", {2, 0, t_f64_f64, NULL}, (void *)print_f64_f64},
};

/* ===== Building ========================================================= */

static struct rt_extern *entry_add(struct wast_spectest *s, const char *name,
                                   enum wm_extern_kind kind)
{
    struct spectest_entry *e = &s->entries[s->n++];
    e->name = name;
    e->ext.kind = kind;
    return &e->ext;
}

static int add_global(struct wast_spectest *s, const char *name,
                      wm_valtype type, awsm_value init)
{
    struct rt_extern *ext = entry_add(s, name, WM_EXTERN_GLOBAL);
    ext->u.global.cell = rt_host_global(s->host, init);
    ext->u.global.type = (struct wm_globaltype){type, false};
    return ext->u.global.cell != NULL ? 0 : -1;
}

static int add_globals(struct wast_spectest *s)
{
    awsm_value i32 = {.i32 = 666}, i64 = {.i64 = 666};
    awsm_value f32 = {.f32 = 666.6f}, f64 = {.f64 = 666.6};
    return add_global(s, "global_i32", WM_I32, i32) |
           add_global(s, "global_i64", WM_I64, i64) |
           add_global(s, "global_f32", WM_F32, f32) |
           add_global(s, "global_f64", WM_F64, f64);
}

static int add_funcs(struct wast_spectest *s)
{
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        struct rt_extern *ext = entry_add(s, funcs[i].name, WM_EXTERN_FUNC);
        ext->u.func = rt_host_func(s->host, &funcs[i].type, funcs[i].code);
        if (ext->u.func == NULL)
            return -1;
    }
    return 0;
}

struct wast_spectest *wast_spectest_new(void)
{
    struct wast_spectest *s = calloc(1, sizeof *s);
    if (s == NULL || (s->host = rt_host_new()) == NULL) {
        free(s);
        return NULL;
    }
    struct rt_extern *table = entry_add(s, "table", WM_EXTERN_TABLE);
    struct rt_extern *memory = entry_add(s, "memory", WM_EXTERN_MEMORY);
    table->u.table = rt_host_table(s->host, WM_FUNCREF, 10, 20);
    memory->u.memory = rt_host_memory(s->host, 1, 2);
    struct rt_extern *shared = entry_add(s, "shared_memory", WM_EXTERN_MEMORY);
    shared->u.memory = rt_host_shared_memory(s->host, 1, 2);
    if (table->u.table == NULL || memory->u.memory == NULL || shared->u.memory == NULL ||
        add_globals(s) != 0 || add_funcs(s) != 0) {
        wast_spectest_free(s);
        return NULL;
    }
    return s;
}

void wast_spectest_free(struct wast_spectest *s)
{
    if (s == NULL)
        return;
    rt_host_free(s->host);
    free(s);
}

int wast_spectest_find(struct wast_spectest *s, const struct wm_name *name,
                       struct rt_extern *out)
{
    for (unsigned i = 0; i < s->n; i++) {
        const char *n = s->entries[i].name;
        if (strlen(n) == name->len && memcmp(n, name->str, name->len) == 0) {
            *out = s->entries[i].ext;
            return 0;
        }
    }
    return -1;
}
