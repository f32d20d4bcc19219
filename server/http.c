/*
 * server/http.c - the HTTP/1.1 front end: listeners, connections, requests
 * in and responses out, all on the workers' loops (receive where it runs,
 * as for UDP). Parsing is nodejs's http_parser (Debian's
 * libhttp-parser-dev, the parser SLEdge uses); everything else, the
 * limits, the timeouts and the responses, is here.
 *
 * Each worker has one listening socket per HTTP port (a SO_REUSEPORT
 * group: the kernel spreads connections over the workers), and a
 * connection stays on the worker that accepted it. A request to a route
 * becomes a sandbox exactly like a UDP request (srv_admit: the same
 * limits, admission control and deadlines): the body is its stdin, the
 * query's `args=a,b` and `arg=x` its arguments, the headers its
 * environment (HTTP_NAME, CGI's convention) and its stdout the response
 * body. A sandbox another worker stole comes back here to be answered
 * (sb->home).
 *
 * A connection runs one request at a time: while its sandbox runs its
 * parser stays paused and what the client sends meanwhile is kept (up to
 * PENDING_MAX, then the connection stops reading), so pipelined requests
 * are answered in order. A client that half-closes still gets its
 * response. Slow or hostile clients: a request must arrive whole within
 * --http-request-timeout-ms of its first byte (408 otherwise), an idle
 * keep-alive connection closes after --http-idle-timeout-ms, a response
 * not taken within the request timeout is dropped, URL plus headers are
 * at most SRV_HTTP_MAX_HEADER bytes (431), a body at most the route's
 * "http-req-size" (413, checked against Content-Length before any of it
 * is read, and as chunks arrive), and connections beyond
 * --max-connections get a 503 and are closed. After an error
 * response the connection is closed gently: the write side first, then
 * what the client still sends is read and dropped for a moment, so that
 * the response is not lost to a reset.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/internal.h"

#define READ_BUFFER_BYTES 65536
#define MAX_HEADERS 100
#define LINGER_MS 1000
#define PENDING_MAX 65536
#define ENV_PREFIX "HTTP_"

/* One HTTP port: its routes, and a listener on each worker. */
struct http_listener {
    uv_tcp_t tcp;
    struct http_port *port;
    struct srv *srv;
    int worker;
    bool open;
    /* Out of memory for a connection: it is accepted into `spare` and
     * closed, since libuv stops listening until a pending connection is
     * accepted. One at a time; another meanwhile waits (`stalled`) until
     * the spare's close is done. */
    uv_tcp_t spare;
    bool spare_busy, stalled;
};

struct http_port {
    uint16_t port;
    bool admin;                         /* --admin-port: admin.c's pages */
    int nroutes;
    struct srv_module **routes;
    struct http_listener *ls;           /* one per worker */
};

/* A worker's connections, and the buffer every read lands in. */
struct http_worker {
    struct http_conn *conns;
    bool stopped;
    char buf[READ_BUFFER_BYTES];
};

struct http {
    int nports;
    struct http_port *ports;
    struct http_port admin;             /* .port 0: none */
    struct http_worker *w;              /* one per worker, then the main
                                           thread's (the admin port) */
    atomic_uint nconns;                 /* open, on all workers */
    /* Bytes held for clients, on all workers: request bodies (until their
     * sandbox is answered), pipelined input, responses not yet sent. Past
     * held_limit new bodies are refused and connections stop reading. */
    _Atomic uint64_t held;
    uint64_t held_limit;
    atomic_uint writing;                /* responses not yet written */
};

enum conn_state {
    CONN_READING,                       /* between requests, or reading one */
    CONN_RUNNING,                       /* its sandbox runs */
    CONN_WRITING,                       /* the response goes out */
    CONN_LINGER,                        /* error sent, write side shut */
    CONN_CLOSED,
};

struct http_conn {
    uv_tcp_t tcp;                       /* first: freeing it frees c */
    uv_timer_t timer;
    uv_write_t write, cont;             /* the response; 100 Continue */
    uv_shutdown_t shutdown;
    http_parser parser;
    struct http_conn *next, *prev;      /* the worker's list */
    struct srv *srv;
    struct http_port *port;
    int worker, handles;                /* handles open (tcp, timer) */
    enum conn_state state;
    bool started;                       /* a byte of the current request */
    bool keep_alive;                    /* after this response */
    bool head;                          /* HEAD: the response without body */
    bool counted;                       /* in nconns */
    /* The request being read. */
    struct srv_module *mod;             /* its route, once known */
    uint32_t max_body;
    struct http_parser_url target;      /* url's parts, once headers end */
    char *url;
    size_t url_len, header_bytes;
    /* Header fields, "NAME\0VALUE\0" one after another in hbuf (the
     * last one terminated in on_headers_complete); hoff[i] is where the
     * name of field i starts, voff[i] its value. */
    char *hbuf;
    size_t hlen, hcap;
    int nheaders;
    uint32_t hoff[MAX_HEADERS], voff[MAX_HEADERS];
    bool in_value;                      /* last callback: a header value */
    bool headers_done;                  /* later fields are trailers: ignored */
    uint8_t *body;
    size_t body_len, body_cap;
    int status;                         /* an error to answer, or 0 */
    char error[512];
    /* Pipelined bytes the parser has not looked at yet: what followed a
     * request in its read, and what arrives while it runs (at most
     * PENDING_MAX; past that the connection stops reading). */
    char *pending;
    size_t pending_len;
    bool reading;                       /* uv_read_start in effect */
    char *out;                          /* the response being written */
    size_t out_len;
    const struct sb *sb;                /* whose response it is, while sent */
};

