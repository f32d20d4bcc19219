/* matmul: dense linear algebra. Multiplies two n x n matrices of doubles
 * (default n = 1000) with an i-k-j loop and prints a hash of the product.
 *
 * The entries are multiples of 1/512 in [-1, 1), so every product and every
 * partial sum is exact in a double: the checksum cannot depend on the order
 * of the additions, only on whether the arithmetic is right.
 *
 * usage: matmul [n] */
#include <stdio.h>
#include <stdlib.h>

static double *matrix_new(unsigned n, unsigned seed)
{
    double *m = malloc((size_t)n * n * sizeof *m);
    if (!m) {
        fputs("matmul: out of memory\n", stderr);
        exit(1);
    }
    for (size_t i = 0; i < (size_t)n * n; i++) {
        seed = seed * 1103515245u + 12345u;
        m[i] = (double)(seed >> 16 & 0x3ff) / 512.0 - 1.0;
    }
    return m;
}

static void matmul(unsigned n, const double *a, const double *b, double *c)
{
    for (unsigned i = 0; i < n; i++) {
        double *ci = c + (size_t)i * n;
        for (unsigned j = 0; j < n; j++)
            ci[j] = 0.0;
        for (unsigned k = 0; k < n; k++) {
            double aik = a[(size_t)i * n + k];
            const double *bk = b + (size_t)k * n;
            for (unsigned j = 0; j < n; j++)
                ci[j] += aik * bk[j];
        }
    }
}

/* FNV-1a over the entries scaled back to integers (exact, see above). */
static unsigned long long matrix_hash(unsigned n, const double *c)
{
    unsigned long long h = 14695981039346656037ull;
    for (size_t i = 0; i < (size_t)n * n; i++) {
        long long v = (long long)(c[i] * 512.0 * 512.0);
        h = (h ^ (unsigned long long)v) * 1099511628211ull;
    }
    return h;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000;
    double *a = matrix_new(n, 1), *b = matrix_new(n, 2), *c = matrix_new(n, 3);
    matmul(n, a, b, c);
    printf("matmul n=%u trace=%.6f hash=%016llx\n", n,
           c[0] + c[(size_t)n * n - 1], matrix_hash(n, c));
    free(a);
    free(b);
    free(c);
    return 0;
}
