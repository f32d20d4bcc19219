/*
 * wasi/resolve.c - the wasi_snapshot_preview1 import table and the
 * resolver that binds a module's imports to it.
 *
 * Each entry gives the function's wasm signature by letter (i = i32,
 * l = i64; every function but proc_exit returns an i32 errno), as in
 * wasi_snapshot_preview1.witx lowered to core wasm. The runtime checks an
 * import's type against it, so a module that declares an import with
 * another signature fails to link instead of calling with garbage.
 */
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
    if (!name_is(&im->module, WASI_MODULE) || im->kind != WM_EXTERN_FUNC)
        return -1;
    for (size_t i = 0; i < WASI_NFUNCS; i++) {
        if (!name_is(&im->name, imports[i].name))
            continue;
        struct awsm_funcref *f = import_func(w, i);
        if (f == NULL)
            return -1;
        out->kind = WM_EXTERN_FUNC;
        out->u.func = f;
        return 0;
    }
    return -1;
}
