/* fdhog: opens the file argv[1] (under a preopened directory) again and
 * again until open fails, then prints `opened N: STRERROR` and exits 0.
 * With `hold MS` after the path it then sleeps MS milliseconds holding
 * every fd (so another request can meet the process-wide limit), and
 * prints `held` before exiting. The fds are closed by the exit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: fdhog PATH [hold MS]\n");
        return 2;
    }
    unsigned n = 0;
    int err;
    for (;;) {
        if (open(argv[1], O_RDONLY) < 0) {
            err = errno;
            break;
        }
        n++;
    }
    printf("opened %u: %s\n", n, strerror(err));
    if (argc >= 4 && strcmp(argv[2], "hold") == 0) {
        long ms = atol(argv[3]);
        struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
        fflush(stdout);
        nanosleep(&d, NULL);
        printf("held\n");
    }
    return 0;
}
