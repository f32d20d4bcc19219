/*
 * server/request.c - the protocol: a request datagram (JSON, read with
 * jansson) becomes a sandbox; a finished sandbox becomes a reply datagram.
 *
 * Replies are JSON, so guest output that is not valid UTF-8 has each bad
 * byte replaced by U+FFFD. A reply never exceeds SRV_MAX_DATAGRAM: when the
 * output does not fit, stderr and then stdout are cut (at a character
 * boundary) and "truncated" is true.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

/* ===== Requests ========================================================= */

static struct srv_module *module_named(struct srv *srv, const char *name)
{
    for (int i = 0; i < srv->nmods; i++)
        if (strcmp(srv->mods[i].cfg->name, name) == 0)
            return &srv->mods[i];
    return NULL;
}

/* The module the request names must be the one served on this port. */
static int check_module(struct srv *srv, json_t *req, struct srv_module *mod,
                        char *err, size_t errlen)
{
    json_t *m = json_object_get(req, "module");
    if (!json_is_string(m)) {
        snprintf(err, errlen, "malformed request: \"module\" must be a string");
        return -1;
    }
    const char *name = json_string_value(m);
    if (strcmp(name, mod->cfg->name) == 0)
        return 0;
    struct srv_module *other = module_named(srv, name);
    if (other && other->cfg->active)
        snprintf(err, errlen, "module \"%.128s\" is served on port %u, not %u",
                 name, other->cfg->port, mod->cfg->port);
    else
        snprintf(err, errlen, "unknown module: %.128s", name);
    return -1;
}

/* One argument as text: a string, or a number as written in JSON. */
static char *arg_text(json_t *a, size_t i, char *err, size_t errlen)
{
    char buf[64];
    if (json_is_string(a)) {
        if (strlen(json_string_value(a)) != json_string_length(a)) {
            snprintf(err, errlen, "malformed request: \"args\"[%zu] contains a "
                     "NUL character", i);
            return NULL;
        }
        return strdup(json_string_value(a));
    }
    if (json_is_integer(a)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(a));
        return strdup(buf);
    }
    if (json_is_real(a)) {
        snprintf(buf, sizeof buf, "%.17g", json_real_value(a));
        return strdup(buf);
    }
    snprintf(err, errlen, "malformed request: \"args\"[%zu] must be a string "
             "or a number", i);
    return NULL;
}

struct sb *sb_new(struct srv_module *mod, int nargs)
{
    struct sb *sb = calloc(1, sizeof *sb);
    if (!sb)
        return NULL;
    sb->mod = mod;
    sb->home = -1;
    sb->argv = calloc((size_t)nargs + 2, sizeof *sb->argv);
    if (!sb->argv || !(sb->argv[0] = strdup(mod->cfg->name))) {
        sb_free(sb);
        return NULL;
    }
    sb->argc = 1;
    return sb;
}

/* The number of arguments in the request's "args" (checked against the
 * module's argsize), or -1. */
static int count_args(json_t *req, const struct srv_module *mod, char *err,
                      size_t errlen)
{
    json_t *args = json_object_get(req, "args");
    if (args && !json_is_array(args)) {
        snprintf(err, errlen, "malformed request: \"args\" must be an array");
        return -1;
    }
    size_t n = args ? json_array_size(args) : 0;
    if (n > mod->cfg->argsize) {
        snprintf(err, errlen, "too many arguments: %zu > argsize %u", n,
                 mod->cfg->argsize);
        return -1;
    }
    return (int)n;
}

static int take_args(struct sb *sb, json_t *req, char *err, size_t errlen)
{
    json_t *args = json_object_get(req, "args");
    size_t n = args ? json_array_size(args) : 0;
    for (size_t i = 0; i < n; i++) {
        if (!(sb->argv[sb->argc] = arg_text(json_array_get(args, i), i, err, errlen)))
            return -1;
        sb->argc++;
    }
    return 0;
}

static int take_stdin(struct sb *sb, json_t *req, char *err, size_t errlen)
{
    json_t *in = json_object_get(req, "stdin");
    if (!in)
        return 0;
    if (!json_is_string(in)) {
        snprintf(err, errlen, "malformed request: \"stdin\" must be a string");
        return -1;
    }
    sb->stdin_len = json_string_length(in);
    sb->stdin_buf = malloc(sb->stdin_len + 1);
    if (!sb->stdin_buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(sb->stdin_buf, json_string_value(in), sb->stdin_len);
    return 0;
}

struct sb *sb_request_parse(struct srv *srv, const char *buf, size_t len,
                            struct srv_module *mod, char *err, size_t errlen)
{
    json_error_t je;
    json_t *req = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!req) {
        snprintf(err, errlen, "malformed request: %s (at byte %d)", je.text,
                 je.position);
        return NULL;
    }
    struct sb *sb = NULL;
    int nargs = -1;
    if (!json_is_object(req))
        snprintf(err, errlen, "malformed request: expected a JSON object");
    else if (check_module(srv, req, mod, err, errlen) == 0 &&
             (nargs = count_args(req, mod, err, errlen)) >= 0 &&
             (sb = sb_new(mod, nargs)) == NULL)
        snprintf(err, errlen, "out of memory");
    if (sb) {
        if (take_args(sb, req, err, errlen) != 0 ||
            take_stdin(sb, req, err, errlen) != 0) {
            sb_free(sb);
            sb = NULL;
        }
    }
    json_decref(req);
    return sb;
}

