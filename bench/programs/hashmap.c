/* hashmap: 64-bit integer mixing and random memory access. An
 * open-addressing hash table (linear probing, power-of-two capacity) with
 * 64-bit keys; inserts n keys (default 1200000), updates them, looks up n
 * present and n absent keys, deletes half with backward-shift deletion and
 * looks everything up again. The hash is a multiply-xorshift mix whose multipliers are the
 * fractional hex digits of pi and e. Prints counts and a checksum.
 *
 * usage: hashmap [n] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct slot {
    uint64_t key;       /* 0 = empty; keys are never 0 */
    uint64_t value;
};

struct map {
    struct slot *slots;
    uint32_t mask, count;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 32;
    x *= 0x243f6a8885a308d3ull;
    x ^= x >> 29;
    x *= 0xb7e151628aed2a6bull;
    x ^= x >> 32;
    return x;
}

static void map_init(struct map *m, uint32_t n)
{
    uint32_t cap = 16;
    while (cap < n + n / 2)      /* load factor at most 2/3 */
        cap *= 2;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) {
        fputs("hashmap: out of memory\n", stderr);
        exit(1);
    }
    m->mask = cap - 1;
    m->count = 0;
}

static struct slot *map_find(struct map *m, uint64_t key)
{
    for (uint32_t i = (uint32_t)mix64(key) & m->mask;; i = (i + 1) & m->mask)
        if (m->slots[i].key == key || m->slots[i].key == 0)
            return &m->slots[i];
}

static void map_put(struct map *m, uint64_t key, uint64_t value)
{
    struct slot *s = map_find(m, key);
    if (s->key == 0) {
        s->key = key;
        m->count++;
    }
    s->value = value;
}

/* Backward-shift deletion: move later entries of the probe run into the
 * hole when their home slot allows it, so no tombstones are needed. */
static void map_delete(struct map *m, uint64_t key)
{
    struct slot *s = map_find(m, key);
    if (s->key == 0)
        return;
    uint32_t hole = (uint32_t)(s - m->slots);
    for (uint32_t i = (hole + 1) & m->mask; m->slots[i].key; i = (i + 1) & m->mask) {
        uint32_t home = (uint32_t)mix64(m->slots[i].key) & m->mask;
        if (((i - home) & m->mask) >= ((i - hole) & m->mask)) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    m->slots[hole].key = 0;
    m->count--;
}

static uint64_t key_of(uint64_t i) { return mix64(i * 2 + 1) | 1; }

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1200000;
    struct map m;
    map_init(&m, n);
    for (uint64_t i = 0; i < n; i++)
        map_put(&m, key_of(i), i);
    for (uint64_t i = 0; i < n; i += 3)
        map_put(&m, key_of(i), i * 7);
    uint64_t sum = 0, hits = 0;
    for (uint64_t i = 0; i < 2 * (uint64_t)n; i++) {
        struct slot *s = map_find(&m, key_of(i));
        if (s->key) {
            hits++;
            sum = sum * 31 + s->value;
        }
    }
    for (uint64_t i = 0; i < n; i += 2)
        map_delete(&m, key_of(i));
    for (uint64_t i = 0; i < n; i++) {
        struct slot *s = map_find(&m, key_of(i));
        if (s->key) {
            hits++;
            sum ^= s->value + i;
        }
    }
    printf("hashmap n=%u count=%u hits=%llu sum=%016llx\n", (unsigned)n,
           (unsigned)m.count, (unsigned long long)hits, (unsigned long long)sum);
    free(m.slots);
    return 0;
}
