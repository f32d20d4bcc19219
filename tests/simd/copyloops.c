/* wasm-flags: -fno-builtin
 * holds: i32\.load8_u
 *
 * copyloops.c - copy and fill loops, scalar (no SIMD, no bulk memory:
 * the loops awsmc gives a memmove or memset fast path, compiler/
 * cg_idiom.c), over every small size, alignment and overlap, against the
 * native build. Built with -fno-builtin so that clang keeps the loops as
 * written instead of calling memcpy; wasi-libc's own memcpy, memmove and
 * memset (C loops of bytes and words) are exercised too. Each test
 * prints a hash of the whole buffer after each of its cases; any
 * difference from the native build is a wrong copy. Loops that are not
 * copies (a destination just past the source, which replicates bytes; a
 * fill with a word that is not one byte repeated; strides with gaps) must
 * keep their own meaning.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define BUF 4096

static unsigned char buf[BUF];
static uint64_t hash = 1469598103934665603ull;

static void reset(void)
{
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < BUF; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        buf[i] = (unsigned char)x;
    }
}

static void mix(void)
{
    for (size_t i = 0; i < BUF; i++)
        hash = (hash ^ buf[i]) * 1099511628211ull;
}

#define NOINLINE __attribute__((noinline))

NOINLINE static void copy_up(unsigned char *d, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
}

NOINLINE static void copy_ptr(unsigned char *d, const unsigned char *s, size_t n)
{
    while (n--)
        *d++ = *s++;
}

NOINLINE static void copy_down(unsigned char *d, const unsigned char *s, size_t n)
{
    while (n) {
        n--;
        d[n] = s[n];
    }
}

NOINLINE static void copy_signed_down(unsigned char *d, const unsigned char *s, int n)
{
    for (int i = n - 1; i >= 0; i--)
        d[i] = s[i];
}

NOINLINE static void copy_to_end(unsigned char *d, const unsigned char *s, unsigned char *end)
{
    for (; d != end; d++, s++)
        *d = *s;
}

NOINLINE static void copy_words(uint32_t *d, const uint32_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
}

NOINLINE static void copy_halves_down(uint16_t *d, const uint16_t *s, size_t n)
{
    for (size_t i = n; i-- > 0;)
        d[i] = s[i];
}

NOINLINE static void copy_gaps(unsigned char *d, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[2 * i] = s[2 * i];
}

/* Each trip stores its second byte first: a memmove only where the
 * copy does not overlap (or the destination is above the source). */
NOINLINE static void copy_pairs_reversed(unsigned char *d, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        d[i + 1] = s[i + 1];
        d[i] = s[i];
    }
}

/* The mirror: a backward copy whose trips store their first byte first. */
NOINLINE static void copy_pairs_down(unsigned char *d, const unsigned char *s, size_t n)
{
    for (size_t i = n; i >= 2; i -= 2) {
        d[i - 2] = s[i - 2];
        d[i - 1] = s[i - 1];
    }
}

/* Reverses: the source goes up while the destination goes down. */
NOINLINE static void copy_reverse(unsigned char *d, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[n - 1 - i] = s[i];
}

/* Two bytes a trip, a then b: one memset only when a == b. */
NOINLINE static void fill_pairs(unsigned char *d, unsigned char a, unsigned char b, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        d[i] = a;
        d[i + 1] = b;
    }
}

NOINLINE static void fill_bytes(unsigned char *d, unsigned char c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = c;
}

NOINLINE static void fill_words(uint32_t *d, uint32_t w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = w;
}

NOINLINE static void fill_halves(uint16_t *d, uint16_t w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = w;
}

static const size_t sizes[] = { 0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65,
                                100, 127, 128, 129, 255, 256, 1000 };
#define NSIZES (sizeof sizes / sizeof *sizes)

/* d = s + shift for shifts on both sides of zero: overlaps both ways. */
static const int shifts[] = { -1000, -129, -64, -33, -9, -4, -3, -1, 0,
                              1, 3, 4, 9, 33, 64, 129, 1000 };
