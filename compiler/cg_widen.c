/*
 * compiler/cg_widen.c - bounds checks widened: in checked code, a check of
 * an address takes over the checks of the same address plus larger
 * offsets that follow it before anything can be seen to happen.
 *
 * A struct read field by field (an interpreter's instruction: op, a, b,
 * c) checks each field's end against the memory's size, in the order the
 * code reads them: zext(p) + 2 > size, then zext(p) + 3 > size, then
 * zext(p) + 8 > size. When nothing between the first check and the last
 * has an effect anyone could see (only arithmetic, loads, and other
 * branches to the same out-of-bounds trap), the first may check the
 * largest end for all of them: a trap it takes early is the one a later
 * check would take, of the same kind, with memory, globals and tables as
 * they would be then; and the later checks can no longer fail. The
 * spec's state after a trap is thus kept exactly (tests/spec/widening.wast).
 *
 * The checks are read from the optimised IR between LLVM's two halves
 * (cg_optimize): a conditional branch to a block that calls rt->trap with
 * AWSM_TRAP_MEMORY_OOB, on a condition made of terms zext(x) + k > size
 * (or >=, either way round, either polarity; joined by or, or by and for
 * the opposite polarity) where size is one value for the whole run (GVN
 * has merged the loads of it between calls). The run goes on from a
 * check's other successor through blocks of one predecessor, past other
 * such checks and unconditional branches, and ends at anything else: a
 * store, a call (but intrinsics that touch no memory), an atomic or
 * volatile access, a branch that is not a check, a trap of another kind.
 *
 * Wrapping. Every term read is root + k computed without wrapping (a zext
 * of 32 bits plus small constants, or adds LLVM marked nuw where they
 * run), so it is the address's true end. The widened term root + max is
 * a plain add: on a path that reaches the term whose end is max, it does
 * not wrap either and traps exactly when that term would; on a path that
 * traps before it, root + max could only wrap for a root within 2^40 of
 * 2^64, and then the leader's own term, root + k (which does not wrap),
 * is over any memory's size (at most AWSM_GUARD_RESERVATION), so the
 * leader traps anyway.
 */
#include <stddef.h>

#include "compiler/cg.h"

/* Traps when root + end > size; root NULL: a constant address. */
struct widen_term {
    LLVMValueRef root, size;
    uint64_t end;
};

enum {
    WIDEN_MAX_TERMS = 8,            /* terms read from one branch */
    WIDEN_MAX_RUN = 64,             /* blocks a run follows */
    WIDEN_MAX_END = 1ull << 40,     /* offsets past this are not widened */
};

struct widen {
    struct cg_module *cm;
    LLVMValueRef vmctx;
    unsigned memory_attr;
};

_Static_assert(offsetof(struct awsm_rt_api, trap) == 0, "the trap is rt's first field");

/* A block that calls vmctx->rt->trap(vmctx, AWSM_TRAP_MEMORY_OOB) last. */
static bool is_oob_trap(const struct widen *w, LLVMBasicBlockRef bb)
{
    LLVMValueRef term = LLVMGetBasicBlockTerminator(bb);
    if (term == NULL || !LLVMIsAUnreachableInst(term))
        return false;
    LLVMValueRef call = LLVMGetPreviousInstruction(term);
    if (call == NULL || !LLVMIsACallInst(call) || LLVMGetNumArgOperands(call) != 2)
        return false;
    LLVMValueRef kind = LLVMGetOperand(call, 1), fn = LLVMGetCalledValue(call);
    if (!LLVMIsAConstantInt(kind) || LLVMConstIntGetZExtValue(kind) != AWSM_TRAP_MEMORY_OOB ||
        !LLVMIsALoadInst(fn))
        return false;
    LLVMValueRef rt = LLVMGetOperand(fn, 0);
    if (!LLVMIsALoadInst(rt))
        return false;
    LLVMValueRef p = LLVMGetOperand(rt, 0);
    return LLVMIsAGetElementPtrInst(p) && LLVMGetNumOperands(p) == 2 &&
           LLVMGetOperand(p, 0) == w->vmctx && LLVMIsAConstantInt(LLVMGetOperand(p, 1)) &&
           LLVMConstIntGetZExtValue(LLVMGetOperand(p, 1)) == AWSM_VMCTX_RT;
}

