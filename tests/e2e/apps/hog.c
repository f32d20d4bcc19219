/* hog: allocates (and touches) 1 MiB blocks until malloc fails, then says
 * so on stderr and aborts: memory exhaustion ends in a trap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    for (unsigned mib = 0;; mib++) {
        char *p = malloc(1 << 20);
        if (!p) {
            fprintf(stderr, "out of memory after %u MiB\n", mib);
            abort();
        }
        memset(p, 1, 1 << 20);
    }
}
