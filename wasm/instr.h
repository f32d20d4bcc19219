/*
 * wasm/instr.h - the opcode table and the instruction reader: one
 * instruction at a time, with its immediates, as the validator reads
 * function bodies and the compiler translates them (prefix wm_).
 */
#ifndef AWSM_WASM_INSTR_H
#define AWSM_WASM_INSTR_H

#include "wasm/module.h"

/* ===== Byte reader ====================================================== */

/* What an instruction reader reads with (its functions are wasm/'s own,
 * wasm/internal.h). Positions are absolute offsets into the module's bytes, so every error
 * names its place in the file. A reader never passes `end`. */
struct wm_rd {
    const uint8_t *base;
    size_t pos, end;
    int64_t func;              /* for error messages, -1 outside code */
    struct wm_error *err;
};

/* ===== Opcode table (opcodes.def) ======================================= */

enum wm_op_imm {
    WM_IMM_NONE, WM_IMM_BLOCK, WM_IMM_LABEL, WM_IMM_BR_TABLE, WM_IMM_FUNC,
    WM_IMM_CALL_INDIRECT, WM_IMM_LOCAL, WM_IMM_GLOBAL, WM_IMM_TABLE, WM_IMM_MEMARG,
    WM_IMM_MEMIDX, WM_IMM_I32, WM_IMM_I64, WM_IMM_F32, WM_IMM_F64, WM_IMM_V128, WM_IMM_SELECT_T,
    WM_IMM_REFTYPE, WM_IMM_MEMORY_INIT, WM_IMM_DATA, WM_IMM_MEMORY_COPY, WM_IMM_TABLE_INIT,
    WM_IMM_ELEM, WM_IMM_TABLE_COPY, WM_IMM_LANE, WM_IMM_MEMARG_LANE, WM_IMM_SHUFFLE,
    WM_IMM_FENCE,           /* atomic.fence's reserved zero byte */
    WM_IMM_TAG,             /* a tag index (exception handling), in u.idx */
};

enum wm_op {
#define OP(id, name, code, imm, sig, arg) WM_OP_##id,
#define OPFC OP
#define OPFD OP
#define OPFE OP
#include "wasm/opcodes.def"
#undef OP
#undef OPFC
#undef OPFD
#undef OPFE
    WM_OP_COUNT
};

struct wm_op_info {
    const char *name;
    const char *sig;        /* "params:results", "" when typed by hand */
    uint8_t prefix;         /* 0, 0xfc, 0xfd or 0xfe */
    uint16_t code;          /* 0xfd codes reach 0x113 (relaxed SIMD) */
    uint8_t imm;            /* enum wm_op_imm */
    uint8_t arg;            /* natural alignment (log2) or lane count */
};

extern const struct wm_op_info wm_op_table[WM_OP_COUNT];

/* ===== Instruction reader =============================================== */

enum { WM_BT_EMPTY, WM_BT_VAL, WM_BT_TYPE };

struct wm_ins {
    uint16_t op;            /* enum wm_op */
    size_t offset;          /* of the opcode */
    /* Memory instructions: the memory (memory.copy: the destination) and
     * memory.copy's source, read whatever the features; `mem_explicit`
     * when the encoding is not Wasm 2.0's (a memarg with its memory-index
     * bit 0x40, a memory index other than the single byte 0x00), which
     * only the multi-memory proposal allows (the validator tells). */
    uint32_t mem, mem_src;
    bool mem_explicit;
    union {
        struct { uint8_t kind; wm_valtype val; uint32_t type; } block;
        uint32_t idx;                       /* label, func, local, ... */
        struct { uint32_t a, b; } two;      /* call_indirect type,table;
                                               table.init elem,table;
                                               table.copy dst,src;
                                               memory.init data */
        struct { uint32_t align; uint64_t offset; uint8_t lane; } mem;
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

struct wm_ins_reader {
    struct wm_rd rd;
    uint32_t *labels;       /* br_table scratch, valid until the next read */
    uint32_t cap;
    bool uses_data_index;   /* saw memory.init or data.drop */
    const struct wm_module *m;  /* NULL, or the module whose memories tell a
                                   memarg's offset width (memory64: u64) */
};

void wm_ins_reader_init(struct wm_ins_reader *ir, const struct wm_rd *rd);
void wm_ins_reader_deinit(struct wm_ins_reader *ir);
/* Read one instruction with its immediates. Returns 0 or -1 (malformed). */
int wm_ins_read(struct wm_ins_reader *ir, struct wm_ins *in);

/* A one-value type vector [t] in static storage; NULL when t is not a
 * value type. */
const wm_valtype *wm_valtype_one(wm_valtype t);

/* The type of a block, loop or if from its immediate: params and results
 * point into m's types or static storage (wm_valtype_one), never into the
 * caller's memory, so they stay valid wherever the caller keeps them (a
 * control stack that realloc moves). -1 when the type index is out of
 * range (the validator reports it). */
int wm_block_type(const struct wm_module *m, const struct wm_ins *in,
                  struct wm_functype *out);

/* A reader over the body of function `func` (imports counted; a defined
 * function) of a decoded module; errors go to *err and name the function. */
void wm_ins_reader_init_func(struct wm_ins_reader *ir, const struct wm_module *m,
                             uint32_t func, struct wm_error *err);

#endif
