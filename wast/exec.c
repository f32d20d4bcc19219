/*
 * wast/exec.c - the commands that compile, instantiate and run modules:
 * module, register, action, assert_return, assert_trap,
 * assert_exhaustion, assert_exception, assert_unlinkable,
 * assert_uninstantiable.
 *
 * Each module file is decoded and validated, compiled with cache_compile into
 * FILE.wasm.so in the file's temporary directory, loaded and instantiated.
 * Imports resolve against the registered instances (register "as"), then
 * the spectest host module. Every module and instance, also those of
 * failed instantiations (their functions may sit in shared tables), lives
 * until the end of the .wast file.
 *
 * Trap texts are compared as the reference interpreter's are: the
 * expected text must be contained in our message, or start with it
 * ("uninitialized element 2" expects the element index too).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/plugin.h"
#include "wast/internal.h"

/* A module of the file and its instance (NULL when instantiation failed
 * before anything was shared). */
struct wast_inst {
    struct wast_inst *next;
    char *name;                     /* "$M" once instantiated, or NULL */
    struct rt_module *mod;
    struct rt_instance *inst;
};

/* (register "as" $M): imports from module "as" resolve to $M's exports. */
struct wast_reg {
    struct wast_reg *next;
    char *as;
    size_t len;
    struct rt_instance *inst;
};

struct wast_exec {
    struct wast_spectest *spectest;
    struct wast_inst *insts;        /* newest first */
    struct wast_inst *current;      /* the last module instantiated */
    struct wast_reg *regs;          /* newest first: later ones shadow */
};

/* ===== Lifetime ========================================================= */

int wast_exec_init(struct wast_file *f)
{
    f->exec = calloc(1, sizeof *f->exec);
    if (f->exec == NULL)
        return -1;
    f->exec->spectest = wast_spectest_new();
    if (f->exec->spectest == NULL) {
        free(f->exec);
        f->exec = NULL;
        return -1;
    }
    return 0;
}

/* Instances before modules (their code is in the modules' .so files);
 * the spectest objects last, after every importer. */
void wast_exec_free(struct wast_file *f)
{
    struct wast_exec *x = f->exec;
    if (x == NULL)
        return;
    for (struct wast_inst *i = x->insts; i != NULL; i = i->next)
        rt_instance_free(i->inst);
    struct wast_inst *in_next;
    for (struct wast_inst *i = x->insts; i != NULL; i = in_next) {
        in_next = i->next;
        rt_module_free(i->mod);
        free(i->name);
        free(i);
    }
    struct wast_reg *r_next;
    for (struct wast_reg *r = x->regs; r != NULL; r = r_next) {
        r_next = r->next;
        free(r->as);
        free(r);
    }
    wast_spectest_free(x->spectest);
    free(x);
    f->exec = NULL;
}

/* ===== Linking ========================================================== */

static bool name_is(const struct wm_name *n, const char *s, size_t len)
{
    return n->len == len && memcmp(n->str, s, len) == 0;
}

static int resolve(void *ud, const struct wm_import *im, struct rt_extern *out)
{
    struct wast_exec *x = ud;
    for (struct wast_reg *r = x->regs; r != NULL; r = r->next) {
        if (name_is(&im->module, r->as, r->len))
            return rt_instance_export_n(r->inst, im->name.str, im->name.len,
                                        out);
    }
    if (name_is(&im->module, "spectest", 8))
        return wast_spectest_find(x->spectest, &im->name, out);
    return -1;
}

/* ===== Building modules ================================================= */

static int read_module(const struct wast_file *f, const char *path,
                       struct wm_module **m, char *msg, size_t size)
{
    uint8_t *bytes;
    size_t len;
    int e = wm_read_file(path, &bytes, &len);
    if (e != 0) {
        snprintf(msg, size, "cannot read %.512s: %s", path, strerror(e));
        return -1;
    }
    struct wm_error err;
    int rc = wm_load_features(bytes, len, f->opt->features, m, &err);
    free(bytes);
    if (rc != 0)
        snprintf(msg, size, "the module does not load: %s", err.msg);
    return rc;
}

