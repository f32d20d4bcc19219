/*
 * wasm/reader.c - the byte reader (LEB128 with the spec's size and sign
 * limits, names, value types) and the instruction reader that decodes one
 * instruction with its immediates for the decoder, validator and compiler.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "wasm/internal.h"

/* ===== Errors =========================================================== */

static int wm_vfail(struct wm_error *err, enum wm_error_kind kind,
                    size_t offset, int64_t func, const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    err->kind = kind;
    err->offset = offset;
    err->func = func;
    int n = func >= 0
        ? snprintf(err->msg, sizeof err->msg, "offset 0x%zx: func %lld: ",
                   offset, (long long)func)
        : snprintf(err->msg, sizeof err->msg, "offset 0x%zx: ", offset);
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    return -1;
}

int wm_fail(struct wm_error *err, enum wm_error_kind kind, size_t offset,
            int64_t func, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wm_vfail(err, kind, offset, func, fmt, ap);
    va_end(ap);
    return -1;
}

int wm_rd_fail(struct wm_rd *r, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wm_vfail(r->err, WM_ERR_MALFORMED, at, r->func, fmt, ap);
    va_end(ap);
    return -1;
}

/* ===== Fixed-size reads ================================================= */

int wm_rd_u8(struct wm_rd *r, uint8_t *v)
{
    if (r->pos >= r->end) {
        *v = 0;
        return wm_rd_fail(r, r->pos, "unexpected end");
    }
    *v = r->base[r->pos++];
    return 0;
}

int wm_rd_bytes(struct wm_rd *r, size_t n, const uint8_t **p)
{
    if (wm_rd_left(r) < n) {
        *p = NULL;
        return wm_rd_fail(r, r->pos, "unexpected end: %zu bytes needed, %zu left",
                       n, wm_rd_left(r));
    }
    *p = r->base + r->pos;
    r->pos += n;
    return 0;
}

int wm_rd_fixed32(struct wm_rd *r, uint32_t *v)
{
    const uint8_t *p;
    if (wm_rd_bytes(r, 4, &p))
        return -1;
    *v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
    return 0;
}

int wm_rd_fixed64(struct wm_rd *r, uint64_t *v)
{
    uint32_t lo, hi;
    if (wm_rd_fixed32(r, &lo) || wm_rd_fixed32(r, &hi))
        return -1;
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

/* ===== LEB128 =========================================================== */

/*
 * Spec 5.2.2: an N-bit integer takes at most ceil(N/7) bytes, and the
 * unused bits of the last byte must be zero (unsigned) or a sign extension
 * of the value's top bit (signed). Too many bytes is "integer representation
 * too long"; bad unused bits is "integer too large".
 */
static int rd_leb(struct wm_rd *r, unsigned bits, bool is_signed, uint64_t *out)
{
    size_t start = r->pos;
    unsigned max_bytes = (bits + 6) / 7;
    uint64_t result = 0;
    for (unsigned i = 0;; i++) {
        uint8_t b;
        if (wm_rd_u8(r, &b))
            return -1;
        unsigned shift = 7 * i;
        if (i == max_bytes - 1) {
            if (b & 0x80)
                return wm_rd_fail(r, start, "integer representation too long");
            unsigned used = bits - shift;             /* 1..7 */
            uint8_t rest = (uint8_t)(b & 0x7f) >> used;
            uint8_t all = (uint8_t)(0x7f >> used);
            bool neg = is_signed && (b >> (used - 1) & 1);
            if (rest != (neg ? all : 0))
                return wm_rd_fail(r, start, "integer too large");
        }
        result |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            shift += 7;
            if (is_signed && shift < 64 && (b & 0x40))
                result |= ~(uint64_t)0 << shift;
            *out = result;
            return 0;
        }
    }
}

int wm_rd_u32(struct wm_rd *r, uint32_t *v)
{
    uint64_t x;
    if (rd_leb(r, 32, false, &x))
        return -1;
    *v = (uint32_t)x;
    return 0;
}

