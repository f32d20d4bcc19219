/*
 * compiler/cg_numeric.c - constants, integer and float arithmetic,
 * comparisons and conversions, with the spec's exact semantics (4.3):
 * division and truncation trap, shifts take their count modulo the width,
 * min/max propagate NaN and order -0 < +0, nearest rounds half to even.
 */
#include "compiler/cg.h"

static LLVMTypeRef sig_llvm(struct cg_module *cm, char c)
{
    switch (c) {
    case 'i': return cm->i32;
    case 'l': return cm->i64;
    case 'f': return cm->f32;
    case 'd': return cm->f64;
    default: return cm->v128;
    }
}

/* The type of an instruction's first operand, or of its result for
 * constants. */
static LLVMTypeRef operand_type(struct cg_func *f, const struct wm_ins *in)
{
    const char *sig = wm_op_table[in->op].sig;
    return sig_llvm(f->cm, sig[0] == ':' ? sig[1] : sig[0]);
}

static LLVMTypeRef result_type(struct cg_func *f, const struct wm_ins *in)
{
    const char *sig = wm_op_table[in->op].sig;
    while (*sig != ':')
        sig++;
    return sig_llvm(f->cm, sig[1]);
}

LLVMValueRef cg_intrinsic1(struct cg_func *f, const char *name, LLVMValueRef x)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    return cg_call_intrinsic(f, name, &t, 1, &x, 1);
}

LLVMValueRef cg_intrinsic2(struct cg_func *f, const char *name, LLVMValueRef a,
                           LLVMValueRef b)
{
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef args[2] = { a, b };
    return cg_call_intrinsic(f, name, &t, 1, args, 2);
}

/* ===== Constants ======================================================== */

static int cg_const(struct cg_func *f, const struct wm_ins *in)
{
    struct cg_module *cm = f->cm;
    switch (in->op) {
    case WM_OP_I32_CONST: cg_push(f, cg_const_i32(f, in->u.i32)); break;
    case WM_OP_I64_CONST: cg_push(f, cg_const_i64(f, in->u.i64)); break;
    /* From the bits, so NaN payloads survive. */
    case WM_OP_F32_CONST:
        cg_push(f, LLVMBuildBitCast(f->b, cg_const_i32(f, in->u.f32), cm->f32, ""));
        break;
    case WM_OP_F64_CONST:
        cg_push(f, LLVMBuildBitCast(f->b, cg_const_i64(f, in->u.f64), cm->f64, ""));
        break;
    default:
        return cg_fail(cm, "func %u: %s is not supported yet", f->index,
                       wm_op_table[in->op].name);
    }
    return 0;
}

/* ===== Integers ========================================================= */

static LLVMValueRef int_cmp(struct cg_func *f, LLVMIntPredicate p,
                            LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildZExt(f->b, LLVMBuildICmp(f->b, p, a, b, ""), f->cm->i32, "");
}

static bool int_compare(struct cg_func *f, uint16_t op, LLVMValueRef a,
                        LLVMValueRef b)
{
    static const struct { uint16_t op32, op64; LLVMIntPredicate p; } cmps[] = {
        { WM_OP_I32_EQ, WM_OP_I64_EQ, LLVMIntEQ }, { WM_OP_I32_NE, WM_OP_I64_NE, LLVMIntNE },
        { WM_OP_I32_LT_S, WM_OP_I64_LT_S, LLVMIntSLT }, { WM_OP_I32_LT_U, WM_OP_I64_LT_U, LLVMIntULT },
        { WM_OP_I32_GT_S, WM_OP_I64_GT_S, LLVMIntSGT }, { WM_OP_I32_GT_U, WM_OP_I64_GT_U, LLVMIntUGT },
        { WM_OP_I32_LE_S, WM_OP_I64_LE_S, LLVMIntSLE }, { WM_OP_I32_LE_U, WM_OP_I64_LE_U, LLVMIntULE },
        { WM_OP_I32_GE_S, WM_OP_I64_GE_S, LLVMIntSGE }, { WM_OP_I32_GE_U, WM_OP_I64_GE_U, LLVMIntUGE },
    };
    for (size_t i = 0; i < sizeof cmps / sizeof *cmps; i++) {
        if (op == cmps[i].op32 || op == cmps[i].op64) {
            cg_push(f, int_cmp(f, cmps[i].p, a, b));
            return true;
        }
    }
    return false;
}