static const http_parser_settings settings;

static void conn_read_start(struct http_conn *c);
static void conn_next(struct http_conn *c);

/* ===== Bytes held for clients ========================================== */

/* Count n more bytes; false (nothing counted) past the limit, unless
 * `force` (what is already in memory). */
static bool hold(struct http *h, uint64_t n, bool force)
{
    uint64_t was = atomic_fetch_add(&h->held, n);
    if (force || was + n <= h->held_limit)
        return true;
    atomic_fetch_sub(&h->held, n);
    return false;
}

static void release(struct http *h, uint64_t n)
{
    atomic_fetch_sub(&h->held, n);
}

static bool over_limit(const struct http *h)
{
    return atomic_load(&h->held) > h->held_limit;
}

/* ===== Connections ====================================================== */

static void conn_reset_request(struct http_conn *c)
{
    free(c->url);
    free(c->hbuf);
    free(c->body);
    release(c->srv->http, c->body_cap);
    c->url = c->hbuf = NULL;
    c->body = NULL;
    c->url_len = c->header_bytes = c->hlen = c->hcap = c->body_len = c->body_cap = 0;
    c->nheaders = 0;
    c->in_value = c->headers_done = false;
    c->mod = NULL;
    c->status = 0;
    c->error[0] = '\0';
    c->started = false;
}

static void conn_free(struct http_conn *c)
{
    struct http_worker *hw = &c->srv->http->w[c->worker];
    if (c->prev)
        c->prev->next = c->next;
    else
        hw->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->counted)
        atomic_fetch_sub(&c->srv->http->nconns, 1);
    conn_reset_request(c);
    release(c->srv->http, c->pending_len + c->out_len);
    free(c->pending);
    free(c->out);
    free(c);
}

static void conn_closed_cb(uv_handle_t *h)
{
    struct http_conn *c = h->data;
    if (--c->handles == 0)
        conn_free(c);
}

/* Close now. A running sandbox keeps the connection (it is freed when
 * the response is dropped, in http_respond). */
static void conn_close(struct http_conn *c)
{
    if (c->state == CONN_CLOSED)
        return;
    bool running = c->state == CONN_RUNNING;
    c->state = CONN_CLOSED;
    if (running)
        return;
    uv_close((uv_handle_t *)&c->timer, conn_closed_cb);
    uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
}

static void timer_cb(uv_timer_t *t);

static void conn_timer(struct http_conn *c, uint32_t ms)
{
    uv_timer_start(&c->timer, timer_cb, ms, 0);
}

/* ===== Responses ======================================================== */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
    }
}

static void write_cb(uv_write_t *w, int status)
{
    struct http_conn *c = w->data;
    atomic_fetch_sub(&c->srv->http->writing, 1);
    free(c->out);
    release(c->srv->http, c->out_len);
    c->out = NULL;
    c->out_len = 0;
    if (c->state == CONN_CLOSED)
        return;
    if (status < 0 || c->state == CONN_LINGER) {
        if (status < 0)
            conn_close(c);
        return;
    }
    if (!c->keep_alive) {
        conn_close(c);
        return;
    }
    c->state = CONN_READING;
    conn_reset_request(c);
    conn_next(c);
}

/* One line per response (--access-log). */
static void access_line(const struct http_conn *c, int status, size_t len)
{
    char peer[64] = "?";
    struct sockaddr_storage a;
    int alen = sizeof a;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&a, &alen) == 0)
        srv_addr_name((const struct sockaddr *)&a, peer, sizeof peer);
    const struct sb *sb = c->sb;
    srv_log(c->srv, SRV_LOG_INFO, "access: http %s \"%s %.200s\" %d %zu bytes "
            "route %s queue %llu us run %llu us sandbox %llu", peer,
            c->url ? http_method_str(c->parser.method) : "-", c->url ? c->url : "-",
            status, len, c->mod ? c->mod->cfg->name : "-",
            (unsigned long long)(sb ? sb_queued_ns(sb) / 1000 : 0),
            (unsigned long long)(sb ? sb_elapsed_ns(sb) / 1000 : 0),
            (unsigned long long)(sb ? sb->id : 0));
}

static void shutdown_cb(uv_shutdown_t *r, int status)
{
    (void)r;
    (void)status;
}