static int compile_module(const struct wast_file *f, const struct wm_module *m,
                          const char *so, char *msg, size_t size)
{
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    opt.opt_level = f->opt->opt_level;
    opt.bounds = f->opt->bounds_checked ? AWSM_BOUNDS_CHECKED : AWSM_BOUNDS_GUARD;
    opt.features = f->opt->features;
    struct cg_error err;
    if (cache_compile(m, &opt, so, &err) == 0)
        return 0;
    snprintf(msg, size, "compile error: %s", err.msg);
    return -1;
}

/* Decode, validate and compile the command's module file into
 * DIR/FILE.so, then load it. */
static int module_build(const struct wast_file *f, const struct wast_cmd *c,
                        struct rt_module **out, char *msg, size_t size)
{
    char wasm[PATH_MAX], so[PATH_MAX];
    if (c->filename == NULL || strchr(c->filename, '/') != NULL ||
        wast_path_join(wasm, f->dir, c->filename) != 0 ||
        snprintf(so, sizeof so, "%s.so", wasm) >= (int)sizeof so) {
        snprintf(msg, size, "bad module file name in the JSON");
        return -1;
    }
    struct wm_module *m;
    if (read_module(f, wasm, &m, msg, size) != 0)
        return -1;
    int rc = compile_module(f, m, so, msg, size);
    wm_module_free(m);
    struct rt_error err;
    if (rc == 0 && (rc = rt_module_load(so, out, &err)) != 0)
        snprintf(msg, size, "%s", err.msg);
    return rc;
}

/* Instantiate; the module and whatever instance results are kept. */
static int module_instantiate(struct wast_file *f, struct rt_module *mod,
                              struct wast_inst **out, struct rt_error *err)
{
    struct wast_exec *x = f->exec;
    struct wast_inst *wi = calloc(1, sizeof *wi);
    *out = wi;
    if (wi == NULL) {
        rt_module_free(mod);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        err->kind = RT_ERR_NOMEM;
        return -1;
    }
    wi->mod = mod;
    wi->next = x->insts;
    x->insts = wi;
    struct rt_instance_options opt = {0};
    return rt_instance_new(mod, resolve, x, &opt, &wi->inst, err);
}

static struct wast_inst *find_inst(struct wast_exec *x, const char *name)
{
    if (name == NULL)
        return x->current;
    for (struct wast_inst *i = x->insts; i != NULL; i = i->next)
        if (i->name != NULL && strcmp(i->name, name) == 0)
            return i;
    return NULL;
}

/* ===== module, register ================================================= */

enum outcome wast_cmd_module(struct wast_file *f, const struct wast_cmd *c)
{
    struct wast_exec *x = f->exec;
    struct rt_module *mod;
    struct wast_inst *wi;
    struct rt_error err;
    char msg[1024];
    x->current = NULL;
    if (module_build(f, c, &mod, msg, sizeof msg) != 0) {
        wast_report(f, c, "%s", msg);
        return OUT_FAIL;
    }
    if (module_instantiate(f, mod, &wi, &err) != 0) {
        wast_report(f, c, "instantiation failed: %s", err.msg);
        return OUT_FAIL;
    }
    const char *name = json_string_value(json_object_get(c->json, "name"));
    if (name != NULL && (wi->name = strdup(name)) == NULL)
        return OUT_FAIL;
    x->current = wi;
    return OUT_PASS;
}

enum outcome wast_cmd_register(struct wast_file *f, const struct wast_cmd *c)
{
    json_t *as = json_object_get(c->json, "as");
    const char *name = json_string_value(json_object_get(c->json, "name"));
    struct wast_inst *wi = find_inst(f->exec, name);
    if (!json_is_string(as) || wi == NULL) {
        wast_report(f, c, "no module %s to register", name ? name : "(current)");
        return OUT_FAIL;
    }
    struct wast_reg *r = calloc(1, sizeof *r);
    size_t len = json_string_length(as);
    if (r == NULL || (r->as = malloc(len + 1)) == NULL) {
        free(r);
        return OUT_FAIL;
    }
    memcpy(r->as, json_string_value(as), len + 1);
    r->len = len;
    r->inst = wi->inst;
    r->next = f->exec->regs;
    f->exec->regs = r;
    return OUT_PASS;
}

