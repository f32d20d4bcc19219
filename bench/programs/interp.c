/* interp: indirect-call heavy. A small register bytecode machine runs a
 * program that sums the Collatz sequence lengths of 1..n (default 120000)
 * twice: once dispatching each instruction through a table of handler
 * functions (an indirect call per instruction, call_indirect in wasm) and
 * once through a switch (a jump table, br_table in wasm). Prints both
 * results, which must agree.
 *
 * usage: interp [n] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum op { LI, ADDI, ADD, SUB, MUL, XOR, ANDI, SHRI, JMP, JZ, JLT, HALT, NOPS };

struct insn {
    uint8_t op, a, b;
    int32_t c;          /* immediate, register or jump target */
};

struct vm {
    uint64_t r[16];    /* unsigned: the hash may wrap */
    uint64_t executed;
};

/* Handlers: do one instruction, return the next pc (negative halts). */
typedef int handler_fn(struct vm *, const struct insn *, int);

static int h_li(struct vm *m, const struct insn *i, int pc) { m->r[i->a] = i->c; return pc + 1; }
static int h_addi(struct vm *m, const struct insn *i, int pc) { m->r[i->a] = m->r[i->b] + i->c; return pc + 1; }
static int h_add(struct vm *m, const struct insn *i, int pc) { m->r[i->a] = m->r[i->b] + m->r[i->c]; return pc + 1; }
static int h_sub(struct vm *m, const struct insn *i, int pc) { m->r[i->a] = m->r[i->b] - m->r[i->c]; return pc + 1; }
static int h_mul(struct vm *m, const struct insn *i, int pc) { m->r[i->a] = m->r[i->b] * m->r[i->c]; return pc + 1; }
static int h_xor(struct vm *m, const struct insn *i, int pc) { m->r[i->a] = m->r[i->b] ^ m->r[i->c]; return pc + 1; }
static int h_andi(struct vm *m, const struct insn *i, int pc) { m->r[i->a] = m->r[i->b] & i->c; return pc + 1; }
static int h_shri(struct vm *m, const struct insn *i, int pc) { m->r[i->a] = m->r[i->b] >> i->c; return pc + 1; }
static int h_jmp(struct vm *m, const struct insn *i, int pc) { (void)m; (void)pc; return i->c; }
static int h_jz(struct vm *m, const struct insn *i, int pc) { return m->r[i->a] == 0 ? i->c : pc + 1; }
static int h_jlt(struct vm *m, const struct insn *i, int pc) { return (int64_t)m->r[i->a] < (int64_t)m->r[i->b] ? i->c : pc + 1; }
static int h_halt(struct vm *m, const struct insn *i, int pc) { (void)m; (void)i; (void)pc; return -1; }

static handler_fn *const handlers[NOPS] = {
    [LI] = h_li, [ADDI] = h_addi, [ADD] = h_add, [SUB] = h_sub, [MUL] = h_mul,
    [XOR] = h_xor, [ANDI] = h_andi, [SHRI] = h_shri, [JMP] = h_jmp, [JZ] = h_jz,
    [JLT] = h_jlt, [HALT] = h_halt,
};

static void run_indirect(struct vm *m, const struct insn *code)
{
    for (int pc = 0; pc >= 0; m->executed++)
        pc = handlers[code[pc].op](m, &code[pc], pc);
}

static void run_switch(struct vm *m, const struct insn *code)
{
    uint64_t *r = m->r;
    for (int pc = 0;; m->executed++) {
        const struct insn *i = &code[pc];
        pc++;
        switch (i->op) {
        case LI: r[i->a] = i->c; break;
        case ADDI: r[i->a] = r[i->b] + i->c; break;
        case ADD: r[i->a] = r[i->b] + r[i->c]; break;
        case SUB: r[i->a] = r[i->b] - r[i->c]; break;
        case MUL: r[i->a] = r[i->b] * r[i->c]; break;
        case XOR: r[i->a] = r[i->b] ^ r[i->c]; break;
        case ANDI: r[i->a] = r[i->b] & i->c; break;
        case SHRI: r[i->a] = r[i->b] >> i->c; break;
        case JMP: pc = i->c; break;
        case JZ: if (r[i->a] == 0) pc = i->c; break;
        case JLT: if ((int64_t)r[i->a] < (int64_t)r[i->b]) pc = i->c; break;
        default: m->executed++; return;     /* HALT */
        }
    }
}

/* r1 = i, r2 = n, r3 = total steps, r4 = x, r5 = scratch, r7 = hash,
 * r8 = steps of this i, r9 = 31. Built at run time so that no compiler can
 * see through the dispatch. */
static struct insn *program_new(void)
{
    static const struct insn text[] = {
        /* 0 */ {LI, 1, 0, 1}, {LI, 3, 0, 0}, {LI, 7, 0, 0}, {LI, 9, 0, 31},
        /* 4 loop_i */ {ADDI, 4, 1, 0}, {LI, 8, 0, 0},
        /* 6 loop_x */ {ADDI, 5, 4, -1}, {JZ, 5, 0, 17},
        /* 8 */ {ANDI, 5, 4, 1}, {JZ, 5, 0, 14},
        /* 10 odd */ {ADD, 5, 4, 4}, {ADD, 4, 5, 4}, {ADDI, 4, 4, 1}, {JMP, 0, 0, 15},
        /* 14 even */ {SHRI, 4, 4, 1},
        /* 15 */ {ADDI, 8, 8, 1}, {JMP, 0, 0, 6},
        /* 17 done_x */ {ADD, 3, 3, 8}, {MUL, 7, 7, 9}, {XOR, 7, 7, 8},
        /* 20 */ {ADDI, 1, 1, 1}, {JLT, 2, 1, 23}, {JMP, 0, 0, 4},
        /* 23 */ {HALT, 0, 0, 0},
    };
    struct insn *code = malloc(sizeof text);
    if (!code) {
        fputs("interp: out of memory\n", stderr);
        exit(1);
    }
    for (size_t k = 0; k < sizeof text / sizeof text[0]; k++)
        code[k] = text[k];
    return code;
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? strtoll(argv[1], NULL, 10) : 120000;
    struct insn *code = program_new();
    struct vm a = {.r = {[2] = (uint64_t)n}}, b = a;
    run_indirect(&a, code);
    run_switch(&b, code);
    printf("interp n=%lld steps=%lld hash=%016llx executed=%llu/%llu\n",
           (long long)n, (long long)a.r[3], (unsigned long long)a.r[7],
           (unsigned long long)a.executed, (unsigned long long)b.executed);
    free(code);
    return a.r[3] == b.r[3] && a.r[7] == b.r[7] && a.executed == b.executed ? 0 : 1;
}
