/* wasm/arena.c - a bump allocator: a module's data lives and dies together. */
#include <stdlib.h>
#include <string.h>

#include "wasm/internal.h"

#define ARENA_BLOCK (64u * 1024u)

struct block {
    struct block *next;
    size_t used, size;
    max_align_t data[];
};

struct wm_arena {
    struct block *head;
};

struct wm_arena *wm_arena_new(void)
{
    return calloc(1, sizeof(struct wm_arena));
}

static struct block *block_new(size_t size, struct block *next)
{
    struct block *b = malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->next = next;
    b->used = 0;
    b->size = size;
    return b;
}

void *wm_arena_alloc(struct wm_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    struct block *b = a->head;
    if (!b || b->size - b->used < size) {
        if (size > ARENA_BLOCK / 4) {
            /* Big requests get a block of their own behind the head, so
             * the head's free space is not wasted. */
            struct block *big = block_new(size, NULL);
            if (!big)
                return NULL;
            if (b) {
                big->next = b->next;
                b->next = big;
            } else {
                a->head = big;
            }
            big->used = size;
            memset(big->data, 0, size);
            return big->data;
        }
        b = block_new(ARENA_BLOCK, a->head);
        if (!b)
            return NULL;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

void *wm_arena_array(struct wm_arena *a, size_t n, size_t elem)
{
    if (elem && n > SIZE_MAX / elem / 2)
        return NULL;
    return wm_arena_alloc(a, n * elem);
}

void wm_arena_free(struct wm_arena *a)
{
    if (!a)
        return;
    for (struct block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}
