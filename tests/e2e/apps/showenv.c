/* showenv: prints its arguments ("argv[1]=..."), then its environment,
 * one entry per line, then how many bytes of stdin it read. */
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    for (char **e = environ; *e; e++)
        printf("%s\n", *e);
    size_t n = 0;
    char buf[4096];
    for (size_t k; (k = fread(buf, 1, sizeof buf, stdin)) > 0;)
        n += k;
    printf("stdin=%zu\n", n);
    return 0;
}