static char *put(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

static char *put_uint(char *p, uint64_t v)
{
    char t[20];
    int n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while (v /= 10);
    while (n)
        *p++ = t[--n];
    return p;
}

/* Send status, headers and body; the connection closes afterwards unless
 * it is kept alive. Errors close it gently (CONN_LINGER). */
/* RFC 9110's IMF-fixdate of now, "Sun, 06 Nov 1994 08:49:37 GMT" (29
 * characters), formatted once a second per thread; locale-independent. */
static const char *http_date(void)
{
    static __thread char buf[64];           /* 29 used; room for any int */
    static __thread time_t done = -1;
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t now = time(NULL);
    struct tm tm;
    if (now != done && gmtime_r(&now, &tm) != NULL) {
        snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        done = now;
    }
    return buf;
}

static void conn_send(struct http_conn *c, int status, const char *ctype,
                      const char *extra, const void *body, size_t len)
{
    struct http *h = c->srv->http;
    if (!c->port->admin && atomic_load(&c->srv->draining))
        c->keep_alive = false;          /* reconnect elsewhere */
    if (!c->port->admin) {
        srv_count_http(c->srv, c->mod, status);
        if (c->srv->set->access_log)
            access_line(c, status, len);
    }
    const char *why = reason(status), *conn = c->keep_alive ? "" : "Connection: close\r\n";
    extra = extra ? extra : "";
    const char *date = http_date();
    size_t n = sizeof "HTTP/1.1 000 \r\nServer: awsmrt\r\nDate: \r\nContent-Type: \r\n"
               "Content-Length: 18446744073709551615\r\n\r\n" + strlen(why) +
               strlen(date) + strlen(ctype) + strlen(extra) + strlen(conn);
    free(c->out);
    release(h, c->out_len);
    c->out_len = 0;
    if (!(c->out = malloc(n + len))) {
        conn_close(c);
        return;
    }
    char *p = c->out;
    p = put(p, "HTTP/1.1 ");
    p = put_uint(p, (unsigned)status);
    p = put(put(put(p, " "), why), "\r\nServer: awsmrt\r\nDate: ");
    p = put(put(put(put(p, date), "\r\nContent-Type: "), ctype), "\r\nContent-Length: ");
    p = put(put(put(put(put_uint(p, len), "\r\n"), extra), conn), "\r\n");
    n = (size_t)(p - c->out);
    if (c->head)
        len = 0;                        /* the length said, the body not sent */
    if (len)
        memcpy(p, body, len);
    c->out_len = n + len;
    hold(h, c->out_len, true);
    uv_buf_t b = uv_buf_init(c->out, (unsigned)((size_t)n + len));
    c->state = CONN_WRITING;
    c->write.data = c;
    atomic_fetch_add(&h->writing, 1);
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
        atomic_fetch_sub(&h->writing, 1);
        conn_close(c);
        return;
    }
    /* A client that does not take the response is dropped. */
    conn_timer(c, c->srv->set->http_request_timeout_ms);
    if (status >= 400 && !c->keep_alive) {
        c->state = CONN_LINGER;
        c->shutdown.data = c;
        if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, shutdown_cb) == 0) {
            conn_timer(c, LINGER_MS);
            if (!c->reading)
                conn_read_start(c);
        } else {
            conn_close(c);
        }
    }
}

/* An error response: one line of text saying what happened. */
static void conn_error(struct http_conn *c, int status, const char *msg,
                       const char *extra)
{
    char line[640];
    int n = snprintf(line, sizeof line, "%s\n", msg);
    if (n < 0 || (size_t)n >= sizeof line)
        n = (int)sizeof line - 1, line[n - 1] = '\n';
    srv_log(c->srv, SRV_LOG_DEBUG, "HTTP port %u: %d: %s", c->port->port,
            status, msg);
    if (!c->port->admin && !c->sb)
        atomic_fetch_add(&c->srv->rejected, 1);
    conn_send(c, status, "text/plain; charset=utf-8", extra, line, (size_t)n);
}

/* The Allow header of a 405. */
static const char *allow_of(const struct http_conn *c)
{
    return c->status != 405 ? NULL
           : c->port->admin ? "Allow: GET, HEAD\r\n" : "Allow: GET, HEAD, POST\r\n";
}

void http_respond(struct sb *sb)
{
    struct http_conn *c = sb->http;
    sb->http = NULL;
    release(c->srv->http, sb->held);    /* its body: freed with it */
    sb->held = 0;
    if (c->state == CONN_CLOSED) {      /* closed while it ran */
        uv_close((uv_handle_t *)&c->timer, conn_closed_cb);
        uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
        return;
    }
    size_t len = 0;
    bool truncated = false;
    const uint8_t *out = sb->wasi ? wasi_captured(sb->wasi, 1, &len, &truncated) : NULL;
    char msg[700], hdr[64];
    c->sb = sb;
    if (sb->outcome == SB_OK && sb->exit_code == 0 && !truncated) {
        conn_send(c, 200, sb->mod->cfg->content_type, NULL, out, out ? len : 0);
        c->sb = NULL;
        return;
    }
    if (sb->outcome == SB_OK && truncated) {
        snprintf(msg, sizeof msg, "the response is larger than the route's limit "
                 "of %u bytes (\"http-resp-size\")", sb->mod->cfg->max_response);
        conn_error(c, 500, msg, NULL);
    } else if (sb->outcome == SB_OK) {
        snprintf(msg, sizeof msg, "the guest exited with code %d", sb->exit_code);
        snprintf(hdr, sizeof hdr, "X-Awsm-Exit-Code: %d\r\n", sb->exit_code);
        conn_error(c, 500, msg, hdr);
    } else {
        int status = sb->timed_out ? 504
                   : sb->cancelled || sb->budget_refused ? 503 : 500;
        conn_error(c, status, sb->error, NULL);
    }
    c->sb = NULL;
}

unsigned http_connections(const struct srv *srv)
{
    return srv->http ? atomic_load(&srv->http->nconns) : 0;
}

uint64_t http_held(const struct srv *srv)
{
    return srv->http ? atomic_load(&srv->http->held) : 0;
}

unsigned http_writing(const struct srv *srv)
{
    return srv->http ? atomic_load(&srv->http->writing) : 0;
}

/* ===== Requests ========================================================= */

static int hex(int ch)
{
    return isdigit(ch) ? ch - '0' : isxdigit(ch) ? (tolower(ch) - 'a' + 10) : -1;
}

/* Percent-decode s[0..n) ('+' is a space); NULL if malformed or NUL. */
static char *url_decode(const char *s, size_t n)
{
    char *d = malloc(n + 1), *o = d;
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int a, b;
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] != '%') {
            *o++ = s[i];
        } else if (i + 2 < n && (a = hex((unsigned char)s[i + 1])) >= 0 &&
                   (b = hex((unsigned char)s[i + 2])) >= 0 && (a | b)) {
            *o++ = (char)(a << 4 | b);
            i += 2;
        } else {
            free(d);
            return NULL;
        }
    }
    *o = '\0';
    return d;
}

