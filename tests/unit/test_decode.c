/*
 * tests/unit/test_decode.c - unit tests of the binary decoder (dec_module):
 * one case per test, each named for what it proves. Offsets are checked
 * exactly wherever the binary format pins them down.
 */
#include <sys/resource.h>

#include "wasm/module.h"
#include "test.h"

#define HEADER 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00

/* Decode a built module; *size (if given) gets its length. */
static int decode_mod(struct wmod *w, struct wm_module **m,
                      struct wm_error *err, size_t *size)
{
    struct wbuf b;
    mod_build(w, &b);
    if (size)
        *size = b.len;
    int rc = dec_module(b.p, b.len, m, err);
    wb_free(&b);
    return rc;
}

/* Does err.msg start with "offset 0x<err.offset>: " and, for func >= 0,
 * "func <func>: "? */
static bool msg_prefix_ok(const struct wm_error *err, long long func)
{
    char want[64];
    if (func >= 0)
        snprintf(want, sizeof want, "offset 0x%zx: func %lld: ", err->offset,
                 func);
    else
        snprintf(want, sizeof want, "offset 0x%zx: ", err->offset);
    return strncmp(err->msg, want, strlen(want)) == 0 &&
           (func >= 0 || strstr(err->msg, ": func ") == NULL);
}

/* A decode failure: no module, WM_ERR_MALFORMED at `off`, the message
 * naming the offset (and the function for func >= 0) and saying `text`. */
#define ASSERT_MALFORMED(rc_, m_, err_, off_, func_, text_)               \
    do {                                                                  \
        ASSERT_EQ_INT(-1, (rc_));                                         \
        ASSERT((m_) == NULL);                                             \
        ASSERT_EQ_INT(WM_ERR_MALFORMED, (err_).kind);                     \
        ASSERT_EQ_INT((off_), (err_).offset);                             \
        ASSERT_EQ_INT((func_), (err_).func);                              \
        ASSERT(msg_prefix_ok(&(err_), (func_)));                          \
        ASSERT_STR_CONTAINS((err_).msg, (text_));                         \
    } while (0)

/* ===== Header =========================================================== */

TEST(empty_module_decodes_with_zero_counts)
{
    static const uint8_t bin[] = { HEADER };
    struct wm_module *m;
    struct wm_error err = { .kind = WM_ERR_INVALID };
    ASSERT_EQ_INT(0, dec_module(bin, sizeof bin, &m, &err));
    ASSERT(m != NULL);
    ASSERT_EQ_INT(WM_ERR_NONE, err.kind);
    ASSERT_EQ_INT(0, m->ntypes);
    ASSERT_EQ_INT(0, m->nimports);
    ASSERT_EQ_INT(0, m->nfuncs);
    ASSERT_EQ_INT(0, m->ntables);
    ASSERT_EQ_INT(0, m->nmemories);
    ASSERT_EQ_INT(0, m->nglobals);
    ASSERT_EQ_INT(0, m->nexports);
    ASSERT_EQ_INT(0, m->nelems);
    ASSERT_EQ_INT(0, m->ndatas);
    ASSERT_EQ_INT(0, m->ncustoms);
    ASSERT(!m->has_start);
    ASSERT(!m->has_data_count);
    ASSERT_EQ_INT(0, wm_func_count(m));
    ASSERT_EQ_INT(sizeof bin, m->size);
    wm_module_free(m);
}

TEST(bad_magic_is_malformed_at_offset_0)
{
    static const uint8_t bin[] = { 0x00, 0x61, 0x73, 0x6e, 0x01, 0x00, 0x00, 0x00 };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 0, -1, "magic header not detected");
}

TEST(bad_version_is_malformed_at_offset_4)
{
    static const uint8_t bin[] = { 0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00 };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 4, -1, "unknown binary version 0x2");
}

TEST(empty_input_is_unexpected_end_at_offset_0)
{
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(NULL, 0, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 0, -1, "unexpected end");
}

TEST(truncated_magic_is_unexpected_end_where_it_stops)
{
    static const uint8_t bin[] = { 0x00, 0x61, 0x73 };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 3, -1, "unexpected end");
}

TEST(short_input_with_wrong_magic_is_not_a_wasm_binary)
{
    static const uint8_t bin[] = { 0x01 };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 0, -1, "magic header not detected");
}

TEST(truncated_version_is_unexpected_end_at_offset_4)
{
    static const uint8_t bin[] = { 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00 };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 4, -1, "unexpected end");
}

/* ===== LEB128 (spec 5.2.2) ============================================== */

/* A memory section whose only limits have `min` encoded as given: the
 * LEB128 starts at offset 12. */
static int decode_memory_min(const uint8_t *leb, size_t n,
                             struct wm_module **m, struct wm_error *err)
{
    struct wbuf b = { 0 }, sec = { 0 };
    wb_header(&b);
    EMIT(&sec, 0x01, 0x00);             /* 1 memory, flags: min only */
    wb_bytes(&sec, leb, n);
    wb_section(&b, SEC_MEMORY, sec.p, sec.len);
    int rc = dec_module(b.p, b.len, m, err);
    wb_free(&b);
    wb_free(&sec);
    return rc;
}

TEST(u32_leb_of_five_bytes_reaches_u32_max)
{
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_memory_min(CODE(0xff, 0xff, 0xff, 0xff, 0x0f), &m, &err));
    ASSERT_EQ_INT(1, m->nmemories);
    ASSERT_EQ_U64(0xffffffffu, m->memories[0].limits.min);
    wm_module_free(m);
}

TEST(u32_leb_padded_to_five_bytes_is_accepted)
{
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_memory_min(CODE(0x81, 0x80, 0x80, 0x80, 0x00), &m, &err));
    ASSERT_EQ_U64(1, m->memories[0].limits.min);
    wm_module_free(m);
}

TEST(u32_leb_of_six_bytes_is_too_long)
{
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_memory_min(CODE(0x80, 0x80, 0x80, 0x80, 0x80, 0x00), &m, &err);
    ASSERT_MALFORMED(rc, m, err, 12, -1, "integer representation too long");
}

TEST(u32_leb_with_bit_32_set_is_too_large)
{
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_memory_min(CODE(0x80, 0x80, 0x80, 0x80, 0x10), &m, &err);
    ASSERT_MALFORMED(rc, m, err, 12, -1, "integer too large");
}

TEST(u32_leb_is_not_read_past_its_section)
{
    /* The memory section ends after a continuation byte; the 0x00 that
     * follows belongs to the next section and must not complete it. */
    static const uint8_t bin[] = {
        HEADER,
        0x05, 0x03, 0x01, 0x00, 0x80,       /* memory section, min = 0x80... */
        0x00, 0x01, 0x00,                   /* custom section, empty name */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 13, -1, "unexpected end");
}

/* A global of `type` initialised by `expr` (which ends with W_END). */
static int decode_global(char type, const uint8_t *expr, size_t n,
                         struct wm_module **m, struct wm_error *err)
{
    struct wmod w = { 0 };
    mod_global(&w, type, false, expr, n);
    return decode_mod(&w, m, err, NULL);
}

TEST(s32_leb_one_byte_0x3f_is_63)
{
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_global('i', CODE(W_I32_CONST, 0x3f, W_END), &m, &err));
    ASSERT_EQ_INT(WM_CONST_I32, m->globals[0].init.op);
    ASSERT_EQ_U64(63, m->globals[0].init.u.i32);
    wm_module_free(m);
}