/* ===== Actions ========================================================== */

enum act { ACT_OK, ACT_TRAP, ACT_ERROR };

/* What an action returned: n values of the given types. */
struct act_result {
    uint32_t n;
    const wm_valtype *types;
    wm_valtype one_type;            /* for "get" */
    awsm_value *vals;
    struct rt_error err;            /* ACT_TRAP; ACT_ERROR's text */
};

__attribute__((format(printf, 2, 3)))
static enum act act_error(struct act_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err.msg, sizeof r->err.msg, fmt, ap);
    va_end(ap);
    return ACT_ERROR;
}

static enum act parse_args(json_t *args, const struct wm_functype *ft,
                           awsm_value *vals, struct act_result *r)
{
    if (json_array_size(args) != ft->nparams)
        return act_error(r, "%zu arguments for %u parameters",
                         json_array_size(args), ft->nparams);
    for (uint32_t i = 0; i < ft->nparams; i++) {
        wm_valtype t;
        if (wast_value_parse(json_array_get(args, i), &t, &vals[i]) != VALUE_OK ||
            t != ft->params[i])
            return act_error(r, "argument %u: bad value or type", i);
    }
    return ACT_OK;
}

static enum act invoke(struct rt_instance *inst, struct awsm_funcref *fn,
                       json_t *args, struct act_result *r)
{
    const struct wm_functype *ft = rt_func_type(fn);
    if (ft == NULL)
        return act_error(r, "function of unknown type");
    uint32_t n = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
    r->vals = calloc(n ? n : 1, sizeof *r->vals);
    if (r->vals == NULL)
        return act_error(r, "out of memory");
    enum act a = parse_args(args, ft, r->vals, r);
    if (a != ACT_OK)
        return a;
    if (rt_call(inst, fn, r->vals, &r->err) != 0)
        return r->err.kind == RT_ERR_TRAP ? ACT_TRAP : ACT_ERROR;
    r->n = ft->nresults;
    r->types = ft->results;
    return ACT_OK;
}

static enum act get_global(const struct rt_extern *ex, struct act_result *r)
{
    r->vals = calloc(1, sizeof *r->vals);
    if (r->vals == NULL)
        return act_error(r, "out of memory");
    r->vals[0] = *ex->u.global.cell;
    r->one_type = ex->u.global.type.type;
    r->types = &r->one_type;
    r->n = 1;
    return ACT_OK;
}

static enum act run_action(struct wast_file *f, const struct wast_cmd *c,
                           struct act_result *r)
{
    json_t *action = json_object_get(c->json, "action");
    const char *type = json_string_value(json_object_get(action, "type"));
    const char *name = json_string_value(json_object_get(action, "module"));
    json_t *field = json_object_get(action, "field");
    struct wast_inst *wi = find_inst(f->exec, name);
    struct rt_extern ex;
    if (type == NULL || !json_is_string(field))
        return act_error(r, "bad action in the JSON");
    if (wi == NULL || wi->inst == NULL)
        return act_error(r, "no module %s", name ? name : "(current)");
    if (rt_instance_export_n(wi->inst, json_string_value(field),
                             json_string_length(field), &ex) != 0)
        return act_error(r, "no export \"%s\"", json_string_value(field));
    if (strcmp(type, "invoke") == 0 && ex.kind == WM_EXTERN_FUNC)
        return invoke(wi->inst, ex.u.func, json_object_get(action, "args"), r);
    if (strcmp(type, "get") == 0 && ex.kind == WM_EXTERN_GLOBAL)
        return get_global(&ex, r);
    return act_error(r, "cannot %s export \"%s\" (a %s)", type,
                     json_string_value(field), wm_extern_kind_name(ex.kind));
}

