/*
 * server/request.c - the protocol: a request datagram (JSON, read with
 * jansson) becomes a sandbox; a finished sandbox becomes a reply datagram
 * (JSON, written here).
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
    struct sb *sb = calloc(1, sizeof *sb + ((size_t)nargs + 2) * sizeof(char *));
    if (!sb)
        return NULL;
    sb->mod = mod;
    sb->home = -1;
    sb->argv = sb->argv_room;
    sb->argv[0] = mod->cfg->name;       /* not owned: the config outlives it */
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
    if (sb->wasi)
        wasi_ctx_free(sb->wasi);        /* before the stdin it reads */
    for (int i = 1; sb->argv && sb->argv[i]; i++)
        free(sb->argv[i]);              /* argv[0] is the module's name */
    if (sb->argv != sb->argv_room)
        free(sb->argv);
    free(sb->stdin_buf);
    free(sb->env);                      /* its strings are in the block */
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

/* A reply being written: `at` bytes so far into p, or only counted when p
 * is NULL. Replies are written straight into the datagram, in the order and
 * escapes jansson's compact output would have; building them with jansson
 * took more time than the rest of a small request's user-space work. */
struct jw {
    char *p;
    size_t at;
};

static void jw_put(struct jw *w, const char *s, size_t n)
{
    if (w->p)
        memcpy(w->p + w->at, s, n);
    w->at += n;
}

static void jw_str(struct jw *w, const char *s)
{
    jw_put(w, s, strlen(s));
}

static void jw_int(struct jw *w, long long v)
{
    char buf[24], *e = buf + sizeof buf, *q = e;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do
        *--q = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        *--q = '-';
    jw_put(w, q, (size_t)(e - q));
}

/* The JSON form of the character at p[0..k) (k from utf8_seq; 0 for a bad
 * byte, which becomes U+FFFD) into esc; returns its length (at most 6). As
 * jansson: the two-character escapes where JSON has them, \u00XX for the
 * other control characters, everything else as it is. */
static size_t jw_escape(const uint8_t *p, size_t k, char esc[6])
{
    static const char hex[] = "0123456789ABCDEF";
    char named = 0;
    if (k == 0) {
        memcpy(esc, "\xef\xbf\xbd", 3);
        return 3;
    }
    switch (p[0]) {
    case '"': named = '"'; break;
    case '\\': named = '\\'; break;
    case '\b': named = 'b'; break;
    case '\f': named = 'f'; break;
    case '\n': named = 'n'; break;
    case '\r': named = 'r'; break;
    case '\t': named = 't'; break;
    default:
        if (k > 1 || p[0] >= 0x20) {
            memcpy(esc, p, k);
            return k;
        }
        memcpy(esc, "\\u00", 4);
        esc[4] = hex[p[0] >> 4];
        esc[5] = hex[p[0] & 15];
        return 6;
    }
    esc[0] = '\\';
    esc[1] = named;
    return 2;
}

/* The first n bytes of p as the inside of a JSON string, valid UTF-8 (bad
 * bytes become U+FFFD), at most `room` bytes of it: it stops before a
 * character or an escape that would not fit, never inside one. */
static void jw_text(struct jw *w, const uint8_t *p, size_t n, size_t room)
{
    size_t end = w->at + room < w->at ? SIZE_MAX : w->at + room;
    for (size_t i = 0; i < n;) {
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' &&
               p[run] != '\\')
            run++;
        if (run > i) {                  /* plain ASCII, the common case */
            size_t k = run - i < end - w->at ? run - i : end - w->at;
            jw_put(w, (const char *)p + i, k);
            if ((i += k) < run)
                return;
            continue;
        }
        char esc[6];
        size_t k = utf8_seq(p + i, n - i);
        size_t len = jw_escape(p + i, k, esc);
        if (len > end - w->at)
            return;
        jw_put(w, esc, len);
        i += k ? k : 1;
    }
}

/* What a reply says besides the guest's output. */
struct reply {
    bool ok;
    bool has_exit_code;
    int exit_code;
    bool has_time;
    uint64_t time_us;
    const char *error;                  /* NULL: none */
};

static void reply_head(struct jw *w, const struct reply *r)
{
    jw_str(w, r->ok ? "{\"status\":\"ok\",\"exit_code\":" : "{\"status\":\"error\",\"exit_code\":");
    if (r->has_exit_code)
        jw_int(w, r->exit_code);
    else
        jw_str(w, "null");
    jw_str(w, ",\"stdout\":\"");
}

static void reply_tail(struct jw *w, const struct reply *r, bool truncated)
{
    jw_str(w, truncated ? "\",\"truncated\":true" : "\",\"truncated\":false");
    if (r->has_time) {
        jw_str(w, ",\"time_us\":");
        jw_int(w, (long long)r->time_us);
    }
    if (r->error) {
        jw_str(w, ",\"error\":\"");
        jw_text(w, (const uint8_t *)r->error, strlen(r->error), SIZE_MAX);
        jw_str(w, "\"");
    }
    jw_str(w, "}");
}

/* The reply into out[0..cap): its length, or 0 if even empty output would
 * not fit. Output that does not fit is cut, stderr first, then stdout, and
 * "truncated" is true. */
static size_t reply_write(const struct reply *r, const struct output *o,
                          const struct output *e, char *out, size_t cap)
{
    struct jw w = { NULL, 0 };
    reply_head(&w, r);
    jw_str(&w, "\",\"stderr\":\"");
    reply_tail(&w, r, true);
    size_t fixed = w.at;
    w.at = 0;
    jw_text(&w, o->p, o->len, SIZE_MAX);
    size_t need_o = w.at;
    w.at = 0;
    jw_text(&w, e->p, e->len, SIZE_MAX);
    size_t need_o_e = need_o + w.at;
    if (fixed > cap)
        return 0;
    size_t room = cap - fixed;
    bool truncated = o->truncated || e->truncated;
    /* "false" is a byte longer than "true"; a reply that must cut keeps
     * one byte less than the room, so that something is always cut. */
    bool fits = need_o_e + (truncated ? 0 : 1) <= room;
    size_t budget = fits ? SIZE_MAX : room > 0 ? room - 1 : 0;
    size_t room_o = need_o < budget ? need_o : budget;
    size_t room_e = budget - room_o;
    w = (struct jw){ out, 0 };
    reply_head(&w, r);
    jw_text(&w, o->p, o->len, room_o);
    jw_str(&w, "\",\"stderr\":\"");
    jw_text(&w, e->p, e->len, room_e);
    reply_tail(&w, r, truncated || !fits);
    return w.at;
}

size_t sb_reply_build(const struct sb *sb, char *out, size_t cap)
{
    struct output o = captured(sb, 1), e = captured(sb, 2);
    struct reply r = {
        .ok = sb->outcome == SB_OK,
        .has_exit_code = sb->has_exit_code,
        .exit_code = sb->exit_code,
        .has_time = true,
        .time_us = sb->t_end > sb->t_arrive ? (sb->t_end - sb->t_arrive) / 1000 : 0,
        .error = sb->outcome == SB_OK ? NULL : sb->error,
    };
    return reply_write(&r, &o, &e, out, cap < SRV_MAX_DATAGRAM ? cap : SRV_MAX_DATAGRAM);
}

size_t srv_error_reply(const char *msg, char *out, size_t cap)
{
    struct output none = { (const uint8_t *)"", 0, false };
    struct reply r = { .ok = false, .error = msg };
    return reply_write(&r, &none, &none, out, cap);
}