/* Add one argument; -1 with c->error set when there are too many. */
static int add_arg(struct http_conn *c, struct sb *sb, const char *s, size_t n)
{
    if ((uint32_t)sb->argc - 1 >= c->mod->cfg->argsize) {
        snprintf(c->error, sizeof c->error, "too many arguments: more than "
                 "argsize %u", c->mod->cfg->argsize);
        return -1;
    }
    size_t size = ((size_t)sb->argc + 2) * sizeof(char *);
    char **argv = sb->argv == sb->argv_room ? malloc(size) : realloc(sb->argv, size);
    if (argv && sb->argv == sb->argv_room)
        memcpy(argv, sb->argv, size - sizeof(char *));
    if (argv)
        sb->argv = argv;
    char *a = argv ? url_decode(s, n) : NULL;
    if (!a) {
        snprintf(c->error, sizeof c->error, argv ? "malformed query: bad "
                 "percent-encoding in an argument" : "out of memory");
        return -1;
    }
    sb->argv[sb->argc++] = a;
    sb->argv[sb->argc] = NULL;
    return 0;
}

/* The query's arguments: each `arg=X` is one, `args=X,Y` one per
 * comma-separated item, in the order written; other keys are ignored
 * (the guest sees them in QUERY_STRING). */
static int query_args(struct http_conn *c, struct sb *sb, const char *q, size_t n)
{
    const char *end = q + n;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *e = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(e - q));
        size_t klen = eq ? (size_t)(eq - q) : (size_t)(e - q);
        const char *v = eq ? eq + 1 : e;
        if (klen == 3 && memcmp(q, "arg", 3) == 0) {
            if (add_arg(c, sb, v, (size_t)(e - v)) != 0)
                return -1;
        } else if (klen == 4 && memcmp(q, "args", 4) == 0) {
            for (const char *a = v; a <= e;) {
                const char *comma = memchr(a, ',', (size_t)(e - a));
                const char *ae = comma ? comma : e;
                if (add_arg(c, sb, a, (size_t)(ae - a)) != 0)
                    return -1;
                a = ae + 1;
            }
        }
        q = e + 1;
    }
    return 0;
}

static const char *hname(const struct http_conn *c, int i)
{
    return c->hbuf + c->hoff[i];
}

static const char *hvalue(const struct http_conn *c, int i)
{
    return c->hbuf + c->voff[i];
}

/* The guest's environment for the request, in one block (sb->env: the
 * pointers, then the strings): the headers as CGI has them,
 * HTTP_USER_AGENT=..., CONTENT_TYPE, CONTENT_LENGTH (repeated names
 * joined with ", "; names with '_' left out), then REQUEST_METHOD,
 * REQUEST_URI, QUERY_STRING. */
static int request_env(struct http_conn *c, struct sb *sb, const char *query,
                       size_t qlen)
{
    const char *method = http_method_str(c->parser.method);
    /* Every header's name and value at most once, plus ", " joins. */
    size_t bytes = c->hlen + 4 * (size_t)c->nheaders + strlen(ENV_PREFIX) *
                   (size_t)c->nheaders + strlen(method) + c->url_len + qlen + 64;
    int n = c->nheaders + 3;
    char **env = malloc((size_t)n * sizeof *env + bytes), *p;
    if (!env)
        return -1;
    p = (char *)(env + n);
    int k = 0;
    for (int i = 0; i < c->nheaders; i++) {
        /* X_Forwarded_For would pass for X-Forwarded-For: such names are
         * left out, as nginx and Apache do. */
        bool seen = strchr(hname(c, i), '_') != NULL;
        for (int j = 0; j < i; j++)
            seen |= strcasecmp(hname(c, i), hname(c, j)) == 0;
        if (seen)
            continue;
        env[k++] = p;
        bool cgi = strcasecmp(hname(c, i), "content-type") == 0 ||
                   strcasecmp(hname(c, i), "content-length") == 0;
        if (!cgi)
            p = put(p, ENV_PREFIX);
        for (const char *q = hname(c, i); *q; q++)
            *p++ = *q == '-' ? '_' : (char)toupper((unsigned char)*q);
        *p++ = '=';
        for (int j = i, first = 1; j < c->nheaders; j++) {
            if (strcasecmp(hname(c, i), hname(c, j)) != 0)
                continue;
            p = put(p, first ? "" : ", ");
            p = put(p, hvalue(c, j));
            first = 0;
        }
        *p++ = '\0';
    }
    const char *fixed[3][2] = { { "REQUEST_METHOD=", method },
                                { "REQUEST_URI=", c->url }, { "QUERY_STRING=", "" } };
    for (int i = 0; i < 3; i++) {
        env[k++] = p;
        p = put(put(p, fixed[i][0]), fixed[i][1]);
        if (i == 2) {
            memcpy(p, query, qlen);
            p += qlen;
        }
        *p++ = '\0';
    }
    sb->env = env;
    sb->nenv = k;
    return 0;
}

