;; tests/spec/tail_call.wast - return_call and return_call_indirect (the
;; tail-call proposal, `awsm wast --enable-tail-call`) beyond the
;; proposal's own tests: real tail calls between functions of different
;; signatures (stack arguments, several results) in unbounded mutual
;; recursion, through tables, imports from another module and host
;; functions, and traps on the way.

(module $a
  ;; Ten i64 parameters: more than the argument registers, so some travel
  ;; on the stack; the callee has fewer.
  (func $many (export "many")
    (param $n i64) (param i64 i64 i64 i64 i64 i64 i64 i64) (param $acc i64)
    (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call $few (i64.sub (local.get $n) (i64.const 1))
                              (i64.add (local.get $acc) (local.get 1))))))
  (func $few (param $n i64) (param $acc i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call $many (i64.sub (local.get $n) (i64.const 1))
                               (i64.const 1) (i64.const 2) (i64.const 3)
                               (i64.const 4) (i64.const 5) (i64.const 6)
                               (i64.const 7) (i64.const 8)
                               (i64.add (local.get $acc) (i64.const 2))))))

  ;; Two results, passed through by the tail calls.
  (func $pair (export "pair") (param $n i32) (param $x i32) (result i32 i64)
    (if (result i32 i64) (i32.eqz (local.get $n))
      (then (local.get $x) (i64.extend_i32_u (local.get $x)))
      (else (return_call $pair2 (i64.extend_i32_u (local.get $n))
                                (i32.add (local.get $x) (i32.const 3))))))
  (func $pair2 (param $n i64) (param $x i32) (result i32 i64)
    (return_call $pair (i32.wrap_i64 (i64.sub (local.get $n) (i64.const 1)))
                       (local.get $x)))

  ;; Through a table, alternating two types of the same results.
  (type $ti (func (param i32 i32) (result i32)))
  (type $tf (func (param f64 i32) (result i32)))
  (table $t 2 funcref)
  (elem (i32.const 0) $ping $pong)
  (func $ping (type $ti) (param $n i32) (param $acc i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call_indirect $t (type $tf)
              (f64.convert_i32_u (local.get $n)) (local.get $acc)
              (i32.const 1)))))
  (func $pong (type $tf) (param $n f64) (param $acc i32) (result i32)
    (return_call_indirect $t (type $ti)
      (i32.sub (i32.trunc_f64_u (local.get $n)) (i32.const 1))
      (i32.add (local.get $acc) (i32.const 1))
      (i32.const 0)))
  (func (export "ping") (param i32) (result i32)
    (return_call $ping (local.get 0) (i32.const 0)))

  ;; A trap in a function reached by tail calls is the callee's.
  (func (export "tail-trap") (param i32) (result i32)
    (return_call_indirect $t (type $ti) (local.get 0) (i32.const 0)
                          (i32.const 7)))
  (func $div (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
  (func (export "tail-div") (param i32) (result i32)
    (return_call $div (i32.const 1) (local.get 0)))

  (func $even (export "even") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 1))
      (else (return_call $odd (i32.sub (local.get 0) (i32.const 1))))))
  (func $odd (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (return_call $even (i32.sub (local.get 0) (i32.const 1))))))
)
(register "a" $a)

;; A million calls each way: the stack would not hold them as calls.
;; many adds its second parameter (0 first, then 1), few adds 2.
(assert_return (invoke "many" (i64.const 1000000) (i64.const 0) (i64.const 0)
                (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0)
                (i64.const 0) (i64.const 0) (i64.const 0))
               (i64.const 1499999))
(assert_return (invoke "many" (i64.const 3) (i64.const 10) (i64.const 0)
                (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0)
                (i64.const 0) (i64.const 0) (i64.const 5))
               (i64.const 18))
(assert_return (invoke "pair" (i32.const 1000000) (i32.const 0))
               (i32.const 3000000) (i64.const 3000000))
(assert_return (invoke "ping" (i32.const 1000000)) (i32.const 1000000))
(assert_trap (invoke "tail-trap" (i32.const 5)) "undefined element")
(assert_trap (invoke "tail-div" (i32.const 0)) "integer divide by zero")

;; Another module's function, imported, in mutual recursion with ours;
;; and a host function reached by a tail call.
(module $b
  (import "a" "even" (func $even (param i32) (result i32)))
  (import "spectest" "print_i32" (func $print (param i32)))
  (func $odd (export "odd") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (return_call $even2 (i32.sub (local.get 0) (i32.const 1))))))
  (func $even2 (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 1))
      (else (return_call $odd (i32.sub (local.get 0) (i32.const 1))))))
  (func (export "even-there") (param i32) (result i32)
    (return_call $even (local.get 0)))
  (func (export "print") (param i32) (return_call $print (local.get 0)))
)
(assert_return (invoke "odd" (i32.const 1000001)) (i32.const 1))
(assert_return (invoke "even-there" (i32.const 1000000)) (i32.const 1))
(assert_return (invoke "print" (i32.const 42)))

;; Plain calls still exhaust the stack.
(module
  (func $f (export "f") (param i32) (result i32)
    (i32.add (call $f (local.get 0)) (i32.const 1)))
)
(assert_exhaustion (invoke "f" (i32.const 0)) "call stack exhausted")

(assert_invalid
  (module (func $f (result i32) (i32.const 1))
          (func (result i64) (return_call $f)))
  "type mismatch")
(assert_invalid
  (module (table 1 funcref)
          (func (result i32) (return_call_indirect (result i64) (i32.const 0))))
  "type mismatch")
