/*
 * tests/unit/test_memory.c - bounded memories and slabs: code compiled for
 * a small maximum checks every access, so its memory is a slot of a
 * read-write slab instead of an 8 GiB reservation (runtime/memory.c). The
 * slots must stay isolated, grow in place, come back zero, count exactly
 * against the budget, and never be given to an importer whose code relies
 * on guard pages. Modules are built here and compiled with cg_compile.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/compiler.h"
#include "runtime/internal.h"
#include "compile.h"
#include "test.h"

#define PAGE 65536u
#define SLOT (1u << 20)                 /* 16 pages, rounded: 1 MiB */

/*
 * (memory MIN MAX) [exported as "mem"]
 * (func "load" (param i32) (result i32) (i32.load (local.get 0)))
 * (func "store" (param i32 i32) (i32.store (local.get 0) (local.get 1)))
 * (func "grow" (param i32) (result i32) (memory.grow (local.get 0)))
 * (func "far" (param i32) (result i32) (i32.load offset=1048576 (local.get 0)))
 */
static void build_module(struct wbuf *out, uint32_t min, int64_t max,
                         bool export_memory)
{
    struct wmod w = { 0 };
    uint32_t t_i_i = mod_type(&w, "i", "i");
    uint32_t t_ii = mod_type(&w, "ii", "");
    mod_memory(&w, min, max);
    uint32_t load = mod_func(&w, t_i_i, "", CODE(
        W_LOCAL_GET, 0, W_I32_LOAD, 2, 0, W_END));
    uint32_t store = mod_func(&w, t_ii, "", CODE(
        W_LOCAL_GET, 0, W_LOCAL_GET, 1, 0x36, 2, 0, W_END));
    uint32_t grow = mod_func(&w, t_i_i, "", CODE(
        W_LOCAL_GET, 0, 0x40, 0x00, W_END));
    uint32_t far = mod_func(&w, t_i_i, "", CODE(
        W_LOCAL_GET, 0, W_I32_LOAD, 2, 0x80, 0x80, 0x40, W_END));
    mod_export(&w, "load", WM_EXTERN_FUNC, load);
    mod_export(&w, "store", WM_EXTERN_FUNC, store);
    mod_export(&w, "grow", WM_EXTERN_FUNC, grow);
    mod_export(&w, "far", WM_EXTERN_FUNC, far);
    if (export_memory)
        mod_export(&w, "mem", WM_EXTERN_MEMORY, 0);
    mod_build(&w, out);
}

/* (import "env" "mem" (memory 1)) and "load", as above. */
static void build_importer(struct wbuf *out)
{
    struct wmod w = { 0 };
    uint32_t t_i_i = mod_type(&w, "i", "i");
    mod_import_memory(&w, "env", "mem", 1);
    uint32_t load = mod_func(&w, t_i_i, "", CODE(
        W_LOCAL_GET, 0, W_I32_LOAD, 2, 0, W_END));
    mod_export(&w, "load", WM_EXTERN_FUNC, load);
    mod_build(&w, out);
}

/* Compile the bytes and load them. */
static struct rt_module *compile(struct wbuf *b, enum awsm_bounds bounds,
                                 uint32_t max_pages)
{
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    opt.bounds = bounds;
    opt.max_memory_pages = max_pages;
    return test_compile(b, &opt);
}

static struct rt_module *compile_module(uint32_t min, int64_t max,
                                        bool export_memory,
                                        enum awsm_bounds bounds,
                                        uint32_t max_pages)
{
    struct wbuf b;
    build_module(&b, min, max, export_memory);
    return compile(&b, bounds, max_pages);
}

/* The call traps "out of bounds memory access". */
static bool traps_oob(struct rt_instance *inst, const char *name, uint32_t a,
                      uint32_t b)
{
    struct rt_error err;
    uint32_t r;
    return test_call2(inst, name, a, b, &r, &err) == -1 && err.kind == RT_ERR_TRAP &&
           err.trap == AWSM_TRAP_MEMORY_OOB;
}

