/* wc: counts the lines, words and bytes of files in its preopened
 * directory, like wc(1): `wc FILE...` prints "LINES WORDS BYTES FILE" for
 * each. A file it cannot open is reported on stderr and makes it exit 1.
 * Under awsmrt the module's "dirs" preopen examples/data as /data. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int count(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "wc: %s: %s\n", path, strerror(errno));
        return 1;
    }
    unsigned long lines = 0, words = 0, bytes = 0;
    int c, in_word = 0;
    while ((c = getc(f)) != EOF) {
        bytes++;
        lines += c == '\n';
        if (isspace(c))
            in_word = 0;
        else if (!in_word++)
            words++;
    }
    fclose(f);
    printf("%lu %lu %lu %s\n", lines, words, bytes, path);
    return 0;
}

int main(int argc, char **argv)
{
    int status = 0;
    for (int i = 1; i < argc; i++)
        status |= count(argv[i]);
    return status;
}
