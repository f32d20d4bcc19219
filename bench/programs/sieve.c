/* sieve: memory-bound sieve of Eratosthenes over a byte array of n entries
 * (default 60000000, so the array is far larger than the caches). Prints
 * the prime count, the largest prime and a sum.
 *
 * usage: sieve [n] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 60000000;
    uint8_t *composite = malloc(n + 1);
    if (!composite || n < 2) {
        fputs("sieve: bad size or out of memory\n", stderr);
        return 1;
    }
    memset(composite, 0, n + 1);
    for (uint32_t p = 2; (uint64_t)p * p <= n; p++)
        if (!composite[p])
            for (uint32_t m = p * p; m <= n; m += p)
                composite[m] = 1;
    uint32_t count = 0, last = 0;
    uint64_t sum = 0;
    for (uint32_t i = 2; i <= n; i++)
        if (!composite[i]) {
            count++;
            last = i;
            sum += i;
        }
    printf("sieve n=%u primes=%u last=%u sum=%llu\n", (unsigned)n, (unsigned)count,
           (unsigned)last, (unsigned long long)sum);
    free(composite);
    return 0;
}
