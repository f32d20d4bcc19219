/*
 * tools/netcli.h - what the small UDP command-line tools share: udpclient,
 * and the serving benchmark's loadgen and udp_echo. Option values, usage
 * errors, numbers, and numeric IP:PORT / [IPv6]:PORT addresses. libc only.
 *
 * Address errors come back as codes, not text: each tool words them for its
 * own input (a request line, a --target option).
 */
#ifndef AWSM_NETCLI_H
#define AWSM_NETCLI_H

#include <stdbool.h>
#include <sys/socket.h>

/* The exit status of a usage error, as ncli_usage_error returns it. */
enum { NCLI_EXIT_USAGE = 2 };

/* An address text must be shorter than this ("[IPv6]:PORT" fits easily). */
enum { NCLI_ADDR_MAX = 64 };

/* Print "PROG: MESSAGE" and "Try 'PROG --help'." on standard error.
 * Returns NCLI_EXIT_USAGE. */
__attribute__((format(printf, 2, 3)))
int ncli_usage_error(const char *prog, const char *fmt, ...);

/* The value of option NAME given as "NAME VALUE", "SHORT_NAME VALUE" or
 * "NAME=VALUE" at argv[*i], advancing *i past it; NULL when argv[*i] is
 * another option. SHORT_NAME may be NULL. *missing is set when the value is
 * absent (the option is the last argument). */
const char *ncli_option_value(int argc, char **argv, int *i, const char *name,
                              const char *short_name, bool *missing);

/* The usage error for ARG, an argument no option took: its value is MISSING
 * (as ncli_option_value said), or it is an unknown option. Returns
 * NCLI_EXIT_USAGE. */
int ncli_option_error(const char *prog, const char *arg, bool missing);

/* Parse S as a decimal number from MIN to MAX into *out, by strtoul's rules
 * (leading blanks and '+' allowed) but without a minus sign. 0 or -1. */
int ncli_ulong_parse(const char *s, unsigned long min, unsigned long max,
                     unsigned long *out);

/* How ncli_addr_parse reads the port. */
enum ncli_port_rule {
    NCLI_PORT_DIGITS,           /* decimal digits only */
    NCLI_PORT_STRTOUL,          /* as ncli_ulong_parse */
};

/* What is wrong with an address, in the order it is checked. */
enum ncli_addr_error {
    NCLI_ADDR_OK,
    NCLI_ADDR_TOO_LONG,         /* NCLI_ADDR_MAX characters or more */
    NCLI_ADDR_NO_BRACKET,       /* '[' without a following "]:" */
    NCLI_ADDR_NO_COLON,         /* no ':' before the port */
    NCLI_ADDR_BAD_PORT,         /* not 1 to 65535 */
    NCLI_ADDR_BAD_IPV4,         /* not a numeric IPv4 address (no names) */
    NCLI_ADDR_BAD_IPV6,         /* not a numeric IPv6 address */
};

/* Parse "IP:PORT" or "[IPv6]:PORT" into *ss and *len. Host names are not
 * resolved. On an error *ss is unspecified and *len is left alone. */
enum ncli_addr_error ncli_addr_parse(const char *text, enum ncli_port_rule rule,
                                     struct sockaddr_storage *ss, socklen_t *len);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. SS holds an AF_INET
 * or AF_INET6 address. */
bool ncli_addr_is_loopback(const struct sockaddr_storage *ss);

/* A socket of `type` (SOCK_DGRAM, or SOCK_STREAM, then listening with
 * `backlog`) bound to 127.0.0.1 or ::1 and *port (0: any free one; *port
 * is set to the one bound), with SO_REUSEPORT when `reuseport`. -1 on
 * error, after a message naming prog. */
int ncli_loopback_socket(const char *prog, bool ipv6, int type, bool reuseport,
                         int backlog, unsigned *port);

#endif
