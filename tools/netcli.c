/*
 * tools/netcli.c - the pieces udpclient, loadgen and udp_echo share: option
 * values, usage errors, numbers and numeric addresses (see netcli.h).
 */
#include "tools/netcli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ncli_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    return NCLI_EXIT_USAGE;
}

const char *ncli_option_value(int argc, char **argv, int *i, const char *name,
                              const char *short_name, bool *missing)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) == 0 && arg[n] == '=')
        return arg + n + 1;
    if (strcmp(arg, name) != 0 && (short_name == NULL || strcmp(arg, short_name) != 0))
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int ncli_option_error(const char *prog, const char *arg, bool missing)
{
    if (missing)
        return ncli_usage_error(prog, "option '%s' needs a value", arg);
    return ncli_usage_error(prog, "unknown option '%s'", arg);
}

int ncli_ulong_parse(const char *s, unsigned long min, unsigned long max,
                     unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* ===== Addresses ======================================================== */

/* Split TEXT into HOST (NCLI_ADDR_MAX bytes), whether it is bracketed IPv6,
 * and where the port starts. */
static enum ncli_addr_error addr_split(const char *text, char *host, bool *v6,
                                       const char **port)
{
    if (strlen(text) >= NCLI_ADDR_MAX)
        return NCLI_ADDR_TOO_LONG;
    *v6 = text[0] == '[';
    const char *end = *v6 ? strchr(text, ']') : strrchr(text, ':');
    if (end == NULL || (*v6 && end[1] != ':'))
        return *v6 ? NCLI_ADDR_NO_BRACKET : NCLI_ADDR_NO_COLON;
    size_t n = (size_t)(end - text) - *v6;
    memcpy(host, text + *v6, n);
    host[n] = '\0';
    *port = end + 1 + *v6;
    return NCLI_ADDR_OK;
}

/* NCLI_PORT_DIGITS is ncli_ulong_parse without the blanks and the '+'. */
static int port_parse(const char *s, enum ncli_port_rule rule, uint16_t *port)
{
    unsigned long v;
    if (rule == NCLI_PORT_DIGITS && (s[0] < '0' || s[0] > '9'))
        return -1;
    if (ncli_ulong_parse(s, 1, 65535, &v) != 0)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static enum ncli_addr_error addr_fill(const char *host, bool v6, uint16_t port,
                                      struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return NCLI_ADDR_BAD_IPV6;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        *len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return NCLI_ADDR_BAD_IPV4;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        *len = sizeof *a;
    }
    return NCLI_ADDR_OK;
}

enum ncli_addr_error ncli_addr_parse(const char *text, enum ncli_port_rule rule,
                                     struct sockaddr_storage *ss, socklen_t *len)
{
    char host[NCLI_ADDR_MAX];
    const char *port_text;
    bool v6;
    uint16_t port;
    enum ncli_addr_error e = addr_split(text, host, &v6, &port_text);
    if (e != NCLI_ADDR_OK)
        return e;
    if (port_parse(port_text, rule, &port) != 0)
        return NCLI_ADDR_BAD_PORT;
    return addr_fill(host, v6, port, ss, len);
}

bool ncli_addr_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

int ncli_loopback_socket(const char *prog, bool ipv6, int type, bool reuseport,
                         int backlog, unsigned *port)
{
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)*port),
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    struct sockaddr *a = ipv6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4;
    socklen_t len = ipv6 ? sizeof a6 : sizeof a4;
    int one = 1;
    int fd = socket(ipv6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        bind(fd, a, len) != 0 || (type == SOCK_STREAM && listen(fd, backlog) != 0) ||
        getsockname(fd, a, &len) != 0) {
        fprintf(stderr, "%s: cannot listen on %s port %u: %s\n", prog,
                ipv6 ? "::1" : "127.0.0.1", *port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(ipv6 ? a6.sin6_port : a4.sin_port);
    return fd;
}
