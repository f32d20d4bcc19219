/* bench/proposals/kernels.c - freestanding kernels (no libc: clang has no
 * wasm64 libc here) built for wasm32 and for wasm64 (memory64), so that
 * the cost of 64-bit memories' explicit checks shows against 32-bit
 * memories in guard and checked mode; with -DATOMIC, the histogram's
 * increments are C11 atomics (built with -matomics: the threads
 * proposal's instructions on an unshared memory).
 *
 *   uint64_t run(uint32_t kernel, uint32_t n): a checksum
 *   kernel 0  matmul   n x n doubles, a naive triple loop
 *   kernel 1  sort     n 32-bit keys, a quicksort (Lomuto, insertion below 16)
 *   kernel 2  stencil  n passes of a 5-point stencil over 512 x 512 floats
 *   kernel 3  hist     n random bytes into a 64 K-bucket histogram
 */
#include <stdint.h>

#define MAX_MAT 800
#define MAX_KEYS (4u << 20)
#define GRID 512

static double ma[MAX_MAT * MAX_MAT], mb[MAX_MAT * MAX_MAT], mc[MAX_MAT * MAX_MAT];
static uint32_t keys[MAX_KEYS];
static float g0[GRID * GRID], g1[GRID * GRID];
static uint32_t buckets[65536];

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s;
}

static uint64_t matmul(uint32_t n)
{
    if (n > MAX_MAT)
        n = MAX_MAT;
    for (uint32_t i = 0; i < n * n; i++) {
        ma[i] = (double)(i % 7);
        mb[i] = (double)(i % 5);
    }
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++) {
            double t = 0;
            for (uint32_t k = 0; k < n; k++)
                t += ma[i * n + k] * mb[k * n + j];
            mc[i * n + j] = t;
        }
    uint64_t s = 0;
    for (uint32_t i = 0; i < n * n; i++)
        s = s * 31 + (uint64_t)mc[i];
    return s;
}

static void quicksort(uint32_t *a, long lo, long hi)
{
    while (hi - lo > 16) {
        uint32_t pivot = a[(lo + hi) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                uint32_t t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (j - lo < hi - i) {
            quicksort(a, lo, j);
            lo = i;
        } else {
            quicksort(a, i, hi);
            hi = j;
        }
    }
    for (long i = lo + 1; i <= hi; i++) {
        uint32_t v = a[i];
        long j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static uint64_t sort(uint32_t n)
{
    if (n > MAX_KEYS)
        n = MAX_KEYS;
    uint32_t s = 12345;
    for (uint32_t i = 0; i < n; i++)
        keys[i] = lcg(&s);
    quicksort(keys, 0, (long)n - 1);
    uint64_t h = 0;
    for (uint32_t i = 0; i < n; i += 97)
        h = h * 31 + keys[i];
    return h;
}

static uint64_t stencil(uint32_t passes)
{
    for (uint32_t i = 0; i < GRID * GRID; i++)
        g0[i] = (float)(i % 13);
    float *src = g0, *dst = g1;
    for (uint32_t p = 0; p < passes; p++) {
        for (uint32_t y = 1; y < GRID - 1; y++)
            for (uint32_t x = 1; x < GRID - 1; x++)
                dst[y * GRID + x] = 0.2f * (src[y * GRID + x] + src[y * GRID + x - 1] +
                                            src[y * GRID + x + 1] + src[(y - 1) * GRID + x] +
                                            src[(y + 1) * GRID + x]);
        float *t = src;
        src = dst;
        dst = t;
    }
    uint64_t h = 0;
    for (uint32_t i = 0; i < GRID * GRID; i += 61)
        h = h * 31 + (uint64_t)(src[i] * 1000.0f);
    return h;
}

static uint64_t hist(uint32_t n)
{
    uint32_t s = 99;                /* buckets start zero: one run per process */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t b = lcg(&s) >> 16;
#ifdef ATOMIC
        __atomic_fetch_add(&buckets[b], 1u, __ATOMIC_SEQ_CST);
#else
        buckets[b] += 1;
#endif
    }
    uint64_t h = 0;
    for (uint32_t i = 0; i < 65536; i++)
        h = h * 31 + buckets[i];
    return h;
}

__attribute__((export_name("run"))) uint64_t run(uint32_t kernel, uint32_t n)
{
    switch (kernel) {
    case 0: return matmul(n);
    case 1: return sort(n);
    case 2: return stencil(n);
    default: return hist(n);
    }
}