int wm_rd_u64(struct wm_rd *r, uint64_t *v)
{
    return rd_leb(r, 64, false, v);
}

int wm_rd_s32(struct wm_rd *r, int32_t *v)
{
    uint64_t x;
    if (rd_leb(r, 32, true, &x))
        return -1;
    *v = (int32_t)(uint32_t)x;
    return 0;
}

int wm_rd_s33(struct wm_rd *r, int64_t *v)
{
    uint64_t x;
    if (rd_leb(r, 33, true, &x))
        return -1;
    *v = (int64_t)x;
    return 0;
}

int wm_rd_s64(struct wm_rd *r, int64_t *v)
{
    uint64_t x;
    if (rd_leb(r, 64, true, &x))
        return -1;
    *v = (int64_t)x;
    return 0;
}

int wm_rd_count(struct wm_rd *r, uint32_t *n, size_t min_elem)
{
    size_t at = r->pos;
    if (wm_rd_u32(r, n))
        return -1;
    if (min_elem && *n > wm_rd_left(r) / min_elem)
        return wm_rd_fail(r, at, "unexpected end: vector of %u elements "
                       "does not fit in the %zu bytes left", *n, wm_rd_left(r));
    return 0;
}

/* ===== Names and types ================================================== */

/* Unicode scalar values in shortest form (RFC 3629): no overlongs, no
 * surrogates, nothing above U+10FFFF. */
bool wm_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        unsigned len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

int wm_rd_name(struct wm_rd *r, struct wm_arena *a, struct wm_name *name)
{
    uint32_t len;
    const uint8_t *p;
    size_t at = r->pos;
    if (wm_rd_count(r, &len, 1) || wm_rd_bytes(r, len, &p))
        return -1;
    if (!wm_utf8_valid(p, len))
        return wm_rd_fail(r, at, "malformed UTF-8 encoding");
    char *s = wm_arena_alloc(a, (size_t)len + 1);
    if (!s)
        return wm_fail(r->err, WM_ERR_NOMEM, at, -1, "out of memory");
    for (uint32_t i = 0; i < len; i++)
        s[i] = (char)p[i];
    name->str = s;
    name->len = len;
    return 0;
}

static bool is_valtype(uint8_t b)
{
    return (b >= WM_V128 && b <= WM_I32) || b == WM_FUNCREF ||
           b == WM_EXTERNREF;
}

int wm_rd_valtype(struct wm_rd *r, wm_valtype *t)
{
    size_t at = r->pos;
    if (wm_rd_u8(r, t))
        return -1;
    if (!is_valtype(*t))
        return wm_rd_fail(r, at, "malformed value type 0x%02x", *t);
    return 0;
}

int wm_rd_reftype(struct wm_rd *r, wm_valtype *t)
{
    size_t at = r->pos;
    if (wm_rd_u8(r, t))
        return -1;
    if (*t != WM_FUNCREF && *t != WM_EXTERNREF)
        return wm_rd_fail(r, at, "malformed reference type 0x%02x", *t);
    return 0;
}

/* ===== Instruction reader =============================================== */

/* Opcode -> op_id + 1 (0: no such opcode), built at compile time. */
static const uint16_t map_single[256] = {
#define OP(id, n, c, i, s, a) [c] = WM_OP_##id + 1,
#define OPFC(...)
#define OPFD(...)
#define OPFE(...)
#include "wasm/opcodes.def"
#undef OP
#undef OPFC
#undef OPFD
#undef OPFE
};

static const uint16_t map_fc[256] = {
#define OP(...)
#define OPFC(id, n, c, i, s, a) [c] = WM_OP_##id + 1,
#define OPFD(...)
#define OPFE(...)
#include "wasm/opcodes.def"
#undef OP
#undef OPFC
#undef OPFD
#undef OPFE
};

static const uint16_t map_fd[0x114] = {
#define OP(...)
#define OPFC(...)
#define OPFD(id, n, c, i, s, a) [c] = WM_OP_##id + 1,
#define OPFE(...)
#include "wasm/opcodes.def"
#undef OP
#undef OPFC
#undef OPFD
#undef OPFE
};

