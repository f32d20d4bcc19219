/*
 * compiler/cg_memory.c - linear memory: loads, stores, memory.size/grow and
 * the bulk operations.
 *
 * Addresses are 64-bit: zext(index) + offset can't wrap, and stays below
 * 8 GiB. In guard mode (the default) that is all: the reservation is 8 GiB,
 * so an access past the committed pages faults and the runtime's signal
 * handler turns the fault into "out of bounds memory access". In checked
 * mode each access first compares its end with the memory's current size.
 * Guard mode checks too when memory 0 is defined with a small maximum
 * (CG_BOUNDED_MAX_BYTES): a reservation per memory is what keeps a
 * process from holding 100,000 of them (8 GiB each; 128 TiB of address
 * space), and the runtime packs such memories into slabs.
 * Bulk operations always check first: they must trap before writing.
 */
#include <stdlib.h>
#include <string.h>

#include "compiler/cg.h"

/* The cap on memory 0 in pages: the option, else the environment's. */
static uint64_t option_max_pages(const struct cg_options *opt)
{
    if (opt->max_memory_pages != 0)
        return opt->max_memory_pages;
    const char *env = getenv(CG_MAX_MEMORY_PAGES_ENV);
    char *end;
    unsigned long long v = env != NULL ? strtoull(env, &end, 10) : 0;
    return env != NULL && *env != '\0' && *end == '\0' && v <= WM_MAX_PAGES ? v : 0;
}

void cg_memory_plan(struct cg_module *cm)
{
    const struct wm_module *m = cm->m;
    cm->checked = cm->opt->bounds == AWSM_BOUNDS_CHECKED;
    cm->guard_faults = false;
    cm->any_shared = false;
    cm->mem_reach = 0;
    if (wm_memory_count(m) == 0)
        return;
    for (uint32_t i = 0; i < wm_memory_count(m); i++)
        cm->any_shared = cm->any_shared || wm_memory_type(m, i)->shared;
    const struct wm_limits *l = &wm_memory_type(m, 0)->limits;
    uint64_t max = l->has_max ? l->max : WM_MAX_PAGES;
    uint64_t cap = m->nmemory_imports == 0 ? option_max_pages(cm->opt) : 0;
    if (cap != 0 && cap < max)
        max = cap;
    uint64_t bytes = max * WM_PAGE_SIZE;
    if (m->nmemory_imports == 0 && bytes <= CG_BOUNDED_MAX_BYTES)
        cm->checked = true;
    if (wm_memory_type(m, 0)->is64) {
        /* memory64: checked, within a reservation (runtime/memory.c). */
        uint64_t max64 = l->has_max ? l->max : WM_MAX_PAGES64;
        bytes = max64 < (AWSM_GUARD_RESERVATION - WM_PAGE_SIZE) / WM_PAGE_SIZE
                ? max64 * WM_PAGE_SIZE : AWSM_GUARD_RESERVATION - WM_PAGE_SIZE;
        if (cap != 0 && cap * WM_PAGE_SIZE < bytes)
            bytes = cap * WM_PAGE_SIZE;
        cm->checked = true;
    }
    cm->mem_reach = cm->checked ? bytes : AWSM_GUARD_RESERVATION;
    cm->guard_faults = !cm->checked || (wm_memory_count(m) > 1 &&
                                        cm->opt->bounds != AWSM_BOUNDS_CHECKED);
}

bool cg_mem_is64(const struct cg_module *cm, uint32_t mem)
{
    return wm_memory_type(cm->m, mem)->is64;
}

LLVMValueRef cg_to_i64(struct cg_func *f, LLVMValueRef v)
{
    return LLVMTypeOf(v) == f->cm->i64 ? v : LLVMBuildZExt(f->b, v, f->cm->i64, "");
}

bool cg_mem_checked(const struct cg_module *cm, uint32_t mem)
{
    return mem == 0 ? cm->checked
                    : cm->opt->bounds == AWSM_BOUNDS_CHECKED || cg_mem_is64(cm, mem);
}

bool cg_mem_shared(const struct cg_module *cm, uint32_t mem)
{
    return wm_memory_type(cm->m, mem)->shared;
}

