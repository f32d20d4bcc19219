/*
 * compiler/cg_mulwide.c - 64x64 -> 128-bit multiplies written with 32-bit
 * halves become one multiply.
 *
 * Wasm has no 128-bit multiply: clang lowers a multiply of 128-bit
 * integers (C's unsigned __int128, Rust's u128, what crypto and bignum
 * code multiplies 64-bit limbs with) to a call of compiler-rt's __multi3,
 * which builds the high word of the product of two 64-bit words from the
 * four products of their 32-bit halves, as any portable code must:
 *
 *     xl = x & 0xffffffff, xh = x >> 32 (and y's halves alike)
 *     L = xl * yl
 *     t = (L >> 32) + xh * yl          (or + xl * yh: either cross term)
 *     u = (t & 0xffffffff) + xl * yh   (and then the other)
 *     high = xh * yh + (t >> 32) + (u >> 32)
 *     low  = (u << 32) | (L & 0xffffffff)
 *
 * None of these sums wraps (t, u < 2^64), and the two words are exactly
 * those of x * y as integers. The x86 multiply gives both at once. This
 * pass finds u's shape in the optimised IR (between LLVM's halves, so
 * wherever __multi3 was inlined too, cg_optimize) and rewrites the sum
 * that holds the high word's three terms, whatever else it adds (the
 * cross words of a 128 x 128 multiply) and in whatever order LLVM left
 * it, and the low word, as the halves of one i128 multiply of x and y.
 * Every value is the same bit for bit: the old instructions are left to
 * LLVM's dead-code removal, and are kept where something else uses them.
 */
#include "compiler/cg.h"

#define MAX_TERMS 16

static bool is_op(LLVMValueRef v, LLVMOpcode op)
{
    return LLVMIsAInstruction(v) && LLVMGetInstructionOpcode(v) == op;
}

static bool is_const(LLVMValueRef v, uint64_t k)
{
    return LLVMIsAConstantInt(v) && LLVMGetIntTypeWidth(LLVMTypeOf(v)) == 64 &&
           LLVMConstIntGetZExtValue(v) == k;
}

/* v = x & 0xffffffff, or zext(trunc x to i32): *x. */
static bool low_half(LLVMValueRef v, LLVMValueRef *x)
{
    if (is_op(v, LLVMAnd)) {
        for (int i = 0; i < 2; i++)
            if (is_const(LLVMGetOperand(v, i), 0xffffffffu)) {
                *x = LLVMGetOperand(v, 1 - i);
                return true;
            }
        return false;
    }
    if (is_op(v, LLVMZExt)) {
        LLVMValueRef t = LLVMGetOperand(v, 0);
        if (is_op(t, LLVMTrunc) && LLVMGetIntTypeWidth(LLVMTypeOf(t)) == 32 &&
            LLVMGetIntTypeWidth(LLVMTypeOf(v)) == 64) {
            *x = LLVMGetOperand(t, 0);
            return LLVMGetIntTypeWidth(LLVMTypeOf(*x)) == 64;
        }
    }
    return false;
}

/* v = x >> 32: *x. */
static bool high_half(LLVMValueRef v, LLVMValueRef *x)
{
    if (!is_op(v, LLVMLShr) || !is_const(LLVMGetOperand(v, 1), 32))
        return false;
    *x = LLVMGetOperand(v, 0);
    return true;
}

/* v = a * b, with a and b the halves `ha` of x and `hb` of y in either
 * order (ha, hb: true for the high half). */
static bool halves_product(LLVMValueRef v, LLVMValueRef x, bool ha, LLVMValueRef y, bool hb)
{
    if (!is_op(v, LLVMMul))
        return false;
    for (int i = 0; i < 2; i++) {
        LLVMValueRef a, b;
        LLVMValueRef p = LLVMGetOperand(v, i), q = LLVMGetOperand(v, 1 - i);
        if ((ha ? high_half(p, &a) : low_half(p, &a)) && a == x &&
            (hb ? high_half(q, &b) : low_half(q, &b)) && b == y)
            return true;
    }
    return false;
}

