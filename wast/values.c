/*
 * wast/values.c - wast2json's notation for values: {"type": T, "value": S}
 * where S is the decimal bit pattern of an i32/i64/f32/f64 (unsigned), or
 * "nan:canonical" / "nan:arithmetic" in expectations, "null" or a number
 * for references. A reference without a value in an expectation means any
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

enum wast_value_rc wast_value_parse(json_t *j, wm_valtype *type, awsm_value *v)
{
    memset(v, 0, sizeof *v);
    if (type_parse(json_string_value(json_object_get(j, "type")), type) != 0)
        return VALUE_BAD;
    if (*type == WM_V128)
        return VALUE_V128;
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
        return VALUE_V128;
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

bool wast_expect_match(const struct wast_expect *e, wm_valtype type,
                       awsm_value v)
{
    if (e->type != type)
        return false;
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

void wast_value_str(wm_valtype type, awsm_value v, char *buf, size_t size)
{
    switch (type) {
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
        wast_value_str(e->type, e->v, buf, size);
        break;
    }
}

bool wast_values_have_v128(json_t *list)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *t = json_string_value(json_object_get(v, "type"));
        if (t != NULL && strcmp(t, "v128") == 0)
            return true;
    }
    return false;
}
