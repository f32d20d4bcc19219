/*
 * tools/awsm_run.c - `awsm run`: run a WASI command the way `wasmtime run`
 * does. Argument parsing and messages; the work is cache_module_load,
 * rt_instance_new with WASI's resolver, and rt_call.
 *
 *   awsm run [--dir HOST[::GUEST]]... [--env K=V]... [--invoke NAME]
 *            [--bounds=guard|checked] [-O0..-O3] [--no-cache] [--polls]
 *            FILE.wasm|FILE.so [ARGS...]
 *
 * Nothing interrupts a run, so its code is compiled without loop polls
 * (as `wasmtime run` has no epoch checks unless asked): --polls puts them
 * in, for the code awsmrt would run.
 *
 * Exit status: the guest's (proc_exit's code, 0 when _start returns);
 * 134 after a trap; 1 when the module can't be loaded or linked; 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache/cache.h"
#include "tools/tools.h"
#include "wasi/wasi.h"

#define EXIT_TRAP 134       /* as wasmtime: 128 + SIGABRT */
#define MAX_LIST 256

struct run_args {
    struct cache_options cache;
    const char *invoke;
    const char *module;
    int nargs;
    char **args;                    /* guest argv[1..] */
    int ndirs, nenv;
    struct wasi_preopen dirs[MAX_LIST];
    const char *env[MAX_LIST];
    char dir_copies[MAX_LIST][4096];
};

static int usage(const char *what, const char *arg)
{
    fprintf(stderr, "awsm run: %s%s%s\nTry 'awsm --help'.\n", what,
            arg ? ": " : "", arg ? arg : "");
    return 2;
}

/* --dir HOST[::GUEST]: the host directory must exist. */
static int add_dir(struct run_args *a, const char *spec)
{
    struct stat st;
    if (a->ndirs == MAX_LIST)
        return usage("too many --dir options", spec);
    char *copy = a->dir_copies[a->ndirs];
    snprintf(copy, sizeof a->dir_copies[0], "%s", spec);
    char *sep = strstr(copy, "::");
    const char *guest = copy;
    if (sep) {
        *sep = '\0';
        guest = sep + 2;
    }
    if (stat(copy, &st) != 0) {
        fprintf(stderr, "awsm run: --dir %s: %s\n", copy, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "awsm run: --dir %s: not a directory\n", copy);
        return 1;
    }
    a->dirs[a->ndirs++] = (struct wasi_preopen){ copy, guest };
    return 0;
}

static int parse_option(struct run_args *a, int argc, char **argv, int *i)
{
    const char *s = argv[*i];
    const char *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (strcmp(s, "--dir") == 0 || strcmp(s, "--env") == 0 ||
        strcmp(s, "--invoke") == 0) {
        if (!val)
            return usage("missing value for", s);
        (*i)++;
    } else if (strncmp(s, "--dir=", 6) == 0 || strncmp(s, "--env=", 6) == 0 ||
               strncmp(s, "--invoke=", 9) == 0) {
        val = strchr(s, '=') + 1;
    }
    if (strncmp(s, "--dir", 5) == 0)
        return add_dir(a, val);
    if (strncmp(s, "--env", 5) == 0) {
        if (!strchr(val, '=') || a->nenv == MAX_LIST)
            return usage("--env needs KEY=VALUE", val);
        a->env[a->nenv++] = val;
    } else if (strncmp(s, "--invoke", 8) == 0) {
        a->invoke = val;
    } else if (strcmp(s, "--bounds=guard") == 0) {
        a->cache.bounds = AWSM_BOUNDS_GUARD;
    } else if (strcmp(s, "--bounds=checked") == 0) {
        a->cache.bounds = AWSM_BOUNDS_CHECKED;
    } else if (s[1] == 'O' && s[2] >= '0' && s[2] <= '3' && !s[3]) {
        a->cache.opt_level = (unsigned)(s[2] - '0');
    } else if (strcmp(s, "--no-cache") == 0) {
        a->cache.disabled = true;
    } else if (strcmp(s, "--polls") == 0) {
        a->cache.polls = true;
    } else if (!wm_feature_option(s, &a->cache.features)) {
        return usage("unknown option", s);
    }
    return 0;
}

static int parse_args(struct run_args *a, int argc, char **argv)
{
    int i;
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        int rc = parse_option(a, argc, argv, &i);
        if (rc)
            return rc;
    }
    if (i >= argc)
        return usage("no module to run", NULL);
    a->module = argv[i];
    a->args = argv + i + 1;
    a->nargs = argc - i - 1;
    return 0;
}

