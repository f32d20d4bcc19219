/*
 * compiler/cg_cfg.c - a function's control-flow graph as indices: its
 * blocks, their successors and predecessors, dominators and cycles. For
 * the passes that place code by the shape of the graph (the stack check,
 * cg_func.c; the loop polls, cg_poll.c). Everything lives in the current
 * function's arena.
 */
#include <stdlib.h>

#include "compiler/cg.h"

static int cmp_key(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct cg_bb_key *)a)->bb;
    uintptr_t y = (uintptr_t)((const struct cg_bb_key *)b)->bb;
    return (x > y) - (x < y);
}

uint32_t cg_cfg_index(const struct cg_cfg *g, LLVMBasicBlockRef bb)
{
    struct cg_bb_key k = { bb, 0 };
    const struct cg_bb_key *hit = bsearch(&k, g->keys, g->n, sizeof k, cmp_key);
    return hit->index;      /* every successor is a block of the function */
}

static unsigned nsucc(LLVMBasicBlockRef bb)
{
    LLVMValueRef term = LLVMGetBasicBlockTerminator(bb);
    return term ? LLVMGetNumSuccessors(term) : 0;
}

void cg_cfg_init(struct cg_module *cm, struct cg_cfg *g, LLVMValueRef fn)
{
    uint32_t n = g->n = LLVMCountBasicBlocks(fn);
    g->bbs = cg_alloc(cm, n, sizeof *g->bbs);
    g->keys = cg_alloc(cm, n, sizeof *g->keys);
    LLVMGetBasicBlocks(fn, g->bbs);
    for (uint32_t i = 0; i < n; i++)
        g->keys[i] = (struct cg_bb_key){ g->bbs[i], i };
    qsort(g->keys, n, sizeof *g->keys, cmp_key);

    /* Successor lists, then predecessor lists, packed (CSR). */
    g->succ_at = cg_alloc(cm, n + 1, sizeof *g->succ_at);
    for (uint32_t i = 0; i < n; i++)
        g->succ_at[i + 1] = g->succ_at[i] + nsucc(g->bbs[i]);
    uint32_t ne = g->succ_at[n];
    g->succ = cg_alloc(cm, ne, sizeof *g->succ);
    g->pred_at = cg_alloc(cm, n + 1, sizeof *g->pred_at);
    for (uint32_t i = 0; i < n; i++) {
        LLVMValueRef term = LLVMGetBasicBlockTerminator(g->bbs[i]);
        for (uint32_t k = 0; k < g->succ_at[i + 1] - g->succ_at[i]; k++) {
            uint32_t s = cg_cfg_index(g, LLVMGetSuccessor(term, k));
            g->succ[g->succ_at[i] + k] = s;
            g->pred_at[s + 1]++;
        }
    }
    for (uint32_t i = 0; i < n; i++)
        g->pred_at[i + 1] += g->pred_at[i];
    uint32_t *fill = cg_alloc(cm, n, sizeof *fill);
    g->pred = cg_alloc(cm, ne, sizeof *g->pred);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t e = g->succ_at[i]; e < g->succ_at[i + 1]; e++) {
            uint32_t s = g->succ[e];
            g->pred[g->pred_at[s] + fill[s]++] = i;
        }
}

/* Reverse postorder from the entry, by an iterative depth-first search:
 * g->rpo[] lists the reachable blocks, g->order[b] is b's place in it
 * (CG_CFG_NONE for a block the entry does not reach). */
static uint32_t reverse_postorder(struct cg_module *cm, struct cg_cfg *g)
{
    uint32_t n = g->n, depth = 0, done = 0;
    uint32_t *path = cg_alloc(cm, n, sizeof *path), *next = cg_alloc(cm, n, sizeof *next);
    uint8_t *seen = cg_alloc(cm, n, 1);
    uint32_t *post = cg_alloc(cm, n, sizeof *post);
    seen[0] = 1;
    path[depth++] = 0;
    while (depth > 0) {
        uint32_t b = path[depth - 1];
        if (g->succ_at[b] + next[depth - 1] == g->succ_at[b + 1]) {
            post[done++] = b;
            depth--;
            continue;
        }
        uint32_t s = g->succ[g->succ_at[b] + next[depth - 1]++];
        if (!seen[s]) {
            seen[s] = 1;
            path[depth] = s, next[depth++] = 0;
        }
    }
    g->rpo = cg_alloc(cm, done, sizeof *g->rpo);
    g->order = cg_alloc(cm, n, sizeof *g->order);
    for (uint32_t i = 0; i < n; i++)
        g->order[i] = CG_CFG_NONE;
    for (uint32_t i = 0; i < done; i++) {
        g->rpo[i] = post[done - 1 - i];
        g->order[g->rpo[i]] = i;
    }
    return done;
}

