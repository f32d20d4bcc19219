/*
 * tools/udpclient.c - send the requests of a file to awsmrt, one datagram
 * each, and print the replies with their round-trip time.
 *
 * A request line is the original aWsm format, IP:PORT$JSON:
 *
 *   127.0.0.1:10000${"module":"fib","args":["10"]}
 *   [::1]:10000${"module":"echo","args":[],"stdin":"hi"}
 *
 * Lines starting with ';' are comments, blank lines are ignored. The JSON is
 * sent as it is (the server validates it). Every request gets its own
 * connected socket, so a late reply to an earlier request can never be taken
 * for the reply to this one, and an ICMP "port unreachable" shows up at once
 * as "connection refused" instead of a timeout.
 *
 * Exit status: 0 every request was answered, 1 a line was malformed or a
 * request got no reply, 2 usage error or unreadable file.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tools/netcli.h"

#define UDPCLIENT_VERSION "0.1.0"

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Named limits. IPv4 caps a UDP payload at 65535 - 8 (UDP) - 20 (IP);
 * IPv6 would allow 20 bytes more, but awsmrt listens on both. */
enum {
    MAX_DATAGRAM = 65507,
    DEFAULT_TIMEOUT_MS = 5000,
    MAX_TIMEOUT_MS = 3600 * 1000,
    MAX_ADDRESS = NCLI_ADDR_MAX, /* "[IPv6]:PORT" fits easily */
    SHOW_REQUEST_MAX = 300,     /* longer requests are shown truncated */
};

static const char usage_text[] =
    "usage: udpclient [OPTIONS] FILE|-\n"
    "\n"
    "Send each request line of FILE (- reads standard input) to awsmrt as one\n"
    "UDP datagram and print the reply and its round-trip time. A line is\n"
    "  IP:PORT$JSON        e.g. 127.0.0.1:10000${\"module\":\"fib\",\"args\":[\"10\"]}\n"
    "  [IPv6]:PORT$JSON    e.g. [::1]:10000${\"module\":\"fib\",\"args\":[\"10\"]}\n"
    "Lines starting with ';' are comments; blank lines are ignored. The JSON is\n"
    "not checked here. A request may be at most 65507 bytes (one datagram).\n"
    "\n"
    "Before each request udpclient asks 'send? [y]es / [s]kip / [q]uit' on the\n"
    "terminal (Enter sends). With FILE it asks only when standard input is a\n"
    "terminal; with - (requests on standard input) it asks on /dev/tty. When\n"
    "there is no terminal to ask on (pipes, cron, CI) every request is sent,\n"
    "as with --yes, and a note says so.\n"
    "\n"
    "options:\n"
    "  -y, --yes            send every request without asking\n"
    "  -t, --timeout MS     wait at most MS milliseconds for each reply\n"
    "                       (default 5000); then report a timeout and go on\n"
    "  -h, --help           show this help\n"
    "  --version            show the version\n"
    "\n"
    "Output: each request as 'FILE:LINE -> ADDRESS JSON', its reply as\n"
    "'<- RTT ms JSON' on standard output; malformed lines, timeouts and\n"
    "refusals as 'FILE:LINE: message' and a summary on standard error.\n"
    "\n"
    "Exit status: 0 every request sent was answered, 1 a line was malformed\n"
    "or a request got no reply, 2 usage error or unreadable file.\n";

struct options {
    bool yes;
    int timeout_ms;
    const char *path;           /* "-" for standard input */
};

/* One parsed request line. json points into the line buffer. */
struct request {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char where[MAX_ADDRESS];    /* the address as written, for messages */
    const char *json;
    size_t len;
};

struct counts {
    unsigned long sent, replies, timeouts, refused, failed, malformed, skipped;
};

enum outcome { OUT_REPLY, OUT_TIMEOUT, OUT_REFUSED, OUT_ERROR };
enum answer { ANSWER_SEND, ANSWER_SKIP, ANSWER_QUIT };

/* The terminal the questions are asked on; NULL when nobody is asked. */
struct prompt {
    FILE *in, *out;
};

#define PROG "udpclient"
#define usage_error(...) ncli_usage_error(PROG, __VA_ARGS__)

/* Diagnostics about one line of the input, compiler style. Standard output
 * is flushed first so the two streams interleave right on a terminal. */
