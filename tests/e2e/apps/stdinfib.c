/* stdinfib: a SLEdge-style application: reads n from stdin (the request
 * body), prints fib(n). */
#include <stdio.h>

static unsigned long fib(unsigned n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(void)
{
    unsigned n = 0;
    if (scanf("%u", &n) != 1) {
        fprintf(stderr, "expected a number on stdin\n");
        return 1;
    }
    printf("%lu\n", fib(n));
    return 0;
}
