/*
 * wasi/mem.c - guest memory: results stored at guest addresses, and guest
 * iovec arrays turned into host iovecs that point straight into the
 * linear memory (so reads and writes need no copy). Every address and
 * length is checked against the memory's current size first.
 *
 * Long iovec arrays go in the context's scratch memory, not in a malloc
 * of their own: a read or write may wait in a hook that ends the call
 * with a trap, and nothing would free it then.
 */
#include <stdlib.h>

#include "wasi/internal.h"

uint32_t wasi__store_u32(struct awsm_vmctx *vm, uint32_t ptr, uint32_t v)
{
    uint8_t *p = wasi__mem(vm, ptr, 4);
    if (p == NULL)
        return WASI_EFAULT;
    wasi__put_u32(p, v);
    return WASI_ESUCCESS;
}

uint32_t wasi__store_u64(struct awsm_vmctx *vm, uint32_t ptr, uint64_t v)
{
    uint8_t *p = wasi__mem(vm, ptr, 8);
    if (p == NULL)
        return WASI_EFAULT;
    wasi__put_u64(p, v);
    return WASI_ESUCCESS;
}

/*
 * The array is checked whole; each buffer is checked as well. Past
 * WASI_MAX_IOVS entries the rest is left out (a short transfer, which
 * callers of read and write must handle anyway).
 */
uint32_t wasi__iovs_get(struct awsm_vmctx *vm, uint32_t ptr, uint32_t n,
                        struct wasi_iovs *out)
{
    const uint8_t *arr = wasi__mem(vm, ptr, (uint64_t)n * WASI_IOVEC_SIZE);
    out->v = out->small;
    out->n = 0;
    out->total = 0;
    if (arr == NULL)
        return WASI_EFAULT;
    if (n > WASI_MAX_IOVS)
        n = WASI_MAX_IOVS;
    if (n > WASI_SMALL_IOVS) {
        out->v = wasi__scratch_get(&wasi__ctx(vm)->iov_scratch,
                                   n * sizeof *out->v);
        if (out->v == NULL) {
            out->v = out->small;
            return WASI_ENOMEM;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t buf = wasi__get_u32(arr + i * WASI_IOVEC_SIZE);
        uint32_t len = wasi__get_u32(arr + i * WASI_IOVEC_SIZE + 4);
        uint8_t *p = wasi__mem(vm, buf, len);
        if (p == NULL) {
            out->total = 0;
            return WASI_EFAULT;
        }
        out->v[i] = (struct iovec){p, len};
        out->total += len;
    }
    out->n = (int)n;
    return WASI_ESUCCESS;
}

/* Grown by doubling; freed only with the context. */
void *wasi__scratch_get(struct wasi_scratch *s, size_t size)
{
    if (size <= s->cap)
        return s->p;
    size_t cap = s->cap ? s->cap : 256;
    while (cap < size)
        cap = cap * 2 > cap ? cap * 2 : size;
    void *p = malloc(cap);
    if (p == NULL)
        return NULL;
    free(s->p);
    s->p = p;
    s->cap = cap;
    return p;
}
