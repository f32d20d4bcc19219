/*
 * runtime/backtrace.c - which wasm functions a trap happened in.
 *
 * At a trap the raising path records the native return addresses
 * (glibc's backtrace(), which unwinds through LLVM's .eh_frame and through
 * the signal frame of a guard-page fault). Symbolising maps each address
 * inside the module's shared object to the function whose code starts
 * closest below it, using the descriptor's function table sorted by
 * address. Frames outside the module (the runtime, libc, other modules)
 * are skipped.
 */
#define _GNU_SOURCE         /* dladdr */
#include <dlfcn.h>
#include <stdlib.h>

#include "runtime/internal.h"

#define NOT_WASM UINT32_MAX

struct code_start {
    uintptr_t addr;
    uint32_t func;                  /* defined function index, or NOT_WASM */
};

static int cmp_start(const void *a, const void *b)
{
    uintptr_t x = ((const struct code_start *)a)->addr;
    uintptr_t y = ((const struct code_start *)b)->addr;
    return (x > y) - (x < y);
}

int rt_code_map_build(struct rt_module *m)
{
    Dl_info info;
    uint32_t nf = m->desc->nfuncs, n = nf + m->desc->ntypes;
    if (nf == 0 || dladdr(m->desc, &info) == 0)
        return 0;                   /* no map: backtraces stay empty */
    struct code_start *s = calloc(n, sizeof *s);
    if (s == NULL)
        return -1;
    for (uint32_t i = 0; i < nf; i++)
        s[i] = (struct code_start){ (uintptr_t)m->desc->funcs[i], i };
    /* Trampolines end the function before them; they are not wasm. */
    for (uint32_t t = 0; t < m->desc->ntypes; t++)
        s[nf + t] = (struct code_start){ (uintptr_t)m->desc->trampolines[t],
                                         NOT_WASM };
    qsort(s, n, sizeof *s, cmp_start);
    m->code_starts = s;
    m->ncode_starts = n;
    m->code_base = info.dli_fbase;
    return 0;
}

void rt_code_map_free(struct rt_module *m)
{
    free(m->code_starts);
    m->code_starts = NULL;
}

/* The defined function containing pc, or -1. */
static int64_t func_at(const struct rt_module *m, uintptr_t pc)
{
    Dl_info info;
    const struct code_start *s = m->code_starts;
    if (s == NULL || dladdr((void *)pc, &info) == 0 ||
        info.dli_fbase != m->code_base || pc < s[0].addr)
        return -1;
    uint32_t lo = 0, hi = m->ncode_starts;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s[mid].addr <= pc)
            lo = mid;
        else
            hi = mid;
    }
    return s[lo].func == NOT_WASM ? -1 : (int64_t)s[lo].func;
}

void rt_backtrace_symbolize(const struct rt_module *m, void *const *pcs,
                            int npcs, struct rt_error *err)
{
    err->nframes = 0;
    for (int i = 0; i < npcs && err->nframes < RT_MAX_FRAMES; i++) {
        /* A return address points after its call: look one byte back. */
        int64_t f = func_at(m, (uintptr_t)pcs[i] - 1);
        if (f >= 0)
            err->frames[err->nframes++] = m->wasm->nfunc_imports + (uint32_t)f;
    }
}
