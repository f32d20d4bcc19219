/*
 * server/config.c - the module registration file, read with jansson and
 * checked once into struct srv_config; nothing else sees JSON.
 *
 * Three kinds of objects are accepted, in a JSON array or written one
 * after another (the original runtime's layout; commas between them
 * tolerated), and may be mixed:
 *   - a module: {"name", "path", "port"} served over UDP on `port`, and
 *     over HTTP at "route" (default "/NAME") when it has an "http-port";
 *   - a SLEdge tenant: {"name", "port", "routes": [ROUTE...]}, each route
 *     {"route", "path", ...} a module named "TENANT/ROUTE" served over
 *     HTTP on the tenant's port (no UDP).
 * Each object is decoded on its own (jansson with JSON_DISABLE_EOF_CHECK
 * reports how far it read; a tenant's routes the same way), which gives
 * the byte span of every object and so the line of every field for
 * messages: "modules.json:7: module "fib": "port" must be an integer
 * 1-65535". Keys awsmrt does not use (SLEdge's scheduling budgets, its
 * request types) are warnings, never errors.
 */
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server/internal.h"

#define MAX_CONFIG_BYTES (16u << 20)
#define MAX_NAME_LEN 128
#define MAX_TIMEOUT_MS (24u * 3600 * 1000)

struct parser {
    const char *file;           /* for messages */
    const char *text;
    size_t len;
    char *dir;                  /* the file's directory, for relative paths */
    size_t obj_start, obj_end;  /* the object being checked */
    const char *mod_name;       /* its name, once known */
    const char *tenant;         /* a route of this tenant is being checked */
    uint16_t tenant_port;
    struct srv_config *cfg;
    struct srv_error *err;
};

/* ===== Positions and messages =========================================== */

static int line_at(const struct parser *p, size_t pos)
{
    int line = 1;
    for (size_t i = 0; i < pos && i < p->len; i++)
        line += p->text[i] == '\n';
    return line;
}

/* The line of `"key":` inside the current object (its first line if the
 * key is not written literally, e.g. with escapes). */
static int key_line(const struct parser *p, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = p->obj_start; i + klen + 2 <= p->obj_end; i++) {
        if (p->text[i] != '"' || memcmp(p->text + i + 1, key, klen) != 0 ||
            p->text[i + 1 + klen] != '"')
            continue;
        size_t j = i + klen + 2;
        while (j < p->obj_end && strchr(" \t\r\n", p->text[j]))
            j++;
        if (j < p->obj_end && p->text[j] == ':')
            return line_at(p, i);
    }
    return line_at(p, p->obj_start);
}

/* The whole server's (internal.h); here, as every fuzz target links this. */
int srv_fail(struct srv_error *err, enum srv_error_kind kind, const char *fmt, ...)
{
    err->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* An error at `line`: "FILE:LINE: module "NAME": ...". */
__attribute__((format(printf, 4, 5)))
static int fail_kind(struct parser *p, enum srv_error_kind kind, int line,
                     const char *fmt, ...)
{
    char *msg = p->err->msg;
    size_t len = sizeof p->err->msg;
    p->err->kind = kind;
    int n = snprintf(msg, len, "%s:%d: ", p->file, line);
    if (p->mod_name && n >= 0 && (size_t)n < len)
        n += snprintf(msg + n, len - n, "module \"%s\": ", p->mod_name);
    if (n >= 0 && (size_t)n < len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg + n, len - n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#define fail_at(p, line, ...) fail_kind(p, SRV_ERR_CONFIG, line, __VA_ARGS__)
#define fail_key(p, key, ...) fail_at(p, key_line(p, key), __VA_ARGS__)
#define nomem_at(p, line) fail_kind(p, SRV_ERR_NOMEM, line, "out of memory")
#define nomem_key(p, key) nomem_at(p, key_line(p, key))

/* A warning at the line of `key`: "FILE:LINE: module "NAME": ...". */
__attribute__((format(printf, 3, 4)))
static int warn_key(struct parser *p, const char *key, const char *fmt, ...)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s:%d: module \"%s\": ", p->file,
                     key_line(p, key), p->mod_name ? p->mod_name : "?");
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof buf)
        vsnprintf(buf + n, sizeof buf - n, fmt, ap);
    va_end(ap);
    char **w = realloc(p->cfg->warnings,
                       (p->cfg->nwarnings + 1) * sizeof *w);
    if (!w)
        return nomem_at(p, 1);
    p->cfg->warnings = w;
    if (!(w[p->cfg->nwarnings] = strdup(buf)))
        return nomem_at(p, 1);
    p->cfg->nwarnings++;
    return 0;
}

