/*
 * tests/fuzz/fuzz_http.c - libFuzzer target: awsmrt's HTTP request path
 * (server/http.c with http_parser, on a libuv loop) on any bytes sent by a
 * client: request line, headers, bodies (chunked or not), pipelining,
 * query arguments, the header environment, limits, refusals.
 *
 * One worker's listener on an ephemeral loopback port, two routes (/echo
 * and /small, a 100-byte body limit, argsize 3). Each input is written on
 * a new connection, whose write side is then shut; the loop runs until the
 * server closes it. Every request that reaches a route is "run" by this
 * file's srv_admit: its sandbox is answered with its own stdin as stdout
 * (an echo), as a worker would. Whatever comes back must be HTTP/1.1
 * responses, and no sandbox may be left unanswered.
 *
 * Link seams: http.c's calls into the rest of the server, the runtime and
 * WASI are defined here (the listener's bind, admission, the log, the
 * metrics, the admin pages).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ===== Seams ============================================================ */

static struct sb *queued[256];
static int nqueued;
static const struct sb *answering;
static struct wasi_ctx *const fake_wasi = (struct wasi_ctx *)&queued;
static uint16_t bound_port;

void srv_log(const struct srv *srv, enum srv_log_level level, const char *fmt, ...)
{
    (void)srv, (void)level, (void)fmt;
}

void srv_count_http(struct srv *srv, struct srv_module *mod, int status)
{
    (void)srv, (void)mod;
    if (status < 100 || status > 599)
        abort();
}

void srv_addr_name(const struct sockaddr *a, char *buf, size_t len)
{
    (void)a;
    snprintf(buf, len, "fuzz");
}

int admin_page(struct srv *srv, const char *path, size_t n, char **body,
               size_t *len, const char **ctype)
{
    (void)srv, (void)path, (void)n;
    *body = NULL, *len = 0, *ctype = "text/plain";
    return 404;
}

/* Bound to an ephemeral port, whatever the configuration says. */
int srv_port_bind(const struct srv *srv, const struct srv_module_config *mc,
                  int type, uint16_t port, bool group, struct srv_error *err)
{
    (void)srv, (void)mc, (void)port, (void)group;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(bound_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int one = 1, fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    socklen_t alen = sizeof a;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        srv_fail(err, SRV_ERR_SYSTEM, "bind: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    bound_port = ntohs(a.sin_port);
    return fd;
}

enum srv_refusal srv_admit(struct srv_module *mod, struct sb *sb, char *err,
                           size_t errlen)
{
    (void)mod;
    if (nqueued == (int)(sizeof queued / sizeof *queued)) {
        snprintf(err, errlen, "overloaded");
        return SRV_OVERLOADED;
    }
    queued[nqueued++] = sb;
    return SRV_ACCEPTED;
}

#include "seams.h"

const uint8_t *wasi_captured(const struct wasi_ctx *w, int fd, size_t *len,
                             bool *truncated)
{
    if (w != fake_wasi || answering == NULL)
        abort();
    *truncated = false;
    *len = fd == 1 ? answering->stdin_len : 0;
    return (const uint8_t *)answering->stdin_buf;
}

/* ===== The server ======================================================= */

static struct srv_module_config configs[2] = {
    { .name = "echo", .route = "/echo", .http_port = 1, .argsize = 3,
      .max_body = 4096, .max_response = 4096, .content_type = "text/plain",
      .active = true },
    { .name = "small", .route = "/small", .http_port = 1, .argsize = 0,
      .max_body = 100, .max_response = 4096, .content_type = "text/plain",
      .active = true },
};
static const struct srv_config config = { .file = "fuzz.json", .nmodules = 2,
                                          .modules = configs };
static struct srv_settings settings = SRV_SETTINGS_DEFAULT;
static struct srv srv;
static struct srv_module mods[2];
static uv_loop_t loop;

static void setup(void)
{
    struct srv_error err;
    settings.http_request_timeout_ms = 2000;
    settings.http_idle_timeout_ms = 2000;
    srv.cfg = &config;
    srv.set = &settings;
    srv.nmods = 2;
    srv.mods = mods;
    srv.nworkers = 1;
    srv.memory_budget = 1ull << 30;
    for (int i = 0; i < 2; i++)
        mods[i] = (struct srv_module){ .cfg = &configs[i], .srv = &srv,
                                       .rt = (struct rt_module *)&mods[i] };
    if (uv_loop_init(&loop) != 0 || http_init(&srv, &err) != 0 ||
        http_open(&srv, 0, &loop, &err) != 0) {
        fprintf(stderr, "fuzz_http: set-up failed: %s\n", err.msg);
        abort();
    }
}

/* What a worker does when a sandbox is done: answer, then free it. */
static void answer_queued(void)
{
    while (nqueued > 0) {
        struct sb *sb = queued[--nqueued];
        sb->outcome = SB_OK;
        sb->has_exit_code = true;
        sb->exit_code = 0;
        sb->wasi = fake_wasi;
        answering = sb;
        http_respond(sb);
        answering = NULL;
        sb->wasi = NULL;
        sb_free(sb);
    }
}

static int client(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(bound_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    /* Closed with a reset once the server has closed its side, so that
     * neither side keeps the pair in TIME_WAIT: thousands of connections
     * a second would exhaust the ephemeral ports. */
    struct linger lg = { 1, 0 };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
        abort();
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a), e = errno;
    if (rc != 0 && e == EINTR) {        /* libFuzzer's timer: it goes on */
        struct pollfd p = { fd, POLLOUT, 0 };
        socklen_t len = sizeof e;
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
        rc = getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0 ? 0 : -1;
    }
    if (rc != 0) {
        fprintf(stderr, "fuzz_http: connect: %s\n", strerror(e));
        abort();
    }
    return fd;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[1 << 20];
    size_t out_len = 0;
    if (srv.http == NULL)
        setup();
    int fd = client();
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            break;                      /* the server closed: fine */
        off += (size_t)w;
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    shutdown(fd, SHUT_WR);
    bool eof = false;
    for (uint64_t end = now_ms() + 5000; !eof && now_ms() < end;) {
        uv_run(&loop, UV_RUN_NOWAIT);
        answer_queued();
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 1) <= 0)
            continue;
        static char rest[65536];        /* past `out`: only the start is checked */
        ssize_t r = out_len < sizeof out ? read(fd, out + out_len, sizeof out - out_len)
                                         : read(fd, rest, sizeof rest);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            eof = true;                 /* closed (or reset) by the server */
        else if (out_len < sizeof out)
            out_len += (size_t)r;
    }
    close(fd);
    for (int i = 0; i < 10; i++)        /* the server's side of the close */
        uv_run(&loop, UV_RUN_NOWAIT);
    if (!eof || nqueued != 0)
        abort();                        /* a connection never closed */
    if (out_len > 0 && (out_len < 13 || memcmp(out, "HTTP/1.1 ", 9) != 0))
        abort();                        /* not an HTTP response */
    return 0;
}
