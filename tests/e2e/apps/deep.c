/* deep: unbounded recursion, so the guest's stack overflows. */
#include <stdio.h>
static int down(volatile int *p, int n)
{
    volatile int pad[16];
    pad[n & 15] = n;
    return down(p, n + 1) + pad[(n + 3) & 15] + *p;
}
int main(void)
{
    volatile int x = 1;
    printf("%d\n", down(&x, 0));
    return 0;
}