/* ===== Fields =========================================================== */

static int get_string(struct parser *p, json_t *obj, const char *key,
                      bool required, char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return fail_at(p, line_at(p, p->obj_start),
                           "missing \"%s\"", key);
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return fail_key(p, key, "\"%s\" must be a non-empty string", key);
    if (!(*out = strdup(json_string_value(v))))
        return nomem_key(p, key);
    return 0;
}

/* An optional integer field in [lo, hi]; *out keeps its default when the
 * key is absent. */
static int get_uint(struct parser *p, json_t *obj, const char *key,
                    uint64_t lo, uint64_t hi, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) < lo ||
        (uint64_t)json_integer_value(v) > hi)
        return fail_key(p, key, "\"%s\" must be an integer %llu-%llu", key,
                        (unsigned long long)lo, (unsigned long long)hi);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* A yes/no key: true, false, "yes" or "no". */
static int get_flag(struct parser *p, json_t *obj, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (s && (strcmp(s, "yes") == 0 || strcmp(s, "no") == 0)) {
        *out = s[0] == 'y';
        return 0;
    }
    return fail_key(p, key, "\"%s\" must be \"yes\", \"no\", true or false", key);
}

/* "dense-memory": the memory is a slot of a shared slab, which needs a
 * small "max-memory-pages" compiled into the code. */
static int get_dense(struct parser *p, json_t *obj, struct srv_module_config *m)
{
    if (get_flag(p, obj, "dense-memory", &m->dense_memory) != 0)
        return -1;
    if (m->dense_memory && (m->max_memory_pages == 0 ||
                            m->max_memory_pages > SRV_MAX_DENSE_PAGES))
        return fail_key(p, "dense-memory", "\"dense-memory\" needs \"max-memory-pages\" "
                        "of 1 to %u (64 MiB)", SRV_MAX_DENSE_PAGES);
    return 0;
}

/* "features": ["extended-const", ...], the proposals past Wasm 2.0 the
 * module may use (wasm/module.h), as `awsm run --enable-NAME`. */
static int get_features(struct parser *p, json_t *obj, struct srv_module_config *m)
{
    json_t *v = json_object_get(obj, "features"), *e;
    size_t i;
    if (!v)
        return 0;
    if (!json_is_array(v))
        return fail_key(p, "features", "\"features\" must be an array of proposal "
                        "names (\"extended-const\")");
    json_array_foreach(v, i, e) {
        unsigned f = json_is_string(e) ? wm_feature_parse(json_string_value(e)) : 0;
        if (f == 0) {
            char known[128] = "";       /* every name wm_feature_parse takes
                                           (the feature bits are 1, 2, 4...) */
            for (unsigned b = 1; b != 0 && wm_feature_name(b); b <<= 1)
                snprintf(known + strlen(known), sizeof known - strlen(known),
                         "%s\"%s\"", known[0] ? ", " : "", wm_feature_name(b));
            return fail_key(p, "features", "\"features\"[%zu]: not a proposal awsmrt "
                            "knows (it knows %s)", i, known);
        }
        m->features |= f;
    }
    return 0;
}

/* A path as given, or joined to the config file's directory. */
static char *resolve_path(const struct parser *p, const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    size_t n = strlen(p->dir) + strlen(path) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", p->dir, path);
    return s;
}

static int get_env(struct parser *p, json_t *obj, struct srv_module_config *m)
{
    json_t *v = json_object_get(obj, "env"), *val;
    const char *k;
    if (!v)
        return 0;
    if (!json_is_object(v))
        return fail_key(p, "env", "\"env\" must be an object of strings");
    m->env = calloc(json_object_size(v) + 1, sizeof *m->env);
    if (!m->env)
        return nomem_key(p, "env");
    json_object_foreach(v, k, val) {
        const char *s = json_string_value(val);
        if (!s || !k[0] || strchr(k, '='))
            return fail_key(p, "env", "\"env\": \"%s\" must be a string and "
                            "its name non-empty without '='", k);
        size_t n = strlen(k) + strlen(s) + 2;
        if (!(m->env[m->nenv] = malloc(n)))
            return nomem_key(p, "env");
        snprintf(m->env[m->nenv++], n, "%s=%s", k, s);
    }
    return 0;
}