TEST(s32_leb_one_byte_0x40_sign_extends_to_minus_64)
{
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_global('i', CODE(W_I32_CONST, 0x40, W_END), &m, &err));
    ASSERT_EQ_U64(0xffffffc0u, m->globals[0].init.u.i32);
    wm_module_free(m);
}

TEST(s32_leb_five_bytes_encode_int32_min)
{
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_global('i', CODE(W_I32_CONST, 0x80, 0x80, 0x80, 0x80,
                                             0x78, W_END), &m, &err));
    ASSERT_EQ_U64(0x80000000u, m->globals[0].init.u.i32);
    wm_module_free(m);
}

TEST(s32_leb_five_bytes_encode_int32_max)
{
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_global('i', CODE(W_I32_CONST, 0xff, 0xff, 0xff, 0xff,
                                             0x07, W_END), &m, &err));
    ASSERT_EQ_U64(0x7fffffffu, m->globals[0].init.u.i32);
    wm_module_free(m);
}

/* One function of type [] -> [] with the given instructions. */
static int decode_body(const uint8_t *body, size_t n, struct wmod *w,
                       struct wm_module **m, struct wm_error *err)
{
    mod_func(w, mod_type(w, "", ""), "", body, n);
    return decode_mod(w, m, err, NULL);
}

TEST(s32_leb_negative_last_byte_must_sign_extend)
{
    /* 0x0f: value bit 31 set, so the three unused bits must be 1s too. */
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_I32_CONST, 0xff, 0xff, 0xff, 0xff, 0x0f,
                              W_DROP, W_END), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 1, 0, "integer too large");
}

TEST(s32_leb_positive_last_byte_must_have_zero_unused_bits)
{
    /* 0x70: value bit 31 clear but the unused bits set. */
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_I32_CONST, 0x80, 0x80, 0x80, 0x80, 0x70,
                              W_DROP, W_END), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 1, 0, "integer too large");
}

TEST(s32_leb_of_six_bytes_is_too_long)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_I32_CONST, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
                              W_DROP, W_END), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 1, 0,
                     "integer representation too long");
}

TEST(s64_leb_one_byte_0x7f_is_minus_1)
{
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_global('l', CODE(W_I64_CONST, 0x7f, W_END), &m, &err));
    ASSERT_EQ_INT(WM_CONST_I64, m->globals[0].init.op);
    ASSERT_EQ_U64(0xffffffffffffffffu, m->globals[0].init.u.i64);
    wm_module_free(m);
}

TEST(s64_leb_ten_bytes_encode_int64_min)
{
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_global('l', CODE(W_I64_CONST, 0x80, 0x80, 0x80, 0x80,
                                             0x80, 0x80, 0x80, 0x80, 0x80, 0x7f,
                                             W_END), &m, &err));
    ASSERT_EQ_U64(0x8000000000000000u, m->globals[0].init.u.i64);
    wm_module_free(m);
}

TEST(s64_leb_ten_bytes_encode_int64_max)
{
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_global('l', CODE(W_I64_CONST, 0xff, 0xff, 0xff, 0xff,
                                             0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                                             W_END), &m, &err));
    ASSERT_EQ_U64(0x7fffffffffffffffu, m->globals[0].init.u.i64);
    wm_module_free(m);
}

TEST(s64_leb_negative_tenth_byte_must_sign_extend)
{
    /* 0x01: value bit 63 set, so the six unused bits must be 1s (0x7f). */
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_I64_CONST, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                              0x80, 0x80, 0x80, 0x01, W_DROP, W_END),
                         &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 1, 0, "integer too large");
}

TEST(s64_leb_of_eleven_bytes_is_too_long)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_I64_CONST, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                              0x80, 0x80, 0x80, 0x80, 0x00, W_DROP, W_END),
                         &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 1, 0,
                     "integer representation too long");
}

/* ===== Sections ========================================================= */

TEST(section_out_of_order_is_malformed_at_its_id)
{
    static const uint8_t bin[] = {
        HEADER,
        0x05, 0x03, 0x01, 0x00, 0x00,           /* 8: memory section */
        0x04, 0x04, 0x01, 0x70, 0x00, 0x00,     /* 13: table section */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 13, -1, "unexpected content after last section");
}

TEST(duplicate_section_is_malformed_at_the_second)
{
    static const uint8_t bin[] = {
        HEADER,
        0x01, 0x01, 0x00,                       /* 8: type section, empty */
        0x01, 0x01, 0x00,                       /* 11: again */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 11, -1, "unexpected content after last section");
}

TEST(data_count_section_goes_between_element_and_code)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    mod_func(&w, mod_type(&w, "", ""), "", CODE(W_END));
    mod_data_count(&w, 1);
    EMIT(mod_item(&w, SEC_DATA), 0x01, 0x01, 'x');      /* passive "x" */
    ASSERT_EQ_INT(0, decode_mod(&w, &m, &err, NULL));
    ASSERT(w.section_at[SEC_DATA_COUNT] < w.section_at[SEC_CODE]);
    ASSERT(m->has_data_count);
    ASSERT_EQ_INT(1, m->data_count);
    ASSERT_EQ_INT(1, m->ndatas);
    wm_module_free(m);
}

TEST(data_count_section_after_code_is_out_of_order)
{
    static const uint8_t bin[] = {
        HEADER,
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,     /* 8: type [] -> [] */
        0x03, 0x02, 0x01, 0x00,                 /* 14: function */
        0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,     /* 18: code */
        0x0c, 0x01, 0x00,                       /* 24: data count */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 24, -1, "unexpected content after last section");
}

TEST(custom_sections_may_sit_between_any_sections)
{
    static const uint8_t bin[] = {
        HEADER,
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,     /* 8: type [] -> [] */
        0x00, 0x03, 0x01, 'x', 'y',             /* 14: custom "x", payload "y" */
        0x03, 0x02, 0x01, 0x00,                 /* 19: function */
        0x00, 0x02, 0x01, 'z',                  /* 23: custom "z", empty */
        0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,     /* 27: code */
    };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, dec_module(bin, sizeof bin, &m, &err));
    ASSERT_EQ_INT(2, m->ncustoms);
    ASSERT_EQ_INT(1, m->customs[0].name.len);
    ASSERT_STR_EQ("x", m->customs[0].name.str);
    ASSERT_EQ_INT(16, m->customs[0].offset);
    ASSERT_EQ_INT(1, m->customs[0].len);
    ASSERT_EQ_INT('y', m->customs[0].bytes[0]);
    ASSERT_STR_EQ("z", m->customs[1].name.str);
    ASSERT_EQ_INT(25, m->customs[1].offset);
    ASSERT_EQ_INT(0, m->customs[1].len);
    ASSERT_EQ_INT(1, m->nfuncs);
    wm_module_free(m);
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

