/*
 * compiler/cg_idiom.c - copy and fill loops over linear memory get a fast
 * path through memmove and memset, and other loops whose accesses can be
 * bounded on entry a clone that cannot fault (loop versioning).
 *
 * A module built without bulk memory copies and fills with loops: wasi-
 * libc's memcpy, memmove and memset are C loops over bytes and words. LLVM's
 * loop idioms cannot touch them: guard-mode accesses are volatile (precise
 * traps), checked-mode ones branch to a trap, and 32-bit addresses wrap.
 * So this pass finds such loops itself, in the optimised IR, and puts a
 * test in front of each. With T the loop's trip count and M = T - 1:
 *
 *   - the trip count is known on entry (the exit test compares an
 *     induction variable with something the loop does not change);
 *   - during the first M trips no address wraps around 2^32 and every
 *     access (and every bounds check) lies inside the memory;
 *   - a copy's source and destination are disjoint, or they overlap the
 *     way the loop's order of loads and stores makes a memmove (a forward
 *     copy whose destination is below its source, or the mirror case);
 *   - a fill stores one byte value throughout.
 *
 * Then those M trips are one memmove (or memset) and the loop runs its last
 * trip itself, entered with its induction variables' values after M trips:
 * everything the loop leaves behind (its exit values, a trap in its last
 * trip) is its own. Otherwise (a trap on the way, an overlap that shows, a
 * count that runs through zero) the loop runs as it was. The state after
 * the loop, or at a trap in it, is therefore always the loop's.
 *
 * A loop qualifies when it is a chain of blocks from its header to its
 * latch whose only side exits go to blocks that end in `unreachable` (the
 * trap blocks of checked accesses, each branch a recognised bounds check);
 * its header's phis are induction variables (i32 or i64, a constant step)
 * or carry a load's value to the next trip; and its instructions are
 * integer arithmetic, loads and stores of memory 0 at affine addresses,
 * and the shifts and ors that put loaded bytes together. Its exit test,
 * its bounds checks and its addresses must be affine in the induction
 * variables (so none depends on what it loads), and every byte it stores
 * must be a byte it loaded (a copy) or the same invariant byte (a fill).
 *
 * A copy that stores its loads' values as they are may overlap the way a
 * memmove allows. One that shifts words together (wasi-libc's memcpy
 * between buffers of different alignment, whose phi carries the last word
 * to the next trip) must not overlap its source at all, and its phi must
 * start as the word before its load's first: then at every trip it holds
 * what a load one stride back would read, and after the memmove it is
 * loaded from there.
 *
 * The same reading serves versioning (version_loop), for any other loop
 * of that shape whose accesses are affine (its exit may also be in the
 * middle of the chain, its latch branch to a trap): it may compute
 * anything pure (floats, vectors, intrinsics that touch no memory),
 * access up to 16 bytes, also at invariant addresses, read and write
 * defined globals and branch to any trap. In front of it a test computes
 * its trip count T and checks that every access of all T trips stays
 * inside the memory without wrapping; then a clone runs whose accesses
 * are ordinary ones at exact 64-bit addresses, without their bounds
 * checks. Nothing in the clone can
 * fault, so LLVM may reorder and vectorise it; its other traps (a division
 * by zero) are calls, which LLVM keeps in order with the stores.
 *
 * Both run between LLVM's module simplification and its optimisation
 * pipeline (cg_optimize), where the loops are rotated and their
 * induction variables and invariants found but nothing is vectorised or
 * unrolled yet; at -O1, after the whole pipeline, copies and fills only.
 */
#include <stdlib.h>
#include <string.h>

#include <llvm-c/DebugInfo.h>

#include "compiler/cg.h"

/* A loop's fast path only pays from this many bytes per entry: below it,
 * the loop's own trips cost less than the calls. */
#define IDIOM_MIN_BYTES 64

enum {
    IDIOM_MAX_BLOCKS = 64,
    IDIOM_MAX_IVS = 16,
    IDIOM_MAX_TERMS = 4,            /* loop-invariant terms of an address */
    IDIOM_MAX_ITEMS = 128,          /* accesses and bounds checks */
    IDIOM_MAX_STEP = 1 << 16,
    IDIOM_MAX_SPAN = 1 << 16,       /* of the offsets in one group */
    IDIOM_MAX_COEF = 1 << 20,
};

struct idiom_term {
    LLVMValueRef v;                 /* defined outside the loop */
    int64_t coef;
};

/* An i32 (or i64) in the loop as iv_coef * iv + sum(coef * term) + k,
 * modulo 2^32 (2^64) (ivs: the header's phis; at trip t an iv is its
 * init + step * t, so the affine goes up by iv_coef * step, its stride,
 * every trip). In an i32 one, i64 ivs and terms appear truncated. */
struct idiom_affine {
    LLVMTypeRef type;               /* i32 or i64 */
    int iv;                         /* index into idiom_loop.ivs, or -1 */
    int64_t iv_coef;
    unsigned nterms;
    struct idiom_term terms[IDIOM_MAX_TERMS];
    uint64_t k;
};

struct idiom_iv {
    LLVMValueRef phi, init, next;   /* next: its value from the latch */
    int32_t step;
};

/* What the first M trips must keep inside the memory: bytes
 * [zext(a) + off, zext(a) + off + width) at every trip; width 0 for a
 * bounds check, which traps unless zext(a) + off <= the memory's size. */
struct idiom_item {
    struct idiom_affine a;
    uint64_t off;
    unsigned width;
    LLVMValueRef ins;               /* the load or store; NULL: a check */
    unsigned group;
    int64_t rel;                    /* a.k - its group's k, + off */
};

/* Items whose addresses differ by a constant: the same iv and terms. */
struct idiom_group {
    unsigned first;                 /* its first item: the k it is relative to */
    int64_t dk_min, dk_max;         /* a.k - first's a.k, over its items */
    int64_t end_max;                /* the largest dk + off + width */
};

/* A header phi that carries a load's value to the next trip (a copy that
 * shifts words together, as wasi-libc's memcpy between differently
 * aligned buffers does): at trip t it holds that load's value of trip
 * t - 1, i.e. the word one stride before the load's address at trip t. */
struct idiom_carried {
    LLVMValueRef phi, init, next;
    unsigned item;                  /* next, a load of the loop (read_body) */
    /* For versioning, a phi that carries what an affine a, or an index
     * zext(a) + off, is at the next trip (LLVM's strength reduction; an
     * address checked code computed for the next trip's check): a is
     * taken one trip back, so that at every trip but the first the phi
     * is a (or zext(a) + off); that it is so at the first too,
     * version_loop tests on entry. */
    bool affine, index;
    struct idiom_affine a;
    uint64_t off;
};

/* Where a stored byte comes from: a byte of the source group at rel, or
 * zero. */
struct idiom_byte {
    bool zero;
    unsigned group;
    int64_t rel;
};

struct idiom_loop {
    struct cg_module *cm;
    LLVMValueRef vmctx, mem_base;
    LLVMBasicBlockRef pre;          /* the header's one other predecessor */
    LLVMBasicBlockRef bbs[IDIOM_MAX_BLOCKS];        /* header .. latch */
    unsigned nbbs;
    struct idiom_iv ivs[IDIOM_MAX_IVS];
    unsigned nivs;
    struct idiom_carried carried[IDIOM_MAX_IVS];
    unsigned ncarried;
    struct idiom_item items[IDIOM_MAX_ITEMS];
    unsigned nitems;
    struct idiom_group groups[IDIOM_MAX_ITEMS];
    unsigned ngroups;
    /* The exit test: the loop goes round while pred(cmp, bound). */
    LLVMIntPredicate pred;
    struct idiom_affine cmp, bound;
    /* What the trips do: a copy (loads, stores), or a fill (stores). */
    unsigned nloads, nstores;
    int32_t step;                   /* of the accesses' ivs */
    bool order_ok;                  /* a same-trip store-load order fits a memmove */
    /* A copy whose stores are not simply its loads' values (shifted
     * words, carried loads): the store groups' bytes come from src_group
     * at their rel - delta, and the source must not overlap at all. */
    bool shifted;
    unsigned src_group;
    int64_t delta;
    unsigned fshl, fshr;            /* the intrinsics' ids */
    /* Read for versioning (version_loop) rather than for a copy or a
     * fill: any pure computation, accesses of any width up to 16 bytes,
     * loop-invariant addresses, other trap checks, defined globals. */
    bool version;
    int exiting;                    /* the block whose branch leaves the loop */
    LLVMTargetDataRef td;
    unsigned memory_attr;           /* the "memory" attribute's kind */
    unsigned ninsns;
    LLVMValueRef checks[IDIOM_MAX_ITEMS];   /* branches that are bounds checks */
    unsigned nchecks;
    LLVMValueRef globals[IDIOM_MAX_ITEMS];  /* stores of defined globals */
    unsigned nglobals;
};

/* ===== Reading the loop ================================================ */

static bool chain_has(const struct idiom_loop *lp, LLVMBasicBlockRef bb)
{
    for (unsigned i = 0; i < lp->nbbs; i++)
        if (lp->bbs[i] == bb)
            return true;
    return false;
}

static bool in_loop(const struct idiom_loop *lp, LLVMValueRef v)
{
    return LLVMIsAInstruction(v) && chain_has(lp, LLVMGetInstructionParent(v));
}

/* An add, or an or of disjoint bits (the same). */
static bool is_add(LLVMValueRef v)
{
    LLVMOpcode op = LLVMGetInstructionOpcode(v);
    return op == LLVMAdd || (op == LLVMOr && LLVMGetIsDisjoint(v));
}

static int iv_index(const struct idiom_loop *lp, LLVMValueRef v)
{
    for (unsigned i = 0; i < lp->nivs; i++)
        if (lp->ivs[i].phi == v)
            return (int)i;
    return -1;
}

static bool add_term(struct idiom_affine *a, LLVMValueRef v, int64_t coef)
{
    for (unsigned i = 0; i < a->nterms; i++)
        if (a->terms[i].v == v) {
            a->terms[i].coef += coef;
            if (a->terms[i].coef == 0)
                a->terms[i] = a->terms[--a->nterms];    /* they cancel */
            return true;
        }
    if (a->nterms == IDIOM_MAX_TERMS)
        return false;
    a->terms[a->nterms++] = (struct idiom_term){ v, coef };
    return true;
}

/* *a += coef * ivs[iv]; an affine has one iv at most. */
static bool add_iv(struct idiom_affine *a, int iv, int64_t coef)
{
    if (a->iv >= 0 && a->iv != iv)
        return false;
    a->iv = iv;
    a->iv_coef += coef;
    if (a->iv_coef == 0)
        a->iv = -1;
    return true;
}

/* *a += coef * x (x of a's type, or an i64 one under a trunc). */
static bool add_affine(const struct idiom_loop *lp, struct idiom_affine *a,
                       const struct idiom_affine *x, int64_t coef)
{
    if (x->type != a->type && !(a->type == lp->cm->i32 && x->type == lp->cm->i64))
        return false;
    if (x->iv >= 0 && !add_iv(a, x->iv, coef * x->iv_coef))
        return false;
    for (unsigned i = 0; i < x->nterms; i++)
        if (!add_term(a, x->terms[i].v, coef * x->terms[i].coef))
            return false;
    a->k += (uint64_t)coef * x->k;
    return true;
}

/* The constant operand of a mul or shl by a constant, as a factor. */
static bool factor_of(LLVMValueRef v, int64_t *factor, LLVMValueRef *other)
{
    bool shl = LLVMGetInstructionOpcode(v) == LLVMShl;
    for (unsigned i = shl ? 1 : 0; i < 2; i++) {
        LLVMValueRef c = LLVMGetOperand(v, i);
        if (!LLVMIsAConstantInt(c))
            continue;
        uint64_t x = LLVMConstIntGetZExtValue(c);
        if (shl ? x >= 20 : x >= IDIOM_MAX_COEF)
            return false;
        *factor = shl ? (int64_t)1 << x : (int64_t)x;
        *other = LLVMGetOperand(v, 1 - i);
        return true;
    }
    return false;
}

