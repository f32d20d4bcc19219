/*
 * server/sched.c - the scheduler: N worker threads, each running many
 * sandboxes as user-level threads.
 *
 * Receive where it runs: each worker has its own libuv loop, on which the
 * server opens its listeners (open_cb), so a request is parsed, queued,
 * run and answered on the thread that received it, with no hand-off.
 *
 * Run queues. Each worker keeps its runnable sandboxes in two heaps: the
 * fresh ones (new, or not yet preempted after a whole quantum) and the
 * demoted ones (they have used a whole quantum at least once). Fresh ones
 * always go first, so a sandbox that runs long delays a newly arrived short
 * request by at most about one quantum; the demoted ones still get one
 * quantum in every DEMOTED_SHARE + 1 while fresh ones wait, so they are
 * never starved. Within a heap the order is the policy's: EDF by the
 * request's deadline (arrival + the module's relative deadline), or FIFO
 * by arrival (a preempted sandbox goes to the back: round robin).
 *
 * A sandbox runs on its own stack (from the worker's pool; no guard page
 * unless --stack-guard, see stack_new), entered with sched_switch.
 * Preemption: a timer thread looks at every worker each quantum/4 and
 * interrupts the running sandbox
 * (rt_instance_interrupt; compiled code polls at loop headers and function
 * entries) once it has run a whole quantum, when it is past its deadline,
 * under EDF when a fresh sandbox with an earlier deadline waits, and when
 * the worker's loop has events waiting (a request received, I/O done: the
 * worker sees them only between slices; the timer polls the loop's epoll
 * fd), so a request waits at most a tick to be received (quantum/16
 * while a slice runs long). The
 * interrupt handler runs on the sandbox's stack: past the deadline it traps
 * the call (a timeout reply), otherwise it switches back to the worker,
 * which then also receives what has arrived meanwhile.
 *
 * Balance: an idle worker steals runnable sandboxes from a busy one: new
 * ones, and preempted ones (they resume in the runtime's interrupt path,
 * which keeps its state with the stack, not the thread). Sandboxes parked
 * on their worker's loop, or resuming inside a host function (pinned),
 * stay. A worker that queues a second runnable sandbox, and the timer
 * when it sees work waiting behind a busy worker, wake an idle one. A
 * sandbox with a home worker (sb->home: an HTTP request, whose connection
 * belongs to that worker's loop) that finishes elsewhere is handed back
 * there (its `returned` list, then its loop is woken) to be answered.
 *
 * When no sandbox is runnable the worker sleeps in its libuv loop, which
 * also receives requests and completes the I/O that parked sandboxes wait
 * for (sched_park).
 */
#include <errno.h>
#include <poll.h>
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
/* ThreadSanitizer is told of every switch too: each stack is a fiber of
 * its own, each worker thread keeps its own, so that it knows which
 * logical thread runs and that a switch orders what came before it. */
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define TSAN_FIBERS 1
#endif

#define STACK_POOL_MAX 64               /* kept per worker */
#define GUARD_SIZE ((size_t)64 << 10)
#define MIN_TICK_NS 250000ull
#define FINE_TICK_NS 100000ull
#define LOOP_POLL_NS 50000ull           /* between slices, with work queued */
/* Quanta given to fresh sandboxes before a waiting demoted one runs. */
#define DEMOTED_SHARE 4

void sched_switch(void **save_sp, void *next_sp);
void sched_start(void);

struct sched_stack {
    struct sched_stack *next;           /* in the pool */
    uint8_t *map;                       /* guard (if any) + stack */
    uint8_t *lo;                        /* the stack's lowest byte */
    size_t size;                        /* usable bytes from lo */
    struct rt_context *ctx;
#ifdef TSAN_FIBERS
    void *tsan_fiber;
#endif
};

/* A binary min-heap of sandboxes by (key, seq); sb->heap_idx is the slot. */
struct heap {
    struct sb **a;
    int n, cap;
};

