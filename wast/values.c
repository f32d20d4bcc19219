/*
 * wast/values.c - wast2json's notation for values: {"type": T, "value": S}
 * where S is the decimal bit pattern of an i32/i64/f32/f64 (unsigned), or
 * "nan:canonical" / "nan:arithmetic" in expectations, "null" or a number
 * for references. A v128 names its lane type and lists its lanes the same
 * way; each lane of an expectation may be a NaN pattern of its own. A reference without a value in an expectation means any
 * non-null reference of that type.
 *
 * Host references: (ref.extern N) is the pointer N + 1, so that
 * (ref.extern 0) is not null.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wast/internal.h"

static const struct {
    const char *name;
    wm_valtype type;
} type_names[] = {
    {"i32", WM_I32}, {"i64", WM_I64}, {"f32", WM_F32}, {"f64", WM_F64},
    {"v128", WM_V128}, {"funcref", WM_FUNCREF}, {"externref", WM_EXTERNREF},
};

static int type_parse(const char *s, wm_valtype *out)
{
    for (size_t i = 0; s != NULL && i < sizeof type_names / sizeof type_names[0];
         i++) {
        if (strcmp(s, type_names[i].name) == 0) {
            *out = type_names[i].type;
            return 0;
        }
    }
    return -1;
}

/* A decimal number that fits in `bits` bits (unsigned, or negative). */
static int number_parse(const char *s, unsigned bits, uint64_t *out)
{
    char *end;
    errno = 0;
    uint64_t v = s[0] == '-' ? (uint64_t)strtoll(s, &end, 10)
                             : strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    if (bits < 64 && s[0] != '-' && v >> bits != 0)
        return -1;
    *out = bits < 64 ? v & ((1ull << bits) - 1) : v;
    return 0;
}

static enum wast_value_rc ref_parse(const char *s, wm_valtype type,
                                    awsm_value *v)
{
    uint64_t n;
    if (strcmp(s, "null") == 0) {
        v->ref = NULL;
        return VALUE_OK;
    }
    if (type != WM_EXTERNREF || number_parse(s, 63, &n) != 0)
        return VALUE_BAD;
    v->ref = (void *)(uintptr_t)(n + 1);
    return VALUE_OK;
}

static enum wast_value_rc scalar_parse(const char *s, wm_valtype type,
                                       awsm_value *v)
{
    uint64_t n;
    switch (type) {
    case WM_I32:
    case WM_F32:
        if (number_parse(s, 32, &n) != 0)
            return VALUE_BAD;
        v->i32 = (uint32_t)n;
        return VALUE_OK;
    case WM_I64:
    case WM_F64:
        if (number_parse(s, 64, &n) != 0)
            return VALUE_BAD;
        v->i64 = n;
        return VALUE_OK;
    case WM_FUNCREF:
    case WM_EXTERNREF:
        return ref_parse(s, type, v);
    }
    return VALUE_BAD;
}

/* ===== v128 ============================================================= */

/* "i8".."f64": the lane width and kind of a v128 in the JSON. */
static int lane_type_parse(const char *s, uint8_t *bits, bool *is_float)
{
    static const struct { const char *name; uint8_t bits; bool fl; } lanes[] = {
        {"i8", 8, false}, {"i16", 16, false}, {"i32", 32, false},
        {"i64", 64, false}, {"f32", 32, true}, {"f64", 64, true},
    };
    for (size_t i = 0; s != NULL && i < sizeof lanes / sizeof lanes[0]; i++) {
        if (strcmp(s, lanes[i].name) == 0) {
            *bits = lanes[i].bits;
            *is_float = lanes[i].fl;
            return 0;
        }
    }
    return -1;
}

static uint64_t lane_get(const awsm_value *v, unsigned bits, unsigned i)
{
    uint64_t x = 0;
    memcpy(&x, v->v128 + i * bits / 8, bits / 8);       /* little-endian */
    return x;
}

static void lane_set(awsm_value *v, unsigned bits, unsigned i, uint64_t x)
{
    memcpy(v->v128 + i * bits / 8, &x, bits / 8);
}