/* The branch to an out-of-bounds trap that ends bb, with *traps_if the
 * condition's value that goes there; NULL when bb ends otherwise. */
static LLVMValueRef check_branch(const struct widen *w, LLVMBasicBlockRef bb, bool *traps_if)
{
    LLVMValueRef br = LLVMGetBasicBlockTerminator(bb);
    if (br == NULL || !LLVMIsABranchInst(br) || !LLVMIsConditional(br))
        return NULL;
    for (unsigned k = 0; k < 2; k++)
        if (is_oob_trap(w, LLVMGetSuccessor(br, k)) &&
            !is_oob_trap(w, LLVMGetSuccessor(br, 1 - k))) {
            *traps_if = k == 0;
            return br;
        }
    return NULL;
}

/* v as root + end without wrapping around 2^64: root a zext of at most
 * 32 bits, or any value if every add on the way is nuw (LLVM's widened
 * induction variables), or nothing (a constant address: root NULL). */
static bool split_address(LLVMValueRef v, LLVMValueRef *root, uint64_t *end)
{
    bool nuw = true;
    *end = 0;
    for (unsigned depth = 0; depth < 8; depth++) {
        if (LLVMIsAConstantInt(v)) {
            uint64_t k = LLVMConstIntGetZExtValue(v);
            if (k >= WIDEN_MAX_END || *end + k >= WIDEN_MAX_END)
                return false;
            *root = NULL;
            *end += k;
            return true;
        }
        if (LLVMIsAZExtInst(v)) {
            LLVMTypeRef from = LLVMTypeOf(LLVMGetOperand(v, 0));
            *root = v;
            return nuw || (LLVMGetTypeKind(from) == LLVMIntegerTypeKind &&
                           LLVMGetIntTypeWidth(from) <= 32);
        }
        if (!LLVMIsAInstruction(v) || LLVMGetInstructionOpcode(v) != LLVMAdd) {
            *root = v;
            return nuw;
        }
        LLVMValueRef a = LLVMGetOperand(v, 0), b = LLVMGetOperand(v, 1);
        if (LLVMIsAConstantInt(a)) {
            LLVMValueRef t = a;
            a = b, b = t;
        }
        if (!LLVMIsAConstantInt(b)) {
            *root = v;
            return nuw;
        }
        uint64_t k = LLVMConstIntGetZExtValue(b);
        if (k >= WIDEN_MAX_END || *end + k >= WIDEN_MAX_END)
            return false;
        nuw = nuw && LLVMGetNUW(v);
        *end += k;
        v = a;
    }
    return false;
}

static LLVMIntPredicate swapped(LLVMIntPredicate p)
{
    switch (p) {
    case LLVMIntULT: return LLVMIntUGT;
    case LLVMIntULE: return LLVMIntUGE;
    case LLVMIntUGT: return LLVMIntULT;
    case LLVMIntUGE: return LLVMIntULE;
    default: return p;              /* only the unsigned ones are read */
    }
}

static LLVMIntPredicate inverse(LLVMIntPredicate p)
{
    switch (p) {
    case LLVMIntULT: return LLVMIntUGE;
    case LLVMIntULE: return LLVMIntUGT;
    case LLVMIntUGT: return LLVMIntULE;
    case LLVMIntUGE: return LLVMIntULT;
    default: return p;
    }
}

/* A load of a memory's size: size at its offset in a struct awsm_memory
 * whose address was loaded (vmctx->memory, vmctx->memories[i]). */