/* v (of a's type, or an i64 under a trunc) as an affine of the loop's
 * ivs, times coef, added to *a. */
static bool affine_add(const struct idiom_loop *lp, LLVMValueRef v, int64_t coef,
                       struct idiom_affine *a, unsigned depth)
{
    if (depth > 16 || coef > IDIOM_MAX_COEF || coef < -IDIOM_MAX_COEF)
        return false;
    if (LLVMIsAConstantInt(v)) {
        a->k += (uint64_t)coef * LLVMConstIntGetZExtValue(v);
        return true;
    }
    if (!in_loop(lp, v))
        return LLVMIsAConstant(v) ? false : add_term(a, v, coef);
    for (unsigned c = 0; c < lp->ncarried; c++)
        if (lp->carried[c].affine && lp->carried[c].phi == v)
            return add_affine(lp, a, &lp->carried[c].a, coef);
    int iv = iv_index(lp, v);
    if (iv >= 0)
        return add_iv(a, iv, coef);
    int64_t factor;
    LLVMValueRef other;
    switch (LLVMGetInstructionOpcode(v)) {
    case LLVMOr:
    case LLVMAdd:
        return is_add(v) &&
               affine_add(lp, LLVMGetOperand(v, 0), coef, a, depth + 1) &&
               affine_add(lp, LLVMGetOperand(v, 1), coef, a, depth + 1);
    case LLVMSub:
        return affine_add(lp, LLVMGetOperand(v, 0), coef, a, depth + 1) &&
               affine_add(lp, LLVMGetOperand(v, 1), -coef, a, depth + 1);
    case LLVMMul:
    case LLVMShl:
        return factor_of(v, &factor, &other) &&
               affine_add(lp, other, coef * factor, a, depth + 1);
    case LLVMTrunc:                 /* i64 to i32: the same, modulo 2^32 */
        return a->type == lp->cm->i32 && LLVMTypeOf(LLVMGetOperand(v, 0)) == lp->cm->i64 &&
               affine_add(lp, LLVMGetOperand(v, 0), coef, a, depth + 1);
    default:
        return false;
    }
}

/* How much a (with an iv) goes up every trip; 0 when that is too much. */
static int32_t stride_of(const struct idiom_loop *lp, const struct idiom_affine *a)
{
    if (a->iv < 0)
        return 0;
    int64_t s = lp->ivs[a->iv].step * a->iv_coef;
    return s < -IDIOM_MAX_STEP || s > IDIOM_MAX_STEP ? 0 : (int32_t)s;
}

static bool affine_of(const struct idiom_loop *lp, LLVMValueRef v,
                      struct idiom_affine *a)
{
    memset(a, 0, sizeof *a);
    a->iv = -1;
    a->type = LLVMTypeOf(v);
    return (a->type == lp->cm->i32 || a->type == lp->cm->i64) && affine_add(lp, v, 1, a, 0);
}

/*
 * x & M, M the low 32 bits with the low j bits cleared (j <= 12): what
 * LLVM makes of zext(trunc x) once it knows x's low j bits are 0, as in
 * a loop whose i32 index indvars widened to i64 and counts up to 0 (an
 * access at (i + C) & 0xfffffff8). The same as zext(trunc x) where those
 * bits are 0: low_bits_zero says when they are.
 */
static bool masked_low32(LLVMValueRef v, LLVMValueRef *x, unsigned *j)
{
    if (!LLVMIsAInstruction(v) || LLVMGetInstructionOpcode(v) != LLVMAnd ||
        !LLVMIsAConstantInt(LLVMGetOperand(v, 1)) ||
        LLVMGetIntTypeWidth(LLVMTypeOf(v)) != 64)
        return false;
    uint64_t m = LLVMConstIntGetZExtValue(LLVMGetOperand(v, 1));
    for (unsigned k = 0; k <= 12; k++)
        if (m == (UINT32_MAX & ~(((uint64_t)1 << k) - 1))) {
            *x = LLVMGetOperand(v, 0);
            *j = k;
            return true;
        }
    return false;
}

/* a's low j bits are 0 at every trip: its constant, its iv's first value
 * (a constant) and step, times its coefficient; no other terms. */
static bool low_bits_zero(const struct idiom_loop *lp, const struct idiom_affine *a,
                          unsigned j)
{
    uint64_t low = ((uint64_t)1 << j) - 1;
    if (j == 0)
        return true;
    if ((a->k & low) != 0 || a->nterms != 0)
        return false;
    if (a->iv < 0)
        return true;
    const struct idiom_iv *iv = &lp->ivs[a->iv];
    return LLVMIsAConstantInt(iv->init) &&
           ((uint64_t)a->iv_coef * LLVMConstIntGetZExtValue(iv->init) & low) == 0 &&
           ((uint64_t)a->iv_coef * (uint64_t)(int64_t)iv->step & low) == 0;
}

/* x & M (masked_low32) as the i32 affine of trunc x. */
static bool masked_affine(const struct idiom_loop *lp, LLVMValueRef v, struct idiom_affine *a)
{
    LLVMValueRef x;
    unsigned j;
    if (!masked_low32(v, &x, &j))
        return false;
    memset(a, 0, sizeof *a);
    a->iv = -1;
    a->type = lp->cm->i32;
    return affine_add(lp, x, 1, a, 0) && low_bits_zero(lp, a, j);
}

/* An i64 index zext(a) + off, off a constant (or a masked_low32 of an
 * i64, the same). */
static bool index_of(const struct idiom_loop *lp, LLVMValueRef v, bool *have_a,
                     struct idiom_affine *a, uint64_t *off, unsigned depth)
{
    if (depth > 8)
        return false;
    if (LLVMIsAConstantInt(v)) {
        uint64_t c = LLVMConstIntGetZExtValue(v);
        if (c > UINT32_MAX)
            return false;
        *off += c;
        return true;
    }
    if (!LLVMIsAInstruction(v) || (!in_loop(lp, v) && !lp->version))
        return false;
    for (unsigned c = 0; c < lp->ncarried; c++)
        if (lp->carried[c].index && lp->carried[c].phi == v) {
            if (*have_a)
                return false;
            *have_a = true;
            *a = lp->carried[c].a;
            *off += lp->carried[c].off;
            return true;
        }
    switch (LLVMGetInstructionOpcode(v)) {
    case LLVMZExt:
        if (*have_a)
            return false;
        *have_a = true;
        return affine_of(lp, LLVMGetOperand(v, 0), a) && (a->iv >= 0 || lp->version);
    case LLVMAnd:
        if (*have_a)
            return false;
        *have_a = true;
        return masked_affine(lp, v, a) && (a->iv >= 0 || lp->version);
    case LLVMOr:
    case LLVMAdd:
        return is_add(v) &&
               index_of(lp, LLVMGetOperand(v, 0), have_a, a, off, depth + 1) &&
               index_of(lp, LLVMGetOperand(v, 1), have_a, a, off, depth + 1);
    default:
        return false;
    }
}

/* vmctx->mem_base: a load of the function's first parameter. */
_Static_assert(AWSM_VMCTX_MEM_BASE == 0, "mem_base is what vmctx points to");
static bool is_mem_base(const struct idiom_loop *lp, LLVMValueRef v)
{
    return LLVMIsALoadInst(v) && !in_loop(lp, v) && LLVMGetOperand(v, 0) == lp->vmctx &&
           LLVMTypeOf(v) == lp->cm->ptr;
}

/* A pointer into memory 0: mem_base + zext(a) + off. For versioning, a
 * may be invariant, or 0 (a constant address). */
static bool pointer_of(struct idiom_loop *lp, LLVMValueRef p, struct idiom_affine *a,
                       uint64_t *off)
{
    bool have_a = false;
    *off = 0;
    memset(a, 0, sizeof *a);
    a->iv = -1;
    a->type = lp->cm->i32;
    for (unsigned depth = 0; depth < 8; depth++) {
        if (is_mem_base(lp, p)) {
            if (lp->mem_base != NULL && lp->mem_base != p)
                return false;
            lp->mem_base = p;
            return have_a || lp->version;
        }
        if (!LLVMIsAGetElementPtrInst(p) || LLVMGetNumOperands(p) != 2 ||
            LLVMGetGEPSourceElementType(p) != lp->cm->i8)
            return false;
        /* Outside the loop, a constant offset (LICM hoists them). */
        LLVMValueRef idx = LLVMGetOperand(p, 1);
        if (in_loop(lp, p) || lp->version) {
            bool had_a = have_a;
            uint64_t off0 = *off;
            if (!index_of(lp, idx, &have_a, a, off, 0)) {
                /* For versioning, an i64 induction variable (indvars'
                 * widening of the i32 address, exact wherever the loop
                 * uses it) as the whole index. */
                if (!lp->version || had_a || LLVMTypeOf(idx) != lp->cm->i64 ||
                    !affine_of(lp, idx, a) || a->iv < 0)
                    return false;
                *off = off0;
                have_a = true;
            }
        } else if (!LLVMIsAConstantInt(idx) || LLVMConstIntGetZExtValue(idx) > UINT32_MAX) {
            return false;
        }
        if (!in_loop(lp, p) && !lp->version)
            *off += LLVMConstIntGetZExtValue(idx);
        p = LLVMGetOperand(p, 0);
    }
    return false;
}

/* vmctx->memory->size, loaded (or a phi of such loads, from GVN): what a
 * checked access compares with. Only memory.grow, a call, changes it, so
 * a load of it in front of the loop reads the same value. */
static bool is_mem_size_at(const struct idiom_loop *lp, LLVMValueRef v, unsigned depth)
{
    if (LLVMIsAPHINode(v) && depth < 4 && LLVMTypeOf(v) == lp->cm->i64) {
        for (unsigned i = 0; i < LLVMCountIncoming(v); i++)
            if (!is_mem_size_at(lp, LLVMGetIncomingValue(v, i), depth + 1))
                return false;
        return !in_loop(lp, v);
    }
    if (!LLVMIsALoadInst(v) || LLVMTypeOf(v) != lp->cm->i64)
        return false;
    LLVMValueRef p = LLVMGetOperand(v, 0);
    if (!LLVMIsAGetElementPtrInst(p) || LLVMGetNumOperands(p) != 2)
        return false;
    LLVMValueRef off = LLVMGetOperand(p, 1), memory = LLVMGetOperand(p, 0);
    if (!LLVMIsAConstantInt(off) ||
        LLVMConstIntGetZExtValue(off) != offsetof(struct awsm_memory, size) ||
        !LLVMIsALoadInst(memory))
        return false;
    LLVMValueRef q = LLVMGetOperand(memory, 0);
    return LLVMIsAGetElementPtrInst(q) && LLVMGetNumOperands(q) == 2 &&
           LLVMGetOperand(q, 0) == lp->vmctx && LLVMIsAConstantInt(LLVMGetOperand(q, 1)) &&
           LLVMConstIntGetZExtValue(LLVMGetOperand(q, 1)) == AWSM_VMCTX_MEMORY;
}

static bool is_mem_size(const struct idiom_loop *lp, LLVMValueRef v)
{
    return is_mem_size_at(lp, v, 0);
}

static bool add_item(struct idiom_loop *lp, const struct idiom_affine *a, uint64_t off,
                     unsigned width, LLVMValueRef ins)
{
    if (lp->nitems == IDIOM_MAX_ITEMS)
        return false;
    lp->items[lp->nitems++] = (struct idiom_item){ .a = *a, .off = off, .width = width,
                                                   .ins = ins };
    return true;
}

/* x P y as y P' x, and as !(x P'' y). */
static LLVMIntPredicate swapped(LLVMIntPredicate p)
{
    switch (p) {
    case LLVMIntULT: return LLVMIntUGT;
    case LLVMIntULE: return LLVMIntUGE;
    case LLVMIntUGT: return LLVMIntULT;
    case LLVMIntUGE: return LLVMIntULE;
    case LLVMIntSLT: return LLVMIntSGT;
    case LLVMIntSLE: return LLVMIntSGE;
    case LLVMIntSGT: return LLVMIntSLT;
    case LLVMIntSGE: return LLVMIntSLE;
    default: return p;              /* eq, ne */
    }
}

