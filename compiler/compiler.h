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
 * changes (0.2: interrupt polls at loop headers and function entry; 0.3:
 * bounded memories in guard mode, the descriptor's mem_reach; 0.4: large
 * frames call a checking stack probe; 0.5: SIMD, v128 global and
 * trampoline accesses at alignment 8; 0.9: polls optional, the
 * descriptor's flags; 0.14: large modules compiled in parts; 0.15:
 * self-recursion inlined; 0.16: invariant loads from fixed tables; 0.20:
 * the stack check before the calls, not at entry; 0.21: widened bounds
 * checks). SIMD did not change the ABI: v128
 * values travel in the 16-byte awsm_value cells and native signatures
 * that were there from ABI 1, and no older .so holds SIMD code (the
 * compiler refused it). */
#define AWSM_COMPILER_VERSION "awsmc 0.24.0 (LLVM 19)"

struct cg_options {
    unsigned opt_level;         /* 0..3, as -O0..-O3 */
    enum awsm_bounds bounds;
    const char *emit_llvm;      /* also write the optimised IR here */
    const char *emit_object;    /* keep the object file here */
    /* A cap on a defined memory 0, in pages (0: the module's maximum).
     * When the capped maximum is small enough for checked code
     * (CG_BOUNDED_MAX_BYTES, or checked mode) it is the descriptor's
     * mem_reach, which the runtime enforces; bare guard-mode code cannot
     * carry it (rt_instance_options.max_memory_pages caps at run time). */
    uint32_t max_memory_pages;
    unsigned features;          /* WM_FEATURE_*: what the plugin's
                                   validation accepts (wasm/module.h) */
    /* Interrupt polls at loop headers (runtime/abi.h, AWSM_DESC_POLLS).
     * Without them a loop that calls nothing cannot be preempted or
     * stopped: only for code that nothing interrupts (awsm run). */
    bool polls;
    /* Threads to compile a large module with (0: one per CPU this thread
     * may run on). The output is the same whatever the number
     * (cg_module.c, "Partitions"). */
    unsigned jobs;
    /* Called, when set, after each partition of the module is compiled,
     * from the thread that compiled it, one call at a time: done of
     * total (total is 1 for a module compiled whole). */
    void (*progress)(void *arg, unsigned done, unsigned total);
    void *progress_arg;
};

#define CG_OPTIONS_DEFAULT { 2, AWSM_BOUNDS_GUARD, NULL, NULL, 0, 0, true, 0, NULL, NULL }

/* Guard mode checks every access, like checked mode, when memory 0 is
 * defined and its maximum (the declared one lowered to max_memory_pages)
 * is at most this: such code needs no 8 GiB reservation, and the runtime
 * packs its memory into a slab with thousands of others. Larger or
 * unbounded memories keep bare accesses. */
#define CG_BOUNDED_MAX_BYTES (64ull << 20)

/* Tests and measurements: when cg_options.max_memory_pages is 0, this
 * variable (a page count) stands in for it. The compile cache puts it in
 * its key. */
#define CG_MAX_MEMORY_PAGES_ENV "AWSM_MAX_MEMORY_PAGES"

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
