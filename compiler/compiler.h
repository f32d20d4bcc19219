/*
 * compiler/compiler.h - the public header of awsmc's library: compile a
 * validated module to a native shared object through the LLVM C API.
 *
 *   struct cg_options opt = CG_OPTIONS_DEFAULT;
 *   struct cg_error err;
 *   if (cg_compile(module, &opt, "app.so", &err) != 0)
 *       fprintf(stderr, "%s\n", err.msg);
 *
 * Prefix cg_. The module must have passed val_module.
 */
#ifndef AWSM_COMPILER_H
#define AWSM_COMPILER_H

#include <stdbool.h>

#include "runtime/abi.h"
#include "wasm/module.h"

/* Part of every compile-cache key: change it whenever generated code
 * changes (0.2: interrupt polls at loop headers and function entry). */
#define AWSM_COMPILER_VERSION "awsmc 0.2.0 (LLVM 19)"

struct cg_options {
    unsigned opt_level;         /* 0..3, as -O0..-O3 */
    enum awsm_bounds bounds;
    const char *emit_llvm;      /* also write the optimised IR here */
    const char *emit_object;    /* keep the object file here */
};

#define CG_OPTIONS_DEFAULT { 2, AWSM_BOUNDS_GUARD, NULL, NULL }

struct cg_error {
    char msg[512];
};

/* What LLVM tunes the generated code for: "x86_64-pc-linux-gnu/znver3"
 * (awsmc --version prints it). The compile cache does not call it, so that a
 * cache hit needs no LLVM: its key has cache_host_id() (cache/cache.h), a
 * hash of every CPUID word this choice is made from. The string is static. */
const char *cg_target_id(void);

/* Compile to a shared object at out_path. Returns 0 or -1 with *err. */
int cg_compile(const struct wm_module *m, const struct cg_options *opt,
               const char *out_path, struct cg_error *err);

#endif
