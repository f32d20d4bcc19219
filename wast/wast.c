/*
 * wast/wast.c - the spec-test harness's driver: .wast -> wast2json ->
 * commands, each dispatched to its check. The checks that need only the
 * decoder and validator (assert_malformed, assert_invalid) are here; the
 * ones that compile and run modules are in exec.c.
 *
 * Stages, in file order: kind names and counting, the temporary
 * directory, running wast2json, reporting, the decoder checks, the
 * dispatch table, and wast_run_file.
 */
#include "wast/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wasm/module.h"

extern char **environ;

#define WAST2JSON_LOG "wast2json.log"
#define LOG_EXCERPT 700             /* bytes of wast2json's stderr shown */

/* ===== Kinds and counts ================================================= */

static const char *const kind_names[WAST_NKINDS] = {
    [WAST_KIND_MODULE] = "module",
    [WAST_KIND_MALFORMED_BINARY] = "assert_malformed (binary)",
    [WAST_KIND_MALFORMED_TEXT] = "assert_malformed (text)",
    [WAST_KIND_INVALID] = "assert_invalid",
    [WAST_KIND_INVALID_TEXT] = "assert_invalid (text)",
    [WAST_KIND_UNLINKABLE] = "assert_unlinkable",
    [WAST_KIND_UNINSTANTIABLE] = "assert_uninstantiable",
    [WAST_KIND_REGISTER] = "register",
    [WAST_KIND_ACTION] = "action",
    [WAST_KIND_RETURN] = "assert_return",
    [WAST_KIND_TRAP] = "assert_trap",
    [WAST_KIND_EXHAUSTION] = "assert_exhaustion",
    [WAST_KIND_EXCEPTION] = "assert_exception",
    [WAST_KIND_OTHER] = "other",
    [WAST_KIND_FILE] = "wast file (could not run)",
};

const char *wast_kind_name(enum wast_kind k)
{
    if ((unsigned)k >= WAST_NKINDS)
        return "?";
    return kind_names[k];
}

static void count_add(struct wast_count *c, enum outcome out)
{
    if (out == OUT_PASS)
        c->passed++;
    else if (out == OUT_FAIL)
        c->failed++;
    else
        c->skipped++;
}

static void count(struct wast_file *f, enum wast_kind k, enum outcome out)
{
    count_add(&f->stats.total, out);
    count_add(&f->stats.kind[k], out);
}

static void count_sum(struct wast_count *sum, const struct wast_count *c)
{
    sum->passed += c->passed;
    sum->failed += c->failed;
    sum->skipped += c->skipped;
}

static void stats_sum(struct wast_stats *sum, const struct wast_stats *s)
{
    count_sum(&sum->total, &s->total);
    for (int k = 0; k < WAST_NKINDS; k++)
        count_sum(&sum->kind[k], &s->kind[k]);
}

/* ===== Errors =========================================================== */

__attribute__((format(printf, 3, 4)))
static int set_error(struct wast_error *err, bool fatal, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->fatal = fatal;
    return -1;
}

int wast_path_join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* ===== Temporary directory ============================================== */

static int temp_dir_make(struct wast_file *f, struct wast_error *err)
{
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    if (wast_path_join(f->dir, tmp, "awsm-wast-XXXXXX") != 0)
        return set_error(err, true, "TMPDIR is too long: %s", tmp);
    if (mkdtemp(f->dir) == NULL) {
        int e = errno;
        char tried[PATH_MAX];
        memcpy(tried, f->dir, sizeof tried);
        f->dir[0] = '\0';
        return set_error(err, true, "cannot create a temporary directory %s: %s",
                         tried, strerror(e));
    }
    return 0;
}

/* Remove the directory and the files in it (wast2json writes no
 * subdirectories). Best effort: a leftover file is no reason to fail. */
static void temp_dir_remove(struct wast_file *f)
{
    DIR *d = opendir(f->dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                unlinkat(dirfd(d), e->d_name, 0);
        }
        closedir(d);
    }
    rmdir(f->dir);
}

static void temp_dir_finish(struct wast_file *f)
{
    if (f->dir[0] == '\0')
        return;
    if (f->opt->keep_temp)
        fprintf(f->report, "%s: kept temporary files in %s\n", f->path, f->dir);
    else
        temp_dir_remove(f);
}