static LLVMIntPredicate inverse(LLVMIntPredicate p)
{
    switch (p) {
    case LLVMIntEQ: return LLVMIntNE;
    case LLVMIntNE: return LLVMIntEQ;
    case LLVMIntULT: return LLVMIntUGE;
    case LLVMIntULE: return LLVMIntUGT;
    case LLVMIntUGT: return LLVMIntULE;
    case LLVMIntUGE: return LLVMIntULT;
    case LLVMIntSLT: return LLVMIntSGE;
    case LLVMIntSLE: return LLVMIntSGT;
    case LLVMIntSGT: return LLVMIntSLE;
    default: return LLVMIntSLT;     /* sge */
    }
}

/* A bounds check that traps when `c` is `traps_if`: zext(a) + off > size
 * or >= size (either way round, either polarity), or several joined by or
 * (select c, true, d) or, for the opposite polarity, by and. */
static bool check_of(struct idiom_loop *lp, LLVMValueRef c, bool traps_if, unsigned depth)
{
    if (depth > 8 || !LLVMIsAInstruction(c))
        return false;
    LLVMOpcode op = LLVMGetInstructionOpcode(c);
    if (op == LLVMSelect) {
        LLVMValueRef t = LLVMGetOperand(c, 1), e = LLVMGetOperand(c, 2);
        /* or: select a, true, b; and: select a, b, false */
        LLVMValueRef fixed = traps_if ? t : e, other = traps_if ? e : t;
        return LLVMIsAConstantInt(fixed) && LLVMConstIntGetZExtValue(fixed) == traps_if &&
               check_of(lp, LLVMGetOperand(c, 0), traps_if, depth + 1) &&
               check_of(lp, other, traps_if, depth + 1);
    }
    if ((op == LLVMOr && traps_if) || (op == LLVMAnd && !traps_if))
        return check_of(lp, LLVMGetOperand(c, 0), traps_if, depth + 1) &&
               check_of(lp, LLVMGetOperand(c, 1), traps_if, depth + 1);
    if (op != LLVMICmp)
        return false;
    /* As "traps when x P size": x > size needs x <= size, x >= size
     * needs x + 1 <= size. */
    LLVMIntPredicate p = LLVMGetICmpPredicate(c);
    LLVMValueRef x = LLVMGetOperand(c, 0), y = LLVMGetOperand(c, 1);
    if (is_mem_size(lp, x)) {
        LLVMValueRef t = x;
        x = y, y = t;
        p = swapped(p);
    }
    if (!traps_if)
        p = inverse(p);
    struct idiom_affine a;
    uint64_t off = 0;
    bool have_a = false;
    return (p == LLVMIntUGT || p == LLVMIntUGE) && is_mem_size(lp, y) &&
           index_of(lp, x, &have_a, &a, &off, 0) && have_a &&
           add_item(lp, &a, off, p == LLVMIntUGE, NULL);
}

static bool is_trap_block(LLVMBasicBlockRef bb)
{
    return LLVMIsAUnreachableInst(LLVMGetBasicBlockTerminator(bb)) != NULL;
}

/* How many terminators branch to bb (counting stops past 3). */
static unsigned count_preds(LLVMBasicBlockRef bb)
{
    unsigned n = 0;
    for (LLVMUseRef u = LLVMGetFirstUse(LLVMBasicBlockAsValue(bb)); u != NULL && n <= 3;
         u = LLVMGetNextUse(u))
        n++;
    return n;
}

/* The blocks from header h to the latch, each the only successor of the
 * one before but for trap blocks and the loop's one exit; each but h
 * entered from that one alone. The exit is the latch's other successor
 * (a copy or fill must have it there) or, for versioning, that of a
 * block before it whose other successor goes on (`exit_first`: which of
 * a block's two successors is taken for the exit, where either might be;
 * the latch then goes back unconditionally). Fills lp->bbs, lp->pre and
 * lp->exiting. */
static bool find_chain_as(struct idiom_loop *lp, LLVMBasicBlockRef h, bool exit_first)
{
    if (count_preds(h) != 2)
        return false;
    lp->nbbs = 0;
    lp->bbs[lp->nbbs++] = h;
    lp->exiting = -1;
    for (LLVMBasicBlockRef bb = h;;) {
        LLVMValueRef term = LLVMGetBasicBlockTerminator(bb);
        unsigned n = LLVMGetNumSuccessors(term);
        if (!LLVMIsABranchInst(term) || n == 0)
            return false;
        if (n == 1 && LLVMGetSuccessor(term, 0) == h) {
            if (lp->exiting < 0)
                return false;       /* no way out */
            goto latch;
        }
        LLVMBasicBlockRef next = NULL;
        for (unsigned i = 0; i < n; i++) {
            LLVMBasicBlockRef s = LLVMGetSuccessor(term, i), o = LLVMGetSuccessor(term, 1 - i);
            if (s == h) {
                if (n != 2 || chain_has(lp, o) || o == h)
                    return false;
                if (lp->exiting < 0)
                    lp->exiting = (int)lp->nbbs - 1;
                else if (!is_trap_block(o))
                    return false;   /* a second way out */
                goto latch;
            }
            if (n == 2 && is_trap_block(s))
                continue;
            if (n == 2 && !is_trap_block(o) && lp->version && lp->exiting < 0 &&
                (i == 0) == exit_first) {
                if (chain_has(lp, s))
                    return false;
                lp->exiting = (int)lp->nbbs - 1;   /* s is the exit */
                continue;
            }
            if (next != NULL)
                return false;
            next = s;
        }
        if (next == NULL || chain_has(lp, next) || lp->nbbs == IDIOM_MAX_BLOCKS ||
            count_preds(next) != 1)
            return false;
        lp->bbs[lp->nbbs++] = next;
        bb = next;
    }
latch:;
    /* h's other predecessor, which must branch to it once. */
    LLVMValueRef latch_term = LLVMGetBasicBlockTerminator(lp->bbs[lp->nbbs - 1]), pre_term = NULL;
    for (LLVMUseRef u = LLVMGetFirstUse(LLVMBasicBlockAsValue(h)); u != NULL;
         u = LLVMGetNextUse(u))
        if (LLVMGetUser(u) != latch_term)
            pre_term = LLVMGetUser(u);
    if (pre_term == NULL || !LLVMIsAInstruction(pre_term) || !LLVMIsATerminatorInst(pre_term))
        return false;
    lp->pre = LLVMGetInstructionParent(pre_term);
    return !chain_has(lp, lp->pre);
}

static bool find_chain(struct idiom_loop *lp, LLVMBasicBlockRef h)
{
    return find_chain_as(lp, h, false) || (lp->version && find_chain_as(lp, h, true));
}

/* The exiting block's branch, and which of its successors leaves. */
static LLVMValueRef exit_branch(const struct idiom_loop *lp, unsigned *out)
{
    LLVMValueRef term = LLVMGetBasicBlockTerminator(lp->bbs[lp->exiting]);
    LLVMBasicBlockRef on = lp->exiting + 1 < (int)lp->nbbs ? lp->bbs[lp->exiting + 1] : lp->bbs[0];
    *out = LLVMGetSuccessor(term, 0) == on ? 1 : 0;
    return term;
}

/* The header's phis, each an iv: an i32 whose value from the latch is
 * itself plus a constant. */
/* Is ivs[i] an iv: its value from the latch itself plus a constant? */
static bool is_iv(struct idiom_loop *lp, unsigned i)
{
    struct idiom_affine a;
    if (!affine_of(lp, lp->ivs[i].next, &a) || a.iv != (int)i || a.iv_coef != 1 ||
        a.nterms != 0)
        return false;
    int64_t step = a.type == lp->cm->i32 ? (int32_t)a.k : (int64_t)a.k;
    if (step == 0 || step > IDIOM_MAX_STEP || step < -IDIOM_MAX_STEP)
        return false;
    lp->ivs[i].step = (int32_t)step;
    return true;
}

/* The header's phis: ivs (integers with a constant step), and the rest,
 * which may only carry a load (checked once the loads are known). A phi
 * taken for an iv may lean on one that turns out not to be: so again
 * until none changes. */
static bool find_ivs(struct idiom_loop *lp)
{
    LLVMBasicBlockRef latch = lp->bbs[lp->nbbs - 1];
    lp->nivs = lp->ncarried = 0;
    for (LLVMValueRef in = LLVMGetFirstInstruction(lp->bbs[0]); in != NULL && LLVMIsAPHINode(in);
         in = LLVMGetNextInstruction(in)) {
        if (lp->nivs == IDIOM_MAX_IVS || LLVMCountIncoming(in) != 2 ||
            (!lp->version && LLVMGetTypeKind(LLVMTypeOf(in)) != LLVMIntegerTypeKind))
            return false;
        struct idiom_iv *iv = &lp->ivs[lp->nivs++];
        *iv = (struct idiom_iv){ .phi = in };
        for (unsigned i = 0; i < 2; i++) {
            if (LLVMGetIncomingBlock(in, i) == lp->pre)
                iv->init = LLVMGetIncomingValue(in, i);
            else if (LLVMGetIncomingBlock(in, i) == latch)
                iv->next = LLVMGetIncomingValue(in, i);
        }
        if (iv->init == NULL || iv->next == NULL)
            return false;
    }
    for (unsigned i = 0; i < lp->nivs;) {
        LLVMTypeRef t = LLVMTypeOf(lp->ivs[i].phi);
        if ((t == lp->cm->i32 || t == lp->cm->i64) && is_iv(lp, i)) {
            i++;
            continue;
        }
        const struct idiom_iv *iv = &lp->ivs[i];
        lp->carried[lp->ncarried++] = (struct idiom_carried){ .phi = iv->phi, .init = iv->init,
                                                             .next = iv->next };
        lp->ivs[i] = lp->ivs[--lp->nivs];
        i = 0;                      /* the others again, without it */
    }
    return lp->nivs > 0;
}

/* For versioning: the carried phis whose value from the latch is an
 * affine, or an index zext(a) + off, of the next trip (taken one trip
 * back here). One may lean on another found before it. */
static void find_affine_phis(struct idiom_loop *lp)
{
    for (unsigned c = 0; c < lp->ncarried; c++) {
        struct idiom_carried *cp = &lp->carried[c];
        LLVMTypeRef t = LLVMTypeOf(cp->phi);
        bool have_a = false;
        uint64_t off = 0;
        struct idiom_affine a;
        if (t != lp->cm->i32 && t != lp->cm->i64)
            continue;
        if (affine_of(lp, cp->next, &a)) {
            cp->affine = true;
        } else if (t == lp->cm->i64 && index_of(lp, cp->next, &have_a, &a, &off, 0) && have_a &&
                   off <= UINT32_MAX) {
            cp->index = true;
        } else {
            continue;
        }
        if (a.iv >= 0)
            a.k -= (uint64_t)(a.iv_coef * lp->ivs[a.iv].step);
        cp->a = a;
        cp->off = off;
    }
}

/* Each carried phi's value from the latch is a load of the loop. */
static bool find_carried_loads(struct idiom_loop *lp)
{
    for (unsigned c = 0; c < lp->ncarried; c++) {
        unsigned i = 0;
        while (i < lp->nitems && lp->items[i].ins != lp->carried[c].next)
            i++;
        if (i == lp->nitems || !LLVMIsALoadInst(lp->items[i].ins))
            return false;
        lp->carried[c].item = i;
    }
    return true;
}