static struct rt_memory *memory_of(struct rt_instance *inst)
{
    return inst->own_memories[0];
}

static int count_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, c;
    if (f == NULL)
        return -1;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* ===== Choosing the code and the address space ========================= */

TEST(small_declared_maximum_makes_guard_mode_code_bounded)
{
    struct rt_module *mod = compile_module(1, 16, false, AWSM_BOUNDS_GUARD, 0);
    ASSERT(mod != NULL);
    ASSERT_EQ_U64(16ull * PAGE, rt_module_desc(mod)->mem_reach);
    struct rt_instance *inst;
    struct rt_error err;
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &inst, &err));
    ASSERT_EQ_U64(SLOT, memory_of(inst)->extent);
    rt_instance_free(inst);
    rt_module_free(mod);
}

TEST(unbounded_memory_keeps_bare_accesses_and_a_reservation)
{
    struct rt_module *mod = compile_module(1, -1, false, AWSM_BOUNDS_GUARD, 0);
    ASSERT(mod != NULL);
    ASSERT_EQ_U64(AWSM_GUARD_RESERVATION, rt_module_desc(mod)->mem_reach);
    struct rt_instance *inst;
    struct rt_error err;
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &inst, &err));
    ASSERT_EQ_U64(AWSM_GUARD_RESERVATION, memory_of(inst)->extent);
    ASSERT(traps_oob(inst, "load", PAGE, 0));           /* the guard faults */
    rt_instance_free(inst);
    rt_module_free(mod);
}

/* The compile option caps an unbounded memory: bounded code, and growth
 * stops at the cap even without a runtime cap. */
TEST(compile_option_caps_the_memory)
{
    struct rt_module *mod = compile_module(1, -1, false, AWSM_BOUNDS_GUARD, 16);
    ASSERT(mod != NULL);
    ASSERT_EQ_U64(16ull * PAGE, rt_module_desc(mod)->mem_reach);
    struct rt_instance *inst;
    struct rt_error err;
    uint32_t r;
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &inst, &err));
    ASSERT_EQ_U64(SLOT, memory_of(inst)->extent);
    ASSERT_EQ_INT(0, test_call2(inst, "grow", 16, 0, &r, &err));
    ASSERT_EQ_INT(-1, (int32_t)r);
    ASSERT_EQ_INT(0, test_call2(inst, "grow", 15, 0, &r, &err));
    ASSERT_EQ_INT(1, r);
    rt_instance_free(inst);
    rt_module_free(mod);
}

TEST(memory_larger_than_the_compiled_maximum_is_refused)
{
    struct rt_module *mod = compile_module(32, -1, false, AWSM_BOUNDS_GUARD, 16);
    ASSERT(mod != NULL);
    struct rt_instance *inst = NULL;
    struct rt_error err;
    ASSERT_EQ_INT(-1, rt_instance_new(mod, NULL, NULL, NULL, &inst, &err));
    ASSERT_EQ_INT(RT_ERR_INSTANTIATE, err.kind);
    ASSERT_STR_CONTAINS(err.msg, "memory of 32 pages is over the limit of 16 "
                        "pages it was compiled for");
    rt_instance_free(inst);
    rt_module_free(mod);
}

/* An exported memory may be imported by code with bare accesses. */
TEST(exported_memory_stays_in_a_reservation)
{
    struct rt_module *mod = compile_module(1, 16, true, AWSM_BOUNDS_GUARD, 0);
    ASSERT(mod != NULL);
    struct rt_instance *inst;
    struct rt_error err;
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &inst, &err));
    ASSERT_EQ_U64(AWSM_GUARD_RESERVATION, memory_of(inst)->extent);
    ASSERT(traps_oob(inst, "load", PAGE, 0));           /* the check traps */
    rt_instance_free(inst);
    rt_module_free(mod);
}

TEST(checked_mode_memories_are_slots_too)
{
    struct rt_module *mod = compile_module(1, 16, false, AWSM_BOUNDS_CHECKED, 0);
    ASSERT(mod != NULL);
    struct rt_instance *inst;
    struct rt_error err;
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &inst, &err));
    ASSERT_EQ_U64(SLOT, memory_of(inst)->extent);
    ASSERT(traps_oob(inst, "far", 0, 0));
    rt_instance_free(inst);
    rt_module_free(mod);
}