/* ===== Reading files ==================================================== */


/* ===== Running wast2json ================================================ */

/* The start of wast2json's stderr, without trailing newlines. */
static void log_excerpt(const struct wast_file *f, char *out, size_t cap)
{
    char log[PATH_MAX];
    uint8_t *bytes;
    size_t len;
    out[0] = '\0';
    if (wast_path_join(log, f->dir, WAST2JSON_LOG) != 0 || wm_read_file(log, &bytes, &len) != 0)
        return;
    while (len > 0 && (bytes[len - 1] == '\n' || bytes[len - 1] == '\r'))
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(out, bytes, len);
    out[len] = '\0';
    free(bytes);
}

static int spawn_error(const char *prog, int e, struct wast_error *err)
{
    if (e == ENOENT && strcmp(prog, "wast2json") == 0)
        return set_error(err, true,
                         "wast2json not found: install wabt (Debian package wabt)");
    if (e == ENOENT)
        return set_error(err, true, "%s not found", prog);
    return set_error(err, true, "cannot run %s: %s", prog, strerror(e));
}

/* Start `prog --enable-relaxed-simd [--enable-NAME...] PATH -o JSON` with
 * stdin from /dev/null and stdout and stderr into the log file of the
 * temporary directory. */
static int spawn_wast2json(const struct wast_file *f, const char *prog,
                           const char *json, pid_t *pid, struct wast_error *err)
{
    char log[PATH_MAX];
    if (wast_path_join(log, f->dir, WAST2JSON_LOG) != 0)
        return set_error(err, false, "temporary path too long");
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return set_error(err, true, "out of memory");
    int e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (e == 0)
        e = posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC,
                                             0600);
    if (e == 0)
        e = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    /* Relaxed SIMD is text wast2json 1.0.32 only parses when asked; the
     * flag changes nothing for the other files. */
    char flags[8][48];
    char *argv[8 + 6] = {(char *)prog, "--enable-relaxed-simd"};
    int argc = 2, nflags = 0;
    for (unsigned bit = 1; bit != 0 && nflags < 8; bit <<= 1) {
        const char *name = (f->opt->features & bit) && bit != WM_FEATURE_RELAXED_SIMD
                           ? wm_feature_name(bit) : NULL;
        if (name) {
            snprintf(flags[nflags], sizeof flags[0], "--enable-%s", name);
            argv[argc++] = flags[nflags++];
        }
    }
    argv[argc++] = (char *)f->path;
    argv[argc++] = "-o";
    argv[argc++] = (char *)json;
    argv[argc] = NULL;
    if (e == 0)
        e = posix_spawnp(pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return e == 0 ? 0 : spawn_error(prog, e, err);
}

