/* fib: the original runtime's example app, as a benchmark. Computes
 * fib(n) (default 42) by the naive double recursion, a pure function-call
 * benchmark, and prints it.
 *
 * usage: fib [n] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t fib(uint32_t n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 42;
    printf("fib(%u) = %llu\n", (unsigned)n, (unsigned long long)fib(n));
    return 0;
}