/* ===== Slots ============================================================ */

/* Accesses past a memory's size trap exactly there, also where the next
 * slot begins, and the neighbour's bytes stay as they were. */
TEST(slots_are_isolated)
{
    struct rt_module *mod = compile_module(1, 16, false, AWSM_BOUNDS_GUARD, 0);
    ASSERT(mod != NULL);
    struct rt_instance *a, *b;
    struct rt_error err;
    uint32_t r;
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &a, &err));
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &b, &err));
    uint8_t *base_a = memory_of(a)->pub.base, *base_b = memory_of(b)->pub.base;
    ASSERT(base_a + SLOT == base_b || base_b + SLOT == base_a);
    struct rt_instance *lo = base_a < base_b ? a : b;
    struct rt_instance *hi = lo == a ? b : a;
    ASSERT_EQ_INT(0, test_call2(hi, "store", 0, 0x5a5a5a5a, &r, &err));

    ASSERT_EQ_INT(0, test_call2(lo, "store", PAGE - 4, 7, &r, &err));
    ASSERT_EQ_INT(0, test_call2(lo, "load", PAGE - 4, 0, &r, &err));
    ASSERT_EQ_INT(7, r);
    ASSERT(traps_oob(lo, "load", PAGE - 3, 0));         /* straddles the end */
    ASSERT(traps_oob(lo, "store", PAGE, 1));
    ASSERT(traps_oob(lo, "store", SLOT, 1));            /* hi's first byte */
    ASSERT(traps_oob(lo, "far", 0, 0));
    ASSERT(traps_oob(lo, "store", UINT32_MAX, 1));
    ASSERT_EQ_INT(0, test_call2(hi, "load", 0, 0, &r, &err));
    ASSERT_EQ_INT(0x5a5a5a5a, r);
    /* Grown to the whole slot, the end is still exact. */
    ASSERT_EQ_INT(0, test_call2(lo, "grow", 15, 0, &r, &err));
    ASSERT_EQ_INT(0, test_call2(lo, "store", SLOT - 4, 9, &r, &err));
    ASSERT(traps_oob(lo, "store", SLOT - 2, 1));
    ASSERT_EQ_INT(0, test_call2(hi, "load", 0, 0, &r, &err));
    ASSERT_EQ_INT(0x5a5a5a5a, r);
    rt_instance_free(a);
    rt_instance_free(b);
    rt_module_free(mod);
}

TEST(grow_within_the_slot_keeps_the_base)
{
    struct rt_module *mod = compile_module(1, 16, false, AWSM_BOUNDS_GUARD, 0);
    ASSERT(mod != NULL);
    struct rt_instance *inst;
    struct rt_error err;
    uint32_t r;
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &inst, &err));
    uint8_t *base = memory_of(inst)->pub.base;
    ASSERT(traps_oob(inst, "store", 3 * PAGE, 1));
    ASSERT_EQ_INT(0, test_call2(inst, "grow", 3, 0, &r, &err));
    ASSERT_EQ_INT(1, r);
    ASSERT_EQ_U64(4ull * PAGE, memory_of(inst)->pub.size);
    ASSERT(base == memory_of(inst)->pub.base);
    ASSERT_EQ_INT(0, test_call2(inst, "store", 3 * PAGE, 1, &r, &err));
    ASSERT(traps_oob(inst, "store", 4 * PAGE, 1));
    ASSERT_EQ_INT(0, test_call2(inst, "grow", 12, 0, &r, &err));     /* max: 16 */
    ASSERT_EQ_INT(4, r);
    ASSERT_EQ_INT(0, test_call2(inst, "grow", 1, 0, &r, &err));
    ASSERT_EQ_INT(-1, (int32_t)r);
    rt_instance_free(inst);
    rt_module_free(mod);
}