TEST(many_custom_sections_decode_in_linear_memory)
{
    /* 4000 empty custom sections: 12 KB of input. Their records take
     * 4000 * sizeof(struct wm_custom), well under a megabyte; growing the
     * array by copying it into the arena for each section would keep every
     * old copy, about 4000^2/2 records (hundreds of MB). */
    enum { N = 4000 };
    struct wbuf b = { 0 };
    struct wm_module *m;
    struct wm_error err;
    wb_header(&b);
    for (int i = 0; i < N; i++)
        EMIT(&b, SEC_CUSTOM, 0x01, 0x00);
    long before = peak_rss_kb();
    int rc = dec_module(b.p, b.len, &m, &err);
    long grown_mb = (peak_rss_kb() - before) / 1024;
    wb_free(&b);
    ASSERT_EQ_INT(0, rc);
    ASSERT_EQ_INT(N, m->ncustoms);
    wm_module_free(m);
    ASSERT_LT_INT(grown_mb, 64);
}

TEST(unknown_section_id_is_malformed)
{
    /* 13 is the exception-handling proposal's tag section, which the
     * decoder reads and the validator refuses without the feature. */
    static const uint8_t bin[] = { HEADER, 0x0e, 0x00 };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 8, -1, "malformed section id 14");
}

TEST(section_size_past_end_of_file_is_unexpected_end)
{
    static const uint8_t bin[] = {
        HEADER,
        0x01, 0x05, 0x01, 0x60, 0x00, 0x00,     /* says 5 bytes, has 4 */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 8, -1, "unexpected end: section 1 of 5 bytes, 4 left");
}

TEST(section_with_bytes_left_over_is_size_mismatch)
{
    static const uint8_t bin[] = {
        HEADER,
        0x01, 0x05, 0x01, 0x60, 0x00, 0x00,     /* one type in 4 bytes */
        0x00,                                   /* 14: a fifth byte */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 14, -1, "section size mismatch");
}

TEST(section_content_longer_than_its_size_is_unexpected_end)
{
    static const uint8_t bin[] = {
        HEADER,
        0x01, 0x04, 0x01, 0x60, 0x01, 0x7f,     /* type [i32] -> ... */
        0x00,                                   /* 14: outside the section */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 14, -1, "unexpected end");
}

/* ===== Vectors: a forged count never drives an allocation =============== */

TEST(huge_type_count_fails_cleanly_before_allocating)
{
    static const uint8_t bin[] = {
        HEADER,
        0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f,   /* 0xffffffff types */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    /* Malformed, not out of memory: the count is checked against the 0
     * bytes left before anything is allocated. */
    ASSERT_MALFORMED(rc, m, err, 10, -1,
                     "vector of 4294967295 elements does not fit in the 0 bytes left");
}

TEST(huge_local_group_count_fails_cleanly_before_allocating)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    mod_func_raw(&w, mod_type(&w, "", ""),
                 CODE(0xff, 0xff, 0xff, 0xff, 0x0f, W_END));
    int rc = decode_mod(&w, &m, &err, NULL);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0], 0, "vector of 4294967295 elements");
}

TEST(huge_br_table_count_fails_cleanly_before_allocating)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_BLOCK, W_EMPTY, W_I32_CONST, 0x00,
                              W_BR_TABLE, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00,
                              W_END, W_END), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 5, 0, "vector of 4294967295 elements");
}

TEST(huge_name_length_fails_cleanly_before_allocating)
{
    static const uint8_t bin[] = {
        HEADER,
        0x07, 0x08, 0x01,                       /* export section, 1 export */
        0xff, 0xff, 0xff, 0xff, 0x0f,           /* 11: name of 0xffffffff bytes */
        0x00, 0x00,
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 11, -1, "vector of 4294967295 elements");
}

/* ===== Names (UTF-8) ==================================================== */

/* A module with one export (func 0) named by the given bytes; the name
 * starts at offset 11. */
static int decode_export_name(const uint8_t *name, size_t n,
                              struct wm_module **m, struct wm_error *err)
{
    struct wbuf b = { 0 }, sec = { 0 };
    wb_header(&b);
    EMIT(&sec, 0x01);
    wb_name_n(&sec, name, n);
    EMIT(&sec, 0x00, 0x00);                 /* func 0 */
    wb_section(&b, SEC_EXPORT, sec.p, sec.len);
    int rc = dec_module(b.p, b.len, m, err);
    wb_free(&b);
    wb_free(&sec);
    return rc;
}

TEST(name_with_overlong_utf8_is_malformed)
{
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_export_name(CODE(0xc0, 0x80), &m, &err);   /* U+0000 in 2 bytes */
    ASSERT_MALFORMED(rc, m, err, 11, -1, "malformed UTF-8 encoding");
}

TEST(name_with_utf8_surrogate_is_malformed)
{
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_export_name(CODE(0xed, 0xa0, 0x80), &m, &err);   /* U+D800 */
    ASSERT_MALFORMED(rc, m, err, 11, -1, "malformed UTF-8 encoding");
}

TEST(name_with_code_point_above_10ffff_is_malformed)
{
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_export_name(CODE(0xf4, 0x90, 0x80, 0x80), &m, &err);  /* U+110000 */
    ASSERT_MALFORMED(rc, m, err, 11, -1, "malformed UTF-8 encoding");
}

TEST(name_with_truncated_utf8_sequence_is_malformed)
{
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_export_name(CODE('a', 0xe2, 0x82), &m, &err);  /* 2 of 3 bytes */
    ASSERT_MALFORMED(rc, m, err, 11, -1, "malformed UTF-8 encoding");
}

TEST(name_with_valid_multibyte_utf8_and_nul_keeps_its_bytes)
{
    /* $, U+00A2, U+20AC, U+10348, U+10FFFF, NUL, z */
    static const uint8_t name[] = {
        0x24, 0xc2, 0xa2, 0xe2, 0x82, 0xac, 0xf0, 0x90, 0x8d, 0x88,
        0xf4, 0x8f, 0xbf, 0xbf, 0x00, 'z',
    };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_export_name(name, sizeof name, &m, &err));
    ASSERT_EQ_INT(1, m->nexports);
    ASSERT_EQ_INT(sizeof name, m->exports[0].name.len);
    ASSERT(memcmp(m->exports[0].name.str, name, sizeof name) == 0);
    ASSERT_EQ_INT(0, m->exports[0].name.str[sizeof name]);   /* added NUL */
    wm_module_free(m);
}

TEST(custom_section_with_bad_utf8_name_is_malformed)
{
    static const uint8_t bin[] = { HEADER, 0x00, 0x02, 0x01, 0xff };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 10, -1, "malformed UTF-8 encoding");
}

/* ===== Types, limits, imports =========================================== */

TEST(function_type_form_other_than_0x60_is_malformed)
{
    static const uint8_t bin[] = { HEADER, 0x01, 0x04, 0x01, 0x61, 0x00, 0x00 };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 11, -1, "malformed function type: 0x61");
}

TEST(unknown_value_type_is_malformed)
{
    static const uint8_t bin[] = {
        HEADER, 0x01, 0x05, 0x01, 0x60, 0x01, 0x7a, 0x00,   /* param 0x7a at 13 */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 13, -1, "malformed value type 0x7a");
}

