/* sort: sorts n pseudo-random 32-bit integers (default 2000000) twice, with
 * a quicksort (median of three, insertion sort for short runs) and with a
 * top-down mergesort, checks that both agree and are ordered, and prints a
 * checksum of the result.
 *
 * usage: sort [n] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void insertion_sort(uint32_t *a, long n)
{
    for (long i = 1; i < n; i++) {
        uint32_t v = a[i];
        long j = i;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

static void swap(uint32_t *a, uint32_t *b)
{
    uint32_t t = *a;
    *a = *b;
    *b = t;
}

static void quick_sort(uint32_t *a, long n)
{
    while (n > 16) {
        long mid = n / 2;
        if (a[mid] < a[0]) swap(&a[mid], &a[0]);
        if (a[n - 1] < a[0]) swap(&a[n - 1], &a[0]);
        if (a[n - 1] < a[mid]) swap(&a[n - 1], &a[mid]);
        uint32_t pivot = a[mid];
        long i = -1, j = n;
        for (;;) {                      /* Hoare partition */
            do i++; while (a[i] < pivot);
            do j--; while (a[j] > pivot);
            if (i >= j)
                break;
            swap(&a[i], &a[j]);
        }
        /* Recurse on the smaller side, loop on the larger. */
        if (j + 1 < n - j - 1) {
            quick_sort(a, j + 1);
            a += j + 1;
            n -= j + 1;
        } else {
            quick_sort(a + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    insertion_sort(a, n);
}

static void merge_sort(uint32_t *a, uint32_t *tmp, long n)
{
    if (n <= 16) {
        insertion_sort(a, n);
        return;
    }
    long h = n / 2;
    merge_sort(a, tmp, h);
    merge_sort(a + h, tmp, n - h);
    long i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = a[j] < a[i] ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, (size_t)n * sizeof *a);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000000;
    uint32_t *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b),
             *tmp = malloc((size_t)n * sizeof *tmp);
    if (!a || !b || !tmp) {
        fputs("sort: out of memory\n", stderr);
        return 1;
    }
    uint32_t x = 88172645u;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        a[i] = b[i] = x % 1000003u;    /* plenty of duplicates too */
    }
    quick_sort(a, n);
    merge_sort(b, tmp, n);
    uint64_t sum = 0;
    for (long i = 0; i < n; i++) {
        if (a[i] != b[i] || (i > 0 && a[i - 1] > a[i])) {
            printf("sort: WRONG at %ld\n", i);
            return 2;
        }
        sum = sum * 31 + a[i];
    }
    printf("sort n=%ld min=%u max=%u sum=%016llx\n", n, (unsigned)a[0],
           (unsigned)a[n - 1], (unsigned long long)sum);
    free(a);
    free(b);
    free(tmp);
    return 0;
}
