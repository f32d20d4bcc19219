/*
 * compiler/cg_poll.c - the loop-poll pass, run after optimisation: every
 * loop that can go round without passing a safe point gets a poll of
 * vmctx->interrupt at its header (the interrupt protocol: runtime/abi.h).
 * It works on the optimised IR, whatever shape LLVM left the loops in.
 */
#include <stdlib.h>
#include <string.h>

#include "compiler/cg.h"

/*
 * A loop must poll unless every trip around it passes a safe point of its
 * own: a direct call of a wasm function whose stack check runs on every
 * call (CG_ENTRY_CHECK_ATTR: it sees the raised limit), or a stack check
 * inlined. So: take the control-flow graph without the edges leaving
 * blocks that hold one; every cycle left has an edge that a depth-first
 * search finds going back to a block still on its path, and polling at
 * the targets of those edges (the loop headers, for the reducible graphs
 * structured wasm gives) stops every loop, whatever shape LLVM left it in
 * (rotated, unrolled, vectorised: the vector body and the scalar rest
 * each poll). A call of a function in another part of the module
 * (cg_module.c), whose attributes are not known here, or of one that may
 * return without its check (a leaf path), is no safe point.
 */

enum { DFS_UNSEEN, DFS_ON_PATH, DFS_DONE };

/* What tells a safe block: the wasm functions, sorted by address, and
 * llvm.stacksave, which only stack checks use. */
struct safe_calls {
    LLVMValueRef *wasm;
    uint32_t nwasm;
    unsigned stacksave;
};

struct fn_blocks {
    struct cg_cfg g;
    bool *safe;                     /* the block always passes a safe point */
    bool *header;                   /* a poll goes in front of the block */
};

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return (x > y) - (x < y);
}

/* A defined function, or a clone of one (cg_module.c, plan_recursion:
 * always inlined, and so gone by now, but wasm code if one is left). */
static bool is_wasm_function(const struct safe_calls *sc, LLVMValueRef fn)
{
    size_t len;
    const char *name = LLVMGetValueName2(fn, &len);
    return bsearch(&fn, sc->wasm, sc->nwasm, sizeof fn, cmp_ptr) != NULL ||
           (len > sizeof CG_CLONE_PREFIX - 1 &&
            memcmp(name, CG_CLONE_PREFIX, sizeof CG_CLONE_PREFIX - 1) == 0);
}

static bool checks_on_entry(LLVMValueRef fn)
{
    return LLVMGetStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, CG_ENTRY_CHECK_ATTR,
                                         sizeof CG_ENTRY_CHECK_ATTR - 1) != NULL;
}

/* Does every run of bb pass a stack check, its own or a callee's? */
static bool block_is_safe(LLVMBasicBlockRef bb, const struct safe_calls *sc)
{
    for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in != NULL;
         in = LLVMGetNextInstruction(in)) {
        if (!LLVMIsACallInst(in))
            continue;
        LLVMValueRef callee = LLVMGetCalledValue(in);
        if (LLVMIsAFunction(callee) &&
            (LLVMGetIntrinsicID(callee) == sc->stacksave ||
             (is_wasm_function(sc, callee) && checks_on_entry(callee))))
            return true;
    }
    return false;
}

/* In the function's arena (poll_function). */
static void blocks_init(struct cg_module *cm, struct fn_blocks *fb, LLVMValueRef fn,
                        const struct safe_calls *sc)
{
    cg_cfg_init(cm, &fb->g, fn);
    uint32_t n = fb->g.n;
    fb->safe = cg_alloc(cm, n, sizeof *fb->safe);
    fb->header = cg_alloc(cm, n, sizeof *fb->header);
    for (uint32_t i = 0; i < n; i++)
        fb->safe[i] = block_is_safe(fb->g.bbs[i], sc);
}

/* The successors that count: none for a safe block. */
static uint32_t nsuccessors(const struct fn_blocks *fb, uint32_t b)
{
    return fb->safe[b] ? 0 : fb->g.succ_at[b + 1] - fb->g.succ_at[b];
}

/* Depth-first search from root, iterative: path[] holds the blocks on the
 * path, next[] the successor each goes on with. Marks back-edge targets. */
static uint32_t dfs_mark(struct fn_blocks *fb, uint32_t root, uint8_t *state,
                         uint32_t *path, uint32_t *next)
{
    uint32_t depth = 0, nheaders = 0;
    state[root] = DFS_ON_PATH;
    path[depth] = root, next[depth++] = 0;
    while (depth > 0) {
        uint32_t b = path[depth - 1];
        if (next[depth - 1] == nsuccessors(fb, b)) {
            state[b] = DFS_DONE;
            depth--;
            continue;
        }
        uint32_t s = fb->g.succ[fb->g.succ_at[b] + next[depth - 1]++];
        if (state[s] == DFS_ON_PATH && !fb->header[s]) {
            fb->header[s] = true;
            nheaders++;
        } else if (state[s] == DFS_UNSEEN) {
            state[s] = DFS_ON_PATH;
            path[depth] = s, next[depth++] = 0;
        }
    }
    return nheaders;
}

