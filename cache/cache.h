/*
 * cache/cache.h - load a module for running: a .so built by awsmc as it is,
 * or a .wasm compiled on first use and kept in a cache, so the second run
 * of a module does not compile.
 *
 * The cache key is a SHA-256 over the module's bytes, the compiler version,
 * the ABI version, the host id (cache_host_id) and the options, so a change
 * to any of them compiles anew. Entries are written to a temporary file and
 * renamed into place, so concurrent runs never see half a file.
 *
 * Computing the key and loading a hit need no LLVM: the compiler is a
 * plugin loaded only on a miss (cache/plugin.h).
 *
 * Prefix cache_. Errors are values (struct cache_error: a kind and a
 * message).
 */
#ifndef AWSM_CACHE_H
#define AWSM_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/runtime.h"

struct cache_options {
    unsigned opt_level;         /* 0..3 */
    enum awsm_bounds bounds;
    const char *dir;            /* NULL: $AWSM_CACHE_DIR, else
                                   $XDG_CACHE_HOME/awsm, else ~/.cache/awsm */
    bool disabled;              /* compile into a temporary file every time */
    /* cg_options.max_memory_pages, so part of the key: a cap on the
     * module's own memory, in pages (0: none). A small one (at most
     * CG_BOUNDED_MAX_BYTES, 1024 pages) makes guard-mode code check its
     * accesses, and the runtime then caps growth there and may put the
     * memory in a slab slot (see rt_instance_options.private_memory). */
    uint32_t max_memory_pages;
    /* WM_FEATURE_*: proposals the module may use. Part of the key, so that
     * a module valid only with one is not run from the cache without it. */
    unsigned features;
    /* cg_options.polls, so part of the key. */
    bool polls;
    /* cg_options.progress and its argument, for a compile (not in the
     * key). */
    void (*progress)(void *arg, unsigned done, unsigned total);
    void *progress_arg;
};

#define CACHE_OPTIONS_DEFAULT { 2, AWSM_BOUNDS_GUARD, NULL, false, 0, 0, true, NULL, NULL }

/* What went wrong, for callers that treat failures differently (awsmrt
 * refuses a bad module at start-up but may retry an I/O error). */
enum cache_error_kind {
    CACHE_ERR_NONE = 0,
    CACHE_ERR_FILE,         /* the module file: missing, not a regular file,
                               too big, unreadable; or the cache unwritable */
    CACHE_ERR_MODULE,       /* not wasm, malformed or invalid */
    CACHE_ERR_COMPILE,      /* the compiler refused it (an unsupported
                               proposal, a limit) or cannot be loaded */
    CACHE_ERR_SO,           /* a .so that does not load: one given as the
                               module (missing, stale, foreign, truncated)
                               or one just compiled */
    CACHE_ERR_NOMEM,
};

struct cache_error {
    enum cache_error_kind kind;
    char msg[1024];         /* names the file: "app.wasm: offset 0x1a: ..." */
};

/* How the module came to be loaded, for messages and tests. */
enum cache_result { CACHE_SO, CACHE_HIT, CACHE_COMPILED };

/* What the compiler tunes code for on this machine, as it goes into every
 * key: "x86_64 AuthenticAMD family 26 model 2 stepping 1 cpuid 1f2e...",
 * the hash covering every CPUID word LLVM's host detection reads (see
 * cache/host.c). NULL when it can't be determined; then nothing is cached.
 * A static string. */
const char *cache_host_id(void);

/* Load `path` (.so or .wasm). Returns 0 and *out, or -1 and *err. Either
 * must be a regular file of at most RT_MODULE_FILE_MAX bytes
 * (rt_module_file_open); a cache entry that fails to load (truncated,
 * stale) is compiled again. */
int cache_module_load(const char *path, const struct cache_options *opt,
                      struct rt_module **out, enum cache_result *how,
                      struct cache_error *err);

#endif
