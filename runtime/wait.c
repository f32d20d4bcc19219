/*
 * runtime/wait.c - memory.atomic.wait32/64 and memory.atomic.notify on
 * shared memories (the threads proposal).
 *
 * Waiters are kept in WAIT_BUCKETS process-wide queues, by host address
 * (the memory's base plus the effective address), each with its mutex; a
 * waiter is a node on the waiting thread's own stack with its own
 * condition variable (CLOCK_MONOTONIC), queued in arrival order, so notify
 * wakes the longest waiting first, as the proposal asks. The comparison
 * with the expected value is made under the bucket's lock, which notify
 * takes too: a notify after the waiter's store cannot be missed. A woken
 * waiter was unlinked by its notifier; one that times out unlinks itself.
 *
 * Generated code checked the address (bounds, alignment) and that the
 * memory is shared before calling here; nothing here traps, but an
 * embedder's sleep may (rt_instance_options.atomic_wait: a deadline),
 * which is why it runs with no lock held.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "runtime/internal.h"

#define WAIT_BUCKETS 64u

struct waiter {
    struct waiter *next;
    const void *addr;
    pthread_cond_t cond;
    bool woken;
};

struct bucket {
    pthread_mutex_t lock;
    struct waiter *head, **tail;
};

static struct bucket buckets[WAIT_BUCKETS];
static pthread_once_t buckets_once = PTHREAD_ONCE_INIT;

static void buckets_init(void)
{
    for (unsigned i = 0; i < WAIT_BUCKETS; i++) {
        pthread_mutex_init(&buckets[i].lock, NULL);
        buckets[i].head = NULL;
        buckets[i].tail = &buckets[i].head;
    }
}

static struct bucket *bucket_of(const void *addr)
{
    pthread_once(&buckets_once, buckets_init);
    uintptr_t a = (uintptr_t)addr;
    return &buckets[((a >> 2) ^ (a >> 12)) % WAIT_BUCKETS];
}

static void unlink_waiter(struct bucket *b, struct waiter *w)
{
    struct waiter **pp = &b->head;
    while (*pp != w)
        pp = &(*pp)->next;
    *pp = w->next;
    if (b->tail == &w->next)
        b->tail = pp;
}

static struct timespec deadline_after(int64_t ns)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t sec = ns / 1000000000 + t.tv_sec;
    long nsec = (long)(ns % 1000000000) + t.tv_nsec;
    if (nsec >= 1000000000) {
        nsec -= 1000000000;
        sec++;
    }
    t.tv_sec = (time_t)sec;
    t.tv_nsec = nsec;
    return t;
}

uint32_t rt_atomic_wait(const void *addr, uint64_t expected, int64_t timeout_ns,
                        bool wide, uint32_t (*sleep)(void *ud, int64_t timeout_ns),
                        void *ud)
{
    struct bucket *b = bucket_of(addr);
    pthread_mutex_lock(&b->lock);
    uint64_t now = wide ? __atomic_load_n((const uint64_t *)addr, __ATOMIC_SEQ_CST)
                        : __atomic_load_n((const uint32_t *)addr, __ATOMIC_SEQ_CST);
    uint32_t early = now != (wide ? expected : (uint32_t)expected) ? 1  /* "not-equal" */
                   : timeout_ns == 0 ? 2                                /* "timed-out" */
                   : 0;
    if (early != 0 || sleep != NULL) {
        pthread_mutex_unlock(&b->lock);
        /* The embedder's sleep (no other thread can notify), unlocked: it
         * may switch to another guest on this thread. */
        return early != 0 ? early : sleep(ud, timeout_ns);
    }
    struct waiter w = { .addr = addr };
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cond, &attr);
    pthread_condattr_destroy(&attr);
    *b->tail = &w;
    b->tail = &w.next;
    /* A timeout past what a timespec holds is no timeout. */
    bool forever = timeout_ns < 0 || timeout_ns > INT64_MAX / 2;
    struct timespec until = forever ? (struct timespec){ 0 } : deadline_after(timeout_ns);
    while (!w.woken) {
        int rc = forever ? pthread_cond_wait(&w.cond, &b->lock)
                         : pthread_cond_timedwait(&w.cond, &b->lock, &until);
        if (rc == ETIMEDOUT)
            break;
    }
    if (!w.woken)
        unlink_waiter(b, &w);
    pthread_mutex_unlock(&b->lock);
    pthread_cond_destroy(&w.cond);
    return w.woken ? 0 : 2;                     /* "ok" or "timed-out" */
}

uint32_t rt_atomic_notify(const void *addr, uint32_t count)
{
    struct bucket *b = bucket_of(addr);
    uint32_t n = 0;
    pthread_mutex_lock(&b->lock);
    for (struct waiter **pp = &b->head; *pp != NULL && n < count;) {
        struct waiter *w = *pp;
        if (w->addr != addr) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        if (b->tail == &w->next)
            b->tail = pp;
        w->woken = true;
        pthread_cond_signal(&w->cond);
        n++;
    }
    pthread_mutex_unlock(&b->lock);
    return n;
}
