/*
 * compiler/cg_simd.c - the 128-bit SIMD instructions but loads and stores
 * (cg_memory.c): constants, lanes, shuffles, integer and float lane
 * arithmetic, comparisons and conversions (spec 4.3.4), and relaxed SIMD
 * in the spec's deterministic profile.
 *
 * A v128 value is <2 x i64> on the value stack, in locals and across calls;
 * each instruction bitcasts its operands to its shape (<16 x i8>, <4 x
 * float>...) and its result back, which LLVM folds away. Everything is
 * plain LLVM vector IR or a generic intrinsic, so the x86 backend picks the
 * SSE/AVX instructions; only the spec's corners get extra code: float
 * min/max quiet their NaNs as the scalar ones do, q15mulr saturates the one
 * overflowing product, swizzle zeroes lanes whose index is 16 or more,
 * trunc_sat blends in the bounds (LLVM's saturating conversions are
 * scalarised on x86).
 *
 * One table row per instruction: its shape, a handler and the handler's
 * parameter (an LLVM opcode, predicate or intrinsic name).
 */
#include <string.h>

#include "compiler/cg.h"

enum shape { S_I8, S_I16, S_I32, S_I64, S_F32, S_F64 };

struct simd_row;
typedef LLVMValueRef (*simd_fn)(struct cg_func *f, const struct simd_row *r,
                                LLVMValueRef *a);

struct simd_row {
    uint16_t op;
    uint8_t shape;
    simd_fn fn;
    int p;                          /* opcode, predicate, flags */
    const char *name;               /* intrinsic */
};

/* ===== Helpers ========================================================== */

LLVMTypeRef cg_vec_type(struct cg_module *cm, unsigned lane_bits, bool is_float,
                        unsigned lanes)
{
    LLVMTypeRef e;
    if (is_float)
        e = lane_bits == 32 ? cm->f32 : cm->f64;
    else
        e = LLVMIntTypeInContext(cm->ctx, lane_bits);
    return LLVMVectorType(e, lanes);
}

static LLVMTypeRef shape_type(struct cg_module *cm, unsigned s)
{
    static const struct { unsigned bits, lanes; bool fl; } shapes[] = {
        [S_I8] = {8, 16, false}, [S_I16] = {16, 8, false},
        [S_I32] = {32, 4, false}, [S_I64] = {64, 2, false},
        [S_F32] = {32, 4, true}, [S_F64] = {64, 2, true},
    };
    return cg_vec_type(cm, shapes[s].bits, shapes[s].fl, shapes[s].lanes);
}

static LLVMValueRef cast(struct cg_func *f, LLVMValueRef v, LLVMTypeRef t)
{
    return LLVMTypeOf(v) == t ? v : LLVMBuildBitCast(f->b, v, t, "");
}

static LLVMValueRef as_shape(struct cg_func *f, LLVMValueRef v, unsigned s)
{
    return cast(f, v, shape_type(f->cm, s));
}

/* The same lanes as integers (for masks and bit tricks). */
static LLVMTypeRef int_lanes(struct cg_module *cm, LLVMTypeRef vt)
{
    LLVMTypeRef e = LLVMGetElementType(vt);
    unsigned bits = e == cm->f32 ? 32 : e == cm->f64 ? 64 : LLVMGetIntTypeWidth(e);
    return cg_vec_type(cm, bits, false, LLVMGetVectorSize(vt));
}

static LLVMValueRef lane_index(struct cg_func *f, unsigned i)
{
    return cg_const_i32(f, i);
}

/* A shufflevector mask: first, first + step, ... (n lanes). */
static LLVMValueRef mask_seq(struct cg_func *f, unsigned first, unsigned step,
                             unsigned n)
{
    LLVMValueRef m[32];
    for (unsigned i = 0; i < n; i++)
        m[i] = cg_const_i32(f, first + i * step);
    return LLVMConstVector(m, n);
}

static LLVMValueRef pick(struct cg_func *f, LLVMValueRef a, LLVMValueRef b,
                         unsigned first, unsigned step, unsigned n)
{
    return LLVMBuildShuffleVector(f->b, a, b ? b : LLVMGetPoison(LLVMTypeOf(a)),
                                  mask_seq(f, first, step, n), "");
}

LLVMValueRef cg_splat(struct cg_func *f, LLVMValueRef x, LLVMTypeRef vt)
{
    LLVMTypeRef e = LLVMGetElementType(vt);
    if (LLVMTypeOf(x) != e)
        x = LLVMBuildTrunc(f->b, x, e, "");
    LLVMValueRef v = LLVMBuildInsertElement(f->b, LLVMGetPoison(vt), x,
                                            lane_index(f, 0), "");
    LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(f->cm->i32,
                                                      LLVMGetVectorSize(vt)));
    return LLVMBuildShuffleVector(f->b, v, LLVMGetPoison(vt), zeros, "");
}

/* A two-operand x86 intrinsic by name (operands of one type, result ret);
 * only where cm->x86, i.e. SSSE3 at least. */
static LLVMValueRef x86_call(struct cg_func *f, const char *name, LLVMTypeRef ret,
                             LLVMValueRef x, LLVMValueRef y)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    LLVMTypeRef fty = LLVMFunctionType(ret, (LLVMTypeRef[]){ t, t }, 2, false);
    LLVMValueRef fn = LLVMGetNamedFunction(f->cm->mod, name);
    if (fn == NULL)
        fn = LLVMAddFunction(f->cm->mod, name, fty);
    return LLVMBuildCall2(f->b, fty, fn, (LLVMValueRef[]){ x, y }, 2, "");
}

/* Clamp integer lanes to [lo, hi] (signed). */
static LLVMValueRef clamp_s(struct cg_func *f, LLVMValueRef x, long long lo,
                            long long hi)
{
    LLVMTypeRef t = LLVMTypeOf(x), e = LLVMGetElementType(t);
    LLVMValueRef l = cg_splat(f, LLVMConstInt(e, (unsigned long long)lo, true), t);
    LLVMValueRef h = cg_splat(f, LLVMConstInt(e, (unsigned long long)hi, true), t);
    return cg_intrinsic2(f, "llvm.smin", cg_intrinsic2(f, "llvm.smax", x, l), h);
}