/* "dirs": ["HOST", "HOST::GUEST", ...], each an existing directory. */
static int get_dirs(struct parser *p, json_t *obj, struct srv_module_config *m)
{
    json_t *v = json_object_get(obj, "dirs"), *e;
    size_t i;
    if (!v)
        return 0;
    if (!json_is_array(v))
        return fail_key(p, "dirs", "\"dirs\" must be an array of \"HOST[::GUEST]\"");
    size_t n = json_array_size(v);
    m->dir_host = calloc(n + 1, sizeof *m->dir_host);
    m->dir_guest = calloc(n + 1, sizeof *m->dir_guest);
    if (!m->dir_host || !m->dir_guest)
        return nomem_key(p, "dirs");
    json_array_foreach(v, i, e) {
        const char *s = json_string_value(e);
        if (!s || !s[0])
            return fail_key(p, "dirs", "\"dirs\"[%zu] must be a non-empty string", i);
        const char *sep = strstr(s, "::");
        char *host = sep ? strndup(s, sep - s) : strdup(s);
        char *full = host ? resolve_path(p, host) : NULL;
        free(host);
        m->dir_host[m->ndirs] = full;
        m->dir_guest[m->ndirs] = strdup(sep ? sep + 2 : s);
        m->ndirs++;
        if (!full || !m->dir_guest[m->ndirs - 1])
            return nomem_key(p, "dirs");
        struct stat st;
        if (stat(full, &st) != 0 || !S_ISDIR(st.st_mode))
            return fail_key(p, "dirs", "\"dirs\"[%zu]: %s: %s", i, full,
                            stat(full, &st) != 0 ? strerror(errno) : "not a directory");
    }
    return 0;
}

static const char *const module_keys[] = {
    "name", "path", "port", "argsize", "active", "timeout-ms", "stack-size",
    "max-memory-pages", "relative-deadline-us", "env", "dirs", "max-inflight",
    "admissions-percentile", "max-open-files", "dense-memory", "http-port",
    "route", "http-req-size", "http-resp-size", "http-resp-content-type",
    "expected-execution-us", "features", NULL,
};
static const char *const tenant_keys[] = { "name", "port", "routes", NULL };
/* SLEdge's (and the original runtime's) keys that awsmrt has no use for. */
static const char *const unused_keys[] = {
    "http-req-headers", "http-req-content-type", "http-resp-headers",
    "request-type", "replenishment-period-us", "max-budget-us", NULL,
};

static bool key_in(const char *k, const char *const *keys)
{
    for (; *keys; keys++)
        if (strcmp(k, *keys) == 0)
            return true;
    return false;
}

static int warn_unknown_keys(struct parser *p, json_t *obj,
                             const char *const *known)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (key_in(k, known))
            continue;
        if (warn_key(p, k, "%s \"%s\" (ignored)", key_in(k, unused_keys)
                     ? "not used by awsmrt:" : "unknown key", k) != 0)
            return -1;
    }
    return 0;
}

/* A route: "/" and then path characters, no query, spaces or controls. */
static bool route_valid(const char *r)
{
    if (r[0] != '/' || strlen(r) > MAX_NAME_LEN)
        return false;
    for (; *r; r++)
        if ((unsigned char)*r <= ' ' || (unsigned char)*r >= 0x7f ||
            strchr("?#\\\"", *r))
            return false;
    return true;
}

/* "route", "http-resp-content-type": HTTP fields (a tenant's routes have
 * the tenant's port and no UDP one). */