TEST(types_decode_params_and_results)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    mod_type(&w, "", "");
    mod_type(&w, "ilfdvFX", "li");
    ASSERT_EQ_INT(0, decode_mod(&w, &m, &err, NULL));
    ASSERT_EQ_INT(2, m->ntypes);
    ASSERT_EQ_INT(0, m->types[0].nparams);
    ASSERT_EQ_INT(0, m->types[0].nresults);
    ASSERT_EQ_INT(7, m->types[1].nparams);
    ASSERT(memcmp(m->types[1].params,
                  (const uint8_t[]){ WM_I32, WM_I64, WM_F32, WM_F64, WM_V128,
                                     WM_FUNCREF, WM_EXTERNREF }, 7) == 0);
    ASSERT_EQ_INT(2, m->types[1].nresults);
    ASSERT_EQ_INT(WM_I64, m->types[1].results[0]);
    ASSERT_EQ_INT(WM_I32, m->types[1].results[1]);
    wm_module_free(m);
}

/* A shared memory's flags (0x02, 0x03) decode whatever the features;
 * without the threads proposal, validation calls them malformed, as Wasm
 * 2.0 does; with it, a shared memory needs a maximum. */
TEST(shared_limits_flags_are_malformed_without_threads)
{
    static const uint8_t bin[] = { HEADER, 0x05, 0x03, 0x01, 0x02, 0x00 };
    struct wm_module *m;
    struct wm_error err;
    int rc = wm_load(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 11, -1, "malformed limits flags 0x02");
    ASSERT_STR_CONTAINS(err.msg, "the threads proposal is not enabled (--enable-threads)");
    rc = wm_load_features(bin, sizeof bin, WM_FEATURE_THREADS, &m, &err);
    ASSERT_EQ_INT(-1, rc);
    ASSERT_EQ_INT(WM_ERR_INVALID, err.kind);
    ASSERT_STR_CONTAINS(err.msg, "shared memory must have maximum");
}

TEST(limits_flags_above_7_are_malformed)
{
    static const uint8_t bin[] = { HEADER, 0x05, 0x03, 0x01, 0x08, 0x00 };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 11, -1, "malformed limits flags 0x08");
}

/* A 64-bit memory's flags (0x04) decode whatever the features, its sizes
 * as u64 (a minimum of 2^33 pages, within memory64's 2^48); without
 * memory64, validation calls the flags malformed. */
TEST(limits_flags_of_memory64_name_the_proposal)
{
    static const uint8_t bin[] = { HEADER, 0x05, 0x07, 0x01, 0x04,
                                   0x80, 0x80, 0x80, 0x80, 0x20 };
    struct wm_module *m;
    struct wm_error err;
    int rc = wm_load(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 11, -1,
                     "64-bit memory: the memory64 proposal is not enabled");
    ASSERT_EQ_INT(0, wm_load_features(bin, sizeof bin, WM_FEATURE_MEMORY64, &m, &err));
    ASSERT(m->memories[0].is64);
    ASSERT_EQ_U64(1ull << 33, m->memories[0].limits.min);
    wm_module_free(m);
}

TEST(limits_with_max_decode_both_bounds)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    mod_memory(&w, 2, 300);
    mod_table(&w, 'X', 0, -1);
    ASSERT_EQ_INT(0, decode_mod(&w, &m, &err, NULL));
    ASSERT_EQ_U64(2, m->memories[0].limits.min);
    ASSERT(m->memories[0].limits.has_max);
    ASSERT_EQ_U64(300, m->memories[0].limits.max);
    ASSERT_EQ_INT(WM_EXTERNREF, m->tables[0].elem);
    ASSERT(!m->tables[0].limits.has_max);
    wm_module_free(m);
}

TEST(import_kind_above_4_is_malformed)
{
    static const uint8_t bin[] = {
        HEADER,
        0x02, 0x07, 0x01, 0x01, 'a', 0x01, 'b', /* import "a" "b" */
        0x05, 0x00,                             /* 15: kind 5 (4: a tag) */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 15, -1, "malformed import kind 0x05");
}

TEST(global_mutability_above_1_is_malformed)
{
    static const uint8_t bin[] = {
        HEADER, 0x06, 0x06, 0x01, 0x7f, 0x02, 0x41, 0x00, 0x0b, /* mut at 12 */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 12, -1, "malformed mutability 0x02");
}

TEST(imports_take_the_first_indices_of_each_space)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    uint32_t t0 = mod_type(&w, "", "");
    uint32_t t1 = mod_type(&w, "i", "");
    mod_import_func(&w, "env", "f", t1);
    mod_import_global(&w, "env", "g", 'l', true);
    mod_import_func(&w, "env", "h", t0);
    mod_import_memory(&w, "env", "mem", 1);
    mod_func(&w, t1, "", CODE(W_END));
    ASSERT_EQ_INT(0, decode_mod(&w, &m, &err, NULL));
    ASSERT_EQ_INT(4, m->nimports);
    ASSERT_EQ_INT(2, m->nfunc_imports);
    ASSERT_EQ_INT(1, m->nglobal_imports);
    ASSERT_EQ_INT(1, m->nmemory_imports);
    ASSERT_EQ_INT(0, m->ntable_imports);
    ASSERT_STR_EQ("h", m->imports_of[WM_EXTERN_FUNC][1]->name.str);
    ASSERT_STR_EQ("env", m->imports_of[WM_EXTERN_FUNC][1]->module.str);
    ASSERT_EQ_INT(3, wm_func_count(m));
    ASSERT_EQ_INT(t1, wm_func_type_index(m, 0));
    ASSERT_EQ_INT(t0, wm_func_type_index(m, 1));
    ASSERT_EQ_INT(t1, wm_func_type_index(m, 2));
    ASSERT_EQ_INT(WM_I64, wm_global_type(m, 0)->type);
    ASSERT(wm_global_type(m, 0)->mut);
    ASSERT_EQ_INT(1, wm_memory_count(m));
    wm_module_free(m);
}

TEST(start_section_records_the_function)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    uint32_t t = mod_type(&w, "", "");
    mod_func(&w, t, "", CODE(W_END));
    mod_func(&w, t, "", CODE(W_END));
    mod_start(&w, 1);
    ASSERT_EQ_INT(0, decode_mod(&w, &m, &err, NULL));
    ASSERT(m->has_start);
    ASSERT_EQ_INT(1, m->start);
    wm_module_free(m);
}

/* ===== Element segments (spec 5.5.12: encodings 0..7) =================== */

/*
 * Two functions, table 0 funcref, table 1 externref, table 2 funcref, and
 * one element segment given by its bytes. The segment starts at
 * w->section_at[SEC_ELEMENT] + 3 (id, one-byte size, count).
 */
static int decode_elem(const uint8_t *seg, size_t n, struct wmod *w,
                       struct wm_module **m, struct wm_error *err)
{
    uint32_t t = mod_type(w, "", "");
    mod_func(w, t, "", CODE(W_END));
    mod_func(w, t, "", CODE(W_END));
    mod_table(w, 'F', 10, -1);
    mod_table(w, 'X', 10, -1);
    mod_table(w, 'F', 10, -1);
    wb_bytes(mod_item(w, SEC_ELEMENT), seg, n);
    return decode_mod(w, m, err, NULL);
}