/* Half the lanes (low or high), each widened to twice its width. */
static LLVMValueRef widen_half(struct cg_func *f, LLVMValueRef v, bool high,
                               bool is_signed)
{
    LLVMTypeRef t = LLVMTypeOf(v);
    unsigned n = LLVMGetVectorSize(t) / 2;
    unsigned bits = LLVMGetIntTypeWidth(LLVMGetElementType(t));
    LLVMValueRef h = pick(f, v, NULL, high ? n : 0, 1, n);
    LLVMTypeRef wt = cg_vec_type(f->cm, bits * 2, false, n);
    return is_signed ? LLVMBuildSExt(f->b, h, wt, "") : LLVMBuildZExt(f->b, h, wt, "");
}

/* ===== NaN ============================================================== */

/* Set the quiet bit of every NaN lane: min/max and folded identities (see
 * canonicalize() in cg_numeric.c for the scalar story). */
static LLVMValueRef quiet_nans(struct cg_func *f, LLVMValueRef x)
{
    LLVMTypeRef t = LLVMTypeOf(x), it = int_lanes(f->cm, t);
    bool is64 = LLVMGetElementType(t) == f->cm->f64;
    LLVMValueRef q = LLVMConstInt(LLVMGetElementType(it),
                                  is64 ? 1ull << 51 : 1ull << 22, false);
    LLVMValueRef bits = LLVMBuildBitCast(f->b, x, it, "");
    LLVMValueRef quiet = LLVMBuildBitCast(f->b,
        LLVMBuildOr(f->b, bits, cg_splat(f, q, it), ""), t, "");
    LLVMValueRef nan = LLVMBuildFCmp(f->b, LLVMRealUNO, x, x, "");
    return LLVMBuildSelect(f->b, nan, quiet, x, "");
}

/* ===== Handlers ========================================================= */

static LLVMValueRef h_const(struct cg_func *f, const struct simd_row *r,
                            LLVMValueRef *a)
{
    (void)r, (void)a;
    uint64_t w[2];
    memcpy(w, f->in->u.v128, 16);           /* little-endian lanes */
    LLVMValueRef e[2] = { cg_const_i64(f, w[0]), cg_const_i64(f, w[1]) };
    return LLVMConstVector(e, 2);
}

/* A constant vector with a lane LLVM may fold away as an identity: x+-0,
 * x*1, x*-1, x/1 become x or -x, which would pass a signalling NaN through.
 * Lanes it cannot read count as identities. */
static bool has_identity_lane(LLVMValueRef v)
{
    if (!LLVMIsConstant(v))
        return false;
    unsigned n = LLVMGetVectorSize(LLVMTypeOf(v));
    for (unsigned i = 0; i < n; i++) {
        LLVMValueRef e = LLVMGetAggregateElement(v, i);
        LLVMBool lossy;
        double d = e != NULL && LLVMIsAConstantFP(e) ? LLVMConstRealGetDouble(e, &lossy)
                                                     : 0.0;
        if (d == 0.0 || d == 1.0 || d == -1.0)
            return true;
    }
    return false;
}

static LLVMValueRef h_binop(struct cg_func *f, const struct simd_row *r,
                            LLVMValueRef *a)
{
    LLVMValueRef v = LLVMBuildBinOp(f->b, (LLVMOpcode)r->p, a[0], a[1], "");
    bool is_float = r->shape == S_F32 || r->shape == S_F64;
    if (is_float && (has_identity_lane(a[0]) || has_identity_lane(a[1])))
        v = quiet_nans(f, v);
    return v;
}

static LLVMValueRef h_not(struct cg_func *f, const struct simd_row *r,
                          LLVMValueRef *a)
{
    (void)r;
    return LLVMBuildNot(f->b, a[0], "");
}

static LLVMValueRef h_andnot(struct cg_func *f, const struct simd_row *r,
                             LLVMValueRef *a)
{
    (void)r;
    return LLVMBuildAnd(f->b, a[0], LLVMBuildNot(f->b, a[1], ""), "");
}

static LLVMValueRef h_bitselect(struct cg_func *f, const struct simd_row *r,
                                LLVMValueRef *a)
{
    (void)r;
    LLVMValueRef t = LLVMBuildAnd(f->b, a[0], a[2], "");
    LLVMValueRef e = LLVMBuildAnd(f->b, a[1], LLVMBuildNot(f->b, a[2], ""), "");
    return LLVMBuildOr(f->b, t, e, "");
}

static LLVMValueRef h_icmp(struct cg_func *f, const struct simd_row *r,
                           LLVMValueRef *a)
{
    LLVMValueRef c = LLVMBuildICmp(f->b, (LLVMIntPredicate)r->p, a[0], a[1], "");
    return LLVMBuildSExt(f->b, c, LLVMTypeOf(a[0]), "");
}

static LLVMValueRef h_fcmp(struct cg_func *f, const struct simd_row *r,
                           LLVMValueRef *a)
{
    LLVMValueRef c = LLVMBuildFCmp(f->b, (LLVMRealPredicate)r->p, a[0], a[1], "");
    return LLVMBuildSExt(f->b, c, int_lanes(f->cm, LLVMTypeOf(a[0])), "");
}

static LLVMValueRef h_intr1(struct cg_func *f, const struct simd_row *r,
                            LLVMValueRef *a)
{
    return cg_intrinsic1(f, r->name, a[0]);
}

static LLVMValueRef h_intr2(struct cg_func *f, const struct simd_row *r,
                            LLVMValueRef *a)
{
    return cg_intrinsic2(f, r->name, a[0], a[1]);
}