/* The sandbox for a whole request; NULL with c->status and c->error. */
static struct sb *request_sandbox(struct http_conn *c)
{
    const struct http_parser_url *u = &c->target;
    bool has_query = u->field_set & (1 << UF_QUERY);
    const char *query = has_query ? c->url + u->field_data[UF_QUERY].off : "";
    size_t qlen = has_query ? u->field_data[UF_QUERY].len : 0;
    struct sb *sb = sb_new(c->mod, 0);
    c->status = 400;
    if (!sb || query_args(c, sb, query, qlen) != 0 ||
        request_env(c, sb, query, qlen) != 0) {
        if (!c->error[0]) {
            c->status = 500;
            snprintf(c->error, sizeof c->error, "out of memory");
        }
        sb_free(sb);
        return NULL;
    }
    c->status = 0;
    sb->stdin_buf = c->body;
    sb->stdin_len = c->body_len;
    sb->held = c->body_cap;             /* released when it is answered */
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    sb->http = c;
    sb->home = c->worker;
    return sb;
}

static void admin_run(struct http_conn *c)
{
    size_t n = c->target.field_data[UF_PATH].len, len = 0;
    const char *path = c->url + c->target.field_data[UF_PATH].off, *ctype;
    char *body = NULL;
    int status = admin_page(c->srv, path, n, &body, &len, &ctype);
    if (status < 0)
        conn_error(c, 500, "out of memory", NULL);
    else
        conn_send(c, status, ctype, NULL, body, len);
    free(body);
}

/* A whole request has been read: run it, or answer why not. */
static void request_run(struct http_conn *c)
{
    struct srv *srv = c->srv;
    char err[512];
    c->keep_alive = http_should_keep_alive(&c->parser);
    uv_timer_stop(&c->timer);
    if (c->status) {                    /* refused on its headers */
        conn_error(c, c->status, c->error, allow_of(c));
        return;
    }
    if (c->port->admin) {
        admin_run(c);
        return;
    }
    if (srv->http->w[c->worker].stopped) {
        c->keep_alive = false;
        conn_error(c, 503, "shutting down: not accepting requests", NULL);
        return;
    }
    struct sb *sb = request_sandbox(c);
    if (!sb) {
        conn_error(c, c->status, c->error, NULL);
        return;
    }
    c->state = CONN_RUNNING;
    enum srv_refusal why = srv_admit(c->mod, sb, err, sizeof err);
    if (why != SRV_ACCEPTED) {
        c->state = CONN_READING;
        sb->http = NULL;
        release(srv->http, sb->held);
        sb_free(sb);
        conn_error(c, why == SRV_NOT_ADMITTED ? 429 : 503, err, "Retry-After: 1\r\n");
    }
}

/* ===== Parser callbacks ================================================= */

/* Stop parsing with an error response (returned by callbacks). */
static int vreject(struct http_conn *c, int status, const char *fmt, va_list ap)
{
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    c->status = status;
    return -1;
}