/* One of v = add(p, q)'s operands matches: *match, *other. */
static bool add_with(LLVMValueRef v, bool (*m)(LLVMValueRef, void *), void *arg,
                     LLVMValueRef *match, LLVMValueRef *other)
{
    if (!is_op(v, LLVMAdd))
        return false;
    for (int i = 0; i < 2; i++)
        if (m(LLVMGetOperand(v, i), arg)) {
            *match = LLVMGetOperand(v, i);
            *other = LLVMGetOperand(v, 1 - i);
            return true;
        }
    return false;
}

static bool is_mul(LLVMValueRef v, void *arg)
{
    (void)arg;
    return is_op(v, LLVMMul);
}

static bool is_low_half(LLVMValueRef v, void *arg)
{
    LLVMValueRef x;
    (void)arg;
    return low_half(v, &x);
}

static bool is_high_half(LLVMValueRef v, void *arg)
{
    LLVMValueRef x;
    (void)arg;
    return high_half(v, &x);
}

struct wide {
    LLVMValueRef x, y, t, u, L;
};

/* u = (t & M) + c, t = (L >> 32) + e, L = xl * yl, with c and e the two
 * cross products xh * yl and xl * yh, in either order. */
static bool match_u(LLVMValueRef u, struct wide *w)
{
    LLVMValueRef masked, c, t, shifted, e, L;
    if (LLVMGetTypeKind(LLVMTypeOf(u)) != LLVMIntegerTypeKind ||
        LLVMGetIntTypeWidth(LLVMTypeOf(u)) != 64 ||
        !add_with(u, is_low_half, NULL, &masked, &c) || !is_mul(c, NULL))
        return false;
    low_half(masked, &t);
    if (!add_with(t, is_high_half, NULL, &shifted, &e) || !is_mul(e, NULL))
        return false;
    high_half(shifted, &L);
    if (!is_op(L, LLVMMul))
        return false;
    for (int i = 0; i < 2; i++) {
        LLVMValueRef x, y;
        if (!low_half(LLVMGetOperand(L, i), &x) || !low_half(LLVMGetOperand(L, 1 - i), &y))
            continue;
        if ((halves_product(e, x, true, y, false) && halves_product(c, x, false, y, true)) ||
            (halves_product(e, x, false, y, true) && halves_product(c, x, true, y, false))) {
            *w = (struct wide){ x, y, t, u, L };
            return true;
        }
    }
    return false;
}

static LLVMValueRef single_user(LLVMValueRef v)
{
    LLVMUseRef use = LLVMGetFirstUse(v);
    return use != NULL && LLVMGetNextUse(use) == NULL ? LLVMGetUser(use) : NULL;
}

/* The leaves of the add tree at root: operands that are not adds used
 * only inside it. false past MAX_TERMS. */
static bool leaves(LLVMValueRef v, bool root, LLVMValueRef *out, unsigned *n)
{
    if (is_op(v, LLVMAdd) && (root || single_user(v) != NULL))
        return leaves(LLVMGetOperand(v, 0), false, out, n) &&
               leaves(LLVMGetOperand(v, 1), false, out, n);
    if (*n == MAX_TERMS)
        return false;
    out[(*n)++] = v;
    return true;
}

/* The i128 product of x and y, made once, right after u. */
static LLVMValueRef product(LLVMBuilderRef b, const struct wide *w, LLVMValueRef *p)
{
    if (*p == NULL) {
        LLVMTypeRef i128 = LLVMInt128TypeInContext(LLVMGetTypeContext(LLVMTypeOf(w->u)));
        LLVMPositionBuilderBefore(b, LLVMGetNextInstruction(w->u));
        *p = LLVMBuildMul(b, LLVMBuildZExt(b, w->x, i128, ""),
                          LLVMBuildZExt(b, w->y, i128, ""), "mul_wide");
    }
    return *p;
}