static const uint16_t map_fe[0x4f] = {
#define OP(...)
#define OPFC(...)
#define OPFD(...)
#define OPFE(id, n, c, i, s, a) [c] = WM_OP_##id + 1,
#include "wasm/opcodes.def"
#undef OP
#undef OPFC
#undef OPFD
#undef OPFE
};

void wm_ins_reader_init(struct wm_ins_reader *ir, const struct wm_rd *rd)
{
    ir->rd = *rd;
    ir->labels = NULL;
    ir->cap = 0;
    ir->uses_data_index = false;
    ir->m = NULL;
}

const wm_valtype *wm_valtype_one(wm_valtype t)
{
    static const wm_valtype ones[] = { WM_I32, WM_I64, WM_F32, WM_F64, WM_V128,
                                       WM_FUNCREF, WM_EXTERNREF };
    for (size_t i = 0; i < sizeof ones / sizeof *ones; i++)
        if (ones[i] == t)
            return &ones[i];
    return NULL;
}

int wm_block_type(const struct wm_module *m, const struct wm_ins *in,
                  struct wm_functype *out)
{
    *out = (struct wm_functype){ 0, 0, NULL, NULL };
    if (in->u.block.kind == WM_BT_VAL) {
        out->results = wm_valtype_one(in->u.block.val);
        out->nresults = out->results != NULL;
    } else if (in->u.block.kind == WM_BT_TYPE) {
        if (in->u.block.type >= m->ntypes)
            return -1;
        *out = m->types[in->u.block.type];
    }
    return 0;
}

void wm_ins_reader_init_func(struct wm_ins_reader *ir, const struct wm_module *m,
                             uint32_t func, struct wm_error *err)
{
    const struct wm_func *f = &m->funcs[func - m->nfunc_imports];
    struct wm_rd r = { m->bytes, f->code_offset, f->code_offset + f->code_len,
                       func, err };
    wm_ins_reader_init(ir, &r);
    ir->m = m;
}

void wm_ins_reader_deinit(struct wm_ins_reader *ir)
{
    free(ir->labels);
    ir->labels = NULL;
    ir->cap = 0;
}

/* Opcodes of proposals awsm does not implement, so that a module using one
 * hears which feature it needs rather than only "illegal opcode". prefix
 * 0: a single byte; sub UINT32_MAX: the whole prefix. Of exception
 * handling, only the exnref version's: the legacy instructions (try,
 * catch, ...) are read, and the validator tells (WM_FEATURE_EXCEPTIONS). */
static const struct {
    uint8_t prefix;
    uint32_t sub;
    const char *name, *proposal;
} unsupported[] = {
    {0, 0x0a, "throw_ref", "exception-handling (exnref)"},
    {0, 0x1f, "try_table", "exception-handling (exnref)"},
    {0, 0x14, "call_ref", "function-references"},
    {0, 0x15, "return_call_ref", "function-references"},
    {0, 0xd3, "ref.eq", "gc"}, {0, 0xd4, "ref.as_non_null", "function-references"},
    {0, 0xd5, "br_on_null", "function-references"},
    {0, 0xd6, "br_on_non_null", "function-references"},
    {0xfb, UINT32_MAX, "0xfb instructions", "gc"},
    {0xfd, 0x114, "f32x4.relaxed_dot_bf16x8_add_f32x4",
     "relaxed-simd (withdrawn from it)"},
};

static int unknown_opcode(struct wm_rd *r, size_t at, uint8_t prefix, uint32_t sub)
{
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++) {
        if (unsupported[i].prefix == prefix &&
            (unsupported[i].sub == sub || unsupported[i].sub == UINT32_MAX))
            return wm_rd_fail(r, at, "%s: the %s proposal is not supported",
                           unsupported[i].name, unsupported[i].proposal);
    }
    if (prefix == 0)
        return wm_rd_fail(r, at, "illegal opcode 0x%02x", sub);
    return wm_rd_fail(r, at, "illegal opcode 0x%02x 0x%x", prefix, sub);
}

