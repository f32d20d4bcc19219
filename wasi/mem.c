/*
 * wasi/mem.c - guest memory: results stored at guest addresses, and guest
 * iovec arrays turned into host iovecs that point straight into the
 * linear memory (so reads and writes need no copy). Every address and
 * length is checked against the memory's current size first.
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
    if (n > WASI_SMALL_IOVS && (out->v = malloc(n * sizeof *out->v)) == NULL) {
        out->v = out->small;
        return WASI_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t buf = wasi__get_u32(arr + i * WASI_IOVEC_SIZE);
        uint32_t len = wasi__get_u32(arr + i * WASI_IOVEC_SIZE + 4);
        uint8_t *p = wasi__mem(vm, buf, len);
        if (p == NULL) {
            wasi__iovs_free(out);
            return WASI_EFAULT;
        }
        out->v[i] = (struct iovec){p, len};
        out->total += len;
    }
    out->n = (int)n;
    return WASI_ESUCCESS;
}

void wasi__iovs_free(struct wasi_iovs *iovs)
{
    if (iovs->v != iovs->small)
        free(iovs->v);
    iovs->v = iovs->small;
    iovs->n = 0;
}
