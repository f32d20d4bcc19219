/*
 * cache/cache.c - compile-on-first-use with a content-addressed cache of
 * shared objects (see cache.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache.h"
#include "cache/plugin.h"

static int fail(struct cache_error *err, enum cache_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct cache_error *err, enum cache_error_kind kind, const char *fmt, ...)
{
    va_list ap;
    err->kind = kind;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* A runtime error loading a .so: out of memory, or the .so's fault. */
static int fail_rt(struct cache_error *err, const struct rt_error *rerr)
{
    return fail(err, rerr->kind == RT_ERR_NOMEM ? CACHE_ERR_NOMEM : CACHE_ERR_SO,
                "%s", rerr->msg);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* mkdir -p for the cache directory; 0 when it exists afterwards. */
static int make_dirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static void cache_dir(const struct cache_options *opt, char *out, size_t n)
{
    const char *env = getenv("AWSM_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (opt->dir)
        snprintf(out, n, "%s", opt->dir);
    else if (env && *env)
        snprintf(out, n, "%s", env);
    else if (xdg && *xdg)
        snprintf(out, n, "%s/awsm", xdg);
    else
        snprintf(out, n, "%s/.cache/awsm", home && *home ? home : "/tmp");
}

/* The key: SHA-256 over everything the generated code depends on. The
 * host id stands for the target: the compiler tunes for this machine.
 * AWSM_LLVM_ARGS (options for LLVM itself, compiler/cg_emit.c) and
 * AWSM_MAX_MEMORY_PAGES (the cap's stand-in, compiler/compiler.h) can
 * change the code too. */
static int cache_key(const uint8_t *wasm, size_t size,
                     const struct cache_options *opt, char hex[65],
                     uint8_t module_hash[32])
{
    uint8_t key[32];
    char text[2048];
    const char *host = cache_host_id();
    const char *llvm_args = getenv("AWSM_LLVM_ARGS");
    const char *max_env = getenv(CG_MAX_MEMORY_PAGES_ENV);
    if (!host || rt_sha256(wasm, size, module_hash) != 0)
        return -1;
    int n = snprintf(text, sizeof text,
                     "%s|abi %u|%s|O%u|bounds %u|max pages %u|features %u|polls %d|%s|%s|",
                     AWSM_COMPILER_VERSION, AWSM_ABI_VERSION, host,
                     opt->opt_level, (unsigned)opt->bounds,
                     opt->max_memory_pages,
                     opt->features & ~(unsigned)WM_FEATURE_RELAXED_SIMD,  /* always on */
                     opt->polls,
                     max_env ? max_env : "",
                     llvm_args ? llvm_args : "");
    if (n < 0 || (size_t)n + 32 > sizeof text)
        return -1;
    memcpy(text + n, module_hash, 32);
    if (rt_sha256(text, (size_t)n + 32, key) != 0)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    return 0;
}

/* The whole file, opened as the runtime opens modules: a regular file of
 * at most RT_MODULE_FILE_MAX bytes, so a FIFO or /dev/zero named as a
 * module is an error at once, not a hang or a read until memory runs out.
 * A file that grows meanwhile is read up to the size it had. */
static int read_fd(int fd, uint64_t size, uint8_t **bytes, size_t *len)
{
    uint8_t *buf = malloc(size ? (size_t)size : 1);
    size_t n = 0;
    if (buf == NULL)
        return ENOMEM;
    while (n < size) {
        ssize_t r = read(fd, buf + n, (size_t)size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return e;
        }
        if (r == 0)
            break;                      /* it shrank: what there is */
        n += (size_t)r;
    }
    *bytes = buf;
    *len = n;
    return 0;
}

static int read_bytes(const char *path, uint8_t **bytes, size_t *size,
                      struct cache_error *err)
{
    struct rt_error rerr;
    uint64_t file_size;
    int fd = rt_module_file_open(path, &file_size, &rerr);
    if (fd < 0)
        return fail(err, CACHE_ERR_FILE, "%s", rerr.msg);
    int e = read_fd(fd, file_size, bytes, size);
    close(fd);
    if (e)
        return fail(err, e == ENOMEM ? CACHE_ERR_NOMEM : CACHE_ERR_FILE,
                    "cannot read %s: %s", path, strerror(e));
    if (*size >= 4 && memcmp(*bytes, "\0asm", 4) != 0) {
        free(*bytes);
        return fail(err, CACHE_ERR_MODULE, "%s: not a wasm module (no \\0asm header)",
                    path);
    }
    return 0;
}

/* Compile into a fresh temporary file next to `final`, then rename. The
 * module is validated here, before the compiler is loaded, so a bad module
 * gets its own message even where the compiler is missing. (A hit is not
 * validated again: the compiler did, and rt_module_load_from checks that
 * the .so was compiled from a module of the same SHA-256.) */
static int compile_to(const uint8_t *bytes, size_t size,
                      const struct cache_options *opt, const char *final,
                      const char *path, struct cache_error *err)
{
    char tmp[4200];
    struct cg_options copt = CG_OPTIONS_DEFAULT;
    struct cg_error cerr;
    struct wm_module *m;
    struct wm_error werr;
    if (wm_load_features(bytes, size, opt->features, &m, &werr) != 0)
        return fail(err, werr.kind == WM_ERR_NOMEM ? CACHE_ERR_NOMEM : CACHE_ERR_MODULE,
                    "%s: %s", path, werr.msg);
    copt.opt_level = opt->opt_level;
    copt.bounds = opt->bounds;
    copt.max_memory_pages = opt->max_memory_pages;
    copt.features = opt->features;
    copt.polls = opt->polls;
    copt.progress = opt->progress;
    copt.progress_arg = opt->progress_arg;
    /* Unique per compile: threads of one process may compile the same
     * module at once (awsmrt loads its modules in parallel). */
    static atomic_uint seq;
    snprintf(tmp, sizeof tmp, "%s.tmp.%d.%u", final, (int)getpid(),
             atomic_fetch_add(&seq, 1));
    int rc = cache_compile(m, &copt, tmp, &cerr);
    wm_module_free(m);
    if (rc != 0) {
        unlink(tmp);
        return fail(err, CACHE_ERR_COMPILE, "%s: %s", path, cerr.msg);
    }
    if (rename(tmp, final) != 0) {
        int e = errno;
        unlink(tmp);
        return fail(err, CACHE_ERR_FILE, "cannot write %s: %s", final, strerror(e));
    }
    return 0;
}

/* Without a usable cache: compile to a private temporary file. */
static int compile_uncached(const uint8_t *bytes, size_t size,
                            const struct cache_options *opt, const char *path,
                            struct rt_module **out, struct cache_error *err)
{
    char dir[] = "/tmp/awsm-XXXXXX", so[64];
    struct rt_error rerr;
    if (!mkdtemp(dir))
        return fail(err, CACHE_ERR_FILE, "cannot create a temporary directory: %s",
                    strerror(errno));
    snprintf(so, sizeof so, "%s/module.so", dir);
    int rc = compile_to(bytes, size, opt, so, path, err);
    if (rc == 0 && rt_module_load(so, out, &rerr) != 0)   /* ours, just made */
        rc = fail_rt(err, &rerr);
    unlink(so);             /* the loaded object stays mapped */
    rmdir(dir);
    return rc;
}

static int load_wasm(const char *path, const struct cache_options *opt,
                     struct rt_module **out, enum cache_result *how,
                     struct cache_error *err)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    char dir[4096], key[65], so[4200];
    struct rt_error rerr;
    if (read_bytes(path, &bytes, &size, err) != 0)
        return -1;
    uint8_t module_hash[32];
    int rc = cache_key(bytes, size, opt, key, module_hash);
    cache_dir(opt, dir, sizeof dir);
    *how = CACHE_COMPILED;
    if (rc != 0 || opt->disabled || make_dirs(dir) != 0 || access(dir, W_OK) != 0) {
        rc = compile_uncached(bytes, size, opt, path, out, err);
        free(bytes);
        return rc;
    }
    snprintf(so, sizeof so, "%s/%s.so", dir, key);
    bool cached = access(so, R_OK) == 0;
    if (cached && rt_module_load_from(so, module_hash, out, &rerr) == 0) {
        *how = CACHE_HIT;
        free(bytes);
        return 0;
    }
    if (cached && rerr.kind == RT_ERR_NOMEM) {
        free(bytes);                    /* not stale: no reason to compile */
        return fail_rt(err, &rerr);
    }
    /* Missing, or unloadable (stale, truncated): compile it (again). */
    rc = compile_to(bytes, size, opt, so, path, err);
    if (rc == 0 && rt_module_load_from(so, module_hash, out, &rerr) != 0)
        rc = fail_rt(err, &rerr);
    free(bytes);
    return rc;
}

int cache_module_load(const char *path, const struct cache_options *opt,
                      struct rt_module **out, enum cache_result *how,
                      struct cache_error *err)
{
    enum cache_result ignored;
    struct rt_error rerr;
    if (!how)
        how = &ignored;
    if (ends_with(path, ".so")) {
        *how = CACHE_SO;
        return rt_module_load(path, out, &rerr) == 0 ? 0 : fail_rt(err, &rerr);
    }
    return load_wasm(path, opt, out, how, err);
}