static LLVMValueRef h_abs(struct cg_func *f, const struct simd_row *r,
                          LLVMValueRef *a)
{
    (void)r;
    LLVMValueRef no_poison = LLVMConstInt(LLVMInt1TypeInContext(f->cm->ctx), 0, false);
    return cg_intrinsic2(f, "llvm.abs", a[0], no_poison);
}

static LLVMValueRef h_neg(struct cg_func *f, const struct simd_row *r,
                          LLVMValueRef *a)
{
    if (r->shape == S_F32 || r->shape == S_F64)
        return LLVMBuildFNeg(f->b, a[0], "");
    return LLVMBuildNeg(f->b, a[0], "");
}

/* Shift counts are taken modulo the lane width. */
static LLVMValueRef h_shift(struct cg_func *f, const struct simd_row *r,
                            LLVMValueRef *a)
{
    LLVMTypeRef t = LLVMTypeOf(a[0]), e = LLVMGetElementType(t);
    unsigned bits = LLVMGetIntTypeWidth(e);
    LLVMValueRef n = LLVMBuildAnd(f->b, a[1], cg_const_i32(f, bits - 1), "");
    n = bits == 64 ? LLVMBuildZExt(f->b, n, e, "") : n;
    return LLVMBuildBinOp(f->b, (LLVMOpcode)r->p, a[0], cg_splat(f, n, t), "");
}

static LLVMValueRef h_splat(struct cg_func *f, const struct simd_row *r,
                            LLVMValueRef *a)
{
    return cg_splat(f, a[0], shape_type(f->cm, r->shape));
}

/* p: 0 as is, 1 sign-extend, 2 zero-extend to i32. */
static LLVMValueRef h_extract(struct cg_func *f, const struct simd_row *r,
                              LLVMValueRef *a)
{
    LLVMValueRef x = LLVMBuildExtractElement(f->b, a[0], lane_index(f, f->in->u.lane), "");
    if (r->p == 1)
        return LLVMBuildSExt(f->b, x, f->cm->i32, "");
    if (r->p == 2)
        return LLVMBuildZExt(f->b, x, f->cm->i32, "");
    return x;
}

static LLVMValueRef h_replace(struct cg_func *f, const struct simd_row *r,
                              LLVMValueRef *a)
{
    (void)r;
    LLVMTypeRef e = LLVMGetElementType(LLVMTypeOf(a[0]));
    LLVMValueRef x = LLVMTypeOf(a[1]) == e ? a[1] : LLVMBuildTrunc(f->b, a[1], e, "");
    return LLVMBuildInsertElement(f->b, a[0], x, lane_index(f, f->in->u.lane), "");
}

static LLVMValueRef h_any_true(struct cg_func *f, const struct simd_row *r,
                               LLVMValueRef *a)
{
    (void)r;
    LLVMTypeRef i128 = LLVMIntTypeInContext(f->cm->ctx, 128);
    LLVMValueRef x = LLVMBuildBitCast(f->b, a[0], i128, "");
    LLVMValueRef c = LLVMBuildICmp(f->b, LLVMIntNE, x, LLVMConstNull(i128), "");
    return LLVMBuildZExt(f->b, c, f->cm->i32, "");
}

/* The lanes' predicate as an n-bit integer, lane 0 in bit 0. */
static LLVMValueRef lane_bits(struct cg_func *f, LLVMValueRef cmp)
{
    unsigned n = LLVMGetVectorSize(LLVMTypeOf(cmp));
    return LLVMBuildBitCast(f->b, cmp, LLVMIntTypeInContext(f->cm->ctx, n), "");
}

static LLVMValueRef h_all_true(struct cg_func *f, const struct simd_row *r,
                               LLVMValueRef *a)
{
    (void)r;
    LLVMValueRef nz = LLVMBuildICmp(f->b, LLVMIntNE, a[0],
                                    LLVMConstNull(LLVMTypeOf(a[0])), "");
    LLVMValueRef bits = lane_bits(f, nz);
    LLVMValueRef all = LLVMBuildICmp(f->b, LLVMIntEQ, bits,
                                     LLVMConstAllOnes(LLVMTypeOf(bits)), "");
    return LLVMBuildZExt(f->b, all, f->cm->i32, "");
}

static LLVMValueRef h_bitmask(struct cg_func *f, const struct simd_row *r,
                              LLVMValueRef *a)
{
    (void)r;
    LLVMValueRef neg = LLVMBuildICmp(f->b, LLVMIntSLT, a[0],
                                     LLVMConstNull(LLVMTypeOf(a[0])), "");
    return LLVMBuildZExt(f->b, lane_bits(f, neg), f->cm->i32, "");
}

/* narrow: both operands' lanes, saturated to half the width (p: signed). */
static LLVMValueRef h_narrow(struct cg_func *f, const struct simd_row *r,
                             LLVMValueRef *a)
{
    LLVMTypeRef t = LLVMTypeOf(a[0]);
    unsigned n = LLVMGetVectorSize(t);
    unsigned bits = LLVMGetIntTypeWidth(LLVMGetElementType(t)) / 2;
    LLVMValueRef both = pick(f, a[0], a[1], 0, 1, 2 * n);
    long long lo = r->p ? -(1ll << (bits - 1)) : 0;
    long long hi = r->p ? (1ll << (bits - 1)) - 1 : (1ll << bits) - 1;
    LLVMValueRef c = clamp_s(f, both, lo, hi);
    return LLVMBuildTrunc(f->b, c, cg_vec_type(f->cm, bits, false, 2 * n), "");
}

/* p: 1 signed, 2 high half. */
static LLVMValueRef h_extend(struct cg_func *f, const struct simd_row *r,
                             LLVMValueRef *a)
{
    return widen_half(f, a[0], r->p & 2, r->p & 1);
}

static LLVMValueRef h_extmul(struct cg_func *f, const struct simd_row *r,
                             LLVMValueRef *a)
{
    LLVMValueRef x = widen_half(f, a[0], r->p & 2, r->p & 1);
    LLVMValueRef y = widen_half(f, a[1], r->p & 2, r->p & 1);
    return LLVMBuildMul(f->b, x, y, "");
}