__attribute__((format(printf, 3, 4)))
static void line_error(const char *file, unsigned long line, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s:%lu: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ===== Options ========================================================== */

static int parse_timeout(const char *s, int *out)
{
    unsigned long v;
    if (ncli_ulong_parse(s, 1, MAX_TIMEOUT_MS, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}

/* Returns -1 to exit with *status (help, version, usage errors), else 0. */
static int options_parse(int argc, char **argv, struct options *opt, int *status)
{
    int i;
    *status = EXIT_USAGE;
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        bool missing = false;
        const char *v;
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            *status = EXIT_SUCCESS;
            return -1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("udpclient %s\n", UDPCLIENT_VERSION);
            *status = EXIT_SUCCESS;
            return -1;
        } else if (strcmp(argv[i], "-y") == 0 || strcmp(argv[i], "--yes") == 0) {
            opt->yes = true;
        } else if ((v = ncli_option_value(argc, argv, &i, "--timeout", "-t", &missing))) {
            if (parse_timeout(v, &opt->timeout_ms) != 0) {
                usage_error("bad --timeout '%s': expected milliseconds, 1 to %d",
                            v, MAX_TIMEOUT_MS);
                return -1;
            }
        } else {
            ncli_option_error(PROG, argv[i], missing);
            return -1;
        }
    }
    if (i >= argc) {
        usage_error("no request file (use - for standard input)");
        return -1;
    }
    if (i + 1 < argc) {
        usage_error("one request file only, got '%s' too", argv[i + 1]);
        return -1;
    }
    opt->path = argv[i];
    return 0;
}

/* ===== Parsing a request line =========================================== */

/* What is wrong with a request's address, by ncli_addr_parse's answer. */
static const char *const address_errors[] = {
    [NCLI_ADDR_TOO_LONG] = "address too long (expected IP:PORT$JSON)",
    [NCLI_ADDR_NO_BRACKET] = "bad address (expected [IPv6]:PORT$JSON)",
    [NCLI_ADDR_NO_COLON] = "expected IP:PORT$JSON",
    [NCLI_ADDR_BAD_PORT] = "bad port (expected 1 to 65535)",
    [NCLI_ADDR_BAD_IPV4] = "bad IPv4 address (expected IP:PORT$JSON; names are "
                           "not resolved)",
    [NCLI_ADDR_BAD_IPV6] = "bad IPv6 address",
};

/* Parse LINE (LEN bytes, without its newline) into *rq. Returns NULL, or
 * the problem as a static message (the caller names file and line). */
static const char *request_parse(const char *line, size_t len, struct request *rq)
{
    rq->where[0] = '\0';
    const char *dollar = memchr(line, '$', len);
    if (dollar == NULL)
        return "expected IP:PORT$JSON";
    const char *a = line, *e = dollar;
    while (a < e && (*a == ' ' || *a == '\t'))
        a++;
    while (e > a && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (a == e)
        return "expected IP:PORT$JSON (no address before '$')";
    if ((size_t)(e - a) >= sizeof rq->where)
        return address_errors[NCLI_ADDR_TOO_LONG];
    memcpy(rq->where, a, (size_t)(e - a));
    rq->where[e - a] = '\0';
    enum ncli_addr_error err = ncli_addr_parse(rq->where, NCLI_PORT_DIGITS, &rq->addr,
                                               &rq->addrlen);
    if (err != NCLI_ADDR_OK)
        return address_errors[err];
    rq->json = dollar + 1;
    rq->len = len - (size_t)(rq->json - line);
    if (rq->len == 0)
        return "empty request after '$'";
    return NULL;
}

/* ===== Sending ========================================================== */

/* Wait until FD is readable or the deadline passes; 0 readable, -1 timeout. */
static int wait_readable(int fd, double deadline)
{
    for (;;) {
        double left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)(left + 0.999));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return 0;               /* let recv report the error */
    }
}

static enum outcome errno_outcome(int e)
{
    return e == ECONNREFUSED ? OUT_REFUSED : OUT_ERROR;
}

/* Send RQ as one datagram and wait for one reply into BUF (SIZE bytes).
 * On OUT_REPLY *n is the reply's full length (more than SIZE if truncated)
 * and *rtt its round-trip time; on OUT_ERROR *err is the errno. */
