/*
 * cache/plugin_load.c - compiling from programs that must not link LLVM:
 * cache_compile and cache_target_id load the compiler from
 * libawsm_compiler.so the first time something is compiled (see plugin.h).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/plugin.h"

#define PLUGIN_PATH_MAX 4096

static struct {
    const struct awsm_plugin *p;        /* NULL: not found, see msg */
    char path[PLUGIN_PATH_MAX];
    char msg[PLUGIN_PATH_MAX + 512];
} plugin;

__attribute__((format(printf, 1, 2)))
static void plugin_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(plugin.msg, sizeof plugin.msg, fmt, ap);
    va_end(ap);
}

/* $AWSM_COMPILER_PLUGIN, else ../lib/ from the executable's directory. */
static int plugin_find(void)
{
    const char *env = getenv(AWSM_PLUGIN_ENV);
    if (env && *env) {
        snprintf(plugin.path, sizeof plugin.path, "%s", env);
        return 0;
    }
    char exe[PLUGIN_PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        plugin_fail("cannot find the compiler: /proc/self/exe is unreadable "
                    "(set %s to the path of %s)", AWSM_PLUGIN_ENV, AWSM_PLUGIN_FILE);
        return -1;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');    /* DIR/bin/awsm -> DIR/bin */
    if (slash)
        *slash = '\0';
    slash = strrchr(exe, '/');          /* DIR/bin -> DIR */
    if (slash)
        *slash = '\0';
    n = snprintf(plugin.path, sizeof plugin.path, "%s/lib/%s", exe,
                 AWSM_PLUGIN_FILE);
    if (n < 0 || (size_t)n >= sizeof plugin.path) {
        plugin_fail("cannot find the compiler: the path of %s is too long "
                    "(set %s)", exe, AWSM_PLUGIN_ENV);
        return -1;
    }
    return 0;
}

/* The plugin must come from the compiler this program keys its cache by. */
static int plugin_check(const struct awsm_plugin *p)
{
    if (strcmp(p->compiler_version, AWSM_COMPILER_VERSION) != 0 ||
        p->abi_version != AWSM_ABI_VERSION) {
        plugin_fail("%s is %s (ABI %u) but this program needs %s (ABI %u)",
                    plugin.path, p->compiler_version, p->abi_version,
                    AWSM_COMPILER_VERSION, AWSM_ABI_VERSION);
        return -1;
    }
    if (p->options_size != sizeof(struct cg_options) ||
        p->error_size != sizeof(struct cg_error)) {
        plugin_fail("%s was built from other sources than this program "
                    "(struct cg_options or cg_error differ)", plugin.path);
        return -1;
    }
    return 0;
}

static void plugin_load_once(void)
{
    if (plugin_find() != 0)
        return;
    /* RTLD_LOCAL: LLVM's symbols stay out of the global scope. The handle
     * is never closed; the code stays for the life of the process. */
    void *h = dlopen(plugin.path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        plugin_fail("cannot load the compiler: %s (set %s to the path of %s)",
                    dlerror(), AWSM_PLUGIN_ENV, AWSM_PLUGIN_FILE);
        return;
    }
    const struct awsm_plugin *p = dlsym(h, AWSM_PLUGIN_SYMBOL);
    if (!p) {
        plugin_fail("%s is not an awsm compiler: no %s", plugin.path,
                    AWSM_PLUGIN_SYMBOL);
        dlclose(h);
        return;
    }
    if (plugin_check(p) != 0) {
        dlclose(h);
        return;
    }
    plugin.p = p;
}

static void copy_msg(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    if (n == 0)
        return;
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static const struct awsm_plugin *plugin_get(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, plugin_load_once);
    return plugin.p;
}

int cache_compiler_load(char *err, size_t errlen)
{
    if (plugin_get())
        return 0;
    copy_msg(err, errlen, plugin.msg);
    return -1;
}

const char *cache_target_id(void)
{
    const struct awsm_plugin *p = plugin_get();
    return p ? p->target_id() : "unknown (no compiler)";
}

int cache_compile(const struct wm_module *m, const struct cg_options *opt,
                  const char *out_path, struct cg_error *err)
{
    const struct awsm_plugin *p = plugin_get();
    if (!p) {
        copy_msg(err->msg, sizeof err->msg, plugin.msg);
        return -1;
    }
    return p->compile(m->bytes, m->size, opt, out_path, err);
}