/* Convert the .wast file into JSON; on failure, show wast2json's words. */
static int run_wast2json(const struct wast_file *f, const char *json,
                         struct wast_error *err)
{
    const char *prog = f->opt->wast2json != NULL ? f->opt->wast2json : "wast2json";
    pid_t pid;
    if (spawn_wast2json(f, prog, json, &pid, err) != 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return set_error(err, false, "waiting for %s: %s", prog, strerror(errno));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    char log[LOG_EXCERPT];
    log_excerpt(f, log, sizeof log);
    if (WIFSIGNALED(status))
        return set_error(err, false, "%s killed by signal %d on %s:\n%s", prog,
                         WTERMSIG(status), f->path, log);
    return set_error(err, false, "%s failed on %s (exit status %d):\n%s", prog,
                     f->path, WEXITSTATUS(status), log);
}

/* ===== Reporting ======================================================== */

void wast_report(const struct wast_file *f, const struct wast_cmd *c,
                 const char *fmt, ...)
{
    va_list ap;
    fprintf(f->report, "%s:%lld: %s: ", f->path, c->line, c->type);
    va_start(ap, fmt);
    vfprintf(f->report, fmt, ap);
    va_end(ap);
    fputc('\n', f->report);
}

static const char *expected_text(const struct wast_cmd *c)
{
    return c->text != NULL ? c->text : "";
}

/* What an error kind means, for "(invalid, not malformed)". */
static const char *error_kind_word(enum wm_error_kind k)
{
    switch (k) {
    case WM_ERR_MALFORMED: return "malformed";
    case WM_ERR_INVALID: return "invalid";
    case WM_ERR_LIMIT: return "over a limit";
    case WM_ERR_NOMEM: return "out of memory";
    default: return "harness error";
    }
}

static enum outcome pass(const struct wast_file *f, const struct wast_cmd *c,
                         const struct wm_error *err)
{
    if (f->opt->verbose)
        wast_report(f, c, "ok: expected \"%s\", got: %s", expected_text(c), err->msg);
    return OUT_PASS;
}

static enum outcome fail_loaded(const struct wast_file *f, const struct wast_cmd *c,
                                const char *what)
{
    wast_report(f, c, "expected \"%s\", but the module %s", expected_text(c), what);
    return OUT_FAIL;
}

static enum outcome fail_kind(const struct wast_file *f, const struct wast_cmd *c,
                              const struct wm_error *err, const char *wanted)
{
    wast_report(f, c, "expected \"%s\", but got: %s (%s, not %s)", expected_text(c),
           err->msg, error_kind_word(err->kind), wanted);
    return OUT_FAIL;
}

/* ===== Commands ========================================================= */

/* Load the command's module file with wm_load. Returns 0 when it decoded
 * and validated, else -1 with *err filled; a harness problem (no file
 * name, unreadable file) has kind WM_ERR_NONE, which no check accepts. */
static int load_module(const struct wast_file *f, const struct wast_cmd *c,
                       struct wm_error *err)
{
    memset(err, 0, sizeof *err);
    err->func = -1;
    char path[PATH_MAX];
    if (c->filename == NULL || strchr(c->filename, '/') != NULL ||
        wast_path_join(path, f->dir, c->filename) != 0) {
        snprintf(err->msg, sizeof err->msg, "bad module file name in the JSON");
        return -1;
    }
    uint8_t *bytes;
    size_t size;
    int e = wm_read_file(path, &bytes, &size);
    if (e != 0) {
        snprintf(err->msg, sizeof err->msg, "cannot read %s: %s", c->filename,
                 strerror(e));
        return -1;
    }
    struct wm_module *m = NULL;
    int rc = wm_load_features(bytes, size, f->opt->features, &m, err);
    free(bytes);
    if (rc == 0)
        wm_module_free(m);
    return rc;
}

/* (assert_malformed (module binary ...) "text"): must fail to decode.
 * An implementation limit is an acceptable way to refuse, too. But "zero
 * flag expected": proposals/memory64's copy of binary.wast predates
 * reference types, which made call_indirect's reserved byte a table index
 * in Wasm 2.0, so there a non-zero byte makes the module invalid (an
 * unknown table) rather than malformed: it must be refused, either way. */
static enum outcome cmd_malformed(struct wast_file *f, const struct wast_cmd *c)
{
    struct wm_error err;
    bool obsolete = c->text != NULL && strcmp(c->text, "zero flag expected") == 0;
    if (load_module(f, c, &err) == 0)
        return fail_loaded(f, c, "loaded");
    if (obsolete && err.kind == WM_ERR_INVALID)
        return pass(f, c, &err);
    if (err.kind == WM_ERR_MALFORMED || err.kind == WM_ERR_LIMIT)
        return pass(f, c, &err);
    return fail_kind(f, c, &err, "malformed");
}

/* (assert_invalid (module ...) "text"): must decode, then fail to
 * validate. But "multiple tables": the proposal folders' copies of
 * imports.wast (threads) predate reference types, which Wasm 2.0 merged
 * (core/imports.wast loads those very modules), so there the module must
 * validate instead. */
static enum outcome cmd_invalid(struct wast_file *f, const struct wast_cmd *c)
{
    struct wm_error err;
    bool obsolete = c->text != NULL && strcmp(c->text, "multiple tables") == 0;
    if (load_module(f, c, &err) == 0) {
        if (!obsolete)
            return fail_loaded(f, c, "validated");
        if (f->opt->verbose)
            wast_report(f, c, "ok: expected \"%s\", which Wasm 2.0 allows: validated",
                        expected_text(c));
        return OUT_PASS;
    }
    if (obsolete) {
        wast_report(f, c, "expected \"%s\", which Wasm 2.0 allows, to validate, but "
                    "got: %s", expected_text(c), err.msg);
        return OUT_FAIL;
    }
    if (err.kind == WM_ERR_INVALID)
        return pass(f, c, &err);
    return fail_kind(f, c, &err, "invalid");
}

typedef enum outcome (*cmd_fn)(struct wast_file *f, const struct wast_cmd *c);

/* The dispatch table: one row per command type of wast2json. Commands on
 * text modules are always skipped (awsm has no text parser) and counted
 * under `text_kind`. */
static const struct cmd_entry {
    const char *type;
    enum wast_kind kind, text_kind;
    cmd_fn run;
} cmd_table[] = {
    {"module", WAST_KIND_MODULE, WAST_KIND_MODULE, wast_cmd_module},
    {"assert_malformed", WAST_KIND_MALFORMED_BINARY, WAST_KIND_MALFORMED_TEXT,
     cmd_malformed},
    {"assert_invalid", WAST_KIND_INVALID, WAST_KIND_INVALID_TEXT, cmd_invalid},
    {"assert_unlinkable", WAST_KIND_UNLINKABLE, WAST_KIND_UNLINKABLE,
     wast_cmd_unlinkable},
    {"assert_uninstantiable", WAST_KIND_UNINSTANTIABLE, WAST_KIND_UNINSTANTIABLE,
     wast_cmd_uninstantiable},
    {"register", WAST_KIND_REGISTER, WAST_KIND_REGISTER, wast_cmd_register},
    {"action", WAST_KIND_ACTION, WAST_KIND_ACTION, wast_cmd_action},
    {"assert_return", WAST_KIND_RETURN, WAST_KIND_RETURN, wast_cmd_return},
    {"assert_trap", WAST_KIND_TRAP, WAST_KIND_TRAP, wast_cmd_trap},
    {"assert_exhaustion", WAST_KIND_EXHAUSTION, WAST_KIND_EXHAUSTION,
     wast_cmd_trap},
    {"assert_exception", WAST_KIND_EXCEPTION, WAST_KIND_EXCEPTION,
     wast_cmd_exception},
};

static const struct cmd_entry *cmd_lookup(const char *type)
{
    for (size_t i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++) {
        if (strcmp(cmd_table[i].type, type) == 0)
            return &cmd_table[i];
    }
    return NULL;
}

static void cmd_parse(json_t *j, struct wast_cmd *c)
{
    c->json = j;
    c->type = json_string_value(json_object_get(j, "type"));
    c->line = json_integer_value(json_object_get(j, "line"));
    c->filename = json_string_value(json_object_get(j, "filename"));
    c->module_type = json_string_value(json_object_get(j, "module_type"));
    c->text = json_string_value(json_object_get(j, "text"));
}

static void cmd_run(struct wast_file *f, json_t *j)
{
    struct wast_cmd c;
    cmd_parse(j, &c);
    if (c.type == NULL) {
        c.type = "?";
        wast_report(f, &c, "command without a type in the JSON");
        count(f, WAST_KIND_OTHER, OUT_FAIL);
        return;
    }
    const struct cmd_entry *e = cmd_lookup(c.type);
    if (e == NULL) {
        count(f, WAST_KIND_OTHER, OUT_SKIP);
        return;
    }
    bool text = c.module_type != NULL && strcmp(c.module_type, "text") == 0;
    if (text) {
        count(f, text ? e->text_kind : e->kind, OUT_SKIP);
        return;
    }
    count(f, e->kind, e->run(f, &c));
}

/* ===== Files ============================================================ */

/* "dir/i32.wast" -> "i32" into out[NAME_MAX + 1]. */
static void base_name(const char *path, char *out)
{
    const char *slash = strrchr(path, '/');
    const char *b = slash != NULL ? slash + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && strcmp(b + n - 5, ".wast") == 0)
        n -= 5;
    if (n == 0 || n > NAME_MAX - 16) {     /* room for ".123456.wasm" */
        b = "test";
        n = 4;
    }
    memcpy(out, b, n);
    out[n] = '\0';
}