static int check_http(struct parser *p, json_t *obj, struct srv_module_config *m)
{
    if (get_string(p, obj, "route", p->tenant != NULL, &m->route) != 0 ||
        get_string(p, obj, "http-resp-content-type", false, &m->content_type) != 0)
        return -1;                      /* what was set is module_free's */
    if (m->route && !route_valid(m->route))
        return fail_key(p, "route", "\"route\" must start with '/' and hold no "
                        "spaces, '?' or '#' (at most %d bytes)", MAX_NAME_LEN);
    if (!m->route) {
        size_t n = strlen(m->name) + 2;
        if ((m->route = malloc(n)))
            snprintf(m->route, n, "/%s", m->name);
        if (m->route && m->http_port && !route_valid(m->route))
            return fail_key(p, "name", "\"/%s\" is no route (spaces, '?' or '#'): "
                            "give the module a \"route\"", m->name);
    }
    static const char *const http_keys[] = { "route", "http-req-size", "http-resp-size",
                                             "http-resp-content-type" };
    for (int i = 0; !m->http_port && i < 4; i++)
        if (json_object_get(obj, http_keys[i]) &&
            warn_key(p, http_keys[i], "\"%s\" without an \"http-port\" (ignored)",
                     http_keys[i]) != 0)
            return -1;
    if (!m->content_type)
        m->content_type = strdup(SRV_DEFAULT_CONTENT_TYPE);
    if (!m->route || !m->content_type)
        return nomem_at(p, m->line);
    bool printable = strlen(m->content_type) <= MAX_NAME_LEN;
    for (const char *c = m->content_type; *c; c++)
        printable &= (unsigned char)*c >= ' ' && (unsigned char)*c < 0x7f;
    if (!printable)
        return fail_key(p, "http-resp-content-type", "\"http-resp-content-type\" "
                        "must be printable ASCII, at most %d bytes", MAX_NAME_LEN);
    return 0;
}

static int check_numbers(struct parser *p, json_t *obj, struct srv_module_config *m)
{
    uint64_t port = 0, argsize = SRV_DEFAULT_ARGSIZE;
    uint64_t timeout = SRV_DEFAULT_TIMEOUT_MS, stack = SRV_DEFAULT_STACK_SIZE;
    uint64_t pages = 0, deadline = 0, inflight = 0, pct = 0, files = 0;
    uint64_t http_port = p->tenant_port, body = SRV_DEFAULT_MAX_BODY;
    uint64_t resp = SRV_DEFAULT_MAX_RESPONSE, expected = 0;
    if (p->tenant) {
        static const char *const tenant_only[] = { "name", "port", "http-port" };
        for (int i = 0; i < 3; i++)
            if (json_object_get(obj, tenant_only[i]))
                return fail_key(p, tenant_only[i], "a route has no \"%s\" of its own "
                                "(the tenant's is used)", tenant_only[i]);
    } else if (!json_object_get(obj, "port") && !json_object_get(obj, "http-port")) {
        return fail_at(p, line_at(p, p->obj_start), "missing \"port\" (UDP) or "
                       "\"http-port\"");
    }
    if (get_uint(p, obj, "port", 1, 65535, &port) ||
        get_uint(p, obj, "http-port", 1, 65535, &http_port) ||
        get_uint(p, obj, "http-req-size", 0, SRV_MAX_BODY_LIMIT, &body) ||
        get_uint(p, obj, "http-resp-size", 1, SRV_MAX_BODY_LIMIT, &resp) ||
        get_uint(p, obj, "expected-execution-us", 1, UINT32_MAX, &expected) ||
        get_uint(p, obj, "argsize", 0, SRV_MAX_ARGSIZE, &argsize) ||
        get_uint(p, obj, "timeout-ms", 1, MAX_TIMEOUT_MS, &timeout) ||
        get_uint(p, obj, "stack-size", SRV_MIN_STACK_SIZE, SRV_MAX_STACK_SIZE,
                 &stack) ||
        get_uint(p, obj, "max-memory-pages", 1, 65536, &pages) ||
        get_uint(p, obj, "relative-deadline-us", 1, UINT32_MAX, &deadline) ||
        get_uint(p, obj, "max-inflight", 1, 1000000, &inflight) ||
        get_uint(p, obj, "admissions-percentile", 1, 99, &pct) ||
        get_uint(p, obj, "max-open-files", 4, 4096, &files))
        return -1;
    m->port = (uint16_t)port;
    m->http_port = (uint16_t)http_port;
    m->max_body = (uint32_t)body;
    m->max_response = (uint32_t)resp;
    m->expected_execution_us = expected;
    m->argsize = (uint32_t)argsize;
    m->timeout_ms = (uint32_t)timeout;
    m->stack_size = (uint32_t)stack;
    m->max_memory_pages = (uint32_t)pages;
    m->relative_deadline_us = deadline;
    m->max_inflight = (uint32_t)inflight;
    m->admissions_percentile = (uint32_t)pct;
    m->max_open_files = (uint32_t)files;
    return 0;
}

