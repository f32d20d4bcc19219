/*
 * tests/wasi/stdin.c - stdin from the host: run.sh pipes two lines in and
 * expects them back in upper case, then end of file (read returns 0, and
 * again after that).
 */
#include <ctype.h>
#include <unistd.h>

#include "check.h"

int main(void)
{
    char buf[256];
    size_t len = 0;
    ssize_t n;
    while ((n = read(0, buf + len, sizeof buf - len)) > 0)
        len += (size_t)n;
    CHECK("read to end of file", n == 0);
    CHECK("end of file stays", read(0, buf, 1) == 0);
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)toupper((unsigned char)buf[i]);
    printf("%.*s", (int)len, buf);
    return DONE();
}
