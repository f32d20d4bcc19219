#!/usr/bin/env python3
"""wide.py forever|loop: a module whose recursive function keeps 1,000
values live across its call, so every frame is larger than a page and its
prologue calls the stack probe (compiler/cg_module.c). `forever` recurses
without end (call stack exhausted); `loop` recurses 16 deep again and
again until the deadline, so that interrupts (which make every probe take
its slow path) arrive while such frames are being allocated."""
import sys

N = 1000
mode = sys.argv[1]
# Loads the call might change, combined by rotations, which LLVM can
# neither reassociate nor fold into a value computed before the call.
vals = [f"(i64.load offset={8 * i} (local.get 0))" for i in range(N)]
if mode == "forever":
    recurse = "(call $f (i32.and (i32.add (local.get 0) (i32.const 1)) (i32.const 1023)))"
else:
    recurse = ("(if (result i64) (i32.lt_u (local.get 0) (i32.const 16))"
               " (then (call $f (i32.add (local.get 0) (i32.const 1))))"
               " (else (i64.const 1)))")
expr = recurse
for v in vals:
    expr = f"(i64.rotl {v} {expr})"
start = ("(drop (call $f (i32.const 0)))" if mode == "forever" else
         "(loop $again (drop (call $f (i32.const 0))) (br $again))")
print(f"""(module
  (memory (export "memory") 1)
  (func $f (param i32) (result i64)
    {expr})
  (func (export "_start") {start}))""")