static int read_opcode(struct wm_rd *r, uint16_t *op)
{
    size_t at = r->pos;
    uint8_t b;
    uint32_t sub;
    if (wm_rd_u8(r, &b))
        return -1;
    if (b == 0xfb)
        return unknown_opcode(r, at, b, 0);
    if (b != 0xfc && b != 0xfd && b != 0xfe) {
        if (!map_single[b])
            return unknown_opcode(r, at, 0, b);
        *op = map_single[b] - 1;
        return 0;
    }
    if (wm_rd_u32(r, &sub))
        return -1;
    const uint16_t *map = b == 0xfc ? map_fc : b == 0xfd ? map_fd : map_fe;
    uint32_t size = b == 0xfc ? sizeof map_fc / sizeof *map_fc
                  : b == 0xfd ? sizeof map_fd / sizeof *map_fd
                              : sizeof map_fe / sizeof *map_fe;
    if (sub >= size || !map[sub])
        return unknown_opcode(r, at, b, sub);
    *op = map[sub] - 1;
    return 0;
}

/* A memory index where Wasm 2.0 has a zero byte (memory.size, grow, fill,
 * copy, init): a u32, explicit unless it is that one byte. */
static int read_memidx(struct wm_rd *r, struct wm_ins *in, uint32_t *idx)
{
    size_t at = r->pos;
    if (wm_rd_u32(r, idx))
        return -1;
    if (r->pos != at + 1 || *idx != 0)
        in->mem_explicit = true;
    return 0;
}

static int read_blocktype(struct wm_rd *r, struct wm_ins *in)
{
    size_t at = r->pos;
    if (r->pos < r->end) {
        uint8_t b = r->base[r->pos];
        if (b == 0x40) {
            r->pos++;
            in->u.block.kind = WM_BT_EMPTY;
            return 0;
        }
        if (is_valtype(b)) {
            r->pos++;
            in->u.block.kind = WM_BT_VAL;
            in->u.block.val = b;
            return 0;
        }
    }
    int64_t x;
    if (wm_rd_s33(r, &x))
        return -1;
    if (x < 0)
        return wm_rd_fail(r, at, "malformed block type");
    in->u.block.kind = WM_BT_TYPE;
    in->u.block.type = (uint32_t)x;
    return 0;
}

static int read_br_table(struct wm_ins_reader *ir, struct wm_ins *in)
{
    struct wm_rd *r = &ir->rd;
    uint32_t n;
    if (wm_rd_count(r, &n, 1))
        return -1;
    if (n > ir->cap) {
        uint32_t *p = realloc(ir->labels, (size_t)n * sizeof *p);
        if (!p)
            return wm_fail(r->err, WM_ERR_NOMEM, r->pos, r->func,
                           "out of memory");
        ir->labels = p;
        ir->cap = n;
    }
    for (uint32_t i = 0; i < n; i++)
        if (wm_rd_u32(r, &ir->labels[i]))
            return -1;
    in->u.br_table.count = n;
    in->u.br_table.labels = ir->labels;
    return wm_rd_u32(r, &in->u.br_table.deflt);
}

/* align (bit 6: a memory index follows, multi-memory), [memory], offset:
 * a u64 for a 64-bit memory (memory64), else a u32. */
static int read_memarg(struct wm_ins_reader *ir, struct wm_ins *in)
{
    struct wm_rd *r = &ir->rd;
    if (wm_rd_u32(r, &in->u.mem.align))
        return -1;
    if (in->u.mem.align & 0x40) {
        in->u.mem.align &= ~0x40u;
        in->mem_explicit = true;
        if (wm_rd_u32(r, &in->mem))
            return -1;
    }
    if (ir->m != NULL && in->mem < wm_memory_count(ir->m) &&
        wm_memory_type(ir->m, in->mem)->is64)
        return wm_rd_u64(r, &in->u.mem.offset);
    uint32_t offset;
    if (wm_rd_u32(r, &offset))
        return -1;
    in->u.mem.offset = offset;
    return 0;
}

