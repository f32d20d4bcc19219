/*
 * wast/wast.h - the one public header of the wast/ part: the spec-test
 * harness behind `awsm wast`.
 *
 *   struct wast_options opt = {0};
 *   struct wast_stats st = {0};
 *   struct wast_error err;
 *   if (wast_run_file("i32.wast", &opt, &st, stdout, &err) != 0)
 *       fprintf(stderr, "awsm: %s\n", err.msg);
 *
 * A .wast script is converted by wabt's wast2json into a JSON command list
 * and one .wasm (or .wat) file per module, in a fresh temporary directory
 * that is removed afterwards. assert_malformed and assert_invalid are
 * checked against the decoder and validator (only the kind of error is
 * compared: malformed vs invalid; from proposal folders older than
 * reference types, an assert_invalid expecting "multiple tables" must
 * validate, and an assert_malformed expecting "zero flag expected" may be
 * invalid, as Wasm 2.0 says). Every other command compiles its module
 * with the compiler (compiler/compiler.h) into that directory, loads and
 * instantiates it with the runtime (runtime/runtime.h) and runs it:
 * results are compared bit for bit (NaN classes as the spec defines them),
 * traps by their text. Text-format assertions are skipped (they test a
 * text parser, which awsm does not have), and so is everything that runs
 * code in the SIMD files (simd_*.wast) and any command with a v128 value:
 * the compiler does not handle SIMD yet.
 *
 * Naming: wast_ for everything public.
 */
#ifndef AWSM_WAST_WAST_H
#define AWSM_WAST_WAST_H

#include <stdbool.h>
#include <stdio.h>

/* Kinds of commands, counted separately. Text-format variants of the
 * module assertions get their own kind so that the report shows what was
 * really checked. */
enum wast_kind {
    WAST_KIND_MODULE,
    WAST_KIND_MALFORMED_BINARY,
    WAST_KIND_MALFORMED_TEXT,
    WAST_KIND_INVALID,
    WAST_KIND_INVALID_TEXT,
    WAST_KIND_UNLINKABLE,
    WAST_KIND_UNINSTANTIABLE,
    WAST_KIND_REGISTER,
    WAST_KIND_ACTION,
    WAST_KIND_RETURN,
    WAST_KIND_TRAP,
    WAST_KIND_EXHAUSTION,
    WAST_KIND_EXCEPTION,    /* assert_exception (exception handling) */
    WAST_KIND_OTHER,        /* a command type this harness does not know */
    WAST_KIND_FILE,         /* a .wast file that could not be run */
    WAST_NKINDS
};

/* "module", "assert_malformed (binary)", ... */
const char *wast_kind_name(enum wast_kind k);

struct wast_count {
    unsigned long passed, failed, skipped;
};

struct wast_stats {
    struct wast_count total;
    struct wast_count kind[WAST_NKINDS];
};

struct wast_options {
    const char *wast2json;  /* program to run; NULL means "wast2json" */
    bool verbose;           /* also report each checked assertion that
                               passed, with the expected text and ours */
    bool keep_temp;         /* keep the temporary directory and name it */
    unsigned opt_level;     /* compile with -O0..-O3 */
    bool bounds_checked;    /* explicit bounds checks, not guard pages */
    unsigned features;      /* WM_FEATURE_*: proposals the modules may use
                               (wast2json gets --enable-NAME for each) */
    unsigned timeout;       /* seconds: run each file in a child process
                               killed after this long (a crash or a hang
                               then fails that file only); 0: in-process */
};

struct wast_error {
    bool fatal;             /* later files would fail the same way
                               (wast2json missing, no temporary dir) */
    char msg[1024];         /* complete, naming the file where there is
                               one: "cannot read x.wast: No such file..." */
};

/* Run one .wast file. Failure lines and the per-file line
 * ("FILE.wast: P passed, F failed, S skipped") go to `report`; the file's
 * counts are ADDED to *stats (zero it once before the first file).
 * Returns 0 when the file ran (whatever its failures), or -1 when it could
 * not be run at all (unreadable, wast2json missing or failing, bad JSON):
 * then *err says why and one failure of kind WAST_KIND_FILE is counted. */
int wast_run_file(const char *path, const struct wast_options *opt,
                  struct wast_stats *stats, FILE *report,
                  struct wast_error *err);

#endif