#define NSHIFTS (sizeof shifts / sizeof *shifts)

typedef void (*copy_fn)(unsigned char *, const unsigned char *, size_t);

static void test_copy(const char *name, copy_fn f)
{
    hash = 1469598103934665603ull;
    for (size_t z = 0; z < NSIZES; z++)
        for (size_t k = 0; k < NSHIFTS; k++)
            for (size_t a = 0; a < 4; a++) {
                reset();
                unsigned char *s = buf + 1500 + a;
                f(s + shifts[k], s, sizes[z]);
                mix();
            }
    printf("%-18s %016llx\n", name, (unsigned long long)hash);
}

static void copy_signed_down_fn(unsigned char *d, const unsigned char *s, size_t n)
{
    copy_signed_down(d, s, (int)n);
}

static void copy_to_end_fn(unsigned char *d, const unsigned char *s, size_t n)
{
    copy_to_end(d, s, d + n);
}

static void copy_words_fn(unsigned char *d, const unsigned char *s, size_t n)
{
    copy_words((uint32_t *)((uintptr_t)d & ~(uintptr_t)3),
               (const uint32_t *)((uintptr_t)s & ~(uintptr_t)3), n / 4);
}

static void copy_halves_fn(unsigned char *d, const unsigned char *s, size_t n)
{
    copy_halves_down((uint16_t *)((uintptr_t)d & ~(uintptr_t)1),
                     (const uint16_t *)((uintptr_t)s & ~(uintptr_t)1), n / 2);
}

static void copy_gaps_fn(unsigned char *d, const unsigned char *s, size_t n)
{
    copy_gaps(d, s, n / 2);
}

static void libc_memcpy_fn(unsigned char *d, const unsigned char *s, size_t n)
{
    /* memcpy's overlapping calls are undefined: only disjoint ones. */
    if (d + n <= s || s + n <= d)
        memcpy(d, s, n);
}

static void libc_memmove_fn(unsigned char *d, const unsigned char *s, size_t n)
{
    memmove(d, s, n);
}

static void test_fills(void)
{
    static const uint32_t words[] = { 0, 0x41414141u, 0xffffffffu, 0x01020304u, 0x41414142u };
    hash = 1469598103934665603ull;
    for (size_t z = 0; z < NSIZES; z++)
        for (size_t a = 0; a < 4; a++)
            for (size_t w = 0; w < sizeof words / sizeof *words; w++) {
                unsigned char *d = buf + 1000 + a;
                reset();
                fill_bytes(d, (unsigned char)words[w], sizes[z]);
                mix();
                reset();
                fill_words((uint32_t *)(buf + 1000), words[w], sizes[z] / 4);
                mix();
                reset();
                fill_halves((uint16_t *)(buf + 1000), (uint16_t)words[w], sizes[z] / 2);
                mix();
                reset();
                fill_pairs(d, (unsigned char)words[w], (unsigned char)(words[w] >> 8), sizes[z]);
                mix();
                reset();
                memset(d, (int)words[w], sizes[z]);
                mix();
            }
    printf("%-18s %016llx\n", "fills", (unsigned long long)hash);
}

int main(void)
{
    test_copy("copy_up", copy_up);
    test_copy("copy_ptr", copy_ptr);
    test_copy("copy_down", copy_down);
    test_copy("copy_signed_down", copy_signed_down_fn);
    test_copy("copy_to_end", copy_to_end_fn);
    test_copy("copy_words", copy_words_fn);
    test_copy("copy_halves_down", copy_halves_fn);
    test_copy("copy_gaps", copy_gaps_fn);
    test_copy("copy_pairs_rev", copy_pairs_reversed);
    test_copy("copy_pairs_down", copy_pairs_down);
    test_copy("copy_reverse", copy_reverse);
    test_copy("memcpy", libc_memcpy_fn);
    test_copy("memmove", libc_memmove_fn);
    test_fills();
    return 0;
}
