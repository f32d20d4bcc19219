;; tests/spec/tables.wast - call_indirect through tables the compiler takes
;; as fixed (defined, not exported, never written by an instruction: their
;; size, elements and entries are loaded as invariant, compiler/cg_module.c
;; plan_tables) and through tables that change: by table.set, table.grow,
;; table.fill, table.copy or table.init in the module, or from outside
;; through an export. Every call must see the table as it is when the call
;; is made, in loops and across calls.

;; A fixed table: its checks still trap, in a loop too.
(module
  (type $i (func (param i32) (result i32)))
  (type $v (func))
  (table 4 funcref)
  (elem (i32.const 0) $inc $dbl $other)
  (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $other)
  ;; x = table[i & 1](x), n times
  (func (export "loop") (param $x i32) (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x (call_indirect (type $i) (local.get $x)
                        (i32.and (local.get $i) (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $x))
  (func (export "call") (param $slot i32) (param $x i32) (result i32)
    (call_indirect (type $i) (local.get $x) (local.get $slot)))
  (func (export "size") (result i32) (table.size 0))
  (func (export "get-null") (result i32) (ref.is_null (table.get 0 (i32.const 3)))))
(assert_return (invoke "loop" (i32.const 1) (i32.const 10)) (i32.const 94))
(assert_return (invoke "call" (i32.const 1) (i32.const 21)) (i32.const 42))
(assert_trap (invoke "call" (i32.const 2) (i32.const 0)) "indirect call type mismatch")
(assert_trap (invoke "call" (i32.const 3) (i32.const 0)) "uninitialized element")
(assert_trap (invoke "call" (i32.const 4) (i32.const 0)) "undefined element")
(assert_return (invoke "size") (i32.const 4))
(assert_return (invoke "get-null") (i32.const 1))

;; table.set between the calls of a loop: each call sees the new entry.
(module
  (type $i (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $inc)
  (elem declare func $dbl $inc)
  (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  ;; n times: x = table[0](x), then table[0] = the other function
  (func (export "flip") (param $x i32) (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x (call_indirect (type $i) (local.get $x) (i32.const 0)))
        (table.set 0 (i32.const 0)
          (select (result funcref) (ref.func $dbl) (ref.func $inc)
            (i32.and (local.get $i) (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $x)))
;; inc, inc, dbl, inc, dbl, inc: ((((1+1)+1)*2+1)*2)+1 = 15
(assert_return (invoke "flip" (i32.const 1) (i32.const 6)) (i32.const 15))

;; A callee writes the table its caller calls through next.
(module
  (type $i (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $first)
  (elem declare func $second)
  (func $first (param i32) (result i32)
    (table.set 0 (i32.const 0) (ref.func $second))
    (i32.add (local.get 0) (i32.const 1)))
  (func $second (param i32) (result i32) (i32.mul (local.get 0) (i32.const 10)))
  (func (export "twice") (param i32) (result i32)
    (call_indirect (type $i)
      (call_indirect (type $i) (local.get 0) (i32.const 0))
      (i32.const 0))))
(assert_return (invoke "twice" (i32.const 4)) (i32.const 50))

;; table.grow and table.fill: a slot past the old size becomes callable.
(module
  (type $i (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $inc)
  (elem declare func $inc)
  (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "call") (param $slot i32) (param $x i32) (result i32)
    (call_indirect (type $i) (local.get $x) (local.get $slot)))
  (func (export "grow") (result i32) (table.grow 0 (ref.null func) (i32.const 2)))
  (func (export "fill") (table.fill 0 (i32.const 1) (ref.func $inc) (i32.const 2))))
(assert_trap (invoke "call" (i32.const 2) (i32.const 0)) "undefined element")
(assert_return (invoke "grow") (i32.const 1))
(assert_trap (invoke "call" (i32.const 2) (i32.const 0)) "uninitialized element")
(invoke "fill")
(assert_return (invoke "call" (i32.const 2) (i32.const 5)) (i32.const 6))

;; table.copy and table.init into the called table.
(module
  (type $i (func (param i32) (result i32)))
  (table $t 2 funcref)
  (table $src 1 funcref)
  (elem (table $src) (i32.const 0) func $dbl)
  (elem $seg func $neg)
  (func $dbl (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $neg (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
  (func (export "call") (param $slot i32) (param $x i32) (result i32)
    (call_indirect $t (type $i) (local.get $x) (local.get $slot)))
  (func (export "copy") (table.copy $t $src (i32.const 0) (i32.const 0) (i32.const 1)))
  (func (export "init") (table.init $t $seg (i32.const 1) (i32.const 0) (i32.const 1))))
(assert_trap (invoke "call" (i32.const 0) (i32.const 3)) "uninitialized element")
(invoke "copy")
(assert_return (invoke "call" (i32.const 0) (i32.const 3)) (i32.const 6))
(invoke "init")
(assert_return (invoke "call" (i32.const 1) (i32.const 3)) (i32.const -3))

;; An exported table, written by another module through its import.
(module $owner
  (type $i (func (param i32) (result i32)))
  (table (export "tab") 1 funcref)
  (elem (i32.const 0) $inc)
  (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "call") (param $x i32) (result i32)
    (call_indirect (type $i) (local.get $x) (i32.const 0))))
(register "owner" $owner)
(module
  (type $i (func (param i32) (result i32)))
  (import "owner" "tab" (table 1 funcref))
  (elem declare func $triple)
  (func $triple (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func (export "swap") (table.set 0 (i32.const 0) (ref.func $triple))))
(assert_return (invoke $owner "call" (i32.const 5)) (i32.const 6))
(invoke "swap")
(assert_return (invoke $owner "call" (i32.const 5)) (i32.const 15))