static enum outcome request_send(const struct request *rq, int timeout_ms,
                                 char *buf, size_t size, size_t *n, double *rtt,
                                 int *err)
{
    int fd = socket(rq->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)&rq->addr, rq->addrlen) != 0) {
        *err = errno;
        if (fd >= 0)
            close(fd);
        return OUT_ERROR;
    }
    enum outcome out = OUT_REPLY;
    double t0 = now_ms();
    ssize_t r = send(fd, rq->json, rq->len, 0);
    if (r < 0) {
        *err = errno;
        out = errno_outcome(errno);
    } else if (wait_readable(fd, t0 + timeout_ms) != 0) {
        out = OUT_TIMEOUT;
    } else if ((r = recv(fd, buf, size, MSG_TRUNC)) < 0) {
        *err = errno;
        out = errno_outcome(errno);
    } else {
        *rtt = now_ms() - t0;
        *n = (size_t)r;
    }
    close(fd);
    return out;
}

/* ===== Showing ========================================================== */

/* Write N bytes of a request or reply: control characters other than
 * newline and tab as \xNN, so a stray reply cannot drive the terminal. */
static void show_bytes(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static void show_request(const char *file, unsigned long line, const struct request *rq)
{
    printf("%s:%lu -> %s ", file, line, rq->where);
    if (rq->len <= SHOW_REQUEST_MAX) {
        show_bytes(rq->json, rq->len);
    } else {
        show_bytes(rq->json, SHOW_REQUEST_MAX);
        printf("... (%zu bytes)", rq->len);
    }
    putchar('\n');
}

static void show_reply(const char *buf, size_t n, size_t size, double rtt)
{
    size_t shown = n < size ? n : size;
    printf("<- %.3f ms ", rtt);
    show_bytes(buf, shown);
    if (n > size)
        printf("... (truncated, %zu bytes)", n);
    if (n > size || shown == 0 || buf[shown - 1] != '\n')
        putchar('\n');
}

/* ===== Asking =========================================================== */

/* Open the terminal to ask on, or leave *p empty when nobody can be asked
 * (see the help text for the rule). */
static void prompt_open(const struct options *opt, struct prompt *p)
{
    p->in = p->out = NULL;
    if (opt->yes)
        return;
    bool from_stdin = strcmp(opt->path, "-") == 0;
    if (from_stdin || isatty(STDIN_FILENO)) {
        p->in = fopen("/dev/tty", "re");
        p->out = p->in != NULL ? fopen("/dev/tty", "we") : NULL;
    }
    if (p->out == NULL) {
        if (p->in != NULL)
            fclose(p->in);
        p->in = NULL;
        fputs("udpclient: no terminal to ask on; sending every request "
              "(as with --yes)\n", stderr);
    }
}

static void prompt_close(struct prompt *p)
{
    if (p->in != NULL) {
        fclose(p->in);
        fclose(p->out);
    }
}

/* Ask until the answer is understood; end of input on the terminal quits. */
static enum answer prompt_ask(struct prompt *p)
{
    char buf[64];
    for (;;) {
        fputs("send? [y]es / [s]kip / [q]uit ", p->out);
        fflush(p->out);
        if (fgets(buf, sizeof buf, p->in) == NULL) {
            fputc('\n', p->out);
            return ANSWER_QUIT;
        }
        if (strchr(buf, '\n') == NULL) {     /* drop the rest of a long line */
            int c;
            while ((c = getc(p->in)) != EOF && c != '\n')
                ;
        }
        const char *s = buf;
        while (*s == ' ' || *s == '\t')
            s++;
        switch (*s) {
        case '\n': case '\0': case 'y': case 'Y':
            return ANSWER_SEND;
        case 's': case 'S': case 'n': case 'N':
            return ANSWER_SKIP;
        case 'q': case 'Q':
            return ANSWER_QUIT;
        }
        fputs("please answer y (or Enter), s or q\n", p->out);
    }
}

/* ===== The loop over the lines ========================================== */

struct session {
    const char *file;           /* the name used in messages */
    const struct options *opt;
    struct prompt prompt;
    struct counts count;
    char reply[65536];
};

static void request_run(struct session *s, unsigned long line, const struct request *rq)
{
    size_t n = 0;
    double rtt = 0;
    int err = 0;
    s->count.sent++;
    enum outcome out = request_send(rq, s->opt->timeout_ms, s->reply,
                                    sizeof s->reply, &n, &rtt, &err);
    switch (out) {
    case OUT_REPLY:
        s->count.replies++;
        show_reply(s->reply, n, sizeof s->reply, rtt);
        break;
    case OUT_TIMEOUT:
        s->count.timeouts++;
        line_error(s->file, line, "timeout: no reply from %s within %d ms",
                   rq->where, s->opt->timeout_ms);
        break;
    case OUT_REFUSED:
        s->count.refused++;
        line_error(s->file, line, "no reply: %s refused the datagram "
                   "(nobody listening on that port)", rq->where);
        break;
    case OUT_ERROR:
        s->count.failed++;
        line_error(s->file, line, "cannot send to %s: %s", rq->where, strerror(err));
        break;
    }
    fflush(stdout);
}

/* Handle one input line (newline removed). Returns false to quit. */
static bool line_handle(struct session *s, unsigned long line, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    if (i == len || text[i] == ';')
        return true;
    struct request rq;
    const char *msg = request_parse(text, len, &rq);
    if (msg == NULL && rq.len > MAX_DATAGRAM) {
        line_error(s->file, line, "request is %zu bytes; a UDP datagram holds "
                   "at most %d", rq.len, MAX_DATAGRAM);
        s->count.malformed++;
        return true;
    }
    if (msg != NULL) {
        if (rq.where[0] != '\0')
            line_error(s->file, line, "'%s': %s", rq.where, msg);
        else
            line_error(s->file, line, "%s", msg);
        s->count.malformed++;
        return true;
    }
    show_request(s->file, line, &rq);
    fflush(stdout);
    enum answer a = s->prompt.in != NULL ? prompt_ask(&s->prompt) : ANSWER_SEND;
    if (a == ANSWER_QUIT)
        return false;
    if (a == ANSWER_SKIP) {
        s->count.skipped++;
        return true;
    }
    request_run(s, line, &rq);
    return true;
}

static void session_summary(const struct session *s)
{
    const struct counts *c = &s->count;
    fprintf(stderr, "udpclient: %lu sent, %lu answered", c->sent, c->replies);
    if (c->timeouts > 0)
        fprintf(stderr, ", %lu timed out", c->timeouts);
    if (c->refused > 0)
        fprintf(stderr, ", %lu refused", c->refused);
    if (c->failed > 0)
        fprintf(stderr, ", %lu failed to send", c->failed);
    if (c->skipped > 0)
        fprintf(stderr, ", %lu skipped", c->skipped);
    if (c->malformed > 0)
        fprintf(stderr, ", %lu malformed line%s", c->malformed,
                c->malformed == 1 ? "" : "s");
    fputc('\n', stderr);
}

static int session_run(struct session *s, FILE *in)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long line = 0;
    while ((len = getline(&buf, &cap, in)) >= 0) {
        line++;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            len--;
        if (!line_handle(s, line, buf, (size_t)len))
            break;
    }
    int read_error = ferror(in) ? errno : 0;
    free(buf);
    fflush(stdout);
    if (read_error != 0) {
        fprintf(stderr, "udpclient: error reading %s: %s\n", s->file,
                strerror(read_error));
        return EXIT_USAGE;
    }
    session_summary(s);
    const struct counts *c = &s->count;
    return c->malformed + c->timeouts + c->refused + c->failed > 0 ? EXIT_FAIL
                                                                  : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    struct options opt = {.timeout_ms = DEFAULT_TIMEOUT_MS};
    int status;
    if (options_parse(argc, argv, &opt, &status) != 0)
        return status;
    bool from_stdin = strcmp(opt.path, "-") == 0;
    FILE *in = from_stdin ? stdin : fopen(opt.path, "re");
    if (in == NULL) {
        fprintf(stderr, "udpclient: cannot open %s: %s\n", opt.path, strerror(errno));
        return EXIT_USAGE;
    }
    static struct session s;        /* 64 KiB reply buffer: not on the stack */
    s.file = from_stdin ? "<stdin>" : opt.path;
    s.opt = &opt;
    prompt_open(&opt, &s.prompt);
    status = session_run(&s, in);
    prompt_close(&s.prompt);
    if (!from_stdin)
        fclose(in);
    return status;
}
