/* hog: allocates (and touches) 1 MiB blocks until malloc fails, then says
 * so on stderr and aborts: memory exhaustion ends in a trap. The blocks
 * are kept in a list, or the compiler could drop the unused allocations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct block {
    struct block *next;
    char bytes[(1 << 20) - sizeof(struct block *)];
};

int main(void)
{
    struct block *list = NULL;
    for (unsigned mib = 0;; mib++) {
        struct block *b = malloc(sizeof *b);
        if (!b) {
            fprintf(stderr, "out of memory after %u MiB\n", mib);
            abort();
        }
        memset(b->bytes, 1, sizeof b->bytes);
        b->next = list;
        list = b;
    }
}
