/*
 * bench/serve/loadgen.c - a closed-loop UDP load generator for awsmrt and
 * its baseline, bench/serve/udp_echo.
 *
 * N slots each keep one request in flight: when a reply comes (or the
 * request times out) the slot sends the next one. awsmrt's reply carries no
 * request id, so every slot has its own connected socket and a reply is
 * matched to its request by the socket it arrives on. A slot whose request
 * timed out gets a fresh socket (a new port), so a late reply can never be
 * taken for the reply to the next request.
 *
 * The in-flight slots are kept in a list in send order; all requests share
 * one timeout, so the list's head always holds the earliest deadline.
 * Latencies go into a log-linear histogram (under 1% error), so memory stays
 * small however many requests are sent.
 *
 * Only loopback targets are accepted: load tests against other hosts are
 * not allowed where this runs.
 *
 * Exit status: 0 every request got an expected reply, 1 some did not,
 * 2 usage error or setup failure.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tools/netcli.h"

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Named limits and defaults. */
enum {
    MAX_DATAGRAM = 65507,       /* the largest IPv4 UDP payload */
    MAX_CONCURRENCY = 4096,
    DEFAULT_REQUESTS = 10000,   /* when neither --requests nor --duration */
    DEFAULT_DURATION_S = 60,    /* the time bound when only --requests */
    MAX_DURATION_S = 3600,
    DEFAULT_TIMEOUT_MS = 1000,
    MAX_TIMEOUT_MS = 60000,
    EVENTS = 64,                /* epoll events per wait */
    SHOW_REPLY_MAX = 200,       /* bytes of the first unexpected reply shown */
};
#define MAX_REQUESTS 1000000000ul

static const char usage_text[] =
    "usage: loadgen --target IP:PORT --payload JSON [OPTIONS]\n"
    "\n"
    "Closed-loop UDP load: N requests in flight at a time, each on its own\n"
    "connected socket; a slot sends its next request as soon as the previous\n"
    "one is answered or timed out. Loopback targets only (127.0.0.0/8, ::1).\n"
    "\n"
    "options:\n"
    "  -t, --target IP:PORT     where to send ([::1]:PORT for IPv6)\n"
    "  -p, --payload TEXT       the request datagram, e.g.\n"
    "                           '{\"module\":\"fib\",\"args\":[\"10\"]}'\n"
    "  -c, --concurrency N      requests in flight (default 1, at most 4096)\n"
    "  -n, --requests M         send M requests (default 10000 when no\n"
    "                           --duration is given)\n"
    "  -d, --duration S         stop sending after S seconds (may be a\n"
    "                           fraction; default 60 as the time bound of a\n"
    "                           --requests run; at most 3600)\n"
    "  -T, --timeout MS         a request without a reply after MS ms is a\n"
    "                           timeout (default 1000)\n"
    "  -e, --expect TEXT        a reply that does not contain TEXT is an error\n"
    "  -s, --source IP          send from this loopback address (another one of\n"
    "                           127.0.0.0/8 gives another ~28,000 ports: one\n"
    "                           is held per request in flight)\n"
    "  -D, --deadline-us N      also count the requests not answered ok within\n"
    "                           N microseconds (late, errors, timeouts, refused)\n"
    "                           as missed=K at the end of the line\n"
    "  -h, --help               show this help\n"
    "\n"
    "With both --requests and --duration, whichever comes first ends the run;\n"
    "requests still in flight then get their reply or time out. SIGINT stops\n"
    "sending the same way.\n"
    "\n"
    "Standard output gets one line of key=value pairs:\n"
    "  requests=10000 ok=10000 errors=0 timeouts=0 refused=0 seconds=1.230\n"
    "  rps=8130 p50_us=120.0 p90_us=200.0 p99_us=450.0 max_us=900.0 mean_us=130.1\n"
    "(on one line). requests = ok + errors + timeouts + refused; errors are\n"
    "replies without the --expect text and failed sends; refused counts ICMP\n"
    "port-unreachable answers (nobody listening); rps and the latencies count\n"
    "ok replies only. Standard error gets the same in words.\n"
    "\n"
    "Exit status: 0 every request got an expected reply, 1 some did not,\n"
    "2 usage error or setup failure.\n";

struct options {
    struct sockaddr_storage target;
    socklen_t target_len;
    char target_text[NCLI_ADDR_MAX];
    const char *payload;
    size_t payload_len;
    unsigned concurrency;
    unsigned long requests;     /* 0: no count bound */
    double duration_s;          /* 0: not given */
    unsigned timeout_ms;
    const char *expect;         /* NULL: any reply is ok */
    unsigned long deadline_us;  /* 0: not given */
    struct sockaddr_storage source;     /* --source; ss_family 0: any */
    socklen_t source_len;
};