static bool access_of(struct idiom_loop *lp, LLVMValueRef in, bool store)
{
    if (LLVMGetOrdering(in) != LLVMAtomicOrderingNotAtomic)
        return false;
    LLVMTypeRef t = LLVMTypeOf(store ? LLVMGetOperand(in, 0) : in);
    LLVMTypeKind kind = LLVMGetTypeKind(t);
    unsigned bytes;
    if (lp->version) {
        if (kind != LLVMIntegerTypeKind && kind != LLVMFloatTypeKind &&
            kind != LLVMDoubleTypeKind && kind != LLVMVectorTypeKind)
            return false;
        bytes = (unsigned)LLVMStoreSizeOfType(lp->td, t);
    } else {
        unsigned bits = kind == LLVMIntegerTypeKind ? LLVMGetIntTypeWidth(t) : 0;
        if (bits != 8 && bits != 16 && bits != 32 && bits != 64)
            return false;
        bytes = bits / 8;
    }
    struct idiom_affine a;
    uint64_t off;
    if (bytes == 0 || bytes > 16 || !pointer_of(lp, LLVMGetOperand(in, store ? 1 : 0), &a, &off))
        return false;
    /* What a store stores is the pattern's business (copy_pattern,
     * fill_pattern), and so is what a load's value feeds: the tests and
     * the addresses, being ivs' affines, cannot depend on it. */
    if (store) {
        LLVMValueRef v = LLVMGetOperand(in, 0);
        if (!lp->version && !in_loop(lp, v) && !LLVMIsAConstantInt(v) && LLVMIsAConstant(v))
            return false;
        lp->nstores++;
    } else {
        lp->nloads++;
    }
    return add_item(lp, &a, off, bytes, in);
}

/* The latch's test: the loop goes round while pred(cmp, bound), cmp an iv
 * expression and bound invariant. */
static bool exit_test(struct idiom_loop *lp, LLVMValueRef term)
{
    LLVMValueRef c = LLVMGetCondition(term);
    if (!LLVMIsAICmpInst(c))
        return false;
    LLVMIntPredicate p = LLVMGetICmpPredicate(c);
    struct idiom_affine x, y;
    LLVMValueRef l = LLVMGetOperand(c, 0), r = LLVMGetOperand(c, 1);
    if (LLVMIsAConstantInt(r) && LLVMConstIntGetZExtValue(r) <= UINT32_MAX &&
        masked_affine(lp, l, &x)) {
        /* (x & M) against a constant: trunc x against it, as i32 */
        memset(&y, 0, sizeof y);
        y.iv = -1;
        y.type = lp->cm->i32;
        y.k = LLVMConstIntGetZExtValue(r);
    } else if (!affine_of(lp, l, &x) || !affine_of(lp, r, &y)) {
        return false;
    }
    if (x.iv < 0) {
        struct idiom_affine t = x;
        x = y, y = t;
        p = swapped(p);
    }
    unsigned out;
    if (x.iv < 0 || y.iv >= 0 || exit_branch(lp, &out) != term)
        return false;
    if (out == 0)
        p = inverse(p);
    int32_t s = stride_of(lp, &x);
    uint32_t mag = s < 0 ? (uint32_t)-s : (uint32_t)s;
    if (s == 0 || p == LLVMIntEQ || (p == LLVMIntNE && (mag & (mag - 1)) != 0) ||
        (x.type == lp->cm->i64 && p != LLVMIntNE))
        return false;
    lp->pred = p;
    lp->cmp = x;
    lp->bound = y;
    return true;
}

/* A call of llvm.fshl (1) or llvm.fshr (2) by a constant; else 0. */
static int funnel_shift(const struct idiom_loop *lp, LLVMValueRef call)
{
    LLVMValueRef callee = LLVMGetCalledValue(call);
    unsigned id = LLVMIsAFunction(callee) ? LLVMGetIntrinsicID(callee) : 0;
    int kind = id == 0 ? 0 : id == lp->fshl ? 1 : id == lp->fshr ? 2 : 0;
    return kind != 0 && LLVMGetNumArgOperands(call) == 3 &&
           LLVMIsAConstantInt(LLVMGetOperand(call, 2)) ? kind : 0;
}

/* A defined global's cell, vmctx + AWSM_VMCTX_GLOBALS + 16 i: what
 * global.get and global.set access (cg_call.c's global_cell). */
static bool is_global_cell(const struct idiom_loop *lp, LLVMValueRef p)
{
    return LLVMIsAGetElementPtrInst(p) && !in_loop(lp, p) && LLVMGetNumOperands(p) == 2 &&
           LLVMGetOperand(p, 0) == lp->vmctx && LLVMIsAConstantInt(LLVMGetOperand(p, 1)) &&
           LLVMConstIntGetZExtValue(LLVMGetOperand(p, 1)) >= AWSM_VMCTX_GLOBALS;
}

/* A call that versioning keeps: an intrinsic that touches no memory
 * (llvm.fabs, llvm.smax, llvm.fshl, llvm.fptosi.sat, ...). */
static bool is_pure_intrinsic(const struct idiom_loop *lp, LLVMValueRef call)
{
    LLVMValueRef callee = LLVMGetCalledValue(call);
    if (!LLVMIsAFunction(callee) || LLVMGetIntrinsicID(callee) == 0)
        return false;
    LLVMAttributeRef mem = LLVMGetEnumAttributeAtIndex(callee, LLVMAttributeFunctionIndex,
                                                       lp->memory_attr);
    return mem != NULL && LLVMGetEnumAttributeValue(mem) == 0;     /* memory(none) */
}

/* What versioning accepts besides what a copy or fill may hold: any
 * instruction that computes a value from its operands alone. */
static bool is_pure_op(LLVMOpcode op)
{
    switch (op) {
    case LLVMAdd: case LLVMSub: case LLVMMul: case LLVMUDiv: case LLVMSDiv: case LLVMURem:
    case LLVMSRem: case LLVMShl: case LLVMLShr: case LLVMAShr: case LLVMAnd: case LLVMOr:
    case LLVMXor: case LLVMFAdd: case LLVMFSub: case LLVMFMul: case LLVMFDiv: case LLVMFRem:
    case LLVMFNeg: case LLVMICmp: case LLVMFCmp: case LLVMSelect: case LLVMTrunc:
    case LLVMZExt: case LLVMSExt: case LLVMFPToUI: case LLVMFPToSI: case LLVMUIToFP:
    case LLVMSIToFP: case LLVMFPTrunc: case LLVMFPExt: case LLVMBitCast:
    case LLVMExtractElement: case LLVMInsertElement: case LLVMShuffleVector: case LLVMFreeze:
    case LLVMGetElementPtr:
        return true;
    default:
        return false;
    }
}

/* A load or store for versioning that is not an access of memory 0: a
 * defined global's (which cannot fault). */
static bool other_access(struct idiom_loop *lp, LLVMValueRef in, bool store)
{
    if (LLVMGetOrdering(in) != LLVMAtomicOrderingNotAtomic)
        return false;
    if (!is_global_cell(lp, LLVMGetOperand(in, store ? 1 : 0)))
        return false;
    if (store) {
        if (lp->nglobals == IDIOM_MAX_ITEMS)
            return false;
        lp->globals[lp->nglobals++] = in;
    }
    return true;
}

/* A conditional branch to a trap block that is not the exit test: a
 * bounds check (which versioning drops), or, for versioning, another
 * trap. */
static bool side_exit(struct idiom_loop *lp, LLVMValueRef br)
{
    unsigned n0 = lp->nitems;
    if (check_of(lp, LLVMGetCondition(br), is_trap_block(LLVMGetSuccessor(br, 0)), 0)) {
        if (lp->nchecks == IDIOM_MAX_ITEMS)
            return false;
        lp->checks[lp->nchecks++] = br;
        return true;
    }
    lp->nitems = n0;                /* what a partial match added */
    return lp->version;
}

/* Every instruction of the chain, in order: what it is and whether the
 * loop may have it. */
static bool read_body(struct idiom_loop *lp)
{
    lp->nitems = lp->nloads = lp->nstores = lp->nchecks = lp->nglobals = lp->ninsns = 0;
    lp->mem_base = NULL;
    for (unsigned b = 0; b < lp->nbbs; b++) {
        for (LLVMValueRef in = LLVMGetFirstInstruction(lp->bbs[b]); in != NULL;
             in = LLVMGetNextInstruction(in)) {
            LLVMOpcode op = LLVMGetInstructionOpcode(in);
            lp->ninsns++;
            switch (op) {
            case LLVMPHI:
                if (b != 0)
                    return false;
                break;
            case LLVMAdd: case LLVMSub: case LLVMOr: case LLVMAnd: case LLVMZExt: case LLVMTrunc:
            case LLVMMul: case LLVMShl: case LLVMLShr:
            case LLVMGetElementPtr: case LLVMICmp: case LLVMSelect:
                break;              /* pure: what they feed is checked */
            case LLVMCall:
                if (funnel_shift(lp, in) == 0 && !(lp->version && is_pure_intrinsic(lp, in)))
                    return false;
                break;
            case LLVMLoad:
                if (!is_mem_size(lp, in) && !access_of(lp, in, false) &&
                    !(lp->version && other_access(lp, in, false)))
                    return false;
                break;
            case LLVMStore:
                if (!access_of(lp, in, true) && !(lp->version && other_access(lp, in, true)))
                    return false;
                break;
            case LLVMBr:
                if ((int)b == lp->exiting) {
                    if (!exit_test(lp, in))
                        return false;
                } else if (LLVMIsConditional(in) && !side_exit(lp, in)) {
                    return false;
                }
                break;
            default:
                if (!lp->version || !is_pure_op(op))
                    return false;
            }
        }
    }
    if (lp->version)
        return lp->mem_base != NULL && lp->nloads + lp->nstores > 0;
    return lp->mem_base != NULL && lp->nstores > 0 && find_carried_loads(lp);
}

/* ===== The pattern ===================================================== */

static bool same_group(const struct idiom_affine *x, const struct idiom_affine *y)
{
    if (x->type != y->type || x->iv != y->iv || x->iv_coef != y->iv_coef ||
        x->nterms != y->nterms)
        return false;
    for (unsigned i = 0; i < x->nterms; i++) {
        unsigned j = 0;
        while (j < y->nterms && (y->terms[j].v != x->terms[i].v ||
                                 y->terms[j].coef != x->terms[i].coef))
            j++;
        if (j == y->nterms)
            return false;
    }
    return true;
}

static bool make_groups(struct idiom_loop *lp)
{
    lp->ngroups = 0;
    for (unsigned i = 0; i < lp->nitems; i++) {
        struct idiom_item *it = &lp->items[i];
        if (stride_of(lp, &it->a) == 0 && !(lp->version && it->a.iv < 0))
            return false;
        unsigned g = 0;
        while (g < lp->ngroups && !same_group(&lp->items[lp->groups[g].first].a, &it->a))
            g++;
        if (g == lp->ngroups)
            lp->groups[lp->ngroups++] = (struct idiom_group){ i, 0, 0, 0 };
        struct idiom_group *gr = &lp->groups[g];
        uint64_t d = it->a.k - lp->items[gr->first].a.k;
        int64_t dk = it->a.type == lp->cm->i64 ? (int64_t)d : (int32_t)d;
        it->group = g;
        it->rel = dk + (int64_t)it->off;
        gr->dk_min = dk < gr->dk_min ? dk : gr->dk_min;
        gr->dk_max = dk > gr->dk_max ? dk : gr->dk_max;
        int64_t end = it->rel + it->width;
        gr->end_max = end > gr->end_max ? end : gr->end_max;
        if (gr->dk_max - gr->dk_min > IDIOM_MAX_SPAN || it->rel > IDIOM_MAX_SPAN + UINT32_MAX)
            return false;
    }
    return true;
}

static int cmp_rel(const void *a, const void *b)
{
    const struct idiom_item *x = *(const struct idiom_item *const *)a;
    const struct idiom_item *y = *(const struct idiom_item *const *)b;
    return (x->rel > y->rel) - (x->rel < y->rel);
}

/* The items with a given ins kind (loads or stores), sorted by rel, must
 * cover [rel of the first, + |step|) exactly, all in one group. */
static bool tiles(const struct idiom_loop *lp, bool stores, struct idiom_item **sorted,
                  unsigned *n)
{
    *n = 0;
    for (unsigned i = 0; i < lp->nitems; i++) {
        const struct idiom_item *it = &lp->items[i];
        if (it->ins != NULL && (LLVMIsAStoreInst(it->ins) != NULL) == stores)
            sorted[(*n)++] = (struct idiom_item *)it;
    }
    if (*n == 0)
        return false;
    qsort(sorted, *n, sizeof *sorted, cmp_rel);
    int64_t at = sorted[0]->rel;
    for (unsigned i = 0; i < *n; i++) {
        if (sorted[i]->group != sorted[0]->group || sorted[i]->rel != at)
            return false;
        at += sorted[i]->width;
    }
    int32_t s = stride_of(lp, &sorted[0]->a);
    return s != 0 && at - sorted[0]->rel == (s < 0 ? -(int64_t)s : s);
}

