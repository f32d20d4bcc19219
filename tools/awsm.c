/*
 * tools/awsm.c - the `awsm` command: argument parsing and messages only.
 *
 *   awsm validate FILE.wasm...     decode and validate modules
 *   awsm wast FILE.wast...         run spec-test scripts
 *
 * Exit status: 0 success, 1 a module or a test failed, 2 usage error.
 */
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "cache/plugin.h"
#include "tools/netcli.h"
#include "tools/tools.h"
#include "wasm/module.h"
#include "wast/wast.h"

#define AWSM_VERSION "0.1.0"

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "usage: awsm <command> [arguments]\n"
    "\n"
    "commands:\n"
    "  run [OPTIONS] FILE.wasm|FILE.so [ARGS...]\n"
    "                           run a WASI command (compiled once, then cached);\n"
    "                           exits with the guest's status, 134 on a trap\n"
    "      --dir HOST[::GUEST]  preopen a host directory (as GUEST)\n"
    "      --env KEY=VALUE      set a guest environment variable\n"
    "      --invoke NAME        call export NAME with ARGS instead of _start\n"
    "      -O0 .. -O3, --bounds=guard|checked, --no-cache, --enable-PROPOSAL\n"
    "      --polls              compile with interrupt polls at loop headers, as\n"
    "                           for awsmrt (nothing interrupts awsm run: off)\n"
    "  compile IN.wasm -o OUT.so [OPTIONS]\n"
    "                           the same as awsmc\n"
    "  validate [-v] FILE.wasm...\n"
    "                           decode and validate modules; silent when all\n"
    "                           are valid, else one message per bad module\n"
    "      -v, --verbose        print a summary line of each valid module\n"
    "      --enable-PROPOSAL    accept a proposal past Wasm 2.0 (see below)\n"
    "  wast [OPTIONS] FILE.wast...\n"
    "                           run WebAssembly spec-test scripts (needs wabt's\n"
    "                           wast2json): compiles and runs every module;\n"
    "                           text-format assertions are skipped\n"
    "      -v, --verbose        also show passing assertions with both messages\n"
    "      --keep-temp          keep wast2json's output and print where it is\n"
    "      -O0 .. -O3           optimisation level of the compiler (default -O2)\n"
    "      --bounds=guard       guard pages catch out-of-bounds accesses (default)\n"
    "      --bounds=checked     an explicit check before each memory access\n"
    "      --timeout=SECONDS    run each file in a child process with this time\n"
    "                           limit (default 120; 0: in-process, no limit)\n"
    "      --enable-PROPOSAL    accept a proposal past Wasm 2.0, and pass the\n"
    "                           same flag to wast2json\n"
    "  help                     show this help\n"
    "\n"
    "proposals, off unless enabled (--enable-NAME, or --enable=NAME,NAME...):\n"
    "  extended-const           i32/i64 add, sub, mul in constant expressions\n"
    "  tail-call                return_call, return_call_indirect\n"
    "  threads                  shared memories, atomics, wait and notify\n"
    "  multi-memory             several memories, a memory index on each access\n"
    "  memory64                 memories with i64 addresses (up to 8 GiB here)\n"
    "  exceptions               exception handling, the legacy proposal: tags,\n"
    "                           try, catch, catch_all, delegate, throw, rethrow\n"
    "  relaxed-simd             always on (the flag is accepted)\n"
    "\n"
    "options:\n"
    "  -h, --help               show this help\n"
    "  --version                show the version\n"
    "\n"
    "environment:\n"
    "  AWSM_CACHE_DIR           the compile cache (default\n"
    "                           $XDG_CACHE_HOME/awsm, else ~/.cache/awsm)\n"
    "  AWSM_COMPILER_PLUGIN     the compiler, loaded only to compile (default\n"
    "                           ../lib/libawsm_compiler.so next to awsm)\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("awsm: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'awsm --help'.\n", stderr);
    return EXIT_USAGE;
}

/* ===== Reading files ==================================================== */


/* ===== awsm validate ==================================================== */

static int validate_one(const char *path, bool verbose, unsigned features)
{
    uint8_t *bytes;
    size_t size;
    int e = wm_read_file(path, &bytes, &size);
    if (e != 0) {
        fprintf(stderr, "awsm: cannot read %s: %s\n", path, strerror(e));
        return -1;
    }
    struct wm_module *m = NULL;
    struct wm_error err;
    int rc = wm_load_features(bytes, size, features, &m, &err);
    free(bytes);                        /* the module keeps its own copy */
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return -1;
    }
    if (verbose) {
        char line[512];
        wm_module_summary(m, line, sizeof line);
        printf("%s: valid: %s\n", path, line);
    }
    wm_module_free(m);
    return 0;
}

/* Options of `awsm validate`: -v, and "--" ending them. Returns the index
 * of the first file, or -1 after a usage error message. */
static int validate_options(int argc, char **argv, bool *verbose,
                            unsigned *features)
{
    int i;
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "--") == 0)
            return i + 1;
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            *verbose = true;
        } else if (!wm_feature_option(argv[i], features)) {
            usage_error("validate: unknown option '%s'", argv[i]);
            return -1;
        }
    }
    return i;
}

