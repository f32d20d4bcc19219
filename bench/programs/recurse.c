/* recurse: call-heavy recursion. Each round computes Ackermann(3, 6),
 * Takeuchi's tak(18, 12, 6) and counts the solutions of 9-queens by
 * backtracking; runs `rounds` rounds (default 1500) and prints the totals.
 *
 * usage: recurse [rounds] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t ackermann(uint32_t m, uint32_t n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

static int tak(int x, int y, int z)
{
    if (y >= x)
        return z;
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

/* Columns and both diagonals taken so far, as bit sets. */
static uint32_t queens(int n, int row, uint32_t cols, uint32_t d1, uint32_t d2)
{
    if (row == n)
        return 1;
    uint32_t count = 0;
    for (int c = 0; c < n; c++) {
        uint32_t bit = 1u << c;
        if ((cols & bit) || (d1 & bit << row) || (d2 & bit << (n - 1 - row)))
            continue;
        count += queens(n, row + 1, cols | bit, d1 | bit << row, d2 | bit << (n - 1 - row));
    }
    return count;
}

int main(int argc, char **argv)
{
    unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1500;
    uint64_t a = 0, t = 0, q = 0;
    for (unsigned r = 0; r < rounds; r++) {
        /* Vary an argument by a value the compiler cannot see, so that no
         * round can be hoisted out of the loop. */
        uint32_t v = (uint32_t)(r % 2);
        a += ackermann(3, 6 - v);
        t += (uint64_t)tak(18 - (int)v, 12, 6);
        q += queens(9 - (int)v, 0, 0, 0, 0);
    }
    printf("recurse rounds=%u ack=%llu tak=%llu queens=%llu\n", rounds,
           (unsigned long long)a, (unsigned long long)t, (unsigned long long)q);
    return 0;
}
