/*
 * cache/host.c - the host id in every cache key: what the compiler tunes
 * generated code for, found without LLVM (see cache.h).
 *
 * The compiler builds code for LLVMGetHostCPUName() with
 * LLVMGetHostCPUFeatures() (compiler/cg_emit.c). On x86, LLVM 19 derives
 * both from CPUID alone: the vendor, family, model and stepping, and the
 * feature bits of leaves 1, 7 (subleaves 0 and 1), 0xd.1, 0x14, 0x19,
 * 0x80000001 and 0x80000008, masked by the state the OS saves (XCR0). The id
 * hashes every one of those words, plus a few leaves newer LLVMs read, so
 * equal ids imply equal tuning, and a host that differs in any word gets
 * other keys: a different CPU never reuses an object. Words that differ
 * between the cores of one machine (the APIC id) are left out, or each
 * core would have its own cache entries.
 *
 * Elsewhere LLVM reads the CPU from /proc/cpuinfo, so the id hashes that
 * (without the lines that change while it runs: clock speed, BogoMIPS).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"

#define HOST_MAX_WORDS 64

struct host_words {
    uint32_t w[HOST_MAX_WORDS];
    unsigned n;
};

static void put_word(struct host_words *h, uint32_t v)
{
    if (h->n < HOST_MAX_WORDS)
        h->w[h->n++] = v;
}

/* The first 8 bytes of SHA-256 over `p` in hex (17 bytes with the NUL). */
static int short_hash(const void *p, size_t n, char hex[17])
{
    uint8_t h[32];
    if (rt_sha256(p, n, h) != 0)
        return -1;
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    return 0;
}

#if defined(__x86_64__) || defined(__i386__)

#include <cpuid.h>

#define ALL 0xffffffffu

/* The CPUID words LLVM's host detection reads, and the bits kept of
 * each register (eax, ebx, ecx, edx). */
static const struct cpuid_word {
    uint32_t leaf, subleaf;
    uint32_t keep[4];
} cpuid_words[] = {
    { 0x0,        0, { ALL, ALL, ALL, ALL } },  /* max leaf, vendor */
    { 0x1,        0, { ALL, 0xffff, ALL, ALL } }, /* signature, features;
                                                  not ebx's APIC id */
    { 0x7,        0, { ALL, ALL, ALL, ALL } },  /* extended features */
    { 0x7,        1, { ALL, ALL, ALL, ALL } },
    { 0xd,        1, { ALL, 0, 0, 0 } },        /* xsaveopt, xsavec, xsaves */
    { 0x14,       0, { 0, ALL, 0, 0 } },        /* ptwrite */
    { 0x19,       0, { 0, ALL, 0, 0 } },        /* widekl */
    { 0x1e,       1, { ALL, 0, 0, 0 } },        /* AMX (LLVM 20) */
    { 0x24,       0, { 0, ALL, 0, 0 } },        /* AVX10 */
    { 0x80000000, 0, { ALL, 0, 0, 0 } },        /* max extended leaf */
    { 0x80000001, 0, { 0, 0, ALL, ALL } },      /* lzcnt, sse4a, fma4... */
    { 0x80000008, 0, { 0, ALL, 0, 0 } },        /* clzero, wbnoinvd, rdpru */
};

static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

/* "AuthenticAMD family 26 model 2 stepping 1", as /proc/cpuinfo has it. */
static void describe(const uint32_t vendor[3], uint32_t sig, char *out, size_t n)
{
    char name[13];
    memcpy(name, vendor, 12);           /* ebx, edx, ecx: "GenuineIntel" */
    name[12] = '\0';
    unsigned family = (sig >> 8) & 0xf, model = (sig >> 4) & 0xf;
    if (family == 0xf)
        family += (sig >> 20) & 0xff;
    if (family == 0x6 || family >= 0xf)
        model |= ((sig >> 16) & 0xf) << 4;
    snprintf(out, n, "%s family %u model %u stepping %u", name, family, model,
             sig & 0xf);
}

static int host_describe(char *out, size_t n)
{
    struct host_words h = { .n = 0 };
    /* Leaves 0 and 0x80000000 give the maximum leaves (and come first in
     * their ranges): CPUID traps to the hypervisor in a VM, microseconds
     * a call, so none is made twice. */
    uint32_t max = 0, max_ext = 0;
    uint32_t vendor[3] = { 0, 0, 0 }, sig = 0, ecx1 = 0;
    for (size_t i = 0; i < sizeof cpuid_words / sizeof cpuid_words[0]; i++) {
        const struct cpuid_word *c = &cpuid_words[i];
        uint32_t r[4] = { 0, 0, 0, 0 };
        if (c->leaf == 0x0 || c->leaf == 0x80000000u ||
            c->leaf <= (c->leaf >= 0x80000000u ? max_ext : max))
            __cpuid_count(c->leaf, c->subleaf, r[0], r[1], r[2], r[3]);
        if (c->leaf == 0x0)
            max = r[0];
        else if (c->leaf == 0x80000000u)
            max_ext = r[0];
        for (int k = 0; k < 4; k++)
            put_word(&h, r[k] & c->keep[k]);
        if (c->leaf == 0x0) {
            vendor[0] = r[1];
            vendor[1] = r[3];
            vendor[2] = r[2];
        } else if (c->leaf == 0x1) {
            sig = r[0];
            ecx1 = r[2];
        }
    }
    uint64_t xcr0 = (ecx1 >> 27) & 1 ? read_xcr0() : 0;     /* OSXSAVE */
    put_word(&h, (uint32_t)xcr0);
    put_word(&h, (uint32_t)(xcr0 >> 32));
    char what[128], hex[17];
    describe(vendor, sig, what, sizeof what);
    if (short_hash(h.w, h.n * sizeof h.w[0], hex) != 0)
        return -1;
    snprintf(out, n, "%s %s cpuid %s",
             sizeof(void *) == 8 ? "x86_64" : "i386", what, hex);
    return 0;
}

#else   /* not x86: what LLVM reads, /proc/cpuinfo */

#include <sys/utsname.h>

/* Lines of /proc/cpuinfo that change while the machine runs. */
static bool volatile_line(const char *line)
{
    static const char *const prefixes[] = { "cpu MHz", "BogoMIPS", "bogomips" };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(line, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static int host_describe(char *out, size_t n)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return -1;
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap), line[4096];
    while (text && fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        if (volatile_line(line))
            continue;
        if (len + l > cap) {
            char *bigger = realloc(text, cap *= 2);
            if (!bigger)
                free(text);
            text = bigger;
            if (!text)
                break;
        }
        memcpy(text + len, line, l);
        len += l;
    }
    fclose(f);
    char hex[17];
    struct utsname u;
    int rc = text && len > 0 && uname(&u) == 0 ? short_hash(text, len, hex) : -1;
    free(text);
    if (rc == 0)
        snprintf(out, n, "%s cpuinfo %s", u.machine, hex);
    return rc;
}

#endif

static char host_id[256];
static bool host_known;

static void host_id_once(void)
{
    host_known = host_describe(host_id, sizeof host_id) == 0;
}

const char *cache_host_id(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, host_id_once);
    return host_known ? host_id : NULL;
}
