/* counter: keeps a global counter and a heap block across calls within a
 * run; prints the counter after one increment. A sandbox that leaked state
 * from an earlier request would print more than 1. */
#include <stdio.h>
#include <stdlib.h>
static int counter;
static char *block;
int main(void)
{
    if (!block)
        block = calloc(1, 16);
    block[0]++;
    counter++;
    printf("%d %d\n", counter, block[0]);
    return 0;
}