static int reject(struct http_conn *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int reject(struct http_conn *c, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreject(c, status, fmt, ap);
    va_end(ap);
    return -1;
}

/* Refuse a request once its headers are known. Without a body the
 * parser goes on to the message's end and request_run answers, so the
 * connection stays usable; with one, parsing stops (reject). */
static int refuse(http_parser *p, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(http_parser *p, int status, const char *fmt, ...)
{
    struct http_conn *c = p->data;
    bool bodiless = !(p->flags & F_CHUNKED) &&
                    (p->content_length == 0 || p->content_length == ULLONG_MAX);
    va_list ap;
    va_start(ap, fmt);
    vreject(c, status, fmt, ap);
    va_end(ap);
    c->max_body = 0;
    return bodiless ? 0 : -1;
}

static int header_budget(struct http_conn *c, size_t n)
{
    c->header_bytes += n;
    if (c->header_bytes > SRV_HTTP_MAX_HEADER)
        return reject(c, 431, "request line and headers larger than %u bytes",
                      SRV_HTTP_MAX_HEADER);
    return 0;
}

static int append(char **s, size_t *len, const char *at, size_t n)
{
    char *t = realloc(*s, *len + n + 1);
    if (!t)
        return -1;
    memcpy(t + *len, at, n);
    *len += n;
    t[*len] = '\0';
    *s = t;
    return 0;
}

static int on_message_begin(http_parser *p)
{
    struct http_conn *c = p->data;
    c->started = true;
    c->head = false;
    conn_timer(c, c->srv->set->http_request_timeout_ms);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = p->data;
    c->head = p->method == HTTP_HEAD;   /* whatever the response, no body */
    if (header_budget(c, n) != 0)
        return -1;
    return append(&c->url, &c->url_len, at, n) == 0 ? 0
           : reject(c, 500, "out of memory");
}

/* Append to hbuf, growing it by doubling. */
static int hbuf_add(struct http_conn *c, const char *at, size_t n)
{
    if (c->hlen + n > c->hcap) {
        size_t cap = c->hcap ? c->hcap : 256;
        while (cap < c->hlen + n)
            cap *= 2;
        char *b = realloc(c->hbuf, cap);
        if (!b)
            return reject(c, 500, "out of memory");
        c->hbuf = b;
        c->hcap = cap;
    }
    memcpy(c->hbuf + c->hlen, at, n);
    c->hlen += n;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = p->data;
    if (header_budget(c, n) != 0 || c->headers_done)
        return c->headers_done && c->status == 0 ? 0 : -1;
    if (c->in_value || c->nheaders == 0) {
        if (c->nheaders == MAX_HEADERS)
            return reject(c, 431, "more than %d header fields", MAX_HEADERS);
        if (c->nheaders > 0 && hbuf_add(c, "", 1) != 0)    /* ends a value */
            return -1;
        c->hoff[c->nheaders] = (uint32_t)c->hlen;
        c->voff[c->nheaders] = UINT32_MAX;
        c->nheaders++;
        c->in_value = false;
    }
    return hbuf_add(c, at, n);
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = p->data;
    if (header_budget(c, n) != 0 || c->headers_done)
        return c->headers_done && c->status == 0 ? 0 : -1;
    if (!c->in_value) {
        if (hbuf_add(c, "", 1) != 0)                        /* ends a name */
            return -1;
        c->voff[c->nheaders - 1] = (uint32_t)c->hlen;
        c->in_value = true;
    }
    return hbuf_add(c, at, n);
}

static struct srv_module *route_of(const struct http_port *port, const char *path,
                                   size_t n)
{
    for (int i = 0; i < port->nroutes; i++) {
        const char *r = port->routes[i]->cfg->route;
        if (strlen(r) == n && memcmp(r, path, n) == 0)
            return port->routes[i];
    }
    return NULL;
}

static void cont_cb(uv_write_t *w, int status)
{
    (void)w;
    (void)status;                       /* a failure shows on the response */
}

static bool expects_continue(const struct http_conn *c)
{
    for (int i = 0; i < c->nheaders; i++)
        if (strcasecmp(hname(c, i), "expect") == 0 &&
            strcasecmp(hvalue(c, i), "100-continue") == 0)
            return true;
    return false;
}

/* The route, the method and the announced body are known: refuse early. */
static int on_headers_complete(http_parser *p)
{
    struct http_conn *c = p->data;
    struct http_parser_url *u = &c->target;
    http_parser_url_init(u);
    c->headers_done = true;             /* a chunked body's trailers follow */
    /* End the last field; a name without a value gets an empty one. */
    if (c->nheaders > 0) {
        if (!c->in_value) {
            if (hbuf_add(c, "", 1) != 0)
                return -1;
            c->voff[c->nheaders - 1] = (uint32_t)c->hlen;
        }
        if (hbuf_add(c, "", 1) != 0)
            return -1;
    }
    if (!c->url || http_parser_parse_url(c->url, c->url_len, 0, u) != 0 ||
        !(u->field_set & (1 << UF_PATH)))
        return reject(c, 400, "malformed request target");
    const char *path = c->url + u->field_data[UF_PATH].off;
    size_t plen = u->field_data[UF_PATH].len;
    if (c->port->admin) {
        c->max_body = 0;
        return p->method == HTTP_GET || p->method == HTTP_HEAD ? 0
               : refuse(p, 405, "method %s not allowed: GET or HEAD",
                        http_method_str(p->method));
    }
    if (!(c->mod = route_of(c->port, path, plen)))
        return refuse(p, 404, "no route %.*s on this port", (int)(plen > 200 ? 200 : plen),
                      path);
    if (p->method != HTTP_GET && p->method != HTTP_HEAD && p->method != HTTP_POST)
        return refuse(p, 405, "method %s not allowed: GET, HEAD or POST",
                      http_method_str(p->method));
    if (!c->mod->rt)
        return refuse(p, 503, "module \"%s\" is not available: it failed to "
                      "load (the server's log says why)", c->mod->cfg->name);
    uint32_t limit = c->max_body = c->mod->cfg->max_body;
    if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
        p->content_length > limit)
        return reject(c, 413, "body of %llu bytes is larger than the route's "
                      "limit of %u", (unsigned long long)p->content_length, limit);
    if (p->http_minor >= 1 && expects_continue(c)) {     /* HTTP/1.1 only */
        static char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_buf_t b = uv_buf_init(cont, sizeof cont - 1);
        /* Queued: it goes out whole, before the response. */
        if (uv_write(&c->cont, (uv_stream_t *)&c->tcp, &b, 1, cont_cb) != 0)
            return reject(c, 500, "cannot answer Expect: 100-continue");
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = p->data;
    uint32_t limit = c->max_body;
    if (c->body_len + n > limit)
        return reject(c, 413, "body larger than the route's limit of %u bytes",
                      limit);
    if (c->body_len + n > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap * 2 : 4096;
        while (cap < c->body_len + n)
            cap *= 2;
        if (cap > limit)
            cap = limit;
        if (!hold(c->srv->http, cap - c->body_cap, false))
            return reject(c, 503, "overloaded: request bodies and responses "
                          "held in memory past the server's limit of %llu MiB, "
                          "try again", (unsigned long long)(c->srv->http->held_limit >> 20));
        uint8_t *b = realloc(c->body, cap);
        if (!b) {
            release(c->srv->http, cap - c->body_cap);
            return reject(c, 500, "out of memory");
        }
        c->body = b;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, at, n);
    c->body_len += n;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    http_parser_pause(p, 1);            /* one request at a time */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ===== Reading ========================================================== */

static void conn_read_stop(struct http_conn *c)
{
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
}

/* Keep bytes for after the current request; past PENDING_MAX the
 * connection stops reading until then. 0, or -1 if it was closed. */
static int pend(struct http_conn *c, const char *buf, size_t len)
{
    char *p = realloc(c->pending, c->pending_len + len);
    if (!p) {
        conn_close(c);
        return -1;
    }
    memcpy(p + c->pending_len, buf, len);
    c->pending = p;
    c->pending_len += len;
    hold(c->srv->http, len, true);
    if (c->pending_len >= PENDING_MAX || over_limit(c->srv->http))
        conn_read_stop(c);
    return 0;
}

/* Parse buf; what follows a complete request stays pending. */
static void conn_parse(struct http_conn *c, const char *buf, size_t len)
{
    size_t used = http_parser_execute(&c->parser, &settings, buf, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (e == HPE_PAUSED) {
        if (used < len && pend(c, buf + used, len - used) != 0)
            return;
        request_run(c);
        return;
    }
    if (e != HPE_OK) {
        c->keep_alive = false;
        conn_read_stop(c);
        if (c->status)
            conn_error(c, c->status, c->error, allow_of(c));
        else
            conn_error(c, e == HPE_HEADER_OVERFLOW ? 431 : 400,
                       e == HPE_HEADER_OVERFLOW ? "headers too large"
                       : http_errno_description(e), NULL);
    }
}

/* After a response: the pipelined bytes first, then the socket. */
static void conn_next(struct http_conn *c)
{
    http_parser_pause(&c->parser, 0);
    conn_timer(c, c->srv->set->http_idle_timeout_ms);
    while (c->state == CONN_READING && c->pending) {
        char *buf = c->pending;
        size_t len = c->pending_len;
        c->pending = NULL;
        c->pending_len = 0;
        release(c->srv->http, len);
        conn_parse(c, buf, len);
        free(buf);
    }
    if (c->state == CONN_READING && !c->reading)
        conn_read_start(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct http_conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->srv->http->w[c->worker].buf, READ_BUFFER_BYTES);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct http_conn *c = s->data;
    if (n == UV_EOF && (c->state == CONN_RUNNING || c->state == CONN_WRITING)) {
        conn_read_stop(c);              /* half closed: answer, then close */
        c->keep_alive = false;
        return;
    }
    if (n < 0) {
        conn_close(c);                  /* gone, or reset */
        return;
    }
    if (n == 0 || c->state == CONN_LINGER)
        return;                         /* dropped: the response is out */
    if (c->state == CONN_READING)
        conn_parse(c, buf->base, (size_t)n);
    else if (c->state == CONN_RUNNING || c->state == CONN_WRITING)
        pend(c, buf->base, (size_t)n);  /* the next request, pipelined */
}

static void conn_read_start(struct http_conn *c)
{
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0)
        conn_close(c);
    else
        c->reading = true;
}

static void timer_cb(uv_timer_t *t)
{
    struct http_conn *c = t->data;
    if (c->state == CONN_READING && c->started) {
        char msg[160];
        c->keep_alive = false;
        conn_read_stop(c);
        snprintf(msg, sizeof msg, "request timeout: the request was not received "
                 "whole within %u ms", c->srv->set->http_request_timeout_ms);
        conn_error(c, 408, msg, NULL);
        return;
    }
    conn_close(c);                      /* idle, or not taking its response */
}

/* ===== Listening ======================================================== */

static void refuse_oom(struct http_listener *l);

static void spare_closed_cb(uv_handle_t *h)
{
    struct http_listener *l = h->data;
    l->spare_busy = false;
    if (l->stalled) {
        l->stalled = false;
        refuse_oom(l);
    }
}

static void refuse_oom(struct http_listener *l)
{
    if (l->spare_busy) {
        l->stalled = true;
        return;
    }
    uv_tcp_init(l->tcp.loop, &l->spare);
    l->spare.data = l;
    l->spare_busy = true;
    if (uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)&l->spare) == 0)
        srv_log(l->srv, SRV_LOG_WARN, "HTTP port %u: out of memory for a "
                "connection: closed at once", l->port->port);
    uv_close((uv_handle_t *)&l->spare, spare_closed_cb);
}

static void accept_cb(uv_stream_t *server, int status)
{
    struct http_listener *l = server->data;
    struct srv *srv = l->srv;
    struct http *h = srv->http;
    if (status < 0) {
        srv_log(srv, SRV_LOG_WARN, "HTTP port %u: accept: %s", l->port->port,
                uv_strerror(status));
        return;
    }
    struct http_conn *c = calloc(1, sizeof *c);
    if (!c) {
        refuse_oom(l);
        return;
    }
    uv_tcp_init(server->loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);  /* c is its handle */
        return;
    }
    struct http_worker *hw = &h->w[l->worker];
    c->srv = srv;
    c->port = l->port;
    c->worker = l->worker;
    c->handles = 2;
    /* The admin port is not capped: health checks and metrics must get
     * through when the server is busiest. */
    bool allowed = true;
    if (!l->port->admin) {
        c->counted = atomic_fetch_add(&h->nconns, 1) < srv->set->max_connections;
        if (!c->counted)
            atomic_fetch_sub(&h->nconns, 1);
        allowed = c->counted;
    }
    c->next = hw->conns;
    c->tcp.data = c;
    if (hw->conns)
        hw->conns->prev = c;
    hw->conns = c;
    uv_timer_init(server->loop, &c->timer);
    c->timer.data = c;
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    if (!allowed) {                     /* past the cap: told, and closed */
        char msg[128];
        snprintf(msg, sizeof msg, "overloaded: %u connections open "
                 "(--max-connections), try again", srv->set->max_connections);
        c->keep_alive = false;
        conn_error(c, 503, msg, NULL);
        return;
    }
    conn_timer(c, srv->set->http_idle_timeout_ms);
    conn_read_start(c);
}

