/*
 * cache/plugin_entry.c - the one symbol libawsm_compiler.so exports (see
 * plugin.h). Everything else in the plugin is local to it: the build links
 * it with --exclude-libs,ALL.
 */
#include <stdio.h>

#include "cache/plugin.h"
#include "wasm/module.h"

static int plugin_compile(const uint8_t *wasm, size_t size,
                          const struct cg_options *opt, const char *out_path,
                          struct cg_error *err)
{
    struct wm_module *m;
    struct wm_error werr;
    if (wm_load_features(wasm, size, opt->features, &m, &werr) != 0) {
        snprintf(err->msg, sizeof err->msg, "%s", werr.msg);
        return -1;
    }
    int rc = cg_compile(m, opt, out_path, err);
    wm_module_free(m);
    return rc;
}

__attribute__((visibility("default")))
const struct awsm_plugin awsm_compiler_plugin_v1 = {
    .compiler_version = AWSM_COMPILER_VERSION,
    .abi_version = AWSM_ABI_VERSION,
    .options_size = sizeof(struct cg_options),
    .error_size = sizeof(struct cg_error),
    .target_id = cg_target_id,
    .compile = plugin_compile,
};
