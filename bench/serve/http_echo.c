/*
 * bench/serve/http_echo.c - a native HTTP/1.1 server that answers every
 * request at once with a fixed body: the physical limit of the path
 * awsmrt's HTTP front end is compared against (the same parser,
 * http_parser, and the same event loop, libuv; no sandbox, no JSON).
 *
 * --threads N runs N threads, each with its own loop and its own listening
 * socket on the same port (SO_REUSEPORT: the kernel spreads the
 * connections), as awsmrt runs one loop per worker. Requests are parsed by
 * http_parser's callbacks only. Each complete request queues one of a few
 * replies built at start-up; what one read produced is written with one
 * system call, in request order, so pipelined requests are answered in
 * order. Keep-alive is http_should_keep_alive's: HTTP/1.1 unless
 * "Connection: close", HTTP/1.0 only with "Connection: keep-alive". A
 * request that does not parse gets 400 Bad Request; after a closing reply
 * the connection is shut down once the replies before it are out.
 *
 * The main thread only waits for SIGINT or SIGTERM (blocked in every
 * thread), then wakes each loop to close its handles, joins the threads and
 * prints the counts.
 *
 * Exit status: 0 stopped by a signal, 1 socket or thread error, 2 usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "tools/netcli.h"

enum { EXIT_FAIL = 1, EXIT_USAGE = NCLI_EXIT_USAGE };

enum {
    MAX_THREADS = 64,
    READ_SIZE = 65536,          /* per loop: a read is parsed before the next */
    OUT_MAX = 64,               /* replies queued before they are written */
    QUEUE_MAX = 1 << 20,        /* unsent bytes at which reading pauses */
    BACKLOG = 4096,
};

static const char usage_text[] =
    "usage: http_echo [OPTIONS]\n"
    "\n"
    "An HTTP/1.1 server on 127.0.0.1 that answers every request at once with\n"
    "200 OK and a fixed text/plain body (400 Bad Request to one that does not\n"
    "parse), the baseline awsmrt's HTTP front end is compared against.\n"
    "Keep-alive and pipelining as HTTP/1.1 says. The first line on standard\n"
    "output is the bound port number (useful with --port 0); the rest goes to\n"
    "standard error. SIGINT or SIGTERM stop it (exit status 0).\n"
    "\n"
    "options:\n"
    "  -p, --port P        the port to listen on (default 0: any free port)\n"
    "  -b, --body TEXT     the body of every reply (default \"ping\")\n"
    "  -t, --threads N     N threads, each with its own event loop and its own\n"
    "                      SO_REUSEPORT socket on the port (default 1, at most 64)\n"
    "  -6, --ipv6          listen on ::1 instead of 127.0.0.1\n"
    "  -h, --help          show this help\n";

struct options {
    unsigned port;
    const char *body;
    unsigned threads;
    bool ipv6;
};

/* The replies, built once. A HEAD request gets the head only. */
enum reply_kind { REPLY_KEEP, REPLY_KEEP_10, REPLY_CLOSE, REPLY_BAD, REPLY_KINDS };

struct reply {
    char *text;
    size_t len, head_len;
};

/* One thread: a loop, its listening socket, its counts. */
struct worker {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t stop;            /* sent by the main thread on a signal */
    pthread_t thread;
    const struct reply *replies;
    unsigned long connections, requests, bad_requests;
    char buf[READ_SIZE];
};

struct conn {
    uv_tcp_t tcp;               /* first: the handle is the connection */
    uv_shutdown_t shutdown;
    http_parser parser;
    struct worker *w;
    bool closing;               /* the last reply is queued */
    bool throttled;             /* reading paused: too much unsent */
    unsigned nout;
    uv_buf_t out[OUT_MAX];      /* replies not yet written */
};

#define PROG "http_echo"
#define usage_error(...) ncli_usage_error(PROG, __VA_ARGS__)

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        fputs(PROG ": out of memory\n", stderr);
        exit(EXIT_FAIL);
    }
    return p;
}

/* ===== Options ========================================================== */

