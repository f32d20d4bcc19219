/* bitcount: the original runtime's example app. Counts the set bits of a
 * pseudo-random sequence of n words (default 1000000) three ways and prints
 * the totals, which must agree. */
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

static unsigned count_table(uint32_t x)
{
    static unsigned char table[256];
    if (!table[255])
        for (int i = 0; i < 256; i++)
            table[i] = (unsigned char)count_loop((uint32_t)i);
    return table[x & 0xff] + table[x >> 8 & 0xff] + table[x >> 16 & 0xff] +
           table[x >> 24];
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    unsigned long a = 0, b = 0, c = 0;
    uint32_t x = 12345;
    for (unsigned long i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        a += count_loop(x);
        b += count_kernighan(x);
        c += count_table(x);
    }
    printf("%lu %lu %lu\n", a, b, c);
    return a == b && b == c ? 0 : 1;
}
