/*
 * wasm/arena.h - a bump allocator: data that lives and dies together (a
 * decoded module's; the compiler's for a module and for one function).
 * Blocks are zeroed; nothing is freed alone; wm_arena_free frees all.
 * Each returns NULL when out of memory (wm_arena_array also on overflow).
 */
#ifndef AWSM_WASM_ARENA_H
#define AWSM_WASM_ARENA_H

#include <stddef.h>

struct wm_arena;

struct wm_arena *wm_arena_new(void);
void *wm_arena_alloc(struct wm_arena *a, size_t size);      /* zeroed */
void *wm_arena_array(struct wm_arena *a, size_t n, size_t elem);
void wm_arena_free(struct wm_arena *a);

#endif
