/* wasm-flags: -O2
 * holds: i64\.mul
 *
 * mul128.c - 128-bit multiplies (C's __int128: compiler-rt's __multi3 in
 * wasm, which awsmc turns into one 64 x 64 -> 128-bit multiply where it
 * finds the products of 32-bit halves, compiler/cg_mulwide.c), against
 * the native build: full products of 64-bit words, 128 x 128 products
 * (the cross words added to the high one), signed ones, multiply-add
 * chains as bignum and field arithmetic use them (a 5 x 51-bit limb
 * multiply modulo 2^255 - 19), over edge values and pseudo-random ones.
 * Prints a hash of each group; any difference is a wrong word. (clang's
 * driver runs wasm-opt, which inlines __multi3 into its callers: the
 * halves are found there.)
 */
#include <stdint.h>
#include <stdio.h>

typedef unsigned __int128 u128;
typedef __int128 i128;

static uint64_t hash = 1469598103934665603ull;

static void mix(uint64_t v)
{
    for (int i = 0; i < 8; i++)
        hash = (hash ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ull;
}

static void mix128(u128 v)
{
    mix((uint64_t)v);
    mix((uint64_t)(v >> 64));
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const uint64_t edges[] = {
    0, 1, 2, 0xffffffffull, 0x100000000ull, 0x100000001ull, 0x7fffffffffffffffull,
    0x8000000000000000ull, 0xffffffffffffffffull, 0xfffffffffffffffeull,
    0xffffffff00000000ull, 0x00000000ffffffffull, 0x8000000080000000ull,
    0x123456789abcdef0ull,
};
#define NEDGES (sizeof edges / sizeof edges[0])

/* Each operand from memory through a volatile, so no multiply is folded. */
static volatile uint64_t sink_a, sink_b, sink_c, sink_d;

static u128 mul64(uint64_t a, uint64_t b)
{
    sink_a = a;
    sink_b = b;
    return (u128)sink_a * sink_b;
}

static u128 mul128(u128 a, u128 b)
{
    sink_a = (uint64_t)a;
    sink_b = (uint64_t)(a >> 64);
    sink_c = (uint64_t)b;
    sink_d = (uint64_t)(b >> 64);
    u128 x = (u128)sink_b << 64 | sink_a, y = (u128)sink_d << 64 | sink_c;
    return x * y;
}

static i128 smul(int64_t a, int64_t b)
{
    sink_a = (uint64_t)a;
    sink_b = (uint64_t)b;
    return (i128)(int64_t)sink_a * (int64_t)sink_b;
}

static void fmul(uint64_t r[5], const uint64_t a[5], const uint64_t b[5])
{
    const uint64_t m = (1ull << 51) - 1;
    uint64_t b19[5];
    for (int i = 1; i < 5; i++)
        b19[i] = b[i] * 19;
    u128 t0 = (u128)a[0] * b[0] + (u128)a[1] * b19[4] + (u128)a[2] * b19[3] +
              (u128)a[3] * b19[2] + (u128)a[4] * b19[1];
    u128 t1 = (u128)a[0] * b[1] + (u128)a[1] * b[0] + (u128)a[2] * b19[4] +
              (u128)a[3] * b19[3] + (u128)a[4] * b19[2];
    u128 t2 = (u128)a[0] * b[2] + (u128)a[1] * b[1] + (u128)a[2] * b[0] +
              (u128)a[3] * b19[4] + (u128)a[4] * b19[3];
    u128 t3 = (u128)a[0] * b[3] + (u128)a[1] * b[2] + (u128)a[2] * b[1] +
              (u128)a[3] * b[0] + (u128)a[4] * b19[4];
    u128 t4 = (u128)a[0] * b[4] + (u128)a[1] * b[3] + (u128)a[2] * b[2] +
              (u128)a[3] * b[1] + (u128)a[4] * b[0];
    t1 += (uint64_t)(t0 >> 51);
    t2 += (uint64_t)(t1 >> 51);
    t3 += (uint64_t)(t2 >> 51);
    t4 += (uint64_t)(t3 >> 51);
    uint64_t c = (uint64_t)(t4 >> 51);
    r[0] = ((uint64_t)t0 & m) + c * 19;
    r[1] = (uint64_t)t1 & m;
    r[2] = (uint64_t)t2 & m;
    r[3] = (uint64_t)t3 & m;
    r[4] = (uint64_t)t4 & m;
}

int main(void)
{
    for (size_t i = 0; i < NEDGES; i++)
        for (size_t j = 0; j < NEDGES; j++)
            mix128(mul64(edges[i], edges[j]));
    printf("64x64 edges %016llx\n", (unsigned long long)hash);
    for (int i = 0; i < 100000; i++) {
        uint64_t a = next(), b = next() >> (i % 64);
        mix128(mul64(a, b));
    }
    printf("64x64 random %016llx\n", (unsigned long long)hash);
    for (size_t i = 0; i < NEDGES; i++)
        for (size_t j = 0; j < NEDGES; j++)
            mix128(mul128((u128)edges[i] << 64 | edges[j], (u128)edges[j] << 64 | edges[i]));
    for (int i = 0; i < 100000; i++) {
        u128 a = (u128)next() << 64;
        a |= next();
        u128 b = (u128)next() << 64;
        b |= next();
        mix128(mul128(a, b));
    }
    printf("128x128 %016llx\n", (unsigned long long)hash);
    for (size_t i = 0; i < NEDGES; i++)
        for (size_t j = 0; j < NEDGES; j++)
            mix128((u128)smul((int64_t)edges[i], (int64_t)edges[j]));
    for (int i = 0; i < 100000; i++) {
        int64_t a = (int64_t)next(), b = (int64_t)next();
        mix128((u128)smul(a, b));
    }
    printf("signed %016llx\n", (unsigned long long)hash);
    uint64_t x[5] = {1, 2, 3, 4, 5}, y[5];
    for (int i = 0; i < 5; i++)
        y[i] = next() & ((1ull << 51) - 1);
    for (int i = 0; i < 200000; i++) {
        fmul(x, x, y);
        mix(x[i % 5]);
    }
    printf("field %016llx %016llx\n", (unsigned long long)x[0], (unsigned long long)hash);
    return 0;
}
