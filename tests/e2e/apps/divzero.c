/* divzero: traps with "integer divide by zero" (argv keeps the divisor
 * out of the compiler's sight). */
#include <stdio.h>
int main(int argc, char **argv)
{
    int d = argc - 1;
    printf("dividing by %d\n", d);
    fflush(stdout);
    return 100 / d;
}
