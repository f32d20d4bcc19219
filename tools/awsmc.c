/*
 * tools/awsmc.c - the `awsmc` command: compile a .wasm module to a native
 * shared object.
 *
 *   awsmc IN.wasm -o OUT.so [-O0|-O1|-O2|-O3] [--bounds=guard|checked]
 *         [--emit-llvm[=FILE]] [-j N]
 *
 * Exit status: 0 success, 1 the module is bad or compiling failed, 2 usage.
 * `awsm compile` is the same command.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/compiler.h"
#include "tools/netcli.h"
#include "tools/tools.h"
#include "wasm/module.h"

static const char usage_text[] =
    "usage: awsmc IN.wasm -o OUT.so [options]\n"
    "\n"
    "options:\n"
    "  -o FILE               the shared object to write (required)\n"
    "  -O0, -O1, -O2, -O3    optimisation level (default -O2)\n"
    "  --bounds=guard        guard pages catch out-of-bounds accesses (default)\n"
    "  --bounds=checked      an explicit bounds check before each access\n"
    "  --emit-llvm[=FILE]    also write the optimised LLVM IR (default OUT.ll)\n"
    "  --enable-PROPOSAL     accept a proposal past Wasm 2.0: extended-const,\n"
    "                        tail-call, threads, multi-memory, memory64,\n"
    "                        exceptions\n"
    "                        (--enable=NAME,NAME... for several; relaxed-simd\n"
    "                        is always on)\n"
    "  -j N, --jobs=N        compile a large module on N threads (default: one\n"
    "                        per CPU; the output is the same for every N)\n"
    "  --no-polls            no interrupt polls at loop headers: faster loops,\n"
    "                        but nothing can preempt or stop a running loop\n"
    "                        (awsmrt refuses such a module)\n"
    "  -h, --help            show this help\n"
    "  --version             show the version\n";

struct args {
    const char *in, *out;
    char llvm_path[4096];
    struct cg_options opt;
};

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "awsmc: %s%s%s\nTry 'awsmc --help'.\n", what,
            arg ? ": " : "", arg ? arg : "");
    return 2;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    bool emit_llvm = false;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "-o") == 0 && i + 1 < argc)
            a->out = argv[++i];
        else if (s[0] == '-' && s[1] == 'O' && s[2] >= '0' && s[2] <= '3' && !s[3])
            a->opt.opt_level = (unsigned)(s[2] - '0');
        else if (strcmp(s, "--bounds=guard") == 0)
            a->opt.bounds = AWSM_BOUNDS_GUARD;
        else if (strcmp(s, "--bounds=checked") == 0)
            a->opt.bounds = AWSM_BOUNDS_CHECKED;
        else if (strcmp(s, "--emit-llvm") == 0)
            emit_llvm = true;
        else if (strcmp(s, "--no-polls") == 0)
            a->opt.polls = false;
        else if (strcmp(s, "-j") == 0 || strncmp(s, "--jobs=", 7) == 0) {
            const char *n = s[1] == 'j' ? (i + 1 < argc ? argv[++i] : "") : s + 7;
            unsigned long jobs;
            if (ncli_ulong_parse(n, 1, 256, &jobs) != 0)
                return usage_error("-j and --jobs take a thread count from 1 to 256", n);
            a->opt.jobs = (unsigned)jobs;
        }
        else if (wm_feature_option(s, &a->opt.features))
            continue;
        else if (strncmp(s, "--emit-llvm=", 12) == 0) {
            emit_llvm = true;
            snprintf(a->llvm_path, sizeof a->llvm_path, "%s", s + 12);
        } else if (s[0] == '-' && s[1])
            return usage_error("unknown option", s);
        else if (a->in)
            return usage_error("more than one input file", s);
        else
            a->in = s;
    }
    if (!a->in)
        return usage_error("no input file", NULL);
    if (!a->out)
        return usage_error("no output file (-o OUT.so)", NULL);
    if (emit_llvm) {
        if (!a->llvm_path[0])
            snprintf(a->llvm_path, sizeof a->llvm_path, "%s.ll", a->out);
        a->opt.emit_llvm = a->llvm_path;
    }
    return 0;
}

/* On a terminal, a large module's compile shows how far it is. */
static void show_progress(void *arg, unsigned done, unsigned total)
{
    if (total < 2)
        return;
    fprintf(stderr, "\r%s: compiled %u of %u parts%s", (const char *)arg, done, total,
            done == total ? "\n" : "");
}

int awsmc_main(int argc, char **argv, const struct awsmc_compiler *c)
{
    struct args a = { .opt = CG_OPTIONS_DEFAULT };
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("%s\ntarget: %s\n", AWSM_COMPILER_VERSION, c->target_id());
        return 0;
    }
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;

    uint8_t *bytes;
    size_t size;
    int e = wm_read_file(a.in, &bytes, &size);
    if (e) {
        fprintf(stderr, "awsmc: cannot read %s: %s\n", a.in, strerror(e));
        return 1;
    }
    struct wm_module *m;
    struct wm_error err;
    rc = wm_load_features(bytes, size, a.opt.features, &m, &err);
    free(bytes);
    if (rc) {
        fprintf(stderr, "%s: %s\n", a.in, err.msg);
        return 1;
    }
    struct cg_error cerr;
    if (isatty(STDERR_FILENO)) {
        a.opt.progress = show_progress;
        a.opt.progress_arg = (void *)a.in;
    }
    rc = c->compile(m, &a.opt, a.out, &cerr);
    wm_module_free(m);
    if (rc) {
        fprintf(stderr, "%s: %s\n", a.in, cerr.msg);
        return 1;
    }
    return 0;
}
