/*
 * tests/simd/kernels.c - SIMD kernels written with intrinsics (simd.h:
 * wasm_simd128.h in wasm, SSE4.1 natively): a byte search, an image blend
 * and 3x3 blur, a nibble-table popcount (swizzle), an int16 dot product
 * and a float dot product with a norm. Prints one line per kernel; run.sh
 * checks that the wasm build under awsm prints what the native build does.
 */
#include <stdio.h>
#include <string.h>

#include "simd.h"

#define N 65536
#define W 256
#define H 256

static uint8_t buf[N], img_a[W * H], img_b[W * H], out[W * H];
static int16_t s16a[N], s16b[N];
static float fa[N], fb[N];

static uint32_t rng = 12345;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static uint32_t fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Positions of every byte equal to c, 16 at a time. */
static uint32_t byte_search(uint8_t c, uint32_t *sum)
{
    vec needle = V_SPLAT8(c);
    uint32_t count = 0;
    *sum = 0;
    for (size_t i = 0; i < N; i += 16) {
        uint32_t m = V_MASK8(V_EQ8(V_LOAD(buf + i), needle));
        while (m) {
            unsigned bit = (unsigned)__builtin_ctz(m);
            *sum += (uint32_t)(i + bit);
            count++;
            m &= m - 1;
        }
    }
    return count;
}

/* out = max(avgr(a, b) +sat 16 -sat 8, a). */
static void blend(void)
{
    vec k16 = V_SPLAT8(16), k8 = V_SPLAT8(8);
    for (size_t i = 0; i < W * H; i += 16) {
        vec a = V_LOAD(img_a + i), b = V_LOAD(img_b + i);
        vec v = V_SUBSAT_U8(V_ADDSAT_U8(V_AVGR_U8(a, b), k16), k8);
        V_STORE(out + i, V_MAX_U8(v, a));
    }
}

/* A 3x3 blur as two passes of rounding averages of neighbours. */
static void blur(void)
{
    static uint8_t tmp[W * H];
    memcpy(tmp, img_a, sizeof tmp);
    for (int y = 1; y < H - 1; y++) {
        for (int x = 16; x < W - 16; x += 16) {
            const uint8_t *r = tmp + y * W + x;
            vec h0 = V_AVGR_U8(V_LOAD(r - W - 1), V_LOAD(r - W + 1));
            vec h1 = V_AVGR_U8(V_LOAD(r - 1), V_LOAD(r + 1));
            vec h2 = V_AVGR_U8(V_LOAD(r + W - 1), V_LOAD(r + W + 1));
            vec v = V_AVGR_U8(V_AVGR_U8(h0, h2), V_AVGR_U8(h1, V_LOAD(r)));
            V_STORE(out + y * W + x, v);
        }
    }
}

/* Popcount of every byte through a 16-entry table (swizzle). */
static uint32_t popcount(void)
{
    const uint8_t table[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
    vec t = V_LOAD(table), low = V_SPLAT8(0x0f), acc = V_ZERO();
    uint32_t total = 0;
    for (size_t i = 0; i < N; i += 16) {
        vec v = V_LOAD(buf + i);
        vec lo = V_SWIZZLE(t, V_AND(v, low));
        vec hi = V_SWIZZLE(t, V_AND(V_SHR_U16(v, 4), low));
        acc = V_ADD8(lo, hi);
        uint8_t lanes[16];
        V_STORE(lanes, acc);
        for (int k = 0; k < 16; k++)
            total += lanes[k];
    }
    return total;
}

static uint32_t dot16(void)
{
    vec acc = V_ZERO();
    for (size_t i = 0; i < N; i += 8)
        acc = V_ADD32(acc, V_DOT16(V_LOAD(s16a + i), V_LOAD(s16b + i)));
    return V_LANE32(acc, 0) ^ V_LANE32(acc, 1) * 3 ^ V_LANE32(acc, 2) * 5 ^
           V_LANE32(acc, 3) * 7;
}

/* Dot product, per-lane sums, then the lanes in a fixed order. */
static float dotf(float *min_out, uint32_t *trunc_sum)
{
    vec acc = V_F32_ZERO(), mn = V_LOAD(fa);
    vec tsum = V_ZERO();
    for (size_t i = 0; i < N; i += 4) {
        vec a = V_LOAD(fa + i), b = V_LOAD(fb + i);
        acc = V_F32_ADD(acc, V_F32_MUL(a, b));
        mn = V_F32_MIN(mn, V_F32_SQRT(V_F32_MUL(a, a)));
        tsum = V_ADD32(tsum, V_I32_FROM_F32(V_F32_MUL(a, b)));
    }
    *min_out = V_F32_LANE(mn, 0) + V_F32_LANE(mn, 1) + V_F32_LANE(mn, 2) +
               V_F32_LANE(mn, 3);
    *trunc_sum = V_LANE32(tsum, 0) + V_LANE32(tsum, 1) + V_LANE32(tsum, 2) +
                 V_LANE32(tsum, 3);
    return ((V_F32_LANE(acc, 0) + V_F32_LANE(acc, 1)) + V_F32_LANE(acc, 2)) +
           V_F32_LANE(acc, 3);
}

int main(void)
{
    for (size_t i = 0; i < N; i++) {
        buf[i] = (uint8_t)(next() % 61);
        s16a[i] = (int16_t)next();
        s16b[i] = (int16_t)next();
        fa[i] = (float)(int32_t)(next() % 20001 - 10000) / 64.0f;
        fb[i] = (float)(int32_t)(next() % 2001 - 1000) / 16.0f;
    }
    for (size_t i = 0; i < W * H; i++) {
        img_a[i] = (uint8_t)next();
        img_b[i] = (uint8_t)(i * 7 + (i >> 8));
    }
    uint32_t sum, count = byte_search(42, &sum);
    printf("byte_search: %u matches, positions sum %u\n", count, sum);
    blend();
    printf("blend: %08x\n", fnv(out, sizeof out));
    memset(out, 0, sizeof out);
    blur();
    printf("blur: %08x\n", fnv(out, sizeof out));
    printf("popcount: %u\n", popcount());
    printf("dot16: %08x\n", dot16());
    float mn;
    uint32_t ts;
    float d = dotf(&mn, &ts);
    uint32_t bits;
    memcpy(&bits, &d, 4);
    printf("dotf: %a (%08x), min %a, trunc %u\n", (double)d, bits, (double)mn, ts);
    return 0;
}
