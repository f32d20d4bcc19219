/*
 * compiler/cg_atomic.c - the threads proposal's 0xfe instructions: atomic
 * loads, stores, read-modify-writes and compare-exchanges, wait, notify
 * and fence, on memory 0.
 *
 * Every access first traps "unaligned atomic" unless its effective address
 * is a multiple of its size (as the reference interpreter, before the
 * bounds), then is bounds-checked as any access: explicitly in checked
 * mode, by the guard region's fault otherwise (a lock-prefixed access
 * faults like a plain one).
 *
 * On a shared memory the accesses are LLVM's seq_cst atomics (x86-64: mov
 * for loads, xchg for stores, lock xadd/cmpxchg and loops for the rest).
 * An unshared memory cannot be seen by another thread (a shared one is
 * never imported as unshared, runtime/link.c), so its atomics are plain
 * accesses: a load, a store, a load-modify-store; they cost what ordinary
 * accesses cost, and memory.atomic.wait traps, as the proposal says.
 */
#include <string.h>

#include "compiler/cg.h"

/* The access width in bytes: 1 << the natural alignment. */
static unsigned access_bytes(const struct wm_ins *in)
{
    return 1u << wm_op_table[in->op].arg;
}

/* Pop the index and return the effective address (i64), checked for
 * alignment and, when `check` (checked mode, or a wait or notify, which
 * reach no guard region), for bounds. */
static LLVMValueRef atomic_ea(struct cg_func *f, const struct wm_ins *in, bool check)
{
    struct cg_module *cm = f->cm;
    unsigned bytes = access_bytes(in);
    LLVMValueRef index = cg_pop(f);
    /* ea's low bits are those of index + offset in infinite precision
     * (memory64's sum may wrap: 2^64 is a multiple of every size). */
    LLVMValueRef ea = cg_effective_address(f, index, in->u.mem.offset);
    if (bytes > 1) {
        LLVMValueRef low = LLVMBuildAnd(f->b, ea, cg_const_i64(f, bytes - 1), "");
        cg_trap_if(f, LLVMBuildICmp(f->b, LLVMIntNE, low, cg_const_i64(f, 0), ""),
                   AWSM_TRAP_UNALIGNED_ATOMIC);
    }
    if (check || cg_mem_checked(cm, in->mem))
        cg_check_access(f, in->mem, index, ea, in->u.mem.offset, bytes);
    return ea;
}

/* The value type of the instruction's result (or stored value): i32 or
 * i64, from its signature's last letter. */
static LLVMTypeRef value_type(struct cg_func *f, const struct wm_ins *in)
{
    const char *sig = wm_op_table[in->op].sig;
    char c = sig[strlen(sig) - 1] == ':' ? sig[strlen(sig) - 2] : sig[strlen(sig) - 1];
    return c == 'l' ? f->cm->i64 : f->cm->i32;
}

static LLVMValueRef narrow(struct cg_func *f, LLVMValueRef v, LLVMTypeRef mt)
{
    return LLVMTypeOf(v) == mt ? v : LLVMBuildTrunc(f->b, v, mt, "");
}

static LLVMValueRef widen(struct cg_func *f, LLVMValueRef v, LLVMTypeRef t)
{
    return LLVMTypeOf(v) == t ? v : LLVMBuildZExt(f->b, v, t, "");
}

/* A load or store of `bytes`: aligned (the check proved it), seq_cst on a
 * shared memory. */
static LLVMValueRef ordered(struct cg_func *f, const struct wm_ins *in,
                            LLVMValueRef access, unsigned bytes)
{
    LLVMSetAlignment(access, bytes);
    if (cg_mem_shared(f->cm, in->mem))
        LLVMSetOrdering(access, LLVMAtomicOrderingSequentiallyConsistent);
    return cg_tag_memory(f->cm, access);
}

/* The read-modify-write operation of an rmw opcode, from its name
 * ("i32.atomic.rmw8.add_u"). */
static LLVMAtomicRMWBinOp rmw_op(const struct wm_ins *in)
{
    const char *name = strrchr(wm_op_table[in->op].name, '.') + 1;
    switch (name[0]) {
    case 'a': return name[1] == 'd' ? LLVMAtomicRMWBinOpAdd : LLVMAtomicRMWBinOpAnd;
    case 's': return LLVMAtomicRMWBinOpSub;
    case 'o': return LLVMAtomicRMWBinOpOr;
    default: return name[1] == 'o' ? LLVMAtomicRMWBinOpXor : LLVMAtomicRMWBinOpXchg;
    }
}

/* What an unshared memory's read-modify-write stores. */
static LLVMValueRef rmw_apply(struct cg_func *f, LLVMAtomicRMWBinOp op,
                              LLVMValueRef old, LLVMValueRef v)
{
    switch (op) {
    case LLVMAtomicRMWBinOpAdd: return LLVMBuildAdd(f->b, old, v, "");
    case LLVMAtomicRMWBinOpSub: return LLVMBuildSub(f->b, old, v, "");
    case LLVMAtomicRMWBinOpAnd: return LLVMBuildAnd(f->b, old, v, "");
    case LLVMAtomicRMWBinOpOr: return LLVMBuildOr(f->b, old, v, "");
    case LLVMAtomicRMWBinOpXor: return LLVMBuildXor(f->b, old, v, "");
    default: return v;
    }
}

