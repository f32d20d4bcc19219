/*
 * bench/serve/udp_echo.c - a native UDP server that answers every datagram
 * at once: the physical limit awsmrt is compared against in the serving
 * benchmark (same kernel path, no JSON, no sandbox).
 *
 * It receives with recvmmsg and answers with sendmmsg, up to BATCH
 * datagrams per system call, on one blocking loop. SIGINT and SIGTERM are
 * blocked except inside ppoll, so a stop request can never be lost between
 * checking a flag and going to sleep; under load, where the socket never
 * runs dry, a zero-timeout ppoll every STOP_CHECK batches lets them in.
 *
 * Exit status: 0 stopped by a signal, 1 socket error, 2 usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/netcli.h"

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

enum {
    BATCH = 64,                 /* datagrams per recvmmsg / sendmmsg */
    BUF_SIZE = 65536,           /* any UDP datagram fits */
    MAX_REPLY = 65507,          /* the largest IPv4 UDP payload */
    STOP_CHECK = 64,            /* batches between signal checks under load */
};

static const char usage_text[] =
    "usage: udp_echo [OPTIONS]\n"
    "\n"
    "A UDP server on 127.0.0.1 that answers every datagram at once, the\n"
    "baseline awsmrt is compared against. The first line on standard output\n"
    "is the bound port number (useful with --port 0); the rest of the talk\n"
    "goes to standard error. SIGINT or SIGTERM stop it (exit status 0).\n"
    "\n"
    "options:\n"
    "  -p, --port P        the port to listen on (default 0: any free port)\n"
    "  -r, --reply TEXT    answer with TEXT instead of echoing the datagram,\n"
    "                      e.g. '{\"status\":\"ok\",\"exit_code\":0,\"stdout\":\"55\\n\"}'\n"
    "  -d, --drop N        leave every Nth datagram unanswered (1: all), to\n"
    "                      test how clients handle lost replies\n"
    "  -6, --ipv6          listen on ::1 instead of 127.0.0.1\n"
    "  -h, --help          show this help\n";

struct options {
    unsigned port;
    const char *reply;          /* NULL: echo */
    size_t reply_len;
    unsigned long drop;         /* 0: answer everything */
    bool ipv6;
};

struct server {
    int fd;
    const struct options *opt;
    unsigned long received, answered, dropped, send_errors;
    struct mmsghdr in[BATCH], out[BATCH];
    struct iovec in_iov[BATCH], out_iov[BATCH];
    struct sockaddr_storage peer[BATCH];
    char buf[BATCH][BUF_SIZE];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

#define PROG "udp_echo"
#define usage_error(...) ncli_usage_error(PROG, __VA_ARGS__)

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
    } else if ((s = ncli_option_value(argc, argv, i, "--reply", "-r", &missing))) {
        opt->reply = s;
        opt->reply_len = strlen(s);
        if (opt->reply_len > MAX_REPLY)
            return usage_error("--reply is %zu bytes; a datagram holds at most %d",
                               opt->reply_len, MAX_REPLY), -1;
    } else if ((s = ncli_option_value(argc, argv, i, "--drop", "-d", &missing))) {
        if (ncli_ulong_parse(s, 1, 1000000000, &v) != 0)
            return usage_error("bad --drop '%s' (expected N >= 1)", s);
        opt->drop = v;
    } else {
        return ncli_option_error(PROG, argv[*i], missing);
    }
    return 0;
}

/* ===== The socket ======================================================= */

/* Bind the listening socket; prints the port on stdout. -1 on error. */
static int server_bind(const struct options *opt)
{
    unsigned port = opt->port;
    int fd = ncli_loopback_socket(PROG, opt->ipv6, SOCK_DGRAM, false, 0, &port);
    if (fd < 0)
        return -1;
    printf("%u\n", port);
    fflush(stdout);
    fprintf(stderr, "udp_echo: listening on %s%s%s:%u, ", opt->ipv6 ? "[" : "",
            opt->ipv6 ? "::1" : "127.0.0.1", opt->ipv6 ? "]" : "", port);
    if (opt->reply != NULL)
        fprintf(stderr, "answering with a fixed %zu-byte reply", opt->reply_len);
    else
        fputs("echoing", stderr);
    if (opt->drop == 1)
        fputs(", leaving every datagram unanswered", stderr);
    else if (opt->drop > 1)
        fprintf(stderr, ", leaving 1 in %lu datagrams unanswered", opt->drop);
    fputc('\n', stderr);
    return fd;
}