/* Even and odd lanes, widened. */
static void even_odd(struct cg_func *f, LLVMValueRef v, bool is_signed,
                     LLVMValueRef *even, LLVMValueRef *odd)
{
    LLVMTypeRef t = LLVMTypeOf(v);
    unsigned n = LLVMGetVectorSize(t) / 2;
    unsigned bits = LLVMGetIntTypeWidth(LLVMGetElementType(t));
    LLVMTypeRef wt = cg_vec_type(f->cm, bits * 2, false, n);
    LLVMValueRef e = pick(f, v, NULL, 0, 2, n), o = pick(f, v, NULL, 1, 2, n);
    *even = is_signed ? LLVMBuildSExt(f->b, e, wt, "") : LLVMBuildZExt(f->b, e, wt, "");
    *odd = is_signed ? LLVMBuildSExt(f->b, o, wt, "") : LLVMBuildZExt(f->b, o, wt, "");
}

/* Pairs of 16-bit lanes on x86: pmaddwd by ones; unsigned lanes biased
 * by -32768 first (xor 0x8000), the two biases added back after. */
static LLVMValueRef extadd_i16_x86(struct cg_func *f, bool is_signed, LLVMValueRef x)
{
    LLVMTypeRef t = LLVMTypeOf(x), e = LLVMGetElementType(t);
    LLVMTypeRef it = LLVMVectorType(f->cm->i32, 4);
    if (!is_signed)
        x = LLVMBuildXor(f->b, x, cg_splat(f, LLVMConstInt(e, 0x8000, false), t), "");
    LLVMValueRef v = x86_call(f, "llvm.x86.sse2.pmadd.wd", it, x,
                              cg_splat(f, LLVMConstInt(e, 1, false), t));
    return is_signed ? v : LLVMBuildAdd(f->b, v, cg_splat(f, cg_const_i32(f, 0x10000), it), "");
}

/* Byte pairs on x86: pmaddubsw multiplies unsigned bytes of its first
 * operand by signed bytes of its second and adds pairs (no saturation
 * reachable with a factor of 1). */
static LLVMValueRef h_extadd(struct cg_func *f, const struct simd_row *r,
                             LLVMValueRef *a)
{
    LLVMTypeRef t = LLVMTypeOf(a[0]);
    if (f->cm->x86 && LLVMGetVectorSize(t) == 16) {
        LLVMValueRef ones = cg_splat(f, LLVMConstInt(f->cm->i8, 1, false), t);
        return x86_call(f, "llvm.x86.ssse3.pmadd.ub.sw.128", cg_vec_type(f->cm, 16, false, 8),
                        r->p ? ones : a[0], r->p ? a[0] : ones);
    }
    if (f->cm->x86)
        return extadd_i16_x86(f, r->p, a[0]);
    LLVMValueRef e, o;
    even_odd(f, a[0], r->p, &e, &o);
    return LLVMBuildAdd(f->b, e, o, "");
}

/* i32x4.dot_i16x8_s: products of lane pairs, added (pmaddwd). */
static LLVMValueRef h_dot(struct cg_func *f, const struct simd_row *r,
                          LLVMValueRef *a)
{
    (void)r;
    LLVMTypeRef wt = cg_vec_type(f->cm, 32, false, 8);
    LLVMValueRef p = LLVMBuildMul(f->b, LLVMBuildSExt(f->b, a[0], wt, ""),
                                  LLVMBuildSExt(f->b, a[1], wt, ""), "");
    return LLVMBuildAdd(f->b, pick(f, p, NULL, 0, 2, 4), pick(f, p, NULL, 1, 2, 4), "");
}

/* (a * b + 2^14) >> 15, saturated: only -32768 * -32768 overflows. x86's
 * pmulhrsw computes exactly that but wraps the overflow to 0x8000, which
 * no other product gives: flip it to 0x7fff. */
static LLVMValueRef h_q15mulr(struct cg_func *f, const struct simd_row *r,
                              LLVMValueRef *a)
{
    (void)r;
    if (f->cm->x86) {
        LLVMTypeRef t = LLVMTypeOf(a[0]);
        LLVMValueRef v = x86_call(f, "llvm.x86.ssse3.pmul.hr.sw.128", t, a[0], a[1]);
        LLVMValueRef min = cg_splat(f, LLVMConstInt(LLVMGetElementType(t), 0x8000, false), t);
        LLVMValueRef ovf = LLVMBuildSExt(f->b, LLVMBuildICmp(f->b, LLVMIntEQ, v, min, ""),
                                         t, "");
        return LLVMBuildXor(f->b, v, ovf, "");
    }
    LLVMTypeRef wt = cg_vec_type(f->cm, 32, false, 8);
    LLVMValueRef p = LLVMBuildMul(f->b, LLVMBuildSExt(f->b, a[0], wt, ""),
                                  LLVMBuildSExt(f->b, a[1], wt, ""), "");
    p = LLVMBuildAdd(f->b, p, cg_splat(f, cg_const_i32(f, 0x4000), wt), "");
    p = LLVMBuildAShr(f->b, p, cg_splat(f, cg_const_i32(f, 15), wt), "");
    p = cg_intrinsic2(f, "llvm.smin", p, cg_splat(f, cg_const_i32(f, 0x7fff), wt));
    return LLVMBuildTrunc(f->b, p, LLVMTypeOf(a[0]), "");
}