/* One option at argv[*i]; 0, or EXIT_USAGE after a usage message. */
static int option_parse(int argc, char **argv, int *i, struct options *opt)
{
    bool missing = false;
    unsigned long v;
    const char *s;
    if (strcmp(argv[*i], "-6") == 0 || strcmp(argv[*i], "--ipv6") == 0) {
        opt->ipv6 = true;
    } else if ((s = ncli_option_value(argc, argv, i, "--port", "-p", &missing))) {
        if (ncli_ulong_parse(s, 0, 65535, &v) != 0)
            return usage_error("bad port '%s' (expected 0 to 65535)", s);
        opt->port = (unsigned)v;
    } else if ((s = ncli_option_value(argc, argv, i, "--body", "-b", &missing))) {
        opt->body = s;
    } else if ((s = ncli_option_value(argc, argv, i, "--threads", "-t", &missing))) {
        if (ncli_ulong_parse(s, 1, MAX_THREADS, &v) != 0)
            return usage_error("bad --threads '%s' (expected 1 to %d)", s, MAX_THREADS);
        opt->threads = (unsigned)v;
    } else {
        return ncli_option_error(PROG, argv[*i], missing);
    }
    return 0;
}

/* ===== Replies ========================================================== */

static const struct {
    const char *status, *connection, *body;     /* body NULL: --body */
} reply_shapes[REPLY_KINDS] = {
    [REPLY_KEEP] = {"200 OK", "", NULL},
    [REPLY_KEEP_10] = {"200 OK", "Connection: keep-alive\r\n", NULL},
    [REPLY_CLOSE] = {"200 OK", "Connection: close\r\n", NULL},
    [REPLY_BAD] = {"400 Bad Request", "Connection: close\r\n", "bad request\n"},
};

/* 0, or -1 out of memory (every text is then NULL or allocated). */
static int replies_build(struct reply r[REPLY_KINDS], const char *body)
{
    int status = 0;
    for (int k = 0; k < REPLY_KINDS; k++) {
        const char *b = reply_shapes[k].body ? reply_shapes[k].body : body;
        size_t blen = strlen(b);
        int n = asprintf(&r[k].text, "HTTP/1.1 %s\r\nContent-Type: text/plain\r\n"
                         "Content-Length: %zu\r\n%s\r\n%s", reply_shapes[k].status,
                         blen, reply_shapes[k].connection, b);
        if (n < 0) {
            r[k].text = NULL;
            status = -1;
            continue;
        }
        r[k].len = (size_t)n;
        r[k].head_len = (size_t)n - blen;
    }
    return status;
}

static void replies_free(struct reply r[REPLY_KINDS])
{
    for (int k = 0; k < REPLY_KINDS; k++)
        free(r[k].text);
}

/* ===== Connections ====================================================== */

static void conn_close_cb(uv_handle_t *h)
{
    free(h);                    /* the struct conn it begins */
}

static void conn_abort(struct conn *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    conn_abort((struct conn *)req->handle);
}

