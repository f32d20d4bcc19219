/* echo: copies its standard input to its standard output. Under awsmrt the
 * request's "stdin" comes back as the reply's "stdout". */
#include <stdio.h>

int main(void)
{
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        if (fwrite(buf, 1, n, stdout) != n)
            return 1;
    return ferror(stdin) ? 1 : 0;
}
