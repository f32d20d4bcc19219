/*
 * wasi/resolve.c - the wasi_snapshot_preview1 import table and the
 * resolver that binds a module's imports to it.
 *
 * Each entry gives the function's wasm signature by letter (i = i32,
 * l = i64; every function but proc_exit returns an i32 errno), as in
 * wasi_snapshot_preview1.witx lowered to core wasm. The runtime checks an
 * import's type against it, so a module that declares an import with
 * another signature fails to link instead of calling with garbage.
 * wasi_check_imports asks the same questions of a whole module ahead of
 * time, and says which import fails and why.
 */
#include <stdio.h>

#include "wasi/internal.h"

#define WASI_MODULE "wasi_snapshot_preview1"
#define WASI_MAX_PARAMS 10

struct wasi_import {
    const char *name;
    const char *params;
    bool result;                /* returns an errno */
    void *code;
};

#define F(name, params) {#name, params, true, (void *)wasi_##name}

static const struct wasi_import imports[] = {
    F(args_get, "ii"),
    F(args_sizes_get, "ii"),
    F(environ_get, "ii"),
    F(environ_sizes_get, "ii"),
    F(clock_res_get, "ii"),
    F(clock_time_get, "ili"),
    F(fd_advise, "illi"),
    F(fd_allocate, "ill"),
    F(fd_close, "i"),
    F(fd_datasync, "i"),
    F(fd_fdstat_get, "ii"),
    F(fd_fdstat_set_flags, "ii"),
    F(fd_fdstat_set_rights, "ill"),
    F(fd_filestat_get, "ii"),
    F(fd_filestat_set_size, "il"),
    F(fd_filestat_set_times, "illi"),
    F(fd_pread, "iiili"),
    F(fd_prestat_get, "ii"),
    F(fd_prestat_dir_name, "iii"),
    F(fd_pwrite, "iiili"),
    F(fd_read, "iiii"),
    F(fd_readdir, "iiili"),
    F(fd_renumber, "ii"),
    F(fd_seek, "ilii"),
    F(fd_sync, "i"),
    F(fd_tell, "ii"),
    F(fd_write, "iiii"),
    F(path_create_directory, "iii"),
    F(path_filestat_get, "iiiii"),
    F(path_filestat_set_times, "iiiilli"),
    F(path_link, "iiiiiii"),
    F(path_open, "iiiiillii"),
    F(path_readlink, "iiiiii"),
    F(path_remove_directory, "iii"),
    F(path_rename, "iiiiii"),
    F(path_symlink, "iiiii"),
    F(path_unlink_file, "iii"),
    F(poll_oneoff, "iiii"),
    {"proc_exit", "i", false, (void *)wasi_proc_exit},
    F(proc_raise, "i"),
    F(sched_yield, ""),
    F(random_get, "ii"),
    F(sock_accept, "iii"),
    F(sock_recv, "iiiiii"),
    F(sock_send, "iiiii"),
    F(sock_shutdown, "ii"),
};

#undef F

_Static_assert(sizeof imports / sizeof imports[0] == WASI_NFUNCS,
               "WASI_NFUNCS counts the import table");

static bool name_is(const struct wm_name *n, const char *s)
{
    return strlen(s) == n->len && memcmp(n->str, s, n->len) == 0;
}

/* What wasi_resolve binds an import to: its table entry, or NULL. Both
 * the resolver and wasi_check_imports decide here. */
static const struct wasi_import *import_find(const struct wm_import *im)
{
    if (!name_is(&im->module, WASI_MODULE) || im->kind != WM_EXTERN_FUNC)
        return NULL;
    for (size_t i = 0; i < WASI_NFUNCS; i++)
        if (name_is(&im->name, imports[i].name))
            return &imports[i];
    return NULL;
}

/* The funcref for import i, made on first use and kept in the context. */
static struct awsm_funcref *import_func(struct wasi_ctx *w, size_t i)
{
    static const wm_valtype result[] = {WM_I32};
    wm_valtype params[WASI_MAX_PARAMS];
    const struct wasi_import *im = &imports[i];
    if (w->funcs[i] != NULL)
        return w->funcs[i];
    uint32_t n = (uint32_t)strlen(im->params);
    for (uint32_t k = 0; k < n; k++)
        params[k] = im->params[k] == 'l' ? WM_I64 : WM_I32;
    struct wm_functype ft = {n, im->result ? 1 : 0, params, result};
    w->funcs[i] = rt_host_func(w->host, &ft, im->code);
    return w->funcs[i];
}