/* Mark the blocks that need a poll; returns how many. Every block is a
 * root in turn: without the safe blocks' edges, some cycles may hang off
 * blocks the entry no longer reaches. */
static uint32_t find_loop_headers(struct cg_module *cm, struct fn_blocks *fb)
{
    uint32_t n = fb->g.n;
    uint8_t *state = cg_alloc(cm, n, 1);
    uint32_t *path = cg_alloc(cm, n, sizeof *path);
    uint32_t *next = cg_alloc(cm, n, sizeof *next);
    uint32_t nheaders = 0;
    for (uint32_t root = 0; root < n; root++)
        if (state[root] == DFS_UNSEEN)
            nheaders += dfs_mark(fb, root, state, path, next);
    return nheaders;
}

/* Loop polls read the flag once every this many trips through loop
 * headers, counting down a per-function counter that lives in a register:
 * a load of the flag on every trip cost twice as much in a streaming loop
 * (matmul: +23% against +10%; in native C on the EPYC we measure on, +37%
 * against nothing). The latency stays small: between two trips through a
 * header runs straight-line code or a call (which polls on entry), so
 * this many trips take microseconds. */
#define POLL_EVERY 256u

void cg_branch_weights(struct cg_module *cm, LLVMValueRef br, unsigned taken,
                       unsigned not_taken)
{
    LLVMMetadataRef md[3] = {
        LLVMMDStringInContext2(cm->ctx, "branch_weights", 14),
        LLVMValueAsMetadata(LLVMConstInt(cm->i32, taken, false)),
        LLVMValueAsMetadata(LLVMConstInt(cm->i32, not_taken, false)),
    };
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(cm->ctx, "prof", 4),
                    LLVMMetadataAsValue(cm->ctx, LLVMMDNodeInContext2(cm->ctx, md, 3)));
}

/* Branch weights: the branch to `unlikely` is taken once in `odds`. */
static LLVMValueRef cond_br_unlikely(struct cg_module *cm, LLVMBuilderRef b,
                                     LLVMValueRef cond, LLVMBasicBlockRef unlikely,
                                     LLVMBasicBlockRef likely, unsigned odds)
{
    LLVMValueRef br = LLVMBuildCondBr(b, cond, unlikely, likely);
    cg_branch_weights(cm, br, 1, odds - 1);
    return br;
}

/* The function's trip counter: an alloca in the entry block, set to
 * POLL_EVERY there; mem2reg (cg_poll_loops) makes it a register. */
static LLVMValueRef new_counter(struct cg_module *cm, LLVMBuilderRef b,
                                LLVMValueRef fn)
{
    LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(fn);
    LLVMPositionBuilderBefore(b, LLVMGetFirstInstruction(entry));
    LLVMValueRef cnt = LLVMBuildAlloca(b, cm->i32, "poll_count");
    LLVMBuildStore(b, LLVMConstInt(cm->i32, POLL_EVERY, false), cnt);
    return cnt;
}

/* Once the count runs out: reset it, load the flag (volatile: it changes
 * under the code's feet), and call rt->interrupted when it is set. */
static void build_flag_check(struct cg_module *cm, LLVMBuilderRef b,
                             LLVMValueRef fn, LLVMValueRef cnt,
                             LLVMBasicBlockRef h)
{
    LLVMValueRef vmctx = LLVMGetParam(fn, 0);
    LLVMBuildStore(b, LLVMConstInt(cm->i32, POLL_EVERY, false), cnt);
    LLVMValueRef off = LLVMConstInt(cm->i64, AWSM_VMCTX_INTERRUPT, false);
    LLVMValueRef flag = LLVMBuildLoad2(b, cm->i32,
        LLVMBuildGEP2(b, cm->i8, vmctx, &off, 1, ""), "interrupt");
    LLVMSetVolatile(flag, true);
    cg_tag_runtime(cm, flag);
    LLVMValueRef set = LLVMBuildICmp(b, LLVMIntNE, flag,
                                     LLVMConstInt(cm->i32, 0, false), "");
    LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(cm->ctx, fn,
                                                           "interrupted");
    cond_br_unlikely(cm, b, set, slow, h, 2000);
    LLVMPositionBuilderAtEnd(b, slow);
    cg_call_interrupted(cm, b, vmctx);
    LLVMBuildBr(b, h);
}