static const char *field_of(const struct wast_cmd *c)
{
    const char *s = json_string_value(
        json_object_get(json_object_get(c->json, "action"), "field"));
    return s != NULL ? s : "?";
}

/* The outcome of an action that had to return normally but did not. */
static enum outcome act_failed(struct wast_file *f, const struct wast_cmd *c,
                               enum act a, const struct act_result *r)
{
    if (a == ACT_TRAP)
        wast_report(f, c, "\"%s\": unexpected trap: %s", field_of(c), r->err.msg);
    else
        wast_report(f, c, "\"%s\": %s", field_of(c), r->err.msg);
    return OUT_FAIL;
}

enum outcome wast_cmd_action(struct wast_file *f, const struct wast_cmd *c)
{
    struct act_result r = {0};
    enum act a = run_action(f, c, &r);
    free(r.vals);
    return a == ACT_OK ? OUT_PASS : act_failed(f, c, a, &r);
}

/* ===== assert_return ==================================================== */

static bool result_matches(struct wast_file *f, const struct wast_cmd *c,
                           json_t *want, const struct act_result *r, uint32_t i)
{
    struct wast_expect e;
    char ws[256], gs[256];
    if (wast_expect_parse(json_array_get(want, i), &e) != VALUE_OK) {
        wast_report(f, c, "\"%s\": result %u: bad expectation in the JSON",
                    field_of(c), i);
        return false;
    }
    if (wast_expect_match(&e, r->types[i], r->vals[i]))
        return true;
    wast_expect_str(&e, ws, sizeof ws);
    wast_value_str_as(&e, r->types[i], r->vals[i], gs, sizeof gs);
    wast_report(f, c, "\"%s\": result %u: expected %s, got %s", field_of(c), i,
                ws, gs);
    return false;
}

static enum outcome check_results(struct wast_file *f, const struct wast_cmd *c,
                                  json_t *want, const struct act_result *r)
{
    if (json_array_size(want) != r->n) {
        wast_report(f, c, "\"%s\": expected %zu results, got %u", field_of(c),
                    json_array_size(want), r->n);
        return OUT_FAIL;
    }
    for (uint32_t i = 0; i < r->n; i++)
        if (!result_matches(f, c, want, r, i))
            return OUT_FAIL;
    return OUT_PASS;
}

/* (either v1 v2 ...), relaxed SIMD's: the one result matches one of them. */
static enum outcome check_either(struct wast_file *f, const struct wast_cmd *c,
                                 json_t *alts, const struct act_result *r)
{
    struct wast_expect e = {0};
    size_t i;
    json_t *alt;
    if (r->n != 1) {
        wast_report(f, c, "\"%s\": expected 1 result, got %u", field_of(c), r->n);
        return OUT_FAIL;
    }
    json_array_foreach(alts, i, alt) {
        if (wast_expect_parse(alt, &e) == VALUE_OK &&
            wast_expect_match(&e, r->types[0], r->vals[0]))
            return OUT_PASS;
    }
    char gs[256];
    wast_value_str_as(&e, r->types[0], r->vals[0], gs, sizeof gs);
    wast_report(f, c, "\"%s\": got %s, none of the %zu alternatives", field_of(c),
                gs, json_array_size(alts));
    return OUT_FAIL;
}

enum outcome wast_cmd_return(struct wast_file *f, const struct wast_cmd *c)
{
    json_t *want = json_object_get(c->json, "expected");
    json_t *either = json_object_get(c->json, "either");
    struct act_result r = {0};
    enum act a = run_action(f, c, &r);
    enum outcome out = a != ACT_OK ? act_failed(f, c, a, &r)
                     : want == NULL && either != NULL ? check_either(f, c, either, &r)
                     : check_results(f, c, want, &r);
    free(r.vals);
    return out;
}

/* ===== assert_trap, assert_exhaustion =================================== */