LLVMValueRef cg_mem_pointer(struct cg_func *f, uint32_t mem, LLVMValueRef ea)
{
    return LLVMBuildGEP2(f->b, f->cm->i8, f->mem_bases[mem], &ea, 1, "");
}

/* A shared memory's size may grow under the code's feet (another thread's
 * memory.grow): its loads are atomic, so none is merged or hoisted past
 * another. */
static LLVMValueRef memory_size_bytes(struct cg_func *f, uint32_t mem)
{
    LLVMValueRef off = cg_const_i64(f, offsetof(struct awsm_memory, size));
    LLVMValueRef p = LLVMBuildGEP2(f->b, f->cm->i8, f->memories[mem], &off, 1, "");
    LLVMValueRef size = LLVMBuildLoad2(f->b, f->cm->i64, p, "mem_size");
    if (cg_mem_shared(f->cm, mem)) {
        LLVMSetOrdering(size, LLVMAtomicOrderingMonotonic);
        LLVMSetAlignment(size, 8);
    }
    return cg_tag_runtime(f->cm, size);
}

void cg_check_range(struct cg_func *f, uint32_t mem, LLVMValueRef ea, LLVMValueRef len)
{
    LLVMValueRef size = memory_size_bytes(f, mem);
    if (!cg_mem_is64(f->cm, mem)) {         /* zero-extended: no overflow */
        LLVMValueRef end = LLVMBuildAdd(f->b, ea, len, "");
        cg_trap_if(f, LLVMBuildICmp(f->b, LLVMIntUGT, end, size, ""),
                   AWSM_TRAP_MEMORY_OOB);
        return;
    }
    /* 64-bit operands: len > size, or ea > size - len, without wrapping. */
    LLVMValueRef over = LLVMBuildOr(f->b,
        LLVMBuildICmp(f->b, LLVMIntUGT, len, size, ""),
        LLVMBuildICmp(f->b, LLVMIntUGT, ea, LLVMBuildSub(f->b, size, len, ""), ""), "");
    cg_trap_if(f, over, AWSM_TRAP_MEMORY_OOB);
}

LLVMValueRef cg_effective_address(struct cg_func *f, LLVMValueRef index, uint64_t offset)
{
    index = cg_to_i64(f, index);
    return offset ? LLVMBuildAdd(f->b, index, cg_const_i64(f, offset), "ea") : index;
}

void cg_check_access(struct cg_func *f, uint32_t mem, LLVMValueRef index,
                     LLVMValueRef ea, uint64_t offset, unsigned len)
{
    if (!cg_mem_is64(f->cm, mem)) {         /* zero-extended: no overflow */
        cg_check_range(f, mem, ea, cg_const_i64(f, len));
        return;
    }
    /* index + (offset + len) <= size; offset + len past 2^64 never fits. */
    if (offset > UINT64_MAX - len)
        cg_trap_if(f, LLVMConstInt(LLVMInt1TypeInContext(f->cm->ctx), 1, false),
                   AWSM_TRAP_MEMORY_OOB);
    else
        cg_check_range(f, mem, index, cg_const_i64(f, offset + len));
}

/* The address of an access of `size` bytes by instruction `in` (its
 * memory, its offset) at index: checked, or left to the guard region. */
static LLVMValueRef address(struct cg_func *f, const struct wm_ins *in,
                            LLVMValueRef index, unsigned size)
{
    LLVMValueRef ea = cg_effective_address(f, index, in->u.mem.offset);
    if (cg_mem_checked(f->cm, in->mem))
        cg_check_access(f, in->mem, index, ea, in->u.mem.offset, size);
    return cg_mem_pointer(f, in->mem, ea);
}

/* Access width in bytes and the in-memory type of each load and store. */
static unsigned access_bits(uint16_t op)
{
    switch (op) {
    case WM_OP_I32_LOAD8_S: case WM_OP_I32_LOAD8_U: case WM_OP_I64_LOAD8_S:
    case WM_OP_I64_LOAD8_U: case WM_OP_I32_STORE8: case WM_OP_I64_STORE8:
        return 8;
    case WM_OP_I32_LOAD16_S: case WM_OP_I32_LOAD16_U: case WM_OP_I64_LOAD16_S:
    case WM_OP_I64_LOAD16_U: case WM_OP_I32_STORE16: case WM_OP_I64_STORE16:
        return 16;
    case WM_OP_I64_LOAD32_S: case WM_OP_I64_LOAD32_U: case WM_OP_I64_STORE32:
    case WM_OP_I32_LOAD: case WM_OP_F32_LOAD: case WM_OP_I32_STORE: case WM_OP_F32_STORE:
        return 32;
    default:
        return 64;
    }
}

