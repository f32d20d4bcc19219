/* x25519: 128-bit multiplies. X25519 (RFC 7748) with field elements of
 * five 51-bit limbs, multiplied with unsigned __int128 as the usual
 * 64-bit implementations do (in wasm32: compiler-rt's __multi3, 64-bit
 * products of 32-bit halves). Runs the RFC's iteration k = X25519(k, u),
 * u = the old k, from k = u = 9, n times (default 8000), and prints the
 * result; n = 1000 must give the RFC's value for 1,000 iterations, which
 * the program checks.
 *
 * usage: x25519 [n] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;
typedef uint64_t fe[5];

#define MASK51 ((1ull << 51) - 1)

static void fe_load(fe r, const uint8_t s[32])
{
    uint64_t w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = 0;
        for (int j = 7; j >= 0; j--)
            w[i] = w[i] << 8 | s[8 * i + j];
    }
    r[0] = w[0] & MASK51;
    r[1] = (w[0] >> 51 | w[1] << 13) & MASK51;
    r[2] = (w[1] >> 38 | w[2] << 26) & MASK51;
    r[3] = (w[2] >> 25 | w[3] << 39) & MASK51;
    r[4] = (w[3] >> 12) & MASK51;          /* the top bit is ignored */
}

static void fe_carry(fe r)
{
    for (int i = 0; i < 4; i++) {
        r[i + 1] += r[i] >> 51;
        r[i] &= MASK51;
    }
    r[0] += 19 * (r[4] >> 51);
    r[4] &= MASK51;
}

/* The unique representative below 2^255 - 19, little-endian. */
static void fe_store(uint8_t s[32], const fe a)
{
    fe t;
    memcpy(t, a, sizeof t);
    fe_carry(t);
    fe_carry(t);
    /* t < 2^255 + small: subtract p if t >= p */
    uint64_t q = (t[0] + 19) >> 51;
    for (int i = 1; i < 5; i++)
        q = (t[i] + q) >> 51;
    t[0] += 19 * q;
    fe_carry(t);
    t[4] &= MASK51;
    uint64_t w[4] = {
        t[0] | t[1] << 51, t[1] >> 13 | t[2] << 38, t[2] >> 26 | t[3] << 25,
        t[3] >> 39 | t[4] << 12,
    };
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            s[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
}

static void fe_add(fe r, const fe a, const fe b)
{
    for (int i = 0; i < 5; i++)
        r[i] = a[i] + b[i];
}

/* a - b + 2p, so that no limb goes negative */
static void fe_sub(fe r, const fe a, const fe b)
{
    r[0] = a[0] + 0xfffffffffffdaull - b[0];
    for (int i = 1; i < 5; i++)
        r[i] = a[i] + 0xffffffffffffeull - b[i];
    fe_carry(r);
}

static void fe_mul(fe r, const fe a, const fe b)
{
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
    r[0] = ((uint64_t)t0 & MASK51) + c * 19;
    r[1] = ((uint64_t)t1 & MASK51) + (r[0] >> 51);
    r[0] &= MASK51;
    r[2] = (uint64_t)t2 & MASK51;
    r[3] = (uint64_t)t3 & MASK51;
    r[4] = (uint64_t)t4 & MASK51;
}

static void fe_mul_small(fe r, const fe a, uint64_t k)
{
    u128 c = 0;
    for (int i = 0; i < 5; i++) {
        c += (u128)a[i] * k;
        r[i] = (uint64_t)c & MASK51;
        c >>= 51;
    }
    r[0] += 19 * (uint64_t)c;
    fe_carry(r);
}

/* a^(p - 2) = 1/a: p - 2 = 2^255 - 21, bits 254..0 set but 4 and 2. */
static void fe_invert(fe r, const fe a)
{
    fe x;
    memcpy(x, a, sizeof x);
    for (int bit = 253; bit >= 0; bit--) {
        fe_mul(x, x, x);
        if (bit != 4 && bit != 2)
            fe_mul(x, x, a);
    }
    memcpy(r, x, sizeof x);
}

static void fe_cswap(fe a, fe b, uint64_t swap)
{
    uint64_t m = 0 - swap;
    for (int i = 0; i < 5; i++) {
        uint64_t t = m & (a[i] ^ b[i]);
        a[i] ^= t;
        b[i] ^= t;
    }
}

static void x25519(uint8_t out[32], const uint8_t scalar[32], const uint8_t point[32])
{
    uint8_t k[32];
    memcpy(k, scalar, 32);
    k[0] &= 248;
    k[31] = (k[31] & 127) | 64;
    fe x1, x2 = {1}, z2 = {0}, x3, z3 = {1}, a, aa, b, bb, e, c, d, da, cb;
    fe_load(x1, point);
    memcpy(x3, x1, sizeof x3);
    uint64_t swap = 0;
    for (int t = 254; t >= 0; t--) {
        uint64_t kt = (k[t >> 3] >> (t & 7)) & 1;
        swap ^= kt;
        fe_cswap(x2, x3, swap);
        fe_cswap(z2, z3, swap);
        swap = kt;
        fe_add(a, x2, z2);
        fe_mul(aa, a, a);
        fe_sub(b, x2, z2);
        fe_mul(bb, b, b);
        fe_sub(e, aa, bb);
        fe_add(c, x3, z3);
        fe_sub(d, x3, z3);
        fe_mul(da, d, a);
        fe_mul(cb, c, b);
        fe_add(x3, da, cb);
        fe_mul(x3, x3, x3);
        fe_sub(z3, da, cb);
        fe_mul(z3, z3, z3);
        fe_mul(z3, z3, x1);
        fe_mul(x2, aa, bb);
        fe_mul_small(z2, e, 121665);
        fe_add(z2, z2, aa);
        fe_mul(z2, z2, e);
    }
    fe_cswap(x2, x3, swap);
    fe_cswap(z2, z3, swap);
    fe_invert(z2, z2);
    fe_mul(x2, x2, z2);
    fe_store(out, x2);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 8000;
    uint8_t k[32] = {9}, u[32] = {9}, r[32];
    for (long i = 0; i < n; i++) {
        x25519(r, k, u);
        memcpy(u, k, 32);
        memcpy(k, r, 32);
    }
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", k[i]);
    static const char rfc1000[] =
        "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51";
    printf("x25519 n=%ld %s\n", n, hex);
    return n == 1000 && strcmp(hex, rfc1000) != 0 ? 1 : 0;
}