static int read_select_t(struct wm_rd *r, struct wm_ins *in)
{
    uint32_t n;
    if (wm_rd_count(r, &n, 1))
        return -1;
    in->u.select.count = n;
    in->u.select.type = 0;
    for (uint32_t i = 0; i < n; i++) {
        wm_valtype t;
        if (wm_rd_valtype(r, &t))
            return -1;
        if (i == 0)
            in->u.select.type = t;
    }
    return 0;
}

static int read_immediates(struct wm_ins_reader *ir, struct wm_ins *in)
{
    struct wm_rd *r = &ir->rd;
    const uint8_t *p;
    int32_t s32;
    int64_t s64;

    switch ((enum wm_op_imm)wm_op_table[in->op].imm) {
    case WM_IMM_NONE:
        return 0;
    case WM_IMM_BLOCK:
        return read_blocktype(r, in);
    case WM_IMM_BR_TABLE:
        return read_br_table(ir, in);
    case WM_IMM_LABEL: case WM_IMM_FUNC: case WM_IMM_LOCAL: case WM_IMM_GLOBAL:
    case WM_IMM_TABLE: case WM_IMM_ELEM: case WM_IMM_TAG:
        return wm_rd_u32(r, &in->u.idx);
    case WM_IMM_DATA:
        ir->uses_data_index = true;
        return wm_rd_u32(r, &in->u.idx);
    case WM_IMM_CALL_INDIRECT: case WM_IMM_TABLE_INIT: case WM_IMM_TABLE_COPY:
        return wm_rd_u32(r, &in->u.two.a) || wm_rd_u32(r, &in->u.two.b) ? -1 : 0;
    case WM_IMM_MEMARG:
        return read_memarg(ir, in);
    case WM_IMM_MEMARG_LANE:
        return read_memarg(ir, in) || wm_rd_u8(r, &in->u.mem.lane) ? -1 : 0;
    case WM_IMM_MEMIDX:
        return read_memidx(r, in, &in->mem);
    case WM_IMM_FENCE: {
        size_t at = r->pos;
        uint8_t b;
        if (wm_rd_u8(r, &b))
            return -1;
        return b == 0 ? 0 : wm_rd_fail(r, at, "atomic.fence: reserved byte 0x%02x "
                                       "is not zero", b);
    }
    case WM_IMM_MEMORY_INIT:
        ir->uses_data_index = true;
        return wm_rd_u32(r, &in->u.idx) || read_memidx(r, in, &in->mem) ? -1 : 0;
    case WM_IMM_MEMORY_COPY:
        return read_memidx(r, in, &in->mem) || read_memidx(r, in, &in->mem_src) ? -1 : 0;
    case WM_IMM_I32:
        if (wm_rd_s32(r, &s32))
            return -1;
        in->u.i32 = (uint32_t)s32;
        return 0;
    case WM_IMM_I64:
        if (wm_rd_s64(r, &s64))
            return -1;
        in->u.i64 = (uint64_t)s64;
        return 0;
    case WM_IMM_F32:
        return wm_rd_fixed32(r, &in->u.f32);
    case WM_IMM_F64:
        return wm_rd_fixed64(r, &in->u.f64);
    case WM_IMM_V128: case WM_IMM_SHUFFLE:
        if (wm_rd_bytes(r, 16, &p))
            return -1;
        for (int i = 0; i < 16; i++)
            in->u.v128[i] = p[i];
        return 0;
    case WM_IMM_SELECT_T:
        return read_select_t(r, in);
    case WM_IMM_REFTYPE:
        return wm_rd_reftype(r, &in->u.reftype);
    case WM_IMM_LANE:
        return wm_rd_u8(r, &in->u.lane);
    }
    return wm_rd_fail(r, in->offset, "internal error: bad immediate kind");
}

int wm_ins_read(struct wm_ins_reader *ir, struct wm_ins *in)
{
    in->offset = ir->rd.pos;
    in->mem = in->mem_src = 0;
    in->mem_explicit = false;
    if (read_opcode(&ir->rd, &in->op))
        return -1;
    return read_immediates(ir, in);
}