/* A duplicate name (any module), UDP port or HTTP route (active modules)
 * is an error. */
static int check_unique(struct parser *p, const struct srv_module_config *m)
{
    for (int i = 0; i < p->cfg->nmodules; i++) {
        const struct srv_module_config *o = &p->cfg->modules[i];
        if (o->active && m->active && m->http_port && o->http_port == m->http_port &&
            strcmp(o->route, m->route) == 0)
            return fail_key(p, p->tenant ? "route" : "http-port", "route %s on HTTP "
                            "port %u already served by module \"%s\" (line %d)",
                            m->route, m->http_port, o->name, o->line);
        if (strcmp(o->name, m->name) == 0)
            return fail_key(p, "name", "name already used by the module at "
                            "line %d", o->line);
        if (o->active && m->active && m->port && o->port == m->port)
            return fail_key(p, "port", "port %u already used by module \"%s\" "
                            "(line %d)", m->port, o->name, o->line);
    }
    return 0;
}

static void module_free(struct srv_module_config *m)
{
    free(m->name);
    free(m->path);
    free(m->route);
    free(m->content_type);
    for (int i = 0; i < m->nenv; i++)
        free(m->env[i]);
    free(m->env);
    for (int i = 0; i < m->ndirs; i++) {
        free(m->dir_host[i]);
        free(m->dir_guest[i]);
    }
    free(m->dir_host);
    free(m->dir_guest);
}

/* SLEdge's spec.json names aWsm's output, NAME.wasm.so, which awsmrt
 * cannot load; when NAME.wasm is beside it, that is compiled instead. */
static int sledge_wasm(struct parser *p, struct srv_module_config *m)
{
    size_t n = strlen(m->path);
    struct stat st;
    if (n < 9 || strcmp(m->path + n - 8, ".wasm.so") != 0)
        return 0;
    m->path[n - 3] = '\0';
    if (stat(m->path, &st) != 0 || !S_ISREG(st.st_mode)) {
        m->path[n - 3] = '.';
        return 0;
    }
    const char *base = strrchr(m->path, '/');
    return warn_key(p, "path", "\"path\": compiling %s, found beside the .so "
                    "named (aWsm's output for SLEdge, which awsmrt cannot load)",
                    base ? base + 1 : m->path);
}

static int check_module(struct parser *p, json_t *obj, struct srv_module_config *m)
{
    char *path = NULL;
    p->mod_name = NULL;
    m->line = line_at(p, p->obj_start);
    m->active = true;
    if (!json_is_object(obj))
        return fail_at(p, m->line, p->tenant ? "expected a route object"
                                              : "expected a module object");
    if (p->tenant) {
        char *route = NULL;
        if (get_string(p, obj, "route", true, &route) != 0)
            return -1;
        size_t n = strlen(p->tenant) + strlen(route) + 1;
        if ((m->name = malloc(n)))
            snprintf(m->name, n, "%s%s", p->tenant, route);
        free(route);
        if (!m->name)
            return nomem_key(p, "route");
    } else if (get_string(p, obj, "name", true, &m->name) != 0) {
        return -1;
    }
    if (!p->tenant && strlen(m->name) > MAX_NAME_LEN)
        return fail_key(p, "name", "\"name\" is longer than %d bytes", MAX_NAME_LEN);
    p->mod_name = m->name;
    if (get_string(p, obj, "path", true, &path) != 0)
        return -1;
    m->path = resolve_path(p, path);
    free(path);
    if (!m->path || sledge_wasm(p, m) != 0)
        return nomem_key(p, "path");
    if (check_numbers(p, obj, m) || get_flag(p, obj, "active", &m->active) ||
        get_dense(p, obj, m) || get_features(p, obj, m) || check_http(p, obj, m) ||
        get_env(p, obj, m) || get_dirs(p, obj, m) ||
        warn_unknown_keys(p, obj, module_keys) || check_unique(p, m))
        return -1;
    return 0;
}

