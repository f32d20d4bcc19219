/*
 * tests/unit/compile.h - for the unit tests that link the compiler: wasm
 * bytes compiled with cg_compile into a temporary .so and loaded.
 */
#ifndef AWSM_TESTS_UNIT_COMPILE_H
#define AWSM_TESTS_UNIT_COMPILE_H

#include <stdlib.h>
#include <unistd.h>

#include "compiler/compiler.h"
#include "runtime/runtime.h"
#include "test.h"

/* Decode, compile with `opt` into the .so at `path` and load it; the
 * bytes in b are freed here. NULL when they do not decode or do not
 * compile (validated with opt->features); a compiled .so that does not
 * load fails the test. */
static inline struct rt_module *test_compile_to(struct wbuf *b, const struct cg_options *opt,
                                                const char *path)
{
    struct wm_module *m;
    struct wm_error werr;
    struct cg_error cerr;
    struct rt_error rerr;
    struct rt_module *mod = NULL;
    int rc = wm_load_features(b->p, b->len, opt->features, &m, &werr);
    wb_free(b);
    if (rc == 0) {
        rc = cg_compile(m, opt, path, &cerr);
        wm_module_free(m);
        if (rc == 0 && rt_module_load(path, &mod, &rerr) != 0)
            test_fail(__FILE__, __LINE__, "%s", rerr.msg);
    }
    return mod;
}

/* test_compile_to a temporary .so, unlinked once loaded. */
static inline struct rt_module *test_compile(struct wbuf *b, const struct cg_options *opt)
{
    char path[] = "/tmp/awsm-unit-XXXXXX.so";
    int fd = mkstemps(path, 3);
    if (fd < 0) {
        wb_free(b);
        return NULL;
    }
    close(fd);
    struct rt_module *mod = test_compile_to(b, opt, path);
    unlink(path);
    return mod;
}

/* Call the export `name` (i32, i32) -> i32 of inst; its rt_call status,
 * or -2 without such an export. */
static inline int test_call2(struct rt_instance *inst, const char *name, uint32_t a,
                             uint32_t b, uint32_t *result, struct rt_error *err)
{
    struct rt_extern ex;
    awsm_value args[2] = { { .i32 = a }, { .i32 = b } };
    if (rt_instance_export(inst, name, &ex) != 0)
        return -2;
    int rc = rt_call(inst, ex.u.func, args, err);
    *result = args[0].i32;
    return rc;
}

#endif
