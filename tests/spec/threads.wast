;; The threads proposal beyond proposals/threads: waits that time out,
;; waits and notifies on unshared memories, alignment with offsets, narrow
;; compare-exchanges that wrap the expected value, out-of-bounds atomics in
;; a guard-page memory (no explicit check: the fault), read-modify-writes
;; on an unshared memory (plain accesses), and shared imports and grows.

;; A shared memory with a large maximum: guard mode reaches it through the
;; guard region, not through checks.
(module
  (memory 1 65536 shared)
  (func (export "wait32") (param i32 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "wait64") (param i32 i64 i64) (result i32)
    (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "notify") (param i32 i32) (result i32)
    (memory.atomic.notify (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0)))
  (func (export "load_off1") (param i32) (result i32) (i32.atomic.load offset=1 (local.get 0)))
  (func (export "rmw") (param i32 i64) (result i64) (i64.atomic.rmw.add (local.get 0) (local.get 1)))
  (func (export "cmpxchg8") (param i32 i32 i32) (result i32)
    (i32.atomic.rmw8.cmpxchg_u (local.get 0) (local.get 1) (local.get 2)))
  (func (export "cmpxchg32") (param i32 i64 i64) (result i64)
    (i64.atomic.rmw32.cmpxchg_u (local.get 0) (local.get 1) (local.get 2)))
  (func (export "store8") (param i32 i32) (i32.atomic.store8 (local.get 0) (local.get 1)))
  (func (export "store") (param i32 i64) (i64.atomic.store (local.get 0) (local.get 1)))
  (func (export "load64") (param i32) (result i64) (i64.atomic.load (local.get 0)))
  (func (export "fence") (atomic.fence))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
)

;; The value matches and nobody notifies: the wait times out (1 ms), in
;; both widths; a value that differs returns at once.
(assert_return (invoke "wait32" (i32.const 0) (i32.const 0) (i64.const 1000000)) (i32.const 2))
(assert_return (invoke "wait64" (i32.const 8) (i64.const 0) (i64.const 1000000)) (i32.const 2))
(assert_return (invoke "wait32" (i32.const 0) (i32.const 1) (i64.const -1)) (i32.const 1))
(invoke "store" (i32.const 8) (i64.const 0x100000000))
(assert_return (invoke "wait32" (i32.const 8) (i32.const 0) (i64.const 0)) (i32.const 2))
(assert_return (invoke "wait64" (i32.const 8) (i64.const 0) (i64.const -1)) (i32.const 1))
(assert_return (invoke "notify" (i32.const 0) (i32.const 10)) (i32.const 0))

;; Alignment is of the effective address, and comes before the bounds.
(assert_trap (invoke "load_off1" (i32.const 0)) "unaligned atomic")
(assert_return (invoke "load_off1" (i32.const 3)) (i32.const 0))
(assert_trap (invoke "wait32" (i32.const 2) (i32.const 0) (i64.const 0)) "unaligned atomic")
(assert_trap (invoke "wait64" (i32.const 4) (i64.const 0) (i64.const 0)) "unaligned atomic")
(assert_trap (invoke "notify" (i32.const 1) (i32.const 0)) "unaligned atomic")
(assert_trap (invoke "load" (i32.const 65537)) "unaligned atomic")