/* div/rem: trap on zero; signed division also on INT_MIN / -1, while
 * INT_MIN rem -1 is 0 (divide by 1 instead, so the host doesn't fault). */
static LLVMValueRef int_divrem(struct cg_func *f, bool is_signed, bool is_rem,
                               LLVMValueRef a, LLVMValueRef b)
{
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef zero = LLVMConstNull(t);
    cg_trap_if(f, LLVMBuildICmp(f->b, LLVMIntEQ, b, zero, ""),
               AWSM_TRAP_INT_DIV_ZERO);
    if (!is_signed)
        return is_rem ? LLVMBuildURem(f->b, a, b, "") : LLVMBuildUDiv(f->b, a, b, "");
    unsigned bits = LLVMGetIntTypeWidth(t);
    LLVMValueRef min = LLVMConstInt(t, 1ull << (bits - 1), false);
    LLVMValueRef minus1 = LLVMConstAllOnes(t);
    LLVMValueRef b_is_m1 = LLVMBuildICmp(f->b, LLVMIntEQ, b, minus1, "");
    if (is_rem) {
        LLVMValueRef safe = LLVMBuildSelect(f->b, b_is_m1, LLVMConstInt(t, 1, false), b, "");
        return LLVMBuildSRem(f->b, a, safe, "");
    }
    LLVMValueRef ovf = LLVMBuildAnd(f->b, b_is_m1,
                                    LLVMBuildICmp(f->b, LLVMIntEQ, a, min, ""), "");
    cg_trap_if(f, ovf, AWSM_TRAP_INT_OVERFLOW);
    return LLVMBuildSDiv(f->b, a, b, "");
}

static LLVMValueRef shift_count(struct cg_func *f, LLVMValueRef b)
{
    LLVMTypeRef t = LLVMTypeOf(b);
    return LLVMBuildAnd(f->b, b, LLVMConstInt(t, LLVMGetIntTypeWidth(t) - 1, false), "");
}

static bool int_binary(struct cg_func *f, uint16_t op, LLVMValueRef a,
                       LLVMValueRef b)
{
    LLVMBuilderRef bd = f->b;
    LLVMValueRef r;
    switch (op) {
    case WM_OP_I32_ADD: case WM_OP_I64_ADD: r = LLVMBuildAdd(bd, a, b, ""); break;
    case WM_OP_I32_SUB: case WM_OP_I64_SUB: r = LLVMBuildSub(bd, a, b, ""); break;
    case WM_OP_I32_MUL: case WM_OP_I64_MUL: r = LLVMBuildMul(bd, a, b, ""); break;
    case WM_OP_I32_DIV_S: case WM_OP_I64_DIV_S: r = int_divrem(f, true, false, a, b); break;
    case WM_OP_I32_DIV_U: case WM_OP_I64_DIV_U: r = int_divrem(f, false, false, a, b); break;
    case WM_OP_I32_REM_S: case WM_OP_I64_REM_S: r = int_divrem(f, true, true, a, b); break;
    case WM_OP_I32_REM_U: case WM_OP_I64_REM_U: r = int_divrem(f, false, true, a, b); break;
    case WM_OP_I32_AND: case WM_OP_I64_AND: r = LLVMBuildAnd(bd, a, b, ""); break;
    case WM_OP_I32_OR: case WM_OP_I64_OR: r = LLVMBuildOr(bd, a, b, ""); break;
    case WM_OP_I32_XOR: case WM_OP_I64_XOR: r = LLVMBuildXor(bd, a, b, ""); break;
    case WM_OP_I32_SHL: case WM_OP_I64_SHL: r = LLVMBuildShl(bd, a, shift_count(f, b), ""); break;
    case WM_OP_I32_SHR_S: case WM_OP_I64_SHR_S: r = LLVMBuildAShr(bd, a, shift_count(f, b), ""); break;
    case WM_OP_I32_SHR_U: case WM_OP_I64_SHR_U: r = LLVMBuildLShr(bd, a, shift_count(f, b), ""); break;
    case WM_OP_I32_ROTL: case WM_OP_I64_ROTL: {
        LLVMTypeRef t = LLVMTypeOf(a);
        LLVMValueRef args[3] = { a, a, b };
        r = cg_call_intrinsic(f, "llvm.fshl", &t, 1, args, 3);
        break;
    }
    case WM_OP_I32_ROTR: case WM_OP_I64_ROTR: {
        LLVMTypeRef t = LLVMTypeOf(a);
        LLVMValueRef args[3] = { a, a, b };
        r = cg_call_intrinsic(f, "llvm.fshr", &t, 1, args, 3);
        break;
    }
    default:
        return int_compare(f, op, a, b);
    }
    cg_push(f, r);
    return true;
}

