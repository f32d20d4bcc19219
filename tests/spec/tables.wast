;; tests/spec/tables.wast - call_indirect through tables the compiler takes
;; as fixed (defined, not exported, never written by an instruction: their
;; size, elements and entries are loaded as invariant, compiler/cg_module.c
;; plan_tables) and through tables that change: by table.set, table.grow,
;; table.fill, table.copy or table.init in the module, or from outside
;; through an export. Every call must see the table as it is when the call
;; is made, in loops and across calls. A fixed table whose element segments
;; say all it holds (constant offsets, defined functions or ref.null) is
;; called through the compiler's own array of its code (cg_call.c,
;; call_known): the second half checks what that array must get right.

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

;; ===== Fixed tables whose contents the compiler knows ===================

;; Types are equal by structure, not by index; only the results can differ;
;; overlapping segments (the later one wins, ref.null included); slots no
;; segment reaches are null; several params and results, i64 and floats.
(module
  (type $a (func (param i32) (result i32)))
  (type $b (func (param i32) (result i32)))
  (type $r64 (func (param i32) (result i64)))
  (type $mix (func (param i64 f64 i32) (result f64 i32)))
  (table 8 funcref)
  (elem (i32.const 0) func $inc $wide $mix $inc $inc)
  (elem (i32.const 3) funcref (ref.null func) (ref.func $dbl))
  (func $inc (type $b) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $a) (i32.mul (local.get 0) (i32.const 2)))
  (func $wide (type $r64) (i64.extend_i32_s (local.get 0)))
  (func $mix (type $mix)
    (f64.add (f64.convert_i64_s (local.get 0)) (local.get 1))
    (i32.sub (local.get 2) (i32.const 1)))
  (func (export "a") (param $slot i32) (param $x i32) (result i32)
    (call_indirect (type $a) (local.get $x) (local.get $slot)))
  (func (export "b") (param $slot i32) (param $x i32) (result i32)
    (call_indirect (type $b) (local.get $x) (local.get $slot)))
  (func (export "r64") (param $slot i32) (param $x i32) (result i64)
    (call_indirect (type $r64) (local.get $x) (local.get $slot)))
  (func (export "mix") (param $slot i32) (result f64 i32)
    (call_indirect (type $mix) (i64.const 40) (f64.const 2.5) (i32.const 7)
                   (local.get $slot)))
  ;; the same call, one result (wabt 1.0.32 writes the JSON of an
  ;; assert_trap on a function of two results wrong)
  (func (export "mix1") (param $slot i32) (result f64)
    (drop (call_indirect (type $mix) (i64.const 40) (f64.const 2.5) (i32.const 7)
                         (local.get $slot))))
  ;; a constant slot, which LLVM may fold into a direct call
  (func (export "const4") (param $x i32) (result i32)
    (call_indirect (type $a) (local.get $x) (i32.const 4)))
  (func (export "const3") (param $x i32) (result i32)
    (call_indirect (type $a) (local.get $x) (i32.const 3)))
  (func (export "null?") (param $slot i32) (result i32)
    (ref.is_null (table.get 0 (local.get $slot)))))
(assert_return (invoke "a" (i32.const 0) (i32.const 5)) (i32.const 6))
(assert_return (invoke "b" (i32.const 0) (i32.const 5)) (i32.const 6))
(assert_return (invoke "a" (i32.const 4) (i32.const 5)) (i32.const 10))
(assert_return (invoke "b" (i32.const 4) (i32.const 5)) (i32.const 10))
(assert_trap (invoke "a" (i32.const 3) (i32.const 5)) "uninitialized element")
(assert_trap (invoke "b" (i32.const 3) (i32.const 5)) "uninitialized element")
(assert_trap (invoke "a" (i32.const 1) (i32.const 5)) "indirect call type mismatch")
(assert_trap (invoke "a" (i32.const 2) (i32.const 5)) "indirect call type mismatch")
(assert_return (invoke "r64" (i32.const 1) (i32.const -3)) (i64.const -3))
(assert_trap (invoke "r64" (i32.const 0) (i32.const 5)) "indirect call type mismatch")
(assert_return (invoke "mix" (i32.const 2)) (f64.const 42.5) (i32.const 6))
(assert_return (invoke "mix1" (i32.const 2)) (f64.const 42.5))
(assert_trap (invoke "mix1" (i32.const 0)) "indirect call type mismatch")
(assert_trap (invoke "mix1" (i32.const 5)) "uninitialized element")
(assert_trap (invoke "mix1" (i32.const 7)) "uninitialized element")
(assert_trap (invoke "mix1" (i32.const 8)) "undefined element")
(assert_trap (invoke "a" (i32.const 8) (i32.const 0)) "undefined element")
(assert_trap (invoke "a" (i32.const -1) (i32.const 0)) "undefined element")
(assert_trap (invoke "a" (i32.const 0x80000000) (i32.const 0)) "undefined element")
(assert_return (invoke "const4" (i32.const 21)) (i32.const 42))
(assert_trap (invoke "const3" (i32.const 21)) "uninitialized element")
(assert_return (invoke "null?" (i32.const 3)) (i32.const 1))
(assert_return (invoke "null?" (i32.const 4)) (i32.const 0))
(assert_return (invoke "null?" (i32.const 6)) (i32.const 1))