/* ===== v128 on the command line ========================================= */

/* The spec's lane shapes: "i32x4 1 2 3 4" in, "i32x4 0x00000001 ..." out
 * (the lanes' exact bits, as the text format's v128.const writes them). */
static const struct { const char *name; unsigned bits; bool is_float; } shapes[] = {
    {"i8x16", 8, false}, {"i16x8", 16, false}, {"i32x4", 32, false},
    {"i64x2", 64, false}, {"f32x4", 32, true}, {"f64x2", 64, true},
};

static uint64_t lane_value(const char *s, unsigned bits, bool is_float, char **end)
{
    if (!is_float)
        return s[0] == '-' ? (uint64_t)strtoll(s, end, 0) : strtoull(s, end, 0);
    uint64_t x = 0;
    if (bits == 32) {
        float v = strtof(s, end);
        memcpy(&x, &v, 4);
    } else {
        double v = strtod(s, end);
        memcpy(&x, &v, 8);
    }
    return x;
}

/* "SHAPE L0 L1 ...": -1 unless the shape is known and all lanes given. */
static int v128_parse(const char *s, awsm_value *v)
{
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        size_t len = strlen(shapes[k].name);
        if (strncmp(s, shapes[k].name, len) != 0 || s[len] != ' ')
            continue;
        const char *p = s + len;
        for (unsigned i = 0; i < 128 / shapes[k].bits; i++) {
            char *end;
            uint64_t x = lane_value(p, shapes[k].bits, shapes[k].is_float, &end);
            if (end == p)
                return -1;
            memcpy(v->v128 + i * shapes[k].bits / 8, &x, shapes[k].bits / 8);
            p = end;
        }
        return *p == '\0' ? 0 : -1;
    }
    return -1;
}

static void v128_print(const awsm_value *v)
{
    printf("i32x4");
    for (unsigned i = 0; i < 4; i++) {
        uint32_t x;
        memcpy(&x, v->v128 + 4 * i, 4);
        printf(" 0x%08" PRIx32, x);
    }
    printf("\n");
}

/* --invoke: parse the arguments by the function's parameter types. */
static int invoke_args(const struct wm_functype *ft, struct run_args *a,
                       awsm_value *v)
{
    if ((uint32_t)a->nargs != ft->nparams) {
        fprintf(stderr, "awsm run: %s takes %u arguments, %d given\n",
                a->invoke, ft->nparams, a->nargs);
        return -1;
    }
    for (uint32_t i = 0; i < ft->nparams; i++) {
        const char *s = a->args[i];
        switch (ft->params[i]) {
        case WM_I32: v[i].i32 = (uint32_t)strtoll(s, NULL, 0); break;
        case WM_I64: v[i].i64 = (uint64_t)strtoll(s, NULL, 0); break;
        case WM_F32: v[i].f32 = strtof(s, NULL); break;
        case WM_F64: v[i].f64 = strtod(s, NULL); break;
        case WM_V128:
            if (v128_parse(s, &v[i]) == 0)
                break;
            fprintf(stderr, "awsm run: argument %u of %s: a v128 is one "
                    "argument, its shape and lanes: 'i32x4 1 2 3 4'\n", i + 1,
                    a->invoke);
            return -1;
        default:
            fprintf(stderr, "awsm run: %s takes a %s, which can't be given on "
                    "the command line\n", a->invoke,
                    wm_valtype_name(ft->params[i]));
            return -1;
        }
    }
    return 0;
}

static void print_results(const struct wm_functype *ft, const awsm_value *v)
{
    for (uint32_t i = 0; i < ft->nresults; i++) {
        switch (ft->results[i]) {
        case WM_I32: printf("%" PRId32 "\n", (int32_t)v[i].i32); break;
        case WM_I64: printf("%" PRId64 "\n", (int64_t)v[i].i64); break;
        case WM_F32: printf("%.9g\n", v[i].f32); break;
        case WM_F64: printf("%.17g\n", v[i].f64); break;
        case WM_V128: v128_print(&v[i]); break;
        default: printf("%s\n", v[i].ref ? "ref" : "null"); break;
        }
    }
}

/* The wasm functions at a trap, innermost first, named from the name
 * section where it has them. */