static bool is_memory_size(LLVMValueRef v)
{
    if (!LLVMIsALoadInst(v))
        return false;
    LLVMValueRef p = LLVMGetOperand(v, 0);
    return LLVMIsAGetElementPtrInst(p) && LLVMGetNumOperands(p) == 2 &&
           LLVMIsALoadInst(LLVMGetOperand(p, 0)) && LLVMIsAConstantInt(LLVMGetOperand(p, 1)) &&
           LLVMConstIntGetZExtValue(LLVMGetOperand(p, 1)) == offsetof(struct awsm_memory, size);
}

/* One icmp as "traps when root + end > size", given the value that
 * traps. Which operand is the size: the one that is not an address. */
static bool icmp_term(LLVMValueRef c, bool traps_if, struct widen_term *t)
{
    LLVMIntPredicate p = LLVMGetICmpPredicate(c);
    if (p != LLVMIntULT && p != LLVMIntULE && p != LLVMIntUGT && p != LLVMIntUGE)
        return false;
    if (!traps_if)
        p = inverse(p);
    LLVMValueRef x = LLVMGetOperand(c, 0), size = LLVMGetOperand(c, 1);
    if (LLVMTypeOf(x) != LLVMInt64TypeInContext(LLVMGetTypeContext(LLVMTypeOf(x))))
        return false;
    if (is_memory_size(x)) {
        LLVMValueRef tmp = x;
        x = size, size = tmp;
        p = swapped(p);
    }
    if (!is_memory_size(size) || (p != LLVMIntUGT && p != LLVMIntUGE) ||
        !split_address(x, &t->root, &t->end))
        return false;
    t->size = size;
    t->end += p == LLVMIntUGE;      /* x >= size: x + 1 > size */
    return true;
}

/* The terms whose disjunction is when c == traps_if: false when part of
 * it is not read (what was read still makes each term enough to trap). */
static bool read_terms(LLVMValueRef c, bool traps_if, struct widen_term *out, unsigned *n,
                       unsigned depth)
{
    if (depth > 8 || !LLVMIsAInstruction(c))
        return false;
    LLVMOpcode op = LLVMGetInstructionOpcode(c);
    if (op == LLVMSelect) {
        /* or: select a, true, b; and: select a, b, false */
        LLVMValueRef t = LLVMGetOperand(c, 1), e = LLVMGetOperand(c, 2);
        LLVMValueRef fixed = traps_if ? t : e, other = traps_if ? e : t;
        if (!LLVMIsAConstantInt(fixed) || LLVMConstIntGetZExtValue(fixed) != traps_if)
            return false;
        bool a = read_terms(LLVMGetOperand(c, 0), traps_if, out, n, depth + 1);
        return read_terms(other, traps_if, out, n, depth + 1) && a;
    }
    if ((op == LLVMOr && traps_if) || (op == LLVMAnd && !traps_if)) {
        bool a = read_terms(LLVMGetOperand(c, 0), traps_if, out, n, depth + 1);
        return read_terms(LLVMGetOperand(c, 1), traps_if, out, n, depth + 1) && a;
    }
    if (op != LLVMICmp || *n == WIDEN_MAX_TERMS || !icmp_term(c, traps_if, &out[*n]))
        return false;
    ++*n;
    return true;
}

