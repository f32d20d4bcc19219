;; tests/spec/extended_const.wast - extended constant expressions (the
;; extended-const proposal, `awsm wast --enable-extended-const`) beyond
;; the proposal's own tests: a deep stack, wrapping arithmetic, imported
;; globals in offsets, and an offset that overflows the memory.

;; 40 values on the stack at once, summed (1 + ... + 40 = 820)
(module
  (global $deep i32 (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4) (i32.const 5) (i32.const 6) (i32.const 7) (i32.const 8) (i32.const 9) (i32.const 10) (i32.const 11) (i32.const 12) (i32.const 13) (i32.const 14) (i32.const 15) (i32.const 16) (i32.const 17) (i32.const 18) (i32.const 19) (i32.const 20) (i32.const 21) (i32.const 22) (i32.const 23) (i32.const 24) (i32.const 25) (i32.const 26) (i32.const 27) (i32.const 28) (i32.const 29) (i32.const 30) (i32.const 31) (i32.const 32) (i32.const 33) (i32.const 34) (i32.const 35) (i32.const 36) (i32.const 37) (i32.const 38) (i32.const 39) (i32.const 40) i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add)
  (func (export "deep") (result i32) (global.get $deep))
)
(assert_return (invoke "deep") (i32.const 820))

;; wrap-around: i32 and i64 add, sub, mul modulo 2^N
(module
  (global $a i32 (i32.add (i32.const 0x7fffffff) (i32.const 1)))
  (global $b i32 (i32.sub (i32.const 0) (i32.const 1)))
  (global $c i32 (i32.mul (i32.const 0x10000) (i32.const 0x10001)))
  (global $d i64 (i64.mul (i64.const 0x100000000) (i64.const 0x100000001)))
  (global $e i64 (i64.sub (i64.const 0x8000000000000000) (i64.const 1)))
  (func (export "a") (result i32) (global.get $a))
  (func (export "b") (result i32) (global.get $b))
  (func (export "c") (result i32) (global.get $c))
  (func (export "d") (result i64) (global.get $d))
  (func (export "e") (result i64) (global.get $e))
)
(assert_return (invoke "a") (i32.const 0x80000000))
(assert_return (invoke "b") (i32.const -1))
(assert_return (invoke "c") (i32.const 0x10000))
(assert_return (invoke "d") (i64.const 0x100000000))
(assert_return (invoke "e") (i64.const 0x7fffffffffffffff))

;; offsets from an imported global, in data and element segments
(module $base
  (global (export "g") i32 (i32.const 100))
)
(register "base" $base)
(module
  (import "base" "g" (global $g i32))
  (memory 1)
  (table 10 funcref)
  (data (i32.add (global.get $g) (i32.mul (i32.const 2) (i32.const 3))) "\2a")
  (elem (i32.sub (global.get $g) (i32.const 95)) func $seven)
  (func $seven (result i32) (i32.const 7))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "call") (param i32) (result i32) (call_indirect (result i32) (local.get 0)))
)
(assert_return (invoke "load" (i32.const 106)) (i32.const 42))
(assert_return (invoke "load" (i32.const 105)) (i32.const 0))
(assert_return (invoke "call" (i32.const 5)) (i32.const 7))
(assert_trap (invoke "call" (i32.const 4)) "uninitialized element")

;; an offset that wraps to past the end of memory
(assert_trap
  (module
    (memory 1)
    (data (i32.mul (i32.const 0x10000) (i32.const 0x10001)) "x")
  )
  "out of bounds memory access"
)

;; still constant: no local.get, no mutable global, no other operator
(assert_invalid
  (module (global $m (mut i32) (i32.const 1)) (global i32 (i32.add (global.get $m) (i32.const 1))))
  "constant expression required"
)
(assert_invalid
  (module (global i32 (i32.div_u (i32.const 4) (i32.const 2))))
  "constant expression required"
)
(assert_invalid
  (module (global i32 (i32.add (i32.const 1) (i64.const 2))))
  "type mismatch"
)
(assert_invalid
  (module (global i64 (i32.add (i32.const 1) (i32.const 2))))
  "type mismatch"
)