;; The same calls in a loop and in recursion: each slot's callee, with
;; the caller's own instance (its globals and memory).
(module
  (type $i (func (param i32) (result i32)))
  (memory 1)
  (global $calls (mut i32) (i32.const 0))
  (table 3 funcref)
  (elem (i32.const 0) $count $fac $store)
  (func $count (type $i)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (global.get $calls))
  (func $fac (type $i)
    (if (result i32) (i32.le_s (local.get 0) (i32.const 1))
      (then (i32.const 1))
      (else (i32.mul (local.get 0)
              (call_indirect (type $i) (i32.sub (local.get 0) (i32.const 1))
                             (i32.const 1))))))
  (func $store (type $i)
    (i32.store (i32.const 16) (local.get 0))
    (i32.load (i32.const 16)))
  (func (export "loop") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s)
          (call_indirect (type $i) (local.get $i)
                         (i32.rem_u (local.get $i) (i32.const 3)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $s))
  (func (export "fac") (param i32) (result i32)
    (call_indirect (type $i) (local.get 0) (i32.const 1)))
  (func (export "deep") (param i32) (result i32)
    (call_indirect (type $i) (local.get 0) (i32.const 1)))
  (func (export "calls") (result i32) (global.get $calls))
  (func (export "peek") (result i32) (i32.load (i32.const 16))))
;; i = 0..8: count at 0, 3, 6 gives 1 + 2 + 3; fac at 1, 4, 7 gives
;; 1 + 24 + 5040; store at 2, 5, 8 gives 2 + 5 + 8: 5086 in all
(assert_return (invoke "loop" (i32.const 9)) (i32.const 5086))
(assert_return (invoke "calls") (i32.const 3))
(assert_return (invoke "peek") (i32.const 8))
(assert_return (invoke "fac" (i32.const 10)) (i32.const 3628800))
(assert_exhaustion (invoke "deep" (i32.const 100000000)) "call stack exhausted")

;; Tables the compiler cannot know: an imported function in a segment, an
;; offset from an imported global, a second table beside a known one.
(module $lib
  (func (export "neg") (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
  (global (export "two") i32 (i32.const 2)))
(register "lib" $lib)
(module
  (type $i (func (param i32) (result i32)))
  (import "lib" "neg" (func $neg (type $i)))
  (import "lib" "two" (global $two i32))
  (table $imp 2 funcref)
  (table $glob 4 funcref)
  (table $known 2 funcref)
  (elem (table $imp) (i32.const 0) func $neg $inc)
  (elem (table $glob) (global.get $two) func $inc $neg)
  (elem (table $known) (i32.const 1) func $inc)
  (func $inc (type $i) (i32.add (local.get 0) (i32.const 1)))
  (func (export "imp") (param $slot i32) (param $x i32) (result i32)
    (call_indirect $imp (type $i) (local.get $x) (local.get $slot)))
  (func (export "glob") (param $slot i32) (param $x i32) (result i32)
    (call_indirect $glob (type $i) (local.get $x) (local.get $slot)))
  (func (export "known") (param $slot i32) (param $x i32) (result i32)
    (call_indirect $known (type $i) (local.get $x) (local.get $slot))))
(assert_return (invoke "imp" (i32.const 0) (i32.const 5)) (i32.const -5))
(assert_return (invoke "imp" (i32.const 1) (i32.const 5)) (i32.const 6))
(assert_trap (invoke "glob" (i32.const 1) (i32.const 5)) "uninitialized element")
(assert_return (invoke "glob" (i32.const 2) (i32.const 5)) (i32.const 6))
(assert_return (invoke "glob" (i32.const 3) (i32.const 5)) (i32.const -5))
(assert_trap (invoke "known" (i32.const 0) (i32.const 5)) "uninitialized element")
(assert_return (invoke "known" (i32.const 1) (i32.const 5)) (i32.const 6))
(assert_trap (invoke "known" (i32.const 2) (i32.const 5)) "undefined element")

;; A segment past the table's end fails instantiation, after the ones
;; before it were written (nothing runs, so nothing sees them).
(assert_trap
  (module
    (table 2 funcref)
    (elem (i32.const 0) func $f)
    (elem (i32.const 1) func $f $f)
    (func $f (result i32) (i32.const 1))
    (func (export "f") (result i32) (call_indirect (result i32) (i32.const 0))))
  "out of bounds table access")
