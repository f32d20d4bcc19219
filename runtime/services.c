/*
 * runtime/services.c - struct awsm_rt_api: the slow operations generated
 * code calls through vmctx->rt. Each takes the calling instance's vmctx;
 * indices are that instance's. A failed bounds check traps (unwinds to
 * rt_call) and never returns.
 *
 * The bulk operations follow Wasm 2.0 (spec 4.4.6, 4.4.7): bounds are
 * checked before anything is written, a length of zero still checks its
 * offsets, and a dropped segment behaves as one of length zero.
 */
#include <string.h>

#include "runtime/internal.h"

static void trap_if(uint32_t kind)
{
    if (kind != 0)
        rt_trap_raise(kind);
}

static struct rt_table *table_at(struct awsm_vmctx *vm, uint32_t t)
{
    return rt_table_of(vm->tables[t]);
}

/* ===== Memory =========================================================== */

__attribute__((noreturn))
static void svc_trap(struct awsm_vmctx *vm, uint32_t kind)
{
    rt_trap_raise(kind);
}

static uint64_t svc_memory_grow(struct awsm_vmctx *vm, uint64_t delta, uint32_t mem)
{
    struct rt_instance *inst = rt_instance_of(vm);
    struct rt_budget_refusal why = { .refused = false };
    uint64_t old = rt_memory_grow_pages(rt_memory_of(vm->memories[mem]), delta,
                                        inst->opt.max_memory_pages, &why);
    if (why.refused)
        inst->budget_refused = true;
    return old;
}

static uint32_t svc_atomic_wait(struct awsm_vmctx *vm, uint64_t ea, uint64_t expected,
                                int64_t timeout_ns, uint32_t wide, uint32_t mem)
{
    const struct rt_instance_options *opt = &rt_instance_of(vm)->opt;
    return rt_atomic_wait(vm->memories[mem]->base + ea, expected, timeout_ns, wide != 0,
                          opt->atomic_wait, opt->wait_ud);
}

static uint32_t svc_atomic_notify(struct awsm_vmctx *vm, uint64_t ea, uint32_t count,
                                  uint32_t mem)
{
    return rt_atomic_notify(vm->memories[mem]->base + ea, count);
}

/* memory.init: copy data segment `seg`[src, src+len) to memory `memory`
 * at dst. */
uint32_t rt_do_memory_init(struct rt_instance *inst, uint32_t memory, uint32_t seg,
                           uint64_t dst, uint32_t src, uint32_t len)
{
    const struct wm_data *d = &inst->mod->wasm->datas[seg];
    uint32_t seg_len = inst->data_dropped[seg] ? 0 : d->len;
    struct awsm_memory *mem = wm_memory_count(inst->mod->wasm) > memory
                              ? inst->memories[memory] : NULL;
    if ((uint64_t)src + len > seg_len || mem == NULL || dst > mem->size ||
        len > mem->size - dst)
        return AWSM_TRAP_MEMORY_OOB;
    if (len > 0)
        memcpy(mem->base + dst, d->bytes + src, len);
    return 0;
}

static void svc_memory_init(struct awsm_vmctx *vm, uint32_t seg, uint64_t dst,
                            uint32_t src, uint32_t len, uint32_t mem)
{
    trap_if(rt_do_memory_init(rt_instance_of(vm), mem, seg, dst, src, len));
}

static void svc_data_drop(struct awsm_vmctx *vm, uint32_t seg)
{
    rt_instance_of(vm)->data_dropped[seg] = true;
}

/* ===== Tables =========================================================== */

static uint32_t svc_table_grow(struct awsm_vmctx *vm, uint32_t t, void *init,
                               uint32_t delta)
{
    return rt_table_grow_elems(table_at(vm, t), init, delta);
}

static void svc_table_fill(struct awsm_vmctx *vm, uint32_t t, uint32_t dst,
                           void *val, uint32_t len)
{
    trap_if(rt_table_fill_elems(table_at(vm, t), dst, val, len));
}

static void svc_table_copy(struct awsm_vmctx *vm, uint32_t dst_t,
                           uint32_t src_t, uint32_t dst, uint32_t src,
                           uint32_t len)
{
    trap_if(rt_table_copy_elems(table_at(vm, dst_t), table_at(vm, src_t), dst,
                                src, len));
}

/* table.init: segment `seg`[src, src+len) into table t at dst. */
uint32_t rt_do_table_init(struct rt_instance *inst, uint32_t table,
                          uint32_t seg, uint32_t dst, uint32_t src,
                          uint32_t len)
{
    const struct rt_elem_inst *ei = &inst->elems[seg];
    return rt_table_write(rt_table_of(inst->tables[table]), dst, ei->vals,
                          ei->len, src, len);
}

static void svc_table_init(struct awsm_vmctx *vm, uint32_t t, uint32_t seg,
                           uint32_t dst, uint32_t src, uint32_t len)
{
    trap_if(rt_do_table_init(rt_instance_of(vm), t, seg, dst, src, len));
}

static void svc_elem_drop(struct awsm_vmctx *vm, uint32_t seg)
{
    struct rt_elem_inst *ei = &rt_instance_of(vm)->elems[seg];
    ei->len = 0;        /* the values are freed with the instance */
}

const struct awsm_rt_api rt_services = {
    .trap = svc_trap,
    .memory_grow = svc_memory_grow,
    .memory_init = svc_memory_init,
    .data_drop = svc_data_drop,
    .table_grow = svc_table_grow,
    .table_fill = svc_table_fill,
    .table_copy = svc_table_copy,
    .table_init = svc_table_init,
    .elem_drop = svc_elem_drop,
    .interrupted = RT_INTERRUPTED_ENTRY,    /* trap.c: the stack's state */
    .stack_probe = RT_STACK_PROBE_ENTRY,    /* trap.c: likewise */
    .atomic_wait = svc_atomic_wait,
    .atomic_notify = svc_atomic_notify,
    .exn_throw = rt_exn_throw,
    .exn_tag = rt_exn_tag,
    .exn_catch = rt_exn_catch,
    .exn_rethrow = rt_exn_rethrow,
    .exn_release = rt_exn_release,
};