struct sched_worker {
    struct sched *s;
    int id;
    pthread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    atomic_bool idle;
    void *sp;                           /* the worker's, while a sandbox runs */
    /* Under lock: the run queues, current and slice_start. */
    pthread_mutex_t lock;
    struct heap fresh, demoted;
    atomic_int nqueued;                 /* fresh.n + demoted.n */
    struct sb *current;
    uint64_t slice_start;
    atomic_bool busy;                   /* a sandbox runs: the timer looks at
                                           the loop for it */
    _Atomic uint64_t busy_ns;           /* time spent running sandboxes */
    /* The worker's own. */
    uint64_t fresh_ns;                  /* run by fresh ones while demoted wait */
    uint64_t polled;                    /* when the loop last ran */
    struct sb *parked;                  /* list of parked sandboxes */
    atomic_int nparked;
    /* Under lock: finished elsewhere, to be answered here (sb->home). */
    struct sb *returned;
    atomic_int nreturned;
    bool stopped, started;              /* stop_cb done; open_cb done */
    struct sched_stack *pool;
    int npool;
#ifdef ASAN_FIBERS
    const void *asan_bottom;
    size_t asan_size;
#endif
#ifdef TSAN_FIBERS
    void *tsan_fiber;                   /* the worker thread's own */
#endif
};

struct sched {
    struct sched_options o;
    int nworkers;                       /* o.workers, set before any starts */
    int nstarted;                       /* worker threads created (sched_new) */
    struct sched_worker *w;
    atomic_bool stopping, accepting_stopped, cancel_all;
    _Atomic uint64_t seq;
    atomic_ulong steals, preemptions;
    atomic_uint next_submit;
    pthread_t timer;
    bool timer_started;
    uint64_t quantum_ns;
    /* Start-up: each worker reports open_cb's result. */
    pthread_mutex_t start_lock;
    pthread_cond_t start_cond;
    int nready, nfailed;
    struct srv_error start_err;         /* the first failing open_cb's */
};

static _Thread_local struct sched_worker *this_worker;

uint64_t srv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *sched_policy_name(enum srv_policy p)
{
    return p == SRV_POLICY_FIFO ? "fifo" : "edf";
}

/* ===== Heaps ============================================================ */

static bool before(const struct sb *x, const struct sb *y)
{
    return x->key < y->key || (x->key == y->key && x->seq < y->seq);
}

static void heap_set(struct heap *h, int i, struct sb *sb)
{
    h->a[i] = sb;
    sb->heap_idx = i;
}

