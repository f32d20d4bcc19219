;; Atomics on a shared second memory next to an unshared first one
;; (--enable=threads,multi-memory): the memory index picks sharedness,
;; wait and notify, and bounds.
(module
  (memory 1)
  (memory 1 2 shared)
  (func (export "add1") (param i32 i32) (result i32) (i32.atomic.rmw.add 1 (local.get 0) (local.get 1)))
  (func (export "add0") (param i32 i32) (result i32) (i32.atomic.rmw.add 0 (local.get 0) (local.get 1)))
  (func (export "wait1") (param i32) (result i32) (memory.atomic.wait32 1 (local.get 0) (i32.const 5) (i64.const 0)))
  (func (export "wait0") (param i32) (result i32) (memory.atomic.wait32 0 (local.get 0) (i32.const 5) (i64.const 0)))
  (func (export "notify1") (param i32) (result i32) (memory.atomic.notify 1 (local.get 0) (i32.const 1)))
)
(assert_return (invoke "add1" (i32.const 8) (i32.const 5)) (i32.const 0))
(assert_return (invoke "add1" (i32.const 8) (i32.const 5)) (i32.const 5))
(assert_return (invoke "add0" (i32.const 8) (i32.const 1)) (i32.const 0))
(assert_return (invoke "wait1" (i32.const 8)) (i32.const 1))
(assert_return (invoke "wait1" (i32.const 16)) (i32.const 1))
(assert_trap (invoke "wait0" (i32.const 8)) "atomic wait on non-shared memory")
(assert_return (invoke "notify1" (i32.const 8)) (i32.const 0))
(assert_trap (invoke "add1" (i32.const 65536) (i32.const 1)) "out of bounds memory access")
