#!/usr/bin/env python3
"""tests/fuzz/diff_precise.py - a module generator for tests/fuzz/diff.sh
(--gen precise) aimed at precise traps, the cases binaryen's generator
rarely makes:

    diff_precise.py SEED OUT.wat

Each of a few exported functions is a random sequence of what an optimiser
may drop, merge or move across a faulting access if it thinks accesses
cannot trap: global.set, stores (of several widths) and loads near the end
of a one-page memory (some in bounds, some straddling it, some past it),
loads whose value is dropped, kept in a dead local, or only decides a
br_if with equal outcomes, explicit traps (a division by zero, a float
conversion that overflows), loops that set a global and store as they go
(counted loops, forwards and backwards, which awsmc versions when they
stay in bounds: i64 and f64 arrays, a division that traps at some trip),
logged values, and calls of the functions before it; and a last function
that reads records field by field (below). Globals are exported
as "global$N$i32" so both transcripts show them after every trap. The
memory has no maximum: a small one would make guard mode check accesses
explicitly (compiler/cg_memory.c), and the point is the bare ones.
"""
import random
import sys

MEMORY = 65536


def main():
    r = random.Random(int(sys.argv[1]))

    def addr():
        k = r.random()
        if k < 0.45:
            return r.randint(MEMORY - 24, MEMORY + 8)      # at the edge
        if k < 0.6:
            return r.randint(MEMORY + 8, 1 << 20)           # past it
        return r.randint(0, 256)                           # well inside

    def value():
        return r.randint(-1000, 1000)

    def stmt(func, depth):
        k = r.randrange(19)
        g = r.randrange(4)
        if k == 0:
            return "(global.set %d (i32.const %d))" % (g, value())
        if k == 1:
            op, width = r.choice([("i32.store", 4), ("i32.store8", 1),
                                  ("i32.store16", 2)])
            return "(%s offset=%d (i32.const %d) (i32.const %d))" % (
                op, r.choice([0, 0, 4, 8]), addr(), value())
        if k == 2:
            return "(i64.store (i32.const %d) (i64.const %d))" % (addr(), value())
        if k == 3:
            return "(drop (i32.load (i32.const %d)))" % addr()
        if k == 4:
            return "(local.set 1 (i32.load (i32.const %d)))" % addr()
        if k == 5:
            return "(local.set 2 (i32.load8_u (i32.const %d)))" % addr()
        if k == 6:
            return ("(local.set 1 (i32.add (local.get 1) (i32.load offset=%d "
                    "(i32.const %d))))" % (r.choice([0, 2, 16]), addr()))
        if k == 7:
            return "(call 0 (local.get 1))"
        if k == 8:
            return "(block (br_if 0 (i32.load (i32.const %d))))" % addr()
        if k == 9:
            return "(drop (i32.div_s (i32.const %d) (local.get 0)))" % value()
        if k == 10:
            return "(drop (i32.trunc_f32_s (f32.const %s)))" % r.choice(
                ["1e30", "-1e30", "nan", "1.5"])
        if k == 11 and depth < 2:
            body = " ".join(stmt(func, depth + 1) for _ in range(r.randint(1, 3)))
            return "(if (i32.eqz (local.get 0)) (then %s))" % body
        if k == 12 and depth < 2:
            base = r.choice([MEMORY - 4 * r.randint(1, 30), 64, 1000])
            return ("(local.set 3 (i32.const 0)) (loop (global.set %d (local.get 3)) "
                    "(i32.store (i32.add (i32.const %d) (i32.mul (local.get 3) "
                    "(i32.const 4))) (local.get 3)) (local.set 3 (i32.add (local.get 3) "
                    "(i32.const 1))) (br_if 0 (i32.lt_u (local.get 3) (i32.const %d))))"
                    % (g, base, r.randint(1, 40)))
        if k == 16 and depth < 2:
            # backwards over i64s: a[i] = b[i] + 1000 / (i - z), i from n-1 to 0
            # (n + the parameter, so that LLVM cannot unroll the loop away)
            n = r.randint(1, 64)
            dst = r.choice([MEMORY - 8 * r.randint(1, 70), 128, 2048])
            src = r.choice([dst, dst + 8, dst - 8, 4096, MEMORY - 8 * r.randint(1, 45)])
            return ("(local.set 3 (i32.add (local.get 0) (i32.const %d))) (loop (local.set 3 (i32.sub (local.get 3) "
                    "(i32.const 1))) (i64.store (i32.add (i32.const %d) (i32.shl (local.get 3) "
                    "(i32.const 3))) (i64.add (i64.load (i32.add (i32.const %d) (i32.shl "
                    "(local.get 3) (i32.const 3)))) (i64.extend_i32_s (i32.div_s (i32.const 1000) "
                    "(i32.sub (local.get 3) (i32.const %d)))))) (global.set %d (local.get 3)) "
                    "(br_if 0 (local.get 3)))" % (n, dst, src, r.randint(-5, 45), g))
        if k == 17 and depth < 2:
            # forwards over f64s, d[i] = s[i] * 1.5 + i, and a sum of the i
            # often so that only the last trip or two run past the end, and
            # often a count the vector loop runs whole
            n = r.choice([r.randint(1, 64), 8 * r.randint(1, 8)])
            dst = r.choice([MEMORY - 8 * (n - r.randint(0, 2)), MEMORY - 8 * r.randint(1, 70),
                            256, 3000])
            src = r.choice([dst, dst + 8, dst - 16, 6000, MEMORY - 8 * r.randint(1, 70)])
            return ("(local.set 3 (i32.const 0)) (loop (f64.store offset=%d (i32.add "
                    "(i32.const %d) (i32.shl (local.get 3) (i32.const 3))) (f64.add (f64.mul "
                    "(f64.load (i32.add (i32.const %d) (i32.shl (local.get 3) (i32.const 3)))) "
                    "(f64.const 1.5)) (f64.convert_i32_s (local.get 3)))) (local.set 1 "
                    "(i32.add (local.get 1) (local.get 3))) (local.set 3 (i32.add (local.get 3) "
                    "(i32.const 1))) (br_if 0 (i32.lt_s (local.get 3) (i32.add (local.get 0) "
                    "(i32.const %d)))))"
                    % (r.choice([0, 0, 8]), dst, src, n))
        if k == 13 and func > 1:
            return "(drop (call %d (i32.const 0)))" % r.randint(1, func - 1)
        if k == 14:
            return "(global.set %d (i32.add (global.get %d) (i32.load (i32.const %d))))" % (
                g, r.randrange(4), addr())
        if k == 15:
            return "(i32.store (i32.const %d) (global.get %d))" % (addr(), g)
        return "(local.set 1 (i32.mul (local.get 1) (i32.const %d)))" % value()

    # The last function reads records field by field, as an interpreter
    # reads its instructions: loads at several offsets of one address
    # (local 0 plus a base near the edge), which awsmc merges into one
    # check in checked code (compiler/cg_widen.c), among stores, globals,
    # explicit traps and branches, which end what one check may cover. Its
    # own generator, so that the other functions stay as they were.
    q = random.Random(int(sys.argv[1]) * 7919 + 17)

    def field(base):
        op, width = q.choice([("i32.load8_u", 1), ("i32.load16_u", 2), ("i32.load", 4),
                              ("i64.load", 8)])
        load = "(%s offset=%d (i32.add (local.get 0) (i32.const %d)))" % (
            op, q.choice([0, 1, 2, 4, 6, 8, 12]), base)
        if op == "i64.load":
            load = "(i32.wrap_i64 %s)" % load
        return "(local.set 1 (i32.add (local.get 1) %s))" % load

    def record_stmt(depth):
        k = q.randrange(10)
        base = q.choice([MEMORY - q.randint(1, 24), MEMORY - 8, MEMORY - 16, 32])
        if k < 5:
            return " ".join(field(base) for _ in range(q.randint(2, 4)))
        if k == 5:
            return "(i32.store8 (i32.const %d) (local.get 1))" % q.randint(0, 64)
        if k == 6:
            return "(global.set %d (local.get 1))" % q.randrange(4)
        if k == 7:
            return "(drop (i32.div_u (local.get 1) (local.get 0)))"
        if k == 8 and depth < 2:
            return "(if (local.get 0) (then %s))" % record_stmt(depth + 1)
        return "(call 0 (local.get 1))"

    nfuncs = r.randint(3, 7)
    out = ['(module',
           '  (import "fuzzing-support" "log-i32" (func (param i32)))',
           '  (memory (export "memory") 1)']
    for g in range(4):
        out.append('  (global (mut i32) (i32.const %d))' % value())
        out.append('  (export "global$%d$i32" (global %d))' % (g, g))
    for f in range(1, nfuncs + 1):
        body = " ".join(stmt(f, 0) for _ in range(r.randint(2, 12)))
        out.append('  (func (export "f%d") (param i32) (result i32) (local i32 i32 i32)'
                   % f)
        out.append('    %s (local.get 1))' % body)
    body = " ".join(record_stmt(0) for _ in range(q.randint(3, 10)))
    out.append('  (func (export "records") (param i32) (result i32) (local i32 i32 i32)')
    out.append('    %s (local.get 1))' % body)
    out.append(')')
    open(sys.argv[2], "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
