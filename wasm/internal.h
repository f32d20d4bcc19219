/*
 * wasm/internal.h - private to wasm/: the arena, the byte reader, the
 * opcode table and the instruction reader. The compiler may include it for
 * the instruction reader (ins_*) and the opcode table (op_*).
 */
#ifndef AWSM_WASM_INTERNAL_H
#define AWSM_WASM_INTERNAL_H

#include "wasm/module.h"

/* ===== Arena: one per module, freed at once ============================= */

struct wm_arena *arena_new(void);
void *arena_alloc(struct wm_arena *a, size_t size);      /* zeroed */
void *arena_array(struct wm_arena *a, size_t n, size_t elem);
void arena_free(struct wm_arena *a);

/* ===== Errors =========================================================== */

/* Fill *err and return -1. func < 0 omits the "func N: " part. */
int wm_fail(struct wm_error *err, enum wm_error_kind kind, size_t offset,
            int64_t func, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ===== Byte reader ====================================================== */

/* Positions are absolute offsets into the module's bytes, so every error
 * names its place in the file. A reader never passes `end`. */
struct rd {
    const uint8_t *base;
    size_t pos, end;
    int64_t func;              /* for error messages, -1 outside code */
    struct wm_error *err;
};

static inline size_t rd_left(const struct rd *r) { return r->end - r->pos; }

int rd_fail(struct rd *r, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));      /* malformed */
int rd_u8(struct rd *r, uint8_t *v);
int rd_u32(struct rd *r, uint32_t *v);
int rd_s32(struct rd *r, int32_t *v);
int rd_s33(struct rd *r, int64_t *v);
int rd_s64(struct rd *r, int64_t *v);
int rd_fixed32(struct rd *r, uint32_t *v);
int rd_fixed64(struct rd *r, uint64_t *v);
int rd_bytes(struct rd *r, size_t n, const uint8_t **p);
int rd_name(struct rd *r, struct wm_arena *a, struct wm_name *name);
int rd_valtype(struct rd *r, wm_valtype *t);
int rd_reftype(struct rd *r, wm_valtype *t);
/* A vector length, checked against the bytes left (each element takes at
 * least min_elem bytes), so a forged count never drives an allocation. */
int rd_count(struct rd *r, uint32_t *n, size_t min_elem);
bool utf8_valid(const uint8_t *s, size_t n);

/* ===== Opcode table (opcodes.def) ======================================= */

enum op_imm {
    IMM_NONE, IMM_BLOCK, IMM_LABEL, IMM_BR_TABLE, IMM_FUNC,
    IMM_CALL_INDIRECT, IMM_LOCAL, IMM_GLOBAL, IMM_TABLE, IMM_MEMARG,
    IMM_MEMIDX, IMM_I32, IMM_I64, IMM_F32, IMM_F64, IMM_V128, IMM_SELECT_T,
    IMM_REFTYPE, IMM_MEMORY_INIT, IMM_DATA, IMM_MEMORY_COPY, IMM_TABLE_INIT,
    IMM_ELEM, IMM_TABLE_COPY, IMM_LANE, IMM_MEMARG_LANE, IMM_SHUFFLE,
};

enum op_id {
#define OP(id, name, code, imm, sig, arg) OP_##id,
#define OPFC OP
#define OPFD OP
#include "wasm/opcodes.def"
#undef OP
#undef OPFC
#undef OPFD
    OP_COUNT
};

struct op_info {
    const char *name;
    const char *sig;        /* "params:results", "" when typed by hand */
    uint8_t prefix;         /* 0, 0xfc or 0xfd */
    uint16_t code;          /* 0xfd codes reach 0x113 (relaxed SIMD) */
    uint8_t imm;            /* enum op_imm */
    uint8_t arg;            /* natural alignment (log2) or lane count */
};

extern const struct op_info op_table[OP_COUNT];

/* ===== Instruction reader =============================================== */

enum { BT_EMPTY, BT_VAL, BT_TYPE };

struct ins {
    uint16_t op;            /* enum op_id */
    size_t offset;          /* of the opcode */
    union {
        struct { uint8_t kind; wm_valtype val; uint32_t type; } block;
        uint32_t idx;                       /* label, func, local, ... */
        struct { uint32_t a, b; } two;      /* call_indirect type,table;
                                               table.init elem,table;
                                               table.copy dst,src;
                                               memory.init data */
        struct { uint32_t align, offset; uint8_t lane; } mem;
        uint32_t i32;
        uint64_t i64;
        uint32_t f32;
        uint64_t f64;
        uint8_t v128[16];                   /* also shuffle lanes */
        struct { uint32_t count; const uint32_t *labels; uint32_t deflt; } br_table;
        struct { uint32_t count; wm_valtype type; } select;
        wm_valtype reftype;
        uint8_t lane;
    } u;
};

struct ins_reader {
    struct rd rd;
    uint32_t *labels;       /* br_table scratch, valid until the next read */
    uint32_t cap;
    bool uses_data_index;   /* saw memory.init or data.drop */
};

void ins_reader_init(struct ins_reader *ir, const struct rd *rd);
void ins_reader_deinit(struct ins_reader *ir);
/* Read one instruction with its immediates. Returns 0 or -1 (malformed). */
int ins_read(struct ins_reader *ir, struct ins *in);

#endif