static void atomic_rmw(struct cg_func *f, const struct wm_ins *in, bool cmpxchg)
{
    struct cg_module *cm = f->cm;
    unsigned bytes = access_bytes(in);
    LLVMTypeRef t = value_type(f, in);
    LLVMTypeRef mt = LLVMIntTypeInContext(cm->ctx, bytes * 8);
    LLVMValueRef v = narrow(f, cg_pop(f), mt);
    /* A narrow cmpxchg compares the expected value wrapped to its width. */
    LLVMValueRef expected = cmpxchg ? narrow(f, cg_pop(f), mt) : NULL;
    LLVMValueRef p = cg_mem_pointer(f, in->mem, atomic_ea(f, in, false));
    LLVMValueRef old;
    bool shared = cg_mem_shared(cm, in->mem);
    if (shared && cmpxchg) {
        LLVMValueRef pair = LLVMBuildAtomicCmpXchg(
            f->b, p, expected, v, LLVMAtomicOrderingSequentiallyConsistent,
            LLVMAtomicOrderingSequentiallyConsistent, false);
        LLVMSetAlignment(pair, bytes);
        old = LLVMBuildExtractValue(f->b, cg_tag_memory(cm, pair), 0, "");
    } else if (shared) {
        old = LLVMBuildAtomicRMW(f->b, rmw_op(in), p, v,
                                 LLVMAtomicOrderingSequentiallyConsistent, false);
        LLVMSetAlignment(old, bytes);
        cg_tag_memory(cm, old);
    } else {
        old = ordered(f, in, LLVMBuildLoad2(f->b, mt, p, ""), bytes);
        LLVMValueRef now = cmpxchg
            ? LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntEQ, old, expected, ""),
                              v, old, "")
            : rmw_apply(f, rmw_op(in), old, v);
        ordered(f, in, LLVMBuildStore(f->b, now, p), bytes);
    }
    cg_push(f, widen(f, old, t));
}

/* wait32/wait64 and notify: the runtime's, at a checked address. */
static void atomic_wait_notify(struct cg_func *f, const struct wm_ins *in)
{
    struct cg_module *cm = f->cm;
    LLVMValueRef args[5];
    bool shared = cg_mem_shared(cm, in->mem);
    if (in->op == WM_OP_MEMORY_ATOMIC_NOTIFY) {
        args[1] = cg_pop(f);                            /* count */
        args[0] = atomic_ea(f, in, true);
        args[2] = cg_const_i32(f, in->mem);
        cg_push(f, shared ? cg_call_rt(f, offsetof(struct awsm_rt_api, atomic_notify),
                                       cm->i32, args, 3)
                          : cg_const_i32(f, 0));        /* no waiter can exist */
        return;
    }
    args[2] = cg_pop(f);                                /* timeout (ns) */
    args[1] = cg_to_i64(f, cg_pop(f));                  /* expected */
    args[0] = atomic_ea(f, in, true);
    if (!shared) {
        /* The trap ends the block; the code after it is dead but must
         * still build (its value is never used). */
        LLVMBasicBlockRef dead = LLVMAppendBasicBlockInContext(cm->ctx, f->fn, "dead");
        cg_trap(f, AWSM_TRAP_WAIT_UNSHARED);
        LLVMPositionBuilderAtEnd(f->b, dead);
        cg_push(f, LLVMGetUndef(cm->i32));
        return;
    }
    args[3] = cg_const_i32(f, in->op == WM_OP_MEMORY_ATOMIC_WAIT64);
    args[4] = cg_const_i32(f, in->mem);
    cg_push(f, cg_call_rt(f, offsetof(struct awsm_rt_api, atomic_wait), cm->i32, args, 5));
}

int cg_atomic(struct cg_func *f, const struct wm_ins *in)
{
    struct cg_module *cm = f->cm;
    const char *name = wm_op_table[in->op].name;
    unsigned bytes = access_bytes(in);
    LLVMTypeRef mt = LLVMIntTypeInContext(cm->ctx, bytes * 8);

    switch (in->op) {
    case WM_OP_ATOMIC_FENCE:
        /* Unshared memories have nothing to order (no other thread). */
        if (cm->any_shared)
            LLVMBuildFence(f->b, LLVMAtomicOrderingSequentiallyConsistent, false, "");
        return 0;
    case WM_OP_MEMORY_ATOMIC_NOTIFY: case WM_OP_MEMORY_ATOMIC_WAIT32:
    case WM_OP_MEMORY_ATOMIC_WAIT64:
        atomic_wait_notify(f, in);
        return 0;
    default:
        break;
    }
    if (strstr(name, ".load") != NULL) {
        LLVMValueRef p = cg_mem_pointer(f, in->mem, atomic_ea(f, in, false));
        LLVMValueRef v = ordered(f, in, LLVMBuildLoad2(f->b, mt, p, ""), bytes);
        cg_push(f, widen(f, v, value_type(f, in)));
        return 0;
    }
    if (strstr(name, ".store") != NULL) {
        LLVMValueRef v = narrow(f, cg_pop(f), mt);
        LLVMValueRef p = cg_mem_pointer(f, in->mem, atomic_ea(f, in, false));
        ordered(f, in, LLVMBuildStore(f->b, v, p), bytes);
        return 0;
    }
    atomic_rmw(f, in, strstr(name, ".cmpxchg") != NULL);
    return 0;
}