static bool int_unary(struct cg_func *f, uint16_t op, LLVMValueRef a)
{
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef no_poison = LLVMConstInt(LLVMInt1TypeInContext(f->cm->ctx), 0, false);
    LLVMValueRef args[2] = { a, no_poison };
    LLVMValueRef r;
    switch (op) {
    case WM_OP_I32_EQZ: case WM_OP_I64_EQZ:
        r = int_cmp(f, LLVMIntEQ, a, LLVMConstNull(t));
        break;
    case WM_OP_I32_CLZ: case WM_OP_I64_CLZ:
        r = cg_call_intrinsic(f, "llvm.ctlz", &t, 1, args, 2);
        break;
    case WM_OP_I32_CTZ: case WM_OP_I64_CTZ:
        r = cg_call_intrinsic(f, "llvm.cttz", &t, 1, args, 2);
        break;
    case WM_OP_I32_POPCNT: case WM_OP_I64_POPCNT:
        r = cg_intrinsic1(f, "llvm.ctpop", a);
        break;
    default:
        return false;
    }
    cg_push(f, r);
    return true;
}

/* ===== Floats =========================================================== */

/*
 * NaN results must be arithmetic (quiet) NaNs (spec 4.3.3). The hardware
 * quiets a signalling NaN in every arithmetic operation, but LLVM folds
 * x+-0, x-0, x*1, x/1 and their negated forms to x or -x, and x86 min/max
 * pass a signalling NaN through. canonicalize() restores the quieting
 * exactly where that can happen, so ordinary arithmetic pays nothing.
 */
static LLVMValueRef canonicalize(struct cg_func *f, LLVMValueRef x)
{
    /* llvm.canonicalize has no x86 lowering in LLVM 19: set the quiet bit
     * of a NaN by hand (integer ops LLVM cannot fold away). */
    LLVMTypeRef t = LLVMTypeOf(x);
    bool is64 = t == f->cm->f64;
    LLVMTypeRef it = is64 ? f->cm->i64 : f->cm->i32;
    LLVMValueRef quiet = LLVMConstInt(it, is64 ? 1ull << 51 : 1ull << 22, false);
    LLVMValueRef bits = LLVMBuildBitCast(f->b, x, it, "");
    LLVMValueRef q = LLVMBuildBitCast(f->b, LLVMBuildOr(f->b, bits, quiet, ""), t, "");
    LLVMValueRef nan = LLVMBuildFCmp(f->b, LLVMRealUNO, x, x, "");
    return LLVMBuildSelect(f->b, nan, q, x, "");
}

static bool is_identity_const(LLVMValueRef v)
{
    if (!LLVMIsAConstantFP(v))
        return false;
    LLVMBool lossy;
    double d = LLVMConstRealGetDouble(v, &lossy);
    return d == 0.0 || d == 1.0 || d == -1.0;
}

