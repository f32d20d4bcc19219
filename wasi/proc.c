/*
 * wasi/proc.c - the process: arguments, environment, randomness, exit,
 * signals and yielding.
 *
 * args_get and environ_get write an array of guest pointers and, at buf,
 * the NUL-terminated strings they point to; the *_sizes_get calls give
 * the count and the bytes those strings need.
 */
#include <errno.h>
#include <sched.h>
#include <sys/random.h>

#include "wasi/internal.h"

/* ===== Arguments and environment ======================================== */

static uint64_t strings_size(char **v, int n)
{
    uint64_t size = 0;
    for (int i = 0; i < n; i++)
        size += strlen(v[i]) + 1;
    return size;
}

static uint32_t strings_sizes_get(wasi_vm *vm, char **v, int n,
                                  uint32_t count_ptr, uint32_t size_ptr)
{
    uint64_t size = strings_size(v, n);
    if (size > UINT32_MAX)
        return WASI_EOVERFLOW;
    uint32_t e = wasi__store_u32(vm, count_ptr, (uint32_t)n);
    return e ? e : wasi__store_u32(vm, size_ptr, (uint32_t)size);
}

static uint32_t strings_get(wasi_vm *vm, char **v, int n, uint32_t ptrs,
                            uint32_t buf)
{
    uint64_t size = strings_size(v, n);
    uint8_t *pp = wasi__mem(vm, ptrs, (uint64_t)n * 4);
    uint8_t *bp = wasi__mem(vm, buf, size);
    if (pp == NULL || bp == NULL)
        return WASI_EFAULT;
    uint32_t at = buf;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        wasi__put_u32(pp + 4 * i, at);
        memcpy(bp + (at - buf), v[i], len);
        at += (uint32_t)len;
    }
    return WASI_ESUCCESS;
}

uint32_t wasi_args_sizes_get(wasi_vm *vm, uint32_t argc, uint32_t size)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    return strings_sizes_get(vm, w->argv, w->argc, argc, size);
}

uint32_t wasi_args_get(wasi_vm *vm, uint32_t argv, uint32_t buf)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    return strings_get(vm, w->argv, w->argc, argv, buf);
}

uint32_t wasi_environ_sizes_get(wasi_vm *vm, uint32_t envc, uint32_t size)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    return strings_sizes_get(vm, w->envp, w->envc, envc, size);
}

uint32_t wasi_environ_get(wasi_vm *vm, uint32_t envp, uint32_t buf)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    return strings_get(vm, w->envp, w->envc, envp, buf);
}

/* ===== Randomness ======================================================= */

/* getrandom(2) returns at most 32 MiB per call, and may be interrupted. */
uint32_t wasi_random_get(wasi_vm *vm, uint32_t buf, uint32_t len)
{
    uint8_t *p = wasi__mem(vm, buf, len);
    if (p == NULL)
        return WASI_EFAULT;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? wasi__errno() : WASI_EIO;
        p += n;
        len -= (uint32_t)n;
    }
    return WASI_ESUCCESS;
}

/* ===== Exit, signals, yield ============================================= */

/* Never exits the host: the code is kept for wasi_exit_code and the guest
 * unwinds like a trap, of the kind that is not an error. */
void wasi_proc_exit(wasi_vm *vm, uint32_t code)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    w->exited = true;
    w->exit_code = (int)code;
    vm->rt->trap(vm, AWSM_TRAP_EXIT);
}

/* Raising a signal in the host on the guest's behalf has no safe meaning. */
uint32_t wasi_proc_raise(wasi_vm *vm, uint32_t sig)
{
    return WASI_ENOSYS;
}

uint32_t wasi_sched_yield(wasi_vm *vm)
{
    struct wasi_ctx *w = wasi__ctx(vm);
    if (w->hooks.yield)
        w->hooks.yield(w->hooks.ud);
    else
        sched_yield();
    return WASI_ESUCCESS;
}