uint64_t sb_queued_ns(const struct sb *sb)
{
    uint64_t start = sb->t_start ? sb->t_start : sb->t_end;
    return start > sb->t_arrive ? start - sb->t_arrive : 0;
}

uint64_t sb_elapsed_ns(const struct sb *sb)
{
    return sb->t_start && sb->t_end > sb->t_start ? sb->t_end - sb->t_start : 0;
}

void sb_free(struct sb *sb)
{
    if (!sb)
        return;
    rt_instance_free(sb->done_inst);    /* before the WASI context it uses */
    for (int i = 0; sb->argv && sb->argv[i]; i++)
        free(sb->argv[i]);
    free(sb->argv);
    free(sb->stdin_buf);
    free(sb->env);                      /* its strings are in the block */
    if (sb->wasi)
        wasi_ctx_free(sb->wasi);
    free(sb);
}

/* ===== Replies ========================================================== */

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    if (p[0] < 0x80)
        return 1;
    size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || len > n || p[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    uint32_t c = p[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++)
        c = c << 6 | (p[i] & 0x3f);
    if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c < 0xe000))) ||
        (len == 4 && (c < 0x10000 || c > 0x10ffff)))
        return 0;
    return len;
}

/* The first n bytes of p as valid UTF-8 (bad bytes become U+FFFD), cut
 * only between characters. */
static json_t *utf8_string(const uint8_t *p, size_t n)
{
    char *s = malloc(n * 3 + 1);
    size_t o = 0;
    if (!s)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0) {
            memcpy(s + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(s + o, p + i, k);
            o += k;
            i += k;
        }
    }
    json_t *j = json_stringn_nocheck(s, o);
    free(s);
    return j;
}

/* The captured output of a sandbox (empty when it never had a context). */
struct output {
    const uint8_t *p;
    size_t len;
    bool truncated;
};

static struct output captured(const struct sb *sb, int fd)
{
    struct output o = { (const uint8_t *)"", 0, false };
    const uint8_t *p = sb->wasi ? wasi_captured(sb->wasi, fd, &o.len, &o.truncated)
                                : NULL;
    if (p)
        o.p = p;
    else
        o.len = 0;
    return o;
}

static json_t *reply_json(const struct sb *sb, const struct output *out,
                          const struct output *err, bool truncated)
{
    json_t *r = json_object();
    json_object_set_new(r, "status", json_string(sb->outcome == SB_OK ? "ok" : "error"));
    json_object_set_new(r, "exit_code", sb->has_exit_code ?
                        json_integer(sb->exit_code) : json_null());
    json_object_set_new(r, "stdout", utf8_string(out->p, out->len));
    json_object_set_new(r, "stderr", utf8_string(err->p, err->len));
    json_object_set_new(r, "truncated", json_boolean(truncated));
    json_object_set_new(r, "time_us", json_integer(
        sb->t_end > sb->t_arrive ? (json_int_t)((sb->t_end - sb->t_arrive) / 1000) : 0));
    if (sb->outcome != SB_OK)
        json_object_set_new(r, "error", json_string(sb->error));
    return r;
}

/* Serialise into out; returns the length, or 0 if it does not fit. */
static size_t dump(json_t *r, char *out, size_t cap)
{
    size_t n = r ? json_dumpb(r, out, cap, JSON_COMPACT) : 0;
    json_decref(r);
    return n <= cap ? n : 0;
}

/* Back off to a character boundary. */
static size_t utf8_cut(const uint8_t *p, size_t n)
{
    while (n > 0 && (p[n] & 0xc0) == 0x80)
        n--;
    return n;
}

size_t sb_reply_build(const struct sb *sb, char *out, size_t cap)
{
    struct output o = captured(sb, 1), e = captured(sb, 2);
    bool truncated = o.truncated || e.truncated;
    if (cap > SRV_MAX_DATAGRAM)
        cap = SRV_MAX_DATAGRAM;
    for (int round = 0; round < 64; round++) {
        size_t n = dump(reply_json(sb, &o, &e, truncated), out, cap);
        if (n > 0)
            return n;
        /* Too long: each byte cut shortens the text by at least one. Cut
         * stderr first, then stdout, by a quarter or more each round. */
        truncated = true;
        if (e.len > 0)
            e.len = utf8_cut(e.p, e.len / 2);
        else if (o.len > 0)
            o.len = utf8_cut(o.p, o.len > cap ? cap : o.len * 3 / 4);
        else
            break;
    }
    return 0;
}

size_t srv_error_reply(const char *msg, char *out, size_t cap)
{
    json_t *r = json_object();
    json_object_set_new(r, "status", json_string("error"));
    json_object_set_new(r, "exit_code", json_null());
    json_object_set_new(r, "stdout", json_string(""));
    json_object_set_new(r, "stderr", json_string(""));
    json_object_set_new(r, "truncated", json_false());
    json_object_set_new(r, "error", utf8_string((const uint8_t *)msg, strlen(msg)));
    return dump(r, out, cap);
}
