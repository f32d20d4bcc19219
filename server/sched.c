/*
 * server/sched.c - the scheduler: N worker threads, each running many
 * sandboxes as user-level threads.
 *
 * New sandboxes wait in one shared FIFO queue; any worker takes them (an
 * idle worker is woken through its libuv async handle). A sandbox stays on
 * the worker that started it: it runs on its own stack (from the worker's
 * pool, a guard page below), entered with sched_switch; when preempted it
 * goes to the tail of the worker's local run queue. Between two slices the
 * worker alternates between the shared queue (new requests get a turn
 * promptly) and its local queue (round robin among the preempted).
 *
 * Preemption: one timer thread looks at every worker each quantum/4. If the
 * sandbox on it has run a whole quantum while others wait, or is past its
 * deadline, it interrupts the instance (rt_instance_interrupt: compiled
 * code polls at loop headers and function entries). The interrupt handler
 * runs on the sandbox's stack: past the deadline it traps the call (a
 * timeout reply), otherwise it yields back to the worker.
 *
 * When no sandbox is runnable the worker sleeps in its libuv loop, which
 * also completes the I/O that parked sandboxes wait for (sched_park).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "server/internal.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ASAN_FIBERS 1
#endif

#define STACK_POOL_MAX 64               /* kept per worker */
#define GUARD_SIZE ((size_t)64 << 10)
#define MIN_TICK_NS 250000ull

void sched_switch(void **save_sp, void *next_sp);
void sched_start(void);

struct sched_stack {
    struct sched_stack *next;           /* in the pool */
    uint8_t *map;                       /* guard + stack */
    size_t size;                        /* usable bytes above the guard */
    struct rt_context *ctx;
};

/* A run queue of sandboxes, linked through sb->next. `n` is read without
 * the owner's lock (the preemption timer, idle workers), hence atomic. */
struct fifo {
    struct sb *head, *tail;
    atomic_int n;
};

static void fifo_push(struct fifo *q, struct sb *sb)
{
    sb->next = NULL;
    if (q->tail)
        q->tail->next = sb;
    else
        q->head = sb;
    q->tail = sb;
    atomic_fetch_add(&q->n, 1);
}

static struct sb *fifo_pop(struct fifo *q)
{
    struct sb *sb = q->head;
    if (sb) {
        q->head = sb->next;
        if (!q->head)
            q->tail = NULL;
        atomic_fetch_sub(&q->n, 1);
    }
    return sb;
}

struct sched_worker {
    struct sched *s;
    int id;
    pthread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    atomic_bool idle;
    void *sp;                           /* the worker's, while a sandbox runs */
    struct fifo ready;                  /* preempted or woken sandboxes */
    int nblocked;                       /* parked on the loop's I/O */
    bool took_shared;                   /* the last pick came from the queue */
    pthread_mutex_t lock;               /* current and slice_start */
    struct sb *current;
    uint64_t slice_start;
    struct sched_stack *pool;
    int npool;
#ifdef ASAN_FIBERS
    const void *asan_bottom;
    size_t asan_size;
#endif
};

struct sched {
    struct sched_options o;
    int nworkers;
    struct sched_worker *w;
    pthread_mutex_t qlock;
    struct fifo queue;                  /* new sandboxes, under qlock */
    atomic_bool stopping;
    pthread_t timer;
    bool timer_started;
    uint64_t quantum_ns;
};

uint64_t srv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ===== Stacks =========================================================== */