static unsigned item_of(const struct idiom_loop *lp, LLVMValueRef ins)
{
    for (unsigned i = 0; i < lp->nitems; i++)
        if (lp->items[i].ins == ins)
            return i;
    return lp->nitems;
}

/* The bytes of v (n of them, v in the loop) as bytes of the loop's
 * loads: through shifts by whole bytes, or of disjoint bytes, zext,
 * trunc and funnel shifts, from loads and carried phis. */
static bool bytes_of(const struct idiom_loop *lp, LLVMValueRef v, struct idiom_byte *out,
                     unsigned n, unsigned depth)
{
    struct idiom_byte x[8], y[8];
    if (depth > 12 || n > 8)
        return false;
    if (LLVMIsAConstantInt(v) && LLVMConstIntGetZExtValue(v) == 0) {
        for (unsigned i = 0; i < n; i++)
            out[i] = (struct idiom_byte){ .zero = true };
        return true;
    }
    if (!in_loop(lp, v))
        return false;
    unsigned it = item_of(lp, v);
    for (unsigned c = 0; it == lp->nitems && c < lp->ncarried; c++)
        if (lp->carried[c].phi == v)
            it = lp->carried[c].item;
    if (it < lp->nitems && LLVMIsALoadInst(lp->items[it].ins)) {
        const struct idiom_item *ld = &lp->items[it];
        int64_t back = LLVMIsAPHINode(v) ? stride_of(lp, &ld->a) : 0;
        for (unsigned i = 0; i < n; i++)
            out[i] = (struct idiom_byte){ false, ld->group, ld->rel + i - back };
        return ld->width == n;
    }
    LLVMOpcode op = LLVMGetInstructionOpcode(v);
    LLVMValueRef a = LLVMGetNumOperands(v) > 0 ? LLVMGetOperand(v, 0) : NULL;
    unsigned by;                    /* a shift, in bytes */
    switch (op) {
    case LLVMShl:
    case LLVMLShr:
        if (!LLVMIsAConstantInt(LLVMGetOperand(v, 1)) ||
            LLVMConstIntGetZExtValue(LLVMGetOperand(v, 1)) % 8 != 0 ||
            (by = (unsigned)(LLVMConstIntGetZExtValue(LLVMGetOperand(v, 1)) / 8)) >= n ||
            !bytes_of(lp, a, x, n, depth + 1))
            return false;
        for (unsigned i = 0; i < n; i++)
            out[i] = op == LLVMShl ? (i < by ? (struct idiom_byte){ .zero = true } : x[i - by])
                                   : (i + by < n ? x[i + by] : (struct idiom_byte){ .zero = true });
        return true;
    case LLVMOr:
        if (!bytes_of(lp, a, x, n, depth + 1) || !bytes_of(lp, LLVMGetOperand(v, 1), y, n, depth + 1))
            return false;
        for (unsigned i = 0; i < n; i++) {
            if (!x[i].zero && !y[i].zero)
                return false;
            out[i] = x[i].zero ? y[i] : x[i];
        }
        return true;
    case LLVMZExt:
    case LLVMTrunc: {
        unsigned from = LLVMGetIntTypeWidth(LLVMTypeOf(a)) / 8;
        if (LLVMGetIntTypeWidth(LLVMTypeOf(a)) % 8 != 0 || !bytes_of(lp, a, x, from, depth + 1))
            return false;
        for (unsigned i = 0; i < n; i++)
            out[i] = i < from ? x[i] : (struct idiom_byte){ .zero = true };
        return true;
    }
    case LLVMCall: {
        /* fshl(a, b, c) = a << c | b >> (w - c); fshr(a, b, c) = a << (w - c) | b >> c */
        int kind = funnel_shift(lp, v);
        uint64_t c = kind ? LLVMConstIntGetZExtValue(LLVMGetOperand(v, 2)) : 1;
        if (c % 8 != 0 || c / 8 >= n || !bytes_of(lp, a, x, n, depth + 1) ||
            !bytes_of(lp, LLVMGetOperand(v, 1), y, n, depth + 1))
            return false;
        by = kind == 1 ? (unsigned)(c / 8) : n - (unsigned)(c / 8);     /* a's shift up */
        for (unsigned i = 0; i < n; i++)
            out[i] = i >= by ? x[i - by] : y[i + n - by];
        return true;
    }
    default:
        return false;
    }
}

/* A copy whose stored words are put together from loaded ones: every
 * stored byte is a byte of one source group, delta below it in rel. */
static bool shifted_pattern(struct idiom_loop *lp)
{
    bool have = false;
    for (unsigned i = 0; i < lp->nitems; i++) {
        const struct idiom_item *st = &lp->items[i];
        struct idiom_byte bytes[8];
        if (st->ins == NULL || !LLVMIsAStoreInst(st->ins))
            continue;
        if (!bytes_of(lp, LLVMGetOperand(st->ins, 0), bytes, st->width, 0))
            return false;
        for (unsigned k = 0; k < st->width; k++) {
            int64_t d = st->rel + k - bytes[k].rel;
            if (bytes[k].zero || (have && (bytes[k].group != lp->src_group || d != lp->delta)))
                return false;
            lp->src_group = bytes[k].group, lp->delta = d, have = true;
        }
    }
    /* Every load reads the source, in the copy's direction and pace. */
    for (unsigned i = 0; i < lp->nitems; i++) {
        const struct idiom_item *ld = &lp->items[i];
        if (ld->ins != NULL && LLVMIsALoadInst(ld->ins) &&
            (ld->group != lp->src_group || stride_of(lp, &ld->a) != lp->step))
            return false;
    }
    lp->shifted = true;
    return have;
}

/* A copy: loads and stores pair up (each store stores one load), the
 * loads tile the source and the stores the destination in the same
 * layout, one step. order_ok: where a store comes before a load of the
 * same trip, that load lies past it in the copy's direction. Else a
 * shifted copy (shifted_pattern). */
static bool copy_pattern(struct idiom_loop *lp)
{
    struct idiom_item *loads[IDIOM_MAX_ITEMS], *stores[IDIOM_MAX_ITEMS];
    unsigned nl, ns;
    if (!tiles(lp, true, stores, &ns))
        return false;
    lp->step = stride_of(lp, &stores[0]->a);
    if (lp->ncarried > 0 || lp->nloads != lp->nstores || !tiles(lp, false, loads, &nl) ||
        nl != ns || stride_of(lp, &loads[0]->a) != lp->step)
        return shifted_pattern(lp);
    for (unsigned i = 0; i < ns; i++) {
        LLVMValueRef v = LLVMGetOperand(stores[i]->ins, 0);
        if (v != loads[i]->ins)     /* widths equal: the same layout */
            return shifted_pattern(lp);
    }
    /* Program order is item order (read_body adds them as it goes). */
    lp->order_ok = true;
    for (unsigned i = 0; i < lp->nitems; i++) {
        const struct idiom_item *st = &lp->items[i];
        if (st->ins == NULL || !LLVMIsAStoreInst(st->ins))
            continue;
        const struct idiom_item *src = &lp->items[item_of(lp, LLVMGetOperand(st->ins, 0))];
        for (unsigned j = i + 1; j < lp->nitems; j++) {
            const struct idiom_item *ld = &lp->items[j];
            if (ld->ins == NULL || !LLVMIsALoadInst(ld->ins))
                continue;
            if (lp->step > 0 ? ld->rel < src->rel + src->width : ld->rel + ld->width > src->rel)
                lp->order_ok = false;
        }
    }
    return true;
}

static bool fill_pattern(struct idiom_loop *lp)
{
    struct idiom_item *stores[IDIOM_MAX_ITEMS];
    unsigned ns;
    if (lp->nloads != 0 || lp->ncarried != 0 || !tiles(lp, true, stores, &ns))
        return false;
    for (unsigned i = 0; i < ns; i++)
        if (in_loop(lp, LLVMGetOperand(stores[i]->ins, 0)))
            return false;
    lp->step = stride_of(lp, &stores[0]->a);
    return true;
}

/* ===== The fast path ==================================================== */

static LLVMValueRef c64(struct idiom_loop *lp, int64_t v)
{
    return LLVMConstInt(lp->cm->i64, (unsigned long long)v, true);
}

static LLVMValueRef c32(struct idiom_loop *lp, uint32_t v)
{
    return LLVMConstInt(lp->cm->i32, v, false);
}

/* coef * v, an i32 modulo 2^32. */
/* coef * v as a value of type t (v truncated to it), modulo 2^bits. */
static LLVMValueRef times(LLVMBuilderRef b, LLVMTypeRef t, LLVMValueRef v, int64_t coef)
{
    if (LLVMTypeOf(v) != t)
        v = LLVMBuildTrunc(b, v, t, "");
    return coef == 1 ? v : LLVMBuildMul(b, v, LLVMConstInt(t, (uint64_t)coef, false), "");
}

/* The affine's value at trip 0, of its type (ivs at their init). */
static LLVMValueRef affine_at0(struct idiom_loop *lp, LLVMBuilderRef b,
                               const struct idiom_affine *a)
{
    LLVMValueRef v = LLVMConstInt(a->type, a->k, false);
    if (a->iv >= 0)
        v = LLVMBuildAdd(b, v, times(b, a->type, lp->ivs[a->iv].init, a->iv_coef), "");
    for (unsigned i = 0; i < a->nterms; i++)
        v = LLVMBuildAdd(b, v, times(b, a->type, a->terms[i].v, a->terms[i].coef), "");
    return v;
}

/* M, the trips before the last (an i64), and whether it is known: the
 * exit test holds at trips 0 .. M-1 and fails at trip M, and no value it
 * compares wraps on the way (else the loop runs as it is). */