/* The poll block in front of header h: h's phis move into it (their
 * incoming edges now arrive there), then the count goes down by one; when
 * it reaches zero, the flag check. */
static void build_poll(struct cg_module *cm, LLVMBuilderRef b, LLVMValueRef fn,
                       LLVMValueRef cnt, LLVMBasicBlockRef poll,
                       LLVMBasicBlockRef h)
{
    LLVMValueRef phi;
    LLVMPositionBuilderAtEnd(b, poll);
    while ((phi = LLVMGetFirstInstruction(h)) != NULL && LLVMIsAPHINode(phi)) {
        LLVMInstructionRemoveFromParent(phi);
        LLVMInsertIntoBuilder(b, phi);
    }
    LLVMValueRef left = LLVMBuildSub(b, LLVMBuildLoad2(b, cm->i32, cnt, ""),
                                     LLVMConstInt(cm->i32, 1, false), "");
    LLVMBuildStore(b, left, cnt);
    LLVMBasicBlockRef check = LLVMAppendBasicBlockInContext(cm->ctx, fn,
                                                            "poll_flag");
    cond_br_unlikely(cm, b, LLVMBuildICmp(b, LLVMIntEQ, left,
                                          LLVMConstInt(cm->i32, 0, false), ""),
                     check, h, POLL_EVERY);
    LLVMPositionBuilderAtEnd(b, check);
    build_flag_check(cm, b, fn, cnt, h);
}

/* Every edge into a header now goes through its poll block. */
static void insert_polls(struct cg_module *cm, LLVMBuilderRef b, LLVMValueRef fn,
                         const struct fn_blocks *fb)
{
    const struct cg_cfg *g = &fb->g;
    LLVMBasicBlockRef *poll = cg_alloc(cm, g->n, sizeof *poll);
    LLVMValueRef cnt = new_counter(cm, b, fn);
    for (uint32_t i = 0; i < g->n; i++)
        if (fb->header[i])
            poll[i] = LLVMInsertBasicBlockInContext(cm->ctx, g->bbs[i], "poll");
    for (uint32_t i = 0; i < g->n; i++) {
        LLVMValueRef term = LLVMGetBasicBlockTerminator(g->bbs[i]);
        for (uint32_t k = 0; k < g->succ_at[i + 1] - g->succ_at[i]; k++)
            if (fb->header[g->succ[g->succ_at[i] + k]])
                LLVMSetSuccessor(term, k, poll[g->succ[g->succ_at[i] + k]]);
    }
    for (uint32_t i = 0; i < g->n; i++)
        if (fb->header[i])
            build_poll(cm, b, fn, cnt, poll[i], g->bbs[i]);
}

/* Poll at the loop headers of fn. Only wasm functions (vmctx first) may
 * have loops: the trampolines have none, and the standard pipelines make
 * no new functions of address-taken ones. That is checked rather than
 * trusted: a loop nobody polls would be unstoppable. */
static int poll_function(struct cg_module *cm, LLVMBuilderRef b, LLVMValueRef fn,
                         const struct safe_calls *sc)
{
    struct fn_blocks fb;
    int rc = 0;
    cg_func_arena_begin(cm);
    blocks_init(cm, &fb, fn, sc);
    if (fb.g.n > 0 && find_loop_headers(cm, &fb) > 0) {
        if (is_wasm_function(sc, fn)) {
            insert_polls(cm, b, fn, &fb);
        } else {
            size_t len;
            rc = cg_fail(cm, "internal compiler error: a loop in %s, not a wasm "
                         "function, after optimisation", LLVMGetValueName2(fn, &len));
        }
    }
    cg_func_arena_end(cm);
    return rc;
}

int cg_poll_loops(struct cg_module *cm)
{
    uint32_t n = cm->m->nfuncs;
    struct safe_calls sc = { cg_alloc(cm, n, sizeof *sc.wasm), n,
                             LLVMLookupIntrinsicID("llvm.stacksave", 14) };
    memcpy(sc.wasm, cm->funcs, n * sizeof *sc.wasm);
    qsort(sc.wasm, n, sizeof *sc.wasm, cmp_ptr);
    LLVMBuilderRef b = cm->b;
    int rc = 0;
    for (LLVMValueRef fn = LLVMGetFirstFunction(cm->mod); fn != NULL && rc == 0;
         fn = LLVMGetNextFunction(fn))
        if (!LLVMIsDeclaration(fn))
            rc = poll_function(cm, b, fn, &sc);
    /* The trip counters, from allocas to registers. */
    return rc != 0 ? rc : cg_run_passes(cm, "function(mem2reg)");
}
