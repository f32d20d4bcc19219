/*
 * tests/unit/fake_module.c - a hand-made "compiled module" for the runtime
 * unit test, built as a shared object the way awsmc's output looks: one
 * exported descriptor `awsm_module_v1`, native functions taking the vmctx
 * first, and one trampoline per type. The wasm bytes are built at load
 * time with test.h's module builder, so a constructor fills the
 * descriptor and its SHA-256 (computed here with Nettle).
 *
 * Variants (compile definitions): FAKE_ABI_VERSION=0 (a stale module),
 * FAKE_BAD_HASH (a module whose hash does not match its bytes).
 *
 * The module, in the text format (bodies only need to validate; the
 * native code below does the work):
 *   (import "env" "callback" (func $cb (param i32) (result i32)))   ;; 0
 *   (func $add (param i32 i32) (result i32))                       ;; 1
 *   (func $div (param i32 i32) (result i32))       ;; traps on zero  2
 *   (func $load (param i32) (result i32))         ;; no bounds check 3
 *   (func $recurse)                                ;; with stack check 4
 *   (func $recurse_nocheck)                 ;; hits the guard page  5
 *   (func $call_cb (param i32) (result i32))       ;; calls import  6
 *   (func $grow (param i32) (result i32))           ;; memory.grow  7
 *   (func $get_g (result i32))                                     ;; 8
 *   (func $unreachable)                                            ;; 9
 *   (func $call_tab (param i32 i32) (result i32))  ;; call_indirect 10
 *   (table 2 10 funcref) (elem (i32.const 0) $add $div)
 *   (memory 1 3) (data (i32.const 16) "hello")
 *   (global (mut i32) (i32.const 42))
 *   exports: every function by name, "mem", "tab", "g"
 */
#include <stdint.h>
#include <string.h>

#include <nettle/sha2.h>

#include "runtime/abi.h"
#include "tests/unit/test.h"

#ifndef FAKE_ABI_VERSION
#define FAKE_ABI_VERSION AWSM_ABI_VERSION
#endif

enum { T_II_I, T_I_I, T_V_V, T_V_I, NTYPES };

typedef int32_t (*fn_ii_i)(struct awsm_vmctx *, int32_t, int32_t);
typedef int32_t (*fn_i_i)(struct awsm_vmctx *, int32_t);
typedef void (*fn_v_v)(struct awsm_vmctx *);
typedef int32_t (*fn_v_i)(struct awsm_vmctx *);

/* ===== Native code ====================================================== */