/* Block SIGINT and SIGTERM, install their handler, and put the mask to use
 * inside ppoll into *open_mask. */
static void signals_setup(sigset_t *open_mask)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, open_mask);
    sigdelset(open_mask, SIGINT);
    sigdelset(open_mask, SIGTERM);
}

/* ===== The loop ========================================================= */

static void batch_prepare(struct server *s)
{
    for (int i = 0; i < BATCH; i++) {
        s->in_iov[i] = (struct iovec){.iov_base = s->buf[i], .iov_len = BUF_SIZE};
        s->in[i].msg_hdr = (struct msghdr){
            .msg_name = &s->peer[i], .msg_namelen = sizeof s->peer[i],
            .msg_iov = &s->in_iov[i], .msg_iovlen = 1};
    }
}

/* Send the N replies in s->out; a datagram the kernel refuses is counted
 * and skipped. */
static void batch_send(struct server *s, int n)
{
    int i = 0;
    while (i < n) {
        int r = sendmmsg(s->fd, s->out + i, (unsigned)(n - i), 0);
        if (r > 0) {
            i += r;
            s->answered += (unsigned long)r;
        } else if (r == 0 || errno != EINTR) {
            s->send_errors++;
            i++;
        }
    }
}

/* Answer the N datagrams just received into s->in. */
static void batch_answer(struct server *s, int n)
{
    const struct options *opt = s->opt;
    int k = 0;
    for (int i = 0; i < n; i++) {
        s->received++;
        if (opt->drop > 0 && s->received % opt->drop == 0) {
            s->dropped++;
            continue;
        }
        if (opt->reply != NULL)
            s->out_iov[k] = (struct iovec){.iov_base = (void *)opt->reply,
                                           .iov_len = opt->reply_len};
        else
            s->out_iov[k] = (struct iovec){.iov_base = s->buf[i],
                                           .iov_len = s->in[i].msg_len};
        s->out[k].msg_hdr = (struct msghdr){
            .msg_name = &s->peer[i], .msg_namelen = s->in[i].msg_hdr.msg_namelen,
            .msg_iov = &s->out_iov[k], .msg_iovlen = 1};
        k++;
    }
    batch_send(s, k);
    for (int i = 0; i < n; i++)
        s->in[i].msg_hdr.msg_namelen = sizeof s->peer[i];
}

/* Sleep until the socket is readable or a signal comes (TIMEOUT NULL), or
 * just let pending signals in (TIMEOUT zero). */
static void wait_input(int fd, const sigset_t *open_mask, const struct timespec *timeout)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ppoll(&p, 1, timeout, open_mask);
}

static int server_run(struct server *s, const sigset_t *open_mask)
{
    static const struct timespec zero = {0, 0};
    unsigned long batches = 0;
    batch_prepare(s);
    while (stop_signal == 0) {
        int n = recvmmsg(s->fd, s->in, BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                fprintf(stderr, "udp_echo: receive failed: %s\n", strerror(errno));
                return EXIT_FAIL;
            }
            wait_input(s->fd, open_mask, NULL);
            continue;
        }
        batch_answer(s, n);
        if (++batches % STOP_CHECK == 0)
            wait_input(s->fd, open_mask, &zero);
    }
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    struct options opt = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return EXIT_SUCCESS;
        }
        if (option_parse(argc, argv, &i, &opt) != 0)
            return EXIT_USAGE;
    }
    sigset_t open_mask;
    signals_setup(&open_mask);
    static struct server s;         /* 4 MiB of buffers: not on the stack */
    s.opt = &opt;
    s.fd = server_bind(&opt);
    if (s.fd < 0)
        return EXIT_FAIL;
    int status = server_run(&s, &open_mask);
    close(s.fd);
    if (stop_signal != 0)
        fprintf(stderr, "udp_echo: stopped by %s: ",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    else
        fputs("udp_echo: ", stderr);
    fprintf(stderr, "%lu datagrams received, %lu answered, %lu left unanswered",
            s.received, s.answered, s.dropped);
    if (s.send_errors > 0)
        fprintf(stderr, ", %lu could not be sent", s.send_errors);
    fputc('\n', stderr);
    return status;
}
