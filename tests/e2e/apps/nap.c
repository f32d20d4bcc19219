/* nap: sleeps for the given number of milliseconds (poll_oneoff with a
 * clock subscription), then prints how long it slept. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv)
{
    long ms = argc > 1 ? atol(argv[1]) : 100;
    struct timespec a, b, d = { ms / 1000, (ms % 1000) * 1000000L };
    clock_gettime(CLOCK_MONOTONIC, &a);
    nanosleep(&d, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long slept = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("slept %s\n", slept >= ms ? "enough" : "too little");
    return 0;
}
