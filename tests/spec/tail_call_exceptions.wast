;; Tail calls and exceptions together: a return_call leaves the caller's
;; try blocks (its handlers no longer apply), an exception thrown past
;; one reaches the frame below, also when the callee is another
;; instance's (whose exception is then passed on by the caller), and
;; tail calls within the instance stay constant in stack.

(module $other
  (tag $e (export "e") (param i32))
  (func (export "throw") (param i32) (result i32) (local.get 0) (throw $e))
  (func (export "id") (param i32) (result i32) (local.get 0)))
(register "other" $other)

(module
  (import "other" "e" (tag $e (param i32)))
  (import "other" "throw" (func $other_throw (param i32) (result i32)))
  (import "other" "id" (func $other_id (param i32) (result i32)))
  (tag $local (param i32))
  (type $t (func (param i32) (result i32)))
  (table funcref (elem $other_throw $thrower $count))
  (func $thrower (param i32) (result i32) (local.get 0) (throw $local))

  ;; The try around a return_call does not catch what the callee throws.
  (func $leaves_try (param i32) (result i32)
    (try (result i32)
      (do (return_call $thrower (local.get 0)))
      (catch_all (i32.const -1))))
  (func $leaves_try_import (param i32) (result i32)
    (try (result i32)
      (do (return_call $other_throw (local.get 0)))
      (catch_all (i32.const -1))))
  (func $leaves_try_indirect (param i32) (param i32) (result i32)
    (try (result i32)
      (do (return_call_indirect (type $t) (local.get 0) (local.get 1)))
      (catch_all (i32.const -1))))

  (func (export "local") (param i32) (result i32)
    (try (result i32)
      (do (call $leaves_try (local.get 0)))
      (catch $local (i32.const 1000) (i32.add))))
  (func (export "import") (param i32) (result i32)
    (try (result i32)
      (do (call $leaves_try_import (local.get 0)))
      (catch $e (i32.const 2000) (i32.add))))
  (func (export "indirect") (param i32) (param i32) (result i32)
    (try (result i32)
      (do (call $leaves_try_indirect (local.get 0) (local.get 1)))
      (catch $e (i32.const 3000) (i32.add))
      (catch $local (i32.const 4000) (i32.add))))
  ;; A return_call from a catch block releases it first.
  (func $from_catch (param i32) (result i32)
    (try (result i32)
      (do (throw $local (local.get 0)))
      (catch $local (return_call $other_id))))
  (func (export "from_catch") (param i32) (result i32)
    (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (call $from_catch (i32.const 1))))
      (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if $l))
    (local.get $sum))

  ;; A million tail calls deep through call_indirect, then a throw.
  (func $count (param i32) (result i32)
    (if (i32.eqz (local.get 0)) (then (throw $local (i32.const 7))))
    (return_call_indirect (type $t) (i32.sub (local.get 0) (i32.const 1)) (i32.const 2)))
  (func (export "deep") (param i32) (result i32)
    (try (result i32)
      (do (call $count (local.get 0)))
      (catch $local))))

(assert_return (invoke "local" (i32.const 5)) (i32.const 1005))
(assert_return (invoke "import" (i32.const 6)) (i32.const 2006))
(assert_return (invoke "indirect" (i32.const 7) (i32.const 0)) (i32.const 3007))
(assert_return (invoke "indirect" (i32.const 8) (i32.const 1)) (i32.const 4008))
(assert_return (invoke "from_catch" (i32.const 100000)) (i32.const 100000))
(assert_return (invoke "deep" (i32.const 1000000)) (i32.const 7))