static bool float_binary(struct cg_func *f, uint16_t op, LLVMValueRef a,
                         LLVMValueRef b)
{
    LLVMBuilderRef bd = f->b;
    LLVMValueRef r;
    LLVMRealPredicate p;
    switch (op) {
    case WM_OP_F32_ADD: case WM_OP_F64_ADD: r = LLVMBuildFAdd(bd, a, b, ""); break;
    case WM_OP_F32_SUB: case WM_OP_F64_SUB: r = LLVMBuildFSub(bd, a, b, ""); break;
    case WM_OP_F32_MUL: case WM_OP_F64_MUL: r = LLVMBuildFMul(bd, a, b, ""); break;
    case WM_OP_F32_DIV: case WM_OP_F64_DIV: r = LLVMBuildFDiv(bd, a, b, ""); break;
    /* llvm.minimum/maximum: NaN if either is NaN, and -0 < +0. */
    case WM_OP_F32_MIN: case WM_OP_F64_MIN:
        r = canonicalize(f, cg_intrinsic2(f, "llvm.minimum", a, b));
        break;
    case WM_OP_F32_MAX: case WM_OP_F64_MAX:
        r = canonicalize(f, cg_intrinsic2(f, "llvm.maximum", a, b));
        break;
    case WM_OP_F32_COPYSIGN: case WM_OP_F64_COPYSIGN:
        r = cg_intrinsic2(f, "llvm.copysign", a, b);
        break;
    case WM_OP_F32_EQ: case WM_OP_F64_EQ: p = LLVMRealOEQ; goto cmp;
    case WM_OP_F32_NE: case WM_OP_F64_NE: p = LLVMRealUNE; goto cmp;
    case WM_OP_F32_LT: case WM_OP_F64_LT: p = LLVMRealOLT; goto cmp;
    case WM_OP_F32_GT: case WM_OP_F64_GT: p = LLVMRealOGT; goto cmp;
    case WM_OP_F32_LE: case WM_OP_F64_LE: p = LLVMRealOLE; goto cmp;
    case WM_OP_F32_GE: case WM_OP_F64_GE: p = LLVMRealOGE; goto cmp;
    default:
        return false;
    }
    bool arith = op == WM_OP_F32_ADD || op == WM_OP_F64_ADD || op == WM_OP_F32_SUB ||
                 op == WM_OP_F64_SUB || op == WM_OP_F32_MUL || op == WM_OP_F64_MUL ||
                 op == WM_OP_F32_DIV || op == WM_OP_F64_DIV;
    if (arith && (is_identity_const(a) || is_identity_const(b)))
        r = canonicalize(f, r);
    cg_push(f, r);
    return true;
cmp:
    cg_push(f, LLVMBuildZExt(bd, LLVMBuildFCmp(bd, p, a, b, ""), f->cm->i32, ""));
    return true;
}

static bool float_unary(struct cg_func *f, uint16_t op, LLVMValueRef a)
{
    const char *name;
    switch (op) {
    case WM_OP_F32_ABS: case WM_OP_F64_ABS: name = "llvm.fabs"; break;
    case WM_OP_F32_CEIL: case WM_OP_F64_CEIL: name = "llvm.ceil"; break;
    case WM_OP_F32_FLOOR: case WM_OP_F64_FLOOR: name = "llvm.floor"; break;
    case WM_OP_F32_TRUNC: case WM_OP_F64_TRUNC: name = "llvm.trunc"; break;
    case WM_OP_F32_NEAREST: case WM_OP_F64_NEAREST: name = "llvm.roundeven"; break;
    case WM_OP_F32_SQRT: case WM_OP_F64_SQRT: name = "llvm.sqrt"; break;
    case WM_OP_F32_NEG: case WM_OP_F64_NEG:
        cg_push(f, LLVMBuildFNeg(f->b, a, ""));
        return true;
    default:
        return false;
    }
    cg_push(f, cg_intrinsic1(f, name, a));
    return true;
}