;; Out of bounds, aligned: every kind of access, wait and notify too.
(assert_trap (invoke "load" (i32.const 65536)) "out of bounds memory access")
(assert_trap (invoke "load" (i32.const 0xfffffffc)) "out of bounds memory access")
(assert_trap (invoke "rmw" (i32.const 65536) (i64.const 1)) "out of bounds memory access")
(assert_trap (invoke "cmpxchg8" (i32.const 65536) (i32.const 0) (i32.const 1)) "out of bounds memory access")
(assert_trap (invoke "store8" (i32.const 65536) (i32.const 1)) "out of bounds memory access")
(assert_trap (invoke "wait32" (i32.const 65536) (i32.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "notify" (i32.const 65536) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "load" (i32.const 65532)) (i32.const 0))

;; A narrow compare-exchange compares the expected value wrapped to its
;; width, and stores the replacement wrapped.
(invoke "store8" (i32.const 16) (i32.const 0x11))
(assert_return (invoke "cmpxchg8" (i32.const 16) (i32.const 0x111) (i32.const 0x2222)) (i32.const 0x11))
(assert_return (invoke "load" (i32.const 16)) (i32.const 0x22))
(assert_return (invoke "cmpxchg8" (i32.const 16) (i32.const 0x23) (i32.const 0x33)) (i32.const 0x22))
(assert_return (invoke "load" (i32.const 16)) (i32.const 0x22))
(invoke "store" (i32.const 24) (i64.const 0xaaaaaaaa55555555))
(assert_return (invoke "cmpxchg32" (i32.const 24) (i64.const 0x1255555555) (i64.const 0x7700000001))
               (i64.const 0x55555555))
(assert_return (invoke "load64" (i32.const 24)) (i64.const 0xaaaaaaaa00000001))
(assert_return (invoke "fence"))

;; A shared memory grows as any other, and the accesses follow its size.
(assert_return (invoke "grow" (i32.const 1)) (i32.const 1))
(assert_return (invoke "size") (i32.const 2))
(assert_return (invoke "load" (i32.const 65536)) (i32.const 0))
(assert_trap (invoke "load" (i32.const 131072)) "out of bounds memory access")

;; An unshared memory: wait traps, notify wakes nobody, after the same
;; checks; read-modify-writes are plain accesses with the same results.
(module
  (memory 1)
  (func (export "wait32") (param i32 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "wait64") (param i32 i64 i64) (result i32)
    (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "notify") (param i32 i32) (result i32)
    (memory.atomic.notify (local.get 0) (local.get 1)))
  (func (export "add") (param i32 i32) (result i32) (i32.atomic.rmw.add (local.get 0) (local.get 1)))
  (func (export "sub16") (param i32 i32) (result i32) (i32.atomic.rmw16.sub_u (local.get 0) (local.get 1)))
  (func (export "and") (param i32 i64) (result i64) (i64.atomic.rmw.and (local.get 0) (local.get 1)))
  (func (export "or8") (param i32 i64) (result i64) (i64.atomic.rmw8.or_u (local.get 0) (local.get 1)))
  (func (export "xor32") (param i32 i64) (result i64) (i64.atomic.rmw32.xor_u (local.get 0) (local.get 1)))
  (func (export "xchg") (param i32 i32) (result i32) (i32.atomic.rmw.xchg (local.get 0) (local.get 1)))
  (func (export "cmpxchg") (param i32 i64 i64) (result i64)
    (i64.atomic.rmw.cmpxchg (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0)))
  (func (export "load64") (param i32) (result i64) (i64.atomic.load (local.get 0)))
  (func (export "fence") (atomic.fence))
)
(assert_trap (invoke "wait32" (i32.const 0) (i32.const 0) (i64.const 0)) "atomic wait on non-shared memory")
(assert_trap (invoke "wait64" (i32.const 0) (i64.const 1) (i64.const -1)) "atomic wait on non-shared memory")
(assert_trap (invoke "wait32" (i32.const 1) (i32.const 0) (i64.const 0)) "unaligned atomic")
(assert_trap (invoke "wait32" (i32.const 65536) (i32.const 0) (i64.const 0)) "out of bounds memory access")
(assert_return (invoke "notify" (i32.const 0) (i32.const 1)) (i32.const 0))
(assert_trap (invoke "notify" (i32.const 2) (i32.const 1)) "unaligned atomic")
(assert_trap (invoke "notify" (i32.const 65536) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "add" (i32.const 0) (i32.const 5)) (i32.const 0))
(assert_return (invoke "add" (i32.const 0) (i32.const 0xffffffff)) (i32.const 5))
(assert_return (invoke "load" (i32.const 0)) (i32.const 4))
(assert_return (invoke "sub16" (i32.const 0) (i32.const 5)) (i32.const 4))
(assert_return (invoke "load" (i32.const 0)) (i32.const 0xffff))
(assert_return (invoke "and" (i32.const 0) (i64.const 0xff0f)) (i64.const 0xffff))
(assert_return (invoke "or8" (i32.const 0) (i64.const 0x1f0)) (i64.const 0x0f))
(assert_return (invoke "load" (i32.const 0)) (i32.const 0xffff))
(assert_return (invoke "xor32" (i32.const 0) (i64.const 0x1000000ff)) (i64.const 0xffff))
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0xff00))
(assert_return (invoke "xchg" (i32.const 0) (i32.const 7)) (i32.const 0xff00))
(assert_return (invoke "cmpxchg" (i32.const 0) (i64.const 8) (i64.const 9)) (i64.const 7))
(assert_return (invoke "cmpxchg" (i32.const 0) (i64.const 7) (i64.const 9)) (i64.const 7))
(assert_return (invoke "load64" (i32.const 0)) (i64.const 9))
(assert_trap (invoke "add" (i32.const 65536) (i32.const 1)) "out of bounds memory access")
(assert_trap (invoke "add" (i32.const 2) (i32.const 1)) "unaligned atomic")
(assert_return (invoke "fence"))

;; Shared memories import and export only as shared, with the same
;; contents on both sides.
(module $M
  (memory (export "m") 1 4 shared)
  (func (export "put") (param i32 i32) (i32.atomic.store (local.get 0) (local.get 1)))
)
(register "M" $M)
(module
  (import "M" "m" (memory 1 4 shared))
  (func (export "get") (param i32) (result i32) (i32.atomic.load (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
)
(invoke $M "put" (i32.const 40) (i32.const 1234))
(assert_return (invoke "get" (i32.const 40)) (i32.const 1234))
(assert_return (invoke "grow" (i32.const 3)) (i32.const 1))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
(assert_unlinkable (module (import "M" "m" (memory 1 4))) "incompatible import type")
(assert_unlinkable (module (import "spectest" "memory" (memory 1 2 shared))) "incompatible import type")
(assert_invalid (module (memory 1 shared)) "shared memory must have maximum")