static int cmd_validate(int argc, char **argv)
{
    bool verbose = false;
    unsigned features = WM_FEATURES_DEFAULT;
    int first = validate_options(argc, argv, &verbose, &features);
    if (first < 0)
        return EXIT_USAGE;
    if (first >= argc)
        return usage_error("validate: no input files");
    int status = EXIT_SUCCESS;
    for (int i = first; i < argc; i++) {
        if (validate_one(argv[i], verbose, features) != 0)
            status = EXIT_FAIL;
    }
    return status;
}

/* ===== awsm wast ======================================================== */

/* --timeout=SECONDS, at most a day. */
static int parse_seconds(const char *s, unsigned *out)
{
    unsigned long v;
    if (ncli_ulong_parse(s, 0, 86400, &v) != 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Parse the options of `awsm wast`. Returns the index of the first file,
 * or -1 after a usage error message. */
static int wast_options_parse(int argc, char **argv, struct wast_options *opt)
{
    int i;
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "--") == 0)
            return i + 1;
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
            opt->verbose = true;
        else if (strcmp(argv[i], "--keep-temp") == 0)
            opt->keep_temp = true;
        else if (argv[i][1] == 'O' && argv[i][2] >= '0' && argv[i][2] <= '3' &&
                 argv[i][3] == '\0')
            opt->opt_level = (unsigned)(argv[i][2] - '0');
        else if (strcmp(argv[i], "--bounds=guard") == 0)
            opt->bounds_checked = false;
        else if (strcmp(argv[i], "--bounds=checked") == 0)
            opt->bounds_checked = true;
        else if (strncmp(argv[i], "--timeout=", 10) == 0 &&
                 parse_seconds(argv[i] + 10, &opt->timeout) == 0)
            continue;
        else if (wm_feature_option(argv[i], &opt->features))
            continue;
        else {
            usage_error("wast: unknown option '%s'", argv[i]);
            return -1;
        }
    }
    return i;
}

static void print_count(const char *name, const struct wast_count *c)
{
    if (c->passed + c->failed + c->skipped == 0)
        return;
    printf("  %s: ", name);
    if (c->passed + c->failed > 0)
        printf("%lu passed, %lu failed%s", c->passed, c->failed,
               c->skipped > 0 ? ", " : "");
    if (c->skipped > 0)
        printf("%lu skipped", c->skipped);
    putchar('\n');
}

/* Per command type, then the total alone on the last line (scripts and
 * CI read that line). */
static void print_summary(const struct wast_stats *st)
{
    printf("summary by command type:\n");
    for (int k = 0; k < WAST_NKINDS; k++)
        print_count(wast_kind_name(k), &st->kind[k]);
    printf("%lu passed, %lu failed, %lu skipped\n", st->total.passed,
           st->total.failed, st->total.skipped);
}

static int cmd_wast(int argc, char **argv)
{
    struct wast_options opt = {.opt_level = 2, .timeout = 120};
    int first = wast_options_parse(argc, argv, &opt);
    if (first < 0)
        return EXIT_USAGE;
    if (first >= argc)
        return usage_error("wast: no input files");
    /* Every file compiles in a child process: load the compiler once, here. */
    char msg[1024];
    if (cache_compiler_load(msg, sizeof msg) != 0) {
        fprintf(stderr, "awsm wast: %s\n", msg);
        return EXIT_FAIL;
    }
    struct wast_stats st = {0};
    for (int i = first; i < argc; i++) {
        struct wast_error err;
        if (wast_run_file(argv[i], &opt, &st, stdout, &err) == 0)
            continue;
        fflush(stdout);
        fprintf(stderr, "awsm: %s\n", err.msg);
        if (err.fatal)
            break;
    }
    fflush(stdout);
    print_summary(&st);
    return st.total.failed > 0 ? EXIT_FAIL : EXIT_SUCCESS;
}

/* ===== main ============================================================= */

static int cmd_help(int argc, char **argv)
{
    fputs(usage_text, stdout);
    return EXIT_SUCCESS;
}

/* The version, and what the compile cache keys code by. */
static int cmd_version(int argc, char **argv)
{
    const char *host = cache_host_id();
    printf("awsm %s\n", AWSM_VERSION);
    printf("compiler: %s, ABI %u\n", AWSM_COMPILER_VERSION, AWSM_ABI_VERSION);
    printf("host: %s\n", host ? host : "unknown (nothing is cached)");
    return EXIT_SUCCESS;
}

/* `awsm compile`: awsmc with the compiler loaded on demand. */
static int cmd_compile(int argc, char **argv)
{
    static const struct awsmc_compiler plugin = { cache_target_id, cache_compile };
    return awsmc_main(argc, argv, &plugin);
}

/* Subcommands get argv starting at their own name. `run` and `compile`
 * join this table when the compiler and the runtime exist. */
static const struct subcommand {
    const char *name;
    int (*main)(int argc, char **argv);
} subcommands[] = {
    {"run", awsm_run_main},
    {"compile", cmd_compile},
    {"validate", cmd_validate},
    {"wast", cmd_wast},
    {"help", cmd_help},
    {"--help", cmd_help},
    {"-h", cmd_help},
    {"--version", cmd_version},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].main(argc - 1, argv + 1);
    }
    return usage_error("unknown command '%s'", argv[1]);
}