static int port_listen(struct srv *srv, struct http_port *hp, int worker,
                       uv_loop_t *loop, struct srv_error *err)
{
    struct http_listener *l = hp->admin ? &hp->ls[0] : &hp->ls[worker];
    const struct srv_module_config *mc = hp->admin ? NULL : hp->routes[0]->cfg;
    int rc, fd = srv_port_bind(srv, mc, SOCK_STREAM, hp->port, !hp->admin, err);
    if (fd < 0)
        return -1;
    uv_tcp_init(loop, &l->tcp);
    l->tcp.data = l;
    l->port = hp;
    l->srv = srv;
    l->worker = worker;
    l->open = true;
    if ((rc = uv_tcp_open(&l->tcp, fd)) != 0)
        close(fd);                      /* not the handle's */
    if (rc != 0 || (rc = uv_listen((uv_stream_t *)&l->tcp, 4096, accept_cb)) != 0)
        return srv_fail(err, SRV_ERR_SYSTEM, "cannot listen on HTTP port %u: %s",
                        hp->port, uv_strerror(rc));
    return 0;
}

int http_open(struct srv *srv, int worker, uv_loop_t *loop,
              struct srv_error *err)
{
    struct http *h = srv->http;
    for (int i = 0; h && i < h->nports; i++)
        if (port_listen(srv, &h->ports[i], worker, loop, err) != 0)
            return -1;
    return 0;
}

