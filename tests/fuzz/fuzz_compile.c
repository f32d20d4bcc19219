/*
 * tests/fuzz/fuzz_compile.c - libFuzzer target: the compiler path. Any
 * input that decodes and validates is compiled (guard or checked, -O0 to
 * -O2, chosen by the input's last byte), loaded, instantiated against the
 * spectest module and run: every exported function is called with zero
 * arguments, each under a 200 ms time limit (a watchdog thread interrupts
 * it, as awsmrt's timer does a guest past its deadline).
 *
 * A valid module must compile unless it uses a proposal awsm does not
 * support (the message says "not supported") or passes one of the
 * compiler's implementation limits ("(limit is N)"); any other error,
 * a load or link failure of what the compiler made, or a crash is a
 * finding (abort). Traps, including the time limit, are not.
 *
 * Built by tests/fuzz/run.sh with clang -fsanitize=fuzzer, linked with
 * LLVM (llvm-config-19).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compiler/compiler.h"
#include "runtime/runtime.h"
#include "wasm/module.h"
#include "wast/internal.h"

#define TIME_LIMIT_NS (200 * 1000 * 1000L)
#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ===== The watchdog ==================================================== */

static pthread_mutex_t dog_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dog_cond = PTHREAD_COND_INITIALIZER;
static struct rt_instance *dog_inst;     /* the call being timed, or NULL */
static struct timespec dog_deadline;

static void *watchdog(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&dog_lock);
    for (;;) {
        if (dog_inst == NULL) {
            pthread_cond_wait(&dog_cond, &dog_lock);
        } else if (pthread_cond_timedwait(&dog_cond, &dog_lock, &dog_deadline) != 0 &&
                   dog_inst != NULL) {
            rt_instance_interrupt(dog_inst);
            dog_inst = NULL;
        }
    }
    return NULL;
}

static void dog_start(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, watchdog, NULL) != 0)
        abort();
    pthread_detach(t);
}

static void dog_arm(struct rt_instance *inst)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, dog_start);
    pthread_mutex_lock(&dog_lock);
    clock_gettime(CLOCK_REALTIME, &dog_deadline);
    dog_deadline.tv_nsec += TIME_LIMIT_NS;
    if (dog_deadline.tv_nsec >= 1000000000L) {
        dog_deadline.tv_sec++;
        dog_deadline.tv_nsec -= 1000000000L;
    }
    dog_inst = inst;
    pthread_cond_signal(&dog_cond);
    pthread_mutex_unlock(&dog_lock);
}

static void dog_disarm(void)
{
    pthread_mutex_lock(&dog_lock);
    dog_inst = NULL;
    pthread_cond_signal(&dog_cond);
    pthread_mutex_unlock(&dog_lock);
}

/* ===== Running ========================================================= */

static int resolve(void *ud, const struct wm_import *im, struct rt_extern *out)
{
    if (im->module.len != 8 || memcmp(im->module.str, "spectest", 8) != 0)
        return -1;
    return wast_spectest_find(ud, &im->name, out);
}

static void run_exports(struct rt_instance *inst, const struct wm_module *m)
{
    for (uint32_t i = 0; i < m->nexports; i++) {
        const struct wm_export *e = &m->exports[i];
        struct rt_extern ext;
        struct rt_error err;
        if (e->kind != WM_EXTERN_FUNC ||
            rt_instance_export_n(inst, e->name.str, e->name.len, &ext) != 0)
            continue;
        const struct wm_functype *ft = wm_func_type(m, e->index);
        uint32_t n = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
        awsm_value *args = calloc(n + 1, sizeof *args);
        if (args == NULL)
            abort();
        dog_arm(inst);
        (void)rt_call(inst, ext.u.func, args, &err);
        dog_disarm();
        free(args);
    }
}

static void run(const char *so_path, const struct wm_module *m)
{
    struct rt_module *mod;
    struct rt_instance *inst = NULL;
    struct rt_error err;
    if (rt_module_load(so_path, &mod, &err) != 0) {
        fprintf(stderr, "fuzz_compile: the compiled module does not load: %s\n", err.msg);
        abort();
    }
    struct wast_spectest *spectest = wast_spectest_new();
    if (spectest == NULL)
        abort();
    struct rt_instance_options opt = { .max_memory_pages = 256 };
    if (rt_instance_new(mod, resolve, spectest, &opt, &inst, &err) == 0)
        run_exports(inst, m);
    else if (err.kind != RT_ERR_TRAP && err.kind != RT_ERR_INSTANTIATE &&
             err.kind != RT_ERR_LINK)
        fprintf(stderr, "fuzz_compile: instantiation: %s\n", err.msg);
    rt_instance_free(inst);
    wast_spectest_free(spectest);
    rt_module_free(mod);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char so_path[64];
    struct wm_module *m;
    struct wm_error werr;
    struct cg_error cerr;
    if (size == 0 || size > FUZZ_MAX_INPUT ||
        wm_load_features(data, size, WM_FEATURES_ALL, &m, &werr) != 0)
        return 0;
    if (so_path[0] == '\0')
        snprintf(so_path, sizeof so_path, "/tmp/awsm-fuzz-compile-%d.so", (int)getpid());
    struct cg_options opt = CG_OPTIONS_DEFAULT;
    opt.features = WM_FEATURES_ALL;
    opt.bounds = data[size - 1] & 1 ? AWSM_BOUNDS_CHECKED : AWSM_BOUNDS_GUARD;
    opt.opt_level = (data[size - 1] >> 1) % 3;
    if (cg_compile(m, &opt, so_path, &cerr) != 0) {
        if (strstr(cerr.msg, "not supported") == NULL &&
            strstr(cerr.msg, "(limit is") == NULL) {
            fprintf(stderr, "fuzz_compile: a valid module fails to compile: %s\n", cerr.msg);
            abort();
        }
    } else {
        run(so_path, m);
    }
    unlink(so_path);
    wm_module_free(m);
    return 0;
}
