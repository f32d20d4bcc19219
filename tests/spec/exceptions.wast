;; Exception handling (the legacy proposal), past what
;; proposals/exception-handling checks: values of every type, exceptions
;; across instances, tables and multi-value functions, catch blocks left by
;; branches, returns and exceptions (the caught stack), rethrow of an outer
;; exception from an inner catch, delegate past a catch block, traps that
;; no catch sees, a million throws in a loop, and throws through chains of
;; functions that neither throw nor call out themselves (the compiler
;; decides which calls need a look afterwards).

(module $thrower
  (tag $e (export "e") (param i32))
  (tag $wide (export "wide") (param i32 i64 f32 f64 v128 externref))
  (func (export "throw") (param i32) (local.get 0) (throw $e))
  (func (export "throw_wide") (param externref)
    (i32.const -1) (i64.const 0x123456789abcdef0) (f32.const -0.5)
    (f64.const 1e300) (v128.const i32x4 1 2 3 4) (local.get 0)
    (throw $wide))
  ;; Two results: the exception leaves through the results' out-pointer.
  (func (export "pair") (param i32) (result i32 i64)
    (if (local.get 0) (then (i32.const 7) (throw $e)))
    (i32.const 1) (i64.const 2))
  (func (export "trap") (unreachable)))
(register "thrower" $thrower)

(module
  (import "thrower" "e" (tag $e (param i32)))
  (import "thrower" "wide" (tag $wide (param i32 i64 f32 f64 v128 externref)))
  (import "thrower" "throw" (func $throw (param i32)))
  (import "thrower" "throw_wide" (func $throw_wide (param externref)))
  (import "thrower" "pair" (func $pair (param i32) (result i32 i64)))
  (import "thrower" "trap" (func $trap))
  (tag $local (param i32))
  (table funcref (elem $throw $local_throw))
  (func $local_throw (param i32) (local.get 0) (throw $local))

  ;; An imported tag is the exporter's: its exceptions are caught by it.
  (func (export "catch_imported") (param i32) (result i32)
    (try (result i32)
      (do (call $throw (local.get 0)) (i32.const 0))
      (catch $local (drop) (i32.const -1))
      (catch $e (i32.const 1) (i32.add))))

  (func (export "wide") (param externref) (result i32 i64 f32 f64 v128 externref)
    (try (result i32 i64 f32 f64 v128 externref)
      (do (call $throw_wide (local.get 0)) (unreachable))
      (catch $wide)))

  ;; Through call_indirect, to another instance's function and our own.
  (func (export "indirect") (param i32) (result i32)
    (try (result i32)
      (do (call_indirect (param i32) (i32.const 5) (local.get 0)) (i32.const 0))
      (catch $e (i32.const 100) (i32.add))
      (catch $local (i32.const 200) (i32.add))))

  (func (export "pair") (param i32) (result i64)
    (try (result i64)
      (do (call $pair (local.get 0)) (drop) (drop) (i64.const 0))
      (catch $e (i64.extend_i32_u))))

  ;; Rethrow the outer exception after an inner one was caught and its
  ;; catch block left: the outer one comes back with its own value.
  (func (export "rethrow_outer") (result i32)
    (try (result i32)
      (do
        (try
          (do (call $throw (i32.const 1)))
          (catch $e
            (drop)
            (try
              (do (throw $local (i32.const 2)))
              (catch $local (drop)))
            (rethrow 0)))
        (i32.const 0))
      (catch $e)))

  ;; Rethrow the outer exception from inside the inner catch block.
  (func (export "rethrow_from_inner") (result i32)
    (try (result i32)
      (do
        (try
          (do (call $throw (i32.const 3)))
          (catch $e
            (drop)
            (try
              (do (throw $local (i32.const 4)))
              (catch $local (drop) (rethrow 1)))))
        (i32.const 0))
      (catch $e)
      (catch $local (i32.const 99) (i32.add))))

  ;; Catch blocks left by br, br_if, br_table and return, many times over;
  ;; then a rethrow must still find the right exception.
  (func (export "leave_by_branches") (param i32) (result i32)
    (local $i i32)
    (local.set $i (local.get 0))
    (loop $again
      (block $out
        (try
          (do (throw $local (local.get $i)))
          (catch $local
            (drop)
            (br_table $out $out (i32.and (local.get $i) (i32.const 1))))))
      (block $out2
        (try
          (do (throw $local (local.get $i)))
          (catch_all (br_if $out2 (i32.const 1)))))
      (local.tee $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $again))
    (try (result i32)
      (do
        (try
          (do (throw $local (i32.const 41)))
          (catch $local
            (drop)
            (block $b
              (try (do (throw $local (i32.const 0))) (catch_all (br $b))))
            (rethrow 0)))
        (i32.const 0))
      (catch $local (i32.const 1) (i32.add))))

  (func $return_from_catch (param i32) (result i32)
    (try (result i32)
      (do (throw $local (local.get 0)))
      (catch $local (return))))
  (func (export "return_from_catch") (param i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (call $return_from_catch (local.get $i))))
      (local.tee $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 0))))
    (local.get $sum))

  ;; delegate past a catch block: the exception leaves it for the outer try.
  (func (export "delegate_past_catch") (result i32)
    (try $outer (result i32)
      (do
        (try
          (do (throw $local (i32.const 5)))
          (catch $local
            (drop)
            (try (do (call $throw (i32.const 6))) (delegate $outer))))
        (i32.const 0))
      (catch $e (i32.const 10) (i32.add))))

  ;; A trap is not an exception: catch_all never sees it.
  (func (export "trap_in_try") (result i32)
    (try (result i32) (do (call $trap) (i32.const 0)) (catch_all (i32.const 1))))

  ;; Not caught here: to the host.
  (func (export "uncaught") (try (do (call $throw (i32.const 1))) (catch $local (drop))))
  (func (export "uncaught_from_catch")
    (try (do (call $throw (i32.const 1))) (catch $e (drop) (throw $local (i32.const 2)))))

  ;; $c1 and $c2 throw only through what they call, defined later and
  ;; earlier; $quiet never throws.
  (func $c1 (param i32) (result i32) (call $c2 (local.get 0)) (i32.const 1) (i32.add))
  (func $c3 (param i32) (result i32)
    (if (local.get 0) (then (throw $local (local.get 0))))
    (i32.const 0))
  (func $c2 (param i32) (result i32) (call $c3 (local.get 0)))
  (func $quiet (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "chain") (param i32) (result i32)
    (try (result i32)
      (do (call $c1 (local.get 0)) (call $quiet) (drop) (i32.const -5))
      (catch $local (i32.const 1000) (i32.add))))

  ;; A million throws and catches, each in a fresh catch block.
  (func (export "many") (param i32) (result i32)
    (local $sum i32)
    (loop $l
      (try
        (do (call $throw (local.get 0)))
        (catch $e (local.get $sum) (i32.add) (local.set $sum)))
      (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if $l))
    (local.get $sum)))

