/* bitcount: the original runtime's example app, as a benchmark. Counts
 * the set bits of n pseudo-random words (default 12000000) four ways - bit
 * by bit, Kernighan's x &= x - 1, a byte table and a SWAR sum - and prints
 * the totals, which must agree.
 *
 * usage: bitcount [n] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned count_loop(uint32_t x)
{
    unsigned c = 0;
    for (; x; x >>= 1)
        c += x & 1;
    return c;
}

static unsigned count_kernighan(uint32_t x)
{
    unsigned c = 0;
    for (; x; x &= x - 1)
        c++;
    return c;
}

static unsigned char table[256];

static unsigned count_table(uint32_t x)
{
    return table[x & 0xff] + table[x >> 8 & 0xff] + table[x >> 16 & 0xff] +
           table[x >> 24];
}

static unsigned count_swar(uint32_t x)
{
    x = x - (x >> 1 & 0x55555555u);
    x = (x & 0x33333333u) + (x >> 2 & 0x33333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0fu;
    return x * 0x01010101u >> 24;
}

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 12000000;
    for (int i = 0; i < 256; i++)
        table[i] = (unsigned char)count_loop((uint32_t)i);
    uint64_t a = 0, b = 0, c = 0, d = 0;
    uint32_t x = 12345;
    for (uint32_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        a += count_loop(x);
        b += count_kernighan(x);
        c += count_table(x);
        d += count_swar(x);
    }
    printf("bitcount n=%u bits=%llu %llu %llu %llu\n", (unsigned)n,
           (unsigned long long)a, (unsigned long long)b, (unsigned long long)c,
           (unsigned long long)d);
    return a == b && b == c && c == d ? 0 : 1;
}
