/* timeit: run a command once and print its wall-clock time in seconds.
 *
 *   timeit [-t SECONDS] OUTFILE COMMAND [ARGS...]
 *
 * The command's stdout goes to OUTFILE (so the harness can check it), its
 * stderr is left alone. Prints the elapsed time, measured on the monotonic
 * clock around fork/exec/wait, so it includes the command's whole process:
 * start-up, loading, the program, exit. Exits with the command's status,
 * 128 + signal if it was killed, 124 if it ran past -t SECONDS (it is then
 * killed), 127 if it could not be started. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_TIMEOUT 124    /* as timeout(1) */

static volatile sig_atomic_t timed_out;
static pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    kill(child, SIGKILL);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int usage(void)
{
    fputs("usage: timeit [-t SECONDS] OUTFILE COMMAND [ARGS...]\n", stderr);
    return 2;
}

int main(int argc, char **argv)
{
    unsigned limit = 0;
    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        limit = (unsigned)strtoul(argv[2], NULL, 10);
        argc -= 2;
        argv += 2;
    }
    if (argc < 3)
        return usage();
    int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        perror(argv[1]);
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_alarm};   /* no SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
    fflush(stdout);

    double t0 = now();
    child = fork();
    if (child < 0) {
        perror("fork");
        return 2;
    }
    if (child == 0) {
        dup2(out, STDOUT_FILENO);
        close(out);
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    alarm(limit);
    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR) {
            perror("waitpid");
            return 2;
        }
    double t1 = now();
    close(out);

    printf("%.6f\n", t1 - t0);
    if (timed_out)
        return EXIT_TIMEOUT;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