static void heap_up(struct heap *h, int i)
{
    struct sb *sb = h->a[i];
    while (i > 0 && before(sb, h->a[(i - 1) / 2])) {
        heap_set(h, i, h->a[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(h, i, sb);
}

static void heap_down(struct heap *h, int i)
{
    struct sb *sb = h->a[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(h->a[c + 1], h->a[c]))
            c++;
        if (!before(h->a[c], sb))
            break;
        heap_set(h, i, h->a[c]);
        i = c;
    }
    heap_set(h, i, sb);
}

static int heap_push(struct heap *h, struct sb *sb)
{
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 64;
        struct sb **a = realloc(h->a, (size_t)cap * sizeof *a);
        if (!a)
            return -1;
        h->a = a;
        h->cap = cap;
    }
    h->a[h->n++] = sb;
    heap_up(h, h->n - 1);
    return 0;
}

static struct sb *heap_remove(struct heap *h, int i)
{
    struct sb *sb = h->a[i];
    h->n--;
    if (i < h->n) {
        heap_set(h, i, h->a[h->n]);
        heap_down(h, i);
        heap_up(h, h->a[i]->heap_idx);
    }
    return sb;
}

/* The first sandbox another worker may take: the best unpinned one. */
static int heap_best_unpinned(const struct heap *h)
{
    int best = -1;
    for (int i = 0; i < h->n; i++)
        if (!h->a[i]->pinned && (best < 0 || before(h->a[i], h->a[best])))
            best = i;
    return best;
}

/* ===== Stacks =========================================================== */

/*
 * A stack has no guard page unless --stack-guard asks for one: compiled
 * code checks every frame against the stack's limit before using it (the
 * entry check, and the stack probe of a frame of a page or more:
 * compiler/cg_module.c), and the limit keeps the context's reserve free
 * below it for host calls. A guard page would cost a mapping of its own
 * per sandbox, and 65,530 mappings (vm.max_map_count's default) would
 * cap a process at ~32,000 parked sandboxes; stacks without one are
 * adjacent mappings of one kind, which the kernel merges.
 */
static struct sched_stack *stack_new(size_t size, bool guard)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size = (size + page - 1) & ~(page - 1);
    size_t below = guard ? GUARD_SIZE : 0;
    struct sched_stack *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->map = mmap(NULL, below + size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (st->map == MAP_FAILED ||
        (guard && mprotect(st->map, GUARD_SIZE, PROT_NONE) != 0)) {
        if (st->map != MAP_FAILED)
            munmap(st->map, below + size);
        free(st);
        return NULL;
    }
    st->lo = st->map + below;
    st->size = size;
    st->ctx = rt_context_new(st->lo, size);
    if (!st->ctx) {
        munmap(st->map, below + size);
        free(st);
        return NULL;
    }
#ifdef TSAN_FIBERS
    st->tsan_fiber = __tsan_create_fiber(0);
#endif
    return st;
}

static void stack_free(struct sched_stack *st)
{
    rt_context_free(st->ctx);
#ifdef TSAN_FIBERS
    __tsan_destroy_fiber(st->tsan_fiber);
#endif
    munmap(st->map, (size_t)(st->lo - st->map) + st->size);
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
    return stack_new(size, w->s->o.stack_guard);
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
    uint64_t *s = (uint64_t *)((uintptr_t)(st->lo + st->size) & ~15ull);
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
#ifdef TSAN_FIBERS
    w->tsan_fiber = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(sb->stack->tsan_fiber, 0);
#endif
#ifdef ASAN_FIBERS
    void *fake;
    __sanitizer_start_switch_fiber(&fake, sb->stack->lo,
                                   sb->stack->size);
    sched_switch(&w->sp, sb->sp);
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
    sched_switch(&w->sp, sb->sp);
#endif
    rt_context_enter(prev);
}

/* Sandbox -> worker; returns when a worker (maybe another one) switches
 * back. */
static void switch_out(struct sb *sb, bool last)
{
    struct sched_worker *w = sb->worker;
#ifdef TSAN_FIBERS
    __tsan_switch_to_fiber(w->tsan_fiber, 0);
#endif
#ifdef ASAN_FIBERS
    void *fake;
    __sanitizer_start_switch_fiber(last ? NULL : &fake, w->asan_bottom,
                                   w->asan_size);
    sched_switch(&sb->sp, w->sp);
    w = sb->worker;
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

void sched_pause(struct sb *sb, bool pinned)
{
    sb->state = SB_READY;
    sb->pinned = pinned;
    switch_out(sb, false);
}

void sched_park(struct sb *sb)
{
    struct sched_worker *w = sb->worker;
    sb->state = SB_BLOCKED;
    sb->prev = NULL;
    sb->next = w->parked;
    if (w->parked)
        w->parked->prev = sb;
    w->parked = sb;
    w->nparked++;
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

bool sched_cancelled(const struct sb *sb)
{
    return atomic_load(&sb->worker->s->cancel_all);
}

/* ===== Run queues ======================================================= */

static void wake_idle(struct sched *s, const struct sched_worker *except)
{
    for (int i = 0; i < s->nworkers; i++) {
        struct sched_worker *w = &s->w[i];
        if (w != except && atomic_load(&w->idle)) {
            atomic_store(&w->idle, false);
            uv_async_send(&w->wake);
            return;
        }
    }
}

/* Queue a runnable sandbox on w. */
static void enqueue(struct sched_worker *w, struct sb *sb)
{
    struct sched *s = w->s;
    sb->seq = atomic_fetch_add(&s->seq, 1);
    sb->key = s->o.policy == SRV_POLICY_EDF ? sb->sched_deadline : sb->seq;
    pthread_mutex_lock(&w->lock);
    struct heap *h = sb->level == 0 ? &w->fresh : &w->demoted;
    while (heap_push(h, sb) != 0) {         /* out of memory: rare, brief */
        pthread_mutex_unlock(&w->lock);
        usleep(1000);
        pthread_mutex_lock(&w->lock);
    }
    int n = atomic_fetch_add(&w->nqueued, 1) + 1;
    pthread_mutex_unlock(&w->lock);
    if (this_worker != w) {
        if (atomic_load(&w->idle)) {
            atomic_store(&w->idle, false);
            uv_async_send(&w->wake);
        }
    } else if (n >= 2 && !sb->pinned) {
        wake_idle(s, w);                    /* someone may take one */
    }
}

/* Worker's loop callback context only. */
void sched_unpark(struct sb *sb)
{
    if (sb->state != SB_BLOCKED)
        return;
    struct sched_worker *w = sb->worker;
    if (sb->prev)
        sb->prev->next = sb->next;
    else
        w->parked = sb->next;
    if (sb->next)
        sb->next->prev = sb->prev;
    w->nparked--;
    sb->state = SB_READY;
    sb->pinned = true;                      /* resumes inside a host call */
    enqueue(w, sb);
}

void sched_submit(struct sched *s, struct sb *sb)
{
    sb->state = SB_NEW;
    sb->level = 0;
    sb->pinned = false;
    struct sched_worker *w = this_worker && this_worker->s == s ? this_worker : NULL;
    if (!w) {
        /* From outside: the least loaded worker, ties round robin. */
        unsigned start = atomic_fetch_add(&s->next_submit, 1);
        for (int i = 0; i < s->nworkers; i++) {
            struct sched_worker *c = &s->w[(start + i) % s->nworkers];
            if (!w || atomic_load(&c->nqueued) < atomic_load(&w->nqueued))
                w = c;
        }
    }
    enqueue(w, sb);
}

/* The next sandbox for w: fresh first, a demoted one when fresh ones have
 * had their share. */
static struct sb *pick(struct sched_worker *w)
{
    if (atomic_load(&w->nqueued) == 0)
        return NULL;
    pthread_mutex_lock(&w->lock);
    struct heap *h = NULL;
    if (w->demoted.n > 0 &&
        (w->fresh.n == 0 || w->fresh_ns >= DEMOTED_SHARE * w->s->quantum_ns))
        h = &w->demoted;
    else if (w->fresh.n > 0)
        h = &w->fresh;
    struct sb *sb = h ? heap_remove(h, 0) : NULL;
    if (sb)
        atomic_fetch_sub(&w->nqueued, 1);
    if (h == &w->demoted)
        w->fresh_ns = 0;
    pthread_mutex_unlock(&w->lock);
    return sb;
}

/* Take a runnable sandbox from the busiest other worker, if one has work
 * waiting behind a running sandbox (or several queued). */
static struct sb *steal(struct sched_worker *w)
{
    struct sched *s = w->s;
    struct sched_worker *v = NULL;
    int most = 0;
    for (int i = 0; i < s->nworkers; i++) {
        int n = atomic_load(&s->w[i].nqueued);
        if (&s->w[i] != w && n > most) {
            most = n;
            v = &s->w[i];
        }
    }
    if (!v)
        return NULL;
    struct sb *sb = NULL;
    pthread_mutex_lock(&v->lock);
    if (v->current || v->fresh.n + v->demoted.n >= 2) {
        int i = heap_best_unpinned(&v->fresh);
        struct heap *h = &v->fresh;
        if (i < 0) {
            i = heap_best_unpinned(&v->demoted);
            h = &v->demoted;
        }
        if (i >= 0) {
            sb = heap_remove(h, i);
            atomic_fetch_sub(&v->nqueued, 1);
        }
    }
    pthread_mutex_unlock(&v->lock);
    if (sb)
        atomic_fetch_add(&s->steals, 1);
    return sb;
}

/* ===== Running ========================================================== */

static int start(struct sched_worker *w, struct sb *sb)
{
    sb->stack = stack_get(w, sb->mod->cfg->stack_size);
    if (!sb->stack) {
        snprintf(sb->error, sizeof sb->error, "out of memory for a sandbox stack");
        sb->outcome = SB_ERROR;
        sb->out_of_memory = true;
        return -1;
    }
    sb->sp = stack_init(sb->stack, sandbox_main, sb);
    sb->t_start = srv_now_ns();
    return 0;
}

/* A sandbox stolen from its home worker is answered there: its
 * connection belongs to that worker's loop. */
static void hand_back(struct sched_worker *home, struct sb *sb)
{
    pthread_mutex_lock(&home->lock);
    sb->next = home->returned;
    home->returned = sb;
    atomic_fetch_add(&home->nreturned, 1);
    pthread_mutex_unlock(&home->lock);
    uv_async_send(&home->wake);
}

static void finish(struct sched_worker *w, struct sb *sb)
{
    sb->t_end = srv_now_ns();
    if (sb->stack)
        stack_put(w, sb->stack);
    sb->stack = NULL;
    if (sb->home >= 0 && sb->home != w->id)
        hand_back(&w->s->w[sb->home], sb);
    else
        w->s->o.done_cb(sb, w->id, w->s->o.ud);
}

/* On the home worker: answer what others finished for it. */
static void answer_returned(struct sched_worker *w)
{
    pthread_mutex_lock(&w->lock);
    struct sb *sb = w->returned;
    w->returned = NULL;
    pthread_mutex_unlock(&w->lock);
    while (sb) {
        struct sb *next = sb->next;
        w->s->o.done_cb(sb, w->id, w->s->o.ud);
        atomic_fetch_sub(&w->nreturned, 1);
        sb = next;
    }
}

/* Returns the time the slice ended. */
static uint64_t run_slice(struct sched_worker *w, struct sb *sb)
{
    sb->worker = w;
    if (sb->state == SB_NEW && start(w, sb) != 0) {
        finish(w, sb);
        return srv_now_ns();
    }
    uint64_t t0 = srv_now_ns();
    pthread_mutex_lock(&w->lock);
    w->current = sb;
    w->slice_start = t0;
    bool demoted_wait = w->demoted.n > 0;
    pthread_mutex_unlock(&w->lock);
    sb->state = SB_RUNNING;
    atomic_store(&w->busy, true);
    switch_to(w, sb);
    atomic_store(&w->busy, false);
    pthread_mutex_lock(&w->lock);
    w->current = NULL;
    pthread_mutex_unlock(&w->lock);
    uint64_t t1 = srv_now_ns(), slice = t1 - t0;
    sb->run_ns += slice;
    atomic_fetch_add(&w->busy_ns, slice);
    if (sb->level == 0 && demoted_wait)
        w->fresh_ns += slice;
    if (sb->state == SB_READY) {
        if (slice >= w->s->quantum_ns)
            sb->level = 1;
        enqueue(w, sb);
    } else if (sb->state == SB_DONE) {
        finish(w, sb);
    }
    return t1;
}

/* The worker's own loop: the server's requests for it to stop receiving
 * or to cancel everything. */
static void wake_cb(uv_async_t *h)
{
    struct sched_worker *w = h->data;
    struct sched *s = w->s;
    answer_returned(w);
    if (atomic_load(&s->accepting_stopped) && !w->stopped) {
        w->stopped = true;
        if (s->o.stop_cb && w->started)
            s->o.stop_cb(w->id, s->o.ud);
    }
    if (atomic_load(&s->cancel_all)) {
        for (struct sb *sb = w->parked, *next; sb; sb = next) {
            next = sb->next;
            if (sb->cancel)
                sb->cancel(sb);
        }
    }
}

static int worker_open(struct sched_worker *w)
{
    struct sched *s = w->s;
    struct srv_error err = { SRV_ERR_NONE, "" };
    int rc = s->o.open_cb ? s->o.open_cb(w->id, &w->loop, s->o.ud, &err) : 0;
    w->started = s->o.open_cb != NULL;  /* close what open_cb opened */
    pthread_mutex_lock(&s->start_lock);
    s->nready++;
    if (rc != 0 && s->nfailed++ == 0)
        s->start_err = err;
    pthread_cond_broadcast(&s->start_cond);
    pthread_mutex_unlock(&s->start_lock);
    return rc;
}

static void *worker_main(void *arg)
{
    struct sched_worker *w = arg;
    struct sched *s = w->s;
    this_worker = w;
    worker_open(w);
    for (;;) {
        struct sb *sb = pick(w);
        if (!sb)
            sb = steal(w);
        if (sb) {
            uint64_t now = run_slice(w, sb);
            /* Receive and complete I/O between slices; while fresh work
             * is queued, at most every LOOP_POLL_NS (a system call each
             * time). Never before a demoted sandbox resumes: what has
             * arrived goes first. */
            pthread_mutex_lock(&w->lock);
            bool fresh = w->fresh.n > 0;
            pthread_mutex_unlock(&w->lock);
            if (!fresh || now - w->polled >= LOOP_POLL_NS) {
                uv_run(&w->loop, UV_RUN_NOWAIT);
                w->polled = now;
            }
            continue;
        }
        if (atomic_load(&s->stopping) && w->nparked == 0 &&
            atomic_load(&w->nqueued) == 0 && atomic_load(&w->nreturned) == 0)
            break;
        atomic_store(&w->idle, true);
        /* A submit between pick() and here has either seen idle (and sent
         * the wake) or left its sandbox in the queue: look once more. */
        if (atomic_load(&w->nqueued) > 0) {
            atomic_store(&w->idle, false);
            continue;
        }
        uv_run(&w->loop, UV_RUN_ONCE);
        atomic_store(&w->idle, false);
    }
    if (s->o.close_cb && w->started)
        s->o.close_cb(w->id, s->o.ud);
    return NULL;
}

/* ===== Preemption ======================================================= */

/* Has the worker's loop events waiting (a request received, I/O done)?
 * Its epoll fd is readable then; the worker sees them only between
 * slices. */
static bool loop_pending(struct sched_worker *w)
{
    struct pollfd p = { uv_backend_fd(&w->loop), POLLIN, 0 };
    return p.fd >= 0 && poll(&p, 1, 0) == 1;
}

/* Returns whether the worker has a long runner: a demoted sandbox running
 * or waiting, or one that has run longer than `fine`. */
static bool tick_worker(struct sched *s, struct sched_worker *w, uint64_t now,
                        uint64_t fine)
{
    bool long_slice = false;
    bool io = atomic_load(&w->busy) && loop_pending(w);
    pthread_mutex_lock(&w->lock);
    struct sb *sb = w->current;
    bool waiting = sb && atomic_load(&w->nqueued) > 0;
    if (sb) {
        struct rt_instance *inst = atomic_load(&sb->inst);
        bool over = now - w->slice_start >= s->quantum_ns;
        long_slice = sb->level > 0 || now - w->slice_start >= fine;
        bool earlier = s->o.policy == SRV_POLICY_EDF && sb->level == 0 &&
                       w->fresh.n > 0 && before(w->fresh.a[0], sb);
        if (inst && (over || earlier || io || now >= sb->deadline ||
                     atomic_load(&s->cancel_all))) {
            rt_instance_interrupt(inst);
            atomic_fetch_add(&s->preemptions, 1);
        }
    }
    long_slice |= w->demoted.n > 0;
    pthread_mutex_unlock(&w->lock);
    if (waiting)
        wake_idle(s, w);
    return long_slice;
}

/* The timer ticks every quantum/4, and every quantum/16 while a sandbox
 * runs a long slice: then requests that arrive meanwhile are received
 * within a sixteenth of a quantum (the fine tick costs ~10% of the
 * short-request throughput when nothing runs long, so only then). */
static void *timer_main(void *arg)
{
    struct sched *s = arg;
    uint64_t fine = s->quantum_ns / 50 > FINE_TICK_NS ? s->quantum_ns / 50 : FINE_TICK_NS;
    uint64_t coarse = s->quantum_ns / 4 > MIN_TICK_NS ? s->quantum_ns / 4 : MIN_TICK_NS;
    uint64_t tick = coarse;
    while (!atomic_load(&s->stopping)) {
        struct timespec ts = { (time_t)(tick / 1000000000ull),
                               (long)(tick % 1000000000ull) };
        nanosleep(&ts, NULL);
        uint64_t now = srv_now_ns();
        bool long_slice = false;
        for (int i = 0; i < s->nworkers; i++)
            long_slice |= tick_worker(s, &s->w[i], now, fine);
        tick = long_slice ? fine : coarse;
    }
    return NULL;
}

/* ===== Set-up and tear-down ============================================= */

/* 0, or what failed, with libuv's message for its code. */
static int worker_init(struct sched *s, int id, struct srv_error *err)
{
    struct sched_worker *w = &s->w[id];
    w->s = s;
    w->id = id;
    int rc = uv_loop_init(&w->loop);
    if (rc != 0)
        return srv_fail(err, SRV_ERR_SYSTEM, "worker %d: cannot create its "
                        "event loop: %s", id, uv_strerror(rc));
    if ((rc = uv_async_init(&w->loop, &w->wake, wake_cb)) != 0) {
        uv_loop_close(&w->loop);
        return srv_fail(err, SRV_ERR_SYSTEM, "worker %d: cannot create its "
                        "wake-up handle: %s", id, uv_strerror(rc));
    }
    w->wake.data = w;
    pthread_mutex_init(&w->lock, NULL);
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
    free(w->fresh.a);
    free(w->demoted.a);
    pthread_mutex_destroy(&w->lock);
}

int sched_new(const struct sched_options *o, struct sched **out,
              struct srv_error *err)
{
    struct sched *s = calloc(1, sizeof *s);
    if (!s || !(s->w = calloc(o->workers, sizeof *s->w))) {
        free(s);
        return srv_fail(err, SRV_ERR_NOMEM, "out of memory");
    }
    s->o = *o;
    s->quantum_ns = (uint64_t)o->quantum_us * 1000;
    s->nworkers = o->workers;
    pthread_mutex_init(&s->start_lock, NULL);
    pthread_cond_init(&s->start_cond, NULL);
    /* Published before any thread starts: a worker receives requests
     * (open_cb) before this returns, and they reach the scheduler through
     * *out (srv->sched). */
    *out = s;
    int rc = 0;                         /* pthread_create's: errno is not set */
    for (; s->nstarted < o->workers; s->nstarted++) {
        if (worker_init(s, s->nstarted, err) != 0)
            break;
        if ((rc = pthread_create(&s->w[s->nstarted].thread, NULL, worker_main,
                                 &s->w[s->nstarted])) != 0) {
            srv_fail(err, SRV_ERR_SYSTEM, "cannot start worker thread %d: %s",
                     s->nstarted, strerror(rc));
            worker_deinit(&s->w[s->nstarted]);
            break;
        }
    }
    if (s->nstarted == o->workers &&
        (rc = pthread_create(&s->timer, NULL, timer_main, s)) != 0)
        srv_fail(err, SRV_ERR_SYSTEM, "cannot start the timer thread: %s",
                 strerror(rc));
    s->timer_started = s->nstarted == o->workers && rc == 0;
    if (s->timer_started) {
        pthread_mutex_lock(&s->start_lock);
        while (s->nready < s->nstarted)
            pthread_cond_wait(&s->start_cond, &s->start_lock);
        pthread_mutex_unlock(&s->start_lock);
        if (s->nfailed > 0)
            *err = s->start_err;
    }
    if (!s->timer_started || s->nfailed > 0) {
        sched_free(s);
        *out = NULL;
        return -1;
    }
    return 0;
}

void sched_stop_accepting(struct sched *s)
{
    atomic_store(&s->accepting_stopped, true);
    for (int i = 0; i < s->nworkers; i++)
        uv_async_send(&s->w[i].wake);
}

void sched_cancel_all(struct sched *s)
{
    atomic_store(&s->cancel_all, true);
    for (int i = 0; i < s->nworkers; i++)
        uv_async_send(&s->w[i].wake);
}

void sched_free(struct sched *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    for (int i = 0; i < s->nstarted; i++)
        uv_async_send(&s->w[i].wake);
    /* The timer first: it locks the workers' mutexes until it ends. */
    if (s->timer_started)
        pthread_join(s->timer, NULL);
    for (int i = 0; i < s->nstarted; i++) {
        pthread_join(s->w[i].thread, NULL);
        worker_deinit(&s->w[i]);
    }
    pthread_mutex_destroy(&s->start_lock);
    pthread_cond_destroy(&s->start_cond);
    free(s->w);
    free(s);
}

int sched_workers(const struct sched *s)
{
    return s->nworkers;
}

void sched_stats(const struct sched *s, struct sched_stats *out)
{
    out->steals = atomic_load(&s->steals);
    out->preemptions = atomic_load(&s->preemptions);
    out->queued = out->parked = 0;
    for (int i = 0; i < s->nworkers; i++) {
        out->queued += (unsigned)atomic_load(&s->w[i].nqueued);
        out->parked += (unsigned)atomic_load(&s->w[i].nparked);
    }
}

uint64_t sched_busy_ns(const struct sched *s, int worker)
{
    return atomic_load(&s->w[worker].busy_ns);
}