static bool text_matches(const char *ours, const char *expected)
{
    size_t n = strlen(ours);
    return strstr(ours, expected) != NULL ||
           (n > 0 && strncmp(expected, ours, n) == 0);
}

static const char *expected_text(const struct wast_cmd *c)
{
    return c->text != NULL ? c->text : "";
}

/* Both: the action must trap with the expected text. An assert_trap on a
 * module (wast2json writes assert_uninstantiable for it today) means the
 * instantiation must trap. */
enum outcome wast_cmd_trap(struct wast_file *f, const struct wast_cmd *c)
{
    if (c->filename != NULL && json_object_get(c->json, "action") == NULL)
        return wast_cmd_uninstantiable(f, c);
    struct act_result r = {0};
    enum act a = run_action(f, c, &r);
    free(r.vals);
    if (a == ACT_TRAP && text_matches(r.err.msg, expected_text(c)))
        return OUT_PASS;
    if (a == ACT_TRAP)
        wast_report(f, c, "expected \"%s\", got \"%s\"", expected_text(c),
                    r.err.msg);
    else if (a == ACT_OK)
        wast_report(f, c, "expected \"%s\", but \"%s\" returned",
                    expected_text(c), field_of(c));
    else
        wast_report(f, c, "expected \"%s\", but: %s", expected_text(c),
                    r.err.msg);
    return OUT_FAIL;
}

/* The action must end with an exception that no wasm frame caught (not
 * a trap: a trap is never an exception). */
enum outcome wast_cmd_exception(struct wast_file *f, const struct wast_cmd *c)
{
    struct act_result r = {0};
    enum act a = run_action(f, c, &r);
    free(r.vals);
    if (a == ACT_TRAP && r.err.trap == AWSM_TRAP_UNCAUGHT_EXCEPTION)
        return OUT_PASS;
    if (a == ACT_OK)
        wast_report(f, c, "expected an uncaught exception, but \"%s\" returned",
                    field_of(c));
    else
        wast_report(f, c, "expected an uncaught exception, but: %s", r.err.msg);
    return OUT_FAIL;
}

/* ===== assert_unlinkable, assert_uninstantiable ========================= */

/* Build and instantiate a module that must fail: 0 with *err filled when
 * instantiation failed, -1 (reported) when something else happened. */
static int instantiate_expecting_failure(struct wast_file *f,
                                         const struct wast_cmd *c,
                                         struct rt_error *err)
{
    struct rt_module *mod;
    struct wast_inst *wi;
    char msg[1024];
    if (module_build(f, c, &mod, msg, sizeof msg) != 0) {
        wast_report(f, c, "expected \"%s\", but: %s", expected_text(c), msg);
        return -1;
    }
    if (module_instantiate(f, mod, &wi, err) == 0) {
        wast_report(f, c, "expected \"%s\", but the module instantiated",
                    expected_text(c));
        return -1;
    }
    return 0;
}

enum outcome wast_cmd_unlinkable(struct wast_file *f, const struct wast_cmd *c)
{
    struct rt_error err;
    if (instantiate_expecting_failure(f, c, &err) != 0)
        return OUT_FAIL;
    if (err.kind == RT_ERR_LINK)
        return OUT_PASS;
    wast_report(f, c, "expected a link error \"%s\", got: %s", expected_text(c),
                err.msg);
    return OUT_FAIL;
}

enum outcome wast_cmd_uninstantiable(struct wast_file *f,
                                     const struct wast_cmd *c)
{
    struct rt_error err;
    if (instantiate_expecting_failure(f, c, &err) != 0)
        return OUT_FAIL;
    bool trapped = err.kind == RT_ERR_INSTANTIATE || err.kind == RT_ERR_TRAP;
    if (trapped && text_matches(err.msg, expected_text(c)))
        return OUT_PASS;
    wast_report(f, c, "expected \"%s\", got \"%s\"", expected_text(c), err.msg);
    return OUT_FAIL;
}