int wasi_resolve(void *ud, const struct wm_import *im, struct rt_extern *out)
{
    struct wasi_ctx *w = ud;
    const struct wasi_import *wi = import_find(im);
    struct awsm_funcref *f = wi ? import_func(w, (size_t)(wi - imports)) : NULL;
    if (f == NULL)
        return -1;
    out->kind = WM_EXTERN_FUNC;
    out->u.func = f;
    return 0;
}

/* ===== Checking a module's imports ====================================== */

static wm_valtype valtype_of(char c)
{
    return c == 'l' ? WM_I64 : WM_I32;
}

/* The runtime's match for a func import: exactly the same type. */
static bool type_matches(const struct wasi_import *wi,
                         const struct wm_functype *ft)
{
    uint32_t n = (uint32_t)strlen(wi->params);
    if (ft->nparams != n || ft->nresults != (wi->result ? 1u : 0u))
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (ft->params[i] != valtype_of(wi->params[i]))
            return false;
    return !wi->result || ft->results[0] == WM_I32;
}

/* Appends to a message buffer, cut at its end. */
struct msg {
    char *p;
    size_t len, at;
};

static void msg_put(struct msg *m, const char *s)
{
    for (; *s && m->at + 1 < m->len; s++)
        m->p[m->at++] = *s;
    if (m->len > 0)
        m->p[m->at] = '\0';
}

/* A wasm name in quotes, bytes other than printable ASCII as \xx. */
static void msg_name(struct msg *m, const struct wm_name *n)
{
    char c[8];
    msg_put(m, "\"");
    for (uint32_t i = 0; i < n->len; i++) {
        unsigned char b = (unsigned char)n->str[i];
        if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\')
            snprintf(c, sizeof c, "%c", b);
        else
            snprintf(c, sizeof c, "\\%02x", b);
        msg_put(m, c);
    }
    msg_put(m, "\"");
}

/* "(i32, i64) -> i32"; no result is "()", several "(i32, i32)". */
static void msg_types(struct msg *m, uint32_t n, const wm_valtype *t)
{
    msg_put(m, "(");
    for (uint32_t i = 0; i < n; i++) {
        msg_put(m, i ? ", " : "");
        msg_put(m, wm_valtype_name(t[i]));
    }
    msg_put(m, ")");
}

static void msg_functype(struct msg *m, const struct wm_functype *ft)
{
    msg_types(m, ft->nparams, ft->params);
    msg_put(m, " -> ");
    if (ft->nresults == 1)
        msg_put(m, wm_valtype_name(ft->results[0]));
    else
        msg_types(m, ft->nresults, ft->results);
}

static void msg_wasi_type(struct msg *m, const struct wasi_import *wi)
{
    static const wm_valtype result[] = {WM_I32};
    wm_valtype params[WASI_MAX_PARAMS];
    uint32_t n = (uint32_t)strlen(wi->params);
    for (uint32_t i = 0; i < n; i++)
        params[i] = valtype_of(wi->params[i]);
    struct wm_functype ft = {n, wi->result ? 1 : 0, params, result};
    msg_functype(m, &ft);
}

/* Why import i cannot be bound, into m. */
static void import_why(struct msg *m, const struct wm_module *mod,
                       uint32_t i, const struct wasi_import *wi)
{
    const struct wm_import *im = &mod->imports[i];
    char head[32];
    snprintf(head, sizeof head, "import %u ", i);
    msg_put(m, head);
    msg_name(m, &im->module);
    msg_put(m, ".");
    msg_name(m, &im->name);
    msg_put(m, ": ");
    if (im->kind != WM_EXTERN_FUNC) {
        msg_put(m, "a ");
        msg_put(m, wm_extern_kind_name(im->kind));
        msg_put(m, " import; the host provides only WASI functions");
    } else if (!name_is(&im->module, WASI_MODULE)) {
        msg_put(m, "the host provides only \"" WASI_MODULE "\"");
    } else if (wi == NULL) {
        msg_put(m, "no such WASI function");
    } else {
        msg_put(m, "type ");
        msg_functype(m, &mod->types[im->u.func_type]);
        msg_put(m, " does not match ");
        msg_wasi_type(m, wi);
    }
}

int wasi_check_imports(const struct wm_module *m, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct wm_import *im = &m->imports[i];
        const struct wasi_import *wi = import_find(im);
        if (wi != NULL && im->u.func_type < m->ntypes &&
            type_matches(wi, &m->types[im->u.func_type]))
            continue;
        struct msg msg = {err, err ? errlen : 0, 0};
        if (wi != NULL && im->u.func_type >= m->ntypes)
            wi = NULL;                  /* not validated: no type to show */
        import_why(&msg, m, i, wi);
        return -1;
    }
    return 0;
}