/* ===== Conversions ====================================================== */

/*
 * Trapping float -> int (spec 4.3.3 trunc): NaN is an invalid conversion;
 * otherwise the value must lie strictly between lo and hi, the nearest
 * representable bounds outside the target range (exact in both float types).
 */
static LLVMValueRef trunc_checked(struct cg_func *f, LLVMValueRef x,
                                  LLVMTypeRef to, bool is_signed)
{
    LLVMTypeRef ft = LLVMTypeOf(x);
    bool to64 = to == f->cm->i64;
    double lo, hi;
    if (is_signed) {
        hi = to64 ? 9223372036854775808.0 : 2147483648.0;
        lo = to64 ? -9223372036854775808.0 : -2147483648.0;
    } else {
        hi = to64 ? 18446744073709551616.0 : 4294967296.0;
        lo = -1.0;
    }
    LLVMValueRef nan = LLVMBuildFCmp(f->b, LLVMRealUNO, x, x, "");
    cg_trap_if(f, nan, AWSM_TRAP_INVALID_CONVERSION);
    /* lo is exclusive except for the signed minimum, which is exact:
     * x >= -2^N is in range for f32 and f64 alike, but for f64 -> i32 any x
     * in (-2^31-1, -2^31) truncates to -2^31 too. */
    LLVMValueRef lov = LLVMConstReal(ft, lo);
    LLVMValueRef too_low;
    if (is_signed && !(ft == f->cm->f64 && !to64)) {
        too_low = LLVMBuildFCmp(f->b, LLVMRealOLT, x, lov, "");
    } else {
        if (is_signed)
            lov = LLVMConstReal(ft, -2147483649.0);
        too_low = LLVMBuildFCmp(f->b, LLVMRealOLE, x, lov, "");
    }
    LLVMValueRef too_high = LLVMBuildFCmp(f->b, LLVMRealOGE, x, LLVMConstReal(ft, hi), "");
    cg_trap_if(f, LLVMBuildOr(f->b, too_low, too_high, ""),
               AWSM_TRAP_INT_OVERFLOW);
    return is_signed ? LLVMBuildFPToSI(f->b, x, to, "") : LLVMBuildFPToUI(f->b, x, to, "");
}

static LLVMValueRef trunc_sat(struct cg_func *f, LLVMValueRef x, LLVMTypeRef to,
                              bool is_signed)
{
    LLVMTypeRef tys[2] = { to, LLVMTypeOf(x) };
    return cg_call_intrinsic(f, is_signed ? "llvm.fptosi.sat" : "llvm.fptoui.sat",
                             tys, 2, &x, 1);
}

static LLVMValueRef extend_from(struct cg_func *f, LLVMValueRef a, unsigned bits)
{
    LLVMTypeRef narrow = LLVMIntTypeInContext(f->cm->ctx, bits);
    return LLVMBuildSExt(f->b, LLVMBuildTrunc(f->b, a, narrow, ""), LLVMTypeOf(a), "");
}