/* Stop reading; close once the replies queued in libuv are out. */
static void conn_finish(struct conn *c)
{
    uv_stream_t *s = (uv_stream_t *)&c->tcp;
    if (uv_is_closing((uv_handle_t *)s))
        return;
    uv_read_stop(s);
    if (uv_shutdown(&c->shutdown, s, shutdown_cb) != 0)
        conn_abort(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct worker *w = ((struct conn *)h)->w;
    *buf = uv_buf_init(w->buf, sizeof w->buf);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void write_cb(uv_write_t *req, int status)
{
    struct conn *c = (struct conn *)req->handle;
    free(req);
    if (status < 0) {
        conn_abort(c);
    } else if (c->throttled && c->tcp.write_queue_size <= QUEUE_MAX / 2) {
        c->throttled = false;
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    }
}

/* Write the queued replies: what the socket takes now, the rest behind a
 * uv_write (libuv keeps writes in order; uv_try_write refuses while one is
 * pending). The replies are static, so nothing is copied. */
static void conn_flush(struct conn *c)
{
    uv_stream_t *s = (uv_stream_t *)&c->tcp;
    uv_buf_t *b = c->out;
    unsigned n = c->nout;
    c->nout = 0;
    if (n == 0 || uv_is_closing((uv_handle_t *)s))
        return;
    int sent = uv_try_write(s, b, n);
    if (sent < 0 && sent != UV_EAGAIN) {
        conn_abort(c);
        return;
    }
    for (size_t done = sent > 0 ? (size_t)sent : 0; n > 0; b++, n--) {
        if (done < b->len) {
            b->base += done;
            b->len -= done;
            break;
        }
        done -= b->len;
    }
    if (n == 0)
        return;
    uv_write_t *req = xcalloc(1, sizeof *req);
    if (uv_write(req, s, b, n, write_cb) != 0) {
        free(req);
        conn_abort(c);
        return;
    }
    if (s->write_queue_size > QUEUE_MAX && !c->closing) {
        c->throttled = true;
        uv_read_stop(s);
    }
}

static void conn_queue(struct conn *c, enum reply_kind k, bool head_only)
{
    const struct reply *r = &c->w->replies[k];
    if (c->nout == OUT_MAX)
        conn_flush(c);
    c->out[c->nout++] = uv_buf_init(r->text, (unsigned)(head_only ? r->head_len : r->len));
}

static int message_complete_cb(http_parser *p)
{
    struct conn *c = p->data;
    bool keep = http_should_keep_alive(p) && !p->upgrade;
    bool v11 = p->http_major > 1 || (p->http_major == 1 && p->http_minor >= 1);
    c->w->requests++;
    conn_queue(c, !keep ? REPLY_CLOSE : v11 ? REPLY_KEEP : REPLY_KEEP_10,
               p->method == HTTP_HEAD);
    if (!keep) {
        c->closing = true;
        http_parser_pause(p, 1);    /* what follows the last request is not read */
    }
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_complete = message_complete_cb,
};

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct conn *c = (struct conn *)s;
    if (n < 0) {
        if (n == UV_EOF)
            conn_finish(c);     /* half-closed: answer what came, then close */
        else
            conn_abort(c);
        return;
    }
    if (n == 0)
        return;                 /* nothing to read now; 0 bytes would mean EOF to the parser */
    size_t parsed = http_parser_execute(&c->parser, &parser_settings, buf->base, (size_t)n);
    if (!c->closing && parsed != (size_t)n) {
        c->w->bad_requests++;
        conn_queue(c, REPLY_BAD, false);
        c->closing = true;
    }
    conn_flush(c);
    if (c->closing)
        conn_finish(c);
}

static void connection_cb(uv_stream_t *listener, int status)
{
    struct worker *w = listener->data;
    if (status < 0) {
        fprintf(stderr, PROG ": accept failed: %s\n", uv_strerror(status));
        return;
    }
    struct conn *c = xcalloc(1, sizeof *c);
    c->w = w;
    uv_tcp_init(&w->loop, &c->tcp);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        conn_abort(c);
        return;
    }
    w->connections++;
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0)
        conn_abort(c);
}

/* ===== Workers ========================================================== */

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    struct worker *w = arg;
    bool own = h == (uv_handle_t *)&w->listener || h == (uv_handle_t *)&w->stop;
    if (!uv_is_closing(h))
        uv_close(h, own ? NULL : conn_close_cb);
}

static void stop_cb(uv_async_t *a)
{
    uv_walk(a->loop, close_walk_cb, a->data);
}

/* Serve the listening socket FD on W's loop (initialised): the listener
 * and the stop handle. 0, or -1 with a message. */
static int worker_open(struct worker *w, int fd, const struct reply *replies)
{
    w->replies = replies;
    uv_async_init(&w->loop, &w->stop, stop_cb);
    w->stop.data = w;
    uv_tcp_init(&w->loop, &w->listener);
    w->listener.data = w;
    int err = uv_tcp_open(&w->listener, fd);
    if (err != 0)
        close(fd);
    else
        err = uv_listen((uv_stream_t *)&w->listener, BACKLOG, connection_cb);
    if (err != 0)
        fprintf(stderr, PROG ": cannot listen: %s\n", uv_strerror(err));
    return err == 0 ? 0 : -1;
}

