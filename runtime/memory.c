/*
 * runtime/memory.c - linear memories.
 *
 * Two kinds of address space, chosen by what the code needs (the
 * descriptor's mem_reach, runtime/abi.h):
 *
 * Reservations. AWSM_GUARD_RESERVATION (8 GiB) of PROT_NONE address space:
 * any 32-bit index plus any 32-bit offset lands inside it, so guard-mode
 * code needs no check and an access past the committed size faults. The
 * committed part (the current size) is read-write; memory.grow makes more
 * of it read-write, so the base never moves. MAP_NORESERVE keeps the
 * reservation out of the commit charge. Each costs two mappings (the
 * read-write part and the rest), and 128 TiB of address space holds at
 * most 16,384 of them.
 *
 * Slab slots. A memory whose code checks every access (checked mode, or
 * guard mode with a small maximum: compiler/cg_memory.c), whose maximum is
 * at most RT_SLAB_SLOT_MAX, and which no other module can import (not
 * exported, or rt_instance_options.private_memory: an importer compiled
 * with bare accesses needs the guard, link.c refuses it a slot), is a
 * slot of a slab: RT_SLAB_BYTES mapped read-write at once (MAP_NORESERVE,
 * no huge pages), so 1,024 memories of 1 MiB are one mapping (and the
 * kernel merges adjacent slabs: 100,000 made two). The slot is
 * the maximum rounded up to a power of two; nothing needs protecting past
 * the current size, because the code's check never lets an access get
 * there, so memory.grow is a change of `size`. Slabs are never unmapped:
 * a freed slot goes to its size class's free list and is reused.
 *
 * The signal handler must tell a fault in a memory from any other fault,
 * on any thread, without locks: live reservations are kept in a registry
 * of slots in chunks that are never freed, written under a mutex and read
 * with atomic loads. Slabs are not in it: nothing faults there.
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
 * (nothing runs in them). A freed slot is zeroed the same way while its
 * class has fewer than that many warm (resident) free slots, and entirely
 * with MADV_DONTNEED otherwise, so a burst of sandboxes leaves no
 * resident memory behind.
 *
 * The budget: the accessible bytes of all live memories (pooled ones are
 * zeroed and not counted; for a slot, its size, not the slot) are one
 * process-wide atomic count, capped by rt_memory_budget_set. Bytes are
 * reserved in the count with a compare-and-swap before mprotect (or the
 * size change) makes them accessible, and given back when that fails, when
 * a memory is freed or pooled: the count never passes the budget, however
 * many threads create and grow memories.
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

unsigned rt_memory_pooled(void)
{
    return atomic_load(&pool_count);
}

unsigned rt_memory_pool_max(void)
{
    return atomic_load(&pool_limit);
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

/* Zero [0, size): memset the first RESET_MEMSET_MAX bytes when `warm`
 * (they stay resident), MADV_DONTNEED the rest. 0 or -1. */
static int zero_pages(struct rt_memory *m, bool warm)
{
    size_t n = m->pub.size < RESET_MEMSET_MAX ? m->pub.size : RESET_MEMSET_MAX;
    if (!warm)
        n = 0;
    memset(m->pub.base, 0, n);
    if (m->pub.size > n &&
        madvise(m->pub.base + n, m->pub.size - n, MADV_DONTNEED) != 0)
        return -1;
    return 0;
}

