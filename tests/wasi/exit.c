/*
 * tests/wasi/exit.c - how a program ends: run.sh checks awsm's exit
 * status for each mode given as argv[1]:
 *   exit42    exit(42) after buffered output (flushed by libc)   -> 42
 *   raw3      proc_exit(3) directly, nothing after it runs          -> 3
 *   return5   return 5 from main                                    -> 5
 *   zero      return 0                                              -> 0
 *   trap      unreachable: a trap, not an exit                    -> 134
 */
#include <stdlib.h>

#include "check.h"

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    printf("before exit\n");
    if (strcmp(mode, "exit42") == 0)
        exit(42);
    if (strcmp(mode, "raw3") == 0) {
        fflush(stdout);
        __wasi_proc_exit(3);
    }
    if (strcmp(mode, "return5") == 0)
        return 5;
    if (strcmp(mode, "zero") == 0)
        return 0;
    if (strcmp(mode, "trap") == 0) {
        fflush(stdout);
        __builtin_trap();
    }
    printf("after exit: unknown mode\n");
    return 99;
}
