/*
 * wasm/internal.h - private to wasm/: errors and the byte reader. The
 * arena, the opcode table and the instruction reader, which the compiler
 * uses too, are public: wasm/arena.h, wasm/instr.h.
 */
#ifndef AWSM_WASM_INTERNAL_H
#define AWSM_WASM_INTERNAL_H

#include "wasm/arena.h"
#include "wasm/instr.h"
#include "wasm/module.h"

/* ===== Section ids (spec 5.5.2; 13: exception handling's tags) ========= */

enum {
    SEC_CUSTOM, SEC_TYPE, SEC_IMPORT, SEC_FUNCTION, SEC_TABLE, SEC_MEMORY,
    SEC_GLOBAL, SEC_EXPORT, SEC_START, SEC_ELEMENT, SEC_CODE, SEC_DATA,
    SEC_DATA_COUNT, SEC_TAG, SEC_COUNT
};

/* ===== Errors =========================================================== */

/* Fill *err and return -1. func < 0 omits the "func N: " part. */
int wm_fail(struct wm_error *err, enum wm_error_kind kind, size_t offset,
            int64_t func, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ===== Byte reader (struct wm_rd: wasm/instr.h) ====================== */

static inline size_t wm_rd_left(const struct wm_rd *r) { return r->end - r->pos; }

int wm_rd_fail(struct wm_rd *r, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));      /* malformed */
int wm_rd_u8(struct wm_rd *r, uint8_t *v);
int wm_rd_u32(struct wm_rd *r, uint32_t *v);
int wm_rd_s32(struct wm_rd *r, int32_t *v);
int wm_rd_s33(struct wm_rd *r, int64_t *v);
int wm_rd_s64(struct wm_rd *r, int64_t *v);
int wm_rd_u64(struct wm_rd *r, uint64_t *v);
int wm_rd_fixed32(struct wm_rd *r, uint32_t *v);
int wm_rd_fixed64(struct wm_rd *r, uint64_t *v);
int wm_rd_bytes(struct wm_rd *r, size_t n, const uint8_t **p);
int wm_rd_name(struct wm_rd *r, struct wm_arena *a, struct wm_name *name);
int wm_rd_valtype(struct wm_rd *r, wm_valtype *t);
int wm_rd_reftype(struct wm_rd *r, wm_valtype *t);
/* A vector length, checked against the bytes left (each element takes at
 * least min_elem bytes), so a forged count never drives an allocation. */
int wm_rd_count(struct wm_rd *r, uint32_t *n, size_t min_elem);
bool wm_utf8_valid(const uint8_t *s, size_t n);

#endif