static void close_listener(struct http_listener *l)
{
    if (l->open)
        uv_close((uv_handle_t *)&l->tcp, NULL);
    l->open = false;
}

static void close_listeners(struct http *h, int worker)
{
    for (int i = 0; i < h->nports; i++)
        close_listener(&h->ports[i].ls[worker]);
}

int http_open_admin(struct srv *srv, uv_loop_t *loop, struct srv_error *err)
{
    struct http *h = srv->http;
    if (!h || !h->admin.port)
        return 0;
    return port_listen(srv, &h->admin, srv->nworkers, loop, err);
}

/* Close the connections of worker (or admin) slot w; all of them, or
 * only the idle keep-alive ones. */
static void close_conns(struct http *h, int w, bool idle_only)
{
    for (struct http_conn *c = h->w[w].conns, *next; c; c = next) {
        next = c->next;
        if (!idle_only || (c->state == CONN_READING && !c->started && !c->pending))
            conn_close(c);
    }
}

void http_close_admin(struct srv *srv)
{
    struct http *h = srv->http;
    if (!h || !h->admin.port)
        return;
    close_listener(&h->admin.ls[0]);
    close_conns(h, srv->nworkers, false);
}

void http_stop(struct srv *srv, int worker)
{
    struct http *h = srv->http;
    if (!h)
        return;
    h->w[worker].stopped = true;
    close_listeners(h, worker);
    close_conns(h, worker, true);
}

void http_close(struct srv *srv, int worker)
{
    struct http *h = srv->http;
    if (!h)
        return;
    h->w[worker].stopped = true;
    close_listeners(h, worker);
    close_conns(h, worker, false);
}

/* The port's table entry, added if new. */
static struct http_port *port_of(struct http *h, uint16_t port, int nworkers)
{
    for (int i = 0; i < h->nports; i++)
        if (h->ports[i].port == port)
            return &h->ports[i];
    struct http_port *ports = realloc(h->ports, (h->nports + 1) * sizeof *ports);
    if (!ports)
        return NULL;
    h->ports = ports;
    struct http_port *hp = &ports[h->nports];
    *hp = (struct http_port){ .port = port };
    if (!(hp->ls = calloc(nworkers, sizeof *hp->ls)))
        return NULL;
    h->nports++;
    return hp;
}

int http_init(struct srv *srv, struct srv_error *err)
{
    struct http *h = calloc(1, sizeof *h);
    if (!h || !(h->w = calloc(srv->nworkers + 1, sizeof *h->w))) {
        free(h);
        return srv_fail(err, SRV_ERR_NOMEM, "out of memory");
    }
    srv->http = h;
    /* Default: an eighth of the sandboxes' memory budget, at least 64 MiB. */
    h->held_limit = srv->set->http_buffer_mb ? (uint64_t)srv->set->http_buffer_mb << 20
                                             : srv->memory_budget / 8;
    if (!srv->set->http_buffer_mb && h->held_limit < (64ull << 20))
        h->held_limit = 64ull << 20;
    for (int i = 0; i < srv->nmods; i++) {
        struct srv_module *mod = &srv->mods[i];
        if (!mod->cfg->active || !mod->cfg->http_port)
            continue;
        struct http_port *hp = port_of(h, mod->cfg->http_port, srv->nworkers);
        struct srv_module **r = hp ? realloc(hp->routes, (hp->nroutes + 1) * sizeof *r)
                                   : NULL;
        if (!r)
            return srv_fail(err, SRV_ERR_NOMEM, "out of memory");
        hp->routes = r;
        r[hp->nroutes++] = mod;
    }
    if (srv->set->admin_port) {
        h->admin = (struct http_port){ .port = (uint16_t)srv->set->admin_port,
                                      .admin = true };
        if (!(h->admin.ls = calloc(1, sizeof *h->admin.ls)))
            return srv_fail(err, SRV_ERR_NOMEM, "out of memory");
    }
    /* Free, as for UDP: a plain bind fails where another process listens. */
    for (int i = 0; i <= h->nports; i++) {
        struct http_port *hp = i < h->nports ? &h->ports[i] : &h->admin;
        int fd = hp->port ? srv_port_bind(srv, hp->admin ? NULL : hp->routes[0]->cfg,
                                          SOCK_STREAM, hp->port, false, err) : -2;
        if (fd == -1)
            return -1;
        if (fd >= 0)
            close(fd);
    }
    return 0;
}

void http_free(struct srv *srv)
{
    struct http *h = srv->http;
    if (!h)
        return;
    for (int i = 0; i < h->nports; i++) {
        free(h->ports[i].routes);
        free(h->ports[i].ls);
    }
    free(h->ports);
    free(h->admin.ls);
    free(h->w);
    free(h);
    srv->http = NULL;
}