/* ===== The file ========================================================= */

static size_t skip_space(const struct parser *p, size_t pos)
{
    while (pos < p->len && p->text[pos] && strchr(" \t\r\n", p->text[pos]))
        pos++;
    return pos;
}

/* The end of the JSON value at pos (strings and nesting followed, not
 * checked: jansson has decoded it already), for the lines of messages. */
static size_t value_end(const struct parser *p, size_t pos)
{
    int depth = 0;
    bool str = false;
    for (; pos < p->len; pos++) {
        char c = p->text[pos];
        if (str) {
            if (c == '\\')
                pos++;
            else if (c == '"')
                str = false;
            if (!str && depth == 0)
                return pos + 1;
            continue;
        }
        if (c == '"')
            str = true;
        else if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']') {
            if (--depth <= 0)
                return pos + 1;
        } else if (depth == 0 && strchr(",] \t\r\n}", c))
            return pos;
    }
    return pos;
}

/* Check the module object `obj`, found at [start, end), and add it. */
static int add_module(struct parser *p, json_t *obj, size_t start, size_t end)
{
    struct srv_module_config *mods = realloc(p->cfg->modules,
        (p->cfg->nmodules + 1) * sizeof *mods);
    if (!mods)
        return nomem_at(p, 1);
    p->cfg->modules = mods;
    struct srv_module_config *m = &mods[p->cfg->nmodules];
    memset(m, 0, sizeof *m);
    p->obj_start = start;
    p->obj_end = end;
    if (check_module(p, obj, m) != 0) {
        module_free(m);
        return -1;
    }
    p->cfg->nmodules++;
    return 0;
}

/* Where the text of the tenant's "routes" array starts its elements
 * (just after its '['), or the tenant's start if it cannot be found. */
static size_t routes_text(const struct parser *p)
{
    for (size_t i = p->obj_start; i + 9 < p->obj_end; i++) {
        if (memcmp(p->text + i, "\"routes\"", 8) != 0)
            continue;
        size_t j = skip_space(p, i + 8);
        if (j < p->obj_end && p->text[j] == ':')
            j = skip_space(p, j + 1);
        if (j < p->obj_end && p->text[j] == '[')
            return j + 1;
    }
    return p->obj_start;
}

/* A SLEdge tenant: its routes are modules served over HTTP on its port. */
static int parse_tenant(struct parser *p, json_t *t)
{
    char *name = NULL;
    uint64_t port = 0;
    json_t *routes = json_object_get(t, "routes");
    int rc = get_string(p, t, "name", true, &name);
    p->mod_name = name;
    if (rc == 0 && (strlen(name) > MAX_NAME_LEN || strchr(name, '/')))
        rc = fail_key(p, "name", "a tenant's \"name\" must be at most %d bytes "
                      "without '/'", MAX_NAME_LEN);
    if (rc == 0 && !json_object_get(t, "port"))
        rc = fail_at(p, line_at(p, p->obj_start), "missing \"port\" (HTTP)");
    if (rc == 0)
        rc = get_uint(p, t, "port", 1, 65535, &port);
    if (rc == 0 && (!json_is_array(routes) || json_array_size(routes) == 0))
        rc = fail_key(p, "routes", "\"routes\" must be a non-empty array of "
                      "route objects");
    if (rc == 0)
        rc = warn_unknown_keys(p, t, tenant_keys);
    size_t tstart = p->obj_start, tend = p->obj_end;
    size_t pos = routes_text(p);
    for (size_t i = 0; rc == 0 && i < json_array_size(routes); i++) {
        pos = skip_space(p, pos);
        size_t end = value_end(p, pos);
        p->tenant = name;
        p->tenant_port = (uint16_t)port;
        rc = add_module(p, json_array_get(routes, i), pos, end);
        p->tenant = NULL;
        p->tenant_port = 0;
        p->mod_name = name;
        p->obj_start = tstart;
        p->obj_end = tend;
        pos = skip_space(p, end);
        if (pos < tend && p->text[pos] == ',')
            pos++;
    }
    p->mod_name = NULL;
    free(name);
    return rc;
}