static LLVMValueRef trips_before_last(struct idiom_loop *lp, LLVMBuilderRef b,
                                      LLVMValueRef *known)
{
    struct cg_module *cm = lp->cm;
    LLVMValueRef v = affine_at0(lp, b, &lp->cmp), y = affine_at0(lp, b, &lp->bound);
    int32_t s = stride_of(lp, &lp->cmp);
    int64_t mag = s < 0 ? -(int64_t)s : s;
    LLVMIntPredicate p = lp->pred;
    if (p == LLVMIntNE && lp->cmp.type == cm->i64) {
        /* 64 bits: t = (y - v) / s exactly, a small t >= 0 (none wraps). */
        LLVMValueRef diff = s > 0 ? LLVMBuildSub(b, y, v, "") : LLVMBuildSub(b, v, y, "");
        LLVMValueRef fits = LLVMBuildICmp(b, LLVMIntULE, diff, c64(lp, (int64_t)UINT32_MAX * mag), "");
        *known = LLVMBuildAnd(b, fits, LLVMBuildICmp(b, LLVMIntEQ,
            LLVMBuildAnd(b, diff, c64(lp, mag - 1), ""), c64(lp, 0), ""), "");
        return LLVMBuildUDiv(b, diff, c64(lp, mag), "");
    }
    if (p == LLVMIntNE) {
        /* v + s t == y first at t = |y - v| / |s| (mod 2^32), if |s| divides it. */
        LLVMValueRef diff = s > 0 ? LLVMBuildSub(b, y, v, "") : LLVMBuildSub(b, v, y, "");
        *known = LLVMBuildICmp(b, LLVMIntEQ, LLVMBuildAnd(b, diff, c32(lp, (uint32_t)mag - 1), ""),
                               c32(lp, 0), "");
        return LLVMBuildUDiv(b, LLVMBuildZExt(b, diff, cm->i64, ""), c64(lp, mag), "");
    }
    if (p == LLVMIntSLT || p == LLVMIntSLE || p == LLVMIntSGT || p == LLVMIntSGE) {
        /* Signed order is unsigned order with the sign bit flipped. */
        v = LLVMBuildXor(b, v, c32(lp, 0x80000000u), "");
        y = LLVMBuildXor(b, y, c32(lp, 0x80000000u), "");
        p = p == LLVMIntSLT ? LLVMIntULT : p == LLVMIntSLE ? LLVMIntULE
          : p == LLVMIntSGT ? LLVMIntUGT : LLVMIntUGE;
    }
    /* Round while lo <= v + s t <= hi, in 64 bits: from trip 0 on, if v
     * is in range, the trips t <= room / |s| go round, and the next one,
     * M, leaves. */
    LLVMValueRef v64 = LLVMBuildZExt(b, v, cm->i64, ""), y64 = LLVMBuildZExt(b, y, cm->i64, "");
    LLVMValueRef lo = p == LLVMIntULT || p == LLVMIntULE ? c64(lp, 0)
                    : p == LLVMIntUGT ? LLVMBuildAdd(b, y64, c64(lp, 1), "") : y64;
    LLVMValueRef hi = p == LLVMIntULT ? LLVMBuildSub(b, y64, c64(lp, 1), "")
                    : p == LLVMIntULE ? y64 : c64(lp, UINT32_MAX);
    LLVMValueRef in = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, v64, lo, ""),
                                   LLVMBuildICmp(b, LLVMIntSLE, v64, hi, ""), "");
    LLVMValueRef room = s > 0 ? LLVMBuildSub(b, hi, v64, "") : LLVMBuildSub(b, v64, lo, "");
    LLVMValueRef m = LLVMBuildAdd(b, LLVMBuildUDiv(b, room, c64(lp, mag), ""), c64(lp, 1), "");
    m = LLVMBuildSelect(b, in, m, c64(lp, 0), "");
    /* At trip M the value leaves [lo, hi] without wrapping. */
    LLVMValueRef last = LLVMBuildAdd(b, v64, LLVMBuildMul(b, m, c64(lp, s), ""), "");
    LLVMValueRef stays = s > 0 ? LLVMBuildICmp(b, LLVMIntSLE, last, c64(lp, UINT32_MAX), "")
                               : LLVMBuildICmp(b, LLVMIntSGE, last, c64(lp, 0), "");
    *known = LLVMBuildAnd(b, in, stays, "");
    return m;
}

/* The i64 address of a group's base at trip 0: zext of its first item's
 * affine there. */
static LLVMValueRef group_base(struct idiom_loop *lp, LLVMBuilderRef b, unsigned g)
{
    const struct idiom_affine *a = &lp->items[lp->groups[g].first].a;
    return LLVMBuildZExtOrBitCast(b, affine_at0(lp, b, a), lp->cm->i64, "");
}

static LLVMValueRef and_all(LLVMBuilderRef b, LLVMValueRef x, LLVMValueRef y)
{
    return x == NULL ? y : LLVMBuildAnd(b, x, y, "");
}

/* In bounds: over trips 0 .. M-1, every group's i32 addresses stay in
 * [0, 2^32) and its ends within the memory's size. */
static LLVMValueRef in_bounds(struct idiom_loop *lp, LLVMBuilderRef b, LLVMValueRef m,
                              LLVMValueRef size, LLVMValueRef *bases)
{
    LLVMValueRef ok = NULL;
    for (unsigned g = 0; g < lp->ngroups; g++) {
        const struct idiom_group *gr = &lp->groups[g];
        int32_t s = stride_of(lp, &lp->items[gr->first].a);
        LLVMValueRef d = LLVMBuildMul(b, LLVMBuildSub(b, m, c64(lp, 1), ""), c64(lp, s), "");
        LLVMValueRef up = s > 0 ? d : c64(lp, 0), down = s > 0 ? c64(lp, 0) : d;
        LLVMValueRef base = bases[g] = group_base(lp, b, g);
        LLVMValueRef low = LLVMBuildAdd(b, base, LLVMBuildAdd(b, down, c64(lp, gr->dk_min), ""), "");
        LLVMValueRef high = LLVMBuildAdd(b, base, LLVMBuildAdd(b, up, c64(lp, gr->dk_max), ""), "");
        LLVMValueRef end = LLVMBuildAdd(b, base, LLVMBuildAdd(b, up, c64(lp, gr->end_max), ""), "");
        ok = and_all(b, ok, LLVMBuildICmp(b, LLVMIntSGE, low, c64(lp, 0), ""));
        ok = and_all(b, ok, LLVMBuildICmp(b, LLVMIntSLE, high, c64(lp, UINT32_MAX), ""));
        ok = and_all(b, ok, LLVMBuildICmp(b, LLVMIntULE, end, size, ""));
    }
    return ok;
}

/* The lowest byte the accesses of kind `stores` touch over trips 0 .. M-1,
 * an i64 address. */
static LLVMValueRef lowest(struct idiom_loop *lp, LLVMBuilderRef b, bool stores,
                           LLVMValueRef m, LLVMValueRef *bases)
{
    const struct idiom_item *first = NULL;
    for (unsigned i = 0; i < lp->nitems; i++) {
        const struct idiom_item *it = &lp->items[i];
        if (it->ins != NULL && (LLVMIsAStoreInst(it->ins) != NULL) == stores &&
            (first == NULL || it->rel < first->rel))
            first = it;
    }
    LLVMValueRef at = LLVMBuildAdd(b, bases[first->group], c64(lp, first->rel), "");
    if (lp->step > 0)
        return at;
    return LLVMBuildAdd(b, at, LLVMBuildMul(b, LLVMBuildSub(b, m, c64(lp, 1), ""),
                                            c64(lp, lp->step), ""), "");
}

/* A copy is a memmove when its ranges are disjoint, or overlap on the side
 * its order copies away from. */
static LLVMValueRef copy_fits(struct idiom_loop *lp, LLVMBuilderRef b, LLVMValueRef src,
                              LLVMValueRef dst, LLVMValueRef len)
{
    LLVMValueRef apart = LLVMBuildOr(b,
        LLVMBuildICmp(b, LLVMIntULE, LLVMBuildAdd(b, dst, len, ""), src, ""),
        LLVMBuildICmp(b, LLVMIntULE, LLVMBuildAdd(b, src, len, ""), dst, ""), "");
    if (!lp->order_ok)
        return apart;
    return LLVMBuildOr(b, apart, LLVMBuildICmp(b, lp->step > 0 ? LLVMIntULE : LLVMIntUGE,
                                               dst, src, ""), "");
}

/* A fill stores one byte: every value stored is its low byte repeated,
 * the same byte for all. Returns that byte, *ok whether it is so. */
static LLVMValueRef fill_byte(struct idiom_loop *lp, LLVMBuilderRef b, LLVMValueRef *ok)
{
    struct cg_module *cm = lp->cm;
    LLVMValueRef byte = NULL;
    for (unsigned i = 0; i < lp->nitems; i++) {
        if (lp->items[i].ins == NULL)
            continue;
        LLVMValueRef v = LLVMGetOperand(lp->items[i].ins, 0);
        LLVMTypeRef t = LLVMTypeOf(v);
        LLVMValueRef low = LLVMBuildTrunc(b, v, cm->i8, "");
        unsigned long long ones = ~0ull / 255 >> (64 - LLVMGetIntTypeWidth(t));
        LLVMValueRef splat = LLVMBuildMul(b, LLVMBuildZExt(b, low, t, ""),
                                          LLVMConstInt(t, ones, false), "");
        *ok = and_all(b, *ok, LLVMBuildICmp(b, LLVMIntEQ, splat, v, ""));
        if (byte != NULL)
            *ok = LLVMBuildAnd(b, *ok, LLVMBuildICmp(b, LLVMIntEQ, low, byte, ""), "");
        else
            byte = low;
    }
    return byte;
}

static LLVMValueRef memory_size(struct idiom_loop *lp, LLVMBuilderRef b)
{
    struct cg_module *cm = lp->cm;
    LLVMValueRef off = c64(lp, AWSM_VMCTX_MEMORY);
    LLVMValueRef memory = LLVMBuildLoad2(b, cm->ptr, LLVMBuildGEP2(b, cm->i8, lp->vmctx, &off, 1, ""),
                                         "memory");
    cg_tag_runtime(cm, memory);
    off = c64(lp, offsetof(struct awsm_memory, size));
    return cg_tag_runtime(cm, LLVMBuildLoad2(b, cm->i64,
                                             LLVMBuildGEP2(b, cm->i8, memory, &off, 1, ""),
                                             "mem_size"));
}

/* The header's phis: what came from pre now comes from each of the test
 * blocks, and from the fast path each iv's value after M trips. */
/* A header phi again: what came from pre now comes from each of the
 * test blocks, and `after` from the fast path. */
static LLVMValueRef rebuild_phi(LLVMBuilderRef b, const struct idiom_loop *lp, LLVMValueRef old,
                                LLVMBasicBlockRef *from, unsigned nfrom,
                                LLVMBasicBlockRef fast, LLVMValueRef after)
{
    LLVMPositionBuilderBefore(b, old);
    LLVMValueRef phi = LLVMBuildPhi(b, LLVMTypeOf(old), "");
    for (unsigned j = 0; j < 2; j++) {
        LLVMValueRef v = LLVMGetIncomingValue(old, j);
        LLVMBasicBlockRef bb = LLVMGetIncomingBlock(old, j);
        if (bb == lp->pre) {
            for (unsigned k = 0; k < nfrom; k++)
                LLVMAddIncoming(phi, &v, &from[k], 1);
        } else {
            LLVMAddIncoming(phi, &v, &bb, 1);
        }
    }
    LLVMAddIncoming(phi, &after, &fast, 1);
    LLVMReplaceAllUsesWith(old, phi);
    LLVMInstructionEraseFromParent(old);
    return phi;
}

/* pre now enters the tests; the header's phis take the fast path's
 * values: each iv after M trips, each carried phi the load of trip M - 1
 * (carried_after). */
static void rewire(struct idiom_loop *lp, LLVMBuilderRef b, LLVMBasicBlockRef *from, unsigned nfrom,
                   LLVMBasicBlockRef fast, LLVMValueRef m, LLVMValueRef *carried_after)
{
    LLVMValueRef term = LLVMGetBasicBlockTerminator(lp->pre);
    for (unsigned i = 0; i < LLVMGetNumSuccessors(term); i++)
        if (LLVMGetSuccessor(term, i) == lp->bbs[0])
            LLVMSetSuccessor(term, i, from[0]);
    for (unsigned i = 0; i < lp->nivs; i++) {
        struct idiom_iv *iv = &lp->ivs[i];
        LLVMPositionBuilderBefore(b, LLVMGetBasicBlockTerminator(fast));
        LLVMTypeRef t = LLVMTypeOf(iv->phi);
        LLVMValueRef after = LLVMBuildAdd(b, iv->init, times(b, t, m, iv->step), "");
        iv->phi = rebuild_phi(b, lp, iv->phi, from, nfrom, fast, after);
    }
    for (unsigned c = 0; c < lp->ncarried; c++)
        lp->carried[c].phi = rebuild_phi(b, lp, lp->carried[c].phi, from, nfrom, fast,
                                         carried_after[c]);
}

/* A shifted copy: its source range, one stride wider on both sides (the
 * carried phis' first words), overlaps the destination nowhere; and every
 * carried phi's first value is the word one stride before its load's
 * first, inside the memory (checked by loading it: carried_check). */
