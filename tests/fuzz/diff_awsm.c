/*
 * tests/fuzz/diff_awsm.c - the awsm side of the differential fuzzer
 * (tests/fuzz/diff.sh): compile a module from binaryen's `wasm-opt -ttf`
 * in each configuration asked for, run every export, and print the
 * transcript that tests/fuzz/diff_node.mjs prints for node (the format is
 * described there).
 *
 *   diff_awsm FILE.wasm CONFIG...      CONFIG: guard:0, checked:2, ...
 *
 * Each configuration's transcript follows a line "== BOUNDS -OLEVEL". The
 * module is compiled afresh each time (no cache). Exit status 0, or 1
 * when the module does not load (a compile error is a finding too).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"

/* ===== Values ========================================================== */

static void print_value(wm_valtype t, const awsm_value *v)
{
    switch (t) {
    case WM_I32: printf("i32 %" PRIx32, v->i32); break;
    case WM_I64: printf("i64 %" PRIx64, v->i64); break;
    case WM_F32:
        if (v->f32 != v->f32)
            printf("f32 nan");
        else
            printf("f32 %" PRIx32, v->i32);
        break;
    case WM_F64:
        if (v->f64 != v->f64)
            printf("f64 nan");
        else
            printf("f64 %" PRIx64, v->i64);
        break;
    case WM_FUNCREF: printf("funcref %s", v->ref ? "ref" : "null"); break;
    case WM_EXTERNREF: printf("externref %s", v->ref ? "ref" : "null"); break;
    default: printf("v128 ?"); break;
    }
}

/* ===== fuzzing-support ================================================= */

static void log_i32(struct awsm_vmctx *vm, uint32_t x)
{
    printf("log i32 %" PRIx32 "\n", x);
}

static void log_i64(struct awsm_vmctx *vm, uint64_t x)
{
    printf("log i64 %" PRIx64 "\n", x);
}

static void log_f32(struct awsm_vmctx *vm, float x)
{
    awsm_value v = { .f32 = x };
    printf("log ");
    print_value(WM_F32, &v);
    printf("\n");
}

static void log_f64(struct awsm_vmctx *vm, double x)
{
    awsm_value v = { .f64 = x };
    printf("log ");
    print_value(WM_F64, &v);
    printf("\n");
}

/* JS cannot take a v128, so V8 throws at this call: trap as a host
 * function that fails. The argument is never read. */
static void log_v128(struct awsm_vmctx *vm)
{
    rt_instance_trap(vm->instance, AWSM_TRAP_HOST);
}

static const struct { const char *name; void *code; } logs[] = {
    {"log-i32", (void *)log_i32}, {"log-i64", (void *)log_i64},
    {"log-f32", (void *)log_f32}, {"log-f64", (void *)log_f64},
    {"log-v128", (void *)log_v128},
};

struct host {
    struct rt_host *h;
    const struct wm_module *m;
};

static bool name_is(const struct wm_name *n, const char *s)
{
    return n->len == strlen(s) && memcmp(n->str, s, n->len) == 0;
}

static int resolve(void *ud, const struct wm_import *im, struct rt_extern *out)
{
    struct host *host = ud;
    if (im->kind != WM_EXTERN_FUNC || !name_is(&im->module, "fuzzing-support"))
        return -1;
    for (size_t i = 0; i < sizeof logs / sizeof *logs; i++) {
        if (!name_is(&im->name, logs[i].name))
            continue;
        out->kind = WM_EXTERN_FUNC;
        out->u.func = rt_host_func(host->h, &host->m->types[im->u.func_type],
                                   logs[i].code);
        return out->u.func != NULL ? 0 : RT_RESOLVE_NOMEM;
    }
    return -1;
}

/* ===== Running ========================================================= */

/* The classes of tests/fuzz/diff_node.mjs. */
static const char *trap_class(enum awsm_trap t)
{
    switch (t) {
    case AWSM_TRAP_UNREACHABLE: return "unreachable";
    case AWSM_TRAP_INT_DIV_ZERO: return "div-zero";
    case AWSM_TRAP_INT_OVERFLOW:
    case AWSM_TRAP_INVALID_CONVERSION: return "int-overflow";
    case AWSM_TRAP_MEMORY_OOB: return "memory-oob";
    case AWSM_TRAP_TABLE_OOB:
    case AWSM_TRAP_UNDEFINED_ELEMENT: return "table-oob";
    case AWSM_TRAP_INDIRECT_NULL:
    case AWSM_TRAP_INDIRECT_TYPE: return "indirect";
    case AWSM_TRAP_STACK_EXHAUSTED: return "stack";
    case AWSM_TRAP_HOST: return "host";
    case AWSM_TRAP_UNALIGNED_ATOMIC: return "unaligned-atomic";
    case AWSM_TRAP_WAIT_UNSHARED: return "wait-unshared";
    default: return rt_trap_message(t);
    }
}

static bool has_v128(const struct wm_functype *ft)
{
    for (uint32_t i = 0; i < ft->nparams; i++)
        if (ft->params[i] == WM_V128)
            return true;
    for (uint32_t i = 0; i < ft->nresults; i++)
        if (ft->results[i] == WM_V128)
            return true;
    return false;
}

