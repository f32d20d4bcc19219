/*
 * runtime/memory.c - linear memories.
 *
 * Every memory is a reservation of AWSM_GUARD_RESERVATION (8 GiB) of
 * PROT_NONE address space, whatever the bounds mode: any 32-bit index plus
 * any 32-bit offset lands inside it, so guard-mode code needs no check and
 * an access past the committed size faults. The committed part (the
 * current size) is read-write; memory.grow makes more of it read-write, so
 * the base never moves. MAP_NORESERVE keeps the reservation out of the
 * commit charge.
 *
 * The signal handler must tell a fault in a memory from any other fault,
 * on any thread, without locks: live reservations are kept in a registry
 * of slots in chunks that are never freed, written under a mutex and read
 * with atomic loads.
 *
 * Pooling: creating a reservation (mmap of 8 GiB, page tables on first
 * touch) and dropping it (munmap: a TLB shootdown on every CPU the process
 * runs on) cost tens of microseconds, most of a short-lived instance's
 * life. A freed memory's reservation therefore goes to a process-wide pool
 * (up to rt_memory_pool_limit, default RT_MEMORY_POOL_DEFAULT) after its
 * committed pages are zeroed: memset for the first RESET_MEMSET_MAX bytes,
 * which stay resident, and MADV_DONTNEED beyond (zero-fill on demand). The
 * next memory takes a pooled reservation and only changes protections
 * when its size differs. Pooled reservations stay in the fault registry
 * (nothing runs in them).
 *
 * The budget: the accessible bytes of all live memories (pooled ones are
 * zeroed and not counted) are one process-wide atomic count, capped by
 * rt_memory_budget_set. Bytes are reserved in the count with a
 * compare-and-swap before mprotect makes them accessible, and given back
 * when that fails, when a memory is freed or pooled: the count never
 * passes the budget, however many threads create and grow memories.
 *
 * Ownership: a memory belongs to whoever created it (an instance for its
 * defined memory, a host object) and is freed with it; importers must not
 * outlive the owner. The spec harness keeps every instance of a .wast
 * file alive until the end of the file, which satisfies this.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "runtime/internal.h"

/* ===== The fault registry =============================================== */

#define REG_CHUNK_SLOTS 256

struct reg_chunk {
    struct reg_chunk *next;             /* set before publication */
    _Atomic uintptr_t base[REG_CHUNK_SLOTS];
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct reg_chunk *) reg_head;

/* A free slot, adding a chunk when all are taken; under reg_lock. */
static _Atomic uintptr_t *reg_free_slot(void)
{
    struct reg_chunk *c = atomic_load(&reg_head);
    for (; c != NULL; c = c->next) {
        for (int i = 0; i < REG_CHUNK_SLOTS; i++)
            if (atomic_load_explicit(&c->base[i], memory_order_relaxed) == 0)
                return &c->base[i];
    }
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->next = atomic_load(&reg_head);
    atomic_store(&reg_head, c);
    return &c->base[0];
}

static int reg_add(uint8_t *base)
{
    pthread_mutex_lock(&reg_lock);
    _Atomic uintptr_t *slot = reg_free_slot();
    if (slot != NULL)
        atomic_store(slot, (uintptr_t)base);
    pthread_mutex_unlock(&reg_lock);
    return slot != NULL ? 0 : -1;
}

static void reg_remove(uint8_t *base)
{
    pthread_mutex_lock(&reg_lock);
    for (struct reg_chunk *c = atomic_load(&reg_head); c != NULL; c = c->next) {
        for (int i = 0; i < REG_CHUNK_SLOTS; i++)
            if (atomic_load_explicit(&c->base[i], memory_order_relaxed) ==
                (uintptr_t)base)
                atomic_store(&c->base[i], 0);
    }
    pthread_mutex_unlock(&reg_lock);
}

bool rt_memory_contains_fault(uintptr_t addr)
{
    for (struct reg_chunk *c = atomic_load(&reg_head); c != NULL; c = c->next) {
        for (int i = 0; i < REG_CHUNK_SLOTS; i++) {
            uintptr_t b = atomic_load(&c->base[i]);
            if (b != 0 && addr >= b && addr - b < AWSM_GUARD_RESERVATION)
                return true;
        }
    }
    return false;
}

/* ===== The budget ======================================================= */

static _Atomic uint64_t budget;         /* bytes; 0: unlimited */
static _Atomic uint64_t committed;      /* accessible bytes of live memories */

void rt_memory_budget_set(uint64_t bytes)
{
    atomic_store(&budget, bytes);
}

uint64_t rt_memory_committed(void)
{
    return atomic_load(&committed);
}

/* Count n more bytes, unless that would pass the budget: then fill *why
 * (if not NULL) and return false. */
static bool budget_reserve(uint64_t n, struct rt_budget_refusal *why)
{
    uint64_t cur = atomic_load(&committed);
    for (;;) {
        uint64_t limit = atomic_load(&budget);
        if (limit != 0 && (n > limit || cur > limit - n)) {
            if (why != NULL)
                *why = (struct rt_budget_refusal){ true, cur, limit, n };
            return false;
        }
        if (atomic_compare_exchange_weak(&committed, &cur, cur + n))
            return true;
    }
}

static void budget_release(uint64_t n)
{
    atomic_fetch_sub(&committed, n);
}

/* ===== The reservation pool ============================================= */

#define RESET_MEMSET_MAX ((size_t)1 << 20)