TEST(elem_encoding_0_is_active_on_table_0_with_function_indices)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_elem(CODE(0x00, W_I32_CONST, 5, W_END, 0x02, 0x00, 0x01),
                                 &w, &m, &err));
    ASSERT_EQ_INT(1, m->nelems);
    const struct wm_elem *e = &m->elems[0];
    ASSERT_EQ_INT(WM_SEG_ACTIVE, e->mode);
    ASSERT_EQ_INT(0, e->table);
    ASSERT_EQ_INT(WM_CONST_I32, e->offset.op);
    ASSERT_EQ_INT(5, e->offset.u.i32);
    ASSERT_EQ_INT(WM_FUNCREF, e->type);
    ASSERT_EQ_INT(2, e->count);
    ASSERT_EQ_INT(WM_CONST_REF_FUNC, e->inits[0].op);
    ASSERT_EQ_INT(0, e->inits[0].u.index);
    ASSERT_EQ_INT(1, e->inits[1].u.index);
    ASSERT_EQ_INT(w.section_at[SEC_ELEMENT] + 3, e->offset_in_file);
    ASSERT_EQ_INT(0, val_module(m, &err));
    wm_module_free(m);
}

TEST(elem_encoding_1_is_passive_with_function_indices)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_elem(CODE(0x01, 0x00, 0x02, 0x01, 0x00), &w, &m, &err));
    const struct wm_elem *e = &m->elems[0];
    ASSERT_EQ_INT(WM_SEG_PASSIVE, e->mode);
    ASSERT_EQ_INT(WM_FUNCREF, e->type);
    ASSERT_EQ_INT(2, e->count);
    ASSERT_EQ_INT(1, e->inits[0].u.index);
    ASSERT_EQ_INT(0, e->inits[1].u.index);
    ASSERT_EQ_INT(0, val_module(m, &err));
    wm_module_free(m);
}

TEST(elem_encoding_2_is_active_on_an_explicit_table)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_elem(CODE(0x02, 0x02, W_I32_CONST, 7, W_END, 0x00,
                                      0x01, 0x01), &w, &m, &err));
    const struct wm_elem *e = &m->elems[0];
    ASSERT_EQ_INT(WM_SEG_ACTIVE, e->mode);
    ASSERT_EQ_INT(2, e->table);
    ASSERT_EQ_INT(7, e->offset.u.i32);
    ASSERT_EQ_INT(WM_FUNCREF, e->type);
    ASSERT_EQ_INT(1, e->count);
    ASSERT_EQ_INT(1, e->inits[0].u.index);
    ASSERT_EQ_INT(0, val_module(m, &err));
    wm_module_free(m);
}

TEST(elem_encoding_3_is_declarative_with_function_indices)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_elem(CODE(0x03, 0x00, 0x01, 0x01), &w, &m, &err));
    const struct wm_elem *e = &m->elems[0];
    ASSERT_EQ_INT(WM_SEG_DECLARATIVE, e->mode);
    ASSERT_EQ_INT(WM_FUNCREF, e->type);
    ASSERT_EQ_INT(1, e->count);
    ASSERT_EQ_INT(1, e->inits[0].u.index);
    ASSERT_EQ_INT(0, val_module(m, &err));
    wm_module_free(m);
}

TEST(elem_encoding_4_is_active_on_table_0_with_expressions)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_elem(CODE(0x04, W_I32_CONST, 3, W_END, 0x02,
                                      W_REF_FUNC, 0x01, W_END,
                                      W_REF_NULL, 0x70, W_END), &w, &m, &err));
    const struct wm_elem *e = &m->elems[0];
    ASSERT_EQ_INT(WM_SEG_ACTIVE, e->mode);
    ASSERT_EQ_INT(0, e->table);
    ASSERT_EQ_INT(3, e->offset.u.i32);
    ASSERT_EQ_INT(WM_FUNCREF, e->type);
    ASSERT_EQ_INT(2, e->count);
    ASSERT_EQ_INT(WM_CONST_REF_FUNC, e->inits[0].op);
    ASSERT_EQ_INT(1, e->inits[0].u.index);
    ASSERT_EQ_INT(WM_CONST_REF_NULL, e->inits[1].op);
    ASSERT_EQ_INT(WM_FUNCREF, e->inits[1].u.ref_type);
    ASSERT_EQ_INT(0, val_module(m, &err));
    wm_module_free(m);
}

TEST(elem_encoding_5_is_passive_with_a_reference_type)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_elem(CODE(0x05, 0x6f, 0x01, W_REF_NULL, 0x6f, W_END),
                                 &w, &m, &err));
    const struct wm_elem *e = &m->elems[0];
    ASSERT_EQ_INT(WM_SEG_PASSIVE, e->mode);
    ASSERT_EQ_INT(WM_EXTERNREF, e->type);
    ASSERT_EQ_INT(1, e->count);
    ASSERT_EQ_INT(WM_CONST_REF_NULL, e->inits[0].op);
    ASSERT_EQ_INT(WM_EXTERNREF, e->inits[0].u.ref_type);
    ASSERT_EQ_INT(0, val_module(m, &err));
    wm_module_free(m);
}

TEST(elem_encoding_6_is_active_on_an_explicit_table_with_expressions)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_elem(CODE(0x06, 0x01, W_I32_CONST, 0, W_END, 0x6f,
                                      0x01, W_REF_NULL, 0x6f, W_END), &w, &m, &err));
    const struct wm_elem *e = &m->elems[0];
    ASSERT_EQ_INT(WM_SEG_ACTIVE, e->mode);
    ASSERT_EQ_INT(1, e->table);
    ASSERT_EQ_INT(WM_EXTERNREF, e->type);
    ASSERT_EQ_INT(1, e->count);
    ASSERT_EQ_INT(0, val_module(m, &err));
    wm_module_free(m);
}

TEST(elem_encoding_7_is_declarative_with_expressions)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_elem(CODE(0x07, 0x70, 0x01, W_REF_FUNC, 0x00, W_END),
                                 &w, &m, &err));
    const struct wm_elem *e = &m->elems[0];
    ASSERT_EQ_INT(WM_SEG_DECLARATIVE, e->mode);
    ASSERT_EQ_INT(WM_FUNCREF, e->type);
    ASSERT_EQ_INT(1, e->count);
    ASSERT_EQ_INT(WM_CONST_REF_FUNC, e->inits[0].op);
    ASSERT_EQ_INT(0, e->inits[0].u.index);
    ASSERT_EQ_INT(0, val_module(m, &err));
    wm_module_free(m);
}

TEST(elem_encoding_8_is_malformed)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_elem(CODE(0x08, 0x00), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.section_at[SEC_ELEMENT] + 3, -1,
                     "malformed elements segment kind 8");
}

TEST(elem_kind_other_than_0_is_malformed)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_elem(CODE(0x01, 0x01, 0x00), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.section_at[SEC_ELEMENT] + 4, -1,
                     "malformed element kind 0x01");
}

/* ===== Data segments ==================================================== */

/* One memory and one data segment given by its bytes; the segment starts
 * at w->section_at[SEC_DATA] + 3. */
static int decode_data(const uint8_t *seg, size_t n, struct wmod *w,
                       struct wm_module **m, struct wm_error *err)
{
    mod_memory(w, 1, -1);
    wb_bytes(mod_item(w, SEC_DATA), seg, n);
    return decode_mod(w, m, err, NULL);
}

