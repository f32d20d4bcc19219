/* wasm-flags: -O2
 * holds: i64\.mul
 *
 * mul128.c - 128-bit multiplies (C's __int128: compiler-rt's __multi3 in
 * wasm, which awsmc turns into one 64 x 64 -> 128-bit multiply where it
 * finds the products of 32-bit halves, compiler/cg_mulwide.c), against
 * the native build: full products of 64-bit words, 128 x 128 products
 * (the cross words added to the high one), signed ones, and multiply-add
 * chains as bignum code makes them (256 x 256 -> 512-bit schoolbook
 * products with a 128-bit accumulator), over edge values and
 * pseudo-random ones.
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

/* r = a * b, 256 x 256 -> 512 bits in 64-bit limbs, schoolbook with a
 * 128-bit accumulator (what bignum code does). */
static void bigmul(uint64_t r[8], const uint64_t a[4], const uint64_t b[4])
{
    for (int i = 0; i < 8; i++)
        r[i] = 0;
    for (int i = 0; i < 4; i++) {
        u128 carry = 0;
        for (int j = 0; j < 4; j++) {
            carry += (u128)a[i] * b[j] + r[i + j];
            r[i + j] = (uint64_t)carry;
            carry >>= 64;
        }
        r[i + 4] = (uint64_t)carry;
    }
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
    uint64_t a[4], b[4], r[8];
    for (int i = 0; i < 50000; i++) {
        for (int k = 0; k < 4; k++) {
            a[k] = next();
            b[k] = i % 7 == 0 ? UINT64_MAX : next();
        }
        bigmul(r, a, b);
        for (int k = 0; k < 8; k++)
            mix(r[k]);
    }
    printf("bignum %016llx\n", (unsigned long long)hash);
    return 0;
}