static int run_json(struct wast_file *f, const char *json, struct wast_error *err)
{
    json_error_t je;
    /* Export and import names may contain NUL (names.wast). */
    json_t *root = json_load_file(json, JSON_ALLOW_NUL, &je);
    if (root == NULL)
        return set_error(err, false, "%s: cannot read wast2json's output: line %d: %s",
                         f->path, je.line, je.text);
    json_t *cmds = json_object_get(root, "commands");
    if (!json_is_array(cmds)) {
        json_decref(root);
        return set_error(err, false, "%s: wast2json's output has no command list",
                         f->path);
    }
    if (wast_exec_init(f) != 0) {
        json_decref(root);
        return set_error(err, true, "out of memory for the spectest module");
    }
    size_t i;
    json_t *cmd;
    json_array_foreach(cmds, i, cmd)
        cmd_run(f, cmd);
    wast_exec_free(f);
    json_decref(root);
    return 0;
}

static int convert_and_run(struct wast_file *f, struct wast_error *err)
{
    char name[NAME_MAX + 1], json[PATH_MAX];
    base_name(f->path, name);
    strcat(name, ".json");
    if (wast_path_join(json, f->dir, name) != 0)
        return set_error(err, false, "temporary path too long");
    if (run_wast2json(f, json, err) != 0)
        return -1;
    return run_json(f, json, err);
}