TEST(data_encoding_0_is_active_on_memory_0)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_data(CODE(0x00, W_I32_CONST, 16, W_END, 0x03, 'a', 'b', 'c'),
                                 &w, &m, &err));
    ASSERT_EQ_INT(1, m->ndatas);
    const struct wm_data *d = &m->datas[0];
    ASSERT_EQ_INT(WM_SEG_ACTIVE, d->mode);
    ASSERT_EQ_INT(0, d->memory);
    ASSERT_EQ_INT(WM_CONST_I32, d->offset.op);
    ASSERT_EQ_INT(16, d->offset.u.i32);
    ASSERT_EQ_INT(3, d->len);
    ASSERT(memcmp(d->bytes, "abc", 3) == 0);
    ASSERT_EQ_INT(w.section_at[SEC_DATA] + 3, d->offset_in_file);
    ASSERT_EQ_INT(0, val_module(m, &err));
    wm_module_free(m);
}

TEST(data_encoding_1_is_passive)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_data(CODE(0x01, 0x02, 'h', 'i'), &w, &m, &err));
    const struct wm_data *d = &m->datas[0];
    ASSERT_EQ_INT(WM_SEG_PASSIVE, d->mode);
    ASSERT_EQ_INT(2, d->len);
    ASSERT(memcmp(d->bytes, "hi", 2) == 0);
    ASSERT_EQ_INT(0, val_module(m, &err));
    wm_module_free(m);
}

TEST(data_encoding_2_is_active_on_an_explicit_memory)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_data(CODE(0x02, 0x00, W_I32_CONST, 32, W_END, 0x01, 'z'),
                                 &w, &m, &err));
    const struct wm_data *d = &m->datas[0];
    ASSERT_EQ_INT(WM_SEG_ACTIVE, d->mode);
    ASSERT_EQ_INT(0, d->memory);
    ASSERT_EQ_INT(32, d->offset.u.i32);
    ASSERT_EQ_INT(1, d->len);
    ASSERT_EQ_INT('z', d->bytes[0]);
    ASSERT_EQ_INT(0, val_module(m, &err));
    wm_module_free(m);
}

TEST(data_encoding_3_is_malformed)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_data(CODE(0x03, 0x00), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.section_at[SEC_DATA] + 3, -1,
                     "malformed data segment kind 3");
}

TEST(data_segment_longer_than_its_section_is_unexpected_end)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_data(CODE(0x01, 0x05, 'a', 'b'), &w, &m, &err);
    /* The length check happens at the length's own offset. */
    ASSERT_MALFORMED(rc, m, err, w.section_at[SEC_DATA] + 4, -1, "unexpected end");
}

/* ===== Function and code sections ======================================= */

TEST(function_and_code_counts_must_match)
{
    static const uint8_t bin[] = {
        HEADER,
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,     /* 8: type [] -> [] */
        0x03, 0x03, 0x02, 0x00, 0x00,           /* 14: two functions */
        0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,     /* 19: one body, count at 21 */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 21, -1,
                     "function and code section have inconsistent lengths");
}

TEST(function_section_without_code_section_is_malformed)
{
    static const uint8_t bin[] = {
        HEADER,
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,     /* 8: type [] -> [] */
        0x03, 0x02, 0x01, 0x00,                 /* 14: one function */
    };                                          /* 18: end */
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 18, -1,
                     "function and code section have inconsistent lengths");
}

TEST(code_section_without_function_section_is_malformed)
{
    static const uint8_t bin[] = {
        HEADER,
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,     /* 8: type [] -> [] */
        0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,     /* 14: one body, count at 16 */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 16, -1,
                     "function and code section have inconsistent lengths");
}

TEST(function_bodies_record_offsets_and_local_groups)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    uint32_t t = mod_type(&w, "i", "i");
    mod_func(&w, t, "", CODE(W_LOCAL_GET, 0x00, W_END));
    mod_func(&w, t, "iil", CODE(W_LOCAL_GET, 0x01, W_END));
    ASSERT_EQ_INT(0, decode_mod(&w, &m, &err, NULL));
    ASSERT_EQ_INT(2, m->nfuncs);
    const struct wm_func *f = &m->funcs[1];
    ASSERT_EQ_INT(t, f->type);
    ASSERT_EQ_INT(w.code_at[1], f->code_offset);
    ASSERT_EQ_INT(w.code_at[1] - 6, f->body_offset);   /* size, 1+2+2 locals */
    ASSERT_EQ_INT(3, f->code_len);
    ASSERT(f->code == m->bytes + f->code_offset);
    ASSERT_EQ_INT(W_LOCAL_GET, f->code[0]);
    ASSERT_EQ_INT(W_END, f->code[2]);
    ASSERT_EQ_INT(2, f->nlocal_groups);
    ASSERT_EQ_INT(2, f->local_groups[0].count);
    ASSERT_EQ_INT(WM_I32, f->local_groups[0].type);
    ASSERT_EQ_INT(1, f->local_groups[1].count);
    ASSERT_EQ_INT(WM_I64, f->local_groups[1].type);
    ASSERT_EQ_INT(3, f->nlocals);
    ASSERT_EQ_INT(0, m->funcs[0].nlocals);
    ASSERT_EQ_INT(w.code_at[0], m->funcs[0].code_offset);
    wm_module_free(m);
}

TEST(locals_summing_past_u32_max_are_too_many)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    mod_func_raw(&w, mod_type(&w, "", ""),
                 CODE(0x02,                                 /* 2 groups */
                      0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f,   /* 0xffffffff i32 */
                      0x01, 0x7e,                           /* 1 i64: 2^32 */
                      W_END));
    int rc = decode_mod(&w, &m, &err, NULL);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0], 0, "too many locals");
}

TEST(locals_summing_to_exactly_u32_max_decode)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    mod_func_raw(&w, mod_type(&w, "", ""),
                 CODE(0x02,
                      0xfe, 0xff, 0xff, 0xff, 0x0f, 0x7f,   /* 0xfffffffe i32 */
                      0x01, 0x7e,                           /* 1 i64 */
                      W_END));
    ASSERT_EQ_INT(0, decode_mod(&w, &m, &err, NULL));
    ASSERT_EQ_U64(0xffffffffu, m->funcs[0].nlocals);
    wm_module_free(m);
}

TEST(body_size_past_section_end_is_unexpected_end)
{
    static const uint8_t bin[] = {
        HEADER,
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,     /* 8: type [] -> [] */
        0x03, 0x02, 0x01, 0x00,                 /* 14: one function */
        0x0a, 0x04, 0x01, 0x05, 0x00, 0x0b,     /* 18: body says 5 bytes at 21 */
    };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 21, -1, "function body of 5 bytes");
}

/* ===== Instructions ===================================================== */

TEST(illegal_opcode_reports_its_offset_and_function_index)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    uint32_t t = mod_type(&w, "", "");
    mod_import_func(&w, "env", "f", t);                 /* func 0 */
    mod_func(&w, t, "", CODE(W_NOP, 0x27, W_END));      /* func 1 */
    int rc = decode_mod(&w, &m, &err, NULL);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 1, 1, "illegal opcode 0x27");
    char want[96];
    snprintf(want, sizeof want, "offset 0x%zx: func 1: illegal opcode 0x27",
             w.code_at[0] + 1);
    ASSERT_STR_EQ(want, err.msg);
}