/* Does in let a run go on: nothing anyone could see, nothing that traps? */
static bool is_quiet(const struct widen *w, LLVMValueRef in)
{
    switch (LLVMGetInstructionOpcode(in)) {
    case LLVMLoad:
        return !LLVMGetVolatile(in) && LLVMGetOrdering(in) == LLVMAtomicOrderingNotAtomic;
    case LLVMCall: {
        LLVMValueRef callee = LLVMGetCalledValue(in);
        if (!LLVMIsAFunction(callee) || LLVMGetIntrinsicID(callee) == 0)
            return false;
        LLVMAttributeRef mem = LLVMGetEnumAttributeAtIndex(callee, LLVMAttributeFunctionIndex,
                                                           w->memory_attr);
        return mem != NULL && LLVMGetEnumAttributeValue(mem) == 0;      /* memory(none) */
    }
    case LLVMUDiv: case LLVMSDiv: case LLVMURem: case LLVMSRem: {
        /* Undefined on 0 (and INT_MIN / -1): only by a constant that is
         * neither. */
        LLVMValueRef d = LLVMGetOperand(in, 1);
        return LLVMIsAConstantInt(d) && LLVMConstIntGetZExtValue(d) != 0 &&
               LLVMConstIntGetSExtValue(d) != -1;
    }
    case LLVMAdd: case LLVMSub: case LLVMMul: case LLVMShl: case LLVMLShr: case LLVMAShr:
    case LLVMAnd: case LLVMOr: case LLVMXor: case LLVMFAdd: case LLVMFSub: case LLVMFMul:
    case LLVMFDiv: case LLVMFRem: case LLVMFNeg: case LLVMICmp: case LLVMFCmp: case LLVMSelect:
    case LLVMTrunc: case LLVMZExt: case LLVMSExt: case LLVMFPToUI: case LLVMFPToSI:
    case LLVMUIToFP: case LLVMSIToFP: case LLVMFPTrunc: case LLVMFPExt: case LLVMBitCast:
    case LLVMPtrToInt: case LLVMIntToPtr: case LLVMExtractElement: case LLVMInsertElement:
    case LLVMShuffleVector: case LLVMExtractValue: case LLVMInsertValue: case LLVMFreeze:
    case LLVMGetElementPtr: case LLVMPHI:
        return true;
    default:
        return false;
    }
}

static bool quiet_block(const struct widen *w, LLVMBasicBlockRef bb)
{
    LLVMValueRef term = LLVMGetBasicBlockTerminator(bb);
    for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in != term;
         in = LLVMGetNextInstruction(in))
        if (!is_quiet(w, in))
            return false;
    return true;
}

/* Does bb have one predecessor (one branch to it)? */
static bool single_pred(LLVMBasicBlockRef bb)
{
    LLVMUseRef u = LLVMGetFirstUse(LLVMBasicBlockAsValue(bb));
    return u != NULL && LLVMGetNextUse(u) == NULL;
}

/* The leader's terms, each with the largest end the run checks for its
 * root and size. */
struct widen_group {
    struct widen_term t;
    uint64_t own_end;               /* the leader's largest for the root */
    uint64_t max_end;               /* the run's */
};

static int find_group(const struct widen_group *g, unsigned n, const struct widen_term *t)
{
    for (unsigned i = 0; i < n; i++)
        if (g[i].t.root == t->root && g[i].t.size == t->size)
            return (int)i;
    return -1;
}

/* A check whose every term the leader now covers can no longer trap. */
static void drop_check(struct widen *w, LLVMValueRef br, bool traps_if)
{
    LLVMSetCondition(br, LLVMConstInt(LLVMInt1TypeInContext(w->cm->ctx), !traps_if, false));
}

/* The term root + end > size (or its negation, when the check traps on
 * false), built in front of br. */
static LLVMValueRef build_term(struct widen *w, const struct widen_term *t, uint64_t end,
                               bool traps_if)
{
    LLVMBuilderRef b = w->cm->b;
    LLVMValueRef e = LLVMConstInt(w->cm->i64, end, false);
    /* No nuw: see "Wrapping" above. */
    LLVMValueRef x = t->root == NULL ? e : LLVMBuildAdd(b, t->root, e, "wide");
    return LLVMBuildICmp(b, traps_if ? LLVMIntUGT : LLVMIntULE, x, t->size, "");
}

/* The leader checks each of its roots up to the largest end. Read whole,
 * its condition becomes one term per root (x + 2 > size or x + 8 > size
 * is x + 8 > size); else it gains a term for each root whose end grew. */
