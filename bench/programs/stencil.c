/* stencil: 2D heat diffusion by Jacobi iteration on a 512 x 512 grid of
 * doubles, edges held at fixed temperatures; runs `steps` sweeps (default
 * 4000) and prints the total heat and a few probes.
 *
 * Each cell is 0.25 * (up + down + left + right), evaluated left to right:
 * IEEE arithmetic without fusion or reassociation gives the same bits on
 * every conforming target.
 *
 * usage: stencil [steps] */
#include <stdio.h>
#include <stdlib.h>

#define N 512

static void grid_init(double *g)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double v = 0.0;
            if (i == 0)
                v = 100.0;                  /* hot top edge */
            else if (j == 0)
                v = 50.0 * i / (N - 1);     /* warm left edge, a ramp */
            g[i * N + j] = v;
        }
}

static void sweep(const double *restrict src, double *restrict dst)
{
    for (int i = 1; i < N - 1; i++) {
        const double *up = src + (i - 1) * N, *row = src + i * N,
                     *down = src + (i + 1) * N;
        double *out = dst + i * N;
        for (int j = 1; j < N - 1; j++)
            out[j] = 0.25 * (up[j] + down[j] + row[j - 1] + row[j + 1]);
    }
}

int main(int argc, char **argv)
{
    unsigned steps = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 4000;
    double *a = malloc(sizeof(double) * N * N), *b = malloc(sizeof(double) * N * N);
    if (!a || !b) {
        fputs("stencil: out of memory\n", stderr);
        return 1;
    }
    grid_init(a);
    grid_init(b);   /* the edges of both grids never change */
    for (unsigned s = 0; s < steps; s++) {
        sweep(a, b);
        double *t = a;
        a = b;
        b = t;
    }
    double total = 0.0;
    for (int i = 0; i < N * N; i++)
        total += a[i];
    printf("stencil steps=%u total=%.9e probes=%.9e %.9e %.9e\n", steps, total,
           a[1 * N + N / 2], a[(N / 2) * N + 1], a[(N / 2) * N + N / 2]);
    free(a);
    free(b);
    return 0;
}