/* ===== Latency histogram ================================================ */

/* Values in nanoseconds. Below 128 each value has its own bucket; above,
 * each power of two is split in 64 buckets, so a bucket is at most 1/64 of
 * its values wide and its midpoint is within 1/128 of them. */
enum {
    HIST_EXACT = 128,
    HIST_SUB = 64,
    HIST_MAX_EXP = 40,          /* 2^40 ns, about 18 minutes: the top bucket */
    HIST_BUCKETS = HIST_EXACT + (HIST_MAX_EXP - 7 + 1) * HIST_SUB,
};

struct histogram {
    uint64_t count[HIST_BUCKETS];
    uint64_t n, max, sum;
};

static unsigned hist_index(uint64_t v)
{
    if (v < HIST_EXACT)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    if (e > HIST_MAX_EXP)
        return HIST_BUCKETS - 1;
    unsigned top = (unsigned)(v >> (e - 6));     /* 64 .. 127 */
    return HIST_EXACT + (e - 7) * HIST_SUB + (top - HIST_SUB);
}

/* The midpoint of bucket I. */
static double hist_value(unsigned i)
{
    if (i < HIST_EXACT)
        return i;
    unsigned e = 7 + (i - HIST_EXACT) / HIST_SUB;
    uint64_t top = HIST_SUB + (i - HIST_EXACT) % HIST_SUB;
    uint64_t width = 1ull << (e - 6);
    return (double)(top * width) + (double)width / 2;
}

static void hist_add(struct histogram *h, uint64_t v)
{
    h->count[hist_index(v)]++;
    h->n++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

/* The value at quantile Q (0 < Q <= 1), never above the exact maximum. */
static double hist_quantile(const struct histogram *h, double q)
{
    if (h->n == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999);
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= rank) {
            double v = hist_value(i);
            return v < (double)h->max ? v : (double)h->max;
        }
    }
    return (double)h->max;
}

/* ===== Slots ============================================================ */

struct slot {
    int fd;
    bool busy;
    uint64_t sent_ns;
    struct slot *prev, *next;   /* the in-flight list, in send order */
};

struct load {
    const struct options *opt;
    int epfd;
    struct slot *slots;
    struct slot inflight;       /* the list's sentinel */
    unsigned long busy;
    uint64_t start_ns, end_ns, send_until_ns, timeout_ns;
    unsigned long sent, ok, errors, timeouts, refused, late;
    bool shown_unexpected;
    struct histogram hist;
    char reply[65536];
};

static volatile sig_atomic_t stop_requested;