/* ===== Isolation ======================================================== */

/* What a child process sends back through its pipe. */
struct child_result {
    int rc;
    struct wast_stats stats;
    struct wast_error err;
};

static void write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t k = write(fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

static size_t read_all(int fd, void *p, size_t n)
{
    char *s = p;
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, s + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return got;
}

static __attribute__((noreturn)) void child_run(struct wast_file *f, int fd)
{
    struct child_result r;
    memset(&r, 0, sizeof r);
    setvbuf(f->report, NULL, _IOLBF, 0);    /* lines survive a crash */
    alarm(f->opt->timeout);
    r.rc = convert_and_run(f, &r.err);
    r.stats = f->stats;
    fflush(f->report);
    write_all(fd, &r, sizeof r);
    _exit(0);
}

static int child_lost(struct wast_file *f, pid_t pid, struct wast_error *err)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return set_error(err, false, "%s: lost its child process", f->path);
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        return set_error(err, false, "%s: timed out after %u s (killed; its "
                         "counts are lost)", f->path, f->opt->timeout);
    if (WIFSIGNALED(status))
        return set_error(err, false, "%s: crashed with signal %d (its counts "
                         "are lost)", f->path, WTERMSIG(status));
    return set_error(err, false, "%s: the child process exited with status %d",
                     f->path, WEXITSTATUS(status));
}

/* Run the file in a child process with a time limit, so that a hang or a
 * crash of compiled code costs this file only. */
static int run_isolated(struct wast_file *f, struct wast_error *err)
{
    int fds[2];
    if (pipe(fds) != 0)
        return set_error(err, true, "pipe: %s", strerror(errno));
    fflush(f->report);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return set_error(err, true, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        child_run(f, fds[1]);
    }
    close(fds[1]);
    struct child_result r;
    size_t got = read_all(fds[0], &r, sizeof r);
    close(fds[0]);
    if (got != sizeof r)
        return child_lost(f, pid, err);
    waitpid(pid, NULL, 0);
    f->stats = r.stats;
    *err = r.err;
    return r.rc;
}

/* ===== Running a file =================================================== */

int wast_run_file(const char *path, const struct wast_options *opt,
                  struct wast_stats *stats, FILE *report_to,
                  struct wast_error *err)
{
    static const struct wast_options defaults = {0};
    struct wast_file f = {
        .path = path, .opt = opt != NULL ? opt : &defaults, .report = report_to,
    };
    int rc;
    err->fatal = false;
    err->msg[0] = '\0';
    if (access(path, R_OK) != 0)
        rc = set_error(err, false, "cannot read %s: %s", path, strerror(errno));
    else if ((rc = temp_dir_make(&f, err)) == 0) {
        rc = f.opt->timeout != 0 ? run_isolated(&f, err)
                                 : convert_and_run(&f, err);
        temp_dir_finish(&f);
    }
    if (rc != 0)
        count(&f, WAST_KIND_FILE, OUT_FAIL);
    else
        fprintf(f.report, "%s: %lu passed, %lu failed, %lu skipped\n", path,
                f.stats.total.passed, f.stats.total.failed, f.stats.total.skipped);
    stats_sum(stats, &f.stats);
    return rc;
}
