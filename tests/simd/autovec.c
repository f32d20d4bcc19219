/*
 * tests/simd/autovec.c - plain C loops that clang vectorises once
 * -msimd128 is on: integer and float array arithmetic, widening sums,
 * clamps, min/max, conversions, a byte histogram of classes, an
 * independent-lane hash mix (the shape of SHA and CRC message schedules)
 * and a byte search. Prints checksums; run.sh compares them with the
 * native build's.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N 40000

static int32_t ia[N], ib[N], ic[N];
static int16_t sa[N];
static uint8_t ua[N], ub[N], uc[N];
static float fa[N], fb[N], fc[N];
static double da[N];
static uint32_t state[N];

static uint32_t rng = 777;
static uint32_t next(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 3;
}

static uint32_t hash32(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static void int_ops(void)
{
    for (int i = 0; i < N; i++)
        ic[i] = ia[i] * ib[i] + (ia[i] >> 3) - (ib[i] << 2);
    int64_t wsum = 0;
    for (int i = 0; i < N; i++)
        wsum += sa[i];
    int32_t mn = ia[0], mx = ia[0];
    for (int i = 0; i < N; i++) {
        mn = ia[i] < mn ? ia[i] : mn;
        mx = ia[i] > mx ? ia[i] : mx;
    }
    printf("int: %08x sum16 %lld min %d max %d\n", hash32(ic, sizeof ic),
           (long long)wsum, mn, mx);
}

static void byte_ops(void)
{
    for (int i = 0; i < N; i++) {
        int v = ua[i] + ub[i] - 100;
        uc[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    for (int i = 0; i < N; i++)
        ub[i] = (uint8_t)((ua[i] + uc[i] + 1) >> 1);
    unsigned spaces = 0, digits = 0;
    for (int i = 0; i < N; i++) {
        spaces += ua[i] == ' ';
        digits += (unsigned)(ua[i] - '0') < 10u;
    }
    int first = -1;
    for (int i = 0; i < N; i++) {
        if (ua[i] == 0xfe) {
            first = i;
            break;
        }
    }
    printf("bytes: %08x %08x spaces %u digits %u first %d\n",
           hash32(uc, sizeof uc), hash32(ub, sizeof ub), spaces, digits, first);
}

static void float_ops(void)
{
    for (int i = 0; i < N; i++)
        fc[i] = fa[i] * 1.5f + fb[i];
    for (int i = 0; i < N; i++)
        fc[i] = fc[i] < 0.0f ? -fc[i] : fc[i];
    for (int i = 0; i < N; i++)
        da[i] = (double)fa[i] * (double)fb[i];
    for (int i = 0; i < N; i++)
        ic[i] = (int32_t)fc[i];
    for (int i = 0; i < N; i++)
        fb[i] = (float)ia[i] * 0.25f;
    printf("float: %08x %08x %08x %08x\n", hash32(fc, sizeof fc),
           hash32(da, sizeof da), hash32(ic, sizeof ic), hash32(fb, sizeof fb));
}

/* Lanes that never meet: rotates, xors and adds as in SHA-256's schedule. */
static void mix(void)
{
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < N; i++) {
            uint32_t x = state[i];
            uint32_t s0 = (x >> 7 | x << 25) ^ (x >> 18 | x << 14) ^ (x >> 3);
            uint32_t s1 = (x >> 17 | x << 15) ^ (x >> 19 | x << 13) ^ (x >> 10);
            state[i] = s0 + s1 + x * 0x9e3779b9u + (uint32_t)round;
        }
    }
    printf("mix: %08x\n", hash32(state, sizeof state));
}

int main(void)
{
    for (int i = 0; i < N; i++) {
        ia[i] = (int32_t)next() - (1 << 27);
        ib[i] = (int32_t)(next() % 2000) - 1000;
        sa[i] = (int16_t)next();
        ua[i] = (uint8_t)(next() % 97 + 20);
        ub[i] = (uint8_t)next();
        fa[i] = (float)((int32_t)(next() % 100000) - 50000) / 128.0f;
        fb[i] = (float)((int32_t)(next() % 1000) - 500) / 8.0f;
        state[i] = next();
    }
    ua[N - 7] = 0xfe;
    int_ops();
    byte_ops();
    float_ops();
    mix();
    return 0;
}