static LLVMValueRef shifted_fits(struct idiom_loop *lp, LLVMBuilderRef b, LLVMValueRef m,
                                 LLVMValueRef size, LLVMValueRef *bases, LLVMValueRef dst,
                                 LLVMValueRef len)
{
    int64_t mag = lp->step < 0 ? -(int64_t)lp->step : lp->step, lo = INT64_MAX, hi = INT64_MIN;
    for (unsigned i = 0; i < lp->nitems; i++) {
        const struct idiom_item *it = &lp->items[i];
        if (it->ins != NULL && LLVMIsALoadInst(it->ins)) {
            lo = it->rel < lo ? it->rel : lo;
            hi = it->rel + it->width > hi ? it->rel + it->width : hi;
        }
    }
    LLVMValueRef d = LLVMBuildMul(b, LLVMBuildSub(b, m, c64(lp, 1), ""), c64(lp, lp->step), "");
    LLVMValueRef up = lp->step > 0 ? d : c64(lp, 0), down = lp->step > 0 ? c64(lp, 0) : d;
    LLVMValueRef base = bases[lp->src_group];
    LLVMValueRef from = LLVMBuildAdd(b, base, LLVMBuildAdd(b, down, c64(lp, lo - mag), ""), "");
    LLVMValueRef to = LLVMBuildAdd(b, base, LLVMBuildAdd(b, up, c64(lp, hi + mag), ""), "");
    LLVMValueRef ok = LLVMBuildOr(b,
        LLVMBuildICmp(b, LLVMIntSLE, LLVMBuildAdd(b, dst, len, ""), from, ""),
        LLVMBuildICmp(b, LLVMIntSLE, to, dst, ""), "");
    for (unsigned c = 0; c < lp->ncarried; c++) {
        const struct idiom_item *ld = &lp->items[lp->carried[c].item];
        LLVMValueRef at = LLVMBuildAdd(b, base, c64(lp, ld->rel - stride_of(lp, &ld->a)), "");
        ok = LLVMBuildAnd(b, ok, LLVMBuildICmp(b, LLVMIntSGE, at, c64(lp, 0), ""), "");
        ok = LLVMBuildAnd(b, ok, LLVMBuildICmp(b, LLVMIntULE,
                                               LLVMBuildAdd(b, at, c64(lp, ld->width), ""),
                                               size, ""), "");
    }
    return ok;
}

/* The word of carried phi c's load at trip t (an i64 count), loaded. */
static LLVMValueRef carried_load(struct idiom_loop *lp, LLVMBuilderRef b, unsigned c,
                                 LLVMValueRef *bases, LLVMValueRef t)
{
    const struct idiom_item *ld = &lp->items[lp->carried[c].item];
    LLVMValueRef at = LLVMBuildAdd(b, bases[ld->group],
        LLVMBuildAdd(b, c64(lp, ld->rel),
                     LLVMBuildMul(b, t, c64(lp, stride_of(lp, &ld->a)), ""), ""), "");
    LLVMValueRef p = LLVMBuildGEP2(b, lp->cm->i8, lp->mem_base, &at, 1, "");
    LLVMValueRef v = LLVMBuildLoad2(b, LLVMTypeOf(lp->carried[c].phi), p, "");
    LLVMSetAlignment(v, 1);
    return cg_tag_memory(lp->cm, v);
}

static void build_fast_path(struct idiom_loop *lp, LLVMBuilderRef b)
{
    struct cg_module *cm = lp->cm;
    LLVMBasicBlockRef h = lp->bbs[0];
    LLVMBasicBlockRef count = LLVMInsertBasicBlockInContext(cm->ctx, h, "idiom_count");
    LLVMBasicBlockRef test = LLVMInsertBasicBlockInContext(cm->ctx, h, "idiom_test");
    LLVMBasicBlockRef fast = LLVMInsertBasicBlockInContext(cm->ctx, h, "idiom_fast");
    int64_t mag = lp->step < 0 ? -(int64_t)lp->step : lp->step;

    /* count: M, and whether enough bytes to pay. */
    LLVMPositionBuilderAtEnd(b, count);
    LLVMValueRef known;
    LLVMValueRef m = trips_before_last(lp, b, &known);
    LLVMValueRef enough = LLVMBuildICmp(b, LLVMIntUGE, m,
                                        c64(lp, (IDIOM_MIN_BYTES + mag - 1) / mag), "");
    LLVMBuildCondBr(b, LLVMBuildAnd(b, known, enough, ""), test, h);

    /* test: bounds, then overlap or the fill byte. */
    LLVMPositionBuilderAtEnd(b, test);
    LLVMValueRef bases[IDIOM_MAX_ITEMS];
    LLVMValueRef size = memory_size(lp, b);
    LLVMValueRef ok = in_bounds(lp, b, m, size, bases);
    LLVMValueRef len = LLVMBuildMul(b, m, c64(lp, mag), "len");
    LLVMValueRef dst = lowest(lp, b, true, m, bases), src = NULL, byte = NULL;
    LLVMBasicBlockRef from[3] = { count, test, NULL };
    if (lp->shifted) {
        /* the source byte under each destination byte: delta below its rel */
        unsigned dg = 0;
        while (lp->items[dg].ins == NULL || !LLVMIsAStoreInst(lp->items[dg].ins))
            dg++;
        src = LLVMBuildAdd(b, LLVMBuildSub(b, dst, bases[lp->items[dg].group], ""),
                           LLVMBuildSub(b, bases[lp->src_group], c64(lp, lp->delta), ""), "");
        ok = LLVMBuildAnd(b, ok, shifted_fits(lp, b, m, size, bases, dst, len), "");
    } else if (lp->nloads > 0) {
        src = lowest(lp, b, false, m, bases);
        ok = LLVMBuildAnd(b, ok, copy_fits(lp, b, src, dst, len), "");
    } else {
        byte = fill_byte(lp, b, &ok);
    }
    if (lp->ncarried > 0) {
        /* check: each carried phi starts with the word before its load's */
        from[2] = LLVMInsertBasicBlockInContext(cm->ctx, fast, "idiom_carried");
        LLVMBuildCondBr(b, ok, from[2], h);
        LLVMPositionBuilderAtEnd(b, from[2]);
        ok = NULL;
        for (unsigned c = 0; c < lp->ncarried; c++)
            ok = and_all(b, ok, LLVMBuildICmp(b, LLVMIntEQ, carried_load(lp, b, c, bases, c64(lp, -1)),
                                              lp->carried[c].init, ""));
    }
    LLVMBuildCondBr(b, ok, fast, h);

    /* fast: the M trips at once, then the last trip in the loop. */
    LLVMPositionBuilderAtEnd(b, fast);
    LLVMValueRef pd = LLVMBuildGEP2(b, cm->i8, lp->mem_base, &dst, 1, "");
    if (src != NULL) {
        LLVMValueRef ps = LLVMBuildGEP2(b, cm->i8, lp->mem_base, &src, 1, "");
        LLVMBuildMemMove(b, pd, 1, ps, 1, len);
    } else {
        LLVMBuildMemSet(b, pd, byte, len, 1);
    }
    LLVMValueRef carried_after[IDIOM_MAX_IVS];
    for (unsigned c = 0; c < lp->ncarried; c++)
        carried_after[c] = carried_load(lp, b, c, bases, LLVMBuildSub(b, m, c64(lp, 1), ""));
    LLVMBuildBr(b, h);
    rewire(lp, b, from, lp->ncarried > 0 ? 3 : 2, fast, m, carried_after);
}

/* ===== Versioning ====================================================== */

/* A loop of at most this many instructions may be versioned (its code is
 * doubled). */
#define VERSION_MAX_INSNS 400

/* The loop's values and blocks, and their copies in the clone; test, the
 * block in front of both, which pre now enters. */
struct version_map {
    LLVMValueRef from[VERSION_MAX_INSNS], to[VERSION_MAX_INSNS];
    unsigned n;
    LLVMBasicBlockRef bbs[IDIOM_MAX_BLOCKS];
    LLVMBasicBlockRef test;
};

/* bb's phis take what came from `from` from `to` instead. */
static void retarget_phis(LLVMBuilderRef b, LLVMBasicBlockRef bb, LLVMBasicBlockRef from,
                          LLVMBasicBlockRef to)
{
    for (LLVMValueRef old = LLVMGetFirstInstruction(bb); old != NULL && LLVMIsAPHINode(old);) {
        LLVMValueRef next = LLVMGetNextInstruction(old);
        LLVMPositionBuilderBefore(b, old);
        LLVMValueRef phi = LLVMBuildPhi(b, LLVMTypeOf(old), "");
        for (unsigned j = 0; j < LLVMCountIncoming(old); j++) {
            LLVMValueRef v = LLVMGetIncomingValue(old, j);
            LLVMBasicBlockRef in = LLVMGetIncomingBlock(old, j);
            if (in == from)
                in = to;
            LLVMAddIncoming(phi, &v, &in, 1);
        }
        LLVMReplaceAllUsesWith(old, phi);
        LLVMInstructionEraseFromParent(old);
        old = next;
    }
}

static LLVMValueRef mapped(const struct idiom_loop *lp, const struct version_map *vm,
                           LLVMValueRef v)
{
    if (LLVMValueIsBasicBlock(v)) {
        LLVMBasicBlockRef bb = LLVMValueAsBasicBlock(v);
        for (unsigned i = 0; i < lp->nbbs; i++)
            if (lp->bbs[i] == bb)
                return LLVMBasicBlockAsValue(vm->bbs[i]);
        return v;
    }
    for (unsigned i = 0; i < vm->n; i++)
        if (vm->from[i] == v)
            return vm->to[i];
    return v;
}

static bool in_clone(const struct idiom_loop *lp, const struct version_map *vm,
                     LLVMBasicBlockRef bb)
{
    for (unsigned i = 0; i < lp->nbbs; i++)
        if (vm->bbs[i] == bb)
            return true;
    return false;
}

/* The clone's blocks, before the header, with the loop's instructions;
 * its header's phis come from pre and from its own latch. */
static void clone_blocks(struct idiom_loop *lp, LLVMBuilderRef b, struct version_map *vm)
{
    struct cg_module *cm = lp->cm;
    vm->n = 0;
    for (unsigned i = 0; i < lp->nbbs; i++)
        vm->bbs[i] = LLVMInsertBasicBlockInContext(cm->ctx, lp->bbs[0], "version");
    for (unsigned i = 0; i < lp->nbbs; i++) {
        LLVMPositionBuilderAtEnd(b, vm->bbs[i]);
        for (LLVMValueRef in = LLVMGetFirstInstruction(lp->bbs[i]); in != NULL;
             in = LLVMGetNextInstruction(in)) {
            LLVMValueRef c;
            if (LLVMIsAPHINode(in)) {
                c = LLVMBuildPhi(b, LLVMTypeOf(in), "");
            } else {
                c = LLVMInstructionClone(in);
                LLVMInsertIntoBuilder(b, c);
            }
            vm->from[vm->n] = in;
            vm->to[vm->n++] = c;
        }
    }
    for (unsigned k = 0; k < vm->n; k++) {
        LLVMValueRef in = vm->from[k], c = vm->to[k];
        if (LLVMIsAPHINode(in)) {
            for (unsigned j = 0; j < LLVMCountIncoming(in); j++) {
                LLVMBasicBlockRef from = LLVMGetIncomingBlock(in, j);
                LLVMValueRef v = LLVMGetIncomingValue(in, j);
                if (from != vm->test) {
                    from = vm->bbs[lp->nbbs - 1];
                    v = mapped(lp, vm, v);
                }
                LLVMAddIncoming(c, &v, &from, 1);
            }
            continue;
        }
        for (int j = 0; j < LLVMGetNumOperands(c); j++) {
            LLVMValueRef v = LLVMGetOperand(c, (unsigned)j), w = mapped(lp, vm, v);
            if (w != v)
                LLVMSetOperand(c, (unsigned)j, w);
        }
    }
}

/* In the clone: each access of memory 0 is an ordinary one at its exact
 * 64-bit address (its base at trip 0 + stride * t, t the clone's trip
 * count), the bounds checks are gone and the globals' stores are ordinary
 * too. at0: each item's address at trip 0. */