(assert_return (invoke "catch_imported" (i32.const 41)) (i32.const 42))
(assert_return (invoke "wide" (ref.extern 7))
  (i32.const -1) (i64.const 0x123456789abcdef0) (f32.const -0.5) (f64.const 1e300)
  (v128.const i32x4 1 2 3 4) (ref.extern 7))
(assert_return (invoke "indirect" (i32.const 0)) (i32.const 105))
(assert_return (invoke "indirect" (i32.const 1)) (i32.const 205))
(assert_return (invoke "pair" (i32.const 1)) (i64.const 7))
(assert_return (invoke "pair" (i32.const 0)) (i64.const 0))
(assert_return (invoke "rethrow_outer") (i32.const 1))
(assert_return (invoke "rethrow_from_inner") (i32.const 3))
(assert_return (invoke "leave_by_branches" (i32.const 1000)) (i32.const 42))
(assert_return (invoke "return_from_catch" (i32.const 1000)) (i32.const 499500))
(assert_return (invoke "delegate_past_catch") (i32.const 16))
(assert_trap (invoke "trap_in_try") "unreachable")
(assert_return (invoke "chain" (i32.const 0)) (i32.const -5))
(assert_return (invoke "chain" (i32.const 3)) (i32.const 1003))
(assert_exception (invoke "uncaught"))
(assert_exception (invoke "uncaught_from_catch"))
;; After uncaught exceptions and a trap, everything still works.
(assert_return (invoke "rethrow_outer") (i32.const 1))
(assert_return (invoke "many" (i32.const 1000000)) (i32.const 1784293664))