static struct sched_stack *stack_new(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size = (size + page - 1) & ~(page - 1);
    struct sched_stack *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->map = mmap(NULL, GUARD_SIZE + size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (st->map == MAP_FAILED || mprotect(st->map, GUARD_SIZE, PROT_NONE) != 0) {
        if (st->map != MAP_FAILED)
            munmap(st->map, GUARD_SIZE + size);
        free(st);
        return NULL;
    }
    st->size = size;
    st->ctx = rt_context_new(st->map + GUARD_SIZE, size);
    if (!st->ctx) {
        munmap(st->map, GUARD_SIZE + size);
        free(st);
        return NULL;
    }
    return st;
}

static void stack_free(struct sched_stack *st)
{
    rt_context_free(st->ctx);
    munmap(st->map, GUARD_SIZE + st->size);
    free(st);
}

static struct sched_stack *stack_get(struct sched_worker *w, size_t size)
{
    for (struct sched_stack **pp = &w->pool; *pp; pp = &(*pp)->next) {
        if ((*pp)->size >= size && (*pp)->size - size < 65536) {
            struct sched_stack *st = *pp;
            *pp = st->next;
            w->npool--;
            return st;
        }
    }
    return stack_new(size);
}

static void stack_put(struct sched_worker *w, struct sched_stack *st)
{
    if (w->npool >= STACK_POOL_MAX) {
        stack_free(st);
        return;
    }
    st->next = w->pool;
    w->pool = st;
    w->npool++;
}

/* Lay out a new stack as sched_switch leaves a switched-out one: the
 * saved control words, r15..r12 (r13 = fn, r12 = arg), rbx, rbp, and
 * sched_start as the return address, so that fn is entered with the
 * stack aligned as the ABI wants (rsp + 8 a multiple of 16). */
static void *stack_init(struct sched_stack *st, void (*fn)(void *), void *arg)
{
    uint64_t *s = (uint64_t *)((uintptr_t)(st->map + GUARD_SIZE + st->size) & ~15ull);
    *--s = (uint64_t)(uintptr_t)sched_start;
    *--s = 0;                                   /* rbp */
    *--s = 0;                                   /* rbx */
    *--s = (uint64_t)(uintptr_t)arg;            /* r12 */
    *--s = (uint64_t)(uintptr_t)fn;             /* r13 */
    *--s = 0;                                   /* r14 */
    *--s = 0;                                   /* r15 */
    *--s = 0x1f80ull | (0x037full << 32);       /* MXCSR, x87 control word */
    return s;
}

/* ===== Switching ======================================================== */

/* Worker -> sandbox; returns when the sandbox yields, blocks or ends. */
static void switch_to(struct sched_worker *w, struct sb *sb)
{
    struct rt_context *prev = rt_context_enter(sb->stack->ctx);
#ifdef ASAN_FIBERS
    void *fake;
    __sanitizer_start_switch_fiber(&fake, sb->stack->map + GUARD_SIZE,
                                   sb->stack->size);
    sched_switch(&w->sp, sb->sp);
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
    sched_switch(&w->sp, sb->sp);
#endif
    rt_context_enter(prev);
}

/* Sandbox -> worker; returns when the worker switches back. */
static void switch_out(struct sb *sb, bool last)
{
    struct sched_worker *w = sb->worker;
#ifdef ASAN_FIBERS
    void *fake;
    __sanitizer_start_switch_fiber(last ? NULL : &fake, w->asan_bottom,
                                   w->asan_size);
    sched_switch(&sb->sp, w->sp);
    __sanitizer_finish_switch_fiber(fake, &w->asan_bottom, &w->asan_size);
#else
    (void)last;
    sched_switch(&sb->sp, w->sp);
#endif
}

static void sandbox_main(void *arg)
{
    struct sb *sb = arg;
#ifdef ASAN_FIBERS
    __sanitizer_finish_switch_fiber(NULL, &sb->worker->asan_bottom,
                                    &sb->worker->asan_size);
#endif
    sb_execute(sb);
    sb->state = SB_DONE;
    switch_out(sb, true);
    abort();                    /* a finished sandbox is never resumed */
}

void sched_pause(struct sb *sb)
{
    sb->state = SB_READY;
    switch_out(sb, false);
}

void sched_park(struct sb *sb)
{
    sb->state = SB_BLOCKED;
    sb->worker->nblocked++;
    switch_out(sb, false);
}

void sched_unpublish(struct sb *sb)
{
    pthread_mutex_lock(&sb->worker->lock);
    atomic_store(&sb->inst, NULL);
    pthread_mutex_unlock(&sb->worker->lock);
}

uv_loop_t *sched_loop(struct sb *sb)
{
    return &sb->worker->loop;
}

/* ===== Run queues ======================================================= */

/* Worker's loop callback context only. */
void sched_unpark(struct sb *sb)
{
    if (sb->state == SB_BLOCKED) {
        sb->worker->nblocked--;
        sb->state = SB_READY;
        fifo_push(&sb->worker->ready, sb);
    }
}

static struct sb *shared_pop(struct sched *s)
{
    if (atomic_load(&s->queue.n) == 0)
        return NULL;
    pthread_mutex_lock(&s->qlock);
    struct sb *sb = fifo_pop(&s->queue);
    pthread_mutex_unlock(&s->qlock);
    return sb;
}

void sched_submit(struct sched *s, struct sb *sb)
{
    sb->state = SB_NEW;
    pthread_mutex_lock(&s->qlock);
    fifo_push(&s->queue, sb);
    pthread_mutex_unlock(&s->qlock);
    /* Wake an idle worker if there is one; busy ones look at the queue
     * between slices. */
    for (int i = 0; i < s->nworkers; i++) {
        if (atomic_load(&s->w[i].idle)) {
            atomic_store(&s->w[i].idle, false);
            uv_async_send(&s->w[i].wake);
            return;
        }
    }
}

/* Alternate between new requests and preempted sandboxes. */
static struct sb *pick(struct sched_worker *w)
{
    struct sb *sb = NULL;
    if (!w->took_shared || !w->ready.head)
        sb = shared_pop(w->s);
    w->took_shared = sb != NULL;
    return sb ? sb : fifo_pop(&w->ready);
}

/* ===== Running ========================================================== */

static int start(struct sched_worker *w, struct sb *sb)
{
    sb->worker = w;
    sb->stack = stack_get(w, sb->mod->cfg->stack_size);
    if (!sb->stack) {
        snprintf(sb->error, sizeof sb->error, "out of memory for a sandbox stack");
        sb->outcome = SB_ERROR;
        return -1;
    }
    sb->sp = stack_init(sb->stack, sandbox_main, sb);
    sb->t_start = srv_now_ns();
    return 0;
}

static void finish(struct sched_worker *w, struct sb *sb)
{
    sb->t_end = srv_now_ns();
    if (sb->stack)
        stack_put(w, sb->stack);
    sb->stack = NULL;
    w->s->o.done_cb(sb, w->s->o.done_ud);
}

static void run_slice(struct sched_worker *w, struct sb *sb)
{
    if (sb->state == SB_NEW && start(w, sb) != 0) {
        finish(w, sb);
        return;
    }
    pthread_mutex_lock(&w->lock);
    w->current = sb;
    w->slice_start = srv_now_ns();
    pthread_mutex_unlock(&w->lock);
    sb->state = SB_RUNNING;
    switch_to(w, sb);
    pthread_mutex_lock(&w->lock);
    w->current = NULL;
    pthread_mutex_unlock(&w->lock);
    if (sb->state == SB_READY)
        fifo_push(&w->ready, sb);
    else if (sb->state == SB_DONE)
        finish(w, sb);
}

static void wake_cb(uv_async_t *h)
{
    (void)h;                    /* the loop returns; the worker looks again */
}

static void *worker_main(void *arg)
{
    struct sched_worker *w = arg;
    struct sched *s = w->s;
    for (;;) {
        struct sb *sb = pick(w);
        if (sb) {
            run_slice(w, sb);
            uv_run(&w->loop, UV_RUN_NOWAIT);
            continue;
        }
        if (atomic_load(&s->stopping) && w->nblocked == 0 && !w->ready.head &&
            atomic_load(&s->queue.n) == 0)
            break;
        atomic_store(&w->idle, true);
        /* A submit between pick() and here has either seen idle (and sent
         * the wake) or left its sandbox in the queue: look once more. */
        if (atomic_load(&s->queue.n) > 0) {
            atomic_store(&w->idle, false);
            continue;
        }
        uv_run(&w->loop, UV_RUN_ONCE);
        atomic_store(&w->idle, false);
    }
    return NULL;
}

/* ===== Preemption ======================================================= */

static void tick_worker(struct sched *s, struct sched_worker *w, uint64_t now)
{
    pthread_mutex_lock(&w->lock);
    struct sb *sb = w->current;
    if (sb) {
        struct rt_instance *inst = atomic_load(&sb->inst);
        bool others = atomic_load(&w->ready.n) > 0 || atomic_load(&s->queue.n) > 0;
        bool over = now - w->slice_start >= s->quantum_ns;
        if (inst && ((over && others) || now >= sb->deadline))
            rt_instance_interrupt(inst);
    }
    pthread_mutex_unlock(&w->lock);
}

static void *timer_main(void *arg)
{
    struct sched *s = arg;
    uint64_t tick = s->quantum_ns / 4 > MIN_TICK_NS ? s->quantum_ns / 4 : MIN_TICK_NS;
    struct timespec ts = { (time_t)(tick / 1000000000ull), (long)(tick % 1000000000ull) };
    while (!atomic_load(&s->stopping)) {
        nanosleep(&ts, NULL);
        uint64_t now = srv_now_ns();
        for (int i = 0; i < s->nworkers; i++)
            tick_worker(s, &s->w[i], now);
    }
    return NULL;
}

/* ===== Set-up and tear-down ============================================= */

static int worker_init(struct sched *s, int id)
{
    struct sched_worker *w = &s->w[id];
    w->s = s;
    w->id = id;
    pthread_mutex_init(&w->lock, NULL);
    if (uv_loop_init(&w->loop) != 0)
        return -1;
    if (uv_async_init(&w->loop, &w->wake, wake_cb) != 0) {
        uv_loop_close(&w->loop);
        return -1;
    }
    return 0;
}

static void worker_deinit(struct sched_worker *w)
{
    uv_close((uv_handle_t *)&w->wake, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    while (w->pool) {
        struct sched_stack *st = w->pool;
        w->pool = st->next;
        stack_free(st);
    }
    pthread_mutex_destroy(&w->lock);
}

int sched_new(const struct sched_options *o, struct sched **out, char *err,
              size_t errlen)
{
    struct sched *s = calloc(1, sizeof *s);
    if (!s || !(s->w = calloc(o->workers, sizeof *s->w))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->o = *o;
    s->quantum_ns = (uint64_t)o->quantum_us * 1000;
    pthread_mutex_init(&s->qlock, NULL);
    for (; s->nworkers < o->workers; s->nworkers++) {
        if (worker_init(s, s->nworkers) != 0)
            break;
        if (pthread_create(&s->w[s->nworkers].thread, NULL, worker_main,
                           &s->w[s->nworkers]) != 0) {
            worker_deinit(&s->w[s->nworkers]);
            break;
        }
    }
    if (s->nworkers == o->workers)
        s->timer_started = pthread_create(&s->timer, NULL, timer_main, s) == 0;
    if (!s->timer_started) {
        snprintf(err, errlen, "cannot start worker threads: %s", strerror(errno));
        sched_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void sched_free(struct sched *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    for (int i = 0; i < s->nworkers; i++)
        uv_async_send(&s->w[i].wake);
    for (int i = 0; i < s->nworkers; i++) {
        pthread_join(s->w[i].thread, NULL);
        worker_deinit(&s->w[i]);
    }
    if (s->timer_started)
        pthread_join(s->timer, NULL);
    pthread_mutex_destroy(&s->qlock);
    free(s->w);
    free(s);
}

int sched_workers(const struct sched *s)
{
    return s->nworkers;
}