/* The lanes of a v128; with e, expectations (nan:canonical...) too. */
static enum wast_value_rc v128_parse(json_t *j, awsm_value *v,
                                     struct wast_expect *e)
{
    uint8_t bits;
    bool is_float;
    json_t *lanes = json_object_get(j, "value");
    if (lane_type_parse(json_string_value(json_object_get(j, "lane_type")),
                        &bits, &is_float) != 0 ||
        json_array_size(lanes) != 128u / bits)
        return VALUE_BAD;
    for (unsigned i = 0; i < 128u / bits; i++) {
        const char *s = json_string_value(json_array_get(lanes, i));
        uint64_t n = 0;
        enum wast_match m = MATCH_EXACT;
        if (s != NULL && e != NULL && is_float && strcmp(s, "nan:canonical") == 0)
            m = MATCH_NAN_CANONICAL;
        else if (s != NULL && e != NULL && is_float && strcmp(s, "nan:arithmetic") == 0)
            m = MATCH_NAN_ARITHMETIC;
        else if (s == NULL || number_parse(s, bits, &n) != 0)
            return VALUE_BAD;
        lane_set(v, bits, i, n);
        if (e != NULL)
            e->lane_match[i] = m;
    }
    if (e != NULL) {
        e->lane_bits = bits;
        e->nlanes = (uint8_t)(128u / bits);
        e->lane_float = is_float;
    }
    return VALUE_OK;
}

enum wast_value_rc wast_value_parse(json_t *j, wm_valtype *type, awsm_value *v)
{
    memset(v, 0, sizeof *v);
    if (type_parse(json_string_value(json_object_get(j, "type")), type) != 0)
        return VALUE_BAD;
    if (*type == WM_V128)
        return v128_parse(j, v, NULL);
    const char *s = json_string_value(json_object_get(j, "value"));
    return s != NULL ? scalar_parse(s, *type, v) : VALUE_BAD;
}

enum wast_value_rc wast_expect_parse(json_t *j, struct wast_expect *e)
{
    memset(e, 0, sizeof *e);
    e->match = MATCH_EXACT;
    if (type_parse(json_string_value(json_object_get(j, "type")), &e->type) != 0)
        return VALUE_BAD;
    if (e->type == WM_V128)
        return v128_parse(j, &e->v, e);
    const char *s = json_string_value(json_object_get(j, "value"));
    if (s == NULL && wm_valtype_is_ref(e->type)) {
        e->match = MATCH_NON_NULL;
        return VALUE_OK;
    }
    if (s == NULL)
        return VALUE_BAD;
    bool is_float = e->type == WM_F32 || e->type == WM_F64;
    if (is_float && strcmp(s, "nan:canonical") == 0) {
        e->match = MATCH_NAN_CANONICAL;
        return VALUE_OK;
    }
    if (is_float && strcmp(s, "nan:arithmetic") == 0) {
        e->match = MATCH_NAN_ARITHMETIC;
        return VALUE_OK;
    }
    return scalar_parse(s, e->type, &e->v);
}

/* ===== Matching ========================================================= */

/* Spec 4.3.3: a canonical NaN has only the quiet bit of the payload set;
 * an arithmetic NaN has at least the quiet bit set. Either sign. */
static bool nan_matches(enum wast_match how, wm_valtype type, awsm_value v)
{
    uint64_t bits = type == WM_F32 ? v.i32 : v.i64;
    uint64_t exp_quiet = type == WM_F32 ? 0x7fc00000u : 0x7ff8000000000000u;
    uint64_t abs_mask = type == WM_F32 ? 0x7fffffffu : 0x7fffffffffffffffu;
    if (how == MATCH_NAN_CANONICAL)
        return (bits & abs_mask) == exp_quiet;
    return (bits & exp_quiet) == exp_quiet;
}

static bool v128_matches(const struct wast_expect *e, const awsm_value *v)
{
    wm_valtype lt = e->lane_bits == 32 ? WM_F32 : WM_F64;
    for (unsigned i = 0; i < e->nlanes; i++) {
        uint64_t got = lane_get(v, e->lane_bits, i);
        awsm_value lane = { .i64 = got };
        if (e->lane_match[i] != MATCH_EXACT ? !nan_matches(e->lane_match[i], lt, lane)
                                            : got != lane_get(&e->v, e->lane_bits, i))
            return false;
    }
    return true;
}

