;; deep: unbounded recursion that keeps nothing in linear memory, so the
;; native stack, not clang's shadow stack, overflows.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $down (param i32) (result i32)
    (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "_start")
    (call $exit (call $down (i32.const 0)))))