static bool conversion(struct cg_func *f, const struct wm_ins *in, LLVMValueRef a)
{
    LLVMBuilderRef bd = f->b;
    LLVMTypeRef to = result_type(f, in);
    LLVMValueRef r;
    switch (in->op) {
    case WM_OP_I32_WRAP_I64: r = LLVMBuildTrunc(bd, a, to, ""); break;
    case WM_OP_I64_EXTEND_I32_S: r = LLVMBuildSExt(bd, a, to, ""); break;
    case WM_OP_I64_EXTEND_I32_U: r = LLVMBuildZExt(bd, a, to, ""); break;
    case WM_OP_I32_TRUNC_F32_S: case WM_OP_I32_TRUNC_F64_S:
    case WM_OP_I64_TRUNC_F32_S: case WM_OP_I64_TRUNC_F64_S:
        r = trunc_checked(f, a, to, true);
        break;
    case WM_OP_I32_TRUNC_F32_U: case WM_OP_I32_TRUNC_F64_U:
    case WM_OP_I64_TRUNC_F32_U: case WM_OP_I64_TRUNC_F64_U:
        r = trunc_checked(f, a, to, false);
        break;
    case WM_OP_I32_TRUNC_SAT_F32_S: case WM_OP_I32_TRUNC_SAT_F64_S:
    case WM_OP_I64_TRUNC_SAT_F32_S: case WM_OP_I64_TRUNC_SAT_F64_S:
        r = trunc_sat(f, a, to, true);
        break;
    case WM_OP_I32_TRUNC_SAT_F32_U: case WM_OP_I32_TRUNC_SAT_F64_U:
    case WM_OP_I64_TRUNC_SAT_F32_U: case WM_OP_I64_TRUNC_SAT_F64_U:
        r = trunc_sat(f, a, to, false);
        break;
    case WM_OP_F32_CONVERT_I32_S: case WM_OP_F32_CONVERT_I64_S:
    case WM_OP_F64_CONVERT_I32_S: case WM_OP_F64_CONVERT_I64_S:
        r = LLVMBuildSIToFP(bd, a, to, "");
        break;
    case WM_OP_F32_CONVERT_I32_U: case WM_OP_F32_CONVERT_I64_U:
    case WM_OP_F64_CONVERT_I32_U: case WM_OP_F64_CONVERT_I64_U:
        r = LLVMBuildUIToFP(bd, a, to, "");
        break;
    case WM_OP_F32_DEMOTE_F64:
        r = LLVMBuildFPTrunc(bd, a, to, "");
        if (LLVMIsAFPExtInst(a))        /* folded to x: quiet it */
            r = canonicalize(f, r);
        break;
    case WM_OP_F64_PROMOTE_F32: r = LLVMBuildFPExt(bd, a, to, ""); break;
    case WM_OP_I32_REINTERPRET_F32: case WM_OP_I64_REINTERPRET_F64:
    case WM_OP_F32_REINTERPRET_I32: case WM_OP_F64_REINTERPRET_I64:
        r = LLVMBuildBitCast(bd, a, to, "");
        break;
    case WM_OP_I32_EXTEND8_S: case WM_OP_I64_EXTEND8_S: r = extend_from(f, a, 8); break;
    case WM_OP_I32_EXTEND16_S: case WM_OP_I64_EXTEND16_S: r = extend_from(f, a, 16); break;
    case WM_OP_I64_EXTEND32_S: r = extend_from(f, a, 32); break;
    default:
        return false;
    }
    cg_push(f, r);
    return true;
}

/* ===== Dispatch ========================================================= */

int cg_numeric(struct cg_func *f, const struct wm_ins *in)
{
    const char *sig = wm_op_table[in->op].sig;
    if (wm_op_table[in->op].imm != WM_IMM_NONE || sig[0] == ':')
        return cg_const(f, in);
    if (operand_type(f, in) == f->cm->v128 || result_type(f, in) == f->cm->v128)
        return cg_fail(f->cm, "func %u: SIMD instruction %s is not supported "
                       "yet", f->index, wm_op_table[in->op].name);
    bool binary = sig[1] != ':';
    if (binary) {
        LLVMValueRef b = cg_pop(f);
        LLVMValueRef a = cg_pop(f);
        LLVMTypeKind k = LLVMGetTypeKind(LLVMTypeOf(a));
        if (k == LLVMIntegerTypeKind ? int_binary(f, in->op, a, b)
                                     : float_binary(f, in->op, a, b))
            return 0;
    } else {
        LLVMValueRef a = cg_pop(f);
        if (int_unary(f, in->op, a) || float_unary(f, in->op, a) ||
            conversion(f, in, a))
            return 0;
    }
    return cg_fail(f->cm, "func %u: instruction %s is not supported yet",
                   f->index, wm_op_table[in->op].name);
}
