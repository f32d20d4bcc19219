/*
 * wast/internal.h - private to wast/: the state of one .wast file and one
 * command, shared by the harness's files.
 *
 *   wast.c      the driver: wast2json, the command list, dispatch, counts,
 *               and the checks that need only the decoder and validator
 *   exec.c      the checks that compile, instantiate and run modules
 *   spectest.c  the "spectest" host module the suite imports from
 *   values.c    wast2json's value notation: arguments, expectations
 */
#ifndef AWSM_WAST_INTERNAL_H
#define AWSM_WAST_INTERNAL_H

#include <limits.h>

#include <jansson.h>

#include "runtime/runtime.h"
#include "wast/wast.h"

struct wast_exec;

/* One .wast file being run. */
struct wast_file {
    const char *path;               /* as given, for the report */
    const struct wast_options *opt;
    FILE *report;
    char dir[PATH_MAX];             /* temporary directory, "" if none */
    struct wast_stats stats;        /* this file's counts */
    struct wast_exec *exec;         /* runtime state, see exec.c */
};

/* One command of the JSON list, with the fields the checks use. */
struct wast_cmd {
    const char *type;               /* "module", "assert_invalid", ... */
    long long line;                 /* line in the .wast file */
    const char *filename;           /* module file, or NULL */
    const char *module_type;        /* "binary", "text", or NULL */
    const char *text;               /* expected error text, or NULL */
    json_t *json;                   /* the whole command */
};

enum outcome { OUT_PASS, OUT_FAIL, OUT_SKIP };

/* "FILE:LINE: TYPE: message" on the report. */
__attribute__((format(printf, 3, 4)))
void wast_report(const struct wast_file *f, const struct wast_cmd *c,
                 const char *fmt, ...);

/* Join dir and name into out[PATH_MAX]; -1 if it does not fit. */
int wast_path_join(char *out, const char *dir, const char *name);

/* ===== exec.c =========================================================== */

/* Create and free the runtime state of a file (spectest host, modules,
 * instances, registrations). Everything lives until wast_exec_free. */
int wast_exec_init(struct wast_file *f);
void wast_exec_free(struct wast_file *f);

enum outcome wast_cmd_module(struct wast_file *f, const struct wast_cmd *c);
enum outcome wast_cmd_register(struct wast_file *f, const struct wast_cmd *c);
enum outcome wast_cmd_action(struct wast_file *f, const struct wast_cmd *c);
enum outcome wast_cmd_return(struct wast_file *f, const struct wast_cmd *c);
enum outcome wast_cmd_trap(struct wast_file *f, const struct wast_cmd *c);
enum outcome wast_cmd_exception(struct wast_file *f, const struct wast_cmd *c);
enum outcome wast_cmd_unlinkable(struct wast_file *f, const struct wast_cmd *c);
enum outcome wast_cmd_uninstantiable(struct wast_file *f,
                                     const struct wast_cmd *c);

/* ===== spectest.c ======================================================= */

struct wast_spectest;
struct wast_spectest *wast_spectest_new(void);
void wast_spectest_free(struct wast_spectest *s);
/* Resolve an import of "spectest"; -1 if it has no such field. */
int wast_spectest_find(struct wast_spectest *s, const struct wm_name *name,
                       struct rt_extern *out);

/* ===== values.c ========================================================= */

enum wast_match {
    MATCH_EXACT,            /* the same bits (the same reference) */
    MATCH_NAN_CANONICAL,
    MATCH_NAN_ARITHMETIC,
    MATCH_NON_NULL,         /* (ref.func) or (ref.extern) without a value */
};

struct wast_expect {
    wm_valtype type;
    enum wast_match match;
    awsm_value v;
    /* v128: the lanes of the expectation's shape, each matched alone. */
    uint8_t lane_bits, nlanes;
    bool lane_float;
    enum wast_match lane_match[16];
};

enum wast_value_rc { VALUE_OK, VALUE_BAD };

/* {"type": "i32", "value": "42"} as an argument; v128s are
 * {"type": "v128", "lane_type": "i16", "value": ["1", ...]}. */
enum wast_value_rc wast_value_parse(json_t *j, wm_valtype *type,
                                    awsm_value *v);
/* The same, as an expected result (also nan:canonical and friends). */
enum wast_value_rc wast_expect_parse(json_t *j, struct wast_expect *e);
bool wast_expect_match(const struct wast_expect *e, wm_valtype type,
                       awsm_value v);
/* "i32 42", "f32 0x7fc00000 (nan)", "externref 3", "funcref null". */
void wast_value_str(wm_valtype type, awsm_value v, char *buf, size_t size);
void wast_expect_str(const struct wast_expect *e, char *buf, size_t size);
/* A result, v128 in the lanes of the expectation it failed. */
void wast_value_str_as(const struct wast_expect *e, wm_valtype type,
                       awsm_value v, char *buf, size_t size);

#endif