/* Zero the committed pages and keep the reservation, if there is room. */
static bool pool_give(struct rt_memory *m)
{
    if (pool_count >= atomic_load(&pool_limit))
        return false;
    if (zero_pages(m, true) != 0)
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

/* ===== Slabs ============================================================ */

#define SLAB_CLASSES 11                 /* 64 KiB .. 64 MiB slots */

_Static_assert(RT_SLAB_SLOT_MIN << (SLAB_CLASSES - 1) == RT_SLAB_SLOT_MAX,
               "one class per power of two");
_Static_assert(RT_SLAB_BYTES % RT_SLAB_SLOT_MAX == 0, "whole slots");

/* Slots of one size: the free ones (zero, size 0), and the unused rest of
 * the newest slab. All classes under slab_lock. */
struct slab_class {
    struct rt_memory *free;
    unsigned nwarm;                     /* free slots with resident pages */
    uint8_t *next, *end;                /* never used yet */
};

static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slab_class slab_classes[SLAB_CLASSES];

/* The class of slots for a maximum of `bytes`, or -1 past the largest. */
static int slab_class_of(uint64_t bytes)
{
    uint64_t slot = RT_SLAB_SLOT_MIN;
    for (int c = 0; c < SLAB_CLASSES; c++, slot <<= 1)
        if (bytes <= slot)
            return c;
    return -1;
}

static uint8_t *slab_map(void)
{
    void *p = mmap(NULL, RT_SLAB_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    /* A huge page would make a 1 MiB memory's first touch cost 2 MiB of
     * RSS; the whole mapping keeps one flag, so this splits nothing. */
    madvise(p, RT_SLAB_BYTES, MADV_NOHUGEPAGE);
    return p;
}

/* A zero slot of class c, size 0; under slab_lock. */
static struct rt_memory *slab_take_locked(struct slab_class *sc, int c)
{
    struct rt_memory *m = sc->free;
    if (m != NULL) {
        sc->free = m->pool_next;
        sc->nwarm -= m->warm;
        return m;
    }
    uint64_t slot = RT_SLAB_SLOT_MIN << c;
    if (sc->next == sc->end) {
        uint8_t *p = slab_map();
        if (p == NULL)
            return NULL;
        sc->next = p;
        sc->end = p + RT_SLAB_BYTES;
    }
    if ((m = calloc(1, sizeof *m)) == NULL)
        return NULL;
    m->pub.base = sc->next;
    m->extent = slot;
    sc->next += slot;
    return m;
}

static struct rt_memory *slab_take(uint64_t max_bytes)
{
    int c = slab_class_of(max_bytes);
    if (c < 0)
        return NULL;
    pthread_mutex_lock(&slab_lock);
    struct rt_memory *m = slab_take_locked(&slab_classes[c], c);
    pthread_mutex_unlock(&slab_lock);
    return m;
}

/* Zero what the memory's code could reach ([0, size): it never grows
 * back down) and put the slot on its class's free list. A slot whose
 * pages cannot be dropped stays out of use (its memory leaks). */
static void slab_give(struct rt_memory *m)
{
    struct slab_class *sc = &slab_classes[slab_class_of(m->extent)];
    pthread_mutex_lock(&slab_lock);
    m->warm = sc->nwarm < atomic_load(&pool_limit);
    sc->nwarm += m->warm;               /* counted now: others see it */
    pthread_mutex_unlock(&slab_lock);
    int rc = zero_pages(m, m->warm);
    pthread_mutex_lock(&slab_lock);
    if (rc == 0) {
        m->pub.size = 0;
        m->pool_next = sc->free;
        sc->free = m;
    } else {
        sc->nwarm -= m->warm;
    }
    pthread_mutex_unlock(&slab_lock);
}

static bool in_slab(const struct rt_memory *m)
{
    return m->extent < AWSM_GUARD_RESERVATION;
}

/* Make exactly [0, bytes) accessible in a memory whose [0, size) is: an
 * mprotect in a reservation, only the size in a slot. */
static int set_committed(struct rt_memory *m, size_t bytes)
{
    uint8_t *b = m->pub.base;
    if (in_slab(m)) {
        __atomic_store_n(&m->pub.size, bytes, __ATOMIC_RELEASE);
        return 0;
    }
    size_t cur = m->pub.size;
    if (bytes > cur && mprotect(b + cur, bytes - cur, PROT_READ | PROT_WRITE) != 0)
        return -1;
    if (bytes < cur && mprotect(b + bytes, cur - bytes, PROT_NONE) != 0)
        return -1;
    __atomic_store_n(&m->pub.size, bytes, __ATOMIC_RELEASE);
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
    mem->extent = AWSM_GUARD_RESERVATION;
    return mem;
}

/* A slot when the code allows one and one is large enough; else a pooled
 * or new reservation. */
static struct rt_memory *memory_take(uint64_t max_pages, bool checked)
{
    struct rt_memory *mem = NULL;
    if (checked && max_pages * WM_PAGE_SIZE <= RT_SLAB_SLOT_MAX)
        mem = slab_take(max_pages * WM_PAGE_SIZE);
    if (mem == NULL)
        mem = pool_take();
    if (mem == NULL)
        mem = reservation_new();
    return mem;
}

static void memory_drop(struct rt_memory *mem)
{
    if (in_slab(mem))
        slab_give(mem);
    else if (!pool_give(mem))
        reservation_free(mem);
}

struct rt_memory *rt_memory_new(uint64_t min_pages, uint64_t max_pages,
                                bool has_max, uint64_t declared_max,
                                bool checked, struct rt_budget_refusal *why)
{
    /* A memory has at most a reservation's worth of address space
     * (memory64's sizes can ask for more: it is then too big to create, or
     * its grows fail). */
    const uint64_t most = AWSM_GUARD_RESERVATION / WM_PAGE_SIZE;
    if (min_pages > most)
        return NULL;
    if (max_pages > most)
        max_pages = most;
    size_t bytes = (size_t)min_pages * WM_PAGE_SIZE;
    if (!budget_reserve(bytes, why))
        return NULL;
    struct rt_memory *mem = memory_take(max_pages, checked);
    if (mem == NULL) {
        budget_release(bytes);
        return NULL;
    }
    if (set_committed(mem, bytes) != 0) {    /* never in a slot */
        reservation_free(mem);
        budget_release(bytes);
        return NULL;
    }
    mem->max_pages = max_pages;
    mem->has_max = has_max;
    mem->shared = false;
    mem->is64 = false;
    mem->declared_max = declared_max;
    mem->pool_next = NULL;
    return mem;
}

void rt_memory_free(struct rt_memory *mem)
{
    if (mem == NULL)
        return;
    size_t bytes = mem->pub.size;
    memory_drop(mem);
    budget_release(bytes);
}

/* memory.grow (spec 4.4.7): the old size in pages, or -1 when the new size
 * would pass the maximum (65536 pages without one, see rt_memory_new's
 * caller) or the embedder's cap, when the budget has no room for the
 * pages (then *why says so), or when they cannot be committed. */
static pthread_mutex_t shared_grow_lock = PTHREAD_MUTEX_INITIALIZER;

void rt_memory_set_shared(struct rt_memory *mem)
{
    mem->shared = true;
}

void rt_memory_set_64(struct rt_memory *mem)
{
    mem->is64 = true;
}

static uint64_t grow_pages(struct rt_memory *mem, uint64_t delta,
                           uint32_t cap_pages, struct rt_budget_refusal *why)
{
    uint64_t old = mem->pub.size / WM_PAGE_SIZE;
    uint64_t max = mem->max_pages;
    if (cap_pages != 0 && cap_pages < max)
        max = cap_pages;
    if (delta > max - old)
        return UINT64_MAX;
    if (delta == 0)
        return old;
    size_t bytes = (size_t)delta * WM_PAGE_SIZE;
    if (!budget_reserve(bytes, why))
        return UINT64_MAX;
    if (set_committed(mem, mem->pub.size + bytes) != 0) {
        budget_release(bytes);
        return UINT64_MAX;
    }
    return old;
}

/* A shared memory may grow on several threads at once: one at a time
 * (rare enough for one lock), each seeing the size the last one left. */
uint64_t rt_memory_grow_pages(struct rt_memory *mem, uint64_t delta,
                              uint32_t cap_pages, struct rt_budget_refusal *why)
{
    if (!mem->shared)
        return grow_pages(mem, delta, cap_pages, why);
    pthread_mutex_lock(&shared_grow_lock);
    uint64_t old = grow_pages(mem, delta, cap_pages, why);
    pthread_mutex_unlock(&shared_grow_lock);
    return old;
}

void rt_memory_type(const struct awsm_memory *memory, struct wm_memtype *out)
{
    const struct rt_memory *m = (const struct rt_memory *)memory;
    out->shared = m->shared;
    out->is64 = m->is64;
    out->limits.min = m->pub.size / WM_PAGE_SIZE;
    out->limits.has_max = m->has_max;
    out->limits.max = m->has_max ? m->declared_max : 0;
}