TEST(opcode_of_an_unsupported_proposal_names_the_feature_and_proposal)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    uint32_t t = mod_type(&w, "", "");
    mod_func(&w, t, "", CODE(0x14, 0x00, W_END));       /* call_ref 0 */
    int rc = decode_mod(&w, &m, &err, NULL);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0], 0,
                     "call_ref: the function-references proposal is not supported");
}

TEST(illegal_prefixed_opcode_reports_prefix_and_subopcode)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_NOP, W_PREFIX_FC, 0x12, W_END), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 1, 0, "illegal opcode 0xfc 0x12");
}

TEST(else_inside_block_is_malformed)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_BLOCK, W_EMPTY, W_ELSE, W_END, W_END), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 2, 0, "else without matching if");
}

TEST(else_at_function_level_is_malformed)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_ELSE, W_END), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0], 0, "else without matching if");
}

TEST(second_else_in_one_if_is_malformed)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_I32_CONST, 1, W_IF, W_EMPTY, W_ELSE, W_ELSE,
                              W_END, W_END), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 5, 0, "else without matching if");
}

TEST(body_without_final_end_is_malformed)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_I32_CONST, 0, W_DROP), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 3, 0,
                     "unexpected end of section or function");
}

TEST(body_with_unclosed_block_is_malformed)
{
    /* The only `end` closes the block, not the body. */
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_BLOCK, W_EMPTY, W_END), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 3, 0,
                     "unexpected end of section or function");
}

TEST(bytes_after_final_end_are_malformed)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_END, W_NOP), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 1, 0, "section size mismatch");
}

TEST(negative_block_type_index_is_malformed)
{
    /* 0x7a is no value type, so it is read as an s33 type index: -6. */
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_BLOCK, 0x7a, W_END, W_END), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 1, 0, "malformed block type");
}

/* memory.size's byte is a memory index to the decoder; without the
 * multi-memory proposal validation calls anything but 0x00 malformed, as
 * Wasm 2.0 does; with it, index 1 of a module with one memory is
 * unknown. */
TEST(memory_size_reserved_byte_must_be_zero)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    struct wbuf b;
    mod_memory(&w, 1, -1);
    mod_func(&w, mod_type(&w, "", ""), "", CODE(0x3f, 0x01, W_DROP, W_END));
    mod_build(&w, &b);
    int rc = wm_load(b.p, b.len, &m, &err);
    int rc_multi = wm_load_features(b.p, b.len, WM_FEATURE_MULTI_MEMORY, &m, &err);
    wb_free(&b);
    ASSERT_EQ_INT(-1, rc_multi);
    ASSERT_EQ_INT(WM_ERR_INVALID, err.kind);
    ASSERT_STR_CONTAINS(err.msg, "unknown memory 1");
    ASSERT_EQ_INT(-1, rc);
}

TEST(memory_size_reserved_byte_is_malformed_without_multi_memory)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    struct wbuf b;
    mod_memory(&w, 1, -1);
    mod_func(&w, mod_type(&w, "", ""), "", CODE(0x3f, 0x80, 0x00, W_DROP, W_END));
    mod_build(&w, &b);
    int rc = wm_load(b.p, b.len, &m, &err);
    wb_free(&b);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0], 0, "zero byte expected");
    ASSERT_STR_CONTAINS(err.msg, "--enable-multi-memory");
}

TEST(truncated_f64_immediate_is_unexpected_end)
{
    /* f64.const needs 8 bytes; the body has 3 after the opcode. */
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    int rc = decode_body(CODE(W_F64_CONST, 0x00, 0x00, W_END), &w, &m, &err);
    ASSERT_MALFORMED(rc, m, err, w.code_at[0] + 1, 0, "unexpected end");
}

/* ===== Data count ======================================================= */

TEST(data_count_differing_from_data_segments_is_malformed)
{
    static const uint8_t bin[] = {
        HEADER,
        0x0c, 0x01, 0x02,                       /* 8: data count 2 */
        0x0b, 0x04, 0x01, 0x01, 0x01, 'a',     /* 11: one passive segment */
    };                                          /* 17: end */
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 17, -1,
                     "data count and data section have inconsistent lengths: 2 and 1");
}

TEST(data_count_without_data_section_is_malformed)
{
    static const uint8_t bin[] = { HEADER, 0x0c, 0x01, 0x01 };
    struct wm_module *m;
    struct wm_error err;
    int rc = dec_module(bin, sizeof bin, &m, &err);
    ASSERT_MALFORMED(rc, m, err, 11, -1,
                     "data count and data section have inconsistent lengths: 1 and 0");
}

TEST(data_drop_with_data_but_no_data_count_is_malformed_at_the_data_drop)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    mod_memory(&w, 1, -1);
    EMIT(mod_item(&w, SEC_DATA), 0x01, 0x01, 'x');      /* passive "x" */
    int rc = decode_body(CODE(W_NOP, W_PREFIX_FC, W_DATA_DROP, 0x00, W_END),
                         &w, &m, &err);
    ASSERT_EQ_INT(-1, rc);
    ASSERT_EQ_INT(WM_ERR_MALFORMED, err.kind);
    ASSERT_STR_CONTAINS(err.msg, "data count section required");
    ASSERT_EQ_INT(w.code_at[0] + 1, err.offset);        /* the data.drop */
}

TEST(data_drop_without_any_data_decodes_and_fails_validation)
{
    /* With no data section at all the index is simply out of range: an
     * invalid module, not a malformed one (as the spec suite expects). */
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    ASSERT_EQ_INT(0, decode_body(CODE(W_PREFIX_FC, W_DATA_DROP, 0x00, W_END),
                                 &w, &m, &err));
    ASSERT_EQ_INT(-1, val_module(m, &err));
    ASSERT_EQ_INT(WM_ERR_INVALID, err.kind);
    ASSERT_STR_CONTAINS(err.msg, "unknown data segment 0");
    wm_module_free(m);
}

/* ===== The name section ================================================= */

/* A name-section subsection: id, size, payload. */
static void name_subsection(struct wbuf *names, uint8_t id, const struct wbuf *payload)
{
    wb_section(names, id, payload->p, payload->len);
}

TEST(name_section_gives_function_names_across_imports)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    struct wbuf names = { 0 }, sub = { 0 };
    uint32_t t = mod_type(&w, "", "");
    mod_import_func(&w, "env", "f", t);                 /* func 0 */
    mod_func(&w, t, "", CODE(W_END));                   /* func 1 */
    mod_func(&w, t, "", CODE(W_END));                   /* func 2 */
    wb_u32(&sub, 2);
    wb_u32(&sub, 0);
    wb_name(&sub, "imported");
    wb_u32(&sub, 2);
    wb_name(&sub, "second");
    name_subsection(&names, 1, &sub);
    mod_custom(&w, "name", names.p, names.len);
    wb_free(&names);
    wb_free(&sub);
    ASSERT_EQ_INT(0, decode_mod(&w, &m, &err, NULL));
    ASSERT_STR_EQ("imported", wm_func_name(m, 0));
    ASSERT(wm_func_name(m, 1) == NULL);
    ASSERT_STR_EQ("second", wm_func_name(m, 2));
    ASSERT(wm_func_name(m, 3) == NULL);                 /* out of range */
    wm_module_free(m);
}