/* Decode the object at *pos and add it to the configuration: a module,
 * or a tenant's routes. */
static int parse_one(struct parser *p, size_t *pos)
{
    json_error_t je;
    json_t *obj = json_loadb(p->text + *pos, p->len - *pos,
                             JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &je);
    p->mod_name = NULL;
    /* Jansson fails without a word when its lexer's buffer cannot be
     * allocated. */
    if (!obj && je.text[0] == '\0')
        return nomem_at(p, line_at(p, *pos));
    if (!obj)
        return fail_kind(p, json_error_code(&je) == json_error_out_of_memory
                         ? SRV_ERR_NOMEM : SRV_ERR_CONFIG,
                         line_at(p, *pos) + je.line - 1, "%s", je.text);
    size_t start = *pos;
    *pos += je.position;
    p->obj_start = start;
    p->obj_end = *pos;
    int rc = json_is_object(obj) && json_object_get(obj, "routes")
        ? parse_tenant(p, obj) : add_module(p, obj, start, *pos);
    json_decref(obj);
    return rc;
}

static int parse_all(struct parser *p)
{
    size_t pos = skip_space(p, 0);
    bool array = pos < p->len && p->text[pos] == '[';
    if (array)
        pos++;
    for (;;) {
        pos = skip_space(p, pos);
        if (pos >= p->len) {
            if (array)
                return fail_at(p, line_at(p, pos), "expected ']' at the end");
            break;
        }
        if (array && p->text[pos] == ']') {
            pos = skip_space(p, pos + 1);
            if (pos < p->len)
                return fail_at(p, line_at(p, pos), "unexpected text after ']'");
            break;
        }
        if (parse_one(p, &pos) != 0)
            return -1;
        size_t next = skip_space(p, pos);
        if (next < p->len && p->text[next] == ',')
            next++;
        else if (array && (next >= p->len || p->text[next] != ']'))
            return fail_at(p, line_at(p, next), "expected ',' or ']' after "
                           "the module object");
        pos = next;
    }
    if (p->cfg->nmodules == 0)
        return fail_at(p, 1, "no modules registered");
    return 0;
}

int srv_config_parse(const char *name, const char *text, size_t len,
                     struct srv_config *cfg, struct srv_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    char *copy = strdup(name);
    struct parser p = { .file = name, .text = text, .len = len,
                        .dir = copy ? strdup(dirname(copy)) : NULL, .cfg = cfg,
                        .err = err };
    free(copy);
    cfg->file = strdup(name);
    int rc = p.dir && cfg->file ? 0 : nomem_at(&p, 1);
    if (rc == 0 && memchr(text, '\0', len))
        rc = fail_at(&p, line_at(&p, (const char *)memchr(text, '\0', len) - text),
                     "NUL byte in the file");
    if (rc == 0)
        rc = parse_all(&p);
    free(p.dir);
    if (rc != 0)
        srv_config_free(cfg);
    return rc;
}

int srv_config_load(const char *file, struct srv_config *cfg,
                    struct srv_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    FILE *f = fopen(file, "rb");
    if (!f)
        return srv_fail(err, SRV_ERR_CONFIG, "%s: %s", file, strerror(errno));
    char *buf = malloc(MAX_CONFIG_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_CONFIG_BYTES + 1, f) : 0;
    bool bad = !buf || ferror(f) || n > MAX_CONFIG_BYTES;
    fclose(f);
    if (bad) {
        srv_fail(err, !buf ? SRV_ERR_NOMEM : SRV_ERR_CONFIG, "%s: %s", file,
                 !buf ? "out of memory" : n > MAX_CONFIG_BYTES ? "larger than 16 MiB"
                                                               : "read error");
        free(buf);
        return -1;
    }
    int rc = srv_config_parse(file, buf, n, cfg, err);
    free(buf);
    return rc;
}

void srv_config_free(struct srv_config *cfg)
{
    for (int i = 0; i < cfg->nmodules; i++)
        module_free(&cfg->modules[i]);
    free(cfg->modules);
    for (int i = 0; i < cfg->nwarnings; i++)
        free(cfg->warnings[i]);
    free(cfg->warnings);
    free(cfg->file);
    memset(cfg, 0, sizeof *cfg);
}
