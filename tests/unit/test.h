/*
 * tests/unit/test.h - a header-only test framework and a wasm binary
 * builder for the unit tests.
 *
 * Tests register themselves and run in definition order:
 *
 *   TEST(empty_module_decodes) {
 *       ASSERT_EQ_INT(0, dec_module(...));
 *   }
 *   TEST_MAIN()
 *
 * Each test prints `ok - name` or `not ok - name: file:line: what` (a test
 * stops at its first failed assertion), and the run ends with
 * `N passed, N failed` alone on a line; the exit status is 1 if any test
 * failed. `test_x NAME...` runs only the named tests, `test_x --list` lists
 * them. Tests share no state, so any one of them can run alone.
 *
 * The builder writes modules byte by byte (struct wbuf) or section by
 * section (struct wmod), and records where function bodies land in the
 * file so tests can check error offsets exactly.
 */
#ifndef AWSM_TESTS_UNIT_TEST_H
#define AWSM_TESTS_UNIT_TEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TEST_ASAN: built with AddressSanitizer (gcc or clang). */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

/* TEST_TSAN: built with ThreadSanitizer (gcc or clang). */
#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif

/* ===== Registration and running ========================================= */

#define TEST_MAX 512

struct test_case {
    const char *name;
    void (*fn)(void);
};

static struct test_case test_cases[TEST_MAX];
static int test_ncases;
static const char *test_current;
static bool test_current_failed;

static inline void test_register(const char *name, void (*fn)(void))
{
    if (test_ncases == TEST_MAX) {
        fprintf(stderr, "test.h: more than %d tests; raise TEST_MAX\n", TEST_MAX);
        exit(2);
    }
    test_cases[test_ncases++] = (struct test_case){ name, fn };
}

/* A constructor registers each test, so a test cannot be forgotten in a
 * list; constructors of one file run in definition order. */
