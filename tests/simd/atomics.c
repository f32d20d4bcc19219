/* wasm-flags: -matomics -mbulk-memory
 * run-flags: --enable-threads
 * holds: \.atomic\.
 *
 * tests/simd/atomics.c - C11 atomics of every width and kind: a lock-free
 * stack (compare-exchange loops on pointers), fetch-add/sub/or/xor/and on
 * 8-, 16-, 32- and 64-bit objects, exchange, strong compare-exchange that
 * fails and succeeds, fences. One thread (wasi-libc has no threads build),
 * so the output is deterministic and must match the native build's. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct node {
    struct node *next;
    int v;
};

static _Atomic(struct node *) top;
static _Atomic uint64_t sum64;
static atomic_int counter;
static _Atomic unsigned char bits8;
static _Atomic unsigned short bits16;
static _Atomic uint32_t mask32 = 0xffffffffu;

static void push(struct node *n)
{
    struct node *old = atomic_load(&top);
    do
        n->next = old;
    while (!atomic_compare_exchange_weak(&top, &old, n));
}

static struct node *pop(void)
{
    struct node *old = atomic_load(&top);
    while (old != NULL && !atomic_compare_exchange_weak(&top, &old, old->next))
        ;
    return old;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    struct node *nodes = calloc((size_t)n, sizeof *nodes);
    if (nodes == NULL)
        return 1;
    for (int i = 0; i < n; i++) {
        nodes[i].v = i;
        push(&nodes[i]);
        atomic_fetch_add(&counter, 3);
        atomic_fetch_sub_explicit(&counter, 1, memory_order_relaxed);
        atomic_fetch_add(&sum64, (uint64_t)i * 0x100000001ull);
        atomic_fetch_or(&bits8, (unsigned char)(1u << (i & 7)));
        atomic_fetch_xor(&bits16, (unsigned short)((unsigned)i * 2654435761u));
        atomic_fetch_and_explicit(&mask32, ~(1u << (i % 29)) | (i & 1u),
                                  memory_order_acq_rel);
    }
    uint64_t popped = 0;
    for (struct node *p; (p = pop()) != NULL;)
        popped = popped * 31 + (uint64_t)p->v;
    atomic_thread_fence(memory_order_seq_cst);
    int expect = 7;
    int failed = atomic_compare_exchange_strong(&counter, &expect, 0);
    int seen = expect;
    int swapped = atomic_compare_exchange_strong(&counter, &expect, -5);
    int old = atomic_exchange(&counter, 42);
    printf("counter %d seen %d failed %d swapped %d old %d\n", atomic_load(&counter),
           seen, failed, swapped, old);
    printf("sum %llu bits %u %u mask %08x popped %llu\n",
           (unsigned long long)atomic_load(&sum64), atomic_load(&bits8),
           atomic_load(&bits16), (unsigned)atomic_load(&mask32),
           (unsigned long long)popped);
    free(nodes);
    return 0;
}