/* (a + b + 1) / 2 without overflow (pavgb, pavgw). */
static LLVMValueRef h_avgr(struct cg_func *f, const struct simd_row *r,
                           LLVMValueRef *a)
{
    (void)r;
    LLVMTypeRef t = LLVMTypeOf(a[0]);
    unsigned n = LLVMGetVectorSize(t);
    unsigned bits = LLVMGetIntTypeWidth(LLVMGetElementType(t));
    LLVMTypeRef wt = cg_vec_type(f->cm, bits * 2, false, n);
    LLVMValueRef s = LLVMBuildAdd(f->b, LLVMBuildZExt(f->b, a[0], wt, ""),
                                  LLVMBuildZExt(f->b, a[1], wt, ""), "");
    LLVMValueRef one = cg_splat(f, LLVMConstInt(LLVMGetElementType(wt), 1, false), wt);
    s = LLVMBuildLShr(f->b, LLVMBuildAdd(f->b, s, one, ""), one, "");
    return LLVMBuildTrunc(f->b, s, t, "");
}

/* min/max: NaN-propagating with -0 < +0 (llvm.minimum/maximum), quieted. */
static LLVMValueRef h_fminmax(struct cg_func *f, const struct simd_row *r,
                              LLVMValueRef *a)
{
    return quiet_nans(f, cg_intrinsic2(f, r->name, a[0], a[1]));
}

/* pmin: b < a ? b : a; pmax: a < b ? b : a (p: 1 for max). The operands'
 * bits pass through unchanged. */
static LLVMValueRef h_pminmax(struct cg_func *f, const struct simd_row *r,
                              LLVMValueRef *a)
{
    LLVMValueRef x = r->p ? a[0] : a[1], y = r->p ? a[1] : a[0];
    LLVMValueRef lt = LLVMBuildFCmp(f->b, LLVMRealOLT, x, y, "");
    return LLVMBuildSelect(f->b, lt, a[1], a[0], "");
}

static LLVMValueRef h_demote(struct cg_func *f, const struct simd_row *r,
                             LLVMValueRef *a)
{
    (void)r;
    LLVMValueRef d = LLVMBuildFPTrunc(f->b, a[0], LLVMVectorType(f->cm->f32, 2), "");
    return pick(f, d, LLVMConstNull(LLVMTypeOf(d)), 0, 1, 4);
}

static LLVMValueRef h_promote(struct cg_func *f, const struct simd_row *r,
                              LLVMValueRef *a)
{
    (void)r;
    return LLVMBuildFPExt(f->b, pick(f, a[0], NULL, 0, 1, 2),
                          LLVMVectorType(f->cm->f64, 2), "");
}

/* int -> float; p: 1 signed, 2 the low two lanes to f64. */
static LLVMValueRef h_convert(struct cg_func *f, const struct simd_row *r,
                              LLVMValueRef *a)
{
    LLVMValueRef x = a[0];
    LLVMTypeRef to = LLVMVectorType(f->cm->f32, 4);
    if (r->p & 2) {
        x = pick(f, x, NULL, 0, 1, 2);
        to = LLVMVectorType(f->cm->f64, 2);
    }
    return r->p & 1 ? LLVMBuildSIToFP(f->b, x, to, "") : LLVMBuildUIToFP(f->b, x, to, "");
}

/*
 * float -> i32, saturating (p: 1 signed); f64x2 fills the high lanes with
 * zeros. llvm.fpto[su]i.sat is scalarised on x86, so: lanes out of range
 * or NaN become 0, are converted (cvttps2dq and friends), then the
 * out-of-range ones take the bound. too_low is x <= the largest float
 * below the range (exact in both types), too_high x >= 2^31 or 2^32.
 */
static LLVMValueRef h_trunc_sat(struct cg_func *f, const struct simd_row *r,
                                LLVMValueRef *a)
{
    LLVMValueRef x = a[0];
    LLVMTypeRef ft = LLVMTypeOf(x), et = LLVMGetElementType(ft);
    unsigned n = LLVMGetVectorSize(ft);
    LLVMTypeRef it = LLVMVectorType(f->cm->i32, n);
    double lo = !r->p ? -1.0 : n == 4 ? -2147483904.0 : -2147483649.0;
    double hi = r->p ? 2147483648.0 : 4294967296.0;
    LLVMValueRef too_low = LLVMBuildFCmp(f->b, LLVMRealOLE, x,
                                         cg_splat(f, LLVMConstReal(et, lo), ft), "");
    LLVMValueRef too_high = LLVMBuildFCmp(f->b, LLVMRealOGE, x,
                                          cg_splat(f, LLVMConstReal(et, hi), ft), "");
    LLVMValueRef bad = LLVMBuildOr(f->b, LLVMBuildOr(f->b, too_low, too_high, ""),
                                   LLVMBuildFCmp(f->b, LLVMRealUNO, x, x, ""), "");
    LLVMValueRef safe = LLVMBuildSelect(f->b, bad, LLVMConstNull(ft), x, "");
    LLVMValueRef v = r->p ? LLVMBuildFPToSI(f->b, safe, it, "")
                          : LLVMBuildFPToUI(f->b, safe, it, "");
    uint32_t max = r->p ? 0x7fffffffu : 0xffffffffu;
    v = LLVMBuildSelect(f->b, too_high, cg_splat(f, cg_const_i32(f, max), it), v, "");
    if (r->p)
        v = LLVMBuildSelect(f->b, too_low, cg_splat(f, cg_const_i32(f, 0x80000000u), it),
                            v, "");
    return n == 4 ? v : pick(f, v, LLVMConstNull(it), 0, 1, 4);
}

static LLVMValueRef h_shuffle(struct cg_func *f, const struct simd_row *r,
                              LLVMValueRef *a)
{
    (void)r;
    LLVMValueRef m[16];
    for (unsigned i = 0; i < 16; i++)
        m[i] = cg_const_i32(f, f->in->u.v128[i]);
    return LLVMBuildShuffleVector(f->b, a[0], a[1], LLVMConstVector(m, 16), "");
}

/* swizzle: lane i is a[s[i]], or 0 when s[i] >= 16. pshufb zeroes a lane
 * whose index has its top bit set and uses the low four bits otherwise;
 * adding 0x70 with unsigned saturation maps 16..255 onto the top bit. */
