;; Atomics on a shared 64-bit memory (--enable=memory64,threads): i64
;; addresses, alignment before bounds, sums past 2^64, wait and notify.
(module
  (memory i64 1 2 shared)
  (func (export "add") (param i64 i32) (result i32) (i32.atomic.rmw.add (local.get 0) (local.get 1)))
  (func (export "wait") (param i64) (result i32) (memory.atomic.wait32 (local.get 0) (i32.const 0) (i64.const 0)))
  (func (export "notify") (param i64) (result i32) (memory.atomic.notify offset=4 (local.get 0) (i32.const 1)))
)
(assert_return (invoke "add" (i64.const 8) (i32.const 3)) (i32.const 0))
(assert_return (invoke "add" (i64.const 8) (i32.const 3)) (i32.const 3))
(assert_trap (invoke "add" (i64.const 9) (i32.const 3)) "unaligned atomic")
(assert_trap (invoke "add" (i64.const 0x10000) (i32.const 3)) "out of bounds memory access")
(assert_trap (invoke "add" (i64.const 0xfffffffffffffffc) (i32.const 3)) "out of bounds memory access")
(assert_return (invoke "wait" (i64.const 0)) (i32.const 2))
(assert_return (invoke "wait" (i64.const 8)) (i32.const 1))
(assert_trap (invoke "wait" (i64.const 0x10000)) "out of bounds memory access")
(assert_trap (invoke "notify" (i64.const 0xfffffffffffffffc)) "out of bounds memory access")
(assert_return (invoke "notify" (i64.const 0)) (i32.const 0))
