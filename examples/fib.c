/* fib: the original runtime's example app. Reads n from argv (default 30)
 * and prints fib(n), computed recursively. */
#include <stdio.h>
#include <stdlib.h>

static unsigned long fib(unsigned n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 30;
    printf("%lu\n", fib(n));
    return 0;
}