/* A freed slot is reused (last freed, first taken) and reads zero, both
 * within the part memset and past it (MADV_DONTNEED). */
TEST(slot_is_zero_when_reused)
{
    struct rt_module *mod = compile_module(1, 16, false, AWSM_BOUNDS_GUARD, 0);
    ASSERT(mod != NULL);
    struct rt_instance *inst;
    struct rt_error err;
    uint32_t r;
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &inst, &err));
    uint8_t *base = memory_of(inst)->pub.base;
    ASSERT_EQ_INT(0, test_call2(inst, "grow", 15, 0, &r, &err));
    ASSERT_EQ_INT(0, test_call2(inst, "store", 8, 0xdeadbeef, &r, &err));
    ASSERT_EQ_INT(0, test_call2(inst, "store", SLOT - 4, 0xdeadbeef, &r, &err));
    rt_instance_free(inst);

    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &inst, &err));
    ASSERT(base == memory_of(inst)->pub.base);
    ASSERT_EQ_U64(PAGE, memory_of(inst)->pub.size);
    ASSERT_EQ_INT(0, test_call2(inst, "load", 8, 0, &r, &err));
    ASSERT_EQ_INT(0, r);
    ASSERT_EQ_INT(0, test_call2(inst, "grow", 15, 0, &r, &err));
    ASSERT_EQ_INT(0, test_call2(inst, "load", SLOT - 4, 0, &r, &err));
    ASSERT_EQ_INT(0, r);
    rt_instance_free(inst);

    /* Past the warm limit, a slot is dropped whole and still reads zero. */
    rt_memory_pool_limit(0);
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &inst, &err));
    ASSERT_EQ_INT(0, test_call2(inst, "store", 8, 0xdeadbeef, &r, &err));
    rt_instance_free(inst);
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &inst, &err));
    ASSERT(base == memory_of(inst)->pub.base);
    ASSERT_EQ_INT(0, test_call2(inst, "load", 8, 0, &r, &err));
    ASSERT_EQ_INT(0, r);
    rt_instance_free(inst);
    rt_memory_pool_limit(RT_MEMORY_POOL_DEFAULT);
    rt_module_free(mod);
}

/* The budget counts accessible bytes, not slots. */
TEST(budget_counts_the_accessible_bytes_of_slots)
{
    struct rt_module *mod = compile_module(2, 16, false, AWSM_BOUNDS_GUARD, 0);
    ASSERT(mod != NULL);
    struct rt_instance *inst;
    struct rt_error err;
    uint32_t r;
    uint64_t before = rt_memory_committed();
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &inst, &err));
    ASSERT_EQ_U64(before + 2 * PAGE, rt_memory_committed());
    ASSERT_EQ_INT(0, test_call2(inst, "grow", 3, 0, &r, &err));
    ASSERT_EQ_U64(before + 5 * PAGE, rt_memory_committed());
    rt_memory_budget_set(before + 6 * PAGE);
    ASSERT_EQ_INT(0, test_call2(inst, "grow", 2, 0, &r, &err));
    ASSERT_EQ_INT(-1, (int32_t)r);
    ASSERT(rt_instance_budget_refused(inst));
    ASSERT_EQ_INT(0, test_call2(inst, "grow", 1, 0, &r, &err));
    ASSERT_EQ_INT(5, r);
    ASSERT_EQ_U64(before + 6 * PAGE, rt_memory_committed());
    rt_memory_budget_set(0);
    rt_instance_free(inst);
    ASSERT_EQ_U64(before, rt_memory_committed());
    rt_module_free(mod);
}

/* Two hundred 1 MiB memories cost the process one or two mappings, not
 * four hundred (a slab holds 1,024 slots). */