/* The high word: the sum holding u >> 32, t >> 32 and xh * yh. */
static bool rewrite_high(LLVMBuilderRef b, const struct wide *w, LLVMValueRef s,
                         LLVMValueRef *p)
{
    LLVMValueRef root = s, up, terms[MAX_TERMS];
    while ((up = single_user(root)) != NULL && is_op(up, LLVMAdd))
        root = up;
    unsigned n = 0, found = 0;
    int at[3] = { -1, -1, -1 };
    if (root == s || !leaves(root, true, terms, &n))
        return false;
    for (unsigned i = 0; i < n; i++) {
        LLVMValueRef x;
        int k = terms[i] == s ? 0
              : high_half(terms[i], &x) && x == w->t ? 1
              : halves_product(terms[i], w->x, true, w->y, true) ? 2 : -1;
        if (k >= 0 && at[k] < 0) {
            at[k] = (int)i;
            found++;
        }
    }
    if (found != 3)
        return false;
    LLVMValueRef mul = product(b, w, p);
    LLVMPositionBuilderBefore(b, root);
    LLVMTypeRef i64 = LLVMTypeOf(root);
    LLVMValueRef sum = LLVMBuildTrunc(b, LLVMBuildLShr(b, mul, LLVMConstInt(LLVMTypeOf(mul), 64,
                                                                          false), ""),
                                      i64, "mul_high");
    for (unsigned i = 0; i < n; i++)
        if ((int)i != at[0] && (int)i != at[1] && (int)i != at[2])
            sum = LLVMBuildAdd(b, sum, terms[i], "");
    LLVMReplaceAllUsesWith(root, sum);
    return true;
}

/* The low word: (u << 32) | (L & M), or + for |. */
static void rewrite_low(LLVMBuilderRef b, const struct wide *w, LLVMValueRef shl,
                        LLVMValueRef *p)
{
    for (LLVMUseRef use = LLVMGetFirstUse(shl); use != NULL;) {
        LLVMValueRef v = LLVMGetUser(use), low;
        use = LLVMGetNextUse(use);
        if (!is_op(v, LLVMOr) && !is_op(v, LLVMAdd))
            continue;
        LLVMValueRef other = LLVMGetOperand(v, LLVMGetOperand(v, 0) == shl ? 1 : 0);
        if (!low_half(other, &low) || low != w->L)
            continue;
        LLVMValueRef mul = product(b, w, p);
        LLVMPositionBuilderBefore(b, v);
        LLVMReplaceAllUsesWith(v, LLVMBuildTrunc(b, mul, LLVMTypeOf(v), "mul_low"));
    }
}

static void rewrite(LLVMBuilderRef b, const struct wide *w)
{
    LLVMValueRef p = NULL, x;
    LLVMValueRef users[MAX_TERMS];
    unsigned n = 0;
    for (LLVMUseRef use = LLVMGetFirstUse(w->u); use != NULL && n < MAX_TERMS;
         use = LLVMGetNextUse(use))
        users[n++] = LLVMGetUser(use);
    for (unsigned i = 0; i < n; i++) {
        if (high_half(users[i], &x) && x == w->u)
            rewrite_high(b, w, users[i], &p);
        else if (is_op(users[i], LLVMShl) && is_const(LLVMGetOperand(users[i], 1), 32) &&
                 LLVMGetOperand(users[i], 0) == w->u)
            rewrite_low(b, w, users[i], &p);
    }
}

int cg_mul_wide(struct cg_module *cm)
{
    LLVMBuilderRef b = LLVMCreateBuilderInContext(cm->ctx);
    for (LLVMValueRef fn = LLVMGetFirstFunction(cm->mod); fn != NULL;
         fn = LLVMGetNextFunction(fn))
        for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb != NULL;
             bb = LLVMGetNextBasicBlock(bb))
            for (LLVMValueRef v = LLVMGetFirstInstruction(bb); v != NULL;
                 v = LLVMGetNextInstruction(v)) {
                struct wide w;
                if (is_op(v, LLVMAdd) && match_u(v, &w))
                    rewrite(b, &w);
            }
    LLVMDisposeBuilder(b);
    return 0;
}