static int32_t f_add(struct awsm_vmctx *vm, int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static int32_t f_div(struct awsm_vmctx *vm, int32_t a, int32_t b)
{
    if (b == 0)
        vm->rt->trap(vm, AWSM_TRAP_INT_DIV_ZERO);
    if (a == INT32_MIN && b == -1)
        vm->rt->trap(vm, AWSM_TRAP_INT_OVERFLOW);
    return a / b;
}

/* Guard mode: no check, the reservation faults. */
static int32_t f_load(struct awsm_vmctx *vm, int32_t addr)
{
    return *(volatile int32_t *)(vm->mem_base + (uint32_t)addr);
}

/* The prologue generated code has: compare the frame with the limit;
 * below it, the runtime tells an overflow (it traps) from an interrupt. */
static void f_recurse(struct awsm_vmctx *vm)
{
    volatile char pad[128];
    if ((uintptr_t)__builtin_frame_address(0) < vm->stack_limit)
        vm->rt->interrupted(vm);
    pad[0] = 1;
    if (vm->interrupt == 0)
        f_recurse(vm);
    pad[1] = pad[0];            /* no tail call */
}

static void f_recurse_nocheck(struct awsm_vmctx *vm)
{
    volatile char pad[128];
    pad[0] = 1;
    if (vm->interrupt == 0)
        f_recurse_nocheck(vm);
    pad[1] = pad[0];
}

static int32_t f_call_cb(struct awsm_vmctx *vm, int32_t x)
{
    struct awsm_funcref *cb = vm->funcs[0];
    return ((fn_i_i)cb->code)(cb->vmctx, x);
}

static int32_t f_grow(struct awsm_vmctx *vm, int32_t delta)
{
    return (int32_t)vm->rt->memory_grow(vm, (uint32_t)delta, 0);
}

static int32_t f_get_g(struct awsm_vmctx *vm)
{
    return (int32_t)vm->globals[0].i32;
}

static void f_unreachable(struct awsm_vmctx *vm)
{
    vm->rt->trap(vm, AWSM_TRAP_UNREACHABLE);
}

/* call_indirect (type 0) through table 0, with the checks generated code
 * makes: index in range, element not null, canonical type equal. */
static int32_t f_call_tab(struct awsm_vmctx *vm, int32_t x, int32_t idx)
{
    struct awsm_table *t = vm->tables[0];
    if ((uint32_t)idx >= t->size)
        vm->rt->trap(vm, AWSM_TRAP_UNDEFINED_ELEMENT);
    struct awsm_funcref *f = t->elems[idx];
    if (f == NULL)
        vm->rt->trap(vm, AWSM_TRAP_INDIRECT_NULL);
    if (f->type_id != vm->type_ids[T_II_I])
        vm->rt->trap(vm, AWSM_TRAP_INDIRECT_TYPE);
    return ((fn_ii_i)f->code)(f->vmctx, x, x);
}

static void *const funcs[] = {
    (void *)f_add, (void *)f_div, (void *)f_load, (void *)f_recurse,
    (void *)f_recurse_nocheck, (void *)f_call_cb, (void *)f_grow,
    (void *)f_get_g, (void *)f_unreachable, (void *)f_call_tab,
};

/* ===== Trampolines ====================================================== */

static void tr_ii_i(void *fn, struct awsm_vmctx *vm, awsm_value *a)
{
    a[0].i32 = (uint32_t)((fn_ii_i)fn)(vm, (int32_t)a[0].i32, (int32_t)a[1].i32);
}

static void tr_i_i(void *fn, struct awsm_vmctx *vm, awsm_value *a)
{
    a[0].i32 = (uint32_t)((fn_i_i)fn)(vm, (int32_t)a[0].i32);
}

static void tr_v_v(void *fn, struct awsm_vmctx *vm, awsm_value *a)
{
    ((fn_v_v)fn)(vm);
}

static void tr_v_i(void *fn, struct awsm_vmctx *vm, awsm_value *a)
{
    a[0].i32 = (uint32_t)((fn_v_i)fn)(vm);
}

static const awsm_trampoline trampolines[NTYPES] = {
    tr_ii_i, tr_i_i, tr_v_v, tr_v_i,
};


/* ===== The wasm bytes =================================================== */

static void add_funcs(struct wmod *w)
{
    static const char *const names[] = {
        "add", "div", "load", "recurse", "recurse_nocheck", "call_cb",
        "grow", "get_g", "unreachable", "call_tab",
    };
    uint32_t f[10];
    f[0] = mod_func(w, T_II_I, "", CODE(0x20, 0, 0x20, 1, 0x6a, 0x0b));
    f[1] = mod_func(w, T_II_I, "", CODE(0x20, 0, 0x20, 1, 0x6d, 0x0b));
    f[2] = mod_func(w, T_I_I, "", CODE(0x20, 0, 0x28, 2, 0, 0x0b));
    f[3] = mod_func(w, T_V_V, "", CODE(0x10, 4, 0x0b));
    f[4] = mod_func(w, T_V_V, "", CODE(0x10, 5, 0x0b));
    f[5] = mod_func(w, T_I_I, "", CODE(0x20, 0, 0x10, 0, 0x0b));
    f[6] = mod_func(w, T_I_I, "", CODE(0x20, 0, 0x40, 0, 0x0b));
    f[7] = mod_func(w, T_V_I, "", CODE(0x23, 0, 0x0b));
    f[8] = mod_func(w, T_V_V, "", CODE(0x00, 0x0b));
    f[9] = mod_func(w, T_II_I, "",
                    CODE(0x20, 0, 0x20, 0, 0x20, 1, 0x11, T_II_I, 0, 0x0b));
    for (int i = 0; i < 10; i++)
        mod_export(w, names[i], 0x00, f[i]);
}

static void build_wasm(struct wbuf *out)
{
    struct wmod w = {0};
    mod_type(&w, "ii", "i");
    mod_type(&w, "i", "i");
    mod_type(&w, "", "");
    mod_type(&w, "", "i");
    mod_import_func(&w, "env", "callback", T_I_I);
    mod_table(&w, 'F', 2, 10);
    mod_memory(&w, 1, 3);
    mod_global(&w, 'i', true, CODE(0x41, 42, 0x0b));
    add_funcs(&w);
    mod_export(&w, "tab", 0x01, 0);
    mod_export(&w, "mem", 0x02, 0);
    mod_export(&w, "g", 0x03, 0);
    EMIT(mod_item(&w, SEC_ELEMENT), 0x00, 0x41, 0, 0x0b, 2, 1, 2);
    EMIT(mod_item(&w, SEC_DATA), 0x00, 0x41, 16, 0x0b, 5, 'h', 'e', 'l',
         'l', 'o');
    mod_build(&w, out);
}

/* ===== The descriptor =================================================== */

__attribute__((visibility("default")))
struct awsm_module_desc awsm_module_v1;

static struct wbuf wasm_bytes;

__attribute__((constructor)) static void fake_module_init(void)
{
    build_wasm(&wasm_bytes);
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, wasm_bytes.len, wasm_bytes.p);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, awsm_module_v1.hash);
    /* Its wasm is its own metadata: it keeps the code section, which the
     * runtime does not read either way. */
    memcpy(awsm_module_v1.meta_hash, awsm_module_v1.hash, 32);
#ifdef FAKE_BAD_HASH
    awsm_module_v1.meta_hash[0] ^= 1;
#endif
    awsm_module_v1.magic = AWSM_MODULE_MAGIC;
    awsm_module_v1.abi_version = FAKE_ABI_VERSION;
    awsm_module_v1.compiler_version = "fake_module";
    awsm_module_v1.bounds = AWSM_BOUNDS_GUARD;
    awsm_module_v1.wasm = wasm_bytes.p;
    awsm_module_v1.wasm_size = wasm_bytes.len;
    awsm_module_v1.nfuncs = sizeof funcs / sizeof funcs[0];
    awsm_module_v1.ntypes = NTYPES;
    awsm_module_v1.funcs = funcs;
    awsm_module_v1.trampolines = trampolines;
    awsm_module_v1.callconv = AWSM_CALLCONV_C;     /* no adapters */
    awsm_module_v1.mem_reach = AWSM_GUARD_RESERVATION;    /* f_load is bare */
    awsm_module_v1.flags = AWSM_DESC_POLLS;    /* no loops: nothing to poll */
}

__attribute__((destructor)) static void fake_module_fini(void)
{
    wb_free(&wasm_bytes);
}