static bool is_signed_load(uint16_t op)
{
    return op == WM_OP_I32_LOAD8_S || op == WM_OP_I32_LOAD16_S || op == WM_OP_I64_LOAD8_S ||
           op == WM_OP_I64_LOAD16_S || op == WM_OP_I64_LOAD32_S;
}

static LLVMTypeRef value_type(struct cg_func *f, char c)
{
    switch (c) {
    case 'i': return f->cm->i32;
    case 'l': return f->cm->i64;
    case 'f': return f->cm->f32;
    default: return f->cm->f64;
    }
}

static int cg_load(struct cg_func *f, const struct wm_ins *in)
{
    const char *sig = wm_op_table[in->op].sig;        /* "i:T" */
    LLVMTypeRef t = value_type(f, sig[2]);
    unsigned bits = access_bits(in->op);
    bool narrow = LLVMGetTypeKind(t) == LLVMIntegerTypeKind &&
                  bits < LLVMGetIntTypeWidth(t);
    LLVMTypeRef mt = narrow ? LLVMIntTypeInContext(f->cm->ctx, bits) : t;
    LLVMValueRef p = address(f, in, cg_pop(f), bits / 8);
    LLVMValueRef v = cg_tag_memory(f->cm, LLVMBuildLoad2(f->b, mt, p, ""));
    LLVMSetAlignment(v, 1);
    if (narrow)
        v = is_signed_load(in->op) ? LLVMBuildSExt(f->b, v, t, "")
                                   : LLVMBuildZExt(f->b, v, t, "");
    cg_push(f, v);
    return 0;
}

static int cg_store(struct cg_func *f, const struct wm_ins *in)
{
    unsigned bits = access_bits(in->op);
    LLVMValueRef v = cg_pop(f);
    LLVMTypeRef t = LLVMTypeOf(v);
    if (LLVMGetTypeKind(t) == LLVMIntegerTypeKind && bits < LLVMGetIntTypeWidth(t))
        v = LLVMBuildTrunc(f->b, v, LLVMIntTypeInContext(f->cm->ctx, bits), "");
    LLVMValueRef p = address(f, in, cg_pop(f), bits / 8);
    LLVMSetAlignment(cg_tag_memory(f->cm, LLVMBuildStore(f->b, v, p)), 1);
    return 0;
}

/* ===== SIMD loads and stores =========================================== */

/* How a v128 load reads memory: `bits` per lane, `lanes` of them. */
struct v128_access {
    uint16_t op;
    uint8_t bits, lanes;
    enum { VA_FULL, VA_EXTEND_S, VA_EXTEND_U, VA_SPLAT, VA_ZERO, VA_LANE } how;
};

static const struct v128_access v128_accesses[] = {
    { WM_OP_V128_LOAD, 64, 2, VA_FULL }, { WM_OP_V128_STORE, 64, 2, VA_FULL },
    { WM_OP_V128_LOAD8X8_S, 8, 8, VA_EXTEND_S }, { WM_OP_V128_LOAD8X8_U, 8, 8, VA_EXTEND_U },
    { WM_OP_V128_LOAD16X4_S, 16, 4, VA_EXTEND_S }, { WM_OP_V128_LOAD16X4_U, 16, 4, VA_EXTEND_U },
    { WM_OP_V128_LOAD32X2_S, 32, 2, VA_EXTEND_S }, { WM_OP_V128_LOAD32X2_U, 32, 2, VA_EXTEND_U },
    { WM_OP_V128_LOAD8_SPLAT, 8, 16, VA_SPLAT }, { WM_OP_V128_LOAD16_SPLAT, 16, 8, VA_SPLAT },
    { WM_OP_V128_LOAD32_SPLAT, 32, 4, VA_SPLAT }, { WM_OP_V128_LOAD64_SPLAT, 64, 2, VA_SPLAT },
    { WM_OP_V128_LOAD32_ZERO, 32, 4, VA_ZERO }, { WM_OP_V128_LOAD64_ZERO, 64, 2, VA_ZERO },
    { WM_OP_V128_LOAD8_LANE, 8, 16, VA_LANE }, { WM_OP_V128_LOAD16_LANE, 16, 8, VA_LANE },
    { WM_OP_V128_LOAD32_LANE, 32, 4, VA_LANE }, { WM_OP_V128_LOAD64_LANE, 64, 2, VA_LANE },
    { WM_OP_V128_STORE8_LANE, 8, 16, VA_LANE }, { WM_OP_V128_STORE16_LANE, 16, 8, VA_LANE },
    { WM_OP_V128_STORE32_LANE, 32, 4, VA_LANE }, { WM_OP_V128_STORE64_LANE, 64, 2, VA_LANE },
};