TEST(many_slots_share_one_mapping)
{
    enum { N = 200 };
    struct rt_module *mod = compile_module(1, 16, false, AWSM_BOUNDS_GUARD, 0);
    ASSERT(mod != NULL);
    static struct rt_instance *insts[N];
    struct rt_error err;
    uint32_t r;
    int before = count_mappings();
    for (int i = 0; i < N; i++) {
        ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, NULL, &insts[i], &err));
        ASSERT_EQ_INT(0, test_call2(insts[i], "store", 0, (uint32_t)i, &r, &err));
    }
    ASSERT_LT_INT(count_mappings() - before, 3);
    for (int i = 0; i < N; i++) {
        ASSERT_EQ_INT(0, test_call2(insts[i], "load", 0, 0, &r, &err));
        ASSERT_EQ_INT(i, r);
        rt_instance_free(insts[i]);
    }
    rt_module_free(mod);
}

/* ===== Linking ========================================================== */

static int resolve_memory(void *ud, const struct wm_import *im,
                          struct rt_extern *out)
{
    out->kind = WM_EXTERN_MEMORY;
    out->u.memory = ud;
    return 0;
}

static const struct rt_instance_options private_memory = {
    .private_memory = true
};

TEST(private_exported_memory_is_a_slot)
{
    struct rt_module *mod = compile_module(1, 16, true, AWSM_BOUNDS_GUARD, 0);
    ASSERT(mod != NULL);
    struct rt_instance *inst;
    struct rt_error err;
    ASSERT_EQ_INT(0, rt_instance_new(mod, NULL, NULL, &private_memory, &inst,
                                     &err));
    ASSERT_EQ_U64(SLOT, memory_of(inst)->extent);
    ASSERT(traps_oob(inst, "store", PAGE, 1));
    rt_instance_free(inst);
    rt_module_free(mod);
}

/* A slot exported after all (private_memory broken) is refused to an
 * importer with bare guard-mode accesses, and given to a checked one; a
 * reservation goes to both. */
TEST(slot_is_refused_to_an_importer_with_bare_accesses)
{
    struct wbuf b;
    build_importer(&b);
    struct rt_module *bare = compile(&b, AWSM_BOUNDS_GUARD, 0);
    build_importer(&b);
    struct rt_module *checked = compile(&b, AWSM_BOUNDS_CHECKED, 0);
    struct rt_module *owner = compile_module(1, 16, true, AWSM_BOUNDS_GUARD, 0);
    ASSERT(bare != NULL && checked != NULL && owner != NULL);
    ASSERT_EQ_U64(AWSM_GUARD_RESERVATION, rt_module_desc(bare)->mem_reach);
    struct rt_instance *slotted, *reserved, *inst = NULL;
    struct rt_error err;
    struct rt_extern slot, resv;
    uint32_t r;
    ASSERT_EQ_INT(0, rt_instance_new(owner, NULL, NULL, &private_memory,
                                     &slotted, &err));
    ASSERT_EQ_INT(0, rt_instance_new(owner, NULL, NULL, NULL, &reserved, &err));
    ASSERT_EQ_INT(0, rt_instance_export(slotted, "mem", &slot));
    ASSERT_EQ_INT(0, rt_instance_export(reserved, "mem", &resv));

    ASSERT_EQ_INT(-1, rt_instance_new(bare, resolve_memory, slot.u.memory,
                                      NULL, &inst, &err));
    ASSERT_EQ_INT(RT_ERR_LINK, err.kind);
    ASSERT_STR_CONTAINS(err.msg, "env.mem: this module's code needs 8192 MiB "
                        "of address space past the memory's base");
    ASSERT(inst == NULL);

    ASSERT_EQ_INT(0, rt_instance_new(checked, resolve_memory, slot.u.memory,
                                     NULL, &inst, &err));
    ASSERT(traps_oob(inst, "load", PAGE, 0));
    rt_instance_free(inst);
    ASSERT_EQ_INT(0, rt_instance_new(bare, resolve_memory, resv.u.memory,
                                     NULL, &inst, &err));
    ASSERT_EQ_INT(0, test_call2(inst, "load", 0, 0, &r, &err));
    ASSERT(traps_oob(inst, "load", PAGE, 0));
    rt_instance_free(inst);
    rt_instance_free(slotted);
    rt_instance_free(reserved);
    rt_module_free(bare);
    rt_module_free(checked);
    rt_module_free(owner);
}

TEST_MAIN()