static void print_backtrace(struct rt_instance *inst, const struct rt_error *err)
{
    const struct wm_module *m = rt_module_wasm(rt_instance_module(inst));
    for (uint32_t i = 0; i < err->nframes; i++) {
        const char *name = wm_func_name(m, err->frames[i]);
        fprintf(stderr, "  %2u: func %u%s%s\n", i, err->frames[i],
                name ? " " : "", name ? name : "");
    }
}

/* Call the entry point; returns the process exit status. */
static int run_entry(struct rt_instance *inst, struct wasi_ctx *w,
                     struct run_args *a)
{
    const char *name = a->invoke ? a->invoke : "_start";
    struct rt_extern ex;
    struct rt_error err;
    awsm_value v[64];
    if (rt_instance_export(inst, name, &ex) != 0 || ex.kind != WM_EXTERN_FUNC) {
        fprintf(stderr, "awsm run: %s: no exported function \"%s\"%s\n",
                a->module, name, a->invoke ? "" : " (use --invoke NAME)");
        return 1;
    }
    const struct wm_functype *ft = rt_func_type(ex.u.func);
    if (ft->nparams > 64 || ft->nresults > 64 ||
        (a->invoke ? invoke_args(ft, a, v) : 0) != 0)
        return 2;
    if (rt_call(inst, ex.u.func, v, &err) == 0) {
        if (a->invoke)
            print_results(ft, v);
        return 0;
    }
    int code;
    if (err.kind == RT_ERR_TRAP && err.trap == AWSM_TRAP_EXIT &&
        wasi_exit_code(w, &code))
        return code;
    fflush(stdout);
    fprintf(stderr, "awsm run: %s: %s%s\n", a->module,
            err.kind == RT_ERR_TRAP ? "trap: " : "", err.msg);
    print_backtrace(inst, &err);
    return err.kind == RT_ERR_TRAP ? EXIT_TRAP : 1;
}

static int run_module(struct run_args *a, struct rt_module *mod)
{
    struct wasi_config cfg = WASI_CONFIG_DEFAULT;
    const char *argv[MAX_LIST + 1];
    struct wasi_ctx *w;
    struct rt_instance *inst = NULL;
    struct rt_error err;
    int argc = 0;
    argv[argc++] = a->module;
    for (int i = 0; i < a->nargs && argc < MAX_LIST; i++)
        argv[argc++] = a->args[i];
    cfg.argc = argc;
    cfg.argv = argv;
    cfg.envc = a->nenv;
    cfg.envp = a->env;
    cfg.npreopens = a->ndirs;
    cfg.preopens = a->dirs;
    struct wasi_error werr;
    if (wasi_ctx_new(&cfg, &w, &werr) != 0) {
        fprintf(stderr, "awsm run: %s\n", werr.msg);
        return 1;
    }
    struct rt_instance_options opt = { .host = w };
    int status;
    if (rt_instance_new(mod, wasi_resolve, w, &opt, &inst, &err) != 0) {
        int code;
        if (err.kind == RT_ERR_TRAP && err.trap == AWSM_TRAP_EXIT &&
            wasi_exit_code(w, &code)) {
            status = code;
        } else {
            fprintf(stderr, "awsm run: %s: %s%s\n", a->module,
                    err.kind == RT_ERR_TRAP ? "trap: " : "", err.msg);
            status = err.kind == RT_ERR_TRAP ? EXIT_TRAP : 1;
        }
    } else {
        status = run_entry(inst, w, a);
    }
    fflush(stdout);
    rt_instance_free(inst);
    wasi_ctx_free(w);
    return status;
}

int awsm_run_main(int argc, char **argv)
{
    struct run_args *a = calloc(1, sizeof *a);
    if (!a)
        return 1;
    a->cache = (struct cache_options)CACHE_OPTIONS_DEFAULT;
    a->cache.polls = false;             /* nothing interrupts the run */
    /* One instance per process: a pooled memory would only be zeroed
     * (every page of it touched) on the way out. */
    rt_memory_pool_limit(0);
    int status = parse_args(a, argc, argv);
    if (status == 0) {
        struct rt_module *mod;
        struct cache_error cerr;
        if (cache_module_load(a->module, &a->cache, &mod, NULL, &cerr)) {
            fprintf(stderr, "awsm run: %s\n", cerr.msg);
            status = 1;
        } else {
            status = run_module(a, mod);
            rt_module_free(mod);
        }
    }
    free(a);
    return status;
}