TEST(name_section_gives_the_module_name)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    struct wbuf names = { 0 }, sub = { 0 };
    wb_name(&sub, "mymod");
    name_subsection(&names, 0, &sub);
    mod_custom(&w, "name", names.p, names.len);
    wb_free(&names);
    wb_free(&sub);
    ASSERT_EQ_INT(0, decode_mod(&w, &m, &err, NULL));
    ASSERT_EQ_INT(5, m->names.module.len);
    ASSERT_STR_EQ("mymod", m->names.module.str);
    wm_module_free(m);
}

TEST(malformed_name_section_is_ignored_not_an_error)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    uint32_t t = mod_type(&w, "", "");
    mod_func(&w, t, "", CODE(W_END));
    /* Subsection 1 claims 100 bytes but has 6. */
    mod_custom(&w, "name", CODE(0x01, 100, 0x01, 0x00, 0x03, 'a', 'b', 'c'));
    ASSERT_EQ_INT(0, decode_mod(&w, &m, &err, NULL));
    ASSERT_EQ_INT(WM_ERR_NONE, err.kind);
    ASSERT(wm_func_name(m, 0) == NULL);
    ASSERT_EQ_INT(1, m->ncustoms);                      /* still recorded */
    ASSERT_STR_EQ("name", m->customs[0].name.str);
    wm_module_free(m);
}

TEST(name_section_with_bad_utf8_function_name_is_ignored)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    uint32_t t = mod_type(&w, "", "");
    mod_func(&w, t, "", CODE(W_END));
    mod_custom(&w, "name", CODE(0x01, 0x05, 0x01, 0x00, 0x02, 0xc0, 0x80));
    ASSERT_EQ_INT(0, decode_mod(&w, &m, &err, NULL));
    ASSERT(wm_func_name(m, 0) == NULL);
    wm_module_free(m);
}

/* ===== Metadata (what a compiled module keeps) ========================== */

/* The section ids of the module in p[n], in order, and their count. */
static int section_ids(const uint8_t *p, size_t n, uint8_t *ids, int max)
{
    size_t pos = 8;
    int k = 0;
    while (pos < n && k < max) {
        ids[k++] = p[pos++];
        uint64_t len = 0;
        for (unsigned shift = 0; pos < n; shift += 7) {      /* LEB128 */
            len |= (uint64_t)(p[pos] & 0x7f) << shift;
            if (!(p[pos++] & 0x80))
                break;
        }
        if (len > n - pos)
            return -1;
        pos += len;
    }
    return k;
}

TEST(metadata_drops_the_code_and_custom_sections_but_the_names)
{
    struct wmod w = { 0 };
    struct wm_module *m, *meta_m;
    struct wm_error err;
    struct wbuf b, names = { 0 }, sub = { 0 };
    static uint8_t debug[20000];
    memset(debug, 0x5a, sizeof debug);
    uint32_t t = mod_type(&w, "", "i");
    mod_import_func(&w, "env", "f", t);                 /* func 0 */
    mod_func(&w, t, "", CODE(W_I32_CONST, 42, W_END));  /* func 1 */
    mod_export(&w, "run", WM_EXTERN_FUNC, 1);
    mod_memory(&w, 1, -1);
    EMIT(mod_item(&w, SEC_DATA), 0x00, W_I32_CONST, 0, W_END, 5, 'h', 'e', 'l', 'l', 'o');
    mod_custom(&w, ".debug_info", debug, sizeof debug);
    wb_u32(&sub, 1);
    wb_u32(&sub, 1);
    wb_name(&sub, "answer");
    name_subsection(&names, 1, &sub);
    mod_custom(&w, "name", names.p, names.len);
    mod_custom(&w, "producers", CODE('x'));
    wb_free(&names);
    wb_free(&sub);
    mod_build(&w, &b);
    ASSERT_EQ_INT(0, dec_module(b.p, b.len, &m, &err));
    wb_free(&b);

    size_t size = 0;
    uint8_t *meta = wm_metadata(m, &size);
    ASSERT(meta != NULL);
    ASSERT(size < m->size - sizeof debug);
    ASSERT(memcmp(meta, m->bytes, 8) == 0);             /* magic, version */
    uint8_t ids[16];
    int n = section_ids(meta, size, ids, 16);
    /* type, import, function, memory, export, data, then "name" alone */
    static const uint8_t want[] = { SEC_TYPE, SEC_IMPORT, SEC_FUNCTION, SEC_MEMORY,
                                    SEC_EXPORT, SEC_DATA, SEC_CUSTOM };
    ASSERT_EQ_INT((int)sizeof want, n);
    ASSERT(memcmp(ids, want, sizeof want) == 0);

    /* What the runtime reads of it, the same as from the whole module. */
    ASSERT_EQ_INT(0, dec_module_trusted(meta, size, &meta_m, &err));
    ASSERT_EQ_INT(m->nfuncs, meta_m->nfuncs);
    ASSERT_EQ_INT(m->nfunc_imports, meta_m->nfunc_imports);
    ASSERT_STR_EQ("run", meta_m->exports[0].name.str);
    ASSERT(memcmp(meta_m->datas[0].bytes, "hello", 5) == 0);
    ASSERT_STR_EQ("answer", wm_func_name(meta_m, 1));
    ASSERT_EQ_INT(1, meta_m->ncustoms);
    ASSERT(meta_m->funcs[0].code == NULL);              /* no bodies */
    /* Without its code, it is not a module dec_module accepts. */
    struct wm_module *whole;
    ASSERT_EQ_INT(-1, dec_module(meta, size, &whole, &err));
    ASSERT_STR_CONTAINS(err.msg, "no code section");
    wm_module_free(meta_m);
    free(meta);
    wm_module_free(m);
}

/* ===== Ownership ======================================================== */

TEST(decoder_keeps_its_own_copy_of_the_bytes)
{
    struct wmod w = { 0 };
    struct wm_module *m;
    struct wm_error err;
    struct wbuf b;
    uint32_t t = mod_type(&w, "", "i");
    mod_func(&w, t, "", CODE(W_I32_CONST, 42, W_END));
    mod_export(&w, "run", WM_EXTERN_FUNC, 0);
    mod_memory(&w, 1, -1);
    EMIT(mod_item(&w, SEC_DATA), 0x00, W_I32_CONST, 0, W_END, 5, 'h', 'e', 'l', 'l', 'o');
    mod_custom(&w, "extra", CODE('p', 'q'));
    mod_build(&w, &b);
    ASSERT_EQ_INT(0, dec_module(b.p, b.len, &m, &err));
    ASSERT(m->bytes != b.p);
    size_t size = b.len;
    memset(b.p, 0xaa, b.len);           /* clobber, then free, the input */
    wb_free(&b);

    ASSERT_EQ_INT(size, m->size);
    ASSERT_EQ_INT(0x00, m->bytes[0]);
    ASSERT_EQ_INT(0x61, m->bytes[1]);
    ASSERT_STR_EQ("run", m->exports[0].name.str);
    ASSERT(memcmp(m->datas[0].bytes, "hello", 5) == 0);
    ASSERT_EQ_INT(W_I32_CONST, m->funcs[0].code[0]);
    ASSERT_EQ_INT(42, m->funcs[0].code[1]);
    ASSERT_EQ_INT('p', m->customs[0].bytes[0]);
    ASSERT_EQ_INT(0, val_module(m, &err));             /* rereads the bodies */
    wm_module_free(m);
}

TEST_MAIN()