static LLVMValueRef h_swizzle(struct cg_func *f, const struct simd_row *r,
                              LLVMValueRef *a)
{
    (void)r;
    LLVMTypeRef t = LLVMTypeOf(a[0]);
    if (f->cm->x86) {
        LLVMValueRef s = cg_intrinsic2(f, "llvm.uadd.sat", a[1],
                                    cg_splat(f, LLVMConstInt(f->cm->i8, 0x70, false), t));
        return x86_call(f, "llvm.x86.ssse3.pshuf.b.128", t, a[0], s);
    }
    LLVMValueRef out = LLVMConstNull(t);
    for (unsigned i = 0; i < 16; i++) {
        LLVMValueRef idx = LLVMBuildExtractElement(f->b, a[1], lane_index(f, i), "");
        LLVMValueRef in = LLVMBuildICmp(f->b, LLVMIntULT, idx,
                                        LLVMConstInt(f->cm->i8, 16, false), "");
        LLVMValueRef safe = LLVMBuildAnd(f->b, idx, LLVMConstInt(f->cm->i8, 15, false), "");
        LLVMValueRef x = LLVMBuildExtractElement(f->b, a[0], safe, "");
        x = LLVMBuildSelect(f->b, in, x, LLVMConstInt(f->cm->i8, 0, false), "");
        out = LLVMBuildInsertElement(f->b, out, x, lane_index(f, i), "");
    }
    return out;
}

/* ===== Relaxed SIMD ===================================================== */

/*
 * Relaxed SIMD (proposals/relaxed-simd) lets an engine pick among a few
 * results; awsm takes the spec's deterministic profile everywhere, so code
 * behaves the same on every host: swizzle, trunc_sat, bitselect, min/max
 * and q15mulr_sat as the plain instructions (those rows simply reuse their
 * handlers); madd unfused, a * b + c with two roundings; the dot products
 * signed by signed, pairs added with signed saturation (pmaddubsw's rule).
 */
static LLVMValueRef h_madd(struct cg_func *f, const struct simd_row *r,
                           LLVMValueRef *a)
{
    LLVMValueRef x = r->p ? LLVMBuildFNeg(f->b, a[0], "") : a[0];
    return LLVMBuildFAdd(f->b, LLVMBuildFMul(f->b, x, a[1], ""), a[2], "");
}

/* i16 lanes: a[2i] * b[2i] + a[2i+1] * b[2i+1], saturated. */
static LLVMValueRef dot_i8(struct cg_func *f, LLVMValueRef x, LLVMValueRef y)
{
    LLVMValueRef xe, xo, ye, yo;
    even_odd(f, x, true, &xe, &xo);
    even_odd(f, y, true, &ye, &yo);
    return cg_intrinsic2(f, "llvm.sadd.sat", LLVMBuildMul(f->b, xe, ye, ""),
                      LLVMBuildMul(f->b, xo, yo, ""));
}

static LLVMValueRef h_rdot(struct cg_func *f, const struct simd_row *r,
                           LLVMValueRef *a)
{
    (void)r;
    return dot_i8(f, a[0], a[1]);
}

/* The i16 dots of lane pairs, added pairwise into i32, plus c. */
static LLVMValueRef h_rdot_add(struct cg_func *f, const struct simd_row *r,
                               LLVMValueRef *a)
{
    (void)r;
    LLVMValueRef e, o;
    even_odd(f, dot_i8(f, a[0], a[1]), true, &e, &o);
    LLVMValueRef c = cast(f, a[2], LLVMVectorType(f->cm->i32, 4));
    return LLVMBuildAdd(f->b, LLVMBuildAdd(f->b, e, o, ""), c, "");
}

/* ===== The table ======================================================== */

#define BIN(id, s, opc) { WM_OP_##id, s, h_binop, opc, NULL }
#define ICMP(id, s, pr) { WM_OP_##id, s, h_icmp, pr, NULL }
#define FCMP(id, s, pr) { WM_OP_##id, s, h_fcmp, pr, NULL }
#define INTR1(id, s, nm) { WM_OP_##id, s, h_intr1, 0, nm }
#define INTR2(id, s, nm) { WM_OP_##id, s, h_intr2, 0, nm }
#define ROW(id, s, fn, p) { WM_OP_##id, s, fn, p, NULL }