bool wast_expect_match(const struct wast_expect *e, wm_valtype type,
                       awsm_value v)
{
    if (e->type != type)
        return false;
    if (type == WM_V128)
        return v128_matches(e, &v);
    switch (e->match) {
    case MATCH_NAN_CANONICAL:
    case MATCH_NAN_ARITHMETIC:
        return nan_matches(e->match, type, v);
    case MATCH_NON_NULL:
        return v.ref != NULL;
    case MATCH_EXACT:
        break;
    }
    switch (type) {
    case WM_I32:
    case WM_F32:
        return v.i32 == e->v.i32;
    case WM_I64:
    case WM_F64:
        return v.i64 == e->v.i64;
    default:
        return v.ref == e->v.ref;
    }
}

/* ===== Text ============================================================= */

static void ref_str(wm_valtype type, const void *ref, char *buf, size_t size)
{
    const char *name = wm_valtype_name(type);
    if (ref == NULL)
        snprintf(buf, size, "%s null", name);
    else if (type == WM_EXTERNREF)
        snprintf(buf, size, "%s %" PRIuPTR, name, (uintptr_t)ref - 1);
    else
        snprintf(buf, size, "%s %p", name, ref);
}

/* "i32x4 0x00000001 0x...", lane by lane in hex (exact bits). */
static void v128_str(const struct wast_expect *e, const awsm_value *v,
                     unsigned bits, bool is_float, char *buf, size_t size)
{
    static const char *const shapes[2][4] = {
        { "i8x16", "i16x8", "i32x4", "i64x2" }, { "?", "?", "f32x4", "f64x2" } };
    unsigned k = bits == 8 ? 0 : bits == 16 ? 1 : bits == 32 ? 2 : 3;
    size_t at = (size_t)snprintf(buf, size, "v128 %s", shapes[is_float][k]);
    for (unsigned i = 0; i < 128 / bits && at < size; i++) {
        enum wast_match m = e != NULL ? e->lane_match[i] : MATCH_EXACT;
        if (m != MATCH_EXACT)
            at += (size_t)snprintf(buf + at, size - at, " %s", m == MATCH_NAN_CANONICAL
                                   ? "nan:canonical" : "nan:arithmetic");
        else
            at += (size_t)snprintf(buf + at, size - at, " 0x%0*" PRIx64, (int)bits / 4,
                                   lane_get(v, bits, i));
    }
}

void wast_value_str_as(const struct wast_expect *e, wm_valtype type,
                       awsm_value v, char *buf, size_t size)
{
    if (type == WM_V128 && e->type == WM_V128)
        v128_str(NULL, &v, e->lane_bits, e->lane_float, buf, size);
    else
        wast_value_str(type, v, buf, size);
}

void wast_value_str(wm_valtype type, awsm_value v, char *buf, size_t size)
{
    switch (type) {
    case WM_V128:
        v128_str(NULL, &v, 32, false, buf, size);
        break;
    case WM_I32:
        snprintf(buf, size, "i32 %" PRIu32 " (0x%08" PRIx32 ")", v.i32, v.i32);
        break;
    case WM_I64:
        snprintf(buf, size, "i64 %" PRIu64 " (0x%016" PRIx64 ")", v.i64, v.i64);
        break;
    case WM_F32:
        snprintf(buf, size, "f32 0x%08" PRIx32 " (%.9g)", v.i32, (double)v.f32);
        break;
    case WM_F64:
        snprintf(buf, size, "f64 0x%016" PRIx64 " (%.17g)", v.i64, v.f64);
        break;
    case WM_FUNCREF:
    case WM_EXTERNREF:
        ref_str(type, v.ref, buf, size);
        break;
    default:
        snprintf(buf, size, "%s ?", wm_valtype_name(type));
    }
}

void wast_expect_str(const struct wast_expect *e, char *buf, size_t size)
{
    const char *name = wm_valtype_name(e->type);
    switch (e->match) {
    case MATCH_NAN_CANONICAL:
        snprintf(buf, size, "%s nan:canonical", name);
        break;
    case MATCH_NAN_ARITHMETIC:
        snprintf(buf, size, "%s nan:arithmetic", name);
        break;
    case MATCH_NON_NULL:
        snprintf(buf, size, "%s non-null", name);
        break;
    case MATCH_EXACT:
        if (e->type == WM_V128)
            v128_str(e, &e->v, e->lane_bits, e->lane_float, buf, size);
        else
            wast_value_str(e->type, e->v, buf, size);
        break;
    }
}