static void widen_leader(struct widen *w, LLVMValueRef br, bool traps_if, bool whole,
                         const struct widen_group *g, unsigned ng)
{
    LLVMBuilderRef b = w->cm->b;
    LLVMValueRef c = whole ? NULL : LLVMGetCondition(br);
    LLVMPositionBuilderBefore(b, br);
    for (unsigned i = 0; i < ng; i++) {
        if (!whole && g[i].max_end <= g[i].own_end)
            continue;
        LLVMValueRef t = build_term(w, &g[i].t, g[i].max_end, traps_if);
        c = c == NULL ? t : traps_if ? LLVMBuildOr(b, c, t, "") : LLVMBuildAnd(b, c, t, "");
    }
    LLVMSetCondition(br, c);
}

/* The run after the check that ends bb. */
static void widen_from(struct widen *w, LLVMBasicBlockRef bb)
{
    bool traps_if;
    LLVMValueRef br = check_branch(w, bb, &traps_if);
    struct widen_term terms[WIDEN_MAX_TERMS];
    struct widen_group g[WIDEN_MAX_TERMS];
    unsigned nt = 0, ng = 0;
    if (br == NULL)
        return;
    bool whole = read_terms(LLVMGetCondition(br), traps_if, terms, &nt, 0);
    bool change = false;
    for (unsigned i = 0; i < nt; i++) {
        int k = find_group(g, ng, &terms[i]);
        if (k < 0) {
            g[ng++] = (struct widen_group){ terms[i], terms[i].end, terms[i].end };
            continue;
        }
        change = true;              /* two terms of one root */
        if (terms[i].end > g[k].own_end)
            g[k].own_end = g[k].max_end = terms[i].end;
    }
    if (ng == 0)
        return;
    LLVMBasicBlockRef cur = LLVMGetSuccessor(br, traps_if ? 1 : 0);
    for (unsigned steps = 0; steps < WIDEN_MAX_RUN && single_pred(cur) && quiet_block(w, cur);
         steps++) {
        LLVMValueRef term = LLVMGetBasicBlockTerminator(cur);
        bool t_if;
        LLVMValueRef next = check_branch(w, cur, &t_if);
        if (next == NULL) {
            if (!LLVMIsABranchInst(term) || LLVMIsConditional(term))
                break;
            cur = LLVMGetSuccessor(term, 0);
            continue;
        }
        struct widen_term ft[WIDEN_MAX_TERMS];
        unsigned nf = 0;
        bool all = read_terms(LLVMGetCondition(next), t_if, ft, &nf, 0);
        for (unsigned i = 0; i < nf; i++) {
            int k = find_group(g, ng, &ft[i]);
            if (k < 0)
                all = false;
            else if (ft[i].end > g[k].max_end)
                g[k].max_end = ft[i].end;
        }
        if (all && nf > 0) {
            drop_check(w, next, t_if);
            change = true;
        }
        cur = LLVMGetSuccessor(next, t_if ? 1 : 0);
    }
    if (change)
        widen_leader(w, br, traps_if, whole, g, ng);
}

int cg_widen_checks(struct cg_module *cm)
{
    struct widen w = { .cm = cm, .memory_attr = LLVMGetEnumAttributeKindForName("memory", 6) };
    if (wm_memory_count(cm->m) == 0)
        return 0;
    for (LLVMValueRef fn = LLVMGetFirstFunction(cm->mod); fn != NULL;
         fn = LLVMGetNextFunction(fn)) {
        if (LLVMIsDeclaration(fn) || LLVMCountParams(fn) == 0 ||
            LLVMTypeOf(LLVMGetParam(fn, 0)) != cm->ptr)
            continue;
        w.vmctx = LLVMGetParam(fn, 0);
        for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb != NULL;
             bb = LLVMGetNextBasicBlock(bb))
            widen_from(&w, bb);
    }
    return 0;
}
