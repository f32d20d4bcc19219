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
 *
 * Resolving costs a context nothing: the table's funcrefs are made once
 * per process and shared by every context (a host function's funcref has
 * vmctx NULL; the runtime gives each importer a copy carrying its own
 * vmctx, and the function finds its context through vmctx->host), and an
 * import's name is found by hash (an open-addressed index built once).
 * Both are written once, before they are first read, and only read
 * afterwards, from any thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "wasi/internal.h"

#define WASI_MODULE "wasi_snapshot_preview1"
#define WASI_MAX_PARAMS 10

struct wasi_import {
    const char *name;
    uint32_t len;               /* strlen(name) */
    const char *params;
    bool result;                /* returns an errno */
    void *code;
};

#define F(name, params) \
    {#name, sizeof #name - 1, params, true, (void *)wasi_##name}

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
    {"proc_exit", sizeof "proc_exit" - 1, "i", false, (void *)wasi_proc_exit},
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

static bool name_is(const struct wm_name *n, const char *s, uint32_t len)
{
    return n->len == len && memcmp(n->str, s, len) == 0;
}

static bool module_is_wasi(const struct wm_name *n)
{
    return name_is(n, WASI_MODULE, sizeof WASI_MODULE - 1);
}

/* ===== Finding a function by name ======================================= */

#define INDEX_SIZE 128u         /* a power of two, well above WASI_NFUNCS:
                                   probes end at an empty slot */

_Static_assert(WASI_NFUNCS < INDEX_SIZE / 2, "the name index is sparse");

/* 1 + the imports[] position of the name hashed there; 0: empty. */
static uint8_t name_index[INDEX_SIZE];
static uint32_t name_max;       /* the longest name's length */
static pthread_once_t name_index_once = PTHREAD_ONCE_INIT;

/* FNV-1a, 32 bits. */
static uint32_t name_hash(const char *s, uint32_t len)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Linear probing from each name's hash. */
static void name_index_build(void)
{
    for (size_t i = 0; i < WASI_NFUNCS; i++) {
        uint32_t h = name_hash(imports[i].name, imports[i].len);
        while (name_index[h % INDEX_SIZE] != 0)
            h++;
        name_index[h % INDEX_SIZE] = (uint8_t)(i + 1);
        if (imports[i].len > name_max)
            name_max = imports[i].len;
    }
}

static const struct wasi_import *name_find(const struct wm_name *n)
{
    pthread_once(&name_index_once, name_index_build);
    if (n->len > name_max)
        return NULL;                    /* and a guest's long name unhashed */
    for (uint32_t h = name_hash(n->str, n->len);; h++) {
        uint8_t k = name_index[h % INDEX_SIZE];
        if (k == 0)
            return NULL;
        if (name_is(n, imports[k - 1].name, imports[k - 1].len))
            return &imports[k - 1];
    }
}

/* What wasi_resolve binds an import to: its table entry, or NULL. Both
 * the resolver and wasi_check_imports decide here. */
static const struct wasi_import *import_find(const struct wm_import *im)
{
    if (im->kind != WM_EXTERN_FUNC || !module_is_wasi(&im->module))
        return NULL;
    return name_find(&im->name);
}

/* ===== The process's funcrefs =========================================== */

/* funcs[i] is imports[i]'s host funcref. They are made together, under
 * funcs_lock, and published by funcs_ready; an out-of-memory (no type id)
 * fails this resolve and the next one tries again. Never written after. */
static struct awsm_funcref funcs[WASI_NFUNCS];
static atomic_bool funcs_ready;
static pthread_mutex_t funcs_lock = PTHREAD_MUTEX_INITIALIZER;

static wm_valtype valtype_of(char c)
{
    return c == 'l' ? WM_I64 : WM_I32;
}

/* The funcref of every import that has none yet; false when out of memory. */
static bool funcs_make(void)
{
    static const wm_valtype result[] = {WM_I32};
    wm_valtype params[WASI_MAX_PARAMS];
    for (size_t i = 0; i < WASI_NFUNCS; i++) {
        const struct wasi_import *wi = &imports[i];
        if (funcs[i].type_id != 0)
            continue;                   /* made by an earlier attempt */
        uint32_t n = (uint32_t)strlen(wi->params);
        for (uint32_t k = 0; k < n; k++)
            params[k] = valtype_of(wi->params[k]);
        struct wm_functype ft = {n, wi->result ? 1 : 0, params, result};
        uint32_t id = rt_type_id(&ft);
        if (id == 0)
            return false;
        funcs[i] = (struct awsm_funcref){.code = wi->code, .vmctx = NULL,
                                         .type_id = id};
    }
    return true;
}

static bool funcs_get(void)
{
    if (atomic_load_explicit(&funcs_ready, memory_order_acquire))
        return true;
    pthread_mutex_lock(&funcs_lock);
    bool ok = atomic_load_explicit(&funcs_ready, memory_order_relaxed) ||
              funcs_make();
    if (ok)
        atomic_store_explicit(&funcs_ready, true, memory_order_release);
    pthread_mutex_unlock(&funcs_lock);
    return ok;
}

/* ud, the context, is not needed to resolve: the host functions reach it
 * through vmctx->host. */
int wasi_resolve(void *ud, const struct wm_import *im, struct rt_extern *out)
{
    (void)ud;
    const struct wasi_import *wi = import_find(im);
    if (wi == NULL)
        return -1;
    if (!funcs_get())
        return RT_RESOLVE_NOMEM;
    out->kind = WM_EXTERN_FUNC;
    out->u.func = &funcs[wi - imports];
    return 0;
}

/* ===== Checking a module's imports ====================================== */

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
    } else if (!module_is_wasi(&im->module)) {
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

int wasi_check_imports(const struct wm_module *m, struct wasi_error *err)
{
    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct wm_import *im = &m->imports[i];
        const struct wasi_import *wi = import_find(im);
        if (wi != NULL && im->u.func_type < m->ntypes &&
            type_matches(wi, &m->types[im->u.func_type]))
            continue;
        struct msg msg = {err ? err->msg : NULL, err ? sizeof err->msg : 0, 0};
        if (err)
            err->kind = WASI_ERR_IMPORT;
        if (wi != NULL && im->u.func_type >= m->ntypes)
            wi = NULL;                  /* not validated: no type to show */
        import_why(&msg, m, i, wi);
        return -1;
    }
    return 0;
}
