/* tailcall: an interpreter whose handlers end in tail calls through a
 * table (clang -mtail-call: return_call_indirect), as threaded
 * interpreters are written. Runs its three-instruction loop argv[1]
 * times (default 1000000) and prints the accumulator: as calls, a
 * million of them would not fit in any stack. */
#include <stdio.h>
#include <stdlib.h>

typedef long (*op_fn)(const unsigned char *pc, long acc, long n);
static op_fn table[4];

#define NEXT(pc, acc, n) __attribute__((musttail)) return table[*(pc)](pc, acc, n)

static long op_add(const unsigned char *pc, long acc, long n)
{
    acc += 3;
    NEXT(pc + 1, acc, n);
}

static long op_xor(const unsigned char *pc, long acc, long n)
{
    acc ^= 5;
    NEXT(pc + 1, acc, n);
}

static long op_loop(const unsigned char *pc, long acc, long n)
{
    if (--n == 0)
        return acc;
    NEXT(pc - 2, acc, n);
}

static long op_halt(const unsigned char *pc, long acc, long n)
{
    (void)pc, (void)n;
    return acc;
}

int main(int argc, char **argv)
{
    static const unsigned char prog[] = { 0, 1, 2, 3 };
    table[0] = op_add, table[1] = op_xor, table[2] = op_loop, table[3] = op_halt;
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    printf("%ld\n", table[prog[0]](prog, 0, n < 1 ? 1 : n));
    return 0;
}