static void on_sigint(int sig)
{
    stop_requested = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void list_unlink(struct slot *s)
{
    s->prev->next = s->next;
    s->next->prev = s->prev;
}

static void list_append(struct load *L, struct slot *s)
{
    s->prev = L->inflight.prev;
    s->next = &L->inflight;
    L->inflight.prev->next = s;
    L->inflight.prev = s;
}

/* A new connected, non-blocking socket for slot S, watched by epoll. */
static int slot_open(struct load *L, struct slot *s)
{
    const struct options *opt = L->opt;
    s->fd = socket(opt->target.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        fprintf(stderr, "loadgen: cannot open a socket: %s%s\n", strerror(errno),
                errno == EMFILE ? " (lower --concurrency or raise ulimit -n)" : "");
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    if (opt->source_len &&
        bind(s->fd, (const struct sockaddr *)&opt->source, opt->source_len) != 0) {
        fprintf(stderr, "loadgen: cannot bind to the --source address: %s\n",
                strerror(errno));
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    if (connect(s->fd, (const struct sockaddr *)&opt->target, opt->target_len) != 0 ||
        epoll_ctl(L->epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
        fprintf(stderr, "loadgen: cannot connect to %s: %s\n", opt->target_text,
                strerror(errno));
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    return 0;
}

static bool may_send(const struct load *L)
{
    const struct options *opt = L->opt;
    if (stop_requested || (opt->requests > 0 && L->sent >= opt->requests))
        return false;
    return now_ns() < L->send_until_ns;
}

/* Send slot S's next request if the run goes on. A send that fails at once
 * is counted and the slot tries again while it may. */
static void slot_send(struct load *L, struct slot *s)
{
    const struct options *opt = L->opt;
    while (may_send(L)) {
        L->sent++;
        s->sent_ns = now_ns();
        if (send(s->fd, opt->payload, opt->payload_len, 0) >= 0) {
            s->busy = true;
            L->busy++;
            list_append(L, s);
            return;
        }
        if (errno == ECONNREFUSED)
            L->refused++;
        else
            L->errors++;
    }
}

static void slot_done(struct load *L, struct slot *s)
{
    list_unlink(s);
    s->busy = false;
    L->busy--;
}

static void unexpected_show(struct load *L, size_t n)
{
    if (L->shown_unexpected)
        return;
    L->shown_unexpected = true;
    int shown = n < SHOW_REPLY_MAX ? (int)n : SHOW_REPLY_MAX;
    fprintf(stderr, "loadgen: first reply without '%s' (%zu bytes): %.*s%s\n",
            L->opt->expect, n, shown, L->reply, (size_t)shown < n ? "..." : "");
}

/* Slot S's socket is readable: a reply, or an error such as ECONNREFUSED. */
static void slot_reply(struct load *L, struct slot *s)
{
    ssize_t n = recv(s->fd, L->reply, sizeof L->reply, MSG_TRUNC);
    uint64_t t = now_ns();
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (!s->busy)
        return;                 /* nothing asked: cannot happen, ignore */
    if (n < 0) {
        if (errno == ECONNREFUSED)
            L->refused++;
        else
            L->errors++;
    } else {
        size_t len = (size_t)n < sizeof L->reply ? (size_t)n : sizeof L->reply;
        if (L->opt->expect != NULL && memmem(L->reply, len, L->opt->expect,
                                             strlen(L->opt->expect)) == NULL) {
            L->errors++;
            unexpected_show(L, len);
        } else {
            L->ok++;
            hist_add(&L->hist, t - s->sent_ns);
            if (L->opt->deadline_us && t - s->sent_ns > L->opt->deadline_us * 1000u)
                L->late++;
        }
    }
    slot_done(L, s);
    slot_send(L, s);
}

/* Time out the requests whose deadline has passed. -1 on a fatal error. */
static int expire(struct load *L)
{
    uint64_t t = now_ns();
    while (L->inflight.next != &L->inflight) {
        struct slot *s = L->inflight.next;
        if (s->sent_ns + L->timeout_ns > t)
            break;
        L->timeouts++;
        slot_done(L, s);
        close(s->fd);               /* a late reply must not meet the next request */
        if (slot_open(L, s) != 0)
            return -1;
        slot_send(L, s);
    }
    return 0;
}

/* Milliseconds until the earliest deadline, rounded up. */
static int next_wait_ms(const struct load *L)
{
    const struct slot *s = L->inflight.next;
    uint64_t deadline = s->sent_ns + L->timeout_ns, t = now_ns();
    if (deadline <= t)
        return 0;
    return (int)((deadline - t + 999999) / 1000000);
}

static int load_run(struct load *L)
{
    struct epoll_event ev[EVENTS];
    L->start_ns = now_ns();
    L->send_until_ns = L->start_ns + (uint64_t)(L->opt->duration_s * 1e9);
    for (unsigned i = 0; i < L->opt->concurrency; i++)
        slot_send(L, &L->slots[i]);
    while (L->busy > 0) {
        int n = epoll_wait(L->epfd, ev, EVENTS, next_wait_ms(L));
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "loadgen: epoll_wait: %s\n", strerror(errno));
            return -1;
        }
        for (int i = 0; i < n; i++)
            slot_reply(L, ev[i].data.ptr);
        if (expire(L) != 0)
            return -1;
    }
    L->end_ns = now_ns();
    return 0;
}

/* ===== Report =========================================================== */

static void report(const struct load *L)
{
    const struct histogram *h = &L->hist;
    unsigned long total = L->ok + L->errors + L->timeouts + L->refused;
    double secs = (double)(L->end_ns - L->start_ns) / 1e9;
    double rps = secs > 0 ? (double)L->ok / secs : 0;
    double p50 = hist_quantile(h, 0.50) / 1e3, p90 = hist_quantile(h, 0.90) / 1e3;
    double p99 = hist_quantile(h, 0.99) / 1e3, max = (double)h->max / 1e3;
    double mean = h->n > 0 ? (double)h->sum / (double)h->n / 1e3 : 0;
    printf("requests=%lu ok=%lu errors=%lu timeouts=%lu refused=%lu seconds=%.3f "
           "rps=%.0f p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f",
           total, L->ok, L->errors, L->timeouts, L->refused, secs, rps, p50, p90,
           p99, max, mean);
    if (L->opt->deadline_us)
        printf(" missed=%lu", L->late + total - L->ok);
    printf("\n");
    fflush(stdout);
    const struct options *opt = L->opt;
    if (opt->requests > 0 && total < opt->requests && !stop_requested)
        fprintf(stderr, "loadgen: the %.3g s time bound ended the run after %lu "
                "of %lu requests\n", opt->duration_s, total, opt->requests);
    fprintf(stderr, "loadgen: %lu requests in %.3f s: %lu ok, %lu errors, "
            "%lu timeouts, %lu refused; %.0f ok/s\n", total, secs, L->ok,
            L->errors, L->timeouts, L->refused, rps);
    if (h->n > 0)
        fprintf(stderr, "loadgen: latency of ok replies (us): p50 %.1f, p90 %.1f, "
                "p99 %.1f, max %.1f, mean %.1f\n", p50, p90, p99, max, mean);
    if (L->refused > 0)
        fprintf(stderr, "loadgen: refused: nobody is listening on %s\n",
                opt->target_text);
}

/* ===== Options ========================================================== */

#define PROG "loadgen"
#define usage_error(...) ncli_usage_error(PROG, __VA_ARGS__)

/* Parse "IP:PORT" or "[IPv6]:PORT" into opt->target. 0 or EXIT_USAGE. */
static int target_parse(const char *text, struct options *opt)
{
    switch (ncli_addr_parse(text, NCLI_PORT_STRTOUL, &opt->target, &opt->target_len)) {
    case NCLI_ADDR_OK:
        break;
    case NCLI_ADDR_TOO_LONG:
    case NCLI_ADDR_NO_BRACKET:
    case NCLI_ADDR_NO_COLON:
        return usage_error("bad --target '%s' (expected IP:PORT or [IPv6]:PORT)", text);
    case NCLI_ADDR_BAD_PORT:
        return usage_error("bad port in --target '%s' (expected 1 to 65535)", text);
    case NCLI_ADDR_BAD_IPV4:
    case NCLI_ADDR_BAD_IPV6:
        return usage_error("bad address in --target '%s' (a numeric IP; names "
                           "are not resolved)", text);
    }
    if (!ncli_addr_is_loopback(&opt->target))
        return usage_error("refusing --target '%s': load tests may only target "
                           "loopback (127.0.0.0/8, ::1)", text);
    snprintf(opt->target_text, sizeof opt->target_text, "%s", text);
    return 0;
}

static int parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > MAX_DURATION_S)
        return -1;
    *out = v;
    return 0;
}

/* One option at argv[*i]: 0, or EXIT_USAGE after a message. */
static int option_parse(int argc, char **argv, int *i, struct options *opt)
{
    bool missing = false;
    unsigned long v;
    const char *s;
    if ((s = ncli_option_value(argc, argv, i, "--target", "-t", &missing)))
        return target_parse(s, opt);
    if ((s = ncli_option_value(argc, argv, i, "--payload", "-p", &missing))) {
        opt->payload = s;
        opt->payload_len = strlen(s);
        if (opt->payload_len > MAX_DATAGRAM)
            return usage_error("--payload is %zu bytes; a datagram holds at most %d",
                               opt->payload_len, MAX_DATAGRAM);
    } else if ((s = ncli_option_value(argc, argv, i, "--concurrency", "-c", &missing))) {
        if (ncli_ulong_parse(s, 1, MAX_CONCURRENCY, &v) != 0)
            return usage_error("bad --concurrency '%s' (expected 1 to %d)", s,
                               MAX_CONCURRENCY);
        opt->concurrency = (unsigned)v;
    } else if ((s = ncli_option_value(argc, argv, i, "--requests", "-n", &missing))) {
        if (ncli_ulong_parse(s, 1, MAX_REQUESTS, &opt->requests) != 0)
            return usage_error("bad --requests '%s' (expected 1 to %lu)", s,
                               MAX_REQUESTS);
    } else if ((s = ncli_option_value(argc, argv, i, "--duration", "-d", &missing))) {
        if (parse_seconds(s, &opt->duration_s) != 0)
            return usage_error("bad --duration '%s' (expected seconds, more than "
                               "0 and at most %d)", s, MAX_DURATION_S);
    } else if ((s = ncli_option_value(argc, argv, i, "--timeout", "-T", &missing))) {
        if (ncli_ulong_parse(s, 1, MAX_TIMEOUT_MS, &v) != 0)
            return usage_error("bad --timeout '%s' (expected 1 to %d ms)", s,
                               MAX_TIMEOUT_MS);
        opt->timeout_ms = (unsigned)v;
    } else if ((s = ncli_option_value(argc, argv, i, "--expect", "-e", &missing))) {
        opt->expect = s;
    } else if ((s = ncli_option_value(argc, argv, i, "--source", "-s", &missing))) {
        char text[NCLI_ADDR_MAX + 8];
        snprintf(text, sizeof text, strchr(s, ':') ? "[%s]:1" : "%s:1", s);
        if (ncli_addr_parse(text, NCLI_PORT_STRTOUL, &opt->source, &opt->source_len) !=
                NCLI_ADDR_OK || !ncli_addr_is_loopback(&opt->source))
            return usage_error("bad --source '%s' (a loopback address: 127.0.0.0/8 "
                               "or ::1)", s);
        if (opt->source.ss_family == AF_INET6)      /* any port */
            ((struct sockaddr_in6 *)&opt->source)->sin6_port = 0;
        else
            ((struct sockaddr_in *)&opt->source)->sin_port = 0;
    } else if ((s = ncli_option_value(argc, argv, i, "--deadline-us", "-D", &missing))) {
        if (ncli_ulong_parse(s, 1, (unsigned long)MAX_TIMEOUT_MS * 1000, &opt->deadline_us) != 0)
            return usage_error("bad --deadline-us '%s' (expected 1 to %lu)", s,
                               (unsigned long)MAX_TIMEOUT_MS * 1000);
    } else {
        return ncli_option_error(PROG, argv[*i], missing);
    }
    return 0;
}

/* Parse all options; -1 to exit with *status. */
static int options_parse(int argc, char **argv, struct options *opt, int *status)
{
    *status = EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            *status = EXIT_SUCCESS;
            return -1;
        }
        if (option_parse(argc, argv, &i, opt) != 0)
            return -1;
    }
    const char *missing = opt->target_len == 0 ? "--target IP:PORT"
                          : opt->payload == NULL ? "--payload TEXT" : NULL;
    if (missing != NULL) {
        usage_error("%s is required", missing);
        return -1;
    }
    if (opt->requests == 0 && opt->duration_s == 0)
        opt->requests = DEFAULT_REQUESTS;
    if (opt->duration_s == 0)
        opt->duration_s = DEFAULT_DURATION_S;
    return 0;
}

