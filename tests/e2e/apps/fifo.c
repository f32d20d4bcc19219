/* fifo: opens argv[1] (a path under a preopened directory, e.g. a FIFO)
 * and reads it to the end, then prints `read N: TEXT`; with `write TEXT`
 * after the path it opens it for writing instead, writes TEXT and prints
 * `wrote N`. On an error it prints `error: PATH: STRERROR` and exits 1.
 * Under awsmrt the open and the reads wait without holding the worker. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *path)
{
    printf("error: %s: %s\n", path, strerror(errno));
    return 1;
}

static int read_all(const char *path)
{
    char buf[4096];
    size_t len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return fail(path);
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0)
            return fail(path);
        if (n == 0 || (len += (size_t)n) == sizeof buf - 1)
            break;
    }
    close(fd);
    buf[len] = '\0';
    printf("read %zu: %s\n", len, buf);
    return 0;
}

static int write_all(const char *path, const char *text)
{
    size_t len = strlen(text), done = 0;
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return fail(path);
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0)
            return fail(path);
        done += (size_t)n;
    }
    close(fd);
    printf("wrote %zu\n", done);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: fifo PATH [write TEXT]\n");
        return 2;
    }
    if (argc >= 4 && strcmp(argv[2], "write") == 0)
        return write_all(argv[1], argv[3]);
    return read_all(argv[1]);
}