uint32_t cg_cfg_common_dominator(const struct cg_cfg *g, uint32_t a, uint32_t b)
{
    while (a != b) {
        while (g->order[a] > g->order[b])
            a = g->idom[a];
        while (g->order[b] > g->order[a])
            b = g->idom[b];
    }
    return a;
}

/* Cooper, Harvey and Kennedy's iteration over the reverse postorder
 * ("A Simple, Fast Dominance Algorithm"): few passes on the graphs
 * structured control flow gives. */
void cg_cfg_dominators(struct cg_module *cm, struct cg_cfg *g)
{
    if (g->n == 0)
        return;
    g->nreach = reverse_postorder(cm, g);
    g->idom = cg_alloc(cm, g->n, sizeof *g->idom);
    for (uint32_t i = 0; i < g->n; i++)
        g->idom[i] = CG_CFG_NONE;
    g->idom[0] = 0;
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t i = 1; i < g->nreach; i++) {
            uint32_t b = g->rpo[i], nd = CG_CFG_NONE;
            for (uint32_t e = g->pred_at[b]; e < g->pred_at[b + 1]; e++) {
                uint32_t p = g->pred[e];
                if (g->idom[p] == CG_CFG_NONE)
                    continue;       /* unreached, or not processed yet */
                nd = nd == CG_CFG_NONE ? p : cg_cfg_common_dominator(g, p, nd);
            }
            if (g->idom[b] != nd) {
                g->idom[b] = nd;
                changed = true;
            }
        }
    }
}

/* Tarjan's strongly connected components, iterative: a block is in a
 * cycle when its component has more than one block or an edge to itself. */
void cg_cfg_cycles(struct cg_module *cm, struct cg_cfg *g)
{
    uint32_t n = g->n, counter = 0, depth = 0, sp = 0;
    uint32_t *index = cg_alloc(cm, n, sizeof *index), *low = cg_alloc(cm, n, sizeof *low);
    uint32_t *path = cg_alloc(cm, n, sizeof *path), *next = cg_alloc(cm, n, sizeof *next);
    uint32_t *stack = cg_alloc(cm, n, sizeof *stack);
    bool *on = cg_alloc(cm, n, sizeof *on);
    g->cyclic = cg_alloc(cm, n, sizeof *g->cyclic);
    for (uint32_t root = 0; root < n; root++) {
        if (index[root] != 0)
            continue;
        index[root] = low[root] = ++counter;        /* 0: unseen */
        stack[sp++] = root, on[root] = true;
        path[depth] = root, next[depth++] = 0;
        while (depth > 0) {
            uint32_t b = path[depth - 1];
            if (g->succ_at[b] + next[depth - 1] < g->succ_at[b + 1]) {
                uint32_t s = g->succ[g->succ_at[b] + next[depth - 1]++];
                if (s == b) {
                    g->cyclic[b] = true;
                } else if (index[s] == 0) {
                    index[s] = low[s] = ++counter;
                    stack[sp++] = s, on[s] = true;
                    path[depth] = s, next[depth++] = 0;
                } else if (on[s] && index[s] < low[b]) {
                    low[b] = index[s];
                }
                continue;
            }
            depth--;
            if (depth > 0 && low[b] < low[path[depth - 1]])
                low[path[depth - 1]] = low[b];
            if (low[b] != index[b])
                continue;
            bool many = stack[sp - 1] != b;
            uint32_t w;
            do {
                w = stack[--sp];
                on[w] = false;
                g->cyclic[w] = g->cyclic[w] || many;
            } while (w != b);
        }
    }
}