/* Integer comparisons of one shape; i64x2 has only the signed ones. */
#define ICMPS(P, s) \
    ICMP(P##_EQ, s, LLVMIntEQ), ICMP(P##_NE, s, LLVMIntNE), \
    ICMP(P##_LT_S, s, LLVMIntSLT), ICMP(P##_GT_S, s, LLVMIntSGT), \
    ICMP(P##_LE_S, s, LLVMIntSLE), ICMP(P##_GE_S, s, LLVMIntSGE)
#define UCMPS(P, s) \
    ICMP(P##_LT_U, s, LLVMIntULT), ICMP(P##_GT_U, s, LLVMIntUGT), \
    ICMP(P##_LE_U, s, LLVMIntULE), ICMP(P##_GE_U, s, LLVMIntUGE)
#define FCMPS(P, s) \
    FCMP(P##_EQ, s, LLVMRealOEQ), FCMP(P##_NE, s, LLVMRealUNE), \
    FCMP(P##_LT, s, LLVMRealOLT), FCMP(P##_GT, s, LLVMRealOGT), \
    FCMP(P##_LE, s, LLVMRealOLE), FCMP(P##_GE, s, LLVMRealOGE)
/* Lane arithmetic every integer shape has. */
#define IARITH(P, s) \
    BIN(P##_ADD, s, LLVMAdd), BIN(P##_SUB, s, LLVMSub), \
    ROW(P##_NEG, s, h_neg, 0), ROW(P##_ABS, s, h_abs, 0), \
    ROW(P##_SHL, s, h_shift, LLVMShl), ROW(P##_SHR_S, s, h_shift, LLVMAShr), \
    ROW(P##_SHR_U, s, h_shift, LLVMLShr), ROW(P##_ALL_TRUE, s, h_all_true, 0), \
    ROW(P##_BITMASK, s, h_bitmask, 0)
#define MINMAX(P, s) \
    INTR2(P##_MIN_S, s, "llvm.smin"), INTR2(P##_MIN_U, s, "llvm.umin"), \
    INTR2(P##_MAX_S, s, "llvm.smax"), INTR2(P##_MAX_U, s, "llvm.umax")
#define SAT(P, s) \
    INTR2(P##_ADD_SAT_S, s, "llvm.sadd.sat"), INTR2(P##_ADD_SAT_U, s, "llvm.uadd.sat"), \
    INTR2(P##_SUB_SAT_S, s, "llvm.ssub.sat"), INTR2(P##_SUB_SAT_U, s, "llvm.usub.sat")
/* extend and extmul of the narrower shape s into P. */
#define WIDEN(P, N, s) \
    ROW(P##_EXTEND_LOW_##N##_S, s, h_extend, 1), \
    ROW(P##_EXTEND_HIGH_##N##_S, s, h_extend, 3), \
    ROW(P##_EXTEND_LOW_##N##_U, s, h_extend, 0), \
    ROW(P##_EXTEND_HIGH_##N##_U, s, h_extend, 2), \
    ROW(P##_EXTMUL_LOW_##N##_S, s, h_extmul, 1), \
    ROW(P##_EXTMUL_HIGH_##N##_S, s, h_extmul, 3), \
    ROW(P##_EXTMUL_LOW_##N##_U, s, h_extmul, 0), \
    ROW(P##_EXTMUL_HIGH_##N##_U, s, h_extmul, 2)
#define FARITH(P, s) \
    BIN(P##_ADD, s, LLVMFAdd), BIN(P##_SUB, s, LLVMFSub), \
    BIN(P##_MUL, s, LLVMFMul), BIN(P##_DIV, s, LLVMFDiv), \
    ROW(P##_NEG, s, h_neg, 0), INTR1(P##_ABS, s, "llvm.fabs"), \
    INTR1(P##_SQRT, s, "llvm.sqrt"), INTR1(P##_CEIL, s, "llvm.ceil"), \
    INTR1(P##_FLOOR, s, "llvm.floor"), INTR1(P##_TRUNC, s, "llvm.trunc"), \
    INTR1(P##_NEAREST, s, "llvm.roundeven"), \
    { WM_OP_##P##_MIN, s, h_fminmax, 0, "llvm.minimum" }, \
    { WM_OP_##P##_MAX, s, h_fminmax, 0, "llvm.maximum" }, \
    ROW(P##_PMIN, s, h_pminmax, 0), ROW(P##_PMAX, s, h_pminmax, 1)

static const struct simd_row rows[] = {
    ROW(V128_CONST, S_I64, h_const, 0),
    ROW(I8X16_SHUFFLE, S_I8, h_shuffle, 0),
    ROW(I8X16_SWIZZLE, S_I8, h_swizzle, 0),
    ROW(I8X16_SPLAT, S_I8, h_splat, 0), ROW(I16X8_SPLAT, S_I16, h_splat, 0),
    ROW(I32X4_SPLAT, S_I32, h_splat, 0), ROW(I64X2_SPLAT, S_I64, h_splat, 0),
    ROW(F32X4_SPLAT, S_F32, h_splat, 0), ROW(F64X2_SPLAT, S_F64, h_splat, 0),
    ROW(I8X16_EXTRACT_LANE_S, S_I8, h_extract, 1),
    ROW(I8X16_EXTRACT_LANE_U, S_I8, h_extract, 2),
    ROW(I16X8_EXTRACT_LANE_S, S_I16, h_extract, 1),
    ROW(I16X8_EXTRACT_LANE_U, S_I16, h_extract, 2),
    ROW(I32X4_EXTRACT_LANE, S_I32, h_extract, 0),
    ROW(I64X2_EXTRACT_LANE, S_I64, h_extract, 0),
    ROW(F32X4_EXTRACT_LANE, S_F32, h_extract, 0),
    ROW(F64X2_EXTRACT_LANE, S_F64, h_extract, 0),
    ROW(I8X16_REPLACE_LANE, S_I8, h_replace, 0),
    ROW(I16X8_REPLACE_LANE, S_I16, h_replace, 0),
    ROW(I32X4_REPLACE_LANE, S_I32, h_replace, 0),
    ROW(I64X2_REPLACE_LANE, S_I64, h_replace, 0),
    ROW(F32X4_REPLACE_LANE, S_F32, h_replace, 0),
    ROW(F64X2_REPLACE_LANE, S_F64, h_replace, 0),
    ICMPS(I8X16, S_I8), UCMPS(I8X16, S_I8),
    ICMPS(I16X8, S_I16), UCMPS(I16X8, S_I16),
    ICMPS(I32X4, S_I32), UCMPS(I32X4, S_I32),
    ICMPS(I64X2, S_I64),
    FCMPS(F32X4, S_F32), FCMPS(F64X2, S_F64),
    ROW(V128_NOT, S_I64, h_not, 0), BIN(V128_AND, S_I64, LLVMAnd),
    ROW(V128_ANDNOT, S_I64, h_andnot, 0), BIN(V128_OR, S_I64, LLVMOr),
    BIN(V128_XOR, S_I64, LLVMXor), ROW(V128_BITSELECT, S_I64, h_bitselect, 0),
    ROW(V128_ANY_TRUE, S_I64, h_any_true, 0),
    IARITH(I8X16, S_I8), IARITH(I16X8, S_I16), IARITH(I32X4, S_I32),
    IARITH(I64X2, S_I64),
    BIN(I16X8_MUL, S_I16, LLVMMul), BIN(I32X4_MUL, S_I32, LLVMMul),
    BIN(I64X2_MUL, S_I64, LLVMMul),
    MINMAX(I8X16, S_I8), MINMAX(I16X8, S_I16), MINMAX(I32X4, S_I32),
    SAT(I8X16, S_I8), SAT(I16X8, S_I16),
    INTR1(I8X16_POPCNT, S_I8, "llvm.ctpop"),
    ROW(I8X16_AVGR_U, S_I8, h_avgr, 0), ROW(I16X8_AVGR_U, S_I16, h_avgr, 0),
    ROW(I8X16_NARROW_I16X8_S, S_I16, h_narrow, 1),
    ROW(I8X16_NARROW_I16X8_U, S_I16, h_narrow, 0),
    ROW(I16X8_NARROW_I32X4_S, S_I32, h_narrow, 1),
    ROW(I16X8_NARROW_I32X4_U, S_I32, h_narrow, 0),
    WIDEN(I16X8, I8X16, S_I8), WIDEN(I32X4, I16X8, S_I16),
    WIDEN(I64X2, I32X4, S_I32),
    ROW(I16X8_EXTADD_PAIRWISE_I8X16_S, S_I8, h_extadd, 1),
    ROW(I16X8_EXTADD_PAIRWISE_I8X16_U, S_I8, h_extadd, 0),
    ROW(I32X4_EXTADD_PAIRWISE_I16X8_S, S_I16, h_extadd, 1),
    ROW(I32X4_EXTADD_PAIRWISE_I16X8_U, S_I16, h_extadd, 0),
    ROW(I32X4_DOT_I16X8_S, S_I16, h_dot, 0),
    ROW(I16X8_Q15MULR_SAT_S, S_I16, h_q15mulr, 0),
    FARITH(F32X4, S_F32), FARITH(F64X2, S_F64),
    ROW(F32X4_DEMOTE_F64X2_ZERO, S_F64, h_demote, 0),
    ROW(F64X2_PROMOTE_LOW_F32X4, S_F32, h_promote, 0),
    ROW(F32X4_CONVERT_I32X4_S, S_I32, h_convert, 1),
    ROW(F32X4_CONVERT_I32X4_U, S_I32, h_convert, 0),
    ROW(F64X2_CONVERT_LOW_I32X4_S, S_I32, h_convert, 3),
    ROW(F64X2_CONVERT_LOW_I32X4_U, S_I32, h_convert, 2),
    ROW(I32X4_TRUNC_SAT_F32X4_S, S_F32, h_trunc_sat, 1),
    ROW(I32X4_TRUNC_SAT_F32X4_U, S_F32, h_trunc_sat, 0),
    ROW(I32X4_TRUNC_SAT_F64X2_S_ZERO, S_F64, h_trunc_sat, 1),
    ROW(I32X4_TRUNC_SAT_F64X2_U_ZERO, S_F64, h_trunc_sat, 0),
    /* Relaxed SIMD, deterministic (see above). */
    ROW(I8X16_RELAXED_SWIZZLE, S_I8, h_swizzle, 0),
    ROW(I32X4_RELAXED_TRUNC_F32X4_S, S_F32, h_trunc_sat, 1),
    ROW(I32X4_RELAXED_TRUNC_F32X4_U, S_F32, h_trunc_sat, 0),
    ROW(I32X4_RELAXED_TRUNC_F64X2_S_ZERO, S_F64, h_trunc_sat, 1),
    ROW(I32X4_RELAXED_TRUNC_F64X2_U_ZERO, S_F64, h_trunc_sat, 0),
    ROW(F32X4_RELAXED_MADD, S_F32, h_madd, 0), ROW(F32X4_RELAXED_NMADD, S_F32, h_madd, 1),
    ROW(F64X2_RELAXED_MADD, S_F64, h_madd, 0), ROW(F64X2_RELAXED_NMADD, S_F64, h_madd, 1),
    ROW(I8X16_RELAXED_LANESELECT, S_I64, h_bitselect, 0),
    ROW(I16X8_RELAXED_LANESELECT, S_I64, h_bitselect, 0),
    ROW(I32X4_RELAXED_LANESELECT, S_I64, h_bitselect, 0),
    ROW(I64X2_RELAXED_LANESELECT, S_I64, h_bitselect, 0),
    { WM_OP_F32X4_RELAXED_MIN, S_F32, h_fminmax, 0, "llvm.minimum" },
    { WM_OP_F32X4_RELAXED_MAX, S_F32, h_fminmax, 0, "llvm.maximum" },
    { WM_OP_F64X2_RELAXED_MIN, S_F64, h_fminmax, 0, "llvm.minimum" },
    { WM_OP_F64X2_RELAXED_MAX, S_F64, h_fminmax, 0, "llvm.maximum" },
    ROW(I16X8_RELAXED_Q15MULR_S, S_I16, h_q15mulr, 0),
    ROW(I16X8_RELAXED_DOT_I8X16_I7X16_S, S_I8, h_rdot, 0),
    ROW(I32X4_RELAXED_DOT_I8X16_I7X16_ADD_S, S_I8, h_rdot_add, 0),
};

/* ===== Dispatch ========================================================= */

static const struct simd_row *row_of(uint16_t op)
{
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        if (rows[i].op == op)
            return &rows[i];
    return NULL;
}

int cg_simd(struct cg_func *f, const struct wm_ins *in)
{
    const struct simd_row *r = row_of(in->op);
    if (r == NULL)
        return cg_fail(f->cm, "func %u: SIMD instruction %s is not supported "
                       "yet", f->index, wm_op_table[in->op].name);
    const char *sig = wm_op_table[in->op].sig;
    unsigned n = (unsigned)(strchr(sig, ':') - sig);
    LLVMValueRef a[3];
    for (unsigned i = n; i-- > 0;) {
        LLVMValueRef v = cg_pop(f);
        a[i] = sig[i] == 'v' ? as_shape(f, v, r->shape) : v;
    }
    LLVMValueRef v = r->fn(f, r, a);
    if (LLVMGetTypeKind(LLVMTypeOf(v)) == LLVMVectorTypeKind)
        v = cast(f, v, f->cm->v128);
    cg_push(f, v);
    return 0;
}