static const struct v128_access *v128_access_of(uint16_t op)
{
    for (size_t i = 0; i < sizeof v128_accesses / sizeof *v128_accesses; i++)
        if (v128_accesses[i].op == op)
            return &v128_accesses[i];
    return NULL;
}

static LLVMValueRef load_bytes(struct cg_func *f, LLVMTypeRef t, LLVMValueRef p)
{
    LLVMValueRef v = cg_tag_memory(f->cm, LLVMBuildLoad2(f->b, t, p, ""));
    LLVMSetAlignment(v, 1);
    return v;
}

static LLVMValueRef simd_load(struct cg_func *f, const struct wm_ins *in,
                              const struct v128_access *a)
{
    struct cg_module *cm = f->cm;
    LLVMTypeRef lane = LLVMIntTypeInContext(cm->ctx, a->bits);
    LLVMTypeRef vt = cg_vec_type(cm, a->bits, false, a->lanes);
    LLVMValueRef vec = a->how == VA_LANE ? LLVMBuildBitCast(f->b, cg_pop(f), vt, "") : NULL;
    unsigned bytes = a->how == VA_FULL ? 16 : a->how == VA_EXTEND_S ||
                     a->how == VA_EXTEND_U ? 8 : a->bits / 8;
    LLVMValueRef p = address(f, in, cg_pop(f), bytes);
    switch (a->how) {
    case VA_FULL:
        return load_bytes(f, cm->v128, p);
    case VA_EXTEND_S:
    case VA_EXTEND_U: {
        LLVMValueRef v = load_bytes(f, vt, p);
        LLVMTypeRef wt = cg_vec_type(cm, a->bits * 2, false, a->lanes);
        return a->how == VA_EXTEND_S ? LLVMBuildSExt(f->b, v, wt, "")
                                     : LLVMBuildZExt(f->b, v, wt, "");
    }
    case VA_SPLAT:
        return cg_splat(f, load_bytes(f, lane, p), vt);
    case VA_ZERO:
        return LLVMBuildInsertElement(f->b, LLVMConstNull(vt), load_bytes(f, lane, p),
                                      cg_const_i32(f, 0), "");
    default:
        return LLVMBuildInsertElement(f->b, vec, load_bytes(f, lane, p),
                                      cg_const_i32(f, in->u.mem.lane), "");
    }
}

static void simd_store(struct cg_func *f, const struct wm_ins *in,
                       const struct v128_access *a)
{
    LLVMValueRef v = cg_pop(f);
    if (a->how == VA_LANE) {
        LLVMTypeRef vt = cg_vec_type(f->cm, a->bits, false, a->lanes);
        v = LLVMBuildExtractElement(f->b, LLVMBuildBitCast(f->b, v, vt, ""),
                                    cg_const_i32(f, in->u.mem.lane), "");
    }
    unsigned bytes = a->how == VA_LANE ? a->bits / 8 : 16;
    LLVMValueRef p = address(f, in, cg_pop(f), bytes);
    LLVMSetAlignment(cg_tag_memory(f->cm, LLVMBuildStore(f->b, v, p)), 1);
}