/* A pooled reservation: its first `size` bytes are read-write and zero,
 * the rest PROT_NONE. Kept in the memory's own struct (the list link is
 * the struct itself), so pooling allocates nothing. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rt_memory *pool_head;
static _Atomic unsigned pool_count;
static _Atomic unsigned pool_limit = RT_MEMORY_POOL_DEFAULT;

static void reservation_free(struct rt_memory *mem)
{
    reg_remove(mem->pub.base);
    munmap(mem->pub.base, AWSM_GUARD_RESERVATION);
    free(mem);
}

void rt_memory_pool_limit(unsigned n)
{
    atomic_store(&pool_limit, n);
    pthread_mutex_lock(&pool_lock);
    while (pool_count > n) {
        struct rt_memory *m = pool_head;
        pool_head = m->pool_next;
        pool_count--;
        reservation_free(m);
    }
    pthread_mutex_unlock(&pool_lock);
}

static struct rt_memory *pool_take(void)
{
    pthread_mutex_lock(&pool_lock);
    struct rt_memory *m = pool_head;
    if (m != NULL) {
        pool_head = m->pool_next;
        pool_count--;
    }
    pthread_mutex_unlock(&pool_lock);
    return m;
}

/* Zero the committed pages and keep the reservation, if there is room. */
static bool pool_give(struct rt_memory *m)
{
    if (pool_count >= atomic_load(&pool_limit))
        return false;
    size_t n = m->pub.size < RESET_MEMSET_MAX ? m->pub.size : RESET_MEMSET_MAX;
    memset(m->pub.base, 0, n);
    if (m->pub.size > n &&
        madvise(m->pub.base + n, m->pub.size - n, MADV_DONTNEED) != 0)
        return false;
    pthread_mutex_lock(&pool_lock);
    bool kept = pool_count < atomic_load(&pool_limit);
    if (kept) {
        m->pool_next = pool_head;
        pool_head = m;
        pool_count++;
    }
    pthread_mutex_unlock(&pool_lock);
    return kept;
}

/* Make exactly [0, bytes) read-write in a reservation whose [0, size) is. */
static int set_committed(struct rt_memory *m, size_t bytes)
{
    uint8_t *b = m->pub.base;
    size_t cur = m->pub.size;
    if (bytes > cur && mprotect(b + cur, bytes - cur, PROT_READ | PROT_WRITE) != 0)
        return -1;
    if (bytes < cur && mprotect(b + bytes, cur - bytes, PROT_NONE) != 0)
        return -1;
    m->pub.size = bytes;
    return 0;
}

/* ===== Memories ========================================================= */

static struct rt_memory *reservation_new(void)
{
    struct rt_memory *mem = calloc(1, sizeof *mem);
    if (mem == NULL)
        return NULL;
    void *p = mmap(NULL, AWSM_GUARD_RESERVATION, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED || reg_add(p) != 0) {
        if (p != MAP_FAILED)
            munmap(p, AWSM_GUARD_RESERVATION);
        free(mem);
        return NULL;
    }
    mem->pub.base = p;
    return mem;
}

struct rt_memory *rt_memory_new(uint64_t min_pages, uint64_t max_pages,
                                bool has_max, uint64_t declared_max,
                                struct rt_budget_refusal *why)
{
    size_t bytes = (size_t)min_pages * WM_PAGE_SIZE;
    if (!budget_reserve(bytes, why))
        return NULL;
    struct rt_memory *mem = pool_take();
    if (mem == NULL && (mem = reservation_new()) == NULL) {
        budget_release(bytes);
        return NULL;
    }
    if (set_committed(mem, bytes) != 0) {
        reservation_free(mem);
        budget_release(bytes);
        return NULL;
    }
    mem->max_pages = max_pages;
    mem->has_max = has_max;
    mem->declared_max = declared_max;
    mem->pool_next = NULL;
    return mem;
}

void rt_memory_free(struct rt_memory *mem)
{
    if (mem == NULL)
        return;
    size_t bytes = mem->pub.size;
    if (!pool_give(mem))
        reservation_free(mem);
    budget_release(bytes);
}

/* memory.grow (spec 4.4.7): the old size in pages, or -1 when the new size
 * would pass the maximum (65536 pages without one, see rt_memory_new's
 * caller) or the embedder's cap, when the budget has no room for the
 * pages (then *why says so), or when they cannot be committed. */
uint32_t rt_memory_grow_pages(struct rt_memory *mem, uint32_t delta,
                              uint32_t cap_pages, struct rt_budget_refusal *why)
{
    uint64_t old = mem->pub.size / WM_PAGE_SIZE;
    uint64_t max = mem->max_pages;
    if (cap_pages != 0 && cap_pages < max)
        max = cap_pages;
    if (old + delta > max)
        return UINT32_MAX;
    if (delta == 0)
        return (uint32_t)old;
    size_t bytes = (size_t)delta * WM_PAGE_SIZE;
    if (!budget_reserve(bytes, why))
        return UINT32_MAX;
    if (mprotect(mem->pub.base + mem->pub.size, bytes,
                 PROT_READ | PROT_WRITE) != 0) {
        budget_release(bytes);
        return UINT32_MAX;
    }
    mem->pub.size += bytes;
    return (uint32_t)old;
}

void rt_memory_type(const struct awsm_memory *memory, struct wm_memtype *out)
{
    const struct rt_memory *m = (const struct rt_memory *)memory;
    out->limits.min = m->pub.size / WM_PAGE_SIZE;
    out->limits.has_max = m->has_max;
    out->limits.max = m->has_max ? m->declared_max : 0;
}
