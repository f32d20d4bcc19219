/*
 * tests/toolchain/exit.c - the ways an emscripten program ends, chosen by
 * argv[1]:
 *
 *   return N     main returns N (emscripten's _start passes it to exit)
 *   exit N       exit(N): atexit handlers run, then stdio is flushed
 *   proc_exit N  __wasi_proc_exit(N) directly: no atexit, no flush
 *   abort        abort(), which emscripten's standalone libc makes _Exit(1)
 *   trap         an integer division by zero two calls below main: a trap
 *
 * run.sh builds this one with -O1 --profiling-funcs, so that binaryen keeps
 * divide and compute_quotient as functions and the name section, and checks
 * the backtrace of `awsm run -O0` (awsmc's -O2 inlines them into main).
 *
 * Output goes through stdio's buffer on purpose, without newlines where
 * that shows whether it was flushed. run.sh checks status and output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

static void at_exit(void)
{
    printf(", atexit ran\n");
}

__attribute__((noinline)) static int divide(int a, int b)
{
    return a / b;
}

__attribute__((noinline)) int compute_quotient(int x)
{
    volatile int zero = 0;
    return divide(x, zero) + 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: exit return|exit|proc_exit N | abort | trap\n");
        return 2;
    }
    const char *mode = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 0;
    atexit(at_exit);
    printf("before %s", mode);       /* no newline: stays in the buffer */
    if (strcmp(mode, "return") == 0)
        return n;
    if (strcmp(mode, "exit") == 0)
        exit(n);
    if (strcmp(mode, "proc_exit") == 0) {
        printf(" (flushed by hand)\n");
        fflush(stdout);
        printf("lost in the buffer");  /* never flushed */
        __wasi_proc_exit((__wasi_exitcode_t)n);
    }
    if (strcmp(mode, "abort") == 0) {
        printf("\n");
        fflush(stdout);
        abort();
    }
    if (strcmp(mode, "trap") == 0) {
        printf("\n");
        fflush(stdout);
        printf("result %d\n", compute_quotient(argc));
        return 0;
    }
    printf(": unknown mode\n");
    return 2;
}