static int cg_simd_memory(struct cg_func *f, const struct wm_ins *in)
{
    const struct v128_access *a = v128_access_of(in->op);
    if (a == NULL)
        return cg_fail(f->cm, "func %u: SIMD instruction %s is not supported yet",
                       f->index, wm_op_table[in->op].name);
    const char *sig = wm_op_table[in->op].sig;
    if (sig[strlen(sig) - 1] == ':') {
        simd_store(f, in, a);
        return 0;
    }
    LLVMValueRef v = simd_load(f, in, a);
    cg_push(f, LLVMBuildBitCast(f->b, v, f->cm->v128, ""));
    return 0;
}

/* memory.fill / memory.copy: check every range, then call the intrinsic
 * (the host's memset/memmove). */
static void cg_fill(struct cg_func *f, uint32_t mem)
{
    struct cg_module *cm = f->cm;
    LLVMValueRef n = cg_to_i64(f, cg_pop(f));
    LLVMValueRef val = LLVMBuildTrunc(f->b, cg_pop(f), cm->i8, "");
    LLVMValueRef d = cg_to_i64(f, cg_pop(f));
    cg_check_range(f, mem, d, n);
    LLVMValueRef p = cg_mem_pointer(f, mem, d);
    LLVMSetAlignment(LLVMBuildMemSet(f->b, p, val, n, 1), 1);
}

static void cg_copy(struct cg_func *f, uint32_t dst_mem, uint32_t src_mem)
{
    LLVMValueRef n = cg_to_i64(f, cg_pop(f));
    LLVMValueRef s = cg_to_i64(f, cg_pop(f));
    LLVMValueRef d = cg_to_i64(f, cg_pop(f));
    cg_check_range(f, src_mem, s, n);
    cg_check_range(f, dst_mem, d, n);
    LLVMValueRef ps = cg_mem_pointer(f, src_mem, s);
    LLVMValueRef pd = cg_mem_pointer(f, dst_mem, d);
    LLVMBuildMemMove(f->b, pd, 1, ps, 1, n);
}

int cg_memory(struct cg_func *f, const struct wm_ins *in)
{
    struct cg_module *cm = f->cm;
    const char *sig = wm_op_table[in->op].sig;
    LLVMValueRef args[5];

    if (wm_op_table[in->op].prefix == 0xfd)
        return cg_simd_memory(f, in);
    if (wm_op_table[in->op].prefix == 0xfe)
        return cg_atomic(f, in);
    switch (in->op) {
    case WM_OP_MEMORY_SIZE: {
        LLVMValueRef pages = LLVMBuildLShr(f->b, memory_size_bytes(f, in->mem),
                                           cg_const_i64(f, 16), "");
        cg_push(f, cg_mem_is64(cm, in->mem) ? pages : LLVMBuildTrunc(f->b, pages, cm->i32, ""));
        return 0;
    }
    case WM_OP_MEMORY_GROW: {
        args[0] = cg_to_i64(f, cg_pop(f));
        args[1] = cg_const_i32(f, in->mem);
        LLVMValueRef old = cg_call_rt(f, offsetof(struct awsm_rt_api, memory_grow),
                                      cm->i64, args, 2);
        cg_push(f, cg_mem_is64(cm, in->mem) ? old : LLVMBuildTrunc(f->b, old, cm->i32, ""));
        return 0;
    }
    case WM_OP_MEMORY_FILL:
        cg_fill(f, in->mem);
        return 0;
    case WM_OP_MEMORY_COPY:
        cg_copy(f, in->mem, in->mem_src);
        return 0;
    case WM_OP_MEMORY_INIT:
        args[3] = cg_pop(f);
        args[2] = cg_pop(f);
        args[1] = cg_to_i64(f, cg_pop(f));
        args[0] = cg_const_i32(f, in->u.idx);
        args[4] = cg_const_i32(f, in->mem);
        cg_call_rt(f, offsetof(struct awsm_rt_api, memory_init), cm->void_t, args, 5);
        return 0;
    case WM_OP_DATA_DROP:
        args[0] = cg_const_i32(f, in->u.idx);
        cg_call_rt(f, offsetof(struct awsm_rt_api, data_drop), cm->void_t, args, 1);
        return 0;
    default:
        break;
    }
    return sig[1] == ':' ? cg_load(f, in) : cg_store(f, in);
}
