/*
 * cache/plugin.h - the compiler as a plugin: libawsm_compiler.so holds
 * compiler/ (and so libLLVM), and awsm loads it only when it compiles: a
 * cache miss, `awsm compile`, `awsm wast`. A cache hit or a .so never maps
 * LLVM, whose relocation would cost a run ~65 ms.
 *
 * Two sides, two libraries:
 *   awsm_compiler_ondemand  (plugin_load.c): cache_compile() and
 *       cache_target_id(), compiler/compiler.h's cg_compile() and
 *       cg_target_id() by way of the plugin, loaded on first use; awsm,
 *       awsm_wast and awsm_cache (so awsmrt) link it.
 *   libawsm_compiler.so     (plugin_entry.c + awsm_compiler) exports one
 *       symbol, AWSM_PLUGIN_SYMBOL, a struct awsm_plugin.
 * A program may link both awsm_compiler (in-process, as awsmc and the unit
 * tests do) and awsm_compiler_ondemand: the names differ, so each call
 * says which compiler it means.
 *
 * Where the plugin is: $AWSM_COMPILER_PLUGIN if set, else
 * DIR/../lib/libawsm_compiler.so for the running executable DIR/awsm
 * (/proc/self/exe), which is both the build tree's and an install's layout.
 *
 * Only plain data crosses the boundary: the plugin takes the wasm bytes and
 * decodes them with its own copy of wasm/, so no in-memory module layout
 * has to agree. The loader refuses a plugin whose compiler version, ABI
 * version or option/error struct sizes differ from its own: the cache key
 * names AWSM_COMPILER_VERSION, so the code must come from that compiler.
 */
#ifndef AWSM_CACHE_PLUGIN_H
#define AWSM_CACHE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "compiler/compiler.h"

#define AWSM_PLUGIN_FILE "libawsm_compiler.so"
#define AWSM_PLUGIN_ENV "AWSM_COMPILER_PLUGIN"
#define AWSM_PLUGIN_SYMBOL "awsm_compiler_plugin_v1"

struct awsm_plugin {
    const char *compiler_version;       /* AWSM_COMPILER_VERSION */
    uint32_t abi_version;               /* AWSM_ABI_VERSION of its code */
    size_t options_size;                /* sizeof(struct cg_options) */
    size_t error_size;                  /* sizeof(struct cg_error) */
    const char *(*target_id)(void);
    /* Decode, validate and compile `wasm` into out_path: 0 or -1 and *err. */
    int (*compile)(const uint8_t *wasm, size_t size, const struct cg_options *opt,
                   const char *out_path, struct cg_error *err);
};

extern const struct awsm_plugin awsm_compiler_plugin_v1;

/* Load the plugin now, if it is not loaded yet (thread-safe; a failure is
 * remembered). `awsm wast` calls it before forking a child per file, so
 * LLVM is relocated once. Returns 0, or -1 with a message naming the path
 * tried and $AWSM_COMPILER_PLUGIN. */
int cache_compiler_load(char *err, size_t errlen);

/* cg_target_id() and cg_compile() of the plugin, loaded first if need be;
 * when it cannot be, cache_target_id says "unknown (no compiler)" and
 * cache_compile fails with cache_compiler_load's message. */
const char *cache_target_id(void);
int cache_compile(const struct wm_module *m, const struct cg_options *opt,
                  const char *out_path, struct cg_error *err);

#endif
