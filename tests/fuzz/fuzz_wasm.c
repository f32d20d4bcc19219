/*
 * tests/fuzz/fuzz_wasm.c - libFuzzer target: decode and validate any input
 * with wm_load_features (every proposal awsm knows on), then walk what a
 * caller would read (index spaces, names), so the sanitizers see every
 * pointer the module hands out.
 *
 * Built by tests/fuzz/run.sh with clang -fsanitize=fuzzer (libFuzzer
 * supplies main). Build with -DFUZZ_STANDALONE to get a plain main that
 * replays files given on the command line, e.g. with gcc and ASan:
 *   gcc -DFUZZ_STANDALONE -fsanitize=address,undefined -I. wasm/[a-z]*.c \
 *       tests/fuzz/fuzz_wasm.c -o replay && ./replay crash-...
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touch everything the decoder built; a checksum keeps it from being
 * optimised away. */
static unsigned walk(const struct wm_module *m)
{
    unsigned sum = 0;
    for (uint32_t f = 0; f < wm_func_count(m); f++) {
        const struct wm_functype *ft = wm_func_type(m, f);
        sum += ft->nparams + ft->nresults;
        const char *name = wm_func_name(m, f);
        if (name)
            sum += (unsigned)strlen(name);
    }
    for (uint32_t t = 0; t < wm_table_count(m); t++)
        sum += wm_table_type(m, t)->elem;
    for (uint32_t g = 0; g < wm_global_count(m); g++)
        sum += wm_global_type(m, g)->type;
    for (uint32_t i = 0; i < m->nfuncs; i++)
        sum += m->funcs[i].code[m->funcs[i].code_len - 1];     /* `end` */
    for (uint32_t i = 0; i < m->nexports; i++)
        sum += m->exports[i].name.len;
    for (uint32_t i = 0; i < m->ndatas; i++)
        if (m->datas[i].len)
            sum += m->datas[i].bytes[m->datas[i].len - 1];
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wm_module *m;
    struct wm_error err;
    if (wm_load_features(data, size, WM_FEATURES_ALL, &m, &err) == 0) {
        volatile unsigned sink = walk(m);
        (void)sink;
        wm_module_free(m);
    } else if (err.kind == WM_ERR_NONE || err.msg[0] == '\0') {
        abort();                /* a failure must say what failed */
    }
    return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *fp = fopen(argv[i], "rb");
        if (!fp) {
            perror(argv[i]);
            return 1;
        }
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0, n;
        do {
            if (len == cap) {
                cap = cap ? cap * 2 : 4096;
                buf = realloc(buf, cap);
                if (!buf)
                    return 1;
            }
            n = fread(buf + len, 1, cap - len, fp);
            len += n;
        } while (n > 0);
        fclose(fp);
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        printf("%s: ok\n", argv[i]);
    }
    return 0;
}
#endif