/* Returns whether the call trapped. */
static bool call_export(struct rt_instance *inst, const struct wm_module *m,
                        const struct wm_export *e, struct awsm_funcref *reset)
{
    const struct wm_functype *ft = wm_func_type(m, e->index);
    struct rt_extern ext;
    struct rt_error err;
    printf("call %.*s\n", (int)e->name.len, e->name.str);
    if (has_v128(ft)) {
        printf("skip\n");
        return false;
    }
    uint32_t n = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
    awsm_value *args = calloc(n + 1, sizeof *args);
    if (args == NULL || rt_instance_export_n(inst, e->name.str, e->name.len, &ext) != 0) {
        printf("error: out of memory or no export\n");
        free(args);
        return false;
    }
    fflush(stdout);
    bool trapped = true;
    if (reset != NULL && rt_call(inst, reset, args, &err) != 0) {
        printf("trap %s\n", trap_class(err.trap));
    } else if (rt_call(inst, ext.u.func, args, &err) != 0) {
        printf("trap %s\n", err.kind == RT_ERR_TRAP ? trap_class(err.trap) : err.msg);
    } else {
        trapped = false;
        printf("ret");
        for (uint32_t i = 0; i < ft->nresults; i++) {
            printf(" ");
            print_value(ft->results[i], &args[i]);
        }
        printf("\n");
    }
    free(args);
    return trapped;
}

static void print_memory(struct rt_instance *inst)
{
    struct rt_extern ext;
    if (rt_instance_export(inst, "memory", &ext) != 0 || ext.kind != WM_EXTERN_MEMORY)
        return;
    uint32_t h = 0x811c9dc5;
    for (uint64_t i = 0; i < ext.u.memory->size; i++)
        h = (h ^ ext.u.memory->base[i]) * 0x01000193;
    printf("memory %" PRIu64 " %" PRIx32 "\n", ext.u.memory->size / 65536, h);
}

/* The globals diff.sh exported ("global$N$TYPE"), in export order. */
static void print_globals(struct rt_instance *inst, const struct wm_module *m)
{
    for (uint32_t i = 0; i < m->nexports; i++) {
        const struct wm_export *e = &m->exports[i];
        struct rt_extern ext;
        if (e->kind != WM_EXTERN_GLOBAL || e->name.len < 7 ||
            memcmp(e->name.str, "global$", 7) != 0 ||
            rt_instance_export_n(inst, e->name.str, e->name.len, &ext) != 0)
            continue;
        printf("global %.*s ", (int)e->name.len, e->name.str);
        awsm_value v = *ext.u.global.cell;
        print_value(ext.u.global.type.type, &v);
        printf("\n");
    }
}

static void run(struct rt_module *mod)
{
    const struct wm_module *m = rt_module_wasm(mod);
    struct host host = { rt_host_new(), m };
    struct rt_instance *inst = NULL;
    struct rt_instance_options opt = { 0 };
    struct rt_error err;
    if (host.h == NULL) {
        printf("error: out of memory\n");
        return;
    }
    if (rt_instance_new(mod, resolve, &host, &opt, &inst, &err) != 0) {
        printf("instantiate %s\n", err.kind == RT_ERR_TRAP || err.kind ==
               RT_ERR_INSTANTIATE ? trap_class(err.trap) : err.msg);
    } else {
        struct rt_extern reset;
        bool has_reset = rt_instance_export(inst, "hangLimitInitializer", &reset) == 0 &&
                         reset.kind == WM_EXTERN_FUNC;
        for (uint32_t i = 0; i < m->nexports; i++) {
            if (m->exports[i].kind != WM_EXTERN_FUNC)
                continue;
            if (call_export(inst, m, &m->exports[i], has_reset ? reset.u.func : NULL)) {
                print_globals(inst, m);
                print_memory(inst);
            }
        }
        print_globals(inst, m);
        print_memory(inst);
    }
    rt_instance_free(inst);
    rt_host_free(host.h);
}

static int parse_config(const char *s, struct cache_options *o)
{
    const char *colon = strchr(s, ':');
    if (colon == NULL || colon[1] < '0' || colon[1] > '3' || colon[2] != '\0')
        return -1;
    size_t n = (size_t)(colon - s);
    if (n == 5 && memcmp(s, "guard", 5) == 0)
        o->bounds = AWSM_BOUNDS_GUARD;
    else if (n == 7 && memcmp(s, "checked", 7) == 0)
        o->bounds = AWSM_BOUNDS_CHECKED;
    else
        return -1;
    o->opt_level = (unsigned)(colon[1] - '0');
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: diff_awsm FILE.wasm CONFIG... (CONFIG: guard:2, checked:0, ...)\n");
        return 2;
    }
    int status = 0;
    for (int i = 2; i < argc; i++) {
        struct cache_options o = CACHE_OPTIONS_DEFAULT;
        struct rt_module *mod;
        struct cache_error cerr;
        if (parse_config(argv[i], &o) != 0) {
            fprintf(stderr, "diff_awsm: bad configuration '%s'\n", argv[i]);
            return 2;
        }
        o.disabled = true;
        /* Every proposal: DIFF_FEATURES (diff.sh) may make modules that
         * use threads' atomics; Wasm 2.0 modules compile as without. */
        o.features = WM_FEATURES_ALL;
        printf("== %s -O%u\n", argv[i][0] == 'g' ? "guard" : "checked", o.opt_level);
        if (cache_module_load(argv[1], &o, &mod, NULL, &cerr) != 0) {
            printf("load error: %s\n", cerr.msg);
            status = 1;
            continue;
        }
        run(mod);
        fflush(stdout);
        rt_module_free(mod);
    }
    return status;
}
