/*
 * tests/wasi/args_env.c - args_* and environ_*: what run.sh passes comes
 * through unchanged (empty strings, spaces, UTF-8, '=' in values), the
 * host's own environment does not, and bad pointers are EFAULT.
 * run.sh runs: args_env.wasm first "second arg" "" "ünï"
 *              with --env ALPHA=one --env BETA= --env GAMMA=x=y
 */
#include <stdlib.h>

#include "check.h"

static uint32_t memory_end(void)
{
    return (uint32_t)(__builtin_wasm_memory_size(0) * 65536u);
}

int main(int argc, char **argv)
{
    CHECK("argc is 5", argc == 5);
    if (argc == 5) {
        size_t n = strlen(argv[0]);
        CHECK("argv[0] is the module", n >= 13 &&
              strcmp(argv[0] + n - 13, "args_env.wasm") == 0);
        CHECK("argv[1]", strcmp(argv[1], "first") == 0);
        CHECK("argv[2] keeps its space", strcmp(argv[2], "second arg") == 0);
        CHECK("argv[3] is empty", strcmp(argv[3], "") == 0);
        CHECK("argv[4] is UTF-8", strcmp(argv[4], "\xc3\xbcn\xc3\xaf") == 0);
    }
    const char *a = getenv("ALPHA"), *b = getenv("BETA"), *g = getenv("GAMMA");
    CHECK("env ALPHA", a && strcmp(a, "one") == 0);
    CHECK("env BETA empty", b && strcmp(b, "") == 0);
    CHECK("env GAMMA keeps '='", g && strcmp(g, "x=y") == 0);
    CHECK("host env not leaked", getenv("PATH") == NULL &&
          getenv("HOME") == NULL);

    __wasi_size_t count = 0, size = 0;
    CHECK_ERR("args_sizes_get", 0, __wasi_args_sizes_get(&count, &size));
    CHECK("args sizes", count == 5 && size == (__wasi_size_t)(
          strlen(argv[0]) + 1 + 6 + 11 + 1 + 6));
    CHECK_ERR("args_sizes_get bad argc ptr", __WASI_ERRNO_FAULT,
              raw_args_sizes_get(BAD_PTR, PTR(&size)));
    CHECK_ERR("args_sizes_get bad size ptr", __WASI_ERRNO_FAULT,
              raw_args_sizes_get(PTR(&count), memory_end() - 2));
    char buf[256];
    uint32_t ptrs[8];
    CHECK_ERR("args_get bad argv ptr", __WASI_ERRNO_FAULT,
              raw_args_get(BAD_PTR, PTR(buf)));
    CHECK_ERR("args_get buffer past the end", __WASI_ERRNO_FAULT,
              raw_args_get(PTR(ptrs), memory_end() - 4));
    CHECK_ERR("environ_get bad buffer", __WASI_ERRNO_FAULT,
              raw_environ_get(PTR(ptrs), BAD_PTR));
    CHECK_ERR("args_get into a good buffer", 0,
              raw_args_get(PTR(ptrs), PTR(buf)));
    CHECK("args_get strings", strcmp((char *)ptrs[1], "first") == 0);
    return DONE();
}