/* Close whatever is still open (after a stop: nothing) and the loop. */
static void worker_deinit(struct worker *w)
{
    uv_walk(&w->loop, close_walk_cb, w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Initialise the workers, each with its socket on one port; prints the
 * port on stdout. 0 or -1; *ready: the number whose loop is initialised
 * (to deinit). */
static int workers_init(struct worker *w, const struct options *opt,
                        const struct reply *replies, unsigned *ready)
{
    unsigned port = opt->port;
    for (*ready = 0; *ready < opt->threads; ++*ready) {
        struct worker *wi = &w[*ready];
        if (uv_loop_init(&wi->loop) != 0)
            return -1;
        int fd = ncli_loopback_socket(PROG, opt->ipv6, SOCK_STREAM, true, BACKLOG, &port);
        if (fd < 0 || worker_open(wi, fd, replies) != 0) {
            ++*ready;
            return -1;
        }
    }
    printf("%u\n", port);
    fflush(stdout);
    fprintf(stderr, PROG ": listening on %s%s%s:%u, %u thread%s, a %zu-byte body\n",
            opt->ipv6 ? "[" : "", opt->ipv6 ? "::1" : "127.0.0.1", opt->ipv6 ? "]" : "",
            port, opt->threads, opt->threads == 1 ? "" : "s", strlen(opt->body));
    return 0;
}

/* Run the N workers until a signal in STOP_SET (its number in *sig) or a
 * thread that cannot start; then stop and join them. 0 or EXIT_FAIL. */
static int workers_run(struct worker *w, unsigned n, const sigset_t *stop_set, int *sig)
{
    unsigned started = 0;
    while (started < n && pthread_create(&w[started].thread, NULL, worker_main, &w[started]) == 0)
        started++;
    if (started == n)
        sigwait(stop_set, sig);
    else
        fprintf(stderr, PROG ": cannot start a thread: %s\n", strerror(errno));
    for (unsigned i = 0; i < started; i++)
        uv_async_send(&w[i].stop);
    for (unsigned i = 0; i < started; i++)
        pthread_join(w[i].thread, NULL);
    return started == n ? EXIT_SUCCESS : EXIT_FAIL;
}

/* Block SIGINT and SIGTERM in this thread and every thread it starts, put
 * them in *stop_set, and ignore SIGPIPE (a peer gone mid-write). */
static void signals_setup(sigset_t *stop_set)
{
    sigemptyset(stop_set);
    sigaddset(stop_set, SIGINT);
    sigaddset(stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void counts_print(const struct worker *w, unsigned n, int sig)
{
    unsigned long conns = 0, reqs = 0, bad = 0;
    for (unsigned i = 0; i < n; i++) {
        conns += w[i].connections;
        reqs += w[i].requests;
        bad += w[i].bad_requests;
    }
    if (sig != 0)
        fprintf(stderr, PROG ": stopped by %s: ", sig == SIGINT ? "SIGINT" : "SIGTERM");
    else
        fputs(PROG ": ", stderr);
    fprintf(stderr, "%lu connections, %lu requests answered, %lu bad requests",
            conns, reqs, bad);
    if (n > 1) {
        fputs(" (connections per thread:", stderr);
        for (unsigned i = 0; i < n; i++)
            fprintf(stderr, " %lu", w[i].connections);
        fputc(')', stderr);
    }
    fputc('\n', stderr);
}

int main(int argc, char **argv)
{
    struct options opt = {.body = "ping", .threads = 1};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return EXIT_SUCCESS;
        }
        if (option_parse(argc, argv, &i, &opt) != 0)
            return EXIT_USAGE;
    }
    struct reply replies[REPLY_KINDS];
    if (replies_build(replies, opt.body) != 0) {
        replies_free(replies);
        fputs(PROG ": out of memory\n", stderr);
        return EXIT_FAIL;
    }
    sigset_t stop_set;
    signals_setup(&stop_set);
    struct worker *w = xcalloc(opt.threads, sizeof *w);
    unsigned ready;
    int sig = 0, status = EXIT_FAIL;
    if (workers_init(w, &opt, replies, &ready) == 0) {
        status = workers_run(w, ready, &stop_set, &sig);
        counts_print(w, ready, sig);
    }
    for (unsigned i = 0; i < ready; i++)
        worker_deinit(&w[i]);
    free(w);
    replies_free(replies);
    return status;
}