static void clean_clone(struct idiom_loop *lp, LLVMBuilderRef b, const struct version_map *vm,
                        LLVMValueRef *at0, LLVMValueRef trips)
{
    struct cg_module *cm = lp->cm;
    LLVMBasicBlockRef h = vm->bbs[0], latch = vm->bbs[lp->nbbs - 1];
    LLVMPositionBuilder(b, h, LLVMGetFirstInstruction(h));
    LLVMValueRef t = LLVMBuildPhi(b, cm->i64, "trip");
    LLVMPositionBuilderBefore(b, LLVMGetBasicBlockTerminator(latch));
    LLVMValueRef next = LLVMBuildNUWAdd(b, t, c64(lp, 1), "");
    LLVMValueRef zero = c64(lp, 0);
    LLVMBasicBlockRef test = vm->test;
    LLVMAddIncoming(t, &zero, &test, 1);
    LLVMAddIncoming(t, &next, &latch, 1);
    for (unsigned i = 0; i < lp->nitems; i++) {
        const struct idiom_item *it = &lp->items[i];
        if (it->ins == NULL)
            continue;
        LLVMValueRef c = mapped(lp, vm, it->ins);
        bool store = LLVMIsAStoreInst(c) != NULL;
        LLVMPositionBuilderBefore(b, c);
        int32_t s = stride_of(lp, &it->a);
        LLVMValueRef idx = s == 0 ? at0[i]
                         : LLVMBuildNSWAdd(b, at0[i], LLVMBuildNSWMul(b, t, c64(lp, s), ""), "");
        LLVMValueRef p = LLVMBuildInBoundsGEP2(b, cm->i8, lp->mem_base, &idx, 1, "");
        LLVMSetOperand(c, store ? 1 : 0, p);
        LLVMSetVolatile(c, false);
    }
    for (unsigned i = 0; i < lp->nglobals; i++)
        LLVMSetVolatile(mapped(lp, vm, lp->globals[i]), false);
    /* A latch that leaves does so after trip `trips`: said so, the count
     * is one LLVM reads whatever the test was (an i32 counted up to 0
     * through a mask, exit_test). */
    if (lp->exiting == (int)lp->nbbs - 1) {
        unsigned out;
        LLVMValueRef br = mapped(lp, vm, exit_branch(lp, &out));
        LLVMPositionBuilderBefore(b, br);
        LLVMSetCondition(br, LLVMBuildICmp(b, out == 0 ? LLVMIntEQ : LLVMIntNE, next, trips,
                                           "last_trip"));
    }
    for (unsigned i = 0; i < lp->nchecks; i++) {
        LLVMValueRef c = mapped(lp, vm, lp->checks[i]);
        LLVMBasicBlockRef on = LLVMGetSuccessor(c, 0);
        if (is_trap_block(on))
            on = LLVMGetSuccessor(c, 1);
        LLVMPositionBuilderBefore(b, c);
        LLVMBuildBr(b, on);
        LLVMInstructionEraseFromParent(c);
    }
}

/* Both exiting blocks leave through a new block in front of the exit,
 * where a phi joins each loop value used after the loop with its clone. */
static void join_exits(struct idiom_loop *lp, LLVMBuilderRef b, const struct version_map *vm)
{
    struct cg_module *cm = lp->cm;
    unsigned out;
    LLVMValueRef term = exit_branch(lp, &out);
    LLVMBasicBlockRef latch = lp->bbs[lp->exiting], clatch = vm->bbs[lp->exiting];
    LLVMBasicBlockRef exit = LLVMGetSuccessor(term, out);
    LLVMBasicBlockRef join = LLVMInsertBasicBlockInContext(cm->ctx, exit, "version_join");
    LLVMSetSuccessor(term, out, join);
    LLVMSetSuccessor(LLVMGetBasicBlockTerminator(clatch), out, join);
    LLVMPositionBuilderAtEnd(b, join);
    for (unsigned k = 0; k < vm->n; k++) {
        LLVMValueRef in = vm->from[k], phi = NULL;
        for (LLVMUseRef u = LLVMGetFirstUse(in); u != NULL;) {
            LLVMValueRef user = LLVMGetUser(u);
            u = LLVMGetNextUse(u);      /* before the use goes */
            LLVMBasicBlockRef at = LLVMGetInstructionParent(user);
            if (user == phi || chain_has(lp, at) || in_clone(lp, vm, at))
                continue;
            if (phi == NULL) {
                LLVMPositionBuilder(b, join, LLVMGetFirstInstruction(join));
                phi = LLVMBuildPhi(b, LLVMTypeOf(in), "");
                LLVMValueRef c = vm->to[k];
                LLVMAddIncoming(phi, &in, &latch, 1);
                LLVMAddIncoming(phi, &c, &clatch, 1);
            }
            for (int j = 0; j < LLVMGetNumOperands(user); j++)
                if (LLVMGetOperand(user, (unsigned)j) == in)
                    LLVMSetOperand(user, (unsigned)j, phi);
        }
    }
    LLVMPositionBuilderAtEnd(b, join);
    LLVMBuildBr(b, exit);
    retarget_phis(b, exit, latch, join);
}

/* The loop as it was runs only where a trap comes (or for a count that
 * wraps): test's branch says so, and the loop's latch asks LLVM not to
 * unroll or vectorise it (its volatile accesses would not let it anyway),
 * which keeps the code it adds small. */
static void mark_cold(struct idiom_loop *lp, LLVMValueRef test, LLVMValueRef latch)
{
    LLVMContextRef ctx = lp->cm->ctx;
    cg_branch_weights(lp->cm, test, 2000, 1);
    LLVMMetadataRef unroll = LLVMMDStringInContext2(ctx, "llvm.loop.unroll.disable", 24);
    LLVMMetadataRef vectorize[2] = {
        LLVMMDStringInContext2(ctx, "llvm.loop.vectorize.enable", 26),
        LLVMValueAsMetadata(LLVMConstInt(LLVMInt1TypeInContext(ctx), 0, false)),
    };
    /* A loop's id is a node whose first operand is itself. */
    LLVMMetadataRef self = LLVMTemporaryMDNode(ctx, NULL, 0);
    LLVMMetadataRef ops[3] = { self, LLVMMDNodeInContext2(ctx, &unroll, 1),
                               LLVMMDNodeInContext2(ctx, vectorize, 2) };
    LLVMMetadataRef id = LLVMMDNodeInContext2(ctx, ops, 3);
    LLVMMetadataReplaceAllUsesWith(self, id);
    LLVMSetMetadata(latch, LLVMGetMDKindIDInContext(ctx, "llvm.loop", 9),
                    LLVMMetadataAsValue(ctx, id));
}

/*
 * Versioning: a loop whose trip count T is known on entry, whose every
 * access of memory 0 lies inside the memory at every one of its T trips
 * without its address wrapping, cannot fault. So in front of it a test
 * computes T and those bounds, and when they hold a clone of the loop
 * runs instead, whose accesses are ordinary (not volatile) at exact 64-bit
 * addresses and whose bounds checks are gone: what the vectorisers and
 * the rest of the pipeline need. Else the loop runs as it was. The clone
 * keeps every other trap check, and a trap there leaves what the loop
 * would (nothing it does can fault, so nothing is out of order).
 */
static bool version_loop(struct idiom_loop *lp, LLVMBuilderRef b)
{
    LLVMBasicBlockRef h = lp->bbs[0];
    if (lp->ninsns > VERSION_MAX_INSNS)
        return false;
    /* The clone branches to the loop's trap blocks too: they must not
     * tell their predecessors apart (a phi of a merged block's kinds). */
    for (unsigned i = 0; i < lp->nbbs; i++) {
        LLVMValueRef term = LLVMGetBasicBlockTerminator(lp->bbs[i]);
        for (unsigned j = 0; j < LLVMGetNumSuccessors(term); j++) {
            LLVMBasicBlockRef s = LLVMGetSuccessor(term, j);
            if (is_trap_block(s) && LLVMIsAPHINode(LLVMGetFirstInstruction(s)))
                return false;
        }
    }
    struct version_map *vm = malloc(sizeof *vm);
    if (vm == NULL)
        return false;
    /* test: T, and whether the T trips stay in bounds. */
    vm->test = LLVMInsertBasicBlockInContext(lp->cm->ctx, h, "version_test");
    LLVMValueRef pre_term = LLVMGetBasicBlockTerminator(lp->pre);
    for (unsigned i = 0; i < LLVMGetNumSuccessors(pre_term); i++)
        if (LLVMGetSuccessor(pre_term, i) == h)
            LLVMSetSuccessor(pre_term, i, vm->test);
    retarget_phis(b, h, lp->pre, vm->test);
    LLVMPositionBuilderAtEnd(b, vm->test);
    LLVMValueRef known, bases[IDIOM_MAX_ITEMS], at0[IDIOM_MAX_ITEMS];
    LLVMValueRef trips = LLVMBuildNUWAdd(b, trips_before_last(lp, b, &known), c64(lp, 1), "");
    LLVMValueRef ok = LLVMBuildAnd(b, known, in_bounds(lp, b, trips, memory_size(lp, b), bases), "");
    for (unsigned c = 0; c < lp->ncarried; c++) {
        const struct idiom_carried *cp = &lp->carried[c];
        if (!cp->affine && !cp->index)
            continue;
        LLVMValueRef first = affine_at0(lp, b, &cp->a);
        if (cp->index)
            first = LLVMBuildAdd(b, LLVMBuildZExtOrBitCast(b, first, lp->cm->i64, ""),
                                 c64(lp, (int64_t)cp->off), "");
        ok = LLVMBuildAnd(b, ok, LLVMBuildICmp(b, LLVMIntEQ, cp->init, first, ""), "");
    }
    for (unsigned i = 0; i < lp->nitems; i++)
        at0[i] = LLVMBuildAdd(b, bases[lp->items[i].group], c64(lp, lp->items[i].rel), "");
    LLVMValueRef br = LLVMBuildCondBr(b, ok, h, h);  /* the clone's header, once it exists */
    clone_blocks(lp, b, vm);
    clean_clone(lp, b, vm, at0, trips);
    join_exits(lp, b, vm);
    LLVMSetSuccessor(br, 0, vm->bbs[0]);
    mark_cold(lp, br, LLVMGetBasicBlockTerminator(lp->bbs[lp->nbbs - 1]));
    free(vm);
    return true;
}

/* ===== The pass ========================================================= */

static bool try_loop(struct idiom_loop *lp, LLVMBasicBlockRef h, LLVMBuilderRef b)
{
    if (!find_chain(lp, h) || !find_ivs(lp) || !read_body(lp) || !make_groups(lp))
        return false;
    if (!(lp->nloads > 0 ? copy_pattern(lp) : fill_pattern(lp)))
        return false;
    build_fast_path(lp, b);
    return true;
}

static bool try_version(struct idiom_loop *lp, LLVMBasicBlockRef h, LLVMBuilderRef b)
{
    if (!find_chain(lp, h) || !find_ivs(lp))
        return false;
    find_affine_phis(lp);
    return read_body(lp) && make_groups(lp) && version_loop(lp, b);
}

int cg_idiom_loops(struct cg_module *cm, bool version)
{
    if (wm_memory_count(cm->m) == 0 || cg_mem_is64(cm, 0) || cg_mem_shared(cm, 0))
        return 0;
    struct idiom_loop *lp = malloc(sizeof *lp);
    if (lp == NULL)
        return cg_fail(cm, "out of memory");
    LLVMTargetDataRef td = LLVMGetModuleDataLayout(cm->mod);
    unsigned memory_attr = LLVMGetEnumAttributeKindForName("memory", 6);
    for (LLVMValueRef fn = LLVMGetFirstFunction(cm->mod); fn != NULL;
         fn = LLVMGetNextFunction(fn)) {
        if (LLVMIsDeclaration(fn) || LLVMCountParams(fn) == 0 ||
            LLVMTypeOf(LLVMGetParam(fn, 0)) != cm->ptr)
            continue;
        /* Blocks made here come before their loop's header (or, a join,
         * in front of its exit): walking on from a header never meets a
         * loop it made. */
        for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb != NULL;
             bb = LLVMGetNextBasicBlock(bb)) {
            for (int pass = 0; pass < (version ? 2 : 1); pass++) {
                memset(lp, 0, sizeof *lp);
                lp->cm = cm;
                lp->vmctx = LLVMGetParam(fn, 0);
                lp->fshl = LLVMLookupIntrinsicID("llvm.fshl", 9);
                lp->fshr = LLVMLookupIntrinsicID("llvm.fshr", 9);
                lp->version = pass == 1;
                lp->td = td;
                lp->memory_attr = memory_attr;
                if (pass == 0 ? try_loop(lp, bb, cm->b) : try_version(lp, bb, cm->b))
                    break;
            }
        }
    }
    free(lp);
    return 0;
}
