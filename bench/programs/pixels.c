/*
 * pixels - 8-bit image and byte kernels written with SIMD intrinsics:
 * wasm_simd128.h when built with -msimd128, SSE2 natively, plain C
 * otherwise (the scalar wasm build). Per pass over a 1 MiB image: a blend
 * (rounding average, saturating add and subtract, max), a byte search
 * (compare, bitmask) and a 16-bit dot product. Deterministic; prints one
 * checksum line.
 *
 * usage: pixels [passes]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIZE (1 << 20)

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
typedef v128_t vec;
static vec load(const void *p) { return wasm_v128_load(p); }
static void store(void *p, vec v) { wasm_v128_store(p, v); }
static vec splat8(uint8_t x) { return wasm_i8x16_splat((int8_t)x); }
static vec avgr8(vec a, vec b) { return wasm_u8x16_avgr(a, b); }
static vec adds8(vec a, vec b) { return wasm_u8x16_add_sat(a, b); }
static vec subs8(vec a, vec b) { return wasm_u8x16_sub_sat(a, b); }
static vec max8(vec a, vec b) { return wasm_u8x16_max(a, b); }
static uint32_t eqmask8(vec a, vec b) { return (uint32_t)wasm_i8x16_bitmask(wasm_i8x16_eq(a, b)); }
static vec dot16(vec a, vec b) { return wasm_i32x4_dot_i16x8(a, b); }
static vec add32(vec a, vec b) { return wasm_i32x4_add(a, b); }
static vec zero(void) { return wasm_i32x4_splat(0); }
#elif defined(__SSE2__)
#include <emmintrin.h>
typedef __m128i vec;
static vec load(const void *p) { return _mm_loadu_si128((const __m128i *)p); }
static void store(void *p, vec v) { _mm_storeu_si128((__m128i *)p, v); }
static vec splat8(uint8_t x) { return _mm_set1_epi8((char)x); }
static vec avgr8(vec a, vec b) { return _mm_avg_epu8(a, b); }
static vec adds8(vec a, vec b) { return _mm_adds_epu8(a, b); }
static vec subs8(vec a, vec b) { return _mm_subs_epu8(a, b); }
static vec max8(vec a, vec b) { return _mm_max_epu8(a, b); }
static uint32_t eqmask8(vec a, vec b) { return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a, b)); }
static vec dot16(vec a, vec b) { return _mm_madd_epi16(a, b); }
static vec add32(vec a, vec b) { return _mm_add_epi32(a, b); }
static vec zero(void) { return _mm_setzero_si128(); }
#else
typedef struct { uint8_t b[16]; } vec;
static vec load(const void *p) { vec v; memcpy(v.b, p, 16); return v; }
static void store(void *p, vec v) { memcpy(p, v.b, 16); }
static vec splat8(uint8_t x) { vec v; memset(v.b, x, 16); return v; }
static vec avgr8(vec a, vec b)
{
    for (int i = 0; i < 16; i++) a.b[i] = (uint8_t)((a.b[i] + b.b[i] + 1) >> 1);
    return a;
}
static vec adds8(vec a, vec b)
{
    for (int i = 0; i < 16; i++) a.b[i] = (uint8_t)(a.b[i] + b.b[i] > 255 ? 255 : a.b[i] + b.b[i]);
    return a;
}
static vec subs8(vec a, vec b)
{
    for (int i = 0; i < 16; i++) a.b[i] = (uint8_t)(a.b[i] < b.b[i] ? 0 : a.b[i] - b.b[i]);
    return a;
}
static vec max8(vec a, vec b)
{
    for (int i = 0; i < 16; i++) a.b[i] = a.b[i] > b.b[i] ? a.b[i] : b.b[i];
    return a;
}
static uint32_t eqmask8(vec a, vec b)
{
    uint32_t m = 0;
    for (int i = 0; i < 16; i++) m |= (uint32_t)(a.b[i] == b.b[i]) << i;
    return m;
}
static int32_t lane32(vec v, int i) { int32_t x; memcpy(&x, v.b + 4 * i, 4); return x; }
static int16_t lane16(vec v, int i) { int16_t x; memcpy(&x, v.b + 2 * i, 2); return x; }
static vec dot16(vec a, vec b)
{
    vec r;
    for (int i = 0; i < 4; i++) {
        uint32_t s = (uint32_t)(lane16(a, 2 * i) * lane16(b, 2 * i)) +
                     (uint32_t)(lane16(a, 2 * i + 1) * lane16(b, 2 * i + 1));
        memcpy(r.b + 4 * i, &s, 4);
    }
    return r;
}
static vec add32(vec a, vec b)
{
    for (int i = 0; i < 4; i++) {
        uint32_t s = (uint32_t)lane32(a, i) + (uint32_t)lane32(b, i);
        memcpy(a.b + 4 * i, &s, 4);
    }
    return a;
}
static vec zero(void) { return splat8(0); }
#endif

static uint8_t img_a[SIZE], img_b[SIZE], out[SIZE];

static void blend(uint8_t bias)
{
    vec k = splat8(bias), k2 = splat8(bias / 2);
    for (size_t i = 0; i < SIZE; i += 16) {
        vec a = load(img_a + i), b = load(img_b + i);
        store(out + i, max8(subs8(adds8(avgr8(a, b), k), k2), a));
    }
}

static uint32_t search(uint8_t c)
{
    vec needle = splat8(c);
    uint32_t count = 0, sum = 0;
    for (size_t i = 0; i < SIZE; i += 16) {
        uint32_t m = eqmask8(load(out + i), needle);
        while (m) {
            sum += (uint32_t)i + (uint32_t)__builtin_ctz(m);
            count++;
            m &= m - 1;
        }
    }
    return count * 31u + sum;
}

static uint32_t dot(void)
{
    vec acc = zero();
    for (size_t i = 0; i < SIZE; i += 16)
        acc = add32(acc, dot16(load(out + i), load(img_b + i)));
    uint32_t l[4];
    store(l, acc);
    return l[0] ^ l[1] * 3u ^ l[2] * 5u ^ l[3] * 7u;
}

int main(int argc, char **argv)
{
    unsigned passes = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 400;
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < SIZE; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        img_a[i] = (uint8_t)x;
        img_b[i] = (uint8_t)(i * 7 + (i >> 10));
    }
    uint32_t h = 0;
    for (unsigned p = 0; p < passes; p++) {
        blend((uint8_t)(p * 13));
        h = h * 16777619u ^ search((uint8_t)(p * 7)) ^ dot();
        img_b[p % SIZE] ^= (uint8_t)h;
    }
    printf("pixels: %u passes, checksum %08x\n", passes, h);
    return 0;
}
