;; tests/spec/widening.wast - bounds checks that awsmc widens when
;; optimising checked code (compiler/cg_widen.c): a check of an address
;; takes over the checks of larger ends of the same address that follow it
;; while nothing can be seen to happen. The first trap must still be the
;; one the code reaches first, of its own kind, and every store, global
;; and grown memory before it must stay: a store, a global.set, a call,
;; memory.grow, a branch or another kind of trap between two accesses ends
;; what one check may cover.
(module
  (memory 1)
  (global $g (mut i32) (i32.const 0))
  (func (export "g") (result i32) (global.get $g))
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func $poke (param i32) (i32.store8 (local.get 0) (i32.const 7)))

  ;; An instruction's fields: op (byte 1), a (byte 2), c (bytes 4-7):
  ;; the last ends at p + 8.
  (func (export "fields") (param $p i32) (result i32)
    (i32.add
      (i32.add (i32.load8_u offset=1 (local.get $p))
               (i32.shl (i32.load8_u offset=2 (local.get $p)) (i32.const 8)))
      (i32.load offset=4 (local.get $p))))

  ;; Larger end first: the later, smaller ones are covered already.
  (func (export "reversed") (param $p i32) (result i32)
    (i32.add (i32.load offset=4 (local.get $p))
             (i32.add (i32.load8_u offset=1 (local.get $p))
                      (i32.load16_u offset=2 (local.get $p)))))

  ;; A store in between: it happens before the later access traps.
  (func (export "store_between") (param $p i32) (result i32)
    (local $x i32)
    (local.set $x (i32.load8_u offset=1 (local.get $p)))
    (i32.store8 (i32.const 0) (i32.const 1))
    (i32.add (local.get $x) (i32.load offset=4 (local.get $p))))

  ;; A global.set in between.
  (func (export "global_between") (param $p i32) (result i32)
    (local $x i32)
    (local.set $x (i32.load8_u offset=1 (local.get $p)))
    (global.set $g (i32.const 5))
    (i32.add (local.get $x) (i32.load offset=4 (local.get $p))))

  ;; A call in between (that stores).
  (func (export "call_between") (param $p i32) (result i32)
    (local $x i32)
    (local.set $x (i32.load8_u offset=1 (local.get $p)))
    (call $poke (i32.const 3))
    (i32.add (local.get $x) (i32.load offset=4 (local.get $p))))

  ;; memory.grow in between: the later access fits the grown memory.
  (func (export "grow_between") (param $p i32) (result i32)
    (local $x i32)
    (local.set $x (i32.load8_u offset=1 (local.get $p)))
    (drop (memory.grow (i32.const 1)))
    (i32.add (local.get $x) (i32.load offset=4 (local.get $p))))

  ;; A division in between, which traps first when d is 0.
  (func (export "div_between") (param $p i32) (param $d i32) (result i32)
    (i32.add (i32.load8_u offset=1 (local.get $p))
             (i32.add (i32.div_u (i32.const 100) (local.get $d))
                      (i32.load offset=4 (local.get $p)))))

  ;; A branch in between: the later access runs only when $c is set.
  (func (export "branch_between") (param $p i32) (param $c i32) (result i32)
    (local $x i32)
    (local.set $x (i32.load8_u offset=1 (local.get $p)))
    (if (local.get $c)
      (then (local.set $x (i32.add (local.get $x) (i32.load offset=4 (local.get $p))))))
    (local.get $x))

  ;; Two addresses in turn: whichever access comes first out of bounds
  ;; traps, out of bounds either way, before the store at the end.
  (func (export "two") (param $p i32) (param $q i32) (result i32)
    (local $x i32)
    (local.set $x
      (i32.add (i32.add (i32.load8_u offset=1 (local.get $p))
                        (i32.load8_u offset=1 (local.get $q)))
               (i32.add (i32.load offset=4 (local.get $p))
                        (i32.load offset=4 (local.get $q)))))
    (i32.store8 (i32.const 0) (i32.const 9))
    (local.get $x))

  ;; Constant addresses.
  (func (export "consts") (result i32)
    (i32.add (i32.load8_u (i32.const 65530))
             (i32.load16_u (i32.const 65534))))

  ;; In a loop: each trip reads a record of 8 bytes at p + 8i, i < n.
  (func (export "records") (param $p i32) (param $n i32) (result i32)
    (local $s i32)
    (block
      (br_if 0 (i32.eqz (local.get $n)))
      (loop
        (local.set $s (i32.add (local.get $s)
          (i32.add (i32.load8_u offset=1 (local.get $p))
                   (i32.load offset=4 (local.get $p)))))
        (global.set $g (local.get $s))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br_if 0 (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
    (local.get $s))

  (data (i32.const 65528) "\00\01\02\03\04\05\06\07")
  (data (i32.const 16) "\10\11\12\13\14\15\16\17\18\19\1a\1b\1c\1d\1e\1f")
)

;; fields: 0x01 + 0x02 << 8 + 0x07060504 at the last 8 bytes.
(assert_return (invoke "fields" (i32.const 65528)) (i32.const 0x07060705))
(assert_trap (invoke "fields" (i32.const 65529)) "out of bounds memory access")
(assert_trap (invoke "fields" (i32.const 65534)) "out of bounds memory access")
(assert_trap (invoke "fields" (i32.const -1)) "out of bounds memory access")
(assert_return (invoke "fields" (i32.const 16)) (i32.const 0x17162725))

(assert_return (invoke "reversed" (i32.const 65528)) (i32.const 0x07060807))
(assert_trap (invoke "reversed" (i32.const 65529)) "out of bounds memory access")

;; The store before the trapping access stays.
(assert_return (invoke "peek" (i32.const 0)) (i32.const 0))
(assert_trap (invoke "store_between" (i32.const 65529)) "out of bounds memory access")
(assert_return (invoke "peek" (i32.const 0)) (i32.const 1))

(assert_return (invoke "g") (i32.const 0))
(assert_trap (invoke "global_between" (i32.const 65529)) "out of bounds memory access")
(assert_return (invoke "g") (i32.const 5))

(assert_return (invoke "peek" (i32.const 3)) (i32.const 0))
(assert_trap (invoke "call_between" (i32.const 65529)) "out of bounds memory access")
(assert_return (invoke "peek" (i32.const 3)) (i32.const 7))

;; The division's trap comes first; with a divisor, the access's.
(assert_trap (invoke "div_between" (i32.const 65529) (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "div_between" (i32.const 65529) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "div_between" (i32.const 65528) (i32.const 1)) (i32.const 0x07060569))

;; Without the branch taken nothing past the memory is read.
(assert_return (invoke "branch_between" (i32.const 65534) (i32.const 0)) (i32.const 0x07))
(assert_trap (invoke "branch_between" (i32.const 65534) (i32.const 1)) "out of bounds memory access")

(assert_trap (invoke "two" (i32.const 16) (i32.const 65529)) "out of bounds memory access")
(assert_trap (invoke "two" (i32.const 65529) (i32.const 16)) "out of bounds memory access")
(assert_return (invoke "peek" (i32.const 0)) (i32.const 1))
(assert_return (invoke "two" (i32.const 16) (i32.const 65528)) (i32.const 0x1e1c1a2a))
(assert_return (invoke "peek" (i32.const 0)) (i32.const 9))

(assert_return (invoke "consts") (i32.const 0x0708))

;; Three records fit, the fourth's field at offset 4 does not: the
;; global holds the sum of the three.
(assert_trap (invoke "records" (i32.const 65512) (i32.const 4)) "out of bounds memory access")
(assert_return (invoke "g") (i32.const 0x07060505))
(assert_return (invoke "records" (i32.const 16) (i32.const 2)) (i32.const 0x3634325a))

;; Last: the memory grows between the accesses, so the second one fits.
(assert_return (invoke "grow_between" (i32.const 65529)) (i32.const 0x00070607))
(assert_return (invoke "size") (i32.const 2))