/* ===== main ============================================================= */

/* Room for CONCURRENCY sockets, raising the soft descriptor limit if the
 * hard one allows. */
static void fd_limit_raise(unsigned concurrency)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)concurrency + 16;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static int load_init(struct load *L, const struct options *opt)
{
    L->opt = opt;
    L->inflight.next = L->inflight.prev = &L->inflight;
    L->timeout_ns = (uint64_t)opt->timeout_ms * 1000000u;
    L->epfd = epoll_create1(EPOLL_CLOEXEC);
    L->slots = calloc(opt->concurrency, sizeof *L->slots);
    if (L->epfd < 0 || L->slots == NULL) {
        fprintf(stderr, "loadgen: %s\n", strerror(errno));
        return -1;
    }
    for (unsigned i = 0; i < opt->concurrency; i++)
        L->slots[i].fd = -1;
    for (unsigned i = 0; i < opt->concurrency; i++) {
        if (slot_open(L, &L->slots[i]) != 0)
            return -1;
    }
    return 0;
}

static void load_deinit(struct load *L)
{
    for (unsigned i = 0; L->slots != NULL && i < L->opt->concurrency; i++) {
        if (L->slots[i].fd >= 0)
            close(L->slots[i].fd);
    }
    free(L->slots);
    if (L->epfd >= 0)
        close(L->epfd);
}

int main(int argc, char **argv)
{
    struct options opt = {.concurrency = 1, .timeout_ms = DEFAULT_TIMEOUT_MS};
    int status;
    if (options_parse(argc, argv, &opt, &status) != 0)
        return status;
    struct sigaction sa = {.sa_handler = on_sigint};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    fd_limit_raise(opt.concurrency);
    fprintf(stderr, "loadgen: %s, %u in flight, ", opt.target_text, opt.concurrency);
    if (opt.requests > 0)
        fprintf(stderr, "%lu requests or %.3g s", opt.requests, opt.duration_s);
    else
        fprintf(stderr, "%.3g s", opt.duration_s);
    fprintf(stderr, ", timeout %u ms\n", opt.timeout_ms);
    static struct load L = {.epfd = -1};    /* a 64 KiB buffer: not on the stack */
    status = EXIT_USAGE;
    if (load_init(&L, &opt) == 0 && load_run(&L) == 0) {
        report(&L);
        status = L.ok == L.sent ? EXIT_SUCCESS : EXIT_FAIL;
    }
    load_deinit(&L);
    return status;
}
