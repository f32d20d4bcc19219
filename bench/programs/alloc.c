/* alloc: malloc/free heavy. Each round builds and frees binary trees of
 * small nodes, churns a pool of 4096 variable-size blocks (malloc, realloc,
 * free, 8 bytes to 4 KiB) and builds, reverses and frees a linked list.
 * Runs `rounds` rounds (default 16) and prints a checksum of what it read
 * back from the blocks.
 *
 * usage: alloc [rounds] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 12345;

static uint32_t rng_next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void *checked(void *p)
{
    if (!p) {
        fputs("alloc: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static void *xmalloc(size_t n) { return checked(malloc(n)); }

struct tree {
    struct tree *left, *right;
    uint32_t value;
};

static struct tree *tree_build(int depth, uint32_t value)
{
    struct tree *t = xmalloc(sizeof *t);
    t->value = value;
    t->left = depth > 0 ? tree_build(depth - 1, 2 * value) : NULL;
    t->right = depth > 0 ? tree_build(depth - 1, 2 * value + 1) : NULL;
    return t;
}

static uint64_t tree_sum_free(struct tree *t)
{
    if (!t)
        return 0;
    uint64_t s = t->value + tree_sum_free(t->left) * 3 + tree_sum_free(t->right);
    free(t);
    return s;
}

/* Sizes skewed to small, as real programs allocate. */
static size_t block_size(void)
{
    uint32_t r = rng_next();
    switch (r & 7) {
    case 0: return 8 + (r >> 8) % 4089;
    case 1: case 2: return 8 + (r >> 8) % 512;
    default: return 8 + (r >> 8) % 64;
    }
}

static uint64_t pool_churn(unsigned ops)
{
    enum { SLOTS = 4096 };
    static unsigned char *slot[SLOTS];
    static size_t len[SLOTS];
    uint64_t sum = 0;
    for (unsigned i = 0; i < ops; i++) {
        uint32_t k = rng_next() % SLOTS;
        if (slot[k]) {
            sum += slot[k][0] + slot[k][len[k] - 1] * 7u + len[k];
            if (rng_next() % 4 == 0) {          /* grow it instead */
                size_t n = len[k] + block_size();
                slot[k] = checked(realloc(slot[k], n));
                memset(slot[k] + len[k], (int)(n & 0xff), n - len[k]);
                len[k] = n;
                continue;
            }
            free(slot[k]);
        }
        len[k] = block_size();
        slot[k] = xmalloc(len[k]);
        memset(slot[k], (int)(i & 0xff), len[k]);
    }
    for (unsigned k = 0; k < SLOTS; k++) {
        free(slot[k]);
        slot[k] = NULL;
    }
    return sum;
}

struct node {
    struct node *next;
    uint32_t value;
};

static uint64_t list_churn(unsigned n)
{
    struct node *head = NULL;
    for (unsigned i = 0; i < n; i++) {
        struct node *e = xmalloc(sizeof *e);
        e->value = rng_next() & 0xffff;
        e->next = head;
        head = e;
    }
    struct node *rev = NULL;
    while (head) {
        struct node *next = head->next;
        head->next = rev;
        rev = head;
        head = next;
    }
    uint64_t sum = 0;
    while (rev) {
        struct node *next = rev->next;
        sum = sum * 17 + rev->value;
        free(rev);
        rev = next;
    }
    return sum;
}

int main(int argc, char **argv)
{
    unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 16;
    uint64_t trees = 0, pool = 0, list = 0;
    for (unsigned r = 0; r < rounds; r++) {
        for (int d = 4; d <= 16; d += 2)
            trees += tree_sum_free(tree_build(d, r));
        pool += pool_churn(200000);
        list ^= list_churn(100000 + r);
    }
    printf("alloc rounds=%u trees=%016llx pool=%llu list=%016llx\n", rounds,
           (unsigned long long)trees, (unsigned long long)pool,
           (unsigned long long)list);
    return 0;
}
