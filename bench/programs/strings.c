/* strings: string building with memcpy, memset and memmove. Keeps a text
 * buffer of up to 96 KiB and applies `ops` edits to it (default 3000000):
 * appending formatted 80-column records built with memset and memcpy,
 * inserting and deleting words in the middle (memmove of the tail), copying
 * blocks out, and compacting the buffer when it is full. Prints the length
 * and a hash of the buffer and of everything copied out.
 *
 * Most calls have lengths only known at run time, so they stay calls to the
 * C library (or become memory.copy / memory.fill with wasm bulk memory).
 *
 * usage: strings [ops] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOC_MAX (96 * 1024)
#define WORDS 256
#define LINE 80

static uint32_t rng = 2463534242u;

static uint32_t rng_next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fputs("strings: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

struct text {
    char *doc;
    size_t len;
    char *words[WORDS];
    size_t word_len[WORDS];
};

static void words_init(struct text *t)
{
    for (int w = 0; w < WORDS; w++) {
        size_t n = 2 + rng_next() % 30;
        t->words[w] = xmalloc(n + 1);
        for (size_t i = 0; i < n; i++)
            t->words[w][i] = (char)('a' + rng_next() % 26);
        t->words[w][n] = '\0';
        t->word_len[w] = n;
    }
}

/* An 80-column record: blank-padded fields at varying columns. */
static void append_record(struct text *t, uint32_t r)
{
    char *line = t->doc + t->len;
    memset(line, ' ', LINE);
    size_t col = r % 7;
    while (col < LINE - 1) {
        uint32_t w = rng_next() % WORDS;
        size_t n = t->word_len[w];
        if (col + n > LINE - 1)
            n = LINE - 1 - col;
        memcpy(line + col, t->words[w], n);
        col += n + 1 + rng_next() % 4;
    }
    line[LINE - 1] = '\n';
    t->len += LINE;
}

static void insert_word(struct text *t, size_t at, uint32_t w)
{
    size_t n = t->word_len[w];
    memmove(t->doc + at + n, t->doc + at, t->len - at);
    memcpy(t->doc + at, t->words[w], n);
    t->len += n;
}

static void delete_span(struct text *t, size_t at, size_t n)
{
    if (at + n > t->len)
        n = t->len - at;
    memmove(t->doc + at, t->doc + at + n, t->len - at - n);
    t->len -= n;
}

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

int main(int argc, char **argv)
{
    unsigned ops = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 3000000;
    struct text t = {.doc = xmalloc(DOC_MAX + 4096)};
    char *scratch = xmalloc(4096);
    uint64_t copied = 14695981039346656037ull;
    words_init(&t);
    for (unsigned i = 0; i < ops; i++) {
        uint32_t r = rng_next();
        if (t.len + LINE + 64 > DOC_MAX) {      /* compact: drop the front 2/3 */
            size_t cut = t.len / 3 * 2;
            memmove(t.doc, t.doc + cut, t.len - cut);
            t.len -= cut;
        }
        switch (r % 10) {
        case 0: case 1: case 2: case 3:
            append_record(&t, r >> 8);
            break;
        case 4: case 5:
            insert_word(&t, t.len ? (r >> 8) % t.len : 0, (r >> 4) % WORDS);
            break;
        case 6:
            if (t.len)
                delete_span(&t, (r >> 8) % t.len, 1 + (r >> 4) % 24);
            break;
        default: {                              /* copy a block out */
            size_t n = 1 + (r >> 20) % 4096;
            size_t at = t.len > n ? (r >> 4) % (t.len - n) : 0;
            if (n > t.len)
                n = t.len;
            memcpy(scratch, t.doc + at, n);
            memset(scratch + n / 2, '#', n - n / 2);
            copied = fnv(copied, scratch + n / 3, 8 < n / 3 ? 8 : n / 3);
        }
        }
    }
    printf("strings ops=%u len=%zu doc=%016llx copied=%016llx\n", ops, t.len,
           (unsigned long long)fnv(14695981039346656037ull, t.doc, t.len),
           (unsigned long long)copied);
    for (int w = 0; w < WORDS; w++)
        free(t.words[w]);
    free(t.doc);
    free(scratch);
    return 0;
}
