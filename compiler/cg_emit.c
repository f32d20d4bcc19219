/*
 * compiler/cg_emit.c - the back end: the host target machine, the new pass
 * manager's standard pipelines, the object files (one per part of the
 * module) and their link into a shared object by the system linker
 * (`ld -shared`: the code needs no C runtime start files; memset/memmove
 * resolve against the loading process's libc).
 */
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <llvm-c/Support.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "compiler/cg.h"
#include "compiler/cg_pipeline.h"

extern char **environ;

/* AWSM_LLVM_ARGS passes options to LLVM itself, e.g. "-time-passes". */
static void init_llvm_once(void)
{
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    LLVMInitializeNativeAsmParser();     /* the stack probe is module asm */
    const char *env = getenv("AWSM_LLVM_ARGS");
    if (!env || !*env)
        return;
    static char buf[1024];
    const char *argv[32] = { "awsmc" };
    int argc = 1;
    snprintf(buf, sizeof buf, "%s", env);
    for (char *tok = strtok(buf, " "); tok && argc < 31; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    LLVMParseCommandLineOptions(argc, argv, "awsmc");
}

static char target_id[256];

static void target_id_once(void)
{
    char *triple = LLVMGetDefaultTargetTriple();
    char *cpu = LLVMGetHostCPUName();
    snprintf(target_id, sizeof target_id, "%s/%s", triple, cpu);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
}

const char *cg_target_id(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, target_id_once);
    return target_id;
}

int cg_target_init(struct cg_module *cm)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_llvm_once);

    char *triple = LLVMGetDefaultTargetTriple();
    char *error = NULL;
    LLVMTargetRef target;
    if (LLVMGetTargetFromTriple(triple, &target, &error)) {
        cg_fail(cm, "no LLVM target for %s: %s", triple, error);
        LLVMDisposeMessage(error);
        LLVMDisposeMessage(triple);
        return -1;
    }
    /* The host CPU: awsm compiles for the machine that runs the code. The
     * cache keys code by cache_host_id() (cache/host.c), a hash of the CPUID
     * words LLVM derives `cpu` and `features` from: tune for anything else
     * and that key must change with it. */
    char *cpu = LLVMGetHostCPUName();
    char *features = LLVMGetHostCPUFeatures();
    LLVMCodeGenOptLevel level = cm->opt->opt_level == 0 ? LLVMCodeGenLevelNone
                              : cm->opt->opt_level >= 3 ? LLVMCodeGenLevelAggressive
                              : LLVMCodeGenLevelDefault;
    cm->tm = LLVMCreateTargetMachine(target, triple, cpu, features, level,
                                     LLVMRelocPIC, LLVMCodeModelDefault);
    /* pshufb (swizzle) needs SSSE3; without it cg_simd.c uses generic IR. */
    cm->x86 = strncmp(triple, "x86_64", 6) == 0 && strstr(features, "+ssse3") != NULL;
    LLVMSetTarget(cm->mod, triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(cm->tm);
    LLVMSetModuleDataLayout(cm->mod, td);
    LLVMDisposeTargetData(td);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    LLVMDisposeMessage(triple);
    return 0;
}

int cg_run_passes(struct cg_module *cm, const char *pipeline)
{
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    LLVMErrorRef e = LLVMRunPasses(cm->mod, pipeline, cm->tm, po);
    LLVMDisposePassBuilderOptions(po);
    if (e) {
        char *msg = LLVMGetErrorMessage(e);
        cg_fail(cm, "LLVM optimisation failed: %s", msg);
        LLVMDisposeErrorMessage(msg);
        return -1;
    }
    return 0;
}

/* -O2 and -O3 are LLVM's pipelines cut in two (cg_pipeline.h, which
 * scripts/llvm-pipeline.sh writes from opt's own text of them at
 * configure time): the loops awsm rewrites
 * itself (cg_idiom.c) are rewritten between the module's simplification,
 * which leaves them rotated with their induction variables and invariants
 * found, and the optimisation that vectorises and unrolls them; bounds
 * checks are widened there too (cg_widen.c), once GVN has merged the
 * loads of the memory's size; and 128-bit multiplies written in 32-bit
 * halves become one (cg_mulwide.c). -O1 runs its pipeline whole, then
 * those multiplies and the copy and fill loops. */
int cg_optimize(struct cg_module *cm)
{
    static const char *const early[] = { CG_PIPELINE_O2_EARLY, CG_PIPELINE_O3_EARLY };
    static const char *const late[] = { CG_PIPELINE_O2_LATE, CG_PIPELINE_O3_LATE };
    unsigned level = cm->opt->opt_level > 3 ? 3 : cm->opt->opt_level;
    if (level == 0)
        return cg_run_passes(cm, "function(mem2reg)");
    if (level == 1)
        return cg_run_passes(cm, "default<O1>") || cg_mul_wide(cm) ||
               cg_idiom_loops(cm, false);
    return cg_run_passes(cm, early[level - 2]) || cg_mul_wide(cm) ||
           cg_idiom_loops(cm, true) || cg_widen_checks(cm) ||
           cg_run_passes(cm, late[level - 2]);
}

void cg_part_path(char *buf, size_t size, const char *base, unsigned part)
{
    if (part == 0)
        snprintf(buf, size, "%s", base);
    else
        snprintf(buf, size, "%s.%u", base, part);
}

int cg_write_ir(struct cg_module *cm)
{
    char *error = NULL;
    char path[4200];
    if (cm->opt->emit_llvm == NULL)
        return 0;
    cg_part_path(path, sizeof path, cm->opt->emit_llvm, cm->part);
    if (LLVMPrintModuleToFile(cm->mod, path, &error)) {
        cg_fail(cm, "cannot write %s: %s", path, error);
        LLVMDisposeMessage(error);
        return -1;
    }
    return 0;
}

int cg_emit_object(struct cg_module *cm, const char *obj)
{
    char *error = NULL;
    if (LLVMTargetMachineEmitToFile(cm->tm, cm->mod, obj, LLVMObjectFile, &error)) {
        cg_fail(cm, "cannot emit %s: %s", obj, error);
        LLVMDisposeMessage(error);
        return -1;
    }
    return 0;
}

int cg_link(struct cg_error *err, char *const *objs, unsigned n, const char *out)
{
    const char *ld = getenv("AWSM_LD");
    const char *head[] = { ld && *ld ? ld : "ld", "-shared", "--eh-frame-hdr", "-o", out };
    enum { NHEAD = sizeof head / sizeof *head };
    char **argv = calloc(NHEAD + n + 1, sizeof *argv);
    if (argv == NULL) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return -1;
    }
    memcpy(argv, head, sizeof head);
    memcpy(argv + NHEAD, objs, n * sizeof *objs);
    pid_t pid;
    int status, rc = -1, e = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (e != 0) {
        snprintf(err->msg, sizeof err->msg, "cannot run the linker '%s': %s", argv[0],
                 strerror(e));
        goto out;
    }
    while ((e = waitpid(pid, &status, 0) < 0 ? errno : 0) == EINTR)
        ;
    if (e != 0)
        snprintf(err->msg, sizeof err->msg, "waiting for the linker: %s", strerror(e));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        snprintf(err->msg, sizeof err->msg, "linking %s failed (%s -shared exited with %d)",
                 out, argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    else
        rc = 0;
out:
    free(argv);
    return rc;
}
