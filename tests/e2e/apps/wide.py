#!/usr/bin/env python3
"""wide.py forever|loop|multi: a module whose recursive function keeps
1,000 values live across its call, so every frame is larger than a page
and its prologue calls the stack probe (compiler/cg_module.c). `forever`
recurses without end (call stack exhausted); `loop` recurses 16 deep again
and again until the deadline, so that interrupts (which make every probe
take its slow path) arrive while such frames are being allocated; `multi`
is `forever` with eight results, more than the return registers hold (the
probe must still find vmctx in the first argument register)."""
import sys

N = 1000
mode = sys.argv[1]
# Loads the call might change, combined by rotations, which LLVM can
# neither reassociate nor fold into a value computed before the call.
vals = [f"(i64.load offset={8 * i} (local.get 0))" for i in range(N)]
if mode in ("forever", "multi"):
    recurse = "(call $f (i32.and (i32.add (local.get 0) (i32.const 1)) (i32.const 1023)))"
else:
    recurse = ("(if (result i64) (i32.lt_u (local.get 0) (i32.const 16))"
               " (then (call $f (i32.add (local.get 0) (i32.const 1))))"
               " (else (i64.const 1)))")
expr = recurse
for v in vals:
    expr = f"(i64.rotl {v} {expr})"
if mode == "multi":
    # The call's eight results: seven dropped, the eighth rotated in.
    expr = expr.replace(recurse, f"(block (result i64) {recurse} "
                        "(drop) (drop) (drop) (drop) (drop) (drop) (drop))")
    results, tail = "(result i64 i64 i64 i64 i64 i64 i64 i64)", " (i64.const 0)" * 7
    start = "(call $f (i32.const 0))" + " (drop)" * 8
else:
    results, tail = "(result i64)", ""
    start = ("(drop (call $f (i32.const 0)))" if mode == "forever" else
             "(loop $again (drop (call $f (i32.const 0))) (br $again))")
print(f"""(module
  (memory (export "memory") 1)
  (func $f (param i32) {results}
    {expr}{tail})
  (func (export "_start") {start}))""")