#define TEST(name)                                                        \
    static void test_##name(void);                                        \
    __attribute__((constructor)) static void test_register_##name(void)   \
    {                                                                     \
        test_register(#name, test_##name);                                \
    }                                                                     \
    static void test_##name(void)

static inline void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    test_current_failed = true;
    printf("not ok - %s: %s:%d: ", test_current, file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* Every assertion returns from the test on failure: one failure per test. */
#define ASSERT(cond)                                                      \
    do {                                                                  \
        if (!(cond)) {                                                    \
            test_fail(__FILE__, __LINE__, "ASSERT(%s)", #cond);           \
            return;                                                       \
        }                                                                 \
    } while (0)

#define ASSERT_EQ_INT(expected, actual)                                   \
    do {                                                                  \
        long long e_ = (long long)(expected), a_ = (long long)(actual);   \
        if (e_ != a_) {                                                   \
            test_fail(__FILE__, __LINE__, "%s: expected %lld (0x%llx), "  \
                      "got %lld (0x%llx)", #actual, e_,                   \
                      (unsigned long long)e_, a_, (unsigned long long)a_);\
            return;                                                       \
        }                                                                 \
    } while (0)

/* Unsigned 64-bit values (i64 constants, bit patterns). */
#define ASSERT_EQ_U64(expected, actual)                                   \
    do {                                                                  \
        unsigned long long e_ = (expected), a_ = (actual);                \
        if (e_ != a_) {                                                   \
            test_fail(__FILE__, __LINE__, "%s: expected 0x%llx, got "     \
                      "0x%llx", #actual, e_, a_);                         \
            return;                                                       \
        }                                                                 \
    } while (0)

/* actual < limit, both shown on failure. */
#define ASSERT_LT_INT(actual, limit)                                      \
    do {                                                                  \
        long long a_ = (long long)(actual), l_ = (long long)(limit);      \
        if (!(a_ < l_)) {                                                 \
            test_fail(__FILE__, __LINE__, "%s: expected below %lld, got " \
                      "%lld", #actual, l_, a_);                           \
            return;                                                       \
        }                                                                 \
    } while (0)

#define ASSERT_STR_EQ(expected, actual)                                   \
    do {                                                                  \
        const char *e_ = (expected), *a_ = (actual);                      \
        if (!a_ || strcmp(e_, a_) != 0) {                                 \
            test_fail(__FILE__, __LINE__, "%s: expected \"%s\", got "     \
                      "%s%s%s", #actual, e_, a_ ? "\"" : "",              \
                      a_ ? a_ : "NULL", a_ ? "\"" : "");                  \
            return;                                                       \
        }                                                                 \
    } while (0)

#define ASSERT_STR_CONTAINS(haystack, needle)                             \
    do {                                                                  \
        const char *h_ = (haystack), *n_ = (needle);                      \
        if (!h_ || !strstr(h_, n_)) {                                     \
            test_fail(__FILE__, __LINE__, "%s: \"%s\" does not contain "  \
                      "\"%s\"", #haystack, h_ ? h_ : "(null)", n_);       \
            return;                                                       \
        }                                                                 \
    } while (0)

static inline bool test_selected(int argc, char **argv, const char *name)
{
    if (argc < 2)
        return true;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

static inline int test_main(int argc, char **argv)
{
    int passed = 0, failed = 0, ran = 0;
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (int i = 0; i < test_ncases; i++)
            printf("%s\n", test_cases[i].name);
        return 0;
    }
    for (int i = 0; i < test_ncases; i++) {
        if (!test_selected(argc, argv, test_cases[i].name))
            continue;
        ran++;
        test_current = test_cases[i].name;
        test_current_failed = false;
        test_cases[i].fn();
        if (test_current_failed) {
            failed++;
        } else {
            passed++;
            printf("ok - %s\n", test_current);
        }
        fflush(stdout);
    }
    if (argc >= 2 && ran != argc - 1) {
        printf("not ok - some requested tests do not exist (see --list)\n");
        failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define TEST_MAIN()                                                       \
    int main(int argc, char **argv) { return test_main(argc, argv); }

/* ===== Byte buffer ====================================================== */

struct wbuf {
    uint8_t *p;
    size_t len, cap;
};

static inline void wb_bytes(struct wbuf *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) {
            fprintf(stderr, "test.h: out of memory\n");
            exit(2);
        }
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, src, n);
    b->len += n;
}

static inline void wb_byte(struct wbuf *b, uint8_t x) { wb_bytes(b, &x, 1); }

static inline void wb_free(struct wbuf *b)
{
    free(b->p);
    *b = (struct wbuf){ 0 };
}

/* Append literal bytes: EMIT(&b, 0x41, 0x01, 0x0b). */
#define EMIT(b, ...)                                                      \
    wb_bytes((b), (const uint8_t[]){ __VA_ARGS__ },                       \
             sizeof((const uint8_t[]){ __VA_ARGS__ }))

/* A byte array and its length as two arguments: f(CODE(0x41, 0, 0x0b)). */
#define CODE(...)                                                         \
    (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

static inline void wb_u32(struct wbuf *b, uint32_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        wb_byte(b, (uint8_t)(byte | (v ? 0x80 : 0)));
    } while (v);
}

/* An unsigned LEB128 padded to exactly `width` bytes (1..5). */
static inline void wb_u32_padded(struct wbuf *b, uint32_t v, int width)
{
    for (int i = 0; i < width; i++) {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        wb_byte(b, (uint8_t)(byte | (i < width - 1 ? 0x80 : 0)));
    }
}

static inline void wb_s64(struct wbuf *b, int64_t v)
{
    for (;;) {
        uint8_t byte = (uint8_t)(v & 0x7f);
        v >>= 7;   /* arithmetic shift on every compiler awsm supports */
        bool done = (v == 0 && !(byte & 0x40)) || (v == -1 && (byte & 0x40));
        wb_byte(b, (uint8_t)(byte | (done ? 0 : 0x80)));
        if (done)
            return;
    }
}

static inline void wb_s32(struct wbuf *b, int32_t v) { wb_s64(b, v); }

/* A name: u32 length and the bytes (not NUL-terminated). */
static inline void wb_name_n(struct wbuf *b, const void *s, size_t n)
{
    wb_u32(b, (uint32_t)n);
    wb_bytes(b, s, n);
}

static inline void wb_name(struct wbuf *b, const char *s)
{
    wb_name_n(b, s, strlen(s));
}

static inline size_t leb_u32_size(uint32_t v)
{
    size_t n = 1;
    while (v >>= 7)
        n++;
    return n;
}

/* A section: id, u32 size, payload. */
static inline void wb_section(struct wbuf *b, uint8_t id, const void *payload,
                              size_t n)
{
    wb_byte(b, id);
    wb_u32(b, (uint32_t)n);
    wb_bytes(b, payload, n);
}

/* "\0asm" and version 1. */
static inline void wb_header(struct wbuf *b)
{
    EMIT(b, 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
}

/* ===== Module builder =================================================== */

enum {
    SEC_CUSTOM, SEC_TYPE, SEC_IMPORT, SEC_FUNCTION, SEC_TABLE, SEC_MEMORY,
    SEC_GLOBAL, SEC_EXPORT, SEC_START, SEC_ELEMENT, SEC_CODE, SEC_DATA,
    SEC_DATA_COUNT, SEC_TAG, SEC_NUM      /* 13: exception handling's */
};

/* Opcodes and other encodings the tests use, named as in the text format. */
enum {
    W_UNREACHABLE = 0x00, W_NOP = 0x01, W_BLOCK = 0x02, W_LOOP = 0x03,
    W_IF = 0x04, W_ELSE = 0x05, W_TRY = 0x06, W_THROW = 0x08,
    W_CATCH_ALL = 0x19, W_END = 0x0b, W_BR = 0x0c, W_BR_IF = 0x0d,
    W_BR_TABLE = 0x0e, W_RETURN = 0x0f, W_CALL = 0x10,
    W_CALL_INDIRECT = 0x11, W_DROP = 0x1a, W_SELECT = 0x1b,
    W_SELECT_T = 0x1c, W_LOCAL_GET = 0x20, W_LOCAL_SET = 0x21,
    W_GLOBAL_GET = 0x23, W_GLOBAL_SET = 0x24, W_I32_LOAD = 0x28,
    W_I32_CONST = 0x41, W_I64_CONST = 0x42, W_F32_CONST = 0x43,
    W_F64_CONST = 0x44, W_I32_ADD = 0x6a, W_I64_ADD = 0x7c, W_I64_SUB = 0x7d,
    W_I64_MUL = 0x7e,
    W_I64_EXTEND_I32_S = 0xac, W_REF_NULL = 0xd0, W_REF_FUNC = 0xd2,
    W_PREFIX_FC = 0xfc, W_DATA_DROP = 0x09,   /* 0xfc 0x09 */
    W_EMPTY = 0x40,                           /* block type [] -> [] */
    W_FUNC_TYPE = 0x60,
};

#define WMOD_MAX_FUNCS 64

/*
 * Vector sections collect items (mod_item counts them); mod_build writes
 * each as count + items, in the binary order (data count before code),
 * custom sections last. mod_raw sections are written as they are.
 */
struct wmod {
    struct wbuf sec[SEC_NUM];
    uint32_t count[SEC_NUM];
    bool present[SEC_NUM], raw[SEC_NUM];
    uint32_t nfunc_imports, nfuncs;
    size_t code_rel[WMOD_MAX_FUNCS];     /* instructions, in sec[SEC_CODE] */
    /* Filled by mod_build: */
    size_t section_at[SEC_NUM];          /* file offset of the section id */
    size_t code_at[WMOD_MAX_FUNCS];      /* file offset of the first
                                            instruction of defined func i */
};

static inline struct wbuf *mod_item(struct wmod *w, int id)
{
    w->present[id] = true;
    w->count[id]++;
    return &w->sec[id];
}

static inline struct wbuf *mod_raw(struct wmod *w, int id)
{
    w->present[id] = true;
    w->raw[id] = true;
    return &w->sec[id];
}

/* Value types by letter, as in opcodes.def: i l f d v, F funcref,
 * X externref. */
static inline uint8_t valtype_of(char c)
{
    switch (c) {
    case 'i': return 0x7f;
    case 'l': return 0x7e;
    case 'f': return 0x7d;
    case 'd': return 0x7c;
    case 'v': return 0x7b;
    case 'F': return 0x70;
    case 'X': return 0x6f;
    }
    fprintf(stderr, "test.h: bad value type letter '%c'\n", c);
    exit(2);
}

static inline void wb_valtypes(struct wbuf *b, const char *types)
{
    wb_u32(b, (uint32_t)strlen(types));
    for (const char *p = types; *p; p++)
        wb_byte(b, valtype_of(*p));
}

/* A function type; returns its type index. mod_type(w, "ii", "l"). */
static inline uint32_t mod_type(struct wmod *w, const char *params,
                                const char *results)
{
    struct wbuf *b = mod_item(w, SEC_TYPE);
    wb_byte(b, W_FUNC_TYPE);
    wb_valtypes(b, params);
    wb_valtypes(b, results);
    return w->count[SEC_TYPE] - 1;
}

/* Imports must come before definitions of the same kind: they take the
 * first indices. Each returns the entity's index. */
static inline uint32_t mod_import_func(struct wmod *w, const char *mod,
                                       const char *name, uint32_t type)
{
    struct wbuf *b = mod_item(w, SEC_IMPORT);
    wb_name(b, mod);
    wb_name(b, name);
    wb_byte(b, 0x00);
    wb_u32(b, type);
    return w->nfunc_imports++;
}

static inline void mod_import_global(struct wmod *w, const char *mod,
                                     const char *name, char type, bool mut)
{
    struct wbuf *b = mod_item(w, SEC_IMPORT);
    wb_name(b, mod);
    wb_name(b, name);
    EMIT(b, 0x03, valtype_of(type), mut);
}

static inline void mod_import_memory(struct wmod *w, const char *mod,
                                     const char *name, uint32_t min)
{
    struct wbuf *b = mod_item(w, SEC_IMPORT);
    wb_name(b, mod);
    wb_name(b, name);
    EMIT(b, 0x02, 0x00);
    wb_u32(b, min);
}

/* Limits: max < 0 means none. */
static inline void wb_limits(struct wbuf *b, uint32_t min, int64_t max)
{
    wb_byte(b, max < 0 ? 0x00 : 0x01);
    wb_u32(b, min);
    if (max >= 0)
        wb_u32(b, (uint32_t)max);
}

static inline void mod_memory(struct wmod *w, uint32_t min, int64_t max)
{
    wb_limits(mod_item(w, SEC_MEMORY), min, max);
}

static inline void mod_table(struct wmod *w, char reftype, uint32_t min,
                             int64_t max)
{
    struct wbuf *b = mod_item(w, SEC_TABLE);
    wb_byte(b, valtype_of(reftype));
    wb_limits(b, min, max);
}

/* A global with its init expression (which must end with W_END). */
static inline void mod_global(struct wmod *w, char type, bool mut,
                              const uint8_t *init, size_t n)
{
    struct wbuf *b = mod_item(w, SEC_GLOBAL);
    EMIT(b, valtype_of(type), mut);
    wb_bytes(b, init, n);
}

static inline void mod_export(struct wmod *w, const char *name, uint8_t kind,
                              uint32_t index)
{
    struct wbuf *b = mod_item(w, SEC_EXPORT);
    wb_name(b, name);
    wb_byte(b, kind);
    wb_u32(b, index);
}

/* A tag (exception handling) of a function type with no results. */
static inline uint32_t mod_tag(struct wmod *w, uint32_t type)
{
    struct wbuf *b = mod_item(w, SEC_TAG);
    EMIT(b, 0x00);
    wb_u32(b, type);
    return w->count[SEC_TAG] - 1;
}

static inline void mod_start(struct wmod *w, uint32_t func)
{
    wb_u32(mod_raw(w, SEC_START), func);
}

static inline void mod_data_count(struct wmod *w, uint32_t n)
{
    wb_u32(mod_raw(w, SEC_DATA_COUNT), n);
}

/* A defined function given as its raw body after the size: local
 * declarations and instructions. code_at[i] then points at the locals. */
static inline uint32_t mod_func_raw(struct wmod *w, uint32_t type,
                                    const uint8_t *body, size_t n)
{
    wb_u32(mod_item(w, SEC_FUNCTION), type);
    struct wbuf *code = mod_item(w, SEC_CODE);
    wb_u32(code, (uint32_t)n);
    if (w->nfuncs < WMOD_MAX_FUNCS)
        w->code_rel[w->nfuncs] = code->len;
    wb_bytes(code, body, n);
    return w->nfunc_imports + w->nfuncs++;
}

/*
 * A defined function: its type, its locals by letter ("iil": two i32 and
 * an i64, grouped by runs) and its instructions (ending with W_END).
 * Returns its index in the function index space (imports first).
 */
static inline uint32_t mod_func(struct wmod *w, uint32_t type,
                                const char *locals, const uint8_t *body,
                                size_t n)
{
    struct wbuf decl = { 0 };
    uint32_t ngroups = 0;
    for (const char *p = locals; *p;) {
        const char *q = p;
        while (*q == *p)
            q++;
        wb_u32(&decl, (uint32_t)(q - p));
        wb_byte(&decl, valtype_of(*p));
        ngroups++;
        p = q;
    }
    wb_u32(mod_item(w, SEC_FUNCTION), type);
    struct wbuf *code = mod_item(w, SEC_CODE);
    size_t size = leb_u32_size(ngroups) + decl.len + n;
    wb_u32(code, (uint32_t)size);
    wb_u32(code, ngroups);
    wb_bytes(code, decl.p, decl.len);
    if (w->nfuncs < WMOD_MAX_FUNCS)
        w->code_rel[w->nfuncs] = code->len;
    wb_bytes(code, body, n);
    wb_free(&decl);
    return w->nfunc_imports + w->nfuncs++;
}

static inline void mod_put_section(struct wmod *w, struct wbuf *out, int id)
{
    if (!w->present[id])
        return;
    struct wbuf payload = { 0 };
    if (!w->raw[id])
        wb_u32(&payload, w->count[id]);
    size_t items_at = payload.len;
    wb_bytes(&payload, w->sec[id].p, w->sec[id].len);
    w->section_at[id] = out->len;
    size_t payload_at = out->len + 1 + leb_u32_size((uint32_t)payload.len);
    wb_section(out, (uint8_t)id, payload.p, payload.len);
    if (id == SEC_CODE)
        for (uint32_t i = 0; i < w->nfuncs && i < WMOD_MAX_FUNCS; i++)
            w->code_at[i] = payload_at + items_at + w->code_rel[i];
    wb_free(&payload);
}

/* A custom section (written after all others). */
static inline void mod_custom(struct wmod *w, const char *name,
                              const uint8_t *payload, size_t n)
{
    struct wbuf body = { 0 };
    wb_name(&body, name);
    wb_bytes(&body, payload, n);
    wb_section(mod_raw(w, SEC_CUSTOM), SEC_CUSTOM, body.p, body.len);
    wb_free(&body);
}

/* Assemble the module into *out (header included) and release the parts;
 * w keeps the recorded offsets. */
static inline void mod_build(struct wmod *w, struct wbuf *out)
{
    static const int order[] = {
        SEC_TYPE, SEC_IMPORT, SEC_FUNCTION, SEC_TABLE, SEC_MEMORY,
        SEC_TAG, SEC_GLOBAL, SEC_EXPORT, SEC_START, SEC_ELEMENT, SEC_DATA_COUNT,
        SEC_CODE, SEC_DATA,
    };
    *out = (struct wbuf){ 0 };
    wb_header(out);
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        mod_put_section(w, out, order[i]);
    if (w->present[SEC_CUSTOM]) {
        w->section_at[SEC_CUSTOM] = out->len;
        wb_bytes(out, w->sec[SEC_CUSTOM].p, w->sec[SEC_CUSTOM].len);
    }
    for (int id = 0; id < SEC_NUM; id++)
        wb_free(&w->sec[id]);
}

/* (func (export "add") (param i32 i32) (result i32) a + b), built into *b. */
static inline void mod_adder(struct wbuf *b)
{
    struct wmod w = { 0 };
    uint32_t t = mod_type(&w, "ii", "i");
    uint32_t f = mod_func(&w, t, "", CODE(W_LOCAL_GET, 0, W_LOCAL_GET, 1,
                                          W_I32_ADD, W_END));
    mod_export(&w, "add", 0x00, f);        /* kind 0: a function */
    mod_build(&w, b);
}

#endif
