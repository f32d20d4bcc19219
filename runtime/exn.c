/*
 * runtime/exn.c - the exceptions of the exception-handling proposal, on
 * the runtime's side: what rt->exn_* do (runtime/abi.h, "Exceptions").
 *
 * Generated code passes an exception by return and looks at
 * vmctx->exn_pending after each call; what the exception is lives here,
 * with the execution context it was thrown on (trap.c), so that it
 * crosses instances and user-level switches with the stack that carries
 * it: the one in flight, and the caught ones that a rethrow in their
 * catch block may throw again. Caught exceptions nest as the catch blocks
 * do, so they form a stack; a handle is a place on it, and releasing
 * handle h drops h and everything above (inner blocks are always left
 * first). Buffers are kept for the next exception: after the first few,
 * throwing and catching allocate nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* Caught exceptions live as long as their catch blocks, each in a frame
 * of its own: more than this many at once only a runaway recursion inside
 * catch blocks makes, and it ends as one does, "call stack exhausted". */
#define RT_MAX_CAUGHT (1u << 16)

/* Room for n values in *e, or a trap (out of memory is the host's). */
static void reserve(struct rt_exn_value *e, uint32_t n)
{
    if (n <= e->cap)
        return;
    awsm_value *v = realloc(e->vals, (size_t)n * sizeof *v);
    if (v == NULL)
        rt_trap_raise(AWSM_TRAP_HOST);
    e->vals = v;
    e->cap = n;
}

static void copy_exn(struct rt_exn_value *dst, const struct rt_exn_value *src)
{
    reserve(dst, src->tag->nvals);
    dst->tag = src->tag;
    if (src->tag->nvals > 0)
        memcpy(dst->vals, src->vals, (size_t)src->tag->nvals * sizeof *dst->vals);
}

void rt_exn_throw(struct awsm_vmctx *vm, struct awsm_tag *tag, const awsm_value *vals)
{
    (void)vm;
    struct rt_exn_state *s = rt_exn_current();
    reserve(&s->flight, tag->nvals);
    s->flight.tag = tag;
    if (tag->nvals > 0)
        memcpy(s->flight.vals, vals, (size_t)tag->nvals * sizeof *vals);
}

struct awsm_tag *rt_exn_tag(struct awsm_vmctx *vm)
{
    (void)vm;
    return rt_exn_current()->flight.tag;
}

uint32_t rt_exn_catch(struct awsm_vmctx *vm, awsm_value *vals)
{
    (void)vm;
    struct rt_exn_state *s = rt_exn_current();
    if (s->ncaught == RT_MAX_CAUGHT)
        rt_trap_raise(AWSM_TRAP_STACK_EXHAUSTED);
    if (s->ncaught == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 8;
        struct rt_exn_value *c = realloc(s->caught, (size_t)cap * sizeof *c);
        if (c == NULL)
            rt_trap_raise(AWSM_TRAP_HOST);
        memset(c + s->cap, 0, (size_t)(cap - s->cap) * sizeof *c);
        s->caught = c;
        s->cap = cap;
    }
    struct rt_exn_value *e = &s->caught[s->ncaught];
    copy_exn(e, &s->flight);
    s->flight.tag = NULL;
    if (vals != NULL && e->tag->nvals > 0)
        memcpy(vals, e->vals, (size_t)e->tag->nvals * sizeof *vals);
    return s->ncaught++;
}

void rt_exn_rethrow(struct awsm_vmctx *vm, uint32_t h)
{
    (void)vm;
    struct rt_exn_state *s = rt_exn_current();
    copy_exn(&s->flight, &s->caught[h]);
}

void rt_exn_release(struct awsm_vmctx *vm, uint32_t h)
{
    (void)vm;
    struct rt_exn_state *s = rt_exn_current();
    if (h < s->ncaught)
        s->ncaught = h;
}

void rt_exn_state_free(struct rt_exn_state *s)
{
    free(s->flight.vals);
    for (uint32_t i = 0; i < s->cap; i++)
        free(s->caught[i].vals);
    free(s->caught);
    memset(s, 0, sizeof *s);
}
